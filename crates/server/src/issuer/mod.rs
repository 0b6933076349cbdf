//! The issuers this process serves, as data: each [`Issuer`] has its kind, identifier, paths,
//! the discovery document it publishes, and the grant types and client authentication methods
//! it offers. The router is generated from the table of issuers ([`Issuers`]), and every
//! authorization request, login flow, grant, code, refresh token and access token carries the
//! issuer that made it: one issuer never accepts another's.
//!
//! Two kinds: the realm issuer (`/auth/realms/{realm}`, Keycloak-style paths, [`realm`]), of
//! which a provider may serve several, and the BankID with biometrics issuer (`/bis`, [`bis`]),
//! with its own discovery, permissions API and app.

pub mod bis;
pub mod realm;

use crate::config::Config;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use std::sync::Arc;

/// The kinds of issuer BankID has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// BankID OIDC (Keycloak realm).
    Realm,
    /// BankID with biometrics.
    Bis,
}

/// The endpoints an issuer may serve. Only discovery publishes their paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Discovery,
    Jwks,
    /// The encryption keys alone (BankID's `jwks_uri_enc`).
    JwksEnc,
    Authorization,
    PushedAuthorization,
    Token,
    Userinfo,
    Introspection,
    Revocation,
    Logout,
    /// The login pages (`{path}/{flow_id}`).
    LoginActions,
    Stylesheet,
    /// The pages' icon (SVG), beside the stylesheet.
    Favicon,
    /// The keys that sign permission grants (BIS `jwks_uri_grants`).
    JwksGrants,
    /// The permissions API (BIS): register a permission.
    Permissions,
    /// The permissions API (BIS): whether a user can use BankID with biometrics.
    PermissionUserExists,
    /// The permissions API (BIS): a permission's grant (`{path}/{permission_id}/grant`).
    PermissionGrant,
    /// The emulated BankID app: the test user's phone as a web page (`{path}/app`).
    App,
    /// CIBA (BIS): `backchannel_authentication_endpoint`.
    BackchannelAuthentication,
    /// The iframe flow (BIS): `POST` answers a single-use `authorize_uri`.
    IframeAuthorize,
    /// The iframe flow's page (`{path}/{flow_id}`), its status (JSON) and its script.
    IframePage,
    IframeStatus,
    IframeScript,
}

#[derive(Debug)]
pub struct Issuer {
    /// A stable name, kept with what the issuer makes: `realm:{name}`.
    pub id: String,
    pub kind: IssuerKind,
    /// The issuer identifier (`iss`).
    pub issuer: String,
    /// The issuer's path on this server, e.g. `/auth/realms/current`.
    pub path: String,
    /// The provider's first issuer, which owns records stored before issuers were recorded.
    pub primary: bool,
    discovery_json: Arc<str>,
}

impl Issuer {
    fn realm(config: &Config, name: &str, primary: bool) -> Issuer {
        let issuer = config.realm_issuer(name);
        let path = url::Url::parse(&issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let discovery = realm::discovery(&issuer);
        Issuer {
            id: format!("realm:{name}"),
            kind: IssuerKind::Realm,
            discovery_json: serde_json::to_string(&discovery)
                .expect("metadata serializes")
                .into(),
            issuer,
            path,
            primary,
        }
    }

    fn bis(config: &Config) -> Issuer {
        let issuer = config.bis_issuer();
        let path = url::Url::parse(&issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let discovery = bis::discovery(&issuer);
        Issuer {
            id: BIS_ID.into(),
            kind: IssuerKind::Bis,
            discovery_json: serde_json::to_string(&discovery)
                .expect("metadata serializes")
                .into(),
            issuer,
            path,
            primary: false,
        }
    }

    /// The grant types its token endpoint serves.
    pub fn grant_types(&self) -> &'static [GrantType] {
        match self.kind {
            IssuerKind::Realm => realm::GRANT_TYPES,
            IssuerKind::Bis => bis::GRANT_TYPES,
        }
    }

    /// The endpoints this issuer serves.
    pub fn endpoints(&self) -> &'static [Endpoint] {
        match self.kind {
            IssuerKind::Realm => realm::ENDPOINTS,
            IssuerKind::Bis => bis::ENDPOINTS,
        }
    }

    fn endpoint_path(&self, endpoint: Endpoint) -> &'static str {
        match self.kind {
            IssuerKind::Realm => realm::path(endpoint),
            IssuerKind::Bis => bis::path(endpoint),
        }
    }

    /// An endpoint's absolute URL.
    pub fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.issuer, self.endpoint_path(endpoint))
    }

    /// An endpoint's path on this server (what the router matches).
    pub fn route(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.path, self.endpoint_path(endpoint))
    }

    pub fn discovery_json(&self) -> Arc<str> {
        self.discovery_json.clone()
    }

    /// Whether a record stored with issuer id `stored` was made by this issuer (an empty id:
    /// stored before issuers were recorded, by the primary one).
    pub fn made(&self, stored: &str) -> bool {
        stored == self.id || (stored.is_empty() && self.primary)
    }
}

/// Discovery lists of strings.
fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

/// Every client authentication method, as discovery names them.
fn auth_methods() -> Vec<String> {
    ClientAuthMethod::ALL
        .iter()
        .map(|m| m.to_string())
        .collect()
}

/// The id of the BankID with biometrics issuer, kept with what it makes.
pub const BIS_ID: &str = "bis";

/// Every issuer of the provider: the realms in configuration order (the first is the primary
/// one), then the BankID with biometrics issuer.
#[derive(Debug)]
pub struct Issuers {
    all: Vec<Arc<Issuer>>,
}

impl Issuers {
    pub fn new(config: &Config) -> Issuers {
        let mut all: Vec<Arc<Issuer>> = config
            .realms
            .iter()
            .enumerate()
            .map(|(i, name)| Arc::new(Issuer::realm(config, name, i == 0)))
            .collect();
        all.push(Arc::new(Issuer::bis(config)));
        Issuers { all }
    }

    pub fn all(&self) -> &[Arc<Issuer>] {
        &self.all
    }

    /// The primary issuer: the first realm.
    pub fn primary(&self) -> &Arc<Issuer> {
        &self.all[0]
    }

    /// The BankID with biometrics issuer.
    pub fn bis(&self) -> &Arc<Issuer> {
        self.all
            .iter()
            .find(|i| i.kind == IssuerKind::Bis)
            .expect("the BIS issuer is always served")
    }
}

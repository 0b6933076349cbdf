//! The BankID with biometrics issuer (BIS, `{public_url}/bis`): its endpoint paths and
//! discovery document. BankID serves it from its own host; the paths below it are ours, and
//! only discovery publishes them.

use super::{Endpoint, auth_methods, strings};
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::request_object::SigningAlg;
use bankid_oidc_core::scope::BIS_SCOPES;

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const JWKS_PATH: &str = "/jwks";
/// The keys that sign grants (`jwks_uri_grants`), a set of their own.
const JWKS_GRANTS_PATH: &str = "/jwks/grants";
const AUTH_PATH: &str = "/authorize";
const TOKEN_PATH: &str = "/token";
const USERINFO_PATH: &str = "/userinfo";
/// Seed 004: `POST /permissions/v1/`, `.../user-exists`, `GET .../{id}/grant`.
const PERMISSIONS_PATH: &str = "/permissions/v1/";
const PERMISSION_USER_EXISTS_PATH: &str = "/permissions/v1/user-exists";
/// The router's pattern: the id is a path parameter.
const PERMISSION_GRANT_PATH: &str = "/permissions/v1/{permission_id}/grant";
const LOGIN_ACTIONS_PATH: &str = "/login-actions";
/// The emulated BankID app's web page.
const APP_PATH: &str = "/app";
/// CIBA's backchannel authentication endpoint.
const BACKCHANNEL_PATH: &str = "/backchannel/authentication";
/// The iframe flow (seed 004): the router's patterns carry the flow id.
const IFRAME_AUTHORIZE_PATH: &str = "/iframe-authorize";
const IFRAME_PAGE_PATH: &str = "/iframe/{flow_id}";
const IFRAME_STATUS_PATH: &str = "/iframe/{flow_id}/status";
const IFRAME_SCRIPT_PATH: &str = "/iframe/iframe.js";

/// The endpoints the BIS issuer serves, in the order the router adds them.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::Discovery,
    Endpoint::Jwks,
    Endpoint::Authorization,
    Endpoint::Token,
    Endpoint::Userinfo,
    Endpoint::LoginActions,
    Endpoint::JwksGrants,
    Endpoint::Permissions,
    Endpoint::PermissionUserExists,
    Endpoint::PermissionGrant,
    Endpoint::App,
    Endpoint::BackchannelAuthentication,
    Endpoint::IframeAuthorize,
    Endpoint::IframePage,
    Endpoint::IframeStatus,
    Endpoint::IframeScript,
];

/// An endpoint's path below the BIS issuer.
pub fn path(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Discovery => DISCOVERY_PATH,
        Endpoint::Jwks => JWKS_PATH,
        Endpoint::Authorization => AUTH_PATH,
        Endpoint::Token => TOKEN_PATH,
        Endpoint::Userinfo => USERINFO_PATH,
        Endpoint::LoginActions => LOGIN_ACTIONS_PATH,
        Endpoint::JwksGrants => JWKS_GRANTS_PATH,
        Endpoint::Permissions => PERMISSIONS_PATH,
        Endpoint::PermissionUserExists => PERMISSION_USER_EXISTS_PATH,
        Endpoint::PermissionGrant => PERMISSION_GRANT_PATH,
        Endpoint::App => APP_PATH,
        Endpoint::BackchannelAuthentication => BACKCHANNEL_PATH,
        Endpoint::IframeAuthorize => IFRAME_AUTHORIZE_PATH,
        Endpoint::IframePage => IFRAME_PAGE_PATH,
        Endpoint::IframeStatus => IFRAME_STATUS_PATH,
        Endpoint::IframeScript => IFRAME_SCRIPT_PATH,
        // Not served at BIS: their paths are the realm's.
        Endpoint::JwksEnc
        | Endpoint::PushedAuthorization
        | Endpoint::Introspection
        | Endpoint::Revocation
        | Endpoint::Logout
        | Endpoint::Stylesheet
        | Endpoint::Favicon => super::realm::path(endpoint),
    }
}

/// The grant types the BIS token endpoint serves.
pub const GRANT_TYPES: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::Ciba];

/// The discovery document of the BIS issuer `issuer`.
pub fn discovery(issuer: &str) -> ProviderMetadata {
    let url = |path: &str| format!("{issuer}{path}");
    ProviderMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: Some(url(AUTH_PATH)),
        token_endpoint: Some(url(TOKEN_PATH)),
        userinfo_endpoint: Some(url(USERINFO_PATH)),
        jwks_uri: url(JWKS_PATH),
        jwks_uri_grants: Some(url(JWKS_GRANTS_PATH)),
        permissions_endpoint: Some(url(PERMISSIONS_PATH)),
        backchannel_authentication_endpoint: Some(url(BACKCHANNEL_PATH)),
        backchannel_token_delivery_modes_supported: strings(&["poll"]),
        backchannel_user_code_parameter_supported: Some(false),
        iframe_authorize_endpoint: Some(url(IFRAME_AUTHORIZE_PATH)),
        scopes_supported: strings(BIS_SCOPES),
        claims_supported: strings(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "sid",
            "nonce",
            "acr",
            "amr",
            "typ",
            "at_hash",
            "proof_key_id",
            "sub_nnin",
            "sub_bankid",
            "name",
            "given_name",
            "family_name",
            "birthdate",
            "updated_at",
        ]),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query", "fragment", "form_post"]),
        grant_types_supported: GRANT_TYPES.iter().map(|g| g.to_string()).collect(),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["ES256"]),
        token_endpoint_auth_methods_supported: auth_methods(),
        token_endpoint_auth_signing_alg_values_supported: SigningAlg::ALL
            .iter()
            .map(|a| a.name().to_owned())
            .collect(),
        code_challenge_methods_supported: strings(&["S256"]),
        acr_values_supported: vec![Method::Bis.acr_value().to_owned()],
        ui_locales_supported: strings(&["nb", "en"]),
        claims_parameter_supported: Some(false),
        request_parameter_supported: Some(false),
        request_uri_parameter_supported: Some(false),
        authorization_response_iss_parameter_supported: Some(true),
        ..ProviderMetadata::default()
    }
}

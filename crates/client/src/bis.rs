//! BankID with biometrics (BIS): permissions registered upfront, the login that approves them,
//! and the signed grant (seed 004; BANKID.md "Permissions API (BIS)").
//!
//! The BIS issuer is a provider of its own (`{public_url}/bis`, discovery at
//! `{issuer}/.well-known/openid-configuration`): build a second [`Client`](crate::Client) for it
//! exactly as for the realm. Its discovery adds `permissions_endpoint` and `jwks_uri_grants`, and
//! its ID tokens are checked for LOA 3 in `acr` unless [`ClientBuilder::min_loa`] says otherwise.
//! Besides the usual claims, a BIS ID token carries `sid`, `amr`, `proof_key_id` and, with the
//! scopes `sub_nnin` and `sub_bankid`, the claims of those names: all on
//! [`IdToken::claims`](crate::IdToken).
//!
//! As elsewhere in the crate, each step is a pure half ([`PermissionRequest::to_body`],
//! [`process_register_response`], [`process_user_exists_response`],
//! [`grant::process_grant_response`], [`grant::verify_grant`]) and a [`Client`](crate::Client)
//! method that does the HTTP.
//!
//! # The steps of seed 004
//!
//! ```no_run
//! use bankid_oidc_client::bis::PermissionRequest;
//! use bankid_oidc_client::core::permission::{Payment, PaymentStatement, Statement};
//! use bankid_oidc_client::{Client, Error};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Error> {
//! // 2. and 4. One client per issuer: the realm issues the machine token, BIS the rest.
//! let realm = Client::builder("https://auth.current.bankid.no/auth/realms/current", "shop")
//!     .client_secret("secret")
//!     .discover()
//!     .await?;
//! let bis = Client::builder("https://auth.current.bankid.no/bis", "shop")
//!     .client_secret("secret")
//!     .redirect_uri("https://shop.example/callback")
//!     .discover()
//!     .await?;
//!
//! // 3. An access token with permissions/client (and permissions/iframe for the iframe).
//! let token = realm
//!     .client_credentials(&["permissions/client", "permissions/iframe"])
//!     .await?;
//!
//! // 5. Register the permission: a payment statement with a unique nonce.
//! let statement = Statement::Payment(PaymentStatement {
//!     nonce: "dW5pcXVlIHZhbHVl".into(),
//!     id: "basket-1".into(),
//!     payments: vec![Payment {
//!         payment_id: "payment-1".into(),
//!         amount: "123.45".into(),
//!         currency: "NOK".into(),
//!         creditor_name: "Scrooge McDuck".into(),
//!     }],
//! });
//! let request = PermissionRequest::new(statement)
//!     .intents(["redirect"])
//!     .login_hint_nnin("15076500565");
//! let registered = bis.register_permission(&token.token, &request).await?;
//! println!("show the user: {}", registered.binding_message);
//!
//! // 6. to 10. The login with the permission token; the callback as for any login.
//! let login = bis
//!     .authorization_request()
//!     .await?
//!     .login_hint_token(&registered.permission_token)
//!     .build()?;
//! # let _ = login;
//!
//! // 12. The signed grant, checked against the statement sent.
//! let deadline = std::time::Instant::now() + Duration::from_secs(300);
//! let grant = bis.poll_grant(&token.token, &registered, deadline).await?;
//! println!("approved by {}", grant.claims.sub);
//! # Ok(())
//! # }
//! ```
//!
//! [`ClientBuilder::min_loa`]: crate::ClientBuilder::min_loa

pub mod grant;

pub use grant::{
    GrantAnswer, VerifiedGrant, next_poll_delay, process_grant_response, verify_grant,
};

use crate::Error;
use crate::error::ProviderError;
use crate::http::HttpResponse;
use bankid_oidc_core::b64;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_core::permission::{Statement, digest_of};
use bankid_oidc_core::permission_request::{ACR_VALUES, INTENTS, LOA_SUB, NNIN_SCHEME};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The level of assurance of BankID with biometrics: substantial.
pub const BIS_LOA: u8 = 3;
/// How long a permission may be granted in unless set: seed 004's "a few minutes".
pub const DEFAULT_PERMISSION_LIFETIME: Duration = Duration::from_secs(300);

/// Whether discovery describes a BIS issuer: only it publishes the permissions API and the grant
/// keys.
pub fn is_bis_issuer(metadata: &ProviderMetadata) -> bool {
    metadata.jwks_uri_grants.is_some() || metadata.permissions_endpoint.is_some()
}

/// The statement as the `permission` member carries it: base64url of its JSON.
pub fn encode_statement(statement: &Statement) -> String {
    b64::encode(statement.to_json())
}

/// base64url(SHA-256(statement JSON)): what the grant's `digest` (and the ID token's
/// `permission_digest`) must be for the statement [`encode_statement`] encodes.
pub fn statement_digest(statement: &Statement) -> String {
    digest_of(&statement.to_json())
}

/// The body of `POST {permissions_endpoint}`, built by the merchant.
#[derive(Debug, Clone)]
pub struct PermissionRequest {
    statement: Statement,
    lifetime: Duration,
    intents: Vec<String>,
    login_hint_nnin: Option<String>,
    acr_values: Vec<String>,
}

impl PermissionRequest {
    /// A request for `statement`, valid for [`DEFAULT_PERMISSION_LIFETIME`].
    pub fn new(statement: Statement) -> Self {
        PermissionRequest {
            statement,
            lifetime: DEFAULT_PERMISSION_LIFETIME,
            intents: Vec::new(),
            login_hint_nnin: None,
            acr_values: Vec::new(),
        }
    }

    /// How long the user has to grant it (`exp - iat`; the provider allows 600 s at most).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// `iframe`, `ciba`, `app2app` or `redirect`.
    pub fn intents<I, S>(mut self, intents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.intents.extend(intents.into_iter().map(Into::into));
        self
    }

    /// The user's NNIN, if known: seed 004 "highly recommends" it.
    pub fn login_hint_nnin(mut self, nnin: &str) -> Self {
        self.login_hint_nnin = Some(nnin.to_owned());
        self
    }

    /// `urn:bankid:bis` or `urn:bankid:bis;LOA=3`.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values.extend(values.into_iter().map(Into::into));
        self
    }

    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The JSON body issued at `now` (seconds since the Unix epoch), checked for what the
    /// provider would refuse anyway, so that the mistake is reported here with its field.
    pub fn to_body(&self, now: i64) -> Result<Value, Error> {
        let invalid = |field: &str, message: String| {
            Err(Error::InvalidPermission(format!("{field}: {message}")))
        };
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        if lifetime == 0 {
            return invalid("exp", "the lifetime must be at least one second".into());
        }
        for intent in &self.intents {
            if !INTENTS.contains(&intent.as_str()) {
                return invalid("intents", format!("unknown intent '{intent}'"));
            }
        }
        for acr in &self.acr_values {
            if !ACR_VALUES.contains(&acr.as_str()) {
                return invalid("acr_values", format!("'{acr}': BIS is urn:bankid:bis only"));
            }
        }
        let mut body = json!({
            "type": self.statement.type_name(),
            "loa": LOA_SUB,
            "iat": now,
            "exp": now.saturating_add(lifetime),
            "permission": encode_statement(&self.statement),
        });
        if !self.intents.is_empty() {
            body["intents"] = json!(self.intents);
        }
        if let Some(nnin) = &self.login_hint_nnin {
            Nnin::parse(nnin).map_err(|e| Error::InvalidLoginHint(e.to_string()))?;
            body["loginHint"] = json!([{"scheme": NNIN_SCHEME, "value": nnin}]);
        }
        if !self.acr_values.is_empty() {
            body["acr_values"] = json!(self.acr_values);
        }
        Ok(body)
    }
}

/// A permission the provider accepted: what the login and the grant check need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredPermission {
    /// The permission id, `1.BY.<...>.<...>`.
    pub id: String,
    /// The `login_hint_token` of the login that grants it.
    pub permission_token: String,
    /// The two words to show the user, who sees the same in the app.
    pub binding_message: String,
    /// The statement's nonce, which the grant must carry back.
    pub nonce: Option<String>,
    /// The statement's digest, which the grant must carry back.
    pub digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterAnswer {
    id: String,
    permission_token: String,
    binding_message: String,
}

/// An error answer of the permissions API as a typed error carrying `error` and
/// `error_description`; an answer without them as [`Error::HttpStatus`].
pub(crate) fn endpoint_error(url: &str, response: &HttpResponse) -> Error {
    match serde_json::from_slice::<ProviderError>(&response.body) {
        Ok(error) => Error::Endpoint {
            endpoint: "permissions",
            status: response.status,
            error,
        },
        Err(_) => Error::HttpStatus {
            url: url.to_owned(),
            status: response.status,
            body: response.body_excerpt(),
        },
    }
}

/// An id goes into a URL path: only the characters of seed 004's shape.
fn check_permission_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(Error::MalformedResponse {
            what: "permission id",
            detail: format!("'{id}' is not of the form 1.BY.<base64url>.<base64url>"),
        })
    }
}

/// Reads the answer of `POST {permissions_endpoint}` (200 or 201 with `{"id",
/// "permissionToken", "bindingMessage"}`).
pub fn process_register_response(
    url: &str,
    response: &HttpResponse,
    request: &PermissionRequest,
) -> Result<RegisteredPermission, Error> {
    if !matches!(response.status, 200 | 201) {
        return Err(endpoint_error(url, response));
    }
    let answer: RegisterAnswer =
        serde_json::from_slice(&response.body).map_err(|e| Error::MalformedResponse {
            what: "permission registration answer",
            detail: e.to_string(),
        })?;
    check_permission_id(&answer.id)?;
    Ok(RegisteredPermission {
        id: answer.id,
        permission_token: answer.permission_token,
        binding_message: answer.binding_message,
        nonce: request.statement.nonce().map(str::to_owned),
        digest: statement_digest(&request.statement),
    })
}

/// The body of `POST {permissions_endpoint}user-exists`.
pub fn user_exists_body(nnin: &str) -> Result<Value, Error> {
    Nnin::parse(nnin).map_err(|e| Error::InvalidLoginHint(e.to_string()))?;
    Ok(json!({"loginHint": [{"scheme": NNIN_SCHEME, "value": nnin}]}))
}

/// Reads `{"exists": bool}`.
pub fn process_user_exists_response(url: &str, response: &HttpResponse) -> Result<bool, Error> {
    if response.status != 200 {
        return Err(endpoint_error(url, response));
    }
    #[derive(Deserialize)]
    struct Exists {
        exists: bool,
    }
    serde_json::from_slice::<Exists>(&response.body)
        .map(|answer| answer.exists)
        .map_err(|e| Error::MalformedResponse {
            what: "user-exists answer",
            detail: e.to_string(),
        })
}

/// `{permissions_endpoint}{id}/grant`; the endpoint ends with a slash (seed 004:
/// `/permissions/v1/`), added if it does not.
pub fn grant_url(permissions_endpoint: &str, id: &str) -> String {
    format!("{}{id}/grant", with_slash(permissions_endpoint))
}

/// `{permissions_endpoint}user-exists`.
pub fn user_exists_url(permissions_endpoint: &str) -> String {
    format!("{}user-exists", with_slash(permissions_endpoint))
}

fn with_slash(endpoint: &str) -> String {
    if endpoint.ends_with('/') {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::permission::{Payment, PaymentStatement, TextStatement, parse_statement};
    use bankid_oidc_core::permission_request::{PermissionPolicy, validate_permission_request};

    pub(crate) fn payment_statement() -> Statement {
        Statement::Payment(PaymentStatement {
            nonce: "nonce-1".into(),
            id: "basket".into(),
            payments: vec![Payment {
                payment_id: "p1".into(),
                amount: "123.45".into(),
                currency: "NOK".into(),
                creditor_name: "Scrooge McDuck".into(),
            }],
        })
    }

    #[test]
    fn an_encoded_statement_decodes_to_itself_with_the_same_digest() {
        for statement in [
            payment_statement(),
            Statement::Text(TextStatement {
                nonce: None,
                text: "Godkjenn\nvilkårene".into(),
            }),
        ] {
            let encoded = encode_statement(&statement);
            let (decoded, digest) = parse_statement(statement.type_name(), &encoded).unwrap();
            assert_eq!(decoded, statement);
            assert_eq!(digest, statement_digest(&statement));
        }
    }

    #[test]
    fn the_built_body_passes_the_providers_validation() {
        let now = 1_700_000_000;
        let body = PermissionRequest::new(payment_statement())
            .intents(["iframe", "redirect"])
            .login_hint_nnin("15076500565")
            .acr_values(["urn:bankid:bis"])
            .to_body(now)
            .unwrap();
        let valid =
            validate_permission_request(body.to_string().as_bytes(), &PermissionPolicy::new(now))
                .unwrap();
        assert_eq!(valid.digest, statement_digest(&payment_statement()));
        assert_eq!(valid.exp - valid.iat, 300);
        assert_eq!(valid.login_hint_nnin.as_deref(), Some("15076500565"));
    }

    #[test]
    fn the_builder_refuses_a_bad_nnin_an_unknown_intent_and_a_realm_acr() {
        let request = || PermissionRequest::new(payment_statement());
        assert!(matches!(
            request().login_hint_nnin("15076500566").to_body(0),
            Err(Error::InvalidLoginHint(_))
        ));
        assert!(matches!(
            request().intents(["sms"]).to_body(0),
            Err(Error::InvalidPermission(_))
        ));
        assert!(matches!(
            request().acr_values(["urn:bankid:bid"]).to_body(0),
            Err(Error::InvalidPermission(_))
        ));
    }

    fn response(status: u16, body: Value) -> HttpResponse {
        HttpResponse {
            status,
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn registration_answers_become_a_registered_permission_or_a_typed_error() {
        let request = PermissionRequest::new(payment_statement());
        let id = "1.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0";
        let ok = response(
            201,
            json!({"id": id, "permissionToken": "a.b.c", "bindingMessage": "Farlig frakk"}),
        );
        let registered = process_register_response("u", &ok, &request).unwrap();
        assert_eq!(registered.nonce.as_deref(), Some("nonce-1"));
        assert_eq!(registered.digest, statement_digest(&payment_statement()));
        let refused = response(
            400,
            json!({"error": "invalid_request", "error_description": "iat: in the future"}),
        );
        match process_register_response("u", &refused, &request) {
            Err(Error::Endpoint {
                status: 400, error, ..
            }) => {
                assert_eq!(error.code, "invalid_request");
                assert_eq!(error.description.as_deref(), Some("iat: in the future"));
            }
            other => panic!("{other:?}"),
        }
        let path_trick = response(
            201,
            json!({"id": "../../admin", "permissionToken": "t", "bindingMessage": "m"}),
        );
        assert!(matches!(
            process_register_response("u", &path_trick, &request),
            Err(Error::MalformedResponse { .. })
        ));
    }

    #[test]
    fn user_exists_reads_the_answer_and_urls_get_their_slash() {
        assert!(
            process_user_exists_response("u", &response(200, json!({"exists": true}))).unwrap()
        );
        assert!(
            !process_user_exists_response("u", &response(200, json!({"exists": false}))).unwrap()
        );
        assert_eq!(
            user_exists_url("https://op/permissions/v1"),
            "https://op/permissions/v1/user-exists"
        );
        assert_eq!(
            grant_url("https://op/permissions/v1/", "1.BY.a.b"),
            "https://op/permissions/v1/1.BY.a.b/grant"
        );
        assert!(user_exists_body("123").is_err());
    }
}

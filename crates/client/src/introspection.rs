//! Token introspection (RFC 7662): ask the provider whether a token is active, and what it
//! grants. Client-authenticated like the token endpoint.

use crate::Error;
use crate::client_auth::ClientAuth;
use crate::http::{FormRequest, HttpResponse};
use crate::token::{TokenTypeHint, endpoint_error, token_form};
use bankid_oidc_core::claims::Audience;
use bankid_oidc_core::discovery::ProviderMetadata;
use serde::Deserialize;

/// The provider's answer. An inactive token carries nothing else: the provider does not say
/// whether it expired, was revoked, belongs to another client or never existed (RFC 7662
/// section 2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Introspection {
    Active(Box<ActiveToken>),
    Inactive,
}

impl Introspection {
    pub fn is_active(&self) -> bool {
        matches!(self, Introspection::Active(_))
    }

    /// The token's details if it is active.
    pub fn active(&self) -> Option<&ActiveToken> {
        match self {
            Introspection::Active(token) => Some(token.as_ref()),
            Introspection::Inactive => None,
        }
    }
}

/// What the provider tells about an active token: the standard members of RFC 7662 section 2.2,
/// the OpenID Connect ones providers add (`sid`, `acr`), and anything else in `other`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActiveToken {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// `Bearer` for access tokens; our provider says `refresh_token` for refresh tokens.
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub aud: Option<Audience>,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub acr: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ActiveToken {
    /// The granted scopes, split.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_whitespace()
    }
}

/// `introspection_endpoint`, or BankID's alias `token_introspection_endpoint`.
fn introspection_endpoint(metadata: &ProviderMetadata) -> Result<&str, Error> {
    metadata
        .introspection_endpoint
        .as_deref()
        .or(metadata.token_introspection_endpoint.as_deref())
        .ok_or(Error::MissingMetadata("introspection_endpoint"))
}

/// An introspection request for `token`, authenticated as `client_id`.
pub fn introspection_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<FormRequest, Error> {
    let url = introspection_endpoint(metadata)?.to_owned();
    let mut form = token_form(token, hint);
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url,
        authorization,
        form,
    })
}

#[derive(Deserialize)]
struct Envelope {
    active: Option<serde_json::Value>,
}

/// Reads an introspection answer. `active` is the one required member and must be a boolean;
/// anything else is a malformed answer, not an inactive token. The times (`exp`, `iat`, `nbf`)
/// must be integers within i64 when present; they are reported, not compared.
pub fn process_introspection_response(
    url: &str,
    response: &HttpResponse,
) -> Result<Introspection, Error> {
    if response.status != 200 {
        return Err(endpoint_error("introspection", url, response));
    }
    let malformed = |detail: String| Error::MalformedResponse {
        what: "introspection response",
        detail,
    };
    let envelope: Envelope =
        serde_json::from_slice(&response.body).map_err(|e| malformed(e.to_string()))?;
    match envelope.active {
        Some(serde_json::Value::Bool(false)) => Ok(Introspection::Inactive),
        Some(serde_json::Value::Bool(true)) => {
            let token: ActiveToken =
                serde_json::from_slice(&response.body).map_err(|e| malformed(e.to_string()))?;
            // Present but empty identifiers would key a merchant's records by nothing.
            for (claim, value) in [("sub", &token.sub), ("sid", &token.sid)] {
                if value.as_deref() == Some("") {
                    return Err(Error::EmptyClaim(claim));
                }
            }
            Ok(Introspection::Active(Box::new(token)))
        }
        Some(other) => Err(malformed(format!("active is {other}, not a boolean"))),
        None => Err(malformed("no active member".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::ErrorCode;

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            introspection_endpoint: Some("https://op.example/introspect".into()),
            ..Default::default()
        }
    }

    fn json(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn introspection_request_sends_token_hint_and_client_credentials() {
        let request = introspection_request(
            &metadata(),
            &ClientAuth::SecretBasic { secret: "s".into() },
            "merchant",
            "the-token",
            Some(TokenTypeHint::RefreshToken),
        )
        .unwrap();
        assert_eq!(request.url, "https://op.example/introspect");
        assert!(request.authorization.unwrap().starts_with("Basic "));
        assert_eq!(
            request.form,
            [
                ("token".to_owned(), "the-token".to_owned()),
                ("token_type_hint".to_owned(), "refresh_token".to_owned()),
            ]
        );
    }

    #[test]
    fn introspection_endpoint_falls_back_to_bankids_alias_and_is_required() {
        let mut metadata = metadata();
        metadata.introspection_endpoint = None;
        metadata.token_introspection_endpoint = Some("https://op.example/alias".into());
        let auth = ClientAuth::SecretPost { secret: "s".into() };
        let request = introspection_request(&metadata, &auth, "c", "t", None).unwrap();
        assert_eq!(request.url, "https://op.example/alias");
        assert!(!request.form.iter().any(|(k, _)| k == "token_type_hint"));
        metadata.token_introspection_endpoint = None;
        assert!(matches!(
            introspection_request(&metadata, &auth, "c", "t", None),
            Err(Error::MissingMetadata("introspection_endpoint"))
        ));
    }

    #[test]
    fn an_active_answer_is_read_into_typed_fields() {
        let answer = process_introspection_response(
            "u",
            &json(
                200,
                r#"{"active":true,"token_type":"Bearer","scope":"openid profile","client_id":"merchant",
                    "sub":"user-1","aud":"https://op.example","exp":2000000000,"sid":"s-1","extra":1}"#,
            ),
        )
        .unwrap();
        let token = answer.active().unwrap();
        assert_eq!(token.client_id.as_deref(), Some("merchant"));
        assert_eq!(token.scopes().collect::<Vec<_>>(), ["openid", "profile"]);
        assert_eq!(token.exp, Some(2_000_000_000));
        assert_eq!(token.aud, Some(Audience::One("https://op.example".into())));
        assert_eq!(token.sid.as_deref(), Some("s-1"));
        assert_eq!(token.other["extra"], 1);
    }

    #[test]
    fn an_inactive_answer_carries_nothing_and_a_missing_active_is_malformed() {
        assert_eq!(
            process_introspection_response("u", &json(200, r#"{"active":false}"#)).unwrap(),
            Introspection::Inactive
        );
        for body in [r#"{"scope":"openid"}"#, r#"{"active":"true"}"#, "not json"] {
            assert!(
                matches!(
                    process_introspection_response("u", &json(200, body)),
                    Err(Error::MalformedResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn a_refused_client_is_the_endpoints_typed_error() {
        let err = process_introspection_response(
            "u",
            &json(
                401,
                r#"{"error":"invalid_client","error_description":"no"}"#,
            ),
        )
        .unwrap_err();
        match &err {
            Error::Endpoint {
                endpoint: "introspection",
                status: 401,
                error,
            } => assert_eq!(error.known_code(), Some(ErrorCode::InvalidClient)),
            other => panic!("{other:?}"),
        }
    }
}

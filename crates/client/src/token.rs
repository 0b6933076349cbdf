//! Token endpoint requests (authorization code, refresh, client credentials) and the reading of
//! their answers. Sans-I/O: requests are built as values, answers are read from status and body.

use crate::Error;
use crate::authorization::PendingLogin;
use crate::callback::AuthorizationCode;
use crate::client_auth::ClientAuth;
use crate::error::ProviderError;
use crate::http::{FormRequest, HttpResponse};
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::discovery::ProviderMetadata;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The token endpoint's successful answer (RFC 6749 section 5.1) as this library reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    /// The access token's lifetime in seconds, if the provider said: RFC 6749 only recommends
    /// it. `None` means unknown, not unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Tokens {
    /// The access token's lifetime, if the provider said.
    pub fn lifetime(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
}

fn token_endpoint(metadata: &ProviderMetadata) -> Result<&str, Error> {
    metadata
        .token_endpoint
        .as_deref()
        .ok_or(Error::MissingMetadata("token_endpoint"))
}

/// The code exchange (RFC 6749 section 4.1.3) with the PKCE verifier (RFC 7636 section 4.5).
pub fn authorization_code_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    pending: &PendingLogin,
    code: &AuthorizationCode,
) -> Result<FormRequest, Error> {
    let mut form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code.0.clone()),
        ("redirect_uri".to_owned(), pending.redirect_uri.clone()),
        ("code_verifier".to_owned(), pending.code_verifier.clone()),
    ];
    let authorization = auth.apply(&pending.client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url: token_endpoint(metadata)?.to_owned(),
        authorization,
        form,
    })
}

/// A machine token (RFC 6749 section 4.4) for the given scopes.
pub fn client_credentials_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    scopes: &[&str],
) -> Result<FormRequest, Error> {
    let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
    if !scopes.is_empty() {
        form.push(("scope".to_owned(), scopes.join(" ")));
    }
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url: token_endpoint(metadata)?.to_owned(),
        authorization,
        form,
    })
}

/// A refresh (RFC 6749 section 6). `scopes` may narrow the new access token's scope, never widen
/// it; `None` (or an empty list) keeps the scope of the original grant.
pub fn refresh_token_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    refresh_token: &str,
    scopes: Option<&[&str]>,
) -> Result<FormRequest, Error> {
    let mut form = vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), refresh_token.to_owned()),
    ];
    if let Some(scopes) = scopes.filter(|s| !s.is_empty()) {
        form.push(("scope".to_owned(), scopes.join(" ")));
    }
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url: token_endpoint(metadata)?.to_owned(),
        authorization,
        form,
    })
}

/// Which kind of token is sent to introspection or revocation (RFC 7009 section 2.1, RFC 7662
/// section 2.1). Only a hint: the provider looks further if it is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// The form of an introspection or revocation request: the token, and its hint if given.
pub(crate) fn token_form(token: &str, hint: Option<TokenTypeHint>) -> Vec<(String, String)> {
    let mut form = vec![("token".to_owned(), token.to_owned())];
    if let Some(hint) = hint {
        form.push(("token_type_hint".to_owned(), hint.as_str().to_owned()));
    }
    form
}

/// Reads an error answer: the OAuth error JSON if there is one, otherwise the HTTP status.
pub(crate) fn endpoint_error(endpoint: &'static str, url: &str, response: &HttpResponse) -> Error {
    match serde_json::from_slice::<ProviderError>(&response.body) {
        Ok(error) => Error::Endpoint {
            endpoint,
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

/// Reads a token endpoint answer (RFC 6749 section 5). `expires_in`, when present, must be a
/// non-negative integer; any such value is accepted (nothing adds to it unchecked).
pub fn read_token_response(url: &str, response: &HttpResponse) -> Result<Tokens, Error> {
    if response.status != 200 {
        return Err(endpoint_error("token", url, response));
    }
    let tokens: Tokens =
        serde_json::from_slice(&response.body).map_err(|e| Error::MalformedResponse {
            what: "token response",
            detail: e.to_string(),
        })?;
    // The token type is case-insensitive (RFC 6749 section 5.1); this library sends bearer tokens
    // only, and a DPoP- or MAC-bound token used as a bearer would fail later, less clearly.
    if !tokens.token_type.eq_ignore_ascii_case("bearer") {
        return Err(Error::UnsupportedTokenType(tokens.token_type));
    }
    Ok(tokens)
}

/// [`read_token_response`] into the core crate's [`TokenResponse`], for callers that share that
/// type with a provider. Without `expires_in`, the lifetime is unknown (`None`).
pub fn process_token_response(url: &str, response: &HttpResponse) -> Result<TokenResponse, Error> {
    let tokens = read_token_response(url, response)?;
    Ok(TokenResponse {
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_in: tokens.expires_in,
        id_token: tokens.id_token,
        refresh_token: tokens.refresh_token,
        scope: tokens.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::ErrorCode;

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example".into(),
            token_endpoint: Some("https://op.example/token".into()),
            jwks_uri: "https://op.example/jwks".into(),
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
    fn code_exchange_sends_verifier_and_redirect_uri_with_basic_auth_by_default() {
        let pending = PendingLogin {
            issuer: "https://op.example".into(),
            client_id: "merchant".into(),
            redirect_uri: "https://m.example/cb".into(),
            state: "s".into(),
            nonce: "n".into(),
            code_verifier: "v".repeat(43),
            max_age: None,
            permission_digest: None,
            acr_values: Vec::new(),
        };
        let request = authorization_code_request(
            &metadata(),
            &ClientAuth::SecretBasic {
                secret: "secret".into(),
            },
            &pending,
            &AuthorizationCode("the-code".into()),
        )
        .unwrap();
        assert_eq!(request.url, "https://op.example/token");
        assert!(request.authorization.unwrap().starts_with("Basic "));
        let form: std::collections::HashMap<_, _> = request.form.into_iter().collect();
        assert_eq!(form["grant_type"], "authorization_code");
        assert_eq!(form["code"], "the-code");
        assert_eq!(form["redirect_uri"], "https://m.example/cb");
        assert_eq!(form["code_verifier"], "v".repeat(43));
        assert!(!form.contains_key("client_secret"));
    }

    #[test]
    fn token_endpoint_errors_are_typed_and_non_json_errors_keep_the_status() {
        let err = process_token_response(
            "https://op.example/token",
            &json(
                400,
                r#"{"error":"invalid_grant","error_description":"code used"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(
            err.provider_error().unwrap().known_code(),
            Some(ErrorCode::InvalidGrant)
        );
        let err =
            process_token_response("https://op.example/token", &json(502, "<html>")).unwrap_err();
        assert!(matches!(err, Error::HttpStatus { status: 502, .. }));
    }

    #[test]
    fn token_response_must_be_a_bearer_token() {
        let ok = process_token_response(
            "u",
            &json(
                200,
                r#"{"access_token":"a","token_type":"bearer","expires_in":60}"#,
            ),
        )
        .unwrap();
        assert_eq!(ok.access_token, "a");
        let err = process_token_response(
            "u",
            &json(
                200,
                r#"{"access_token":"a","token_type":"DPoP","expires_in":60}"#,
            ),
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnsupportedTokenType(_)));
    }

    #[test]
    fn a_token_response_without_expires_in_has_an_unknown_lifetime() {
        let body = r#"{"access_token":"a","token_type":"Bearer"}"#;
        let tokens = read_token_response("u", &json(200, body)).unwrap();
        assert_eq!(tokens.expires_in, None);
        assert_eq!(tokens.lifetime(), None);
        assert_eq!(
            process_token_response("u", &json(200, body))
                .unwrap()
                .expires_in,
            None
        );
        let with = r#"{"access_token":"a","token_type":"Bearer","expires_in":60}"#;
        assert_eq!(
            process_token_response("u", &json(200, with))
                .unwrap()
                .expires_in,
            Some(60)
        );
    }

    #[test]
    fn refresh_request_sends_the_token_and_narrows_scope_only_when_asked() {
        let auth = ClientAuth::SecretBasic {
            secret: "secret".into(),
        };
        let request = refresh_token_request(&metadata(), &auth, "merchant", "rt-1", None).unwrap();
        assert_eq!(request.url, "https://op.example/token");
        assert!(request.authorization.unwrap().starts_with("Basic "));
        assert_eq!(
            request.form,
            [
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), "rt-1".to_owned()),
            ]
        );
        let empty =
            refresh_token_request(&metadata(), &auth, "merchant", "rt-1", Some(&[])).unwrap();
        assert!(!empty.form.iter().any(|(k, _)| k == "scope"));
        let narrowed = refresh_token_request(
            &metadata(),
            &auth,
            "merchant",
            "rt-1",
            Some(&["openid", "profile"]),
        )
        .unwrap();
        assert!(
            narrowed
                .form
                .contains(&("scope".to_owned(), "openid profile".to_owned()))
        );
    }

    #[test]
    fn client_credentials_request_joins_scopes() {
        let request = client_credentials_request(
            &metadata(),
            &ClientAuth::SecretPost { secret: "s".into() },
            "machine",
            &["permissions/client", "permissions/iframe"],
        )
        .unwrap();
        assert!(request.form.contains(&(
            "scope".to_owned(),
            "permissions/client permissions/iframe".to_owned()
        )));
        assert!(request.authorization.is_none());
    }
}

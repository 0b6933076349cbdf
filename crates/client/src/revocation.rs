//! Token revocation (RFC 7009): tell the provider a token is no longer needed, at logout or when
//! a merchant disconnects a user. Client-authenticated like the token endpoint.
//!
//! Revoking a refresh token ends the whole login at the provider (its access tokens too);
//! revoking an access token ends that token only.

use crate::Error;
use crate::client_auth::ClientAuth;
use crate::http::{FormRequest, HttpResponse};
use crate::token::{TokenTypeHint, endpoint_error, token_form};
use bankid_oidc_core::discovery::ProviderMetadata;

/// A revocation request for `token`, authenticated as `client_id`.
pub fn revocation_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<FormRequest, Error> {
    let url = metadata
        .revocation_endpoint
        .as_deref()
        .ok_or(Error::MissingMetadata("revocation_endpoint"))?
        .to_owned();
    let mut form = token_form(token, hint);
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url,
        authorization,
        form,
    })
}

/// Reads a revocation answer: HTTP 200 means the token is revoked, or was never valid (the RFC
/// answers both alike, section 2.2); anything else is the endpoint's error.
pub fn process_revocation_response(url: &str, response: &HttpResponse) -> Result<(), Error> {
    if response.status == 200 {
        return Ok(());
    }
    Err(endpoint_error("revocation", url, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_request_needs_the_endpoint_and_sends_the_token() {
        let mut metadata = ProviderMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            revocation_endpoint: Some("https://op.example/revoke".into()),
            ..Default::default()
        };
        let auth = ClientAuth::SecretBasic { secret: "s".into() };
        let request = revocation_request(
            &metadata,
            &auth,
            "merchant",
            "at",
            Some(TokenTypeHint::AccessToken),
        )
        .unwrap();
        assert_eq!(request.url, "https://op.example/revoke");
        assert!(request.authorization.is_some());
        assert_eq!(
            request.form,
            [
                ("token".to_owned(), "at".to_owned()),
                ("token_type_hint".to_owned(), "access_token".to_owned()),
            ]
        );
        metadata.revocation_endpoint = None;
        assert!(matches!(
            revocation_request(&metadata, &auth, "merchant", "at", None),
            Err(Error::MissingMetadata("revocation_endpoint"))
        ));
    }

    #[test]
    fn status_200_with_any_body_is_success_and_errors_are_typed() {
        let ok = HttpResponse {
            status: 200,
            content_type: None,
            body: Vec::new(),
        };
        process_revocation_response("u", &ok).unwrap();
        let refused = HttpResponse {
            status: 400,
            content_type: Some("application/json".into()),
            body: br#"{"error":"unsupported_token_type"}"#.to_vec(),
        };
        match process_revocation_response("u", &refused).unwrap_err() {
            Error::Endpoint {
                endpoint: "revocation",
                status: 400,
                error,
            } => {
                // RFC 7009's own code, outside the core's list: kept as received.
                assert_eq!(error.code, "unsupported_token_type");
                assert_eq!(error.known_code(), None);
            }
            other => panic!("{other:?}"),
        }
    }
}

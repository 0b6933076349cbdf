//! Pushed authorization requests (RFC 9126): the backend posts the authorization parameters to
//! the provider, authenticated like at the token endpoint, and the browser is sent with only
//! `client_id` and the single-use `request_uri` it got back. Nothing the request carries (an NNIN
//! login_hint, a payment) passes through the browser, and nobody on the way can change it.

use crate::Error;
use crate::client_auth::ClientAuth;
use crate::http::{FormRequest, HttpResponse};
use crate::token::endpoint_error;
use bankid_oidc_core::discovery::ProviderMetadata;
use serde::Deserialize;

/// The provider's answer: where the browser goes, and for how long the reference is valid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushedRequest {
    pub request_uri: String,
    /// Seconds (BankID: 60 to 90). Send the browser at once.
    pub expires_in: u64,
}

/// The PAR request: `params` (every authorization parameter, or `client_id`, `response_type`
/// and `request` for a request object) plus the client's credentials.
pub fn pushed_authorization_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    params: &[(String, String)],
) -> Result<FormRequest, Error> {
    let url = metadata
        .pushed_authorization_request_endpoint
        .as_deref()
        .ok_or(Error::MissingMetadata(
            "pushed_authorization_request_endpoint",
        ))?;
    // The credentials decide client_id (Basic sends it in the header, the others add it).
    let mut form: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "client_id")
        .cloned()
        .collect();
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    if authorization.is_some() {
        form.insert(0, ("client_id".into(), client_id.into()));
    }
    Ok(FormRequest {
        url: url.to_owned(),
        authorization,
        form,
    })
}

/// Reads the answer: HTTP 201 with `request_uri` and `expires_in` (RFC 9126 section 2.2).
pub fn process_par_response(url: &str, response: &HttpResponse) -> Result<PushedRequest, Error> {
    if response.status != 201 && response.status != 200 {
        return Err(endpoint_error(
            "pushed authorization request",
            url,
            response,
        ));
    }
    let pushed: PushedRequest =
        serde_json::from_slice(&response.body).map_err(|e| Error::MalformedResponse {
            what: "pushed authorization response",
            detail: e.to_string(),
        })?;
    if pushed.request_uri.is_empty() {
        return Err(Error::MalformedResponse {
            what: "pushed authorization response",
            detail: "request_uri is empty".into(),
        });
    }
    Ok(pushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            pushed_authorization_request_endpoint: Some("https://op.example/par".into()),
            ..Default::default()
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn par_request_carries_every_parameter_once_with_the_client_credentials() {
        let params = vec![
            ("client_id".to_owned(), "m".to_owned()),
            ("scope".to_owned(), "openid".to_owned()),
        ];
        let basic = ClientAuth::SecretBasic { secret: "s".into() };
        let request = pushed_authorization_request(&metadata(), &basic, "m", &params).unwrap();
        assert_eq!(request.url, "https://op.example/par");
        assert!(request.authorization.unwrap().starts_with("Basic "));
        assert_eq!(
            request.form,
            [
                ("client_id".to_owned(), "m".to_owned()),
                ("scope".to_owned(), "openid".to_owned())
            ]
        );
        let post = ClientAuth::SecretPost { secret: "s".into() };
        let request = pushed_authorization_request(&metadata(), &post, "m", &params).unwrap();
        assert_eq!(
            request
                .form
                .iter()
                .filter(|(k, _)| k == "client_id")
                .count(),
            1
        );
        assert!(request.form.contains(&("client_secret".into(), "s".into())));
    }

    #[test]
    fn par_needs_the_endpoint_in_discovery() {
        let mut m = metadata();
        m.pushed_authorization_request_endpoint = None;
        assert!(matches!(
            pushed_authorization_request(&m, &ClientAuth::None, "m", &[]),
            Err(Error::MissingMetadata(
                "pushed_authorization_request_endpoint"
            ))
        ));
    }

    #[test]
    fn par_response_is_read_or_its_error_reported() {
        let ok = response(
            201,
            r#"{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":90}"#,
        );
        assert_eq!(
            process_par_response("u", &ok).unwrap(),
            PushedRequest {
                request_uri: "urn:ietf:params:oauth:request_uri:x".into(),
                expires_in: 90
            }
        );
        let refused = response(
            400,
            r#"{"error":"invalid_request","error_description":"no"}"#,
        );
        match process_par_response("u", &refused).unwrap_err() {
            Error::Endpoint {
                status: 400, error, ..
            } => assert_eq!(error.code, "invalid_request"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            process_par_response("u", &response(201, "{}")),
            Err(Error::MalformedResponse { .. })
        ));
    }
}

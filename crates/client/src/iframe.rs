//! The iframe flow of BankID with biometrics (seed 004): the merchant's backend, with a machine
//! token holding `permissions/iframe` and a registered permission's `permissionToken`, asks the
//! BIS issuer's `iframe_authorize_endpoint` for a single-use address its page frames. The login
//! is otherwise a login: `state`, `nonce` and PKCE are drawn as for
//! [`AuthorizationRequest::build`], the [`PendingLogin`] is kept in the session, and the frame
//! ends at the redirect URI, handled by `Client::handle_callback`.
//!
//! As elsewhere, a pure half builds ([`iframe_authorize_request`]) and reads
//! ([`process_iframe_authorize_response`]); `Client::iframe_authorize` does the HTTP.

use crate::Error;
use crate::authorization::{AuthorizationParameters, AuthorizationRequest, PendingLogin};
use crate::http::{FormRequest, HttpResponse};
use crate::token::endpoint_error;
use bankid_oidc_core::discovery::ProviderMetadata;
use serde::Deserialize;
use url::Url;

/// An iframe login: the authorization request (with its `login_hint_token`) and the origin of
/// the page that frames it.
#[derive(Debug, Clone)]
pub struct IframeRequest {
    request: AuthorizationRequest,
    frame_ancestor: String,
}

impl IframeRequest {
    /// `frame_ancestor` is the merchant page's origin (`https://shop.example`, no path): the
    /// provider lets only that origin frame the flow and checks the page's referrer against it.
    pub fn new(request: AuthorizationRequest, frame_ancestor: &str) -> Self {
        IframeRequest {
            request,
            frame_ancestor: frame_ancestor.to_owned(),
        }
    }

    pub fn frame_ancestor(&self) -> &str {
        &self.frame_ancestor
    }

    pub(crate) fn request_clone(&self) -> AuthorizationRequest {
        self.request.clone()
    }
}

/// The provider's answer and the login to remember.
#[derive(Debug, Clone)]
pub struct IframeAuthorization {
    /// The address to frame, once, within `expires_in` seconds.
    pub authorize_uri: Url,
    pub expires_in: u64,
    pub pending: PendingLogin,
}

/// Refuses anything but an origin (scheme, host, optional port), as the provider would: the
/// value ends up in a `Content-Security-Policy` header.
pub fn check_frame_ancestor(frame_ancestor: &str) -> Result<(), Error> {
    let refused = |why: &str| {
        Err(Error::Config(format!(
            "frame_ancestor '{frame_ancestor}': {why}"
        )))
    };
    let Ok(url) = Url::parse(frame_ancestor) else {
        return refused("not a URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return refused("the scheme must be https (or http)");
    }
    if url.origin().ascii_serialization() != frame_ancestor {
        return refused("an origin only: scheme, host and port, without a path or a slash");
    }
    Ok(())
}

/// The `POST {iframe_authorize_endpoint}` with `params` (prepared for [`Channel::Pushed`]: they
/// go from the backend) and the bearer token.
///
/// [`Channel::Pushed`]: crate::Channel::Pushed
pub fn iframe_authorize_request(
    metadata: &ProviderMetadata,
    access_token: &str,
    params: &AuthorizationParameters,
    frame_ancestor: &str,
) -> Result<FormRequest, Error> {
    check_frame_ancestor(frame_ancestor)?;
    let url = metadata
        .iframe_authorize_endpoint
        .as_deref()
        .ok_or(Error::MissingMetadata("iframe_authorize_endpoint"))?;
    if params.get("login_hint_token").is_none() {
        return Err(Error::Config(
            "the iframe flow needs a registered permission's token: set login_hint_token".into(),
        ));
    }
    let mut form = params.params.clone();
    form.push(("frame_ancestor".into(), frame_ancestor.into()));
    Ok(FormRequest {
        url: url.to_owned(),
        authorization: Some(format!("Bearer {access_token}")),
        form,
    })
}

#[derive(Deserialize)]
struct Answer {
    authorize_uri: String,
    expires_in: u64,
}

/// Reads the answer: HTTP 200 with `authorize_uri` and `expires_in`.
pub fn process_iframe_authorize_response(
    url: &str,
    response: &HttpResponse,
) -> Result<(Url, u64), Error> {
    if response.status != 200 {
        return Err(endpoint_error("iframe-authorize", url, response));
    }
    let malformed = |detail: String| Error::MalformedResponse {
        what: "iframe-authorize response",
        detail,
    };
    let answer: Answer =
        serde_json::from_slice(&response.body).map_err(|e| malformed(e.to_string()))?;
    let uri = Url::parse(&answer.authorize_uri).map_err(|e| malformed(e.to_string()))?;
    if !matches!(uri.scheme(), "http" | "https") {
        return Err(malformed("authorize_uri is not an http(s) URL".into()));
    }
    Ok((uri, answer.expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::{Channel, LoginSecrets};

    fn metadata() -> ProviderMetadata {
        serde_json::from_value(serde_json::json!({
            "issuer": "https://op.example/bis",
            "authorization_endpoint": "https://op.example/bis/authorize",
            "token_endpoint": "https://op.example/bis/token",
            "jwks_uri": "https://op.example/bis/jwks",
            "iframe_authorize_endpoint": "https://op.example/bis/iframe-authorize",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
        .unwrap()
    }

    fn params(with_token: bool) -> AuthorizationParameters {
        let mut request =
            AuthorizationRequest::new(&metadata(), "shop", "https://shop.example/callback");
        if with_token {
            request = request.login_hint_token("permission-token");
        }
        let secrets = LoginSecrets {
            state: "s".into(),
            nonce: "n".into(),
            code_verifier: "v".repeat(43),
        };
        request.prepare_with(secrets, Channel::Pushed).unwrap()
    }

    #[test]
    fn the_request_carries_the_login_the_permission_and_the_origin_with_the_bearer() {
        let request =
            iframe_authorize_request(&metadata(), "at", &params(true), "https://shop.example")
                .unwrap();
        assert_eq!(request.url, "https://op.example/bis/iframe-authorize");
        assert_eq!(request.authorization.as_deref(), Some("Bearer at"));
        let get = |name: &str| {
            request
                .form
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("frame_ancestor"), Some("https://shop.example"));
        assert_eq!(get("login_hint_token"), Some("permission-token"));
        assert_eq!(get("state"), Some("s"));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert!(
            iframe_authorize_request(&metadata(), "at", &params(false), "https://shop.example")
                .is_err()
        );
    }

    #[test]
    fn frame_ancestor_is_an_origin_only() {
        assert!(check_frame_ancestor("https://shop.example").is_ok());
        assert!(check_frame_ancestor("http://127.0.0.1:8081").is_ok());
        for bad in [
            "https://shop.example/",
            "https://shop.example/page",
            "https://shop.example?x",
            "javascript:alert(1)",
            "shop.example",
        ] {
            assert!(check_frame_ancestor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_answer_is_read_or_its_error_reported() {
        let ok = HttpResponse {
            status: 200,
            content_type: Some("application/json".into()),
            body: br#"{"authorize_uri":"https://op.example/bis/iframe/x?seal=y","expires_in":60}"#
                .to_vec(),
        };
        let (uri, expires_in) = process_iframe_authorize_response("u", &ok).unwrap();
        assert_eq!(uri.as_str(), "https://op.example/bis/iframe/x?seal=y");
        assert_eq!(expires_in, 60);
        let refused = HttpResponse {
            status: 403,
            content_type: Some("application/json".into()),
            body: br#"{"error":"insufficient_scope"}"#.to_vec(),
        };
        assert!(matches!(
            process_iframe_authorize_response("u", &refused),
            Err(Error::Endpoint { status: 403, .. })
        ));
    }
}

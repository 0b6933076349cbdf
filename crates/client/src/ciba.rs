//! CIBA: Client-Initiated Backchannel Authentication (CIBA Core 1.0) in poll mode, as BankID with
//! biometrics offers it. A merchant's backend (a call-centre agent's tool, a shop terminal) names
//! the user, the provider asks the user's app, and the backend polls the token endpoint: no
//! browser is involved, so there is no redirect, no `state`, no `iss` in a callback and no nonce.
//!
//! As elsewhere in the crate, each step is a pure half and a [`Client`](crate::Client) method:
//! [`BackchannelRequest`] and [`backchannel_authentication_request`] build the request,
//! [`process_authentication_response`] reads its answer, [`poll_request`] builds a poll and
//! [`process_poll_response`] decides what a poll's answer means. [`Client::backchannel_authentication`]
//! sends the request and returns a [`CibaHandle`], whose [`CibaHandle::poll`] waits `interval`
//! between polls (on the client's [`Clock`](crate::Clock)), follows `slow_down`, stops at
//! `expires_in`, and validates the ID token as the code flow does, without a nonce.
//!
//! ```no_run
//! use bankid_oidc_client::ciba::BackchannelRequest;
//! use bankid_oidc_client::{Client, Error};
//!
//! # async fn run(bis: Client) -> Result<(), Error> {
//! // The user's NNIN and a message the merchant shows; the app shows the same.
//! let request = BackchannelRequest::login_hint("15076500565")
//!     .scopes(["profile", "sub_nnin"])
//!     .binding_message("Modig laks");
//! let mut handle = bis.backchannel_authentication(&request).await?;
//! println!("tell the customer: {}", request.shown_binding_message().unwrap_or_default());
//! match handle.poll().await {
//!     Ok(login) => println!("approved by {}", login.id_token.claims.sub),
//!     Err(Error::CibaAccessDenied(e)) => println!("denied: {e}"),
//!     Err(Error::CibaExpiredToken(_) | Error::CibaTimeout { .. }) => println!("no answer"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`Client::backchannel_authentication`]: crate::Client::backchannel_authentication
//! [`CibaHandle`]: crate::CibaHandle
//! [`CibaHandle::poll`]: crate::CibaHandle::poll

use crate::Error;
use crate::client_auth::ClientAuth;
use crate::error::ProviderError;
use crate::http::{FormRequest, HttpResponse};
use crate::token::{Tokens, endpoint_error, read_token_response};
use bankid_oidc_core::ErrorCode;
use bankid_oidc_core::ciba::{
    MAX_EXPIRY, MIN_EXPIRY, SLOW_DOWN_STEP, check_binding_message, check_hint,
};
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::grant_type::GrantType;
use std::time::Duration;

pub use bankid_oidc_core::ciba::AuthenticationResponse;

/// The interval CIBA Core section 7.3 prescribes when the provider names none, seconds.
pub const DEFAULT_INTERVAL: u64 = bankid_oidc_core::ciba::INTERVAL as u64;

/// Who the request names: exactly one hint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hint {
    /// `login_hint_token`: a permission token of this client whose permission names the user.
    Token(String),
    /// `login_hint`: the user's NNIN.
    Nnin(String),
}

/// A backchannel authentication request (CIBA Core section 7.1), built by the merchant.
/// `openid` is always among the scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelRequest {
    hint: Hint,
    scopes: Vec<String>,
    binding_message: Option<String>,
    requested_expiry: Option<Duration>,
    acr_values: Vec<String>,
}

impl BackchannelRequest {
    fn new(hint: Hint) -> Self {
        BackchannelRequest {
            hint,
            scopes: Vec::new(),
            binding_message: None,
            requested_expiry: None,
            acr_values: Vec::new(),
        }
    }

    /// Names the user by a permission token of this client ([`Client::register_permission`]
    /// with a login hint): the app shows the permission, and the permission's binding message
    /// unless another is sent (the provider refuses one that differs).
    ///
    /// [`Client::register_permission`]: crate::Client::register_permission
    pub fn login_hint_token(permission_token: &str) -> Self {
        Self::new(Hint::Token(permission_token.to_owned()))
    }

    /// Names the user by NNIN (11 digits); a [`BackchannelRequest::binding_message`] is then
    /// required.
    pub fn login_hint(nnin: &str) -> Self {
        Self::new(Hint::Nnin(nnin.to_owned()))
    }

    /// Scopes besides `openid` (e.g. `profile`, `sub_nnin`, `sub_bankid`).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for scope in scopes {
            let scope = scope.into();
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
        self
    }

    /// The short text the merchant shows and the app shows too, so that the user can tell the
    /// request apart (1 to 50 letters, digits, spaces and `- . , : ! ?`).
    pub fn binding_message(mut self, message: &str) -> Self {
        self.binding_message = Some(message.to_owned());
        self
    }

    /// How long the client will wait for the user (10 to 600 seconds at BIS); the request ends
    /// sooner if the app or the permission does.
    pub fn requested_expiry(mut self, expiry: Duration) -> Self {
        self.requested_expiry = Some(expiry);
        self
    }

    /// `acr_values` (at BIS: `urn:bankid:bis`). The ID token's `acr` is checked against them.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values.extend(values.into_iter().map(Into::into));
        self
    }

    /// The binding message sent, if any (with a permission token and none sent, the app shows
    /// the permission's, which [`RegisteredPermission::binding_message`] holds).
    ///
    /// [`RegisteredPermission::binding_message`]: crate::bis::RegisteredPermission::binding_message
    pub fn shown_binding_message(&self) -> Option<&str> {
        self.binding_message.as_deref()
    }

    /// The `acr_values` sent, which the ID token's `acr` must satisfy.
    pub fn requested_acr_values(&self) -> &[String] {
        &self.acr_values
    }

    /// The request's form fields (before client authentication), checked for what the provider
    /// refuses anyway (the rules of core `ciba`), so that the mistake is reported here with its
    /// parameter ([`Error::InvalidCibaRequest`], [`Error::InvalidLoginHint`]).
    pub fn to_form(&self) -> Result<Vec<(String, String)>, Error> {
        let invalid = |e: bankid_oidc_core::OAuthError| Error::InvalidCibaRequest(e.description);
        let mut form = Vec::new();
        let mut scope = vec!["openid".to_owned()];
        scope.extend(self.scopes.iter().filter(|s| *s != "openid").cloned());
        form.push(("scope".to_owned(), scope.join(" ")));
        match &self.hint {
            Hint::Token(token) => {
                if token.is_empty() {
                    return Err(Error::InvalidCibaRequest(
                        "login_hint_token: empty".to_owned(),
                    ));
                }
                form.push(("login_hint_token".to_owned(), token.clone()));
            }
            Hint::Nnin(nnin) => {
                check_hint(None, Some(nnin), None)
                    .map_err(|e| Error::InvalidLoginHint(e.description))?;
                if self.binding_message.is_none() {
                    return Err(Error::InvalidCibaRequest(
                        "binding_message: required with login_hint (the merchant shows it, the \
                         app shows it, the user compares them)"
                            .to_owned(),
                    ));
                }
                form.push(("login_hint".to_owned(), nnin.clone()));
            }
        }
        if let Some(message) =
            check_binding_message(self.binding_message.as_deref()).map_err(invalid)?
        {
            form.push(("binding_message".to_owned(), message.to_owned()));
        }
        if let Some(expiry) = self.requested_expiry {
            let seconds = expiry.as_secs();
            if !(MIN_EXPIRY as u64..=MAX_EXPIRY as u64).contains(&seconds) {
                return Err(Error::InvalidCibaRequest(format!(
                    "requested_expiry: {MIN_EXPIRY} to {MAX_EXPIRY} seconds"
                )));
            }
            form.push(("requested_expiry".to_owned(), seconds.to_string()));
        }
        if !self.acr_values.is_empty() {
            form.push(("acr_values".to_owned(), self.acr_values.join(" ")));
        }
        Ok(form)
    }
}

/// `POST {backchannel_authentication_endpoint}`, authenticated as at the token endpoint.
pub fn backchannel_authentication_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    request: &BackchannelRequest,
) -> Result<FormRequest, Error> {
    let url =
        metadata
            .backchannel_authentication_endpoint
            .clone()
            .ok_or(Error::MissingMetadata(
                "backchannel_authentication_endpoint",
            ))?;
    let mut form = request.to_form()?;
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url,
        authorization,
        form,
    })
}

/// A CIBA error answer as its typed [`Error`]; `endpoint` names the endpoint for any other
/// code (as [`Error::Endpoint`]).
fn ciba_error(endpoint: &'static str, url: &str, response: &HttpResponse) -> Error {
    let error = endpoint_error(endpoint, url, response);
    let Error::Endpoint { error: e, .. } = &error else {
        return error;
    };
    let typed: fn(ProviderError) -> Error = match e.known_code() {
        Some(ErrorCode::InvalidRequest) => Error::CibaInvalidRequest,
        Some(ErrorCode::InvalidScope) => Error::CibaInvalidScope,
        Some(ErrorCode::ExpiredLoginHintToken) => Error::CibaExpiredLoginHintToken,
        Some(ErrorCode::UnknownUserId) => Error::CibaUnknownUserId,
        Some(ErrorCode::UnauthorizedClient) => Error::CibaUnauthorizedClient,
        Some(ErrorCode::InvalidBindingMessage) => Error::CibaInvalidBindingMessage,
        Some(ErrorCode::InvalidClient) => Error::CibaInvalidClient,
        Some(ErrorCode::AccessDenied) => Error::CibaAccessDenied,
        Some(ErrorCode::ExpiredToken) => Error::CibaExpiredToken,
        Some(ErrorCode::InvalidGrant) => Error::CibaInvalidGrant,
        _ => return error,
    };
    match error {
        Error::Endpoint { error, .. } => typed(error),
        other => other,
    }
}

/// Reads the answer of the backchannel authentication endpoint (CIBA Core section 7.3): 200
/// with `auth_req_id`, `expires_in` and `interval` (5 s when absent), or a typed refusal.
pub fn process_authentication_response(
    url: &str,
    response: &HttpResponse,
) -> Result<AuthenticationResponse, Error> {
    if response.status != 200 {
        return Err(ciba_error("backchannel_authentication", url, response));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        auth_req_id: String,
        expires_in: i64,
        interval: Option<i64>,
    }
    let malformed = |detail: String| Error::MalformedResponse {
        what: "backchannel authentication answer",
        detail,
    };
    let answer: Answer =
        serde_json::from_slice(&response.body).map_err(|e| malformed(e.to_string()))?;
    if answer.auth_req_id.is_empty() {
        return Err(malformed("auth_req_id is empty".into()));
    }
    if answer.expires_in <= 0 {
        return Err(malformed(format!(
            "expires_in {} is not a positive number of seconds",
            answer.expires_in
        )));
    }
    let interval = answer.interval.unwrap_or(DEFAULT_INTERVAL as i64);
    if interval < 0 {
        return Err(malformed(format!("interval {interval} is negative")));
    }
    Ok(AuthenticationResponse {
        auth_req_id: answer.auth_req_id,
        expires_in: answer.expires_in,
        interval,
    })
}

/// One poll of the token endpoint (CIBA Core section 10.1).
pub fn poll_request(
    metadata: &ProviderMetadata,
    auth: &ClientAuth,
    client_id: &str,
    auth_req_id: &str,
) -> Result<FormRequest, Error> {
    let url = metadata
        .token_endpoint
        .clone()
        .ok_or(Error::MissingMetadata("token_endpoint"))?;
    let mut form = vec![
        ("grant_type".to_owned(), GrantType::Ciba.to_string()),
        ("auth_req_id".to_owned(), auth_req_id.to_owned()),
    ];
    let authorization = auth.apply(client_id, &metadata.issuer, &mut form)?;
    Ok(FormRequest {
        url,
        authorization,
        form,
    })
}

/// What a poll's answer means for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// `authorization_pending`: poll again after `interval` (unchanged).
    Pending { interval: Duration },
    /// `slow_down`: poll again after `interval`, the old one plus 5 seconds, and from now on.
    SlowDown { interval: Duration },
    /// The user approved: the tokens, not yet validated.
    Tokens(Tokens),
}

/// Decides what the token endpoint's answer to a poll means, given the current `interval`:
/// wait and poll again ([`PollOutcome::Pending`], [`PollOutcome::SlowDown`]), the tokens, or
/// a typed error: [`Error::CibaAccessDenied`] (the user denied, or the app could not be
/// reached), [`Error::CibaExpiredToken`], [`Error::CibaInvalidGrant`] (redeemed already, or not
/// this client's), and the other codes as in [`process_authentication_response`].
pub fn process_poll_response(
    url: &str,
    response: &HttpResponse,
    interval: Duration,
) -> Result<PollOutcome, Error> {
    if response.status == 200 {
        return read_token_response(url, response).map(PollOutcome::Tokens);
    }
    match ciba_error("token", url, response) {
        Error::Endpoint { error, .. } if error.code == ErrorCode::AuthorizationPending.as_str() => {
            Ok(PollOutcome::Pending { interval })
        }
        Error::Endpoint { error, .. } if error.code == ErrorCode::SlowDown.as_str() => {
            Ok(PollOutcome::SlowDown {
                interval: interval.saturating_add(Duration::from_secs(SLOW_DOWN_STEP as u64)),
            })
        }
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NNIN: &str = "15076500565";

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example/bis".into(),
            token_endpoint: Some("https://op.example/bis/token".into()),
            backchannel_authentication_endpoint: Some(
                "https://op.example/bis/backchannel/authentication".into(),
            ),
            jwks_uri: "https://op.example/bis/certs".into(),
            ..Default::default()
        }
    }

    fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn response(status: u16, body: Value) -> HttpResponse {
        HttpResponse {
            status,
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
        }
    }

    fn refusal(status: u16, code: &str) -> HttpResponse {
        response(
            status,
            json!({"error": code, "error_description": format!("{code}: because")}),
        )
    }

    #[test]
    fn the_request_carries_one_hint_openid_and_the_options() {
        let request = BackchannelRequest::login_hint_token("p.t.jwt")
            .scopes(["profile", "openid", "profile", "sub_nnin"])
            .binding_message("Modig laks")
            .requested_expiry(Duration::from_secs(60))
            .acr_values(["urn:bankid:bis"]);
        let built = backchannel_authentication_request(
            &metadata(),
            &ClientAuth::SecretPost { secret: "s".into() },
            "terminal",
            &request,
        )
        .unwrap();
        assert_eq!(
            built.url,
            "https://op.example/bis/backchannel/authentication"
        );
        let form = &built.form;
        assert_eq!(field(form, "scope"), Some("openid profile sub_nnin"));
        assert_eq!(field(form, "login_hint_token"), Some("p.t.jwt"));
        assert_eq!(field(form, "login_hint"), None);
        assert_eq!(field(form, "binding_message"), Some("Modig laks"));
        assert_eq!(field(form, "requested_expiry"), Some("60"));
        assert_eq!(field(form, "acr_values"), Some("urn:bankid:bis"));
        assert_eq!(field(form, "client_id"), Some("terminal"));

        let form = BackchannelRequest::login_hint(NNIN)
            .binding_message("Blå ørret")
            .to_form()
            .unwrap();
        assert_eq!(field(&form, "scope"), Some("openid"));
        assert_eq!(field(&form, "login_hint"), Some(NNIN));
        assert_eq!(field(&form, "login_hint_token"), None);
    }

    #[test]
    fn the_builder_refuses_what_the_provider_would() {
        let no_message = BackchannelRequest::login_hint(NNIN).to_form();
        assert!(
            matches!(&no_message, Err(Error::InvalidCibaRequest(m)) if m.starts_with("binding_message: ")),
            "{no_message:?}"
        );
        assert!(matches!(
            BackchannelRequest::login_hint("15076500566")
                .binding_message("Hei")
                .to_form(),
            Err(Error::InvalidLoginHint(_))
        ));
        assert!(matches!(
            BackchannelRequest::login_hint_token("t")
                .binding_message("<b>Hei</b>")
                .to_form(),
            Err(Error::InvalidCibaRequest(m)) if m.starts_with("binding_message: ")
        ));
        for seconds in [9, 601] {
            assert!(matches!(
                BackchannelRequest::login_hint_token("t")
                    .requested_expiry(Duration::from_secs(seconds))
                    .to_form(),
                Err(Error::InvalidCibaRequest(m)) if m.starts_with("requested_expiry: ")
            ));
        }
        let realm = ProviderMetadata {
            backchannel_authentication_endpoint: None,
            ..metadata()
        };
        assert!(matches!(
            backchannel_authentication_request(
                &realm,
                &ClientAuth::None,
                "c",
                &BackchannelRequest::login_hint_token("t")
            ),
            Err(Error::MissingMetadata(
                "backchannel_authentication_endpoint"
            ))
        ));
    }

    #[test]
    fn the_authentication_answer_is_read_with_cibas_default_interval() {
        let answer = process_authentication_response(
            "u",
            &response(200, json!({"auth_req_id": "r-1", "expires_in": 120})),
        )
        .unwrap();
        assert_eq!(answer.interval, 5);
        assert_eq!(answer.expires_in, 120);
        for bad in [
            json!({"auth_req_id": "", "expires_in": 120}),
            json!({"auth_req_id": "r", "expires_in": 0}),
            json!({"auth_req_id": "r", "expires_in": 60, "interval": -1}),
            json!({"expires_in": 60}),
        ] {
            assert!(matches!(
                process_authentication_response("u", &response(200, bad)),
                Err(Error::MalformedResponse { .. })
            ));
        }
    }

    #[test]
    fn every_ciba_refusal_is_its_own_error_with_the_providers_description() {
        type Case = (u16, &'static str, fn(&Error) -> bool);
        let cases: [Case; 8] = [
            (400, "invalid_request", |e| {
                matches!(e, Error::CibaInvalidRequest(_))
            }),
            (400, "invalid_scope", |e| {
                matches!(e, Error::CibaInvalidScope(_))
            }),
            (400, "expired_login_hint_token", |e| {
                matches!(e, Error::CibaExpiredLoginHintToken(_))
            }),
            (400, "unknown_user_id", |e| {
                matches!(e, Error::CibaUnknownUserId(_))
            }),
            (400, "unauthorized_client", |e| {
                matches!(e, Error::CibaUnauthorizedClient(_))
            }),
            (400, "invalid_binding_message", |e| {
                matches!(e, Error::CibaInvalidBindingMessage(_))
            }),
            (401, "invalid_client", |e| {
                matches!(e, Error::CibaInvalidClient(_))
            }),
            (403, "access_denied", |e| {
                matches!(e, Error::CibaAccessDenied(_))
            }),
        ];
        for (status, code, is) in cases {
            let e = process_authentication_response("u", &refusal(status, code)).unwrap_err();
            assert!(is(&e), "{code}: {e:?}");
            let provider = e.provider_error().unwrap();
            assert_eq!(provider.code, code);
            assert_eq!(
                provider.description.as_deref(),
                Some(format!("{code}: because").as_str())
            );
        }
        // Anything else stays the generic endpoint error.
        assert!(matches!(
            process_authentication_response("u", &refusal(500, "server_error")),
            Err(Error::Endpoint {
                endpoint: "backchannel_authentication",
                status: 500,
                ..
            })
        ));
    }

    #[test]
    fn a_poll_answer_says_wait_slow_down_stop_or_tokens() {
        let five = Duration::from_secs(5);
        assert_eq!(
            process_poll_response("u", &refusal(400, "authorization_pending"), five).unwrap(),
            PollOutcome::Pending { interval: five }
        );
        assert_eq!(
            process_poll_response("u", &refusal(400, "slow_down"), five).unwrap(),
            PollOutcome::SlowDown {
                interval: Duration::from_secs(10)
            }
        );
        assert!(matches!(
            process_poll_response("u", &refusal(400, "access_denied"), five),
            Err(Error::CibaAccessDenied(_))
        ));
        assert!(matches!(
            process_poll_response("u", &refusal(400, "expired_token"), five),
            Err(Error::CibaExpiredToken(_))
        ));
        assert!(matches!(
            process_poll_response("u", &refusal(400, "invalid_grant"), five),
            Err(Error::CibaInvalidGrant(_))
        ));
        let tokens = response(
            200,
            json!({"access_token": "a", "token_type": "Bearer", "id_token": "x.y.z"}),
        );
        match process_poll_response("u", &tokens, five).unwrap() {
            PollOutcome::Tokens(t) => assert_eq!(t.id_token.as_deref(), Some("x.y.z")),
            other => panic!("{other:?}"),
        }
        let poll = poll_request(&metadata(), &ClientAuth::None, "terminal", "r-1").unwrap();
        assert_eq!(poll.url, "https://op.example/bis/token");
        assert_eq!(
            field(&poll.form, "grant_type"),
            Some("urn:openid:params:grant-type:ciba")
        );
        assert_eq!(field(&poll.form, "auth_req_id"), Some("r-1"));
    }
}

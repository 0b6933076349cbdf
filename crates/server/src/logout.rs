//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), in the shape of the
//! authorization request: [`validate`] reads the request (the `id_token_hint`, the client, the
//! registered `post_logout_redirect_uri`), and the pure [`decide`] says which session ends.
//! `http::logout` is the adapter.
//!
//! With an `id_token_hint` (an ID token of this issuer, expired or not), the session it names
//! ends at once. Without one, the browser's session ends only after the person confirms on a
//! page, so that a third-party site cannot log people out. `post_logout_redirect_uri` must be
//! registered for the client exactly; the redirect carries `state`.

use crate::Provider;
use crate::authorization::hint;
use crate::issuer::Issuer;
use crate::store::{Session, StoreError};
use aws_lc_rs::hmac;
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::{OAuthError, b64};
use subtle::ConstantTimeEq;

/// A logout request that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The hint was given: the session it names (if it names one).
    pub hinted_sid: Option<Option<String>>,
    /// Registered for the client, exactly.
    pub redirect_to: Option<String>,
    pub state: Option<String>,
    pub locale: Locale,
}

/// Why a logout request was refused (shown on a page: there is no proven place to send it).
#[derive(Debug)]
pub enum Refused {
    Invalid(OAuthError, Locale),
    Store(StoreError),
}

/// The rules: the hint is ours, a `client_id` agrees with it, and a `post_logout_redirect_uri`
/// is registered for the client they name.
pub async fn validate(
    p: &Provider,
    issuer: &Issuer,
    params: &Params,
) -> Result<LogoutRequest, Refused> {
    let locale = params
        .get("ui_locales")
        .and_then(Locale::from_ui_locales)
        .unwrap_or_default();
    let invalid = |e: OAuthError| Refused::Invalid(e, locale);
    let hinted = match params.get("id_token_hint") {
        Some(token) => {
            p.learn_signing_key(token).await;
            Some(hint::verify(p, issuer, token).map_err(invalid)?)
        }
        None => None,
    };
    let client_id = match (
        hinted.as_ref().map(|(_, client_id)| client_id.as_str()),
        params.get("client_id"),
    ) {
        (Some(from_hint), Some(given)) if from_hint != given => {
            return Err(invalid(OAuthError::invalid_request(
                "client_id: differs from the audience of id_token_hint",
            )));
        }
        (from_hint, given) => from_hint.or(given),
    };
    let redirect_to = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(client_id) = client_id else {
                return Err(invalid(OAuthError::invalid_request(
                    "post_logout_redirect_uri: needs id_token_hint or client_id to know the client",
                )));
            };
            let client = p
                .client(client_id)
                .await
                .map_err(Refused::Store)?
                .ok_or_else(|| {
                    invalid(OAuthError::invalid_request(format!(
                        "client_id: no client '{client_id}'"
                    )))
                })?;
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err(invalid(OAuthError::invalid_request(format!(
                    "post_logout_redirect_uri: not registered for client '{client_id}'"
                ))));
            }
            Some(uri.to_owned())
        }
    };
    Ok(LogoutRequest {
        hinted_sid: hinted.map(|(claims, _)| claims.sid),
        redirect_to,
        state: params
            .get("state")
            .filter(|s| s.len() <= 512)
            .map(str::to_owned),
        locale,
    })
}

/// Which session a logout ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The person must confirm first: the page carries this confirmation.
    Confirm(String),
    /// This session ends (none: nothing to end).
    End(Option<String>),
}

/// The one the hint names, or (confirmed with `confirmation`) the browser's own.
pub fn decide(
    req: &LogoutRequest,
    browser: Option<&Session>,
    confirm: Option<&str>,
    confirmation: impl Fn(&Session) -> String,
) -> Ending {
    match (&req.hinted_sid, browser) {
        (Some(sid), _) => Ending::End(sid.clone()),
        (None, Some(session)) => {
            let expected = confirmation(session);
            let confirmed =
                confirm.is_some_and(|c| bool::from(c.as_bytes().ct_eq(expected.as_bytes())));
            if confirmed {
                Ending::End(Some(session.id.clone()))
            } else {
                Ending::Confirm(expected)
            }
        }
        (None, None) => Ending::End(None),
    }
}

/// The confirmation token of a session's logout page: only this provider can make it.
pub fn confirmation(p: &Provider, session: &Session) -> String {
    b64::encode(hmac::sign(&p.derive_key, format!("logout:{}", session.id).as_bytes()).as_ref())
}

/// Where a logout sends the browser: the registered URI with `state`.
pub fn redirect_location(uri: &str, state: Option<&str>) -> String {
    match state {
        Some(state) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!(
                "{uri}{sep}{}",
                serde_urlencoded::to_string([("state", state)]).unwrap_or_default()
            )
        }
        None => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> Session {
        Session {
            id: id.into(),
            user_id: Some("kari".into()),
            method: None,
            auth_time: Some(0),
            created_at: 0,
            expires_at: 100,
        }
    }

    fn request(hinted_sid: Option<Option<String>>) -> LogoutRequest {
        LogoutRequest {
            hinted_sid,
            redirect_to: None,
            state: None,
            locale: Locale::default(),
        }
    }

    #[test]
    fn a_hint_ends_the_session_it_names_whatever_the_browser_has() {
        let own = session("own");
        let hinted = request(Some(Some("named".into())));
        let by = |_: &Session| "c".to_owned();
        assert_eq!(
            decide(&hinted, Some(&own), None, by),
            Ending::End(Some("named".into()))
        );
        assert_eq!(
            decide(&request(Some(None)), None, None, by),
            Ending::End(None)
        );
    }

    #[test]
    fn without_a_hint_the_browser_session_ends_only_when_confirmed() {
        let own = session("own");
        let by = |s: &Session| format!("confirm-{}", s.id);
        let plain = request(None);
        assert_eq!(
            decide(&plain, Some(&own), None, by),
            Ending::Confirm("confirm-own".into())
        );
        assert_eq!(
            decide(&plain, Some(&own), Some("forged"), by),
            Ending::Confirm("confirm-own".into())
        );
        assert_eq!(
            decide(&plain, Some(&own), Some("confirm-own"), by),
            Ending::End(Some("own".into()))
        );
        assert_eq!(decide(&plain, None, None, by), Ending::End(None));
    }

    #[test]
    fn the_redirect_carries_state_after_the_uris_own_query() {
        assert_eq!(redirect_location("https://a/b", None), "https://a/b");
        assert_eq!(
            redirect_location("https://a/b?x=1", Some("s t")),
            "https://a/b?x=1&state=s+t"
        );
    }
}

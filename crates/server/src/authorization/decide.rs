//! Step 8, pure: with a valid request, the browser's session and the `id_token_hint`'s login,
//! what the authorization endpoint does. No store, no clock but `now`, no HTTP.

use super::hint::HintedLogin;
use crate::login::flow::needs_consent;
use crate::store::{Session, User};
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::login_hint::LoginHint;
use bankid_oidc_core::{ErrorCode, OAuthError};

/// The browser's authenticated session and its user (none if the user was removed).
#[derive(Debug, Clone, Copy)]
pub struct BrowserSession<'a> {
    pub session: &'a Session,
    pub user: Option<&'a User>,
}

/// A user already authenticated in a live session that serves this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub user_id: String,
    pub method: Method,
    pub session_id: String,
    /// When they authenticated: tokens carry this, not the time of this request.
    pub auth_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The session serves the request and nothing needs the user: a code at once.
    IssueCode(Known),
    /// The session serves the request, but it asks for consent (the NNIN, a payment).
    AskConsent(Known),
    /// The user identifies (pre-selected by a login_hint or id_token_hint, if any).
    StartLogin,
    /// `prompt=none` and the user would have to act.
    Refuse(OAuthError),
}

/// Single sign-on, or the login an id_token_hint names (seed 001). The hint skips
/// identification only for what seed 001 describes, a consent to share the NNIN, and only in
/// the browser that presents the live session the hint's `sid` names, for the same user: an ID
/// token alone is not a login (every merchant holds its users' ID tokens). A session of
/// another user than the hint names never serves the request.
pub fn decide(
    req: &ValidatedAuthorizeRequest,
    browser: Option<BrowserSession>,
    hint: Option<&HintedLogin>,
    now: i64,
) -> Decision {
    let hint_may_skip = req.scope.contains("nnin") && req.authorization_details.is_none();
    let known = match (hint, browser) {
        (Some(h), Some(b)) if hint_may_skip && h.names_live_session(b.session) => {
            logged_in(b.session)
        }
        (_, Some(b)) => {
            reusable(b, req, now).filter(|k| hint.is_none_or(|h| h.user.id == k.user_id))
        }
        (_, None) => None,
    };
    match known {
        Some(known) if !needs_consent(req) => Decision::IssueCode(known),
        Some(_) if req.prompt.none => Decision::Refuse(OAuthError::new(
            ErrorCode::ConsentRequired,
            "prompt: 'none' was given but the user must consent",
        )),
        Some(known) => Decision::AskConsent(known),
        None if req.prompt.none => Decision::Refuse(OAuthError::new(
            ErrorCode::LoginRequired,
            "prompt: 'none' was given but the user must log in",
        )),
        None => Decision::StartLogin,
    }
}

fn logged_in(session: &Session) -> Option<Known> {
    Some(Known {
        user_id: session.user_id.clone()?,
        method: session.method?,
        session_id: session.id.clone(),
        auth_time: session.auth_time?,
    })
}

/// Single sign-on: the session's login serves this request unless `prompt=login`, `max_age`,
/// the requested methods, or a login_hint naming another user say otherwise.
fn reusable(browser: BrowserSession, req: &ValidatedAuthorizeRequest, now: i64) -> Option<Known> {
    let known = logged_in(browser.session)?;
    if req.prompt.login || !req.methods.contains(&known.method) {
        return None;
    }
    if req.max_age.is_some_and(|max_age| {
        now.saturating_sub(known.auth_time) > i64::try_from(max_age).unwrap_or(i64::MAX)
    }) {
        return None;
    }
    // The user must still exist, and be the one a login_hint names, if it names one.
    let user = browser.user?;
    if req
        .login_hint
        .as_ref()
        .and_then(LoginHint::nnin)
        .is_some_and(|nnin| nnin.as_str() != user.nnin)
    {
        return None;
    }
    Some(known)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::request;

    fn session(user: &str, auth_time: i64) -> Session {
        Session {
            id: format!("session-of-{user}"),
            user_id: Some(user.into()),
            method: Some(Method::Bid),
            auth_time: Some(auth_time),
            created_at: auth_time,
            expires_at: auth_time + 3600,
        }
    }

    fn user(id: &str) -> User {
        crate::store::fixtures::user(id)
    }

    fn hinted(user_id: &str, sid: &str) -> HintedLogin {
        HintedLogin {
            user: user(user_id),
            method: Method::Bid,
            sid: sid.into(),
        }
    }

    fn nnin_consent() -> ValidatedAuthorizeRequest {
        let mut req = request();
        req.scope = bankid_oidc_core::scope::ScopeSet::parse("openid nnin").unwrap();
        req
    }

    #[test]
    fn a_live_session_serves_a_plain_request_with_its_own_auth_time() {
        let (s, u) = (session("kari", 100), user("kari"));
        let browser = BrowserSession {
            session: &s,
            user: Some(&u),
        };
        let Decision::IssueCode(known) = decide(&request(), Some(browser), None, 500) else {
            panic!("single sign-on");
        };
        assert_eq!((known.user_id.as_str(), known.auth_time), ("kari", 100));
    }

    #[test]
    fn without_a_session_the_user_logs_in_or_prompt_none_is_refused() {
        assert_eq!(decide(&request(), None, None, 0), Decision::StartLogin);
        let mut silent = request();
        silent.prompt.none = true;
        let Decision::Refuse(e) = decide(&silent, None, None, 0) else {
            panic!("prompt=none");
        };
        assert_eq!(e.code, ErrorCode::LoginRequired);
    }

    #[test]
    fn an_id_token_hint_alone_is_not_a_login() {
        // No session in this browser: the hinted user must identify, whatever the token says.
        let h = hinted("kari", "session-of-kari");
        assert_eq!(
            decide(&nnin_consent(), None, Some(&h), 0),
            Decision::StartLogin
        );
        // A live session of the same user but another sid (the hinted one was logged out):
        // single sign-on, so the consent is asked in that session, not in the hinted one.
        let (s, u) = (session("kari", 100), user("kari"));
        let other = hinted("kari", "an-ended-session");
        let browser = BrowserSession {
            session: &s,
            user: Some(&u),
        };
        let Decision::AskConsent(known) = decide(&nnin_consent(), Some(browser), Some(&other), 200)
        else {
            panic!("consent in the browser's own session");
        };
        assert_eq!(known.session_id, "session-of-kari");
    }

    #[test]
    fn a_session_of_another_user_never_serves_the_hinted_one() {
        let (s, u) = (session("ola", 100), user("ola"));
        let h = hinted("kari", "session-of-kari");
        let browser = BrowserSession {
            session: &s,
            user: Some(&u),
        };
        assert_eq!(
            decide(&nnin_consent(), Some(browser), Some(&h), 200),
            Decision::StartLogin
        );
    }

    #[test]
    fn prompt_login_max_age_and_a_removed_user_end_single_sign_on() {
        let (s, u) = (session("kari", 100), user("kari"));
        let browser = BrowserSession {
            session: &s,
            user: Some(&u),
        };
        let mut login = request();
        login.prompt.login = true;
        assert_eq!(
            decide(&login, Some(browser), None, 200),
            Decision::StartLogin
        );
        let mut recent = request();
        recent.max_age = Some(60);
        assert_eq!(
            decide(&recent, Some(browser), None, 161),
            Decision::StartLogin
        );
        assert!(matches!(
            decide(&recent, Some(browser), None, 160),
            Decision::IssueCode(_)
        ));
        let removed = BrowserSession {
            session: &s,
            user: None,
        };
        assert_eq!(
            decide(&request(), Some(removed), None, 200),
            Decision::StartLogin
        );
    }
}

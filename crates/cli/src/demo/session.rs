//! The merchant's own session: a cookie holding a random id, and everything else (the pending
//! login's state, nonce and PKCE verifier, the tokens) kept here in memory, never in the browser.

use super::flows::{Flow, IssuerKind};
use super::pages::Lang;
use bankid_oidc_client::bis::RegisteredPermission;
use bankid_oidc_client::core::claims::IdTokenClaims;
use bankid_oidc_client::{Login, PendingLogin};
use bankid_oidc_server::secret::random_token;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The cookie's name: not the provider's (`bankid_oidc_session`), since browsers share cookies
/// between ports of one host.
pub const COOKIE: &str = "demo_merchant_session";
/// A session unused this long is forgotten.
const IDLE_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// At most this many sessions are kept; the least recently used goes first.
const MAX_SESSIONS: usize = 10_000;

/// A login sent to the provider and not yet back.
#[derive(Clone)]
pub struct Pending {
    pub flow: Flow,
    pub login: PendingLogin,
    /// The payment flow: the permission registered and the machine token that reads its grant.
    pub permission: Option<(RegisteredPermission, String)>,
}

/// A check the client library made on the way, with what it compared.
#[derive(Clone)]
pub struct Check {
    pub id: &'static str,
    pub name: &'static str,
    pub detail: String,
}

/// A completed login and what the demo learned about it.
#[derive(Clone)]
pub struct Completed {
    pub flow: Flow,
    pub claims: IdTokenClaims,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub userinfo: Result<serde_json::Value, String>,
    pub grant: Option<Result<serde_json::Value, String>>,
    pub checks: Vec<Check>,
    /// The answer of the last refresh, introspection or revocation: its name and its lines.
    pub action: Option<(&'static str, Vec<(String, String)>)>,
}

impl Completed {
    pub fn issuer(&self) -> IssuerKind {
        self.flow.issuer()
    }
}

/// A CIBA request started from this session: what the wait page shows, and the poll's outcome
/// once the background task has one.
#[derive(Clone)]
pub struct CibaWait {
    /// Tells this request's outcome from an earlier one's still polling.
    pub id: String,
    pub nnin: String,
    pub binding_message: String,
    /// The validated tokens, or the typed error's code and description.
    pub outcome: Option<Result<Box<Login>, (String, String)>>,
}

#[derive(Clone)]
pub struct Session {
    pub csrf: String,
    pub lang: Option<Lang>,
    pub pending: Option<Pending>,
    pub completed: Option<Completed>,
    /// The `state` sent with the last logout, to recognise its return.
    pub logout_state: Option<String>,
    /// A CIBA request being polled in the background.
    pub ciba: Option<CibaWait>,
    touched: Instant,
}

/// All sessions, by id.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the session with this id, if it lives.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        if session.touched.elapsed() > IDLE_LIFETIME {
            map.remove(id);
            return None;
        }
        session.touched = Instant::now();
        Some(session.clone())
    }

    /// A new session; returns its id.
    pub fn create(&self) -> (String, Session) {
        let id = random_token();
        let session = Session {
            csrf: random_token(),
            lang: None,
            pending: None,
            completed: None,
            logout_state: None,
            ciba: None,
            touched: Instant::now(),
        };
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.touched.elapsed() <= IDLE_LIFETIME);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.touched)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), session.clone());
        (id, session)
    }

    /// Changes the session with this id, if it lives; returns what `change` returned.
    pub fn update<T>(&self, id: &str, change: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        session.touched = Instant::now();
        Some(change(session))
    }
}

/// The session id in a `Cookie` header.
pub fn cookie_id(header: Option<&str>) -> Option<String> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for a new session. HttpOnly: no script reads it; SameSite=Lax: sent
/// on the provider's top-level redirect back to the callback, not on cross-site posts.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

/// Whether a posted CSRF token is the session's, compared in constant time.
pub fn csrf_matches(session: &Session, posted: Option<&str>) -> bool {
    match posted {
        Some(posted) => bool::from(posted.as_bytes().ct_eq(session.csrf.as_bytes())),
        None => false,
    }
}

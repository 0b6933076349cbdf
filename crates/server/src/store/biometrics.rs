//! The records of BankID with biometrics: permissions merchants register, the requests the
//! emulated app shows its user, and the users' scripted answers. The app is another process
//! (the CLI) as often as it is this one, so its whole state is here, behind these traits.

use super::StoreResult;
use async_trait::async_trait;

/// A permission a merchant registered at `POST {permissions_endpoint}` (seed 004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `1.BY.<b64>.<b64>`.
    pub id: String,
    pub client_id: String,
    /// `authentication.v1`, `text.v1`, `payment.v1`, `card.v1`, `account.v1`.
    pub type_: String,
    pub loa: String,
    /// The statement, base64url as the merchant sent it.
    pub permission: String,
    /// base64url(SHA-256(statement bytes)).
    pub digest: String,
    /// The statement's nonce; a payment's is unique per client while it is kept.
    pub nonce: Option<String>,
    pub intents: Vec<String>,
    pub login_hint_nnin: Option<String>,
    pub acr_values: Vec<String>,
    pub binding_message: String,
    pub iat: i64,
    /// The permission's `exp`: the user must answer before this.
    pub expires_at: i64,
    pub created_at: i64,
    /// The permission token works once: when it was used.
    pub token_used_at: Option<i64>,
    /// The app request that asks the user, once the user is known.
    pub app_request_id: Option<String>,
    /// The grant, signed on the first read after the user approved.
    pub grant_jwt: Option<String>,
}

/// What using a permission token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionTaken {
    /// This call used it.
    Taken(Box<Permission>),
    Used,
    Expired,
    OtherClient,
    Unknown,
}

#[async_trait]
pub trait PermissionStore: Send + Sync {
    /// Stores a permission with its nonce (if any) remembered for its client until
    /// `nonce_expires_at`, in one transaction; `Ok(false)` (nothing stored) if this client
    /// sent the nonce before.
    async fn add_permission(
        &self,
        permission: &Permission,
        nonce_expires_at: i64,
    ) -> StoreResult<bool>;
    async fn permission(&self, id: &str) -> StoreResult<Option<Permission>>;
    /// Uses a permission token in one conditional write: unused, of `client_id`, before the
    /// permission's `exp`.
    async fn use_permission(
        &self,
        id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<PermissionTaken>;
    /// Records the app request that asks the user; `Ok(false)` if one was recorded before.
    async fn link_app_request(&self, permission_id: &str, request_id: &str) -> StoreResult<bool>;
    /// Keeps a signed grant unless one is kept already; returns the kept one (first writer
    /// wins, so every reader gets the same grant).
    async fn keep_grant(&self, permission_id: &str, grant_jwt: &str)
    -> StoreResult<Option<String>>;
}

/// A user's answer in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppAnswer {
    Approved,
    Denied,
}

impl AppAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            AppAnswer::Approved => "approved",
            AppAnswer::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> Option<AppAnswer> {
        match text {
            "approved" => Some(AppAnswer::Approved),
            "denied" => Some(AppAnswer::Denied),
            _ => None,
        }
    }
}

/// A scripted answer a test user's app gives to every request (`users add|update
/// --app-answer`): beyond what BankID's test environment can do, so that a test pipeline gets
/// each outcome deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppScript {
    Approve,
    Deny,
    /// The user never answers: the request times out after the delay.
    Timeout,
    /// The phone cannot be reached: the request fails after the delay.
    Unreachable,
}

impl AppScript {
    pub const ALL: [AppScript; 4] = [
        AppScript::Approve,
        AppScript::Deny,
        AppScript::Timeout,
        AppScript::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppScript::Approve => "approve",
            AppScript::Deny => "deny",
            AppScript::Timeout => "timeout",
            AppScript::Unreachable => "unreachable",
        }
    }

    pub fn parse(text: &str) -> Option<AppScript> {
        AppScript::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// What a request with this script has become once the script took effect.
    pub fn status(self) -> AppStatus {
        match self {
            AppScript::Approve => AppStatus::Approved,
            AppScript::Deny => AppStatus::Denied,
            AppScript::Timeout => AppStatus::TimedOut,
            AppScript::Unreachable => AppStatus::Unreachable,
        }
    }
}

/// A user's scripted answer and how long the app takes to give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppScripted {
    pub answer: AppScript,
    pub delay: i64,
}

/// A request to a user's app: a login, or a permission to approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRequest {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    /// The merchant's name as the app shows it.
    pub client_name: String,
    pub binding_message: String,
    pub permission_id: Option<String>,
    /// What the app shows, JSON (`app::AppContent`).
    pub content: String,
    pub created_at: i64,
    /// Unanswered by then: timed out.
    pub expires_at: i64,
    pub answer: Option<AppAnswer>,
    pub answered_at: Option<i64>,
    /// The user's scripted answer when the request was made, and when it takes effect.
    pub script: Option<(AppScript, i64)>,
}

/// Where a request to the app stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppStatus {
    Pending,
    Approved,
    Denied,
    TimedOut,
    Unreachable,
}

impl AppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Pending => "pending",
            AppStatus::Approved => "approved",
            AppStatus::Denied => "denied",
            AppStatus::TimedOut => "timed_out",
            AppStatus::Unreachable => "unreachable",
        }
    }
}

impl AppRequest {
    /// Where the request stands at `now`: the user's answer if they gave one, else the
    /// scripted answer once its time has come, else pending until it expires.
    pub fn status(&self, now: i64) -> AppStatus {
        match (self.answer, self.script) {
            (Some(AppAnswer::Approved), _) => AppStatus::Approved,
            (Some(AppAnswer::Denied), _) => AppStatus::Denied,
            (None, Some((script, at))) if now >= at => script.status(),
            _ if now >= self.expires_at => AppStatus::TimedOut,
            _ => AppStatus::Pending,
        }
    }
}

#[async_trait]
pub trait AppRequestStore: Send + Sync {
    async fn create_app_request(&self, request: &AppRequest) -> StoreResult<()>;
    async fn app_request(&self, id: &str) -> StoreResult<Option<AppRequest>>;
    /// A user's requests that have not expired, oldest first.
    async fn app_requests_of(&self, user_id: &str, now: i64) -> StoreResult<Vec<AppRequest>>;
    /// Answers a request of `user_id` in one conditional write: only while it is pending (not
    /// answered, not expired, its scripted answer not yet in effect). `Ok(false)` otherwise.
    async fn answer_app_request(
        &self,
        id: &str,
        user_id: &str,
        answer: AppAnswer,
        now: i64,
    ) -> StoreResult<bool>;
    async fn app_script(&self, user_id: &str) -> StoreResult<Option<AppScripted>>;
    /// Sets or clears a user's scripted answer; `Ok(false)` if there is no such user.
    async fn set_app_script(&self, user_id: &str, script: Option<AppScripted>)
    -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(script: Option<(AppScript, i64)>) -> AppRequest {
        AppRequest {
            id: "r".into(),
            user_id: "u".into(),
            client_id: "c".into(),
            client_name: "Shop".into(),
            binding_message: "Farlig frakk".into(),
            permission_id: None,
            content: "{}".into(),
            created_at: 100,
            expires_at: 220,
            answer: None,
            answered_at: None,
            script,
        }
    }

    #[test]
    fn an_unanswered_request_is_pending_until_it_expires() {
        let r = request(None);
        assert_eq!(r.status(219), AppStatus::Pending);
        assert_eq!(r.status(220), AppStatus::TimedOut);
    }

    #[test]
    fn a_scripted_answer_takes_effect_at_its_time_and_an_answer_wins_over_it() {
        let r = request(Some((AppScript::Deny, 105)));
        assert_eq!(r.status(104), AppStatus::Pending);
        assert_eq!(r.status(105), AppStatus::Denied);
        let r = request(Some((AppScript::Unreachable, 100)));
        assert_eq!(r.status(100), AppStatus::Unreachable);
        let mut r = request(Some((AppScript::Timeout, 110)));
        assert_eq!(r.status(110), AppStatus::TimedOut);
        r.answer = Some(AppAnswer::Approved);
        assert_eq!(r.status(300), AppStatus::Approved);
    }
}

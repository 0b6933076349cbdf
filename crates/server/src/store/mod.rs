//! Persistence behind narrow traits, one per kind of record (after fosite's storage interfaces),
//! gathered in [`Store`]. Handlers see only these traits; SQLite (one machine, the default) and
//! PostgreSQL (several instances over one database) implement them.
//!
//! One-time things are consumed with a single conditional write ([`CodeStore::redeem_code`]).

pub mod biometrics;
pub mod ciba;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod flows;
pub mod postgres;
mod sqlite;

pub use biometrics::*;
pub use ciba::*;
pub use flows::MemoryFlows;
pub use postgres::{PgFlows, PgOptions, PgStore};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::scope::ScopeSet;
use std::sync::Arc;

/// A store error: the backend failed, or is full. Not-found and lost races are ordinary
/// results, not errors.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store: {message}")]
pub struct StoreError {
    message: String,
    full: bool,
}

impl StoreError {
    pub fn new(message: impl std::fmt::Display) -> Self {
        StoreError {
            message: message.to_string(),
            full: false,
        }
    }

    /// The store holds as many of these records as it may; try again later.
    pub fn full(message: impl std::fmt::Display) -> Self {
        StoreError {
            message: message.to_string(),
            full: true,
        }
    }

    pub fn is_full(&self) -> bool {
        self.full
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The key under which the store keeps a secret that is handed out (a code, a session cookie, a
/// refresh token, a pushed request's URI): [`StoreKey::of`] is the one way to make it from the
/// secret, so no caller hashes, and a secret is never looked up under a key made another way.
/// The rule (SHA-256, after the secret's time prefix) is `token_hash::store_key` in the core: a
/// copy of the store hands out no usable secret.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StoreKey(String);

impl StoreKey {
    pub fn of(secret: &str) -> StoreKey {
        StoreKey(bankid_oidc_core::token_hash::store_key(secret))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key as a backend stored it.
    fn stored(key: String) -> StoreKey {
        StoreKey(key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// See [`crate::secret`].
    pub secret_hash: String,
    pub redirect_uris: Vec<String>,
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    pub post_logout_redirect_uris: Vec<String>,
    /// The client's public keys (a JWKS document), for `private_key_jwt` and request objects.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// A resource server may introspect tokens issued to other clients.
    pub resource_server: bool,
    /// Plain authorization requests are refused: only pushed ones (RFC 9126 section 6).
    pub require_pushed_authorization_requests: bool,
    /// The card and account permission types (`card.v1`, `account.v1`) the client may register
    /// at the permissions API; the other types need no registration.
    pub permission_types: Vec<String>,
}

impl Client {
    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    pub fn uses_private_key_jwt(&self) -> bool {
        self.token_endpoint_auth_method == ClientAuthMethod::PrivateKeyJwt
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub nnin: String,
    pub pid: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The OpenID Connect address claim, as JSON.
    pub address: Option<String>,
    pub otp: String,
    pub password: String,
    pub failed_attempts: i64,
    pub locked_until: Option<i64>,
    pub updated_at: i64,
    /// Whether a scripted outcome waits for the user's next login ([`LoginScriptStore`]), read
    /// with the user so that a login takes a script only where there is one (one statement
    /// fewer per login on PostgreSQL). Never written through this field.
    pub next_login_scripted: bool,
}

impl User {
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub kid: String,
    pub alg: String,
    pub private_pkcs8: Vec<u8>,
    pub public_jwk: String,
    pub state: String,
    pub created_at: i64,
    /// When a `next` key starts signing.
    pub activate_at: Option<i64>,
    /// When a `retiring` key leaves the JWKS.
    pub retire_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: Option<String>,
    pub method: Option<Method>,
    pub auth_time: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The steps of a login flow (`login::flow`), named in the pages' forms (`step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// The NNIN, or (a user pre-selected) the choice of method.
    Nnin,
    /// Netcentric BankID's one-time code.
    Otp,
    /// Netcentric BankID's password.
    Password,
    /// BankID on mobile: phone number and birth date.
    Mobile,
    /// Approval in the app (biometrics or mobile), with the binding message.
    Approve,
    /// Consent to what the request asks beyond a login (the NNIN, payments).
    Consent,
}

impl Step {
    /// The name the forms carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Nnin => "nnin",
            Step::Otp => "otp",
            Step::Password => "password",
            Step::Mobile => "mobile",
            Step::Approve => "approve",
            Step::Consent => "consent",
        }
    }
}

/// Where a login flow stands; see `login::flow`. Serializable: until its first page is
/// posted, a flow travels sealed in that page's address (`login::seal`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginFlow {
    pub id: String,
    /// SHA-256 of the browser's session cookie: only that browser can continue the flow. A
    /// browser without a session gets a fresh pre-login cookie, which is not a session: a
    /// login replaces it with a new one (no session fixation).
    pub browser_hash: StoreKey,
    /// The authenticated session the browser had when the flow started, replaced if the flow
    /// logs the user in again (`prompt=login`, `max_age`, another method).
    pub session_id: Option<String>,
    pub request: Arc<ValidatedAuthorizeRequest>,
    pub step: Step,
    pub method: Option<Method>,
    pub user_id: Option<String>,
    pub csrf: String,
    pub binding_message: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The already authenticated session this flow completes (SSO with consent, or
    /// identification skipped by id_token_hint); none when the flow logs the user in.
    pub kept_session: Option<KeptSession>,
    /// The network address the flow's first step was posted from, when the server knows it:
    /// one source holds a bounded share of the logins in progress.
    #[serde(default)]
    pub source: Option<String>,
    /// The request to the user's app this flow waits for (BankID with biometrics).
    #[serde(default)]
    pub app_request_id: Option<String>,
    /// The permission a `login_hint_token` used for this login (BIS issuer): the app shows it.
    #[serde(default)]
    pub permission_id: Option<String>,
    /// The origin allowed to frame the flow's pages (the iframe flow, BIS): its pages are bound
    /// to the flow's single-use address, not to a session cookie.
    #[serde(default)]
    pub frame_ancestor: Option<String>,
}

/// An authenticated session a login flow completes without a new login.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeptSession {
    pub id: String,
    /// When the session's user authenticated: the tokens carry this, not the time of consent.
    pub auth_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: StoreKey,
    /// The issuer that made the code and its grant (`issuer::Issuer::id`; empty for records
    /// from before issuers were recorded).
    pub issuer: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: String,
    pub scope: String,
    pub user_id: String,
    pub session_id: String,
    pub method: Method,
    pub auth_time: i64,
    pub api_version: u32,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    /// What the grant (stored with the code) carries beyond the login.
    pub terms: GrantTerms,
}

/// What a user agreed to in a login, kept with the grant so that every token issued under it
/// (now or on refresh) carries the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantTerms {
    /// The user consented to sharing the NNIN through userinfo (seed 001).
    pub nnin_consent: bool,
    /// Approved `authorization_details`, JSON.
    pub authorization_details: Option<String>,
}

/// An access token as the store knows it: enough to refuse it once its grant is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    pub jti: String,
    pub grant_id: String,
    pub client_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// SHA-256 of the token as issued; none for records from before it was kept.
    pub token_hash: Option<String>,
    /// Read from the grant; ignored when the record is stored.
    pub nnin_consent: bool,
}

/// A refresh token as the store knows it (by its hash). Tokens of one login form a family: the
/// grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: StoreKey,
    pub grant_id: String,
    pub parent_hash: Option<StoreKey>,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub session_id: String,
    pub method: Method,
    pub auth_time: i64,
    pub api_version: u32,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A stored refresh token with the state of its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenState {
    pub token: RefreshToken,
    /// The issuer of the token's grant (see [`AuthorizationCode::issuer`]).
    pub issuer: String,
    pub grant_revoked: bool,
    pub terms: GrantTerms,
}

/// What exchanging a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Exchanged now: the successor and the access token are stored.
    Rotated,
    /// Exchanged moments ago and its successor is unused: the same successor stands, the new
    /// access token is stored (a client's concurrent double submit).
    WithinGrace,
    /// Exchanged before: reuse. The family is revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// What a token exchange stores, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access: AccessTokenRecord,
    pub refresh: Option<RefreshToken>,
}

/// What the store made of a wrong secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted: `failed_attempts` with it, and the lock it set if it reached the limit.
    Counted {
        failed_attempts: i64,
        locked_until: Option<i64>,
    },
    /// The user was locked already (or is gone): nothing was counted.
    Refused,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// Adds a client; `Ok(false)` if the client_id is taken.
    async fn add_client(&self, client: &Client) -> StoreResult<bool>;
    /// Replaces a client's registration; `Ok(false)` if there is no such client.
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    /// Removes a client and revokes every grant it holds; `Ok(false)` if there is no such client.
    async fn remove_client(&self, client_id: &str, now: i64) -> StoreResult<bool>;
    async fn clients(&self) -> StoreResult<Vec<Client>>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn user_by_nnin(&self, nnin: &str) -> StoreResult<Option<User>>;
    async fn users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>>;
    /// Adds a user; `Ok(false)` if the NNIN or PID is taken.
    async fn add_user(&self, user: &User) -> StoreResult<bool>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Removes a user with their sessions, and revokes every grant they hold; `Ok(false)` if
    /// there is no such user.
    async fn remove_user(&self, user_id: &str, now: i64) -> StoreResult<bool>;
    /// Counts a wrong secret in one conditional write that refuses a locked user. The user is
    /// locked for `lock_seconds` when the count reaches `max_failures`; a lock that has run out
    /// starts the count again.
    ///
    /// A secret's verdict, wrong ([`UserStore::count_login_failure`]) or right
    /// ([`UserStore::accept_login_secret`]), takes effect only through these conditional writes,
    /// which the store applies one after another: of guesses sent at once, those whose verdict
    /// comes after the lock are refused unanswered, so at most `max_failures` wrong secrets are
    /// answered per lock window and a right one is accepted only before the lock, however they
    /// arrive. Right secrets sent at once are all accepted (a test suite logs one test user in
    /// many times in parallel).
    async fn count_login_failure(
        &self,
        user_id: &str,
        now: i64,
        max_failures: i64,
        lock_seconds: i64,
    ) -> StoreResult<Attempt>;
    /// Accepts a right secret if the user is not locked at this point of the order of verdicts
    /// (`Ok(false)`: locked, or gone). `clear_all` (the last secret of a login) clears the count.
    async fn accept_login_secret(
        &self,
        user_id: &str,
        now: i64,
        clear_all: bool,
    ) -> StoreResult<bool>;
    /// Ends a user's lockout and clears their count of wrong secrets (`bankid-oidc users
    /// unlock`); `Ok(false)` if there is no such user.
    async fn unlock_user(&self, user_id: &str) -> StoreResult<bool>;
}

/// The sets signing keys belong to. Each set has its own keys, JWKS and rotation schedule, so
/// that a key of one set never verifies what the other signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySet {
    /// ID tokens, access tokens, permission tokens (`jwks_uri` of every issuer).
    Signing,
    /// Permission grants (`jwks_uri_grants` of the BIS issuer).
    Grants,
}

impl KeySet {
    pub const ALL: [KeySet; 2] = [KeySet::Signing, KeySet::Grants];

    /// The set's name in the store and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySet::Signing => "signing",
            KeySet::Grants => "grants",
        }
    }

    pub fn parse(text: &str) -> Option<KeySet> {
        KeySet::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Signing keys, one [`KeySet`] at a time.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The set's keys, oldest first.
    async fn signing_keys(&self, set: KeySet) -> StoreResult<Vec<StoredSigningKey>>;
    async fn add_signing_key(&self, set: KeySet, key: &StoredSigningKey) -> StoreResult<()>;
    /// Runs the set's rotation schedule in one transaction: a `next` key whose time has come
    /// becomes `active` and the active one `retiring` until `now + retire_after`; retiring keys
    /// past their time are deleted. Returns whether anything changed.
    async fn apply_key_schedule(
        &self,
        set: KeySet,
        now: i64,
        retire_after: i64,
    ) -> StoreResult<bool>;
    /// A value that changes whenever the set's keys change, so other processes' rotations are
    /// seen.
    async fn key_version(&self, set: KeySet) -> StoreResult<String>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session, cookie: &StoreKey) -> StoreResult<()>;
    async fn session_by_cookie(&self, cookie: &StoreKey, now: i64) -> StoreResult<Option<Session>>;
    /// Replaces an anonymous or older session by an authenticated one with a new id and cookie
    /// (no session fixation); moves nothing else.
    async fn replace_session(
        &self,
        old_id: &str,
        new: &Session,
        cookie: &StoreKey,
    ) -> StoreResult<()>;
    /// Ends a session (logout) and revokes the grants of that session that were not for offline
    /// access.
    async fn end_session(&self, session_id: &str, now: i64) -> StoreResult<()>;
}

/// What a login's end stores, all or nothing: the session it logged in (if it did) and the
/// grant with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The user logged in: this authenticated session replaces the browser's earlier one (no
    /// session fixation). The failure count is not touched: only a right secret clears it (a
    /// login with the app checks none). None when the login completes
    /// a session that was already authenticated (SSO with consent, or an id_token_hint).
    pub login: Option<NewLogin>,
    pub code: AuthorizationCode,
    pub grant_created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogin {
    /// The browser's earlier authenticated session, if it had one.
    pub replaced_session_id: Option<String>,
    pub session: Session,
    pub cookie: StoreKey,
}

/// Logins in progress: the steps of the login pages between an authorization request and its
/// code. Short-lived (minutes) and private to a browser. Its own component, apart from
/// [`Store`]: the server is wired with one ([`MemoryFlows`] on SQLite, [`PgFlows`] on
/// PostgreSQL).
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// Keeps a flow whose first page was posted; `Ok(false)` if a flow with its id is kept or
    /// has ended (a first page posted twice); a [`StoreError::full`] error when too many are in
    /// progress.
    async fn create_flow(&self, flow: &LoginFlow) -> StoreResult<bool>;
    async fn flow(&self, id: &str, now: i64) -> StoreResult<FlowState>;
    /// Moves a flow from `from_step` to the flow's new state; `Ok(false)` if it was not at
    /// `from_step` any more (a double submit or a race lost).
    async fn advance_flow(&self, flow: &LoginFlow, from_step: Step) -> StoreResult<bool>;
    /// Ends a flow, kept or not, remembering its id until `expires_at`; `Ok(false)` if it had
    /// already ended. Only the call that ends it gets `true`.
    async fn finish_flow(&self, id: &str, expires_at: i64) -> StoreResult<bool>;
    /// Ends a flow as [`FlowStore::finish_flow`] does and, only if this call ended it, stores
    /// what its login completed in `store` ([`CodeStore::complete_login`]); with `check`, only
    /// if the check passes too, and nothing at all (the flow not ended) if it does not. Flows
    /// kept in the store's own database ([`PgFlows`]) do it all in one statement, all or
    /// nothing, and write to that database rather than through `store`; here the check is a
    /// read of the user before the end.
    async fn finish_flow_completing(
        &self,
        id: &str,
        expires_at: i64,
        completion: &Completion,
        check: Option<&EndCheck<'_>>,
        store: &dyn Store,
    ) -> StoreResult<Ending> {
        if let Some(check) = check {
            let user = store.user(check.user_id).await?;
            if !user.is_some_and(|u| check.passes(&u)) {
                return Ok(Ending::CheckFailed);
            }
        }
        if !self.finish_flow(id, expires_at).await? {
            return Ok(Ending::AlreadyEnded);
        }
        store.complete_login(completion).await?;
        Ok(Ending::Ended)
    }
    /// Drops expired flows; returns how many.
    async fn purge_expired_flows(&self, now: i64) -> StoreResult<u64>;
}

/// What a login's end found ([`FlowStore::finish_flow_completing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// This call ended the flow and stored what the login completed.
    Ended,
    /// The flow had ended already: nothing is stored.
    AlreadyEnded,
    /// The check did not pass: nothing is stored, and the flow goes on.
    CheckFailed,
}

/// The password of a login's last step, checked by the login's end itself when nothing can come
/// before it: it passes only if it is the user's password and the user has no failed attempt
/// and no lock, as the store has them at the end (`login::flow`, `password_at_end`).
pub struct EndCheck<'a> {
    pub user_id: &'a str,
    pub password: &'a str,
}

impl EndCheck<'_> {
    /// Whether `user`, as read from the store, passes the check (the password compared in
    /// constant time).
    pub fn passes(&self, user: &User) -> bool {
        user.id == self.user_id
            && user.failed_attempts == 0
            && user.locked_until.is_none()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                self.password.as_bytes(),
                user.password.as_bytes(),
            ))
    }
}

impl std::fmt::Debug for EndCheck<'_> {
    // The password is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndCheck")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// What the store knows of a flow id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowState {
    Live(Box<LoginFlow>),
    /// It ended (completed, cancelled or denied).
    Ended,
    /// Never kept, or expired.
    Unknown,
}

/// What consuming an authorization code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    /// This call consumed it.
    Fresh,
    /// It had been consumed before: a replay.
    AlreadyUsed,
    Unknown,
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a grant and its first code together.
    async fn issue_code(&self, code: &AuthorizationCode, grant_created_at: i64) -> StoreResult<()>;
    /// Stores a login's end in one transaction; see [`Completion`].
    async fn complete_login(&self, completion: &Completion) -> StoreResult<()>;
    /// The code and, read with it (one statement on PostgreSQL), its user as the store has it
    /// now: `None` if the user was removed since. What the token endpoint issues from.
    async fn code_with_user(
        &self,
        code: &StoreKey,
    ) -> StoreResult<Option<(AuthorizationCode, Option<User>)>>;
    /// The code alone.
    async fn code(&self, code: &StoreKey) -> StoreResult<Option<AuthorizationCode>> {
        Ok(self.code_with_user(code).await?.map(|(record, _)| record))
    }
    /// Consumes the code and records the tokens issued for it in one transaction, so that a code
    /// is redeemed at most once and never leaves tokens the store does not know.
    async fn redeem_code(
        &self,
        code: &StoreKey,
        now: i64,
        issued: &Issued,
    ) -> StoreResult<Consumed>;
}

#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    async fn refresh_token(&self, token: &StoreKey) -> StoreResult<Option<RefreshTokenState>>;
    /// Exchanges a refresh token for `successor` and `access` in one transaction; see
    /// [`RefreshOutcome`]. `grace` is how long after its first exchange a token may be presented
    /// again while its successor is unused.
    async fn exchange_refresh_token(
        &self,
        token: &StoreKey,
        now: i64,
        grace: i64,
        successor: &RefreshToken,
        access: &AccessTokenRecord,
    ) -> StoreResult<RefreshOutcome>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Revokes a grant and so every token issued under it.
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()>;
    /// The access token's record if it exists and neither it nor its grant is revoked.
    async fn live_access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenRecord>>;
    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()>;
    /// Remembers a revoked machine token (client credentials; not recorded when issued) until
    /// it expires.
    async fn revoke_machine_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()>;
    async fn machine_token_revoked(&self, jti: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records the `jti` of a JWT the client signed (a client assertion or a request object)
    /// until `expires_at`; `Ok(false)` if it was seen before in either. One record for both, so
    /// that one JWT cannot be used once as each.
    async fn record_client_jwt_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait PushedRequestStore: Send + Sync {
    async fn push_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        request: &str,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Consumes a pushed request of `client_id` in one conditional write; see [`Taken`].
    async fn take_pushed_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Taken>;
}

/// What taking a pushed request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The validated request, JSON; it is consumed.
    Request(String),
    Used,
    Expired,
    OtherClient,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEncryptionKey {
    pub kid: String,
    pub alg: String,
    pub private_pkcs8: Vec<u8>,
    pub created_at: i64,
}

#[async_trait]
pub trait EncryptionKeyStore: Send + Sync {
    async fn encryption_keys(&self) -> StoreResult<Vec<StoredEncryptionKey>>;
    async fn add_encryption_key(&self, key: &StoredEncryptionKey) -> StoreResult<()>;
}

#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Deletes what has expired: sessions at once; codes, tokens, pushed requests
    /// and one-time ids `keep` seconds after they expired (a code replayed within that time
    /// still revokes what it gave); grants with nothing left under them. Returns rows deleted.
    async fn purge_expired(&self, now: i64, keep: i64) -> StoreResult<u64>;
    /// Whether the store answers: one trivial round trip (the readiness check, `/health/ready`,
    /// bounds how long it may take).
    async fn ping(&self) -> StoreResult<()>;
    /// The store's connection pool as it stands, for the metrics; none for a store without one
    /// to report.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }
}

/// A store's connection pool at one moment (see [`Housekeeping::pool_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, in use or idle.
    pub size: usize,
    pub idle: usize,
    /// The most the pool opens.
    pub max: usize,
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The provider secret named `name`, created from `fresh` on first use (by whichever process
    /// gets there first).
    async fn provider_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>>;
}

/// How a test user's next realm login ends, scripted (test controls, `bankid-oidc users update
/// --next-login`): the error the client gets at its redirect_uri once the user is identified,
/// so that a merchant can test its error paths without a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginScript {
    AccessDenied,
    LoginRequired,
    ServerError,
    TemporarilyUnavailable,
}

impl LoginScript {
    pub const ALL: [LoginScript; 4] = [
        LoginScript::AccessDenied,
        LoginScript::LoginRequired,
        LoginScript::ServerError,
        LoginScript::TemporarilyUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        self.error_code().as_str()
    }

    pub fn parse(text: &str) -> Option<LoginScript> {
        LoginScript::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The accepted values, for messages: "access_denied, login_required, ...".
    pub fn names() -> String {
        LoginScript::ALL.map(LoginScript::as_str).join(", ")
    }

    pub fn error_code(self) -> bankid_oidc_core::ErrorCode {
        use bankid_oidc_core::ErrorCode;
        match self {
            LoginScript::AccessDenied => ErrorCode::AccessDenied,
            LoginScript::LoginRequired => ErrorCode::LoginRequired,
            LoginScript::ServerError => ErrorCode::ServerError,
            LoginScript::TemporarilyUnavailable => ErrorCode::TemporarilyUnavailable,
        }
    }
}

#[async_trait]
pub trait LoginScriptStore: Send + Sync {
    /// Sets (or with `None` clears) how the user's next realm login ends; `Ok(false)` if there
    /// is no such user.
    async fn set_login_script(
        &self,
        user_id: &str,
        script: Option<LoginScript>,
    ) -> StoreResult<bool>;
    /// The user's script, if any, without taking it (`users list`).
    async fn login_script(&self, user_id: &str) -> StoreResult<Option<LoginScript>>;
    /// Takes the user's script in one conditional write: of logins at once, one gets it.
    async fn take_login_script(&self, user_id: &str) -> StoreResult<Option<LoginScript>>;
}

/// What a seed file (`bankid-oidc serve --seed`) changes: new and changed clients and users,
/// and the scripted app answers of the users it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedChanges {
    pub add_clients: Vec<Client>,
    pub update_clients: Vec<Client>,
    pub add_users: Vec<User>,
    /// Profile, one-time code and password; a user's id, PID and lockout stay as they are.
    pub update_users: Vec<User>,
    /// (user id, script) for every added or updated user.
    pub app_scripts: Vec<(String, Option<AppScripted>)>,
}

#[async_trait]
pub trait SeedStore: Send + Sync {
    /// Writes all of the changes in one transaction, or none: a client or user added meanwhile
    /// under the same key, or one to update that is gone, fails the whole write.
    async fn apply_seed(&self, changes: SeedChanges) -> StoreResult<()>;
}

/// Everything the provider stores.
pub trait Store:
    ClientStore
    + UserStore
    + KeyStore
    + SessionStore
    + CodeStore
    + RefreshTokenStore
    + GrantStore
    + ReplayStore
    + PushedRequestStore
    + EncryptionKeyStore
    + Housekeeping
    + SecretStore
    + PermissionStore
    + AppRequestStore
    + CibaStore
    + SeedStore
    + LoginScriptStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: ClientStore
        + UserStore
        + KeyStore
        + SessionStore
        + CodeStore
        + RefreshTokenStore
        + GrantStore
        + ReplayStore
        + PushedRequestStore
        + EncryptionKeyStore
        + Housekeeping
        + SecretStore
        + PermissionStore
        + AppRequestStore
        + CibaStore
        + SeedStore
        + LoginScriptStore
        + Send
        + Sync
        + 'static
{
}

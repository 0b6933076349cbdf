//! CIBA requests (BankID with biometrics, poll mode): what a merchant's backend started at the
//! backchannel authentication endpoint, polled at the token endpoint until the user's app
//! answers. The `auth_req_id` is kept only as its [`StoreKey`].

use super::{Issued, StoreKey, StoreResult};
use async_trait::async_trait;

/// A CIBA request as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CibaRequest {
    /// The `auth_req_id`'s store key.
    pub key: StoreKey,
    /// The issuer that took the request (BIS).
    pub issuer: String,
    pub client_id: String,
    pub user_id: String,
    /// The request to the user's app that this request waits for.
    pub app_request_id: String,
    pub scope: String,
    /// Seconds the client waits between polls; grows at every poll that comes too early.
    pub interval: i64,
    pub created_at: i64,
    /// After this, polls answer `expired_token`.
    pub expires_at: i64,
    pub last_polled_at: Option<i64>,
    /// When a poll got the tokens; they are issued once.
    pub redeemed_at: Option<i64>,
}

/// What a poll found, decided in one conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// In time: the request as it stands now (its last poll is this one).
    OnTime(Box<CibaRequest>),
    /// Sooner than `interval` after the previous poll: the interval grew, this is the new one.
    TooEarly {
        interval: i64,
    },
    Expired,
    /// Its tokens were issued to an earlier poll.
    Redeemed,
    OtherClient,
    Unknown,
}

/// What redeeming a request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CibaRedeemed {
    /// This call redeemed it; its grant and tokens are stored.
    Fresh,
    /// Another poll redeemed it first: nothing was stored.
    AlreadyRedeemed,
}

/// The grant a redeemed request starts (the tokens hang on it, as a code's do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CibaGrant {
    pub grant_id: String,
    /// The ID token's `sid`: the CIBA request stands in for a browser session.
    pub session_id: String,
}

#[async_trait]
pub trait CibaStore: Send + Sync {
    async fn add_ciba_request(&self, request: &CibaRequest) -> StoreResult<()>;
    /// Records a poll of `client_id` at `now` in one conditional write: the check against the
    /// interval (`slow_down`, the interval growing by `slow_down_step`) and the last poll's time
    /// are updated together, so two concurrent polls cannot both be on time.
    async fn poll_ciba_request(
        &self,
        key: &StoreKey,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
    ) -> StoreResult<Polled>;
    /// Marks the request redeemed and stores its grant and tokens in one transaction: only an
    /// unredeemed request is, so its tokens are issued once.
    async fn redeem_ciba_request(
        &self,
        key: &StoreKey,
        now: i64,
        grant: &CibaGrant,
        issued: &Issued,
    ) -> StoreResult<CibaRedeemed>;
}

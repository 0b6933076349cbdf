//! The BankID Norway OpenID Connect provider as a library: build a [`Provider`] from a store, a
//! clock and a [`Config`], then serve [`http::router`].
//!
//! Layers (shared/DESIGN.md): `http` handlers parse, call core validation, the store and the
//! keyring, and respond; they hold no SQL and no crypto. `grants` holds the token endpoint's grant
//! types, `login` the user-facing pages.

pub mod app;
pub mod authorization;
pub mod bearer;
pub mod ciba;
pub mod client_assertion;
pub mod clock;
pub mod config;
pub mod device;
pub mod enc_keys;
pub mod grants;
pub mod http;
pub mod issuer;
pub mod keys;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod pages;
pub mod permission_token;
pub mod permissions;
pub mod record_cache;
pub mod registration;
pub mod secret;
pub mod seed;
pub mod store;
pub mod tokens;

use aws_lc_rs::hmac;
use client_assertion::ClientKeys;
use clock::{Clock, OffsetClock};
use config::Config;
use issuer::Issuers;
use keys::{KeySet, Keyring};
use std::sync::Arc;
use std::time::Duration;
use store::{FlowStore, MemoryFlows, Store};

/// How long expired records (codes, tokens, permissions and their grants) are kept before
/// housekeeping deletes them: a replayed code still revokes what it gave, a grant can still be
/// read.
pub const RECORDS_KEPT: i64 = 24 * 3600;

/// Everything a request handler needs, shared by all of them.
pub struct Provider {
    pub store: Arc<dyn Store>,
    /// Logins in progress: their own component, apart from the store (see `store::flows`).
    pub flows: Arc<dyn FlowStore>,
    /// Seals login flows that are not kept yet (see `login::seal`).
    pub seal: login::seal::FlowSeal,
    /// The signing set: tokens of every issuer (`jwks_uri`).
    pub keys: Keyring,
    /// The grants set: permission grants only (BIS `jwks_uri_grants`).
    pub grant_keys: Keyring,
    /// The system clock, moved forward only by tests and the test controls.
    pub clock: Arc<OffsetClock>,
    pub config: Config,
    /// The issuers served (see [`issuer`]).
    pub issuers: Issuers,
    pub client_keys: ClientKeys,
    clients: record_cache::RecordCache<store::Client>,
    users: record_cache::RecordCache<store::User>,
    /// Wrong secrets on their way to the store (see `login::verdicts`).
    pub pending_failures: login::verdicts::PendingFailures,
    /// Keys clients encrypt request objects to.
    pub encryption: enc_keys::EncryptionKeys,
    /// Derives values from other values: refresh token successors (see `grants::refresh_token`)
    /// and logout confirmations.
    pub derive_key: hmac::Key,
    /// When the signing keys were last read for a token naming an unknown key
    /// ([`Provider::learn_signing_key`]).
    keys_reloaded_at: std::sync::atomic::AtomicI64,
    /// What the provider counts, for `/metrics`: any module records here.
    pub metrics: metrics::Metrics,
}

pub type AppState = Arc<Provider>;

impl Provider {
    /// Loads (or on first start creates) the signing keys and provider secrets; keeps logins in
    /// progress in memory.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<OffsetClock>,
        config: Config,
    ) -> anyhow::Result<AppState> {
        let flows = Arc::new(MemoryFlows::default());
        Provider::start_with_flows(store, flows, clock, config).await
    }

    /// Like [`Provider::start`], with logins in progress kept by `flows`.
    pub async fn start_with_flows(
        store: Arc<dyn Store>,
        flows: Arc<dyn FlowStore>,
        clock: Arc<OffsetClock>,
        config: Config,
    ) -> anyhow::Result<AppState> {
        config.validate().map_err(anyhow::Error::msg)?;
        let encryption =
            enc_keys::EncryptionKeys::load_or_create(store.as_ref(), clock.now()).await?;
        let (keys, _) =
            Keyring::load_or_create(store.as_ref(), KeySet::Signing, clock.now()).await?;
        let keys = keys
            .publish_with(store.as_ref(), encryption.public_jwks())
            .await?;
        let (grant_keys, _) =
            Keyring::load_or_create(store.as_ref(), KeySet::Grants, clock.now()).await?;
        let secret = store
            .provider_secret(
                grants::refresh_token::SECRET_NAME,
                &secret::random_bytes::<32>(),
            )
            .await?;
        let seal_secret = store
            .provider_secret(login::seal::SECRET_NAME, &secret::random_bytes::<32>())
            .await?;
        let issuers = Issuers::new(&config);
        let pooled = store.clone();
        let metrics = metrics::Metrics::new(move || pooled.pool_status());
        Ok(Arc::new(Provider {
            store,
            flows,
            seal: login::seal::FlowSeal::new(&seal_secret),
            keys,
            grant_keys,
            clock,
            config,
            issuers,
            client_keys: ClientKeys::default(),
            clients: record_cache::RecordCache::default(),
            users: record_cache::RecordCache::default(),
            pending_failures: login::verdicts::PendingFailures::default(),
            encryption,
            derive_key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            keys_reloaded_at: std::sync::atomic::AtomicI64::new(i64::MIN),
            metrics,
        }))
    }

    /// Before a token of this provider is verified: if it names a signing key this instance has
    /// not loaded, reads the keys from the store once, so that a token another instance signed
    /// with a key it just made is not refused. At most once a second, whatever the tokens say:
    /// made-up kids cannot turn requests into store reads.
    pub async fn learn_signing_key(&self, token: &str) {
        if !self.keys.names_unknown_key(token) {
            return;
        }
        let now = self.now();
        let last = self
            .keys_reloaded_at
            .load(std::sync::atomic::Ordering::Relaxed);
        if now <= last
            || self
                .keys_reloaded_at
                .compare_exchange(
                    last,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        if let Err(e) = self.keys.reload(self.store.as_ref()).await {
            tracing::warn!(error = %e, "reloading the signing keys for an unknown kid failed");
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The pages' stylesheet (the primary issuer's: one origin serves every issuer).
    pub fn css_path(&self) -> String {
        self.issuers.primary().route(issuer::Endpoint::Stylesheet)
    }

    /// A registered client, through the one-second cache (see `record_cache`).
    pub async fn client(&self, client_id: &str) -> store::StoreResult<Option<Arc<store::Client>>> {
        // The request's log lines name the client it asked for (see `http::api_error`).
        record_client_id(client_id);
        self.clients
            .get(client_id, self.clock.now_millis(), || {
                self.store.client(client_id)
            })
            .await
    }

    /// A test user, through the one-second cache (see `record_cache`). Where a stale record
    /// would matter (issuing tokens), read the store.
    pub async fn user(&self, user_id: &str) -> store::StoreResult<Option<Arc<store::User>>> {
        self.users
            .get(user_id, self.clock.now_millis(), || {
                self.store.user(user_id)
            })
            .await
    }

    /// A store failure that a request is answered with `server_error` for: logged here (the
    /// answer tells nothing of it) and counted (`bankid_oidc_store_errors_total`).
    pub fn store_failed(&self, e: &store::StoreError) {
        tracing::error!(error = %e, "store failure");
        self.metrics.store_failed();
    }

    /// Drops a user from the cache after the server changed it (a failed attempt, a login).
    pub fn user_changed(&self, user_id: &str) {
        self.users.forget(user_id);
    }

    /// The keyring of `set`.
    pub fn keyring(&self, set: KeySet) -> &Keyring {
        match set {
            KeySet::Signing => &self.keys,
            KeySet::Grants => &self.grant_keys,
        }
    }

    /// Makes a new key of `set` sign now (test controls, emergencies); returns the new kid.
    pub async fn rotate_keys_now(&self, set: KeySet) -> Result<String, keys::KeyError> {
        let policy = keys::rotation_policy(&self.config, set);
        self.keyring(set)
            .rotate(self.store.as_ref(), self.now(), policy.retire_after)
            .await
    }

    /// Deletes expired rows every `period` (and once at once), keeping codes and tokens a day
    /// past their expiry; see [`store::Housekeeping`].
    pub async fn run_housekeeping(self: Arc<Self>, period: Duration) {
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            match self.store.purge_expired(self.now(), RECORDS_KEPT).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "expired rows deleted"),
                Err(e) => tracing::error!(error = %e, "housekeeping failed"),
            }
            match self.flows.purge_expired_flows(self.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(flows = n, "expired logins in progress dropped"),
                Err(e) => tracing::error!(error = %e, "housekeeping of logins failed"),
            }
        }
    }

    /// Runs the key rotation schedule of both key sets every `period` until the task is
    /// dropped; see [`Keyring::tick`].
    pub async fn run_key_schedule(self: Arc<Self>, period: Duration) {
        let policies = KeySet::ALL.map(|set| (set, keys::rotation_policy(&self.config, set)));
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            for (set, policy) in &policies {
                let keys = self.keyring(*set);
                match keys.tick(self.store.as_ref(), self.now(), policy).await {
                    Ok(true) => {
                        tracing::info!(set = %set, kid = %keys.active_kid(), "keys changed")
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!(set = %set, error = %e, "key schedule failed"),
                }
            }
        }
    }
}

/// Names the client in the current request's span (its log lines). As sent, a client_id is the
/// attacker's text: only printable ASCII without spaces is written plainly, anything else quoted
/// and escaped, so that no newline or control character forges a log line.
pub fn record_client_id(client_id: &str) {
    let span = tracing::Span::current();
    if !client_id.is_empty() && client_id.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        span.record("client_id", tracing::field::display(client_id));
    } else {
        span.record("client_id", tracing::field::debug(client_id));
    }
}

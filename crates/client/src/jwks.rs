//! A provider's key set, cached: the signing keys at `jwks_uri` and the encryption keys at
//! `jwks_uri_enc` are two instances of the one cache, so both age, refetch and cap their body by
//! the same rules and the same clock. Keys are parsed once per fetch. A token whose `kid` is
//! unknown triggers one refetch, which is how a client follows key rotation (the provider
//! publishes a new key before signing with it); refetches are spaced by a minimum interval so
//! that tokens with made-up `kid`s cannot make us hammer the provider.

use crate::Error;
use crate::clock::{Clock, SystemClock, age};
use crate::http;
use crate::jws::KeySet;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The shortest time between two JWKS fetches unless configured otherwise.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long keys are used before they are refetched anyway (so withdrawn keys stop verifying).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The keys of one fetch in both forms: parsed to verify signatures with, and as published (what
/// a request object is encrypted to).
#[derive(Debug, Default, Clone)]
struct Keys {
    verification: Arc<KeySet>,
    published: Arc<Vec<Jwk>>,
}

#[derive(Debug, Default)]
struct Cached {
    keys: Keys,
    /// When keys were last fetched successfully.
    fetched_at: Option<Instant>,
    /// When a fetch was last tried, successful or not: the rate limit counts attempts.
    attempted_at: Option<Instant>,
}

/// A JWKS document behind a cache with refetch-on-unknown-kid and a rate limit.
#[derive(Debug)]
pub struct JwksCache {
    uri: String,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    max_age: Duration,
    max_response_size: usize,
    clock: Arc<dyn Clock>,
    cached: RwLock<Cached>,
    /// One fetch at a time: concurrent logins after a rotation share one refetch.
    fetching: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(http: reqwest::Client, uri: &str) -> Self {
        JwksCache {
            uri: uri.to_owned(),
            http,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            max_age: DEFAULT_MAX_AGE,
            max_response_size: http::DEFAULT_MAX_RESPONSE_SIZE,
            clock: Arc::new(SystemClock),
            cached: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The largest JWKS document read (default [`http::DEFAULT_MAX_RESPONSE_SIZE`]).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// The clock that ages the keys and spaces the refetches (default: the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn snapshot(&self) -> (Keys, Option<Instant>, Option<Instant>) {
        let cached = self.cached.read().unwrap_or_else(|p| p.into_inner());
        (cached.keys.clone(), cached.fetched_at, cached.attempted_at)
    }

    fn age(&self, then: Instant) -> Duration {
        age(self.clock.as_ref(), then)
    }

    fn may_fetch(&self, attempted_at: Option<Instant>) -> bool {
        attempted_at.is_none_or(|at| self.age(at) >= self.min_refetch_interval)
    }

    /// The current signing keys, fetched on first use and again when older than the maximum age.
    /// If a refresh of old keys fails, the old keys stay in use (they were valid a moment ago)
    /// and the next attempt waits for the minimum interval.
    pub async fn keys(&self) -> Result<Arc<KeySet>, Error> {
        Ok(self.current().await?.verification)
    }

    /// The current keys as the provider publishes them (for `jwks_uri_enc`: the keys to encrypt
    /// to), fetched and refetched by the same rules as [`JwksCache::keys`].
    pub async fn published_keys(&self) -> Result<Arc<Vec<Jwk>>, Error> {
        Ok(self.current().await?.published)
    }

    async fn current(&self) -> Result<Keys, Error> {
        let (keys, fetched_at, _) = self.snapshot();
        match fetched_at {
            Some(at) if self.age(at) < self.max_age => Ok(keys),
            Some(_) => {
                let _guard = self.fetching.lock().await;
                let (keys, fetched_at, attempted_at) = self.snapshot();
                if fetched_at.is_some_and(|at| self.age(at) < self.max_age)
                    || !self.may_fetch(attempted_at)
                {
                    return Ok(keys);
                }
                Ok(self.fetch().await.unwrap_or(keys))
            }
            None => {
                let _guard = self.fetching.lock().await;
                let (keys, fetched_at, _) = self.snapshot();
                if fetched_at.is_some() {
                    return Ok(keys);
                }
                self.fetch().await
            }
        }
    }

    /// Called when a token names a key we do not have. Refetches at most once per minimum
    /// interval; returns the new keys if they were refetched (by this call or a concurrent one),
    /// `None` if the rate limit held the refetch back.
    pub async fn refetch_for_unknown_kid(
        &self,
        kid: Option<&str>,
    ) -> Result<Option<Arc<KeySet>>, Error> {
        let _guard = self.fetching.lock().await;
        let (keys, _, attempted_at) = self.snapshot();
        // A concurrent caller may have fetched while we waited for the lock.
        if let Some(kid) = kid
            && keys.verification.contains_kid(kid)
        {
            return Ok(Some(keys.verification));
        }
        if !self.may_fetch(attempted_at) {
            return Ok(None);
        }
        Ok(Some(self.fetch().await?.verification))
    }

    async fn fetch(&self) -> Result<Keys, Error> {
        let now = self.clock.instant();
        self.cached
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .attempted_at = Some(now);
        let response = http::get(
            &self.http,
            &self.uri,
            "application/jwk-set+json, application/json",
            None,
            self.max_response_size,
        )
        .await?;
        if response.status != 200 {
            return Err(Error::HttpStatus {
                url: self.uri.clone(),
                status: response.status,
                body: response.body_excerpt(),
            });
        }
        let jwks: Jwks =
            serde_json::from_slice(&response.body).map_err(|e| Error::MalformedResponse {
                what: "JWKS",
                detail: e.to_string(),
            })?;
        let keys = Keys {
            verification: Arc::new(KeySet::from_jwks(&jwks)),
            published: Arc::new(jwks.keys),
        };
        let mut cached = self.cached.write().unwrap_or_else(|p| p.into_inner());
        cached.keys = keys.clone();
        cached.fetched_at = Some(now);
        Ok(keys)
    }
}

//! Client-credentials tokens, cached per scope set until shortly before they expire, so that a
//! merchant backend calling the permissions API per payment does not fetch a token each time.

use crate::Error;
use crate::clock::Clock;
use crate::token::Tokens;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// An access token from the client credentials grant.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    /// When the token expires; `None` if the provider did not say, or named a lifetime this
    /// machine's clock cannot represent. A token without a known expiry is not cached.
    pub expires_at: Option<SystemTime>,
    /// The scopes granted, if the provider said (it may grant fewer than asked).
    pub scope: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl AccessToken {
    pub fn from_response(response: &Tokens, received_at: SystemTime) -> Self {
        AccessToken {
            token: response.access_token.clone(),
            // `expires_in` is the provider's number: an addition that overflows the clock must
            // not panic the merchant's task.
            expires_at: response
                .lifetime()
                .and_then(|lifetime| received_at.checked_add(lifetime)),
            scope: response.scope.clone(),
        }
    }

    /// Whether the token still has more than `margin` to live at `now`; never for a token whose
    /// expiry is unknown.
    pub fn fresh_at(&self, now: SystemTime, margin: Duration) -> bool {
        match (self.expires_at, now.checked_add(margin)) {
            (Some(expires_at), Some(deadline)) => deadline < expires_at,
            _ => false,
        }
    }
}

/// The cache key: the scope set, independent of order and repetition.
fn scope_key(scopes: &[&str]) -> String {
    let mut sorted: Vec<&str> = scopes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.join(" ")
}

#[derive(Debug)]
pub(crate) struct MachineTokenCache {
    margin: Duration,
    clock: Arc<dyn Clock>,
    // An async mutex: the fetch happens under it, so concurrent callers share one token request.
    tokens: tokio::sync::Mutex<HashMap<String, AccessToken>>,
}

impl MachineTokenCache {
    pub(crate) fn new(margin: Duration, clock: Arc<dyn Clock>) -> Self {
        MachineTokenCache {
            margin,
            clock,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        scopes: &[&str],
        fetch: F,
    ) -> Result<AccessToken, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Tokens, Error>>,
    {
        let key = scope_key(scopes);
        let mut tokens = self.tokens.lock().await;
        if let Some(token) = tokens.get(&key)
            && token.fresh_at(self.clock.now(), self.margin)
        {
            return Ok(token.clone());
        }
        let sent_at = self.clock.now();
        let response = fetch().await?;
        // Expiry counts from when the request left: the provider's clock started no later.
        let token = AccessToken::from_response(&response, sent_at);
        if token.expires_at.is_some() {
            tokens.insert(key, token.clone());
        } else {
            // Without a known expiry there is no moment to replace it at: fetch anew each time.
            tokens.remove(&key);
        }
        Ok(token)
    }

    /// Drops a cached token (after it was revoked), so the next request fetches a new one.
    pub(crate) async fn forget(&self, token: &str) {
        self.tokens
            .lock()
            .await
            .retain(|_, cached| cached.token != token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn response(expires_in: u64) -> Tokens {
        Tokens {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            expires_in: Some(expires_in),
            id_token: None,
            refresh_token: None,
            scope: Some("esign".into()),
        }
    }

    #[tokio::test]
    async fn machine_token_is_reused_until_shortly_before_expiry() {
        let cache = MachineTokenCache::new(Duration::from_secs(30), Arc::new(crate::SystemClock));
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            cache
                .get_or_fetch(&["esign", "signdoc/read_write"], || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(response(300))
                })
                .await
                .unwrap();
        }
        // Same scope set in another order: same token.
        cache
            .get_or_fetch(&["signdoc/read_write", "esign"], || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(response(300))
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A token with less than the margin left is replaced.
        for _ in 0..2 {
            cache
                .get_or_fetch(&["esign/csc"], || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(response(20))
                })
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_forgotten_token_is_fetched_anew() {
        let cache = MachineTokenCache::new(Duration::from_secs(30), Arc::new(crate::SystemClock));
        let fetch = || async { Ok(response(300)) };
        cache.get_or_fetch(&["esign"], fetch).await.unwrap();
        cache.forget("another token").await;
        let calls = AtomicUsize::new(0);
        let counting = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(response(300))
        };
        cache.get_or_fetch(&["esign"], counting).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0, "still cached");
        cache.forget("t").await;
        cache.get_or_fetch(&["esign"], counting).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn any_expires_in_is_added_to_the_clock_without_panicking() {
        let received = SystemTime::now();
        for expires_in in [
            0,
            1,
            u64::from(u32::MAX),
            i64::MAX as u64,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let token = AccessToken::from_response(&response(expires_in), received);
            if let Some(at) = token.expires_at {
                assert_eq!(at.duration_since(received).unwrap().as_secs(), expires_in);
            }
            // Whatever the provider said, asking about freshness is safe too.
            token.fresh_at(received, Duration::MAX);
            token.fresh_at(received, Duration::from_secs(30));
        }
        let beyond_the_clock = AccessToken::from_response(&response(u64::MAX), received);
        assert_eq!(beyond_the_clock.expires_at, None);
        assert!(!beyond_the_clock.fresh_at(received, Duration::ZERO));
    }

    #[tokio::test]
    async fn a_token_of_unknown_lifetime_is_used_once_and_not_cached() {
        let cache = MachineTokenCache::new(Duration::from_secs(30), Arc::new(crate::SystemClock));
        let calls = AtomicUsize::new(0);
        let unknown = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Tokens {
                expires_in: None,
                ..response(0)
            })
        };
        for _ in 0..2 {
            let token = cache.get_or_fetch(&["esign"], unknown).await.unwrap();
            assert_eq!(token.expires_at, None);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}

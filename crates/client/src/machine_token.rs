//! Client-credentials tokens, cached per scope set until shortly before they expire, so that a
//! merchant backend calling the permissions API per payment does not fetch a token each time.

use crate::Error;
use bankid_oidc_core::claims::TokenResponse;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// An access token from the client credentials grant.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: SystemTime,
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
    pub fn from_response(response: &TokenResponse, received_at: SystemTime) -> Self {
        AccessToken {
            token: response.access_token.clone(),
            expires_at: received_at + Duration::from_secs(response.expires_in),
            scope: response.scope.clone(),
        }
    }

    /// Whether the token still has more than `margin` to live at `now`.
    pub fn fresh_at(&self, now: SystemTime, margin: Duration) -> bool {
        now + margin < self.expires_at
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
    // An async mutex: the fetch happens under it, so concurrent callers share one token request.
    tokens: tokio::sync::Mutex<HashMap<String, AccessToken>>,
}

impl MachineTokenCache {
    pub(crate) fn new(margin: Duration) -> Self {
        MachineTokenCache {
            margin,
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
        Fut: Future<Output = Result<TokenResponse, Error>>,
    {
        let key = scope_key(scopes);
        let mut tokens = self.tokens.lock().await;
        if let Some(token) = tokens.get(&key)
            && token.fresh_at(SystemTime::now(), self.margin)
        {
            return Ok(token.clone());
        }
        let sent_at = SystemTime::now();
        let response = fetch().await?;
        // Expiry counts from when the request left: the provider's clock started no later.
        let token = AccessToken::from_response(&response, sent_at);
        tokens.insert(key, token.clone());
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

    fn response(expires_in: u64) -> TokenResponse {
        TokenResponse {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            expires_in,
            id_token: None,
            refresh_token: None,
            scope: Some("esign".into()),
        }
    }

    #[tokio::test]
    async fn machine_token_is_reused_until_shortly_before_expiry() {
        let cache = MachineTokenCache::new(Duration::from_secs(30));
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
        let cache = MachineTokenCache::new(Duration::from_secs(30));
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
}

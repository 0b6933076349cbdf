//! Clients and users read through a short-lived cache: every authenticated request looks its
//! client up and every login step its user, and a store read costs more than the rest of a
//! client-credentials request.
//!
//! Entries live one second, so a change made with `bankid-oidc clients|users ...` while the
//! server runs takes effect within a second; a record that is not found is never cached, so a
//! new client or user works at once. What the server itself changes (a user's failed attempts
//! and lock) is dropped from the cache when it is written, so that the next step sees it. A
//! read-mostly lock: the write side is taken only to refresh an entry, at most once a second
//! per record.

use crate::store::StoreResult;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Milliseconds an entry lives (on the provider's injected clock).
const TTL_MS: i64 = 1000;
/// Bounds the cache; beyond it the expired entries are dropped, and if that is not enough, all.
const MAX_ENTRIES: usize = 10_000;

pub struct RecordCache<V> {
    /// Each record with the time (ms) it was read.
    entries: RwLock<HashMap<String, (i64, Arc<V>)>>,
}

impl<V> Default for RecordCache<V> {
    fn default() -> Self {
        RecordCache {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<V> RecordCache<V> {
    /// The record under `key` at `now_ms` (the provider's clock): from the cache while it is
    /// fresh, else from `load`.
    pub async fn get<F, Fut>(&self, key: &str, now_ms: i64, load: F) -> StoreResult<Option<Arc<V>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoreResult<Option<V>>>,
    {
        if let Some((at, record)) = self.entries.read().expect("cache lock").get(key)
            && now_ms.saturating_sub(*at) < TTL_MS
        {
            return Ok(Some(record.clone()));
        }
        let record = load().await?.map(Arc::new);
        let mut entries = self.entries.write().expect("cache lock");
        match &record {
            Some(r) => {
                if entries.len() >= MAX_ENTRIES {
                    entries.retain(|_, (at, _)| now_ms.saturating_sub(*at) < TTL_MS);
                    if entries.len() >= MAX_ENTRIES {
                        entries.clear();
                    }
                }
                entries.insert(key.to_owned(), (now_ms, r.clone()));
            }
            None => {
                entries.remove(key);
            }
        }
        Ok(record)
    }

    /// Drops `key`, so that the next read goes to the store.
    pub fn forget(&self, key: &str) {
        self.entries.write().expect("cache lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_found_record_is_read_once_a_second_a_missing_one_every_time() {
        let cache = RecordCache::<String>::default();
        let loads = AtomicUsize::new(0);
        let load = |found: bool| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(found.then(|| "record".to_owned()))
            }
        };
        assert!(
            cache
                .get("missing", 0, load(false))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            cache
                .get("missing", 0, load(false))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2, "misses are not cached");
        assert!(cache.get("a", 0, load(true)).await.unwrap().is_some());
        assert!(cache.get("a", 0, load(true)).await.unwrap().is_some());
        assert_eq!(
            loads.load(Ordering::SeqCst),
            3,
            "a hit is served from the cache"
        );
        cache.forget("a");
        assert!(cache.get("a", 0, load(true)).await.unwrap().is_some());
        assert_eq!(
            loads.load(Ordering::SeqCst),
            4,
            "a forgotten record is read again"
        );
    }

    #[tokio::test]
    async fn a_record_removed_from_the_store_is_gone_after_its_second() {
        let cache = RecordCache::<String>::default();
        let found = |f: bool| move || async move { Ok(f.then(|| "record".to_owned())) };
        assert!(cache.get("a", 5_000, found(true)).await.unwrap().is_some());
        assert!(
            cache.get("a", 5_999, found(false)).await.unwrap().is_some(),
            "still fresh"
        );
        assert!(cache.get("a", 6_000, found(false)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_cache_stays_bounded() {
        let cache = RecordCache::<u32>::default();
        for i in 0..(MAX_ENTRIES + 10) {
            cache
                .get(&i.to_string(), 0, || async { Ok(Some(1)) })
                .await
                .unwrap();
        }
        assert!(cache.entries.read().unwrap().len() <= MAX_ENTRIES);
    }
}

//! Registered clients, read through a short-lived cache: every authenticated request looks its
//! client up, and a store read costs more than the rest of a client-credentials request.
//!
//! Entries live one second, so a change made with `bankid-oidc clients update|remove` while the
//! server runs takes effect within a second; a client that is not found is never cached, so a
//! newly added client works at once. A read-mostly lock: the write side is taken only to refresh
//! an entry, at most once a second per client.

use crate::store::{Client, ClientStore, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(1);
/// Bounds the cache; beyond it the oldest entries are dropped.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (Instant, Arc<Client>)>>,
}

impl ClientCache {
    pub async fn get(
        &self,
        store: &dyn ClientStore,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Client>>> {
        if let Some((at, client)) = self.entries.read().expect("cache lock").get(client_id)
            && at.elapsed() < TTL
        {
            return Ok(Some(client.clone()));
        }
        let client = store.client(client_id).await?.map(Arc::new);
        let mut entries = self.entries.write().expect("cache lock");
        match &client {
            Some(c) => {
                if entries.len() >= MAX_ENTRIES {
                    entries.retain(|_, (at, _)| at.elapsed() < TTL);
                }
                entries.insert(client_id.to_owned(), (Instant::now(), c.clone()));
            }
            None => {
                entries.remove(client_id);
            }
        }
        Ok(client)
    }
}

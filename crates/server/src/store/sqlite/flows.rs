//! Logins in progress, kept in the provider's memory rather than in the database file.
//!
//! A login flow lives for minutes, changes at every step, and is read and written by nothing
//! but the server process that started it (the CLI never touches one). Written to SQLite, it
//! was four of the nine row writes of a login and three of its reads; in memory, a login is
//! 17 to 34% more logins per second on the benchmark machine (BENCHMARKS.md). What that gives
//! up: a restart of the provider sends the users who were between two pages back to the
//! service to start again, and a flow belongs to the process that started it (two servers on one
//! data directory do not share logins in progress; several instances share a PostgreSQL store).
//! Everything a login produces (session, grant, code, tokens) is in the database, on disk
//! before it is answered.
//!
//! Bounded: beyond [`MAX_FLOWS`] logins in progress, a new one is refused (`temporarily
//! unavailable`) rather than pushing out one a person is in the middle of.

use super::SqliteStore;
use crate::store::{FlowStore, LoginFlow, StoreError, StoreResult};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// Logins in progress one server keeps at most, unless told otherwise (a flow is about a
/// kilobyte and a half).
pub const MAX_FLOWS: usize = 20_000;

pub struct MemoryFlows {
    flows: Mutex<HashMap<String, LoginFlow>>,
    max: AtomicUsize,
    /// The second of the last sweep for expired flows made because the map was full: a full
    /// map is swept at most once a second, not by every request refused meanwhile (each sweep
    /// walks every flow while holding the lock).
    full_sweep_at: AtomicI64,
}

impl Default for MemoryFlows {
    fn default() -> Self {
        MemoryFlows {
            flows: Mutex::new(HashMap::new()),
            max: AtomicUsize::new(MAX_FLOWS),
            full_sweep_at: AtomicI64::new(i64::MIN),
        }
    }
}

impl MemoryFlows {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LoginFlow>> {
        // A panic while the map was held cannot leave a flow half-written: every change is one
        // insert or remove.
        self.flows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    pub fn create(&self, flow: &LoginFlow) -> StoreResult<()> {
        let max = self.max.load(Ordering::Relaxed);
        let mut flows = self.lock();
        if flows.len() >= max {
            let now = flow.created_at;
            if self.full_sweep_at.swap(now, Ordering::Relaxed) != now {
                flows.retain(|_, f| f.expires_at > now);
            }
            if flows.len() >= max {
                return Err(StoreError::full(format!(
                    "{max} logins are in progress, the most this provider keeps"
                )));
            }
        }
        if flows.contains_key(&flow.id) {
            return Err(StoreError::new("a login flow with this id exists"));
        }
        flows.insert(flow.id.clone(), flow.clone());
        Ok(())
    }

    pub fn get(&self, id: &str, now: i64) -> Option<LoginFlow> {
        self.lock().get(id).filter(|f| f.expires_at > now).cloned()
    }

    /// Replaces the flow if it is still at `from_step`.
    pub fn advance(&self, flow: &LoginFlow, from_step: &str) -> bool {
        match self.lock().get_mut(&flow.id) {
            Some(current) if current.step == from_step => {
                *current = flow.clone();
                true
            }
            _ => false,
        }
    }

    pub fn finish(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Drops the flows that have expired; returns how many.
    pub fn purge(&self, now: i64) -> u64 {
        let mut flows = self.lock();
        let before = flows.len();
        flows.retain(|_, f| f.expires_at > now);
        (before - flows.len()) as u64
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[async_trait]
impl FlowStore for SqliteStore {
    async fn create_flow(&self, flow: &LoginFlow) -> StoreResult<()> {
        self.inner.flows.create(flow)
    }

    async fn flow(&self, id: &str, now: i64) -> StoreResult<Option<LoginFlow>> {
        Ok(self.inner.flows.get(id, now))
    }

    async fn advance_flow(&self, flow: &LoginFlow, from_step: &str) -> StoreResult<bool> {
        Ok(self.inner.flows.advance(flow, from_step))
    }

    async fn finish_flow(&self, id: &str) -> StoreResult<bool> {
        Ok(self.inner.flows.finish(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::tests::flow_at as flow;

    #[test]
    fn a_flow_moves_one_step_at_a_time_and_ends_once() {
        let flows = MemoryFlows::default();
        let mut f = flow("a", 0, 600);
        flows.create(&f).unwrap();
        f.step = "otp".into();
        assert!(flows.advance(&f, "nnin"));
        // The same step submitted again (a double submit) finds the flow moved on.
        assert!(!flows.advance(&f, "nnin"));
        assert_eq!(flows.get("a", 1).unwrap().step, "otp");
        assert!(flows.finish("a"));
        assert!(!flows.finish("a"), "only one end");
        assert!(flows.get("a", 1).is_none());
        assert!(
            !flows.advance(&f, "otp"),
            "an ended flow does not come back"
        );
    }

    #[test]
    fn an_expired_flow_is_not_found_and_is_purged() {
        let flows = MemoryFlows::default();
        flows.create(&flow("old", 0, 100)).unwrap();
        flows.create(&flow("new", 0, 1000)).unwrap();
        assert!(flows.get("old", 100).is_none());
        assert_eq!(flows.purge(100), 1);
        assert_eq!(flows.len(), 1);
        assert!(flows.get("new", 100).is_some());
    }

    #[test]
    fn a_flow_id_is_never_taken_over() {
        let flows = MemoryFlows::default();
        flows.create(&flow("a", 0, 600)).unwrap();
        let mut other = flow("a", 0, 600);
        other.browser_hash = "attacker".into();
        assert!(!flows.create(&other).unwrap_err().is_full());
        assert_eq!(flows.get("a", 1).unwrap().browser_hash, "browser");
    }

    #[test]
    fn beyond_the_bound_new_flows_are_refused_until_old_ones_expire() {
        let flows = MemoryFlows::default();
        assert_eq!(flows.max.load(Ordering::Relaxed), MAX_FLOWS);
        flows.set_max(500);
        for i in 0..500 {
            flows.create(&flow(&i.to_string(), 0, 600)).unwrap();
        }
        let refused = flows.create(&flow("one more", 10, 610)).unwrap_err();
        assert!(refused.is_full(), "{refused}");
        // The ones in progress are all still there.
        assert!(flows.get("0", 10).is_some());
        // Once they have expired, a new login starts (and the expired are dropped).
        flows.create(&flow("later", 600, 1200)).unwrap();
        assert_eq!(flows.len(), 1);
    }

    #[test]
    fn a_full_map_is_swept_at_most_once_a_second() {
        let flows = MemoryFlows::default();
        flows.set_max(2);
        flows.create(&flow("a", 0, 100)).unwrap();
        flows.create(&flow("b", 0, 200)).unwrap();
        // Full at second 100: the first request of that second sweeps ("a" has expired) and
        // gets the place.
        flows.create(&flow("c", 100, 700)).unwrap();
        assert_eq!(flows.len(), 2);
        // A flow that expires at once, let in past the bound for the test's sake.
        flows.set_max(3);
        flows.create(&flow("x", 100, 100)).unwrap();
        flows.set_max(2);
        // Later in the same second the full map is refused without another sweep.
        assert!(flows.create(&flow("d", 100, 700)).unwrap_err().is_full());
        assert_eq!(flows.len(), 3, "not swept again within the second");
        // A later second sweeps again: "x" and "b" (expired at 200) go, "e" comes in.
        flows.create(&flow("e", 200, 800)).unwrap();
        assert_eq!(flows.len(), 2);
        assert!(flows.get("c", 200).is_some() && flows.get("e", 200).is_some());
    }
}

//! Logins in progress, kept in the provider's memory rather than in the database: the
//! [`FlowStore`] the server is wired with today.
//!
//! A kept login flow (the iframe flow's) lives for minutes, changes at every step, and is read
//! and written by nothing but the server process that started it (the CLI never touches one).
//! Written to SQLite, flows were four of the nine row writes of a login and three of its
//! reads; in memory, a login was 17 to 34% more logins per second on the benchmark machine
//! (BENCHMARKS.md). What that gives up: a restart of the provider sends the users who were
//! in an iframe login back to the service to start again. Everything a login produces
//! (session, grant, code, tokens) is in the database, on disk before it is answered.
//!
//! A login by redirect is never kept here while it runs: it travels sealed in the address of
//! each of its pages (`login::seal`), so a flood of authorization requests keeps nothing. What
//! is kept for it is its end, until it would have expired, so that it ends once. The iframe
//! flow's logins are kept from the moment their single-use address is opened. Bounded: beyond
//! the configured number of logins kept, a new one is refused (`temporarily_unavailable`)
//! rather than pushing out one a person is in the middle of.
//!
//! One source (a network address) holds at most [`MAX_FLOWS_PER_SOURCE`] of them, so that one
//! machine cannot fill the store either.
//!
//! Sharded by flow id, so that concurrent logins rarely wait for one another's lock.

use crate::store::{FlowState, FlowStore, LoginFlow, Step, StoreError, StoreResult};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// Logins in progress one server keeps at most, unless told otherwise (a flow is about a
/// kilobyte and a half).
pub const MAX_FLOWS: usize = 20_000;

/// Logins in progress one source keeps at most, unless told otherwise: a tenth of the store,
/// far above what a test suite or a shared office address has in progress at once.
pub const MAX_FLOWS_PER_SOURCE: usize = MAX_FLOWS / 10;

const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    live: HashMap<String, LoginFlow>,
    /// Ended flows, until they would have expired: a sealed first page posted again after its
    /// login ended must not start that login again.
    ended: HashMap<String, i64>,
}

pub struct MemoryFlows {
    shards: [Mutex<Shard>; SHARDS],
    /// Live flows in all shards.
    live: AtomicUsize,
    max: AtomicUsize,
    max_per_source: AtomicUsize,
    /// Live flows per source, sharded by source like the flows by id.
    sources: [Mutex<HashMap<String, usize>>; SHARDS],
    /// The second of the last sweep for expired flows made because the store was full: a full
    /// store is swept at most once a second, not by every request refused meanwhile (each sweep
    /// walks every flow).
    full_sweep_at: AtomicI64,
}

impl Default for MemoryFlows {
    fn default() -> Self {
        MemoryFlows::new(MAX_FLOWS)
    }
}

impl MemoryFlows {
    pub fn new(max: usize) -> MemoryFlows {
        MemoryFlows {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            live: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
            max_per_source: AtomicUsize::new(MAX_FLOWS_PER_SOURCE.min(max)),
            sources: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            full_sweep_at: AtomicI64::new(i64::MIN),
        }
    }

    fn shard(&self, id: &str) -> std::sync::MutexGuard<'_, Shard> {
        // A panic while a shard was held cannot leave a flow half-written: every change is one
        // insert or remove.
        self.shards[shard_of(id)]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many logins in progress are kept at most; beyond it a new one is refused.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// How many logins in progress one source keeps at most.
    pub fn set_max_per_source(&self, max: usize) {
        self.max_per_source.store(max, Ordering::Relaxed);
    }

    fn sources(&self, source: &str) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.sources[shard_of(source)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a flow of `source` in, or refuses when the source holds its share.
    fn admit(&self, source: Option<&str>) -> StoreResult<()> {
        let Some(source) = source else {
            return Ok(());
        };
        let max = self.max_per_source.load(Ordering::Relaxed);
        let mut sources = self.sources(source);
        let held = sources.entry(source.to_owned()).or_default();
        if *held >= max {
            return Err(StoreError::full(format!(
                "{max} logins are in progress from one address, the most it may hold"
            )));
        }
        *held += 1;
        Ok(())
    }

    fn release(&self, flows: impl IntoIterator<Item = Option<String>>) {
        for source in flows.into_iter().flatten() {
            let mut sources = self.sources(&source);
            if let Some(held) = sources.get_mut(&source) {
                *held -= 1;
                if *held == 0 {
                    sources.remove(&source);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps a new flow; `Ok(false)` if its id is live or has ended.
    pub fn create(&self, flow: &LoginFlow) -> StoreResult<bool> {
        let max = self.max.load(Ordering::Relaxed);
        if self.live.load(Ordering::Relaxed) >= max {
            let now = flow.created_at.max(0);
            if self.full_sweep_at.swap(now, Ordering::Relaxed) != now {
                self.purge(now);
            }
            if self.live.load(Ordering::Relaxed) >= max {
                return Err(StoreError::full(format!(
                    "{max} logins are in progress, the most this provider keeps"
                )));
            }
        }
        let mut shard = self.shard(&flow.id);
        if shard.live.contains_key(&flow.id) || shard.ended.contains_key(&flow.id) {
            return Ok(false);
        }
        self.admit(flow.source.as_deref())?;
        shard.live.insert(flow.id.clone(), flow.clone());
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    pub fn get(&self, id: &str, now: i64) -> FlowState {
        let shard = self.shard(id);
        match shard.live.get(id) {
            Some(flow) if flow.expires_at > now => FlowState::Live(Box::new(flow.clone())),
            Some(_) => FlowState::Unknown,
            None if shard.ended.contains_key(id) => FlowState::Ended,
            None => FlowState::Unknown,
        }
    }

    /// Replaces the flow if it is still at `from_step`.
    pub fn advance(&self, flow: &LoginFlow, from_step: Step) -> bool {
        match self.shard(&flow.id).live.get_mut(&flow.id) {
            Some(current) if current.step == from_step => {
                *current = flow.clone();
                true
            }
            _ => false,
        }
    }

    /// Ends a flow, kept or not; only the call that ends it gets `true`.
    pub fn finish(&self, id: &str, expires_at: i64) -> bool {
        let mut shard = self.shard(id);
        if shard.ended.contains_key(id) {
            return false;
        }
        if let Some(flow) = shard.live.remove(id) {
            self.live.fetch_sub(1, Ordering::Relaxed);
            self.release([flow.source]);
        }
        shard.ended.insert(id.to_owned(), expires_at);
        true
    }

    /// Drops the flows (and the marks of ended ones) that have expired; returns how many flows.
    pub fn purge(&self, now: i64) -> u64 {
        let mut dropped = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let mut gone = Vec::new();
            shard.live.retain(|_, f| {
                let keep = f.expires_at > now;
                if !keep {
                    gone.push(f.source.take());
                }
                keep
            });
            shard.ended.retain(|_, expires_at| *expires_at > now);
            dropped += gone.len();
            self.release(gone);
        }
        self.live.fetch_sub(dropped, Ordering::Relaxed);
        dropped as u64
    }
}

/// The shard of a key. Flow ids end in random characters (see `secret::ordered_token`);
/// addresses differ in their last digits.
fn shard_of(key: &str) -> usize {
    key.bytes().rev().take(4).fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    }) % SHARDS
}

#[async_trait]
impl FlowStore for MemoryFlows {
    async fn create_flow(&self, flow: &LoginFlow) -> StoreResult<bool> {
        self.create(flow)
    }

    async fn flow(&self, id: &str, now: i64) -> StoreResult<FlowState> {
        Ok(self.get(id, now))
    }

    async fn advance_flow(&self, flow: &LoginFlow, from_step: Step) -> StoreResult<bool> {
        Ok(self.advance(flow, from_step))
    }

    async fn finish_flow(&self, id: &str, expires_at: i64) -> StoreResult<bool> {
        Ok(self.finish(id, expires_at))
    }

    async fn purge_expired_flows(&self, now: i64) -> StoreResult<u64> {
        Ok(self.purge(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::flow_at as flow;

    fn live(flows: &MemoryFlows, id: &str, now: i64) -> Option<LoginFlow> {
        match flows.get(id, now) {
            FlowState::Live(flow) => Some(*flow),
            _ => None,
        }
    }

    #[test]
    fn a_flow_moves_one_step_at_a_time_and_ends_once() {
        let flows = MemoryFlows::default();
        let mut f = flow("a", 0, 600);
        assert!(flows.create(&f).unwrap());
        f.step = Step::Otp;
        assert!(flows.advance(&f, Step::Nnin));
        // The same step submitted again (a double submit) finds the flow moved on.
        assert!(!flows.advance(&f, Step::Nnin));
        assert_eq!(live(&flows, "a", 1).unwrap().step, Step::Otp);
        assert!(flows.finish("a", 600));
        assert!(!flows.finish("a", 600), "only one end");
        assert_eq!(flows.get("a", 1), FlowState::Ended);
        assert!(
            !flows.advance(&f, Step::Otp),
            "an ended flow does not come back"
        );
        assert!(!flows.create(&f).unwrap(), "nor is it created again");
        assert!(flows.is_empty());
    }

    #[test]
    fn a_flow_never_kept_ends_once_too() {
        let flows = MemoryFlows::default();
        // A sealed first page answered at once (a consent allowed, a cancel): nothing was kept.
        assert!(flows.finish("sealed", 600));
        assert!(
            !flows.finish("sealed", 600),
            "a replayed post finds it ended"
        );
        assert!(!flows.create(&flow("sealed", 0, 600)).unwrap());
        // The mark goes when the flow would have expired.
        flows.purge(600);
        assert_eq!(flows.get("sealed", 600), FlowState::Unknown);
    }

    #[test]
    fn an_expired_flow_is_not_found_and_is_purged() {
        let flows = MemoryFlows::default();
        flows.create(&flow("old", 0, 100)).unwrap();
        flows.create(&flow("new", 0, 1000)).unwrap();
        assert_eq!(flows.get("old", 100), FlowState::Unknown);
        assert_eq!(flows.purge(100), 1);
        assert_eq!(flows.len(), 1);
        assert!(live(&flows, "new", 100).is_some());
    }

    #[test]
    fn a_flow_id_is_never_taken_over() {
        let flows = MemoryFlows::default();
        flows.create(&flow("a", 0, 600)).unwrap();
        let mut other = flow("a", 0, 600);
        other.browser_hash = crate::store::StoreKey::of("attacker");
        assert!(!flows.create(&other).unwrap());
        assert_eq!(
            live(&flows, "a", 1).unwrap().browser_hash,
            crate::store::StoreKey::of("browser")
        );
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
        assert!(live(&flows, "0", 10).is_some());
        // Once they have expired, a new login starts (and the expired are dropped).
        flows.create(&flow("later", 600, 1200)).unwrap();
        assert_eq!(flows.len(), 1);
    }

    #[test]
    fn a_full_store_is_swept_at_most_once_a_second() {
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
        // Later in the same second the full store is refused without another sweep.
        assert!(flows.create(&flow("d", 100, 700)).unwrap_err().is_full());
        assert_eq!(flows.len(), 3, "not swept again within the second");
        // A later second sweeps again: "x" and "b" (expired at 200) go, "e" comes in.
        flows.create(&flow("e", 200, 800)).unwrap();
        assert_eq!(flows.len(), 2);
        assert!(live(&flows, "c", 200).is_some() && live(&flows, "e", 200).is_some());
    }

    #[test]
    fn one_source_holds_a_bounded_share_and_gets_it_back() {
        let flows = MemoryFlows::default();
        flows.set_max_per_source(3);
        let from = |id: &str, source: &str, expires_at: i64| {
            let mut f = flow(id, 0, expires_at);
            f.source = Some(source.into());
            f
        };
        for i in 0..3 {
            flows
                .create(&from(&format!("a{i}"), "10.0.0.1", 600))
                .unwrap();
        }
        let refused = flows.create(&from("a3", "10.0.0.1", 600)).unwrap_err();
        assert!(refused.is_full(), "{refused}");
        // Others are not affected, nor are flows whose source the server does not know.
        flows.create(&from("b0", "10.0.0.2", 600)).unwrap();
        flows.create(&flow("c0", 0, 600)).unwrap();
        // An ended flow gives its place back, and so does an expired one.
        assert!(flows.finish("a0", 600));
        flows.create(&from("a4", "10.0.0.1", 100)).unwrap();
        assert!(flows.create(&from("a5", "10.0.0.1", 600)).is_err());
        flows.purge(100);
        flows.create(&from("a5", "10.0.0.1", 600)).unwrap();
        assert_eq!(flows.sources("10.0.0.1").get("10.0.0.1"), Some(&3));
    }

    #[test]
    fn flows_spread_over_the_shards() {
        let flows = MemoryFlows::default();
        for _ in 0..256 {
            let id = crate::secret::ordered_token();
            flows.create(&flow(&id, 0, 600)).unwrap();
        }
        let used = flows
            .shards
            .iter()
            .filter(|s| !s.lock().unwrap().live.is_empty())
            .count();
        assert!(used >= SHARDS / 2, "{used} of {SHARDS} shards used");
    }
}

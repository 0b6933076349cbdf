//! Logins in progress in the database, so that each step of one login may land on another
//! instance (the in-memory `MemoryFlows` belongs to one process). A login by redirect is
//! written here only when it ends (its state travels sealed in its pages' addresses,
//! `login::seal`): one row per ended login, so that it ends once. The iframe flow's logins are
//! kept here from the moment their page opens.
//!
//! The table is UNLOGGED (migrations/postgres/0001_schema.sql): a crash of the database loses
//! the logins between two pages, the promise the in-memory store makes for a restart of the
//! provider, and a step's write skips the write-ahead log and its fsync. Each change is one
//! conditional statement: a step moves a flow only from the step it was read at, and only the
//! call that ends a flow is told it did.
//!
//! Bounded as the in-memory store is: in all ([`crate::store::flows::MAX_FLOWS`]) and per
//! source (a network address, [`crate::store::flows::MAX_FLOWS_PER_SOURCE`]), a first page
//! beyond the bound is refused. Both counts come from one scan of the index of live flows, at
//! most the bound of entries, so they cost little while few logins are in progress. A step
//! changes no indexed value (a HOT update), so that index holds one entry per kept flow and one
//! dead one per ended flow until vacuum: with `step` in its predicate instead of `live`, every
//! step left a dead entry and the count was a third of the database's time in a login.
//! They are taken before the insert, not with it: instances creating flows at the same moment
//! may each pass at the bound, so it can be exceeded by as many as create at once.

use super::rows::get;
use super::{PgStore, err, execute, query_opt};
use crate::store::flows::{MAX_FLOWS, MAX_FLOWS_PER_SOURCE};
use crate::store::*;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Marks flow `$first` ended until `$first + 1` (its expiry), kept or not: the one statement
/// that finds it live or absent returns a row, so only one call ends a flow. Used alone
/// (`finish_flow`) and as the first part of a login's end (`PgStore::complete_login_ending`),
/// where `only_if` names the part whose row it needs (a check that passed).
pub(super) fn end_flow_sql(first: usize, only_if: Option<&str>) -> String {
    let (id, expires_at) = (first, first + 1);
    let values = format!("${id}::text, FALSE, NULL, NULL, NULL, ${expires_at}::bigint");
    let source = match only_if {
        Some(part) => format!("SELECT {values} FROM {part}"),
        None => format!("VALUES ({values})"),
    };
    format!(
        "INSERT INTO login_flows (id, live, step, flow, source, expires_at) {source}
         ON CONFLICT (id) DO UPDATE SET live = FALSE, step = NULL, flow = NULL,
             source = NULL, expires_at = EXCLUDED.expires_at
             WHERE login_flows.live
         RETURNING 1"
    )
}

/// Logins in progress in PostgreSQL, over the store's pool.
pub struct PgFlows {
    store: PgStore,
    max: AtomicUsize,
    max_per_source: AtomicUsize,
    recent: Mutex<Recent>,
}

/// What this instance counted in the second `at`, plus the flows it kept since: a first page
/// far from both bounds (under half of each) is kept without counting again in that second.
/// The count walks the index of live flows, which holds a dead entry per login ended since
/// the last vacuum: counted at every login, it was most of the database's time in a login
/// (BENCHMARKS.md). Near a bound every first page is counted, so the bound holds as exactly as
/// the count; far from it, what other instances kept within the second goes unseen.
#[derive(Default)]
struct Recent {
    at: i64,
    live: i64,
    /// Per source, for the sources counted in that second.
    sources: HashMap<String, i64>,
}

impl Recent {
    /// Whether a first page from `source` at `now` may skip the count.
    fn far_from_bounds(&self, now: i64, source: Option<&str>, max: i64, per_source: i64) -> bool {
        self.at == now
            && self.live * 2 < max
            && source.is_none_or(|s| self.sources.get(s).is_some_and(|n| n * 2 < per_source))
    }

    fn counted(&mut self, now: i64, live: i64, source: Option<&str>, held: i64) {
        if self.at != now {
            self.sources.clear();
            self.at = now;
        }
        self.live = live;
        if let Some(source) = source {
            self.sources.insert(source.to_owned(), held);
        }
    }

    fn kept(&mut self, now: i64, source: Option<&str>) {
        if self.at == now {
            self.live += 1;
            if let Some(n) = source.and_then(|s| self.sources.get_mut(s)) {
                *n += 1;
            }
        }
    }
}

impl PgFlows {
    pub fn new(store: &PgStore) -> PgFlows {
        PgFlows {
            store: store.clone(),
            max: AtomicUsize::new(MAX_FLOWS),
            max_per_source: AtomicUsize::new(MAX_FLOWS_PER_SOURCE),
            recent: Mutex::new(Recent::default()),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many logins in progress are kept at most; beyond it a new one is refused.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// How many logins are in progress (kept and not expired) at `now`.
    pub async fn len(&self, now: i64) -> StoreResult<usize> {
        let row = query_opt(
            &self.store.conn().await?,
            "SELECT count(*) FROM login_flows WHERE live AND expires_at > $1",
            &[&now],
        )
        .await?;
        Ok(row.map(|r| get::<i64>(&r, 0)).transpose()?.unwrap_or(0) as usize)
    }

    /// How many logins in progress one source keeps at most.
    pub fn set_max_per_source(&self, max: usize) {
        self.max_per_source.store(max, Ordering::Relaxed);
    }

    /// Counts the live flows, in all and of the flow's source, and refuses a flow beyond
    /// either bound. One scan (at most `max` entries) counts both: past `max` in all the flow
    /// is refused anyway, so the source's count below it is exact.
    async fn check_bounds(
        &self,
        conn: &deadpool_postgres::Object,
        flow: &LoginFlow,
        max: i64,
        max_per_source: i64,
    ) -> StoreResult<()> {
        let held = query_opt(
            conn,
            "SELECT count(*), count(*) FILTER (WHERE source = $3)
             FROM (SELECT source FROM login_flows WHERE live AND expires_at > $1 LIMIT $2) live",
            &[&flow.created_at, &max, &flow.source],
        )
        .await?
        .ok_or_else(|| err("no count of logins in progress"))?;
        let (live, from_source) = (get::<i64>(&held, 0)?, get::<i64>(&held, 1)?);
        self.recent()
            .counted(flow.created_at, live, flow.source.as_deref(), from_source);
        if live >= max {
            return Err(StoreError::full(format!(
                "{max} logins are in progress, the most this provider keeps"
            )));
        }
        if flow.source.is_some() && from_source >= max_per_source {
            return Err(StoreError::full(format!(
                "{max_per_source} logins are in progress from one address, the most it may hold"
            )));
        }
        Ok(())
    }
}

fn step_name(step: Step) -> StoreResult<String> {
    match serde_json::to_value(step).map_err(err)? {
        serde_json::Value::String(name) => Ok(name),
        other => Err(err(format!("a step serialized as {other}"))),
    }
}

#[async_trait]
impl FlowStore for PgFlows {
    async fn create_flow(&self, flow: &LoginFlow) -> StoreResult<bool> {
        let conn = self.store.conn().await?;
        let max = self.max.load(Ordering::Relaxed) as i64;
        let max_per_source = self.max_per_source.load(Ordering::Relaxed) as i64;
        let (now, source) = (flow.created_at, flow.source.as_deref());
        if !self
            .recent()
            .far_from_bounds(now, source, max, max_per_source)
        {
            self.check_bounds(&conn, flow, max, max_per_source).await?;
        }
        let json = serde_json::to_string(flow).map_err(err)?;
        // The primary key decides: a first page posted twice (or to two instances) keeps one
        // flow, and an ended flow's id stays taken until it would have expired.
        let n = execute(
            &conn,
            "INSERT INTO login_flows (id, live, step, flow, source, expires_at)
             VALUES ($1, TRUE, $2, $3, $4, $5)
             ON CONFLICT (id) DO NOTHING",
            &[
                &flow.id,
                &step_name(flow.step)?,
                &json,
                &flow.source,
                &flow.expires_at,
            ],
        )
        .await?;
        if n == 1 {
            self.recent().kept(now, source);
        }
        Ok(n == 1)
    }

    async fn flow(&self, id: &str, now: i64) -> StoreResult<FlowState> {
        let row = query_opt(
            &self.store.conn().await?,
            "SELECT flow, expires_at FROM login_flows WHERE id = $1",
            &[&id],
        )
        .await?;
        let Some(row) = row else {
            return Ok(FlowState::Unknown);
        };
        let flow: Option<String> = get(&row, 0)?;
        let expires_at: i64 = get(&row, 1)?;
        Ok(match flow {
            None => FlowState::Ended,
            Some(_) if expires_at <= now => FlowState::Unknown,
            Some(json) => FlowState::Live(Box::new(serde_json::from_str(&json).map_err(err)?)),
        })
    }

    async fn advance_flow(&self, flow: &LoginFlow, from_step: Step) -> StoreResult<bool> {
        let json = serde_json::to_string(flow).map_err(err)?;
        let n = execute(
            &self.store.conn().await?,
            "UPDATE login_flows SET step = $2, flow = $3, expires_at = $4
             WHERE id = $1 AND live AND step = $5",
            &[
                &flow.id,
                &step_name(flow.step)?,
                &json,
                &flow.expires_at,
                &step_name(from_step)?,
            ],
        )
        .await?;
        Ok(n == 1)
    }

    async fn finish_flow(&self, id: &str, expires_at: i64) -> StoreResult<bool> {
        // Kept or not (a first page's flow travels sealed): either way its id is marked ended,
        // by the one statement that finds it live or absent.
        let sql = end_flow_sql(1, None);
        let row = query_opt(&self.store.conn().await?, &sql, &[&id, &expires_at]).await?;
        Ok(row.is_some())
    }

    async fn finish_flow_completing(
        &self,
        id: &str,
        expires_at: i64,
        completion: &Completion,
        check: Option<&EndCheck<'_>>,
        _store: &dyn Store,
    ) -> StoreResult<Ending> {
        // The check, the flow's end and the login's rows in one statement of this database (the
        // store's): a round trip and a transaction fewer per login than the end after it, one
        // more for the check's read, and no flow ended without its code.
        self.store
            .complete_login_ending(completion, Some((id, expires_at)), check)
            .await
    }

    async fn purge_expired_flows(&self, now: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let n = execute(
                &self.store.conn().await?,
                "DELETE FROM login_flows WHERE ctid = ANY(ARRAY(
                   SELECT ctid FROM login_flows WHERE expires_at <= $1 LIMIT 2000))",
                &[&now],
            )
            .await?;
            deleted += n;
            if n < 2000 {
                return Ok(deleted);
            }
        }
    }
}

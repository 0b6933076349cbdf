//! Deleting what has expired: on one instance at a time (a session advisory lock, tried, not
//! waited for), in small batches, each its own short statement, so no lock is held for long.

use super::{PgStore, execute, query_opt};
use crate::store::*;
use async_trait::async_trait;

/// (table, whether its rows are kept `keep` seconds past expiry), children before the grants
/// they hang on: the SQLite store's list (`store/sqlite/housekeeping.rs`).
const EXPIRING: [(&str, bool); 11] = [
    ("sessions", false),
    ("pushed_requests", true),
    ("authorization_codes", true),
    ("access_tokens", true),
    ("refresh_tokens", true),
    ("client_jwt_jtis", false),
    ("revoked_machine_tokens", false),
    ("permissions", true),
    ("app_requests", true),
    ("permission_nonces", false),
    ("ciba_requests", true),
];

/// Rows one statement deletes at most.
const PURGE_CHUNK: i64 = 2_000;

const PURGE_GRANTS: &str = "DELETE FROM grants WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM grants g WHERE g.created_at <= $1
         AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.grant_id = g.id)
         AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.grant_id = g.id)
         AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = g.id)
       LIMIT $2))";

const LOCK: &str =
    "SELECT pg_try_advisory_lock(hashtext('bankid-oidc housekeeping ' || current_schema()))";
const UNLOCK: &str =
    "SELECT pg_advisory_unlock(hashtext('bankid-oidc housekeeping ' || current_schema()))";

#[async_trait]
impl Housekeeping for PgStore {
    async fn purge_expired(&self, now: i64, keep: i64) -> StoreResult<u64> {
        let conn = self.conn().await?;
        let locked = query_opt(&conn, LOCK, &[])
            .await?
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false);
        if !locked {
            // Another instance is at it.
            return Ok(0);
        }
        let purged = purge(&conn, now, keep).await;
        // The lock belongs to the connection: released even when a batch failed, before the
        // connection goes back to the pool.
        let unlocked = query_opt(&conn, UNLOCK, &[]).await;
        let purged = purged?;
        unlocked?;
        Ok(purged)
    }

    async fn ping(&self) -> StoreResult<()> {
        query_opt(&self.conn().await?, "SELECT 1", &[]).await?;
        Ok(())
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        Some(self.status())
    }
}

async fn purge(conn: &deadpool_postgres::Object, now: i64, keep: i64) -> StoreResult<u64> {
    let statements = EXPIRING
        .iter()
        .map(|(table, kept)| {
            (
                format!(
                    "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM {table} WHERE expires_at <= $1 LIMIT $2))"
                ),
                if *kept { now - keep } else { now },
            )
        })
        .chain(std::iter::once((PURGE_GRANTS.to_owned(), now - keep)));
    let mut deleted = 0;
    for (sql, before) in statements {
        loop {
            let n = execute(conn, &sql, &[&before, &PURGE_CHUNK]).await?;
            deleted += n;
            if (n as i64) < PURGE_CHUNK {
                break;
            }
        }
    }
    Ok(deleted)
}

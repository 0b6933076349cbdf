//! Deleting what has expired, in chunks; the readiness check's round trip.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::params;

/// (table, whether its rows are kept `keep` seconds past expiry), children before the grants
/// they hang on.
const EXPIRING: [(&str, bool); 12] = [
    ("sessions", false),
    ("pushed_requests", true),
    ("authorization_codes", true),
    ("access_tokens", true),
    ("refresh_tokens", true),
    ("client_assertion_jtis", false),
    ("request_object_jtis", false),
    ("revoked_machine_tokens", false),
    // A permission and its app request stay a day past their end, so the grant can be read.
    ("permissions", true),
    ("app_requests", true),
    ("permission_nonces", false),
    // Kept a while past expiry, so that a late poll is told expired_token, not invalid_grant.
    ("ciba_requests", true),
];

/// Rows one housekeeping write deletes at most: the writer serves logins between two of them.
pub(super) const PURGE_CHUNK: i64 = 2_000;

const PURGE_GRANTS: &str = "DELETE FROM grants WHERE rowid IN (
       SELECT rowid FROM grants WHERE created_at <= ?1
         AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.grant_id = grants.id)
         AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.grant_id = grants.id)
         AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id)
       LIMIT ?2)";

#[async_trait]
impl Housekeeping for SqliteStore {
    async fn purge_expired(&self, now: i64, keep: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        let statements = EXPIRING
            .iter()
            .map(|(table, kept)| {
                (
                    format!(
                        "DELETE FROM {table} WHERE rowid IN
                           (SELECT rowid FROM {table} WHERE expires_at <= ?1 LIMIT ?2)"
                    ),
                    if *kept { now - keep } else { now },
                )
            })
            .chain(std::iter::once((PURGE_GRANTS.to_owned(), now - keep)));
        for (sql, before) in statements {
            loop {
                let sql = sql.clone();
                let n = self
                    .write(move |conn| {
                        conn.prepare_cached(&sql)?
                            .execute(params![before, PURGE_CHUNK])
                    })
                    .await?;
                deleted += n as u64;
                if (n as i64) < PURGE_CHUNK {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    /// A round trip through the writer rather than a read: reads run in this process on pooled
    /// connections and answer even when nothing can be written (another process holding the
    /// write lock, a disk that does not finish a sync, the writer thread gone), and every login
    /// writes. The empty transaction writes no page and syncs nothing.
    async fn ping(&self) -> StoreResult<()> {
        self.write(|conn| conn.prepare_cached("SELECT 1")?.query_row([], |_| Ok(())))
            .await
    }
}

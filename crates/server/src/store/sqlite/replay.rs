//! One-time `jti`s of client-signed JWTs.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl ReplayStore for SqliteStore {
    async fn record_client_jwt_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let (client_id, jti) = (client_id.to_owned(), jti.to_owned());
        // The table is named after the first kind it held; request objects' jtis are kept in it
        // too (request_object_jtis is no longer written).
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM client_assertion_jtis WHERE expires_at <= ?")?
                .execute([now])?;
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO client_assertion_jtis (client_id, jti, expires_at)
                     VALUES (?, ?, ?)",
                )?
                .execute(params![client_id, jti, expires_at])?;
            Ok(inserted == 1)
        })
        .await
    }
}

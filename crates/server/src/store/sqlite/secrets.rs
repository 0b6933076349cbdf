//! Provider secrets, made once by whichever process gets there first.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl SecretStore for SqliteStore {
    async fn provider_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let (name, fresh) = (name.to_owned(), fresh.to_vec());
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO provider_secrets (name, value) VALUES (?, ?)",
            )?
            .execute(params![name, fresh])?;
            conn.prepare_cached("SELECT value FROM provider_secrets WHERE name = ?")?
                .query_row([&name], |r| r.get(0))
        })
        .await
    }
}

//! The keys clients encrypt request objects to.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl EncryptionKeyStore for SqliteStore {
    async fn encryption_keys(&self) -> StoreResult<Vec<StoredEncryptionKey>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT kid, alg, private_pkcs8, created_at FROM encryption_keys
                 ORDER BY created_at, kid",
            )?
            .query_map([], |r| {
                Ok(StoredEncryptionKey {
                    kid: r.get(0)?,
                    alg: r.get(1)?,
                    private_pkcs8: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    async fn add_encryption_key(&self, key: &StoredEncryptionKey) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO encryption_keys (kid, alg, private_pkcs8, created_at) VALUES (?, ?, ?, ?)",
            )?
            .execute(params![key.kid, key.alg, key.private_pkcs8, key.created_at])?;
            Ok(())
        })
        .await
    }
}

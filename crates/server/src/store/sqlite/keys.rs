//! Signing keys and their rotation schedule, one key set at a time (`signing_keys.key_set`).

use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self, set: KeySet) -> StoreResult<Vec<StoredSigningKey>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM signing_keys WHERE key_set = ? ORDER BY created_at, kid",
                rows::SIGNING_KEY
            ))?
            .query_map([set.as_str()], rows::signing_key)?
            .collect()
        })
    }

    async fn add_signing_key(&self, set: KeySet, key: &StoredSigningKey) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO signing_keys (kid, alg, private_pkcs8, public_jwk, state, created_at,
                     activate_at, retire_at, key_set)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                key.kid,
                key.alg,
                key.private_pkcs8,
                key.public_jwk,
                key.state,
                key.created_at,
                key.activate_at,
                key.retire_at,
                set.as_str()
            ])?;
            Ok(())
        })
        .await
    }

    async fn apply_key_schedule(
        &self,
        set: KeySet,
        now: i64,
        retire_after: i64,
    ) -> StoreResult<bool> {
        let set = set.as_str();
        self.write(move |conn| {
            let due: Option<String> = conn
                .prepare_cached(
                    "SELECT kid FROM signing_keys
                     WHERE key_set = ? AND state = 'next' AND activate_at <= ?
                     ORDER BY activate_at DESC, kid LIMIT 1",
                )?
                .query_row(params![set, now], |r| r.get(0))
                .optional()?;
            let mut changed = false;
            if let Some(kid) = due {
                conn.prepare_cached(
                    "UPDATE signing_keys SET state = 'retiring', retire_at = ?
                     WHERE key_set = ? AND state = 'active'",
                )?
                .execute(params![now + retire_after, set])?;
                conn.prepare_cached("UPDATE signing_keys SET state = 'active' WHERE kid = ?")?
                    .execute([&kid])?;
                changed = true;
            }
            let removed = conn
                .prepare_cached(
                    "DELETE FROM signing_keys
                     WHERE key_set = ? AND state = 'retiring' AND retire_at IS NOT NULL
                         AND retire_at <= ?",
                )?
                .execute(params![set, now])?;
            Ok(changed || removed > 0)
        })
        .await
    }

    async fn key_version(&self, set: KeySet) -> StoreResult<String> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT COALESCE(group_concat(kid || ':' || state, ','), '')
                 FROM (SELECT kid, state FROM signing_keys WHERE key_set = ? ORDER BY kid)",
            )?
            .query_row([set.as_str()], |r| r.get(0))
        })
    }
}

//! Signing keys and their rotation schedule.

use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM signing_keys ORDER BY created_at, kid",
                rows::SIGNING_KEY
            ))?
            .query_map([], rows::signing_key)?
            .collect()
        })
    }

    async fn add_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO signing_keys (kid, alg, private_pkcs8, public_jwk, state, created_at,
                     activate_at, retire_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                key.kid,
                key.alg,
                key.private_pkcs8,
                key.public_jwk,
                key.state,
                key.created_at,
                key.activate_at,
                key.retire_at
            ])?;
            Ok(())
        })
        .await
    }

    async fn apply_key_schedule(&self, now: i64, retire_after: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            let due: Option<String> = conn
                .prepare_cached(
                    "SELECT kid FROM signing_keys WHERE state = 'next' AND activate_at <= ?
                     ORDER BY activate_at DESC, kid LIMIT 1",
                )?
                .query_row([now], |r| r.get(0))
                .optional()?;
            let mut changed = false;
            if let Some(kid) = due {
                conn.prepare_cached(
                    "UPDATE signing_keys SET state = 'retiring', retire_at = ? WHERE state = 'active'",
                )?
                .execute([now + retire_after])?;
                conn.prepare_cached("UPDATE signing_keys SET state = 'active' WHERE kid = ?")?
                    .execute([&kid])?;
                changed = true;
            }
            let removed = conn
                .prepare_cached(
                    "DELETE FROM signing_keys
                     WHERE state = 'retiring' AND retire_at IS NOT NULL AND retire_at <= ?",
                )?
                .execute([now])?;
            Ok(changed || removed > 0)
        })
        .await
    }

    async fn key_version(&self) -> StoreResult<String> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT COALESCE(group_concat(kid || ':' || state, ','), '')
                 FROM (SELECT kid, state FROM signing_keys ORDER BY kid)",
            )?
            .query_row([], |r| r.get(0))
        })
    }
}

//! Signing keys with their rotation schedule, and the request-object encryption keys.
//!
//! The schedule is applied by whichever instance comes first: under an advisory lock per key
//! set, so two instances never promote two keys; the others find nothing due. Every instance
//! reloads its keys when `key_version` changes (`keys.rs`), so all of them sign with the same
//! active key within one schedule period.

use super::{PgStore, err, execute, query, query_opt, rows};
use crate::store::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;

/// One instance at a time changes a key set, until the transaction ends.
async fn lock_key_set(tx: &impl GenericClient, set: &str) -> StoreResult<()> {
    query_opt(
        tx,
        "SELECT pg_advisory_xact_lock(hashtext('bankid-oidc keys ' || current_schema() || $1))",
        &[&set],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self, set: KeySet) -> StoreResult<Vec<StoredSigningKey>> {
        let sql = format!(
            "SELECT {} FROM signing_keys WHERE key_set = $1 ORDER BY created_at, kid",
            rows::SIGNING_KEY
        );
        query(&self.conn().await?, &sql, &[&set.as_str()])
            .await?
            .iter()
            .map(rows::signing_key)
            .collect()
    }

    async fn add_signing_key(&self, set: KeySet, key: &StoredSigningKey) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        lock_key_set(&tx, set.as_str()).await?;
        // An active key is added only to a set without one: two instances starting together
        // on a new database both try to make the first key, and the second one's is dropped
        // (each reads the set back after adding, so both sign with the first).
        execute(
            &tx,
            "INSERT INTO signing_keys (kid, alg, private_pkcs8, public_jwk, state, created_at,
                 activate_at, retire_at, key_set)
             SELECT $1::text, $2::text, $3::bytea, $4::text, $5::text, $6::bigint, $7::bigint,
                 $8::bigint, $9::text
             WHERE $5 <> 'active' OR NOT EXISTS
                 (SELECT 1 FROM signing_keys WHERE key_set = $9 AND state = 'active')",
            &[
                &key.kid,
                &key.alg,
                &key.private_pkcs8,
                &key.public_jwk,
                &key.state,
                &key.created_at,
                &key.activate_at,
                &key.retire_at,
                &set.as_str(),
            ],
        )
        .await?;
        tx.commit().await.map_err(err)
    }

    async fn apply_key_schedule(
        &self,
        set: KeySet,
        now: i64,
        retire_after: i64,
    ) -> StoreResult<bool> {
        let set = set.as_str();
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        lock_key_set(&tx, set).await?;
        let due = query_opt(
            &tx,
            "SELECT kid FROM signing_keys
             WHERE key_set = $1 AND state = 'next' AND activate_at <= $2
             ORDER BY activate_at DESC, kid LIMIT 1",
            &[&set, &now],
        )
        .await?;
        let mut changed = false;
        if let Some(row) = due {
            let kid: String = rows::get(&row, 0)?;
            execute(
                &tx,
                "UPDATE signing_keys SET state = 'retiring', retire_at = $1
                 WHERE key_set = $2 AND state = 'active'",
                &[&(now + retire_after), &set],
            )
            .await?;
            execute(
                &tx,
                "UPDATE signing_keys SET state = 'active' WHERE kid = $1",
                &[&kid],
            )
            .await?;
            changed = true;
        }
        let removed = execute(
            &tx,
            "DELETE FROM signing_keys
             WHERE key_set = $1 AND state = 'retiring' AND retire_at IS NOT NULL
               AND retire_at <= $2",
            &[&set, &now],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(changed || removed > 0)
    }

    async fn key_version(&self, set: KeySet) -> StoreResult<String> {
        let row = query_opt(
            &self.conn().await?,
            "SELECT COALESCE(string_agg(kid || ':' || state, ',' ORDER BY kid), '')
             FROM signing_keys WHERE key_set = $1",
            &[&set.as_str()],
        )
        .await?
        .ok_or_else(|| err("no key version"))?;
        rows::get(&row, 0)
    }
}

#[async_trait]
impl EncryptionKeyStore for PgStore {
    async fn encryption_keys(&self) -> StoreResult<Vec<StoredEncryptionKey>> {
        query(
            &self.conn().await?,
            "SELECT kid, alg, private_pkcs8, created_at FROM encryption_keys
             ORDER BY created_at, kid",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(StoredEncryptionKey {
                kid: rows::get(r, 0)?,
                alg: rows::get(r, 1)?,
                private_pkcs8: rows::get(r, 2)?,
                created_at: rows::get(r, 3)?,
            })
        })
        .collect()
    }

    async fn add_encryption_key(&self, key: &StoredEncryptionKey) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        lock_key_set(&tx, "encryption").await?;
        // One key per algorithm: the keys are made once, on a new database, and two instances
        // starting together must publish the same ones (each reads them back after adding).
        execute(
            &tx,
            "INSERT INTO encryption_keys (kid, alg, private_pkcs8, created_at)
             SELECT $1::text, $2::text, $3::bytea, $4::bigint
             WHERE NOT EXISTS (SELECT 1 FROM encryption_keys WHERE alg = $2)",
            &[&key.kid, &key.alg, &key.private_pkcs8, &key.created_at],
        )
        .await?;
        tx.commit().await.map_err(err)
    }
}

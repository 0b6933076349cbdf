//! Refresh tokens, grants and access tokens, one-time ids, pushed requests, keys, provider
//! secrets and housekeeping.

use super::logins::{insert_access_token, insert_refresh_token};
use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

#[async_trait]
impl RefreshTokenStore for SqliteStore {
    async fn refresh_token(&self, token: &StoreKey) -> StoreResult<Option<RefreshTokenState>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM refresh_tokens r
                 WHERE r.token_hash = ? AND (SELECT 1 FROM grants WHERE id = r.grant_id)",
                rows::REFRESH
            ))?
            .query_row([token], rows::refresh)
            .optional()
        })
    }

    async fn exchange_refresh_token(
        &self,
        token: &StoreKey,
        now: i64,
        grace: i64,
        successor: &RefreshToken,
        access: &AccessTokenRecord,
    ) -> StoreResult<RefreshOutcome> {
        let (token_hash, successor, access) = (token.clone(), successor.clone(), access.clone());
        // The writer runs one write at a time: the checks and writes of two concurrent exchanges
        // cannot interleave.
        self.write(move |conn| {
            let first_use = conn
                .prepare_cached(
                    "UPDATE refresh_tokens SET used_at = ?1
                     WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
                       AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NULL)",
                )?
                .execute(params![now, token_hash])?;
            if first_use == 1 {
                insert_refresh_token(conn, &successor)?;
                insert_access_token(conn, &access)?;
                return Ok(RefreshOutcome::Rotated);
            }
            let found = conn
                .prepare_cached(
                    "SELECT r.used_at, r.grant_id, r.expires_at,
                        (SELECT revoked_at FROM grants WHERE id = r.grant_id),
                        (SELECT s.used_at IS NULL FROM refresh_tokens s
                          WHERE s.token_hash = ?2 AND s.parent_hash = r.token_hash)
                     FROM refresh_tokens r
                     WHERE r.token_hash = ?1 AND (SELECT 1 FROM grants WHERE id = r.grant_id)",
                )?
                .query_row(params![token_hash, successor.token_hash], |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Option<bool>>(4)?,
                    ))
                })
                .optional()?;
            let Some((used_at, grant_id, expires_at, revoked_at, successor_unused)) = found else {
                return Ok(RefreshOutcome::Invalid);
            };
            if revoked_at.is_some() || expires_at <= now {
                return Ok(RefreshOutcome::Invalid);
            }
            match used_at {
                Some(used) if now - used <= grace && successor_unused == Some(true) => {
                    insert_access_token(conn, &access)?;
                    Ok(RefreshOutcome::WithinGrace)
                }
                Some(_) => {
                    revoke_grant(conn, &grant_id, now)?;
                    Ok(RefreshOutcome::Reused)
                }
                None => Ok(RefreshOutcome::Invalid),
            }
        })
        .await
    }
}

fn revoke_grant(conn: &Connection, grant_id: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")?
        .execute(params![now, grant_id])?;
    Ok(())
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        let grant_id = grant_id.to_owned();
        self.write(move |conn| revoke_grant(conn, &grant_id, now))
            .await
    }

    async fn live_access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenRecord>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT t.jti, t.grant_id, t.client_id, t.issued_at, t.expires_at, t.token_hash,
                    (SELECT nnin_consent FROM grants WHERE id = t.grant_id)
                 FROM access_tokens t
                 WHERE t.jti = ? AND t.revoked_at IS NULL
                   AND (SELECT revoked_at IS NULL FROM grants WHERE id = t.grant_id)",
            )?
            .query_row([jti], |r| {
                Ok(AccessTokenRecord {
                    jti: r.get(0)?,
                    grant_id: r.get(1)?,
                    client_id: r.get(2)?,
                    issued_at: r.get(3)?,
                    expires_at: r.get(4)?,
                    token_hash: r.get(5)?,
                    nnin_consent: r.get(6)?,
                })
            })
            .optional()
        })
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()> {
        let jti = jti.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE access_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL",
            )?
            .execute(params![now, jti])?;
            Ok(())
        })
        .await
    }

    async fn revoke_machine_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        let (jti, client_id) = (jti.to_owned(), client_id.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM revoked_machine_tokens WHERE expires_at <= ?")?
                .execute([now])?;
            conn.prepare_cached(
                "INSERT OR IGNORE INTO revoked_machine_tokens (jti, client_id, expires_at)
                 VALUES (?, ?, ?)",
            )?
            .execute(params![jti, client_id, expires_at])?;
            Ok(())
        })
        .await
    }

    async fn machine_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        self.read(|conn| {
            conn.prepare_cached("SELECT 1 FROM revoked_machine_tokens WHERE jti = ?")?
                .exists([jti])
        })
    }
}

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

#[async_trait]
impl PushedRequestStore for SqliteStore {
    async fn push_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        request: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        let (hash, client_id, request) = (
            request_uri.clone(),
            client_id.to_owned(),
            request.to_owned(),
        );
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO pushed_requests (request_uri_hash, client_id, request, expires_at)
                 VALUES (?, ?, ?, ?)",
            )?
            .execute(params![hash, client_id, request, expires_at])?;
            Ok(())
        })
        .await
    }

    async fn take_pushed_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Taken> {
        let (hash, client_id) = (request_uri.clone(), client_id.to_owned());
        self.write(move |conn| {
            let taken: Option<String> = conn
                .prepare_cached(
                    "UPDATE pushed_requests SET used_at = ?3
                     WHERE request_uri_hash = ?1 AND client_id = ?2 AND used_at IS NULL
                       AND expires_at > ?3
                     RETURNING request",
                )?
                .query_row(params![hash, client_id, now], |r| r.get(0))
                .optional()?;
            if let Some(request) = taken {
                return Ok(Taken::Request(request));
            }
            let found = conn
                .prepare_cached(
                    "SELECT client_id, used_at FROM pushed_requests WHERE request_uri_hash = ?",
                )?
                .query_row([&hash], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            Ok(match found {
                None => Taken::Unknown,
                Some((owner, _)) if owner != client_id => Taken::OtherClient,
                Some((_, Some(_))) => Taken::Used,
                Some(_) => Taken::Expired,
            })
        })
        .await
    }
}

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

/// (table, whether its rows are kept `keep` seconds past expiry), children before the grants
/// they hang on.
const EXPIRING: [(&str, bool); 8] = [
    ("sessions", false),
    ("pushed_requests", true),
    ("authorization_codes", true),
    ("access_tokens", true),
    ("refresh_tokens", true),
    ("client_assertion_jtis", false),
    ("request_object_jtis", false),
    ("revoked_machine_tokens", false),
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
}

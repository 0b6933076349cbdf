//! Grants and the access and refresh tokens issued under them; machine token revocations.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn insert_access_token(
    conn: &Connection,
    t: &AccessTokenRecord,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO access_tokens (jti, grant_id, client_id, issued_at, expires_at, token_hash)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        t.jti,
        t.grant_id,
        t.client_id,
        t.issued_at,
        t.expires_at,
        t.token_hash
    ])?;
    Ok(())
}

pub(super) fn insert_refresh_token(conn: &Connection, t: &RefreshToken) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_tokens (token_hash, grant_id, parent_hash, client_id, user_id, scope,
             session_id, method, auth_time, api_version, issued_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        t.token_hash,
        t.grant_id,
        t.parent_hash,
        t.client_id,
        t.user_id,
        t.scope,
        t.session_id,
        t.method.hint(),
        t.auth_time,
        t.api_version,
        t.issued_at,
        t.expires_at
    ])?;
    Ok(())
}

pub(super) fn revoke_grant(conn: &Connection, grant_id: &str, now: i64) -> rusqlite::Result<()> {
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

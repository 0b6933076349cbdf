//! Refresh token exchange: rotation, the grace window, reuse detection.

use super::grants::{insert_access_token, insert_refresh_token, revoke_grant};
use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

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

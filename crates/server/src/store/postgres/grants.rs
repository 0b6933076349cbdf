//! Sessions, grants with their codes and tokens, refresh token exchange, pushed requests and
//! one-time `jti`s: each one-time thing consumed by one conditional statement, so that two
//! instances presented the same code, token or request at once give it to exactly one.

use super::{PgStore, err, execute, query_opt, rows};
use crate::store::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;

async fn insert_session(c: &impl GenericClient, s: &Session, cookie: &StoreKey) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO sessions (id, cookie_hash, user_id, method, auth_time, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &s.id,
            &cookie.as_str(),
            &s.user_id,
            &s.method.map(|m| m.hint()),
            &s.auth_time,
            &s.created_at,
            &s.expires_at,
        ],
    )
    .await?;
    Ok(())
}

async fn delete_session(c: &impl GenericClient, id: &str) -> StoreResult<()> {
    execute(c, "DELETE FROM sessions WHERE id = $1", &[&id]).await?;
    Ok(())
}

/// Stores a grant and its first code.
async fn insert_code(
    c: &impl GenericClient,
    code: &AuthorizationCode,
    grant_created_at: i64,
) -> StoreResult<()> {
    let offline = code.scope.split(' ').any(|s| s == "offline_access");
    execute(
        c,
        "INSERT INTO grants (id, client_id, user_id, session_id, offline, nnin_consent,
             authorization_details, created_at, issuer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &code.grant_id,
            &code.client_id,
            &code.user_id,
            &code.session_id,
            &offline,
            &code.terms.nnin_consent,
            &code.terms.authorization_details,
            &grant_created_at,
            &code.issuer,
        ],
    )
    .await?;
    execute(
        c,
        "INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri,
             code_challenge, nonce, scope, user_id, session_id, method, auth_time, api_version,
             issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &code.code_hash.as_str(),
            &code.grant_id,
            &code.client_id,
            &code.redirect_uri,
            &code.code_challenge,
            &code.nonce,
            &code.scope,
            &code.user_id,
            &code.session_id,
            &code.method.hint(),
            &code.auth_time,
            &i64::from(code.api_version),
            &code.issued_at,
            &code.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn insert_access_token(
    c: &impl GenericClient,
    t: &AccessTokenRecord,
) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO access_tokens (jti, grant_id, client_id, issued_at, expires_at, token_hash)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &t.jti,
            &t.grant_id,
            &t.client_id,
            &t.issued_at,
            &t.expires_at,
            &t.token_hash,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_refresh_token(c: &impl GenericClient, t: &RefreshToken) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO refresh_tokens (token_hash, grant_id, parent_hash, client_id, user_id, scope,
             session_id, method, auth_time, api_version, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &t.token_hash.as_str(),
            &t.grant_id,
            &t.parent_hash.as_ref().map(StoreKey::as_str),
            &t.client_id,
            &t.user_id,
            &t.scope,
            &t.session_id,
            &t.method.hint(),
            &t.auth_time,
            &i64::from(t.api_version),
            &t.issued_at,
            &t.expires_at,
        ],
    )
    .await?;
    Ok(())
}

async fn revoke_grant(c: &impl GenericClient, grant_id: &str, now: i64) -> StoreResult<()> {
    execute(
        c,
        "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        &[&now, &grant_id],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: &Session, cookie: &StoreKey) -> StoreResult<()> {
        insert_session(&self.conn().await?, s, cookie).await
    }

    async fn session_by_cookie(&self, cookie: &StoreKey, now: i64) -> StoreResult<Option<Session>> {
        let sql = format!(
            "SELECT {} FROM sessions WHERE cookie_hash = $1 AND expires_at > $2",
            rows::SESSION
        );
        let row = query_opt(&self.conn().await?, &sql, &[&cookie.as_str(), &now]).await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn replace_session(
        &self,
        old_id: &str,
        new: &Session,
        cookie: &StoreKey,
    ) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        delete_session(&tx, old_id).await?;
        insert_session(&tx, new, cookie).await?;
        tx.commit().await.map_err(err)
    }

    async fn end_session(&self, session_id: &str, now: i64) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        delete_session(&tx, session_id).await?;
        execute(
            &tx,
            "UPDATE grants SET revoked_at = $1
             WHERE session_id = $2 AND NOT offline AND revoked_at IS NULL",
            &[&now, &session_id],
        )
        .await?;
        tx.commit().await.map_err(err)
    }
}

#[async_trait]
impl CodeStore for PgStore {
    async fn issue_code(&self, c: &AuthorizationCode, grant_created_at: i64) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        insert_code(&tx, c, grant_created_at).await?;
        tx.commit().await.map_err(err)
    }

    async fn complete_login(&self, c: &Completion) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        if let Some(login) = &c.login {
            if let Some(replaced) = &login.replaced_session_id {
                delete_session(&tx, replaced).await?;
            }
            insert_session(&tx, &login.session, &login.cookie).await?;
        }
        insert_code(&tx, &c.code, c.grant_created_at).await?;
        tx.commit().await.map_err(err)
    }

    async fn code(&self, code: &StoreKey) -> StoreResult<Option<AuthorizationCode>> {
        let sql = format!(
            "SELECT {} FROM authorization_codes c JOIN grants g ON g.id = c.grant_id
             WHERE c.code_hash = $1",
            rows::CODE
        );
        let row = query_opt(&self.conn().await?, &sql, &[&code.as_str()]).await?;
        row.as_ref().map(rows::code).transpose()
    }

    async fn redeem_code(
        &self,
        code: &StoreKey,
        now: i64,
        issued: &Issued,
    ) -> StoreResult<Consumed> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        // The row lock decides: a second instance's UPDATE waits for this transaction and then
        // finds the code consumed.
        let consumed = execute(
            &tx,
            "UPDATE authorization_codes SET consumed_at = $1
             WHERE code_hash = $2 AND consumed_at IS NULL",
            &[&now, &code.as_str()],
        )
        .await?;
        if consumed == 0 {
            let exists = query_opt(
                &tx,
                "SELECT 1 FROM authorization_codes WHERE code_hash = $1",
                &[&code.as_str()],
            )
            .await?
            .is_some();
            return Ok(if exists {
                Consumed::AlreadyUsed
            } else {
                Consumed::Unknown
            });
        }
        insert_access_token(&tx, &issued.access).await?;
        if let Some(refresh) = &issued.refresh {
            insert_refresh_token(&tx, refresh).await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(Consumed::Fresh)
    }
}

#[async_trait]
impl RefreshTokenStore for PgStore {
    async fn refresh_token(&self, token: &StoreKey) -> StoreResult<Option<RefreshTokenState>> {
        let sql = format!(
            "SELECT {} FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
             WHERE r.token_hash = $1",
            rows::REFRESH
        );
        let row = query_opt(&self.conn().await?, &sql, &[&token.as_str()]).await?;
        row.as_ref().map(rows::refresh).transpose()
    }

    async fn exchange_refresh_token(
        &self,
        token: &StoreKey,
        now: i64,
        grace: i64,
        successor: &RefreshToken,
        access: &AccessTokenRecord,
    ) -> StoreResult<RefreshOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        // The first use takes the row's lock: a concurrent exchange of the same token waits for
        // this commit, then finds it used and goes down the grace or reuse path below.
        let first_use = execute(
            &tx,
            "UPDATE refresh_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
               AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NULL)",
            &[&now, &token.as_str()],
        )
        .await?;
        if first_use == 1 {
            insert_refresh_token(&tx, successor).await?;
            insert_access_token(&tx, access).await?;
            tx.commit().await.map_err(err)?;
            return Ok(RefreshOutcome::Rotated);
        }
        // FOR UPDATE: the grace decision and a reuse's revocation see the token as it stands,
        // not as another instance is changing it.
        let found = query_opt(
            &tx,
            "SELECT r.used_at, r.grant_id, r.expires_at, g.revoked_at,
                (SELECT s.used_at IS NULL FROM refresh_tokens s
                  WHERE s.token_hash = $2 AND s.parent_hash = r.token_hash)
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
             WHERE r.token_hash = $1
             FOR UPDATE OF r",
            &[&token.as_str(), &successor.token_hash.as_str()],
        )
        .await?;
        let Some(row) = found else {
            return Ok(RefreshOutcome::Invalid);
        };
        let used_at: Option<i64> = rows::get(&row, 0)?;
        let grant_id: String = rows::get(&row, 1)?;
        let expires_at: i64 = rows::get(&row, 2)?;
        let revoked_at: Option<i64> = rows::get(&row, 3)?;
        let successor_unused: Option<bool> = rows::get(&row, 4)?;
        if revoked_at.is_some() || expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        let outcome = match used_at {
            Some(used) if now - used <= grace && successor_unused == Some(true) => {
                insert_access_token(&tx, access).await?;
                RefreshOutcome::WithinGrace
            }
            Some(_) => {
                revoke_grant(&tx, &grant_id, now).await?;
                RefreshOutcome::Reused
            }
            None => RefreshOutcome::Invalid,
        };
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }
}

#[async_trait]
impl GrantStore for PgStore {
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        revoke_grant(&self.conn().await?, grant_id, now).await
    }

    async fn live_access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenRecord>> {
        let row = query_opt(
            &self.conn().await?,
            "SELECT t.jti, t.grant_id, t.client_id, t.issued_at, t.expires_at, t.token_hash,
                g.nnin_consent
             FROM access_tokens t JOIN grants g ON g.id = t.grant_id
             WHERE t.jti = $1 AND t.revoked_at IS NULL AND g.revoked_at IS NULL",
            &[&jti],
        )
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(AccessTokenRecord {
            jti: rows::get(&r, 0)?,
            grant_id: rows::get(&r, 1)?,
            client_id: rows::get(&r, 2)?,
            issued_at: rows::get(&r, 3)?,
            expires_at: rows::get(&r, 4)?,
            token_hash: rows::get(&r, 5)?,
            nnin_consent: rows::get(&r, 6)?,
        }))
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            "UPDATE access_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL",
            &[&now, &jti],
        )
        .await?;
        Ok(())
    }

    async fn revoke_machine_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        _now: i64,
    ) -> StoreResult<()> {
        // Expired revocations are deleted by housekeeping, not by every revocation.
        execute(
            &self.conn().await?,
            "INSERT INTO revoked_machine_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&jti, &client_id, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn machine_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        Ok(query_opt(
            &self.conn().await?,
            "SELECT 1 FROM revoked_machine_tokens WHERE jti = $1",
            &[&jti],
        )
        .await?
        .is_some())
    }
}

#[async_trait]
impl ReplayStore for PgStore {
    async fn record_client_jwt_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        // One statement: a new jti is inserted; a kept one is taken over only if it has
        // expired (the row's lock decides between two instances). No row back: a replay.
        let row = query_opt(
            &self.conn().await?,
            "INSERT INTO client_jwt_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
                 WHERE client_jwt_jtis.expires_at <= $4
             RETURNING 1",
            &[&client_id, &jti, &expires_at, &now],
        )
        .await?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl PushedRequestStore for PgStore {
    async fn push_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        request: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            "INSERT INTO pushed_requests (request_uri_hash, client_id, request, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&request_uri.as_str(), &client_id, &request, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Taken> {
        let conn = self.conn().await?;
        let taken = query_opt(
            &conn,
            "UPDATE pushed_requests SET used_at = $3
             WHERE request_uri_hash = $1 AND client_id = $2 AND used_at IS NULL
               AND expires_at > $3
             RETURNING request",
            &[&request_uri.as_str(), &client_id, &now],
        )
        .await?;
        if let Some(row) = taken {
            return Ok(Taken::Request(rows::get(&row, 0)?));
        }
        // Why not: read after the conditional write decided, so only the message depends on it.
        let found = query_opt(
            &conn,
            "SELECT client_id, used_at FROM pushed_requests WHERE request_uri_hash = $1",
            &[&request_uri.as_str()],
        )
        .await?;
        Ok(match found {
            None => Taken::Unknown,
            Some(r) if rows::get::<String>(&r, 0)? != client_id => Taken::OtherClient,
            Some(r) if rows::get::<Option<i64>>(&r, 1)?.is_some() => Taken::Used,
            Some(_) => Taken::Expired,
        })
    }
}

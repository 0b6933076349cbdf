//! Browser sessions, and the grants and codes a login ends with.

use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use bankid_oidc_core::acr::Method;
use rusqlite::{Connection, OptionalExtension, params};

fn insert_session(conn: &Connection, s: &Session, cookie: &StoreKey) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, cookie_hash, user_id, method, auth_time, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        s.id,
        cookie,
        s.user_id,
        s.method.map(Method::hint),
        s.auth_time,
        s.created_at,
        s.expires_at
    ])?;
    Ok(())
}

fn delete_session(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE id = ?")?
        .execute([id])?;
    Ok(())
}

/// Stores a grant and its first code.
fn insert_code(
    conn: &Connection,
    c: &AuthorizationCode,
    grant_created_at: i64,
) -> rusqlite::Result<()> {
    let offline = c.scope.split(' ').any(|s| s == "offline_access");
    conn.prepare_cached(
        "INSERT INTO grants (id, client_id, user_id, session_id, offline, nnin_consent,
             authorization_details, created_at, issuer)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        c.grant_id,
        c.client_id,
        c.user_id,
        c.session_id,
        offline,
        c.terms.nnin_consent,
        c.terms.authorization_details,
        grant_created_at,
        c.issuer
    ])?;
    conn.prepare_cached(
        "INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge,
             nonce, scope, user_id, session_id, method, auth_time, api_version, issued_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        c.code_hash,
        c.grant_id,
        c.client_id,
        c.redirect_uri,
        c.code_challenge,
        c.nonce,
        c.scope,
        c.user_id,
        c.session_id,
        c.method.hint(),
        c.auth_time,
        c.api_version,
        c.issued_at,
        c.expires_at
    ])?;
    Ok(())
}

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

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session, cookie: &StoreKey) -> StoreResult<()> {
        let (s, cookie) = (s.clone(), cookie.clone());
        self.write(move |conn| insert_session(conn, &s, &cookie))
            .await
    }

    async fn session_by_cookie(&self, cookie: &StoreKey, now: i64) -> StoreResult<Option<Session>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM sessions WHERE cookie_hash = ? AND expires_at > ?",
                rows::SESSION
            ))?
            .query_row(params![cookie, now], rows::session)
            .optional()
        })
    }

    async fn replace_session(
        &self,
        old_id: &str,
        new: &Session,
        cookie: &StoreKey,
    ) -> StoreResult<()> {
        let (old_id, new, cookie) = (old_id.to_owned(), new.clone(), cookie.clone());
        self.write(move |conn| {
            delete_session(conn, &old_id)?;
            insert_session(conn, &new, &cookie)
        })
        .await
    }

    async fn end_session(&self, session_id: &str, now: i64) -> StoreResult<()> {
        let session_id = session_id.to_owned();
        self.write(move |conn| {
            delete_session(conn, &session_id)?;
            conn.prepare_cached(
                "UPDATE grants SET revoked_at = ?
                 WHERE session_id = ? AND offline = 0 AND revoked_at IS NULL",
            )?
            .execute(params![now, session_id])?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl CodeStore for SqliteStore {
    async fn issue_code(&self, c: &AuthorizationCode, grant_created_at: i64) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |conn| insert_code(conn, &c, grant_created_at))
            .await
    }

    async fn complete_login(&self, c: &Completion) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |conn| {
            if let Some(login) = &c.login {
                if let Some(replaced) = &login.replaced_session_id {
                    delete_session(conn, replaced)?;
                }
                insert_session(conn, &login.session, &login.cookie)?;
            }
            insert_code(conn, &c.code, c.grant_created_at)
        })
        .await
    }

    async fn code(&self, code: &StoreKey) -> StoreResult<Option<AuthorizationCode>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM authorization_codes c
                 WHERE c.code_hash = ? AND (SELECT 1 FROM grants WHERE id = c.grant_id)",
                rows::CODE
            ))?
            .query_row([code], rows::code)
            .optional()
        })
    }

    async fn redeem_code(
        &self,
        code: &StoreKey,
        now: i64,
        issued: &Issued,
    ) -> StoreResult<Consumed> {
        let (code_hash, issued) = (code.clone(), issued.clone());
        self.write(move |conn| {
            let consumed = conn
                .prepare_cached(
                    "UPDATE authorization_codes SET consumed_at = ?
                     WHERE code_hash = ? AND consumed_at IS NULL",
                )?
                .execute(params![now, code_hash])?;
            if consumed == 0 {
                let exists = conn
                    .prepare_cached("SELECT 1 FROM authorization_codes WHERE code_hash = ?")?
                    .exists([&code_hash])?;
                return Ok(if exists {
                    Consumed::AlreadyUsed
                } else {
                    Consumed::Unknown
                });
            }
            insert_access_token(conn, &issued.access)?;
            if let Some(refresh) = &issued.refresh {
                insert_refresh_token(conn, refresh)?;
            }
            Ok(Consumed::Fresh)
        })
        .await
    }
}

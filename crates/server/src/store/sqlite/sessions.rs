//! Browser sessions.

use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn insert_session(
    conn: &Connection,
    s: &Session,
    cookie: &StoreKey,
) -> rusqlite::Result<()> {
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

pub(super) fn delete_session(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE id = ?")?
        .execute([id])?;
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

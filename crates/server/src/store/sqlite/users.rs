//! Test users and their lockout counts.

use super::{SqliteStore, insert_unique, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

pub(super) fn insert_user(conn: &rusqlite::Connection, u: &User) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO users (id, nnin, pid, given_name, family_name, birthdate, email, phone,
             address, otp, password, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        u.id,
        u.nnin,
        u.pid,
        u.given_name,
        u.family_name,
        u.birthdate,
        u.email,
        u.phone,
        u.address,
        u.otp,
        u.password,
        u.updated_at
    ])
}

/// Replaces a user's profile, one-time code and password (by id; the NNIN must match too, so a
/// user removed and added again meanwhile is not overwritten); the number of rows changed.
pub(super) fn update_user_profile(
    conn: &rusqlite::Connection,
    u: &User,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE users SET given_name = ?, family_name = ?, birthdate = ?, email = ?, phone = ?,
             address = ?, otp = ?, password = ?, updated_at = ?
         WHERE id = ? AND nnin = ?",
    )?
    .execute(params![
        u.given_name,
        u.family_name,
        u.birthdate,
        u.email,
        u.phone,
        u.address,
        u.otp,
        u.password,
        u.updated_at,
        u.id,
        u.nnin
    ])
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        self.read(|conn| {
            conn.prepare_cached(&format!("SELECT {} FROM users WHERE id = ?", rows::USER))?
                .query_row([id], rows::user)
                .optional()
        })
    }

    async fn user_by_nnin(&self, nnin: &str) -> StoreResult<Option<User>> {
        self.read(|conn| {
            conn.prepare_cached(&format!("SELECT {} FROM users WHERE nnin = ?", rows::USER))?
                .query_row([nnin], rows::user)
                .optional()
        })
    }

    async fn users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            conn.prepare_cached(&format!("SELECT {} FROM users WHERE phone = ?", rows::USER))?
                .query_map([phone], rows::user)?
                .collect()
        })
    }

    async fn add_user(&self, u: &User) -> StoreResult<bool> {
        let u = u.clone();
        self.write(move |conn| insert_unique(|| insert_user(conn, &u)))
            .await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM users ORDER BY family_name, given_name",
                rows::USER
            ))?
            .query_map([], rows::user)?
            .collect()
        })
    }

    async fn remove_user(&self, user_id: &str, now: i64) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            )?
            .execute(params![now, user_id])?;
            // Sessions go with the user (ON DELETE CASCADE); so do their app and its script.
            conn.prepare_cached("DELETE FROM app_requests WHERE user_id = ?")?
                .execute([&user_id])?;
            conn.prepare_cached("DELETE FROM app_scripts WHERE user_id = ?")?
                .execute([&user_id])?;
            conn.prepare_cached("DELETE FROM login_scripts WHERE user_id = ?")?
                .execute([&user_id])?;
            let removed = conn
                .prepare_cached("DELETE FROM users WHERE id = ?")?
                .execute([&user_id])?;
            Ok(removed == 1)
        })
        .await
    }

    async fn count_login_failure(
        &self,
        user_id: &str,
        now: i64,
        max_failures: i64,
        lock_seconds: i64,
    ) -> StoreResult<Attempt> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            // One statement, refused while the lock holds: the lock read here is the store's,
            // never a cached copy. The right-hand sides see the row as it was.
            let counted = conn
                .prepare_cached(
                    "UPDATE users SET
                         failed_attempts = CASE WHEN locked_until IS NOT NULL THEN 1
                                                ELSE failed_attempts + 1 END,
                         locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1
                                                        ELSE failed_attempts + 1 END) >= ?2
                                             THEN ?1 + ?3 END
                     WHERE id = ?4 AND (locked_until IS NULL OR locked_until <= ?1)
                     RETURNING failed_attempts, locked_until",
                )?
                .query_row(params![now, max_failures, lock_seconds, user_id], |r| {
                    Ok(Attempt::Counted {
                        failed_attempts: r.get(0)?,
                        locked_until: r.get(1)?,
                    })
                })
                .optional()?;
            Ok(counted.unwrap_or(Attempt::Refused))
        })
        .await
    }

    async fn accept_login_secret(
        &self,
        user_id: &str,
        now: i64,
        clear_all: bool,
    ) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            // A write even when nothing changes: it takes its place in the writer's order, after
            // the failures counted before it. A lock that has run out starts the count again.
            let accepted = conn
                .prepare_cached(
                    "UPDATE users SET
                         failed_attempts = CASE WHEN ?3 OR locked_until IS NOT NULL THEN 0
                                                ELSE failed_attempts END,
                         locked_until = NULL
                     WHERE id = ?1 AND (locked_until IS NULL OR locked_until <= ?2)",
                )?
                .execute(params![user_id, now, clear_all])?;
            Ok(accepted == 1)
        })
        .await
    }

    async fn unlock_user(&self, user_id: &str) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?1",
                )?
                .execute(params![user_id])?;
            Ok(changed == 1)
        })
        .await
    }
}

//! Scripted outcomes of a test user's next realm login.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl LoginScriptStore for SqliteStore {
    async fn set_login_script(
        &self,
        user_id: &str,
        script: Option<LoginScript>,
    ) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            if !super::user_exists(conn, &user_id)? {
                return Ok(false);
            }
            match script {
                Some(s) => conn
                    .prepare_cached(
                        "INSERT INTO login_scripts (user_id, outcome) VALUES (?1, ?2)
                         ON CONFLICT (user_id) DO UPDATE SET outcome = ?2",
                    )?
                    .execute(params![user_id, s.as_str()])?,
                None => conn
                    .prepare_cached("DELETE FROM login_scripts WHERE user_id = ?")?
                    .execute([&user_id])?,
            };
            Ok(true)
        })
        .await
    }

    async fn login_script(&self, user_id: &str) -> StoreResult<Option<LoginScript>> {
        self.read(|conn| {
            let outcome: Option<String> = conn
                .prepare_cached("SELECT outcome FROM login_scripts WHERE user_id = ?")?
                .query_row([user_id], |r| r.get(0))
                .optional()?;
            Ok(outcome.as_deref().and_then(LoginScript::parse))
        })
    }

    async fn take_login_script(&self, user_id: &str) -> StoreResult<Option<LoginScript>> {
        // Every login asks; almost none has a script. A read skips the writer then (a script
        // set meanwhile is one set just after this login); the take itself decides nothing
        // from this read.
        if self.login_script(user_id).await?.is_none() {
            return Ok(None);
        }
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            // One statement: the row goes to the one login that deletes it.
            let outcome: Option<String> = conn
                .prepare_cached("DELETE FROM login_scripts WHERE user_id = ? RETURNING outcome")?
                .query_row([&user_id], |r| r.get(0))
                .optional()?;
            Ok(outcome.as_deref().and_then(LoginScript::parse))
        })
        .await
    }
}

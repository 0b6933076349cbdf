//! Permissions, the app's requests and the users' scripted answers (BankID with biometrics).

use super::rows::json;
use super::{SqliteStore, insert_unique};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

const PERMISSION: &str = "id, client_id, type, loa, permission, digest, nonce, intents, \
     login_hint_nnin, acr_values, binding_message, iat, expires_at, created_at, token_used_at, \
     app_request_id, grant_jwt";

fn permission(row: &Row) -> rusqlite::Result<Permission> {
    Ok(Permission {
        id: row.get(0)?,
        client_id: row.get(1)?,
        type_: row.get(2)?,
        loa: row.get(3)?,
        permission: row.get(4)?,
        digest: row.get(5)?,
        nonce: row.get(6)?,
        intents: json(row, 7)?,
        login_hint_nnin: row.get(8)?,
        acr_values: json(row, 9)?,
        binding_message: row.get(10)?,
        iat: row.get(11)?,
        expires_at: row.get(12)?,
        created_at: row.get(13)?,
        token_used_at: row.get(14)?,
        app_request_id: row.get(15)?,
        grant_jwt: row.get(16)?,
    })
}

const APP_REQUEST: &str = "id, user_id, client_id, client_name, binding_message, permission_id, \
     content, created_at, expires_at, answer, answered_at, script, script_at";

fn app_request(row: &Row) -> rusqlite::Result<AppRequest> {
    let answer: Option<String> = row.get(9)?;
    let script: Option<String> = row.get(11)?;
    let script_at: Option<i64> = row.get(12)?;
    Ok(AppRequest {
        id: row.get(0)?,
        user_id: row.get(1)?,
        client_id: row.get(2)?,
        client_name: row.get(3)?,
        binding_message: row.get(4)?,
        permission_id: row.get(5)?,
        content: row.get(6)?,
        created_at: row.get(7)?,
        expires_at: row.get(8)?,
        answer: answer.as_deref().and_then(AppAnswer::parse),
        answered_at: row.get(10)?,
        script: script.as_deref().and_then(AppScript::parse).zip(script_at),
    })
}

#[async_trait]
impl PermissionStore for SqliteStore {
    async fn add_permission(
        &self,
        permission: &Permission,
        nonce_expires_at: i64,
    ) -> StoreResult<bool> {
        let p = permission.clone();
        self.write(move |conn| {
            if let Some(nonce) = &p.nonce {
                let fresh = insert_unique(|| {
                    conn.prepare_cached(
                        "INSERT INTO permission_nonces (client_id, nonce, expires_at)
                         VALUES (?, ?, ?)",
                    )?
                    .execute(params![p.client_id, nonce, nonce_expires_at])
                })?;
                if !fresh {
                    return Ok(false);
                }
            }
            conn.prepare_cached(&format!(
                "INSERT INTO permissions ({PERMISSION})
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))?
            .execute(params![
                p.id,
                p.client_id,
                p.type_,
                p.loa,
                p.permission,
                p.digest,
                p.nonce,
                serde_json::to_string(&p.intents).expect("strings serialize"),
                p.login_hint_nnin,
                serde_json::to_string(&p.acr_values).expect("strings serialize"),
                p.binding_message,
                p.iat,
                p.expires_at,
                p.created_at,
                p.token_used_at,
                p.app_request_id,
                p.grant_jwt,
            ])?;
            Ok(true)
        })
        .await
    }

    async fn permission(&self, id: &str) -> StoreResult<Option<Permission>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {PERMISSION} FROM permissions WHERE id = ?"
            ))?
            .query_row([id], permission)
            .optional()
        })
    }

    async fn use_permission(
        &self,
        id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<PermissionTaken> {
        let (id, client_id) = (id.to_owned(), client_id.to_owned());
        self.write(move |conn| {
            let taken = conn
                .prepare_cached(&format!(
                    "UPDATE permissions SET token_used_at = ?3
                     WHERE id = ?1 AND client_id = ?2 AND token_used_at IS NULL
                       AND expires_at > ?3
                     RETURNING {PERMISSION}"
                ))?
                .query_row(params![id, client_id, now], permission)
                .optional()?;
            if let Some(p) = taken {
                return Ok(PermissionTaken::Taken(Box::new(p)));
            }
            let found = conn
                .prepare_cached("SELECT client_id, token_used_at FROM permissions WHERE id = ?")?
                .query_row([&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            Ok(match found {
                None => PermissionTaken::Unknown,
                Some((owner, _)) if owner != client_id => PermissionTaken::OtherClient,
                Some((_, Some(_))) => PermissionTaken::Used,
                Some(_) => PermissionTaken::Expired,
            })
        })
        .await
    }

    async fn link_app_request(&self, permission_id: &str, request_id: &str) -> StoreResult<bool> {
        let (permission_id, request_id) = (permission_id.to_owned(), request_id.to_owned());
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE permissions SET app_request_id = ?2
                     WHERE id = ?1 AND app_request_id IS NULL",
                )?
                .execute(params![permission_id, request_id])?;
            Ok(n == 1)
        })
        .await
    }

    async fn keep_grant(
        &self,
        permission_id: &str,
        grant_jwt: &str,
    ) -> StoreResult<Option<String>> {
        let (permission_id, grant_jwt) = (permission_id.to_owned(), grant_jwt.to_owned());
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE permissions SET grant_jwt = coalesce(grant_jwt, ?2) WHERE id = ?1
                 RETURNING grant_jwt",
            )?
            .query_row(params![permission_id, grant_jwt], |r| r.get(0))
            .optional()
        })
        .await
    }
}

#[async_trait]
impl AppRequestStore for SqliteStore {
    async fn create_app_request(&self, request: &AppRequest) -> StoreResult<()> {
        let r = request.clone();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO app_requests ({APP_REQUEST})
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))?
            .execute(params![
                r.id,
                r.user_id,
                r.client_id,
                r.client_name,
                r.binding_message,
                r.permission_id,
                r.content,
                r.created_at,
                r.expires_at,
                r.answer.map(AppAnswer::as_str),
                r.answered_at,
                r.script.map(|(s, _)| s.as_str()),
                r.script.map(|(_, at)| at),
            ])?;
            Ok(())
        })
        .await
    }

    async fn app_request(&self, id: &str) -> StoreResult<Option<AppRequest>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {APP_REQUEST} FROM app_requests WHERE id = ?"
            ))?
            .query_row([id], app_request)
            .optional()
        })
    }

    async fn app_requests_of(&self, user_id: &str, now: i64) -> StoreResult<Vec<AppRequest>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {APP_REQUEST} FROM app_requests
                 WHERE user_id = ? AND expires_at > ? ORDER BY created_at, id LIMIT 100"
            ))?
            .query_map(params![user_id, now], app_request)?
            .collect()
        })
    }

    async fn answer_app_request(
        &self,
        id: &str,
        user_id: &str,
        answer: AppAnswer,
        now: i64,
    ) -> StoreResult<bool> {
        let (id, user_id) = (id.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE app_requests SET answer = ?3, answered_at = ?4
                     WHERE id = ?1 AND user_id = ?2 AND answer IS NULL AND expires_at > ?4
                       AND (script_at IS NULL OR script_at > ?4)",
                )?
                .execute(params![id, user_id, answer.as_str(), now])?;
            Ok(n == 1)
        })
        .await
    }

    async fn app_script(&self, user_id: &str) -> StoreResult<Option<AppScripted>> {
        self.read(|conn| {
            let row: Option<(String, i64)> = conn
                .prepare_cached("SELECT answer, delay FROM app_scripts WHERE user_id = ?")?
                .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(row.and_then(|(answer, delay)| {
                AppScript::parse(&answer).map(|answer| AppScripted { answer, delay })
            }))
        })
    }

    async fn set_app_script(
        &self,
        user_id: &str,
        script: Option<AppScripted>,
    ) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            if !super::user_exists(conn, &user_id)? {
                return Ok(false);
            }
            write_app_script(conn, &user_id, script)?;
            Ok(true)
        })
        .await
    }
}

/// Sets (or with `None` clears) a user's scripted app answer.
pub(super) fn write_app_script(
    conn: &rusqlite::Connection,
    user_id: &str,
    script: Option<AppScripted>,
) -> rusqlite::Result<()> {
    match script {
        Some(s) => conn
            .prepare_cached(
                "INSERT INTO app_scripts (user_id, answer, delay) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id) DO UPDATE SET answer = ?2, delay = ?3",
            )?
            .execute(params![user_id, s.answer.as_str(), s.delay])?,
        None => conn
            .prepare_cached("DELETE FROM app_scripts WHERE user_id = ?")?
            .execute([user_id])?,
    };
    Ok(())
}

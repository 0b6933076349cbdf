//! Authorization codes and the grants they start; a login's end in one transaction.

use super::grants::{insert_access_token, insert_refresh_token};
use super::sessions::{delete_session, insert_session};
use super::{SqliteStore, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

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

    async fn code_with_user(
        &self,
        code: &StoreKey,
    ) -> StoreResult<Option<(AuthorizationCode, Option<User>)>> {
        self.read(|conn| {
            let Some(record) = conn
                .prepare_cached(&format!(
                    "SELECT {} FROM authorization_codes c
                     WHERE c.code_hash = ? AND (SELECT 1 FROM grants WHERE id = c.grant_id)",
                    rows::CODE
                ))?
                .query_row([code], rows::code)
                .optional()?
            else {
                return Ok(None);
            };
            let user = conn
                .prepare_cached(&format!("SELECT {} FROM users WHERE id = ?", rows::USER))?
                .query_row([&record.user_id], rows::user)
                .optional()?;
            Ok(Some((record, user)))
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

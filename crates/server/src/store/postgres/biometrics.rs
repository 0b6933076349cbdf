//! Permissions, the app's requests, the users' scripted answers and CIBA requests (BankID with
//! biometrics): each answer, use and poll one conditional statement.

use super::grants::insert_access_token;
use super::rows::{get, json, key};
use super::{PgStore, err, execute, query, query_opt, user_exists};
use crate::store::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

const PERMISSION: &str = "id, client_id, type, loa, permission, digest, nonce, intents, \
     login_hint_nnin, acr_values, binding_message, iat, expires_at, created_at, token_used_at, \
     app_request_id, grant_jwt";

fn permission(row: &Row) -> StoreResult<Permission> {
    Ok(Permission {
        id: get(row, 0)?,
        client_id: get(row, 1)?,
        type_: get(row, 2)?,
        loa: get(row, 3)?,
        permission: get(row, 4)?,
        digest: get(row, 5)?,
        nonce: get(row, 6)?,
        intents: json(row, 7)?,
        login_hint_nnin: get(row, 8)?,
        acr_values: json(row, 9)?,
        binding_message: get(row, 10)?,
        iat: get(row, 11)?,
        expires_at: get(row, 12)?,
        created_at: get(row, 13)?,
        token_used_at: get(row, 14)?,
        app_request_id: get(row, 15)?,
        grant_jwt: get(row, 16)?,
    })
}

const APP_REQUEST: &str = "id, user_id, client_id, client_name, binding_message, permission_id, \
     content, created_at, expires_at, answer, answered_at, script, script_at";

fn app_request(row: &Row) -> StoreResult<AppRequest> {
    let answer: Option<String> = get(row, 9)?;
    let script: Option<String> = get(row, 11)?;
    let script_at: Option<i64> = get(row, 12)?;
    Ok(AppRequest {
        id: get(row, 0)?,
        user_id: get(row, 1)?,
        client_id: get(row, 2)?,
        client_name: get(row, 3)?,
        binding_message: get(row, 4)?,
        permission_id: get(row, 5)?,
        content: get(row, 6)?,
        created_at: get(row, 7)?,
        expires_at: get(row, 8)?,
        answer: answer.as_deref().and_then(AppAnswer::parse),
        answered_at: get(row, 10)?,
        script: script.as_deref().and_then(AppScript::parse).zip(script_at),
    })
}

const CIBA: &str = "request_key, issuer, client_id, user_id, app_request_id, scope, interval, \
     created_at, expires_at, last_polled_at, redeemed_at";

fn ciba_request(row: &Row) -> StoreResult<CibaRequest> {
    Ok(CibaRequest {
        key: key(row, 0)?,
        issuer: get(row, 1)?,
        client_id: get(row, 2)?,
        user_id: get(row, 3)?,
        app_request_id: get(row, 4)?,
        scope: get(row, 5)?,
        interval: get(row, 6)?,
        created_at: get(row, 7)?,
        expires_at: get(row, 8)?,
        last_polled_at: get(row, 9)?,
        redeemed_at: get(row, 10)?,
    })
}

#[async_trait]
impl PermissionStore for PgStore {
    async fn add_permission(
        &self,
        permission: &Permission,
        nonce_expires_at: i64,
    ) -> StoreResult<bool> {
        let p = permission;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        if let Some(nonce) = &p.nonce {
            // The primary key decides between two instances: the second insert waits for the
            // first and then does nothing. Returning before the commit rolls back.
            let fresh = execute(
                &tx,
                "INSERT INTO permission_nonces (client_id, nonce, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&p.client_id, nonce, &nonce_expires_at],
            )
            .await?;
            if fresh == 0 {
                return Ok(false);
            }
        }
        let intents = serde_json::to_string(&p.intents).map_err(err)?;
        let acr_values = serde_json::to_string(&p.acr_values).map_err(err)?;
        execute(
            &tx,
            &format!(
                "INSERT INTO permissions ({PERMISSION})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ),
            &[
                &p.id,
                &p.client_id,
                &p.type_,
                &p.loa,
                &p.permission,
                &p.digest,
                &p.nonce,
                &intents,
                &p.login_hint_nnin,
                &acr_values,
                &p.binding_message,
                &p.iat,
                &p.expires_at,
                &p.created_at,
                &p.token_used_at,
                &p.app_request_id,
                &p.grant_jwt,
            ],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn permission(&self, id: &str) -> StoreResult<Option<Permission>> {
        let sql = format!("SELECT {PERMISSION} FROM permissions WHERE id = $1");
        let row = query_opt(&self.conn().await?, &sql, &[&id]).await?;
        row.as_ref().map(permission).transpose()
    }

    async fn use_permission(
        &self,
        id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<PermissionTaken> {
        let conn = self.conn().await?;
        let sql = format!(
            "UPDATE permissions SET token_used_at = $3
             WHERE id = $1 AND client_id = $2 AND token_used_at IS NULL AND expires_at > $3
             RETURNING {PERMISSION}"
        );
        if let Some(row) = query_opt(&conn, &sql, &[&id, &client_id, &now]).await? {
            return Ok(PermissionTaken::Taken(Box::new(permission(&row)?)));
        }
        let found = query_opt(
            &conn,
            "SELECT client_id, token_used_at FROM permissions WHERE id = $1",
            &[&id],
        )
        .await?;
        Ok(match found {
            None => PermissionTaken::Unknown,
            Some(r) if get::<String>(&r, 0)? != client_id => PermissionTaken::OtherClient,
            Some(r) if get::<Option<i64>>(&r, 1)?.is_some() => PermissionTaken::Used,
            Some(_) => PermissionTaken::Expired,
        })
    }

    async fn link_app_request(&self, permission_id: &str, request_id: &str) -> StoreResult<bool> {
        let n = execute(
            &self.conn().await?,
            "UPDATE permissions SET app_request_id = $2 WHERE id = $1 AND app_request_id IS NULL",
            &[&permission_id, &request_id],
        )
        .await?;
        Ok(n == 1)
    }

    async fn keep_grant(
        &self,
        permission_id: &str,
        grant_jwt: &str,
    ) -> StoreResult<Option<String>> {
        // The first grant kept is the one every reader, on every instance, gets.
        let row = query_opt(
            &self.conn().await?,
            "UPDATE permissions SET grant_jwt = coalesce(grant_jwt, $2) WHERE id = $1
             RETURNING grant_jwt",
            &[&permission_id, &grant_jwt],
        )
        .await?;
        row.map(|r| get(&r, 0)).transpose()
    }
}

#[async_trait]
impl AppRequestStore for PgStore {
    async fn create_app_request(&self, r: &AppRequest) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            &format!(
                "INSERT INTO app_requests ({APP_REQUEST})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &r.id,
                &r.user_id,
                &r.client_id,
                &r.client_name,
                &r.binding_message,
                &r.permission_id,
                &r.content,
                &r.created_at,
                &r.expires_at,
                &r.answer.map(AppAnswer::as_str),
                &r.answered_at,
                &r.script.map(|(s, _)| s.as_str()),
                &r.script.map(|(_, at)| at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn app_request(&self, id: &str) -> StoreResult<Option<AppRequest>> {
        let sql = format!("SELECT {APP_REQUEST} FROM app_requests WHERE id = $1");
        let row = query_opt(&self.conn().await?, &sql, &[&id]).await?;
        row.as_ref().map(app_request).transpose()
    }

    async fn app_requests_of(&self, user_id: &str, now: i64) -> StoreResult<Vec<AppRequest>> {
        let sql = format!(
            "SELECT {APP_REQUEST} FROM app_requests
             WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id LIMIT 100"
        );
        query(&self.conn().await?, &sql, &[&user_id, &now])
            .await?
            .iter()
            .map(app_request)
            .collect()
    }

    async fn answer_app_request(
        &self,
        id: &str,
        user_id: &str,
        answer: AppAnswer,
        now: i64,
    ) -> StoreResult<bool> {
        let n = execute(
            &self.conn().await?,
            "UPDATE app_requests SET answer = $3, answered_at = $4
             WHERE id = $1 AND user_id = $2 AND answer IS NULL AND expires_at > $4
               AND (script_at IS NULL OR script_at > $4)",
            &[&id, &user_id, &answer.as_str(), &now],
        )
        .await?;
        Ok(n == 1)
    }

    async fn app_script(&self, user_id: &str) -> StoreResult<Option<AppScripted>> {
        let row = query_opt(
            &self.conn().await?,
            "SELECT answer, delay FROM app_scripts WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
        let Some(r) = row else { return Ok(None) };
        let answer: String = get(&r, 0)?;
        let delay: i64 = get(&r, 1)?;
        Ok(AppScript::parse(&answer).map(|answer| AppScripted { answer, delay }))
    }

    async fn set_app_script(
        &self,
        user_id: &str,
        script: Option<AppScripted>,
    ) -> StoreResult<bool> {
        let conn = self.conn().await?;
        if !user_exists(&conn, user_id).await? {
            return Ok(false);
        }
        write_app_script(&conn, user_id, script).await?;
        Ok(true)
    }
}

/// Sets (or with `None` clears) a user's scripted app answer.
pub(super) async fn write_app_script(
    c: &impl GenericClient,
    user_id: &str,
    script: Option<AppScripted>,
) -> StoreResult<()> {
    match script {
        Some(s) => {
            execute(
                c,
                "INSERT INTO app_scripts (user_id, answer, delay) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET answer = EXCLUDED.answer,
                     delay = EXCLUDED.delay",
                &[&user_id, &s.answer.as_str(), &s.delay],
            )
            .await?
        }
        None => execute(c, "DELETE FROM app_scripts WHERE user_id = $1", &[&user_id]).await?,
    };
    Ok(())
}

#[async_trait]
impl CibaStore for PgStore {
    async fn add_ciba_request(&self, r: &CibaRequest) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            &format!(
                "INSERT INTO ciba_requests ({CIBA})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &[
                &r.key.as_str(),
                &r.issuer,
                &r.client_id,
                &r.user_id,
                &r.app_request_id,
                &r.scope,
                &r.interval,
                &r.created_at,
                &r.expires_at,
                &r.last_polled_at,
                &r.redeemed_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn poll_ciba_request(
        &self,
        key: &StoreKey,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
    ) -> StoreResult<Polled> {
        let conn = self.conn().await?;
        // SET reads the row as it was: whether this poll is too early, the interval it grows
        // to, and this poll's time are decided together, under the row's lock.
        let sql = format!(
            "UPDATE ciba_requests SET
                 too_early = (last_polled_at IS NOT NULL AND $3 - last_polled_at < interval),
                 interval = interval + CASE
                     WHEN last_polled_at IS NOT NULL AND $3 - last_polled_at < interval
                     THEN $4::bigint ELSE 0 END,
                 last_polled_at = $3
             WHERE request_key = $1 AND client_id = $2 AND redeemed_at IS NULL
               AND expires_at > $3
             RETURNING {CIBA}, too_early"
        );
        let polled = query_opt(
            &conn,
            &sql,
            &[&key.as_str(), &client_id, &now, &slow_down_step],
        )
        .await?;
        if let Some(row) = polled {
            let request = ciba_request(&row)?;
            let too_early: bool = get(&row, 11)?;
            return Ok(if too_early {
                Polled::TooEarly {
                    interval: request.interval,
                }
            } else {
                Polled::OnTime(Box::new(request))
            });
        }
        let sql = format!("SELECT {CIBA} FROM ciba_requests WHERE request_key = $1");
        let found = query_opt(&conn, &sql, &[&key.as_str()]).await?;
        Ok(match found.as_ref().map(ciba_request).transpose()? {
            None => Polled::Unknown,
            Some(r) if r.client_id != client_id => Polled::OtherClient,
            Some(r) if r.redeemed_at.is_some() => Polled::Redeemed,
            Some(_) => Polled::Expired,
        })
    }

    async fn redeem_ciba_request(
        &self,
        key: &StoreKey,
        now: i64,
        grant: &CibaGrant,
        issued: &Issued,
    ) -> StoreResult<CibaRedeemed> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        let sql = format!(
            "UPDATE ciba_requests SET redeemed_at = $2
             WHERE request_key = $1 AND redeemed_at IS NULL
             RETURNING {CIBA}"
        );
        let Some(row) = query_opt(&tx, &sql, &[&key.as_str(), &now]).await? else {
            return Ok(CibaRedeemed::AlreadyRedeemed);
        };
        let request = ciba_request(&row)?;
        execute(
            &tx,
            "INSERT INTO grants (id, client_id, user_id, session_id, offline, nnin_consent,
                 created_at, issuer)
             VALUES ($1, $2, $3, $4, FALSE, FALSE, $5, $6)",
            &[
                &grant.grant_id,
                &request.client_id,
                &request.user_id,
                &grant.session_id,
                &now,
                &request.issuer,
            ],
        )
        .await?;
        insert_access_token(&tx, &issued.access).await?;
        tx.commit().await.map_err(err)?;
        Ok(CibaRedeemed::Fresh)
    }
}

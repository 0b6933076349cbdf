//! CIBA requests: polled with one conditional write, redeemed with their grant and tokens in
//! one transaction.

use super::SqliteStore;
use super::grants::insert_access_token;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

const CIBA: &str = "request_key, issuer, client_id, user_id, app_request_id, scope, interval, \
     created_at, expires_at, last_polled_at, redeemed_at";

fn ciba_request(row: &Row) -> rusqlite::Result<CibaRequest> {
    Ok(CibaRequest {
        key: row.get(0)?,
        issuer: row.get(1)?,
        client_id: row.get(2)?,
        user_id: row.get(3)?,
        app_request_id: row.get(4)?,
        scope: row.get(5)?,
        interval: row.get(6)?,
        created_at: row.get(7)?,
        expires_at: row.get(8)?,
        last_polled_at: row.get(9)?,
        redeemed_at: row.get(10)?,
    })
}

#[async_trait]
impl CibaStore for SqliteStore {
    async fn add_ciba_request(&self, r: &CibaRequest) -> StoreResult<()> {
        let r = r.clone();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO ciba_requests ({CIBA}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))?
            .execute(params![
                r.key,
                r.issuer,
                r.client_id,
                r.user_id,
                r.app_request_id,
                r.scope,
                r.interval,
                r.created_at,
                r.expires_at,
                r.last_polled_at,
                r.redeemed_at
            ])?;
            Ok(())
        })
        .await
    }

    async fn poll_ciba_request(
        &self,
        key: &StoreKey,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
    ) -> StoreResult<Polled> {
        let (key, client_id) = (key.clone(), client_id.to_owned());
        self.write(move |conn| {
            // SET reads the row as it was: whether this poll is too early, the interval it
            // grows to, and this poll's time are decided together.
            let polled = conn
                .prepare_cached(&format!(
                    "UPDATE ciba_requests SET
                         too_early = (last_polled_at IS NOT NULL AND ?3 - last_polled_at < interval),
                         interval = interval + CASE
                             WHEN last_polled_at IS NOT NULL AND ?3 - last_polled_at < interval
                             THEN ?4 ELSE 0 END,
                         last_polled_at = ?3
                     WHERE request_key = ?1 AND client_id = ?2 AND redeemed_at IS NULL
                       AND expires_at > ?3
                     RETURNING {CIBA}, too_early"
                ))?
                .query_row(params![key, client_id, now, slow_down_step], |row| {
                    let request = ciba_request(row)?;
                    let too_early: bool = row.get(11)?;
                    Ok(if too_early {
                        Polled::TooEarly {
                            interval: request.interval,
                        }
                    } else {
                        Polled::OnTime(Box::new(request))
                    })
                })
                .optional()?;
            if let Some(polled) = polled {
                return Ok(polled);
            }
            let found = conn
                .prepare_cached(&format!(
                    "SELECT {CIBA} FROM ciba_requests WHERE request_key = ?"
                ))?
                .query_row([&key], ciba_request)
                .optional()?;
            Ok(match found {
                None => Polled::Unknown,
                Some(r) if r.client_id != client_id => Polled::OtherClient,
                Some(r) if r.redeemed_at.is_some() => Polled::Redeemed,
                Some(_) => Polled::Expired,
            })
        })
        .await
    }

    async fn redeem_ciba_request(
        &self,
        key: &StoreKey,
        now: i64,
        grant: &CibaGrant,
        issued: &Issued,
    ) -> StoreResult<CibaRedeemed> {
        let (key, grant, issued) = (key.clone(), grant.clone(), issued.clone());
        self.write(move |conn| {
            let request = conn
                .prepare_cached(&format!(
                    "UPDATE ciba_requests SET redeemed_at = ?2
                     WHERE request_key = ?1 AND redeemed_at IS NULL
                     RETURNING {CIBA}"
                ))?
                .query_row(params![key, now], ciba_request)
                .optional()?;
            let Some(request) = request else {
                return Ok(CibaRedeemed::AlreadyRedeemed);
            };
            conn.prepare_cached(
                "INSERT INTO grants (id, client_id, user_id, session_id, offline, nnin_consent,
                     created_at, issuer)
                 VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
            )?
            .execute(params![
                grant.grant_id,
                request.client_id,
                request.user_id,
                grant.session_id,
                now,
                request.issuer
            ])?;
            insert_access_token(conn, &issued.access)?;
            Ok(CibaRedeemed::Fresh)
        })
        .await
    }
}

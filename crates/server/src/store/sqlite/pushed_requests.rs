//! Pushed authorization requests, taken once.

use super::SqliteStore;
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl PushedRequestStore for SqliteStore {
    async fn push_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        request: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        let (hash, client_id, request) = (
            request_uri.clone(),
            client_id.to_owned(),
            request.to_owned(),
        );
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO pushed_requests (request_uri_hash, client_id, request, expires_at)
                 VALUES (?, ?, ?, ?)",
            )?
            .execute(params![hash, client_id, request, expires_at])?;
            Ok(())
        })
        .await
    }

    async fn take_pushed_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Taken> {
        let (hash, client_id) = (request_uri.clone(), client_id.to_owned());
        self.write(move |conn| {
            let taken: Option<String> = conn
                .prepare_cached(
                    "UPDATE pushed_requests SET used_at = ?3
                     WHERE request_uri_hash = ?1 AND client_id = ?2 AND used_at IS NULL
                       AND expires_at > ?3
                     RETURNING request",
                )?
                .query_row(params![hash, client_id, now], |r| r.get(0))
                .optional()?;
            if let Some(request) = taken {
                return Ok(Taken::Request(request));
            }
            let found = conn
                .prepare_cached(
                    "SELECT client_id, used_at FROM pushed_requests WHERE request_uri_hash = ?",
                )?
                .query_row([&hash], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            Ok(match found {
                None => Taken::Unknown,
                Some((owner, _)) if owner != client_id => Taken::OtherClient,
                Some((_, Some(_))) => Taken::Used,
                Some(_) => Taken::Expired,
            })
        })
        .await
    }
}

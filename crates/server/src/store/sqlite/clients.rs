//! Client registrations.

use super::{SqliteStore, err, insert_unique, rows};
use crate::store::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

/// The client's columns, in the order of [`client_params`].
const CLIENT_WRITE: &str = "name, secret_hash, redirect_uris, scopes, grant_types, \
     token_endpoint_auth_method, post_logout_redirect_uris, jwks, jwks_uri, resource_server, \
     require_pushed_authorization_requests, permission_types, created_at, client_id";

/// Every client column as a parameter, in the order of [`CLIENT_WRITE`].
pub(super) fn client_params(c: &Client) -> StoreResult<ClientParams> {
    Ok([
        Box::new(c.name.clone()),
        Box::new(c.secret_hash.clone()),
        Box::new(serde_json::to_string(&c.redirect_uris).map_err(err)?),
        Box::new(c.scopes.to_string()),
        Box::new(
            c.grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Box::new(c.token_endpoint_auth_method.as_str()),
        Box::new(serde_json::to_string(&c.post_logout_redirect_uris).map_err(err)?),
        Box::new(c.jwks.clone()),
        Box::new(c.jwks_uri.clone()),
        Box::new(c.resource_server),
        Box::new(c.require_pushed_authorization_requests),
        Box::new(serde_json::to_string(&c.permission_types).map_err(err)?),
        Box::new(c.created_at),
        Box::new(c.client_id.clone()),
    ])
}

type ClientParams = [Box<dyn rusqlite::ToSql + Send>; 14];

pub(super) fn insert_client(
    conn: &rusqlite::Connection,
    values: &ClientParams,
) -> rusqlite::Result<usize> {
    let sql = format!(
        "INSERT INTO clients ({CLIENT_WRITE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values.iter()))
}

/// Replaces a client's registration; the number of rows changed (0: no such client).
pub(super) fn update_client(
    conn: &rusqlite::Connection,
    values: &ClientParams,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE clients SET name = ?, secret_hash = ?, redirect_uris = ?, scopes = ?,
             grant_types = ?, token_endpoint_auth_method = ?, post_logout_redirect_uris = ?,
             jwks = ?, jwks_uri = ?, resource_server = ?,
             require_pushed_authorization_requests = ?, permission_types = ?,
             created_at = ?
         WHERE client_id = ?",
    )?
    .execute(rusqlite::params_from_iter(values.iter()))
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM clients WHERE client_id = ?",
                rows::CLIENT
            ))?
            .query_row([client_id], rows::client)
            .optional()
        })
    }

    async fn add_client(&self, c: &Client) -> StoreResult<bool> {
        let values = client_params(c)?;
        self.write(move |conn| insert_unique(|| insert_client(conn, &values)))
            .await
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        let values = client_params(c)?;
        self.write(move |conn| Ok(update_client(conn, &values)? == 1))
            .await
    }

    async fn remove_client(&self, client_id: &str, now: i64) -> StoreResult<bool> {
        let client_id = client_id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
            )?
            .execute(params![now, client_id])?;
            let removed = conn
                .prepare_cached("DELETE FROM clients WHERE client_id = ?")?
                .execute([&client_id])?;
            Ok(removed == 1)
        })
        .await
    }

    async fn clients(&self) -> StoreResult<Vec<Client>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM clients ORDER BY client_id",
                rows::CLIENT
            ))?
            .query_map([], rows::client)?
            .collect()
        })
    }
}

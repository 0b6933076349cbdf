//! Clients, test users (with their lockout counts and scripted login outcomes), provider
//! secrets and a seed file's changes.

use super::{PgStore, err, execute, query, query_opt, rows, user_exists};
use crate::store::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

/// A client's columns as values, in the order of the statements below.
struct ClientValues {
    name: String,
    secret_hash: String,
    redirect_uris: String,
    scopes: String,
    grant_types: String,
    method: &'static str,
    post_logout_redirect_uris: String,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    resource_server: bool,
    require_par: bool,
    permission_types: String,
    created_at: i64,
    client_id: String,
}

impl ClientValues {
    fn of(c: &Client) -> StoreResult<ClientValues> {
        Ok(ClientValues {
            name: c.name.clone(),
            secret_hash: c.secret_hash.clone(),
            redirect_uris: serde_json::to_string(&c.redirect_uris).map_err(err)?,
            scopes: c.scopes.to_string(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            method: c.token_endpoint_auth_method.as_str(),
            post_logout_redirect_uris: serde_json::to_string(&c.post_logout_redirect_uris)
                .map_err(err)?,
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            resource_server: c.resource_server,
            require_par: c.require_pushed_authorization_requests,
            permission_types: serde_json::to_string(&c.permission_types).map_err(err)?,
            created_at: c.created_at,
            client_id: c.client_id.clone(),
        })
    }
}

impl ClientValues {
    /// Every column as a parameter, in the order both statements below name them.
    fn params(&self) -> [&(dyn ToSql + Sync); 14] {
        [
            &self.name,
            &self.secret_hash,
            &self.redirect_uris,
            &self.scopes,
            &self.grant_types,
            &self.method,
            &self.post_logout_redirect_uris,
            &self.jwks,
            &self.jwks_uri,
            &self.resource_server,
            &self.require_par,
            &self.permission_types,
            &self.created_at,
            &self.client_id,
        ]
    }
}

/// Adds a client; false if its id is taken.
async fn insert_client(c: &impl GenericClient, v: &ClientValues) -> StoreResult<bool> {
    let n = execute(
        c,
        "INSERT INTO clients (name, secret_hash, redirect_uris, scopes, grant_types,
             token_endpoint_auth_method, post_logout_redirect_uris, jwks, jwks_uri,
             resource_server, require_pushed_authorization_requests, permission_types,
             created_at, client_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING",
        &v.params(),
    )
    .await?;
    Ok(n == 1)
}

/// Replaces a client's registration; false if there is no such client.
async fn update_client(c: &impl GenericClient, v: &ClientValues) -> StoreResult<bool> {
    let n = execute(
        c,
        "UPDATE clients SET name = $1, secret_hash = $2, redirect_uris = $3, scopes = $4,
             grant_types = $5, token_endpoint_auth_method = $6, post_logout_redirect_uris = $7,
             jwks = $8, jwks_uri = $9, resource_server = $10,
             require_pushed_authorization_requests = $11, permission_types = $12,
             created_at = $13
         WHERE client_id = $14",
        &v.params(),
    )
    .await?;
    Ok(n == 1)
}

/// Adds a user; false if the id, NNIN or PID is taken.
async fn insert_user(c: &impl GenericClient, u: &User) -> StoreResult<bool> {
    let n = execute(
        c,
        "INSERT INTO users (id, nnin, pid, given_name, family_name, birthdate, email, phone,
             address, otp, password, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING",
        &[
            &u.id,
            &u.nnin,
            &u.pid,
            &u.given_name,
            &u.family_name,
            &u.birthdate,
            &u.email,
            &u.phone,
            &u.address,
            &u.otp,
            &u.password,
            &u.updated_at,
        ],
    )
    .await?;
    Ok(n == 1)
}

/// Replaces a user's profile, one-time code and password (by id and NNIN, as the SQLite store
/// does); false if no such user.
async fn update_user_profile(c: &impl GenericClient, u: &User) -> StoreResult<bool> {
    let n = execute(
        c,
        "UPDATE users SET given_name = $1, family_name = $2, birthdate = $3, email = $4,
             phone = $5, address = $6, otp = $7, password = $8, updated_at = $9
         WHERE id = $10 AND nnin = $11",
        &[
            &u.given_name,
            &u.family_name,
            &u.birthdate,
            &u.email,
            &u.phone,
            &u.address,
            &u.otp,
            &u.password,
            &u.updated_at,
            &u.id,
            &u.nnin,
        ],
    )
    .await?;
    Ok(n == 1)
}

#[async_trait]
impl ClientStore for PgStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {} FROM clients WHERE client_id = $1", rows::CLIENT);
        let row = query_opt(&self.conn().await?, &sql, &[&client_id]).await?;
        row.as_ref().map(rows::client).transpose()
    }

    async fn add_client(&self, c: &Client) -> StoreResult<bool> {
        insert_client(&self.conn().await?, &ClientValues::of(c)?).await
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        update_client(&self.conn().await?, &ClientValues::of(c)?).await
    }

    async fn remove_client(&self, client_id: &str, now: i64) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        execute(
            &tx,
            "UPDATE grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
            &[&now, &client_id],
        )
        .await?;
        let removed = execute(
            &tx,
            "DELETE FROM clients WHERE client_id = $1",
            &[&client_id],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(removed == 1)
    }

    async fn clients(&self) -> StoreResult<Vec<Client>> {
        let sql = format!("SELECT {} FROM clients ORDER BY client_id", rows::CLIENT);
        query(&self.conn().await?, &sql, &[])
            .await?
            .iter()
            .map(rows::client)
            .collect()
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER);
        let row = query_opt(&self.conn().await?, &sql, &[&id]).await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn user_by_nnin(&self, nnin: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {} FROM users WHERE nnin = $1", rows::USER);
        let row = query_opt(&self.conn().await?, &sql, &[&nnin]).await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE phone = $1 ORDER BY id",
            rows::USER
        );
        query(&self.conn().await?, &sql, &[&phone])
            .await?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn add_user(&self, u: &User) -> StoreResult<bool> {
        insert_user(&self.conn().await?, u).await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users ORDER BY family_name, given_name",
            rows::USER
        );
        query(&self.conn().await?, &sql, &[])
            .await?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn remove_user(&self, user_id: &str, now: i64) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        execute(
            &tx,
            "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            &[&now, &user_id],
        )
        .await?;
        // Sessions and the user's scripts go with the user (ON DELETE CASCADE); so do the
        // requests to their app.
        execute(
            &tx,
            "DELETE FROM app_requests WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
        let removed = execute(&tx, "DELETE FROM users WHERE id = $1", &[&user_id]).await?;
        tx.commit().await.map_err(err)?;
        Ok(removed == 1)
    }

    async fn count_login_failure(
        &self,
        user_id: &str,
        now: i64,
        max_failures: i64,
        lock_seconds: i64,
    ) -> StoreResult<Attempt> {
        // One statement under the row's lock, refused while the lock holds: two instances
        // counting at once are counted one after the other.
        let row = query_opt(
            &self.conn().await?,
            "UPDATE users SET
                 failed_attempts = CASE WHEN locked_until IS NOT NULL THEN 1
                                        ELSE failed_attempts + 1 END,
                 locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1
                                                ELSE failed_attempts + 1 END) >= $2
                                     THEN $1 + $3 END
             WHERE id = $4 AND (locked_until IS NULL OR locked_until <= $1)
             RETURNING failed_attempts, locked_until",
            &[&now, &max_failures, &lock_seconds, &user_id],
        )
        .await?;
        Ok(match row {
            Some(r) => Attempt::Counted {
                failed_attempts: rows::get(&r, 0)?,
                locked_until: rows::get(&r, 1)?,
            },
            None => Attempt::Refused,
        })
    }

    async fn accept_login_secret(
        &self,
        user_id: &str,
        now: i64,
        clear_all: bool,
    ) -> StoreResult<bool> {
        let n = execute(
            &self.conn().await?,
            "UPDATE users SET
                 failed_attempts = CASE WHEN $3 OR locked_until IS NOT NULL THEN 0
                                        ELSE failed_attempts END,
                 locked_until = NULL
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
            &[&user_id, &now, &clear_all],
        )
        .await?;
        Ok(n == 1)
    }

    async fn unlock_user(&self, user_id: &str) -> StoreResult<bool> {
        let n = execute(
            &self.conn().await?,
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1",
            &[&user_id],
        )
        .await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl LoginScriptStore for PgStore {
    async fn set_login_script(
        &self,
        user_id: &str,
        script: Option<LoginScript>,
    ) -> StoreResult<bool> {
        let conn = self.conn().await?;
        if !user_exists(&conn, user_id).await? {
            return Ok(false);
        }
        match script {
            Some(s) => {
                execute(
                    &conn,
                    "INSERT INTO login_scripts (user_id, outcome) VALUES ($1, $2)
                     ON CONFLICT (user_id) DO UPDATE SET outcome = EXCLUDED.outcome",
                    &[&user_id, &s.as_str()],
                )
                .await?
            }
            None => {
                execute(
                    &conn,
                    "DELETE FROM login_scripts WHERE user_id = $1",
                    &[&user_id],
                )
                .await?
            }
        };
        Ok(true)
    }

    async fn login_script(&self, user_id: &str) -> StoreResult<Option<LoginScript>> {
        let row = query_opt(
            &self.conn().await?,
            "SELECT outcome FROM login_scripts WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
        Ok(match row {
            Some(r) => LoginScript::parse(&rows::get::<String>(&r, 0)?),
            None => None,
        })
    }

    async fn take_login_script(&self, user_id: &str) -> StoreResult<Option<LoginScript>> {
        // One statement: the row goes to the one login that deletes it, on whichever instance.
        let row = query_opt(
            &self.conn().await?,
            "DELETE FROM login_scripts WHERE user_id = $1 RETURNING outcome",
            &[&user_id],
        )
        .await?;
        Ok(match row {
            Some(r) => LoginScript::parse(&rows::get::<String>(&r, 0)?),
            None => None,
        })
    }
}

#[async_trait]
impl SecretStore for PgStore {
    async fn provider_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        // The first instance's value wins; every later one reads it.
        let conn = self.conn().await?;
        execute(
            &conn,
            "INSERT INTO provider_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&name, &fresh],
        )
        .await?;
        let row = query_opt(
            &conn,
            "SELECT value FROM provider_secrets WHERE name = $1",
            &[&name],
        )
        .await?
        .ok_or_else(|| err(format!("provider secret {name} vanished")))?;
        rows::get(&row, 0)
    }
}

#[async_trait]
impl SeedStore for PgStore {
    async fn apply_seed(&self, changes: SeedChanges) -> StoreResult<()> {
        let add_clients = changes
            .add_clients
            .iter()
            .map(ClientValues::of)
            .collect::<StoreResult<Vec<_>>>()?;
        let update_clients = changes
            .update_clients
            .iter()
            .map(ClientValues::of)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut conn = self.conn().await?;
        // One transaction: an error returns before the commit and rolls back every change.
        let tx = conn.transaction().await.map_err(err)?;
        for values in &add_clients {
            if !insert_client(&tx, values).await? {
                return Err(err(format!(
                    "client {} was added meanwhile",
                    values.client_id
                )));
            }
        }
        for values in &update_clients {
            if !update_client(&tx, values).await? {
                return Err(err(format!(
                    "client {} was removed meanwhile",
                    values.client_id
                )));
            }
        }
        for user in &changes.add_users {
            if !insert_user(&tx, user).await? {
                return Err(err(format!("user {} was added meanwhile", user.id)));
            }
        }
        for user in &changes.update_users {
            if !update_user_profile(&tx, user).await? {
                return Err(err(format!("user {} was removed meanwhile", user.id)));
            }
        }
        for (user_id, script) in &changes.app_scripts {
            super::biometrics::write_app_script(&tx, user_id, *script).await?;
        }
        tx.commit().await.map_err(err)
    }
}

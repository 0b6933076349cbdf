//! The embedded store: SQLite in WAL mode, so that the CLI can add clients and users while the
//! server runs and the server sees them on the next request.

use super::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Reads go to a pool of connections; writes to a single connection, so that writers queue in
/// the pool (without blocking a thread) instead of meeting SQLite's lock and sleeping in its busy
/// handler. WAL lets the readers go on while the writer writes.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(e)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write is on disk before we answer (shared/DESIGN.md, "Nothing lost").
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(err)?;
        MIGRATOR.run(&writer).await.map_err(err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(err)?;
        Ok(SqliteStore { reader, writer })
    }

    /// An in-memory database, for tests of the store itself: one connection serves both.
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(err)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(err)?;
        MIGRATOR.run(&pool).await.map_err(err)?;
        Ok(SqliteStore {
            reader: pool.clone(),
            writer: pool,
        })
    }
}

fn method_from(text: Option<String>) -> Option<Method> {
    text.and_then(|t| Method::from_hint(&t))
}

fn client_from(row: SqliteRow) -> StoreResult<Client> {
    let uris: String = row.get("redirect_uris");
    let scopes: String = row.get("scopes");
    let grant_types: String = row.get("grant_types");
    let logout_uris: String = row.get("post_logout_redirect_uris");
    let resource_server: i64 = row.get("resource_server");
    Ok(Client {
        client_id: row.get("client_id"),
        name: row.get("name"),
        secret_hash: row.get("secret_hash"),
        redirect_uris: serde_json::from_str(&uris).map_err(err)?,
        scopes: ScopeSet::try_from(scopes).map_err(err)?,
        created_at: row.get("created_at"),
        grant_types: grant_types
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        token_endpoint_auth_method: row.get("token_endpoint_auth_method"),
        post_logout_redirect_uris: serde_json::from_str(&logout_uris).map_err(err)?,
        jwks: row.get("jwks"),
        jwks_uri: row.get("jwks_uri"),
        resource_server: resource_server != 0,
        require_pushed_authorization_requests: row
            .get::<i64, _>("require_pushed_authorization_requests")
            != 0,
    })
}

fn key_from(row: SqliteRow) -> StoredSigningKey {
    StoredSigningKey {
        kid: row.get("kid"),
        alg: row.get("alg"),
        private_pkcs8: row.get("private_pkcs8"),
        public_jwk: row.get("public_jwk"),
        state: row.get("state"),
        created_at: row.get("created_at"),
        activate_at: row.get("activate_at"),
        retire_at: row.get("retire_at"),
    }
}

fn refresh_from(row: &SqliteRow) -> StoreResult<RefreshToken> {
    let method: String = row.get("method");
    let api_version: i64 = row.get("api_version");
    Ok(RefreshToken {
        token_hash: row.get("token_hash"),
        grant_id: row.get("grant_id"),
        parent_hash: row.get("parent_hash"),
        client_id: row.get("client_id"),
        user_id: row.get("user_id"),
        scope: row.get("scope"),
        session_id: row.get("session_id"),
        method: Method::from_hint(&method)
            .ok_or_else(|| err(format!("unknown method {method}")))?,
        auth_time: row.get("auth_time"),
        api_version: u32::try_from(api_version).map_err(err)?,
        issued_at: row.get("issued_at"),
        expires_at: row.get("expires_at"),
        used_at: row.get("used_at"),
    })
}

fn user_from(row: SqliteRow) -> User {
    User {
        id: row.get("id"),
        nnin: row.get("nnin"),
        pid: row.get("pid"),
        given_name: row.get("given_name"),
        family_name: row.get("family_name"),
        birthdate: row.get("birthdate"),
        email: row.get("email"),
        phone: row.get("phone"),
        address: row.get("address"),
        otp: row.get("otp"),
        password: row.get("password"),
        failed_attempts: row.get("failed_attempts"),
        locked_until: row.get("locked_until"),
        updated_at: row.get("updated_at"),
    }
}

fn session_from(row: SqliteRow) -> Session {
    Session {
        id: row.get("id"),
        user_id: row.get("user_id"),
        method: method_from(row.get("method")),
        auth_time: row.get("auth_time"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
    }
}

fn flow_from(row: SqliteRow) -> LoginFlow {
    LoginFlow {
        id: row.get("id"),
        session_id: row.get("session_id"),
        request: row.get("request"),
        step: row.get("step"),
        method: method_from(row.get("method")),
        user_id: row.get("user_id"),
        csrf: row.get("csrf"),
        binding_message: row.get("binding_message"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        kept_session_id: row.get("kept_session_id"),
    }
}

fn code_from(row: SqliteRow) -> StoreResult<AuthorizationCode> {
    let method: String = row.get("method");
    let api_version: i64 = row.get("api_version");
    Ok(AuthorizationCode {
        code_hash: row.get("code_hash"),
        grant_id: row.get("grant_id"),
        client_id: row.get("client_id"),
        redirect_uri: row.get("redirect_uri"),
        code_challenge: row.get("code_challenge"),
        nonce: row.get("nonce"),
        scope: row.get("scope"),
        user_id: row.get("user_id"),
        session_id: row.get("session_id"),
        method: Method::from_hint(&method)
            .ok_or_else(|| err(format!("unknown method {method}")))?,
        auth_time: row.get("auth_time"),
        api_version: u32::try_from(api_version).map_err(err)?,
        issued_at: row.get("issued_at"),
        expires_at: row.get("expires_at"),
        consumed_at: row.get("consumed_at"),
        terms: terms_from(&row),
    })
}

/// The grant's terms, from a row that joined `grants`.
fn terms_from(row: &SqliteRow) -> GrantTerms {
    GrantTerms {
        nnin_consent: row.get::<i64, _>("nnin_consent") != 0,
        authorization_details: row.get("authorization_details"),
    }
}

async fn insert_key(
    key: &StoredSigningKey,
    executor: impl sqlx::Executor<'_, Database = sqlx::Sqlite>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, private_pkcs8, public_jwk, state, created_at, activate_at, retire_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.private_pkcs8)
    .bind(&key.public_jwk)
    .bind(&key.state)
    .bind(key.created_at)
    .bind(key.activate_at)
    .bind(key.retire_at)
    .execute(executor)
    .await
    .map_err(err)?;
    Ok(())
}

async fn insert_access_token(
    t: &AccessTokenRecord,
    executor: impl sqlx::Executor<'_, Database = sqlx::Sqlite>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO access_tokens (jti, grant_id, client_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&t.jti)
        .bind(&t.grant_id)
        .bind(&t.client_id)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .execute(executor)
        .await
        .map_err(err)?;
    Ok(())
}

async fn insert_refresh_token(
    t: &RefreshToken,
    executor: impl sqlx::Executor<'_, Database = sqlx::Sqlite>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, parent_hash, client_id, user_id, scope, session_id, method,
             auth_time, api_version, issued_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.token_hash)
    .bind(&t.grant_id)
    .bind(&t.parent_hash)
    .bind(&t.client_id)
    .bind(&t.user_id)
    .bind(&t.scope)
    .bind(&t.session_id)
    .bind(t.method.hint())
    .bind(t.auth_time)
    .bind(i64::from(t.api_version))
    .bind(t.issued_at)
    .bind(t.expires_at)
    .execute(executor)
    .await
    .map_err(err)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_grant(
    executor: impl sqlx::Executor<'_, Database = sqlx::Sqlite>,
    id: &str,
    client_id: &str,
    user_id: &str,
    session_id: Option<&str>,
    offline: bool,
    terms: &GrantTerms,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO grants (id, client_id, user_id, session_id, offline, nnin_consent, authorization_details, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
        .bind(id)
        .bind(client_id)
        .bind(user_id)
        .bind(session_id)
        .bind(i64::from(offline))
        .bind(i64::from(terms.nnin_consent))
        .bind(&terms.authorization_details)
        .bind(now)
        .execute(executor)
        .await
        .map_err(err)?;
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let row = sqlx::query("SELECT * FROM clients WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        row.map(client_from).transpose()
    }

    async fn add_client(&self, c: &Client) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO clients (name, secret_hash, redirect_uris, scopes, grant_types, token_endpoint_auth_method,
                 post_logout_redirect_uris, jwks, jwks_uri, resource_server, require_pushed_authorization_requests,
                 created_at, client_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        let result = bind_client(result, c)?.execute(&self.writer).await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    async fn update_client(&self, c: &Client) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE clients SET name = ?, secret_hash = ?, redirect_uris = ?, scopes = ?, grant_types = ?,
                 token_endpoint_auth_method = ?, post_logout_redirect_uris = ?, jwks = ?, jwks_uri = ?,
                 resource_server = ?, require_pushed_authorization_requests = ?, created_at = ?
             WHERE client_id = ?",
        );
        let result = bind_client(query, c)?
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(result.rows_affected() == 1)
    }

    async fn remove_client(&self, client_id: &str, now: i64) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("UPDATE grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let removed = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(removed.rows_affected() == 1)
    }

    async fn clients(&self) -> StoreResult<Vec<Client>> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY client_id")
            .fetch_all(&self.writer)
            .await
            .map_err(err)?;
        rows.into_iter().map(client_from).collect()
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds every client column in the order the INSERT and UPDATE statements name them.
fn bind_client<'q>(query: SqliteQuery<'q>, c: &'q Client) -> StoreResult<SqliteQuery<'q>> {
    Ok(query
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(serde_json::to_string(&c.redirect_uris).map_err(err)?)
        .bind(c.scopes.to_string())
        .bind(c.grant_types.join(" "))
        .bind(&c.token_endpoint_auth_method)
        .bind(serde_json::to_string(&c.post_logout_redirect_uris).map_err(err)?)
        .bind(&c.jwks)
        .bind(&c.jwks_uri)
        .bind(i64::from(c.resource_server))
        .bind(i64::from(c.require_pushed_authorization_requests))
        .bind(c.created_at)
        .bind(&c.client_id))
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.map(user_from))
    }

    async fn user_by_nnin(&self, nnin: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE nnin = ?")
            .bind(nnin)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.map(user_from))
    }

    async fn users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE phone = ?")
            .bind(phone)
            .fetch_all(&self.reader)
            .await
            .map_err(err)?;
        Ok(rows.into_iter().map(user_from).collect())
    }

    async fn add_user(&self, u: &User) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO users (id, nnin, pid, given_name, family_name, birthdate, email, phone, address, otp, password,
                 updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(&u.nnin)
        .bind(&u.pid)
        .bind(&u.given_name)
        .bind(&u.family_name)
        .bind(&u.birthdate)
        .bind(&u.email)
        .bind(&u.phone)
        .bind(&u.address)
        .bind(&u.otp)
        .bind(&u.password)
        .bind(u.updated_at)
        .execute(&self.writer)
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY family_name, given_name")
            .fetch_all(&self.reader)
            .await
            .map_err(err)?;
        Ok(rows.into_iter().map(user_from).collect())
    }

    async fn remove_user(&self, user_id: &str, now: i64) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("UPDATE grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        // Sessions go with the user (ON DELETE CASCADE).
        let removed = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(removed.rows_affected() == 1)
    }

    async fn record_login_failure(
        &self,
        user_id: &str,
        now: i64,
        max_failures: i64,
        lock_seconds: i64,
    ) -> StoreResult<FailureOutcome> {
        // One statement: two concurrent failures both count, and the lock is set by whichever
        // reaches the limit.
        let row = sqlx::query(
            "UPDATE users SET
                 failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?1 THEN 1
                                        ELSE failed_attempts + 1 END,
                 locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?1 THEN NULL
                                     WHEN failed_attempts + 1 >= ?2 THEN ?1 + ?3
                                     ELSE locked_until END
             WHERE id = ?4
             RETURNING failed_attempts, locked_until",
        )
        .bind(now)
        .bind(max_failures)
        .bind(lock_seconds)
        .bind(user_id)
        .fetch_one(&self.writer)
        .await
        .map_err(err)?;
        Ok(FailureOutcome {
            failed_attempts: row.get("failed_attempts"),
            locked_until: row.get("locked_until"),
        })
    }

    async fn reset_login_failures(&self, user_id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL
             WHERE id = ? AND (failed_attempts != 0 OR locked_until IS NOT NULL)",
        )
        .bind(user_id)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.reader)
            .await
            .map_err(err)?;
        Ok(rows.into_iter().map(key_from).collect())
    }

    async fn add_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()> {
        insert_key(key, &self.writer).await
    }

    async fn apply_key_schedule(&self, now: i64, retire_after: i64) -> StoreResult<bool> {
        // This transaction reads before it writes: BEGIN IMMEDIATE takes the write lock first, so
        // a concurrent writer makes it wait (busy_timeout) instead of failing with SQLITE_BUSY
        // when a deferred transaction tries to upgrade.
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(err)?;
        let due = sqlx::query(
            "SELECT kid FROM signing_keys WHERE state = 'next' AND activate_at <= ? ORDER BY activate_at DESC, kid LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let mut changed = false;
        if let Some(row) = due {
            let kid: String = row.get("kid");
            sqlx::query(
                "UPDATE signing_keys SET state = 'retiring', retire_at = ? WHERE state = 'active'",
            )
            .bind(now + retire_after)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            sqlx::query("UPDATE signing_keys SET state = 'active' WHERE kid = ?")
                .bind(&kid)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            changed = true;
        }
        let removed = sqlx::query("DELETE FROM signing_keys WHERE state = 'retiring' AND retire_at IS NOT NULL AND retire_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(changed || removed.rows_affected() > 0)
    }

    async fn key_version(&self) -> StoreResult<String> {
        let row = sqlx::query(
            "SELECT COALESCE(group_concat(kid || ':' || state, ','), '') AS version
             FROM (SELECT kid, state FROM signing_keys ORDER BY kid)",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(err)?;
        Ok(row.get("version"))
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session, cookie_hash: &str) -> StoreResult<()> {
        insert_session(s, cookie_hash, &self.writer).await
    }

    async fn session_by_cookie(&self, cookie_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE cookie_hash = ? AND expires_at > ?")
            .bind(cookie_hash)
            .bind(now)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.map(session_from))
    }

    async fn replace_session(
        &self,
        old_id: &str,
        new: &Session,
        cookie_hash: &str,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(old_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        insert_session(new, cookie_hash, &mut *tx).await?;
        tx.commit().await.map_err(err)
    }

    async fn end_session(&self, session_id: &str, now: i64) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(session_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query("UPDATE grants SET revoked_at = ? WHERE session_id = ? AND offline = 0 AND revoked_at IS NULL")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)
    }
}

async fn insert_session(
    s: &Session,
    cookie_hash: &str,
    executor: impl sqlx::Executor<'_, Database = sqlx::Sqlite>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (id, cookie_hash, user_id, method, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.id)
    .bind(cookie_hash)
    .bind(&s.user_id)
    .bind(s.method.map(Method::hint))
    .bind(s.auth_time)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(executor)
    .await
    .map_err(err)?;
    Ok(())
}

#[async_trait]
impl FlowStore for SqliteStore {
    async fn create_flow(&self, f: &LoginFlow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_flows (id, session_id, request, step, method, user_id, csrf, binding_message, created_at,
                 expires_at, kept_session_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.id)
        .bind(&f.session_id)
        .bind(&f.request)
        .bind(&f.step)
        .bind(f.method.map(Method::hint))
        .bind(&f.user_id)
        .bind(&f.csrf)
        .bind(&f.binding_message)
        .bind(f.created_at)
        .bind(f.expires_at)
        .bind(&f.kept_session_id)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn flow(&self, id: &str, now: i64) -> StoreResult<Option<LoginFlow>> {
        let row = sqlx::query("SELECT * FROM login_flows WHERE id = ? AND expires_at > ?")
            .bind(id)
            .bind(now)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.map(flow_from))
    }

    async fn advance_flow(&self, f: &LoginFlow, from_step: &str) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE login_flows SET step = ?, method = ?, user_id = ?, binding_message = ? WHERE id = ? AND step = ?",
        )
        .bind(&f.step)
        .bind(f.method.map(Method::hint))
        .bind(&f.user_id)
        .bind(&f.binding_message)
        .bind(&f.id)
        .bind(from_step)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(result.rows_affected() == 1)
    }

    async fn finish_flow(&self, id: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM login_flows WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(result.rows_affected() == 1)
    }
}

#[async_trait]
impl CodeStore for SqliteStore {
    async fn issue_code(&self, c: &AuthorizationCode, grant_created_at: i64) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        let offline = c.scope.split(' ').any(|s| s == "offline_access");
        insert_grant(
            &mut *tx,
            &c.grant_id,
            &c.client_id,
            &c.user_id,
            Some(&c.session_id),
            offline,
            &c.terms,
            grant_created_at,
        )
        .await?;
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, nonce, scope,
                 user_id, session_id, method, auth_time, api_version, issued_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.code_hash)
        .bind(&c.grant_id)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.nonce)
        .bind(&c.scope)
        .bind(&c.user_id)
        .bind(&c.session_id)
        .bind(c.method.hint())
        .bind(c.auth_time)
        .bind(i64::from(c.api_version))
        .bind(c.issued_at)
        .bind(c.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        let row = sqlx::query(
            "SELECT c.*, g.nnin_consent, g.authorization_details FROM authorization_codes c
             JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = ?",
        )
        .bind(code_hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(err)?;
        row.map(code_from).transpose()
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
        issued: &Issued,
    ) -> StoreResult<Consumed> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        let consumed = sqlx::query("UPDATE authorization_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL")
            .bind(now)
            .bind(code_hash)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        if consumed.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM authorization_codes WHERE code_hash = ?")
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
            return Ok(if exists.is_some() {
                Consumed::AlreadyUsed
            } else {
                Consumed::Unknown
            });
        }
        insert_access_token(&issued.access, &mut *tx).await?;
        if let Some(refresh) = &issued.refresh {
            insert_refresh_token(refresh, &mut *tx).await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(Consumed::Fresh)
    }
}

#[async_trait]
impl RefreshTokenStore for SqliteStore {
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenState>> {
        let row = sqlx::query(
            "SELECT r.*, g.revoked_at AS grant_revoked_at, g.nnin_consent, g.authorization_details
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await
        .map_err(err)?;
        row.map(|row| {
            let revoked: Option<i64> = row.get("grant_revoked_at");
            Ok(RefreshTokenState {
                token: refresh_from(&row)?,
                grant_revoked: revoked.is_some(),
                terms: terms_from(&row),
            })
        })
        .transpose()
    }

    async fn exchange_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
        grace: i64,
        successor: &RefreshToken,
        access: &AccessTokenRecord,
    ) -> StoreResult<RefreshOutcome> {
        // SQLite runs one writer at a time; the first write below takes the lock, so the checks
        // and writes of two concurrent exchanges cannot interleave.
        let mut tx = self.writer.begin().await.map_err(err)?;
        let first_use = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
               AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NULL)",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        if first_use.rows_affected() == 1 {
            insert_refresh_token(successor, &mut *tx).await?;
            insert_access_token(access, &mut *tx).await?;
            tx.commit().await.map_err(err)?;
            return Ok(RefreshOutcome::Rotated);
        }
        let row = sqlx::query(
            "SELECT r.used_at, r.grant_id, r.expires_at, g.revoked_at,
                    (SELECT s.used_at IS NULL FROM refresh_tokens s WHERE s.token_hash = ?2 AND s.parent_hash = r.token_hash)
                        AS successor_unused
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = ?1",
        )
        .bind(token_hash)
        .bind(&successor.token_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let used_at: Option<i64> = row.get("used_at");
        let revoked_at: Option<i64> = row.get("revoked_at");
        let expires_at: i64 = row.get("expires_at");
        let grant_id: String = row.get("grant_id");
        let successor_unused: Option<bool> = row.get("successor_unused");
        if revoked_at.is_some() || expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        match used_at {
            Some(used) if now - used <= grace && successor_unused == Some(true) => {
                insert_access_token(access, &mut *tx).await?;
                tx.commit().await.map_err(err)?;
                Ok(RefreshOutcome::WithinGrace)
            }
            Some(_) => {
                sqlx::query("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                    .bind(now)
                    .bind(&grant_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(RefreshOutcome::Reused)
            }
            None => Ok(RefreshOutcome::Invalid),
        }
    }
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(grant_id)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn live_access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenRecord>> {
        let row = sqlx::query(
            "SELECT t.jti, t.grant_id, t.client_id, t.issued_at, t.expires_at, g.nnin_consent FROM access_tokens t
             JOIN grants g ON g.id = t.grant_id WHERE t.jti = ? AND t.revoked_at IS NULL AND g.revoked_at IS NULL",
        )
        .bind(jti)
        .fetch_optional(&self.reader)
        .await
        .map_err(err)?;
        Ok(row.map(|row| AccessTokenRecord {
            jti: row.get("jti"),
            grant_id: row.get("grant_id"),
            client_id: row.get("client_id"),
            issued_at: row.get("issued_at"),
            expires_at: row.get("expires_at"),
            nnin_consent: row.get::<i64, _>("nnin_consent") != 0,
        }))
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE access_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(jti)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn revoke_machine_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("DELETE FROM revoked_machine_tokens WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query("INSERT OR IGNORE INTO revoked_machine_tokens (jti, client_id, expires_at) VALUES (?, ?, ?)")
            .bind(jti)
            .bind(client_id)
            .bind(expires_at)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn machine_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM revoked_machine_tokens WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.reader)
            .await
            .map_err(err)?;
        Ok(row.is_some())
    }
}

/// Where a kind of one-time `jti` is kept: (purge, insert) statements.
const ASSERTION_JTIS: (&str, &str) = (
    "DELETE FROM client_assertion_jtis WHERE expires_at <= ?",
    "INSERT OR IGNORE INTO client_assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)",
);
const REQUEST_OBJECT_JTIS: (&str, &str) = (
    "DELETE FROM request_object_jtis WHERE expires_at <= ?",
    "INSERT OR IGNORE INTO request_object_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)",
);

/// Records a one-time `jti` until it expires; false if it was there.
async fn record_jti(
    pool: &SqlitePool,
    (purge, insert): (&'static str, &'static str),
    client_id: &str,
    jti: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(err)?;
    sqlx::query(purge)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    let inserted = sqlx::query(insert)
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(inserted.rows_affected() == 1)
}

#[async_trait]
impl ReplayStore for SqliteStore {
    async fn record_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        record_jti(
            &self.writer,
            ASSERTION_JTIS,
            client_id,
            jti,
            expires_at,
            now,
        )
        .await
    }

    async fn record_request_object_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        record_jti(
            &self.writer,
            REQUEST_OBJECT_JTIS,
            client_id,
            jti,
            expires_at,
            now,
        )
        .await
    }
}

#[async_trait]
impl PushedRequestStore for SqliteStore {
    async fn push_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        request: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO pushed_requests (request_uri_hash, client_id, request, expires_at) VALUES (?, ?, ?, ?)")
            .bind(request_uri_hash)
            .bind(client_id)
            .bind(request)
            .bind(expires_at)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Taken> {
        let taken = sqlx::query(
            "UPDATE pushed_requests SET used_at = ?3 WHERE request_uri_hash = ?1 AND client_id = ?2
               AND used_at IS NULL AND expires_at > ?3 RETURNING request",
        )
        .bind(request_uri_hash)
        .bind(client_id)
        .bind(now)
        .fetch_optional(&self.writer)
        .await
        .map_err(err)?;
        if let Some(row) = taken {
            return Ok(Taken::Request(row.get("request")));
        }
        let row = sqlx::query(
            "SELECT client_id, expires_at, used_at FROM pushed_requests WHERE request_uri_hash = ?",
        )
        .bind(request_uri_hash)
        .fetch_optional(&self.writer)
        .await
        .map_err(err)?;
        Ok(match row {
            None => Taken::Unknown,
            Some(row) if row.get::<String, _>("client_id") != client_id => Taken::OtherClient,
            Some(row) if row.get::<Option<i64>, _>("used_at").is_some() => Taken::Used,
            Some(_) => Taken::Expired,
        })
    }
}

#[async_trait]
impl EncryptionKeyStore for SqliteStore {
    async fn encryption_keys(&self) -> StoreResult<Vec<StoredEncryptionKey>> {
        let rows = sqlx::query("SELECT * FROM encryption_keys ORDER BY created_at, kid")
            .fetch_all(&self.reader)
            .await
            .map_err(err)?;
        Ok(rows
            .into_iter()
            .map(|row| StoredEncryptionKey {
                kid: row.get("kid"),
                alg: row.get("alg"),
                private_pkcs8: row.get("private_pkcs8"),
                created_at: row.get("created_at"),
            })
            .collect())
    }

    async fn add_encryption_key(&self, key: &StoredEncryptionKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO encryption_keys (kid, alg, private_pkcs8, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_pkcs8)
        .bind(key.created_at)
        .execute(&self.writer)
        .await
        .map_err(err)?;
        Ok(())
    }
}

/// (statement, whether it keeps rows `keep` seconds past expiry), in an order that respects the
/// foreign keys: children before the grants they hang on.
const PURGES: [(&str, bool); 10] = [
    ("DELETE FROM login_flows WHERE expires_at <= ?1", false),
    ("DELETE FROM sessions WHERE expires_at <= ?1", false),
    ("DELETE FROM pushed_requests WHERE expires_at <= ?1", true),
    (
        "DELETE FROM authorization_codes WHERE expires_at <= ?1",
        true,
    ),
    ("DELETE FROM access_tokens WHERE expires_at <= ?1", true),
    ("DELETE FROM refresh_tokens WHERE expires_at <= ?1", true),
    (
        "DELETE FROM client_assertion_jtis WHERE expires_at <= ?1",
        false,
    ),
    (
        "DELETE FROM request_object_jtis WHERE expires_at <= ?1",
        false,
    ),
    (
        "DELETE FROM revoked_machine_tokens WHERE expires_at <= ?1",
        false,
    ),
    (
        "DELETE FROM grants WHERE created_at <= ?1
           AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.grant_id = grants.id)
           AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.grant_id = grants.id)
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id)",
        true,
    ),
];

#[async_trait]
impl Housekeeping for SqliteStore {
    async fn purge_expired(&self, now: i64, keep: i64) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(err)?;
        let mut deleted = 0;
        for (statement, kept) in PURGES {
            let before = if kept { now - keep } else { now };
            deleted += sqlx::query(statement)
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
        }
        tx.commit().await.map_err(err)?;
        Ok(deleted)
    }
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn provider_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT OR IGNORE INTO provider_secrets (name, value) VALUES (?, ?)")
            .bind(name)
            .bind(fresh)
            .execute(&self.writer)
            .await
            .map_err(err)?;
        let row = sqlx::query("SELECT value FROM provider_secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .map_err(err)?;
        Ok(row.get("value"))
    }
}

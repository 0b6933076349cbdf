//! Sessions, grants with their codes and tokens, refresh token exchange, pushed requests and
//! one-time `jti`s: each one-time thing consumed by one conditional statement, so that two
//! instances presented the same code, token or request at once give it to exactly one.

use super::{PgStore, err, execute, query_opt, rows};
use crate::store::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

/// One row to insert: its table and its columns, each with its SQL type and its value. Written
/// alone (`INSERT ... VALUES`) or as one part of a statement that writes several tables in one
/// round trip (a data-modifying `WITH`); every value is cast to its column's type, so that none
/// is inferred from the context it appears in.
struct Row<'a> {
    table: &'static str,
    columns: Vec<Column<'a>>,
}

/// A column's name, its SQL type and the value to write.
type Column<'a> = (
    &'static str,
    &'static str,
    Box<dyn ToSql + Sync + Send + 'a>,
);

fn text<'a>(name: &'static str, value: impl ToSql + Sync + Send + 'a) -> Column<'a> {
    (name, "text", Box::new(value))
}

fn bigint<'a>(name: &'static str, value: impl ToSql + Sync + Send + 'a) -> Column<'a> {
    (name, "bigint", Box::new(value))
}

fn boolean<'a>(name: &'static str, value: bool) -> Column<'a> {
    (name, "boolean", Box::new(value))
}

impl<'a> Row<'a> {
    fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, ..)| *name).collect();
        names.join(", ")
    }

    /// `$first::type, ...`: the values' placeholders from `$first` on.
    fn placeholders(&self, first: usize) -> String {
        let cast: Vec<String> = (self.columns.iter().enumerate())
            .map(|(i, (_, ty, _))| format!("${}::{ty}", first + i))
            .collect();
        cast.join(", ")
    }

    /// `INSERT INTO table (...) VALUES (...)`, its placeholders from `$first` on.
    fn insert(&self, first: usize) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            self.names(),
            self.placeholders(first)
        )
    }

    /// `INSERT INTO table (...) SELECT ... FROM source`: the row only if `source` has one.
    fn insert_from(&self, first: usize, source: &str) -> String {
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {source}",
            self.table,
            self.names(),
            self.placeholders(first)
        )
    }

    fn params(&self) -> impl Iterator<Item = &(dyn ToSql + Sync)> {
        self.columns
            .iter()
            .map(|(.., value)| value.as_ref() as &(dyn ToSql + Sync))
    }

    /// Inserts the row alone.
    async fn execute(&self, c: &impl GenericClient) -> StoreResult<()> {
        let params: Vec<_> = self.params().collect();
        execute(c, &self.insert(1), &params).await?;
        Ok(())
    }
}

fn session_row<'a>(s: &'a Session, cookie: &'a StoreKey) -> Row<'a> {
    Row {
        table: "sessions",
        columns: vec![
            text("id", &s.id),
            text("cookie_hash", cookie.as_str()),
            text("user_id", &s.user_id),
            text("method", s.method.map(|m| m.hint())),
            bigint("auth_time", s.auth_time),
            bigint("created_at", s.created_at),
            bigint("expires_at", s.expires_at),
        ],
    }
}

/// The grant a code is the first of.
fn grant_row(code: &AuthorizationCode, created_at: i64) -> Row<'_> {
    let offline = code.scope.split(' ').any(|s| s == "offline_access");
    Row {
        table: "grants",
        columns: vec![
            text("id", &code.grant_id),
            text("client_id", &code.client_id),
            text("user_id", &code.user_id),
            text("session_id", &code.session_id),
            boolean("offline", offline),
            boolean("nnin_consent", code.terms.nnin_consent),
            text("authorization_details", &code.terms.authorization_details),
            bigint("created_at", created_at),
            text("issuer", &code.issuer),
        ],
    }
}

fn code_row(code: &AuthorizationCode) -> Row<'_> {
    Row {
        table: "authorization_codes",
        columns: vec![
            text("code_hash", code.code_hash.as_str()),
            text("grant_id", &code.grant_id),
            text("client_id", &code.client_id),
            text("redirect_uri", &code.redirect_uri),
            text("code_challenge", &code.code_challenge),
            text("nonce", &code.nonce),
            text("scope", &code.scope),
            text("user_id", &code.user_id),
            text("session_id", &code.session_id),
            text("method", code.method.hint()),
            bigint("auth_time", code.auth_time),
            bigint("api_version", i64::from(code.api_version)),
            bigint("issued_at", code.issued_at),
            bigint("expires_at", code.expires_at),
        ],
    }
}

fn access_token_row(t: &AccessTokenRecord) -> Row<'_> {
    Row {
        table: "access_tokens",
        columns: vec![
            text("jti", &t.jti),
            text("grant_id", &t.grant_id),
            text("client_id", &t.client_id),
            bigint("issued_at", t.issued_at),
            bigint("expires_at", t.expires_at),
            text("token_hash", &t.token_hash),
        ],
    }
}

fn refresh_token_row(t: &RefreshToken) -> Row<'_> {
    Row {
        table: "refresh_tokens",
        columns: vec![
            text("token_hash", t.token_hash.as_str()),
            text("grant_id", &t.grant_id),
            text("parent_hash", t.parent_hash.as_ref().map(StoreKey::as_str)),
            text("client_id", &t.client_id),
            text("user_id", &t.user_id),
            text("scope", &t.scope),
            text("session_id", &t.session_id),
            text("method", t.method.hint()),
            bigint("auth_time", t.auth_time),
            bigint("api_version", i64::from(t.api_version)),
            bigint("issued_at", t.issued_at),
            bigint("expires_at", t.expires_at),
        ],
    }
}

async fn insert_session(c: &impl GenericClient, s: &Session, cookie: &StoreKey) -> StoreResult<()> {
    session_row(s, cookie).execute(c).await
}

async fn delete_session(c: &impl GenericClient, id: &str) -> StoreResult<()> {
    execute(c, "DELETE FROM sessions WHERE id = $1", &[&id]).await?;
    Ok(())
}

/// Stores a grant and its first code.
async fn insert_code(
    c: &impl GenericClient,
    code: &AuthorizationCode,
    grant_created_at: i64,
) -> StoreResult<()> {
    grant_row(code, grant_created_at).execute(c).await?;
    code_row(code).execute(c).await
}

pub(super) async fn insert_access_token(
    c: &impl GenericClient,
    t: &AccessTokenRecord,
) -> StoreResult<()> {
    access_token_row(t).execute(c).await
}

async fn insert_refresh_token(c: &impl GenericClient, t: &RefreshToken) -> StoreResult<()> {
    refresh_token_row(t).execute(c).await
}

async fn revoke_grant(c: &impl GenericClient, grant_id: &str, now: i64) -> StoreResult<()> {
    execute(
        c,
        "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        &[&now, &grant_id],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: &Session, cookie: &StoreKey) -> StoreResult<()> {
        insert_session(&self.conn().await?, s, cookie).await
    }

    async fn session_by_cookie(&self, cookie: &StoreKey, now: i64) -> StoreResult<Option<Session>> {
        let sql = format!(
            "SELECT {} FROM sessions WHERE cookie_hash = $1 AND expires_at > $2",
            rows::SESSION
        );
        let row = query_opt(&self.conn().await?, &sql, &[&cookie.as_str(), &now]).await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn replace_session(
        &self,
        old_id: &str,
        new: &Session,
        cookie: &StoreKey,
    ) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        delete_session(&tx, old_id).await?;
        insert_session(&tx, new, cookie).await?;
        tx.commit().await.map_err(err)
    }

    async fn end_session(&self, session_id: &str, now: i64) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        delete_session(&tx, session_id).await?;
        execute(
            &tx,
            "UPDATE grants SET revoked_at = $1
             WHERE session_id = $2 AND NOT offline AND revoked_at IS NULL",
            &[&now, &session_id],
        )
        .await?;
        tx.commit().await.map_err(err)
    }
}

impl PgStore {
    /// A login's end in one statement, so one round trip and one transaction instead of five
    /// (BEGIN, the session, the grant, the code, COMMIT): the database's CPU per statement is
    /// what bounds a login on PostgreSQL (BENCHMARKS.md). The foreign keys are checked at the
    /// statement's end, where the grant and the session it names are both in.
    ///
    /// With `ending` (a flow's id and expiry), the same statement first marks that flow ended
    /// (`PgFlows::finish_flow`'s conditional write) and stores the rest only from the row that
    /// write returned: [`Ending::AlreadyEnded`] when the flow had ended already, with nothing
    /// stored. With `check` as well, the flow is ended only if the user's row passes it, read in
    /// the same statement: [`Ending::CheckFailed`], with nothing stored, if not. The password
    /// is compared as SHA-256 digests, so that its comparison's time tells nothing of it.
    pub(super) async fn complete_login_ending(
        &self,
        c: &Completion,
        ending: Option<(&str, i64)>,
        check: Option<&EndCheck<'_>>,
    ) -> StoreResult<Ending> {
        let digest: Option<Vec<u8>> = check.map(|c| {
            let digest =
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, c.password.as_bytes());
            digest.as_ref().to_vec()
        });
        let mut parts = Vec::new();
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        let checked = check.zip(digest.as_ref()).map(|(check, digest)| {
            params.push(&check.user_id);
            params.push(digest);
            parts.push(
                "checked AS (SELECT 1 FROM users WHERE id = $1::text
                     AND failed_attempts = 0 AND locked_until IS NULL
                     AND sha256(convert_to(password, 'UTF8')) = $2::bytea)"
                    .to_owned(),
            );
            "checked"
        });
        let gate = if let Some((id, expires_at)) = &ending {
            parts.push(format!(
                "ended AS ({})",
                super::flows::end_flow_sql(params.len() + 1, checked)
            ));
            params.push(id);
            params.push(expires_at);
            Some("ended")
        } else {
            checked
        };
        let replaced = c
            .login
            .as_ref()
            .and_then(|l| l.replaced_session_id.as_ref());
        if let Some(replaced) = replaced {
            params.push(replaced);
            let only_if = gate.map_or(String::new(), |g| {
                format!(" AND EXISTS (SELECT 1 FROM {g})")
            });
            parts.push(format!(
                "replaced AS (DELETE FROM sessions WHERE id = ${}{only_if})",
                params.len()
            ));
        }
        let session = c.login.as_ref().map(|l| session_row(&l.session, &l.cookie));
        let grant = grant_row(&c.code, c.grant_created_at);
        let code = code_row(&c.code);
        let insert = |row: &Row, first: usize| match gate {
            Some(g) => row.insert_from(first, g),
            None => row.insert(first),
        };
        for (name, row) in [
            ("session", session.as_ref()),
            ("grant_row", Some(&grant)),
            ("code_row", Some(&code)),
        ] {
            if let Some(row) = row {
                parts.push(format!("{name} AS ({})", insert(row, params.len() + 1)));
                params.extend(row.params());
            }
        }
        let exists = |part: Option<&str>| {
            part.map_or("TRUE".to_owned(), |p| format!("EXISTS (SELECT 1 FROM {p})"))
        };
        let sql = format!(
            "WITH {} SELECT {}, {}",
            parts.join(", "),
            exists(checked),
            exists(gate)
        );
        let row = query_opt(&self.conn().await?, &sql, &params)
            .await?
            .ok_or_else(|| StoreError::new("completing a login returned no row"))?;
        let (passed, ended): (bool, bool) = (rows::get(&row, 0)?, rows::get(&row, 1)?);
        Ok(match (passed, ended) {
            (false, _) => Ending::CheckFailed,
            (true, false) => Ending::AlreadyEnded,
            (true, true) => Ending::Ended,
        })
    }
}

#[async_trait]
impl CodeStore for PgStore {
    async fn issue_code(&self, c: &AuthorizationCode, grant_created_at: i64) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        insert_code(&tx, c, grant_created_at).await?;
        tx.commit().await.map_err(err)
    }

    async fn complete_login(&self, c: &Completion) -> StoreResult<()> {
        self.complete_login_ending(c, None, None).await.map(|_| ())
    }

    async fn code_with_user(
        &self,
        code: &StoreKey,
    ) -> StoreResult<Option<(AuthorizationCode, Option<User>)>> {
        // One statement instead of the code's and then the user's: a statement is what a login
        // costs the database (BENCHMARKS.md).
        let sql = format!(
            "SELECT {}, {} FROM authorization_codes c JOIN grants g ON g.id = c.grant_id
             LEFT JOIN users ON users.id = c.user_id
             WHERE c.code_hash = $1",
            rows::CODE,
            rows::USER
        );
        let Some(row) = query_opt(&self.conn().await?, &sql, &[&code.as_str()]).await? else {
            return Ok(None);
        };
        let user = rows::user_or_none(&row, rows::CODE_COLUMNS)?;
        Ok(Some((rows::code(&row)?, user)))
    }

    async fn redeem_code(
        &self,
        code: &StoreKey,
        now: i64,
        issued: &Issued,
    ) -> StoreResult<Consumed> {
        // One statement: the conditional UPDATE takes the row's lock, so a second instance's
        // statement waits for this one and then finds the code consumed; the tokens are
        // inserted only from the row it consumed. One round trip instead of five.
        let code_hash = code.as_str();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&now, &code_hash];
        let mut parts = vec![
            "consumed AS (UPDATE authorization_codes SET consumed_at = $1::bigint
                 WHERE code_hash = $2::text AND consumed_at IS NULL RETURNING 1)"
                .to_owned(),
        ];
        let access = access_token_row(&issued.access);
        let refresh = issued.refresh.as_ref().map(refresh_token_row);
        for (name, row) in [("access", Some(&access)), ("refresh", refresh.as_ref())] {
            if let Some(row) = row {
                let insert = row.insert_from(params.len() + 1, "consumed");
                parts.push(format!("{name} AS ({insert})"));
                params.extend(row.params());
            }
        }
        let sql = format!(
            "WITH {} SELECT EXISTS (SELECT 1 FROM consumed),
                 EXISTS (SELECT 1 FROM authorization_codes WHERE code_hash = $2::text)",
            parts.join(", ")
        );
        let row = query_opt(&self.conn().await?, &sql, &params)
            .await?
            .ok_or_else(|| StoreError::new("redeeming a code returned no row"))?;
        let consumed: bool = rows::get(&row, 0)?;
        let exists: bool = rows::get(&row, 1)?;
        Ok(match (consumed, exists) {
            (true, _) => Consumed::Fresh,
            (false, true) => Consumed::AlreadyUsed,
            (false, false) => Consumed::Unknown,
        })
    }
}

#[async_trait]
impl RefreshTokenStore for PgStore {
    async fn refresh_token(&self, token: &StoreKey) -> StoreResult<Option<RefreshTokenState>> {
        let sql = format!(
            "SELECT {} FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
             WHERE r.token_hash = $1",
            rows::REFRESH
        );
        let row = query_opt(&self.conn().await?, &sql, &[&token.as_str()]).await?;
        row.as_ref().map(rows::refresh).transpose()
    }

    async fn exchange_refresh_token(
        &self,
        token: &StoreKey,
        now: i64,
        grace: i64,
        successor: &RefreshToken,
        access: &AccessTokenRecord,
    ) -> StoreResult<RefreshOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(err)?;
        // The first use takes the row's lock: a concurrent exchange of the same token waits for
        // this commit, then finds it used and goes down the grace or reuse path below.
        let first_use = execute(
            &tx,
            "UPDATE refresh_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
               AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NULL)",
            &[&now, &token.as_str()],
        )
        .await?;
        if first_use == 1 {
            insert_refresh_token(&tx, successor).await?;
            insert_access_token(&tx, access).await?;
            tx.commit().await.map_err(err)?;
            return Ok(RefreshOutcome::Rotated);
        }
        // FOR UPDATE: the grace decision and a reuse's revocation see the token as it stands,
        // not as another instance is changing it.
        let found = query_opt(
            &tx,
            "SELECT r.used_at, r.grant_id, r.expires_at, g.revoked_at,
                (SELECT s.used_at IS NULL FROM refresh_tokens s
                  WHERE s.token_hash = $2 AND s.parent_hash = r.token_hash)
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
             WHERE r.token_hash = $1
             FOR UPDATE OF r",
            &[&token.as_str(), &successor.token_hash.as_str()],
        )
        .await?;
        let Some(row) = found else {
            return Ok(RefreshOutcome::Invalid);
        };
        let used_at: Option<i64> = rows::get(&row, 0)?;
        let grant_id: String = rows::get(&row, 1)?;
        let expires_at: i64 = rows::get(&row, 2)?;
        let revoked_at: Option<i64> = rows::get(&row, 3)?;
        let successor_unused: Option<bool> = rows::get(&row, 4)?;
        if revoked_at.is_some() || expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        let outcome = match used_at {
            Some(used) if now - used <= grace && successor_unused == Some(true) => {
                insert_access_token(&tx, access).await?;
                RefreshOutcome::WithinGrace
            }
            Some(_) => {
                revoke_grant(&tx, &grant_id, now).await?;
                RefreshOutcome::Reused
            }
            None => RefreshOutcome::Invalid,
        };
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }
}

#[async_trait]
impl GrantStore for PgStore {
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        revoke_grant(&self.conn().await?, grant_id, now).await
    }

    async fn live_access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenRecord>> {
        let row = query_opt(
            &self.conn().await?,
            "SELECT t.jti, t.grant_id, t.client_id, t.issued_at, t.expires_at, t.token_hash,
                g.nnin_consent
             FROM access_tokens t JOIN grants g ON g.id = t.grant_id
             WHERE t.jti = $1 AND t.revoked_at IS NULL AND g.revoked_at IS NULL",
            &[&jti],
        )
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(AccessTokenRecord {
            jti: rows::get(&r, 0)?,
            grant_id: rows::get(&r, 1)?,
            client_id: rows::get(&r, 2)?,
            issued_at: rows::get(&r, 3)?,
            expires_at: rows::get(&r, 4)?,
            token_hash: rows::get(&r, 5)?,
            nnin_consent: rows::get(&r, 6)?,
        }))
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            "UPDATE access_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL",
            &[&now, &jti],
        )
        .await?;
        Ok(())
    }

    async fn revoke_machine_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        _now: i64,
    ) -> StoreResult<()> {
        // Expired revocations are deleted by housekeeping, not by every revocation.
        execute(
            &self.conn().await?,
            "INSERT INTO revoked_machine_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&jti, &client_id, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn machine_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        Ok(query_opt(
            &self.conn().await?,
            "SELECT 1 FROM revoked_machine_tokens WHERE jti = $1",
            &[&jti],
        )
        .await?
        .is_some())
    }
}

#[async_trait]
impl ReplayStore for PgStore {
    async fn record_client_jwt_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        // One statement: a new jti is inserted; a kept one is taken over only if it has
        // expired (the row's lock decides between two instances). No row back: a replay.
        let row = query_opt(
            &self.conn().await?,
            "INSERT INTO client_jwt_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
                 WHERE client_jwt_jtis.expires_at <= $4
             RETURNING 1",
            &[&client_id, &jti, &expires_at, &now],
        )
        .await?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl PushedRequestStore for PgStore {
    async fn push_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        request: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        execute(
            &self.conn().await?,
            "INSERT INTO pushed_requests (request_uri_hash, client_id, request, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&request_uri.as_str(), &client_id, &request, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_uri: &StoreKey,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Taken> {
        let conn = self.conn().await?;
        let taken = query_opt(
            &conn,
            "UPDATE pushed_requests SET used_at = $3
             WHERE request_uri_hash = $1 AND client_id = $2 AND used_at IS NULL
               AND expires_at > $3
             RETURNING request",
            &[&request_uri.as_str(), &client_id, &now],
        )
        .await?;
        if let Some(row) = taken {
            return Ok(Taken::Request(rows::get(&row, 0)?));
        }
        // Why not: read after the conditional write decided, so only the message depends on it.
        let found = query_opt(
            &conn,
            "SELECT client_id, used_at FROM pushed_requests WHERE request_uri_hash = $1",
            &[&request_uri.as_str()],
        )
        .await?;
        Ok(match found {
            None => Taken::Unknown,
            Some(r) if rows::get::<String>(&r, 0)? != client_id => Taken::OtherClient,
            Some(r) if rows::get::<Option<i64>>(&r, 1)?.is_some() => Taken::Used,
            Some(_) => Taken::Expired,
        })
    }
}

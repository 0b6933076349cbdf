//! The shared store: PostgreSQL, for several identical provider instances over one database
//! (`--database-url postgres://...`). SQLite stays the default for one machine.
//!
//! Every instance sees the same records, logins in progress included (`flows.rs`), so any
//! request may land on any instance. Nothing an instance keeps in its own memory decides an
//! outcome: every read-then-write is one conditional statement or runs under a row or advisory
//! lock (docs/storage.md names each).
//!
//! The driver is tokio-postgres with the deadpool pool rather than sqlx: on the statements a
//! login runs it cost less CPU per statement on this machine and adds fewer crates to the
//! first build (BENCHMARKS.md, "Choosing the PostgreSQL driver"). Statements are prepared once
//! per connection (`prepare_cached`).
//!
//! A connection that the database closed (a restart) is dropped when it is handed back and a
//! new one is opened for the next request, so an instance recovers by itself.

mod accounts;
mod biometrics;
mod flows;
mod grants;
mod housekeeping;
mod keys;
mod migrate;
mod rows;
#[cfg(test)]
mod tests;

pub use flows::PgFlows;
pub use migrate::LATEST as SCHEMA_VERSION;

use super::{PoolStatus, StoreError, StoreResult};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::time::Duration;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// How the provider connects to PostgreSQL. Its `Debug` masks the URL's password.
#[derive(Clone)]
pub struct PgOptions {
    /// `postgres://user:password@host:port/database?options=...` (libpq's URL form).
    pub url: String,
    /// Connections kept at most per instance.
    pub pool_size: usize,
    /// Any statement running longer is cancelled by the database.
    pub statement_timeout: Duration,
    /// The schema the tables live in (`search_path`); None: the user's default.
    pub schema: Option<String>,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("schema", &self.schema)
            .finish()
    }
}

impl PgOptions {
    pub fn new(url: &str) -> PgOptions {
        PgOptions {
            url: url.to_owned(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(5),
            schema: None,
        }
    }
}

/// The PostgreSQL store; cheap to clone (the clones share the pool).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// A temporary schema, dropped with the last clone: for tests.
    temporary: Option<std::sync::Arc<TemporarySchema>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

pub(super) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(e)
}

#[cfg(test)]
#[test]
fn the_password_of_a_database_url_is_never_shown() {
    let url = "postgres://bankid:s3cret@db.internal:5432/bankid";
    assert_eq!(
        redact_url(url),
        "postgres://bankid:***@db.internal:5432/bankid"
    );
    assert!(!format!("{:?}", PgOptions::new(url)).contains("s3cret"));
    assert_eq!(
        redact_url("postgres://bankid@db/bankid"),
        "postgres://bankid@db/bankid"
    );
    assert!(!redact_url("host=db password=s3cret").contains("s3cret"));
}

/// The URL with its password, if any, replaced: what may be printed or logged.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(a connection string that is not a URL)".to_owned(),
    }
}

/// Whether a string names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PgStore {
    /// Connects, and brings the schema up to date under an advisory lock (two instances
    /// starting together take turns); a schema newer than this build is refused.
    pub async fn open(options: &PgOptions) -> StoreResult<PgStore> {
        let store = PgStore::connect(options)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema; the first statement opens the first connection.
    pub fn connect(options: &PgOptions) -> StoreResult<PgStore> {
        let mut config: tokio_postgres::Config = options.url.parse().map_err(|e| {
            err(format!(
                "the database URL {} does not parse: {e}",
                redact_url(&options.url)
            ))
        })?;
        // Notices (such as "already exists, skipping") are not worth a log line.
        let mut settings = format!(
            "-c client_min_messages=warning -c statement_timeout={}",
            options.statement_timeout.as_millis()
        );
        if let Some(schema) = &options.schema {
            settings.push_str(&format!(" -c search_path={schema}"));
        }
        // Options the URL carries (`?options=-csearch_path%3Dother`) come first; ours after.
        if let Some(given) = config.get_options() {
            settings = format!("{given} {settings}");
        }
        config.options(&settings);
        config.application_name("bankid-oidc");
        config.connect_timeout(Duration::from_secs(5));
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                // A closed connection (the database restarted) is found when it comes back to
                // the pool and replaced; no round trip per checkout.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(err)?;
        Ok(PgStore {
            pool,
            temporary: None,
        })
    }

    /// A store in a new schema of the database at `url`, dropped when the last clone is: for
    /// tests (`BANKID_OIDC_TEST_DATABASE_URL`).
    pub async fn temporary(url: &str) -> StoreResult<PgStore> {
        let schema = format!("test_{}", crate::secret::new_id().to_lowercase());
        let schema: String = schema
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let admin = PgStore::connect(&PgOptions::new(url))?;
        admin
            .conn()
            .await?
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .map_err(err)?;
        let mut options = PgOptions::new(url);
        options.schema = Some(schema.clone());
        options.pool_size = 4;
        let mut store = PgStore::open(&options).await?;
        store.temporary = Some(std::sync::Arc::new(TemporarySchema {
            url: url.to_owned(),
            schema,
        }));
        Ok(store)
    }

    /// Keeps a flow (a test's shortcut to `PgFlows::create_flow`).
    #[cfg(test)]
    async fn create_flow_for_test(&self, flow: &super::LoginFlow) -> bool {
        use super::FlowStore;
        PgFlows::new(self).create_flow(flow).await.unwrap()
    }

    /// Runs SQL as it is, outside the store's records (creating a schema for tests, say).
    pub async fn execute_batch(&self, sql: &str) -> StoreResult<()> {
        self.conn().await?.batch_execute(sql).await.map_err(err)
    }

    /// Runs the migrations (the `migrate` command; `open` does it too).
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        migrate::run(&mut conn).await
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        migrate::version(&self.conn().await?).await
    }

    async fn conn(&self) -> StoreResult<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| err(format!("no database connection: {e}")))
    }

    pub(super) fn status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            size: status.size,
            idle: status.available,
            max: status.max_size,
        }
    }
}

/// A test's schema, dropped on a thread of its own when the store is (a test's runtime may be
/// ending).
struct TemporarySchema {
    url: String,
    schema: String,
}

impl Drop for TemporarySchema {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One row or none, by a statement prepared once per connection.
async fn query_opt(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Option<Row>> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.query_opt(&statement, params).await.map_err(err)
}

async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.query(&statement, params).await.map_err(err)
}

/// Rows changed.
async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.execute(&statement, params).await.map_err(err)
}

/// Whether a user with this id exists (a script is set only for a user who does).
async fn user_exists(c: &impl GenericClient, user_id: &str) -> StoreResult<bool> {
    Ok(
        query_opt(c, "SELECT 1 FROM users WHERE id = $1", &[&user_id])
            .await?
            .is_some(),
    )
}

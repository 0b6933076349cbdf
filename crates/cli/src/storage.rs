//! Where the provider's records live: SQLite in the data directory (the default, one machine),
//! or PostgreSQL with `--database-url` (several instances over one database). Every command
//! opens its store here, so each works with either.

use crate::admin::DB_FILE;
use anyhow::Context;
use bankid_oidc_server::store::postgres::{is_postgres_url, redact_url};
use bankid_oidc_server::store::{PgOptions, PgStore, SqliteStore, Store};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Clone, Debug)]
pub struct StorageArgs {
    /// Where the embedded store (SQLite) and generated files live.
    #[arg(
        long,
        global = true,
        env = "BANKID_OIDC_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,
    /// A PostgreSQL database (postgres://user:password@host:port/database) instead of the
    /// SQLite file in the data directory: for several instances over one database.
    #[arg(
        long,
        global = true,
        env = "BANKID_OIDC_DATABASE_URL",
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// PostgreSQL connections one instance keeps at most.
    #[arg(long, global = true, env = "BANKID_OIDC_DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub db_pool_size: u16,
    /// Milliseconds after which PostgreSQL cancels a statement.
    #[arg(long, global = true, env = "BANKID_OIDC_DB_STATEMENT_TIMEOUT_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub db_statement_timeout_ms: u64,
}

/// An open store, by kind: `serve` needs to know which (logins in progress, write statistics).
pub enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Backend {
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => s.clone(),
            Backend::Postgres(s) => s.clone(),
        }
    }
}

impl StorageArgs {
    /// The PostgreSQL options, when a database URL is given; an error for a URL of another kind.
    pub fn postgres(&self) -> anyhow::Result<Option<PgOptions>> {
        let Some(url) = &self.database_url else {
            return Ok(None);
        };
        if !is_postgres_url(url) {
            anyhow::bail!(
                "--database-url must be a PostgreSQL URL (postgres://user@host:5432/database); \
                 got {}. Without it the store is SQLite in --data-dir",
                redact_url(url)
            );
        }
        let mut options = PgOptions::new(url);
        options.pool_size = usize::from(self.db_pool_size);
        options.statement_timeout = Duration::from_millis(self.db_statement_timeout_ms);
        Ok(Some(options))
    }

    /// Opens the store (bringing its schema up to date).
    pub async fn open(&self) -> anyhow::Result<Backend> {
        match self.postgres()? {
            Some(options) => PgStore::open(&options)
                .await
                .map(|s| Backend::Postgres(Arc::new(s)))
                .with_context(|| format!("opening the database {}", redact_url(&options.url))),
            None => open_sqlite(&self.data_dir)
                .await
                .map(|s| Backend::Sqlite(Arc::new(s))),
        }
    }

    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(self.open().await?.store())
    }

    /// How the store is named to a person: the database (without its password) or the file.
    pub fn describe(&self) -> String {
        match &self.database_url {
            Some(url) => format!("PostgreSQL {}", redact_url(url)),
            None => format!("SQLite {}", self.data_dir.join(DB_FILE).display()),
        }
    }
}

/// Opens the SQLite store in `data_dir`, creating the directory if needed.
async fn open_sqlite(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    create_private_dir(data_dir)?;
    let path = data_dir.join(DB_FILE);
    SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening the store {}", path.display()))
}

/// Creates the data directory, readable by its owner only, if it does not exist.
pub fn create_private_dir(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// `bankid-oidc migrate`: brings the store's schema up to date and says which version it is.
pub async fn migrate(storage: &StorageArgs) -> anyhow::Result<()> {
    match storage.open().await? {
        Backend::Postgres(store) => {
            println!(
                "{}: schema version {}",
                storage.describe(),
                store.schema_version().await?
            );
        }
        Backend::Sqlite(store) => {
            println!(
                "{}: schema version {}",
                storage.describe(),
                store.schema_version()?
            );
        }
    }
    Ok(())
}

//! The embedded store: SQLite in WAL mode, so that the CLI can add clients and users while the
//! server runs and the server sees them on the next request.
//!
//! Two roles, after what SQLite is good at:
//!
//! - **Writes** go to one connection on its own thread ([`writer`]), which commits the writes
//!   waiting for it together: one fsync for all of them, and each answered only after that
//!   commit is on disk (`synchronous = FULL`).
//! - **Logins in progress** are not here: they are kept in memory (`store::flows`).
//! - **Reads** run where they are asked for, on a connection from a small pool. A read here is a
//!   lookup by key in pages the OS already caches: a few microseconds, less than handing it to
//!   another thread and back would cost (BENCHMARKS.md measures both), and in WAL mode a reader
//!   never waits for the writer or its fsync. What can wait (a write, a purge, another
//!   process's lock) never runs on the caller's thread.
//!
//! rusqlite rather than sqlx: sqlx runs each SQLite connection on a worker thread and sends it
//! every statement over a channel, two thread hand-offs per statement, which cost more CPU than
//! the rest of a login together (BENCHMARKS.md, "What bounds each scenario").

mod biometrics;
mod ciba;
mod clients;
mod codes;
mod encryption_keys;
mod grants;
mod housekeeping;
mod keys;
mod login_scripts;
mod migrate;
mod pushed_requests;
mod refresh_tokens;
mod replay;
mod rows;
mod secrets;
mod seed;
mod sessions;
#[cfg(test)]
mod tests;
mod users;
mod writer;

use super::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use writer::Writer;

pub use writer::WriteStats;

/// How many idle read connections are kept; more are opened when needed and closed after.
const IDLE_READERS: usize = 8;
/// Prepared statements kept per connection (every statement of the store fits).
const STATEMENT_CACHE: usize = 128;

/// The SQLite store; cheap to clone (the clones share the connections).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    idle_readers: Mutex<Vec<Connection>>,
    /// A temporary database's directory, removed with the store.
    temporary: Option<PathBuf>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(dir) = &self.temporary {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(e)
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Statement journals (each write runs in a savepoint) in memory, not in temporary files
    // opened and removed for every write.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = open_connection(path)?;
    // Another process (the CLI) may hold the write lock for a moment: wait for it. This runs on
    // the writer's own thread.
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database would not switch to WAL (journal_mode is {mode})"
        )));
    }
    // FULL: a write is on disk before it is answered (shared/DESIGN.md, "Nothing lost").
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // The writer's page cache lasts (readers' caches are dropped at every commit of another
    // connection): 8 MiB keeps the inner pages of the indexes a login writes to.
    conn.pragma_update(None, "cache_size", -8_192)?;
    migrate::run(&mut conn)?;
    Ok(conn)
}

/// [`open_writer`], tried again for up to ten seconds while the database is busy. Two
/// processes creating a new database at once (a CLI command beside `serve`, two test
/// providers) both take a lock to switch it to WAL and to migrate it, and SQLite answers
/// `SQLITE_BUSY` at once rather than calling the busy handler where waiting could deadlock.
/// The migration is one transaction and the switch to WAL is idempotent, so trying again is
/// safe.
fn open_writer_waiting(path: &Path) -> rusqlite::Result<Connection> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match open_writer(path) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_connection(path)?;
    // Readers do not wait on writers in WAL mode; a lock they might meet (recovery after a
    // crash, at start) is short.
    conn.busy_timeout(Duration::from_millis(200))?;
    conn.pragma_update(None, "query_only", true)?;
    // A reader's page cache is dropped whenever the writer commits (WAL), which under load is
    // between any two reads: a small one does as well and keeps the provider's memory small.
    conn.pragma_update(None, "cache_size", -512)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let owned = path.to_owned();
        // Opening may wait for another process's lock and runs the migrations: not on the
        // runtime's threads.
        let writer = tokio::task::spawn_blocking(move || open_writer_waiting(&owned))
            .await
            .map_err(err)?
            .map_err(|e| err(format!("{}: {e}", path.display())))?;
        Self::with_writer(path.to_owned(), writer, None)
    }

    /// A store in a new temporary database, removed when the store is dropped: for tests.
    pub async fn temporary() -> StoreResult<SqliteStore> {
        let dir =
            std::env::temp_dir().join(format!("bankid-oidc-store-{}", crate::secret::new_id()));
        std::fs::create_dir_all(&dir).map_err(err)?;
        let path = dir.join("bankid-oidc.db");
        let owned = path.clone();
        let writer = tokio::task::spawn_blocking(move || open_writer_waiting(&owned))
            .await
            .map_err(err)?
            .map_err(err)?;
        Self::with_writer(path, writer, Some(dir))
    }

    fn with_writer(
        path: PathBuf,
        writer: Connection,
        temporary: Option<PathBuf>,
    ) -> StoreResult<SqliteStore> {
        let writer = Writer::start(writer, "bankid-oidc-store-writer").map_err(err)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer,
                idle_readers: Mutex::new(Vec::new()),
                temporary,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many writes the writer has committed, in how many transactions.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writer.stats()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.read(migrate::version)
    }

    /// Runs a read on a pooled connection, on the caller's thread (see the module comment).
    fn read<R>(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> StoreResult<R> {
        let idle = self.inner.idle_readers.lock().expect("reader pool").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.inner.path).map_err(err)?,
        };
        let result = work(&conn);
        let mut idle = self.inner.idle_readers.lock().expect("reader pool");
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result.map_err(err)
    }

    /// Runs a write in the writer's next transaction; answered after it is on disk.
    async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.inner.writer.write(work).await
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Runs `insert`; `Ok(false)` if it broke a uniqueness rule (a taken id).
fn insert_unique(insert: impl FnOnce() -> rusqlite::Result<usize>) -> rusqlite::Result<bool> {
    match insert() {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether a user with this id exists (a script is set only for a user who does).
fn user_exists(conn: &rusqlite::Connection, user_id: &str) -> rusqlite::Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?")?
        .query_row([user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

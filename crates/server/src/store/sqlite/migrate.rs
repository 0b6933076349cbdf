//! Schema migrations: the SQL files in `migrations/sqlite`, applied in order, each in its own
//! transaction together with `PRAGMA user_version`, which records how far a database is.
//!
//! Databases made by earlier versions (which used sqlx's migrator) keep their data: their
//! `_sqlx_migrations` table says which files they have, and that becomes their `user_version`.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// (version, SQL), in order. A new migration is a new file and a new line; a file, once
/// released, is never edited.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_token_lifecycle.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_request_security.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_machine_tokens.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_fewer_writes.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_issuers.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/sqlite/0007_biometrics.sql"),
    ),
    (8, include_str!("../../../migrations/sqlite/0008_ciba.sql")),
    (
        9,
        include_str!("../../../migrations/sqlite/0009_login_scripts.sql"),
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Brings the database up to date. Concurrent processes (a server starting while the CLI runs)
/// take turns: each migration checks the version inside its write transaction.
pub fn run(conn: &mut Connection) -> rusqlite::Result<()> {
    adopt_sqlx_history(conn)?;
    let found = version(conn)?;
    if found > LATEST {
        // A newer version's schema: this build would misread it, and must not "migrate" it.
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database has schema version {found}, made by a newer bankid-oidc; this one \
             knows versions up to {LATEST}"
        )));
    }
    for (version, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current >= *version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema version of a database (0 when new).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn adopt_sqlx_history(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let has_sqlx: bool = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if current == 0 && has_sqlx {
        let applied: Option<i64> = tx.query_row(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1",
            [],
            |r| r.get(0),
        )?;
        if let Some(applied) = applied {
            tx.pragma_update(None, "user_version", applied)?;
        }
    }
    tx.commit()
}

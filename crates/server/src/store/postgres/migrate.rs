//! Schema migrations: the SQL files in `migrations/postgres`, applied in order in one
//! transaction that holds an advisory lock, so that instances starting together take turns and
//! the second finds the work done. `bankid_oidc_schema` records how far a database is.

use super::{err, query_opt};
use crate::store::StoreResult;
use deadpool_postgres::{GenericClient, Object};

/// (version, SQL), in order. A new migration is a new file and a new line; a file, once
/// released, is never edited.
const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    include_str!("../../../migrations/postgres/0001_schema.sql"),
)];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock migrations hold, per schema (tests run several schemas in one database).
const LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('bankid-oidc migrate ' || current_schema()))";

/// Brings the database up to date, or refuses a schema newer than this build.
pub async fn run(conn: &mut Object) -> StoreResult<()> {
    let tx = conn.transaction().await.map_err(err)?;
    tx.batch_execute(LOCK).await.map_err(err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS bankid_oidc_schema (version BIGINT NOT NULL)")
        .await
        .map_err(err)?;
    let found = version(&tx).await?;
    if found > LATEST {
        // A newer version's schema: this build would misread it, and must not "migrate" it.
        return Err(err(format!(
            "the database has schema version {found}, made by a newer bankid-oidc; this one \
             knows versions up to {LATEST}: run the newer version, or point this one at \
             another database"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| err(format!("migration {version} failed: {e}")))?;
    }
    if found < LATEST {
        tx.execute("DELETE FROM bankid_oidc_schema", &[])
            .await
            .map_err(err)?;
        tx.execute(
            "INSERT INTO bankid_oidc_schema (version) VALUES ($1)",
            &[&LATEST],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

/// The schema version of a database (0 when new).
pub async fn version(c: &impl GenericClient) -> StoreResult<i64> {
    let exists = query_opt(
        c,
        "SELECT 1 FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_name = 'bankid_oidc_schema'",
        &[],
    )
    .await?
    .is_some();
    if !exists {
        return Ok(0);
    }
    let row = query_opt(c, "SELECT max(version) FROM bankid_oidc_schema", &[]).await?;
    Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0))
}

//! A seed file's changes, in one write: all of them or none.

use super::SqliteStore;
use super::biometrics::write_app_script;
use super::clients::{client_params, insert_client, update_client};
use super::users::{insert_user, update_user_profile};
use crate::store::*;
use async_trait::async_trait;

#[async_trait]
impl SeedStore for SqliteStore {
    async fn apply_seed(&self, changes: SeedChanges) -> StoreResult<()> {
        let add_clients = changes
            .add_clients
            .iter()
            .map(client_params)
            .collect::<StoreResult<Vec<_>>>()?;
        let update_clients = changes
            .update_clients
            .iter()
            .map(client_params)
            .collect::<StoreResult<Vec<_>>>()?;
        // The write runs in a savepoint of its own: an error here rolls back every change
        // before it. An insert under a key taken meanwhile fails on the unique index.
        self.write(move |conn| {
            for values in &add_clients {
                insert_client(conn, values)?;
            }
            for values in &update_clients {
                if update_client(conn, values)? != 1 {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
            }
            for user in &changes.add_users {
                insert_user(conn, user)?;
            }
            for user in &changes.update_users {
                if update_user_profile(conn, user)? != 1 {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
            }
            for (user_id, script) in &changes.app_scripts {
                write_app_script(conn, user_id, *script)?;
            }
            Ok(())
        })
        .await
    }
}

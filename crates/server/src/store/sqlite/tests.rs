//! The SQLite store's own rules: group commit, a failing write alone, a login's end at once,
//! migrations from earlier versions, housekeeping in chunks, reads that stay compiled, and the
//! readiness ping.

use super::writer::Writer;
use super::{SqliteStore, migrate};
use crate::secret::{new_id, random_token};
use crate::store::fixtures::{client, code};
use crate::store::*;
use bankid_oidc_core::acr::Method;
use rusqlite::Connection;

/// A user with fresh ids and this NNIN.
fn user(nnin: &str) -> User {
    User {
        id: new_id(),
        nnin: nnin.to_owned(),
        pid: new_id(),
        ..crate::store::fixtures::user("")
    }
}

/// A login as the provider stores it: the user read at two steps, the end with a new session and a code,
/// the code redeemed. Returns the redeemed access token's jti.
async fn login(store: &SqliteStore, user: &User, client_id: &str) -> String {
    store.user_by_nnin(&user.nnin).await.unwrap().unwrap();
    store.user(&user.id).await.unwrap().unwrap();
    let session = Session {
        id: new_id(),
        user_id: Some(user.id.clone()),
        method: Some(Method::Bid),
        auth_time: Some(10),
        created_at: 10,
        expires_at: 1000,
    };
    let cookie = StoreKey::of(&random_token());
    let c = code(&user.id, client_id, &session.id);
    let completion = Completion {
        login: Some(NewLogin {
            replaced_session_id: None,
            session,
            cookie: cookie.clone(),
        }),
        code: c.clone(),
        grant_created_at: 10,
    };
    store.complete_login(&completion).await.unwrap();
    assert!(
        store
            .session_by_cookie(&cookie, 11)
            .await
            .unwrap()
            .is_some()
    );
    let found = store.code(&c.code_hash).await.unwrap().unwrap();
    assert_eq!(found.grant_id, c.grant_id);
    let jti = new_id();
    let issued = Issued {
        access: AccessTokenRecord {
            jti: jti.clone(),
            grant_id: c.grant_id.clone(),
            client_id: client_id.into(),
            issued_at: 11,
            expires_at: 311,
            token_hash: Some(random_token()),
            nnin_consent: false,
        },
        refresh: None,
    };
    assert_eq!(
        store.redeem_code(&c.code_hash, 11, &issued).await.unwrap(),
        Consumed::Fresh
    );
    assert!(store.live_access_token(&jti).await.unwrap().is_some());
    store.client(client_id).await.unwrap().unwrap();
    jti
}

/// Holds the database's write lock from another connection until dropped, so that writes queue
/// up behind the writer's next transaction.
struct WriteLock(Connection);

impl WriteLock {
    fn take(store: &SqliteStore) -> WriteLock {
        let conn = Connection::open(store.path()).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        WriteLock(conn)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        self.0.execute_batch("COMMIT").unwrap();
    }
}

/// Waits until `n` writes have been handed to the writer (an event, not a time).
async fn queued(store: &SqliteStore, n: u64) {
    while store.write_stats().submitted < n {
        tokio::task::yield_now().await;
    }
}

/// Waits until the writer has taken `n` writes into transactions.
async fn writer_took(store: &SqliteStore, n: u64) {
    while store.write_stats().taken < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn writes_that_wait_together_are_committed_in_one_transaction() {
    let store = SqliteStore::temporary().await.unwrap();
    let before = store.write_stats();
    let lock = WriteLock::take(&store);
    // The first write holds the writer at BEGIN (the lock is taken); the rest queue behind it.
    let first = tokio::spawn({
        let store = store.clone();
        async move { store.add_user(&user("01010100001")).await }
    });
    // The writer took it and waits at BEGIN.
    writer_took(&store, before.taken + 1).await;
    let rest: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.add_user(&user(&format!("0202020{i:04}"))).await })
        })
        .collect();
    queued(&store, before.submitted + 51).await;
    drop(lock);
    assert!(first.await.unwrap().unwrap());
    for added in rest {
        assert!(added.await.unwrap().unwrap());
    }
    let after = store.write_stats();
    assert_eq!(after.writes - before.writes, 51);
    assert_eq!(after.transactions - before.transactions, 2);
    assert_eq!(store.users().await.unwrap().len(), 51);
}

#[tokio::test]
async fn a_failing_write_is_rolled_back_alone_and_its_batch_commits() {
    let store = SqliteStore::temporary().await.unwrap();
    let u = user("03030300001");
    store.add_user(&u).await.unwrap();
    let taken = code(&u.id, "shop", "s");
    store.issue_code(&taken, 10).await.unwrap();
    let before = store.write_stats();
    let lock = WriteLock::take(&store);
    let issue = |c: AuthorizationCode| {
        let store = store.clone();
        tokio::spawn(async move { store.issue_code(&c, 10).await })
    };
    let opener = issue(code(&u.id, "shop", "s"));
    writer_took(&store, before.taken + 1).await;
    let (a, b) = (code(&u.id, "shop", "s"), code(&u.id, "shop", "s"));
    let first = issue(a.clone());
    // The same code hash again, under a new grant: the primary key refuses it.
    let mut duplicate = code(&u.id, "shop", "s");
    duplicate.code_hash = taken.code_hash.clone();
    duplicate.redirect_uri = "https://attacker.example/cb".into();
    let dup = issue(duplicate.clone());
    let second = issue(b.clone());
    queued(&store, before.submitted + 4).await;
    drop(lock);
    opener.await.unwrap().unwrap();
    first.await.unwrap().unwrap();
    let refused = dup.await.unwrap().unwrap_err();
    assert!(refused.to_string().contains("UNIQUE"), "{refused}");
    second.await.unwrap().unwrap();
    assert_eq!(store.write_stats().transactions - before.transactions, 2);
    for c in [&a, &b] {
        assert!(store.code(&c.code_hash).await.unwrap().is_some());
    }
    // Nothing of the refused write stayed: neither its grant nor a change to the code it hit.
    let grants: i64 = store
        .read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM grants WHERE id = ?",
                [&duplicate.grant_id],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(grants, 0);
    let kept = store.code(&taken.code_hash).await.unwrap().unwrap();
    assert_eq!(kept.redirect_uri, taken.redirect_uri);
}

#[tokio::test]
async fn a_login_ends_once_and_its_session_grant_and_code_are_stored_together() {
    let store = SqliteStore::temporary().await.unwrap();
    let u = user("06060600001");
    store.add_user(&u).await.unwrap();
    store.count_login_failure(&u.id, 5, 5, 900).await.unwrap();
    let earlier = Session {
        id: new_id(),
        user_id: Some(u.id.clone()),
        method: Some(Method::Bid),
        auth_time: Some(1),
        created_at: 1,
        expires_at: 1000,
    };
    store
        .create_session(&earlier, &StoreKey::of("earlier-cookie"))
        .await
        .unwrap();
    let session = Session {
        id: new_id(),
        auth_time: Some(10),
        created_at: 10,
        ..earlier.clone()
    };
    let c = code(&u.id, "shop", &session.id);
    let completion = Completion {
        login: Some(NewLogin {
            replaced_session_id: Some(earlier.id.clone()),
            session: session.clone(),
            cookie: StoreKey::of("new-cookie"),
        }),
        code: c.clone(),
        grant_created_at: 10,
    };
    let before = store.write_stats();
    store.complete_login(&completion).await.unwrap();
    assert_eq!(store.write_stats().transactions, before.transactions + 1);
    assert!(
        store
            .session_by_cookie(&StoreKey::of("earlier-cookie"), 11)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .session_by_cookie(&StoreKey::of("new-cookie"), 11)
            .await
            .unwrap()
            .unwrap()
            .id,
        session.id
    );
    let stored = store.code(&c.code_hash).await.unwrap().unwrap();
    assert_eq!(stored.session_id, session.id);
    // Only a right secret clears failures, not the end of a login (which may have checked none).
    assert_eq!(store.user(&u.id).await.unwrap().unwrap().failed_attempts, 1);
}

#[tokio::test]
async fn wrong_secrets_lock_and_a_right_one_counts_only_before_the_lock() {
    let store = SqliteStore::temporary().await.unwrap();
    let u = user("06060600001");
    store.add_user(&u).await.unwrap();
    let wrong = || store.count_login_failure(&u.id, 100, 3, 60);
    assert_eq!(
        wrong().await.unwrap(),
        Attempt::Counted {
            failed_attempts: 1,
            locked_until: None
        }
    );
    // A right secret meanwhile is accepted and leaves the count (it is not the last secret).
    assert!(store.accept_login_secret(&u.id, 100, false).await.unwrap());
    assert_eq!(
        wrong().await.unwrap(),
        Attempt::Counted {
            failed_attempts: 2,
            locked_until: None
        }
    );
    // The third failure reaches the limit and sets the lock; then nothing counts, and a right
    // secret is refused.
    assert_eq!(
        wrong().await.unwrap(),
        Attempt::Counted {
            failed_attempts: 3,
            locked_until: Some(160)
        }
    );
    assert_eq!(wrong().await.unwrap(), Attempt::Refused);
    assert!(!store.accept_login_secret(&u.id, 159, true).await.unwrap());
    assert_eq!(store.user(&u.id).await.unwrap().unwrap().failed_attempts, 3);
    // A lock that has run out starts a new count, and a right secret then starts it afresh.
    assert_eq!(
        store.count_login_failure(&u.id, 160, 3, 60).await.unwrap(),
        Attempt::Counted {
            failed_attempts: 1,
            locked_until: None
        }
    );
    // The last secret of a login right: the count is cleared.
    assert!(store.accept_login_secret(&u.id, 161, true).await.unwrap());
    assert_eq!(store.user(&u.id).await.unwrap().unwrap().failed_attempts, 0);
    assert_eq!(
        store
            .count_login_failure("nobody", 100, 3, 60)
            .await
            .unwrap(),
        Attempt::Refused
    );
    assert!(
        !store
            .accept_login_secret("nobody", 100, true)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_write_that_panics_is_rolled_back_and_the_writer_goes_on() {
    let store = SqliteStore::temporary().await.unwrap();
    let conn = Connection::open(store.path()).unwrap();
    let writer = Writer::start(conn, "test-writer").unwrap();
    let refused = writer
        .write(|conn: &Connection| -> rusqlite::Result<()> {
            conn.execute(
                "INSERT INTO provider_secrets (name, value) VALUES ('p', x'00')",
                [],
            )?;
            panic!("a bug in a write");
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("panicked"), "{refused}");
    writer
        .write(|conn: &Connection| {
            conn.execute(
                "INSERT INTO provider_secrets (name, value) VALUES ('q', x'01')",
                [],
            )
        })
        .await
        .unwrap();
    let names: Vec<String> = store
        .read(|conn| {
            conn.prepare("SELECT name FROM provider_secrets ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .unwrap();
    assert_eq!(names, ["q"]);
}

#[tokio::test]
async fn the_reads_of_a_login_are_not_compiled_again_on_every_run() {
    let store = SqliteStore::temporary().await.unwrap();
    let u = user("04040400001");
    store.add_user(&u).await.unwrap();
    store.add_client(&client("shop")).await.unwrap();
    for _ in 0..20 {
        login(&store, &u, "shop").await;
    }
    let idle = store.inner.idle_readers.lock().unwrap();
    assert!(!idle.is_empty());
    for conn in idle.iter() {
        // SAFETY: the handle is only read while `conn` is borrowed, and the statements walked
        // belong to it; none is finalized meanwhile.
        unsafe {
            use rusqlite::ffi;
            let db = conn.handle();
            let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
            while !stmt.is_null() {
                let recompiled =
                    ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
                let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt)).to_string_lossy();
                assert_eq!(recompiled, 0, "compiled again {recompiled} times: {sql}");
                stmt = ffi::sqlite3_next_stmt(db, stmt);
            }
        }
    }
}

#[tokio::test]
async fn housekeeping_deletes_in_chunks_until_nothing_expired_is_left() {
    let store = SqliteStore::temporary().await.unwrap();
    let expired = 2 * super::housekeeping::PURGE_CHUNK as usize + 5;
    let session = |expires_at: i64| Session {
        id: new_id(),
        user_id: None,
        method: None,
        auth_time: None,
        created_at: 0,
        expires_at,
    };
    let writes: Vec<_> = (0..expired)
        .map(|_| {
            let store = store.clone();
            let s = session(100);
            tokio::spawn(async move {
                store
                    .create_session(&s, &StoreKey::of(&random_token()))
                    .await
            })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    store
        .create_session(&session(10_000), &StoreKey::of("live"))
        .await
        .unwrap();
    let before = store.write_stats();
    assert_eq!(store.purge_expired(500, 0).await.unwrap(), expired as u64);
    // One write per chunk: the writer served other writes between them.
    assert!(store.write_stats().transactions - before.transactions >= 3);
    assert!(
        store
            .session_by_cookie(&StoreKey::of("live"), 500)
            .await
            .unwrap()
            .is_some()
    );
    let left: i64 = store
        .read(|c| c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(left, 1);
}

/// The tables as the sqlx-based versions left them: migrations 1 to 4 and sqlx's history.
fn sqlx_era_database(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "wal").unwrap();
    for (_, sql) in &migrate::MIGRATIONS[..4] {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (1, 'foundation', 1, x'00', 1), (2, 'token lifecycle', 1, x'00', 1),
                    (3, 'request security', 1, x'00', 1), (4, 'machine tokens', 1, x'00', 1);
         INSERT INTO clients (client_id, name, secret_hash, redirect_uris, scopes, created_at)
             VALUES ('shop', 'Shop', 'hash', '[\"https://shop.example/cb\"]', 'openid', 1);
         INSERT INTO users (id, nnin, pid, given_name, family_name, birthdate, otp, password, updated_at)
             VALUES ('u1', '01818512321', 'pid1', 'Per', 'Person', '1985-01-01', 'otp', 'pw', 1);
         INSERT INTO sessions (id, cookie_hash, user_id, created_at, expires_at)
             VALUES ('anonymous', 'h1', NULL, 1, 9999999999),
                    ('logged-in', 'h2', 'u1', 1, 9999999999);
         INSERT INTO login_flows (id, session_id, request, step, csrf, created_at, expires_at)
             VALUES ('f1', 'anonymous', '{}', 'nnin', 'c', 1, 9999999999);",
    )
    .unwrap();
}

#[tokio::test]
async fn a_database_of_the_sqlx_versions_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bankid-oidc.db");
    sqlx_era_database(&path);
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.schema_version().unwrap(), migrate::LATEST);
    assert_eq!(store.client("shop").await.unwrap().unwrap().name, "Shop");
    assert_eq!(store.users().await.unwrap()[0].nnin, "01818512321");
    assert!(
        store
            .session_by_cookie(&StoreKey::stored("h2".into()), 2)
            .await
            .unwrap()
            .is_some()
    );
    // Pre-login sessions do not survive the upgrade, nor the table of flows in progress.
    assert!(
        store
            .session_by_cookie(&StoreKey::stored("h1".into()), 2)
            .await
            .unwrap()
            .is_none()
    );
    let flows_table: i64 = store
        .read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'login_flows'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(flows_table, 0);
    drop(store);
    // Opening again changes nothing.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.schema_version().unwrap(), migrate::LATEST);
    assert_eq!(store.users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_processes_opening_a_new_database_at_once_both_find_it_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bankid-oidc.db");
    let (a, b) = tokio::join!(SqliteStore::open(&path), SqliteStore::open(&path));
    assert_eq!(a.unwrap().schema_version().unwrap(), migrate::LATEST);
    assert_eq!(b.unwrap().schema_version().unwrap(), migrate::LATEST);
}

#[tokio::test]
async fn the_writer_commits_durable_writes_with_synchronous_full() {
    let store = SqliteStore::temporary().await.unwrap();
    store.add_user(&user("05050500001")).await.unwrap();
    let level: i64 = store
        .inner
        .writer
        .write(|c: &Connection| c.pragma_query_value(None, "synchronous", |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(level, 2, "FULL");
}

fn permission(id: &str, client_id: &str, nonce: Option<&str>) -> Permission {
    Permission {
        id: id.into(),
        client_id: client_id.into(),
        type_: "payment.v1".into(),
        loa: "sub".into(),
        permission: "e30".into(),
        digest: "digest".into(),
        nonce: nonce.map(str::to_owned),
        intents: vec!["iframe".into()],
        login_hint_nnin: None,
        acr_values: vec![],
        binding_message: "Farlig frakk".into(),
        iat: 100,
        expires_at: 700,
        created_at: 100,
        token_used_at: None,
        app_request_id: None,
        grant_jwt: None,
    }
}

#[tokio::test]
async fn a_payment_nonce_is_accepted_once_per_client_and_a_refused_permission_stores_nothing() {
    let store = SqliteStore::temporary().await.unwrap();
    let first = permission("p1", "shop", Some("n1"));
    assert!(store.add_permission(&first, 1_000).await.unwrap());
    assert_eq!(store.permission("p1").await.unwrap(), Some(first));
    assert!(
        !store
            .add_permission(&permission("p2", "shop", Some("n1")), 1_000)
            .await
            .unwrap()
    );
    assert_eq!(store.permission("p2").await.unwrap(), None);
    // Another client's nonces are its own.
    assert!(
        store
            .add_permission(&permission("p3", "other", Some("n1")), 1_000)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_permission_token_is_used_once_by_its_client_before_its_exp() {
    let store = SqliteStore::temporary().await.unwrap();
    store
        .add_permission(&permission("p1", "shop", None), 0)
        .await
        .unwrap();
    store
        .add_permission(&permission("p2", "shop", None), 0)
        .await
        .unwrap();
    assert_eq!(
        store.use_permission("p1", "other", 200).await.unwrap(),
        PermissionTaken::OtherClient
    );
    assert!(matches!(
        store.use_permission("p1", "shop", 200).await.unwrap(),
        PermissionTaken::Taken(p) if p.token_used_at == Some(200)
    ));
    assert_eq!(
        store.use_permission("p1", "shop", 201).await.unwrap(),
        PermissionTaken::Used
    );
    assert_eq!(
        store.use_permission("p2", "shop", 700).await.unwrap(),
        PermissionTaken::Expired
    );
    assert_eq!(
        store.use_permission("nope", "shop", 200).await.unwrap(),
        PermissionTaken::Unknown
    );
}

#[tokio::test]
async fn the_first_grant_kept_is_the_one_every_reader_gets() {
    let store = SqliteStore::temporary().await.unwrap();
    store
        .add_permission(&permission("p1", "shop", None), 0)
        .await
        .unwrap();
    assert_eq!(
        store.keep_grant("p1", "first").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(
        store.keep_grant("p1", "second").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(store.keep_grant("nope", "x").await.unwrap(), None);
}

#[tokio::test]
async fn an_app_request_is_answered_once_only_by_its_user_while_pending() {
    let store = SqliteStore::temporary().await.unwrap();
    let u = user("01017012345");
    store.add_user(&u).await.unwrap();
    let request = |id: &str, script: Option<(AppScript, i64)>| AppRequest {
        id: id.into(),
        user_id: u.id.clone(),
        client_id: "shop".into(),
        client_name: "Shop".into(),
        binding_message: "Farlig frakk".into(),
        permission_id: None,
        content: "{\"kind\":\"login\"}".into(),
        created_at: 100,
        expires_at: 220,
        answer: None,
        answered_at: None,
        script,
    };
    for r in [
        request("a", None),
        request("b", None),
        request("c", Some((AppScript::Deny, 110))),
    ] {
        store.create_app_request(&r).await.unwrap();
    }
    assert!(
        !store
            .answer_app_request("a", "someone else", AppAnswer::Approved, 150)
            .await
            .unwrap()
    );
    assert!(
        store
            .answer_app_request("a", &u.id, AppAnswer::Approved, 150)
            .await
            .unwrap()
    );
    assert!(
        !store
            .answer_app_request("a", &u.id, AppAnswer::Denied, 151)
            .await
            .unwrap(),
        "an answered request cannot be answered again"
    );
    assert!(
        !store
            .answer_app_request("b", &u.id, AppAnswer::Approved, 220)
            .await
            .unwrap(),
        "an expired request cannot be answered"
    );
    assert!(
        !store
            .answer_app_request("c", &u.id, AppAnswer::Approved, 110)
            .await
            .unwrap(),
        "a scripted answer in effect stands"
    );
    let a = store.app_request("a").await.unwrap().unwrap();
    assert_eq!(a.status(500), AppStatus::Approved);
    let c = store.app_request("c").await.unwrap().unwrap();
    assert_eq!(c.status(110), AppStatus::Denied);
    assert_eq!(store.app_requests_of(&u.id, 150).await.unwrap().len(), 3);
    assert!(store.app_requests_of(&u.id, 220).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_scripted_answer_is_set_replaced_cleared_and_goes_with_its_user() {
    let store = SqliteStore::temporary().await.unwrap();
    let u = user("01017012345");
    store.add_user(&u).await.unwrap();
    let deny = AppScripted {
        answer: AppScript::Deny,
        delay: 2,
    };
    assert!(!store.set_app_script("nobody", Some(deny)).await.unwrap());
    assert!(store.set_app_script(&u.id, Some(deny)).await.unwrap());
    let approve = AppScripted {
        answer: AppScript::Approve,
        delay: 0,
    };
    assert!(store.set_app_script(&u.id, Some(approve)).await.unwrap());
    assert_eq!(store.app_script(&u.id).await.unwrap(), Some(approve));
    assert!(store.set_app_script(&u.id, None).await.unwrap());
    assert_eq!(store.app_script(&u.id).await.unwrap(), None);
    store.set_app_script(&u.id, Some(deny)).await.unwrap();
    assert!(store.remove_user(&u.id, 0).await.unwrap());
    assert_eq!(store.app_script(&u.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_seed_is_written_whole_or_not_at_all() {
    let store = SqliteStore::temporary().await.unwrap();
    let taken = client("taken");
    store.add_client(&taken).await.unwrap();
    let kept = user("01017012345");
    store.add_user(&kept).await.unwrap();
    let deny = AppScripted {
        answer: AppScript::Deny,
        delay: 1,
    };
    let new_user = user("02027012345");
    let renamed = User {
        given_name: "Renamed".into(),
        ..kept.clone()
    };
    // A client_id taken meanwhile: nothing of the seed is written, not even what came first.
    let conflicting = SeedChanges {
        add_clients: vec![client("new"), taken.clone()],
        update_clients: vec![],
        add_users: vec![new_user.clone()],
        update_users: vec![renamed.clone()],
        app_scripts: vec![(new_user.id.clone(), Some(deny))],
    };
    assert!(store.apply_seed(conflicting).await.is_err());
    assert_eq!(store.clients().await.unwrap(), vec![taken.clone()]);
    assert_eq!(store.users().await.unwrap(), vec![kept.clone()]);
    assert_eq!(store.app_script(&new_user.id).await.unwrap(), None);
    // A user to update that is gone: the same.
    let gone = SeedChanges {
        add_clients: vec![client("new")],
        update_users: vec![user("03037012345")],
        ..SeedChanges::default()
    };
    assert!(store.apply_seed(gone).await.is_err());
    assert!(store.client("new").await.unwrap().is_none());
    // Without conflict, all of it.
    let renamed_client = Client {
        name: "Taken AS".into(),
        ..taken.clone()
    };
    store
        .apply_seed(SeedChanges {
            add_clients: vec![client("new")],
            update_clients: vec![renamed_client.clone()],
            add_users: vec![new_user.clone()],
            update_users: vec![renamed.clone()],
            app_scripts: vec![(new_user.id.clone(), Some(deny)), (kept.id.clone(), None)],
        })
        .await
        .unwrap();
    assert_eq!(store.client("taken").await.unwrap(), Some(renamed_client));
    assert!(store.client("new").await.unwrap().is_some());
    assert_eq!(store.user(&kept.id).await.unwrap(), Some(renamed));
    assert_eq!(store.app_script(&new_user.id).await.unwrap(), Some(deny));
}

#[tokio::test]
async fn the_ping_goes_through_the_writer_and_waits_while_another_process_holds_the_write_lock() {
    let store = SqliteStore::temporary().await.unwrap();
    let before = store.write_stats().writes;
    store.ping().await.unwrap();
    assert_eq!(
        store.write_stats().writes,
        before + 1,
        "a writer round trip"
    );
    // Another process (a person's sqlite3 shell, say) holds the write lock: no login could
    // write, and the ping does not answer either.
    let other = Connection::open(store.path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let waiting = tokio::time::timeout(std::time::Duration::from_millis(500), store.ping()).await;
    assert!(waiting.is_err(), "no answer while the lock is held");
    other.execute_batch("ROLLBACK").unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.pool_status(), None, "no pool to report");
}

#[tokio::test]
async fn a_login_end_checks_the_password_failures_and_lock_before_it_ends_the_flow() {
    let store = SqliteStore::temporary().await.unwrap();
    let flows = crate::store::MemoryFlows::default();
    crate::store::fixtures::a_login_end_checks_the_password_failures_and_lock(&flows, &store).await;
}

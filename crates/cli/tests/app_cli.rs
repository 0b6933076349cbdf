//! `bankid-oidc app` and the users' scripted app answers, run as a test pipeline runs them:
//! against the data directory of a provider that runs meanwhile (here in the test process).

use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::app;
use bankid_oidc_server::store::{AppRequest, AppStatus, User};
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, TestProvider, database_url_for};
use std::path::Path;
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");

async fn cli(dir: &Path, args: &[&str]) -> Output {
    command(dir).args(args).output().await.unwrap()
}

/// The command on the store of a test provider started in `dir` (SQLite there, or its
/// PostgreSQL schema when the tests run on PostgreSQL).
fn command(dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BIN);
    command.arg("--data-dir").arg(dir);
    if let Some(url) = database_url_for(dir) {
        command.args(["--database-url", &url]);
    }
    command
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn ask(tp: &TestProvider, user: &User, binding: &str) -> AppRequest {
    // Requests are ordered to the millisecond: these are made one after another.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let client = tp.provider.client(CLIENT_ID).await.unwrap().unwrap();
    app::ask(&tp.provider, user, &client, binding, None)
        .await
        .unwrap()
}

async fn status(tp: &TestProvider, id: &str) -> AppStatus {
    app::status(&tp.provider, id).await.unwrap().unwrap()
}

#[tokio::test]
async fn app_pending_lists_and_approve_and_deny_answer_the_oldest_or_the_named_request() {
    let dir = tempfile::tempdir().unwrap();
    let tp = TestProvider::start_in(dir.path()).await;
    let kari = tp.user("Kari").clone();
    let first = ask(&tp, &kari, "Farlig frakk").await;
    let second = ask(&tp, &kari, "Blå bil").await;
    let third = ask(&tp, &kari, "Rød sykkel").await;

    let out = cli(dir.path(), &["app", "pending", "--nnin", &kari.nnin]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with(&first.id) && lines[0].contains("Farlig frakk"));
    assert!(lines[0].contains(&first.client_name) && lines[0].contains("Log in"));

    let out = cli(
        dir.path(),
        &["app", "pending", "--nnin", &kari.nnin, "--json"],
    )
    .await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[1]["id"], second.id.as_str());
    assert_eq!(json[1]["binding_message"], "Blå bil");
    assert_eq!(json[1]["content"]["kind"], "login");

    // Without --id: the oldest pending one.
    let out = cli(dir.path(), &["app", "approve", "--nnin", &kari.nnin]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&tp, &first.id).await, AppStatus::Approved);
    assert_eq!(status(&tp, &second.id).await, AppStatus::Pending);
    // With --id: that one.
    let out = cli(
        dir.path(),
        &["app", "deny", "--nnin", &kari.nnin, "--id", &third.id],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&tp, &third.id).await, AppStatus::Denied);
    assert_eq!(status(&tp, &second.id).await, AppStatus::Pending);

    // An answered request cannot be answered again.
    let out = cli(
        dir.path(),
        &["app", "approve", "--nnin", &kari.nnin, "--id", &third.id],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no longer pending"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&tp, &third.id).await, AppStatus::Denied);
    // Another user's request is not theirs to answer.
    let ola = tp.user("Ola").clone();
    let out = cli(
        dir.path(),
        &["app", "approve", "--nnin", &ola.nnin, "--id", &second.id],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such request"), "{}", stderr(&out));
    assert_eq!(status(&tp, &second.id).await, AppStatus::Pending);
}

#[tokio::test]
async fn with_nothing_pending_approve_fails_with_a_message_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let tp = TestProvider::start_in(dir.path()).await;
    let kari = tp.user("Kari").clone();
    let out = cli(dir.path(), &["app", "approve", "--nnin", &kari.nnin]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no request is pending"),
        "{}",
        stderr(&out)
    );
    let out = cli(dir.path(), &["app", "pending", "--nnin", &kari.nnin]).await;
    assert!(out.status.success());
    assert!(stdout(&out).contains("No requests are pending"));
    let out = cli(dir.path(), &["app", "deny", "--nnin", "01010199999"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no such test user"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn approve_wait_answers_a_request_made_after_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let tp = TestProvider::start_in(dir.path()).await;
    let kari = tp.user("Kari").clone();
    let waiting = command(dir.path())
        .args(["app", "approve", "--nnin", &kari.nnin, "--wait", "20"])
        .output();
    let waiting = tokio::spawn(waiting);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let request = ask(&tp, &kari, "Farlig frakk").await;
    let out = waiting.await.unwrap().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&tp, &request.id).await, AppStatus::Approved);

    // A wait that runs out says how long it waited.
    let out = cli(
        dir.path(),
        &["app", "deny", "--nnin", &kari.nnin, "--wait", "1"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("waited 1 s"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_scripted_answer_decides_every_request_until_it_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let tp = TestProvider::start_in(dir.path()).await;
    let nnin = Nnin::synthetic(1990, 5, 5, 123);
    let out = cli(
        dir.path(),
        &[
            "users",
            "add",
            "--nnin",
            nnin.as_str(),
            "--given-name",
            "Per",
            "--family-name",
            "Skript",
            "--birthdate",
            "1990-05-05",
            "--app-answer",
            "deny",
            "--app-delay",
            "0",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let per = tp.store.user_by_nnin(nnin.as_str()).await.unwrap().unwrap();
    let request = ask(&tp, &per, "Farlig frakk").await;
    assert_eq!(status(&tp, &request.id).await, AppStatus::Denied);
    let out = cli(dir.path(), &["users", "list"]).await;
    assert!(
        stdout(&out).contains("app answer 'deny' after 0 s"),
        "{}",
        stdout(&out)
    );

    // A delay: pending until it has passed.
    let out = cli(
        dir.path(),
        &[
            "users",
            "update",
            "--nnin",
            nnin.as_str(),
            "--app-answer",
            "unreachable",
            "--app-delay",
            "30",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let request = ask(&tp, &per, "Blå bil").await;
    assert_eq!(status(&tp, &request.id).await, AppStatus::Pending);
    tp.advance(30);
    assert_eq!(status(&tp, &request.id).await, AppStatus::Unreachable);

    let out = cli(
        dir.path(),
        &[
            "users",
            "update",
            "--nnin",
            nnin.as_str(),
            "--app-answer",
            "none",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tp.store.app_script(&per.id).await.unwrap(), None);
    let request = ask(&tp, &per, "Rød sykkel").await;
    assert_eq!(status(&tp, &request.id).await, AppStatus::Pending);
}

#[tokio::test]
async fn bad_app_options_are_refused_with_a_message_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let tp = TestProvider::start_in(dir.path()).await;
    let kari = tp.user("Kari").clone();
    let refused = [
        (
            vec![
                "users",
                "update",
                "--nnin",
                &kari.nnin,
                "--app-answer",
                "maybe",
            ],
            "--app-answer",
        ),
        (
            vec![
                "users",
                "update",
                "--nnin",
                &kari.nnin,
                "--app-answer",
                "deny",
                "--app-delay",
                "3601",
            ],
            "--app-delay",
        ),
        (
            vec![
                "users",
                "update",
                "--nnin",
                &kari.nnin,
                "--app-answer",
                "approve",
                "--app-delay=-1",
            ],
            "--app-delay",
        ),
        (
            vec![
                "users",
                "update",
                "--nnin",
                &kari.nnin,
                "--app-answer",
                "none",
                "--app-delay",
                "5",
            ],
            "--app-delay",
        ),
        (
            vec![
                "users",
                "update",
                "--nnin",
                "01010199999",
                "--app-answer",
                "deny",
            ],
            "--nnin",
        ),
        (vec!["serve", "--app-timeout", "0"], "--app-timeout"),
        (vec!["serve", "--app-timeout", "3601"], "--app-timeout"),
        (
            vec!["app", "approve", "--nnin", &kari.nnin, "--wait", "x"],
            "--wait",
        ),
    ];
    for (args, flag) in refused {
        let out = cli(dir.path(), &args).await;
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr(&out).contains(flag), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(tp.store.app_script(&kari.id).await.unwrap(), None);
}

/// `users update --next-login` (issue 19, point 6): while the server runs, a test user's next
/// realm login ends with the chosen error at the client's redirect_uri, once.
#[tokio::test]
async fn users_update_next_login_scripts_the_next_realm_login_once() {
    use bankid_oidc_server::store::LoginScript;
    let dir = tempfile::tempdir().unwrap();
    let tp = TestProvider::start_in(dir.path()).await;
    let kari = tp.user("Kari").clone();
    let out = cli(
        dir.path(),
        &[
            "users",
            "update",
            "--nnin",
            &kari.nnin,
            "--next-login",
            "temporarily_unavailable",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("next login ends with 'temporarily_unavailable'")
    );
    let listed = cli(dir.path(), &["users", "list"]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains("next login ends with"));
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let callback = Browser::callback(
        browser
            .submit(&html, &[("nnin", &kari.nnin)], Some(("method", "BID")))
            .await,
    );
    assert_eq!(callback.get("error"), Some("temporarily_unavailable"));
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    let next = Browser::new(&tp)
        .login_bid(&tp, &Pending::new(&[], &[]), &kari)
        .await;
    assert!(!next.code().is_empty(), "used once");

    // Refusals name the flag and the accepted values; nothing is scripted by them.
    let out = cli(
        dir.path(),
        &[
            "users",
            "update",
            "--nnin",
            &kari.nnin,
            "--next-login",
            "denied",
        ],
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--next-login"), "{err}");
    assert!(
        err.contains("access_denied, login_required, server_error, temporarily_unavailable, none"),
        "{err}"
    );
    let out = cli(dir.path(), &["users", "update", "--nnin", &kari.nnin]).await;
    assert!(!out.status.success(), "nothing to change is refused");
    assert!(stderr(&out).contains("--app-answer"), "{}", stderr(&out));
    assert_eq!(tp.store.login_script(&kari.id).await.unwrap(), None);
    let out = cli(
        dir.path(),
        &[
            "users",
            "update",
            "--nnin",
            &kari.nnin,
            "--next-login",
            "server_error",
        ],
    )
    .await;
    assert!(out.status.success());
    let out = cli(
        dir.path(),
        &[
            "users",
            "update",
            "--nnin",
            &kari.nnin,
            "--next-login",
            "none",
        ],
    )
    .await;
    assert!(out.status.success());
    assert_eq!(
        tp.store.login_script(&kari.id).await.unwrap(),
        None::<LoginScript>
    );
}

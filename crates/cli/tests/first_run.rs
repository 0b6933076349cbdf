//! What a developer meets in the first hour (issue 19): readable logs of refused requests and
//! logins, the forms `--listen` accepts, a `--public-url` that is an issuer, a command that would
//! create a new empty store, redirect URIs added and removed, test users without arithmetic.

use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::store::{SqliteStore, UserStore};
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::pending::Pending;
use std::path::Path;
use std::process::Command;

#[path = "common/served.rs"]
mod served;
use served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("BANKID_OIDC_DATA_DIR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `serve` in a data directory, with `--listen 0` unless `extra` gives one.
fn serve(dir: &Path, extra: &[&str]) -> Served {
    let mut command = Command::new(BIN);
    command
        .arg("--data-dir")
        .arg(dir)
        .arg("serve")
        .args(if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "0"][..]
        })
        .args(extra)
        .env_remove("BANKID_OIDC_LOG")
        .env_remove("BANKID_OIDC_LOG_FORMAT");
    Served::spawn(command, &dir.join("stdout.txt"), &dir.join("stderr.txt"))
}

fn first_nnin(banner: &str) -> String {
    banner
        .lines()
        .find_map(|l| Nnin::parse(l.split_whitespace().next()?).ok())
        .unwrap()
        .to_string()
}

/// Two refused requests (a wrong secret, an authorization request that names an NNIN) and a
/// login. Returns the secret and NNIN they carried.
async fn refuse_twice_and_log_in(served: &Served) -> (String, String) {
    let issuer = format!("{}/auth/realms/current", served.base);
    let client_id = served.value_after("client_id");
    let redirect_uri = served.value_after("redirect_uri");
    let nnin = first_nnin(&served.banner);
    let wrong_secret = "wrong-secret-0123456789-abcdefghijklmnopq";
    let response = reqwest::Client::new()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .basic_auth(&client_id, Some(wrong_secret))
        .form(&[("grant_type", "authorization_code"), ("code", "some-code")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let refused = format!(
        "{issuer}/protocol/openid-connect/auth?client_id={client_id}&redirect_uri={redirect_uri}\
         &response_type=code&scope=openid&login_hint=BID:{nnin}"
    );
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(refused)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302, "an error sent to the client");
    // A client_id with a newline cannot forge a log line: it is written quoted and escaped.
    let response = reqwest::Client::new()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "evil\nINFO forged line"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let browser = Browser::with_base(&served.base);
    let pending = Pending::new(
        &[
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ],
        &[],
    );
    let authorize = format!("{issuer}/protocol/openid-connect/auth");
    let callback = browser
        .login_bid_at(&pending.url_at(&authorize), &nnin, "otp", "qwer1234")
        .await;
    assert!(!callback.code().is_empty());
    (wrong_secret.to_owned(), nnin)
}

#[tokio::test]
async fn refusals_and_logins_are_logged_one_line_each_without_secrets_or_colours() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &[]);
    let (secret, nnin) = refuse_twice_and_log_in(&served).await;
    let log = served.stop();
    assert!(!log.contains('\u{1b}'), "no escape codes in a file:\n{log}");
    assert!(!log.contains(&secret), "never the secret:\n{log}");
    assert!(!log.contains(&nnin), "never the NNIN:\n{log}");
    assert!(!log.contains("some-code"), "never the code:\n{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("INFO forged")),
        "a forged line:\n{log}"
    );
    assert!(
        log.contains(r#"client_id="evil\nINFO forged line""#),
        "{log}"
    );
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request refused"))
        .collect();
    assert!(
        refused
            .iter()
            .any(|l| l.contains("/protocol/openid-connect/token")
                && l.contains("client_id=demo-merchant")
                && l.contains("error=\"invalid_client\"")),
        "{log}"
    );
    assert!(
        refused
            .iter()
            .any(|l| l.contains("/protocol/openid-connect/auth")
                && l.contains("client_id=demo-merchant")
                && l.contains("error=\"invalid_request\"")
                && l.contains("rule=")),
        "{log}"
    );
    let login = log
        .lines()
        .find(|l| l.contains("login completed"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        login.contains("client_id=demo-merchant") && login.contains("method=BID"),
        "{login}"
    );
    assert!(
        login.contains("issuer=realm:current") && login.contains("user_id="),
        "{login}"
    );
}

#[tokio::test]
async fn log_format_json_writes_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &["--log-format", "json"]);
    let (secret, nnin) = refuse_twice_and_log_in(&served).await;
    let log = served.stop();
    assert!(!log.contains(&secret) && !log.contains(&nnin), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let refusal = lines
        .iter()
        .find(|l| l["fields"]["error"] == "invalid_client")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(refusal["fields"]["message"], "request refused");
    assert_eq!(refusal["span"]["client_id"], "demo-merchant", "{refusal}");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "login completed"),
        "{log}"
    );
}

#[test]
fn listen_takes_a_port_or_localhost_and_shows_the_accepted_forms() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &["--listen", "localhost:0"]);
    assert!(
        served.base.starts_with("http://127.0.0.1:"),
        "{}",
        served.base
    );
    served.stop();
    let out = cli(dir.path(), &["serve", "--listen", "localhost"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("use a port (8090), localhost:PORT"), "{err}");
}

#[test]
fn a_public_url_that_is_an_issuer_is_refused_with_the_base_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &[
            "serve",
            "--listen",
            "0",
            "--public-url",
            "http://localhost:8080/auth/realms/current",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("use 'http://localhost:8080'"), "{err}");
}

#[test]
fn a_command_without_data_dir_where_there_is_no_store_asks_for_it() {
    let cwd = tempfile::tempdir().unwrap();
    for args in [
        &["users", "list"][..],
        &["clients", "list"],
        &["keys", "list"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(cwd.path())
            .env_remove("BANKID_OIDC_DATA_DIR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("would create a new, empty one") && err.contains("--data-dir"),
            "{err}"
        );
        assert!(!cwd.path().join("data").exists(), "nothing created");
    }
    // Named explicitly, a new directory is what the user asked for.
    let out = cli(&cwd.path().join("mine"), &["users", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn redirect_uris_can_be_added_and_removed_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let add = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "shop",
            "--client-secret",
            "shop-secret-0123456789-abcdefghijklmnop",
            "--redirect-uri",
            "https://a.example/cb",
        ],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    let update = |args: &[&str]| {
        let mut all = vec!["clients", "update", "--client-id", "shop"];
        all.extend_from_slice(args);
        cli(dir.path(), &all)
    };
    let out = update(&["--add-redirect-uri", "https://b.example/cb"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&cli(dir.path(), &["clients", "list"]).stdout);
    assert!(
        listed.contains("redirect URIs: https://a.example/cb https://b.example/cb"),
        "{listed}"
    );
    let out = update(&["--remove-redirect-uri", "https://a.example/cb"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&cli(dir.path(), &["clients", "list"]).stdout);
    assert!(
        listed.contains("redirect URIs: https://b.example/cb\n"),
        "{listed}"
    );
    let out = update(&["--remove-redirect-uri", "https://c.example/cb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not registered"),
        "{}",
        text(&out.stderr)
    );
    // The same rules as `--redirect-uri`.
    let out = update(&["--add-redirect-uri", "javascript:alert(1)"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[tokio::test]
async fn users_add_generates_an_nnin_and_list_shows_mobile_and_lockout_until_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &[
            "users",
            "add",
            "--given-name",
            "Kari",
            "--family-name",
            "Nordmann",
            "--birthdate",
            "1985-03-15",
            "--phone",
            "48000099",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let nnin = printed
        .split_whitespace()
        .find_map(|w| Nnin::parse(w.trim_matches(|c: char| !c.is_ascii_digit())).ok())
        .unwrap_or_else(|| panic!("an NNIN printed: {printed}"));
    assert!(
        printed.contains(&format!("Generated NNIN {nnin}")),
        "{printed}"
    );
    assert_eq!(nnin.birth_ddmmyy(), "150385");
    // Another for the same date: another number.
    let again = cli(
        dir.path(),
        &[
            "users",
            "add",
            "--given-name",
            "Ola",
            "--family-name",
            "Nordmann",
            "--birthdate",
            "1985-03-15",
        ],
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(!text(&again.stdout).contains(nnin.as_str()));

    let listed = text(&cli(dir.path(), &["users", "list"]).stdout);
    let line = listed.lines().find(|l| l.contains(nnin.as_str())).unwrap();
    assert!(
        line.contains("mobile 48000099") && !line.contains("LOCKED"),
        "{line}"
    );

    // Lock the user as wrong secrets would.
    {
        let store = SqliteStore::open(&dir.path().join("bankid-oidc.db"))
            .await
            .unwrap();
        let user = store.user_by_nnin(nnin.as_str()).await.unwrap().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        store
            .count_login_failure(&user.id, now, 1, 900)
            .await
            .unwrap();
    }
    let listed = text(&cli(dir.path(), &["users", "list"]).stdout);
    let line = listed.lines().find(|l| l.contains(nnin.as_str())).unwrap();
    assert!(
        line.contains("LOCKED until 20") && line.contains(" UTC"),
        "{line}"
    );

    let out = cli(dir.path(), &["users", "unlock", "--nnin", nnin.as_str()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("unlocked"),
        "{}",
        text(&out.stdout)
    );
    let listed = text(&cli(dir.path(), &["users", "list"]).stdout);
    let line = listed.lines().find(|l| l.contains(nnin.as_str())).unwrap();
    assert!(
        !line.contains("LOCKED") && !line.contains("wrong attempt"),
        "{line}"
    );
    let out = cli(dir.path(), &["users", "unlock", "--nnin", "01010012356"]);
    assert_eq!(out.status.code(), Some(1));
}

/// `bankid-oidc users list | head -1`: the reader closes the pipe long before the list is
/// written (more users than a pipe holds), and the command ends quietly, as `ls` does.
#[tokio::test]
async fn a_list_piped_into_head_ends_quietly_when_the_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(&dir.path().join("bankid-oidc.db"))
            .await
            .unwrap();
        for seed in 0..1000 {
            let nnin = Nnin::synthetic(1990, 1 + seed % 12, 1 + seed % 28, seed);
            let user = bankid_oidc_server::seed::new_user(
                &nnin,
                "Piped",
                "Reader",
                &format!("1990-{:02}-{:02}", 1 + seed % 12, 1 + seed % 28),
                None,
                None,
                None,
                None,
                0,
            );
            store.add_user(&user).await.unwrap();
        }
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{BIN}' --data-dir '{}' users list | head -1",
            dir.path().display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let err = text(&out.stderr);
    assert!(err.is_empty(), "nothing on stderr: {err}");
}

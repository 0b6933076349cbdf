//! The `bankid-oidc` binary as a user runs it: first start, restart, and registration while the
//! server runs.

use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::oauth::redeem_with_endpoint;
use bankid_oidc_testkit::pending::Pending;
use reqwest::StatusCode;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");

/// A running `bankid-oidc serve` and what it printed.
struct Served {
    child: Child,
    base: String,
    banner: String,
}

impl Served {
    async fn start(dir: &Path) -> Served {
        Served::start_with(dir, &[]).await
    }

    async fn start_with(dir: &Path, extra: &[&str]) -> Served {
        Served::spawn(Command::new(BIN), dir, extra).await
    }

    /// Starts the server with a soft open-file limit of `fds`, as a shell's `ulimit -n` would.
    async fn start_with_open_file_limit(dir: &Path, fds: u32, extra: &[&str]) -> Served {
        let mut shell = Command::new("sh");
        shell.args([
            "-c",
            &format!("ulimit -Sn {fds} && exec \"$0\" \"$@\""),
            BIN,
        ]);
        Served::spawn(shell, dir, extra).await
    }

    async fn spawn(mut command: Command, dir: &Path, extra: &[&str]) -> Served {
        let mut child = command
            .args([
                "--data-dir",
                dir.to_str().unwrap(),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        let base = loop {
            let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
                .await
                .expect("the server prints its banner")
                .unwrap()
                .expect("the server exited before listening");
            banner.push_str(&line);
            banner.push('\n');
            if let Some(url) = line.strip_prefix("Listening on ") {
                break url.to_owned();
            }
        };
        Served {
            child,
            base,
            banner,
        }
    }

    fn value_after(&self, label: &str) -> String {
        self.banner
            .lines()
            .find_map(|l| l.trim().split_once(label).map(|(_, v)| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("'{label}' in banner:\n{}", self.banner))
    }

    fn issuer(&self) -> String {
        format!("{}/auth/realms/current", self.base)
    }

    async fn discovery(&self) -> serde_json::Value {
        let url = format!("{}/.well-known/openid-configuration", self.issuer());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    /// Kills the process without letting it shut down: what is on disk must be enough.
    async fn crash(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The first test user's NNIN as printed in the banner.
fn first_nnin(banner: &str) -> String {
    banner
        .lines()
        .find_map(|l| {
            let word = l.split_whitespace().next()?;
            Nnin::parse(word).ok().map(|n| n.to_string())
        })
        .expect("a test user in the banner")
}

#[tokio::test]
async fn first_start_prints_what_a_developer_needs_and_a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let first = Served::start(dir.path()).await;
    let discovery_url = first.value_after("Discovery URL:");
    assert_eq!(
        discovery_url,
        format!("{}/.well-known/openid-configuration", first.issuer())
    );
    let client_id = first.value_after("client_id");
    let secret = first.value_after("client_secret");
    let redirect_uri = first.value_after("redirect_uri");
    assert_eq!(client_id, "demo-merchant");
    assert!(
        first
            .banner
            .contains("one-time code 'otp'  password 'qwer1234'")
    );
    let nnin = first_nnin(&first.banner);

    let meta = first.discovery().await;
    let jwks_before: serde_json::Value = reqwest::get(meta["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authorize = meta["authorization_endpoint"].as_str().unwrap().to_owned();
    let token_endpoint = meta["token_endpoint"].as_str().unwrap().to_owned();

    // One login redeemed before the restart, one code kept for after it.
    let browser = Browser::with_base(&first.base);
    let extra = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    let redeemed = Pending::new(&extra, &[]);
    let callback = browser
        .login_bid_at(&redeemed.url_at(&authorize), &nnin, "otp", "qwer1234")
        .await;
    let response = redeem_with_endpoint(
        &token_endpoint,
        &client_id,
        &secret,
        callback.code(),
        &redeemed.verifier,
        &redirect_uri,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: serde_json::Value = response.json().await.unwrap();
    let kept = Pending::new(&extra, &[]);
    let kept_callback = Browser::callback(browser.get(&kept.url_at(&authorize)).await);
    first.crash().await;

    let second = Served::start(dir.path()).await;
    assert_eq!(
        second.value_after("client_secret"),
        secret,
        "the demo client's secret is shown again"
    );
    // The port differs after a restart on port 0; everything else is the same.
    let meta = second.discovery().await;
    let jwks_after: serde_json::Value = reqwest::get(meta["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_before, jwks_after, "same keys after a restart");
    let token_endpoint = meta["token_endpoint"].as_str().unwrap().to_owned();
    let response = redeem_with_endpoint(
        &token_endpoint,
        &client_id,
        &secret,
        kept_callback.code(),
        &kept.verifier,
        &redirect_uri,
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a code issued before the restart is redeemed once"
    );
    let again = redeem_with_endpoint(
        &token_endpoint,
        &client_id,
        &secret,
        kept_callback.code(),
        &kept.verifier,
        &redirect_uri,
    )
    .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "and only once");
    // Listening on port 0, the restart got a new port and so a new issuer URL: a token names its
    // issuer, and the new issuer refuses the old one's (the next test restarts on the same port).
    let userinfo = meta["userinfo_endpoint"].as_str().unwrap();
    let status = reqwest::Client::new()
        .get(userinfo)
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    second.crash().await;
}

#[tokio::test]
async fn a_restart_on_the_same_address_keeps_sessions_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let start = |dir: &Path| {
        let dir = dir.to_owned();
        let listen = listen.clone();
        async move {
            let mut child = Command::new(BIN)
                .args([
                    "--data-dir",
                    dir.to_str().unwrap(),
                    "serve",
                    "--listen",
                    &listen,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let mut banner = String::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Listening on ") {
                    break;
                }
            }
            Served {
                child,
                base: format!("http://{listen}"),
                banner,
            }
        }
    };
    let first = start(dir.path()).await;
    let (client_id, secret, redirect_uri) = (
        first.value_after("client_id"),
        first.value_after("client_secret"),
        first.value_after("redirect_uri"),
    );
    let nnin = first_nnin(&first.banner);
    let meta = first.discovery().await;
    let authorize = meta["authorization_endpoint"].as_str().unwrap().to_owned();
    let token_endpoint = meta["token_endpoint"].as_str().unwrap().to_owned();
    let userinfo = meta["userinfo_endpoint"].as_str().unwrap().to_owned();
    let browser = Browser::with_base(&first.base);
    let extra = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    let pending = Pending::new(&extra, &[]);
    let callback = browser
        .login_bid_at(&pending.url_at(&authorize), &nnin, "otp", "qwer1234")
        .await;
    let tokens: serde_json::Value = redeem_with_endpoint(
        &token_endpoint,
        &client_id,
        &secret,
        callback.code(),
        &pending.verifier,
        &redirect_uri,
    )
    .await
    .json()
    .await
    .unwrap();
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    first.crash().await;

    let second = start(dir.path()).await;
    let status = reqwest::Client::new()
        .get(&userinfo)
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK, "tokens survive a restart");
    // The browser's session survives too: the next authorize needs no login.
    let next = Pending::new(&extra, &[]);
    let callback = Browser::callback(browser.get(&next.url_at(&authorize)).await);
    let response = redeem_with_endpoint(
        &token_endpoint,
        &client_id,
        &secret,
        callback.code(),
        &next.verifier,
        &redirect_uri,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    second.crash().await;
}

#[tokio::test]
async fn clients_and_users_added_while_the_server_runs_work_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path()).await;
    let meta = served.discovery().await;
    let authorize = meta["authorization_endpoint"].as_str().unwrap().to_owned();
    let token_endpoint = meta["token_endpoint"].as_str().unwrap().to_owned();

    let secret = "a-long-random-secret-for-the-new-shop-0123456789";
    let out = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "new-shop",
            "--client-secret",
            secret,
            "--redirect-uri",
            "https://new.example/cb",
            "--redirect-uri",
            "https://new.example/cb2",
            "--scope",
            "openid profile",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(cli(dir.path(), &["clients", "list"]).stdout).unwrap();
    assert!(listed.contains("new-shop") && listed.contains("https://new.example/cb2"));
    assert!(!listed.contains(secret), "secrets are never listed");

    let nnin = Nnin::synthetic(1990, 6, 1, 123).to_string();
    let out = cli(
        dir.path(),
        &[
            "users",
            "add",
            "--nnin",
            &nnin,
            "--given-name",
            "Per",
            "--family-name",
            "Person",
            "--birthdate",
            "1990-06-01",
            "--email",
            "per@example.no",
            "--phone",
            "+47 48000099",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(cli(dir.path(), &["users", "list"]).stdout).unwrap();
    assert!(listed.contains(&nnin) && listed.contains("'otp'") && listed.contains("'qwer1234'"));

    let browser = Browser::with_base(&served.base);
    let extra = [
        ("client_id", "new-shop"),
        ("redirect_uri", "https://new.example/cb2"),
        ("scope", "openid profile"),
    ];
    let pending = Pending::new(&extra, &[]);
    let callback = browser
        .login_bid_at(&pending.url_at(&authorize), &nnin, "otp", "qwer1234")
        .await;
    let response = redeem_with_endpoint(
        &token_endpoint,
        "new-shop",
        secret,
        callback.code(),
        &pending.verifier,
        "https://new.example/cb2",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: serde_json::Value = response.json().await.unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &bankid_oidc_core::b64::decode(
            tokens["id_token"]
                .as_str()
                .unwrap()
                .split('.')
                .nth(1)
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["given_name"], "Per");
    assert_eq!(claims["birthdate"], "1990-06-01");
    served.crash().await;
}

#[tokio::test]
async fn bad_registrations_are_refused_with_a_message_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "users",
                "add",
                "--nnin",
                "15076500566",
                "--given-name",
                "A",
                "--family-name",
                "B",
                "--birthdate",
                "1965-07-15",
            ],
            "--nnin",
        ),
        (
            &[
                "users",
                "add",
                "--nnin",
                "1507650056",
                "--given-name",
                "A",
                "--family-name",
                "B",
                "--birthdate",
                "1965-07-15",
            ],
            "11 digits",
        ),
        (
            &[
                "users",
                "add",
                "--nnin",
                "15076500565",
                "--given-name",
                "A",
                "--family-name",
                "B",
                "--birthdate",
                "1965-07-16",
            ],
            "--birthdate",
        ),
        (
            &[
                "users",
                "add",
                "--nnin",
                "15076500565",
                "--given-name",
                "A",
                "--family-name",
                "B",
                "--birthdate",
                "1965-07-15",
                "--phone",
                "123",
            ],
            "--phone",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "x",
                "--client-secret",
                "s",
                "--redirect-uri",
                "not a uri",
            ],
            "--redirect-uri",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "x",
                "--client-secret",
                "s",
                "--redirect-uri",
                "https://a.example/cb#frag",
            ],
            "fragment",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "x",
                "--client-secret",
                "s",
                "--redirect-uri",
                "https://a.example/cb",
                "--scope",
                "openid admin",
            ],
            "--scope",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "a:b",
                "--client-secret",
                "s",
                "--redirect-uri",
                "https://a.example/cb",
            ],
            "--client-id",
        ),
        (&["serve", "--worker-threads", "0"], "--worker-threads"),
        (&["serve", "--worker-threads", "many"], "--worker-threads"),
        (&["serve", "--max-connections", "0"], "--max-connections"),
        (
            &["serve", "--header-read-timeout", "0"],
            "--header-read-timeout",
        ),
        (&["serve", "--idle-timeout", "none"], "--idle-timeout"),
    ];
    for (args, expected) in cases {
        let out = cli(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            stderr.contains(expected),
            "{args:?}: '{stderr}' should mention {expected}"
        );
    }
    // A duplicate is refused and the first registration is kept.
    let ok = cli(
        dir.path(),
        &[
            "users",
            "add",
            "--nnin",
            "15076500565",
            "--given-name",
            "First",
            "--family-name",
            "B",
            "--birthdate",
            "1965-07-15",
        ],
    );
    assert!(ok.status.success());
    let dup = cli(
        dir.path(),
        &[
            "users",
            "add",
            "--nnin",
            "15076500565",
            "--given-name",
            "Second",
            "--family-name",
            "B",
            "--birthdate",
            "1965-07-15",
        ],
    );
    assert!(
        !dup.status.success() && String::from_utf8_lossy(&dup.stderr).contains("already exists")
    );
    let listed = String::from_utf8(cli(dir.path(), &["users", "list"]).stdout).unwrap();
    assert!(listed.contains("First") && !listed.contains("Second"));
}

#[tokio::test]
async fn a_short_client_secret_is_accepted_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "x",
            "--client-secret",
            "short",
            "--redirect-uri",
            "http://localhost:3000/cb",
        ],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
}

async fn jwks_kids(served: &Served) -> Vec<String> {
    let meta = served.discovery().await;
    let jwks: serde_json::Value = reqwest::get(meta["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The signing keys; the JWKS also publishes the encryption keys (use: enc).
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["use"] == "sig")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn keys_rotate_publishes_a_key_before_it_signs_and_the_running_server_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path()).await;
    assert_eq!(jwks_kids(&served).await.len(), 1);
    let out = cli(dir.path(), &["keys", "rotate", "--lead-time", "3600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(cli(dir.path(), &["keys", "list"]).stdout).unwrap();
    assert!(
        listed.contains("active") && listed.contains("next") && listed.contains("signs from"),
        "{listed}"
    );
    // The running server publishes the next key within its schedule period (2 s).
    let mut published = 0;
    for _ in 0..50 {
        published = jwks_kids(&served).await.len();
        if published == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(published, 2, "the next key is published before it signs");
    // --now makes a new key sign at once; the old ones stay published.
    let out = cli(dir.path(), &["keys", "rotate", "--now"]);
    assert!(out.status.success());
    let listed = String::from_utf8(cli(dir.path(), &["keys", "list"]).stdout).unwrap();
    assert_eq!(
        listed.lines().filter(|l| l.contains(" active ")).count(),
        1,
        "{listed}"
    );
    assert!(
        listed.contains("retiring") && listed.contains("removed at"),
        "{listed}"
    );
    served.crash().await;
}

#[tokio::test]
async fn test_controls_rotate_keys_and_move_the_clock_only_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Served::start(dir.path()).await;
    let http = reqwest::Client::new();
    let status = http
        .post(format!("{}/test-controls/keys/rotate", plain.base))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND, "off unless --test-controls");
    plain.crash().await;

    // One serving thread is enough to serve everything (as the benchmarks run it).
    let served =
        Served::start_with(dir.path(), &["--test-controls", "--worker-threads", "1"]).await;
    let rotated: serde_json::Value = http
        .post(format!("{}/test-controls/keys/rotate", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids = jwks_kids(&served).await;
    assert!(kids.contains(&rotated["kid"].as_str().unwrap().to_owned()) && kids.len() == 2);

    let before: serde_json::Value = reqwest::get(format!("{}/test-controls/clock", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moved: serde_json::Value = http
        .post(format!(
            "{}/test-controls/clock/advance?seconds=3600",
            served.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(moved["now"].as_i64().unwrap() >= before["now"].as_i64().unwrap() + 3600);
    for bad in ["0", "-5", "999999999", "x"] {
        let status = http
            .post(format!(
                "{}/test-controls/clock/advance?seconds={bad}",
                served.base
            ))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "seconds={bad}");
    }
    served.crash().await;
}

#[tokio::test]
async fn clients_can_be_updated_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let add = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "m2m",
            "--client-secret",
            "a-long-random-secret-for-the-machine-012345",
            "--grant-type",
            "client_credentials",
            "--scope",
            "esign/csc permissions/client",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let update = cli(
        dir.path(),
        &[
            "clients",
            "update",
            "--client-id",
            "m2m",
            "--scope",
            "esign/csc",
            "--resource-server",
            "true",
            "--require-pushed-authorization-requests",
            "true",
        ],
    );
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    let listed = String::from_utf8(cli(dir.path(), &["clients", "list"]).stdout).unwrap();
    assert!(
        listed.contains("scopes: esign/csc\n")
            && listed.contains("grant types: client_credentials")
            && listed.contains("requires pushed authorization requests")
            && listed.contains("resource server"),
        "{listed}"
    );
    let refused: &[(&[&str], &str)] = &[
        (
            &["clients", "update", "--client-id", "nobody", "--name", "x"],
            "no such client",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "pk",
                "--token-endpoint-auth-method",
                "private_key_jwt",
            ],
            "--jwks",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "g",
                "--client-secret",
                "s",
                "--grant-type",
                "password",
            ],
            "--grant-type",
        ),
        (
            &["clients", "add", "--client-id", "c", "--client-secret", "s"],
            "--redirect-uri",
        ),
        (
            &[
                "clients",
                "add",
                "--client-id",
                "m",
                "--client-secret",
                "s",
                "--token-endpoint-auth-method",
                "tls",
            ],
            "--token-endpoint-auth-method",
        ),
    ];
    for (args, expected) in refused {
        let out = cli(dir.path(), args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let remove = cli(dir.path(), &["clients", "remove", "--client-id", "m2m"]);
    assert!(remove.status.success());
    assert!(
        !String::from_utf8(cli(dir.path(), &["clients", "list"]).stdout)
            .unwrap()
            .contains("m2m")
    );
    assert!(
        !cli(dir.path(), &["clients", "remove", "--client-id", "m2m"])
            .status
            .success()
    );
}

#[tokio::test]
async fn a_jwks_file_with_a_private_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(
        &file,
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}]}"#,
    )
    .unwrap();
    let out = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "pk",
            "--token-endpoint-auth-method",
            "private_key_jwt",
            "--jwks",
            file.to_str().unwrap(),
            "--redirect-uri",
            "https://a.example/cb",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("private key"));
    std::fs::write(
        &file,
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","kid":"k"}]}"#,
    )
    .unwrap();
    let out = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "pk",
            "--token-endpoint-auth-method",
            "private_key_jwt",
            "--jwks",
            file.to_str().unwrap(),
            "--redirect-uri",
            "https://a.example/cb",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_redirect_uri_that_runs_script_or_leaves_loopback_in_clear_is_refused_at_registration() {
    let dir = tempfile::tempdir().unwrap();
    let add = |option: &str, uri: &str| {
        cli(
            dir.path(),
            &[
                "clients",
                "add",
                "--client-id",
                "x",
                "--client-secret",
                "a-long-random-secret-0123456789-abcdef",
                "--redirect-uri",
                if option == "--redirect-uri" {
                    uri
                } else {
                    "https://a.example/cb"
                },
                option,
                uri,
            ],
        )
    };
    let schemes = "use https, http only on a loopback host (127.0.0.1, [::1], localhost), or a \
                   native app's private-use scheme in reverse-domain form \
                   (com.example.app:/callback)";
    let cases = [
        (
            "--redirect-uri",
            "javascript:alert(1)",
            format!(
                "error: --redirect-uri 'javascript:alert(1)': the scheme 'javascript' is not allowed: {schemes}"
            ),
        ),
        (
            "--redirect-uri",
            "data:text/html,<script>alert(1)</script>",
            format!(
                "error: --redirect-uri 'data:text/html,<script>alert(1)</script>': the scheme 'data' is not allowed: {schemes}"
            ),
        ),
        (
            "--redirect-uri",
            "http://shop.example/cb",
            format!(
                "error: --redirect-uri 'http://shop.example/cb': plain http is allowed only on a loopback host: {schemes}"
            ),
        ),
        (
            "--redirect-uri",
            "https://*.shop.example/cb",
            "error: --redirect-uri 'https://*.shop.example/cb': must not contain a wildcard '*': redirect URIs are matched exactly".to_owned(),
        ),
        (
            "--post-logout-redirect-uri",
            "file:///etc/passwd",
            format!(
                "error: --post-logout-redirect-uri 'file:///etc/passwd': the scheme 'file' is not allowed: {schemes}"
            ),
        ),
    ];
    for (option, uri, expected) in &cases {
        let out = add(option, uri);
        assert!(!out.status.success(), "{option} {uri} was accepted");
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), expected);
    }
    // Nothing was registered; a native app's scheme and loopback http are.
    let listed = String::from_utf8(cli(dir.path(), &["clients", "list"]).stdout).unwrap();
    assert!(!listed.contains("x\n"), "{listed}");
    let native = add("--redirect-uri", "com.example.app:/callback");
    assert!(native.status.success(), "{native:?}");
    let loopback = cli(
        dir.path(),
        &[
            "clients",
            "add",
            "--client-id",
            "y",
            "--client-secret",
            "a-long-random-secret-0123456789-abcdef",
            "--redirect-uri",
            "http://127.0.0.1:3000/cb",
            "--redirect-uri",
            "http://[::1]:3000/cb",
        ],
    );
    assert!(loopback.status.success(), "{loopback:?}");
}

// ---- connections: timeouts and the cap ---------------------------------------------------------

/// How long until the server closes `stream` (EOF or reset), reading and discarding whatever it
/// sends; None if it is still open after `limit`.
async fn closed_within(
    mut stream: tokio::net::tcp::OwnedReadHalf,
    limit: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

fn host_port(served: &Served) -> String {
    served.base.strip_prefix("http://").unwrap().to_owned()
}

/// A connection that sends the start of a request and then a header line every 300 ms, for as
/// long as the server lets it (the "slowloris" attack).
async fn trickle(addr: &str) -> tokio::net::tcp::OwnedReadHalf {
    use tokio::io::AsyncWriteExt;
    let (read, mut write) = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap()
        .into_split();
    tokio::spawn(async move {
        let start =
            "GET /auth/realms/current/.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n";
        if write.write_all(start.as_bytes()).await.is_err() {
            return;
        }
        for i in 0.. {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if write
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    read
}

#[tokio::test]
async fn a_trickled_header_and_a_silent_connection_are_closed_by_the_header_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start_with(
        dir.path(),
        &["--header-read-timeout", "1", "--idle-timeout", "60"],
    )
    .await;
    let addr = host_port(&served);
    let silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let slow = trickle(&addr).await;
    let limit = std::time::Duration::from_secs(5);
    let (silent, slow) = tokio::join!(
        closed_within(silent.into_split().0, limit),
        closed_within(slow, limit)
    );
    for (what, closed) in [("silent", silent), ("trickling", slow)] {
        let after = closed.unwrap_or_else(|| panic!("the {what} connection is still open"));
        assert!(
            after < std::time::Duration::from_secs(3),
            "the {what} connection was closed only after {after:?}"
        );
    }
    // A kept-alive connection waiting for its next request is held to the same deadline.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut read, mut write) = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap()
        .into_split();
    write
        .write_all(
            b"GET /auth/realms/current/.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
    let mut first = [0u8; 12];
    read.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(closed_within(read, limit).await.is_some());
}

#[tokio::test]
async fn a_connection_where_nothing_moves_is_closed_by_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // The header deadline is far: only the idle timeout can close the connection.
    let served = Served::start_with(
        dir.path(),
        &["--header-read-timeout", "60", "--idle-timeout", "1"],
    )
    .await;
    let silent = tokio::net::TcpStream::connect(host_port(&served))
        .await
        .unwrap();
    let after = closed_within(silent.into_split().0, std::time::Duration::from_secs(5))
        .await
        .expect("the idle connection is closed");
    assert!(after < std::time::Duration::from_secs(3), "{after:?}");
}

#[tokio::test]
async fn the_server_keeps_answering_while_thousands_of_connections_are_held_open() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    // Started with a shell's usual limit of 1024 open files, which 3000 held connections would
    // exhaust; the header deadline is longer than the test, so that nothing is freed by it.
    let served = Served::start_with_open_file_limit(
        dir.path(),
        1024,
        &["--header-read-timeout", "120", "--idle-timeout", "120"],
    )
    .await;
    let addr = host_port(&served);
    let mut held = Vec::new();
    for _ in 0..3000 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..20 {
        let response = http
            .get(format!(
                "{}/.well-known/openid-configuration",
                served.issuer()
            ))
            .send()
            .await
            .expect("answered while 3000 connections are held");
        assert_eq!(response.status(), StatusCode::OK);
    }
    drop(held);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_and_are_served_when_held_ones_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start_with(
        dir.path(),
        &[
            "--max-connections",
            "20",
            "--header-read-timeout",
            "2",
            "--idle-timeout",
            "60",
        ],
    )
    .await;
    let addr = host_port(&served);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Let the server accept all twenty before the real request.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let response = reqwest::Client::new()
        .get(format!(
            "{}/.well-known/openid-configuration",
            served.issuer()
        ))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .expect("the waiting connection is served once the held ones are closed");
    assert_eq!(response.status(), StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(1500),
        "answered after {waited:?}: the cap of 20 did not hold it back"
    );
    drop(held);
}

#[test]
fn a_database_url_that_is_not_a_reachable_postgresql_url_is_refused_without_showing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    for (url, says) in [
        (
            "mysql://shop:s3cret@127.0.0.1/db",
            "--database-url must be a PostgreSQL URL",
        ),
        (
            "postgres://shop:s3cret@127.0.0.1:notaport/db",
            "does not parse",
        ),
        (
            "postgres://shop:s3cret@127.0.0.1:1/db",
            "opening the database postgres://shop:***@127.0.0.1:1/db",
        ),
    ] {
        let out = cli(dir.path(), &["--database-url", url, "clients", "list"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}");
        assert!(stderr.contains(says), "{url}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{url}: {stderr}");
    }
    // Nothing was made in the data directory: the store is not SQLite when a URL is given.
    assert!(!dir.path().join("bankid-oidc.db").exists());
}

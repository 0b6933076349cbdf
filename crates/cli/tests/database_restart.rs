//! PostgreSQL stopped and started under a provider that is serving logins: readiness goes to 503
//! and back without a restart of the provider, and nothing answered before the stop is lost.
//!
//! The test runs its own PostgreSQL cluster (initdb on a temporary directory, as the `postgres`
//! user), so stopping it disturbs no other test. It runs with the PostgreSQL suite
//! (`BANKID_OIDC_TEST_DATABASE_URL` set), where the server's binaries are installed.

use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, test_database_url};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

#[path = "common/served.rs"]
mod served;
use served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");

/// A PostgreSQL cluster of this test's own.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// initdb and start, or None where that cannot be done here (no server binaries, or not
    /// root: the cluster runs as the `postgres` user).
    fn start() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        if !is_root() {
            eprintln!("not root: the restart test needs to run PostgreSQL as the postgres user");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("pg");
        chown_postgres(dir.path());
        let port = free_port();
        let cluster = Cluster {
            bin,
            data,
            port,
            _dir: dir,
        };
        cluster.as_postgres(
            "initdb",
            &[
                "-D",
                cluster.data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        cluster.up();
        Some(cluster)
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let status = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{tool} {args:?}");
    }

    fn up(&self) {
        let socket_dir = self.data.parent().unwrap().to_str().unwrap().to_owned();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1",
            self.port
        );
        let log = self.data.parent().unwrap().join("postgres.log");
        self.as_postgres(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    fn down(&self) {
        self.as_postgres(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn chown_postgres(dir: &Path) {
    let status = std::process::Command::new("chown")
        .args(["postgres:", dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The provider on `database_url`, with the test client from a seed file.
async fn serve(dir: &Path, database_url: &str) -> Served {
    let seed = dir.join("seed.toml");
    std::fs::write(
        &seed,
        format!(
            "[[clients]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
             redirect_uris = [\"{REDIRECT_URI}\"]\n\
             scope = \"openid profile offline_access\"\n\
             grant_types = [\"authorization_code\", \"refresh_token\"]\n"
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(BIN);
    command
        .args([
            "--data-dir",
            dir.to_str().unwrap(),
            "--database-url",
            database_url,
        ])
        .args(["--db-statement-timeout-ms", "2000"])
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            seed.to_str().unwrap(),
        ]);
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    tokio::task::spawn_blocking(move || Served::spawn(command, &stdout, &stderr))
        .await
        .unwrap()
}

/// What one completed login left: its tokens.
#[derive(Clone)]
struct Issued {
    access: String,
    refresh: String,
}

/// One login and code exchange; None if any step failed (the database is away).
async fn one_login(base: &str) -> Option<Issued> {
    let browser = Browser::with_base(base);
    let pending = Pending::new(&[("scope", "openid offline_access")], &[]);
    let authorize = format!("{base}/auth/realms/current/protocol/openid-connect/auth");
    let url = pending.url_at(&authorize);
    // A step the provider could not serve shows an error page or an error callback: the
    // browser's own helpers assert, so a failure is caught as a panic of this task.
    let callback = tokio::spawn(async move {
        browser
            .login_bid_at(&url, "15838540063", "otp", "qwer1234")
            .await
    })
    .await
    .ok()?;
    let code = callback.get("code")?.to_owned();
    let response = reqwest::Client::new()
        .post(format!(
            "{base}/auth/realms/current/protocol/openid-connect/token"
        ))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let tokens: Value = response.json().await.ok()?;
    Some(Issued {
        access: tokens["access_token"].as_str()?.to_owned(),
        refresh: tokens["refresh_token"].as_str()?.to_owned(),
    })
}

async fn ready(base: &str) -> u16 {
    match reqwest::get(format!("{base}/health/ready")).await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_for_ready(base: &str, want: u16) {
    for _ in 0..300 {
        if ready(base).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/health/ready never answered {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load_loses_nothing_answered_and_readiness_follows_it() {
    if test_database_url().is_none() {
        eprintln!(
            "BANKID_OIDC_TEST_DATABASE_URL is not set: the restart test runs with the PostgreSQL suite"
        );
        return;
    }
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Stopped(Some(serve(dir.path(), &cluster.url()).await));
    let base = server.0.as_ref().unwrap().base.clone();
    assert_eq!(ready(&base).await, 200);

    // The load: logins in a loop, keeping what each answered.
    let issued = Arc::new(std::sync::Mutex::new(Vec::<Issued>::new()));
    let (stop, failures) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let load = {
        let (issued, stop, failures, base) =
            (issued.clone(), stop.clone(), failures.clone(), base.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match one_login(&base).await {
                    Some(tokens) => issued.lock().unwrap().push(tokens),
                    None => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        })
    };
    while issued.lock().unwrap().len() < 5 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.down();
        cluster
    })
    .await
    .unwrap();
    // Everything answered before this point was committed before it was answered.
    let before_stop: Vec<Issued> = issued.lock().unwrap().clone();
    wait_for_ready(&base, 503).await;
    assert_eq!(
        reqwest::get(format!("{base}/health/live"))
            .await
            .unwrap()
            .status(),
        200,
        "the process itself answers while the database is away"
    );
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.up();
        cluster
    })
    .await
    .unwrap();
    wait_for_ready(&base, 200).await;
    // The load goes on without a restart of the provider.
    let after = issued.lock().unwrap().len();
    for _ in 0..200 {
        if issued.lock().unwrap().len() >= after + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert!(
        issued.lock().unwrap().len() >= after + 3,
        "logins complete again after the restart"
    );
    // Nothing answered before the stop is lost: every access token still reads userinfo, every
    // refresh token still exchanges.
    let http = reqwest::Client::new();
    for tokens in &before_stop {
        let userinfo = http
            .get(format!(
                "{base}/auth/realms/current/protocol/openid-connect/userinfo"
            ))
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), 200);
        let refreshed = http
            .post(format!(
                "{base}/auth/realms/current/protocol/openid-connect/token"
            ))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.refresh.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), 200);
    }
    drop(server);
    drop(cluster);
}

/// A provider process, stopped when dropped (a failed assertion included).
struct Stopped(Option<Served>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(served) = self.0.take() {
            served.stop();
        }
    }
}

//! `serve --seed FILE` (issue 19, point 4): clients and test users from one file, applied at
//! every start by client_id and NNIN; a bad file stops the start with the file, the entry and
//! the field named, and nothing written.

use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::store::{
    AppRequestStore, AppScripted, Client, ClientStore, SqliteStore, User, UserStore,
};
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::pending::Pending;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "common/served.rs"]
mod served;
use served::Served;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");
const SECRET: &str = "seeded-secret-0123456789abcdef0123456789";
const REDIRECT_URI: &str = "http://127.0.0.1:8081/callback";

fn kari() -> String {
    Nnin::synthetic(1985, 3, 15, 11).to_string()
}

fn ola() -> String {
    Nnin::synthetic(1979, 11, 2, 22).to_string()
}

/// A seed file as a CI pipeline would keep it: the secret in the environment.
fn seed_toml(shop_name: &str, kari_given_name: &str, kari_app: &str) -> String {
    format!(
        r#"
[[clients]]
client_id = "shop"
client_secret_env = "SHOP_SECRET"
name = "{shop_name}"
redirect_uris = ["{REDIRECT_URI}"]
scope = "openid profile nnin_altsub permissions/client"
grant_types = ["authorization_code", "client_credentials"]

[[users]]
nnin = "{kari}"
given_name = "{kari_given_name}"
family_name = "Seeded"
birthdate = "1985-03-15"
phone = "+47 480 00 011"
otp = "code-1"
password = "pass-1"
app_answer = "{kari_app}"
app_delay = 2

[[users]]
nnin = "{ola}"
given_name = "Ola"
family_name = "Seeded"
birthdate = "1979-11-02"
address = "Storgata 1, 0155 Oslo"
"#,
        kari = kari(),
        ola = ola(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `serve --seed` on a data directory.
fn serve(data: &Path, seed: &Path) -> Served {
    let mut command = Command::new(BIN);
    command
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "0", "--seed"])
        .arg(seed)
        .env("SHOP_SECRET", SECRET)
        .env_remove("BANKID_OIDC_SEED");
    Served::spawn(
        command,
        &data.with_extension("stdout"),
        &data.with_extension("stderr"),
    )
}

/// Every client and user of the store, with each user's scripted app answer: the rows a seed
/// file may change.
#[derive(Debug, PartialEq)]
struct Rows {
    clients: Vec<Client>,
    users: Vec<(User, Option<AppScripted>)>,
}

async fn rows(data: &Path) -> Rows {
    let store = SqliteStore::open(&data.join("bankid-oidc.db"))
        .await
        .unwrap();
    let clients = store.clients().await.unwrap();
    let mut users = Vec::new();
    for user in store.users().await.unwrap() {
        let script = store.app_script(&user.id).await.unwrap();
        users.push((user, script));
    }
    Rows { clients, users }
}

async fn machine_token(base: &str, secret: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!(
            "{base}/auth/realms/current/protocol/openid-connect/token"
        ))
        .basic_auth("shop", Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "permissions/client"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// The seeded client logs the seeded user in with the file's one-time code and password.
async fn log_in(base: &str, nnin: &str, otp: &str, password: &str) {
    let browser = Browser::with_base(base);
    let pending = Pending::new(
        &[("client_id", "shop"), ("redirect_uri", REDIRECT_URI)],
        &[],
    );
    let authorize = format!("{base}/auth/realms/current/protocol/openid-connect/auth");
    let callback = browser
        .login_bid_at(&pending.url_at(&authorize), nnin, otp, password)
        .await;
    assert!(!callback.code().is_empty());
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
}

#[tokio::test]
async fn a_seed_file_adds_at_the_first_start_changes_nothing_at_the_next_and_updates_what_changed()
{
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seed = write(
        dir.path(),
        "seed.toml",
        &seed_toml("Shop AS", "Kari", "approve"),
    );

    // First start: everything is added, and the file's client and users are all there is (no
    // demo client, no default test users).
    let served = serve(&data, &seed);
    assert!(
        served
            .banner
            .contains(&format!("Seed file:       {}", seed.display())),
        "{}",
        served.banner
    );
    assert!(
        served
            .banner
            .contains("clients: 1 added, 0 updated, 0 unchanged")
    );
    assert!(
        served
            .banner
            .contains("users: 2 added, 0 updated, 0 unchanged")
    );
    assert!(
        served.banner.contains("Test users (2):"),
        "{}",
        served.banner
    );
    assert_eq!(machine_token(&served.base, SECRET).await, 200);
    log_in(&served.base, &kari(), "code-1", "pass-1").await;
    served.stop();
    let first = rows(&data).await;
    assert_eq!(first.clients.len(), 1);
    assert_eq!(first.clients[0].name, "Shop AS");
    assert!(!first.clients[0].secret_hash.contains(SECRET));
    let kari_row = first.users.iter().find(|(u, _)| u.nnin == kari()).unwrap();
    assert_eq!(kari_row.0.phone.as_deref(), Some("48000011"));
    assert_eq!(
        kari_row.1.map(|s| (s.answer.as_str(), s.delay)),
        Some(("approve", 2))
    );

    // Second start, same file: nothing written, not even the salted secret hash again.
    let served = serve(&data, &seed);
    assert!(
        served
            .banner
            .contains("clients: 0 added, 0 updated, 1 unchanged")
    );
    assert!(
        served
            .banner
            .contains("users: 0 added, 0 updated, 2 unchanged")
    );
    assert_eq!(machine_token(&served.base, SECRET).await, 200);
    assert_eq!(machine_token(&served.base, "not-the-secret").await, 401);
    log_in(&served.base, &ola(), "otp", "qwer1234").await;
    served.stop();
    assert_eq!(rows(&data).await, first);

    // A client added by the CLI meanwhile is not the file's business.
    let added = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["clients", "add", "--client-id", "other", "--client-secret"])
        .arg("other-secret-0123456789abcdef0123456789")
        .args(["--redirect-uri", "https://other.example/cb"])
        .output()
        .unwrap();
    assert!(added.status.success());

    // An edited file: the client's name, Kari's given name and app answer change.
    write(
        dir.path(),
        "seed.toml",
        &seed_toml("Shop AS (renamed)", "Kari Anne", "deny"),
    );
    let served = serve(&data, &seed);
    assert!(
        served
            .banner
            .contains("clients: 0 added, 1 updated, 0 unchanged")
    );
    assert!(
        served
            .banner
            .contains("users: 0 added, 1 updated, 1 unchanged")
    );
    assert_eq!(machine_token(&served.base, SECRET).await, 200);
    served.stop();
    let edited = rows(&data).await;
    let shop = edited
        .clients
        .iter()
        .find(|c| c.client_id == "shop")
        .unwrap();
    assert_eq!(shop.name, "Shop AS (renamed)");
    assert_eq!(
        shop.secret_hash, first.clients[0].secret_hash,
        "same secret"
    );
    assert!(edited.clients.iter().any(|c| c.client_id == "other"));
    let (kari_now, script) = edited.users.iter().find(|(u, _)| u.nnin == kari()).unwrap();
    assert_eq!(kari_now.given_name, "Kari Anne");
    assert_eq!(script.map(|s| s.answer.as_str()), Some("deny"));
    assert_eq!(kari_now.id, kari_row.0.id, "the same user, updated");
    assert_eq!(kari_now.pid, kari_row.0.pid);
    let ola_then = first.users.iter().find(|(u, _)| u.nnin == ola()).unwrap();
    let ola_now = edited.users.iter().find(|(u, _)| u.nnin == ola()).unwrap();
    assert_eq!(ola_now, ola_then, "an unchanged entry is left alone");
}

#[tokio::test]
async fn a_json_seed_file_is_read_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seed = write(
        dir.path(),
        "seed.json",
        &format!(
            r#"{{"clients": [{{"client_id": "shop", "client_secret": "{SECRET}",
                 "redirect_uris": ["{REDIRECT_URI}"]}}],
               "users": [{{"nnin": "{}", "given_name": "Kari", "family_name": "Json",
                 "birthdate": "1985-03-15"}}]}}"#,
            kari()
        ),
    );
    let served = serve(&data, &seed);
    assert!(served.banner.contains("clients: 1 added"));
    assert!(served.banner.contains("users: 1 added"));
    log_in(&served.base, &kari(), "otp", "qwer1234").await;
    served.stop();
}

/// The bytes of every file in the data directory, once they have stopped changing (a store
/// just closed may still be checkpointing its log).
fn snapshot(data: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut last = files_of(data);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = files_of(data);
        if now == last {
            return now;
        }
        last = now;
    }
}

fn files_of(data: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// `serve --seed FILE` that must stop before it listens: its stderr.
fn refused(data: &Path, seed: &Path) -> String {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "0", "--seed"])
        .arg(seed)
        .env("SHOP_SECRET", SECRET)
        .env_remove("NO_SUCH_VARIABLE_IN_THIS_TEST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("serve started with a bad seed file {}", seed.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Listening"), "{stdout}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_bad_seed_file_stops_the_start_naming_file_entry_and_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = write(
        dir.path(),
        "good.toml",
        &seed_toml("Shop AS", "Kari", "approve"),
    );
    serve(&data, &good).stop();
    let before = rows(&data).await;
    let files = snapshot(&data);

    let bad_nnin = {
        let mut n = kari();
        let last = n.pop().unwrap();
        n.push(if last == '0' { '1' } else { '0' });
        n
    };
    let nnin_rule = Nnin::parse(&bad_nnin).unwrap_err().to_string();
    // A valid new client first, then the bad entry: the first must not be written either.
    let new_client = "[[clients]]\nclient_id = \"new\"\nclient_secret = \"new-secret-0123456789abcdef0123456789\"\nredirect_uris = [\"https://new.example/cb\"]\n";
    let cases: Vec<(&str, String, String)> = vec![
        (
            "unknown-field.toml",
            format!("{new_client}[[clients]]\nclient_id = \"shop\"\nclient_secret = \"s\"\nredirect_uri = \"{REDIRECT_URI}\"\n"),
            "clients[1] (client_id 'shop'): unknown field `redirect_uri`, expected one of".into(),
        ),
        (
            "invalid-nnin.toml",
            format!("{new_client}[[users]]\nnnin = \"{bad_nnin}\"\ngiven_name = \"K\"\nfamily_name = \"N\"\nbirthdate = \"1985-03-15\"\n"),
            format!("users[0] (nnin '{bad_nnin}'): nnin '{bad_nnin}': {nnin_rule}"),
        ),
        (
            "bad-redirect-uri.toml",
            format!("{new_client}[[clients]]\nclient_id = \"shop\"\nclient_secret = \"s\"\nredirect_uris = [\"http://shop.example/callback\"]\n"),
            "clients[1] (client_id 'shop'): redirect_uris 'http://shop.example/callback': plain http is allowed only on a loopback host".into(),
        ),
        (
            "duplicate.toml",
            format!("{new_client}{}", new_client),
            "clients[1] (client_id 'new'): client_id 'new': also at clients[0]; each client once".into(),
        ),
        (
            "duplicate-user.toml",
            format!("[[users]]\nnnin = \"{k}\"\ngiven_name = \"K\"\nfamily_name = \"N\"\nbirthdate = \"1985-03-15\"\n[[users]]\nnnin = \"{k}\"\ngiven_name = \"K\"\nfamily_name = \"M\"\nbirthdate = \"1985-03-15\"\n", k = kari()),
            format!("users[1] (nnin '{k}'): nnin '{k}': also at users[0]; each user once", k = kari()),
        ),
        (
            "no-nnin.toml",
            "[[users]]\ngiven_name = \"K\"\nfamily_name = \"N\"\nbirthdate = \"1985-03-15\"\n".into(),
            "users[0]: missing field `nnin`".into(),
        ),
        (
            "wrong-type.toml",
            format!("[[clients]]\nclient_id = \"shop\"\nclient_secret = \"s\"\nredirect_uris = \"{REDIRECT_URI}\"\n"),
            "clients[0] (client_id 'shop'): redirect_uris: invalid type: string".into(),
        ),
        (
            "missing-env.toml",
            format!("[[clients]]\nclient_id = \"shop\"\nclient_secret_env = \"NO_SUCH_VARIABLE_IN_THIS_TEST\"\nredirect_uris = [\"{REDIRECT_URI}\"]\n"),
            "clients[0] (client_id 'shop'): client_secret_env 'NO_SUCH_VARIABLE_IN_THIS_TEST': the environment has no such variable".into(),
        ),
        (
            "bad-app-answer.toml",
            format!("[[users]]\nnnin = \"{}\"\ngiven_name = \"K\"\nfamily_name = \"N\"\nbirthdate = \"1985-03-15\"\napp_answer = \"maybe\"\n", kari()),
            format!("users[0] (nnin '{}'): app_answer 'maybe': use one of approve, deny, timeout, unreachable", kari()),
        ),
        (
            "unknown-key.toml",
            "[[client]]\nclient_id = \"shop\"\n".into(),
            "unknown key `client` (a seed file has `clients` and `users`)".into(),
        ),
        (
            "not-toml.toml",
            "[[clients]\nclient_id = \"shop\"\n".into(),
            "not TOML".into(),
        ),
        (
            "bad-json.json",
            "{\"clients\": [{\"client_id\": \"shop\", \"client_secret\": \"s\", \"redirect_uris\": [\"javascript:alert(1)\"]}]}".into(),
            "clients[0] (client_id 'shop'): redirect_uris 'javascript:alert(1)': the scheme 'javascript' is not allowed".into(),
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, &text);
        let stderr = refused(&data, &path);
        let expected = format!("error: seed file {}: {expected}", path.display());
        assert!(
            stderr.contains(&expected),
            "{name}:\n{stderr}\nexpected: {expected}"
        );
        assert_eq!(snapshot(&data), files, "{name}: the store untouched");
    }

    // A file that cannot be read.
    let missing = dir.path().join("missing.toml");
    let stderr = refused(&data, &missing);
    assert!(
        stderr.contains(&format!(
            "error: --seed {}: cannot read the seed file: No such file or directory",
            missing.display()
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(&data), files);
    assert_eq!(rows(&data).await, before);

    // Nor is a new data directory made for a bad file.
    let fresh = dir.path().join("fresh");
    refused(&fresh, &dir.path().join("duplicate.toml"));
    assert!(!fresh.exists());
}

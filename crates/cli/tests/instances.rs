//! Two `serve` processes on one PostgreSQL database, behind a round-robin balancer that sends
//! each connection to the other instance: the instances share nothing but the database.
//!
//! Runs when `BANKID_OIDC_TEST_DATABASE_URL` names a PostgreSQL database (`.ci/run` sets it);
//! each test makes a schema of its own there.

use bankid_oidc_server::store::{PgOptions, PgStore};
use bankid_oidc_testkit::browser::{Browser, Callback, Step};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, test_database_url};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

#[path = "common/served.rs"]
mod served;
use served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");
/// A merchant that registers permissions and logs users in at BIS.
const BIS_SHOP: &str = "bis-shop";
const BIS_SECRET: &str = "bis-shop-secret-0123456789-abcdefghijkl";
const KARI: (&str, &str) = ("15838540063", "qwer1234");

/// The database URL for a new schema of its own, or None when the tests run on SQLite only.
async fn new_database() -> Option<String> {
    let Some(url) = test_database_url() else {
        eprintln!(
            "BANKID_OIDC_TEST_DATABASE_URL is not set: the multi-instance tests need PostgreSQL"
        );
        return None;
    };
    let schema = format!(
        "instances_{}",
        bankid_oidc_server::secret::random_token()[..12].to_lowercase()
    )
    .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let admin = PgStore::connect(&PgOptions::new(&url)).unwrap();
    admin
        .execute_batch(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{separator}options=-csearch_path%3D{schema}"))
}

/// One `serve` process, killed when dropped.
struct Instance {
    served: Option<Served>,
    /// `http://127.0.0.1:<port>`: this instance alone.
    base: String,
}

impl Instance {
    async fn start(dir: &Path, database_url: &str, public_url: &str) -> Instance {
        let seed = dir.join("seed.toml");
        std::fs::write(
            &seed,
            format!(
                "[[clients]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
                 redirect_uris = [\"{REDIRECT_URI}\"]\n\
                 scope = \"openid profile nnin_altsub offline_access\"\n\
                 grant_types = [\"authorization_code\", \"refresh_token\"]\n\
                 [[clients]]\nclient_id = \"{BIS_SHOP}\"\nclient_secret = \"{BIS_SECRET}\"\n\
                 redirect_uris = [\"{REDIRECT_URI}\"]\n\
                 scope = \"openid profile sub_nnin permissions/client\"\n\
                 grant_types = [\"authorization_code\", \"client_credentials\"]\n"
            ),
        )
        .unwrap();
        let mut command = std::process::Command::new(BIN);
        command
            .args(["--data-dir", dir.to_str().unwrap()])
            .args(["--database-url", database_url])
            .args(["serve", "--listen", "127.0.0.1:0", "--test-controls"])
            .args(["--public-url", public_url, "--seed", seed.to_str().unwrap()]);
        let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
        // Waiting for the banner blocks: off the runtime, so two instances start together.
        let served = tokio::task::spawn_blocking(move || Served::spawn(command, &stdout, &stderr))
            .await
            .unwrap();
        Instance {
            base: served.base.clone(),
            served: Some(served),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(served) = self.served.take() {
            served.stop();
        }
    }
}

/// A TCP balancer on `listener`: connection n goes to backend n mod 2. Returns the count of
/// connections each backend got.
fn balance(listener: TcpListener, backends: [String; 2]) -> Arc<[AtomicUsize; 2]> {
    let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let seen = counts.clone();
    let targets = backends.map(|b| b.trim_start_matches("http://").to_owned());
    tokio::spawn(async move {
        let mut next = 0;
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let which = next % 2;
            next += 1;
            seen[which].fetch_add(1, Ordering::Relaxed);
            let target = targets[which].clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    counts
}

/// A browser whose every request opens a new connection, so that the balancer alternates
/// instances request by request.
fn alternating_browser(base: &str) -> Browser {
    let mut browser = Browser::with_base(base);
    browser.http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    browser
}

struct Cluster {
    a: Instance,
    b: Instance,
    /// The balancer's address: the public URL both instances serve.
    public: String,
    counts: Arc<[AtomicUsize; 2]>,
    _dirs: [tempfile::TempDir; 2],
}

impl Cluster {
    async fn start() -> Option<Cluster> {
        let database_url = new_database().await?;
        // The public URL is the balancer's: it listens before the instances start (connections
        // wait in its backlog) and balances once their addresses are known.
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public = format!("http://{}", listener.local_addr().unwrap());
        let (a, b) = tokio::join!(
            Instance::start(dir_a.path(), &database_url, &public),
            Instance::start(dir_b.path(), &database_url, &public),
        );
        let counts = balance(listener, [a.base.clone(), b.base.clone()]);
        Some(Cluster {
            a,
            b,
            public,
            counts,
            _dirs: [dir_a, dir_b],
        })
    }

    fn issuer(&self, base: &str) -> String {
        format!("{base}/auth/realms/current")
    }

    /// The token endpoint of one instance, by its own address.
    fn token_endpoint(&self, base: &str) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer(base))
    }
}

/// A netcentric login through the balancer: each page and each posted step on the other
/// instance than the one before.
async fn login(cluster: &Cluster, pending: &Pending) -> Callback {
    let browser = alternating_browser(&cluster.public);
    let authorize = format!(
        "{}/protocol/openid-connect/auth",
        cluster.issuer(&cluster.public)
    );
    browser
        .login_bid_at(
            &pending.url_at(&authorize),
            "15838540063",
            "otp",
            "qwer1234",
        )
        .await
}

async fn redeem(
    http: &reqwest::Client,
    endpoint: &str,
    code: &str,
    pending: &Pending,
) -> reqwest::Response {
    http.post(endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &pending.verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// The tokens of a redeemed code (the redemption must succeed).
async fn redeemed(http: &reqwest::Client, endpoint: &str, code: &str, pending: &Pending) -> Value {
    let response = redeem(http, endpoint, code, pending).await;
    assert_eq!(response.status(), 200, "the code is redeemed at {endpoint}");
    response.json().await.unwrap()
}

async fn refresh(http: &reqwest::Client, endpoint: &str, token: &str) -> reqwest::Response {
    http.post(endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_step_of_a_login_lands_on_the_other_instance_and_every_token_works_on_either() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let pending = Pending::new(&[("scope", "openid profile offline_access")], &[]);
    let before = [0, 1].map(|i| cluster.counts[i].load(Ordering::Relaxed));
    let callback = login(&cluster, &pending).await;
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    let after = [0, 1].map(|i| cluster.counts[i].load(Ordering::Relaxed));
    // The authorization request, the first page, the NNIN, the one-time code and the password:
    // five requests, alternating, so both instances served steps of this one login.
    assert!(
        after[0] - before[0] >= 2 && after[1] - before[1] >= 2,
        "{before:?} {after:?}"
    );

    let http = reqwest::Client::new();
    // The code is redeemed at an instance by its own address, and the tokens work on both.
    let tokens = redeemed(
        &http,
        &cluster.token_endpoint(&cluster.b.base),
        callback.code(),
        &pending,
    )
    .await;
    let access = tokens["access_token"].as_str().expect("an access token");
    for base in [&cluster.a.base, &cluster.b.base] {
        let userinfo = http
            .get(format!(
                "{}/protocol/openid-connect/userinfo",
                cluster.issuer(base)
            ))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), 200, "userinfo at {base}");
    }
    let refreshed = refresh(
        &http,
        &cluster.token_endpoint(&cluster.a.base),
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(refreshed.status(), 200);
    // Both instances publish the issuer of the balancer, and the same keys.
    assert_eq!(
        published_keys(&http, &cluster.a.base, &cluster.public).await,
        published_keys(&http, &cluster.b.base, &cluster.public).await
    );
}

/// An instance's JWKS, after checking that its discovery names the balancer's issuer.
async fn published_keys(http: &reqwest::Client, base: &str, public: &str) -> Value {
    let meta: Value = http
        .get(format!(
            "{base}/auth/realms/current/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], format!("{public}/auth/realms/current"));
    let jwks_uri = meta["jwks_uri"].as_str().unwrap().replace(public, base);
    http.get(jwks_uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_code_or_refresh_token_sent_to_both_instances_at_once_has_one_winner() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let http = reqwest::Client::new();
    let (at_a, at_b) = (
        cluster.token_endpoint(&cluster.a.base),
        cluster.token_endpoint(&cluster.b.base),
    );
    for round in 0..8 {
        let pending = Pending::new(&[("scope", "openid offline_access")], &[]);
        let callback = login(&cluster, &pending).await;
        let (first, second) = tokio::join!(
            redeem(&http, &at_a, callback.code(), &pending),
            redeem(&http, &at_b, callback.code(), &pending),
        );
        let statuses = [first.status().as_u16(), second.status().as_u16()];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: one redemption wins, got {statuses:?}"
        );
        // The loser's replay revokes what the winner got (a code is used once); the refresh
        // race below starts from a login of its own.
        let pending = Pending::new(&[("scope", "openid offline_access")], &[]);
        let callback = login(&cluster, &pending).await;
        let tokens = redeemed(&http, &at_a, callback.code(), &pending).await;
        let token = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (first, second) =
            tokio::join!(refresh(&http, &at_a, &token), refresh(&http, &at_b, &token));
        let bodies: Vec<Value> = vec![first.json().await.unwrap(), second.json().await.unwrap()];
        // One rotation wins; the other is inside the grace window (the same successor stands)
        // or refused, never a second independent successor.
        let successors: Vec<&str> = bodies
            .iter()
            .filter_map(|b| b["refresh_token"].as_str())
            .collect();
        assert!(!successors.is_empty(), "round {round}: {bodies:?}");
        assert!(
            successors.windows(2).all(|w| w[0] == w[1]),
            "round {round}: two different successors {successors:?}"
        );
        // The family was not taken for a reuse: its one successor goes on, once.
        let next = refresh(&http, &at_b, successors[0]).await;
        assert_eq!(
            next.status(),
            200,
            "round {round}: the successor is exchanged"
        );
    }
}

#[tokio::test]
async fn a_rotation_on_one_instance_is_published_and_used_by_the_other() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let http = reqwest::Client::new();
    let rotated: Value = http
        .post(format!("{}/test-controls/keys/rotate", cluster.a.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = rotated["kid"].as_str().expect("the new kid").to_owned();
    // B's key schedule reads the store every 2 seconds; its JWKS has the new key within that.
    let mut published = false;
    for _ in 0..50 {
        let keys = published_keys(&http, &cluster.b.base, &cluster.public).await;
        if keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str())
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "instance B publishes the key A made");
    // And B signs with it: a login through B's own address gets an ID token with the new kid.
    let pending = Pending::new(&[], &[]);
    let browser = alternating_browser(&cluster.b.base);
    let authorize = format!(
        "{}/protocol/openid-connect/auth",
        cluster.issuer(&cluster.b.base)
    );
    let callback = browser
        .login_bid_at(
            &pending.url_at(&authorize),
            "15838540063",
            "otp",
            "qwer1234",
        )
        .await;
    let tokens = redeemed(
        &http,
        &cluster.token_endpoint(&cluster.b.base),
        callback.code(),
        &pending,
    )
    .await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let header: Value =
        serde_json::from_slice(&base64_url(id_token.split('.').next().unwrap())).unwrap();
    assert_eq!(header["kid"], kid.as_str());
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[tokio::test]
async fn a_permission_registered_on_one_instance_is_approved_through_the_other() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let (a, b) = (&cluster.a.base, &cluster.b.base);
    let http = reqwest::Client::new();
    // A machine token and the permission, at A.
    let token: Value = http
        .post(cluster.token_endpoint(a))
        .basic_auth(BIS_SHOP, Some(BIS_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "permissions/client"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().expect("a machine token");
    let statement = base64_url_encode(&format!(
        r#"{{"nonce":"{}","id":"basket-1","payments":[{{"paymentId":"p1","amount":"123.45","currency":"NOK","creditorName":"Scrooge McDuck"}}]}}"#,
        bankid_oidc_server::secret::random_token()
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let registered: Value = http
        .post(format!("{a}/bis/permissions/v1/"))
        .bearer_auth(access)
        .json(&serde_json::json!({
            "type": "payment.v1",
            "iat": now,
            "exp": now + 300,
            "permission": statement,
            "loginHint": [{ "scheme": "nnin", "value": KARI.0 }],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = registered["id"].as_str().expect("a registered permission");
    let permission_token = registered["permissionToken"].as_str().unwrap();
    let grant_at_b = format!("{b}/bis/permissions/v1/{id}/grant");
    let grant = http
        .get(&grant_at_b)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        grant.status(),
        404,
        "B knows the permission A registered, not granted yet"
    );

    // The login at A, with the permission token: a page that waits for the app.
    let public = &cluster.public;
    let browser = Browser::at_instance(public, a);
    let pending = Pending::new(
        &[
            ("client_id", BIS_SHOP),
            ("scope", "openid sub_nnin"),
            ("login_hint_token", permission_token),
        ],
        &[],
    );
    let authorize = format!("{public}/bis/authorize");
    let mut waiting = match browser.get(&pending.url_at(&authorize)).await {
        Step::Page { html, .. } => html,
        Step::Callback(callback) => panic!(
            "the login ended at once: {:?}",
            callback.get("error_description")
        ),
    };
    assert!(
        browser.refresh_url(&waiting).is_some(),
        "the login waits for the app: {waiting}"
    );

    // The user's phone answers through B.
    let phone = Browser::at_instance(public, b);
    let (_, html) = Browser::page(phone.get(&format!("{public}/bis/app")).await);
    let (_, html) = Browser::page(
        phone
            .submit(&html, &[("nnin", KARI.0), ("password", KARI.1)], None)
            .await,
    );
    assert!(
        html.contains("Scrooge McDuck"),
        "B's app shows A's permission: {html}"
    );
    let (_, html) = Browser::page(phone.submit(&html, &[], Some(("decision", "allow"))).await);
    assert!(!html.contains(r#"name="decision""#), "answered: {html}");

    // A's waiting page goes on to the merchant with a code, and B serves the grant.
    let callback = loop {
        match browser.reload(&waiting).await {
            Step::Callback(callback) => break callback,
            Step::Page { html, .. } => {
                assert!(
                    browser.refresh_url(&html).is_some(),
                    "still waiting: {html}"
                );
                waiting = html;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(
        callback.get("code").is_some(),
        "{:?}",
        callback.get("error")
    );
    let grant = http
        .get(&grant_at_b)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 200);
    assert_eq!(grant.headers()["content-type"], "application/jwt");
    // A serves the same grant: the first signed is every reader's.
    let at_b = grant.text().await.unwrap();
    let at_a = http
        .get(format!("{a}/bis/permissions/v1/{id}/grant"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(at_a, at_b);
}

fn base64_url_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

//! `bankid-oidc serve --tls` as a user runs it, with clients that trust only the CA generated
//! into the data directory (or, for `--tls-cert`, a CA made here): the client library, curl,
//! openid-client under Node (`NODE_EXTRA_CA_CERTS`), and Chromium with the CA in its NSS
//! database. Expired and foreign certificates are refused; a restart keeps the CA and the
//! certificate; ALPN picks HTTP/2; a slow handshake is cut by the header read timeout.
//!
//! curl, node and npm, chromium and certutil (libnss3-tools) must be installed: a test that
//! lacks one fails and says so rather than skip. BANKID_OIDC_SKIP_INTEROP=1 skips the Node and
//! Chromium tests on purpose, as it does the other interoperability tests.

use bankid_oidc_client::{CallbackParams, Client};
use bankid_oidc_testkit::browser::{Browser, Callback};
use bankid_oidc_testkit::npm::{self, NodeProject};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");

/// A running `bankid-oidc serve` and what it printed.
struct Served {
    child: Child,
    /// `https://127.0.0.1:<port>` (or `http://` without TLS).
    base: String,
    banner: String,
}

impl Served {
    /// `serve --listen 127.0.0.1:0` with these further arguments.
    async fn start(dir: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
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
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
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

    fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    async fn stop(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

fn ca_file(dir: &Path) -> PathBuf {
    dir.join("tls").join("ca.pem")
}

/// An HTTP client that trusts this CA and nothing else (no system or built-in roots), follows
/// no redirect and keeps cookies, as a merchant's server or a test browser would.
fn trusting(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A CA made by the test, as a company's or another tool's would be.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "a test's own CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for localhost and 127.0.0.1, valid between these two times, written
    /// to `dir` as `cert.pem` and `key.pem`.
    fn server_cert(
        &self,
        dir: &Path,
        not_before: time::OffsetDateTime,
        not_after: time::OffsetDateTime,
    ) -> (PathBuf, PathBuf) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }
}

/// The TLS handshake alone, trusting `ca_pem`, offering these ALPN protocols: the negotiated
/// protocol and the certificate the server presented.
async fn handshake(port: u16, ca_pem: &[u8], alpn: &[&[u8]]) -> (Option<Vec<u8>>, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the handshake succeeds with the CA trusted");
    let connection = tls.get_ref().1;
    (
        connection.alpn_protocol().map(<[u8]>::to_vec),
        connection.peer_certificates().unwrap()[0].to_vec(),
    )
}

/// Fails the test, naming the package, if `tool` cannot be run (whatever it answers to `-h`).
fn require(tool: &str, install: &str) {
    let found = std::process::Command::new(tool)
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(found, "this test needs `{tool}` on PATH ({install})");
}

fn callback_params(callback: &Callback) -> CallbackParams {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&callback.params)
        .finish();
    CallbackParams::parse(&query)
}

/// The first test user in the banner: NNIN, one-time code, password.
fn first_user(banner: &str) -> (String, String, String) {
    let line = banner
        .lines()
        .find(|l| l.contains("one-time code '"))
        .expect("a test user in the banner");
    let nnin = line.split_whitespace().next().unwrap().to_owned();
    let quoted: Vec<&str> = line.split('\'').collect();
    (nnin, quoted[1].to_owned(), quoted[3].to_owned())
}

/// The demo client's registration as the banner shows it, in a library client that trusts only
/// `ca_pem`.
async fn demo_client(served: &Served, ca_pem: &[u8]) -> Client {
    Client::builder(&served.issuer(), &served.value_after("client_id"))
        .client_secret(&served.value_after("client_secret"))
        .redirect_uri(&served.value_after("redirect_uri"))
        .http_client(trusting(ca_pem))
        .discover()
        .await
        .expect("discovery over https with only the generated CA trusted")
}

#[tokio::test]
async fn the_client_library_trusting_only_the_generated_ca_discovers_and_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--tls"]).await;
    assert!(
        served.base.starts_with("https://127.0.0.1:"),
        "{}",
        served.banner
    );
    assert!(
        served
            .value_after("Discovery URL:")
            .starts_with("https://127.0.0.1:"),
        "the public URL is https by default"
    );
    let ca = ca_file(dir.path());
    for line in [
        format!("Local CA:        {}", ca.display()),
        format!("curl --cacert {}", ca.display()),
        format!("NODE_EXTRA_CA_CERTS={}", ca.display()),
        format!("SSL_CERT_FILE={}", ca.display()),
        "keytool -importcert".to_owned(),
        "update-ca-certificates".to_owned(),
        "certutil -d sql:$HOME/.pki/nssdb".to_owned(),
    ] {
        assert!(
            served.banner.contains(&line),
            "'{line}' in:\n{}",
            served.banner
        );
    }
    let ca_pem = std::fs::read(&ca).unwrap();
    let client = demo_client(&served, &ca_pem).await;

    let login = client
        .authorization_request()
        .await
        .unwrap()
        .login_hint("BID")
        .build()
        .unwrap();
    assert!(login.url.as_str().starts_with("https://"), "{}", login.url);
    let (nnin, otp, password) = first_user(&served.banner);
    let mut browser = Browser::with_base(&served.base);
    browser.http = trusting(&ca_pem);
    // The first page sets the login's cookies: Secure over TLS, and no HSTS without --hsts.
    let first = browser.http.get(login.url.as_str()).send().await.unwrap();
    assert!(first.headers().get("strict-transport-security").is_none());
    let cookies: Vec<_> = first.headers().get_all("set-cookie").iter().collect();
    assert!(!cookies.is_empty());
    for cookie in cookies {
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
    let callback = browser
        .login_bid_at(login.url.as_str(), &nnin, &otp, &password)
        .await;
    let done = client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .expect("the code is redeemed over https");
    assert_eq!(done.id_token.claims.iss, served.issuer());
    served.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_the_same_ca_and_certificate_and_a_new_name_renews_only_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let first = Served::start(dir.path(), &["--tls"]).await;
    assert!(first.banner.contains("(CA generated)"), "{}", first.banner);
    let ca_pem = std::fs::read(ca_file(dir.path())).unwrap();
    let (_, presented) = handshake(first.port(), &ca_pem, &[b"http/1.1"]).await;
    let server_pem = std::fs::read(dir.path().join("tls/server.pem")).unwrap();
    assert_eq!(
        presented,
        CertificateDer::from_pem_slice(&server_pem)
            .unwrap()
            .to_vec()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| {
            std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(
            mode("tls/ca-key.pem"),
            0o600,
            "the CA key is the owner's only"
        );
        assert_eq!(mode("tls/server-key.pem"), 0o600);
        assert_eq!(mode("tls"), 0o700);
    }
    first.stop().await;

    let second = Served::start(dir.path(), &["--tls"]).await;
    assert!(!second.banner.contains("generated)"), "{}", second.banner);
    assert!(!second.banner.contains("renewed ("), "{}", second.banner);
    assert_eq!(std::fs::read(ca_file(dir.path())).unwrap(), ca_pem);
    let (_, presented) = handshake(second.port(), &ca_pem, &[b"http/1.1"]).await;
    assert_eq!(
        presented,
        CertificateDer::from_pem_slice(&server_pem)
            .unwrap()
            .to_vec(),
        "the same certificate after a restart"
    );
    second.stop().await;

    // A name asked for that the certificate lacks: a new certificate from the same CA.
    let third = Served::start(dir.path(), &["--tls", "--tls-name", "shop.test"]).await;
    assert!(
        third.banner.contains("renewed ('shop.test'"),
        "{}",
        third.banner
    );
    assert_eq!(std::fs::read(ca_file(dir.path())).unwrap(), ca_pem);
    assert_ne!(
        std::fs::read(dir.path().join("tls/server.pem")).unwrap(),
        server_pem
    );
    let http = trusting(&ca_pem);
    let ok = http.get(third.discovery_url()).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    third.stop().await;
}

#[tokio::test]
async fn a_certificate_near_its_end_is_renewed_at_start_from_the_same_ca() {
    let dir = tempfile::tempdir().unwrap();
    Served::start(dir.path(), &["--tls"]).await.stop().await;
    let tls = dir.path().join("tls");
    let ca_pem = std::fs::read_to_string(tls.join("ca.pem")).unwrap();
    let ca_key =
        KeyPair::from_pem(&std::fs::read_to_string(tls.join("ca-key.pem")).unwrap()).unwrap();
    // A certificate of the same CA with ten days left, as a year on.
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(380);
    params.not_after = now + time::Duration::days(10);
    let key = KeyPair::generate().unwrap();
    let ending = params.signed_by(&key, &issuer).unwrap().pem();
    std::fs::write(tls.join("server.pem"), &ending).unwrap();
    std::fs::write(tls.join("server-key.pem"), key.serialize_pem()).unwrap();

    let served = Served::start(dir.path(), &["--tls"]).await;
    assert!(
        served.banner.contains("renewed (it expires"),
        "{}",
        served.banner
    );
    assert_eq!(std::fs::read_to_string(tls.join("ca.pem")).unwrap(), ca_pem);
    let (_, presented) = handshake(served.port(), ca_pem.as_bytes(), &[b"http/1.1"]).await;
    assert_ne!(
        presented,
        CertificateDer::from_pem_slice(ending.as_bytes())
            .unwrap()
            .to_vec()
    );
    served.stop().await;
}

#[tokio::test]
async fn curl_with_cacert_fetches_discovery_over_http2_and_refuses_without_it() {
    require("curl", "apt-get install curl");
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--tls"]).await;
    let ca = ca_file(dir.path());
    let output = Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "--http2",
            "-w",
            "\n%{http_version}",
            "--cacert",
        ])
        .arg(&ca)
        .arg(served.discovery_url())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "curl --cacert: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (body, version) = stdout.rsplit_once('\n').unwrap();
    assert_eq!(version, "2", "HTTP/2 by ALPN");
    let meta: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(meta["issuer"], served.issuer());
    // A header as large as HTTP/1.1 takes (a request object may travel in the query) passes
    // over HTTP/2 too.
    let long = format!("{}?request={}", served.discovery_url(), "a".repeat(50_000));
    let output = Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            "--cacert",
        ])
        .arg(&ca)
        .arg(&long)
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "2 200",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Without the CA (the system's roots only), curl refuses: error 60, an unknown issuer.
    let refused = Command::new("curl")
        .args(["-sS", "--fail"])
        .arg(served.discovery_url())
        .output()
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(60), "{refused:?}");
    served.stop().await;
}

#[tokio::test]
async fn alpn_negotiates_http2_or_http1_and_plain_http_serves_beside_it_without_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--tls-listen", "127.0.0.1:0", "--hsts"]).await;
    let ca_pem = std::fs::read(ca_file(dir.path())).unwrap();
    let (alpn, _) = handshake(served.port(), &ca_pem, &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let (alpn, _) = handshake(served.port(), &ca_pem, &[b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));

    // --hsts: the header over https only, never over the plain listener beside it.
    let https = trusting(&ca_pem)
        .get(served.discovery_url())
        .send()
        .await
        .unwrap();
    assert_eq!(https.status(), 200);
    assert_eq!(
        https.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain_base = format!(
        "http://{}",
        served.value_after("Plain HTTP also on http://")
    );
    let plain = reqwest::get(format!(
        "{plain_base}/auth/realms/current/.well-known/openid-configuration"
    ))
    .await
    .unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("strict-transport-security").is_none());
    let meta: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(
        meta["issuer"],
        served.issuer(),
        "the public URL is the https one"
    );
    served.stop().await;
}

#[tokio::test]
async fn own_certificate_with_tls_cert_and_expired_or_foreign_certificates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let now = time::OffsetDateTime::now_utc();
    let (cert, key) = ca.server_cert(
        certs.path(),
        now - time::Duration::hours(1),
        now + time::Duration::days(30),
    );
    let served = Served::start(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!served.banner.contains("Local CA:"), "{}", served.banner);
    assert!(served.banner.contains("(yours)"), "{}", served.banner);
    assert!(!dir.path().join("tls").exists(), "nothing generated");
    let ok = trusting(ca.pem.as_bytes())
        .get(served.discovery_url())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // A client that trusts another CA (a generated one, of another data directory) refuses.
    let other = tempfile::tempdir().unwrap();
    Served::start(other.path(), &["--tls"]).await.stop().await;
    let foreign = std::fs::read(ca_file(other.path())).unwrap();
    let refused = trusting(&foreign)
        .get(served.discovery_url())
        .send()
        .await
        .expect_err("a certificate of a CA the client does not trust is refused");
    assert!(
        format!("{refused:?}").contains("UnknownIssuer"),
        "{refused:?}"
    );
    served.stop().await;

    // An expired certificate of a trusted CA: refused by the library's HTTP client and by curl.
    let (cert, key) = ca.server_cert(
        certs.path(),
        now - time::Duration::days(60),
        now - time::Duration::days(1),
    );
    let served = Served::start(
        dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .await;
    let discovered = Client::builder(&served.issuer(), "demo-merchant")
        .client_secret("unused")
        .http_client(trusting(ca.pem.as_bytes()))
        .discover()
        .await;
    let Err(refused) = discovered else {
        panic!("the client library refuses an expired certificate");
    };
    let refused = format!("{refused:?}");
    assert!(refused.contains("Expired"), "{refused}");
    require("curl", "apt-get install curl");
    let ca_file = certs.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let curl = Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&ca_file)
        .arg(served.discovery_url())
        .output()
        .await
        .unwrap();
    assert_eq!(curl.status.code(), Some(60), "{curl:?}");
    assert!(
        String::from_utf8_lossy(&curl.stderr).contains("expired"),
        "{curl:?}"
    );
    served.stop().await;
}

#[tokio::test]
async fn a_slow_tls_handshake_is_cut_by_the_header_read_timeout_and_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    // One connection slot, a one-second header deadline, a long idle timeout: only the header
    // deadline can free the slot in time.
    let served = Served::start(
        dir.path(),
        &[
            "--tls",
            "--max-connections",
            "1",
            "--header-read-timeout",
            "1",
            "--idle-timeout",
            "120",
        ],
    )
    .await;
    let ca_pem = std::fs::read(ca_file(dir.path())).unwrap();
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", served.port()))
        .await
        .unwrap();
    let started = Instant::now();
    // The start of a TLS record (a handshake of 512 bytes), then a byte every 200 ms: bytes keep
    // moving, so the idle timeout never fires.
    let trickle = async {
        slow.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await?;
        let mut buf = [0u8; 1];
        loop {
            tokio::select! {
                read = slow.read(&mut buf) => {
                    read?;
                    return Ok::<_, std::io::Error>(());
                }
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    slow.write_all(&[0x01]).await?;
                }
            }
        }
    };
    // Meanwhile a real client waits for the only slot.
    let waiting = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let response = trusting(&ca_pem)
            .get(served.discovery_url())
            .send()
            .await
            .unwrap();
        (response.status(), started.elapsed())
    };
    let (trickled, (status, answered_after)) =
        tokio::time::timeout(Duration::from_secs(20), async {
            tokio::join!(trickle, waiting)
        })
        .await
        .expect("the slow handshake is cut well before the idle timeout");
    let cut_after = started.elapsed();
    let _ = trickled;
    assert_eq!(status, 200);
    assert!(
        answered_after < Duration::from_secs(5),
        "the waiting client was served after {answered_after:?}"
    );
    assert!(
        cut_after < Duration::from_secs(5),
        "cut after {cut_after:?}"
    );
    served.stop().await;
}

fn openid_client() -> NodeProject {
    // The interoperability project of the server crate: openid-client's code flow (rp.mjs).
    NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/interop/openid-client"),
        "openid-client",
    )
}

#[tokio::test]
async fn openid_client_under_node_trusts_the_ca_through_node_extra_ca_certs() {
    if npm::skip_requested() {
        return;
    }
    let node = openid_client();
    let installer = node.clone();
    tokio::task::spawn_blocking(move || installer.install())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--tls"]).await;
    let (nnin, otp, password) = first_user(&served.banner);
    let run = |ca: Option<PathBuf>| {
        let mut command = tokio::process::Command::from(node.node("rp.mjs"));
        command
            .env_remove("NODE_EXTRA_CA_CERTS")
            .env("ISSUER", served.issuer())
            .env("CLIENT_ID", served.value_after("client_id"))
            .env("CLIENT_SECRET", served.value_after("client_secret"))
            .env("REDIRECT_URI", served.value_after("redirect_uri"))
            .env("NNIN", &nnin)
            .env("OTP", &otp)
            .env("PASSWORD", &password);
        if let Some(ca) = ca {
            command.env("NODE_EXTRA_CA_CERTS", ca);
        }
        command.output()
    };
    let output = run(Some(ca_file(dir.path()))).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "openid-client over https failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["claims"]["iss"], served.issuer());
    assert_eq!(result["claims"]["nnin_altsub"], nnin);

    let refused = run(None).await.unwrap();
    assert!(!refused.status.success(), "node without the CA must refuse");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("UNABLE_TO_GET_ISSUER_CERT_LOCALLY") || stderr.contains("certificate"),
        "{stderr}"
    );
    served.stop().await;
}

#[tokio::test]
async fn chromium_with_the_ca_in_its_nss_database_completes_a_login() {
    if npm::skip_requested() {
        return;
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "this test needs Chromium at {chromium} (apt-get install chromium) or CHROMIUM=path"
    );
    require("certutil", "apt-get install libnss3-tools");
    let project = NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls_browser"),
        "playwright-core",
    );
    let installer = project.clone();
    tokio::task::spawn_blocking(move || installer.install())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--tls"]).await;
    let ca = ca_file(dir.path());
    let ca_pem = std::fs::read(&ca).unwrap();
    let client = demo_client(&served, &ca_pem).await;
    let (nnin, otp, password) = first_user(&served.banner);
    let redirect_uri = served.value_after("redirect_uri");
    let browse = |login_url: String, ca: Option<&Path>| {
        let mut command = tokio::process::Command::from(project.node("login.mjs"));
        command
            .env("AUTHORIZE_URL", login_url)
            .env("REDIRECT_URI", &redirect_uri)
            .env("NNIN", &nnin)
            .env("OTP", &otp)
            .env("PASSWORD", &password)
            .env("CHROMIUM", &chromium);
        if let Some(ca) = ca {
            command.env("CA_FILE", ca);
        }
        command.output()
    };
    let run = |output: std::process::Output| -> serde_json::Value {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "chromium login failed:\n{}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
    };

    // Without the CA trusted, Chromium refuses the first page.
    let login = client
        .authorization_request()
        .await
        .unwrap()
        .build()
        .unwrap();
    let refused = run(browse(login.url.to_string(), None).await.unwrap());
    assert!(
        refused["refused"]
            .as_str()
            .is_some_and(|m| m.contains("ERR_CERT_AUTHORITY_INVALID")),
        "{refused}"
    );

    let login = client
        .authorization_request()
        .await
        .unwrap()
        .build()
        .unwrap();
    let result = run(browse(login.url.to_string(), Some(&ca)).await.unwrap());
    let callback_url = result["callback"].as_str().expect("a callback").to_owned();
    let callback = bankid_oidc_testkit::browser::parse_callback(&callback_url);
    let done = client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .expect("the code from Chromium's login is redeemed");
    assert_eq!(done.id_token.claims.iss, served.issuer());
    let cookies = result["cookies"].as_array().unwrap();
    assert!(!cookies.is_empty(), "{result}");
    for cookie in cookies {
        assert_eq!(cookie["secure"], true, "Secure over TLS: {cookie}");
    }
    served.stop().await;
}

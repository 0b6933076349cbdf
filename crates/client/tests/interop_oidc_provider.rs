//! Interoperability with an independent, OpenID-certified provider: node-oidc-provider from the
//! npm registry, configured with ES256 ID tokens, PKCE required and client_secret_basic
//! (tests/interop/oidc-provider/provider.js). Our library runs the whole code flow against it.
//!
//! Needs node and npm. Without them the test fails, so that CI cannot pass by skipping it;
//! set BANKID_OIDC_SKIP_INTEROP=1 to skip on purpose.

use bankid_oidc_client::{CallbackParams, Client, Error};
use bankid_oidc_testkit::npm::{self, NodeProject};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLIENT_ID: &str = "interop-client";
// Characters that RFC 6749 2.3.1's form-urlencoding inside HTTP Basic must carry intact.
const CLIENT_SECRET: &str = "interop secret: with+special/chars%";
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

fn oidc_provider() -> NodeProject {
    NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/oidc-provider"),
        "oidc-provider",
    )
}

/// Starts the provider and returns it with its issuer URL.
async fn start_provider(node: &NodeProject) -> (Child, String) {
    let mut child = Command::from(node.node("provider.js"))
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting node provider.js");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(issuer) = value["issuer"].as_str()
            {
                return issuer.to_owned();
            }
        }
        panic!("provider.js exited without announcing its issuer");
    })
    .await
    .expect("provider.js did not start within 60 s");
    // Keep reading: the provider logs to stdout, and a closed pipe would kill it (EPIPE).
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("oidc-provider: {line}");
        }
    });
    (child, issuer)
}

/// A browser that follows the provider's redirects with cookies, and stops at our redirect URI.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().as_str().starts_with(REDIRECT_URI) || attempt.previous().len() > 20 {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .build()
        .unwrap()
}

/// Runs the user's part of the login; returns the callback's query string.
async fn log_in(url: &url::Url) -> String {
    let response = browser().get(url.as_str()).send().await.unwrap();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(location) = location.filter(|l| l.starts_with(REDIRECT_URI)) else {
        let status = response.status();
        panic!(
            "login did not end at the redirect URI: {status} {}",
            response.text().await.unwrap_or_default()
        );
    };
    url::Url::parse(&location)
        .unwrap()
        .query()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn code_flow_against_node_oidc_provider() {
    if npm::skip_requested() {
        return;
    }
    let node = oidc_provider();
    node.install();
    let (_provider, issuer) = start_provider(&node).await;

    let client = Client::builder(&issuer, CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .redirect_uri(REDIRECT_URI)
        .allowed_algs(&["ES256"])
        .min_loa(3)
        .discover()
        .await
        .expect("discovery against oidc-provider");
    let metadata = client.metadata().await.unwrap();
    assert_eq!(
        metadata.authorization_response_iss_parameter_supported,
        Some(true),
        "oidc-provider announces RFC 9207, so the callback's iss is checked"
    );

    let redirect = client
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile"])
        // oidc-provider puts acr into the ID token only when asked; BankID always does.
        .acr_values(["urn:bankid:bis;LOA=3"])
        .build()
        .unwrap();
    let query = log_in(&redirect.url).await;
    let callback = CallbackParams::parse(&query);
    assert_eq!(callback.iss.as_deref(), Some(issuer.as_str()));

    let login = client
        .handle_callback(&redirect.pending, &callback)
        .await
        .expect("code exchange and ID token validation");
    let claims = &login.id_token.claims;
    assert_eq!(claims.iss, issuer);
    assert_eq!(claims.sub, "test-user");
    assert_eq!(
        claims.nonce.as_deref(),
        Some(redirect.pending.nonce.as_str())
    );
    assert_eq!(login.id_token.loa(), Some(3));

    let info = client
        .userinfo(&login.tokens.access_token, &claims.sub)
        .await
        .expect("userinfo");
    assert_eq!(info.profile().given_name.as_deref(), Some("Kari"));

    // The provider refuses a replayed code; the error arrives typed.
    let replay = client
        .handle_callback(&redirect.pending, &callback)
        .await
        .unwrap_err();
    assert_eq!(
        replay.provider_error().map(|e| e.code.as_str()),
        Some("invalid_grant"),
        "{replay}"
    );

    // A second login whose callback is swapped into the first session fails on state.
    let other = client
        .authorization_request()
        .await
        .unwrap()
        .build()
        .unwrap();
    let other_query = log_in(&other.url).await;
    let swapped = client
        .handle_callback(&redirect.pending, &CallbackParams::parse(&other_query))
        .await
        .unwrap_err();
    assert!(matches!(swapped, Error::StateMismatch), "{swapped}");

    let machine = client.client_credentials(&["api:read"]).await.unwrap();
    let cached = client.client_credentials(&["api:read"]).await.unwrap();
    assert_eq!(machine.token, cached.token);
}

//! The iframe flow (seed 004) in real headless Chromium (Debian's `chromium`, driven by the npm
//! package playwright-core: tests/browser/iframe.mjs). A merchant page served here on another
//! origin (another port of 127.0.0.1) frames `authorize_uri` and records the analytics events;
//! the user's app answers by a scripted answer. Screenshots of each step, at desktop and phone
//! widths, go to target/screenshots/iframe/.
//!
//! Needs node, npm and /usr/bin/chromium (`.ci/run` installs them); without them the test fails,
//! so that CI cannot pass by skipping it; BANKID_OIDC_SKIP_INTEROP=1 skips it on purpose.

mod iframe_common;

use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bankid_oidc_server::store::AppScript;
use bankid_oidc_testkit::npm::{self, NodeProject};
use bankid_oidc_testkit::oauth::redeem_with_endpoint;
use bankid_oidc_testkit::provider::TestProvider;
use iframe_common::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn project() -> NodeProject {
    NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser"),
        "playwright-core",
    )
}

/// The merchant: `/merchant?uri=...&provider=...[&policy=no-referrer]` frames the flow and
/// keeps the events it receives from the provider's origin in `window.events`; `/callback` is
/// the redirect_uri.
async fn merchant(provider_origin: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route(
            "/merchant",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let provider = provider_origin.clone();
                async move {
                    let uri = html_escape(q.get("uri").map(String::as_str).unwrap_or(""));
                    // The seed's listener: it checks the sender and parses the JSON string.
                    let body = format!(
                        r#"<!doctype html><html><head><meta charset="utf-8"><title>Merchant</title>
<script>window.events = [];
window.addEventListener("message", (event) => {{
  if (event.origin !== "{provider}") return;
  try {{ const m = JSON.parse(event.data); if (m.type === "analytics") window.events.push(m.event); }} catch (e) {{}}
}});</script></head>
<body style="font-family: sans-serif; margin: 1rem"><h1>Test merchant</h1>
<iframe src="{uri}" title="BankID" style="width: 100%; max-width: 480px; height: 640px; border: 1px solid #888"></iframe>
</body></html>"#
                    );
                    let mut response: Response = Html(body).into_response();
                    let policy = q.get("policy").cloned().unwrap_or_else(|| "origin".into());
                    response
                        .headers_mut()
                        .insert(header::REFERRER_POLICY, policy.parse().unwrap());
                    response
                }
            }),
        )
        .route(
            "/callback",
            get(|| async { Html("<!doctype html><title>Callback</title><p>Back at the merchant</p>") }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://127.0.0.1:{port}")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn shots() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/screenshots/iframe")
        .to_string_lossy()
        .into_owned()
}

struct Setup {
    tp: TestProvider,
    merchant: String,
    token: String,
}

async fn setup() -> Option<Setup> {
    if npm::skip_requested() {
        return None;
    }
    let node = project();
    tokio::task::spawn_blocking(move || node.install())
        .await
        .unwrap();
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "the browser tests need /usr/bin/chromium (apt-get install chromium)"
    );
    let tp = TestProvider::start().await;
    let provider_origin = url::Url::parse(&tp.base)
        .unwrap()
        .origin()
        .ascii_serialization();
    let merchant = merchant(provider_origin).await;
    register_shop(&tp, &format!("{merchant}/callback"), ALL_SCOPES).await;
    let token = token_of(&tp, SHOP, SHOP_SECRET).await;
    Some(Setup {
        tp,
        merchant,
        token,
    })
}

/// Runs the scenario with the merchant page at `merchant_url`.
async fn run(s: &Setup, scenario: &str, merchant_url: &str) -> Value {
    let output = tokio::process::Command::from(project().node("iframe.mjs"))
        .env("MERCHANT_URL", merchant_url)
        .env("SCENARIO", scenario)
        .env("SHOTS", shots())
        .env("CALLBACK_PREFIX", format!("{}/callback", s.merchant))
        .output()
        .await
        .expect("running node iframe.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "iframe.mjs failed:\n{stderr}\n{stdout}"
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(result.get("failure").is_none(), "{result:#}");
    result
}

fn merchant_url(s: &Setup, origin: &str, uri: &str, policy: Option<&str>) -> String {
    let mut q = vec![("uri", uri)];
    if let Some(policy) = policy {
        q.push(("policy", policy));
    }
    format!(
        "{origin}/merchant?{}",
        serde_urlencoded::to_string(q).unwrap()
    )
    .replace("http://127.0.0.1", &origin_host(s, origin))
}

fn origin_host(_s: &Setup, origin: &str) -> String {
    origin.rsplit_once(':').unwrap().0.to_owned()
}

/// A new authorize_uri framed by the merchant, for Kari, whose app answers `answer` after
/// `delay` seconds.
async fn start_flow(
    s: &Setup,
    answer: AppScript,
    delay: i64,
) -> (String, bankid_oidc_testkit::pending::Pending) {
    let user = s.tp.user("Kari").clone();
    script(&s.tp, &user, answer, delay).await;
    let (_, pt) = permission(&s.tp, SHOP, &user, 300).await;
    let p = pending();
    let form = iframe_form(&p, &format!("{}/callback", s.merchant), &pt, &s.merchant);
    (authorize_uri(&s.tp, &s.token, &form).await, p)
}

fn events(result: &Value) -> Vec<String> {
    result["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

fn no_console_errors(result: &Value) {
    assert_eq!(result["consoleErrors"], serde_json::json!([]), "{result:#}");
}

/// The refused address answers 400, which Chromium notes on the console; nothing else may be
/// there.
fn only_the_refusal_on_the_console(result: &Value) {
    for error in result["consoleErrors"].as_array().unwrap() {
        let text = error.as_str().unwrap();
        assert!(text.contains("status of 400"), "{result:#}");
    }
}

fn callback_params(result: &Value) -> HashMap<String, String> {
    let url = url::Url::parse(result["frameUrl"].as_str().unwrap()).unwrap();
    url.query_pairs().into_owned().collect()
}

fn flow_events(outcome: &str) -> Vec<String> {
    [
        "initialization_pending",
        "initialization_completed",
        "awaiting_user_identity_input",
        "awaiting_delegated_authentication",
        "authorization_pending",
        outcome,
        "redirecting_to_merchant",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test]
async fn browser_iframe_flows() {
    let Some(s) = setup().await else { return };
    let user = s.tp.user("Kari").clone();

    // Approved: every event in order, the frame reaches the callback, the code is redeemed.
    let (uri, p) = start_flow(&s, AppScript::Approve, 2).await;
    let result = run(&s, "approve", &merchant_url(&s, &s.merchant, &uri, None)).await;
    no_console_errors(&result);
    assert_eq!(events(&result), flow_events("authorization_granted"));
    assert_eq!(
        result["nnin"], user.nnin,
        "pre-filled from the permission's login hint"
    );
    assert_eq!(result["bindingMessage"], "Farlig frakk");
    let q = callback_params(&result);
    assert_eq!(q["state"], p.state);
    let token_endpoint = bis_doc(&s.tp).await["token_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = format!("{}/callback", s.merchant);
    let tokens = redeem_with_endpoint(
        &token_endpoint,
        SHOP,
        SHOP_SECRET,
        &q["code"],
        &p.verifier,
        &callback,
    )
    .await;
    assert_eq!(tokens.status(), StatusCode::OK);

    // Denied, and timed out: their events, and the error at the callback.
    for (answer, scenario, event) in [
        (AppScript::Deny, "deny", "authorization_denied"),
        (AppScript::Timeout, "timeout", "authorization_timeout"),
    ] {
        let (uri, p) = start_flow(&s, answer, 2).await;
        let result = run(&s, scenario, &merchant_url(&s, &s.merchant, &uri, None)).await;
        no_console_errors(&result);
        assert_eq!(events(&result), flow_events(event), "{scenario}");
        let q = callback_params(&result);
        assert_eq!(q["error"], "access_denied", "{scenario}");
        assert_eq!(q["state"], p.state);
    }

    // A parent whose origin is not frame_ancestor (localhost, not 127.0.0.1): the browser
    // blocks the frame, and the merchant hears nothing.
    let (uri, _) = start_flow(&s, AppScript::Approve, 2).await;
    let other = s.merchant.replace("127.0.0.1", "localhost");
    let result = run(
        &s,
        "blocked",
        &format!(
            "{other}/merchant?{}",
            serde_urlencoded::to_string([("uri", uri.as_str())]).unwrap()
        ),
    )
    .await;
    assert_eq!(events(&result), Vec::<String>::new());
    assert_eq!(result["frameHasForm"], false);
    let errors = result["consoleErrors"].to_string();
    assert!(errors.contains("frame-ancestors"), "{errors}");

    // The right origin without a referrer: the referrer check errors.
    let (uri, _) = start_flow(&s, AppScript::Approve, 2).await;
    let result = run(
        &s,
        "referrer",
        &merchant_url(&s, &s.merchant, &uri, Some("no-referrer")),
    )
    .await;
    no_console_errors(&result);
    assert_eq!(
        events(&result),
        ["initialization_pending", "initialization_errored"]
    );
    assert_eq!(result["errorShown"], true);

    // A replayed authorize_uri, and one opened after 60 seconds.
    let (uri, _) = start_flow(&s, AppScript::Approve, 2).await;
    assert_eq!(reqwest::get(&uri).await.unwrap().status(), StatusCode::OK);
    let result = run(&s, "replay", &merchant_url(&s, &s.merchant, &uri, None)).await;
    only_the_refusal_on_the_console(&result);
    assert_eq!(
        events(&result),
        ["initialization_pending", "initialization_errored"]
    );
    assert_eq!(result["errorShown"], true);
    let (uri, _) = start_flow(&s, AppScript::Approve, 2).await;
    s.tp.advance(61);
    let result = run(&s, "replay", &merchant_url(&s, &s.merchant, &uri, None)).await;
    only_the_refusal_on_the_console(&result);
    assert_eq!(
        events(&result),
        ["initialization_pending", "initialization_errored"]
    );
}

//! Operations: the health checks (`/health/live`, `/health/ready`) and the metrics (`/metrics`).

use bankid_oidc_server::issuer::Endpoint;
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::oauth::login_and_redeem;
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, TestProvider};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

async fn get(url: &str) -> (StatusCode, HeaderMap, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn get_json(url: &str) -> (StatusCode, HeaderMap, serde_json::Value) {
    let (status, headers, body) = get(url).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, headers, json)
}

/// The SQLite database of a test provider, where a test makes the store fail as another
/// process would, by holding its write lock; none on PostgreSQL (`BANKID_OIDC_TEST_DATABASE_URL`).
fn sqlite_database(tp: &TestProvider) -> Option<PathBuf> {
    if tp.database_url.is_some() {
        eprintln!("on PostgreSQL: this test holds SQLite's write lock, so it runs on SQLite only");
        return None;
    }
    Some(tp.dir.as_ref()?.path().join("bankid-oidc.db"))
}

#[tokio::test]
async fn live_and_ready_answer_ok_uncached_at_the_root_and_below_the_public_path() {
    let tp = TestProvider::start().await;
    for path in ["/health", "/health/live", "/health/ready"] {
        let (status, headers, json) = get_json(&format!("{}{path}", tp.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(json, serde_json::json!({"status": "ok"}), "{path}");
    }
    let below = TestProvider::start_with(|config| {
        config.public_url = config.public_url.join("base").unwrap();
    })
    .await;
    for path in ["/base/health/live", "/base/health/ready"] {
        let (status, _, _) = get(&format!("{}{path}", below.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn ready_answers_503_naming_the_store_while_another_process_holds_its_write_lock() {
    let tp = TestProvider::start().await;
    let Some(database) = sqlite_database(&tp) else {
        return;
    };
    // What a person's `sqlite3` shell with an open write transaction does: no login could
    // write now.
    let other = rusqlite::Connection::open(database).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let asked = Instant::now();
    let (status, headers, json) = get_json(&format!("{}/health/ready", tp.base)).await;
    let waited = asked.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(json["status"], "unavailable");
    assert_eq!(json["failure"], "store: no answer within 2 s");
    assert!(waited < Duration::from_secs(4), "bounded: {waited:?}");
    // The process still answers: an orchestrator must not restart it for the store.
    let (status, _, _) = get(&format!("{}/health/live", tp.base)).await;
    assert_eq!(status, StatusCode::OK);
    other.execute_batch("ROLLBACK").unwrap();
    let (status, _, json) = get_json(&format!("{}/health/ready", tp.base)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ready again once the lock is gone: {json}"
    );
}

/// The metrics as text, having checked that they are served as Prometheus' text format.
async fn scrape(base: &str) -> String {
    let (status, headers, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let content_type = headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_exposition_parses(&text);
    text
}

/// The value of the sample `series` (its name and labels, as written), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

/// Every line is a `# HELP` or `# TYPE` comment or a sample `name{label="value",...} value`
/// (Prometheus' text format, version 0.0.4).
fn assert_exposition_parses(text: &str) {
    assert!(text.ends_with('\n'), "ends with a line feed");
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap(), words.next().unwrap());
            assert!(matches!(kind, "HELP" | "TYPE"), "{line}");
            assert!(is_metric_name(name), "{line}");
            if kind == "TYPE" {
                let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                assert!(kinds.contains(&words.next().unwrap()), "{line}");
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("{line}"));
        assert!(is_metric_name(&line[..name_end]), "{line}");
        let mut rest = &line[name_end..];
        if let Some(labels) = rest.strip_prefix('{') {
            let end = labels_end(labels).unwrap_or_else(|| panic!("labels: {line}"));
            rest = &labels[end + 1..];
        }
        let value = rest.strip_prefix(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(
            value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN"),
            "value: {line}"
        );
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Where the label set that `labels` starts (after its `{`) ends: the index of its `}`, if each
/// label is `name="value"` (with `\\`, `\"` and `\n` escaped) and they are separated by commas.
fn labels_end(labels: &str) -> Option<usize> {
    let bytes = labels.as_bytes();
    let mut i = 0;
    loop {
        let name_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == name_start || bytes.get(i) != Some(&b'=') || bytes.get(i + 1) != Some(&b'"') {
            return None;
        }
        i += 2;
        loop {
            match bytes.get(i)? {
                b'\\' => i += 2,
                b'"' => break,
                b'\n' => return None,
                _ => i += 1,
            }
        }
        i += 1;
        match bytes.get(i)? {
            b'}' => return Some(i),
            b',' => i += 1,
            _ => return None,
        }
    }
}

/// The path of an address of the provider: what a route's template looks like when it has no
/// parameter.
fn path_of(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_owned()
}

#[tokio::test]
async fn metrics_count_logins_by_method_tokens_by_grant_type_and_requests_by_route_template() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    // The user chooses the method on the first page; then, in another browser (no session to
    // log in with), a request that leaves no choice.
    let (first, _) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let (second, tokens) =
        login_and_redeem(&tp, &Browser::new(&tp), &[("login_hint", "BID")]).await;

    let text = scrape(&tp.base).await;
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    assert_eq!(
        count(r#"bankid_oidc_logins_started_total{method="undecided"}"#),
        1.0
    );
    assert_eq!(
        count(r#"bankid_oidc_logins_started_total{method="BID"}"#),
        1.0
    );
    assert_eq!(
        count(r#"bankid_oidc_logins_completed_total{method="BID"}"#),
        2.0
    );
    assert_eq!(
        count(r#"bankid_oidc_logins_completed_total{method="BIM"}"#),
        0.0
    );
    assert_eq!(
        count(r#"bankid_oidc_tokens_issued_total{grant_type="authorization_code"}"#),
        2.0
    );
    assert_eq!(
        count(r#"bankid_oidc_tokens_issued_total{grant_type="refresh_token"}"#),
        0.0
    );
    assert_eq!(count("bankid_oidc_store_errors_total"), 0.0);
    let token = path_of(tp.token_endpoint());
    assert_eq!(
        count(&format!(
            r#"bankid_oidc_http_requests_total{{endpoint="{token}",status="200"}}"#
        )),
        2.0
    );
    assert_eq!(
        count(&format!(
            r#"bankid_oidc_http_request_duration_seconds_count{{endpoint="{token}"}}"#
        )),
        2.0
    );
    // Each login step was posted to the flow's own address; the label is its template.
    let actions = format!(
        "{}/{{flow_id}}",
        tp.provider.issuers.primary().route(Endpoint::LoginActions)
    );
    assert!(
        count(&format!(
            r#"bankid_oidc_http_requests_total{{endpoint="{actions}",status="200"}}"#
        )) >= 4.0,
        "{text}"
    );
    // The pool's gauges: PostgreSQL's pool (the test kit's has 4 connections at most); SQLite
    // reports none.
    if tp.database_url.is_some() {
        assert_eq!(count("bankid_oidc_store_pool_max"), 4.0);
        let size = count("bankid_oidc_store_pool_size");
        assert!((1.0..=4.0).contains(&size), "{text}");
        assert!(count("bankid_oidc_store_pool_idle") <= size, "{text}");
    } else {
        assert!(!text.contains("store_pool"), "{text}");
    }
    // Nothing a request carried: no state, nonce, verifier, NNIN, secret, code or token.
    let mut secrets = vec![
        kari.nnin.clone(),
        kari.otp.clone(),
        kari.password.clone(),
        CLIENT_SECRET.to_owned(),
    ];
    for pending in [&first, &second] {
        secrets.extend([
            pending.state.clone(),
            pending.nonce.clone(),
            pending.verifier.clone(),
        ]);
    }
    for member in ["access_token", "id_token", "refresh_token"] {
        if let Some(token) = tokens[member].as_str() {
            secrets.push(token.to_owned());
        }
    }
    for secret in secrets {
        assert!(!text.contains(&secret), "{secret} in the metrics");
    }
}

#[tokio::test]
async fn an_unknown_path_is_counted_as_unmatched_and_never_under_its_own_name() {
    let tp = TestProvider::start().await;
    let nnin = tp.user("Kari").nnin.clone();
    for n in 0..3 {
        let url = format!("{}/probe-{n}/{nnin}?code=not-a-code", tp.base);
        let (status, _, _) = get(&url).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let text = scrape(&tp.base).await;
    assert_eq!(
        sample(
            &text,
            r#"bankid_oidc_http_requests_total{endpoint="unmatched",status="404"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert!(!text.contains("probe-"), "{text}");
    assert!(!text.contains(&nnin), "{text}");
    // A wrong method on a known route keeps the route's template.
    let response = reqwest::Client::new()
        .delete(format!("{}/health/live", tp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let text = scrape(&tp.base).await;
    assert_eq!(
        sample(
            &text,
            r#"bankid_oidc_http_requests_total{endpoint="/health/live",status="405"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn a_store_that_fails_a_write_is_counted_with_the_server_error_it_caused() {
    let tp = TestProvider::start().await;
    let Some(database) = sqlite_database(&tp) else {
        return;
    };
    let par = tp
        .meta
        .pushed_authorization_request_endpoint
        .clone()
        .unwrap();
    // Another process holds the write lock longer than the writer waits for it (5 s).
    let other = rusqlite::Connection::open(database).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let response = reqwest::Client::new()
        .post(&par)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&Pending::new(&[], &[]).params)
        .send()
        .await
        .unwrap();
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "server_error", "{body}");
    let text = scrape(&tp.base).await;
    assert_eq!(sample(&text, "bankid_oidc_store_errors_total"), Some(1.0));
    let endpoint = path_of(&par);
    assert_eq!(
        sample(
            &text,
            &format!(r#"bankid_oidc_http_requests_total{{endpoint="{endpoint}",status="400"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_are_below_the_public_path_too_and_off_the_router_when_they_have_their_own_listener()
 {
    let below = TestProvider::start_with(|config| {
        config.public_url = config.public_url.join("base").unwrap();
    })
    .await;
    scrape(&format!("{}/base", below.base)).await;
    scrape(&below.base).await;
    let apart = TestProvider::start_with(|config| config.metrics_in_router = false).await;
    let (status, _, _) = get(&format!("{}/metrics", apart.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // What `serve --metrics-listen` serves on its own listener.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = bankid_oidc_server::http::metrics_router(apart.provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let text = scrape(&format!("http://{address}")).await;
    assert_eq!(
        sample(
            &text,
            r#"bankid_oidc_http_requests_total{endpoint="unmatched",status="404"}"#
        ),
        Some(1.0),
        "the main listener's requests are counted: {text}"
    );
}

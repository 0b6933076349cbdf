//! Operations: the health checks (`/health/live`, `/health/ready`) and the metrics (`/metrics`).

use bankid_oidc_testkit::provider::TestProvider;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
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
    // What a person's `sqlite3` shell with an open write transaction does: no login could
    // write now.
    let other = rusqlite::Connection::open(tp.store.path()).unwrap();
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

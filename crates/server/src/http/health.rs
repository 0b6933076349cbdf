//! The health checks for containers and orchestrators: `/health/live` (the process answers;
//! `/health` is the same) and `/health/ready` (the store answers too).

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Duration;

/// How long the store has to answer the readiness check: a check that hangs would hold the
/// prober's connection until its own timeout, which it reports as a failed connection, not as
/// a provider that is not ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health/live` and `GET /health`: the process answers. Nothing else is checked, so that
/// a store that is down does not get a live process restarted.
pub async fn live() -> Response {
    answer(StatusCode::OK, json!({"status": "ok"}))
}

/// `GET /health/ready`: the store answers within [`READY_TIMEOUT`]; else 503 with the
/// failure, so that a load balancer sends logins elsewhere until it does.
pub async fn ready(State(p): State<AppState>) -> Response {
    let failure = match tokio::time::timeout(READY_TIMEOUT, p.store.ping()).await {
        Ok(Ok(())) => return answer(StatusCode::OK, json!({"status": "ok"})),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("store: no answer within {} s", READY_TIMEOUT.as_secs()),
    };
    tracing::warn!(failure = %failure, "not ready");
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"status": "unavailable", "failure": failure}),
    )
}

/// A check's answer, never cached: each probe must reach the provider.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

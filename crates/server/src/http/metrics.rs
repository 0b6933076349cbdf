//! `GET /metrics`: the provider's metrics in Prometheus' text format (see [`crate::metrics`]),
//! and the layer that counts and times every request.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use std::time::Instant;

/// `GET /metrics`, on the main listener or on its own (`serve --metrics-listen`).
pub async fn metrics(State(p): State<AppState>) -> Response {
    match p.metrics.encode() {
        Ok(text) => {
            let mut response = text.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "the metrics could not be written");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Counts and times a request under its route's template (axum's [`MatchedPath`]), never the
/// path it was sent to: see [`crate::metrics`] for why. Runs after routing (a `Router::layer`),
/// around the other layers, so that a refused body or a timeout is counted with its status.
pub async fn count_request(State(p): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    p.metrics
        .request(endpoint.as_deref(), response.status(), started.elapsed());
    response
}

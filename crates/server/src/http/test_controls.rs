//! Test controls for merchants' test suites, served only with `serve --test-controls`: rotate
//! the signing key (or with `?set=grants` the grant key) now, and move the provider's clock forward, so that a merchant can test its
//! JWKS refresh and its expiry handling without waiting.
//!
//! Never enable these on a provider that others rely on: anyone who can reach them can make every
//! token expire.

use crate::AppState;
use crate::keys::KeySet;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// Longest single move of the clock: a year.
const MAX_ADVANCE: i64 = 366 * 24 * 3600;

#[derive(Deserialize)]
pub struct Rotate {
    set: Option<String>,
}

pub async fn rotate_keys(State(p): State<AppState>, Query(rotate): Query<Rotate>) -> Response {
    let set = match rotate.set.as_deref().map(KeySet::parse) {
        None => KeySet::Signing,
        Some(Some(set)) => set,
        Some(None) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": "invalid_request",
                    "error_description": "set: must be signing or grants",
                })),
            )
                .into_response();
        }
    };
    match p.rotate_keys_now(set).await {
        Ok(kid) => Json(json!({ "kid": kid, "set": set.as_str() })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "test control: key rotation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "server_error" })),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct Advance {
    seconds: i64,
}

pub async fn advance_clock(State(p): State<AppState>, Query(advance): Query<Advance>) -> Response {
    if !(1..=MAX_ADVANCE).contains(&advance.seconds) {
        let description =
            format!("seconds: must be between 1 and {MAX_ADVANCE}; the clock only moves forward");
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": description })),
        )
            .into_response();
    }
    p.clock.advance(advance.seconds);
    Json(json!({ "now": p.now(), "offset": p.clock.offset() })).into_response()
}

pub async fn clock(State(p): State<AppState>) -> Response {
    Json(json!({ "now": p.now(), "offset": p.clock.offset() })).into_response()
}

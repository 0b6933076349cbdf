//! Test controls for merchants' test suites, served only with `serve --test-controls`: rotate
//! the signing key (or with `?set=grants` the grant key) now, and move the provider's clock forward, so that a merchant can test its
//! JWKS refresh and its expiry handling without waiting; and script how a test user's next
//! realm login ends (`POST /test-controls/users/{nnin}/next-login`), so that a merchant can test
//! its error paths.
//!
//! Never enable these on a provider that others rely on: anyone who can reach them can make every
//! token expire.

use crate::AppState;
use crate::keys::KeySet;
use crate::store::LoginScript;
use axum::Json;
use axum::extract::{Path, Query, State};
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

#[derive(Deserialize)]
pub struct NextLogin {
    outcome: Option<String>,
}

fn invalid_request(status: StatusCode, error: &str, description: String) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `{"outcome": "access_denied"}` (or `login_required`, `server_error`,
/// `temporarily_unavailable`): the user's next realm login ends with that error at the client's
/// redirect_uri once the user is identified; `"none"` clears it.
pub async fn next_login(
    State(p): State<AppState>,
    Path(nnin): Path<String>,
    body: Option<Json<NextLogin>>,
) -> Response {
    let accepted = || format!("use one of {}, or none to clear", LoginScript::names());
    let Some(Json(NextLogin {
        outcome: Some(outcome),
    })) = body
    else {
        return invalid_request(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "outcome: required, in a JSON body {{\"outcome\": \"access_denied\"}}; {}",
                accepted()
            ),
        );
    };
    let script = match (LoginScript::parse(&outcome), outcome.as_str()) {
        (Some(script), _) => Some(script),
        (None, "none") => None,
        (None, _) => {
            return invalid_request(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("outcome: '{outcome}' is not an outcome; {}", accepted()),
            );
        }
    };
    let failed = |e: crate::store::StoreError| {
        p.store_failed(&e);
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": "server_error" })),
        )
            .into_response()
    };
    let user = match p.store.user_by_nnin(nnin.trim()).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return invalid_request(
                StatusCode::NOT_FOUND,
                "not_found",
                "nnin: no test user has this national identity number".into(),
            );
        }
        Err(e) => return failed(e),
    };
    match p.store.set_login_script(&user.id, script).await {
        Ok(true) => Json(json!({
            "outcome": script.map_or("none", LoginScript::as_str),
        }))
        .into_response(),
        Ok(false) => invalid_request(
            StatusCode::NOT_FOUND,
            "not_found",
            "nnin: no test user has this national identity number".into(),
        ),
        Err(e) => failed(e),
    }
}

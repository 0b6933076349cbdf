//! The permissions API (BIS), thin: the bearer token and the content type, then
//! [`crate::permissions`]; the answers and their statuses are listed there.

use crate::AppState;
use crate::permissions::{self, CLIENT_SCOPE, Caller, PermissionsError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn register(State(p): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let caller = caller(&p, &headers).await?;
        require_json(&headers)?;
        permissions::register(&p, &caller, &body).await
    }
    .await;
    match result {
        Ok(registered) => no_store(Json(registered).into_response()),
        Err(e) => refusal(&p, e),
    }
}

pub async fn user_exists(State(p): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        caller(&p, &headers).await?;
        require_json(&headers)?;
        permissions::user_exists(&p, &body).await
    }
    .await;
    match result {
        Ok(exists) => no_store(Json(json!({ "exists": exists })).into_response()),
        Err(e) => refusal(&p, e),
    }
}

pub async fn grant(
    State(p): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let caller = caller(&p, &headers).await?;
        permissions::grant(&p, &caller, &id).await
    }
    .await;
    match result {
        Ok(jwt) => {
            let mut response = jwt.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwt"),
            );
            no_store(response)
        }
        Err(e) => refusal(&p, e),
    }
}

async fn caller(p: &crate::Provider, headers: &HeaderMap) -> Result<Caller, PermissionsError> {
    permissions::authenticate(p, bearer(headers)?).await
}

/// The bearer token of `Authorization`, if the header is sent; a header of another form is
/// refused (also read by `http::iframe`).
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, PermissionsError> {
    Ok(match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let bearer = value
                .to_str()
                .ok()
                .and_then(|text| text.split_once(' '))
                .filter(|(scheme, token)| {
                    scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
                })
                .map(|(_, token)| token.trim());
            match bearer {
                Some(token) => Some(token),
                None => {
                    return Err(PermissionsError::InvalidToken(
                        "Authorization: must be 'Bearer <access token>'".into(),
                    ));
                }
            }
        }
    })
}

fn require_json(headers: &HeaderMap) -> Result<(), PermissionsError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(PermissionsError::UnsupportedMediaType)
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A refusal as JSON, with the challenge a bearer error needs (RFC 6750 section 3).
fn refusal(p: &crate::Provider, e: PermissionsError) -> Response {
    let (status, error, description, field) = match e {
        PermissionsError::InvalidToken(d) => (StatusCode::UNAUTHORIZED, "invalid_token", d, None),
        PermissionsError::InsufficientScope => (
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("access token: the scope {CLIENT_SCOPE} is required"),
            None,
        ),
        PermissionsError::UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "Content-Type: must be application/json".to_owned(),
            None,
        ),
        PermissionsError::InvalidRequest(e) => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            e.to_string(),
            Some(e.field),
        ),
        PermissionsError::NotFound(d) => (StatusCode::NOT_FOUND, "not_found", d.to_owned(), None),
        PermissionsError::AccessDenied => (
            StatusCode::FORBIDDEN,
            "access_denied",
            "the user denied the permission".to_owned(),
            None,
        ),
        PermissionsError::Expired(d) => (StatusCode::GONE, "expired", d.to_owned(), None),
        PermissionsError::Unreachable => (
            StatusCode::GONE,
            "timeout",
            "the user's app could not be reached; the permission can no longer be granted"
                .to_owned(),
            None,
        ),
        PermissionsError::Store(e) => {
            p.store_failed(&e);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the provider could not complete the request".to_owned(),
                None,
            )
        }
    };
    let mut body = json!({ "error": error, "error_description": description });
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    let mut response = (status, Json(body)).into_response();
    if matches!(error, "invalid_token" | "insufficient_scope") {
        let challenge = format!(
            "Bearer realm=\"{}\", error=\"{error}\", error_description=\"{}\"",
            p.issuers.bis().issuer,
            description.replace(['"', '\\'], "'")
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    no_store(response)
}

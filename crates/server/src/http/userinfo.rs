//! The userinfo endpoint (GET and POST) with a bearer access token.

use crate::bearer::{BearerError, live_access_token};
use crate::http::IssuerOf;
use crate::http::api_error::ApiError;
use crate::issuer::{Issuer, IssuerKind};
use crate::{AppState, Provider, tokens};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::scope::ScopeSet;
use serde_json::{Map, Value};

pub async fn get(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
) -> Response {
    respond(&p, &issuer, bearer(&issuer, &headers, None)).await
}

pub async fn post(
    State(p): State<AppState>,
    Extension(issuer): IssuerOf,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = if crate::http::form::is_form(&headers) {
        match Params::from_urlencoded(&body) {
            Ok(params) => Some(params),
            Err(e) => return ApiError::bearer(e, &issuer.issuer).into_response(),
        }
    } else {
        None
    };
    respond(&p, &issuer, bearer(&issuer, &headers, form.as_ref())).await
}

async fn respond(p: &Provider, issuer: &Issuer, token: Result<String, ApiError>) -> Response {
    let result = match token {
        Ok(token) => claims(p, issuer, &token).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}

/// The bearer token from the Authorization header or (POST) the form body, never both
/// (RFC 6750 section 2).
fn bearer(issuer: &Issuer, headers: &HeaderMap, form: Option<&Params>) -> Result<String, ApiError> {
    let invalid = |d: &str| ApiError::bearer(OAuthError::invalid_request(d), &issuer.issuer);
    let from_header = match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| invalid("Authorization: not a valid header value"))?;
            match text.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Some(token.trim().to_owned())
                }
                _ => return Err(invalid("Authorization: must be 'Bearer <access token>'")),
            }
        }
        None => None,
    };
    let from_body = form.and_then(|f| f.get("access_token")).map(str::to_owned);
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(invalid(
            "access_token: sent both in the Authorization header and in the body",
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => {
            // No credentials at all: a bare challenge without an error code (RFC 6750 section 3.1).
            let mut e = ApiError::bearer(
                OAuthError::new(
                    bankid_oidc_core::ErrorCode::InvalidToken,
                    "access token: missing",
                ),
                &issuer.issuer,
            );
            e.www_authenticate = Some(format!("Bearer realm=\"{}\"", issuer.issuer));
            Err(e)
        }
    }
}

async fn claims(
    p: &Provider,
    issuer: &Issuer,
    token: &str,
) -> Result<Map<String, Value>, ApiError> {
    let invalid = |d: &str| {
        ApiError::bearer(
            OAuthError::new(bankid_oidc_core::ErrorCode::InvalidToken, d),
            &issuer.issuer,
        )
    };
    let (at, record) = match live_access_token(p, issuer, token).await {
        Ok(found) => found,
        Err(BearerError::Invalid(d)) => return Err(invalid(&d)),
        Err(BearerError::Store(e)) => return Err(ApiError::store(p, e)),
    };
    if at.sid.is_none() {
        return Err(invalid(
            "access token: issued to a client, not for a user (client credentials)",
        ));
    }
    let Some(user) = p.user(&at.sub).await.map_err(|e| ApiError::store(p, e))? else {
        return Err(invalid("access token: the user no longer exists"));
    };
    let scope = ScopeSet::try_from(at.scope).unwrap_or_default();
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(user.id.clone()));
    if let Ok(Value::Object(profile)) = serde_json::to_value(tokens::profile_claims(&user, &scope))
    {
        claims.extend(profile);
    }
    // The BIS issuer's userinfo has the claims of its ID token, no more (its token was checked
    // above to be of this issuer, as the realm's refuses a BIS token).
    if issuer.kind == IssuerKind::Bis {
        if scope.contains("sub_nnin") {
            claims.insert("sub_nnin".into(), Value::String(user.nnin.clone()));
        }
        if scope.contains("sub_bankid") {
            claims.insert("sub_bankid".into(), Value::String(user.pid.clone()));
        }
        return Ok(claims);
    }
    if scope.contains("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), Value::String(email.clone()));
    }
    if scope.contains("phone")
        && let Some(phone) = &user.phone
    {
        claims.insert("phone_number".into(), Value::String(phone.clone()));
    }
    if scope.contains("address")
        && let Some(address) = user
            .address
            .as_deref()
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
    {
        claims.insert("address".into(), address);
    }
    // Only where the user consented in this login (seed 001); the provider stores no consent.
    if scope.contains("nnin") && record.nnin_consent {
        claims.insert("nnin".into(), Value::String(user.nnin.clone()));
    }
    Ok(claims)
}

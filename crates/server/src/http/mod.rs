//! HTTP: one module per endpoint. Handlers are thin: parse, call the core's validation, the
//! store and the keyring, respond. The routes are generated from the table of issuers: each
//! issuer's endpoints, with the issuer as a request extension that every handler reads.

pub mod api_error;
pub mod app;
pub mod authorize;
pub mod ciba;
pub mod client_auth;
pub mod cookie;
pub mod discovery;
pub mod form;
pub mod health;
pub mod iframe;
pub mod introspect;
pub mod login_actions;
pub mod logout;
pub mod metrics;
pub mod par;
pub mod permissions;
pub mod revoke;
pub mod session;
pub mod start;
pub mod test_controls;
pub mod token;
pub mod userinfo;

use crate::AppState;
use crate::issuer::{Endpoint, Issuer};
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router, middleware};
use std::sync::Arc;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest request body any endpoint reads.
pub const MAX_BODY: usize = 64 * 1024;

/// The issuer a request was sent to (the route's issuer).
pub type IssuerOf = Extension<Arc<Issuer>>;

/// The handlers of an endpoint, the same for every issuer that serves it.
fn handlers(endpoint: Endpoint) -> MethodRouter<AppState> {
    match endpoint {
        Endpoint::Discovery => get(discovery::discovery),
        Endpoint::Jwks => get(discovery::jwks),
        Endpoint::JwksEnc => get(discovery::jwks_enc),
        Endpoint::Authorization => get(authorize::get).post(authorize::post),
        Endpoint::PushedAuthorization => post(par::push),
        Endpoint::Token => post(token::token),
        Endpoint::Userinfo => get(userinfo::get).post(userinfo::post),
        Endpoint::Introspection => post(introspect::introspect),
        Endpoint::Revocation => post(revoke::revoke),
        Endpoint::Logout => get(logout::get).post(logout::post),
        Endpoint::LoginActions => get(login_actions::show).post(login_actions::submit),
        Endpoint::Stylesheet => get(discovery::stylesheet),
        Endpoint::Favicon => get(discovery::favicon),
        Endpoint::JwksGrants => get(discovery::jwks_grants),
        Endpoint::Permissions => post(permissions::register),
        Endpoint::PermissionUserExists => post(permissions::user_exists),
        Endpoint::PermissionGrant => get(permissions::grant),
        Endpoint::App => get(app::show).post(app::submit),
        Endpoint::BackchannelAuthentication => post(ciba::backchannel_authentication),
        Endpoint::IframeAuthorize => post(iframe::authorize),
        Endpoint::IframePage => get(iframe::show).post(iframe::submit),
        Endpoint::IframeStatus => get(iframe::status),
        Endpoint::IframeScript => get(iframe::script),
    }
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    if state.config.test_controls {
        router = router
            .route(
                "/test-controls/keys/rotate",
                post(test_controls::rotate_keys),
            )
            .route(
                "/test-controls/clock/advance",
                post(test_controls::advance_clock),
            )
            .route("/test-controls/clock", get(test_controls::clock))
            .route(
                "/test-controls/users/{nnin}/next-login",
                post(test_controls::next_login),
            );
    }
    for issuer in state.issuers.all() {
        let mut routes = Router::new();
        for &endpoint in issuer.endpoints() {
            let path = match endpoint {
                Endpoint::LoginActions => format!("{}/{{flow_id}}", issuer.route(endpoint)),
                _ => issuer.route(endpoint),
            };
            routes = routes.route(&path, handlers(endpoint));
        }
        // The issuer's base path shows the start page with this issuer preselected.
        if !issuer.path.is_empty() {
            routes = routes.route(&issuer.path, get(start::at_issuer));
        }
        router = router.merge(routes.layer(Extension(issuer.clone())));
    }
    // The start page, the health checks and (unless it has a listener of its own) the metrics,
    // at the root and below the public URL's path.
    let base = start::base_path(&state);
    let mut roots = vec![String::new()];
    if !base.is_empty() {
        roots.push(base);
    }
    for root in roots {
        let page = if root.is_empty() {
            "/".to_owned()
        } else {
            root.clone()
        };
        router = router
            .route(&page, get(start::root))
            .route(&format!("{root}/health"), get(health::live))
            .route(&format!("{root}/health/live"), get(health::live))
            .route(&format!("{root}/health/ready"), get(health::ready))
            .route(
                &format!("{root}/start/request"),
                get(start::request).post(start::request_post),
            );
        if state.config.metrics_in_router {
            router = router.route(&format!("{root}/metrics"), get(metrics::metrics));
        }
    }
    router
        // Browsers ask for it on every page; a 404 would be a console error on each.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Spans name the path only: query strings and bodies carry codes, hints and secrets.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // `client_id` is recorded once a client is looked up (`Provider::client`), so that
                // the refusal logged below it names the client (`api_error::log_refusal`).
                tracing::info_span!(
                    "http",
                    method = %req.method(),
                    path = %req.uri().path(),
                    client_id = tracing::field::Empty
                )
            }),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count_request,
        ))
        .with_state(state)
}

/// `/metrics` alone, for a listener of its own (`serve --metrics-listen`, with
/// `Config::metrics_in_router` off): scrapes stay off the listener the public reaches.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count_request,
        ))
        .with_state(state)
}

//! HTTP: one module per endpoint. Handlers are thin: parse, call the core's validation, the
//! store and the keyring, respond.

pub mod api_error;
pub mod authorize;
pub mod client_auth;
pub mod client_response;
pub mod cookie;
pub mod discovery;
pub mod form;
pub mod introspect;
pub mod login_actions;
pub mod logout;
pub mod page;
pub mod par;
pub mod revoke;
pub mod session;
pub mod test_controls;
pub mod token;
pub mod userinfo;

use crate::AppState;
use crate::issuer::realm::{
    AUTH_PATH, DISCOVERY_PATH, INTROSPECTION_PATH, JWKS_ENC_PATH, JWKS_PATH, LOGIN_ACTIONS_PATH,
    LOGOUT_PATH, PAR_PATH, RESOURCES_PATH, REVOCATION_PATH, TOKEN_PATH, USERINFO_PATH,
};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest request body any endpoint reads.
pub const MAX_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let realm = &state.realm;
    let mut router = Router::new();
    if state.config.test_controls {
        router = router
            .route(
                "/test-controls/keys/rotate",
                axum::routing::post(test_controls::rotate_keys),
            )
            .route(
                "/test-controls/clock/advance",
                axum::routing::post(test_controls::advance_clock),
            )
            .route("/test-controls/clock", get(test_controls::clock));
    }
    router
        .route(&realm.route(DISCOVERY_PATH), get(discovery::realm_discovery))
        .route(&realm.route(JWKS_PATH), get(discovery::realm_jwks))
        .route(&realm.route(AUTH_PATH), get(authorize::get).post(authorize::post))
        .route(&realm.route(TOKEN_PATH), axum::routing::post(token::token))
        .route(&realm.route(USERINFO_PATH), get(userinfo::get).post(userinfo::post))
        .route(&realm.route(INTROSPECTION_PATH), axum::routing::post(introspect::introspect))
        .route(&realm.route(REVOCATION_PATH), axum::routing::post(revoke::revoke))
        .route(&realm.route(LOGOUT_PATH), get(logout::get).post(logout::post))
        .route(&realm.route(PAR_PATH), axum::routing::post(par::push))
        .route(&realm.route(JWKS_ENC_PATH), get(discovery::realm_jwks_enc))
        .route(
            &realm.route(&format!("{LOGIN_ACTIONS_PATH}/{{flow_id}}")),
            get(login_actions::show).post(login_actions::submit),
        )
        .route(&realm.route(&format!("{RESOURCES_PATH}/style.css")), get(discovery::stylesheet))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        // Spans name the path only: query strings and bodies carry codes, hints and secrets.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

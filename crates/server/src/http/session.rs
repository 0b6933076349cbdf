//! The browser's session, found by its cookie.

use crate::Provider;
use crate::http::cookie::session_cookie;
use crate::store::StoreKey;
use crate::store::{Session, StoreError};
use axum::http::HeaderMap;

pub async fn current_session(
    p: &Provider,
    headers: &HeaderMap,
) -> Result<Option<Session>, StoreError> {
    match session_cookie(headers) {
        Some(cookie) => {
            p.store
                .session_by_cookie(&StoreKey::of(&cookie), p.now())
                .await
        }
        None => Ok(None),
    }
}

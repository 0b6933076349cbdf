//! Test support for the workspace's tests; a dev-dependency only, never published.
//!
//! Feature `server`: `provider`, this project's provider on a temporary data directory; `browser`
//! and `html`, which drive its pages; `pending`, the merchant's authorization request; `oauth`,
//! the merchant's token requests; `jwt`, JWTs signed and verified with jsonwebtoken.

#[cfg(feature = "server")]
pub mod browser;
#[cfg(feature = "server")]
pub mod html;
#[cfg(feature = "server")]
pub mod jwt;
#[cfg(feature = "server")]
pub mod oauth;
#[cfg(feature = "server")]
pub mod pending;
#[cfg(feature = "server")]
pub mod provider;

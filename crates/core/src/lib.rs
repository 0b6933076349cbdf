//! The BankID Norway OpenID Connect vocabulary, without I/O.
//!
//! Everything here takes plain values and returns typed values or errors, so that the provider
//! (`bankid-oidc-server`) and the relying-party library (`bankid-oidc-client`) share one reading
//! of the protocol: scopes, claims, acr/amr, the login_hint grammar, NNIN check digits, PKCE,
//! the API version 4 authorization request rules, and signed and encrypted request objects
//! (JWS verification, JWE).

pub mod acr;
pub mod authorize;
pub mod b64;
pub mod ciba;
pub mod claims;
pub mod client_jws;
pub mod code_redemption;
pub mod discovery;
pub mod error;
pub mod grant_type;
pub mod jwe;
pub mod jwk;
pub mod locale;
pub mod login_hint;
pub mod nnin;
pub mod params;
pub mod permission;
pub mod permission_request;
pub mod pid;
pub mod pkce;
pub mod request_object;
pub mod scope;
pub mod token_hash;

pub use error::{ErrorCode, OAuthError};

/// The lowest API version this provider accepts (seed 000: "The minimum value is 4").
pub const MIN_API_VERSION: u32 = 4;

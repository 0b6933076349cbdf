//! LIBDOC
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod authorization;
pub mod callback;
pub mod client;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod http;
pub mod id_token;
pub mod jwks;
pub mod jws;
pub mod machine_token;
mod random;
pub mod token;
pub mod userinfo;

pub use authorization::{
    AuthorizationRedirect, AuthorizationRequest, LoginSecrets, PendingLogin, ResponseMode,
};
pub use callback::{AuthorizationCode, CallbackParams, validate_callback};
pub use client::{Client, ClientBuilder, Login};
pub use client_auth::{ClientAssertionSigner, ClientAuth};
pub use error::{Error, ProviderError};
pub use id_token::{Expected, IdToken, IdTokenVerifier};
pub use jwks::JwksCache;
pub use jws::{AllowedAlgs, KeySet};
pub use machine_token::AccessToken;
pub use userinfo::UserInfo;

/// The core crate's vocabulary this API speaks in (claims, discovery metadata, error codes).
pub use bankid_oidc_core as core;

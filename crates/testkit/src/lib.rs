//! Test support for the workspace's tests; a dev-dependency only, never published.
//!
//! - Always: [`npm`], the harness of the interoperability tests that run npm packages under node;
//!   [`test_key`] and [`id_token`], keys and BankID ID tokens made without the code under test;
//!   [`jose_vectors`], published JOSE test vectors.
//! - Feature `server`: `provider`, this project's provider on a temporary data directory;
//!   `browser` and `html`, which drive its pages; `pending`, the merchant's authorization request;
//!   `oauth`, the merchant's token requests; `jwt`, JWTs signed and verified with jsonwebtoken.
//! - Feature `fake-provider`: `fake_provider`, a provider that misbehaves on demand, with
//!   `elsewhere` and `firehose`, the servers it sends a client to.
//!
//! The two providers' suites have their own vocabulary, so their modules stay apart:
//! `provider::CLIENT_ID` is the shop registered at this project's provider, and
//! [`id_token::CLIENT_ID`] the merchant a hand-made BankID ID token is issued to.

pub mod id_token;
pub mod jose_vectors;
pub mod npm;
pub mod test_key;

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

#[cfg(feature = "fake-provider")]
pub mod elsewhere;
#[cfg(feature = "fake-provider")]
pub mod fake_provider;
#[cfg(feature = "fake-provider")]
pub mod firehose;

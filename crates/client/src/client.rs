//! [`Client`]: the thin async layer. It fetches and caches what the sans-I/O functions need
//! (discovery, keys, machine tokens), sends their requests, and hands the answers back to them.
//!
//! Each operation is the I/O half of the crate module of the same name (`client/refresh.rs`
//! sends what [`crate::refresh`] and [`crate::token`] build and check); [`ClientBuilder`] holds
//! the settings, and `provider.rs` the discovery document with the key caches built from it.

mod authorization;
mod bis;
mod builder;
mod callback;
mod ciba;
mod id_token;
mod iframe;
mod introspection;
mod logout;
mod machine_token;
mod provider;
mod refresh;
mod revocation;
mod userinfo;

pub use builder::{ClientBuilder, DEFAULT_DISCOVERY_LIFETIME, DEFAULT_TOKEN_REFRESH_MARGIN};
pub use callback::Login;
pub use ciba::CibaHandle;

use crate::Error;
use crate::clock::{age, unix_seconds};
use crate::http;
use crate::machine_token::MachineTokenCache;
use provider::Provider;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Inner {
    config: ClientBuilder,
    http: reqwest::Client,
    provider: RwLock<Arc<Provider>>,
    refreshing: tokio::sync::Mutex<()>,
    machine_tokens: MachineTokenCache,
}

/// A relying party for one provider (a BankID OIDC realm issuer or the BIS issuer). Cheap to
/// clone; share one per provider across requests so that its caches stay warm.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    async fn post_form(&self, request: &http::FormRequest) -> Result<http::HttpResponse, Error> {
        http::post_form(
            &self.inner.http,
            request,
            self.inner.config.max_response_size,
        )
        .await
    }

    /// Seconds since the Unix epoch on the configured clock.
    fn unix_now(&self) -> i64 {
        unix_seconds(self.inner.config.clock.now())
    }

    /// How long ago `then` was on the configured clock.
    fn age(&self, then: Instant) -> Duration {
        age(self.inner.config.clock.as_ref(), then)
    }

    pub fn builder(issuer: &str, client_id: &str) -> ClientBuilder {
        ClientBuilder::new(issuer, client_id)
    }

    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    pub fn issuer(&self) -> &str {
        &self.inner.config.issuer
    }
}

//! The BankID Norway OpenID Connect provider as a library: build an [`AppState`] from a store, a
//! clock and a [`Config`], then serve [`http::router`].
//!
//! Layers (shared/DESIGN.md): `http` handlers parse, call core validation, the store and the
//! keyring, and respond; they hold no SQL and no crypto. `login` holds the user-facing pages.

pub mod clock;
pub mod config;
pub mod grant;
pub mod http;
pub mod issuer;
pub mod keys;
pub mod login;
pub mod secret;
pub mod seed;
pub mod store;
pub mod tokens;

use clock::Clock;
use config::Config;
use issuer::RealmIssuer;
use keys::Keyring;
use std::sync::Arc;
use store::Store;

/// Everything a request handler needs, shared by all of them.
pub struct Provider {
    pub store: Arc<dyn Store>,
    pub keys: Keyring,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub realm: RealmIssuer,
}

pub type AppState = Arc<Provider>;

impl Provider {
    /// Loads (or on first start creates) the signing keys and builds the provider.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> anyhow::Result<AppState> {
        config.validate().map_err(anyhow::Error::msg)?;
        let (keys, _) = Keyring::load_or_create(store.as_ref(), clock.now()).await?;
        let realm = RealmIssuer::new(&config);
        Ok(Arc::new(Provider {
            store,
            keys,
            clock,
            config,
            realm,
        }))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

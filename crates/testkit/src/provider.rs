//! A running provider on a temporary data directory, with the clients and test users every test
//! starts from.

use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_server::Provider;
use bankid_oidc_server::clock::OffsetClock;
use bankid_oidc_server::config::Config;
use bankid_oidc_server::registration::check_client;
use bankid_oidc_server::seed::{new_client, test_users};
use bankid_oidc_server::store::{
    FlowStore, MemoryFlows, PgFlows, PgOptions, PgStore, SqliteStore, Store, User,
};
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "shop";
pub const CLIENT_SECRET: &str = "shop-secret-0123456789-abcdefghijklmnop";
pub const REDIRECT_URI: &str = "https://shop.example/callback";
pub const OTHER_CLIENT_ID: &str = "other-shop";
pub const OTHER_SECRET: &str = "other-secret-0123456789-abcdefghijklmnop";
pub const OTHER_REDIRECT_URI: &str = "https://other.example/callback";
pub const POST_LOGOUT_URI: &str = "https://shop.example/logged-out";
/// A machine client (client credentials) for the eSign and permissions APIs.
pub const MACHINE_CLIENT_ID: &str = "machine";
pub const MACHINE_SECRET: &str = "machine-secret-0123456789-abcdefghijklmn";
pub const MACHINE_SCOPES: &str = "esign/csc esign permissions/client permissions/iframe";

pub struct TestProvider {
    pub base: String,
    pub issuer: String,
    pub meta: ProviderMetadata,
    pub clock: Arc<OffsetClock>,
    /// The logins in progress (to bound them in a test).
    pub flows: TestFlows,
    pub store: Arc<dyn Store>,
    /// The PostgreSQL database and schema the provider runs on, as a URL the command line
    /// takes (`--database-url`); None on SQLite.
    pub database_url: Option<String>,
    pub users: Vec<User>,
    pub provider: bankid_oidc_server::AppState,
    pub dir: Option<tempfile::TempDir>,
    server: JoinHandle<()>,
}

impl TestProvider {
    /// A provider on a new temporary data directory with two clients and three test users.
    pub async fn start() -> TestProvider {
        let dir = tempfile::tempdir().unwrap();
        let mut tp = TestProvider::start_in(dir.path()).await;
        tp.dir = Some(dir);
        tp
    }

    /// A provider on a new temporary data directory, its configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestProvider {
        let dir = tempfile::tempdir().unwrap();
        let mut tp = TestProvider::start_configured(dir.path(), configure).await;
        tp.dir = Some(dir);
        tp
    }

    /// A provider on `dir`; seeds clients and users only if the store is new.
    pub async fn start_in(dir: &Path) -> TestProvider {
        TestProvider::start_configured(dir, |_| {}).await
    }

    /// A provider on `dir` (a second one on the store of another, say), its configuration
    /// changed by `configure`.
    pub async fn start_in_with(dir: &Path, configure: impl FnOnce(&mut Config)) -> TestProvider {
        TestProvider::start_configured(dir, configure).await
    }

    async fn start_configured(dir: &Path, configure: impl FnOnce(&mut Config)) -> TestProvider {
        let (store, flows, database_url) = open_store(dir).await;
        let clock = Arc::new(OffsetClock::default());
        let now = bankid_oidc_server::clock::Clock::now(clock.as_ref());
        let scopes = "openid profile nnin_altsub email phone".parse_scopes();
        let mut shop = new_client(
            CLIENT_ID,
            CLIENT_SECRET,
            vec![REDIRECT_URI.into(), "https://shop.example/cb2?x=1".into()],
            "openid profile nnin_altsub email phone offline_access".parse_scopes(),
            now,
        );
        shop.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        shop.post_logout_redirect_uris = vec![POST_LOGOUT_URI.into()];
        // The tests' clients meet the rules every registration meets.
        check_client(&shop).unwrap();
        store.add_client(&shop).await.unwrap();
        let mut machine = new_client(
            MACHINE_CLIENT_ID,
            MACHINE_SECRET,
            Vec::new(),
            MACHINE_SCOPES.parse_scopes(),
            now,
        );
        machine.grant_types = vec![GrantType::ClientCredentials];
        check_client(&machine).unwrap();
        store.add_client(&machine).await.unwrap();
        let other = new_client(
            OTHER_CLIENT_ID,
            OTHER_SECRET,
            vec![OTHER_REDIRECT_URI.into()],
            scopes,
            now,
        );
        check_client(&other).unwrap();
        store.add_client(&other).await.unwrap();
        test_users(store.as_ref(), now).await.unwrap();
        let users = bankid_oidc_server::store::UserStore::users(store.as_ref())
            .await
            .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::new(&base).unwrap();
        configure(&mut config);
        let provider =
            Provider::start_with_flows(store.clone(), flows.store(), clock.clone(), config)
                .await
                .unwrap();
        let issuer = provider.issuers.primary().issuer.clone();
        let app = bankid_oidc_server::http::router(provider.clone());
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
        let meta: ProviderMetadata =
            reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        TestProvider {
            base,
            issuer,
            meta,
            clock,
            store,
            flows,
            database_url,
            users,
            provider,
            dir: None,
            server,
        }
    }

    pub async fn stop(self) -> Option<tempfile::TempDir> {
        self.server.abort();
        let _ = self.server.await;
        self.dir
    }

    pub fn user(&self, given_name: &str) -> &User {
        self.users
            .iter()
            .find(|u| u.given_name == given_name)
            .unwrap()
    }

    /// Rotates the signing key now; returns the new kid.
    pub async fn rotate_keys(&self) -> String {
        self.provider
            .rotate_keys_now(bankid_oidc_server::keys::KeySet::Signing)
            .await
            .unwrap()
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    /// The provider's clock.
    pub fn now(&self) -> i64 {
        bankid_oidc_server::clock::Clock::now(self.clock.as_ref())
    }

    pub fn authorization_endpoint(&self) -> &str {
        self.meta.authorization_endpoint.as_deref().unwrap()
    }

    pub fn token_endpoint(&self) -> &str {
        self.meta.token_endpoint.as_deref().unwrap()
    }

    pub fn userinfo_endpoint(&self) -> &str {
        self.meta.userinfo_endpoint.as_deref().unwrap()
    }
}

/// The environment variable that runs the tests on PostgreSQL: a database URL. Each provider
/// then gets a schema of its own in that database.
pub const TEST_DATABASE_URL: &str = "BANKID_OIDC_TEST_DATABASE_URL";

/// The test database's URL, when the tests run on PostgreSQL.
pub fn test_database_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL)
        .ok()
        .filter(|url| !url.is_empty())
}

/// The store for a provider on `dir`: SQLite in it, or on PostgreSQL a schema named after it
/// (so that a provider started again on the same directory finds its records, as on SQLite).
async fn open_store(dir: &Path) -> (Arc<dyn Store>, TestFlows, Option<String>) {
    let Some(url) = test_database_url() else {
        let store = Arc::new(
            SqliteStore::open(&dir.join("bankid-oidc.db"))
                .await
                .unwrap(),
        );
        return (
            store,
            TestFlows::Memory(Arc::new(MemoryFlows::default())),
            None,
        );
    };
    let schema = schema_for(dir);
    let admin = PgStore::connect(&PgOptions::new(&url)).unwrap();
    admin
        .execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .unwrap();
    let mut options = PgOptions::new(&url);
    options.schema = Some(schema.clone());
    options.pool_size = 4;
    let store = Arc::new(PgStore::open(&options).await.unwrap());
    let flows = TestFlows::Postgres(Arc::new(PgFlows::new(&store)));
    (store, flows, database_url_for(dir))
}

/// On PostgreSQL, the `--database-url` of the store a provider on `dir` uses, for the command
/// line; None on SQLite (the command line finds the store in `--data-dir`).
pub fn database_url_for(dir: &Path) -> Option<String> {
    let url = test_database_url()?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!(
        "{url}{separator}options=-csearch_path%3D{}",
        schema_for(dir)
    ))
}

/// A schema name for a directory: the same for the same path.
fn schema_for(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    format!("test_{:016x}", hasher.finish())
}

/// The logins in progress of a test provider, in memory (SQLite) or in the database.
#[derive(Clone)]
pub enum TestFlows {
    Memory(Arc<MemoryFlows>),
    Postgres(Arc<PgFlows>),
}

impl TestFlows {
    fn store(&self) -> Arc<dyn FlowStore> {
        match self {
            TestFlows::Memory(f) => f.clone(),
            TestFlows::Postgres(f) => f.clone(),
        }
    }

    pub fn set_max(&self, max: usize) {
        match self {
            TestFlows::Memory(f) => f.set_max(max),
            TestFlows::Postgres(f) => f.set_max(max),
        }
    }

    pub fn set_max_per_source(&self, max: usize) {
        match self {
            TestFlows::Memory(f) => f.set_max_per_source(max),
            TestFlows::Postgres(f) => f.set_max_per_source(max),
        }
    }

    /// Logins in progress at `now`.
    pub async fn len(&self, now: i64) -> usize {
        match self {
            TestFlows::Memory(f) => f.len(),
            TestFlows::Postgres(f) => f.len(now).await.unwrap(),
        }
    }
}

trait ParseScopes {
    fn parse_scopes(&self) -> bankid_oidc_core::scope::ScopeSet;
}

impl ParseScopes for str {
    fn parse_scopes(&self) -> bankid_oidc_core::scope::ScopeSet {
        bankid_oidc_core::scope::ScopeSet::parse(self).unwrap()
    }
}

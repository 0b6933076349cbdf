//! `serve`: open the store, seed it on first start, print what a developer needs, and serve.

use crate::connections::{self, Limits};
use crate::seed_file;
use crate::storage::{Backend, StorageArgs};
use crate::tls;
use anyhow::Context;
use bankid_oidc_server::Provider;
use bankid_oidc_server::clock::{Clock, OffsetClock, SystemClock};
use bankid_oidc_server::config::Config;
use bankid_oidc_server::seed::{self, DemoClient};
use bankid_oidc_server::store::{PgFlows, Store};
use clap::Args;
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

const DEMO_CLIENT_FILE: &str = "demo-client.json";
/// Connections the metrics listener holds at once: scrapers are few, and the file descriptors
/// are for the provider's own connections.
const METRICS_CONNECTIONS: usize = 16;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (with `--tls` and no `--tls-listen`, for HTTPS).
    /// A port (`8090`: on 127.0.0.1), `localhost:8090`, or an address and port (`0.0.0.0:8090`,
    /// `[::1]:8090`).
    #[arg(long, env = "BANKID_OIDC_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Serve HTTPS, with a certificate signed by a local CA that is generated once into the data
    /// directory (the banner says how to trust it), or with `--tls-cert` and `--tls-key`.
    #[arg(long, env = "BANKID_OIDC_TLS")]
    tls: bool,
    /// Serve HTTPS on this address and plain HTTP on `--listen` beside it (implies `--tls`).
    #[arg(long, env = "BANKID_OIDC_TLS_LISTEN", value_parser = parse_listen)]
    tls_listen: Option<SocketAddr>,
    /// Serve `/metrics` (plain HTTP) on this address alone, and not on `--listen`: scrapes stay
    /// off the address the public reaches. The same forms as `--listen`.
    #[arg(long, env = "BANKID_OIDC_METRICS_LISTEN", value_parser = parse_listen)]
    metrics_listen: Option<SocketAddr>,
    /// Another name (DNS name or IP address) for the generated server certificate, besides
    /// localhost, 127.0.0.1, ::1, the listen address and the public URL's host; repeat or
    /// separate with commas.
    #[arg(
        long = "tls-name",
        env = "BANKID_OIDC_TLS_NAMES",
        value_delimiter = ',',
        conflicts_with = "tls_cert"
    )]
    tls_names: Vec<String>,
    /// Serve this certificate (PEM, the chain from the server's certificate up) instead of a
    /// generated one (implies `--tls`; needs `--tls-key`).
    #[arg(long, env = "BANKID_OIDC_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, env = "BANKID_OIDC_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Send `Strict-Transport-Security` over HTTPS. Off by default: a browser that has seen it
    /// for `localhost` refuses plain http to every other local service on that name for a year.
    #[arg(long, env = "BANKID_OIDC_HSTS")]
    hsts: bool,
    /// Public base URL of the provider (issuers live below it); set it when behind a proxy.
    /// Default: `http://<listen address>`, or `https://` with TLS.
    #[arg(long, env = "BANKID_OIDC_PUBLIC_URL")]
    public_url: Option<String>,
    /// Realm name of the BankID OIDC issuer; repeat (or separate with commas) to serve several
    /// realms, the first being the primary one.
    #[arg(
        long = "realm",
        env = "BANKID_OIDC_REALM",
        default_value = "current",
        value_delimiter = ','
    )]
    realms: Vec<String>,
    /// Rotate the signing key automatically every this many seconds (default: only with
    /// `bankid-oidc keys rotate`).
    #[arg(long, env = "BANKID_OIDC_KEY_ROTATION_INTERVAL")]
    key_rotation_interval: Option<i64>,
    /// Seconds an automatically rotated key is published before it signs.
    #[arg(long, env = "BANKID_OIDC_KEY_LEAD_TIME", default_value_t = 3600)]
    key_lead_time: i64,
    /// Serve the test controls (rotate keys now, move the clock forward) under /test-controls.
    /// For merchants' test suites only: never on a shared provider.
    #[arg(long, env = "BANKID_OIDC_TEST_CONTROLS")]
    test_controls: bool,
    /// Threads that serve requests (default: one per CPU). The store's writer has a thread of
    /// its own besides; on a machine shared with a load generator, fewer can serve more.
    #[arg(long, env = "BANKID_OIDC_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// Seconds a client has to send a request's whole header (on a kept-alive connection,
    /// counted from the previous answer): a connection that trickles or sends nothing is closed.
    #[arg(long, env = "BANKID_OIDC_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: u64,
    /// Seconds without a byte moving either way after which a connection is closed. Keep it
    /// above the 30-second limit on answering a request.
    #[arg(long, env = "BANKID_OIDC_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: u64,
    /// Connections open at once; more wait to be accepted. Lowered to fit the open-file limit
    /// (which `serve` raises to the system's maximum) if it must be.
    #[arg(long, env = "BANKID_OIDC_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Seconds a request to a test user's emulated BankID app waits for an answer before it
    /// times out.
    #[arg(long, env = "BANKID_OIDC_APP_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(i64).range(1..=3600))]
    app_timeout: i64,
    /// Log lines as `text` (coloured only on a terminal) or `json` (one object a line, with the
    /// request's span: method, path, client_id). The level: `BANKID_OIDC_LOG` (default `info`).
    #[arg(long, env = "BANKID_OIDC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// A file of clients and test users (TOML, or JSON if its name ends in .json) applied at
    /// every start: added if missing, updated if changed, by client_id and NNIN. A bad file
    /// stops the start before anything is written.
    #[arg(long, env = "BANKID_OIDC_SEED", value_name = "FILE")]
    seed: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A listen address as people write it: `8090`, `localhost:8090`, `127.0.0.1:8090`,
/// `[::1]:8090`. `localhost` is 127.0.0.1 (what the banner and the demo client's redirect URI
/// use).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    let accepted = "use a port (8090), localhost:PORT, or ADDRESS:PORT (127.0.0.1:8090, \
                    0.0.0.0:8090, [::1]:8090)";
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        return port
            .parse::<u16>()
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
            .map_err(|_| {
                format!("'{text}': the port is not a number from 0 to 65535; {accepted}")
            });
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("'{text}': not an address; {accepted}"))
}

/// Logs to stderr: at `info`, a line per refused request and per completed login (see
/// `bankid_oidc_server::http::api_error::log_refusal`). No colour codes unless stderr is a
/// terminal: a file or a CI log shows them as garbage.
fn init_logs(format: LogFormat) {
    use std::io::IsTerminal;
    let filter =
        EnvFilter::try_from_env("BANKID_OIDC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub async fn run(storage: &StorageArgs, args: ServeArgs) -> anyhow::Result<()> {
    init_logs(args.log_format);
    let data_dir = storage.data_dir.as_path();
    let tls_on = args.tls || args.tls_listen.is_some() || args.tls_cert.is_some();
    if args.hsts && !tls_on {
        anyhow::bail!("--hsts needs --tls: HSTS is sent over HTTPS only");
    }
    // The whole file is checked before the server listens or the store is opened: a bad file
    // stops the start with nothing written.
    let seed = args
        .seed
        .as_deref()
        .map(|path| seed_file::load(path, SystemClock.now()))
        .transpose()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("--listen {}: cannot listen there", args.listen))?;
    let tls_listener = match args.tls_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("--tls-listen {address}: cannot listen there"))?,
        ),
        None => None,
    };
    let metrics_listener = match args.metrics_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("--metrics-listen {address}: cannot listen there"))?,
        ),
        None => None,
    };
    let bound = listener.local_addr()?;
    let tls_bound = match &tls_listener {
        Some(l) => Some(l.local_addr()?),
        None if tls_on => Some(bound),
        None => None,
    };
    // The address the public URL names: the HTTPS one when there is one.
    let main_bound = tls_bound.unwrap_or(bound);
    let public_url = match args.public_url {
        Some(url) => url,
        None => {
            let host = if main_bound.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                main_bound.ip().to_string()
            };
            let host = if main_bound.is_ipv6() && !main_bound.ip().is_unspecified() {
                format!("[{host}]")
            } else {
                host
            };
            let scheme = if tls_on { "https" } else { "http" };
            format!("{scheme}://{host}:{}", main_bound.port())
        }
    };
    let mut config = Config::new(&public_url).map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
    config.realms = args.realms;
    config.key_rotation_interval = args.key_rotation_interval;
    config.key_lead_time = args.key_lead_time;
    config.test_controls = args.test_controls;
    config.app_timeout = args.app_timeout;
    config.metrics_in_router = metrics_listener.is_none();
    config.validate().map_err(anyhow::Error::msg)?;
    let limits = Limits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: connections::fit_to_open_file_limit(
            usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        ),
    };

    let tls = if tls_on {
        let source = match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => tls::Source::Files { cert, key },
            _ => tls::Source::Generated {
                names: tls::names_for(
                    main_bound.ip(),
                    config.public_url.host_str(),
                    &args.tls_names,
                ),
            },
        };
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        Some(tls::load(data_dir, source)?)
    } else {
        None
    };
    let mut listeners = Vec::new();
    let acceptor = tls.as_ref().map(|tls| connections::Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(tls.config.clone()),
        hsts: args.hsts,
    });
    match (tls_listener, acceptor) {
        (Some(tls_listener), Some(acceptor)) => {
            listeners.push(connections::Listener {
                tcp: listener,
                tls: None,
            });
            listeners.push(connections::Listener {
                tcp: tls_listener,
                tls: Some(acceptor),
            });
        }
        (_, acceptor) => listeners.push(connections::Listener {
            tcp: listener,
            tls: acceptor,
        }),
    }
    let addresses = Addresses {
        plain: (tls_bound != Some(bound)).then_some(bound),
        tls: tls_bound,
        metrics: match &metrics_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        },
    };

    let backend = storage.open().await?;
    let store = backend.store();
    let clock = Arc::new(OffsetClock::default());
    let provider = match &backend {
        Backend::Sqlite(_) => Provider::start(store.clone(), clock, config).await?,
        // Logins in progress in the database too: any instance serves any step of a login.
        Backend::Postgres(pg) => {
            let flows = Arc::new(PgFlows::new(pg));
            Provider::start_with_flows(store.clone(), flows, clock, config).await?
        }
    };
    let now = provider.now();
    // Before the first-start defaults: a store that has clients (or users) from the file gets
    // no demo client (or default test users).
    let seeded = match &seed {
        Some(seed) => Some((seed, apply_seed(store.as_ref(), seed, now).await?)),
        None => None,
    };
    if let Some(demo) = seed::demo_client(store.as_ref(), now).await? {
        save_demo_client(data_dir, &demo)?;
    }
    seed::test_users(store.as_ref(), now).await?;
    print_banner(
        &provider,
        storage,
        store.as_ref(),
        &addresses,
        tls.as_ref(),
        seeded,
    )
    .await?;

    if provider.config.test_controls {
        tracing::warn!(
            "test controls are on: anyone who reaches /test-controls can rotate keys and move the clock"
        );
    }
    // The key schedule also picks up rotations made by `bankid-oidc keys rotate`.
    // Expired flows, sessions, codes and tokens are deleted every ten minutes.
    let housekeeping = tokio::spawn(
        provider
            .clone()
            .run_housekeeping(std::time::Duration::from_secs(600)),
    );
    let schedule = tokio::spawn(
        provider
            .clone()
            .run_key_schedule(std::time::Duration::from_secs(2)),
    );
    let app = bankid_oidc_server::http::router(provider.clone());
    let metrics = async {
        if let Some(tcp) = metrics_listener {
            let listener = connections::Listener { tcp, tls: None };
            let app = bankid_oidc_server::http::metrics_router(provider.clone());
            let limits = Limits {
                max_connections: METRICS_CONNECTIONS,
                ..limits
            };
            connections::serve(vec![listener], app, limits, shutdown_signal()).await;
        }
    };
    tokio::join!(
        connections::serve(listeners, app, limits, shutdown_signal()),
        metrics
    );
    schedule.abort();
    housekeeping.abort();
    if let Backend::Sqlite(sqlite) = &backend {
        let stats = sqlite.write_stats();
        tracing::info!(
            writes = stats.writes,
            transactions = stats.transactions,
            busy_ms = stats.busy_us / 1000,
            "store: writes since start"
        );
    }
    Ok(())
}

/// Applies the seed file. Instances of one PostgreSQL store started together apply the same
/// file at once: the one whose transaction finds an entry added meanwhile fails whole, and a
/// second pass then finds the other's rows and has nothing left to add.
async fn apply_seed(
    store: &dyn Store,
    seed: &seed_file::Seed,
    now: i64,
) -> anyhow::Result<seed_file::Applied> {
    match seed_file::apply(store, seed, now).await {
        Ok(applied) => Ok(applied),
        Err(first) => {
            tracing::info!(error = %first, "the seed file met concurrent changes; applying it again");
            seed_file::apply(store, seed, now).await
        }
    }
}

/// The demo client's secret exists in clear only in this owner-readable file, so that every start
/// can show it again.
fn save_demo_client(data_dir: &Path, demo: &DemoClient) -> anyhow::Result<()> {
    // With PostgreSQL the store is elsewhere and the directory may not exist yet.
    crate::storage::create_private_dir(data_dir)?;
    let path = data_dir.join(DEMO_CLIENT_FILE);
    let body = json!({
        "client_id": demo.client_id,
        "client_secret": demo.client_secret,
        "redirect_uri": demo.redirect_uri,
    });
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(serde_json::to_string_pretty(&body)?.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Where the server listens: plain HTTP, HTTPS, or both; the metrics' own listener, if any.
struct Addresses {
    plain: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    metrics: Option<SocketAddr>,
}

async fn print_banner(
    provider: &Provider,
    storage: &StorageArgs,
    store: &dyn Store,
    addresses: &Addresses,
    tls: Option<&tls::Tls>,
    seeded: Option<(&seed_file::Seed, seed_file::Applied)>,
) -> anyhow::Result<()> {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(
        out,
        "bankid-oidc: BankID OIDC test provider (TEST ONLY: not real BankID)"
    )?;
    let data_dir = storage.data_dir.as_path();
    writeln!(out, "  Data directory:  {}", data_dir.display())?;
    writeln!(out, "  Store:           {}", storage.describe())?;
    for issuer in provider.issuers.all() {
        writeln!(
            out,
            "  Discovery URL:   {}",
            issuer.url(bankid_oidc_server::issuer::Endpoint::Discovery)
        )?;
    }
    writeln!(
        out,
        "  BankID app:      {} (the test users' phone)",
        provider
            .issuers
            .bis()
            .url(bankid_oidc_server::issuer::Endpoint::App)
    )?;
    match std::fs::read_to_string(data_dir.join(DEMO_CLIENT_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        Some(demo) => {
            writeln!(
                out,
                "  Demo client:     client_id {}",
                demo["client_id"].as_str().unwrap_or("?")
            )?;
            writeln!(
                out,
                "                   client_secret {}",
                demo["client_secret"].as_str().unwrap_or("?")
            )?;
            writeln!(
                out,
                "                   redirect_uri {}",
                demo["redirect_uri"].as_str().unwrap_or("?")
            )?;
        }
        None => writeln!(
            out,
            "  Demo client:     (none; see `bankid-oidc clients list`)"
        )?,
    }
    let base = provider.config.public_url.as_str().trim_end_matches('/');
    writeln!(
        out,
        "  Health:          {base}/health/live, {base}/health/ready"
    )?;
    match addresses.metrics {
        Some(metrics) => writeln!(out, "  Metrics:         http://{metrics}/metrics")?,
        None => writeln!(out, "  Metrics:         {base}/metrics")?,
    }
    if let Some((seed, applied)) = seeded {
        writeln!(out, "  Seed file:       {}", seed.path().display())?;
        writeln!(out, "                   clients: {}", applied.clients)?;
        writeln!(out, "                   users: {}", applied.users)?;
    }
    let users = store.users().await?;
    writeln!(out, "  Test users ({}):", users.len())?;
    for u in users.iter().take(10) {
        writeln!(
            out,
            "    {}  {} {}  one-time code '{}'  password '{}'",
            u.nnin, u.given_name, u.family_name, u.otp, u.password
        )?;
    }
    if users.len() > 10 {
        writeln!(
            out,
            "    ... and {} more (`bankid-oidc users list`)",
            users.len() - 10
        )?;
    }
    if let Some(tls) = tls {
        writeln!(out, "  TLS certificate: {}", tls.summary)?;
        if let Some(ca) = &tls.ca_file {
            writeln!(
                out,
                "  Local CA:        {} (trust this file; its key stays in the data directory)",
                ca.display()
            )?;
            for (ecosystem, how) in tls::trust_lines(
                ca,
                provider.config.public_url.as_str().trim_end_matches('/'),
            ) {
                writeln!(out, "    {ecosystem:<15}{how}")?;
            }
        }
    }
    // The last line: tests and scripts read the base URL from it.
    if let (Some(plain), Some(_)) = (addresses.plain, addresses.tls) {
        writeln!(out, "Plain HTTP also on http://{plain}")?;
    }
    match addresses.tls {
        Some(tls) => writeln!(out, "Listening on https://{tls}")?,
        None => writeln!(
            out,
            "Listening on http://{}",
            addresses.plain.expect("one listener at least")
        )?,
    }
    print!("{out}");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::parse_listen;

    #[test]
    fn listen_accepts_a_port_localhost_and_addresses() {
        assert_eq!(parse_listen("8090").unwrap().to_string(), "127.0.0.1:8090");
        assert_eq!(
            parse_listen("localhost:8090").unwrap().to_string(),
            "127.0.0.1:8090"
        );
        assert_eq!(
            parse_listen("0.0.0.0:80").unwrap().to_string(),
            "0.0.0.0:80"
        );
        assert_eq!(
            parse_listen("[::1]:8090").unwrap().to_string(),
            "[::1]:8090"
        );
        for bad in ["localhost", "example.com:80", "localhost:http", "99999"] {
            let e = parse_listen(bad).unwrap_err();
            assert!(e.contains("localhost:PORT"), "{bad}: {e}");
        }
    }
}

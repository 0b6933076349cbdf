//! `bankid-oidc demo`: a small merchant web app built on `bankid-oidc-client`, so that a
//! developer sees every flow work against `bankid-oidc serve` before writing a line, and so that
//! browser tests have a real merchant to drive.
//!
//! - `flows.rs`: the flows and how each starts (issuer, parameters, channel);
//! - `routes.rs`: the HTTP routes (start, callback, result, refresh, introspect, revoke, logout);
//! - `session.rs`: the merchant's own session (cookie → server-side state, CSRF);
//! - `pages.rs`: the pages, in bokmål and English, escaped, without script;
//! - `iframe.rs`: the iframe flow, whose pages alone run script (files of the demo's origin).

mod ciba;
mod flows;
mod iframe;
mod pages;
mod routes;
mod session;

use anyhow::Context;
use bankid_oidc_client::{Client, PrivateKeyJwtSigner};
use clap::Args;
use flows::IssuerKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// The demo's request-object key (PKCS#8 PEM, owner-only) and its public JWKS to register.
const KEY_FILE: &str = "demo-merchant-key.pem";
const JWKS_FILE: &str = "demo-merchant-jwks.json";
/// Where `serve` keeps the seeded demo client's credentials.
const DEMO_CLIENT_FILE: &str = "demo-client.json";

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on; the redirect URI is `http://<address>/callback` (the seeded demo
    /// client has 127.0.0.1:8081 and localhost:8081 registered).
    #[arg(
        long,
        env = "BANKID_OIDC_DEMO_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    listen: SocketAddr,
    /// The provider's public URL (as `serve --public-url`).
    #[arg(
        long,
        env = "BANKID_OIDC_DEMO_PROVIDER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    provider_url: String,
    /// The realm to log in at (`{provider}/auth/realms/{realm}`).
    #[arg(long, env = "BANKID_OIDC_DEMO_REALM", default_value = "current")]
    realm: String,
    /// Default: the demo client from `--data-dir`'s demo-client.json.
    #[arg(long, env = "BANKID_OIDC_DEMO_CLIENT_ID")]
    client_id: Option<String>,
    /// Default: the demo client's secret from `--data-dir`'s demo-client.json.
    #[arg(long, env = "BANKID_OIDC_DEMO_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
}

/// Everything a request needs: one client per issuer, the sessions, and the addresses.
pub struct Demo {
    realm: Client,
    bis: Client,
    sessions: session::Sessions,
    /// `http://<bound address>`: where the provider sends the browser back.
    origin: String,
    /// The `Host` the browser must use for the session cookie to come back with the callback.
    host: String,
    provider_url: String,
    /// The command that registers the demo's request-object key.
    key_command: String,
    csp: String,
}

impl Demo {
    fn client(&self, issuer: IssuerKind) -> &Client {
        match issuer {
            IssuerKind::Realm => &self.realm,
            IssuerKind::Bis => &self.bis,
        }
    }
}

/// The client id and secret: the flags, else the seeded demo client's file.
fn credentials(data_dir: &Path, args: &DemoArgs) -> anyhow::Result<(String, String)> {
    if let (Some(id), Some(secret)) = (&args.client_id, &args.client_secret) {
        return Ok((id.clone(), secret.clone()));
    }
    let path = data_dir.join(DEMO_CLIENT_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no --client-secret given and {} cannot be read: start `bankid-oidc serve` with the \
             same --data-dir first (it writes the demo client's secret there), or pass \
             --client-id and --client-secret",
            path.display()
        )
    })?;
    let file: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let field = |name: &str| {
        file[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{} has no {name}", path.display()))
    };
    let id = match &args.client_id {
        Some(id) => id.clone(),
        None => field("client_id")?,
    };
    let secret = match &args.client_secret {
        Some(secret) => secret.clone(),
        None => field("client_secret")?,
    };
    Ok((id, secret))
}

/// The ES256 key that signs the demo's request objects: made at the first start, kept in the
/// data directory (owner-only), its public half written beside it for registration.
fn request_object_key(data_dir: &Path) -> anyhow::Result<(PrivateKeyJwtSigner, PathBuf)> {
    let key_path = data_dir.join(KEY_FILE);
    let jwks_path = data_dir.join(JWKS_FILE);
    let signer = match std::fs::read_to_string(&key_path) {
        Ok(pem) => PrivateKeyJwtSigner::from_pkcs8_pem(&pem)
            .with_context(|| format!("reading the demo's key {}", key_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let signer = PrivateKeyJwtSigner::generate()?;
            write_private(&key_path, signer.to_pkcs8_pem()?.as_bytes())?;
            signer
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", key_path.display())),
    };
    std::fs::write(&jwks_path, signer.jwks_json())
        .with_context(|| format!("writing {}", jwks_path.display()))?;
    Ok((signer, jwks_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn origin_of(url: &str) -> anyhow::Result<String> {
    let parsed = Url::parse(url).with_context(|| format!("--provider-url '{url}' is not a URL"))?;
    Ok(parsed.origin().ascii_serialization())
}

pub async fn run(data_dir: &Path, args: DemoArgs) -> anyhow::Result<()> {
    let (client_id, secret) = credentials(data_dir, &args)?;
    let (signer, jwks_path) = request_object_key(data_dir)?;
    let provider_url = args.provider_url.trim_end_matches('/').to_owned();
    let provider_origin = origin_of(&provider_url)?;

    // Listen before discovery, so that the redirect URI names the port really bound.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let host = bound.to_string();
    let origin = format!("http://{host}");
    let redirect_uri = format!("{origin}/callback");

    let realm_issuer = format!("{provider_url}/auth/realms/{}", args.realm);
    let bis_issuer = format!("{provider_url}/bis");
    let discover = |issuer: String, signer: Option<Arc<PrivateKeyJwtSigner>>| {
        let (client_id, secret, redirect_uri) = (&client_id, &secret, &redirect_uri);
        async move {
            let mut builder = Client::builder(&issuer, client_id)
                .client_secret(secret)
                .redirect_uri(redirect_uri);
            if let Some(signer) = signer {
                builder = builder.request_object_signer(signer);
            }
            builder.discover().await.with_context(|| {
                format!("discovery at {issuer}: is `bankid-oidc serve` running there?")
            })
        }
    };
    let realm = discover(realm_issuer.clone(), Some(Arc::new(signer))).await?;
    let bis = discover(bis_issuer.clone(), None).await?;

    let key_command = format!(
        "bankid-oidc --data-dir {} clients update --client-id {client_id} --jwks {}",
        data_dir.display(),
        jwks_path.display()
    );
    // No script at all; forms post here, and the start and logout forms' redirects go on to
    // the provider (Chrome checks form-action along redirects).
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {provider_origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    println!("bankid-oidc demo: a demo merchant (TEST ONLY: not real BankID)");
    println!("  Realm issuer:    {realm_issuer}");
    println!("  BIS issuer:      {bis_issuer}");
    println!("  Client:          {client_id}");
    println!("  Redirect URI:    {redirect_uri}");
    println!(
        "  Request objects: signed with {}",
        data_dir.join(KEY_FILE).display()
    );
    println!("                   register its public key once: {key_command}");
    println!("Listening on {origin}");
    use std::io::Write as _;
    std::io::stdout().flush()?;

    let demo = Arc::new(Demo {
        realm,
        bis,
        sessions: session::Sessions::default(),
        origin,
        host,
        provider_url,
        key_command,
        csp,
    });
    axum::serve(listener, routes::router(demo))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

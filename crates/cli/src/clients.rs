//! `clients add | update | remove | list`.

use crate::admin::open_store;
use anyhow::{Context, bail};
use bankid_oidc_core::jwk::Jwks;
use bankid_oidc_core::scope::{self, ScopeSet};
use bankid_oidc_server::clock::{Clock, SystemClock};
use bankid_oidc_server::secret::{RECOMMENDED_SECRET_LEN, hash_secret};
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{Client, ClientStore};
use clap::Args;
use std::path::{Path, PathBuf};

pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:openid:params:grant-type:ciba",
];
pub const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// The registration fields `add` and `update` share; in `update`, only those given change.
#[derive(Args)]
pub struct ClientFields {
    /// The client secret (stored hashed). Use a long random value; not for private_key_jwt.
    #[arg(long, env = "BANKID_OIDC_CLIENT_SECRET")]
    client_secret: Option<String>,
    /// A redirect URI, matched exactly; repeat for several.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Space-separated scopes the client may ask for (person scopes and machine scopes such as
    /// esign/csc or permissions/client).
    #[arg(long)]
    scope: Option<String>,
    /// A display name shown on the login pages.
    #[arg(long)]
    name: Option<String>,
    /// A grant type the client may use; repeat for several (authorization_code, refresh_token,
    /// client_credentials, urn:openid:params:grant-type:ciba).
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    /// client_secret_basic, client_secret_post or private_key_jwt.
    #[arg(long)]
    token_endpoint_auth_method: Option<String>,
    /// Where logout may send the browser back to, matched exactly; repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A file with the client's public keys (a JWKS document).
    #[arg(long, conflicts_with = "jwks_uri")]
    jwks: Option<PathBuf>,
    /// Where the provider fetches the client's public keys.
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Lets this client introspect tokens issued to other clients.
    #[arg(long)]
    resource_server: Option<bool>,
    /// Refuses this client's plain authorization requests: it must push them (PAR).
    #[arg(long)]
    require_pushed_authorization_requests: Option<bool>,
}

#[derive(Args)]
pub struct ClientAddArgs {
    #[arg(long)]
    client_id: String,
    #[command(flatten)]
    fields: ClientFields,
}

#[derive(Args)]
pub struct ClientUpdateArgs {
    #[arg(long)]
    client_id: String,
    #[command(flatten)]
    fields: ClientFields,
}

#[derive(Args)]
pub struct ClientRemoveArgs {
    #[arg(long)]
    client_id: String,
}

fn check_client_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        bail!(
            "--client-id '{id}': use 1 to 255 visible ASCII characters without ':' (it travels in Basic authentication)"
        );
    }
    Ok(())
}

fn check_uri(flag: &str, uri: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| anyhow::anyhow!("{flag} '{uri}': not an absolute URI ({e})"))?;
    if parsed.fragment().is_some() {
        bail!("{flag} '{uri}': must not contain a fragment (RFC 6749 section 3.1.2)");
    }
    if parsed.scheme() == "http"
        && !matches!(
            parsed.host_str().unwrap_or(""),
            "localhost" | "127.0.0.1" | "[::1]"
        )
    {
        eprintln!("warning: {flag} '{uri}' uses plain http on a host other than localhost");
    }
    Ok(())
}

fn read_jwks(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--jwks {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("--jwks {}: not JSON ({e})", path.display()))?;
    if value["keys"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|k| k.get("d").is_some()))
    {
        bail!(
            "--jwks {}: contains a private key ('d'); register only the public keys",
            path.display()
        );
    }
    let jwks: Jwks = serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("--jwks {}: not a JWKS document ({e})", path.display()))?;
    if jwks.keys.is_empty() {
        bail!("--jwks {}: has no keys", path.display());
    }
    if let Some(k) = jwks
        .keys
        .iter()
        .find(|k| !matches!(k.kty.as_str(), "EC" | "RSA"))
    {
        bail!(
            "--jwks {}: key type '{}' is not supported (EC P-256 or RSA)",
            path.display(),
            k.kty
        );
    }
    Ok(serde_json::to_string(&jwks)?)
}

/// Applies the given fields to `client` and checks the whole registration.
fn apply(client: &mut Client, fields: ClientFields) -> anyhow::Result<()> {
    if let Some(secret) = &fields.client_secret {
        if secret.is_empty() {
            bail!("--client-secret: must not be empty");
        }
        if secret.len() < RECOMMENDED_SECRET_LEN {
            eprintln!(
                "warning: the client secret is shorter than {RECOMMENDED_SECRET_LEN} characters; use a long random secret outside tests"
            );
        }
        client.secret_hash = hash_secret(secret);
    }
    if !fields.redirect_uris.is_empty() {
        for uri in &fields.redirect_uris {
            check_uri("--redirect-uri", uri)?;
        }
        client.redirect_uris = fields.redirect_uris;
    }
    if let Some(text) = &fields.scope {
        let scopes = ScopeSet::parse(text).map_err(|e| anyhow::anyhow!("--scope: {e}"))?;
        if let Some(unknown) = scopes.iter().find(|s| !scope::is_known(s)) {
            bail!("--scope: '{unknown}' is not a BankID scope this provider knows");
        }
        client.scopes = scopes;
    }
    if let Some(name) = fields.name {
        client.name = name;
    }
    if !fields.grant_types.is_empty() {
        if let Some(bad) = fields
            .grant_types
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            bail!(
                "--grant-type '{bad}': use one of {}",
                GRANT_TYPES.join(", ")
            );
        }
        client.grant_types = fields.grant_types;
    }
    if let Some(method) = fields.token_endpoint_auth_method {
        if !AUTH_METHODS.contains(&method.as_str()) {
            bail!(
                "--token-endpoint-auth-method '{method}': use one of {}",
                AUTH_METHODS.join(", ")
            );
        }
        client.token_endpoint_auth_method = method;
    }
    if !fields.post_logout_redirect_uris.is_empty() {
        for uri in &fields.post_logout_redirect_uris {
            check_uri("--post-logout-redirect-uri", uri)?;
        }
        client.post_logout_redirect_uris = fields.post_logout_redirect_uris;
    }
    if let Some(path) = &fields.jwks {
        client.jwks = Some(read_jwks(path)?);
        client.jwks_uri = None;
    }
    if let Some(uri) = fields.jwks_uri {
        check_uri("--jwks-uri", &uri)?;
        client.jwks_uri = Some(uri);
        client.jwks = None;
    }
    if let Some(resource_server) = fields.resource_server {
        client.resource_server = resource_server;
    }
    if let Some(require) = fields.require_pushed_authorization_requests {
        client.require_pushed_authorization_requests = require;
    }
    // The registration as a whole.
    if client.uses_private_key_jwt() {
        if client.jwks.is_none() && client.jwks_uri.is_none() {
            bail!(
                "--token-endpoint-auth-method private_key_jwt: needs --jwks FILE or --jwks-uri URL"
            );
        }
        if fields.client_secret.is_some() {
            bail!(
                "--client-secret: a private_key_jwt client authenticates with its keys, not a secret"
            );
        }
        client.secret_hash = String::new();
    } else if client.secret_hash.is_empty() {
        bail!(
            "--client-secret: required for {}",
            client.token_endpoint_auth_method
        );
    }
    if client.allows_grant("authorization_code") && client.redirect_uris.is_empty() {
        bail!("--redirect-uri: required for the authorization_code grant");
    }
    Ok(())
}

pub async fn add(data_dir: &Path, args: ClientAddArgs) -> anyhow::Result<()> {
    check_client_id(&args.client_id)?;
    let now = SystemClock.now();
    let default_scopes =
        ScopeSet::parse("openid profile nnin_altsub email phone").expect("valid scopes");
    let mut client = new_client(&args.client_id, "", Vec::new(), default_scopes, now);
    client.secret_hash = String::new();
    apply(&mut client, args.fields)?;
    let store = open_store(data_dir).await?;
    if !store.add_client(&client).await? {
        bail!(
            "--client-id '{}': a client with this id is already registered",
            client.client_id
        );
    }
    println!("Registered client '{}'", client.client_id);
    Ok(())
}

pub async fn update(data_dir: &Path, args: ClientUpdateArgs) -> anyhow::Result<()> {
    let store = open_store(data_dir).await?;
    let Some(mut client) = store.client(&args.client_id).await? else {
        bail!("--client-id '{}': no such client", args.client_id);
    };
    apply(&mut client, args.fields)?;
    if !store.update_client(&client).await? {
        bail!(
            "--client-id '{}': the client was removed meanwhile",
            args.client_id
        );
    }
    println!("Updated client '{}'", client.client_id);
    Ok(())
}

pub async fn remove(data_dir: &Path, args: ClientRemoveArgs) -> anyhow::Result<()> {
    let store = open_store(data_dir).await?;
    if !store
        .remove_client(&args.client_id, SystemClock.now())
        .await?
    {
        bail!("--client-id '{}': no such client", args.client_id);
    }
    println!("Removed client '{}' and revoked its tokens", args.client_id);
    Ok(())
}

pub async fn list(data_dir: &Path) -> anyhow::Result<()> {
    let store = open_store(data_dir).await?;
    let clients = store.clients().await?;
    if clients.is_empty() {
        println!("No clients registered.");
    }
    for c in clients {
        println!("{}", c.client_id);
        println!("  name: {}", c.name);
        println!("  redirect URIs: {}", c.redirect_uris.join(" "));
        println!("  scopes: {}", c.scopes);
        println!("  grant types: {}", c.grant_types.join(" "));
        println!(
            "  token endpoint auth method: {}",
            c.token_endpoint_auth_method
        );
        if !c.post_logout_redirect_uris.is_empty() {
            println!(
                "  post-logout redirect URIs: {}",
                c.post_logout_redirect_uris.join(" ")
            );
        }
        if let Some(uri) = &c.jwks_uri {
            println!("  jwks_uri: {uri}");
        } else if c.jwks.is_some() {
            println!("  jwks: registered");
        }
        if c.resource_server {
            println!("  resource server: may introspect any token");
        }
        if c.require_pushed_authorization_requests {
            println!("  requires pushed authorization requests");
        }
    }
    Ok(())
}

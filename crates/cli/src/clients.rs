//! `clients add | update | remove | list`.

use crate::admin::open_store;
use anyhow::{Context, bail};
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::clock::{Clock, SystemClock};
use bankid_oidc_server::registration;
use bankid_oidc_server::secret::{RECOMMENDED_SECRET_LEN, hash_secret};
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{Client, ClientStore};
use clap::Args;
use std::path::{Path, PathBuf};

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
    /// A card or account permission type the client may register at the permissions API
    /// (card.v1, account.v1); repeat for both. The other types need no registration.
    #[arg(long = "permission-type")]
    permission_types: Vec<String>,
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
    /// Adds a redirect URI to those registered (kept once); repeat for several.
    #[arg(
        long = "add-redirect-uri",
        value_name = "URI",
        conflicts_with = "redirect_uris"
    )]
    add_redirect_uris: Vec<String>,
    /// Removes a registered redirect URI; repeat for several.
    #[arg(
        long = "remove-redirect-uri",
        value_name = "URI",
        conflicts_with = "redirect_uris"
    )]
    remove_redirect_uris: Vec<String>,
    #[command(flatten)]
    fields: ClientFields,
}

#[derive(Args)]
pub struct ClientRemoveArgs {
    #[arg(long)]
    client_id: String,
}

fn read_jwks(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--jwks {}", path.display()))?;
    registration::check_jwks(&text)
        .map_err(|rule| anyhow::anyhow!("--jwks {}: {rule}", path.display()))
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
        client.redirect_uris = fields.redirect_uris;
    }
    if let Some(text) = &fields.scope {
        client.scopes = ScopeSet::parse(text).map_err(|e| anyhow::anyhow!("--scope: {e}"))?;
    }
    if let Some(name) = fields.name {
        client.name = name;
    }
    if !fields.grant_types.is_empty() {
        client.grant_types = fields
            .grant_types
            .iter()
            .map(|g| registration::parse_grant_type(g))
            .collect::<Result<_, _>>()?;
    }
    if let Some(method) = &fields.token_endpoint_auth_method {
        client.token_endpoint_auth_method = registration::parse_auth_method(method)?;
    }
    if !fields.post_logout_redirect_uris.is_empty() {
        client.post_logout_redirect_uris = fields.post_logout_redirect_uris;
    }
    if let Some(path) = &fields.jwks {
        client.jwks = Some(read_jwks(path)?);
        client.jwks_uri = None;
    }
    if let Some(uri) = fields.jwks_uri {
        client.jwks_uri = Some(uri);
        client.jwks = None;
    }
    if let Some(resource_server) = fields.resource_server {
        client.resource_server = resource_server;
    }
    if let Some(require) = fields.require_pushed_authorization_requests {
        client.require_pushed_authorization_requests = require;
    }
    if !fields.permission_types.is_empty() {
        for type_ in &fields.permission_types {
            registration::check_permission_type(type_)?;
        }
        let mut types = fields.permission_types;
        types.sort();
        types.dedup();
        client.permission_types = types;
    }
    // A secret given to a client that authenticates with its keys is a mistake to point out,
    // not to store.
    if client.uses_private_key_jwt() {
        if fields.client_secret.is_some() {
            bail!(
                "--client-secret: a private_key_jwt client authenticates with its keys, not a secret"
            );
        }
        client.secret_hash = String::new();
    }
    // The registration as a whole, by the rules every registration meets.
    registration::check_client(client)?;
    Ok(())
}

pub async fn add(data_dir: &Path, args: ClientAddArgs) -> anyhow::Result<()> {
    registration::check_client_id(&args.client_id)?;
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
    for uri in &args.remove_redirect_uris {
        if !client.redirect_uris.contains(uri) {
            bail!(
                "--remove-redirect-uri {uri}: not registered for '{}' (registered: {})",
                client.client_id,
                client.redirect_uris.join(" ")
            );
        }
        client.redirect_uris.retain(|u| u != uri);
    }
    for uri in args.add_redirect_uris {
        if !client.redirect_uris.contains(&uri) {
            client.redirect_uris.push(uri);
        }
    }
    // `apply` checks the whole registration, the changed redirect URIs with it.
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
        let grant_types: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        println!("  grant types: {}", grant_types.join(" "));
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
        if !c.permission_types.is_empty() {
            println!("  permission types: {}", c.permission_types.join(" "));
        }
    }
    Ok(())
}

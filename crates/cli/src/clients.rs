//! `clients add | update | remove | list`.

use crate::storage::StorageArgs;
use anyhow::bail;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::clock::{Clock, SystemClock};
use bankid_oidc_server::registration::{self, Field, RegistrationError, Rule};
use bankid_oidc_server::secret::{RECOMMENDED_SECRET_LEN, hash_secret};
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::Client;
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

/// A registration's fields as given by `clients add|update` or a seed file; a field not given
/// (`None`, empty) leaves the registration's value as it is.
#[derive(Default)]
pub struct ClientChanges {
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub name: Option<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub jwks: Option<PathBuf>,
    pub jwks_uri: Option<String>,
    pub resource_server: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    pub permission_types: Vec<String>,
}

impl From<ClientFields> for ClientChanges {
    fn from(f: ClientFields) -> ClientChanges {
        ClientChanges {
            client_secret: f.client_secret,
            redirect_uris: f.redirect_uris,
            scope: f.scope,
            name: f.name,
            grant_types: f.grant_types,
            token_endpoint_auth_method: f.token_endpoint_auth_method,
            post_logout_redirect_uris: f.post_logout_redirect_uris,
            jwks: f.jwks,
            jwks_uri: f.jwks_uri,
            resource_server: f.resource_server,
            require_pushed_authorization_requests: f.require_pushed_authorization_requests,
            permission_types: f.permission_types,
        }
    }
}

fn read_jwks(path: &Path) -> Result<String, RegistrationError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        RegistrationError::new(Field::Jwks, &shown, Rule::Unreadable(e.to_string()))
    })?;
    registration::check_jwks(&text)
        .map_err(|rule| RegistrationError::new(Field::Jwks, &shown, rule))
}

/// What `clients add` registers: the defaults, then the given fields, checked as a whole.
pub fn new_registration(
    client_id: &str,
    changes: ClientChanges,
    now: i64,
) -> Result<Client, RegistrationError> {
    registration::check_client_id(client_id)?;
    let default_scopes =
        ScopeSet::parse("openid profile nnin_altsub email phone").expect("valid scopes");
    let mut client = new_client(client_id, "", Vec::new(), default_scopes, now);
    client.secret_hash = String::new();
    apply(&mut client, changes)?;
    Ok(client)
}

/// Applies the given fields to `client` and checks the whole registration. An error names the
/// field ([`RegistrationError::naming`]), so that the command line and a seed file each name
/// it as they spell it.
pub fn apply(client: &mut Client, changes: ClientChanges) -> Result<(), RegistrationError> {
    if let Some(secret) = &changes.client_secret {
        if secret.is_empty() {
            return Err(RegistrationError::of_field(
                Field::ClientSecret,
                Rule::EmptySecret,
            ));
        }
        if secret.len() < RECOMMENDED_SECRET_LEN {
            eprintln!(
                "warning: the client secret of '{}' is shorter than {RECOMMENDED_SECRET_LEN} characters; use a long random secret outside tests",
                client.client_id
            );
        }
        client.secret_hash = hash_secret(secret);
    }
    if !changes.redirect_uris.is_empty() {
        client.redirect_uris = changes.redirect_uris;
    }
    if let Some(text) = &changes.scope {
        client.scopes = ScopeSet::parse(text).map_err(|e| {
            RegistrationError::of_field(Field::Scope, Rule::BadScopes(e.to_string()))
        })?;
    }
    if let Some(name) = changes.name {
        client.name = name;
    }
    if !changes.grant_types.is_empty() {
        client.grant_types = changes
            .grant_types
            .iter()
            .map(|g| registration::parse_grant_type(g))
            .collect::<Result<_, _>>()?;
    }
    if let Some(method) = &changes.token_endpoint_auth_method {
        client.token_endpoint_auth_method = registration::parse_auth_method(method)?;
    }
    if !changes.post_logout_redirect_uris.is_empty() {
        client.post_logout_redirect_uris = changes.post_logout_redirect_uris;
    }
    if let Some(path) = &changes.jwks {
        client.jwks = Some(read_jwks(path)?);
        client.jwks_uri = None;
    }
    if let Some(uri) = changes.jwks_uri {
        client.jwks_uri = Some(uri);
        client.jwks = None;
    }
    if let Some(resource_server) = changes.resource_server {
        client.resource_server = resource_server;
    }
    if let Some(require) = changes.require_pushed_authorization_requests {
        client.require_pushed_authorization_requests = require;
    }
    if !changes.permission_types.is_empty() {
        for type_ in &changes.permission_types {
            registration::check_permission_type(type_)?;
        }
        let mut types = changes.permission_types;
        types.sort();
        types.dedup();
        client.permission_types = types;
    }
    // A secret given to a client that authenticates with its keys is a mistake to point out,
    // not to store.
    if client.uses_private_key_jwt() {
        if changes.client_secret.is_some() {
            return Err(RegistrationError::of_field(
                Field::ClientSecret,
                Rule::SecretWithKeys,
            ));
        }
        client.secret_hash = String::new();
    }
    // The registration as a whole, by the rules every registration meets.
    registration::check_client(client)
}

pub async fn add(storage: &StorageArgs, args: ClientAddArgs) -> anyhow::Result<()> {
    let client = new_registration(&args.client_id, args.fields.into(), SystemClock.now())?;
    let store = storage.open_store().await?;
    if !store.add_client(&client).await? {
        bail!(
            "--client-id '{}': a client with this id is already registered",
            client.client_id
        );
    }
    println!("Registered client '{}'", client.client_id);
    Ok(())
}

pub async fn update(storage: &StorageArgs, args: ClientUpdateArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
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
    apply(&mut client, args.fields.into())?;
    if !store.update_client(&client).await? {
        bail!(
            "--client-id '{}': the client was removed meanwhile",
            args.client_id
        );
    }
    println!("Updated client '{}'", client.client_id);
    Ok(())
}

pub async fn remove(storage: &StorageArgs, args: ClientRemoveArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    if !store
        .remove_client(&args.client_id, SystemClock.now())
        .await?
    {
        bail!("--client-id '{}': no such client", args.client_id);
    }
    println!("Removed client '{}' and revoked its tokens", args.client_id);
    Ok(())
}

pub async fn list(storage: &StorageArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
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

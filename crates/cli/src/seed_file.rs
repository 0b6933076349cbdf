//! `serve --seed FILE`: clients and test users declared in a file (TOML, or JSON when the name
//! ends in `.json`), applied at every start.
//!
//! Entries are keyed by `client_id` and `nnin`: one that is missing from the store is added, one
//! that differs is updated, one that matches is left alone, and what the file does not name is
//! left alone. Each entry describes the whole client or user: a field left out takes the value
//! `clients add` or `users add` would give it. The whole file is checked, by the rules of
//! `clients add` and `users add`, before anything is written (and before `serve` listens); then
//! every change is written in one transaction.

use crate::admin::checked_user;
use crate::clients::{ClientChanges, new_registration};
use crate::user_fields::{self, CheckedUser, UserField, UserFields};
use anyhow::Context;
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::registration::Field;
use bankid_oidc_server::secret::verify_secret;
use bankid_oidc_server::store::{Client, SeedChanges, Store};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A `[[clients]]` entry: the options of `clients add`, named as in the store.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    client_secret: Option<String>,
    /// The name of an environment variable that holds the secret, so that the file need not.
    client_secret_env: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    scope: Option<String>,
    name: Option<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// A JWKS file, relative to the seed file.
    jwks: Option<PathBuf>,
    jwks_uri: Option<String>,
    resource_server: Option<bool>,
    require_pushed_authorization_requests: Option<bool>,
    #[serde(default)]
    permission_types: Vec<String>,
}

/// A `[[users]]` entry: the options of `users add`. The NNIN is required: it is what makes the
/// entry the same user at the next start.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    nnin: String,
    given_name: String,
    family_name: String,
    birthdate: String,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    otp: Option<String>,
    password: Option<String>,
    app_answer: Option<String>,
    app_delay: Option<i64>,
}

/// A client of the file, checked.
struct SeedClient {
    client: Client,
    /// The secret in clear, to tell whether the stored hash is of the same secret.
    secret: Option<String>,
}

/// A seed file, read and checked; nothing written yet.
pub struct Seed {
    path: PathBuf,
    clients: Vec<SeedClient>,
    users: Vec<(Nnin, CheckedUser)>,
}

/// What applying a seed did, per kind of entry.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub clients: Counts,
    pub users: Counts,
}

impl Seed {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads and checks the whole file. An error names the file, the entry and the field.
pub fn load(path: &Path, now: i64) -> anyhow::Result<Seed> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--seed {shown}: cannot read the seed file"))?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let document: serde_json::Value = if json {
        serde_json::from_str(&text).with_context(|| format!("seed file {shown}: not JSON"))?
    } else {
        toml::from_str(&text).with_context(|| format!("seed file {shown}: not TOML"))?
    };
    let refuse = |what: String| anyhow::anyhow!("seed file {shown}: {what}");
    let serde_json::Value::Object(top) = document else {
        return Err(refuse(
            "the file must be a table with `clients` and `users`".into(),
        ));
    };
    if let Some(key) = top
        .keys()
        .find(|k| !matches!(k.as_str(), "clients" | "users"))
    {
        return Err(refuse(format!(
            "unknown key `{key}` (a seed file has `clients` and `users`)"
        )));
    }
    let entries = |kind: &str| -> anyhow::Result<Vec<serde_json::Value>> {
        match top.get(kind) {
            None => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(refuse(format!(
                "`{kind}` must be a list of entries ([[{kind}]] in TOML)"
            ))),
        }
    };
    let base_dir = path.parent().unwrap_or(Path::new("."));

    let mut clients = Vec::new();
    let mut client_ids: HashMap<String, usize> = HashMap::new();
    for (i, value) in entries("clients")?.into_iter().enumerate() {
        let entry_name = match value.get("client_id").and_then(|v| v.as_str()) {
            Some(id) => format!("clients[{i}] (client_id '{id}')"),
            None => format!("clients[{i}]"),
        };
        let refuse_entry = |what: String| refuse(format!("{entry_name}: {what}"));
        let entry: ClientEntry = deserialize(value).map_err(refuse_entry)?;
        if let Some(first) = client_ids.insert(entry.client_id.clone(), i) {
            return Err(refuse_entry(format!(
                "client_id '{}': also at clients[{first}]; each client once",
                entry.client_id
            )));
        }
        let secret = match (entry.client_secret, &entry.client_secret_env) {
            (Some(_), Some(_)) => {
                return Err(refuse_entry(
                    "client_secret_env: give the secret or the variable that holds it, not both"
                        .into(),
                ));
            }
            (Some(secret), None) => Some(secret),
            (None, Some(name)) => Some(std::env::var(name).map_err(|_| {
                refuse_entry(format!(
                    "client_secret_env '{name}': the environment has no such variable (or it is not UTF-8)"
                ))
            })?),
            (None, None) => None,
        };
        let changes = ClientChanges {
            client_secret: secret.clone(),
            redirect_uris: entry.redirect_uris,
            scope: entry.scope,
            name: entry.name,
            grant_types: entry.grant_types,
            token_endpoint_auth_method: entry.token_endpoint_auth_method,
            post_logout_redirect_uris: entry.post_logout_redirect_uris,
            jwks: entry.jwks.map(|file| base_dir.join(file)),
            jwks_uri: entry.jwks_uri,
            resource_server: entry.resource_server,
            require_pushed_authorization_requests: entry.require_pushed_authorization_requests,
            permission_types: entry.permission_types,
        };
        let client = new_registration(&entry.client_id, changes, now)
            .map_err(|e| refuse_entry(e.naming(Field::key)))?;
        clients.push(SeedClient { client, secret });
    }

    let mut users = Vec::new();
    let mut nnins: HashMap<String, usize> = HashMap::new();
    for (i, value) in entries("users")?.into_iter().enumerate() {
        let entry_name = match value.get("nnin").and_then(|v| v.as_str()) {
            Some(nnin) => format!("users[{i}] (nnin '{nnin}')"),
            None => format!("users[{i}]"),
        };
        let refuse_entry = |what: String| refuse(format!("{entry_name}: {what}"));
        let entry: UserEntry = deserialize(value).map_err(refuse_entry)?;
        let checked = user_fields::check(UserFields {
            nnin: Some(entry.nnin),
            given_name: entry.given_name,
            family_name: entry.family_name,
            birthdate: entry.birthdate,
            email: entry.email,
            phone: entry.phone,
            address: entry.address,
            otp: entry.otp,
            password: entry.password,
            app_answer: entry.app_answer,
            app_delay: entry.app_delay,
        })
        .map_err(|e| refuse_entry(e.naming(UserField::key)))?;
        let nnin = checked
            .nnin
            .clone()
            .expect("the seed file's users have an NNIN");
        if let Some(first) = nnins.insert(nnin.to_string(), i) {
            return Err(refuse_entry(format!(
                "nnin '{nnin}': also at users[{first}]; each user once"
            )));
        }
        users.push((nnin, checked));
    }
    Ok(Seed {
        path: path.to_owned(),
        clients,
        users,
    })
}

/// An entry as its type, or what is wrong with it, naming the field.
fn deserialize<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let rule = e.into_inner().to_string();
        // "unknown field `x`" names its field already.
        if path == "." || rule.contains(&format!("`{path}`")) {
            rule
        } else {
            format!("{path}: {rule}")
        }
    })
}

/// Compares the file with the store and writes what differs, in one transaction.
pub async fn apply(store: &dyn Store, seed: &Seed, now: i64) -> anyhow::Result<Applied> {
    let mut changes = SeedChanges::default();
    let mut applied = Applied::default();
    for SeedClient { client, secret } in &seed.clients {
        let mut wanted = client.clone();
        match store.client(&client.client_id).await? {
            None => {
                changes.add_clients.push(wanted);
                applied.clients.added += 1;
            }
            Some(stored) => {
                // The hash is salted: the same secret keeps the stored hash, so that an
                // unchanged entry stays unchanged.
                if let Some(secret) = secret
                    && verify_secret(&stored.secret_hash, secret)
                {
                    wanted.secret_hash = stored.secret_hash.clone();
                }
                wanted.created_at = stored.created_at;
                if wanted == stored {
                    applied.clients.unchanged += 1;
                } else {
                    changes.update_clients.push(wanted);
                    applied.clients.updated += 1;
                }
            }
        }
    }
    for (nnin, checked) in &seed.users {
        let mut wanted = checked_user(nnin, checked, now);
        match store.user_by_nnin(&nnin.to_string()).await? {
            None => {
                changes
                    .app_scripts
                    .push((wanted.id.clone(), checked.script));
                changes.add_users.push(wanted);
                applied.users.added += 1;
            }
            Some(stored) => {
                // The user's identity (id, PID) and lockout are the store's.
                wanted.id = stored.id.clone();
                wanted.pid = stored.pid.clone();
                wanted.failed_attempts = stored.failed_attempts;
                wanted.locked_until = stored.locked_until;
                wanted.updated_at = stored.updated_at;
                let script = store.app_script(&stored.id).await?;
                if wanted == stored && script == checked.script {
                    applied.users.unchanged += 1;
                } else {
                    wanted.updated_at = now;
                    changes
                        .app_scripts
                        .push((wanted.id.clone(), checked.script));
                    changes.update_users.push(wanted);
                    applied.users.updated += 1;
                }
            }
        }
    }
    if changes != SeedChanges::default() {
        store.apply_seed(changes).await.with_context(|| {
            format!(
                "seed file {}: writing it failed, and nothing of it was written (did another \
                 `bankid-oidc` command change the same client or user meanwhile?)",
                seed.path.display()
            )
        })?;
    }
    Ok(applied)
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} updated, {} unchanged",
            self.added, self.updated, self.unchanged
        )
    }
}

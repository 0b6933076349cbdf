//! `keys rotate | list`: key rotation from the command line, while the server runs, for either
//! key set (`--set signing`, the default: tokens; `--set grants`: permission grants).

use crate::storage::StorageArgs;
use bankid_oidc_server::clock::{Clock, SystemClock, utc_text};
use bankid_oidc_server::config::Config;
use bankid_oidc_server::keys::{KeySet, Keyring, rotation_policy};
use clap::Args;

/// A `--set` value.
fn parse_set(text: &str) -> Result<KeySet, String> {
    KeySet::parse(text).ok_or_else(|| "use signing or grants".to_owned())
}

#[derive(Args)]
pub struct RotateArgs {
    /// The key set: signing (tokens, jwks_uri) or grants (permission grants, jwks_uri_grants).
    #[arg(long, default_value = "signing", value_parser = parse_set)]
    set: KeySet,
    /// Seconds the new key is published before it signs, so that clients with a cached JWKS
    /// meet it before its first token.
    #[arg(long, default_value_t = 3600, conflicts_with = "now")]
    lead_time: i64,
    /// Sign with the new key at once (an emergency, or a test of clients' JWKS refetch).
    #[arg(long)]
    now: bool,
}

pub async fn rotate(storage: &StorageArgs, args: RotateArgs) -> anyhow::Result<()> {
    if args.lead_time < 0 {
        anyhow::bail!("--lead-time: must not be negative");
    }
    let store = storage.open_store().await?;
    let now = SystemClock.now();
    let (keys, _) = Keyring::load_or_create(store.as_ref(), args.set, now).await?;
    // Retire after the longest lifetime of what the set signs, as the server does.
    let config = Config::new("http://127.0.0.1").map_err(anyhow::Error::msg)?;
    let policy = rotation_policy(&config, args.set);
    if args.now {
        let kid = keys
            .rotate(store.as_ref(), now, policy.retire_after)
            .await?;
        println!(
            "Key {kid} ({}) signs from now on; a running server picks it up within seconds.",
            args.set
        );
    } else {
        let kid = keys.schedule(store.as_ref(), now, args.lead_time).await?;
        println!(
            "Key {kid} ({}) is published now and signs from {} (in {} s).",
            args.set,
            utc_text(now + args.lead_time),
            args.lead_time
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct ListArgs {
    /// The key set: signing (tokens, jwks_uri) or grants (permission grants, jwks_uri_grants).
    #[arg(long, default_value = "signing", value_parser = parse_set)]
    set: KeySet,
}

pub async fn list(storage: &StorageArgs, args: ListArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    let keys = store.signing_keys(args.set).await?;
    if keys.is_empty() {
        println!("No keys yet: the first `serve` creates one.");
    }
    for k in keys {
        let mut line = format!(
            "{}  {}  {:<8}  created {}",
            k.kid,
            k.alg,
            k.state,
            utc_text(k.created_at)
        );
        if k.state == "next"
            && let Some(at) = k.activate_at
        {
            line.push_str(&format!("  signs from {}", utc_text(at)));
        }
        if let Some(at) = k.retire_at {
            line.push_str(&format!("  removed at {}", utc_text(at)));
        }
        println!("{line}");
    }
    Ok(())
}

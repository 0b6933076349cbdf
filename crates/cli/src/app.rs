//! `app`: the test user's emulated BankID app for test automation. It lists and answers the
//! requests in the store the server reads, so it works while the server (another process) runs:
//! a test starts a login and, at the same time, `app approve --wait`.

use crate::storage::StorageArgs;
use anyhow::bail;
use bankid_oidc_server::app::AppContent;
use bankid_oidc_server::clock::{Clock, SystemClock};
use bankid_oidc_server::pages::app::content_lines;
use bankid_oidc_server::pages::texts::EN_APP;
use bankid_oidc_server::store::{AppAnswer, AppRequest, AppStatus, Store, User};
use clap::{Args, Subcommand};
use std::time::{Duration, Instant};

/// How often `--wait` looks for a pending request.
const POLL: Duration = Duration::from_millis(200);

#[derive(Subcommand)]
pub enum AppCommand {
    /// List the requests waiting in a test user's app, oldest first.
    Pending(PendingArgs),
    /// Approve a request (by default the user's oldest pending one).
    Approve(AnswerArgs),
    /// Deny a request (by default the user's oldest pending one).
    Deny(AnswerArgs),
}

#[derive(Args)]
pub struct PendingArgs {
    /// The test user's national identity number.
    #[arg(long)]
    nnin: String,
    /// Print a JSON array instead of one line per request.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AnswerArgs {
    /// The test user's national identity number.
    #[arg(long)]
    nnin: String,
    /// The request to answer (see `app pending`); default: the oldest pending one.
    #[arg(long)]
    id: Option<String>,
    /// Wait up to this many seconds for a request to be pending (a test that starts a login
    /// and its approval at the same time).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=3600))]
    wait: Option<u64>,
}

async fn user(store: &dyn Store, nnin: &str) -> anyhow::Result<User> {
    match store.user_by_nnin(nnin.trim()).await? {
        Some(user) => Ok(user),
        None => bail!("--nnin {nnin}: no such test user"),
    }
}

/// The user's pending requests, oldest first.
async fn pending_of(store: &dyn Store, user: &User) -> anyhow::Result<Vec<AppRequest>> {
    let now = SystemClock.now();
    Ok(store
        .app_requests_of(&user.id, now)
        .await?
        .into_iter()
        .filter(|r| r.status(now) == AppStatus::Pending)
        .collect())
}

fn lines(request: &AppRequest) -> Vec<String> {
    content_lines(&AppContent::of_request(request), &EN_APP)
}

pub async fn pending(storage: &StorageArgs, args: PendingArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    let user = user(store.as_ref(), &args.nnin).await?;
    let requests = pending_of(store.as_ref(), &user).await?;
    if args.json {
        let list: Vec<serde_json::Value> = requests
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "client_id": r.client_id,
                    "merchant": r.client_name,
                    "binding_message": r.binding_message,
                    "permission_id": r.permission_id,
                    "content": AppContent::of_request(r),
                    "lines": lines(r),
                    "created_at": r.created_at,
                    "expires_at": r.expires_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if requests.is_empty() {
        println!("No requests are pending.");
    }
    for r in &requests {
        println!(
            "{}  {}  '{}'  {}",
            r.id,
            r.client_name,
            r.binding_message,
            lines(r).join("; ")
        );
    }
    Ok(())
}

/// What looking for the request to answer found.
enum Found {
    Request(Box<AppRequest>),
    /// Not (yet) there: worth waiting for.
    NotYet(String),
    /// There, but it will never be answerable.
    Never(String),
}

async fn find(
    store: &dyn Store,
    user: &User,
    id: Option<&str>,
    nnin: &str,
) -> anyhow::Result<Found> {
    let Some(id) = id else {
        return Ok(match pending_of(store, user).await?.into_iter().next() {
            Some(r) => Found::Request(Box::new(r)),
            None => Found::NotYet(format!(
                "--nnin {nnin}: no request is pending in this user's app"
            )),
        });
    };
    // Another user's request is as unknown as one that does not exist.
    let Some(request) = store
        .app_request(id)
        .await?
        .filter(|r| r.user_id == user.id)
    else {
        return Ok(Found::NotYet(format!(
            "--id {id}: no such request in the app of --nnin {nnin}"
        )));
    };
    Ok(match request.status(SystemClock.now()) {
        AppStatus::Pending => Found::Request(Box::new(request)),
        status => Found::Never(format!(
            "--id {id}: the request is no longer pending ({})",
            status.as_str()
        )),
    })
}

pub async fn answer(
    storage: &StorageArgs,
    args: AnswerArgs,
    answer: AppAnswer,
) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    let user = user(store.as_ref(), &args.nnin).await?;
    let deadline = Instant::now() + Duration::from_secs(args.wait.unwrap_or(0));
    let request = loop {
        match find(store.as_ref(), &user, args.id.as_deref(), &args.nnin).await? {
            Found::Request(request) => break request,
            Found::Never(message) => bail!(message),
            Found::NotYet(message) if Instant::now() >= deadline => match args.wait {
                Some(seconds) => bail!("{message} (waited {seconds} s)"),
                None => bail!(message),
            },
            Found::NotYet(_) => tokio::time::sleep(POLL).await,
        }
    };
    if !store
        .answer_app_request(&request.id, &user.id, answer, SystemClock.now())
        .await?
    {
        bail!(
            "--id {}: the request was answered or expired meanwhile",
            request.id
        );
    }
    println!(
        "{} request {} from {} ('{}'): {}",
        match answer {
            AppAnswer::Approved => "Approved",
            AppAnswer::Denied => "Denied",
        },
        request.id,
        request.client_name,
        request.binding_message,
        lines(&request).join("; ")
    );
    Ok(())
}

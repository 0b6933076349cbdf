//! `bankid-oidc`: run the BankID OIDC test provider and manage its clients and test users.

mod admin;
mod app;
mod clients;
mod connections;
mod demo;
mod keys;
mod seed_file;
mod serve;
mod storage;
mod tls;
mod user_fields;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bankid-oidc",
    version,
    about = "A self-hostable BankID Norway OpenID Connect test provider"
)]
struct Cli {
    #[command(flatten)]
    storage: storage::StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the provider.
    Serve(serve::ServeArgs),
    /// Register and list clients (merchants).
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Add and list test users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Answer requests in a test user's emulated BankID app (test automation).
    App {
        #[command(subcommand)]
        command: app::AppCommand,
    },
    /// Run a demo merchant web app against the provider (every flow, on 127.0.0.1:8081).
    Demo(demo::DemoArgs),
    /// Bring the store's schema up to date and print its version (`serve` does it too, at
    /// start): for deployments that migrate before they roll out instances.
    Migrate,
    /// Rotate and list signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Publish a new key (of --set signing or grants) that signs after a lead time (or at once
    /// with --now).
    Rotate(keys::RotateArgs),
    /// List the keys of a set (--set signing or grants) with their state (next, active,
    /// retiring) and dates.
    List(keys::ListArgs),
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client.
    Add(clients::ClientAddArgs),
    /// Change a client's registration (only the options given change).
    Update(clients::ClientUpdateArgs),
    /// Remove a client and revoke every token it holds.
    Remove(clients::ClientRemoveArgs),
    /// List registered clients.
    List,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a test user.
    Add(admin::UserAddArgs),
    /// Change a test user: set or clear their app's scripted answer, or script how their next
    /// realm login ends.
    Update(admin::UserUpdateArgs),
    /// Remove a test user and revoke their tokens.
    Remove(admin::UserRemoveArgs),
    /// List test users with their national identity number, mobile, one-time code, password
    /// and lockout.
    List,
    /// End a test user's lockout (too many wrong one-time codes or passwords).
    Unlock(admin::UserUnlockArgs),
}

// glibc's malloc was an eighth of the server's instructions in a login (many small allocations
// made on one thread and freed on another); mimalloc serves those from per-thread pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `bankid-oidc users list | head -1`: the reader goes away before the list is written. Rust
/// ignores SIGPIPE, so the next write fails and `println!` panics with a message; a command
/// line tool should end quietly instead, as `ls` does. Only for the commands that print and end:
/// the servers (`serve`, `demo`) keep SIGPIPE ignored, so that a closed socket is an error
/// to handle, never a signal that ends the process. No crate sets a signal's disposition
/// without `unsafe`, hence libc.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called once at the start of main, before any thread exists; SIG_DFL for SIGPIPE
    // is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> std::process::ExitCode {
    let matches = Cli::command().get_matches();
    let data_dir_defaulted =
        matches.value_source("data_dir") == Some(clap::parser::ValueSource::DefaultValue);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if !matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        quiet_on_closed_pipe();
    }
    if let Err(e) = admin::refuse_new_default_store(&cli.storage, data_dir_defaulted, &cli.command)
    {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Command::Serve(serve::ServeArgs {
        worker_threads: Some(n),
        ..
    }) = &cli.command
    {
        builder.worker_threads(usize::from(*n));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let dir = &cli.storage;
        match cli.command {
            Command::Serve(args) => serve::run(dir, args).await,
            Command::Migrate => storage::migrate(dir).await,
            Command::Clients { command } => match command {
                ClientsCommand::Add(args) => clients::add(dir, args).await,
                ClientsCommand::Update(args) => clients::update(dir, args).await,
                ClientsCommand::Remove(args) => clients::remove(dir, args).await,
                ClientsCommand::List => clients::list(dir).await,
            },
            Command::Users { command } => match command {
                UsersCommand::Add(args) => admin::users_add(dir, args).await,
                UsersCommand::Update(args) => admin::users_update(dir, args).await,
                UsersCommand::Remove(args) => admin::users_remove(dir, args).await,
                UsersCommand::List => admin::users_list(dir).await,
                UsersCommand::Unlock(args) => admin::users_unlock(dir, args).await,
            },
            Command::App { command } => match command {
                app::AppCommand::Pending(args) => app::pending(dir, args).await,
                app::AppCommand::Approve(args) => {
                    app::answer(dir, args, bankid_oidc_server::store::AppAnswer::Approved).await
                }
                app::AppCommand::Deny(args) => {
                    app::answer(dir, args, bankid_oidc_server::store::AppAnswer::Denied).await
                }
            },
            Command::Demo(args) => demo::run(&dir.data_dir, args).await,
            Command::Keys { command } => match command {
                KeysCommand::Rotate(args) => keys::rotate(dir, args).await,
                KeysCommand::List(args) => keys::list(dir, args).await,
            },
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

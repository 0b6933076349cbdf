//! `bankid-oidc`: run the BankID OIDC test provider and manage its clients and test users.

mod admin;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "bankid-oidc",
    version,
    about = "A self-hostable BankID Norway OpenID Connect test provider"
)]
struct Cli {
    /// Where the embedded store (SQLite) and generated files live.
    #[arg(
        long,
        global = true,
        env = "BANKID_OIDC_DATA_DIR",
        default_value = "./data"
    )]
    data_dir: PathBuf,
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
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client.
    Add(admin::ClientAddArgs),
    /// List registered clients.
    List,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a test user.
    Add(admin::UserAddArgs),
    /// List test users with their national identity number, one-time code and password.
    List,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(&cli.data_dir, args).await,
            Command::Clients {
                command: ClientsCommand::Add(args),
            } => admin::clients_add(&cli.data_dir, args).await,
            Command::Clients {
                command: ClientsCommand::List,
            } => admin::clients_list(&cli.data_dir).await,
            Command::Users {
                command: UsersCommand::Add(args),
            } => admin::users_add(&cli.data_dir, args).await,
            Command::Users {
                command: UsersCommand::List,
            } => admin::users_list(&cli.data_dir).await,
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

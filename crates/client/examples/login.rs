//! Log in from the command line against a local provider.
//!
//! ```text
//! cargo run -p bankid-oidc -- serve        # the provider, in another terminal
//! cargo run -p bankid-oidc-client --example login -- \
//!     --client-id demo-merchant --client-secret '...'
//! ```
//!
//! The defaults match the provider's demo client (issuer on port 8080, redirect URI
//! `http://127.0.0.1:8081/callback`); for another client pass its registered `--redirect-uri`.
//!
//! Prints the authorization URL to open in a browser, waits for the callback on the redirect
//! URI's port, and prints the validated ID token claims (and userinfo). Every flag can also be
//! set through the environment variable named in `--help`.

use bankid_oidc_client::{CallbackParams, Client, ResponseMode};
use clap::Parser;
use std::error::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

#[derive(Parser, Debug)]
#[command(about = "Log in with BankID OIDC from the command line")]
struct Args {
    /// The issuer, exactly as its discovery document names it.
    #[arg(
        long,
        env = "BANKID_OIDC_ISSUER",
        default_value = "http://127.0.0.1:8080/auth/realms/current"
    )]
    issuer: String,
    #[arg(long, env = "BANKID_OIDC_CLIENT_ID")]
    client_id: String,
    #[arg(long, env = "BANKID_OIDC_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Must be registered for the client; its host and port are where this program listens. The
    /// default is the provider's demo client's.
    #[arg(
        long,
        env = "BANKID_OIDC_REDIRECT_URI",
        default_value = "http://127.0.0.1:8081/callback"
    )]
    redirect_uri: String,
    /// Space-separated scopes besides openid.
    #[arg(long, default_value = "profile")]
    scope: String,
    /// BID, BIM or BIS (a hint with an NNIN needs PAR under API version 4).
    #[arg(long)]
    login_hint: Option<String>,
    /// The lowest level of assurance accepted.
    #[arg(long, default_value_t = 3)]
    min_loa: u8,
    #[arg(long, default_value_t = 4)]
    api_version: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let redirect = Url::parse(&args.redirect_uri)?;
    let address = format!(
        "{}:{}",
        redirect.host_str().ok_or("redirect URI without host")?,
        redirect
            .port_or_known_default()
            .ok_or("redirect URI without port")?
    );
    // Listen before printing the URL, so that a fast login cannot arrive before we are ready.
    let listener = TcpListener::bind(&address).await?;

    let client = Client::builder(&args.issuer, &args.client_id)
        .client_secret(&args.client_secret)
        .redirect_uri(&args.redirect_uri)
        .min_loa(args.min_loa)
        .discover()
        .await?;
    let mut request = client
        .authorization_request()
        .await?
        .scopes(args.scope.split_whitespace())
        .api_version(args.api_version)
        .response_mode(ResponseMode::Query);
    if let Some(hint) = &args.login_hint {
        request = request.login_hint(hint);
    }
    let login = request.build()?;

    println!("Open this URL in a browser:\n\n{}\n", login.url);
    println!("Waiting for the callback on {address} ...");

    let query = loop {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; 16 * 1024];
        let n = socket.read(&mut buf).await?;
        let head = String::from_utf8_lossy(&buf[..n]);
        let target = head.split_whitespace().nth(1).unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != redirect.path() {
            socket
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await?;
            continue;
        }
        let body = "Login received; you can close this window and return to the terminal.";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await?;
        break query.to_owned();
    };

    let result = client
        .handle_callback(&login.pending, &CallbackParams::parse(&query))
        .await;
    let login = match result {
        Ok(login) => login,
        Err(e) => {
            eprintln!("Login failed: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "\nValidated ID token claims:\n{}",
        serde_json::to_string_pretty(&login.id_token.claims)?
    );
    match client
        .userinfo(&login.tokens.access_token, &login.id_token.claims.sub)
        .await
    {
        Ok(info) => println!("\nUserinfo:\n{}", serde_json::to_string_pretty(&info)?),
        Err(e) => println!("\nUserinfo not available: {e}"),
    }
    Ok(())
}

//! `clients` and `users`: registration against the same store the server reads, so changes are
//! seen by a running server on its next request.

use crate::storage::StorageArgs;
use crate::user_fields::{self, CheckedUser, UserFields};
use anyhow::bail;
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::clock::{Clock, SystemClock, utc_text};
use bankid_oidc_server::seed::new_user;
use bankid_oidc_server::store::{AppScript, AppScripted, LoginScript, User};
use clap::Args;

pub const DB_FILE: &str = "bankid-oidc.db";

/// A command other than `serve` and `demo`, run without `--data-dir` where the default data
/// directory has no store, would silently create a new, empty store there (typically: run from
/// another directory than the server's). It is refused, naming the directory and the flag.
pub(crate) fn refuse_new_default_store(
    storage: &StorageArgs,
    defaulted: bool,
    command: &crate::Command,
) -> anyhow::Result<()> {
    let data_dir = storage.data_dir.as_path();
    let creates_store = storage.database_url.is_none()
        && !matches!(
            command,
            crate::Command::Serve(_) | crate::Command::Demo(_) | crate::Command::Migrate
        );
    if defaulted && creates_store && !data_dir.join(DB_FILE).exists() {
        let shown = std::env::current_dir()
            .map(|d| d.join(data_dir))
            .unwrap_or_else(|_| data_dir.to_owned());
        bail!(
            "no store in {} (no {DB_FILE}): this command would create a new, empty one. \
             Give the data directory of your provider with --data-dir DIR (or \
             BANKID_OIDC_DATA_DIR), or start `bankid-oidc serve` here first",
            shown.display()
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct UserAddArgs {
    /// The national identity number (11 digits, valid mod-11 check digits). Default: a new
    /// synthetic one for --birthdate (day, month + 80, year, as BankID's test users have),
    /// printed.
    #[arg(long)]
    nnin: Option<String>,
    #[arg(long)]
    given_name: String,
    #[arg(long)]
    family_name: String,
    /// YYYY-MM-DD; must agree with the birth date in the NNIN.
    #[arg(long)]
    birthdate: String,
    #[arg(long)]
    email: Option<String>,
    /// A Norwegian mobile number (8 digits; +47 and spaces are dropped).
    #[arg(long)]
    phone: Option<String>,
    /// A postal address: "street, postal code locality", e.g. "Storgata 1, 0155 Oslo".
    #[arg(long)]
    address: Option<String>,
    /// The one-time code (default: otp).
    #[arg(long)]
    otp: Option<String>,
    /// The password (default: qwer1234).
    #[arg(long)]
    password: Option<String>,
    #[command(flatten)]
    app: AppScriptArgs,
}

/// A scripted answer of the user's emulated app: every request gets it, after the delay.
#[derive(Args)]
pub struct AppScriptArgs {
    /// The answer the user's app gives to every request, for tests that need each outcome
    /// deterministically: approve, deny, timeout (never answers), unreachable (the phone cannot
    /// be reached).
    #[arg(long, value_name = "ANSWER", value_parser = ["approve", "deny", "timeout", "unreachable"])]
    app_answer: Option<String>,
    /// Seconds the app takes to give its scripted answer (0 to 3600, default 0).
    #[arg(long, value_name = "SECONDS", requires = "app_answer", value_parser = clap::value_parser!(i64).range(0..=3600))]
    app_delay: Option<i64>,
}

fn describe_script(script: Option<AppScripted>) -> String {
    match script {
        Some(s) => format!("app answer '{}' after {} s", s.answer.as_str(), s.delay),
        None => "no scripted app answer".to_owned(),
    }
}

/// A new user from checked fields (a generated id and BankID PID).
pub fn checked_user(nnin: &Nnin, checked: &CheckedUser, now: i64) -> User {
    let mut user = new_user(
        nnin,
        &checked.given_name,
        &checked.family_name,
        &checked.birthdate,
        checked.email.clone(),
        checked.phone.clone(),
        checked.otp.clone(),
        checked.password.clone(),
        now,
    );
    user.address = checked.address.clone();
    user
}

/// A synthetic NNIN for a birth date, from a random individual number.
fn synthetic_nnin(y: i32, m: u32, d: u32) -> Nnin {
    let seed = u32::from_le_bytes(bankid_oidc_server::secret::random_bytes::<4>()) % 1000;
    Nnin::synthetic(y, m, d, seed)
}

pub async fn users_add(storage: &StorageArgs, args: UserAddArgs) -> anyhow::Result<()> {
    let checked = user_fields::check(UserFields {
        nnin: args.nnin,
        given_name: args.given_name,
        family_name: args.family_name,
        birthdate: args.birthdate,
        email: args.email,
        phone: args.phone,
        address: args.address,
        otp: args.otp,
        password: args.password,
        app_answer: args.app.app_answer,
        app_delay: args.app.app_delay,
    })?;
    let (y, m, d) = checked.born;
    let generated = checked.nnin.is_none();
    let nnin = checked
        .nnin
        .clone()
        .unwrap_or_else(|| synthetic_nnin(y, m, d));
    let store = storage.open_store().await?;
    let mut user = checked_user(&nnin, &checked, SystemClock.now());
    // A generated number may be taken: another individual number then (1000 per birth date).
    let mut tries = 0;
    while !store.add_user(&user).await? {
        tries += 1;
        if !generated || tries >= 50 {
            bail!(
                "--nnin {}: a user with this national identity number already exists",
                user.nnin
            );
        }
        user.nnin = synthetic_nnin(y, m, d).to_string();
    }
    let script = checked.script;
    if script.is_some() {
        store.set_app_script(&user.id, script).await?;
    }
    if generated {
        println!(
            "Generated NNIN {} (synthetic, for {})",
            user.nnin, user.birthdate
        );
    }
    println!(
        "Added {} {} (NNIN {}, BankID PID {}), one-time code '{}', password '{}'{}",
        user.given_name,
        user.family_name,
        user.nnin,
        user.pid,
        user.otp,
        user.password,
        script
            .map(|s| format!(", {}", describe_script(Some(s))))
            .unwrap_or_default()
    );
    Ok(())
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["app_answer", "next_login"])))]
pub struct UserUpdateArgs {
    /// The user's national identity number.
    #[arg(long)]
    nnin: String,
    /// The answer the user's app gives to every request (approve, deny, timeout, unreachable),
    /// or none: the user answers on the app's page or with `bankid-oidc app`.
    #[arg(long, value_name = "ANSWER", value_parser = ["approve", "deny", "timeout", "unreachable", "none"])]
    app_answer: Option<String>,
    /// Seconds the app takes to give its scripted answer (0 to 3600, default 0).
    #[arg(long, value_name = "SECONDS", requires = "app_answer", value_parser = clap::value_parser!(i64).range(0..=3600))]
    app_delay: Option<i64>,
    /// How the user's next realm login (BankID, BankID on mobile) ends once they are
    /// identified: the error the client gets at its redirect_uri, once (access_denied,
    /// login_required, server_error, temporarily_unavailable), or none to clear it.
    #[arg(long, value_name = "OUTCOME", value_parser = next_login_values())]
    next_login: Option<String>,
}

fn next_login_values() -> Vec<&'static str> {
    let mut values: Vec<&'static str> = LoginScript::ALL.map(LoginScript::as_str).to_vec();
    values.push("none");
    values
}

fn describe_next_login(script: Option<LoginScript>) -> String {
    match script {
        Some(s) => format!("next login ends with '{}'", s.as_str()),
        None => "no scripted next login".to_owned(),
    }
}

pub async fn users_update(storage: &StorageArgs, args: UserUpdateArgs) -> anyhow::Result<()> {
    let app_script = match args.app_answer.as_deref().map(|a| (a, AppScript::parse(a))) {
        Some((_, Some(answer))) => Some(Some(AppScripted {
            answer,
            delay: args.app_delay.unwrap_or(0),
        })),
        Some(_) if args.app_delay.is_some() => {
            bail!("--app-delay: only with a scripted answer, not with --app-answer none")
        }
        Some(_) => Some(None),
        None => None,
    };
    let login_script = args.next_login.as_deref().map(LoginScript::parse);
    let store = storage.open_store().await?;
    let Some(user) = store.user_by_nnin(args.nnin.trim()).await? else {
        bail!("--nnin {}: no such user", args.nnin);
    };
    let mut done = Vec::new();
    if let Some(script) = app_script {
        if !store.set_app_script(&user.id, script).await? {
            bail!("--nnin {}: no such user", args.nnin);
        }
        done.push(describe_script(script));
    }
    if let Some(script) = login_script {
        if !store.set_login_script(&user.id, script).await? {
            bail!("--nnin {}: no such user", args.nnin);
        }
        done.push(describe_next_login(script));
    }
    println!(
        "{} {}: {}",
        user.given_name,
        user.family_name,
        done.join("; ")
    );
    Ok(())
}

pub async fn users_list(storage: &StorageArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    let users = store.users().await?;
    let now = SystemClock.now();
    if users.is_empty() {
        println!("No test users.");
    }
    for u in users {
        let mut script = store
            .app_script(&u.id)
            .await?
            .map(|s| format!("  {}", describe_script(Some(s))))
            .unwrap_or_default();
        if let Some(next) = store.login_script(&u.id).await? {
            script.push_str(&format!("  {}", describe_next_login(Some(next))));
        }
        let lock = match u.locked_until {
            Some(until) if u.is_locked(now) => format!(
                "  LOCKED until {} (`bankid-oidc users unlock --nnin {}`)",
                utc_text(until),
                u.nnin
            ),
            _ if u.failed_attempts > 0 => format!("  {} wrong attempt(s)", u.failed_attempts),
            _ => String::new(),
        };
        println!(
            "{}  {} {}  born {}  mobile {}  PID {}  one-time code '{}'  password '{}'{lock}{script}",
            u.nnin,
            u.given_name,
            u.family_name,
            u.birthdate,
            u.phone.as_deref().unwrap_or("-"),
            u.pid,
            u.otp,
            u.password,
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct UserRemoveArgs {
    /// The user's national identity number.
    #[arg(long)]
    nnin: String,
}

pub async fn users_remove(storage: &StorageArgs, args: UserRemoveArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    let Some(user) = store.user_by_nnin(args.nnin.trim()).await? else {
        bail!("--nnin {}: no such user", args.nnin);
    };
    store.remove_user(&user.id, SystemClock.now()).await?;
    println!(
        "Removed {} {} and revoked their tokens",
        user.given_name, user.family_name
    );
    Ok(())
}

#[derive(Args)]
pub struct UserUnlockArgs {
    /// The user's national identity number.
    #[arg(long)]
    nnin: String,
}

/// Ends a lockout (too many wrong one-time codes or passwords) at once; a running server sees it
/// within a second.
pub async fn users_unlock(storage: &StorageArgs, args: UserUnlockArgs) -> anyhow::Result<()> {
    let store = storage.open_store().await?;
    let Some(user) = store.user_by_nnin(args.nnin.trim()).await? else {
        bail!("--nnin {}: no such user", args.nnin);
    };
    let was_locked = user.is_locked(SystemClock.now());
    if !store.unlock_user(&user.id).await? {
        bail!("--nnin {}: no such user", args.nnin);
    }
    println!(
        "{} {}: {}",
        user.given_name,
        user.family_name,
        if was_locked {
            "unlocked, wrong attempts cleared"
        } else {
            "was not locked; wrong attempts cleared"
        }
    );
    Ok(())
}

//! `clients` and `users`: registration against the same store the server reads, so changes are
//! seen by a running server on its next request.

use anyhow::{Context, bail};
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::clock::{Clock, SystemClock, utc_text};
use bankid_oidc_server::seed::new_user;
use bankid_oidc_server::store::{AppRequestStore, AppScript, AppScripted, SqliteStore};
use clap::Args;
use std::path::Path;

pub const DB_FILE: &str = "bankid-oidc.db";

/// Opens the store in `data_dir`, creating the directory (owner-only) if needed.
pub async fn open_store(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    if !data_dir.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let path = data_dir.join(DB_FILE);
    SqliteStore::open(&path)
        .await
        .with_context(|| format!("opening the store {}", path.display()))
}

/// A command other than `serve` and `demo`, run without `--data-dir` where the default data
/// directory has no store, would silently create a new, empty store there (typically: run from
/// another directory than the server's). It is refused, naming the directory and the flag.
pub(crate) fn refuse_new_default_store(
    data_dir: &Path,
    defaulted: bool,
    command: &crate::Command,
) -> anyhow::Result<()> {
    let creates_store = !matches!(command, crate::Command::Serve(_) | crate::Command::Demo(_));
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

impl AppScriptArgs {
    fn script(&self) -> Option<AppScripted> {
        let answer = AppScript::parse(self.app_answer.as_deref()?)?;
        Some(AppScripted {
            answer,
            delay: self.app_delay.unwrap_or(0),
        })
    }
}

fn describe_script(script: Option<AppScripted>) -> String {
    match script {
        Some(s) => format!("app answer '{}' after {} s", s.answer.as_str(), s.delay),
        None => "no scripted app answer".to_owned(),
    }
}

fn parse_birthdate(text: &str) -> anyhow::Result<(i32, u32, u32)> {
    let bad = || anyhow::anyhow!("--birthdate '{text}': use YYYY-MM-DD, e.g. 1985-03-15");
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i32, u32, u32) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1854..=2100).contains(&y) || d == 0 || d > days_in_month {
        return Err(bad());
    }
    Ok((y, m, d))
}

/// A synthetic NNIN for a birth date, from a random individual number.
fn synthetic_nnin(y: i32, m: u32, d: u32) -> Nnin {
    let seed = u32::from_le_bytes(bankid_oidc_server::secret::random_bytes::<4>()) % 1000;
    Nnin::synthetic(y, m, d, seed)
}

fn normalize_phone(text: &str) -> anyhow::Result<String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = digits.strip_prefix("+47").unwrap_or(&digits);
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--phone '{text}': use a Norwegian mobile number of 8 digits");
    }
    Ok(digits.to_owned())
}

pub async fn users_add(data_dir: &Path, args: UserAddArgs) -> anyhow::Result<()> {
    use bankid_oidc_server::store::UserStore;
    let (y, m, d) = parse_birthdate(&args.birthdate)?;
    let given = args
        .nnin
        .as_deref()
        .map(|text| Nnin::parse(text.trim()).map_err(|e| anyhow::anyhow!("--nnin '{text}': {e}")))
        .transpose()?;
    let generated = given.is_none();
    let nnin = given.unwrap_or_else(|| synthetic_nnin(y, m, d));
    let expected = format!("{d:02}{m:02}{:02}", y % 100);
    if nnin.birth_ddmmyy() != expected {
        bail!(
            "--nnin {nnin} is for a person born {} (DDMMYY), but --birthdate says {}",
            nnin.birth_ddmmyy(),
            args.birthdate
        );
    }
    for (flag, value) in [
        ("--given-name", &args.given_name),
        ("--family-name", &args.family_name),
    ] {
        if value.trim().is_empty() || value.len() > 100 {
            bail!("{flag}: must be 1 to 100 characters");
        }
    }
    if let Some(email) = &args.email
        && (!email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace))
    {
        bail!("--email '{email}': not an email address");
    }
    let phone = args.phone.as_deref().map(normalize_phone).transpose()?;
    let address = args
        .address
        .as_deref()
        .map(bankid_oidc_server::seed::address_claim)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--{e}"))?;
    for (flag, value) in [("--otp", &args.otp), ("--password", &args.password)] {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > 128)
        {
            bail!("{flag}: must be 1 to 128 characters");
        }
    }
    let store = open_store(data_dir).await?;
    let mut user = new_user(
        &nnin,
        args.given_name.trim(),
        args.family_name.trim(),
        &args.birthdate,
        args.email,
        phone,
        args.otp,
        args.password,
        SystemClock.now(),
    );
    user.address = address;
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
    let script = args.app.script();
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
pub struct UserUpdateArgs {
    /// The user's national identity number.
    #[arg(long)]
    nnin: String,
    /// The answer the user's app gives to every request (approve, deny, timeout, unreachable),
    /// or none: the user answers on the app's page or with `bankid-oidc app`.
    #[arg(long, value_name = "ANSWER", value_parser = ["approve", "deny", "timeout", "unreachable", "none"])]
    app_answer: String,
    /// Seconds the app takes to give its scripted answer (0 to 3600, default 0).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i64).range(0..=3600))]
    app_delay: Option<i64>,
}

pub async fn users_update(data_dir: &Path, args: UserUpdateArgs) -> anyhow::Result<()> {
    use bankid_oidc_server::store::UserStore;
    let script = match AppScript::parse(&args.app_answer) {
        Some(answer) => Some(AppScripted {
            answer,
            delay: args.app_delay.unwrap_or(0),
        }),
        None if args.app_delay.is_some() => {
            bail!("--app-delay: only with a scripted answer, not with --app-answer none")
        }
        None => None,
    };
    let store = open_store(data_dir).await?;
    let Some(user) = store.user_by_nnin(args.nnin.trim()).await? else {
        bail!("--nnin {}: no such user", args.nnin);
    };
    if !store.set_app_script(&user.id, script).await? {
        bail!("--nnin {}: no such user", args.nnin);
    }
    println!(
        "{} {}: {}",
        user.given_name,
        user.family_name,
        describe_script(script)
    );
    Ok(())
}

pub async fn users_list(data_dir: &Path) -> anyhow::Result<()> {
    use bankid_oidc_server::store::UserStore;
    let store = open_store(data_dir).await?;
    let users = store.users().await?;
    let now = SystemClock.now();
    if users.is_empty() {
        println!("No test users.");
    }
    for u in users {
        let script = store
            .app_script(&u.id)
            .await?
            .map(|s| format!("  {}", describe_script(Some(s))))
            .unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdates_must_be_real_dates() {
        assert_eq!(parse_birthdate("1985-03-15").unwrap(), (1985, 3, 15));
        assert!(parse_birthdate("2000-02-29").is_ok());
        for bad in [
            "1985-02-29",
            "1985-13-01",
            "1985-3-15",
            "15.03.1985",
            "1985-04-31",
        ] {
            assert!(parse_birthdate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_are_norwegian_mobile_numbers() {
        assert_eq!(normalize_phone("+47 480 00 001").unwrap(), "48000001");
        assert!(normalize_phone("4800000").is_err());
        assert!(normalize_phone("+46 48000001x").is_err());
    }
}

#[derive(Args)]
pub struct UserRemoveArgs {
    /// The user's national identity number.
    #[arg(long)]
    nnin: String,
}

pub async fn users_remove(data_dir: &Path, args: UserRemoveArgs) -> anyhow::Result<()> {
    use bankid_oidc_server::store::UserStore;
    let store = open_store(data_dir).await?;
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
pub async fn users_unlock(data_dir: &Path, args: UserUnlockArgs) -> anyhow::Result<()> {
    use bankid_oidc_server::store::UserStore;
    let store = open_store(data_dir).await?;
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

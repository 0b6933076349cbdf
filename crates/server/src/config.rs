//! Provider configuration, validated at start-up with messages a person can act on.

use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    /// The public base URL; issuers live below it.
    pub public_url: Url,
    /// The realm name: the realm issuer is `{public_url}/auth/realms/{realm}`.
    pub realm: String,
    /// Seconds an authorization code lives (BankID: at most 60).
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    /// Seconds a browser session (SSO) lasts after login.
    pub session_ttl: i64,
    /// Seconds a user has to finish the login pages.
    pub flow_ttl: i64,
    /// Wrong one-time codes or passwords before a user is locked out.
    pub max_login_failures: i64,
    pub lockout_seconds: i64,
}

impl Config {
    pub fn new(public_url: &str) -> Result<Config, String> {
        let config = Config {
            public_url: parse_public_url(public_url)?,
            realm: "current".into(),
            code_ttl: 60,
            access_token_ttl: 300,
            id_token_ttl: 300,
            session_ttl: 8 * 3600,
            flow_ttl: 600,
            max_login_failures: 5,
            lockout_seconds: 15 * 60,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.realm.is_empty()
            || !self
                .realm
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "realm '{}': use letters, digits, '-' and '_' only",
                self.realm
            ));
        }
        if !(1..=600).contains(&self.code_ttl) {
            return Err("code lifetime: between 1 and 600 seconds (BankID uses 60)".into());
        }
        for (name, value) in [
            ("access token lifetime", self.access_token_ttl),
            ("ID token lifetime", self.id_token_ttl),
            ("session lifetime", self.session_ttl),
            ("login flow lifetime", self.flow_ttl),
            ("lockout", self.lockout_seconds),
            ("login failures before lockout", self.max_login_failures),
        ] {
            if value <= 0 {
                return Err(format!("{name}: must be positive, got {value}"));
            }
        }
        Ok(())
    }

    /// The realm issuer identifier, e.g. `http://127.0.0.1:8080/auth/realms/current`.
    pub fn realm_issuer(&self) -> String {
        format!(
            "{}/auth/realms/{}",
            self.public_url.as_str().trim_end_matches('/'),
            self.realm
        )
    }

    /// Whether cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("public URL '{text}': {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "public URL '{text}': must start with http:// or https://"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "public URL '{text}': must not have a query or fragment (it is an issuer base)"
        ));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(format!("public URL '{text}': needs a host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_is_below_the_public_url() {
        let c = Config::new("https://idp.example/base/").unwrap();
        assert_eq!(
            c.realm_issuer(),
            "https://idp.example/base/auth/realms/current"
        );
        assert!(c.is_https());
    }

    #[test]
    fn refuses_public_urls_that_cannot_be_issuers() {
        for bad in [
            "ftp://x",
            "http://x/?a=b",
            "http://x/#f",
            "not a url",
            "mailto:a@b",
        ] {
            assert!(Config::new(bad).is_err(), "{bad}");
        }
    }
}

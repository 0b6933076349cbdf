//! Provider configuration, validated at start-up with messages a person can act on.

use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    /// The public base URL; issuers live below it.
    pub public_url: Url,
    /// The realm names: each realm issuer is `{public_url}/auth/realms/{realm}`; the first is
    /// the primary one (see `issuer::Issuers`).
    pub realms: Vec<String>,
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
    /// Refresh tokens of a login live as long as a browser session; with `offline_access`, this.
    pub offline_refresh_ttl: i64,
    /// Seconds after its first use in which a refresh token may be presented again and receive
    /// the same successor (a client's concurrent double submit); see `grants::refresh_token`.
    pub refresh_grace: i64,
    /// Longest lifetime (exp - now) of a `private_key_jwt` client assertion.
    pub client_assertion_max_lifetime: i64,
    /// Automatic key rotation every this many seconds (none: only `keys rotate`).
    pub key_rotation_interval: Option<i64>,
    /// Seconds a new key is published before it signs.
    pub key_lead_time: i64,
    /// Enables the test-control endpoints (rotate keys now, move the clock).
    pub test_controls: bool,
    /// Seconds a request to the emulated BankID app waits for its user's answer.
    pub app_timeout: i64,
    /// Longest `exp - iat` of a registered permission (BankID: "a few minutes").
    pub permission_max_lifetime: i64,
    /// Seconds a payment permission's nonce is remembered per client (never accepted twice
    /// meanwhile).
    pub permission_nonce_keep: i64,
    /// `/metrics` is served with the endpoints (`http::router`, at the root and below the
    /// public URL's path); off when it has a listener of its own (`serve --metrics-listen`,
    /// `http::metrics_router`).
    pub metrics_in_router: bool,
}

impl Config {
    pub fn new(public_url: &str) -> Result<Config, String> {
        let config = Config {
            public_url: parse_public_url(public_url)?,
            realms: vec!["current".into()],
            code_ttl: 60,
            access_token_ttl: 300,
            id_token_ttl: 300,
            session_ttl: 8 * 3600,
            flow_ttl: 600,
            max_login_failures: 5,
            lockout_seconds: 15 * 60,
            offline_refresh_ttl: 30 * 24 * 3600,
            refresh_grace: 10,
            client_assertion_max_lifetime: 300,
            key_rotation_interval: None,
            key_lead_time: 3600,
            test_controls: false,
            app_timeout: 120,
            permission_max_lifetime: 600,
            permission_nonce_keep: 30 * 24 * 3600,
            metrics_in_router: true,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.realms.is_empty() {
            return Err("realm: at least one is needed".into());
        }
        for (i, realm) in self.realms.iter().enumerate() {
            if realm.is_empty()
                || realm.len() > 64
                || !realm
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "realm '{realm}': use 1 to 64 letters, digits, '-' and '_' only"
                ));
            }
            if self.realms[..i].contains(realm) {
                return Err(format!("realm '{realm}': given twice"));
            }
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
            ("offline refresh token lifetime", self.offline_refresh_ttl),
            ("app timeout", self.app_timeout),
            ("permission lifetime", self.permission_max_lifetime),
            ("permission nonce memory", self.permission_nonce_keep),
            (
                "client assertion lifetime",
                self.client_assertion_max_lifetime,
            ),
        ] {
            if value <= 0 {
                return Err(format!("{name}: must be positive, got {value}"));
            }
        }
        if self.refresh_grace < 0 || self.key_lead_time < 0 {
            return Err("refresh grace and key lead time: must not be negative".into());
        }
        if let Some(interval) = self.key_rotation_interval
            && interval <= self.key_lead_time
        {
            return Err(format!(
                "key rotation interval ({interval} s) must be longer than the key lead time ({} s)",
                self.key_lead_time
            ));
        }
        Ok(())
    }

    /// The BankID with biometrics issuer: `{public_url}/bis` (ours; BankID's is another host).
    pub fn bis_issuer(&self) -> String {
        format!("{}/bis", self.public_url.as_str().trim_end_matches('/'))
    }

    /// The key rotation policy: old keys stay published for the longest token lifetime plus a
    /// minute of clock skew.
    pub fn rotation_policy(&self) -> crate::keys::RotationPolicy {
        crate::keys::RotationPolicy {
            interval: self.key_rotation_interval,
            lead_time: self.key_lead_time,
            retire_after: self.access_token_ttl.max(self.id_token_ttl) + 60,
        }
    }

    /// A realm's issuer identifier, e.g. `http://127.0.0.1:8080/auth/realms/current`.
    pub fn realm_issuer(&self, realm: &str) -> String {
        format!(
            "{}/auth/realms/{realm}",
            self.public_url.as_str().trim_end_matches('/'),
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
    // An issuer given as the public URL would put the issuers at `.../auth/realms/x/auth/...`.
    let path = url.path().trim_end_matches('/');
    let issuer_part = path
        .find("/auth/realms/")
        .or_else(|| {
            path.ends_with("/auth/realms")
                .then(|| path.len() - "/auth/realms".len())
        })
        .or_else(|| path.ends_with("/bis").then(|| path.len() - "/bis".len()));
    if let Some(at) = issuer_part {
        let mut base = url.clone();
        base.set_path(&path[..at]);
        let base = base.as_str().trim_end_matches('/').to_owned();
        return Err(format!(
            "public URL '{text}': give the base below which the issuers live, not an issuer: \
             use '{base}' (the realm issuer is then {base}/auth/realms/current)"
        ));
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
            c.realm_issuer(&c.realms[0]),
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

    #[test]
    fn refuses_an_issuer_as_public_url_and_names_the_base() {
        for (given, base) in [
            (
                "http://127.0.0.1:8080/auth/realms/current",
                "http://127.0.0.1:8080",
            ),
            (
                "https://idp.example/base/auth/realms/x/",
                "https://idp.example/base",
            ),
            ("https://idp.example/bis", "https://idp.example"),
        ] {
            let e = Config::new(given).unwrap_err();
            assert!(e.contains(&format!("use '{base}'")), "{given}: {e}");
        }
    }

    #[test]
    fn refuses_realm_names_that_are_not_path_segments_or_repeat() {
        let mut c = Config::new("http://x").unwrap();
        for bad in [
            vec![],
            vec!["a/b".to_owned()],
            vec!["".into()],
            vec!["a".into(), "a".into()],
        ] {
            c.realms = bad.clone();
            assert!(c.validate().is_err(), "{bad:?}");
        }
        c.realms = vec!["current".into(), "preprod".into()];
        c.validate().unwrap();
    }
}

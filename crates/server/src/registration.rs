//! The rules a client registration meets, wherever it is made: `bankid-oidc clients add|update`,
//! the first-start seed, and the tests' clients. An error names the option (as the CLI spells
//! it) and the rule, so that a person can act on it.
//!
//! Redirect URIs follow OAuth 2.0 Security BCP (RFC 9700) section 4.1 and native apps (RFC 8252):
//! `https`; `http` only to a loopback host, where nothing else on the network can listen; and a
//! native app's private-use scheme in reverse-domain form. A scheme a browser runs or reads
//! locally (`javascript:`, `data:`, `file:`) would turn a redirect with a code into script or a
//! local read, and a wildcard or fragment makes the exact match meaningless.

use crate::secret::hash_secret;
use crate::store::Client;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::jwk::Jwks;
use bankid_oidc_core::permission::{ACCOUNT_V1, CARD_V1};
use bankid_oidc_core::scope::{self, ScopeSet};
use std::fmt;
use std::net::IpAddr;
use url::{Host, Url};

/// The permission types a client is registered for upfront (BankID's card and account
/// approvals); `authentication.v1`, `text.v1` and `payment.v1` need no registration.
pub const REGISTERED_PERMISSION_TYPES: [&str; 2] = [CARD_V1, ACCOUNT_V1];

/// Schemes that are never a place to send a browser with a code or a logout.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "vbscript",
    "data",
    "file",
    "blob",
    "about",
    "filesystem",
];

/// A field of a registration, named as the `clients` command's option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ClientId,
    ClientSecret,
    RedirectUri,
    PostLogoutRedirectUri,
    Scope,
    GrantType,
    TokenEndpointAuthMethod,
    Jwks,
    JwksUri,
    PermissionType,
}

impl Field {
    pub fn option(self) -> &'static str {
        match self {
            Field::ClientId => "--client-id",
            Field::ClientSecret => "--client-secret",
            Field::RedirectUri => "--redirect-uri",
            Field::PostLogoutRedirectUri => "--post-logout-redirect-uri",
            Field::Scope => "--scope",
            Field::GrantType => "--grant-type",
            Field::TokenEndpointAuthMethod => "--token-endpoint-auth-method",
            Field::Jwks => "--jwks",
            Field::JwksUri => "--jwks-uri",
            Field::PermissionType => "--permission-type",
        }
    }

    /// The field as a seed file names it (`bankid-oidc serve --seed`).
    pub fn key(self) -> &'static str {
        match self {
            Field::ClientId => "client_id",
            Field::ClientSecret => "client_secret",
            Field::RedirectUri => "redirect_uris",
            Field::PostLogoutRedirectUri => "post_logout_redirect_uris",
            Field::Scope => "scope",
            Field::GrantType => "grant_types",
            Field::TokenEndpointAuthMethod => "token_endpoint_auth_method",
            Field::Jwks => "jwks",
            Field::JwksUri => "jwks_uri",
            Field::PermissionType => "permission_types",
        }
    }
}

/// The rule a value breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    ClientIdCharacters,
    NotAbsolute(String),
    Fragment,
    Wildcard,
    ForbiddenScheme(String),
    PlainHttpOffLoopback,
    NotReverseDomainScheme(String),
    NoHost,
    FetchedOverHttpsOnly,
    UnknownScope(String),
    UnknownGrantType,
    UnknownAuthMethod,
    NotJwks(String),
    PrivateKey,
    NoKeys,
    UnsupportedKeyType(String),
    KeysRequired,
    SecretRequired(String),
    RedirectUriRequired,
    UnknownPermissionType,
    CibaScopes,
    EmptySecret,
    BadScopes(String),
    SecretWithKeys,
    Unreadable(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SCHEMES: &str = "use https, http only on a loopback host (127.0.0.1, [::1], \
             localhost), or a native app's private-use scheme in reverse-domain form \
             (com.example.app:/callback)";
        match self {
            Rule::ClientIdCharacters => write!(
                f,
                "use 1 to 255 visible ASCII characters without ':' (it travels in Basic authentication)"
            ),
            Rule::NotAbsolute(e) => write!(f, "not an absolute URI ({e})"),
            Rule::Fragment => write!(f, "must not contain a fragment (RFC 6749 section 3.1.2)"),
            Rule::Wildcard => write!(
                f,
                "must not contain a wildcard '*': redirect URIs are matched exactly"
            ),
            Rule::ForbiddenScheme(s) => write!(f, "the scheme '{s}' is not allowed: {SCHEMES}"),
            Rule::PlainHttpOffLoopback => write!(
                f,
                "plain http is allowed only on a loopback host: {SCHEMES}"
            ),
            Rule::NotReverseDomainScheme(s) => write!(
                f,
                "the scheme '{s}' is not a private-use scheme in reverse-domain form (RFC 8252 section 7.1): {SCHEMES}"
            ),
            Rule::NoHost => write!(f, "has no host"),
            Rule::FetchedOverHttpsOnly => write!(
                f,
                "the provider fetches it: use https, or http only on a loopback host"
            ),
            Rule::UnknownScope(s) => {
                write!(f, "'{s}' is not a BankID scope this provider knows")
            }
            Rule::UnknownGrantType => write!(f, "use one of {}", names(&GrantType::ALL)),
            Rule::UnknownAuthMethod => {
                write!(f, "use one of {}", names(&ClientAuthMethod::ALL))
            }
            Rule::NotJwks(e) => write!(f, "not a JWKS document ({e})"),
            Rule::PrivateKey => write!(
                f,
                "contains a private key ('d'); register only the public keys"
            ),
            Rule::NoKeys => write!(f, "has no keys"),
            Rule::UnsupportedKeyType(kty) => {
                write!(f, "key type '{kty}' is not supported (EC P-256 or RSA)")
            }
            Rule::KeysRequired => write!(f, "private_key_jwt needs --jwks FILE or --jwks-uri URL"),
            Rule::SecretRequired(method) => write!(f, "required for {method}"),
            Rule::RedirectUriRequired => write!(f, "required for the authorization_code grant"),
            Rule::CibaScopes => write!(
                f,
                "the grant type {} needs the scopes openid and {} (a CIBA client needs no \
                 redirect URI)",
                GrantType::Ciba,
                bankid_oidc_core::ciba::CIBA_SCOPE
            ),
            Rule::EmptySecret => write!(f, "must not be empty"),
            Rule::BadScopes(e) => write!(f, "{e}"),
            Rule::SecretWithKeys => write!(
                f,
                "a private_key_jwt client authenticates with its keys, not a secret"
            ),
            Rule::Unreadable(e) => write!(f, "cannot read it ({e})"),
            Rule::UnknownPermissionType => write!(
                f,
                "use {}; the other permission types need no registration",
                REGISTERED_PERMISSION_TYPES.join(" or ")
            ),
        }
    }
}

/// A registration refused: the option, the value given (if one), and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationError {
    pub field: Field,
    pub value: Option<String>,
    pub rule: Rule,
}

impl RegistrationError {
    pub fn new(field: Field, value: &str, rule: Rule) -> RegistrationError {
        RegistrationError {
            field,
            value: Some(value.to_owned()),
            rule,
        }
    }

    /// A rule about the field as a whole, not one value of it.
    pub fn of_field(field: Field, rule: Rule) -> RegistrationError {
        RegistrationError {
            field,
            value: None,
            rule,
        }
    }

    /// The error with the field named by `name`: [`Field::option`] on the command line,
    /// [`Field::key`] in a seed file.
    pub fn naming(&self, name: fn(Field) -> &'static str) -> String {
        match &self.value {
            Some(value) => format!("{} '{value}': {}", name(self.field), self.rule),
            None => format!("{}: {}", name(self.field), self.rule),
        }
    }
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.naming(Field::option))
    }
}

impl std::error::Error for RegistrationError {}

pub type Checked = Result<(), RegistrationError>;

/// A registration with the defaults: a secret (stored hashed), the authorization code grant,
/// `client_secret_basic`.
pub fn new_client(
    client_id: &str,
    secret: &str,
    redirect_uris: Vec<String>,
    scopes: ScopeSet,
    now: i64,
) -> Client {
    Client {
        client_id: client_id.to_owned(),
        name: client_id.to_owned(),
        secret_hash: hash_secret(secret),
        redirect_uris,
        scopes,
        created_at: now,
        grant_types: vec![GrantType::AuthorizationCode],
        token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
        post_logout_redirect_uris: Vec::new(),
        jwks: None,
        jwks_uri: None,
        resource_server: false,
        require_pushed_authorization_requests: false,
        permission_types: Vec::new(),
    }
}

pub fn check_client_id(id: &str) -> Checked {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(RegistrationError::new(
            Field::ClientId,
            id,
            Rule::ClientIdCharacters,
        ));
    }
    Ok(())
}

/// A redirect URI or post-logout redirect URI (`field` says which).
pub fn check_redirect_uri(field: Field, uri: &str) -> Checked {
    let refuse = |rule| Err(RegistrationError::new(field, uri, rule));
    // Before parsing: '*' is a valid path character, but here it can only be meant as a pattern.
    if uri.contains('*') {
        return refuse(Rule::Wildcard);
    }
    let parsed = match Url::parse(uri) {
        Ok(u) => u,
        Err(e) => return refuse(Rule::NotAbsolute(e.to_string())),
    };
    if uri.contains('#') {
        return refuse(Rule::Fragment);
    }
    match parsed.scheme() {
        "https" => match parsed.host() {
            Some(Host::Domain("")) | None => refuse(Rule::NoHost),
            Some(_) => Ok(()),
        },
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => refuse(Rule::PlainHttpOffLoopback),
        s if FORBIDDEN_SCHEMES.contains(&s) => refuse(Rule::ForbiddenScheme(s.to_owned())),
        s if is_reverse_domain(s) => Ok(()),
        s => refuse(Rule::NotReverseDomainScheme(s.to_owned())),
    }
}

/// A URI the provider fetches (the client's JWKS).
pub fn check_jwks_uri(uri: &str) -> Checked {
    let refuse = |rule| Err(RegistrationError::new(Field::JwksUri, uri, rule));
    let parsed = match Url::parse(uri) {
        Ok(u) => u,
        Err(e) => return refuse(Rule::NotAbsolute(e.to_string())),
    };
    if uri.contains('#') {
        return refuse(Rule::Fragment);
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        _ => refuse(Rule::FetchedOverHttpsOnly),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `com.example.app`: at least two non-empty labels of letters, digits and '-' (the URL parser
/// has already lowered the scheme and checked its characters).
fn is_reverse_domain(scheme: &str) -> bool {
    let labels: Vec<&str> = scheme.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// A JWKS document's text, checked: public EC or RSA keys only. Returns it re-serialized.
pub fn check_jwks(text: &str) -> Result<String, Rule> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Rule::NotJwks(format!("not JSON: {e}")))?;
    if value["keys"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|k| k.get("d").is_some()))
    {
        return Err(Rule::PrivateKey);
    }
    let jwks: Jwks = serde_json::from_value(value).map_err(|e| Rule::NotJwks(e.to_string()))?;
    if jwks.keys.is_empty() {
        return Err(Rule::NoKeys);
    }
    if let Some(k) = jwks
        .keys
        .iter()
        .find(|k| !matches!(k.kty.as_str(), "EC" | "RSA"))
    {
        return Err(Rule::UnsupportedKeyType(k.kty.clone()));
    }
    serde_json::to_string(&jwks).map_err(|e| Rule::NotJwks(e.to_string()))
}

fn names<T: fmt::Display>(all: &[T]) -> String {
    all.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

/// A `--grant-type` value.
pub fn parse_grant_type(text: &str) -> Result<GrantType, RegistrationError> {
    GrantType::parse(text)
        .ok_or_else(|| RegistrationError::new(Field::GrantType, text, Rule::UnknownGrantType))
}

/// A `--token-endpoint-auth-method` value.
pub fn parse_auth_method(text: &str) -> Result<ClientAuthMethod, RegistrationError> {
    ClientAuthMethod::parse(text).ok_or_else(|| {
        RegistrationError::new(
            Field::TokenEndpointAuthMethod,
            text,
            Rule::UnknownAuthMethod,
        )
    })
}

/// A `--permission-type` value.
pub fn check_permission_type(text: &str) -> Checked {
    if REGISTERED_PERMISSION_TYPES.contains(&text) {
        Ok(())
    } else {
        Err(RegistrationError::new(
            Field::PermissionType,
            text,
            Rule::UnknownPermissionType,
        ))
    }
}

/// The whole registration.
pub fn check_client(client: &Client) -> Checked {
    check_client_id(&client.client_id)?;
    for uri in &client.redirect_uris {
        check_redirect_uri(Field::RedirectUri, uri)?;
    }
    for uri in &client.post_logout_redirect_uris {
        check_redirect_uri(Field::PostLogoutRedirectUri, uri)?;
    }
    if let Some(unknown) = client.scopes.iter().find(|s| !scope::is_known(s)) {
        return Err(RegistrationError::new(
            Field::Scope,
            &client.scopes.to_string(),
            Rule::UnknownScope(unknown.to_owned()),
        ));
    }
    for type_ in &client.permission_types {
        check_permission_type(type_)?;
    }
    let method = client.token_endpoint_auth_method;
    if let Some(uri) = &client.jwks_uri {
        check_jwks_uri(uri)?;
    }
    if client.uses_private_key_jwt() {
        if client.jwks.is_none() && client.jwks_uri.is_none() {
            return Err(RegistrationError::new(
                Field::TokenEndpointAuthMethod,
                method.as_str(),
                Rule::KeysRequired,
            ));
        }
    } else if client.secret_hash.is_empty() {
        return Err(RegistrationError {
            field: Field::ClientSecret,
            value: None,
            rule: Rule::SecretRequired(method.to_string()),
        });
    }
    // CIBA asks for an ID token (openid) and is a permissions API of its own (BIS).
    if client.allows_grant(GrantType::Ciba)
        && !(client.scopes.contains("openid")
            && client.scopes.contains(bankid_oidc_core::ciba::CIBA_SCOPE))
    {
        return Err(RegistrationError::new(
            Field::Scope,
            &client.scopes.to_string(),
            Rule::CibaScopes,
        ));
    }
    if client.allows_grant(GrantType::AuthorizationCode) && client.redirect_uris.is_empty() {
        return Err(RegistrationError {
            field: Field::RedirectUri,
            value: None,
            rule: Rule::RedirectUriRequired,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::scope::ScopeSet;

    fn redirect(uri: &str) -> Checked {
        check_redirect_uri(Field::RedirectUri, uri)
    }

    fn rule(uri: &str) -> Rule {
        redirect(uri).unwrap_err().rule
    }

    #[test]
    fn https_loopback_http_and_reverse_domain_schemes_are_accepted() {
        for uri in [
            "https://shop.example/callback",
            "https://shop.example/cb?x=1",
            "http://127.0.0.1:8081/callback",
            "http://127.8.9.10/cb",
            "http://[::1]:3000/cb",
            "http://localhost:3000/cb",
            "http://LOCALHOST/cb",
            "com.example.app:/callback",
            "no.bank-id.merchant:/oauth2redirect",
        ] {
            assert_eq!(redirect(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn a_redirect_uri_that_runs_script_or_reads_local_files_is_refused() {
        for (uri, scheme) in [
            ("javascript:alert(1)", "javascript"),
            ("JavaScript:alert(document.cookie)", "javascript"),
            ("data:text/html,<script>alert(1)</script>", "data"),
            ("file:///etc/passwd", "file"),
            ("vbscript:msgbox(1)", "vbscript"),
        ] {
            assert_eq!(rule(uri), Rule::ForbiddenScheme(scheme.into()), "{uri}");
        }
        let message = redirect("javascript:alert(1)").unwrap_err().to_string();
        assert_eq!(
            message,
            "--redirect-uri 'javascript:alert(1)': the scheme 'javascript' is not allowed: use \
             https, http only on a loopback host (127.0.0.1, [::1], localhost), or a native \
             app's private-use scheme in reverse-domain form (com.example.app:/callback)"
        );
    }

    #[test]
    fn plain_http_off_loopback_is_refused() {
        for uri in [
            "http://shop.example/callback",
            "http://10.0.0.1/cb",
            "http://localhost.evil.example/cb",
            "http://[::2]/cb",
        ] {
            assert_eq!(rule(uri), Rule::PlainHttpOffLoopback, "{uri}");
        }
    }

    #[test]
    fn wildcards_fragments_and_bare_schemes_are_refused() {
        assert_eq!(rule("https://*.shop.example/cb"), Rule::Wildcard);
        assert_eq!(rule("https://shop.example/*"), Rule::Wildcard);
        assert_eq!(rule("https://shop.example/cb#frag"), Rule::Fragment);
        assert_eq!(rule("https://shop.example/cb#"), Rule::Fragment);
        assert_eq!(
            rule("myapp:/callback"),
            Rule::NotReverseDomainScheme("myapp".into())
        );
        assert!(matches!(rule("not a uri"), Rule::NotAbsolute(_)));
        assert!(matches!(rule("/relative/cb"), Rule::NotAbsolute(_)));
    }

    #[test]
    fn post_logout_redirect_uris_follow_the_same_rules_and_name_their_option() {
        let e = check_redirect_uri(Field::PostLogoutRedirectUri, "data:text/html,hi").unwrap_err();
        assert_eq!(e.rule, Rule::ForbiddenScheme("data".into()));
        assert!(
            e.to_string()
                .starts_with("--post-logout-redirect-uri 'data:")
        );
        let mut client = new_client(
            "shop",
            "secret",
            vec!["https://shop.example/cb".into()],
            ScopeSet::parse("openid").unwrap(),
            0,
        );
        client.post_logout_redirect_uris = vec!["javascript:alert(1)".into()];
        assert_eq!(
            check_client(&client).unwrap_err().field,
            Field::PostLogoutRedirectUri
        );
    }

    #[test]
    fn a_jwks_uri_must_be_fetched_over_https_or_loopback() {
        assert_eq!(check_jwks_uri("https://shop.example/jwks"), Ok(()));
        assert_eq!(check_jwks_uri("http://127.0.0.1:9000/jwks"), Ok(()));
        assert_eq!(
            check_jwks_uri("file:///etc/jwks.json").unwrap_err().rule,
            Rule::FetchedOverHttpsOnly
        );
        assert_eq!(
            check_jwks_uri("http://shop.example/jwks").unwrap_err().rule,
            Rule::FetchedOverHttpsOnly
        );
    }

    #[test]
    fn the_whole_registration_is_checked() {
        let scopes = ScopeSet::parse("openid profile").unwrap();
        let mut c = new_client("a:b", "s", vec!["https://a.example/cb".into()], scopes, 0);
        assert_eq!(check_client(&c).unwrap_err().rule, Rule::ClientIdCharacters);
        c.client_id = "shop".into();
        assert_eq!(check_client(&c), Ok(()));
        c.redirect_uris.clear();
        assert_eq!(
            check_client(&c).unwrap_err().rule,
            Rule::RedirectUriRequired
        );
        c.redirect_uris = vec!["https://a.example/cb".into()];
        c.token_endpoint_auth_method = ClientAuthMethod::PrivateKeyJwt;
        assert_eq!(check_client(&c).unwrap_err().rule, Rule::KeysRequired);
        assert_eq!(
            parse_auth_method("client_secret_jwt").unwrap_err().rule,
            Rule::UnknownAuthMethod
        );
        assert_eq!(
            parse_grant_type("password").unwrap_err().to_string(),
            "--grant-type 'password': use one of authorization_code, refresh_token, \
             client_credentials, urn:openid:params:grant-type:ciba"
        );
        c.token_endpoint_auth_method = ClientAuthMethod::ClientSecretBasic;
        c.secret_hash.clear();
        assert_eq!(
            check_client(&c).unwrap_err().to_string(),
            "--client-secret: required for client_secret_basic"
        );
    }

    #[test]
    fn only_card_and_account_permission_types_are_registered() {
        let mut c = new_client(
            "shop",
            "s",
            vec!["https://a.example/cb".into()],
            ScopeSet::parse("openid").unwrap(),
            0,
        );
        c.permission_types = vec!["card.v1".into(), "account.v1".into()];
        assert_eq!(check_client(&c), Ok(()));
        c.permission_types.push("payment.v1".into());
        assert_eq!(
            check_client(&c).unwrap_err().to_string(),
            "--permission-type 'payment.v1': use card.v1 or account.v1; the other permission \
             types need no registration"
        );
    }

    #[test]
    fn jwks_documents_hold_public_ec_or_rsa_keys() {
        assert_eq!(check_jwks(r#"{"keys":[]}"#), Err(Rule::NoKeys));
        assert_eq!(
            check_jwks(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}"#),
            Err(Rule::PrivateKey)
        );
        assert!(matches!(check_jwks("nope"), Err(Rule::NotJwks(_))));
    }

    #[test]
    fn a_ciba_client_needs_openid_and_permissions_ciba_but_no_redirect_uri() {
        let mut c = new_client(
            "terminal",
            "s",
            Vec::new(),
            ScopeSet::parse("openid profile").unwrap(),
            0,
        );
        c.grant_types = vec![GrantType::Ciba];
        let e = check_client(&c).unwrap_err();
        assert_eq!(e.field, Field::Scope);
        assert_eq!(e.rule, Rule::CibaScopes);
        c.scopes = ScopeSet::parse("openid profile permissions/ciba").unwrap();
        assert_eq!(check_client(&c), Ok(()));
    }
}

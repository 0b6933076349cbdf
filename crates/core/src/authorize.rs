//! The authorization request under API version 4, validated into a typed value.
//!
//! Validation runs in two stages because errors travel differently before and after the client
//! is proven (shared/DESIGN.md, "Refuse early, precisely"):
//!
//! 1. [`check_redirect`]: `client_id` and `redirect_uri` against the registered client. A failure
//!    here is shown on an error page and never redirected.
//! 2. [`validate`]: every other rule, as a list of named checks. A failure redirects to the proven
//!    redirect_uri with `error`, `error_description` and `state`.

use crate::acr::{self, Method};
use crate::error::{ErrorCode, OAuthError};
use crate::locale::Locale;
use crate::login_hint::LoginHint;
pub use crate::params::Params as AuthorizeParams;
use crate::scope::{self, ScopeSet};
use crate::{MIN_API_VERSION, pkce};
use serde::{Deserialize, Serialize};

/// Longest value accepted for any authorization request parameter. BankID's own limits are not
/// published; this keeps a request, and what it stores, small.
pub const MAX_PARAM_LEN: usize = 2048;
/// Longest `state` and `nonce`.
pub const MAX_STATE_LEN: usize = 512;

/// What the provider knows about the client, read from its registration.
#[derive(Debug, Clone, Copy)]
pub struct ClientPolicy<'a> {
    pub client_id: &'a str,
    pub redirect_uris: &'a [String],
    pub scopes: &'a ScopeSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    Fragment,
    FormPost,
}

/// Where the answer (a code or an error) goes, once the client and redirect_uri are proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseTarget {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    /// `state`, echoed only when it is within [`MAX_STATE_LEN`].
    pub state: Option<String>,
}

/// How an authorization request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Client or redirect_uri not proven: shown on an error page, never redirected.
    Page(OAuthError),
    /// Redirected to the client.
    Redirect(Box<ResponseTarget>, OAuthError),
}

impl AuthorizeError {
    pub fn oauth(&self) -> &OAuthError {
        match self {
            AuthorizeError::Page(e) | AuthorizeError::Redirect(_, e) => e,
        }
    }
}

/// How the parameters reached the provider; an NNIN in `login_hint` is accepted only from a
/// pushed request or an encrypted request object (seed 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Query,
    Pushed,
    EncryptedRequestObject,
}

/// Whose rules a request meets: the realm's (every method, the person scopes, PAR and request
/// objects), or the BankID with biometrics issuer's (the app only, its own scopes, and a
/// permission token as `login_hint_token`; request objects are refused by the provider before
/// these checks, as its discovery says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssuerRules {
    #[default]
    Realm,
    Biometrics,
}

impl IssuerRules {
    /// The scopes a login at this issuer may ask for.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            IssuerRules::Realm => scope::PERSON_SCOPES,
            IssuerRules::Biometrics => scope::BIS_SCOPES,
        }
    }
}

/// `prompt` (OpenID Connect Core 3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// An authorization request that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedAuthorizeRequest {
    /// The issuer the request was sent to, as the provider names it (`realm:current`): set by
    /// the provider after validation, so that a pushed request or a login flow is continued
    /// only there.
    #[serde(default)]
    pub issuer: String,
    pub client_id: String,
    pub target: ResponseTarget,
    pub scope: ScopeSet,
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
    pub api_version: u32,
    /// The methods the user may log in with, in order of preference; never empty.
    pub methods: Vec<Method>,
    pub login_hint: Option<LoginHint>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub locale: Locale,
    /// An earlier ID token of this provider for this client (seed 001), not yet verified.
    #[serde(default)]
    pub id_token_hint: Option<String>,
    /// Validated `payment.v1` details (pushed requests only).
    #[serde(default)]
    pub authorization_details: Option<Vec<crate::permission::AuthorizationDetail>>,
}

/// Stage 1: the redirect_uri must be registered for the client, character for character.
pub fn check_redirect(
    params: &AuthorizeParams,
    client: &ClientPolicy,
) -> Result<ResponseTarget, AuthorizeError> {
    let page = |d: String| AuthorizeError::Page(OAuthError::invalid_request(d));
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page("redirect_uri: required".into()))?;
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(page(format!(
            "redirect_uri: not registered for client '{}' (it must equal a registered URI exactly)",
            client.client_id
        )));
    }
    let state = params
        .get("state")
        .filter(|s| s.len() <= MAX_STATE_LEN)
        .map(str::to_owned);
    let mut target = ResponseTarget {
        redirect_uri: redirect_uri.to_owned(),
        response_mode: ResponseMode::Query,
        state,
    };
    target.response_mode = match params.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some(other) => {
            let e = OAuthError::invalid_request(format!(
                "response_mode: '{}' is not supported (query, fragment or form_post)",
                truncate(other)
            ));
            return Err(AuthorizeError::Redirect(Box::new(target), e));
        }
    };
    Ok(target)
}

/// Stage 2: every other rule, in the order of `CHECKS`, at the realm.
pub fn validate(
    params: &AuthorizeParams,
    client: &ClientPolicy,
    target: &ResponseTarget,
    channel: Channel,
) -> Result<ValidatedAuthorizeRequest, AuthorizeError> {
    validate_at(params, client, target, channel, IssuerRules::Realm)
}

/// Stage 2 under the rules of the issuer the request was sent to.
pub fn validate_at(
    params: &AuthorizeParams,
    client: &ClientPolicy,
    target: &ResponseTarget,
    channel: Channel,
    rules: IssuerRules,
) -> Result<ValidatedAuthorizeRequest, AuthorizeError> {
    let mut draft = Draft::default();
    let input = Input {
        params,
        client,
        channel,
        rules,
    };
    for (_rule, check) in CHECKS {
        check(&input, &mut draft)
            .map_err(|e| AuthorizeError::Redirect(Box::new(target.clone()), e))?;
    }
    Ok(ValidatedAuthorizeRequest {
        issuer: String::new(),
        client_id: client.client_id.to_owned(),
        target: target.clone(),
        scope: draft.scope,
        state: draft.state,
        nonce: draft.nonce,
        code_challenge: draft.code_challenge,
        api_version: draft.api_version,
        methods: draft.methods,
        login_hint: draft.login_hint,
        prompt: draft.prompt,
        max_age: draft.max_age,
        locale: draft.locale,
        id_token_hint: draft.id_token_hint,
        authorization_details: draft.authorization_details,
    })
}

struct Input<'a> {
    params: &'a AuthorizeParams,
    client: &'a ClientPolicy<'a>,
    channel: Channel,
    rules: IssuerRules,
}

#[derive(Default)]
struct Draft {
    scope: ScopeSet,
    state: String,
    nonce: String,
    code_challenge: String,
    api_version: u32,
    methods: Vec<Method>,
    login_hint: Option<LoginHint>,
    prompt: Prompt,
    max_age: Option<u64>,
    locale: Locale,
    id_token_hint: Option<String>,
    authorization_details: Option<Vec<crate::permission::AuthorizationDetail>>,
}

type Check = fn(&Input, &mut Draft) -> Result<(), OAuthError>;

/// The rules, one function each, in the order they run; adding a rule is adding a line here.
const CHECKS: [(&str, Check); 16] = [
    ("parameter_sizes", check_parameter_sizes),
    ("response_type", check_response_type),
    ("scope", check_scope),
    ("state", check_state),
    ("nonce", check_nonce),
    ("pkce", check_pkce),
    ("api_version", check_api_version),
    ("login_hint", check_login_hint),
    ("acr_values", check_acr_values),
    ("login_hint_token", check_login_hint_token),
    ("prompt", check_prompt),
    ("max_age", check_max_age),
    ("ui_locales", check_ui_locales),
    ("id_token_hint", check_id_token_hint),
    ("authorization_details", check_authorization_details),
    ("unsupported_parameters", check_unsupported_parameters),
];

fn truncate(value: &str) -> String {
    value.chars().take(40).collect()
}

fn check_parameter_sizes(input: &Input, _: &mut Draft) -> Result<(), OAuthError> {
    match input.params.iter().find(|(_, v)| v.len() > MAX_PARAM_LEN) {
        Some((name, _)) => Err(OAuthError::invalid_request(format!(
            "{name}: longer than {MAX_PARAM_LEN} characters"
        ))),
        None => Ok(()),
    }
}

fn check_response_type(input: &Input, _: &mut Draft) -> Result<(), OAuthError> {
    match input.params.require_v4("response_type")? {
        "code" => Ok(()),
        other => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            format!(
                "response_type: '{}' is not supported; API version 4 allows only 'code'",
                truncate(other)
            ),
        )),
    }
}

fn check_scope(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let requested =
        ScopeSet::parse(input.params.require("scope")?).map_err(OAuthError::invalid_scope)?;
    if !requested.contains("openid") {
        return Err(OAuthError::invalid_scope("scope: must include 'openid'"));
    }
    for s in requested.iter() {
        if !input.rules.scopes().contains(&s) {
            let what = match input.rules {
                IssuerRules::Realm => "a scope of a person login",
                IssuerRules::Biometrics => {
                    "a scope of the BankID with biometrics issuer (openid, profile, sub_nnin, sub_bankid)"
                }
            };
            return Err(OAuthError::invalid_scope(format!(
                "scope: '{}' is not {what}",
                truncate(s)
            )));
        }
    }
    if let Some(s) = requested.missing_from(input.client.scopes).next() {
        return Err(OAuthError::invalid_scope(format!(
            "scope: '{s}' is not allowed for client '{}'",
            input.client.client_id
        )));
    }
    draft.scope = requested;
    Ok(())
}

fn check_state(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let state = input.params.require_v4("state")?;
    if state.len() > MAX_STATE_LEN {
        return Err(OAuthError::invalid_request(format!(
            "state: longer than {MAX_STATE_LEN} characters"
        )));
    }
    draft.state = state.to_owned();
    Ok(())
}

fn check_nonce(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let nonce = input.params.require_v4("nonce")?;
    if nonce.len() > MAX_STATE_LEN {
        return Err(OAuthError::invalid_request(format!(
            "nonce: longer than {MAX_STATE_LEN} characters"
        )));
    }
    draft.nonce = nonce.to_owned();
    Ok(())
}

fn check_pkce(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let challenge = input.params.require_v4("code_challenge")?;
    match input.params.require_v4("code_challenge_method")? {
        "S256" => {}
        other => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method: '{}' is not allowed; API version 4 requires S256",
                truncate(other)
            )));
        }
    }
    pkce::check_challenge(challenge).map_err(OAuthError::invalid_request)?;
    draft.code_challenge = challenge.to_owned();
    Ok(())
}

fn check_api_version(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    draft.api_version = match input.params.get("api_version") {
        None => MIN_API_VERSION,
        Some(text) => {
            let version: u32 = text.parse().map_err(|_| {
                OAuthError::invalid_request("api_version: must be a whole number (4 or higher)")
            })?;
            if version < MIN_API_VERSION {
                return Err(OAuthError::invalid_request(format!(
                    "api_version: {version} is no longer supported; the minimum is {MIN_API_VERSION}"
                )));
            }
            if version > MIN_API_VERSION {
                return Err(OAuthError::invalid_request(format!(
                    "api_version: {version} is not supported; this provider implements version {MIN_API_VERSION}"
                )));
            }
            version
        }
    };
    Ok(())
}

fn check_login_hint(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let Some(text) = input.params.get("login_hint") else {
        return Ok(());
    };
    let hint = LoginHint::parse(text).map_err(OAuthError::invalid_request)?;
    // The BIS issuer has no PAR and no request objects, so an NNIN never travels safely to
    // it in a login_hint: a user is pre-selected there by a permission (`login_hint_token`).
    if input.rules == IssuerRules::Biometrics && hint.method() != Some(Method::Bis) {
        let rule = match hint.nnin() {
            Some(_) => {
                "a national identity number is not accepted at the BankID with biometrics issuer; \
                 pre-select the user with a permission's login hint (login_hint_token)"
            }
            None => "the BankID with biometrics issuer logs in with BIS only",
        };
        return Err(OAuthError::invalid_request(format!("login_hint: {rule}")));
    }
    if hint.nnin().is_some() && input.channel == Channel::Query {
        return Err(OAuthError::invalid_request(
            "login_hint: a national identity number may be sent only in a pushed authorization request \
             or an encrypted request object (API version 4)",
        ));
    }
    draft.login_hint = Some(hint);
    Ok(())
}

fn check_acr_values(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let from_acr = match input.params.get("acr_values") {
        Some(text) => Some(acr::parse_acr_values(text).map_err(OAuthError::invalid_request)?),
        None => None,
    };
    if input.rules == IssuerRules::Biometrics {
        if from_acr
            .as_ref()
            .is_some_and(|m| m.iter().any(|m| *m != Method::Bis))
        {
            return Err(OAuthError::invalid_request(
                "acr_values: the BankID with biometrics issuer offers only urn:bankid:bis",
            ));
        }
        draft.methods = vec![Method::Bis];
        return Ok(());
    }
    let from_hint = draft.login_hint.as_ref().and_then(LoginHint::method);
    draft.methods = match (from_hint, from_acr) {
        (Some(m), Some(allowed)) if !allowed.contains(&m) => {
            return Err(OAuthError::invalid_request(format!(
                "login_hint: selects {} but acr_values does not allow it",
                m.hint()
            )));
        }
        (Some(m), _) => vec![m],
        (None, Some(allowed)) => allowed,
        (None, None) => Method::ALL.to_vec(),
    };
    Ok(())
}

/// A permission token names a permission registered at the BIS permissions API: it is read
/// (verified, used) by the provider, and only at that issuer.
fn check_login_hint_token(input: &Input, _: &mut Draft) -> Result<(), OAuthError> {
    if input.rules == IssuerRules::Realm && input.params.get("login_hint_token").is_some() {
        return Err(OAuthError::invalid_request(
            "login_hint_token: a permission token is accepted only at the BankID with biometrics \
             issuer's authorization endpoint",
        ));
    }
    Ok(())
}

fn check_prompt(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let Some(text) = input.params.get("prompt") else {
        return Ok(());
    };
    let mut prompt = Prompt::default();
    for value in text.split(' ') {
        match value {
            "none" => prompt.none = true,
            "login" | "select_account" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "prompt: '{}' is not one of none, login, consent, select_account",
                    truncate(other)
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt: 'none' must not be combined with other values",
        ));
    }
    draft.prompt = prompt;
    Ok(())
}

fn check_max_age(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    if let Some(text) = input.params.get("max_age") {
        let max_age = text.parse::<u64>().map_err(|_| {
            OAuthError::invalid_request("max_age: must be a non-negative whole number of seconds")
        })?;
        draft.max_age = Some(max_age);
    }
    Ok(())
}

fn check_ui_locales(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    draft.locale = input
        .params
        .get("ui_locales")
        .and_then(Locale::from_ui_locales)
        .unwrap_or_default();
    Ok(())
}

fn check_unsupported_parameters(input: &Input, _: &mut Draft) -> Result<(), OAuthError> {
    for name in ["claims", "registration"] {
        if input.params.get(name).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "{name}: not supported by this provider"
            )));
        }
    }
    Ok(())
}

/// `id_token_hint` is carried to the provider, which checks its signature and audience (the core
/// has no keys).
fn check_id_token_hint(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    draft.id_token_hint = input.params.get("id_token_hint").map(str::to_owned);
    Ok(())
}

/// Rich authorization requests are accepted only inside a pushed request, where the client is
/// authenticated and the statement is not exposed in the browser.
fn check_authorization_details(input: &Input, draft: &mut Draft) -> Result<(), OAuthError> {
    let Some(text) = input.params.get("authorization_details") else {
        return Ok(());
    };
    if input.channel != Channel::Pushed {
        return Err(OAuthError::invalid_request(
            "authorization_details: allowed only in a pushed authorization request",
        ));
    }
    let details = crate::permission::parse_authorization_details(text)
        .map_err(OAuthError::invalid_request)?;
    draft.authorization_details = Some(details);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(extra: &[(&str, &str)], without: &[&str]) -> AuthorizeParams {
        let mut pairs: Vec<(String, String)> = [
            ("client_id", "shop"),
            ("redirect_uri", "https://shop.example/cb"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .filter(|(k, _)| !without.contains(k) && !extra.iter().any(|(e, _)| e == k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        AuthorizeParams::from_pairs(pairs).unwrap()
    }

    fn run(p: &AuthorizeParams) -> Result<ValidatedAuthorizeRequest, AuthorizeError> {
        let uris = vec!["https://shop.example/cb".to_string()];
        let scopes = ScopeSet::parse("openid profile nnin_altsub").unwrap();
        let client = ClientPolicy {
            client_id: "shop",
            redirect_uris: &uris,
            scopes: &scopes,
        };
        let target = check_redirect(p, &client)?;
        validate(p, &client, &target, Channel::Query)
    }

    fn redirect_error(p: &AuthorizeParams) -> OAuthError {
        match run(p) {
            Err(AuthorizeError::Redirect(_, e)) => e,
            other => panic!("expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_request_validates() {
        let v = run(&params(&[("login_hint", "BIS"), ("ui_locales", "en")], &[])).unwrap();
        assert_eq!(v.methods, [Method::Bis]);
        assert_eq!(v.locale, Locale::En);
        assert_eq!(v.api_version, 4);
        assert_eq!(v.target.response_mode, ResponseMode::Query);
    }

    #[test]
    fn unregistered_redirect_uri_is_never_redirected_to() {
        let p = params(&[("redirect_uri", "https://shop.example/cb/../evil")], &[]);
        assert!(matches!(run(&p), Err(AuthorizeError::Page(_))));
        assert!(matches!(
            run(&params(&[], &["redirect_uri"])),
            Err(AuthorizeError::Page(_))
        ));
    }

    #[test]
    fn duplicate_parameters_are_refused() {
        let pairs = vec![
            ("state".to_string(), "a".to_string()),
            ("state".to_string(), "b".to_string()),
        ];
        assert_eq!(
            AuthorizeParams::from_pairs(pairs).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn each_required_parameter_is_required() {
        for name in [
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "response_type",
            "scope",
        ] {
            let e = redirect_error(&params(&[], &[name]));
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{name}");
            assert!(e.description.starts_with(name), "{name}: {}", e.description);
        }
    }

    #[test]
    fn pkce_downgrade_to_plain_is_refused() {
        let e = redirect_error(&params(&[("code_challenge_method", "plain")], &[]));
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.description.contains("S256"));
    }

    #[test]
    fn api_version_below_4_is_refused() {
        let e = redirect_error(&params(&[("api_version", "3")], &[]));
        assert!(e.description.contains("minimum is 4"), "{}", e.description);
        assert_eq!(
            redirect_error(&params(&[("api_version", "four")], &[])).code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn response_types_other_than_code_are_refused() {
        for rt in ["token", "id_token", "code id_token"] {
            assert_eq!(
                redirect_error(&params(&[("response_type", rt)], &[])).code,
                ErrorCode::UnsupportedResponseType
            );
        }
    }

    #[test]
    fn unknown_or_unallowed_scopes_are_refused() {
        assert_eq!(
            redirect_error(&params(&[("scope", "openid banana")], &[])).code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirect_error(&params(&[("scope", "openid email")], &[])).code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirect_error(&params(&[("scope", "profile")], &[])).code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn an_nnin_in_a_plain_login_hint_is_refused() {
        let e = redirect_error(&params(&[("login_hint", "BID:15076500565")], &[]));
        assert!(
            e.description.contains("pushed authorization request"),
            "{}",
            e.description
        );
    }

    #[test]
    fn login_hint_and_acr_values_must_agree() {
        let e = redirect_error(&params(
            &[("login_hint", "BIS"), ("acr_values", "urn:bankid:bid")],
            &[],
        ));
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let v = run(&params(
            &[("acr_values", "urn:bankid:bis urn:bankid:bid")],
            &[],
        ))
        .unwrap();
        assert_eq!(v.methods, [Method::Bis, Method::Bid]);
    }

    #[test]
    fn prompt_none_cannot_be_combined() {
        assert_eq!(
            redirect_error(&params(&[("prompt", "none login")], &[])).code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirect_error(&params(&[("prompt", "sometimes")], &[])).code,
            ErrorCode::InvalidRequest
        );
        assert!(
            run(&params(&[("prompt", "login")], &[]))
                .unwrap()
                .prompt
                .login
        );
    }

    #[test]
    fn oversize_values_are_refused_and_a_long_state_is_not_echoed() {
        let long = "x".repeat(MAX_STATE_LEN + 1);
        match run(&params(&[("state", &long)], &[])) {
            Err(AuthorizeError::Redirect(target, e)) => {
                assert_eq!(target.state, None);
                assert!(e.description.starts_with("state"));
            }
            other => panic!("{other:?}"),
        }
        let huge = "x".repeat(MAX_PARAM_LEN + 1);
        assert!(
            redirect_error(&params(&[("display", &huge)], &[]))
                .description
                .contains("longer")
        );
    }

    #[test]
    fn unknown_response_mode_is_refused_with_query_delivery() {
        match run(&params(&[("response_mode", "jwt")], &[])) {
            Err(AuthorizeError::Redirect(target, e)) => {
                assert_eq!(target.response_mode, ResponseMode::Query);
                assert_eq!(e.code, ErrorCode::InvalidRequest);
            }
            other => panic!("{other:?}"),
        }
    }

    fn run_bis(p: &AuthorizeParams) -> Result<ValidatedAuthorizeRequest, AuthorizeError> {
        let uris = vec!["https://shop.example/cb".to_string()];
        let scopes = ScopeSet::parse("openid profile sub_nnin").unwrap();
        let client = ClientPolicy {
            client_id: "shop",
            redirect_uris: &uris,
            scopes: &scopes,
        };
        let target = check_redirect(p, &client)?;
        validate_at(p, &client, &target, Channel::Query, IssuerRules::Biometrics)
    }

    fn bis_error(p: &AuthorizeParams) -> OAuthError {
        match run_bis(p) {
            Err(AuthorizeError::Redirect(_, e)) => e,
            other => panic!("expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn the_biometrics_issuer_logs_in_with_bis_and_its_own_scopes_only() {
        let v = run_bis(&params(&[("scope", "openid sub_nnin")], &[])).unwrap();
        assert_eq!(v.methods, [Method::Bis]);
        let v = run_bis(&params(
            &[("login_hint", "BIS"), ("acr_values", "urn:bankid:bis")],
            &[],
        ));
        assert_eq!(v.unwrap().methods, [Method::Bis]);
        // A realm scope, and a BIS scope the client did not register.
        assert_eq!(
            bis_error(&params(&[("scope", "openid nnin_altsub")], &[])).code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            bis_error(&params(&[("scope", "openid sub_bankid")], &[])).code,
            ErrorCode::InvalidScope
        );
        for (name, value) in [
            ("login_hint", "BID"),
            ("login_hint", ":15076500565"),
            ("acr_values", "urn:bankid:bid"),
            ("acr_values", "urn:bankid:bis urn:bankid:bim"),
        ] {
            let e = bis_error(&params(&[(name, value)], &[]));
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{name}={value}");
            assert!(e.description.starts_with(name), "{}", e.description);
        }
    }

    #[test]
    fn login_hint_token_is_refused_at_the_realm() {
        let e = redirect_error(&params(&[("login_hint_token", "x.y.z")], &[]));
        assert!(
            e.description.starts_with("login_hint_token"),
            "{}",
            e.description
        );
        assert!(run_bis(&params(&[("login_hint_token", "x.y.z")], &[])).is_ok());
    }
}

//! The permissions API of BankID with biometrics (BIS): the body of `POST {permissions_endpoint}`
//! and of `POST {permissions_endpoint}user-exists`, the permission id, the binding message and
//! the claims of the permission grant (seed 004, steps 5 and 12).
//!
//! ```json
//! {"type": "payment.v1", "loa": "sub", "iat": 1700000000, "exp": 1700000600,
//!  "permission": "<base64url(JSON statement)>", "intents": ["iframe"],
//!  "loginHint": [{"scheme": "nnin", "value": "<11 digits>"}], "acr_values": ["urn:bankid:bis"]}
//! ```
//!
//! [`validate_permission_request`] is a list of named checks; each refusal is a
//! [`PermissionError`] naming the field and the rule, for the provider's `error_description`.

use crate::nnin::Nnin;
use crate::permission::{
    ACCOUNT_V1, AUTHENTICATION_V1, CARD_V1, STATEMENT_TYPES, Statement, TEXT_V1, parse_statement,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest request body the permissions endpoints read.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// How far in the past `iat` may lie (seed 004: "at most 1 minute into the past").
pub const MAX_IAT_AGE_SECS: i64 = 60;
/// The longest `exp - iat` unless the provider configures otherwise ("a few minutes").
pub const DEFAULT_MAX_LIFETIME_SECS: i64 = 600;
/// The only level of assurance BIS gives: substantial.
pub const LOA_SUB: &str = "sub";
/// The channels a permission may be granted through; `redirect` is ours (the authorization code
/// flow with `login_hint_token`).
pub const INTENTS: [&str; 4] = ["iframe", "ciba", "app2app", "redirect"];
/// The `acr_values` a permission may ask for: BIS is substantial (LOA 3) only.
pub const ACR_VALUES: [&str; 2] = ["urn:bankid:bis", "urn:bankid:bis;LOA=3"];
/// The only `loginHint` scheme.
pub const NNIN_SCHEME: &str = "nnin";

const FIELDS: [&str; 8] = [
    "type",
    "loa",
    "iat",
    "exp",
    "permission",
    "intents",
    "loginHint",
    "acr_values",
];

/// A refused permission request: the field (`type`, `iat`, `permission.payments[0].amount`,
/// `loginHint[0].value`, ...) and the rule it breaks, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PermissionError {
    pub field: String,
    pub message: String,
}

impl PermissionError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> PermissionError {
        PermissionError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What the provider allows this request: the clock and the client's registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionPolicy {
    /// Seconds since the Unix epoch.
    pub now: i64,
    /// The longest `exp - iat`, in seconds.
    pub max_lifetime: i64,
    /// Whether the client's token holds the scope `permissions/text`.
    pub text_allowed: bool,
    /// The card and account types (`card.v1`, `account.v1`) the client is registered for.
    pub extra_types: Vec<String>,
}

impl PermissionPolicy {
    /// The defaults: a lifetime of at most [`DEFAULT_MAX_LIFETIME_SECS`], no `text.v1`, no card or
    /// account types.
    pub fn new(now: i64) -> PermissionPolicy {
        PermissionPolicy {
            now,
            max_lifetime: DEFAULT_MAX_LIFETIME_SECS,
            text_allowed: false,
            extra_types: Vec::new(),
        }
    }
}

/// A permission request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidPermission {
    pub type_: String,
    pub loa: String,
    pub iat: i64,
    pub exp: i64,
    /// The statement as sent (base64url).
    pub permission: String,
    pub statement: Statement,
    /// base64url(SHA-256(statement bytes)).
    pub digest: String,
    pub intents: Vec<String>,
    pub login_hint_nnin: Option<String>,
    pub acr_values: Vec<String>,
}

/// Validates the body of `POST {permissions_endpoint}`.
pub fn validate_permission_request(
    body: &[u8],
    policy: &PermissionPolicy,
) -> Result<ValidPermission, PermissionError> {
    let object = parse_body(body)?;
    check_known_fields(&object, &FIELDS)?;
    let type_ = optional_string(&object, "type")?.unwrap_or(AUTHENTICATION_V1);
    check_type_allowed(type_, policy)?;
    let loa = optional_string(&object, "loa")?.unwrap_or(LOA_SUB);
    check_loa(loa)?;
    let iat = required_integer(&object, "iat")?;
    let exp = required_integer(&object, "exp")?;
    check_iat(iat, policy.now)?;
    check_exp(exp, iat, policy)?;
    let permission = optional_string(&object, "permission")?
        .ok_or_else(|| PermissionError::new("permission", "required: the base64url statement"))?;
    let (statement, digest) = parse_statement(type_, permission)?;
    let intents = parse_intents(object.get("intents"))?;
    let login_hint_nnin = parse_login_hint(object.get("loginHint"), false)?;
    let acr_values = parse_acr_values(object.get("acr_values"))?;
    Ok(ValidPermission {
        type_: type_.to_owned(),
        loa: loa.to_owned(),
        iat,
        exp,
        permission: permission.to_owned(),
        statement,
        digest,
        intents,
        login_hint_nnin,
        acr_values,
    })
}

/// Reads the body of `POST {permissions_endpoint}user-exists`:
/// `{"loginHint": [{"scheme": "nnin", "value": "<11 digits>"}]}`; returns the NNIN.
pub fn parse_user_exists(body: &[u8]) -> Result<String, PermissionError> {
    let object = parse_body(body)?;
    check_known_fields(&object, &["loginHint"])?;
    parse_login_hint(object.get("loginHint"), true)?.ok_or_else(|| {
        PermissionError::new(
            "loginHint",
            "required: one entry {\"scheme\": \"nnin\", \"value\": \"<11 digits>\"}",
        )
    })
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, PermissionError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(PermissionError::new(
            "body",
            format!("larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(PermissionError::new("body", "not a JSON object")),
    }
}

fn check_known_fields(object: &Map<String, Value>, known: &[&str]) -> Result<(), PermissionError> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(PermissionError::new(
            unknown.as_str(),
            format!("unknown field (known: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn optional_string<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, PermissionError> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(PermissionError::new(field, "must be a string")),
    }
}

fn required_integer(object: &Map<String, Value>, field: &str) -> Result<i64, PermissionError> {
    object.get(field).and_then(Value::as_i64).ok_or_else(|| {
        PermissionError::new(field, "required: an integer, seconds since the Unix epoch")
    })
}

fn check_type_allowed(type_: &str, policy: &PermissionPolicy) -> Result<(), PermissionError> {
    if !STATEMENT_TYPES.contains(&type_) {
        return Err(crate::permission::unknown_type(type_));
    }
    if type_ == TEXT_V1 && !policy.text_allowed {
        return Err(PermissionError::new(
            "type",
            "text.v1 needs the scope permissions/text in the access token",
        ));
    }
    if matches!(type_, CARD_V1 | ACCOUNT_V1) && !policy.extra_types.iter().any(|t| t == type_) {
        return Err(PermissionError::new(
            "type",
            format!(
                "the client is not registered for {type_}: register it with --permission-type {type_}"
            ),
        ));
    }
    Ok(())
}

fn check_loa(loa: &str) -> Result<(), PermissionError> {
    if loa == LOA_SUB {
        Ok(())
    } else {
        Err(PermissionError::new(
            "loa",
            format!("'{loa}' is not supported: only 'sub' (substantial)"),
        ))
    }
}

fn check_iat(iat: i64, now: i64) -> Result<(), PermissionError> {
    if iat > now {
        return Err(PermissionError::new("iat", "in the future"));
    }
    if now - iat > MAX_IAT_AGE_SECS {
        return Err(PermissionError::new(
            "iat",
            format!("more than {MAX_IAT_AGE_SECS} seconds in the past"),
        ));
    }
    Ok(())
}

fn check_exp(exp: i64, iat: i64, policy: &PermissionPolicy) -> Result<(), PermissionError> {
    if exp <= iat {
        return Err(PermissionError::new("exp", "must be after iat"));
    }
    if exp - iat > policy.max_lifetime {
        return Err(PermissionError::new(
            "exp",
            format!(
                "more than {} seconds after iat: a permission lives a few minutes",
                policy.max_lifetime
            ),
        ));
    }
    if exp <= policy.now {
        return Err(PermissionError::new("exp", "in the past"));
    }
    Ok(())
}

fn string_array<'a>(value: &'a Value, field: &str) -> Result<Vec<&'a str>, PermissionError> {
    let array = value
        .as_array()
        .ok_or_else(|| PermissionError::new(field, "must be an array of strings"))?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .ok_or_else(|| PermissionError::new(format!("{field}[{i}]"), "must be a string"))
        })
        .collect()
}

fn parse_intents(value: Option<&Value>) -> Result<Vec<String>, PermissionError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let intents = string_array(value, "intents")?;
    if intents.len() > INTENTS.len() {
        return Err(PermissionError::new(
            "intents",
            format!("at most {} entries", INTENTS.len()),
        ));
    }
    for (i, intent) in intents.iter().enumerate() {
        if !INTENTS.contains(intent) {
            return Err(PermissionError::new(
                format!("intents[{i}]"),
                format!("unknown intent '{intent}' (known: {})", INTENTS.join(", ")),
            ));
        }
        if intents[..i].contains(intent) {
            return Err(PermissionError::new(
                format!("intents[{i}]"),
                format!("'{intent}' is listed twice"),
            ));
        }
    }
    Ok(intents.into_iter().map(str::to_owned).collect())
}

/// At most one `{"scheme": "nnin", "value": "<valid NNIN>"}`; `required` refuses an empty list.
fn parse_login_hint(
    value: Option<&Value>,
    required: bool,
) -> Result<Option<String>, PermissionError> {
    let entries = match value {
        None => &Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(PermissionError::new(
                "loginHint",
                "must be an array of {\"scheme\", \"value\"} objects",
            ));
        }
    };
    if entries.len() > 1 || (required && entries.is_empty()) {
        let count = if required {
            "exactly one entry"
        } else {
            "at most one entry"
        };
        return Err(PermissionError::new("loginHint", count));
    }
    let Some(entry) = entries.first() else {
        return Ok(None);
    };
    let entry = entry.as_object().ok_or_else(|| {
        PermissionError::new("loginHint[0]", "must be a {\"scheme\", \"value\"} object")
    })?;
    check_known_fields(entry, &["scheme", "value"])
        .map_err(|e| PermissionError::new(format!("loginHint[0].{}", e.field), e.message))?;
    let scheme = entry.get("scheme").and_then(Value::as_str);
    if scheme != Some(NNIN_SCHEME) {
        return Err(PermissionError::new(
            "loginHint[0].scheme",
            "only the scheme 'nnin' is supported",
        ));
    }
    let value = entry.get("value").and_then(Value::as_str).ok_or_else(|| {
        PermissionError::new(
            "loginHint[0].value",
            "required: the national identity number",
        )
    })?;
    let nnin = Nnin::parse(value)
        .map_err(|e| PermissionError::new("loginHint[0].value", e.to_string()))?;
    Ok(Some(nnin.into()))
}

fn parse_acr_values(value: Option<&Value>) -> Result<Vec<String>, PermissionError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let values = string_array(value, "acr_values")?;
    for (i, acr) in values.iter().enumerate() {
        if !ACR_VALUES.contains(acr) {
            return Err(PermissionError::new(
                format!("acr_values[{i}]"),
                format!(
                    "'{acr}' is not supported: BankID with biometrics is substantial only ({})",
                    ACR_VALUES.join(" or ")
                ),
            ));
        }
    }
    Ok(values.into_iter().map(str::to_owned).collect())
}

/// Adjectives that take no ending with a neuter noun (those in `-ig` and `-isk`), so every pair
/// reads as Norwegian whatever the noun's gender.
const ADJECTIVES: [&str; 64] = [
    "farlig",
    "rolig",
    "modig",
    "lystig",
    "hyggelig",
    "vennlig",
    "herlig",
    "kjærlig",
    "lykkelig",
    "ærlig",
    "rimelig",
    "nydelig",
    "deilig",
    "koselig",
    "trivelig",
    "tydelig",
    "nysgjerrig",
    "flittig",
    "forsiktig",
    "livlig",
    "smidig",
    "sindig",
    "artig",
    "hendig",
    "kraftig",
    "listig",
    "luftig",
    "saftig",
    "ivrig",
    "tidlig",
    "hurtig",
    "fredelig",
    "frodig",
    "dristig",
    "mektig",
    "verdig",
    "underlig",
    "merkelig",
    "snodig",
    "fornuftig",
    "heldig",
    "tålmodig",
    "vanlig",
    "billig",
    "praktisk",
    "magisk",
    "komisk",
    "klassisk",
    "romantisk",
    "energisk",
    "fantastisk",
    "logisk",
    "musikalsk",
    "poetisk",
    "elektrisk",
    "eksotisk",
    "dynamisk",
    "lyrisk",
    "mystisk",
    "tropisk",
    "nordisk",
    "kosmisk",
    "rytmisk",
    "sympatisk",
];

const NOUNS: [&str; 64] = [
    "frakk", "hatt", "sko", "jakke", "genser", "lue", "vott", "skjerf", "sokk", "kjole", "belte",
    "båt", "bil", "sykkel", "buss", "tog", "hus", "hytte", "bro", "sti", "fjell", "elv", "fjord",
    "øy", "skog", "blomst", "rose", "bjørk", "eik", "stein", "snø", "vind", "sol", "måne",
    "stjerne", "sky", "bølge", "laks", "torsk", "hval", "ørn", "ugle", "måke", "rev", "ulv",
    "bjørn", "elg", "hare", "katt", "hund", "hest", "geit", "lampe", "stol", "bord", "kopp",
    "gaffel", "bok", "brev", "klokke", "nøkkel", "kake", "eple", "gulrot",
];

/// The two words shown both on the merchant's page and in the app, so the user can tell that
/// the request in the app is theirs (seed 004: "Farlig frakk"). `random` must be random bytes.
pub fn binding_message(random: [u8; 2]) -> String {
    let adjective = ADJECTIVES[usize::from(random[0]) % ADJECTIVES.len()];
    let noun = NOUNS[usize::from(random[1]) % NOUNS.len()];
    let mut chars = adjective.chars();
    let first = chars.next().expect("no adjective is empty");
    format!("{}{} {noun}", first.to_uppercase(), chars.as_str())
}

/// A permission id in seed 004's shape: `1.BY.<base64url(a)>.<base64url(b)>`.
pub fn permission_id(a: &[u8; 32], b: &[u8; 32]) -> String {
    format!("1.BY.{}.{}", crate::b64::encode(a), crate::b64::encode(b))
}

/// Whether `s` has exactly the shape [`permission_id`] makes, so that junk paths are refused
/// before any store read.
pub fn is_permission_id(s: &str) -> bool {
    let is_part = |part: &str| {
        part.len() == 43
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && crate::b64::decode(part).is_ok_and(|bytes| bytes.len() == 32)
    };
    let mut parts = s.split('.');
    parts.next() == Some("1")
        && parts.next() == Some("BY")
        && parts.next().is_some_and(is_part)
        && parts.next().is_some_and(is_part)
        && parts.next().is_none()
}

/// The version of the grant format (`gv`).
pub const GRANT_VERSION: u32 = 1;
/// The `type` claim of a grant *(ours)*.
pub const GRANT_TYPE: &str = "grant";

/// The claims of a permission grant (seed 004, step 12): the JWT that `GET
/// {permissions_endpoint}{id}/grant` answers once the user has granted, signed by a key from
/// `jwks_uri_grants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    /// Grant format version: [`GRANT_VERSION`].
    pub gv: u32,
    /// The permission type (`payment.v1`, ...) *(ours: the seed says only "string")*.
    pub pt: String,
    /// What the token is: [`GRANT_TYPE`] *(ours)*.
    #[serde(rename = "type")]
    pub type_: String,
    /// The relying party: the client_id that registered the permission *(ours; seed 004's
    /// example shows the app's id)*.
    #[serde(rename = "rpId")]
    pub rp_id: String,
    /// The server version that signed it, `<date>@<build>` like seed 004's `2020-10-30@deadbeef`.
    pub sv: String,
    /// When the user granted the permission, seconds since the Unix epoch.
    pub iat: i64,
    /// The BIS issuer.
    pub iss: String,
    /// The statement's nonce; empty for an `authentication.v1` or `text.v1` statement without one.
    pub nonce: String,
    /// The id of the key in the user's app that approved.
    #[serde(rename = "proofKeyId")]
    pub proof_key_id: String,
    /// The user: `nnin:<nnin>`.
    pub sub: String,
    /// The permission id ([`permission_id`]).
    #[serde(rename = "permissionId")]
    pub permission_id: String,
    /// base64url(SHA-256(statement bytes)), as [`crate::permission::digest_of`].
    pub digest: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::{PaymentStatement, digest_of};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const NNIN: &str = "15076500565";
    /// The statement of seed 004, as encoded there.
    const SEED_PERMISSION: &str = "eyJub25jZSI6ImRXNXBjWFZsSUhaaGJIVmwiLCJpZCI6IlltRnphMlYwSUdsayIsInBheW1lbnRzIjpbeyJwYXltZW50SWQiOiJjR0Y1YldWdWRDQnBaQSIsImFtb3VudCI6IjEyMy40NSIsImN1cnJlbmN5IjoiTk9LIiwiY3JlZGl0b3JOYW1lIjoiU2Nyb29nZSBNY0R1Y2sifV19";

    /// Seed 004's body of step 5.2 with `iat` and `exp` moved to now (the seed's were in 2021)
    /// and its placeholder NNIN replaced by a valid one.
    fn seed_body() -> Value {
        json!({
            "type": "payment.v1",
            "loa": "sub",
            "iat": NOW - 10,
            "exp": NOW - 10 + 300,
            "permission": SEED_PERMISSION,
            "intents": ["iframe"],
            "loginHint": [{"scheme": "nnin", "value": NNIN}]
        })
    }

    fn validate(body: &Value) -> Result<ValidPermission, PermissionError> {
        validate_permission_request(
            &serde_json::to_vec(body).unwrap(),
            &PermissionPolicy::new(NOW),
        )
    }

    fn with(field: &str, value: Value) -> Value {
        let mut body = seed_body();
        body[field] = value;
        body
    }

    fn payment(amount: &str, currency: &str) -> Value {
        let statement = json!({"nonce": "n1", "id": "basket", "payments": [
            {"paymentId": "p1", "amount": amount, "currency": currency, "creditorName": "Scrooge McDuck"}]});
        json!(crate::b64::encode(serde_json::to_vec(&statement).unwrap()))
    }

    fn refused_field(body: &Value) -> String {
        validate(body).expect_err("must be refused").field
    }

    #[test]
    fn the_seed_004_body_is_accepted() {
        let valid = validate(&seed_body()).unwrap();
        assert_eq!(valid.type_, "payment.v1");
        assert_eq!(valid.loa, "sub");
        assert_eq!(valid.intents, ["iframe"]);
        assert_eq!(valid.login_hint_nnin.as_deref(), Some(NNIN));
        assert_eq!(valid.permission, SEED_PERMISSION);
        assert_eq!(
            valid.digest,
            digest_of(&crate::b64::decode(SEED_PERMISSION).unwrap())
        );
        assert_eq!(valid.statement.nonce(), Some("dW5pcXVlIHZhbHVl"));
        let Statement::Payment(PaymentStatement { payments, .. }) = &valid.statement else {
            panic!("a payment statement")
        };
        assert_eq!(payments[0].amount, "123.45");
    }

    #[test]
    fn type_defaults_to_authentication_and_its_nonce_is_optional() {
        let mut body = seed_body();
        body.as_object_mut().unwrap().remove("type");
        body["permission"] = json!(crate::b64::encode(b"{}"));
        body["acr_values"] = json!(["urn:bankid:bis;LOA=3"]);
        let valid = validate(&body).unwrap();
        assert_eq!(valid.type_, "authentication.v1");
        assert_eq!(valid.statement.nonce(), None);
        assert_eq!(valid.statement.type_name(), "authentication.v1");
    }

    #[test]
    fn refuses_an_iat_61_seconds_old() {
        let body = with("iat", json!(NOW - 61));
        assert_eq!(refused_field(&body), "iat");
        assert!(validate(&with("iat", json!(NOW - 60))).is_ok());
    }

    #[test]
    fn refuses_an_iat_in_the_future() {
        assert_eq!(refused_field(&with("iat", json!(NOW + 1))), "iat");
    }

    #[test]
    fn refuses_an_exp_before_iat() {
        assert_eq!(refused_field(&with("exp", json!(NOW - 20))), "exp");
    }

    #[test]
    fn refuses_an_exp_further_than_the_lifetime() {
        assert_eq!(refused_field(&with("exp", json!(NOW - 10 + 601))), "exp");
    }

    #[test]
    fn refuses_an_exp_in_the_past() {
        let mut body = with("iat", json!(NOW - 50));
        body["exp"] = json!(NOW - 5);
        let error = validate(&body).unwrap_err();
        assert_eq!(error.to_string(), "exp: in the past");
    }

    #[test]
    fn refuses_amounts_with_a_comma_a_sign_zero_or_15_significant_digits() {
        for amount in [
            "1,5",
            "-3",
            "0",
            "0.00",
            "123456789012345",
            "1234567890123.45",
        ] {
            let error = validate(&with("permission", payment(amount, "NOK"))).unwrap_err();
            assert_eq!(error.field, "permission.payments[0].amount", "{amount}");
        }
        assert!(validate(&with("permission", payment("1234567890123.4", "NOK"))).is_ok());
        assert!(validate(&with("permission", payment("0.01", "NOK"))).is_ok());
    }

    #[test]
    fn refuses_a_currency_that_is_not_iso_4217() {
        let error = validate(&with("permission", payment("1.00", "XYZ"))).unwrap_err();
        assert_eq!(error.field, "permission.payments[0].currency");
        for currency in ["NOK", "EUR", "SEK", "USD"] {
            assert!(validate(&with("permission", payment("1.00", currency))).is_ok());
        }
    }

    fn text_body(text: &str) -> Value {
        let mut body = with("type", json!("text.v1"));
        body["permission"] = json!(crate::b64::encode(
            serde_json::to_vec(&json!({"nonce": "n", "text": text})).unwrap()
        ));
        body
    }

    #[test]
    fn refuses_text_without_the_text_scope() {
        let error = validate(&text_body("Godkjenn\navtalen")).unwrap_err();
        assert_eq!(error.field, "type");
        assert!(error.message.contains("permissions/text"));
        let policy = PermissionPolicy {
            text_allowed: true,
            ..PermissionPolicy::new(NOW)
        };
        let body = serde_json::to_vec(&text_body("Godkjenn\navtalen")).unwrap();
        assert!(validate_permission_request(&body, &policy).is_ok());
    }

    #[test]
    fn refuses_a_text_longer_than_1000_characters_or_with_control_characters() {
        let policy = PermissionPolicy {
            text_allowed: true,
            ..PermissionPolicy::new(NOW)
        };
        for text in ["å".repeat(1001), "tab\there".into(), String::new()] {
            let body = serde_json::to_vec(&text_body(&text)).unwrap();
            let error = validate_permission_request(&body, &policy).unwrap_err();
            assert_eq!(error.field, "permission.text");
        }
        let body = serde_json::to_vec(&text_body(&"å".repeat(1000))).unwrap();
        assert!(validate_permission_request(&body, &policy).is_ok());
    }

    #[test]
    fn refuses_an_unknown_type() {
        let error = validate(&with("type", json!("loan.v1"))).unwrap_err();
        assert_eq!(error.field, "type");
        assert!(error.message.contains("unknown type"));
    }

    #[test]
    fn card_and_account_need_the_client_to_be_registered_for_them() {
        let statement = json!({"nonce": "n", "id": "card-1", "text": "Visa **** 1234"});
        let mut body = with("type", json!("card.v1"));
        body["permission"] = json!(crate::b64::encode(serde_json::to_vec(&statement).unwrap()));
        let error = validate(&body).unwrap_err();
        assert!(error.message.contains("--permission-type"));
        let policy = PermissionPolicy {
            extra_types: vec!["card.v1".into()],
            ..PermissionPolicy::new(NOW)
        };
        let valid =
            validate_permission_request(&serde_json::to_vec(&body).unwrap(), &policy).unwrap();
        assert_eq!(valid.statement.type_name(), "card.v1");
        assert_eq!(valid.statement.nonce(), Some("n"));
    }

    #[test]
    fn refuses_an_unknown_field_naming_it() {
        let error = validate(&with("amount", json!("1.00"))).unwrap_err();
        assert_eq!(error.field, "amount");
    }

    #[test]
    fn refuses_a_login_hint_with_a_bad_nnin() {
        let body = with(
            "loginHint",
            json!([{"scheme": "nnin", "value": "15076500566"}]),
        );
        assert_eq!(refused_field(&body), "loginHint[0].value");
    }

    #[test]
    fn refuses_a_login_hint_scheme_other_than_nnin() {
        let body = with("loginHint", json!([{"scheme": "phone", "value": NNIN}]));
        assert_eq!(refused_field(&body), "loginHint[0].scheme");
        let two = json!([{"scheme": "nnin", "value": NNIN}, {"scheme": "nnin", "value": NNIN}]);
        assert_eq!(refused_field(&with("loginHint", two)), "loginHint");
    }

    #[test]
    fn refuses_a_payment_without_nonce() {
        let statement = json!({"id": "basket", "payments": [
            {"paymentId": "p1", "amount": "1.00", "currency": "NOK", "creditorName": "C"}]});
        let body = with(
            "permission",
            json!(crate::b64::encode(serde_json::to_vec(&statement).unwrap())),
        );
        assert_eq!(refused_field(&body), "permission.nonce");
    }

    #[test]
    fn refuses_a_permission_that_is_not_base64url() {
        let error = validate(&with("permission", json!("eyJ+/=="))).unwrap_err();
        assert_eq!(error.field, "permission");
        assert!(error.message.contains("base64url"));
    }

    #[test]
    fn refuses_a_body_over_32_kib() {
        let mut body = serde_json::to_vec(&seed_body()).unwrap();
        body.truncate(body.len() - 1);
        body.extend(std::iter::repeat_n(b' ', MAX_BODY_BYTES));
        body.push(b'}');
        let error = validate_permission_request(&body, &PermissionPolicy::new(NOW)).unwrap_err();
        assert_eq!(error.field, "body");
    }

    #[test]
    fn refuses_duplicate_intents() {
        let error = validate(&with("intents", json!(["iframe", "ciba", "iframe"]))).unwrap_err();
        assert_eq!(error.field, "intents[2]");
    }

    #[test]
    fn refuses_an_unknown_intent() {
        let error = validate(&with("intents", json!(["iframe", "sms"]))).unwrap_err();
        assert_eq!(error.field, "intents[1]");
    }

    #[test]
    fn refuses_acr_values_other_than_bis_and_a_loa_other_than_sub() {
        let body = with("acr_values", json!(["urn:bankid:bid;LOA=4"]));
        assert_eq!(refused_field(&body), "acr_values[0]");
        assert_eq!(refused_field(&with("loa", json!("high"))), "loa");
    }

    #[test]
    fn user_exists_reads_exactly_one_nnin() {
        let body = json!({"loginHint": [{"scheme": "nnin", "value": NNIN}]}).to_string();
        assert_eq!(parse_user_exists(body.as_bytes()).unwrap(), NNIN);
        for bad in [
            json!({}),
            json!({"loginHint": []}),
            json!({"loginHint": [{"scheme": "nnin", "value": "123"}]}),
            json!({"loginHint": [{"scheme": "nnin", "value": NNIN}], "x": 1}),
        ] {
            assert!(
                parse_user_exists(bad.to_string().as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn binding_messages_are_two_capitalized_words_like_the_seed() {
        let farlig = ADJECTIVES.iter().position(|w| *w == "farlig").unwrap() as u8;
        let frakk = NOUNS.iter().position(|w| *w == "frakk").unwrap() as u8;
        assert_eq!(binding_message([farlig, frakk]), "Farlig frakk");
        let aerlig = ADJECTIVES.iter().position(|w| *w == "ærlig").unwrap() as u8;
        assert!(binding_message([aerlig, 0]).starts_with("Ærlig "));
        for list in [&ADJECTIVES[..], &NOUNS[..]] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len(), "no word twice");
            assert!(list.iter().all(|w| w.chars().all(char::is_alphabetic)));
        }
    }

    #[test]
    fn permission_ids_have_the_seed_shape_and_junk_is_refused() {
        let id = permission_id(&[1; 32], &[2; 32]);
        assert!(is_permission_id(&id));
        assert!(is_permission_id(
            "1.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0"
        ));
        for junk in [
            "",
            "1.BY",
            "2.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0",
            "1.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0.x",
            "1.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.../../etc/passwd",
            "1.BY.MEKrA+00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0",
        ] {
            assert!(!is_permission_id(junk), "{junk}");
        }
    }

    #[test]
    fn grant_claims_use_the_seed_names() {
        let claims = GrantClaims {
            gv: GRANT_VERSION,
            pt: "payment.v1".into(),
            type_: GRANT_TYPE.into(),
            rp_id: "merchant".into(),
            sv: "2025-01-01@abc".into(),
            iat: NOW,
            iss: "https://op.example/bis".into(),
            nonce: "n".into(),
            proof_key_id: "k".into(),
            sub: format!("nnin:{NNIN}"),
            permission_id: permission_id(&[1; 32], &[2; 32]),
            digest: "d".into(),
        };
        let json = serde_json::to_value(&claims).unwrap();
        for name in [
            "gv",
            "pt",
            "type",
            "rpId",
            "sv",
            "iat",
            "iss",
            "nonce",
            "proofKeyId",
        ] {
            assert!(json.get(name).is_some(), "{name}");
        }
        assert!(json.get("permissionId").is_some() && json.get("digest").is_some());
        assert_eq!(serde_json::from_value::<GrantClaims>(json).unwrap(), claims);
    }
}

//! Permission statements: what the user is asked to approve, as a base64url JSON statement.
//!
//! Two paths carry them. Rich authorization requests (RFC 9396, BankID's `payment.v1`) send
//! `authorization_details=[{"type":"payment.v1","permission":"<base64url(JSON statement)>"}]`;
//! the permissions API of BankID with biometrics (`POST {permissions_endpoint}`, see
//! [`crate::permission_request`]) sends a `type` and a `permission` of any type below. Both share
//! the statement rules here.
//!
//! The digest that the ID token (`permission_digest`), the access token and the permission grant
//! carry is base64url(SHA-256(statement bytes as sent)), so the merchant can compute it from the
//! value it built.

use crate::permission_request::PermissionError;
use aws_lc_rs::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

/// A login with no statement to show: the default type of the permissions API.
pub const AUTHENTICATION_V1: &str = "authentication.v1";
/// A free text the user approves; only for clients with the scope `permissions/text`.
pub const TEXT_V1: &str = "text.v1";
pub const PAYMENT_V1: &str = "payment.v1";
/// Card and account approvals *(ours: the seeds name them but not their shape)*; a client may
/// use them only when it was registered for them.
pub const CARD_V1: &str = "card.v1";
pub const ACCOUNT_V1: &str = "account.v1";
/// Every statement type this provider knows.
pub const STATEMENT_TYPES: [&str; 5] =
    [AUTHENTICATION_V1, TEXT_V1, PAYMENT_V1, CARD_V1, ACCOUNT_V1];

/// Most payments in one statement, and the longest encoded statement.
pub const MAX_PAYMENTS: usize = 50;
pub const MAX_STATEMENT_LEN: usize = 16 * 1024;
/// The longest `text` of `text.v1`, card and account statements, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// The longest nonce and reference (`id`, `paymentId`), in characters.
const MAX_REFERENCE_CHARS: usize = 256;
const MAX_CREDITOR_NAME_CHARS: usize = 140;

/// The active ISO 4217 alphabetic codes (List One, "Current currency & funds code list", of the
/// maintenance agency SIX, as amended up to 2025: ANG, HRK, SLL and ZWL withdrawn; SLE, VED, XCG
/// and ZWG in), sorted for binary search. Two codes of that list are left out on purpose: XTS
/// (reserved for testing) and XXX ("no currency") name no money that a payment can move.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
    "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// Whether `code` is an active ISO 4217 alphabetic currency code.
pub fn is_iso_4217(code: &str) -> bool {
    ISO_4217.binary_search(&code).is_ok()
}

/// `authentication.v1`: nothing to approve beyond the login itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationStatement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// `text.v1`: a text of 1 to 1000 printable characters (newlines allowed) the user approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextStatement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub text: String,
}

/// `card.v1` and `account.v1` *(ours)*: `id` is the merchant's reference to the card or account,
/// `text` what the user approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalStatement {
    pub nonce: String,
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: String,
    pub amount: String,
    pub currency: String,
    pub creditor_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStatement {
    pub nonce: String,
    pub id: String,
    pub payments: Vec<Payment>,
}

/// A validated statement of one of the [`STATEMENT_TYPES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Statement {
    Authentication(AuthenticationStatement),
    Text(TextStatement),
    Payment(PaymentStatement),
    /// `card.v1` or `account.v1`, named by `type_`.
    Approval {
        type_: String,
        statement: ApprovalStatement,
    },
}

impl Statement {
    /// The nonce the grant must carry back; `authentication.v1` and `text.v1` may go without.
    pub fn nonce(&self) -> Option<&str> {
        match self {
            Statement::Authentication(s) => s.nonce.as_deref(),
            Statement::Text(s) => s.nonce.as_deref(),
            Statement::Payment(s) => Some(&s.nonce),
            Statement::Approval { statement, .. } => Some(&statement.nonce),
        }
    }

    pub fn type_name(&self) -> &str {
        match self {
            Statement::Authentication(_) => AUTHENTICATION_V1,
            Statement::Text(_) => TEXT_V1,
            Statement::Payment(_) => PAYMENT_V1,
            Statement::Approval { type_, .. } => type_,
        }
    }

    /// The statement's JSON, as a merchant sends it (before base64url).
    pub fn to_json(&self) -> Vec<u8> {
        let json = match self {
            Statement::Authentication(s) => serde_json::to_vec(s),
            Statement::Text(s) => serde_json::to_vec(s),
            Statement::Payment(s) => serde_json::to_vec(s),
            Statement::Approval { statement, .. } => serde_json::to_vec(statement),
        };
        json.expect("statements serialize to JSON")
    }
}

/// One validated entry of `authorization_details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationDetail {
    #[serde(rename = "type")]
    pub type_: String,
    /// The statement as sent (base64url).
    pub permission: String,
    /// base64url(SHA-256(statement bytes)).
    pub digest: String,
    /// The decoded statement, to show the user.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub statement: Option<PaymentStatement>,
}

/// The digest of a statement as sent (its base64url text decoded to bytes).
pub fn digest_of(statement_bytes: &[u8]) -> String {
    crate::b64::encode(digest(&SHA256, statement_bytes))
}

/// A decimal amount greater than zero, with a dot as separator and at most 14 significant
/// digits: `123.45`. Signs, exponents, commas and spaces are refused: the user must see exactly
/// the amount the bank will move.
fn check_amount(amount: &str) -> Result<(), String> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits_only(whole)
        || !digits_only(fraction)
        || (amount.contains('.') && fraction.is_empty())
    {
        return Err(format!(
            "'{amount}' is not a decimal number with a dot as separator, e.g. 123.45"
        ));
    }
    if amount.bytes().all(|b| b == b'0' || b == b'.') {
        return Err(format!("'{amount}' is not greater than zero"));
    }
    let significant = whole.trim_start_matches('0').len() + fraction.len();
    if significant > 14 {
        return Err(format!("'{amount}' has more than 14 significant digits"));
    }
    Ok(())
}

/// 1 to `max` characters, not only white space, and no control characters (newlines only where
/// `newlines` allows them).
fn check_text(field: &str, value: &str, max: usize, newlines: bool) -> Result<(), PermissionError> {
    let control = |c: char| c.is_control() && !(newlines && (c == '\n' || c == '\r'));
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(control) {
        let allowed = if newlines { " (newlines allowed)" } else { "" };
        return Err(PermissionError::new(
            field,
            format!("1 to {max} printable characters{allowed}"),
        ));
    }
    Ok(())
}

fn check_nonce(nonce: Option<&str>) -> Result<(), PermissionError> {
    match nonce {
        Some(nonce) => check_text("permission.nonce", nonce, MAX_REFERENCE_CHARS, false),
        None => Ok(()),
    }
}

fn check_payment_statement(statement: &PaymentStatement) -> Result<(), PermissionError> {
    check_nonce(Some(&statement.nonce))?;
    check_text("permission.id", &statement.id, MAX_REFERENCE_CHARS, false)?;
    if statement.payments.is_empty() || statement.payments.len() > MAX_PAYMENTS {
        return Err(PermissionError::new(
            "permission.payments",
            format!("1 to {MAX_PAYMENTS} payments"),
        ));
    }
    for (i, p) in statement.payments.iter().enumerate() {
        let field = |name: &str| format!("permission.payments[{i}].{name}");
        check_text(
            &field("paymentId"),
            &p.payment_id,
            MAX_REFERENCE_CHARS,
            false,
        )?;
        check_text(
            &field("creditorName"),
            &p.creditor_name,
            MAX_CREDITOR_NAME_CHARS,
            false,
        )?;
        check_amount(&p.amount).map_err(|e| PermissionError::new(field("amount"), e))?;
        if !is_iso_4217(&p.currency) {
            return Err(PermissionError::new(
                field("currency"),
                format!(
                    "'{}' is not an active ISO 4217 currency code such as NOK",
                    p.currency
                ),
            ));
        }
    }
    Ok(())
}

/// Decodes a base64url statement to its bytes and JSON object, refusing what is no statement.
fn decode_statement(
    permission: &str,
) -> Result<(Vec<u8>, serde_json::Map<String, serde_json::Value>), PermissionError> {
    if permission.len() > MAX_STATEMENT_LEN {
        return Err(PermissionError::new(
            "permission",
            format!("longer than {MAX_STATEMENT_LEN} characters"),
        ));
    }
    let bytes = crate::b64::decode(permission)
        .map_err(|_| PermissionError::new("permission", "not base64url without padding"))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(object)) => Ok((bytes, object)),
        _ => Err(PermissionError::new(
            "permission",
            "the decoded statement is not a JSON object",
        )),
    }
}

/// Reads the statement object as the type `T`, naming the type's shape when it does not fit.
fn statement_as<T: serde::de::DeserializeOwned>(
    object: serde_json::Map<String, serde_json::Value>,
    type_: &str,
    shape: &str,
) -> Result<T, PermissionError> {
    serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| {
        PermissionError::new(
            "permission",
            format!("not a {type_} statement {shape} ({e})"),
        )
    })
}

/// Decodes and validates a base64url statement of the given type; returns it with its digest.
pub fn parse_statement(
    type_: &str,
    permission_b64: &str,
) -> Result<(Statement, String), PermissionError> {
    if !STATEMENT_TYPES.contains(&type_) {
        return Err(unknown_type(type_));
    }
    let (bytes, object) = decode_statement(permission_b64)?;
    let needs_nonce = matches!(type_, PAYMENT_V1 | CARD_V1 | ACCOUNT_V1);
    if needs_nonce && !object.contains_key("nonce") {
        return Err(PermissionError::new(
            "permission.nonce",
            format!("required for {type_}: a value unique to this permission"),
        ));
    }
    let statement = match type_ {
        AUTHENTICATION_V1 => {
            let s: AuthenticationStatement = statement_as(object, type_, "{\"nonce\"?: string}")?;
            check_nonce(s.nonce.as_deref())?;
            Statement::Authentication(s)
        }
        TEXT_V1 => {
            let s: TextStatement = statement_as(object, type_, "{\"nonce\"?, \"text\"}")?;
            check_nonce(s.nonce.as_deref())?;
            check_text("permission.text", &s.text, MAX_TEXT_CHARS, true)?;
            Statement::Text(s)
        }
        PAYMENT_V1 => {
            let s: PaymentStatement =
                statement_as(object, type_, "{\"nonce\", \"id\", \"payments\"}")?;
            check_payment_statement(&s)?;
            Statement::Payment(s)
        }
        _ => {
            let s: ApprovalStatement =
                statement_as(object, type_, "{\"nonce\", \"id\", \"text\"}")?;
            check_nonce(Some(&s.nonce))?;
            check_text("permission.id", &s.id, MAX_REFERENCE_CHARS, false)?;
            check_text("permission.text", &s.text, MAX_TEXT_CHARS, true)?;
            Statement::Approval {
                type_: type_.to_owned(),
                statement: s,
            }
        }
    };
    Ok((statement, digest_of(&bytes)))
}

pub(crate) fn unknown_type(type_: &str) -> PermissionError {
    PermissionError::new(
        "type",
        format!(
            "unknown type '{type_}' (known: {})",
            STATEMENT_TYPES.join(", ")
        ),
    )
}

/// Validates a base64url payment statement (the rich authorization request path).
pub fn parse_payment_statement(permission: &str) -> Result<(PaymentStatement, String), String> {
    match parse_statement(PAYMENT_V1, permission).map_err(|e| e.to_string())? {
        (Statement::Payment(statement), digest) => Ok((statement, digest)),
        _ => unreachable!("parse_statement returns the type it was asked for"),
    }
}

/// Parses and validates the `authorization_details` parameter.
pub fn parse_authorization_details(text: &str) -> Result<Vec<AuthorizationDetail>, String> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "type")]
        type_: String,
        permission: Option<String>,
    }
    let raw: Vec<Raw> = serde_json::from_str(text).map_err(|_| {
        "authorization_details: must be a JSON array of {\"type\", \"permission\"} objects"
            .to_owned()
    })?;
    if raw.is_empty() || raw.len() > 5 {
        return Err("authorization_details: 1 to 5 entries".into());
    }
    raw.into_iter()
        .map(|entry| {
            if entry.type_ != PAYMENT_V1 {
                return Err(format!(
                    "authorization_details: type '{}' is not supported (payment.v1)",
                    entry.type_
                ));
            }
            let permission = entry
                .permission
                .ok_or("authorization_details: permission is required")?;
            let (statement, digest) = parse_payment_statement(&permission)
                .map_err(|e| format!("authorization_details: {e}"))?;
            Ok(AuthorizationDetail {
                type_: PAYMENT_V1.into(),
                permission,
                digest,
                statement: Some(statement),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: serde_json::Value) -> String {
        crate::b64::encode(serde_json::to_vec(&value).unwrap())
    }

    fn statement(amount: &str, currency: &str) -> String {
        encode(
            serde_json::json!({"nonce": "dW5pcXVl", "id": "basket", "payments": [
            {"paymentId": "p1", "amount": amount, "currency": currency, "creditorName": "Scrooge McDuck"}]}),
        )
    }

    #[test]
    fn the_seed_example_statement_is_valid_and_its_digest_is_sha256_of_the_bytes() {
        // The statement of seed 004, as encoded there.
        let permission = "eyJub25jZSI6ImRXNXBjWFZsSUhaaGJIVmwiLCJpZCI6IlltRnphMlYwSUdsayIsInBheW1lbnRzIjpbeyJwYXltZW50SWQiOiJjR0Y1YldWdWRDQnBaQSIsImFtb3VudCI6IjEyMy40NSIsImN1cnJlbmN5IjoiTk9LIiwiY3JlZGl0b3JOYW1lIjoiU2Nyb29nZSBNY0R1Y2sifV19";
        let (s, digest) = parse_payment_statement(permission).unwrap();
        assert_eq!(s.payments[0].amount, "123.45");
        assert_eq!(digest, digest_of(&crate::b64::decode(permission).unwrap()));
        let details = parse_authorization_details(&format!(
            r#"[{{"type":"payment.v1","permission":"{permission}"}}]"#
        ))
        .unwrap();
        assert_eq!(details[0].digest, digest);
    }

    #[test]
    fn refuses_bad_amounts_currencies_and_shapes() {
        for amount in ["123,45", "12.", ".5", "-1", "1e3", "123456789012345", ""] {
            assert!(
                parse_payment_statement(&statement(amount, "NOK")).is_err(),
                "{amount}"
            );
        }
        assert!(parse_payment_statement(&statement("1234567890123.4", "NOK")).is_ok());
        for currency in ["nok", "NO", "NOKK", "N0K"] {
            assert!(
                parse_payment_statement(&statement("1.00", currency)).is_err(),
                "{currency}"
            );
        }
        assert!(parse_payment_statement("not base64!").is_err());
        assert!(
            parse_payment_statement(&encode(
                serde_json::json!({"nonce": "n", "id": "i", "payments": []})
            ))
            .is_err()
        );
        assert!(parse_authorization_details(r#"[{"type":"card.v1","permission":"x"}]"#).is_err());
        assert!(parse_authorization_details(r#"{"type":"payment.v1"}"#).is_err());
        assert!(parse_authorization_details("[]").is_err());
    }

    #[test]
    fn the_currency_list_is_sorted_and_knows_real_codes_only() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
        for code in ["NOK", "EUR", "SEK", "USD", "DKK", "ZWG"] {
            assert!(is_iso_4217(code), "{code}");
        }
        for code in ["XYZ", "XXX", "XTS", "HRK", "nok", ""] {
            assert!(!is_iso_4217(code), "{code}");
        }
    }

    #[test]
    fn statements_round_trip_through_their_json() {
        let statement = Statement::Text(TextStatement {
            nonce: Some("n".into()),
            text: "Godkjenn\navtalen".into(),
        });
        let b64 = crate::b64::encode(statement.to_json());
        let (parsed, digest) = parse_statement(TEXT_V1, &b64).unwrap();
        assert_eq!(parsed, statement);
        assert_eq!(digest, digest_of(&statement.to_json()));
    }
}

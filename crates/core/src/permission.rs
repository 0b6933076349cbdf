//! Rich authorization requests for payments (RFC 9396, BankID's `payment.v1`): the
//! `authorization_details` parameter and the permission statement it carries.
//!
//! `authorization_details=[{"type":"payment.v1","permission":"<base64url(JSON statement)>"}]`,
//! where the statement is `{"nonce", "id", "payments": [{"paymentId", "amount", "currency",
//! "creditorName"}]}`. The digest that the ID token (`permission_digest`) and the access token
//! carry is base64url(SHA-256(statement bytes as sent)), so the merchant can compute it from the
//! value it built.

use aws_lc_rs::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

pub const PAYMENT_V1: &str = "payment.v1";
/// Most payments in one statement, and the longest encoded statement.
pub const MAX_PAYMENTS: usize = 50;
pub const MAX_STATEMENT_LEN: usize = 16 * 1024;

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

/// A decimal amount with a dot as separator and at most 14 significant digits: `123.45`.
fn check_amount(amount: &str) -> Result<(), String> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits_only(whole)
        || !digits_only(fraction)
        || (amount.contains('.') && fraction.is_empty())
    {
        return Err(format!(
            "amount '{amount}': a decimal number with a dot as separator, e.g. 123.45"
        ));
    }
    let significant = whole.trim_start_matches('0').len() + fraction.len();
    if significant > 14 {
        return Err(format!(
            "amount '{amount}': more than 14 significant digits"
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(format!("{field}: 1 to {max} printable characters"));
    }
    Ok(())
}

/// Validates a base64url payment statement.
pub fn parse_payment_statement(permission: &str) -> Result<(PaymentStatement, String), String> {
    if permission.len() > MAX_STATEMENT_LEN {
        return Err(format!(
            "permission: longer than {MAX_STATEMENT_LEN} characters"
        ));
    }
    let bytes = crate::b64::decode(permission)
        .map_err(|_| "permission: not base64url without padding".to_owned())?;
    let statement: PaymentStatement = serde_json::from_slice(&bytes).map_err(|e| {
        format!("permission: not a payment.v1 statement {{nonce, id, payments}} ({e})")
    })?;
    check_text("permission.nonce", &statement.nonce, 256)?;
    check_text("permission.id", &statement.id, 256)?;
    if statement.payments.is_empty() || statement.payments.len() > MAX_PAYMENTS {
        return Err(format!("permission.payments: 1 to {MAX_PAYMENTS} payments"));
    }
    for p in &statement.payments {
        check_text("permission.payments.paymentId", &p.payment_id, 256)?;
        check_text("permission.payments.creditorName", &p.creditor_name, 140)?;
        check_amount(&p.amount).map_err(|e| format!("permission.payments.{e}"))?;
        if p.currency.len() != 3 || !p.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "permission.payments.currency '{}': an ISO 4217 code such as NOK",
                p.currency
            ));
        }
    }
    Ok((statement, digest_of(&bytes)))
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
}

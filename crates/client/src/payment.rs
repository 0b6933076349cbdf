//! Rich authorization requests for payments (RFC 9396, BankID's `payment.v1`): the statement the
//! user approves, the `authorization_details` that carries it (inside PAR only), and the check
//! that the ID token's `permission_digest` is the digest of exactly that statement.
//!
//! The digest is what binds the login to the payment: a merchant that executes the payments of
//! its own statement after seeing the matching digest knows the user approved those payments and
//! not others.
//!
//! ```
//! use bankid_oidc_client::payment::PaymentRequest;
//!
//! let payment = PaymentRequest::new("basket-42")
//!     .payment("order-1", "123.45", "NOK", "Scrooge McDuck")
//!     .build()?;
//! // Send payment.authorization_details with Client::push_authorization_request (via
//! // AuthorizationRequest::payment), keep payment.expected_digest with the pending login.
//! assert!(payment.authorization_details.starts_with(r#"[{"type":"payment.v1""#));
//! # Ok::<(), bankid_oidc_client::Error>(())
//! ```

use crate::{Error, random};
use bankid_oidc_core::b64;
use bankid_oidc_core::claims::IdTokenClaims;
use bankid_oidc_core::permission::{PAYMENT_V1, parse_payment_statement};
pub use bankid_oidc_core::permission::{Payment, PaymentStatement};
use serde::Serialize;
use subtle::ConstantTimeEq;

/// Builds a `payment.v1` statement.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    id: String,
    nonce: Option<String>,
    payments: Vec<Payment>,
}

/// A validated statement, ready to send, and the digest to expect back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAuthorization {
    pub statement: PaymentStatement,
    /// base64url of the statement's JSON bytes, as sent in `permission`.
    pub permission: String,
    /// The `authorization_details` parameter: `[{"type":"payment.v1","permission":"..."}]`.
    pub authorization_details: String,
    /// base64url(SHA-256(statement bytes)): the ID token's `permission_digest` must equal it.
    pub expected_digest: String,
}

impl PaymentRequest {
    /// A statement with the merchant's identifier for it (a basket, an order).
    pub fn new(id: &str) -> Self {
        PaymentRequest {
            id: id.to_owned(),
            nonce: None,
            payments: Vec::new(),
        }
    }

    /// The statement's nonce; 256 random bits unless set, so that two statements for the same
    /// basket never share a digest.
    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = Some(nonce.to_owned());
        self
    }

    /// Adds a payment: `amount` with a dot as decimal separator (`123.45`), `currency` an ISO 4217
    /// code (`NOK`).
    pub fn payment(
        mut self,
        payment_id: &str,
        amount: &str,
        currency: &str,
        creditor_name: &str,
    ) -> Self {
        self.payments.push(Payment {
            payment_id: payment_id.to_owned(),
            amount: amount.to_owned(),
            currency: currency.to_owned(),
            creditor_name: creditor_name.to_owned(),
        });
        self
    }

    /// Encodes the statement and checks it with the provider's own rules (amounts, currencies,
    /// lengths, 1 to 50 payments).
    pub fn build(self) -> Result<PaymentAuthorization, Error> {
        let statement = PaymentStatement {
            nonce: self.nonce.unwrap_or_else(random::token),
            id: self.id,
            payments: self.payments,
        };
        let bytes = serde_json::to_vec(&statement)
            .map_err(|e| Error::InvalidPaymentStatement(e.to_string()))?;
        let permission = b64::encode(&bytes);
        let (_, expected_digest) =
            parse_payment_statement(&permission).map_err(Error::InvalidPaymentStatement)?;
        #[derive(Serialize)]
        struct Detail<'a> {
            #[serde(rename = "type")]
            type_: &'a str,
            permission: &'a str,
        }
        let authorization_details = serde_json::to_string(&[Detail {
            type_: PAYMENT_V1,
            permission: &permission,
        }])
        .map_err(|e| Error::InvalidPaymentStatement(e.to_string()))?;
        Ok(PaymentAuthorization {
            statement,
            permission,
            authorization_details,
            expected_digest,
        })
    }
}

/// Checks that the ID token's `permission_digest` is the digest of the statement the merchant
/// sent. A missing digest fails too: the login then approved no payment.
pub fn verify_permission_digest(claims: &IdTokenClaims, expected: &str) -> Result<(), Error> {
    match &claims.permission_digest {
        Some(found) if bool::from(found.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        found => Err(Error::PermissionDigestMismatch {
            expected: expected.to_owned(),
            found: found.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::permission::{digest_of, parse_authorization_details};

    fn claims(digest: Option<&str>) -> IdTokenClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "https://op.example", "sub": "u", "aud": "c", "exp": 2, "iat": 1,
            "permission_digest": digest,
        }))
        .unwrap()
    }

    #[test]
    fn the_statement_round_trips_through_the_providers_parser_with_the_same_digest() {
        let payment = PaymentRequest::new("basket-42")
            .nonce("n-1")
            .payment("p1", "123.45", "NOK", "Scrooge McDuck")
            .payment("p2", "1.00", "EUR", "Donald Duck")
            .build()
            .unwrap();
        let details = parse_authorization_details(&payment.authorization_details).unwrap();
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].type_, "payment.v1");
        assert_eq!(details[0].permission, payment.permission);
        assert_eq!(details[0].digest, payment.expected_digest);
        assert_eq!(details[0].statement.as_ref(), Some(&payment.statement));
        assert_eq!(
            payment.expected_digest,
            digest_of(&b64::decode(&payment.permission).unwrap())
        );
        assert_eq!(payment.statement.nonce, "n-1");
    }

    #[test]
    fn statements_get_a_fresh_nonce_unless_one_is_given() {
        let build = || {
            PaymentRequest::new("b")
                .payment("p", "1", "NOK", "Shop")
                .build()
                .unwrap()
        };
        let (a, b) = (build(), build());
        assert_ne!(a.statement.nonce, b.statement.nonce);
        assert_ne!(a.expected_digest, b.expected_digest);
    }

    #[test]
    fn statements_the_provider_would_refuse_are_refused_here() {
        let bad = [
            PaymentRequest::new("b").build(),
            PaymentRequest::new("b")
                .payment("p", "12,50", "NOK", "Shop")
                .build(),
            PaymentRequest::new("b")
                .payment("p", "12.50", "nok", "Shop")
                .build(),
            PaymentRequest::new(" ")
                .payment("p", "12.50", "NOK", "Shop")
                .build(),
        ];
        for result in bad {
            assert!(
                matches!(result, Err(Error::InvalidPaymentStatement(_))),
                "{result:?}"
            );
        }
    }

    #[test]
    fn permission_digest_must_be_present_and_equal() {
        assert!(verify_permission_digest(&claims(Some("abc")), "abc").is_ok());
        match verify_permission_digest(&claims(Some("abc")), "abd") {
            Err(Error::PermissionDigestMismatch { expected, found }) => {
                assert_eq!(expected, "abd");
                assert_eq!(found.as_deref(), Some("abc"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            verify_permission_digest(&claims(None), "abc"),
            Err(Error::PermissionDigestMismatch { found: None, .. })
        ));
    }
}

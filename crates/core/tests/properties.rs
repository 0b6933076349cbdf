//! Properties that must hold for every input, not just the examples in the unit tests.

use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_core::permission::parse_payment_statement;
use bankid_oidc_core::{b64, pkce};
use proptest::prelude::*;

fn payment_statement(amount: &str) -> String {
    let statement = serde_json::json!({"nonce": "n", "id": "basket", "payments": [
        {"paymentId": "p1", "amount": amount, "currency": "NOK", "creditorName": "Scrooge McDuck"}]});
    b64::encode(serde_json::to_vec(&statement).unwrap())
}

/// A positive decimal with at most 14 significant digits: a whole part without leading zeros
/// (or a single 0) and an optional fraction, not all zero.
fn positive_amount() -> impl Strategy<Value = (String, String)> {
    ("[1-9][0-9]{0,6}|0", "[0-9]{0,7}")
        .prop_filter("greater than zero", |(whole, fraction)| {
            whole != "0" || fraction.bytes().any(|b| b != b'0')
        })
        .prop_filter("a fraction after 0", |(whole, fraction)| {
            whole != "0" || !fraction.is_empty()
        })
}

proptest! {
    #[test]
    fn base64url_round_trips_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = b64::encode(&bytes);
        prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(b64::decode(&text).unwrap(), bytes);
    }

    #[test]
    fn any_positive_dot_decimal_amount_is_accepted_and_its_comma_form_refused(
        (whole, fraction) in positive_amount()
    ) {
        let (dot, comma) = if fraction.is_empty() {
            (whole.clone(), None)
        } else {
            (format!("{whole}.{fraction}"), Some(format!("{whole},{fraction}")))
        };
        prop_assert!(parse_payment_statement(&payment_statement(&dot)).is_ok(), "{}", dot);
        if let Some(comma) = comma {
            prop_assert!(parse_payment_statement(&payment_statement(&comma)).is_err(), "{}", comma);
        }
    }

    #[test]
    fn amounts_with_more_than_14_significant_digits_are_refused(
        whole in "[1-9][0-9]{14,20}",
    ) {
        prop_assert!(parse_payment_statement(&payment_statement(&whole)).is_err());
    }

    #[test]
    fn a_generated_nnin_is_valid_and_changing_one_digit_breaks_it(
        year in 1900i32..2030, month in 1u32..=12, day in 1u32..=28, seed in 0u32..1000,
        position in 0usize..11, delta in 1u32..10,
    ) {
        let nnin = Nnin::synthetic(year, month, day, seed);
        prop_assert!(Nnin::parse(nnin.as_str()).is_ok());
        let mut digits: Vec<u32> = nnin.as_str().chars().map(|c| c.to_digit(10).unwrap()).collect();
        digits[position] = (digits[position] + delta) % 10;
        let changed: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
        // Mod-11 check digits catch every single-digit change (the weights are all prime to 11).
        prop_assert!(Nnin::parse(&changed).is_err(), "{} -> {}", nnin.as_str(), changed);
    }

    #[test]
    fn the_s256_challenge_of_any_valid_verifier_is_43_base64url_characters(
        verifier in "[A-Za-z0-9._~-]{43,128}",
    ) {
        let challenge = pkce::s256_challenge(&verifier);
        prop_assert_eq!(challenge.len(), 43);
        prop_assert!(pkce::check_challenge(&challenge).is_ok());
        prop_assert!(pkce::verify(&challenge, &verifier).is_ok());
    }
}

//! Properties that must hold for every input, not just the examples in the unit tests.

use bankid_oidc_core::acr::Method;
use bankid_oidc_core::login_hint::LoginHint;
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_core::permission::{self, Statement, parse_payment_statement};
use bankid_oidc_core::scope::ScopeSet;
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

/// A scope token: `%x21 / %x23-5B / %x5D-7E` (RFC 6749 section 3.3).
const SCOPE_TOKEN: &str = "[!#-\\[\\]-~]{1,12}";

fn scope_tokens() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(SCOPE_TOKEN, 1..8)
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Bid), Just(Method::Bim), Just(Method::Bis)]
}

/// Text a statement may carry: printable characters and newlines.
const STATEMENT_TEXT: &str = "[a-zA-Z0-9æøå][a-zA-Z0-9 .,:;!?æøåÆØÅ\n-]{0,79}";

proptest! {
    #[test]
    fn a_scope_set_prints_sorted_without_repeats_and_parses_back(tokens in scope_tokens()) {
        let set = ScopeSet::parse(&tokens.join(" ")).unwrap();
        let printed = set.to_string();
        let mut expected = tokens.clone();
        expected.sort();
        expected.dedup();
        prop_assert_eq!(&printed, &expected.join(" "));
        prop_assert_eq!(ScopeSet::parse(&printed).unwrap(), set);
    }

    #[test]
    fn scope_subset_and_difference_agree(a in scope_tokens(), b in scope_tokens()) {
        let (sa, sb) = (ScopeSet::parse(&a.join(" ")).unwrap(), ScopeSet::parse(&b.join(" ")).unwrap());
        let missing: Vec<&str> = sa.missing_from(&sb).collect();
        prop_assert_eq!(sa.is_subset(&sb), missing.is_empty());
        for s in sa.iter() {
            prop_assert_eq!(missing.contains(&s), !sb.contains(s));
        }
        let union: ScopeSet = sa.iter().chain(sb.iter()).collect();
        prop_assert!(sa.is_subset(&union) && sb.is_subset(&union));
        let both: ScopeSet = sa.iter().filter(|s| sb.contains(s)).collect();
        prop_assert!(both.is_subset(&sa) && both.is_subset(&sb));
    }

    #[test]
    fn a_scope_string_with_an_empty_token_is_refused(a in SCOPE_TOKEN, b in SCOPE_TOKEN) {
        for bad in [format!("{a}  {b}"), format!(" {a}"), format!("{a} ")] {
            prop_assert!(ScopeSet::parse(&bad).is_err(), "{:?}", bad);
        }
    }

    #[test]
    fn every_form_of_the_login_hint_grammar_parses_to_what_it_says(
        m in method(), year in 1900i32..2030, month in 1u32..=12, day in 1u32..=28,
        seed in 0u32..1000, mobile in "[0-9]{8}", birth in "[0-9]{6}",
    ) {
        let nnin = Nnin::synthetic(year, month, day, seed);
        prop_assert_eq!(LoginHint::parse(m.hint()).unwrap(), LoginHint::Method { method: m });
        prop_assert_eq!(
            LoginHint::parse(&format!("BID:{nnin}")).unwrap(),
            LoginHint::BidUser { nnin: nnin.clone() }
        );
        prop_assert_eq!(
            LoginHint::parse(&format!(":{nnin}")).unwrap(),
            LoginHint::User { nnin: nnin.clone() }
        );
        prop_assert_eq!(
            LoginHint::parse(&format!("BIM:{mobile}:{birth}")).unwrap(),
            LoginHint::BimUser { mobile: mobile.clone(), birth_ddmmyy: birth.clone() }
        );
        // Only BID names a user by NNIN; a lower-case keyword or a trailing part is refused.
        for bad in [
            format!("BIS:{nnin}"), format!("BIM:{nnin}"), m.hint().to_lowercase(),
            format!("BID:{nnin}:"), format!("BIM:{mobile}:{birth}:x"), format!("BIM:{mobile}"),
        ] {
            prop_assert!(LoginHint::parse(&bad).is_err(), "{:?}", bad);
        }
    }

    #[test]
    fn a_bim_hint_needs_exactly_8_and_6_digits(mobile in "[0-9]{0,12}", birth in "[0-9]{0,9}") {
        let accepted = LoginHint::parse(&format!("BIM:{mobile}:{birth}")).is_ok();
        prop_assert_eq!(accepted, mobile.len() == 8 && birth.len() == 6);
    }

    #[test]
    fn text_and_approval_statements_round_trip_through_their_json(
        nonce in "[a-zA-Z0-9_-]{1,32}", id in "[a-zA-Z0-9-]{1,32}", text in STATEMENT_TEXT,
        with_nonce in any::<bool>(),
    ) {
        let mut text_json = serde_json::json!({"text": text});
        if with_nonce {
            text_json["nonce"] = serde_json::json!(nonce);
        }
        let cases = [
            ("authentication.v1", if with_nonce { serde_json::json!({"nonce": nonce}) } else { serde_json::json!({}) }),
            ("text.v1", text_json),
            ("card.v1", serde_json::json!({"nonce": nonce, "id": id, "text": text})),
            ("account.v1", serde_json::json!({"nonce": nonce, "id": id, "text": text})),
        ];
        for (type_, json) in cases {
            let bytes = serde_json::to_vec(&json).unwrap();
            let (statement, digest) = permission::parse_statement(type_, &b64::encode(&bytes)).unwrap();
            prop_assert_eq!(&digest, &permission::digest_of(&bytes));
            prop_assert_eq!(statement.type_name(), type_);
            let again = permission::parse_statement(type_, &b64::encode(statement.to_json())).unwrap().0;
            prop_assert_eq!(again, statement);
        }
    }

    #[test]
    fn a_payment_statement_round_trips_through_its_json(
        nonce in "[a-zA-Z0-9_-]{1,32}", id in "[a-zA-Z0-9-]{1,32}",
        payments in proptest::collection::vec(
            ("[a-z0-9]{1,16}", "[1-9][0-9]{0,5}\\.[0-9]{2}", prop_oneof![Just("NOK"), Just("EUR"), Just("SEK")], "[A-Za-z][A-Za-z ]{0,29}"),
            1..5,
        ),
    ) {
        let payments: Vec<serde_json::Value> = payments.iter().map(|(pid, amount, currency, name)| serde_json::json!(
            {"paymentId": pid, "amount": amount, "currency": currency, "creditorName": name})).collect();
        let bytes = serde_json::to_vec(&serde_json::json!({"nonce": nonce, "id": id, "payments": payments})).unwrap();
        let (statement, digest) = parse_payment_statement(&b64::encode(&bytes)).unwrap();
        prop_assert_eq!(&digest, &permission::digest_of(&bytes));
        let wrapped = Statement::Payment(statement.clone());
        let (again, _) = parse_payment_statement(&b64::encode(wrapped.to_json())).unwrap();
        prop_assert_eq!(again, statement);
    }

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

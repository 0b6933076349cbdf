//! Every number the provider sends, at the edges: each response reader either accepts the value
//! or refuses it with its typed error, and nothing panics or overflows (issue 15, point 2).

use bankid_oidc_client::http::HttpResponse;
use bankid_oidc_client::introspection::process_introspection_response;
use bankid_oidc_client::par::process_par_response;
use bankid_oidc_client::token::read_token_response;
use bankid_oidc_client::userinfo::process_userinfo_response;
use bankid_oidc_client::{AccessToken, Error, Expected, IdTokenVerifier, KeySet};
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_testkit::id_token::{
    ACCESS_TOKEN, CLIENT_ID, ISSUER, NONCE, NOW, bankid_claims, with,
};
use bankid_oidc_testkit::test_key::{TestKey, jwks};
use std::time::{Duration, SystemTime};

/// Numbers as JSON text, so that those beyond u64 reach the readers as sent.
const I64_MAX: &str = "9223372036854775807";
const U64_MAX: &str = "18446744073709551615";
const I64_MIN: &str = "-9223372036854775808";
const BEYOND_U64: &str = "340282366920938463463374607431768211456";
/// Not integers, or not numbers at all.
const NOT_INTEGERS: [&str; 7] = [
    "1.5", "1e300", "-1e300", "1.8e19", BEYOND_U64, "\"300\"", "true",
];

fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
    }
}

fn is_malformed(result: &Result<impl std::fmt::Debug, Error>, what: &str) -> bool {
    matches!(result, Err(Error::MalformedResponse { what: w, .. }) if *w == what)
}

#[test]
fn token_response_expires_in() {
    let body =
        |n: &str| format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{n}}}"#);
    let received = SystemTime::now();
    for (n, expected) in [
        ("0", Some(0)),
        (I64_MAX, Some(i64::MAX as u64)),
        (U64_MAX, Some(u64::MAX)),
        ("null", None),
    ] {
        let tokens = read_token_response("u", &json(200, &body(n))).unwrap();
        assert_eq!(tokens.expires_in, expected, "{n}");
        // The machine-token cache adds it to the clock.
        let token = AccessToken::from_response(&tokens, received);
        token.fresh_at(received, Duration::from_secs(30));
    }
    for n in NOT_INTEGERS.iter().chain(&["-1", I64_MIN]) {
        let result = read_token_response("u", &json(200, &body(n)));
        assert!(is_malformed(&result, "token response"), "{n}: {result:?}");
    }
}

#[test]
fn pushed_authorization_response_expires_in() {
    let body = |n: &str| format!(r#"{{"request_uri":"urn:r","expires_in":{n}}}"#);
    for n in ["0", I64_MAX, U64_MAX] {
        process_par_response("u", &json(201, &body(n))).unwrap();
    }
    for n in NOT_INTEGERS.iter().chain(&["-1", I64_MIN, "null"]) {
        let result = process_par_response("u", &json(201, &body(n)));
        assert!(
            is_malformed(&result, "pushed authorization response"),
            "{n}: {result:?}"
        );
    }
}

#[test]
fn introspection_times() {
    for claim in ["exp", "iat", "nbf"] {
        let body = |n: &str| format!(r#"{{"active":true,"{claim}":{n}}}"#);
        for n in ["0", "-1", I64_MAX, I64_MIN, "null"] {
            process_introspection_response("u", &json(200, &body(n)))
                .unwrap_or_else(|e| panic!("{claim}={n}: {e}"));
        }
        for n in NOT_INTEGERS.iter().chain(&[U64_MAX]) {
            let result = process_introspection_response("u", &json(200, &body(n)));
            assert!(
                is_malformed(&result, "introspection response"),
                "{claim}={n}: {result:?}"
            );
        }
    }
}

struct Fixture {
    key: TestKey,
    keys: KeySet,
    verifier: IdTokenVerifier,
}

fn fixture() -> Fixture {
    let key = TestKey::es256("key-1");
    let metadata = ProviderMetadata {
        issuer: ISSUER.into(),
        jwks_uri: format!("{ISSUER}/certs"),
        id_token_signing_alg_values_supported: vec!["ES256".into()],
        ..Default::default()
    };
    Fixture {
        keys: KeySet::from_jwks(&jwks(&[&key])),
        verifier: IdTokenVerifier::new(&metadata, CLIENT_ID).unwrap(),
        key,
    }
}

/// A valid ID token whose `claim` is the JSON text `n` (`null`: absent).
fn id_token_with(f: &Fixture, claim: &str, n: &str) -> String {
    let claims = with(bankid_claims(), claim, serde_json::json!("__N__"));
    let payload = claims.to_string().replace("\"__N__\"", n);
    let payload = if n == "null" {
        payload.replace(&format!(",\"{claim}\":null"), "")
    } else {
        payload
    };
    f.key.sign_payload(&f.key.header(), &payload)
}

#[test]
fn id_token_exp_iat_and_nbf() {
    let f = fixture();
    let expected = Expected {
        nonce: Some(NONCE),
        access_token: Some(ACCESS_TOKEN),
    };
    let verify = |claim: &str, n: &str| {
        f.verifier
            .verify(&id_token_with(&f, claim, n), &f.keys, &expected, NOW)
    };
    // Integers within i64: compared with saturating arithmetic, each with its own answer.
    type Check = fn(&Result<bankid_oidc_client::IdToken, Error>) -> bool;
    let ok: Check = |r| r.is_ok();
    let expired: Check = |r| matches!(r, Err(Error::Expired { .. }));
    let future: Check = |r| matches!(r, Err(Error::IssuedInFuture { .. }));
    let not_yet: Check = |r| matches!(r, Err(Error::NotYetValid { .. }));
    let malformed: Check = |r| matches!(r, Err(Error::MalformedJwt(_)));
    let cases: [(&str, &str, Check); 15] = [
        ("exp", I64_MAX, ok),
        ("exp", I64_MIN, expired),
        ("exp", "-1", expired),
        ("exp", "0", expired),
        ("exp", "null", malformed),
        ("iat", I64_MAX, future),
        ("iat", I64_MIN, ok),
        ("iat", "0", ok),
        ("iat", "null", malformed),
        ("nbf", I64_MAX, not_yet),
        ("nbf", I64_MIN, ok),
        ("nbf", "-1", ok),
        ("nbf", "0", ok),
        ("nbf", "null", ok),
        ("nbf", "1800000030", ok),
    ];
    for (claim, n, check) in cases {
        let result = verify(claim, n);
        assert!(check(&result), "{claim}={n}: {result:?}");
    }
    // Beyond i64, or not integers: malformed, whichever claim.
    for claim in ["exp", "iat", "nbf"] {
        for n in NOT_INTEGERS.iter().chain(&[U64_MAX]) {
            let result = verify(claim, n);
            assert!(malformed(&result), "{claim}={n}: {result:?}");
        }
    }
}

#[test]
fn signed_userinfo_times_are_carried_not_computed() {
    let f = fixture();
    for claim in ["exp", "iat", "nbf", "updated_at"] {
        for n in NOT_INTEGERS
            .iter()
            .chain(&[U64_MAX, I64_MAX, I64_MIN, "-1"])
        {
            let payload =
                format!(r#"{{"iss":"{ISSUER}","aud":"{CLIENT_ID}","sub":"user-1","{claim}":{n}}}"#);
            let response = HttpResponse {
                status: 200,
                content_type: Some("application/jwt".into()),
                body: f.key.sign_payload(&f.key.header(), &payload).into_bytes(),
            };
            let info = process_userinfo_response("u", &response, &f.verifier, &f.keys, "user-1")
                .unwrap_or_else(|e| panic!("{claim}={n}: {e}"));
            assert!(info.other.contains_key(claim));
            // The profile view reads `updated_at` as an integer, and falls back to empty.
            let _ = info.profile();
        }
    }
}

//! Every ID token rule, one broken at a time on a token that is otherwise valid.

use bankid_oidc_client::{Error, Expected, IdTokenVerifier, KeySet};
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_testkit::id_token::{
    ACCESS_TOKEN, CLIENT_ID, ISSUER, NONCE, NOW, bankid_claims, with,
};
use bankid_oidc_testkit::test_key::{TestKey, hs256, jwks, signing_input};
use serde_json::{Value, json};
use std::time::Duration;

fn metadata(algs: &[&str]) -> ProviderMetadata {
    ProviderMetadata {
        issuer: ISSUER.into(),
        jwks_uri: format!("{ISSUER}/protocol/openid-connect/certs"),
        id_token_signing_alg_values_supported: algs.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

struct Fixture {
    key: TestKey,
    keys: KeySet,
    verifier: IdTokenVerifier,
}

fn fixture() -> Fixture {
    let key = TestKey::es256("key-1");
    let keys = KeySet::from_jwks(&jwks(&[&key]));
    let verifier = IdTokenVerifier::new(&metadata(&["ES256"]), CLIENT_ID)
        .unwrap()
        .min_loa(3);
    Fixture {
        key,
        keys,
        verifier,
    }
}

fn expected() -> Expected<'static> {
    Expected {
        nonce: Some(NONCE),
        access_token: Some(ACCESS_TOKEN),
    }
}

impl Fixture {
    fn verify(&self, token: &str) -> Result<bankid_oidc_client::IdToken, Error> {
        self.verifier.verify(token, &self.keys, &expected(), NOW)
    }

    fn verify_claims(&self, claims: Value) -> Result<bankid_oidc_client::IdToken, Error> {
        self.verify(&self.key.sign_claims(&claims))
    }
}

#[test]
fn a_bankid_id_token_passes_and_its_claims_are_typed() {
    let f = fixture();
    let token = f.verify_claims(bankid_claims()).unwrap();
    let c = &token.claims;
    assert_eq!(c.bankid_altsub.as_deref(), Some("9578-5999-4-1765512"));
    assert_eq!(c.nnin_altsub.as_deref(), Some("01817199946"));
    assert_eq!(c.profile.given_name.as_deref(), Some("Kari"));
    assert_eq!(c.profile.birthdate.as_deref(), Some("1971-01-01"));
    assert_eq!(c.amr, ["bis-mfa", "bis-hwk"]);
    assert_eq!(token.loa(), Some(3));
}

#[test]
fn a_bis_id_token_with_sub_nnin_and_sub_bankid_passes() {
    let f = fixture();
    let claims = with(bankid_claims(), "sub_nnin", json!("01817199946"));
    let claims = with(claims, "sub_bankid", json!("9578-5999-4-1765512"));
    let claims = with(claims, "proof_key_id", json!("pk-1"));
    let token = f.verify_claims(claims).unwrap();
    assert_eq!(token.claims.sub_nnin.as_deref(), Some("01817199946"));
    assert_eq!(
        token.claims.sub_bankid.as_deref(),
        Some("9578-5999-4-1765512")
    );
}

// --- algorithm and signature -----------------------------------------------------------------

#[test]
fn alg_none_is_refused_even_without_a_signature() {
    let f = fixture();
    let unsigned = format!(
        "{}.",
        signing_input(&json!({"alg": "none", "kid": "key-1"}), &bankid_claims())
    );
    assert!(matches!(f.verify(&unsigned), Err(Error::AlgNone)));
    let none_upper = format!(
        "{}.",
        signing_input(&json!({"alg": "NONE"}), &bankid_claims())
    );
    assert!(matches!(f.verify(&none_upper), Err(Error::AlgNone)));
}

#[test]
fn hs256_signed_with_the_providers_public_key_is_refused_even_when_announced() {
    let f = fixture();
    // The algorithm-confusion forgery: the public key is public, so anyone can "HMAC" with it.
    let forged = hs256(
        &json!({"alg": "HS256", "kid": "key-1"}),
        &bankid_claims(),
        &f.key.public_bytes(),
    );
    assert!(matches!(f.verify(&forged), Err(Error::AlgHmac(alg)) if alg == "HS256"));

    let careless = IdTokenVerifier::new(&metadata(&["HS256", "ES256"]), CLIENT_ID).unwrap();
    assert!(matches!(
        careless.verify(&forged, &f.keys, &expected(), NOW),
        Err(Error::AlgHmac(_))
    ));
    // A discovery document that offers nothing but HMAC gives no usable verifier at all.
    assert!(matches!(
        IdTokenVerifier::new(&metadata(&["HS256", "none"]), CLIENT_ID),
        Err(Error::MissingMetadata(_))
    ));
}

#[test]
fn alg_not_in_discovery_is_refused_before_any_key_is_used() {
    let rsa = TestKey::rsa("rsa-1", "RS256");
    let keys = KeySet::from_jwks(&jwks(&[&rsa]));
    let verifier = IdTokenVerifier::new(&metadata(&["ES256"]), CLIENT_ID).unwrap();
    let token = rsa.sign_claims(&bankid_claims());
    let err = verifier
        .verify(&token, &keys, &expected(), NOW)
        .unwrap_err();
    assert!(
        matches!(err, Error::AlgNotAllowed { ref alg, .. } if alg == "RS256"),
        "{err}"
    );
}

#[test]
fn rs256_and_ps256_tokens_verify_when_the_provider_announces_them() {
    for alg in ["RS256", "PS256"] {
        let rsa = TestKey::rsa("rsa-1", alg);
        let keys = KeySet::from_jwks(&jwks(&[&rsa]));
        let verifier = IdTokenVerifier::new(&metadata(&["ES256", alg]), CLIENT_ID).unwrap();
        let token = rsa.sign_claims(&bankid_claims());
        verifier.verify(&token, &keys, &expected(), NOW).unwrap();
    }
}

#[test]
fn unknown_kid_is_reported_as_unknown_key() {
    let f = fixture();
    let stranger = TestKey::es256("key-2");
    let err = f
        .verify(&stranger.sign_claims(&bankid_claims()))
        .unwrap_err();
    assert!(matches!(err, Error::UnknownKey { kid: Some(ref k) } if k == "key-2"));
}

#[test]
fn a_token_signed_by_another_key_under_our_kid_has_a_bad_signature() {
    let f = fixture();
    let impostor = TestKey::es256("key-1");
    assert!(matches!(
        f.verify(&impostor.sign_claims(&bankid_claims())),
        Err(Error::BadSignature)
    ));
}

#[test]
fn a_tampered_payload_has_a_bad_signature() {
    let f = fixture();
    let token = f.key.sign_claims(&bankid_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let evil = with(bankid_claims(), "sub", json!("someone-else"));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        bankid_oidc_core::b64::encode(evil.to_string()),
        parts[2]
    );
    assert!(matches!(f.verify(&tampered), Err(Error::BadSignature)));
}

#[test]
fn a_key_is_not_used_with_an_algorithm_of_another_family() {
    let key = TestKey::es256("key-1");
    let keys = KeySet::from_jwks(&jwks(&[&key]));
    let verifier = IdTokenVerifier::new(&metadata(&["ES256", "RS256"]), CLIENT_ID).unwrap();
    let token = key.sign(&json!({"alg": "RS256", "kid": "key-1"}), &bankid_claims());
    assert!(matches!(
        verifier.verify(&token, &keys, &expected(), NOW),
        Err(Error::KeyAlgMismatch { .. })
    ));
}

#[test]
fn encryption_keys_in_the_jwks_never_verify_signatures() {
    let key = TestKey::es256("key-1");
    let mut set = jwks(&[&key]);
    set.keys[0].use_ = Some("enc".into());
    let keys = KeySet::from_jwks(&set);
    let verifier = IdTokenVerifier::new(&metadata(&["ES256"]), CLIENT_ID).unwrap();
    assert!(matches!(
        verifier.verify(&key.sign_claims(&bankid_claims()), &keys, &expected(), NOW),
        Err(Error::UnknownKey { .. })
    ));
}

#[test]
fn unknown_critical_header_parameters_are_refused() {
    let f = fixture();
    let token = f.key.sign(
        &json!({"alg": "ES256", "kid": "key-1", "crit": ["exp"], "exp": 1}),
        &bankid_claims(),
    );
    assert!(matches!(
        f.verify(&token),
        Err(Error::UnsupportedCritical(_))
    ));
}

#[test]
fn malformed_tokens_are_reported_as_such() {
    let f = fixture();
    for token in ["", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig"] {
        let err = f.verify(token).unwrap_err();
        assert!(
            matches!(err, Error::MalformedJwt(_)),
            "{token:?} gave {err:?}"
        );
    }
}

// --- claims --------------------------------------------------------------------------------

#[test]
fn wrong_issuer_is_refused() {
    let f = fixture();
    let err = f
        .verify_claims(with(bankid_claims(), "iss", json!("https://evil.example")))
        .unwrap_err();
    assert!(matches!(err, Error::WrongIssuer { ref found, .. } if found == "https://evil.example"));
}

#[test]
fn wrong_audience_is_refused() {
    let f = fixture();
    let claims = with(bankid_claims(), "aud", json!("another-merchant"));
    let claims = with(claims, "azp", Value::Null);
    assert!(matches!(
        f.verify_claims(claims),
        Err(Error::WrongAudience { .. })
    ));
}

#[test]
fn several_audiences_need_azp_naming_this_client() {
    let f = fixture();
    let many = with(bankid_claims(), "aud", json!([CLIENT_ID, "api.example"]));
    f.verify_claims(many.clone()).unwrap();
    assert!(matches!(
        f.verify_claims(with(many.clone(), "azp", Value::Null)),
        Err(Error::MissingAzp)
    ));
    assert!(matches!(
        f.verify_claims(with(many, "azp", json!("api.example"))),
        Err(Error::WrongAzp { .. })
    ));
    // azp present with a single audience must still name us.
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "azp", json!("other"))),
        Err(Error::WrongAzp { .. })
    ));
}

#[test]
fn expired_token_is_refused_after_the_clock_skew() {
    let f = fixture();
    let expired = with(bankid_claims(), "exp", json!(NOW - 31));
    assert!(matches!(
        f.verify_claims(expired.clone()),
        Err(Error::Expired { skew: 30, .. })
    ));
    // Within the default skew of 30 s it still passes.
    f.verify_claims(with(bankid_claims(), "exp", json!(NOW - 30)))
        .unwrap();
    // A wider configured skew accepts it.
    let lenient = f.verifier.clone().clock_skew(Duration::from_secs(60));
    lenient
        .verify(&f.key.sign_claims(&expired), &f.keys, &expected(), NOW)
        .unwrap();
}

#[test]
fn token_used_before_its_nbf_is_refused_beyond_the_clock_skew() {
    let f = fixture();
    let early = with(bankid_claims(), "nbf", json!(NOW + 31));
    assert!(matches!(
        f.verify_claims(early.clone()),
        Err(Error::NotYetValid {
            nbf,
            now: NOW,
            skew: 30
        }) if nbf == NOW + 31
    ));
    f.verify_claims(with(bankid_claims(), "nbf", json!(NOW + 30)))
        .unwrap();
    let lenient = f.verifier.clone().clock_skew(Duration::from_secs(60));
    lenient
        .verify(&f.key.sign_claims(&early), &f.keys, &expected(), NOW)
        .unwrap();
}

#[test]
fn an_empty_sub_or_sid_is_refused() {
    let f = fixture();
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "sub", json!(""))),
        Err(Error::EmptyClaim("sub"))
    ));
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "sid", json!(""))),
        Err(Error::EmptyClaim("sid"))
    ));
    // sid is optional: absent is fine.
    f.verify_claims(with(bankid_claims(), "sid", Value::Null))
        .unwrap();
}

#[test]
fn token_issued_in_the_future_is_refused() {
    let f = fixture();
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "iat", json!(NOW + 31))),
        Err(Error::IssuedInFuture { .. })
    ));
    f.verify_claims(with(bankid_claims(), "iat", json!(NOW + 30)))
        .unwrap();
}

#[test]
fn wrong_or_missing_nonce_is_refused() {
    let f = fixture();
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "nonce", json!("replayed"))),
        Err(Error::NonceMismatch)
    ));
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "nonce", Value::Null)),
        Err(Error::MissingNonce)
    ));
}

#[test]
fn missing_or_insufficient_level_of_assurance_is_refused() {
    let f = fixture();
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "acr", Value::Null)),
        Err(Error::MissingAcr { required: 3 })
    ));
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "acr", json!("urn:bankid:bis;LOA=2"))),
        Err(Error::InsufficientLoa { required: 3, .. })
    ));
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "acr", json!("urn:bankid:bis"))),
        Err(Error::InsufficientLoa { .. })
    ));
    // LOA 4 (BankID high) satisfies a minimum of 3, but not the other way round.
    f.verify_claims(with(bankid_claims(), "acr", json!("urn:bankid:bid;LOA=4")))
        .unwrap();
    let high = f.verifier.clone().min_loa(4);
    assert!(matches!(
        high.verify(
            &f.key.sign_claims(&bankid_claims()),
            &f.keys,
            &expected(),
            NOW
        ),
        Err(Error::InsufficientLoa { required: 4, .. })
    ));
}

#[test]
fn at_hash_must_match_the_access_token() {
    let f = fixture();
    assert!(matches!(
        f.verify_claims(with(
            bankid_claims(),
            "at_hash",
            json!("AAAAAAAAAAAAAAAAAAAAAA")
        )),
        Err(Error::AtHashMismatch)
    ));
    let without = with(bankid_claims(), "at_hash", Value::Null);
    f.verify_claims(without.clone()).unwrap();
    let strict = f.verifier.clone().require_at_hash(true);
    assert!(matches!(
        strict.verify(&f.key.sign_claims(&without), &f.keys, &expected(), NOW),
        Err(Error::MissingAtHash)
    ));
}

#[test]
fn an_access_token_typed_jwt_cannot_pass_as_an_id_token() {
    let f = fixture();
    assert!(matches!(
        f.verify_claims(with(bankid_claims(), "typ", json!("Bearer"))),
        Err(Error::WrongTokenTyp(_))
    ));
}

#[test]
fn allowed_algs_can_be_narrowed_below_discovery() {
    let rsa = TestKey::rsa("rsa-1", "RS256");
    let keys = KeySet::from_jwks(&jwks(&[&rsa]));
    let verifier = IdTokenVerifier::new(&metadata(&["ES256", "RS256"]), CLIENT_ID)
        .unwrap()
        .allowed_algs(&["ES256"])
        .unwrap();
    assert!(matches!(
        verifier.verify(&rsa.sign_claims(&bankid_claims()), &keys, &expected(), NOW),
        Err(Error::AlgNotAllowed { .. })
    ));
}

//! Request objects (RFC 9101): what is accepted, and each rule's refusal by name.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use bankid_oidc_core::b64;
use bankid_oidc_core::error::ErrorCode;
use bankid_oidc_core::jwe::{
    self, ContentEncryption, DecryptionKey, EncryptOptions, KeyManagement,
};
use bankid_oidc_core::jwk::{Jwk, Jwks};
use bankid_oidc_core::request_object::{
    RequestObjectContent, RequestObjectError as E, RequestObjectRules, SigningAlg,
    decrypt_request_object, is_encrypted, verify_request_object,
};
use serde_json::{Value, json};
use std::sync::OnceLock;

const CLIENT: &str = "merchant-1";
const ISSUER: &str = "https://auth.example.no/auth/realms/current";
const NOW: i64 = 1_900_000_000;

struct ClientKeys {
    ec: EcdsaKeyPair,
    rsa: RsaKeyPair,
    jwks: Jwks,
}

/// One EC and one RSA signing key for the whole file: RSA generation is slow.
fn client() -> &'static ClientKeys {
    static KEYS: OnceLock<ClientKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let mut ec_jwk =
            Jwk::p256_from_uncompressed_point("ec-1", ec.public_key().as_ref()).unwrap();
        ec_jwk.alg = None;
        let public = rsa.public_key();
        let rsa_jwk = Jwk::rsa(
            "rsa-1",
            "sig",
            None,
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        );
        let enc_only = Jwk {
            use_: Some("enc".into()),
            kid: Some("enc-1".into()),
            ..rsa_jwk.clone()
        };
        ClientKeys {
            ec,
            rsa,
            jwks: Jwks {
                keys: vec![ec_jwk, rsa_jwk, enc_only],
            },
        }
    })
}

fn rules() -> RequestObjectRules<'static> {
    RequestObjectRules::new(CLIENT, ISSUER, NOW)
}

fn claims() -> Value {
    json!({
        "iss": CLIENT,
        "aud": ISSUER,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 300,
        "jti": "b3c7f1a0-request-1",
        "client_id": CLIENT,
        "response_type": "code",
        "scope": "openid nnin",
        "redirect_uri": "https://merchant.example/cb",
        "state": "s-1",
        "nonce": "n-1",
        "login_hint": "BID:07127000183",
        "max_age": 300,
        "claims": {"userinfo": {"nnin": null}},
    })
}

fn encode_jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64::encode(signature))
}

fn sign_with(alg: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": alg, "typ": "oauth-authz-req+jwt"});
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    encode_jws(&header, claims, |input| sign_bytes(alg, input))
}

fn sign_bytes(alg: &str, input: &[u8]) -> Vec<u8> {
    let rng = SystemRandom::new();
    let keys = client();
    let rsa = |padding: &'static dyn signature::RsaEncoding| {
        let mut out = vec![0u8; keys.rsa.public_modulus_len()];
        keys.rsa.sign(padding, &rng, input, &mut out).unwrap();
        out
    };
    match alg {
        "ES256" => keys.ec.sign(&rng, input).unwrap().as_ref().to_vec(),
        "RS256" => rsa(&signature::RSA_PKCS1_SHA256),
        "PS256" => rsa(&signature::RSA_PSS_SHA256),
        other => panic!("no signer for {other}"),
    }
}

fn sign(alg: &str, claims: &Value) -> String {
    let kid = if alg == "ES256" { "ec-1" } else { "rsa-1" };
    sign_with(alg, Some(kid), claims)
}

fn verify(compact: &str) -> Result<bankid_oidc_core::request_object::VerifiedRequestObject, E> {
    verify_request_object(compact, &client().jwks, &rules())
}

fn claims_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = claims();
    edit(c.as_object_mut().unwrap());
    c
}

// --- accepted ---

#[test]
fn es256_rs256_and_ps256_request_objects_are_accepted() {
    for alg in SigningAlg::ALL {
        let verified =
            verify(&sign(alg.name(), &claims())).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.alg, alg);
        assert_eq!(verified.jti, "b3c7f1a0-request-1");
        assert_eq!(verified.exp, NOW + 300);
        assert_eq!(verified.claims["login_hint"], "BID:07127000183");
    }
}

#[test]
fn authorization_parameters_are_the_claims_without_the_jwt_claims() {
    let verified = verify(&sign("ES256", &claims())).unwrap();
    let params = verified.authorization_parameters();
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("response_type"), Some("code"));
    assert_eq!(get("client_id"), Some(CLIENT));
    assert_eq!(get("max_age"), Some("300"));
    assert_eq!(get("claims"), Some(r#"{"userinfo":{"nnin":null}}"#));
    for jwt_claim in ["iss", "aud", "exp", "nbf", "iat", "jti"] {
        assert_eq!(get(jwt_claim), None, "{jwt_claim}");
    }
}

#[test]
fn the_only_signing_key_is_used_when_there_is_no_kid() {
    let only = Jwks {
        keys: vec![client().jwks.keys[0].clone(), client().jwks.keys[2].clone()],
    };
    let compact = sign_with("ES256", None, &claims());
    assert!(verify_request_object(&compact, &only, &rules()).is_ok());
    assert_eq!(verify(&compact).unwrap_err(), E::KidRequired);
}

#[test]
fn an_audience_array_containing_the_issuer_is_accepted() {
    let c = claims_with(|c| {
        c.insert("aud".into(), json!(["https://other.example", ISSUER]));
    });
    assert!(verify(&sign("PS256", &c)).is_ok());
}

#[test]
fn a_clock_a_little_behind_or_ahead_is_tolerated() {
    let c = claims_with(|c| {
        c.insert("nbf".into(), json!(NOW + 20));
        c.insert("iat".into(), json!(NOW + 20));
    });
    assert!(verify(&sign("ES256", &c)).is_ok());
    let late = RequestObjectRules {
        now: NOW + 310,
        ..rules()
    };
    assert!(verify_request_object(&sign("ES256", &claims()), &client().jwks, &late).is_ok());
}

// --- header and signature refusals ---

#[test]
fn alg_none_is_refused() {
    let compact = format!(
        "{}.{}.",
        b64::encode(json!({"alg": "none"}).to_string()),
        b64::encode(claims().to_string())
    );
    assert_eq!(verify(&compact).unwrap_err(), E::Unsigned);
}

#[test]
fn hs256_keyed_with_the_clients_public_key_is_refused() {
    // Key confusion: a verifier that fed the registered public key to HMAC would accept this.
    let public_key = client().rsa.public_key().as_der().unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, public_key.as_ref());
    let compact = encode_jws(
        &json!({"alg": "HS256", "kid": "rsa-1"}),
        &claims(),
        |input| hmac::sign(&key, input).as_ref().to_vec(),
    );
    assert_eq!(
        verify(&compact).unwrap_err(),
        E::SymmetricAlg("HS256".into())
    );
}

#[test]
fn algorithms_outside_the_allow_list_are_refused() {
    for alg in ["ES384", "RS512", "EdDSA", "ES256K"] {
        let compact = encode_jws(&json!({"alg": alg, "kid": "ec-1"}), &claims(), |_| {
            vec![0; 64]
        });
        assert_eq!(verify(&compact).unwrap_err(), E::UnsupportedAlg(alg.into()));
    }
}

#[test]
fn an_alg_that_does_not_fit_the_key_is_refused() {
    let compact = sign_with("RS256", Some("ec-1"), &claims());
    assert_eq!(
        verify(&compact).unwrap_err(),
        E::AlgDoesNotFitKey(SigningAlg::Rs256)
    );
    let compact = encode_jws(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims(), |i| {
        sign_bytes("ES256", i)
    });
    assert_eq!(
        verify(&compact).unwrap_err(),
        E::AlgDoesNotFitKey(SigningAlg::Es256)
    );
}

#[test]
fn an_unknown_kid_is_refused_and_an_encryption_key_is_not_a_signing_key() {
    assert_eq!(
        verify(&sign_with("RS256", Some("rsa-2"), &claims())).unwrap_err(),
        E::UnknownKid("rsa-2".into())
    );
    assert_eq!(
        verify(&sign_with("RS256", Some("enc-1"), &claims())).unwrap_err(),
        E::UnknownKid("enc-1".into())
    );
}

#[test]
fn a_bad_signature_is_refused() {
    for alg in SigningAlg::ALL {
        let good = sign(alg.name(), &claims());
        let forged_claims = claims_with(|c| {
            c.insert("login_hint".into(), "BID:01010112345".into());
        });
        let mut segments: Vec<String> = good.split('.').map(str::to_owned).collect();
        segments[1] = b64::encode(forged_claims.to_string());
        assert_eq!(
            verify(&segments.join(".")).unwrap_err(),
            E::BadSignature,
            "{alg}"
        );
    }
}

#[test]
fn crit_and_a_foreign_typ_are_refused() {
    let compact = encode_jws(
        &json!({"alg": "ES256", "kid": "ec-1", "crit": ["b64"], "b64": false}),
        &claims(),
        |i| sign_bytes("ES256", i),
    );
    assert_eq!(verify(&compact).unwrap_err(), E::CriticalHeader);
    let compact = encode_jws(
        &json!({"alg": "ES256", "kid": "ec-1", "typ": "at+jwt"}),
        &claims(),
        |i| sign_bytes("ES256", i),
    );
    assert_eq!(verify(&compact).unwrap_err(), E::WrongType("at+jwt".into()));
}

#[test]
fn malformed_and_oversize_objects_are_refused() {
    assert!(matches!(verify("a.b"), Err(E::Malformed(_))));
    assert!(matches!(verify("!!.e30.AA"), Err(E::Malformed(_))));
    let huge = "A".repeat(70_000);
    assert_eq!(verify(&huge).unwrap_err(), E::TooLarge);
}

// --- claim refusals ---

#[test]
fn each_claim_rule_is_refused_by_name() {
    let cases: Vec<(&str, Value, E)> = vec![
        (
            "iss is another client",
            claims_with(|c| {
                c.insert("iss".into(), "merchant-2".into());
            }),
            E::WrongIssuer,
        ),
        (
            "iss missing",
            claims_with(|c| {
                c.remove("iss");
            }),
            E::WrongIssuer,
        ),
        (
            "aud is another issuer",
            claims_with(|c| {
                c.insert(
                    "aud".into(),
                    "https://auth.example.no/auth/realms/other".into(),
                );
            }),
            E::WrongAudience(ISSUER.into()),
        ),
        (
            "exp missing",
            claims_with(|c| {
                c.remove("exp");
            }),
            E::MissingExp,
        ),
        (
            "expired",
            claims_with(|c| {
                c.insert("iat".into(), json!(NOW - 400));
                c.insert("nbf".into(), json!(NOW - 400));
                c.insert("exp".into(), json!(NOW - 100));
            }),
            E::Expired,
        ),
        (
            "lifetime longer than the maximum",
            claims_with(|c| {
                c.insert("exp".into(), json!(NOW + 3600));
            }),
            E::LifetimeTooLong(600),
        ),
        (
            "issued long ago, still valid",
            claims_with(|c| {
                c.insert("iat".into(), json!(NOW - 3000));
                c.remove("nbf");
            }),
            E::LifetimeTooLong(600),
        ),
        (
            "nbf in the future",
            claims_with(|c| {
                c.insert("nbf".into(), json!(NOW + 120));
            }),
            E::NotYetValid,
        ),
        (
            "jti missing",
            claims_with(|c| {
                c.remove("jti");
            }),
            E::MissingJti,
        ),
        (
            "jti empty",
            claims_with(|c| {
                c.insert("jti".into(), "".into());
            }),
            E::MissingJti,
        ),
        (
            "client_id claim of another client",
            claims_with(|c| {
                c.insert("client_id".into(), "merchant-2".into());
            }),
            E::ClientIdMismatch,
        ),
        (
            "nested request_uri",
            claims_with(|c| {
                c.insert("request_uri".into(), "urn:x".into());
            }),
            E::NestedRequest,
        ),
        (
            "exp not a number",
            claims_with(|c| {
                c.insert("exp".into(), "soon".into());
            }),
            E::Malformed("exp, nbf and iat must be numbers"),
        ),
    ];
    for (what, claims, expected) in cases {
        assert_eq!(
            verify(&sign("ES256", &claims)).unwrap_err(),
            expected,
            "{what}"
        );
    }
}

#[test]
fn every_refusal_is_invalid_request_object_with_the_rule_in_the_description() {
    let err = verify(&sign_with("RS256", Some("rsa-2"), &claims())).unwrap_err();
    let oauth = err.oauth();
    assert_eq!(oauth.code, ErrorCode::InvalidRequestObject);
    assert!(
        oauth.description.contains("kid \"rsa-2\""),
        "{}",
        oauth.description
    );
}

// --- encrypted request objects ---

fn provider_key() -> &'static DecryptionKey {
    static KEY: OnceLock<DecryptionKey> = OnceLock::new();
    KEY.get_or_init(|| DecryptionKey::generate_rsa("provider-enc-1").unwrap())
}

fn encrypt(plaintext: &str, cty: Option<&str>) -> String {
    let mut options = EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A256Gcm);
    options.cty = cty.map(str::to_owned);
    jwe::encrypt(plaintext.as_bytes(), &provider_key().public_jwk(), &options).unwrap()
}

#[test]
fn a_nested_signed_request_object_is_unwrapped_then_verified() {
    let signed = sign("PS256", &claims());
    for cty in [Some("JWT"), None] {
        let encrypted = encrypt(&signed, cty);
        assert!(is_encrypted(&encrypted) && !is_encrypted(&signed));
        let unwrapped =
            decrypt_request_object(&encrypted, std::slice::from_ref(provider_key())).unwrap();
        assert_eq!(unwrapped.key_id, "provider-enc-1");
        let RequestObjectContent::Signed(inner) = unwrapped.content else {
            panic!("expected a signed request object");
        };
        assert_eq!(verify(&inner).unwrap().jti, "b3c7f1a0-request-1");
    }
}

#[test]
fn plain_json_claims_are_unwrapped_as_the_legacy_encrypted_login_hint() {
    let encrypted = encrypt(r#"{"login_hint":"BID:07127000183"}"#, None);
    let unwrapped =
        decrypt_request_object(&encrypted, std::slice::from_ref(provider_key())).unwrap();
    let RequestObjectContent::Claims(claims) = unwrapped.content else {
        panic!("expected plain claims");
    };
    assert_eq!(claims["login_hint"], "BID:07127000183");
}

#[test]
fn content_that_is_neither_is_refused() {
    let keys = std::slice::from_ref(provider_key());
    for (plaintext, cty) in [
        ("hello", None),
        ("{not json", None),
        (r#"{"login_hint":"BID"}"#, Some("JWT")),
    ] {
        let encrypted = encrypt(plaintext, cty);
        assert_eq!(
            decrypt_request_object(&encrypted, keys).unwrap_err(),
            E::UnrecognizedContent,
            "{plaintext}"
        );
    }
}

#[test]
fn an_rsa1_5_encrypted_request_object_is_refused_with_the_jwe_rule() {
    let header = b64::encode(r#"{"alg":"RSA1_5","enc":"A128CBC-HS256"}"#);
    let err = decrypt_request_object(&format!("{header}.AA.AA.AA.AA"), &[]).unwrap_err();
    assert_eq!(
        err,
        E::Encryption(jwe::JweError::UnsupportedAlg("RSA1_5".into()))
    );
    assert_eq!(err.oauth().code, ErrorCode::InvalidRequestObject);
}

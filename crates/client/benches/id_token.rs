//! ID token validation with a warm key cache, beside the bare ES256 signature check it wraps.
//! The goal (issue 3): validation costs at most 1.5 times the bare verification.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use bankid_oidc_client::{Expected, IdTokenVerifier, KeySet};
use bankid_oidc_core::b64;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::json;
use std::hint::black_box;

const ISSUER: &str = "https://auth.current.bankid.no/auth/realms/current";
const NOW: i64 = 1_800_000_000;
const ACCESS_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.an-access-token.sig";

fn bench(c: &mut Criterion) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let jwk = Jwk::p256_from_uncompressed_point("key-1", pair.public_key().as_ref()).unwrap();
    // A realistic BankID ID token (API version 4, scopes openid profile nnin_altsub).
    let claims = json!({
        "iss": ISSUER, "sub": "6c3a1e3a-5b5a-4f7e-9d1f-2a0f1c9e7b11", "aud": "merchant",
        "azp": "merchant", "exp": NOW + 300, "iat": NOW, "jti": "f9d2c1b0-8f5e", "sid": "s-1",
        "nonce": "ng6pZ5p_wNmWPXdLUTaRbuumzaEUuCeLPge_Klvs6ms", "acr": "urn:bankid:bid;LOA=4",
        "amr": ["bid"], "typ": "ID", "api_ver": 4,
        "at_hash": bankid_oidc_core::token_hash::at_hash(ACCESS_TOKEN),
        "bankid_altsub": "9578-5999-4-1765512", "nnin_altsub": "01817199946",
        "name": "Kari Nordmann", "given_name": "Kari", "family_name": "Nordmann",
        "birthdate": "1971-01-01", "updated_at": NOW - 86_400
    });
    let header = json!({"alg": "ES256", "kid": "key-1", "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let signature = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    let signature_b64 = b64::encode(signature.as_ref());
    let token = format!("{input}.{signature_b64}");

    let metadata = ProviderMetadata {
        issuer: ISSUER.into(),
        jwks_uri: format!("{ISSUER}/protocol/openid-connect/certs"),
        id_token_signing_alg_values_supported: vec!["ES256".into()],
        ..Default::default()
    };
    let verifier = IdTokenVerifier::new(&metadata, "merchant")
        .unwrap()
        .min_loa(3)
        .require_at_hash(true);
    let keys = KeySet::from_jwks(&Jwks {
        keys: vec![jwk.clone()],
    });
    let expected = Expected {
        nonce: Some("ng6pZ5p_wNmWPXdLUTaRbuumzaEUuCeLPge_Klvs6ms"),
        access_token: Some(ACCESS_TOKEN),
    };
    verifier.verify(&token, &keys, &expected, NOW).unwrap();

    let bare_key =
        DecodingKey::from_ec_components(jwk.x.as_deref().unwrap(), jwk.y.as_deref().unwrap())
            .unwrap();
    assert!(
        jsonwebtoken::crypto::verify(
            &signature_b64,
            input.as_bytes(),
            &bare_key,
            Algorithm::ES256
        )
        .unwrap()
    );

    let mut group = c.benchmark_group("id_token");
    group.bench_function("bare_es256_verify", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(&signature_b64),
                black_box(input.as_bytes()),
                &bare_key,
                Algorithm::ES256,
            )
            .unwrap()
        })
    });
    group.bench_function("validate_warm_jwks", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&token), &keys, &expected, NOW)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

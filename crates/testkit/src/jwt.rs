//! JWTs signed and verified with jsonwebtoken, an implementation independent of the provider's,
//! so that a bug in the provider's JOSE code cannot cancel itself out.

use crate::provider::TestProvider;

/// Verifies a token with jsonwebtoken (an implementation independent of the provider's) against
/// the published JWKS.
pub async fn verify_with_jwks(tp: &TestProvider, token: &str) -> serde_json::Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(&tp.meta.jwks_uri)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap()
        .claims
}

/// A client's P-256 key pair, to sign client assertions and request objects.
pub struct ClientKey {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub jwk: bankid_oidc_core::jwk::Jwk,
}

impl ClientKey {
    pub fn new(kid: &str) -> ClientKey {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let jwk = bankid_oidc_core::jwk::Jwk::p256_from_uncompressed_point(
            kid,
            pair.public_key().as_ref(),
        )
        .unwrap();
        ClientKey {
            kid: kid.into(),
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
        }
    }

    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

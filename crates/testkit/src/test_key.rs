//! Test keys and hand-made JWTs. Signing uses aws-lc-rs directly, not the library under test, so
//! that a bug in the library's JOSE handling cannot cancel itself out.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    RsaKeyPair,
};
use bankid_oidc_core::b64;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use serde_json::{Value, json};

pub enum Signer {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

pub struct TestKey {
    pub kid: String,
    pub alg: &'static str,
    pub signer: Signer,
}

impl TestKey {
    pub fn es256(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        TestKey {
            kid: kid.into(),
            alg: "ES256",
            signer: Signer::Ec(pair),
        }
    }

    /// `alg` is RS256 or PS256.
    pub fn rsa(kid: &str, alg: &'static str) -> Self {
        TestKey {
            kid: kid.into(),
            alg,
            signer: Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
        }
    }

    pub fn jwk(&self) -> Jwk {
        match &self.signer {
            Signer::Ec(pair) => {
                Jwk::p256_from_uncompressed_point(&self.kid, pair.public_key().as_ref()).unwrap()
            }
            Signer::Rsa(pair) => {
                let public = pair.public_key();
                Jwk::rsa(
                    &self.kid,
                    "sig",
                    Some(self.alg),
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                )
            }
        }
    }

    /// The public key's bytes as an attacker would use them for an HS256 "signature".
    pub fn public_bytes(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Ec(pair) => pair.public_key().as_ref().to_vec(),
            Signer::Rsa(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    pub fn header(&self) -> Value {
        json!({"alg": self.alg, "kid": self.kid, "typ": "JWT"})
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_payload(header, &claims.to_string())
    }

    /// Signs a payload given as JSON text, for numbers a `Value` cannot hold (beyond u64).
    pub fn sign_payload(&self, header: &Value, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(header.to_string()),
            b64::encode(payload)
        );
        let rng = SystemRandom::new();
        let signature = match &self.signer {
            Signer::Ec(pair) => pair.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Signer::Rsa(pair) => {
                let padding = if self.alg == "PS256" {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
        };
        format!("{input}.{}", b64::encode(signature))
    }

    pub fn sign_claims(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }
}

pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    )
}

pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64::encode(tag.as_ref()))
}

pub fn jwks(keys: &[&TestKey]) -> Jwks {
    Jwks {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    }
}

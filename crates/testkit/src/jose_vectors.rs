//! Published JOSE test vectors (RFC 7516, RFC 7520) and their private JWKs turned into our PKCS#8
//! keys.

use aws_lc_rs::agreement::{self, ECDH_P256};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeyPairComponents, PublicKeyComponents};
use bankid_oidc_core::b64;
use bankid_oidc_core::jwe::DecryptionKey;
use serde_json::Value;

/// A test vector file under `vectors/`.
pub fn vector(name: &str) -> Value {
    let path = format!("{}/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn member(jwk: &Value, name: &str) -> Vec<u8> {
    b64::decode(
        jwk[name]
            .as_str()
            .unwrap_or_else(|| panic!("JWK member {name}")),
    )
    .unwrap()
}

/// PKCS#8 DER of a private RSA or P-256 JWK.
pub fn pkcs8_from_private_jwk(jwk: &Value) -> Vec<u8> {
    match jwk["kty"].as_str().unwrap() {
        "RSA" => {
            let components = KeyPairComponents {
                public_key: PublicKeyComponents {
                    n: member(jwk, "n"),
                    e: member(jwk, "e"),
                },
                d: member(jwk, "d"),
                p: member(jwk, "p"),
                q: member(jwk, "q"),
                dP: member(jwk, "dp"),
                dQ: member(jwk, "dq"),
                qInv: member(jwk, "qi"),
            };
            let pair = KeyPair::from_components(&components).unwrap();
            pair.as_der().unwrap().as_ref().to_vec()
        }
        "EC" => {
            let key =
                agreement::PrivateKey::from_private_key(&ECDH_P256, &member(jwk, "d")).unwrap();
            let der: Pkcs8V1Der = key.as_der().unwrap();
            der.as_ref().to_vec()
        }
        other => panic!("unexpected kty {other}"),
    }
}

pub fn decryption_key_from_private_jwk(kid: &str, jwk: &Value) -> DecryptionKey {
    DecryptionKey::from_pkcs8(kid, &pkcs8_from_private_jwk(jwk)).unwrap()
}

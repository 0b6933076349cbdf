//! JSON Web Keys (RFC 7517) as published in a JWKS document.

use serde::{Deserialize, Serialize};

/// A public JWK. Fields for EC (`crv`, `x`, `y`), RSA (`n`, `e`) and OKP keys; unknown members are
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    /// The public JWK of a P-256 key from its uncompressed SEC1 point (`04 || x || y`).
    pub fn p256_from_uncompressed_point(kid: &str, point: &[u8]) -> Option<Jwk> {
        if point.len() != 65 || point[0] != 0x04 {
            return None;
        }
        Some(Jwk {
            kty: "EC".into(),
            kid: Some(kid.into()),
            use_: Some("sig".into()),
            alg: Some("ES256".into()),
            crv: Some("P-256".into()),
            x: Some(crate::b64::encode(&point[1..33])),
            y: Some(crate::b64::encode(&point[33..65])),
            n: None,
            e: None,
        })
    }

    /// The public JWK of an RSA key from its modulus and public exponent (big-endian, without
    /// leading zeros), for use `use_` (`sig` or `enc`).
    pub fn rsa(kid: &str, use_: &str, alg: Option<&str>, modulus: &[u8], exponent: &[u8]) -> Jwk {
        Jwk {
            kty: "RSA".into(),
            kid: Some(kid.into()),
            use_: Some(use_.into()),
            alg: alg.map(str::to_owned),
            crv: None,
            x: None,
            y: None,
            n: Some(crate::b64::encode(modulus)),
            e: Some(crate::b64::encode(exponent)),
        }
    }
}

/// A JWK Set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

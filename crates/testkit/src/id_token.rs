//! An ID token as BankID issues it, for the relying party's tests: its issuer, audience, nonce,
//! the access token it is bound to, and the time it is valid at.

use serde_json::{Value, json};

pub const ISSUER: &str = "https://op.example/auth/realms/current";
pub const CLIENT_ID: &str = "merchant";
pub const NONCE: &str = "n-0S6_WzA2Mj";
pub const ACCESS_TOKEN: &str = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
pub const NOW: i64 = 1_800_000_000;

/// An ID token as BankID issues it under API version 4, valid at [`NOW`].
pub fn bankid_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "6c3a1e3a-5b5a-4f7e-9d1f-2a0f1c9e7b11",
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW,
        "jti": "f9d2c1b0",
        "sid": "s-1",
        "nonce": NONCE,
        "acr": "urn:bankid:bis;LOA=3",
        "amr": ["bis-mfa", "bis-hwk"],
        "typ": "ID",
        "api_ver": 4,
        "at_hash": bankid_oidc_core::token_hash::at_hash(ACCESS_TOKEN),
        "bankid_altsub": "9578-5999-4-1765512",
        "nnin_altsub": "01817199946",
        "name": "Kari Nordmann",
        "given_name": "Kari",
        "family_name": "Nordmann",
        "birthdate": "1971-01-01"
    })
}

/// `claims` with `name` replaced (or removed for `Value::Null`).
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    let object = claims.as_object_mut().unwrap();
    if value.is_null() {
        object.remove(name);
    } else {
        object.insert(name.into(), value);
    }
    claims
}

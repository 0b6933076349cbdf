// The fixed test keys of the fuzz checks (included with `include!` by core_checks.rs and
// client_checks.rs). Fixed, so that a corpus of tokens signed or encrypted with them stays
// meaningful across runs and machines; test keys, never used anywhere else.

/// P-256 key that signs the corpora's ES256 tokens (kid `fuzz-es256`).
pub const ES256_PKCS8: &[u8] = include_bytes!("../keys/p256.pk8");
/// RSA-2048 key that signs the corpora's RS256 and PS256 tokens (kid `fuzz-rsa`).
pub const RSA_PKCS8: &[u8] = include_bytes!("../keys/rsa2048.pk8");
/// The decryption keys of the JWE target (kids `fuzz-rsa-enc` and `fuzz-p256-enc`).
pub const RSA_ENC_PKCS8: &[u8] = include_bytes!("../keys/rsa2048-enc.pk8");
pub const P256_ENC_PKCS8: &[u8] = include_bytes!("../keys/p256-enc.pk8");

pub fn fixed_es256() -> &'static aws_lc_rs::signature::EcdsaKeyPair {
    static KEY: std::sync::OnceLock<aws_lc_rs::signature::EcdsaKeyPair> =
        std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ES256_PKCS8,
        )
        .unwrap()
    })
}

pub fn fixed_rsa() -> &'static aws_lc_rs::signature::RsaKeyPair {
    static KEY: std::sync::OnceLock<aws_lc_rs::signature::RsaKeyPair> =
        std::sync::OnceLock::new();
    KEY.get_or_init(|| aws_lc_rs::signature::RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap())
}

/// The public halves of the signing keys, as a client (or provider) publishes them.
pub fn client_signing_jwks() -> bankid_oidc_core::jwk::Jwks {
    use aws_lc_rs::signature::KeyPair;
    let public = fixed_rsa().public_key();
    bankid_oidc_core::jwk::Jwks {
        keys: vec![
            bankid_oidc_core::jwk::Jwk::p256_from_uncompressed_point(
                "fuzz-es256",
                fixed_es256().public_key().as_ref(),
            )
            .unwrap(),
            bankid_oidc_core::jwk::Jwk::rsa(
                "fuzz-rsa",
                "sig",
                None,
                public.modulus().big_endian_without_leading_zero(),
                public.exponent().big_endian_without_leading_zero(),
            ),
        ],
    }
}

/// A compact JWS of `claims` with the fixed key for `alg`; `header` adds members to the header.
pub fn sign(alg: &str, claims: &serde_json::Value, header: &serde_json::Value) -> String {
    let kid = if alg == "ES256" { "fuzz-es256" } else { "fuzz-rsa" };
    let mut full = serde_json::json!({"alg": alg, "kid": kid});
    for (name, value) in header.as_object().unwrap() {
        full[name] = value.clone();
    }
    let input = format!(
        "{}.{}",
        bankid_oidc_core::b64::encode(full.to_string()),
        bankid_oidc_core::b64::encode(claims.to_string())
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let signature = if alg == "ES256" {
        fixed_es256().sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec()
    } else {
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = if alg == "PS256" {
            &aws_lc_rs::signature::RSA_PSS_SHA256
        } else {
            &aws_lc_rs::signature::RSA_PKCS1_SHA256
        };
        let mut signature = vec![0; fixed_rsa().public_modulus_len()];
        fixed_rsa().sign(padding, &rng, input.as_bytes(), &mut signature).unwrap();
        signature
    };
    format!("{input}.{}", bankid_oidc_core::b64::encode(signature))
}

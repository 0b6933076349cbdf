//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` gives no protection against a
//! stolen authorization request and API version 4 refuses it.

use aws_lc_rs::digest::{SHA256, digest};
use subtle::ConstantTimeEq;

/// The S256 challenge for a verifier: BASE64URL(SHA256(ASCII(code_verifier))).
pub fn s256_challenge(verifier: &str) -> String {
    crate::b64::encode(digest(&SHA256, verifier.as_bytes()))
}

/// A `code_challenge` is the base64url encoding of a SHA-256 hash: exactly 43 characters.
pub fn check_challenge(challenge: &str) -> Result<(), String> {
    let ok = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && crate::b64::decode(challenge).is_ok_and(|bytes| bytes.len() == 32);
    if ok {
        Ok(())
    } else {
        Err(
            "code_challenge: must be the 43-character base64url encoding of a SHA-256 hash (S256)"
                .into(),
        )
    }
}

/// A `code_verifier` is 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 section 4.1).
pub fn check_verifier(verifier: &str) -> Result<(), String> {
    let ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if ok {
        Ok(())
    } else {
        Err("code_verifier: must be 43 to 128 characters of [A-Za-z0-9-._~]".into())
    }
}

/// Whether `verifier` is well-formed and hashes to `challenge`, compared in constant time.
pub fn verify(challenge: &str, verifier: &str) -> Result<(), String> {
    check_verifier(verifier)?;
    let computed = s256_challenge(verifier);
    if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
        Ok(())
    } else {
        Err("code_verifier: does not match the code_challenge of the authorization request".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verify("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", verifier).is_ok());
    }

    #[test]
    fn refuses_wrong_short_long_and_illegal_verifiers() {
        let challenge = s256_challenge(&"a".repeat(43));
        assert!(verify(&challenge, &"b".repeat(43)).is_err());
        assert!(verify(&s256_challenge(&"a".repeat(42)), &"a".repeat(42)).is_err());
        assert!(verify(&s256_challenge(&"a".repeat(129)), &"a".repeat(129)).is_err());
        let with_space = format!("{} ", "a".repeat(43));
        assert!(verify(&s256_challenge(&with_space), &with_space).is_err());
    }

    #[test]
    fn challenge_must_look_like_a_sha256_hash() {
        assert!(check_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
        assert!(check_challenge("plain-verifier-is-not-a-challenge").is_err());
        assert!(check_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM").is_err());
    }
}

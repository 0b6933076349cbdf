//! Unguessable values (`state`, `nonce`, PKCE `code_verifier`) from the operating system's CSPRNG.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use bankid_oidc_core::b64;

/// `n` random bytes as base64url (whose alphabet is a subset of PKCE's unreserved characters).
fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The system RNG failing means the machine cannot produce secrets at all; nothing sensible
    // can continue, and returning a predictable value would be worse than stopping.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    b64::encode(&buf)
}

/// 256 bits, the strength of `state` and `nonce`.
pub(crate) fn token() -> String {
    random_b64(32)
}

/// A PKCE `code_verifier` of exactly `len` characters (43 to 128, checked by the caller).
pub(crate) fn code_verifier(len: usize) -> String {
    // base64url yields 4 characters per 3 bytes; draw enough and cut to length, every character
    // still carrying 6 random bits.
    let mut verifier = random_b64(len.div_ceil(4) * 3);
    verifier.truncate(len);
    verifier
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::pkce::check_verifier;

    #[test]
    fn verifiers_have_the_requested_length_and_only_unreserved_characters() {
        for len in [43, 64, 100, 128] {
            let verifier = code_verifier(len);
            assert_eq!(verifier.len(), len);
            check_verifier(&verifier).unwrap();
        }
    }

    #[test]
    fn tokens_do_not_repeat() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 43);
    }
}

//! The emulated user's device key: BankID with biometrics binds an approval to a key in the
//! user's phone. Ours has none, so its id is derived from the user, stable across logins: the
//! BIS ID token's `proof_key_id` and a grant's `proofKeyId` name the same key.

use bankid_oidc_core::token_hash::sha256_b64;

/// Length of a proof key id: 22 base64url characters (132 bits of the hash).
const PROOF_KEY_ID_LEN: usize = 22;

/// The id of `user_id`'s device key: base64url(SHA-256("device:" + user id)), its first 22
/// characters.
pub fn proof_key_id(user_id: &str) -> String {
    let mut id = sha256_b64(&format!("device:{user_id}"));
    id.truncate(PROOF_KEY_ID_LEN);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_key_id_is_stable_per_user_and_22_characters() {
        let a = proof_key_id("user-1");
        assert_eq!(a.len(), 22);
        assert_eq!(a, proof_key_id("user-1"));
        assert_ne!(a, proof_key_id("user-2"));
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}

//! Hashes of tokens carried in other tokens (OpenID Connect Core 3.1.3.6 `at_hash`).

use aws_lc_rs::digest::{SHA256, digest};

/// `at_hash` for an ES256/RS256/PS256-signed ID token: the left half of SHA-256 of the access
/// token's ASCII octets, base64url-encoded.
pub fn at_hash(access_token: &str) -> String {
    TokenDigest::of(access_token).at_hash()
}

/// The SHA-256 of a token, made once for its two uses: the ID token's `at_hash` and the key the
/// store keeps the token under (an access token is a kilobyte to hash).
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub fn of(token: &str) -> TokenDigest {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        TokenDigest(bytes)
    }

    /// See [`at_hash`].
    pub fn at_hash(&self) -> String {
        crate::b64::encode(&self.0[..16])
    }

    /// See [`sha256_b64`].
    pub fn sha256_b64(&self) -> String {
        crate::b64::encode(self.0)
    }
}

/// SHA-256, base64url-encoded: how one-time values (codes, session cookies) are stored, so that a
/// copy of the store does not hand out usable secrets.
pub fn sha256_b64(value: &str) -> String {
    crate::b64::encode(digest(&SHA256, value.as_bytes()))
}

/// How long the time prefix of a time-ordered secret is: 11 lowercase hex digits.
const TIME_PREFIX: usize = 11;

/// The key under which the store keeps a secret: its SHA-256 ([`sha256_b64`]), after the
/// secret's time prefix when it has one (a secret that starts with 11 lowercase hex digits, as
/// the provider's time-ordered tokens do). Keys of new records then sort by time, so that the
/// store's index of them grows at its end instead of at random places. The prefix says only
/// when the secret was made; the secret's random part is not in the key.
pub fn store_key(secret: &str) -> String {
    let hash = sha256_b64(secret);
    match secret.get(..TIME_PREFIX) {
        Some(prefix)
            if prefix
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            format!("{prefix}{hash}")
        }
        _ => hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_keep_a_time_prefix_and_hash_the_rest() {
        let ordered = "0190b2c3d4eAbCdEfGhIjKlMnOpQrStUvWxYz0123456";
        let key = store_key(ordered);
        assert_eq!(key, format!("0190b2c3d4e{}", sha256_b64(ordered)));
        assert!(!key.contains("AbCdEf"), "the random part is hashed");
        // Keys of later secrets sort after earlier ones.
        assert!(store_key("0190b2c3d4exxxx") < store_key("0190b2c3d4fAAAA"));
        // A secret without a time prefix (an older random token) is keyed by its hash alone.
        assert_eq!(
            store_key("Zm9vYmFyYmF6cXV4"),
            sha256_b64("Zm9vYmFyYmF6cXV4")
        );
        assert_eq!(
            store_key("0190b2C3d4e-rest"),
            sha256_b64("0190b2C3d4e-rest")
        );
        assert_eq!(store_key("short"), sha256_b64("short"));
    }

    #[test]
    fn one_digest_gives_the_at_hash_and_the_store_hash() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        let d = TokenDigest::of(token);
        assert_eq!(d.at_hash(), at_hash(token));
        assert_eq!(d.sha256_b64(), sha256_b64(token));
    }

    #[test]
    fn at_hash_matches_the_openid_connect_example() {
        // OpenID Connect Core, Appendix A.3 (RS256 uses SHA-256 exactly as ES256 does).
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}

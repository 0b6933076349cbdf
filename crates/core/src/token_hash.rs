//! Hashes of tokens carried in other tokens (OpenID Connect Core 3.1.3.6 `at_hash`).

use aws_lc_rs::digest::{SHA256, digest};

/// `at_hash` for an ES256/RS256/PS256-signed ID token: the left half of SHA-256 of the access
/// token's ASCII octets, base64url-encoded.
pub fn at_hash(access_token: &str) -> String {
    let hash = digest(&SHA256, access_token.as_bytes());
    crate::b64::encode(&hash.as_ref()[..16])
}

/// SHA-256, base64url-encoded: how one-time values (codes, session cookies) are stored, so that a
/// copy of the store does not hand out usable secrets.
pub fn sha256_b64(value: &str) -> String {
    crate::b64::encode(digest(&SHA256, value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_openid_connect_example() {
        // OpenID Connect Core, Appendix A.3 (RS256 uses SHA-256 exactly as ES256 does).
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}

//! Client secrets at rest, and the random values the provider hands out.
//!
//! Secrets are stored as `hmac-sha256$<salt>$<mac>`: HMAC-SHA-256 keyed with a per-client random
//! salt. Client secrets are machine credentials: the ones we generate carry 256 bits of entropy,
//! which no offline guessing reaches, so a slow password hash (argon2, bcrypt) would add only
//! milliseconds of CPU to every token request, and a way to exhaust the server with bad secrets.
//! `clients add` warns about short secrets a person typed. Comparison is in constant time.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use bankid_oidc_core::b64;
use subtle::ConstantTimeEq;

const SCHEME: &str = "hmac-sha256";

/// Shortest secret `clients add` accepts without a warning.
pub const RECOMMENDED_SECRET_LEN: usize = 32;

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random source failed");
    bytes
}

/// A random token of 256 bits, base64url: codes, cookies, CSRF tokens, generated secrets.
pub fn random_token() -> String {
    b64::encode(random_bytes::<32>())
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A new identifier (a UUID v7) for records whose id is shown: users, sessions, grants, token
/// ids. Not a secret. Time-ordered, so that the store's indexes grow at their end instead of
/// at random places, which costs a page write per index entry (BENCHMARKS.md); its 74 random
/// bits keep ids unique.
pub fn new_id() -> String {
    id_at(unix_millis())
}

fn id_at(millis: u64) -> String {
    uuid::Builder::from_unix_timestamp_millis(millis, &random_bytes::<10>())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A secret like [`random_token`] that sorts by when it was made: 11 hex digits of the time in
/// milliseconds, then 192 random bits (32 base64url characters), 43 characters in all. For
/// secrets that are also keys of the store (login flow ids), for the reason [`new_id`] gives.
pub fn ordered_token() -> String {
    ordered_token_at(unix_millis())
}

fn ordered_token_at(millis: u64) -> String {
    format!(
        "{:011x}{}",
        millis & 0xfff_ffff_ffff,
        b64::encode(random_bytes::<24>())
    )
}

pub fn hash_secret(secret: &str) -> String {
    let salt = random_bytes::<16>();
    format!(
        "{SCHEME}${}${}",
        b64::encode(salt),
        b64::encode(mac(&salt, secret))
    )
}

/// Whether `secret` matches the stored hash, in time independent of where they differ.
pub fn verify_secret(stored: &str, secret: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(salt), Ok(expected)) = (b64::decode(salt), b64::decode(expected)) else {
        return false;
    };
    bool::from(mac(&salt, secret).as_slice().ct_eq(&expected))
}

/// Spends the same work as [`verify_secret`] for a client that does not exist, so that response
/// time does not tell which client ids are registered.
pub fn verify_nothing(secret: &str) {
    let _ = mac(&[0u8; 16], secret);
}

fn mac(salt: &[u8], secret: &str) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, salt);
    hmac::sign(&key, secret.as_bytes()).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_secret_verifies_only_with_the_same_secret() {
        let stored = hash_secret("correct horse battery staple");
        assert!(verify_secret(&stored, "correct horse battery staple"));
        assert!(!verify_secret(&stored, "correct horse battery stapl"));
        assert!(!verify_secret(&stored, ""));
        assert!(!stored.contains("staple"));
    }

    #[test]
    fn the_same_secret_hashes_differently_for_two_clients() {
        assert_ne!(hash_secret("s"), hash_secret("s"));
    }

    #[test]
    fn malformed_stored_hashes_never_verify() {
        for stored in [
            "",
            "hmac-sha256$",
            "plain$abc$def",
            "hmac-sha256$!!$!!",
            "hmac-sha256$a$b$c",
        ] {
            assert!(!verify_secret(stored, "x"));
        }
    }

    #[test]
    fn ids_are_uuid_v7_and_sort_by_time() {
        let first = id_at(1_700_000_000_000);
        let second = id_at(1_700_000_000_001);
        assert_eq!(uuid::Uuid::parse_str(&first).unwrap().get_version_num(), 7);
        assert!(first < second, "{first} {second}");
        assert_ne!(new_id(), new_id());
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn ordered_tokens_sort_by_time_and_keep_192_random_bits() {
        let first = ordered_token_at(1_700_000_000_000);
        let second = ordered_token_at(1_700_000_000_001);
        assert_eq!(first.len(), 43);
        assert!(first < second, "{first} {second}");
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        // Made in the same millisecond, two tokens still differ in their random part.
        let (a, b) = (ordered_token(), ordered_token());
        assert_ne!(a[11..], b[11..]);
    }
}

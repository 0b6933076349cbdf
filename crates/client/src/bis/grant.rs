//! The permission grant (seed 004, step 12): `GET {permissions_endpoint}{id}/grant` answers 404
//! until the user has granted, then the grant JWT, signed by a key from `jwks_uri_grants`. Pure:
//! the keys and the answer are passed in; `Client::poll_grant` does the waiting.

use super::RegisteredPermission;
use crate::Error;
use crate::error::ProviderError;
use crate::http::HttpResponse;
use crate::jws::{self, AllowedAlgs, KeySet};
pub use bankid_oidc_core::permission_request::GrantClaims;
use std::time::Duration;

/// The first wait between two polls, the factor it grows by, and the longest wait.
pub const FIRST_POLL_DELAY: Duration = Duration::from_secs(1);
pub const MAX_POLL_DELAY: Duration = Duration::from_secs(5);

/// The error codes that end a permission for good (the user said no, or time ran out).
pub const FINAL_GRANT_ERRORS: [&str; 3] = ["access_denied", "expired", "timeout"];

/// What one poll of the grant endpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantAnswer {
    /// 404: not granted yet; ask again later.
    NotYet,
    /// 200 `application/jwt`: the grant, still to be verified with [`verify_grant`].
    Granted(String),
}

/// A grant whose signature and claims passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedGrant {
    pub claims: GrantClaims,
    /// The compact JWT, to keep as proof of the user's approval.
    pub raw: String,
}

/// The wait before the next poll: 1 s first, then 1.5 times the previous, at most 5 s.
pub fn next_poll_delay(previous: Option<Duration>) -> Duration {
    match previous {
        None => FIRST_POLL_DELAY,
        Some(previous) => previous.mul_f64(1.5).min(MAX_POLL_DELAY),
    }
}

/// Reads one answer of the grant endpoint. A JSON error `access_denied`, `expired` or `timeout`
/// (whatever the status) is [`Error::GrantRefused`]; other errors are [`Error::Endpoint`].
pub fn process_grant_response(url: &str, response: &HttpResponse) -> Result<GrantAnswer, Error> {
    if response.status != 200 {
        if let Ok(error) = serde_json::from_slice::<ProviderError>(&response.body) {
            if FINAL_GRANT_ERRORS.contains(&error.code.as_str()) {
                return Err(Error::GrantRefused(error));
            }
            if response.status != 404 {
                return Err(super::endpoint_error(url, response));
            }
        }
        return match response.status {
            404 => Ok(GrantAnswer::NotYet),
            _ => Err(super::endpoint_error(url, response)),
        };
    }
    match response.media_type().as_deref() {
        Some("application/jwt") => {
            let jwt = String::from_utf8(response.body.clone())
                .map_err(|_| Error::MalformedJwt("the grant is not UTF-8 text".into()))?;
            Ok(GrantAnswer::Granted(jwt.trim().to_owned()))
        }
        other => Err(Error::UnsupportedContentType(
            other.unwrap_or("(none)").to_owned(),
        )),
    }
}

/// Verifies a grant: an ES256 signature by one of `keys` (the grant key set, never the ID token
/// keys), `iss` the BIS issuer, and `nonce`, `digest` and `permissionId` those of the permission
/// registered, `sub` an `nnin:` subject.
pub fn verify_grant(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    permission: &RegisteredPermission,
) -> Result<VerifiedGrant, Error> {
    let es256 = AllowedAlgs::from_announced(&["ES256".to_owned()])?;
    let jws = jws::verify(token, &es256, keys)?;
    let claims: GrantClaims = serde_json::from_slice(&jws.payload)
        .map_err(|e| Error::MalformedJwt(format!("grant claims: {e}")))?;
    if claims.iss != issuer {
        return Err(Error::WrongIssuer {
            expected: issuer.to_owned(),
            found: claims.iss,
        });
    }
    let same = |claim: &'static str, expected: &str, found: &str| {
        if expected == found {
            Ok(())
        } else {
            Err(Error::GrantClaimMismatch {
                claim,
                expected: expected.to_owned(),
                found: found.to_owned(),
            })
        }
    };
    same("permissionId", &permission.id, &claims.permission_id)?;
    // A statement without a nonce (authentication.v1, text.v1) comes back with an empty one.
    same(
        "nonce",
        permission.nonce.as_deref().unwrap_or(""),
        &claims.nonce,
    )?;
    same("digest", &permission.digest, &claims.digest)?;
    if claims.sub.strip_prefix("nnin:").is_none_or(str::is_empty) {
        return Err(Error::GrantClaimMismatch {
            claim: "sub",
            expected: "nnin:<national identity number>".into(),
            found: claims.sub,
        });
    }
    Ok(VerifiedGrant {
        claims,
        raw: token.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bis::{statement_digest, tests::payment_statement};
    use bankid_oidc_testkit::test_key::{TestKey, jwks};
    use serde_json::{Value, json};

    const ISSUER: &str = "https://op.example/bis";
    const ID: &str = "1.BY.MEKrA-00GVtmvWOCDYQko_fSg93LO5n2rBnlj-X4MQg.BiDEl_CgfakqahcXjLrFet_GGpEkR_W8D-RK4hORBO0";

    fn registered() -> RegisteredPermission {
        RegisteredPermission {
            id: ID.into(),
            permission_token: "a.b.c".into(),
            binding_message: "Farlig frakk".into(),
            nonce: Some("nonce-1".into()),
            digest: statement_digest(&payment_statement()),
        }
    }

    fn claims() -> Value {
        json!({
            "gv": 1, "pt": "payment.v1", "type": "grant", "rpId": "shop",
            "sv": "2025-01-01@abc", "iat": 1_700_000_000, "iss": ISSUER, "nonce": "nonce-1",
            "proofKeyId": "key-in-app", "sub": "nnin:15076500565", "permissionId": ID,
            "digest": statement_digest(&payment_statement()),
        })
    }

    fn with(name: &str, value: Value) -> Value {
        let mut claims = claims();
        claims[name] = value;
        claims
    }

    fn verify(key: &TestKey, claims: &Value, grant_keys: &KeySet) -> Result<VerifiedGrant, Error> {
        verify_grant(&key.sign_claims(claims), grant_keys, ISSUER, &registered())
    }

    fn setup() -> (TestKey, KeySet) {
        let key = TestKey::es256("grant-1");
        let keys = KeySet::from_jwks(&jwks(&[&key]));
        (key, keys)
    }

    #[test]
    fn a_grant_for_this_permission_signed_by_a_grant_key_is_accepted() {
        let (key, keys) = setup();
        let grant = verify(&key, &claims(), &keys).unwrap();
        assert_eq!(grant.claims.sub, "nnin:15076500565");
        assert_eq!(grant.claims.pt, "payment.v1");
        assert_eq!(grant.claims.permission_id, ID);
    }

    #[test]
    fn a_grant_signed_by_a_key_outside_the_grant_jwks_is_refused() {
        let (_, keys) = setup();
        // An ID token key (same kid even) is not a grant key.
        let other = TestKey::es256("grant-1");
        assert!(matches!(
            verify(&other, &claims(), &keys),
            Err(Error::BadSignature)
        ));
        let unknown = TestKey::es256("id-token-key");
        assert!(matches!(
            verify(&unknown, &claims(), &keys),
            Err(Error::UnknownKey { .. })
        ));
    }

    #[test]
    fn a_grant_with_another_nonce_digest_permission_id_or_issuer_is_refused() {
        let (key, keys) = setup();
        for (name, value, claim) in [
            ("nonce", json!("nonce-2"), "nonce"),
            ("digest", json!("AAAA"), "digest"),
            ("permissionId", json!("1.BY.x.y"), "permissionId"),
            ("sub", json!("pid:123"), "sub"),
        ] {
            match verify(&key, &with(name, value), &keys) {
                Err(Error::GrantClaimMismatch { claim: found, .. }) => assert_eq!(found, claim),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(
            verify(&key, &with("iss", json!("https://op.example/realm")), &keys),
            Err(Error::WrongIssuer { .. })
        ));
    }

    #[test]
    fn a_grant_signed_with_rs256_is_refused_even_by_a_grant_key() {
        let key = TestKey::rsa("grant-rsa", "RS256");
        let keys = KeySet::from_jwks(&jwks(&[&key]));
        assert!(matches!(
            verify(&key, &claims(), &keys),
            Err(Error::AlgNotAllowed { .. })
        ));
    }

    fn answer(status: u16, content_type: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            content_type: Some(content_type.into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn poll_answers_are_not_yet_granted_refused_or_errors() {
        assert_eq!(
            process_grant_response("u", &answer(404, "text/plain", "Not Found")).unwrap(),
            GrantAnswer::NotYet
        );
        assert_eq!(
            process_grant_response("u", &answer(200, "application/jwt", "a.b.c\n")).unwrap(),
            GrantAnswer::Granted("a.b.c".into())
        );
        for code in FINAL_GRANT_ERRORS {
            let body = json!({"error": code, "error_description": "d"}).to_string();
            for status in [400, 403, 404, 410] {
                match process_grant_response("u", &answer(status, "application/json", &body)) {
                    Err(Error::GrantRefused(error)) => assert_eq!(error.code, code),
                    other => panic!("{code} {status}: {other:?}"),
                }
            }
        }
        let unauthorized = json!({"error": "invalid_token"}).to_string();
        assert!(matches!(
            process_grant_response("u", &answer(401, "application/json", &unauthorized)),
            Err(Error::Endpoint { status: 401, .. })
        ));
        assert!(matches!(
            process_grant_response("u", &answer(200, "application/json", "{}")),
            Err(Error::UnsupportedContentType(_))
        ));
    }

    #[test]
    fn polling_backs_off_from_one_second_by_half_again_up_to_five() {
        let mut delays = Vec::new();
        let mut delay = None;
        for _ in 0..7 {
            let next = next_poll_delay(delay);
            delays.push(next.as_millis());
            delay = Some(next);
        }
        assert_eq!(delays, [1000, 1500, 2250, 3375, 5000, 5000, 5000]);
    }
}

//! The answer to a refresh (RFC 6749 section 6) and the rules a refreshed ID token must keep
//! (OpenID Connect Core 12.2): it is about the same login as the original one.
//!
//! Refresh tokens rotate: a provider that follows RFC 9700 section 4.14.2 (BankID, and ours)
//! answers every refresh with a new refresh token and treats a second use of the old one as theft,
//! revoking every token of the login. The merchant must therefore store
//! [`Refreshed::refresh_token`] in place of the one it sent, before it uses the new access token.

use crate::Error;
use crate::id_token::IdToken;
use crate::token::Tokens;
use bankid_oidc_core::claims::{Audience, IdTokenClaims};

/// The tokens a refresh returned.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The token response as received (new access token, `expires_in`, `scope`).
    pub tokens: Tokens,
    /// The new ID token, validated like the original (signature, `iss`, `aud`, times, `at_hash`)
    /// and checked to be about the same login, if the provider sent one.
    pub id_token: Option<IdToken>,
    /// The refresh token to use next time: the successor the provider issued, or, if it issued
    /// none, the one that was just used. **Store it in place of the old one**: with rotation the
    /// old one is spent, and using it again revokes the whole login.
    pub refresh_token: String,
    /// Whether the provider issued a new refresh token.
    pub rotated: bool,
}

impl Refreshed {
    /// Assembles the result from the token response, its validated ID token and the refresh
    /// token that was sent.
    pub fn new(tokens: Tokens, id_token: Option<IdToken>, used_refresh_token: &str) -> Self {
        let (refresh_token, rotated) = match &tokens.refresh_token {
            Some(next) => (next.clone(), next != used_refresh_token),
            None => (used_refresh_token.to_owned(), false),
        };
        Refreshed {
            tokens,
            id_token,
            refresh_token,
            rotated,
        }
    }
}

fn audiences(aud: &Audience) -> String {
    match aud {
        Audience::One(a) => a.clone(),
        Audience::Many(list) => list.join(" "),
    }
}

/// OpenID Connect Core 12.2: a refreshed ID token has the original's `iss`, `sub`, `aud` and
/// `azp`, and a `nonce` only if it is the original's. Run after [`crate::IdTokenVerifier::verify`]
/// (with no expected nonce), which checks signature, issuer, audience and times.
pub fn check_refreshed_claims(
    original: &IdTokenClaims,
    refreshed: &IdTokenClaims,
) -> Result<(), Error> {
    let mismatch = |claim: &'static str, original: &str, refreshed: &str| {
        Err(Error::RefreshedClaimMismatch {
            claim,
            original: original.to_owned(),
            refreshed: refreshed.to_owned(),
        })
    };
    if refreshed.iss != original.iss {
        return mismatch("iss", &original.iss, &refreshed.iss);
    }
    // The rule that matters most: a refresh must never switch the session to another person.
    if refreshed.sub != original.sub {
        return mismatch("sub", &original.sub, &refreshed.sub);
    }
    if refreshed.aud != original.aud {
        return mismatch("aud", &audiences(&original.aud), &audiences(&refreshed.aud));
    }
    if refreshed.azp != original.azp {
        return mismatch(
            "azp",
            original.azp.as_deref().unwrap_or(""),
            refreshed.azp.as_deref().unwrap_or(""),
        );
    }
    if let Some(nonce) = &refreshed.nonce
        && original.nonce.as_ref() != Some(nonce)
    {
        return mismatch("nonce", original.nonce.as_deref().unwrap_or(""), nonce);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str) -> IdTokenClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "https://op.example",
            "sub": sub,
            "aud": "merchant",
            "azp": "merchant",
            "exp": 2_000_000_000,
            "iat": 1_000_000_000,
            "nonce": "n-1",
        }))
        .unwrap()
    }

    fn response(refresh_token: Option<&str>) -> Tokens {
        Tokens {
            access_token: "at".into(),
            token_type: "Bearer".into(),
            expires_in: Some(300),
            id_token: None,
            refresh_token: refresh_token.map(str::to_owned),
            scope: None,
        }
    }

    #[test]
    fn the_refresh_token_to_store_is_the_successor_or_else_the_one_used() {
        let rotated = Refreshed::new(response(Some("rt-2")), None, "rt-1");
        assert_eq!(rotated.refresh_token, "rt-2");
        assert!(rotated.rotated);
        let kept = Refreshed::new(response(None), None, "rt-1");
        assert_eq!(kept.refresh_token, "rt-1");
        assert!(!kept.rotated);
    }

    #[test]
    fn refreshed_id_token_about_the_same_login_passes_without_a_nonce() {
        let original = claims("user-1");
        let mut refreshed = claims("user-1");
        refreshed.nonce = None;
        refreshed.iat += 600;
        check_refreshed_claims(&original, &refreshed).unwrap();
        // The original's nonce repeated is allowed too.
        check_refreshed_claims(&original, &claims("user-1")).unwrap();
    }

    #[test]
    fn refreshed_id_token_about_another_subject_is_refused() {
        let err = check_refreshed_claims(&claims("user-1"), &claims("user-2")).unwrap_err();
        assert!(
            matches!(&err, Error::RefreshedClaimMismatch { claim: "sub", original, refreshed }
                if original == "user-1" && refreshed == "user-2"),
            "{err:?}"
        );
    }

    #[test]
    fn refreshed_id_token_with_another_nonce_audience_or_azp_is_refused() {
        let original = claims("user-1");
        let mut other_nonce = claims("user-1");
        other_nonce.nonce = Some("n-2".into());
        let mut other_aud = claims("user-1");
        other_aud.aud = Audience::Many(vec!["merchant".into(), "api".into()]);
        let mut other_azp = claims("user-1");
        other_azp.azp = Some("api".into());
        let mut other_iss = claims("user-1");
        other_iss.iss = "https://evil.example".into();
        for (refreshed, claim) in [
            (other_nonce, "nonce"),
            (other_aud, "aud"),
            (other_azp, "azp"),
            (other_iss, "iss"),
        ] {
            match check_refreshed_claims(&original, &refreshed) {
                Err(Error::RefreshedClaimMismatch { claim: found, .. }) => {
                    assert_eq!(found, claim)
                }
                other => panic!("{claim}: expected a mismatch, got {other:?}"),
            }
        }
    }
}

//! The rules for redeeming an authorization code at the token endpoint (RFC 6749 section
//! 4.1.3, RFC 7636 section 4.6), as a pure function: the provider reads the code's record and
//! the request, and this says whether the code may be redeemed, or which rule refuses it.
//! Each refusal is `invalid_grant`.

use crate::OAuthError;
use crate::pkce;

/// What the provider stored with a code, as far as the rules need it.
#[derive(Debug, Clone, Copy)]
pub struct IssuedCode<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub expires_at: i64,
    /// It was redeemed before.
    pub consumed: bool,
}

/// What the token request presents with the code.
#[derive(Debug, Clone, Copy)]
pub struct Redemption<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

/// Why a code is refused, in the order the rules are checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedemptionError {
    /// A second redemption: the provider revokes what the first one issued (section 4.1.2).
    #[error("code: already used; the tokens issued for it are revoked")]
    Replayed,
    #[error("code: was issued to another client")]
    OtherClient,
    #[error("code: expired")]
    Expired,
    #[error("redirect_uri: differs from the one in the authorization request")]
    RedirectUri,
    #[error("{0}")]
    Pkce(String),
}

impl RedemptionError {
    pub fn oauth(&self) -> OAuthError {
        OAuthError::invalid_grant(self.to_string())
    }
}

/// Checks a redemption of `code` at `now`.
pub fn check(code: &IssuedCode, request: &Redemption, now: i64) -> Result<(), RedemptionError> {
    if code.consumed {
        return Err(RedemptionError::Replayed);
    }
    if code.client_id != request.client_id {
        return Err(RedemptionError::OtherClient);
    }
    if code.expires_at <= now {
        return Err(RedemptionError::Expired);
    }
    if code.redirect_uri != request.redirect_uri {
        return Err(RedemptionError::RedirectUri);
    }
    pkce::verify(code.code_challenge, request.code_verifier).map_err(RedemptionError::Pkce)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn code() -> IssuedCode<'static> {
        IssuedCode {
            client_id: "shop",
            redirect_uri: "https://shop.example/cb",
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            expires_at: 60,
            consumed: false,
        }
    }

    fn request() -> Redemption<'static> {
        Redemption {
            client_id: "shop",
            redirect_uri: "https://shop.example/cb",
            code_verifier: VERIFIER,
        }
    }

    #[test]
    fn a_fresh_code_of_this_client_with_its_verifier_is_redeemed() {
        assert_eq!(check(&code(), &request(), 59), Ok(()));
    }

    #[test]
    fn each_rule_refuses_with_its_own_error() {
        let consumed = IssuedCode {
            consumed: true,
            ..code()
        };
        assert_eq!(
            check(&consumed, &request(), 0),
            Err(RedemptionError::Replayed)
        );
        let other = Redemption {
            client_id: "other",
            ..request()
        };
        assert_eq!(check(&code(), &other, 0), Err(RedemptionError::OtherClient));
        assert_eq!(
            check(&code(), &request(), 60),
            Err(RedemptionError::Expired)
        );
        let moved = Redemption {
            redirect_uri: "https://shop.example/cb2",
            ..request()
        };
        assert_eq!(check(&code(), &moved, 0), Err(RedemptionError::RedirectUri));
        let wrong = Redemption {
            code_verifier: "a-verifier-of-another-login-that-is-long-enough",
            ..request()
        };
        assert!(matches!(
            check(&code(), &wrong, 0),
            Err(RedemptionError::Pkce(_))
        ));
        assert_eq!(
            RedemptionError::Expired.oauth().code.as_str(),
            "invalid_grant"
        );
    }

    #[test]
    fn a_replay_is_reported_before_anything_else() {
        // So that the provider revokes the first redemption's tokens whoever replays it.
        let consumed = IssuedCode {
            consumed: true,
            expires_at: 0,
            ..code()
        };
        let other = Redemption {
            client_id: "other",
            ..request()
        };
        assert_eq!(
            check(&consumed, &other, 100),
            Err(RedemptionError::Replayed)
        );
    }
}

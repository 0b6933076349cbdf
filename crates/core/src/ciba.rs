//! Client-Initiated Backchannel Authentication (CIBA Core 1.0, poll mode) at BankID with
//! biometrics: the rules of the authentication request that need no store, and the wire shapes
//! the provider and the client library share.
//!
//! Where CIBA leaves a choice to the provider, BIS chooses:
//!
//! - the user is named by exactly one hint: `login_hint_token` (a permission token of the
//!   client, whose permission names the user) or `login_hint` (the user's NNIN, 11 digits).
//!   An NNIN is acceptable as a plain hint here because it travels server to server, in the
//!   body of a client-authenticated request; `id_token_hint` is not supported.
//! - `binding_message` is required without a permission token (the merchant shows it, the app
//!   shows it, the user compares them); with one it may be left out, and if sent it must equal
//!   the permission's. It is 1 to 50 characters: letters, digits, spaces and `- . , : ! ?`.
//! - `requested_expiry` is 10 to 600 seconds; the request expires sooner if the app or the
//!   permission does.
//! - the polling interval starts at 5 seconds (CIBA's default) and grows by 5 seconds at every
//!   poll that comes too early (`slow_down`, CIBA Core section 11).

use crate::OAuthError;
use crate::error::ErrorCode;
use crate::nnin::Nnin;
use serde::{Deserialize, Serialize};

/// The interval a new request is polled at, seconds (CIBA Core section 7.3's default).
pub const INTERVAL: i64 = 5;
/// What a poll that comes too early adds to the interval, seconds (CIBA Core section 11).
pub const SLOW_DOWN_STEP: i64 = 5;
/// Bounds of `requested_expiry`, seconds.
pub const MIN_EXPIRY: i64 = 10;
pub const MAX_EXPIRY: i64 = 600;
/// Longest `binding_message`, characters.
pub const MAX_BINDING_MESSAGE: usize = 50;
/// The scope a client is registered with to use CIBA at BIS.
pub const CIBA_SCOPE: &str = "permissions/ciba";

/// The answer to a successful authentication request (CIBA Core section 7.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationResponse {
    pub auth_req_id: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Who the request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// A permission token (`login_hint_token`).
    PermissionToken(String),
    /// The user's NNIN (`login_hint`).
    Nnin(Nnin),
}

/// `login_hint_token` or `login_hint`: exactly one (CIBA Core section 7.1).
pub fn check_hint(
    login_hint_token: Option<&str>,
    login_hint: Option<&str>,
    id_token_hint: Option<&str>,
) -> Result<Hint, OAuthError> {
    if id_token_hint.is_some() {
        return Err(OAuthError::invalid_request(
            "id_token_hint: not supported at BankID with biometrics; send login_hint_token or login_hint",
        ));
    }
    match (login_hint_token, login_hint) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "login_hint: send login_hint_token or login_hint, not both",
        )),
        (None, None) => Err(OAuthError::invalid_request(
            "login_hint_token: required, or login_hint (the user's NNIN)",
        )),
        (Some(token), None) => Ok(Hint::PermissionToken(token.to_owned())),
        (None, Some(hint)) => Nnin::parse(hint).map(Hint::Nnin).map_err(|e| {
            OAuthError::new(
                ErrorCode::UnknownUserId,
                format!("login_hint: not an NNIN ({e}); BIS names users by NNIN"),
            )
        }),
    }
}

/// `binding_message`: required without a permission; checked for what the app can show.
pub fn check_binding_message(message: Option<&str>) -> Result<Option<&str>, OAuthError> {
    let Some(message) = message else {
        return Ok(None);
    };
    let invalid = |rule: &str| {
        OAuthError::new(
            ErrorCode::InvalidBindingMessage,
            format!("binding_message: {rule}"),
        )
    };
    let length = message.chars().count();
    if length == 0 || length > MAX_BINDING_MESSAGE {
        return Err(invalid(&format!(
            "must be 1 to {MAX_BINDING_MESSAGE} characters"
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || " -.,:!?".contains(c);
    if !message.chars().all(allowed) || message.trim().is_empty() {
        return Err(invalid(
            "use letters, digits, spaces and - . , : ! ? (the app shows it as text)",
        ));
    }
    Ok(Some(message))
}

/// `requested_expiry`: how long the client will poll, seconds.
pub fn check_requested_expiry(text: Option<&str>) -> Result<Option<i64>, OAuthError> {
    let Some(text) = text else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(n) if (MIN_EXPIRY..=MAX_EXPIRY).contains(&n) => Ok(Some(n)),
        _ => Err(OAuthError::invalid_request(format!(
            "requested_expiry: a whole number of seconds from {MIN_EXPIRY} to {MAX_EXPIRY}"
        ))),
    }
}

/// `acr_values`, if sent, must include BIS's own (`urn:bankid:bis`).
pub fn check_acr_values(text: Option<&str>, bis_acr: &str) -> Result<(), OAuthError> {
    match text {
        Some(values) if !values.split(' ').any(|v| v == bis_acr) => {
            Err(OAuthError::invalid_request(format!(
                "acr_values: BankID with biometrics authenticates at {bis_acr} only"
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_hint_names_the_user() {
        assert!(check_hint(None, None, None).is_err());
        assert!(check_hint(Some("t"), Some("15076500565"), None).is_err());
        assert!(check_hint(None, None, Some("id")).is_err());
        assert_eq!(
            check_hint(Some("t"), None, None).unwrap(),
            Hint::PermissionToken("t".into())
        );
        assert!(matches!(
            check_hint(None, Some("15076500565"), None),
            Ok(Hint::Nnin(_))
        ));
        let e = check_hint(None, Some("BIS"), None).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownUserId);
    }

    #[test]
    fn binding_messages_are_short_plain_text() {
        assert_eq!(
            check_binding_message(Some("Modig laks")).unwrap(),
            Some("Modig laks")
        );
        assert!(
            check_binding_message(Some("Blå ørret 42!"))
                .unwrap()
                .is_some()
        );
        for bad in ["", "   ", "<script>", "a\nb", &"x".repeat(51)] {
            let e = check_binding_message(Some(bad)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidBindingMessage, "{bad:?}");
            assert!(e.description.starts_with("binding_message: "));
        }
    }

    #[test]
    fn requested_expiry_is_bounded() {
        assert_eq!(check_requested_expiry(Some("60")).unwrap(), Some(60));
        for bad in ["9", "601", "-1", "1.5", "soon"] {
            assert!(check_requested_expiry(Some(bad)).is_err(), "{bad}");
        }
    }
}

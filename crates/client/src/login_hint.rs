//! Builders for BankID's `login_hint` (shared/BANKID.md): every hint is checked with the core's
//! grammar before it leaves the library, so a wrong check digit or a short mobile number is the
//! merchant's error here rather than an `invalid_request` page in the user's browser.
//!
//! A hint that carries a national identity number (`BID:<nnin>`, `:<nnin>`) is personal data.
//! API version 4 accepts it only through PAR or an encrypted request object, and the library
//! refuses to put it in a plain authorization URL.
//!
//! ```
//! use bankid_oidc_client::login_hint;
//!
//! let hint = login_hint::bid_with_nnin("15076500565")?;
//! assert_eq!(login_hint::to_text(&hint), "BID:15076500565");
//! assert!(login_hint::bim_with_mobile("4805984", "150765").is_err());
//! # Ok::<(), bankid_oidc_client::Error>(())
//! ```

use crate::Error;
use bankid_oidc_core::acr::Method;
pub use bankid_oidc_core::login_hint::LoginHint;

/// Netcentric BankID (`BID`).
pub fn bid() -> LoginHint {
    LoginHint::Method {
        method: Method::Bid,
    }
}

/// BankID with biometrics (`BIS`).
pub fn bis() -> LoginHint {
    LoginHint::Method {
        method: Method::Bis,
    }
}

/// BankID on mobile (`BIM`).
pub fn bim() -> LoginHint {
    LoginHint::Method {
        method: Method::Bim,
    }
}

/// Netcentric BankID for a known user (`BID:<nnin>`). Confidential: PAR or encrypted request
/// object only.
pub fn bid_with_nnin(nnin: &str) -> Result<LoginHint, Error> {
    parse(&format!("BID:{nnin}"))
}

/// BankID on mobile for a phone number and birth date (`BIM:<8-digit mobile>:<DDMMYY>`).
pub fn bim_with_mobile(mobile: &str, birth_ddmmyy: &str) -> Result<LoginHint, Error> {
    parse(&format!("BIM:{mobile}:{birth_ddmmyy}"))
}

/// A known user, the method left to them (`:<nnin>`). Confidential: PAR or encrypted request
/// object only.
pub fn user(nnin: &str) -> Result<LoginHint, Error> {
    parse(&format!(":{nnin}"))
}

/// Any hint text, checked against the grammar.
pub fn parse(text: &str) -> Result<LoginHint, Error> {
    LoginHint::parse(text).map_err(Error::InvalidLoginHint)
}

/// The hint as sent in `login_hint`.
pub fn to_text(hint: &LoginHint) -> String {
    match hint {
        LoginHint::Method { method } => method.hint().to_owned(),
        LoginHint::BidUser { nnin } => format!("BID:{nnin}"),
        LoginHint::BimUser {
            mobile,
            birth_ddmmyy,
        } => format!("BIM:{mobile}:{birth_ddmmyy}"),
        LoginHint::User { nnin } => format!(":{nnin}"),
    }
}

/// Whether the hint text names a user by NNIN, so that it must not travel in a URL. Text outside
/// BankID's grammar (an e-mail address for another provider, say) is not judged here.
pub fn carries_nnin(text: &str) -> bool {
    LoginHint::parse(text).is_ok_and(|hint| hint.nnin().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NNIN: &str = "15076500565";

    #[test]
    fn every_builder_produces_text_the_grammar_reads_back_as_the_same_hint() {
        let hints = [
            bid(),
            bis(),
            bim(),
            bid_with_nnin(NNIN).unwrap(),
            bim_with_mobile("48059848", "150765").unwrap(),
            user(NNIN).unwrap(),
        ];
        let texts: Vec<String> = hints.iter().map(to_text).collect();
        assert_eq!(
            texts,
            [
                "BID",
                "BIS",
                "BIM",
                "BID:15076500565",
                "BIM:48059848:150765",
                ":15076500565"
            ]
        );
        for (hint, text) in hints.iter().zip(&texts) {
            assert_eq!(&LoginHint::parse(text).unwrap(), hint);
        }
    }

    #[test]
    fn builders_refuse_what_the_provider_would_refuse() {
        assert!(matches!(
            bid_with_nnin("15076500566"),
            Err(Error::InvalidLoginHint(reason)) if reason.contains("check digits")
        ));
        assert!(user("1507650056").is_err());
        assert!(bim_with_mobile("4805984", "150765").is_err());
        assert!(bim_with_mobile("48059848", "1507651").is_err());
        assert!(parse("BANKID").is_err());
    }

    #[test]
    fn only_hints_with_an_nnin_are_confidential() {
        assert!(carries_nnin("BID:15076500565"));
        assert!(carries_nnin(":15076500565"));
        for text in ["BID", "BIS", "BIM:48059848:150765", "kari@example.no"] {
            assert!(!carries_nnin(text), "{text}");
        }
    }
}

//! The BankID `login_hint` grammar: `BID`, `BIS`, `BIM`, `BID:<nnin>`,
//! `BIM:<8-digit mobile>:<DDMMYY>` and `:<nnin>`.

use crate::acr::Method;
use crate::nnin::Nnin;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoginHint {
    /// Only the method: `BID`, `BIM` or `BIS`.
    Method { method: Method },
    /// Netcentric BankID for a given user: `BID:<nnin>`.
    BidUser { nnin: Nnin },
    /// BankID on mobile for a phone number and birth date: `BIM:<mobile>:<DDMMYY>`.
    BimUser {
        mobile: String,
        birth_ddmmyy: String,
    },
    /// A given user, method chosen by the user: `:<nnin>`.
    User { nnin: Nnin },
}

impl LoginHint {
    pub fn parse(text: &str) -> Result<LoginHint, String> {
        let bad = |rule: &str| Err(format!("login_hint: {rule}"));
        let mut parts = text.split(':');
        let head = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        match (head, rest.as_slice()) {
            (keyword, []) => match Method::from_hint(keyword) {
                Some(method) => Ok(LoginHint::Method { method }),
                None => bad("must be BID, BIM, BIS, BID:<nnin>, BIM:<mobile>:<DDMMYY> or :<nnin>"),
            },
            ("BID", [nnin]) | ("", [nnin]) => {
                let nnin = Nnin::parse(nnin).map_err(|e| format!("login_hint: {e}"))?;
                Ok(if head.is_empty() {
                    LoginHint::User { nnin }
                } else {
                    LoginHint::BidUser { nnin }
                })
            }
            ("BIM", [mobile, birth]) => {
                if mobile.len() != 8 || !mobile.bytes().all(|b| b.is_ascii_digit()) {
                    return bad("BIM:<mobile>:<DDMMYY> needs an 8-digit Norwegian mobile number");
                }
                if birth.len() != 6 || !birth.bytes().all(|b| b.is_ascii_digit()) {
                    return bad("BIM:<mobile>:<DDMMYY> needs the birth date as 6 digits DDMMYY");
                }
                Ok(LoginHint::BimUser {
                    mobile: (*mobile).to_owned(),
                    birth_ddmmyy: (*birth).to_owned(),
                })
            }
            _ => bad("must be BID, BIM, BIS, BID:<nnin>, BIM:<mobile>:<DDMMYY> or :<nnin>"),
        }
    }

    /// The method the hint selects, if any.
    pub fn method(&self) -> Option<Method> {
        match self {
            LoginHint::Method { method } => Some(*method),
            LoginHint::BidUser { .. } => Some(Method::Bid),
            LoginHint::BimUser { .. } => Some(Method::Bim),
            LoginHint::User { .. } => None,
        }
    }

    /// The user's national identity number, if the hint carries one. API version 4 accepts such
    /// a hint only inside a pushed authorization request or an encrypted request object.
    pub fn nnin(&self) -> Option<&Nnin> {
        match self {
            LoginHint::BidUser { nnin } | LoginHint::User { nnin } => Some(nnin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_of_the_grammar() {
        assert_eq!(LoginHint::parse("BIS").unwrap().method(), Some(Method::Bis));
        assert_eq!(LoginHint::parse("BID").unwrap().method(), Some(Method::Bid));
        let bid = LoginHint::parse("BID:15076500565").unwrap();
        assert_eq!(bid.nnin().unwrap().as_str(), "15076500565");
        assert_eq!(bid.method(), Some(Method::Bid));
        let user = LoginHint::parse(":15076500565").unwrap();
        assert_eq!(user.method(), None);
        assert!(user.nnin().is_some());
        assert_eq!(
            LoginHint::parse("BIM:48059848:150765").unwrap(),
            LoginHint::BimUser {
                mobile: "48059848".into(),
                birth_ddmmyy: "150765".into()
            }
        );
    }

    #[test]
    fn refuses_malformed_hints() {
        for bad in [
            "bid",
            "BANKID",
            "BID:123",
            "BID:15076500566",
            "BIS:15076500565",
            "BIM:1234:150765",
            "BIM:48059848:15076",
            "",
            "BID:15076500565:x",
        ] {
            assert!(LoginHint::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}

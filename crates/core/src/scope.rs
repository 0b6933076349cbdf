//! Scopes: the RFC 6749 scope grammar and the scopes BankID defines.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Scopes a person login (authorization code flow) may ask for.
pub const PERSON_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "nnin_altsub",
    "email",
    "phone",
    "offline_access",
    "address",
    "nnin",
];

/// Scopes a login at the BankID with biometrics issuer may ask for (seed 004): `sub_nnin` gives
/// the NNIN, `sub_bankid` the BankID PID, each in the BIS ID token and userinfo.
pub const BIS_SCOPES: &[&str] = &["openid", "profile", "sub_nnin", "sub_bankid"];

/// Machine scopes (client credentials): eSign (seed 003) and the permissions APIs (seed 004).
pub const MACHINE_SCOPES: &[&str] = &[
    "esign/csc",
    "esign",
    "signdoc/read_write",
    "esign/qtsa",
    "esign/nnin",
    "permissions/client",
    "permissions/iframe",
    "permissions/ciba",
    "permissions/text",
    "permissions/app2app",
];

/// A set of scope tokens, each of valid RFC 6749 section 3.3 syntax. Ordered, so that it prints
/// the same way every time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses a space-delimited scope string. Refuses empty tokens from doubled spaces and
    /// characters outside `%x21 / %x23-5B / %x5D-7E`.
    pub fn parse(text: &str) -> Result<ScopeSet, String> {
        let mut set = BTreeSet::new();
        for token in text.split(' ') {
            if token.is_empty() {
                return Err("scope: scope tokens are separated by single spaces".into());
            }
            if !token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err(
                    "scope: a scope token has a character outside %x21 / %x23-5B / %x5D-7E".into(),
                );
            }
            set.insert(token.to_owned());
        }
        Ok(ScopeSet(set))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes in `self` that `other` lacks.
    pub fn missing_from<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

impl TryFrom<String> for ScopeSet {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() {
            Ok(ScopeSet::default())
        } else {
            ScopeSet::parse(&value)
        }
    }
}

impl From<ScopeSet> for String {
    fn from(value: ScopeSet) -> String {
        value.to_string()
    }
}

impl<'a> FromIterator<&'a str> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = &'a str>>(iter: T) -> Self {
        ScopeSet(iter.into_iter().map(str::to_owned).collect())
    }
}

/// Whether `scope` is any scope this provider knows.
pub fn is_known(scope: &str) -> bool {
    PERSON_SCOPES.contains(&scope) || BIS_SCOPES.contains(&scope) || MACHINE_SCOPES.contains(&scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_in_a_stable_order() {
        let s = ScopeSet::parse("profile openid nnin_altsub openid").unwrap();
        assert_eq!(s.to_string(), "nnin_altsub openid profile");
        assert!(s.contains("openid"));
    }

    #[test]
    fn refuses_bad_syntax() {
        assert!(ScopeSet::parse("openid  profile").is_err());
        assert!(ScopeSet::parse("openid \"x\"").is_err());
        assert!(ScopeSet::parse("").is_err());
        assert!(ScopeSet::parse("openid\tprofile").is_err());
    }
}

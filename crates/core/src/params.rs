//! Request parameters (query or form body) with the rules of RFC 6749 section 3.1: each name at
//! most once, an empty value counts as absent, and a bounded number of parameters.

use crate::error::OAuthError;
use std::collections::BTreeMap;

/// Most parameters in one request.
pub const MAX_PARAMS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, OAuthError> {
        let mut map = BTreeMap::new();
        for (count, (name, value)) in pairs.into_iter().enumerate() {
            if count >= MAX_PARAMS {
                return Err(OAuthError::invalid_request(format!(
                    "the request has more than {MAX_PARAMS} parameters"
                )));
            }
            if value.is_empty() {
                continue;
            }
            if map.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!(
                    "{name}: a parameter must not be sent more than once"
                )));
            }
            map.insert(name, value);
        }
        Ok(Params(map))
    }

    /// Parses `application/x-www-form-urlencoded` text (a query string or a form body). Invalid
    /// UTF-8 is refused rather than replaced, so that two different byte strings never read as
    /// the same value.
    pub fn from_urlencoded(text: &[u8]) -> Result<Self, OAuthError> {
        let bad = || {
            OAuthError::invalid_request(
                "the parameters are not valid application/x-www-form-urlencoded UTF-8",
            )
        };
        let decode = |part: &[u8]| -> Result<String, OAuthError> {
            let spaced: Vec<u8> = part
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
            String::from_utf8(bytes).map_err(|_| bad())
        };
        let pairs = text
            .split(|b| *b == b'&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut halves = part.splitn(2, |b| *b == b'=');
                let name = decode(halves.next().unwrap_or_default())?;
                let value = decode(halves.next().unwrap_or_default())?;
                Ok((name, value))
            });
        Self::from_pairs(pairs.collect::<Result<Vec<_>, OAuthError>>()?)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name}: required")))
    }

    /// Like [`Params::require`], for the parameters API version 4 made mandatory.
    pub fn require_v4(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("{name}: required by API version 4"))
        })
    }

    /// The `client_id`, for the caller to look the client up.
    pub fn client_id(&self) -> Result<&str, OAuthError> {
        let client_id = self.require("client_id")?;
        if client_id.len() > 255 {
            return Err(OAuthError::invalid_request(
                "client_id: longer than 255 characters",
            ));
        }
        Ok(client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_repeated_parameters_and_ignores_empty_ones() {
        assert!(Params::from_urlencoded(b"a=1&a=2").is_err());
        let p = Params::from_urlencoded(b"a=&b=2").unwrap();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("2"));
    }

    #[test]
    fn refuses_too_many_parameters_and_bad_encoding() {
        let many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=x&")).collect();
        assert!(Params::from_urlencoded(many.as_bytes()).is_err());
        assert!(Params::from_urlencoded(b"a=%FF").is_err());
        assert!(Params::from_urlencoded(b"a=\xff").is_err());
        let p = Params::from_urlencoded(b"scope=openid+profile&x=%26%3D&flag").unwrap();
        assert_eq!(p.get("scope"), Some("openid profile"));
        assert_eq!(p.get("x"), Some("&="));
        assert_eq!(p.get("flag"), None);
    }
}

//! Identity methods and their authentication context (`acr`) and methods (`amr`) values.

use serde::{Deserialize, Serialize};

/// How the user identifies: BankID netcentric (one-time code and password), BankID on mobile,
/// or BankID with biometrics (the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Bid,
    Bim,
    Bis,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Bid, Method::Bim, Method::Bis];

    /// The `login_hint` keyword that selects this method.
    pub fn hint(self) -> &'static str {
        match self {
            Method::Bid => "BID",
            Method::Bim => "BIM",
            Method::Bis => "BIS",
        }
    }

    /// The `acr_values` value that selects this method.
    pub fn acr_value(self) -> &'static str {
        match self {
            Method::Bid => "urn:bankid:bid",
            Method::Bim => "urn:bankid:bim",
            Method::Bis => "urn:bankid:bis",
        }
    }

    /// Level of assurance: 4 (high) for BID and BIM, 3 (substantial) for BIS.
    pub fn loa(self) -> u8 {
        match self {
            Method::Bid | Method::Bim => 4,
            Method::Bis => 3,
        }
    }

    /// The `acr` claim, which always carries `;LOA=N`.
    pub fn acr(self) -> String {
        format!("{};LOA={}", self.acr_value(), self.loa())
    }

    /// The `amr` claim.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Method::Bid => &["bid"],
            Method::Bim => &["bim"],
            Method::Bis => &["bis-mfa", "bis-hwk"],
        }
    }

    pub fn from_hint(keyword: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.hint() == keyword)
    }
}

/// Parses a space-separated `acr_values` list into the methods it allows. Each value is a method
/// URN, optionally with its own `;LOA=N` suffix (so that a client can send back an `acr` it got).
pub fn parse_acr_values(acr_values: &str) -> Result<Vec<Method>, String> {
    let mut methods = Vec::new();
    for value in acr_values.split(' ').filter(|v| !v.is_empty()) {
        let (urn, loa) = match value.split_once(";LOA=") {
            Some((urn, loa)) => (urn, Some(loa)),
            None => (value, None),
        };
        let method = Method::ALL
            .into_iter()
            .find(|m| m.acr_value() == urn)
            .ok_or_else(|| format!("acr_values: unknown value '{value}' (supported: urn:bankid:bid, urn:bankid:bim, urn:bankid:bis)"))?;
        if let Some(loa) = loa
            && loa != method.loa().to_string()
        {
            return Err(format!(
                "acr_values: {urn} gives LOA={}, not LOA={loa}",
                method.loa()
            ));
        }
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    if methods.is_empty() {
        return Err("acr_values: must not be empty when present".into());
    }
    Ok(methods)
}

/// The level of assurance in an `acr` value such as `urn:bankid:bis;LOA=3`.
pub fn loa_of(acr: &str) -> Option<u8> {
    acr.rsplit_once(";LOA=")
        .and_then(|(_, loa)| loa.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_carries_the_level_of_assurance() {
        assert_eq!(Method::Bid.acr(), "urn:bankid:bid;LOA=4");
        assert_eq!(Method::Bis.acr(), "urn:bankid:bis;LOA=3");
        assert_eq!(loa_of("urn:bankid:bis;LOA=3"), Some(3));
        assert_eq!(loa_of("urn:bankid:bis"), None);
    }

    #[test]
    fn acr_values_select_methods_and_refuse_unknown_or_inflated_levels() {
        assert_eq!(
            parse_acr_values("urn:bankid:bid urn:bankid:bis").unwrap(),
            [Method::Bid, Method::Bis]
        );
        assert_eq!(
            parse_acr_values("urn:bankid:bis;LOA=3").unwrap(),
            [Method::Bis]
        );
        assert!(parse_acr_values("urn:bankid:bis;LOA=4").is_err());
        assert!(parse_acr_values("urn:bankid:xyz").is_err());
        assert!(parse_acr_values(" ").is_err());
    }
}

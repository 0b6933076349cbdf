//! The grant types of the token endpoint, and how clients authenticate there: one vocabulary
//! for the provider's token endpoint, its discovery, client registration and the CLI.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A `grant_type` (RFC 6749 section 4; CIBA Core section 10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// Client-Initiated Backchannel Authentication, poll mode (BankID with biometrics).
    Ciba,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Ciba,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Ciba => "urn:openid:params:grant-type:ciba",
        }
    }

    pub fn parse(text: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for GrantType {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        GrantType::parse(&text).ok_or_else(|| format!("unknown grant type '{text}'"))
    }
}

impl From<GrantType> for &'static str {
    fn from(g: GrantType) -> Self {
        g.as_str()
    }
}

/// A client authentication method at the token, introspection and revocation endpoints
/// (OpenID Connect Core section 9). `client_secret_jwt` and `none` are not offered: BankID's
/// clients are confidential and use a secret or their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum ClientAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub const ALL: [ClientAuthMethod; 3] = [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::PrivateKeyJwt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(text: &str) -> Option<ClientAuthMethod> {
        ClientAuthMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
    }

    /// Whether the client authenticates with a shared secret (either way of sending it).
    pub fn uses_secret(self) -> bool {
        self != ClientAuthMethod::PrivateKeyJwt
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for ClientAuthMethod {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        ClientAuthMethod::parse(&text)
            .ok_or_else(|| format!("unknown client authentication method '{text}'"))
    }
}

impl From<ClientAuthMethod> for &'static str {
    fn from(m: ClientAuthMethod) -> Self {
        m.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_itself() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(serde_json::from_str::<GrantType>(&json).unwrap(), g);
        }
        for m in ClientAuthMethod::ALL {
            assert_eq!(ClientAuthMethod::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn unknown_names_are_refused_not_guessed() {
        for bad in [
            "",
            "password",
            "implicit",
            "AUTHORIZATION_CODE",
            "authorization_code ",
        ] {
            assert_eq!(GrantType::parse(bad), None, "{bad:?}");
        }
        for bad in ["client_secret_jwt", "none", "tls_client_auth"] {
            assert_eq!(ClientAuthMethod::parse(bad), None, "{bad}");
        }
        assert!(serde_json::from_str::<GrantType>("\"password\"").is_err());
    }
}

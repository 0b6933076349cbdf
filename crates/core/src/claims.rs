//! The claims of the tokens this provider issues, shared by the provider (which builds them) and
//! the client library (which reads them).

use serde::{Deserialize, Serialize};

/// `aud`: one audience or several (RFC 7519 section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Audience::One(a) => a == value,
            Audience::Many(list) => list.iter().any(|a| a == value),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The profile claims (scope `profile`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// The ID token of the realm issuer under API version 4 (shared/BANKID.md, "Tokens"), and of the
/// BIS issuer (`sub_nnin`, `sub_bankid`, `proof_key_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// `"ID"` for an ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_ver: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The BankID PID, the user's stable identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bankid_altsub: Option<String>,
    /// The NNIN (scope `nnin_altsub`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nnin_altsub: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_nnin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_bankid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_digest: Option<String>,
}

/// A JWT access token (RFC 9068, header `typ: at+jwt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Approved rich authorization details (RFC 9396), each with its digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Vec<crate::permission::AuthorizationDetail>>,
}

/// The JWT `typ` header of access tokens; userinfo accepts no other, so an ID token can never be
/// used as an access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The `typ` claim BankID puts in ID tokens.
pub const ID_TOKEN_TYP: &str = "ID";

/// The token endpoint's successful answer (RFC 6749 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Seconds the access token lives; RFC 6749 only recommends it, so a reader must accept
    /// its absence (lifetime unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

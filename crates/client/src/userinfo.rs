//! The userinfo answer (OpenID Connect Core 5.3), plain JSON or a signed JWT, and the rule that it
//! must be about the same subject as the ID token.

use crate::Error;
use crate::http::HttpResponse;
use crate::id_token::IdTokenVerifier;
use crate::jws::{self, KeySet};
use crate::token::endpoint_error;
use bankid_oidc_core::claims::{Audience, ProfileClaims};
use serde::{Deserialize, Serialize};

/// Userinfo claims. BankID returns `email`, `phone_number`, `address` and (where the user
/// consented for this request) `nnin`; anything else is kept in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The OpenID Connect address object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nnin: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl UserInfo {
    /// The profile claims among `other`, if the provider returned any.
    pub fn profile(&self) -> ProfileClaims {
        serde_json::from_value(serde_json::Value::Object(self.other.clone())).unwrap_or_default()
    }
}

/// Signed userinfo carries `iss` and `aud` (Core 5.3.2), which must name the provider and us;
/// without them a signed answer meant for another client could be replayed to this one.
#[derive(Deserialize)]
struct SignedUserInfoEnvelope {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
}

/// Reads a userinfo answer. `expected_sub` is the validated ID token's `sub`; `keys` verify a JWT
/// answer with the same algorithm rules as ID tokens.
pub fn process_userinfo_response(
    url: &str,
    response: &HttpResponse,
    verifier: &IdTokenVerifier,
    keys: &KeySet,
    expected_sub: &str,
) -> Result<UserInfo, Error> {
    if response.status != 200 {
        return Err(endpoint_error("userinfo", url, response));
    }
    let media_type = response.media_type().unwrap_or_default();
    let info: UserInfo = match media_type.as_str() {
        "application/json" => serde_json::from_slice(&response.body).map_err(|e| malformed(&e))?,
        "application/jwt" => {
            let token = std::str::from_utf8(&response.body)
                .map_err(|_| Error::MalformedJwt("userinfo JWT is not UTF-8".into()))?
                .trim();
            let verified = jws::verify(token, verifier.algs(), keys)?;
            let envelope: SignedUserInfoEnvelope =
                serde_json::from_slice(&verified.payload).map_err(|e| malformed(&e))?;
            let iss = envelope.iss.ok_or(Error::MissingUserinfoClaim("iss"))?;
            if iss != verifier.issuer() {
                return Err(Error::WrongIssuer {
                    expected: verifier.issuer().to_owned(),
                    found: iss,
                });
            }
            let aud = envelope.aud.ok_or(Error::MissingUserinfoClaim("aud"))?;
            if !aud.contains(verifier.client_id()) {
                return Err(Error::WrongAudience {
                    client_id: verifier.client_id().to_owned(),
                    found: match aud {
                        Audience::One(a) => vec![a],
                        Audience::Many(list) => list,
                    },
                });
            }
            serde_json::from_slice(&verified.payload).map_err(|e| malformed(&e))?
        }
        other => return Err(Error::UnsupportedContentType(other.to_owned())),
    };
    if info.sub.is_empty() {
        return Err(Error::EmptyClaim("sub"));
    }
    // Another user's claims, swapped in by a token substitution, must never be attached to this
    // login.
    if info.sub != expected_sub {
        return Err(Error::UserinfoSubjectMismatch {
            expected: expected_sub.to_owned(),
            found: info.sub,
        });
    }
    Ok(info)
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::MalformedResponse {
        what: "userinfo response",
        detail: e.to_string(),
    }
}

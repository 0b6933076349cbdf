//! ID token validation (OpenID Connect Core 3.1.3.7 and seeds 002/004), every check explicit and
//! failing with its own error. Pure: the keys and the current time are passed in.

use crate::Error;
use crate::jws::{self, AllowedAlgs, KeySet};
use aws_lc_rs::digest::{self, SHA256, SHA384, SHA512};
use bankid_oidc_core::acr::loa_of;
use bankid_oidc_core::b64;
use bankid_oidc_core::claims::{Audience, ID_TOKEN_TYP, IdTokenClaims};
use bankid_oidc_core::discovery::ProviderMetadata;
use serde::Deserialize;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The clock skew tolerated on `exp`, `iat` and `nbf` unless configured otherwise.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(30);

/// What one particular ID token must match besides the provider-wide rules: the values of the
/// login it answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected<'a> {
    /// The pending login's nonce. When set, the token must carry exactly this nonce.
    pub nonce: Option<&'a str>,
    /// The access token issued with the ID token; checked against `at_hash` when the token has one
    /// (or always, with [`IdTokenVerifier::require_at_hash`]).
    pub access_token: Option<&'a str>,
}

/// A validated ID token: claims that passed every check, and the compact token (for
/// `id_token_hint` and logout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdToken {
    pub claims: IdTokenClaims,
    pub raw: String,
}

impl IdToken {
    /// The level of assurance in `acr`, e.g. 3 for `urn:bankid:bis;LOA=3`.
    pub fn loa(&self) -> Option<u8> {
        self.claims.acr.as_deref().and_then(loa_of)
    }
}

/// The rules an ID token from one provider to one client must satisfy.
///
/// ```
/// # use bankid_oidc_client::IdTokenVerifier;
/// # use bankid_oidc_core::discovery::ProviderMetadata;
/// # let metadata = ProviderMetadata { issuer: "https://op.example".into(), jwks_uri: "https://op.example/jwks".into(),
/// #     id_token_signing_alg_values_supported: vec!["ES256".into()], ..Default::default() };
/// let verifier = IdTokenVerifier::new(&metadata, "my-client")?
///     .clock_skew(std::time::Duration::from_secs(10))
///     .min_loa(3);
/// # Ok::<(), bankid_oidc_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IdTokenVerifier {
    issuer: String,
    client_id: String,
    allowed_algs: AllowedAlgs,
    clock_skew: Duration,
    min_loa: Option<u8>,
    require_at_hash: bool,
}

impl IdTokenVerifier {
    /// Issuer and algorithms from the provider's discovery document.
    pub fn new(metadata: &ProviderMetadata, client_id: &str) -> Result<Self, Error> {
        Ok(IdTokenVerifier {
            issuer: metadata.issuer.clone(),
            client_id: client_id.to_owned(),
            allowed_algs: AllowedAlgs::from_announced(
                &metadata.id_token_signing_alg_values_supported,
            )?,
            clock_skew: DEFAULT_CLOCK_SKEW,
            min_loa: None,
            require_at_hash: false,
        })
    }

    /// Narrows the accepted algorithms further (e.g. to `["ES256"]` for BankID). Unsafe and
    /// unsupported names are dropped, as with discovery.
    pub fn allowed_algs(mut self, algs: &[&str]) -> Result<Self, Error> {
        let wanted: Vec<String> = algs.iter().map(|a| a.to_string()).collect();
        let narrowed: Vec<String> = self
            .allowed_algs
            .names()
            .into_iter()
            .filter(|a| wanted.contains(a))
            .collect();
        self.allowed_algs = AllowedAlgs::from_announced(&narrowed)?;
        Ok(self)
    }

    /// Tolerance on `exp`, `iat` and `nbf` for clocks that disagree a little (default 30 seconds).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The lowest level of assurance accepted in `acr` (seeds 002 and 004: "acr includes LOA=3").
    pub fn min_loa(mut self, loa: u8) -> Self {
        self.min_loa = Some(loa);
        self
    }

    /// Refuse ID tokens without `at_hash` when an access token came with them. BankID's tokens
    /// under API version 4 carry it; generic providers often do not in the code flow.
    pub fn require_at_hash(mut self, required: bool) -> Self {
        self.require_at_hash = required;
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn algs(&self) -> &AllowedAlgs {
        &self.allowed_algs
    }

    /// Runs every check on `token`; `now` is seconds since the Unix epoch.
    pub fn verify(
        &self,
        token: &str,
        keys: &KeySet,
        expected: &Expected<'_>,
        now: i64,
    ) -> Result<IdToken, Error> {
        let jws = jws::verify(token, &self.allowed_algs, keys)?;
        let claims: IdTokenClaims = serde_json::from_slice(&jws.payload)
            .map_err(|e| Error::MalformedJwt(format!("ID token claims: {e}")))?;
        // `nbf` is optional and not among the core crate's ID token claims.
        let not_before: NotBefore = serde_json::from_slice(&jws.payload)
            .map_err(|e| Error::MalformedJwt(format!("ID token claims: {e}")))?;

        self.check_issuer(&claims)?;
        self.check_audience(&claims)?;
        check_identifiers(&claims)?;
        self.check_times(&claims, not_before.nbf, now)?;
        check_typ(&claims)?;
        check_nonce(&claims, expected.nonce)?;
        self.check_loa(&claims)?;
        self.check_at_hash(&claims, &jws.header.alg, expected.access_token)?;

        Ok(IdToken {
            claims,
            raw: token.to_owned(),
        })
    }

    fn check_issuer(&self, claims: &IdTokenClaims) -> Result<(), Error> {
        if claims.iss != self.issuer {
            return Err(Error::WrongIssuer {
                expected: self.issuer.clone(),
                found: claims.iss.clone(),
            });
        }
        Ok(())
    }

    fn check_audience(&self, claims: &IdTokenClaims) -> Result<(), Error> {
        if !claims.aud.contains(&self.client_id) {
            return Err(Error::WrongAudience {
                client_id: self.client_id.clone(),
                found: match &claims.aud {
                    Audience::One(a) => vec![a.clone()],
                    Audience::Many(list) => list.clone(),
                },
            });
        }
        // With several audiences another party could have asked for this token; azp says who.
        match &claims.azp {
            None if claims.aud.len() > 1 => Err(Error::MissingAzp),
            Some(azp) if *azp != self.client_id => Err(Error::WrongAzp {
                client_id: self.client_id.clone(),
                found: azp.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// `exp`, `iat` and `nbf` come from the provider: every comparison saturates, so no value
    /// (i64::MIN to i64::MAX) can overflow; values outside i64 fail to parse, as malformed.
    fn check_times(&self, claims: &IdTokenClaims, nbf: Option<i64>, now: i64) -> Result<(), Error> {
        let skew = self.clock_skew.as_secs();
        let skew_i = i64::try_from(skew).unwrap_or(i64::MAX);
        if now > claims.exp.saturating_add(skew_i) {
            return Err(Error::Expired {
                exp: claims.exp,
                now,
                skew,
            });
        }
        if claims.iat > now.saturating_add(skew_i) {
            return Err(Error::IssuedInFuture {
                iat: claims.iat,
                now,
                skew,
            });
        }
        if let Some(nbf) = nbf
            && nbf > now.saturating_add(skew_i)
        {
            return Err(Error::NotYetValid { nbf, now, skew });
        }
        Ok(())
    }

    fn check_loa(&self, claims: &IdTokenClaims) -> Result<(), Error> {
        let Some(required) = self.min_loa else {
            return Ok(());
        };
        let acr = claims
            .acr
            .as_deref()
            .ok_or(Error::MissingAcr { required })?;
        match loa_of(acr) {
            Some(loa) if loa >= required => Ok(()),
            _ => Err(Error::InsufficientLoa {
                acr: acr.to_owned(),
                required,
            }),
        }
    }

    fn check_at_hash(
        &self,
        claims: &IdTokenClaims,
        alg: &str,
        access_token: Option<&str>,
    ) -> Result<(), Error> {
        let Some(access_token) = access_token else {
            return Ok(());
        };
        match &claims.at_hash {
            Some(at_hash) if *at_hash == token_hash(alg, access_token) => Ok(()),
            Some(_) => Err(Error::AtHashMismatch),
            None if self.require_at_hash => Err(Error::MissingAtHash),
            None => Ok(()),
        }
    }
}

#[derive(Deserialize)]
struct NotBefore {
    #[serde(default)]
    nbf: Option<i64>,
}

/// A merchant keys its users by `sub` (and sessions by `sid`): an empty one would make every
/// such token the same user.
fn check_identifiers(claims: &IdTokenClaims) -> Result<(), Error> {
    if claims.sub.is_empty() {
        return Err(Error::EmptyClaim("sub"));
    }
    if claims.sid.as_deref() == Some("") {
        return Err(Error::EmptyClaim("sid"));
    }
    Ok(())
}

/// The ID token's `acr` must be one the login asked for in `acr_values` (kept in the pending
/// login), so that a user who edits the request down to a weaker method is refused. A requested
/// value matches an `acr` with the same method (the part before `;LOA=`); a requested value with
/// its own `;LOA=N` also needs at least level N. Nothing requested: nothing to check (the
/// client-wide [`IdTokenVerifier::min_loa`] still applies).
pub fn check_requested_acr(claims: &IdTokenClaims, requested: &[String]) -> Result<(), Error> {
    if requested.is_empty() {
        return Ok(());
    }
    let refused = || Error::AcrNotRequested {
        acr: claims.acr.clone(),
        requested: requested.to_vec(),
    };
    let acr = claims.acr.as_deref().ok_or_else(refused)?;
    let method = |value: &str| value.split(";LOA=").next().unwrap_or_default().to_owned();
    let satisfies = |wanted: &String| {
        method(acr) == method(wanted)
            && match wanted.split_once(";LOA=") {
                None => true,
                Some(_) => match (loa_of(wanted), loa_of(acr)) {
                    (Some(needed), Some(got)) => got >= needed,
                    _ => acr == wanted.as_str(),
                },
            }
    };
    if requested.iter().any(satisfies) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// BankID marks ID tokens with `typ: "ID"`; a token with another `typ` (an access token, say)
/// must not pass as one. Providers that set no `typ` claim are accepted.
fn check_typ(claims: &IdTokenClaims) -> Result<(), Error> {
    match claims.typ.as_deref() {
        Some(typ) if typ != ID_TOKEN_TYP => Err(Error::WrongTokenTyp(typ.to_owned())),
        _ => Ok(()),
    }
}

fn check_nonce(claims: &IdTokenClaims, expected: Option<&str>) -> Result<(), Error> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let found = claims.nonce.as_deref().ok_or(Error::MissingNonce)?;
    if bool::from(found.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(Error::NonceMismatch)
    }
}

/// `at_hash`: the left half of the hash that the signing algorithm uses, base64url-encoded
/// (OpenID Connect Core 3.1.3.6; Ed25519 uses SHA-512).
pub(crate) fn token_hash(alg: &str, token: &str) -> String {
    let algorithm = match alg {
        "ES384" | "RS384" | "PS384" => &SHA384,
        "ES512" | "RS512" | "PS512" | "EdDSA" => &SHA512,
        _ => &SHA256,
    };
    let hash = digest::digest(algorithm, token.as_bytes());
    let bytes = hash.as_ref();
    b64::encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_for_sha256_algorithms_matches_the_core_at_hash() {
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            token_hash("ES256", token),
            bankid_oidc_core::token_hash::at_hash(token)
        );
        assert_eq!(token_hash("RS256", token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(token_hash("PS384", token).len(), 32);
    }

    fn with_acr(acr: Option<&str>) -> IdTokenClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "aud": "c", "exp": 2, "iat": 1, "acr": acr,
        }))
        .unwrap()
    }

    fn requested(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn requested_acr_matches_by_method_and_at_least_the_level_asked() {
        let bis3 = with_acr(Some("urn:bankid:bis;LOA=3"));
        for ok in [
            &[][..],
            &["urn:bankid:bis"],
            &["urn:bankid:bid", "urn:bankid:bis"],
            &["urn:bankid:bis;LOA=3"],
            &["urn:bankid:bis;LOA=2"],
        ] {
            check_requested_acr(&bis3, &requested(ok)).unwrap();
        }
        for refused in [
            &["urn:bankid:bid"][..],
            &["urn:bankid:bis;LOA=4"],
            &["urn:bankid:bi"],
            // A level the library cannot read must then be matched exactly.
            &["urn:bankid:bis;LOA=three"],
        ] {
            assert!(matches!(
                check_requested_acr(&bis3, &requested(refused)),
                Err(Error::AcrNotRequested { .. })
            ));
        }
        // Other providers' plain values (Auth0's phr/phrh, eIDAS levels) compare as they are.
        check_requested_acr(&with_acr(Some("phr")), &requested(&["phrh", "phr"])).unwrap();
        assert!(matches!(
            check_requested_acr(&with_acr(None), &requested(&["phr"])),
            Err(Error::AcrNotRequested { acr: None, .. })
        ));
    }
}

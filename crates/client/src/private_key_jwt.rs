//! A `private_key_jwt` signer (RFC 7523 section 2.2, OpenID Connect Core 9) on an ES256 key:
//! the client proves its identity with a short-lived JWT signed by its own P-256 key, whose
//! public half the provider has registered (as a JWKS document or at a `jwks_uri`). No shared
//! secret crosses the network or rests at the provider.
//!
//! ```
//! use bankid_oidc_client::{ClientAuth, PrivateKeyJwtSigner};
//! use std::sync::Arc;
//!
//! // Once: generate a key, keep the PKCS#8 document secret, register the public JWKS.
//! let signer = PrivateKeyJwtSigner::generate()?;
//! let pkcs8_pem = signer.to_pkcs8_pem()?; // store like a password
//! let jwks = signer.jwks_json(); // give this to the provider (`clients add --jwks FILE`)
//!
//! // At start-up: load the key and use it for every client-authenticated request.
//! let signer = PrivateKeyJwtSigner::from_pkcs8_pem(&pkcs8_pem)?;
//! let auth = ClientAuth::PrivateKeyJwt(Arc::new(signer));
//! # let _ = (jwks, auth);
//! # Ok::<(), bankid_oidc_client::Error>(())
//! ```

use crate::Error;
use crate::client_auth::ClientAssertionSigner;
use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::random;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use bankid_oidc_core::b64;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long an assertion is valid unless configured: long enough for the request to arrive,
/// short enough that a captured one is soon worthless (providers accept at most a few minutes).
pub const DEFAULT_ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// Signs client assertions with an ES256 (P-256) key. Implements [`ClientAssertionSigner`], so it
/// plugs into [`crate::ClientAuth::PrivateKeyJwt`].
///
/// Each assertion has `iss` = `sub` = the client id, `aud` = the provider's issuer (or the
/// configured audience), `iat` = now, `exp` = now + the lifetime (60 s by default), and a `jti`
/// of 256 bits from the operating system's CSPRNG, so that the provider can refuse a replay. The
/// header names the key by `kid`: by default its RFC 7638 thumbprint.
pub struct PrivateKeyJwtSigner {
    key: EcdsaKeyPair,
    kid: String,
    audience: Option<String>,
    lifetime: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PrivateKeyJwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeyJwtSigner")
            .field("kid", &self.kid)
            .field("alg", &"ES256")
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// The claims of a client assertion (RFC 7523 section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl PrivateKeyJwtSigner {
    /// From an unencrypted PKCS#8 document (DER) holding a P-256 key, e.g. the output of
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(|e| {
            Error::SigningKey(format!(
                "not an unencrypted PKCS#8 P-256 (ES256) private key: {e}"
            ))
        })?;
        Ok(Self::with_key(key))
    }

    /// From a PEM `PRIVATE KEY` block (PKCS#8). A SEC1 `EC PRIVATE KEY` block is refused with the
    /// command that converts it.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
            return Err(Error::SigningKey(
                "this is a SEC1 'EC PRIVATE KEY'; convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in key.pem`".into(),
            ));
        }
        let body = pem
            .split_once(PEM_BEGIN)
            .and_then(|(_, rest)| rest.split_once(PEM_END))
            .map(|(body, _)| body)
            .ok_or_else(|| Error::SigningKey(format!("no '{PEM_BEGIN}' ... '{PEM_END}' block")))?;
        let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(base64)
            .map_err(|e| Error::SigningKey(format!("the PEM block is not base64: {e}")))?;
        Self::from_pkcs8_der(&der)
    }

    /// A new random P-256 key. Save it with [`PrivateKeyJwtSigner::to_pkcs8_pem`].
    pub fn generate() -> Result<Self, Error> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::SigningKey("could not generate a P-256 key".into()))?;
        Ok(Self::with_key(key))
    }

    fn with_key(key: EcdsaKeyPair) -> Self {
        let kid = thumbprint(&public_jwk_of(&key, ""));
        PrivateKeyJwtSigner {
            key,
            kid,
            audience: None,
            lifetime: DEFAULT_ASSERTION_LIFETIME,
            clock: Arc::new(SystemClock),
        }
    }

    /// The private key as a PKCS#8 document (DER). A secret: store it like a password.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, Error> {
        self.key
            .to_pkcs8v1()
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| Error::SigningKey("could not serialise the key".into()))
    }

    /// The private key as a PEM `PRIVATE KEY` block. A secret: store it like a password.
    pub fn to_pkcs8_pem(&self) -> Result<String, Error> {
        let encoded = STANDARD.encode(self.to_pkcs8_der()?);
        let mut pem = String::from(PEM_BEGIN);
        pem.push('\n');
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str(PEM_END);
        pem.push('\n');
        Ok(pem)
    }

    /// Names the key in the header (default: its RFC 7638 thumbprint). Must match the `kid` of
    /// the registered JWK.
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = kid.to_owned();
        self
    }

    /// A fixed `aud` instead of the provider's issuer, which the library passes by default (some
    /// providers want their token endpoint URL).
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// How long each assertion is valid (default 60 s).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The clock that dates assertions (default: the system's). Give it the same clock as
    /// [`crate::ClientBuilder::clock`] in tests.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty` EC, `crv` P-256, `use` sig, `alg` ES256, `kid`).
    pub fn public_jwk(&self) -> Jwk {
        public_jwk_of(&self.key, &self.kid)
    }

    /// The JWKS to register with the provider.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![self.public_jwk()],
        }
    }

    /// [`PrivateKeyJwtSigner::jwks`] as JSON.
    pub fn jwks_json(&self) -> String {
        serde_json::to_string(&self.jwks()).unwrap_or_default()
    }

    /// The claims of an assertion made at `now` (seconds since the Unix epoch), with a fresh
    /// `jti`. `audience` is overridden by a configured one.
    pub fn claims_at(&self, client_id: &str, audience: &str, now: i64) -> AssertionClaims {
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        AssertionClaims {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: self.audience.as_deref().unwrap_or(audience).to_owned(),
            iat: now,
            exp: now.saturating_add(lifetime),
            jti: random::token(),
        }
    }

    /// Signs any claims as a compact JWS (ES256) under this key's `kid`. For client assertions
    /// use [`ClientAssertionSigner::client_assertion`]; this is for the unusual case (and for
    /// tests that need an assertion with chosen claims).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, Error> {
        self.sign_typed("JWT", claims)
    }

    /// [`PrivateKeyJwtSigner::sign`] with another header `typ` (request objects use
    /// `oauth-authz-req+jwt`).
    pub(crate) fn sign_typed<T: Serialize + ?Sized>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, Error> {
        let header = Header {
            alg: "ES256",
            typ,
            kid: &self.kid,
        };
        let signing_input = format!(
            "{}.{}",
            b64::encode(to_json(&header)?),
            b64::encode(to_json(claims)?)
        );
        let signature = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| Error::SigningKey("signing failed".into()))?;
        Ok(format!(
            "{signing_input}.{}",
            b64::encode(signature.as_ref())
        ))
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::SigningKey(format!("claims do not serialise: {e}")))
}

impl ClientAssertionSigner for PrivateKeyJwtSigner {
    fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, Error> {
        let now = unix_seconds(self.clock.now());
        self.sign(&self.claims_at(client_id, audience, now))
    }
}

fn public_jwk_of(key: &EcdsaKeyPair, kid: &str) -> Jwk {
    let point = key.public_key().as_ref();
    // A P-256 key pair's public key is always the 65-byte uncompressed point.
    Jwk::p256_from_uncompressed_point(kid, point).expect("a P-256 public key is 65 bytes")
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(jwk: &Jwk) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk.crv.as_deref().unwrap_or(""),
        jwk.kty,
        jwk.x.as_deref().unwrap_or(""),
        jwk.y.as_deref().unwrap_or(""),
    );
    b64::encode(digest(&SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    /// Verifies with jsonwebtoken, an implementation independent of this signer.
    fn verify(token: &str, jwk: &Jwk) -> serde_json::Value {
        let key =
            DecodingKey::from_ec_components(jwk.x.as_deref().unwrap(), jwk.y.as_deref().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn assertion_has_the_rfc7523_claims_and_verifies_with_the_published_key() {
        let clock = Arc::new(crate::ManualClock::new());
        let signer = PrivateKeyJwtSigner::generate()
            .unwrap()
            .clock(clock.clone());
        clock.advance(Duration::from_secs(3600));
        let token = signer
            .client_assertion("merchant", "https://op.example")
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(signer.key_id()));
        let claims = verify(&token, &signer.public_jwk());
        assert_eq!(claims["iss"], "merchant");
        assert_eq!(claims["sub"], "merchant");
        assert_eq!(claims["aud"], "https://op.example");
        let iat = claims["iat"].as_i64().unwrap();
        assert_eq!(
            iat,
            unix_seconds(clock.now()),
            "dated by the signer's clock"
        );
        assert_eq!(claims["exp"].as_i64().unwrap(), iat + 60);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 43);
    }

    #[test]
    fn every_assertion_has_a_fresh_jti() {
        let signer = PrivateKeyJwtSigner::generate().unwrap();
        let a = signer.claims_at("c", "a", 1000);
        let b = signer.claims_at("c", "a", 1000);
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn configured_audience_and_lifetime_replace_the_defaults() {
        let signer = PrivateKeyJwtSigner::generate()
            .unwrap()
            .audience("https://op.example/token")
            .lifetime(Duration::from_secs(30));
        let claims = signer.claims_at("c", "https://op.example", 1000);
        assert_eq!(claims.aud, "https://op.example/token");
        assert_eq!(claims.exp, 1030);
    }

    #[test]
    fn public_jwk_is_an_es256_signing_key_named_by_its_rfc7638_thumbprint() {
        let signer = PrivateKeyJwtSigner::generate().unwrap();
        let jwk = signer.public_jwk();
        assert_eq!(jwk.kty, "EC");
        assert_eq!(jwk.crv.as_deref(), Some("P-256"));
        assert_eq!(jwk.alg.as_deref(), Some("ES256"));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert!(jwk.n.is_none());
        // Cross-checked against jsonwebtoken's own RFC 7638 implementation.
        let theirs: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(serde_json::to_value(&jwk).unwrap()).unwrap();
        assert_eq!(
            jwk.kid.as_deref(),
            Some(
                theirs
                    .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                    .unwrap()
                    .as_str()
            )
        );
        let renamed = signer.kid("key-2024");
        assert_eq!(renamed.public_jwk().kid.as_deref(), Some("key-2024"));
        let jwks: serde_json::Value = serde_json::from_str(&renamed.jwks_json()).unwrap();
        assert_eq!(jwks["keys"][0]["kid"], "key-2024");
    }

    #[test]
    fn a_key_survives_pkcs8_pem_and_der_round_trips() {
        let signer = PrivateKeyJwtSigner::generate().unwrap();
        let pem = signer.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with(PEM_BEGIN));
        let loaded = PrivateKeyJwtSigner::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(loaded.public_jwk(), signer.public_jwk());
        let from_der =
            PrivateKeyJwtSigner::from_pkcs8_der(&signer.to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(from_der.public_jwk(), signer.public_jwk());
        // A token signed by the reloaded key verifies with the original's public key.
        let token = loaded.client_assertion("c", "a").unwrap();
        verify(&token, &signer.public_jwk());
    }

    #[test]
    fn keys_that_are_not_pkcs8_p256_are_refused_with_a_reason() {
        assert!(matches!(
            PrivateKeyJwtSigner::from_pkcs8_der(b"not a key"),
            Err(Error::SigningKey(_))
        ));
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n";
        match PrivateKeyJwtSigner::from_pkcs8_pem(sec1) {
            Err(Error::SigningKey(reason)) => assert!(reason.contains("openssl pkcs8")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            PrivateKeyJwtSigner::from_pkcs8_pem("no pem here"),
            Err(Error::SigningKey(_))
        ));
        // A P-384 key is a valid PKCS#8 document but not an ES256 key.
        let p384 = EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING)
            .unwrap()
            .to_pkcs8v1()
            .unwrap();
        assert!(matches!(
            PrivateKeyJwtSigner::from_pkcs8_der(p384.as_ref()),
            Err(Error::SigningKey(_))
        ));
    }
}

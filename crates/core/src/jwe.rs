//! JSON Web Encryption in compact serialization (RFC 7516, algorithms from RFC 7518), built on
//! aws-lc-rs primitives.
//!
//! The provider decrypts request objects (and BankID's legacy encrypted login_hint) sent to its
//! `use=enc` keys; the client library and the tests encrypt. The design follows from what has gone
//! wrong in JOSE libraries before:
//!
//! - **Allow-list.** Only `RSA-OAEP-256`, `RSA-OAEP`, `ECDH-ES`, `ECDH-ES+A128KW` and
//!   `ECDH-ES+A256KW` (P-256) with `A128GCM`, `A256GCM` or `A128CBC-HS256` are accepted. Everything
//!   else is refused by name before any key is touched: `RSA1_5` (Bleichenbacher), `dir` and the
//!   symmetric key wraps (no shared secrets with clients), PBES2 (password-derived, a CPU sink),
//!   and any algorithm this module does not know.
//! - **No `zip`, no `crit`.** Decompression after decryption is a size bomb and a compression
//!   oracle; `crit` names extensions we do not implement, so RFC 7516 4.1.13 says refuse.
//! - **One decryption error.** Once the header is accepted, every failure (undecodable segment,
//!   wrong key, key-unwrap failure, wrong IV or tag length, authentication tag mismatch, padding)
//!   is [`JweError::Decryption`]. A failed key unwrap is replaced by a random CEK and content
//!   decryption still runs (RFC 7516 11.5), so the work done and the answer given do not tell an
//!   attacker whether the RSA or AES-KW step or the tag check failed. For `A128CBC-HS256` the MAC
//!   is checked in constant time before any padding is looked at.
//! - **Header refusals are separate.** They depend only on the attacker's own input (the
//!   protected header and the segment count), never on secret data, so naming them leaks nothing
//!   and helps an honest client fix its request.
//! - **Bounded input.** Compact input longer than [`MAX_COMPACT_LEN`] is refused before parsing.
//! - **Keys come from us.** The decryption key is one of the provider's, chosen by `kid` and key
//!   type; `jwk`, `jku`, `x5u` and `x5c` in a header are ignored. An ECDH-ES `epk` must be a
//!   P-256 point, and aws-lc checks it is on the curve before any scalar multiplication
//!   (invalid-curve attacks).

use crate::b64;
use crate::jwk::Jwk;
use aws_lc_rs::agreement::{self, ECDH_P256, UnparsedPublicKey};
use aws_lc_rs::cipher::{
    AES_128, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::key_wrap::{self, KeyEncryptionKey, KeyWrap};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    self, KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm,
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
    PublicKeyComponents,
};
use aws_lc_rs::{aead, constant_time, digest, hmac};
use serde_json::{Map, Value};
use std::fmt;

/// Longest compact JWE accepted. A request object is a few kilobytes; this leaves room for an
/// RSA-4096 encrypted key and a nested signed object while bounding the work per request.
pub const MAX_COMPACT_LEN: usize = 64 * 1024;

/// Key management algorithms (the JWE `alg`) this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyManagement {
    RsaOaep256,
    RsaOaep,
    EcdhEs,
    EcdhEsA128Kw,
    EcdhEsA256Kw,
}

impl KeyManagement {
    pub const ALL: [KeyManagement; 5] = [
        KeyManagement::RsaOaep256,
        KeyManagement::RsaOaep,
        KeyManagement::EcdhEs,
        KeyManagement::EcdhEsA128Kw,
        KeyManagement::EcdhEsA256Kw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyManagement::RsaOaep256 => "RSA-OAEP-256",
            KeyManagement::RsaOaep => "RSA-OAEP",
            KeyManagement::EcdhEs => "ECDH-ES",
            KeyManagement::EcdhEsA128Kw => "ECDH-ES+A128KW",
            KeyManagement::EcdhEsA256Kw => "ECDH-ES+A256KW",
        }
    }

    /// The accepted algorithm with this name; `None` for every other name, including the ones
    /// refused on purpose (`RSA1_5`, `dir`, `A128KW`, `PBES2-*`).
    pub fn from_name(name: &str) -> Option<KeyManagement> {
        KeyManagement::ALL.into_iter().find(|a| a.name() == name)
    }

    fn is_rsa(self) -> bool {
        matches!(self, KeyManagement::RsaOaep256 | KeyManagement::RsaOaep)
    }

    /// The AES key wrap applied after ECDH, and its key length.
    fn key_wrap(self) -> Option<(&'static key_wrap::AesBlockCipher, usize)> {
        match self {
            KeyManagement::EcdhEsA128Kw => Some((&key_wrap::AES_128, 16)),
            KeyManagement::EcdhEsA256Kw => Some((&key_wrap::AES_256, 32)),
            _ => None,
        }
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        if self == KeyManagement::RsaOaep {
            &OAEP_SHA1_MGF1SHA1
        } else {
            &OAEP_SHA256_MGF1SHA256
        }
    }
}

impl fmt::Display for KeyManagement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Content encryption algorithms (the JWE `enc`) this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentEncryption {
    A128Gcm,
    A256Gcm,
    A128CbcHs256,
}

impl ContentEncryption {
    pub const ALL: [ContentEncryption; 3] = [
        ContentEncryption::A128Gcm,
        ContentEncryption::A256Gcm,
        ContentEncryption::A128CbcHs256,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ContentEncryption::A128Gcm => "A128GCM",
            ContentEncryption::A256Gcm => "A256GCM",
            ContentEncryption::A128CbcHs256 => "A128CBC-HS256",
        }
    }

    pub fn from_name(name: &str) -> Option<ContentEncryption> {
        ContentEncryption::ALL
            .into_iter()
            .find(|e| e.name() == name)
    }

    /// Length of the content encryption key; for CBC-HMAC the MAC key and the AES key together.
    pub fn key_len(self) -> usize {
        match self {
            ContentEncryption::A128Gcm => 16,
            ContentEncryption::A256Gcm | ContentEncryption::A128CbcHs256 => 32,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            ContentEncryption::A128Gcm | ContentEncryption::A256Gcm => 12,
            ContentEncryption::A128CbcHs256 => 16,
        }
    }
}

impl fmt::Display for ContentEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a JWE was refused, or could not be produced.
///
/// Every variant except [`JweError::Decryption`] is decided from public input alone (the length,
/// the segment count, the protected header, the available key ids and types, or a recipient
/// JWK), so it may be reported in detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    #[error("the JWE is longer than {MAX_COMPACT_LEN} bytes")]
    TooLarge,
    #[error("malformed JWE: {0}")]
    Malformed(&'static str),
    #[error(
        "JWE alg {0:?} is not accepted (accepted: RSA-OAEP-256, RSA-OAEP, ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A256KW)"
    )]
    UnsupportedAlg(String),
    #[error("JWE enc {0:?} is not accepted (accepted: A128GCM, A256GCM, A128CBC-HS256)")]
    UnsupportedEnc(String),
    #[error("JWE zip (compressed plaintext) is refused")]
    CompressionRefused,
    #[error("JWE crit is refused: no JWE extension is understood")]
    CriticalHeaderRefused,
    #[error("no decryption key matches the JWE kid and alg")]
    NoMatchingKey,
    /// The one answer for every failure that involves secret data.
    #[error("the JWE could not be decrypted")]
    Decryption,
    /// A key could not be parsed, generated or used for encryption.
    #[error("JWE key: {0}")]
    Key(&'static str),
}

/// The protected header fields this module acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JweHeader {
    pub alg: KeyManagement,
    pub enc: ContentEncryption,
    pub kid: Option<String>,
    /// `JWT` marks a nested JWT (RFC 7519 5.2).
    pub cty: Option<String>,
    pub typ: Option<String>,
    /// Uncompressed P-256 point of the sender's ephemeral key (ECDH-ES only).
    epk: Option<Vec<u8>>,
    apu: Vec<u8>,
    apv: Vec<u8>,
}

/// A decrypted JWE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub header: JweHeader,
    /// The `kid` of the key that decrypted it.
    pub key_id: String,
    pub plaintext: Vec<u8>,
}

/// A private key the provider decrypts with: RSA (2048 to 8192 bits) for RSA-OAEP(-256), or
/// P-256 for the ECDH-ES family. Stored as PKCS#8.
pub struct DecryptionKey {
    kid: String,
    secret: Secret,
    public: Jwk,
}

enum Secret {
    Rsa(PrivateDecryptingKey),
    P256(agreement::PrivateKey),
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("kty", &self.public.kty)
            .finish_non_exhaustive()
    }
}

impl DecryptionKey {
    /// An RSA private key from PKCS#8 DER.
    pub fn rsa_from_pkcs8(kid: impl Into<String>, pkcs8: &[u8]) -> Result<DecryptionKey, JweError> {
        let key = PrivateDecryptingKey::from_pkcs8(pkcs8)
            .map_err(|_| JweError::Key("not an RSA PKCS#8 private key of 2048 to 8192 bits"))?;
        Self::from_rsa(kid.into(), key)
    }

    /// A P-256 private key from PKCS#8 DER.
    pub fn p256_from_pkcs8(
        kid: impl Into<String>,
        pkcs8: &[u8],
    ) -> Result<DecryptionKey, JweError> {
        let key = agreement::PrivateKey::from_private_key_der(&ECDH_P256, pkcs8)
            .map_err(|_| JweError::Key("not a P-256 PKCS#8 private key"))?;
        Self::from_p256(kid.into(), key)
    }

    /// An RSA or P-256 private key from PKCS#8 DER, whichever it is.
    pub fn from_pkcs8(kid: impl Into<String>, pkcs8: &[u8]) -> Result<DecryptionKey, JweError> {
        let kid = kid.into();
        Self::rsa_from_pkcs8(kid.clone(), pkcs8)
            .or_else(|_| Self::p256_from_pkcs8(kid, pkcs8))
            .map_err(|_| JweError::Key("not an RSA or P-256 PKCS#8 private key"))
    }

    /// A new RSA-2048 key.
    pub fn generate_rsa(kid: impl Into<String>) -> Result<DecryptionKey, JweError> {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)
            .map_err(|_| JweError::Key("RSA key generation failed"))?;
        Self::from_rsa(kid.into(), key)
    }

    /// A new P-256 key.
    pub fn generate_p256(kid: impl Into<String>) -> Result<DecryptionKey, JweError> {
        let key = agreement::PrivateKey::generate(&ECDH_P256)
            .map_err(|_| JweError::Key("P-256 key generation failed"))?;
        Self::from_p256(kid.into(), key)
    }

    fn from_rsa(kid: String, key: PrivateDecryptingKey) -> Result<DecryptionKey, JweError> {
        let spki = key
            .public_key()
            .as_der()
            .map_err(|_| JweError::Key("RSA public key export failed"))?;
        let public = rsa::PublicKey::from_der(spki.as_ref())
            .map_err(|_| JweError::Key("RSA public key export failed"))?;
        let jwk = Jwk::rsa(
            &kid,
            "enc",
            Some(KeyManagement::RsaOaep256.name()),
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        );
        Ok(DecryptionKey {
            kid,
            secret: Secret::Rsa(key),
            public: jwk,
        })
    }

    fn from_p256(kid: String, key: agreement::PrivateKey) -> Result<DecryptionKey, JweError> {
        let point = key
            .compute_public_key()
            .map_err(|_| JweError::Key("P-256 public key export failed"))?;
        let mut jwk = Jwk::p256_from_uncompressed_point(&kid, point.as_ref())
            .ok_or(JweError::Key("P-256 public key export failed"))?;
        jwk.use_ = Some("enc".into());
        jwk.alg = Some(KeyManagement::EcdhEs.name().into());
        Ok(DecryptionKey {
            kid,
            secret: Secret::P256(key),
            public: jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as PKCS#8 DER, for storage.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, JweError> {
        let der = match &self.secret {
            Secret::Rsa(key) => key.as_der().map(|d| d.as_ref().to_vec()),
            Secret::P256(key) => AsDer::<Pkcs8V1Der>::as_der(key).map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| JweError::Key("PKCS#8 export failed"))
    }

    /// The public JWK to publish: `use` is `enc` and `alg` is the preferred algorithm for the key
    /// type (`RSA-OAEP-256` or `ECDH-ES`). Decryption still accepts every allow-listed `alg` of
    /// the same key type, since BankID clients send `RSA-OAEP` as well as `RSA-OAEP-256`.
    pub fn public_jwk(&self) -> Jwk {
        self.public.clone()
    }

    /// Whether this key can decrypt with `alg`.
    pub fn supports(&self, alg: KeyManagement) -> bool {
        match self.secret {
            Secret::Rsa(_) => alg.is_rsa(),
            Secret::P256(_) => !alg.is_rsa(),
        }
    }
}

/// What to put in a JWE besides the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptOptions {
    pub alg: KeyManagement,
    pub enc: ContentEncryption,
    /// `cty`; `Some("JWT")` for a nested signed JWT.
    pub cty: Option<String>,
    /// Agreement PartyUInfo and PartyVInfo for ECDH-ES (RFC 7518 4.6.1.2, 4.6.1.3).
    pub apu: Vec<u8>,
    pub apv: Vec<u8>,
}

impl EncryptOptions {
    pub fn new(alg: KeyManagement, enc: ContentEncryption) -> EncryptOptions {
        EncryptOptions {
            alg,
            enc,
            cty: None,
            apu: Vec::new(),
            apv: Vec::new(),
        }
    }

    pub fn cty(mut self, cty: &str) -> EncryptOptions {
        self.cty = Some(cty.to_owned());
        self
    }

    pub fn party_info(mut self, apu: &[u8], apv: &[u8]) -> EncryptOptions {
        self.apu = apu.to_vec();
        self.apv = apv.to_vec();
        self
    }
}

/// Encrypts `plaintext` to a recipient's public JWK (RSA `n`/`e` or P-256 `x`/`y`). The JWK's
/// `kid` goes into the header. A JWK whose `use` is not `enc`, or whose `alg` names another
/// algorithm, is refused: the recipient said what the key is for.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &Jwk,
    options: &EncryptOptions,
) -> Result<String, JweError> {
    let (alg, enc) = (options.alg, options.enc);
    if recipient.use_.as_deref().is_some_and(|u| u != "enc") {
        return Err(JweError::Key(
            "the recipient JWK is not for encryption (use)",
        ));
    }
    if recipient.alg.as_deref().is_some_and(|a| a != alg.name()) {
        return Err(JweError::Key("the recipient JWK names another alg"));
    }

    let mut header = Map::new();
    header.insert("alg".into(), alg.name().into());
    header.insert("enc".into(), enc.name().into());
    if let Some(kid) = &recipient.kid {
        header.insert("kid".into(), kid.as_str().into());
    }
    if let Some(cty) = &options.cty {
        header.insert("cty".into(), cty.as_str().into());
    }

    let (cek, encrypted_key) = if alg.is_rsa() {
        let key = rsa_public_key(recipient)?;
        let cek = random(enc.key_len())?;
        let mut out = vec![0u8; key.ciphertext_size()];
        let wrapped = key
            .encrypt(alg.oaep(), &cek, &mut out, None)
            .map_err(|_| JweError::Key("RSA-OAEP encryption failed"))?;
        let wrapped = wrapped.to_vec();
        (cek, wrapped)
    } else {
        let peer = p256_point(recipient)?;
        let ephemeral = agreement::PrivateKey::generate(&ECDH_P256)
            .map_err(|_| JweError::Key("P-256 key generation failed"))?;
        let epk = ephemeral
            .compute_public_key()
            .map_err(|_| JweError::Key("P-256 key generation failed"))?;
        let epk = epk.as_ref();
        header.insert(
            "epk".into(),
            serde_json::json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64::encode(&epk[1..33]),
                "y": b64::encode(&epk[33..65]),
            }),
        );
        if !options.apu.is_empty() {
            header.insert("apu".into(), b64::encode(&options.apu).into());
        }
        if !options.apv.is_empty() {
            header.insert("apv".into(), b64::encode(&options.apv).into());
        }
        let (algorithm_id, derived_len) = match alg.key_wrap() {
            None => (enc.name(), enc.key_len()),
            Some((_, kek_len)) => (alg.name(), kek_len),
        };
        let derived = agreement::agree(
            &ephemeral,
            UnparsedPublicKey::new(&ECDH_P256, &peer),
            JweError::Key("the recipient's P-256 point is not valid"),
            |z| {
                Ok(concat_kdf(
                    z,
                    algorithm_id,
                    &options.apu,
                    &options.apv,
                    derived_len,
                ))
            },
        )?;
        match alg.key_wrap() {
            None => (derived, Vec::new()),
            Some((cipher, _)) => {
                let cek = random(enc.key_len())?;
                let kek = KeyEncryptionKey::new(cipher, &derived)
                    .map_err(|_| JweError::Key("AES key wrap failed"))?;
                let mut out = vec![0u8; cek.len() + 8];
                let wrapped = kek
                    .wrap(&cek, &mut out)
                    .map_err(|_| JweError::Key("AES key wrap failed"))?
                    .to_vec();
                (cek, wrapped)
            }
        }
    };

    let protected = b64::encode(Value::Object(header).to_string());
    let iv = random(enc.iv_len())?;
    let (ciphertext, tag) = seal(enc, &cek, &iv, protected.as_bytes(), plaintext)?;
    Ok(format!(
        "{protected}.{}.{}.{}.{}",
        b64::encode(encrypted_key),
        b64::encode(iv),
        b64::encode(ciphertext),
        b64::encode(tag)
    ))
}

/// Reads the protected header of a compact JWE without decrypting: the same checks (size, five
/// segments, allow-list, `zip`, `crit`) that [`decrypt`] applies first.
pub fn peek_header(compact: &str) -> Result<JweHeader, JweError> {
    let segments = split(compact)?;
    parse_header(segments[0])
}

/// Decrypts a compact JWE with one of the provider's keys.
///
/// A `kid` in the header selects the key; without one, every key that fits the `alg` is tried
/// (clients often omit `kid`, and the provider keeps old keys during rotation).
pub fn decrypt(compact: &str, keys: &[DecryptionKey]) -> Result<Decrypted, JweError> {
    let segments = split(compact)?;
    let header = parse_header(segments[0])?;
    let candidates: Vec<&DecryptionKey> = keys
        .iter()
        .filter(|k| k.supports(header.alg))
        .filter(|k| header.kid.as_deref().is_none_or(|kid| kid == k.kid))
        .collect();
    if candidates.is_empty() {
        return Err(JweError::NoMatchingKey);
    }

    // From here on every failure is the same `Decryption`.
    let decode = |s: &str| b64::decode(s).map_err(|_| JweError::Decryption);
    let encrypted_key = decode(segments[1])?;
    let iv = decode(segments[2])?;
    let ciphertext = decode(segments[3])?;
    let tag = decode(segments[4])?;
    let aad = segments[0].as_bytes();

    for key in candidates {
        let unwrapped = unwrap_cek(key, &header, &encrypted_key);
        // RFC 7516 11.5: on an unwrap failure go on with a random CEK, so that the failure
        // surfaces only as the tag mismatch every other failure gives.
        let (cek, unwrapped_ok) = match unwrapped {
            Some(cek) if cek.len() == header.enc.key_len() => (cek, true),
            _ => (
                random(header.enc.key_len()).map_err(|_| JweError::Decryption)?,
                false,
            ),
        };
        let opened = open(header.enc, &cek, &iv, aad, &ciphertext, &tag);
        if let (true, Some(plaintext)) = (unwrapped_ok, opened) {
            return Ok(Decrypted {
                header,
                key_id: key.kid.clone(),
                plaintext,
            });
        }
    }
    Err(JweError::Decryption)
}

fn split(compact: &str) -> Result<[&str; 5], JweError> {
    if compact.len() > MAX_COMPACT_LEN {
        return Err(JweError::TooLarge);
    }
    let segments: Vec<&str> = compact.split('.').collect();
    <[&str; 5]>::try_from(segments)
        .map_err(|_| JweError::Malformed("a compact JWE has five base64url segments"))
}

fn parse_header(encoded: &str) -> Result<JweHeader, JweError> {
    let bytes = b64::decode(encoded)
        .map_err(|_| JweError::Malformed("the protected header is not base64url"))?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes)
        .map_err(|_| JweError::Malformed("the protected header is not a JSON object"))?;
    let text = |name: &'static str| -> Result<Option<String>, JweError> {
        match header.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(JweError::Malformed("a header parameter is not a string")),
        }
    };

    let alg = text("alg")?.ok_or(JweError::Malformed("alg is required"))?;
    let alg = KeyManagement::from_name(&alg).ok_or(JweError::UnsupportedAlg(alg))?;
    let enc = text("enc")?.ok_or(JweError::Malformed("enc is required"))?;
    let enc = ContentEncryption::from_name(&enc).ok_or(JweError::UnsupportedEnc(enc))?;
    if header.contains_key("zip") {
        return Err(JweError::CompressionRefused);
    }
    if header.contains_key("crit") {
        return Err(JweError::CriticalHeaderRefused);
    }

    let mut parsed = JweHeader {
        alg,
        enc,
        kid: text("kid")?,
        cty: text("cty")?,
        typ: text("typ")?,
        epk: None,
        apu: Vec::new(),
        apv: Vec::new(),
    };
    if !alg.is_rsa() {
        let epk = header
            .get("epk")
            .and_then(|v| serde_json::from_value::<Jwk>(v.clone()).ok())
            .ok_or(JweError::Malformed("ECDH-ES needs epk, a P-256 public JWK"))?;
        parsed.epk =
            Some(p256_point(&epk).map_err(|_| JweError::Malformed("epk is not a P-256 JWK"))?);
        let party = |name: &'static str| -> Result<Vec<u8>, JweError> {
            match text(name)? {
                None => Ok(Vec::new()),
                Some(s) => {
                    b64::decode(&s).map_err(|_| JweError::Malformed("apu/apv is not base64url"))
                }
            }
        };
        parsed.apu = party("apu")?;
        parsed.apv = party("apv")?;
    }
    Ok(parsed)
}

/// The CEK, or `None` when the key management step fails.
fn unwrap_cek(key: &DecryptionKey, header: &JweHeader, encrypted_key: &[u8]) -> Option<Vec<u8>> {
    match &key.secret {
        Secret::Rsa(private) => {
            let oaep = OaepPrivateDecryptingKey::new(private.clone()).ok()?;
            let mut out = vec![0u8; oaep.min_output_size()];
            let cek = oaep
                .decrypt(header.alg.oaep(), encrypted_key, &mut out, None)
                .ok()?;
            Some(cek.to_vec())
        }
        Secret::P256(private) => {
            let epk = header.epk.as_deref()?;
            let (algorithm_id, derived_len) = match header.alg.key_wrap() {
                None => (header.enc.name(), header.enc.key_len()),
                Some((_, kek_len)) => (header.alg.name(), kek_len),
            };
            let derived =
                agreement::agree(private, UnparsedPublicKey::new(&ECDH_P256, epk), (), |z| {
                    Ok(concat_kdf(
                        z,
                        algorithm_id,
                        &header.apu,
                        &header.apv,
                        derived_len,
                    ))
                })
                .ok()?;
            match header.alg.key_wrap() {
                // Direct agreement: the encrypted key must be empty (RFC 7518 4.6).
                None => encrypted_key.is_empty().then_some(derived),
                Some((cipher, _)) => {
                    let kek = KeyEncryptionKey::new(cipher, &derived).ok()?;
                    let mut out = vec![0u8; encrypted_key.len()];
                    let cek = kek.unwrap(encrypted_key, &mut out).ok()?;
                    Some(cek.to_vec())
                }
            }
        }
    }
}

/// Concat KDF with SHA-256 (NIST SP 800-56A, as profiled by RFC 7518 4.6.2).
fn concat_kdf(z: &[u8], algorithm_id: &str, apu: &[u8], apv: &[u8], key_len: usize) -> Vec<u8> {
    let length_prefixed = |ctx: &mut digest::Context, field: &[u8]| {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field);
    };
    let mut out = Vec::with_capacity(key_len + digest::SHA256_OUTPUT_LEN);
    let mut round: u32 = 1;
    while out.len() < key_len {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&round.to_be_bytes());
        ctx.update(z);
        length_prefixed(&mut ctx, algorithm_id.as_bytes());
        length_prefixed(&mut ctx, apu);
        length_prefixed(&mut ctx, apv);
        ctx.update(&((key_len * 8) as u32).to_be_bytes());
        out.extend_from_slice(ctx.finish().as_ref());
        round += 1;
    }
    out.truncate(key_len);
    out
}

/// Content decryption; `None` on any failure.
fn open(
    enc: ContentEncryption,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Option<Vec<u8>> {
    match enc {
        ContentEncryption::A128Gcm | ContentEncryption::A256Gcm => {
            let algorithm = if enc == ContentEncryption::A128Gcm {
                &aead::AES_128_GCM
            } else {
                &aead::AES_256_GCM
            };
            let key = aead::LessSafeKey::new(aead::UnboundKey::new(algorithm, cek).ok()?);
            let nonce = aead::Nonce::try_assume_unique_for_key(iv).ok()?;
            let mut buffer = ciphertext.to_vec();
            key.open_in_place_separate_tag(nonce, aead::Aad::from(aad), tag, &mut buffer)
                .ok()?;
            Some(buffer)
        }
        ContentEncryption::A128CbcHs256 => {
            let (mac_key, enc_key) = cek.split_at(16);
            let iv: [u8; 16] = iv.try_into().ok()?;
            let expected = cbc_hmac_tag(mac_key, aad, &iv, ciphertext);
            // The tag is checked first and in constant time; padding is only ever examined for
            // authenticated ciphertext, so there is no padding oracle.
            constant_time::verify_slices_are_equal(&expected, tag).ok()?;
            let key = UnboundCipherKey::new(&AES_128, enc_key).ok()?;
            let key = PaddedBlockDecryptingKey::cbc_pkcs7(key).ok()?;
            let mut buffer = ciphertext.to_vec();
            let context = DecryptionContext::Iv128(FixedLength::from(iv));
            let plaintext = key.decrypt(&mut buffer, context).ok()?;
            Some(plaintext.to_vec())
        }
    }
}

/// Content encryption: the ciphertext and the authentication tag.
fn seal(
    enc: ContentEncryption,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), JweError> {
    let failed = |_| JweError::Key("content encryption failed");
    match enc {
        ContentEncryption::A128Gcm | ContentEncryption::A256Gcm => {
            let algorithm = if enc == ContentEncryption::A128Gcm {
                &aead::AES_128_GCM
            } else {
                &aead::AES_256_GCM
            };
            let key =
                aead::LessSafeKey::new(aead::UnboundKey::new(algorithm, cek).map_err(failed)?);
            let nonce = aead::Nonce::try_assume_unique_for_key(iv).map_err(failed)?;
            let mut buffer = plaintext.to_vec();
            let tag = key
                .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), &mut buffer)
                .map_err(failed)?;
            Ok((buffer, tag.as_ref().to_vec()))
        }
        ContentEncryption::A128CbcHs256 => {
            let (mac_key, enc_key) = cek.split_at(16);
            let iv: [u8; 16] = iv.try_into().map_err(|_| JweError::Key("IV length"))?;
            let key = UnboundCipherKey::new(&AES_128, enc_key).map_err(failed)?;
            let key = PaddedBlockEncryptingKey::cbc_pkcs7(key).map_err(failed)?;
            let mut buffer = plaintext.to_vec();
            key.less_safe_encrypt(&mut buffer, EncryptionContext::Iv128(FixedLength::from(iv)))
                .map_err(failed)?;
            let tag = cbc_hmac_tag(mac_key, aad, &iv, &buffer);
            Ok((buffer, tag))
        }
    }
}

/// RFC 7518 5.2.2.1: HMAC-SHA-256 over AAD || IV || ciphertext || AL, truncated to 128 bits,
/// where AL is the AAD length in bits as a 64-bit big-endian integer.
fn cbc_hmac_tag(mac_key: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, mac_key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ciphertext);
    ctx.update(&((aad.len() as u64) * 8).to_be_bytes());
    ctx.sign().as_ref()[..16].to_vec()
}

fn rsa_public_key(jwk: &Jwk) -> Result<OaepPublicEncryptingKey, JweError> {
    if jwk.kty != "RSA" {
        return Err(JweError::Key("RSA-OAEP needs an RSA JWK"));
    }
    let part = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| b64::decode(s).ok())
            .ok_or(JweError::Key("the RSA JWK needs base64url n and e"))
    };
    let components = PublicKeyComponents {
        n: part(&jwk.n)?,
        e: part(&jwk.e)?,
    };
    let key: PublicEncryptingKey = components
        .try_into()
        .map_err(|_| JweError::Key("the RSA JWK is not a 2048 to 8192 bit RSA key"))?;
    OaepPublicEncryptingKey::new(key).map_err(|_| JweError::Key("the RSA JWK is not usable"))
}

/// The uncompressed point `04 || x || y` of a P-256 JWK. Whether it is on the curve is checked by
/// aws-lc when the point is used.
fn p256_point(jwk: &Jwk) -> Result<Vec<u8>, JweError> {
    if jwk.kty != "EC" || jwk.crv.as_deref() != Some("P-256") {
        return Err(JweError::Key("ECDH-ES needs a P-256 EC JWK"));
    }
    let coordinate = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| b64::decode(s).ok())
            .filter(|c| c.len() == 32)
            .ok_or(JweError::Key("the P-256 JWK needs 32-byte x and y"))
    };
    let mut point = vec![0x04];
    point.extend(coordinate(&jwk.x)?);
    point.extend(coordinate(&jwk.y)?);
    Ok(point)
}

fn random(len: usize) -> Result<Vec<u8>, JweError> {
    let mut bytes = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| JweError::Key("the system random generator failed"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: Bob's static key, Alice's ephemeral key, apu "Alice", apv "Bob",
    /// enc A128GCM.
    #[test]
    fn concat_kdf_matches_rfc7518_appendix_c() {
        let bob_d = b64::decode("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw").unwrap();
        let bob = agreement::PrivateKey::from_private_key(&ECDH_P256, &bob_d).unwrap();
        let alice = Jwk {
            kty: "EC".into(),
            kid: None,
            use_: None,
            alg: None,
            crv: Some("P-256".into()),
            x: Some("gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0".into()),
            y: Some("SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps".into()),
            n: None,
            e: None,
        };
        let point = p256_point(&alice).unwrap();
        let derived = agreement::agree(&bob, UnparsedPublicKey::new(&ECDH_P256, &point), (), |z| {
            Ok(concat_kdf(z, "A128GCM", b"Alice", b"Bob", 16))
        })
        .unwrap();
        assert_eq!(b64::encode(derived), "VqqN6vgjbSBcIijNcacQGg");
    }

    /// RFC 7516 Appendix A.2 uses RSA1_5, which we refuse; its content encryption part
    /// (A128CBC-HS256 with the published CEK) is checked on its own.
    #[test]
    fn a128cbc_hs256_opens_rfc7516_appendix_a2_content() {
        let cek: [u8; 32] = [
            4, 211, 31, 197, 84, 157, 252, 254, 11, 100, 157, 250, 63, 170, 106, 206, 107, 124,
            212, 45, 111, 107, 9, 219, 200, 177, 0, 240, 143, 156, 44, 207,
        ];
        let aad = b"eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0";
        let iv = b64::decode("AxY8DCtDaGlsbGljb3RoZQ").unwrap();
        let ciphertext = b64::decode("KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY").unwrap();
        let tag = b64::decode("9hH0vgRfYgPnAHOd8stkvw").unwrap();
        let plaintext = open(
            ContentEncryption::A128CbcHs256,
            &cek,
            &iv,
            aad,
            &ciphertext,
            &tag,
        );
        assert_eq!(plaintext.as_deref(), Some(&b"Live long and prosper."[..]));

        let mut bad_tag = tag.clone();
        bad_tag[15] ^= 1;
        let refused = open(
            ContentEncryption::A128CbcHs256,
            &cek,
            &iv,
            aad,
            &ciphertext,
            &bad_tag,
        );
        assert_eq!(refused, None);
    }

    #[test]
    fn a128cbc_hs256_seal_then_open_with_padding_of_every_length() {
        let cek = random(32).unwrap();
        let iv = random(16).unwrap();
        for len in 0..=33 {
            let plaintext = vec![7u8; len];
            let (ciphertext, tag) = seal(
                ContentEncryption::A128CbcHs256,
                &cek,
                &iv,
                b"aad",
                &plaintext,
            )
            .unwrap();
            assert_eq!(ciphertext.len(), (len / 16 + 1) * 16);
            let opened = open(
                ContentEncryption::A128CbcHs256,
                &cek,
                &iv,
                b"aad",
                &ciphertext,
                &tag,
            );
            assert_eq!(opened, Some(plaintext));
        }
    }
}

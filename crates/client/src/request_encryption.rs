//! Encrypted request objects: the signed request object nested in a JWE (`cty: JWT`) to one of
//! the provider's `use=enc` keys, published at discovery's `jwks_uri_enc`. Encryption keeps what
//! the request carries (an NNIN in `login_hint`) from the browser and everything on its way.
//!
//! [`RequestEncryption`] picks the key and the algorithms: by default the provider's first usable
//! key, RSA with `RSA-OAEP-256` or P-256 with `ECDH-ES`, and `A256GCM`; a key that names its
//! `alg` is used only with that algorithm, and what discovery announces bounds the choice. The
//! cryptography is the core crate's ([`bankid_oidc_core::jwe`]), the same the provider decrypts
//! with.

use crate::Error;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::jwe::{self, ContentEncryption, EncryptOptions, KeyManagement};
use bankid_oidc_core::jwk::Jwk;

/// Which kind of provider key to encrypt to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionKeyType {
    Rsa,
    /// P-256 (ECDH-ES).
    Ec,
}

/// How to encrypt a request object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEncryption {
    key_type: Option<EncryptionKeyType>,
    alg: Option<KeyManagement>,
    enc: ContentEncryption,
}

impl Default for RequestEncryption {
    fn default() -> Self {
        RequestEncryption {
            key_type: None,
            alg: None,
            enc: ContentEncryption::A256Gcm,
        }
    }
}

fn key_type_of(jwk: &Jwk) -> Option<EncryptionKeyType> {
    match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => Some(EncryptionKeyType::Rsa),
        ("EC", Some("P-256")) => Some(EncryptionKeyType::Ec),
        _ => None,
    }
}

fn key_type_for(alg: KeyManagement) -> EncryptionKeyType {
    match alg {
        KeyManagement::RsaOaep256 | KeyManagement::RsaOaep => EncryptionKeyType::Rsa,
        _ => EncryptionKeyType::Ec,
    }
}

impl RequestEncryption {
    /// The provider's first usable key, with its algorithm and `A256GCM`.
    pub fn new() -> Self {
        Self::default()
    }

    /// To the provider's RSA key (`RSA-OAEP-256` unless the key or [`Self::alg`] says otherwise).
    pub fn rsa() -> Self {
        Self::default().key_type(EncryptionKeyType::Rsa)
    }

    /// To the provider's P-256 key (`ECDH-ES` unless the key or [`Self::alg`] says otherwise).
    pub fn ec() -> Self {
        Self::default().key_type(EncryptionKeyType::Ec)
    }

    pub fn key_type(mut self, key_type: EncryptionKeyType) -> Self {
        self.key_type = Some(key_type);
        self
    }

    /// A key management algorithm; only keys of its type (and without another `alg`) qualify.
    pub fn alg(mut self, alg: KeyManagement) -> Self {
        self.alg = Some(alg);
        self
    }

    /// The content encryption (default `A256GCM`).
    pub fn enc(mut self, enc: ContentEncryption) -> Self {
        self.enc = enc;
        self
    }

    fn describe(&self) -> String {
        let alg = match (self.alg, self.key_type) {
            (Some(alg), _) => alg.name().to_owned(),
            (None, Some(EncryptionKeyType::Rsa)) => "an RSA key".to_owned(),
            (None, Some(EncryptionKeyType::Ec)) => "a P-256 key".to_owned(),
            (None, None) => "any key".to_owned(),
        };
        format!("{alg} with {}", self.enc.name())
    }

    /// The key among `keys` (the provider's `jwks_uri_enc` document) and the options to encrypt
    /// with, within what `metadata` announces.
    pub fn choose<'k>(
        &self,
        keys: &'k [Jwk],
        metadata: &ProviderMetadata,
    ) -> Result<(&'k Jwk, EncryptOptions), Error> {
        let announced =
            |list: &[String], name: &str| list.is_empty() || list.iter().any(|a| a == name);
        if !announced(
            &metadata.request_object_encryption_enc_values_supported,
            self.enc.name(),
        ) {
            return Err(Error::NoEncryptionKey(self.describe()));
        }
        let fits = |jwk: &Jwk| -> Option<KeyManagement> {
            if jwk.use_.as_deref().is_some_and(|u| u != "enc") {
                return None;
            }
            let key_type = key_type_of(jwk)?;
            if self.key_type.is_some_and(|wanted| wanted != key_type) {
                return None;
            }
            let named = jwk.alg.as_deref().map(KeyManagement::from_name);
            let alg = match (self.alg, named) {
                // The key names an algorithm we do not implement: not for us.
                (_, Some(None)) => return None,
                (Some(wanted), Some(Some(named))) if wanted != named => return None,
                (Some(wanted), _) => wanted,
                (None, Some(Some(named))) => named,
                (None, None) if key_type == EncryptionKeyType::Rsa => KeyManagement::RsaOaep256,
                (None, None) => KeyManagement::EcdhEs,
            };
            (key_type_for(alg) == key_type
                && announced(
                    &metadata.request_object_encryption_alg_values_supported,
                    alg.name(),
                ))
            .then_some(alg)
        };
        keys.iter()
            .find_map(|jwk| fits(jwk).map(|alg| (jwk, alg)))
            .map(|(jwk, alg)| (jwk, EncryptOptions::new(alg, self.enc).cty("JWT")))
            .ok_or_else(|| Error::NoEncryptionKey(self.describe()))
    }
}

/// Encrypts a signed request object to `key` as a nested JWT (compact JWE, `cty: JWT`).
pub fn encrypt_request_object(
    signed: &str,
    key: &Jwk,
    options: &EncryptOptions,
) -> Result<String, Error> {
    Ok(jwe::encrypt(signed.as_bytes(), key, options)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::jwe::{DecryptionKey, decrypt};

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            request_object_encryption_alg_values_supported: KeyManagement::ALL
                .iter()
                .map(|a| a.name().to_owned())
                .collect(),
            request_object_encryption_enc_values_supported: vec![
                "A128GCM".into(),
                "A256GCM".into(),
                "A128CBC-HS256".into(),
            ],
            ..Default::default()
        }
    }

    fn provider_keys() -> (Vec<DecryptionKey>, Vec<Jwk>) {
        let keys = vec![
            DecryptionKey::generate_rsa("enc-rsa").unwrap(),
            DecryptionKey::generate_p256("enc-ec").unwrap(),
        ];
        let public = keys.iter().map(DecryptionKey::public_jwk).collect();
        (keys, public)
    }

    #[test]
    fn defaults_pick_rsa_oaep_256_or_ecdh_es_with_a256gcm_and_the_provider_decrypts() {
        let (private, public) = provider_keys();
        for (choice, kid, alg) in [
            (
                RequestEncryption::new(),
                "enc-rsa",
                KeyManagement::RsaOaep256,
            ),
            (
                RequestEncryption::rsa(),
                "enc-rsa",
                KeyManagement::RsaOaep256,
            ),
            (RequestEncryption::ec(), "enc-ec", KeyManagement::EcdhEs),
        ] {
            let (key, options) = choice.choose(&public, &metadata()).unwrap();
            assert_eq!(key.kid.as_deref(), Some(kid));
            assert_eq!(options.alg, alg);
            assert_eq!(options.enc, ContentEncryption::A256Gcm);
            assert_eq!(options.cty.as_deref(), Some("JWT"));
            let jwe = encrypt_request_object("a.b.c", key, &options).unwrap();
            let decrypted = decrypt(&jwe, &private).unwrap();
            assert_eq!(decrypted.plaintext, b"a.b.c");
            assert_eq!(decrypted.key_id, kid);
            assert_eq!(decrypted.header.cty.as_deref(), Some("JWT"));
        }
    }

    #[test]
    fn a_key_that_names_its_alg_is_used_only_with_it() {
        let (_, public) = provider_keys();
        // The provider's RSA key says RSA-OAEP-256, its EC key ECDH-ES.
        let err = RequestEncryption::new()
            .alg(KeyManagement::RsaOaep)
            .choose(&public, &metadata())
            .unwrap_err();
        assert!(
            matches!(err, Error::NoEncryptionKey(ref d) if d.contains("RSA-OAEP")),
            "{err}"
        );
        let mut unnamed = public.clone();
        unnamed.iter_mut().for_each(|k| k.alg = None);
        let (key, options) = RequestEncryption::new()
            .alg(KeyManagement::EcdhEsA256Kw)
            .enc(ContentEncryption::A128CbcHs256)
            .choose(&unnamed, &metadata())
            .unwrap();
        assert_eq!(key.kid.as_deref(), Some("enc-ec"));
        assert_eq!(options.alg, KeyManagement::EcdhEsA256Kw);
    }

    #[test]
    fn what_discovery_does_not_announce_and_signing_keys_are_never_chosen() {
        let (_, mut public) = provider_keys();
        let mut m = metadata();
        m.request_object_encryption_alg_values_supported = vec!["ECDH-ES".into()];
        let (key, _) = RequestEncryption::new().choose(&public, &m).unwrap();
        assert_eq!(key.kid.as_deref(), Some("enc-ec"));
        m.request_object_encryption_enc_values_supported = vec!["A128GCM".into()];
        assert!(RequestEncryption::new().choose(&public, &m).is_err());

        public.iter_mut().for_each(|k| k.use_ = Some("sig".into()));
        assert!(matches!(
            RequestEncryption::new().choose(&public, &metadata()),
            Err(Error::NoEncryptionKey(_))
        ));
    }
}

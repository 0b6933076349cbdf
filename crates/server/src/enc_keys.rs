//! The provider's encryption keys: clients encrypt request objects (and BankID's legacy encrypted
//! login_hint) to them. One RSA key (RSA-OAEP-256, RSA-OAEP) and one P-256 key (ECDH-ES and its
//! key-wrap variants), created on first start, published with `use: enc` in the JWKS and alone at
//! `jwks_uri_enc`.

use crate::secret::random_token;
use crate::store::{EncryptionKeyStore, StoreError, StoredEncryptionKey};
use bankid_oidc_core::jwe::DecryptionKey;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use std::sync::Arc;

pub struct EncryptionKeys {
    pub keys: Vec<DecryptionKey>,
    pub jwks_json: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum EncKeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encryption key {kid}: {reason}")]
    Invalid { kid: String, reason: String },
}

impl EncryptionKeys {
    pub async fn load_or_create(
        store: &dyn EncryptionKeyStore,
        now: i64,
    ) -> Result<EncryptionKeys, EncKeyError> {
        let mut stored = store.encryption_keys().await?;
        if stored.is_empty() {
            for alg in ["RSA-OAEP-256", "ECDH-ES"] {
                let kid = format!("enc-{}", &random_token()[..16]);
                let invalid = |reason: String| EncKeyError::Invalid {
                    kid: kid.clone(),
                    reason,
                };
                let generated = if alg == "ECDH-ES" {
                    DecryptionKey::generate_p256(kid.clone())
                } else {
                    DecryptionKey::generate_rsa(kid.clone())
                };
                let key = generated.map_err(|e| invalid(e.to_string()))?;
                let record = StoredEncryptionKey {
                    kid: kid.clone(),
                    alg: alg.into(),
                    private_pkcs8: key.to_pkcs8().map_err(|e| invalid(e.to_string()))?,
                    created_at: now,
                };
                store.add_encryption_key(&record).await?;
            }
            // Read back, so that the first start publishes them in the order every start does.
            stored = store.encryption_keys().await?;
        }
        let keys = stored
            .iter()
            .map(|k| {
                DecryptionKey::from_pkcs8(k.kid.clone(), &k.private_pkcs8).map_err(|e| {
                    EncKeyError::Invalid {
                        kid: k.kid.clone(),
                        reason: e.to_string(),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let jwks = Jwks {
            keys: keys.iter().map(DecryptionKey::public_jwk).collect(),
        };
        let jwks_json = serde_json::to_string(&jwks)
            .expect("a JWKS serializes")
            .into();
        Ok(EncryptionKeys { keys, jwks_json })
    }

    pub fn public_jwks(&self) -> Vec<Jwk> {
        self.keys.iter().map(DecryptionKey::public_jwk).collect()
    }
}

//! Signing keys and the JWS compact serialization of the tokens they sign.
//!
//! Keys belong to a [`KeySet`]: `signing` signs tokens (every issuer's `jwks_uri`), `grants`
//! signs permission grants (BIS `jwks_uri_grants`). Each set is its own [`Keyring`] with its own
//! JWKS and rotation schedule, so a grant never verifies as a token and a token never as a
//! grant.
//!
//! Keys are ES256 (P-256), created on first start and kept in the store. They are parsed once
//! into aws-lc-rs key objects: jsonwebtoken parses the PKCS#8 document again on every signature,
//! which costs about as much as the signature itself, so the provider signs and verifies its own
//! compact JWS here (a few lines of framing around aws-lc-rs). The client library and the tests
//! verify these tokens with jsonwebtoken, an independent implementation.

use crate::secret::random_token;
pub use crate::store::KeySet;
use crate::store::{KeyStore, StoreError, StoredSigningKey};
use arc_swap::ArcSwap;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey,
};
use bankid_oidc_core::b64;
use bankid_oidc_core::claims::ACCESS_TOKEN_TYP;
use bankid_oidc_core::jwk::{Jwk, Jwks};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Longest compact JWS the provider will try to verify.
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// The protected header of the tokens this provider signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("not a compact JWS (three base64url parts)")]
    Malformed,
    #[error("the algorithm is not ES256")]
    Algorithm,
    #[error("the header has critical extensions this provider does not understand")]
    Critical,
    #[error("no key with this kid was issued by this provider")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
}

struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
    /// The encoded headers of the two kinds of token signed on every login, made once.
    id_header: String,
    access_header: String,
}

impl SigningKey {
    fn new(kid: &str, pair: EcdsaKeyPair) -> SigningKey {
        SigningKey {
            id_header: encoded_header(kid, ID_TOKEN_HEADER_TYP),
            access_header: encoded_header(kid, ACCESS_TOKEN_TYP),
            kid: kid.to_owned(),
            pair,
        }
    }

    fn header(&self, typ: &str) -> std::borrow::Cow<'_, str> {
        match typ {
            ID_TOKEN_HEADER_TYP => self.id_header.as_str().into(),
            ACCESS_TOKEN_TYP => self.access_header.as_str().into(),
            other => encoded_header(&self.kid, other).into(),
        }
    }
}

/// The `typ` of an ID token's JWS header.
const ID_TOKEN_HEADER_TYP: &str = "JWT";

fn encoded_header(kid: &str, typ: &str) -> String {
    let header = JwsHeader {
        alg: "ES256".into(),
        kid: Some(kid.to_owned()),
        typ: Some(typ.into()),
        crit: None,
    };
    b64::encode(serde_json::to_vec(&header).expect("a header serializes"))
}

struct LoadedKeys {
    signing: SigningKey,
    verifying: HashMap<String, ParsedPublicKey>,
    jwks_json: Arc<str>,
    /// The store's key version this set was built from.
    version: String,
}

/// When keys rotate: every `interval` seconds if set, each new key published `lead_time`
/// seconds before it signs, each old key published `retire_after` seconds after it stops signing
/// (at least the longest token lifetime, so every token it signed can still be verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    pub interval: Option<i64>,
    pub lead_time: i64,
    pub retire_after: i64,
}

/// How long a retiring grant key stays published after it stops signing: a grant is signed on
/// the first read after approval and served, the same bytes, while its permission is kept (a
/// day past the permission's `exp`, which lies at most `permission_max_lifetime` after its
/// signing), so every grant ever served verifies until its permission is purged.
pub fn grant_retire_after(signing: &RotationPolicy, permission_max_lifetime: i64) -> i64 {
    signing
        .retire_after
        .max(permission_max_lifetime + crate::RECORDS_KEPT + 60)
}

/// The rotation policy of `set` under `config`: the signing set's is the configured one; the
/// grants set rotates on the same schedule but keeps old keys longer
/// ([`grant_retire_after`]).
pub fn rotation_policy(config: &crate::config::Config, set: KeySet) -> RotationPolicy {
    let policy = config.rotation_policy();
    match set {
        KeySet::Signing => policy,
        KeySet::Grants => RotationPolicy {
            retire_after: grant_retire_after(&policy, config.permission_max_lifetime),
            ..policy
        },
    }
}

/// The keys of one [`KeySet`]; swapped whole (not locked) when keys change.
pub struct Keyring {
    key_set: KeySet,
    set: ArcSwap<LoadedKeys>,
    rng: SystemRandom,
    /// Other public keys the JWKS publishes (the encryption keys).
    extra: Vec<Jwk>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {reason}")]
    Invalid { kid: String, reason: String },
}

impl Keyring {
    /// Loads the keys of `key_set` from the store, creating the set's first ES256 key on first
    /// start. Returns whether a key was created.
    pub async fn load_or_create(
        store: &dyn KeyStore,
        key_set: KeySet,
        now: i64,
    ) -> Result<(Keyring, bool), KeyError> {
        let mut stored = store.signing_keys(key_set).await?;
        let created = stored.is_empty();
        if created {
            store
                .add_signing_key(key_set, &new_signing_key(now))
                .await?;
            // Read back: another instance starting at the same moment may have made the first
            // key, and then the store kept that one (`store::postgres::keys`).
            stored = store.signing_keys(key_set).await?;
        }
        let set = loaded_keys(&stored, store.key_version(key_set).await?, &[])?;
        Ok((
            Keyring {
                key_set,
                set: ArcSwap::from_pointee(set),
                rng: SystemRandom::new(),
                extra: Vec::new(),
            },
            created,
        ))
    }

    /// Makes a new key the signing key at once (a test control, or an emergency): it is
    /// published and promoted in one step, and the old key retires as in a scheduled rotation.
    pub async fn rotate(
        &self,
        store: &dyn KeyStore,
        now: i64,
        retire_after: i64,
    ) -> Result<String, KeyError> {
        let mut key = new_signing_key(now);
        key.state = "next".into();
        store.add_signing_key(self.key_set, &key).await?;
        store
            .apply_key_schedule(self.key_set, now, retire_after)
            .await?;
        self.reload(store).await?;
        Ok(key.kid)
    }

    /// Publishes `keys` in the JWKS beside the signing keys (the encryption keys).
    pub async fn publish_with(
        mut self,
        store: &dyn KeyStore,
        keys: Vec<Jwk>,
    ) -> Result<Keyring, KeyError> {
        self.extra = keys;
        self.reload(store).await?;
        Ok(self)
    }

    /// Publishes a new key now that starts signing `lead_time` seconds from now (state `next`).
    pub async fn schedule(
        &self,
        store: &dyn KeyStore,
        now: i64,
        lead_time: i64,
    ) -> Result<String, KeyError> {
        let mut key = new_signing_key(now);
        key.state = "next".into();
        key.activate_at = Some(now + lead_time);
        store.add_signing_key(self.key_set, &key).await?;
        self.reload(store).await?;
        Ok(key.kid)
    }

    /// One step of the rotation schedule: promotes a due `next` key, removes retired keys,
    /// schedules the next rotation when the policy says so, and picks up changes other processes
    /// made (`bankid-oidc keys rotate`). Returns whether the keys changed.
    pub async fn tick(
        &self,
        store: &dyn KeyStore,
        now: i64,
        policy: &RotationPolicy,
    ) -> Result<bool, KeyError> {
        let before = self.set.load().version.clone();
        store
            .apply_key_schedule(self.key_set, now, policy.retire_after)
            .await?;
        if let Some(interval) = policy.interval {
            let keys = store.signing_keys(self.key_set).await?;
            let pending = keys.iter().any(|k| k.state == "next");
            let active_since = keys
                .iter()
                .filter(|k| k.state == "active")
                .map(|k| k.activate_at.unwrap_or(k.created_at))
                .max();
            if !pending
                && active_since.is_some_and(|since| now >= since + interval - policy.lead_time)
            {
                self.schedule(store, now, policy.lead_time).await?;
            }
        }
        if store.key_version(self.key_set).await? != self.set.load().version {
            self.reload(store).await?;
        }
        Ok(self.set.load().version != before)
    }

    /// Reads the keys from the store again.
    pub async fn reload(&self, store: &dyn KeyStore) -> Result<(), KeyError> {
        let version = store.key_version(self.key_set).await?;
        let stored = store.signing_keys(self.key_set).await?;
        self.set
            .store(Arc::new(loaded_keys(&stored, version, &self.extra)?));
        Ok(())
    }

    /// Signs `claims` as a compact JWS with the active key.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> String {
        let set = self.set.load();
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let mut jws = set.signing.header(typ).into_owned();
        jws.push('.');
        jws.push_str(&b64::encode(payload));
        let signature = set
            .signing
            .pair
            .sign(&self.rng, jws.as_bytes())
            .expect("ECDSA signing does not fail");
        jws.push('.');
        jws.push_str(&b64::encode(signature.as_ref()));
        jws
    }

    /// Verifies a compact JWS signed by one of this provider's keys; returns its header and
    /// payload. Claims are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<(JwsHeader, Vec<u8>), JwsError> {
        let parts = Parts::of(token)?;
        let set = self.set.load();
        let key = parts
            .header
            .kid
            .as_deref()
            .and_then(|kid| set.verifying.get(kid))
            .ok_or(JwsError::UnknownKey)?;
        let signature = b64::decode(parts.signature).map_err(|_| JwsError::Malformed)?;
        key.verify_sig(parts.signed, &signature)
            .map_err(|_| JwsError::Signature)?;
        let payload = b64::decode(parts.payload).map_err(|_| JwsError::Malformed)?;
        Ok((parts.header, payload))
    }

    /// Whether a compact JWS names a key of this provider that this keyring has not loaded (a
    /// key another instance made a moment ago, say); false for anything else.
    pub fn names_unknown_key(&self, token: &str) -> bool {
        let Ok(parts) = Parts::of(token) else {
            return false;
        };
        parts
            .header
            .kid
            .as_deref()
            .is_some_and(|kid| !self.set.load().verifying.contains_key(kid))
    }

    /// The header and payload of a compact JWS that passes every check but the signature's:
    /// for a token the caller has already proven is one this provider issued (see
    /// `bearer::live_access_token`).
    pub fn decode_issued(&self, token: &str) -> Result<(JwsHeader, Vec<u8>), JwsError> {
        let parts = Parts::of(token)?;
        let payload = b64::decode(parts.payload).map_err(|_| JwsError::Malformed)?;
        Ok((parts.header, payload))
    }

    /// The published JWKS document, serialized once per key change.
    pub fn jwks_json(&self) -> Arc<str> {
        self.set.load().jwks_json.clone()
    }

    /// The kid of the key that signs now.
    pub fn active_kid(&self) -> String {
        self.set.load().signing.kid.clone()
    }

    /// The set these keys belong to.
    pub fn key_set(&self) -> KeySet {
        self.key_set
    }
}

fn new_signing_key(now: i64) -> StoredSigningKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("key generation works");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .expect("a fresh key parses");
    let kid = random_token()[..22].to_owned();
    let jwk = Jwk::p256_from_uncompressed_point(&kid, pair.public_key().as_ref())
        .expect("P-256 public key");
    StoredSigningKey {
        kid,
        alg: "ES256".into(),
        private_pkcs8: pkcs8.as_ref().to_vec(),
        public_jwk: serde_json::to_string(&jwk).expect("a JWK serializes"),
        state: "active".into(),
        created_at: now,
        activate_at: Some(now),
        retire_at: None,
    }
}

fn loaded_keys(
    stored: &[StoredSigningKey],
    version: String,
    extra: &[Jwk],
) -> Result<LoadedKeys, KeyError> {
    let invalid = |kid: &str, reason: &str| KeyError::Invalid {
        kid: kid.into(),
        reason: reason.into(),
    };
    let mut verifying = HashMap::new();
    let mut jwks = Jwks::default();
    let mut signing = None;
    for key in stored {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_pkcs8)
                .map_err(|_| invalid(&key.kid, "the private key is not a P-256 PKCS#8 document"))?;
        let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            .map_err(|_| invalid(&key.kid, "the public key does not parse"))?;
        let jwk: Jwk = serde_json::from_str(&key.public_jwk)
            .map_err(|_| invalid(&key.kid, "the stored JWK is not JSON"))?;
        verifying.insert(key.kid.clone(), public);
        jwks.keys.push(jwk);
        // Keys come oldest first: the newest active key signs.
        if key.state == "active" {
            signing = Some(SigningKey::new(&key.kid, pair));
        }
    }
    let signing = signing.ok_or_else(|| invalid("-", "no active signing key in the store"))?;
    jwks.keys.extend(extra.iter().cloned());
    let jwks_json: Arc<str> = serde_json::to_string(&jwks)
        .expect("a JWKS serializes")
        .into();
    Ok(LoadedKeys {
        signing,
        verifying,
        jwks_json,
        version,
    })
}

/// A compact JWS split, with the header read and the checks that need no key done.
struct Parts<'a> {
    header: JwsHeader,
    /// `header.payload`, the signed bytes.
    signed: &'a [u8],
    payload: &'a str,
    signature: &'a str,
}

impl<'a> Parts<'a> {
    fn of(token: &'a str) -> Result<Parts<'a>, JwsError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JwsError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header: JwsHeader = b64::decode(h)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(JwsError::Malformed)?;
        if header.alg != "ES256" {
            return Err(JwsError::Algorithm);
        }
        if header.crit.is_some() {
            return Err(JwsError::Critical);
        }
        Ok(Parts {
            header,
            signed: &token.as_bytes()[..h.len() + 1 + p.len()],
            payload: p,
            signature: s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    async fn keyring() -> Keyring {
        let store = SqliteStore::temporary().await.unwrap();
        Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn signed_tokens_verify_and_tampering_is_detected() {
        let keys = keyring().await;
        let token = keys.sign("JWT", &serde_json::json!({"sub": "a"}));
        let (header, payload) = keys.verify(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(payload, br#"{"sub":"a"}"#);

        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = format!(
            "{}.{}.{}",
            parts[0],
            b64::encode(br#"{"sub":"b"}"#),
            parts[2]
        );
        assert_eq!(keys.verify(&forged_payload), Err(JwsError::Signature));
    }

    #[tokio::test]
    async fn alg_none_and_hmac_and_unknown_kids_are_refused() {
        let keys = keyring().await;
        let token = keys.sign("JWT", &serde_json::json!({"sub": "a"}));
        let parts: Vec<&str> = token.split('.').collect();
        let with_header = |h: &str| format!("{}.{}.{}", b64::encode(h), parts[1], parts[2]);
        let kid = keys.active_kid();
        assert_eq!(
            keys.verify(&with_header(r#"{"alg":"none"}"#)),
            Err(JwsError::Algorithm)
        );
        assert_eq!(
            keys.verify(&with_header(&format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#))),
            Err(JwsError::Algorithm)
        );
        assert_eq!(
            keys.verify(&with_header(r#"{"alg":"ES256","kid":"other"}"#)),
            Err(JwsError::UnknownKey)
        );
        assert_eq!(
            keys.verify(&with_header(&format!(
                r#"{{"alg":"ES256","kid":"{kid}","crit":["exp"]}}"#
            ))),
            Err(JwsError::Critical)
        );
        assert_eq!(keys.verify("a.b"), Err(JwsError::Malformed));
        assert_eq!(
            keys.verify(&"a".repeat(MAX_JWS_LEN + 1)),
            Err(JwsError::Malformed)
        );
    }

    #[tokio::test]
    async fn after_a_rotation_new_tokens_use_the_new_key_and_old_ones_still_verify() {
        let store = SqliteStore::temporary().await.unwrap();
        let (keys, _) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        let old_kid = keys.active_kid();
        let old_token = keys.sign("JWT", &serde_json::json!({}));
        let new_kid = keys.rotate(&store, 10, 300).await.unwrap();
        assert_ne!(old_kid, new_kid);
        assert_eq!(keys.active_kid(), new_kid);
        assert!(keys.verify(&old_token).is_ok());
        let jwks: Jwks = serde_json::from_str(&keys.jwks_json()).unwrap();
        assert_eq!(jwks.keys.len(), 2);
        let (reloaded, _) = Keyring::load_or_create(&store, KeySet::Signing, 20)
            .await
            .unwrap();
        assert_eq!(
            reloaded.active_kid(),
            new_kid,
            "a restart signs with the rotated key"
        );
    }

    #[tokio::test]
    async fn a_scheduled_key_is_published_before_it_signs_and_the_old_one_after() {
        let store = SqliteStore::temporary().await.unwrap();
        let (keys, _) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        let policy = RotationPolicy {
            interval: Some(1000),
            lead_time: 100,
            retire_after: 300,
        };
        let first = keys.active_kid();
        let published = |keys: &Keyring| -> Vec<String> {
            let jwks: Jwks = serde_json::from_str(&keys.jwks_json()).unwrap();
            jwks.keys.into_iter().filter_map(|k| k.kid).collect()
        };
        // Not yet time for the next key.
        assert!(!keys.tick(&store, 800, &policy).await.unwrap());
        // At interval - lead time, a next key is published but does not sign.
        assert!(keys.tick(&store, 900, &policy).await.unwrap());
        let ids = published(&keys);
        assert_eq!(ids.len(), 2);
        assert_eq!(keys.active_kid(), first);
        let next = ids.into_iter().find(|k| *k != first).unwrap();
        // After the lead time it signs; the old key stays published.
        keys.tick(&store, 1000, &policy).await.unwrap();
        assert_eq!(keys.active_kid(), next);
        assert!(published(&keys).contains(&first));
        // Once every token the old key signed has expired, it is removed.
        keys.tick(&store, 1299, &policy).await.unwrap();
        assert!(published(&keys).contains(&first));
        keys.tick(&store, 1300, &policy).await.unwrap();
        assert_eq!(published(&keys), vec![next]);
    }

    #[tokio::test]
    async fn a_rotation_by_another_process_is_picked_up() {
        let store = SqliteStore::temporary().await.unwrap();
        let (server, _) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        let (cli, _) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        let rotated = cli.rotate(&store, 5, 300).await.unwrap();
        let policy = RotationPolicy {
            interval: None,
            lead_time: 0,
            retire_after: 300,
        };
        assert!(server.tick(&store, 6, &policy).await.unwrap());
        assert_eq!(server.active_kid(), rotated);
    }

    #[tokio::test]
    async fn a_grant_key_is_published_before_it_signs_and_never_in_the_signing_set() {
        let store = SqliteStore::temporary().await.unwrap();
        let (signing, _) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        let (grants, created) = Keyring::load_or_create(&store, KeySet::Grants, 0)
            .await
            .unwrap();
        assert!(created, "the grants set gets its own first key");
        let kids = |keys: &Keyring| -> Vec<String> {
            let jwks: Jwks = serde_json::from_str(&keys.jwks_json()).unwrap();
            jwks.keys.into_iter().filter_map(|k| k.kid).collect()
        };
        let (signing_kids, first) = (kids(&signing), grants.active_kid());
        assert!(!signing_kids.contains(&first));
        let grant = grants.sign("JWT", &serde_json::json!({"gv": 1}));
        assert_eq!(signing.verify(&grant), Err(JwsError::UnknownKey));

        let next = grants.schedule(&store, 10, 100).await.unwrap();
        assert!(kids(&grants).contains(&next), "published at once");
        assert_eq!(grants.active_kid(), first, "but it does not sign yet");
        let policy = RotationPolicy {
            interval: None,
            lead_time: 100,
            retire_after: 90_000,
        };
        grants.tick(&store, 110, &policy).await.unwrap();
        assert_eq!(grants.active_kid(), next);
        assert!(grants.verify(&grant).is_ok(), "the old grant key stays");
        signing.tick(&store, 110, &policy).await.unwrap();
        assert_eq!(kids(&signing), signing_kids, "the signing set did not move");
    }

    #[test]
    fn a_retiring_grant_key_outlives_every_grant_it_signed() {
        let config = crate::config::Config::new("http://127.0.0.1").unwrap();
        let signing = rotation_policy(&config, KeySet::Signing);
        let grants = rotation_policy(&config, KeySet::Grants);
        assert_eq!(grants.interval, signing.interval);
        assert!(
            grants.retire_after >= config.permission_max_lifetime + crate::RECORDS_KEPT,
            "a grant is served until its permission is purged, a day past its exp"
        );
    }

    #[tokio::test]
    async fn keys_survive_a_reload_from_the_store() {
        let store = SqliteStore::temporary().await.unwrap();
        let (first, created) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        let (second, created_again) = Keyring::load_or_create(&store, KeySet::Signing, 0)
            .await
            .unwrap();
        assert!(created && !created_again);
        assert_eq!(first.active_kid(), second.active_kid());
        let token = first.sign("JWT", &serde_json::json!({}));
        assert!(second.verify(&token).is_ok());
    }
}

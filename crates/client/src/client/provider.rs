//! What the client knows of its provider: the discovery document, refetched after its lifetime,
//! and the caches built from it: the signing keys (`jwks_uri`) and the encryption keys
//! (`jwks_uri_enc`), two instances of [`JwksCache`] that survive a discovery refresh unless the
//! provider moves them.

use super::{Client, ClientBuilder};
use crate::Error;
use crate::discovery::{discovery_url, process_discovery_response};
use crate::http;
use crate::id_token::IdTokenVerifier;
use crate::jwks::JwksCache;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::jwk::Jwk;
use std::sync::Arc;
use std::time::Instant;

/// Everything derived from one discovery document.
#[derive(Debug)]
pub(super) struct Provider {
    pub(super) metadata: Arc<ProviderMetadata>,
    pub(super) verifier: IdTokenVerifier,
    pub(super) jwks: Arc<JwksCache>,
    /// The provider's encryption keys (`jwks_uri_enc`), if it publishes any: the same cache as
    /// the signing keys, fetched on first use.
    pub(super) enc_jwks: Option<Arc<JwksCache>>,
    /// BIS: the keys that sign permission grants (`jwks_uri_grants`), a cache of their own so
    /// that a grant key never verifies an ID token nor the other way round.
    pub(super) grant_jwks: Option<Arc<JwksCache>>,
    pub(super) fetched_at: Instant,
}

/// The cache for the key set at `uri`: the warm one from before a discovery refresh unless the
/// provider moved it, so that a new discovery document does not cost a key fetch.
fn key_cache(
    http: &reqwest::Client,
    config: &ClientBuilder,
    uri: &str,
    previous: Option<&Arc<JwksCache>>,
) -> Arc<JwksCache> {
    match previous {
        Some(cache) if cache.uri() == uri => cache.clone(),
        _ => Arc::new(
            JwksCache::new(http.clone(), uri)
                .min_refetch_interval(config.jwks_min_refetch_interval)
                .max_age(config.jwks_max_age)
                .max_response_size(config.max_response_size)
                .clock(config.clock.clone()),
        ),
    }
}

pub(super) async fn fetch_provider(
    http: &reqwest::Client,
    config: &ClientBuilder,
    previous: Option<&Provider>,
) -> Result<Provider, Error> {
    let response = http::get(
        http,
        &discovery_url(&config.issuer),
        "application/json",
        None,
        config.max_response_size,
    )
    .await?;
    let metadata = process_discovery_response(&config.issuer, &response)?;
    let mut verifier = IdTokenVerifier::new(&metadata, &config.client_id)?
        .clock_skew(config.clock_skew)
        .require_at_hash(config.require_at_hash);
    // BankID with biometrics is substantial: seeds 002 and 004 ask for LOA=3 in `acr`. The
    // merchant's own `min_loa` wins.
    match config.min_loa {
        Some(loa) => verifier = verifier.min_loa(loa),
        None if crate::bis::is_bis_issuer(&metadata) => {
            verifier = verifier.min_loa(crate::bis::BIS_LOA);
        }
        None => {}
    }
    if let Some(algs) = &config.allowed_algs {
        let algs: Vec<&str> = algs.iter().map(String::as_str).collect();
        verifier = verifier.allowed_algs(&algs)?;
    }
    let jwks = key_cache(http, config, &metadata.jwks_uri, previous.map(|p| &p.jwks));
    let enc_jwks = metadata.jwks_uri_enc.as_deref().map(|uri| {
        key_cache(
            http,
            config,
            uri,
            previous.and_then(|p| p.enc_jwks.as_ref()),
        )
    });
    let grant_jwks = metadata.jwks_uri_grants.as_deref().map(|uri| {
        key_cache(
            http,
            config,
            uri,
            previous.and_then(|p| p.grant_jwks.as_ref()),
        )
    });
    Ok(Provider {
        metadata: Arc::new(metadata),
        verifier,
        jwks,
        enc_jwks,
        grant_jwks,
        fetched_at: config.clock.instant(),
    })
}

impl Client {
    fn cached_provider(&self) -> Arc<Provider> {
        self.inner
            .provider
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The provider's configuration, refetched when older than the discovery lifetime. A failed
    /// refresh leaves the previous document in use and is reported.
    pub(super) async fn provider(&self) -> Result<Arc<Provider>, Error> {
        let current = self.cached_provider();
        if self.age(current.fetched_at) < self.inner.config.discovery_lifetime {
            return Ok(current);
        }
        let _guard = self.inner.refreshing.lock().await;
        let current = self.cached_provider();
        if self.age(current.fetched_at) < self.inner.config.discovery_lifetime {
            return Ok(current);
        }
        let fresh =
            Arc::new(fetch_provider(&self.inner.http, &self.inner.config, Some(&current)).await?);
        *self
            .inner
            .provider
            .write()
            .unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    /// The provider's discovery document (cached).
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>, Error> {
        Ok(self.provider().await?.metadata.clone())
    }

    /// The ID token verifier built from discovery and this client's settings.
    pub async fn id_token_verifier(&self) -> Result<IdTokenVerifier, Error> {
        Ok(self.provider().await?.verifier.clone())
    }

    /// The provider's encryption keys from discovery's `jwks_uri_enc`, cached by the same rules
    /// as the signing keys (refetched after the JWKS maximum age, spaced by the minimum refetch
    /// interval, the old keys kept when a refresh fails).
    pub async fn encryption_keys(&self) -> Result<Arc<Vec<Jwk>>, Error> {
        let provider = self.provider().await?;
        let cache = provider
            .enc_jwks
            .as_ref()
            .ok_or(Error::MissingMetadata("jwks_uri_enc"))?;
        cache.published_keys().await
    }
}

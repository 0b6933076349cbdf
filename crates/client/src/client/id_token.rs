//! Signed tokens (ID tokens, signed userinfo) verified against the cached signing keys, following
//! the provider's key rotation: an unknown `kid` costs one JWKS refetch, rate limited.

use super::Client;
use super::provider::Provider;
use crate::Error;
use crate::id_token::{Expected, IdToken};
use crate::jws::KeySet;

impl Client {
    /// Runs [`IdTokenVerifier::verify`](crate::IdTokenVerifier::verify) with the cached keys; on
    /// an unknown `kid`, refetches the JWKS once (subject to the minimum interval) and tries
    /// again.
    pub async fn verify_id_token(
        &self,
        token: &str,
        expected: &Expected<'_>,
    ) -> Result<IdToken, Error> {
        let provider = self.provider().await?;
        let now = self.unix_now();
        self.with_key_rotation(&provider, |keys| {
            provider.verifier.verify(token, keys, expected, now)
        })
        .await
    }

    pub(super) async fn with_key_rotation<T>(
        &self,
        provider: &Provider,
        check: impl Fn(&KeySet) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let keys = provider.jwks.keys().await?;
        match check(&keys) {
            Err(Error::UnknownKey { kid }) => {
                match provider
                    .jwks
                    .refetch_for_unknown_kid(kid.as_deref())
                    .await?
                {
                    Some(fresh) => check(&fresh),
                    None => Err(Error::UnknownKey { kid }),
                }
            }
            other => other,
        }
    }
}

//! Token revocation (RFC 7009), which also takes a revoked machine token out of its cache.

use super::Client;
use crate::Error;
use crate::revocation::{process_revocation_response, revocation_request};
use crate::token::TokenTypeHint;

impl Client {
    /// Revokes a token (RFC 7009), authenticated as this client. A refresh token takes the whole
    /// login with it; an access token only itself. `Ok` also for tokens that were already
    /// invalid, as the RFC answers. A revoked client-credentials token leaves the cache, so
    /// [`Client::client_credentials`] fetches a new one.
    pub async fn revoke(&self, token: &str, hint: Option<TokenTypeHint>) -> Result<(), Error> {
        let provider = self.provider().await?;
        let request = revocation_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            token,
            hint,
        )?;
        let response = self.post_form(&request).await?;
        process_revocation_response(&request.url, &response)?;
        self.inner.machine_tokens.forget(token).await;
        Ok(())
    }
}

//! Token introspection (RFC 7662).

use super::Client;
use crate::Error;
use crate::introspection::{Introspection, introspection_request, process_introspection_response};
use crate::token::TokenTypeHint;

impl Client {
    /// Asks the provider about a token (RFC 7662), authenticated as this client. A provider
    /// answers [`Introspection::Inactive`] for tokens issued to other clients unless this client
    /// is registered as a resource server.
    pub async fn introspect(
        &self,
        token: &str,
        hint: Option<TokenTypeHint>,
    ) -> Result<Introspection, Error> {
        let provider = self.provider().await?;
        let request = introspection_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            token,
            hint,
        )?;
        let response = self.post_form(&request).await?;
        process_introspection_response(&request.url, &response)
    }
}

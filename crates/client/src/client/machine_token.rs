//! Machine tokens (the client credentials grant), cached per scope set.

use super::Client;
use crate::Error;
use crate::machine_token::AccessToken;
use crate::token::{client_credentials_request, read_token_response};

impl Client {
    /// A machine access token (client credentials) for `scopes`, from the cache while it has
    /// more than the refresh margin left.
    pub async fn client_credentials(&self, scopes: &[&str]) -> Result<AccessToken, Error> {
        let provider = self.provider().await?;
        self.inner
            .machine_tokens
            .get_or_fetch(scopes, || async {
                let request = client_credentials_request(
                    &provider.metadata,
                    &self.inner.config.auth,
                    &self.inner.config.client_id,
                    scopes,
                )?;
                let response = self.post_form(&request).await?;
                read_token_response(&request.url, &response)
            })
            .await
    }
}

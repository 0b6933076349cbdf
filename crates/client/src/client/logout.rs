//! Logout at the provider (RP-initiated logout): the URL of its `end_session_endpoint`.

use super::Client;
use crate::Error;
use crate::logout::LogoutRequest;

impl Client {
    /// Starts a logout URL at the provider's `end_session_endpoint`: set the ID token hint, the
    /// post-logout redirect URI and a state on the returned builder, then `build()` it.
    pub async fn logout_request(&self) -> Result<LogoutRequest, Error> {
        let provider = self.provider().await?;
        LogoutRequest::new(&provider.metadata, &self.inner.config.client_id)
    }
}

//! Userinfo: plain JSON, or a JWT verified against the provider's signing keys.

use super::Client;
use crate::Error;
use crate::http;
use crate::jws::KeySet;
use crate::userinfo::{UserInfo, process_userinfo_response};

impl Client {
    /// Userinfo for an access token, checked to be about `expected_sub` (the ID token's `sub`).
    pub async fn userinfo(
        &self,
        access_token: &str,
        expected_sub: &str,
    ) -> Result<UserInfo, Error> {
        let provider = self.provider().await?;
        let url = provider
            .metadata
            .userinfo_endpoint
            .as_deref()
            .ok_or(Error::MissingMetadata("userinfo_endpoint"))?;
        let response = http::get(
            &self.inner.http,
            url,
            "application/json, application/jwt",
            Some(access_token),
            self.inner.config.max_response_size,
        )
        .await?;
        if response.media_type().as_deref() == Some("application/jwt") {
            self.with_key_rotation(&provider, |keys| {
                process_userinfo_response(url, &response, &provider.verifier, keys, expected_sub)
            })
            .await
        } else {
            process_userinfo_response(
                url,
                &response,
                &provider.verifier,
                &KeySet::default(),
                expected_sub,
            )
        }
    }
}

//! BankID with biometrics: the permissions API and the grant, over HTTP (the pure halves are in
//! [`crate::bis`]).

use super::Client;
use super::provider::Provider;
use crate::Error;
use crate::bis::{
    GrantAnswer, PermissionRequest, RegisteredPermission, VerifiedGrant, grant_url,
    next_poll_delay, process_grant_response, process_register_response,
    process_user_exists_response, user_exists_body, user_exists_url, verify_grant,
};
use crate::http;
use std::time::Instant;

impl Client {
    /// Discovery's `permissions_endpoint` (only the BIS issuer has one).
    pub async fn permissions_endpoint(&self) -> Result<String, Error> {
        self.metadata()
            .await?
            .permissions_endpoint
            .clone()
            .ok_or(Error::MissingMetadata("permissions_endpoint"))
    }

    /// Discovery's `jwks_uri_grants`: the keys that sign permission grants.
    pub async fn jwks_uri_grants(&self) -> Result<String, Error> {
        self.metadata()
            .await?
            .jwks_uri_grants
            .clone()
            .ok_or(Error::MissingMetadata("jwks_uri_grants"))
    }

    /// Registers a permission (seed 004, step 5) with a machine token holding
    /// `permissions/client`; `iat` is now on the client's clock.
    pub async fn register_permission(
        &self,
        access_token: &str,
        request: &PermissionRequest,
    ) -> Result<RegisteredPermission, Error> {
        let url = self.permissions_endpoint().await?;
        let body = request.to_body(self.unix_now())?;
        let response = http::post_json(
            &self.inner.http,
            &url,
            access_token,
            body.to_string(),
            self.inner.config.max_response_size,
        )
        .await?;
        process_register_response(&url, &response, request)
    }

    /// Whether the user with this NNIN can use BankID with biometrics.
    pub async fn user_exists(&self, access_token: &str, nnin: &str) -> Result<bool, Error> {
        let url = user_exists_url(&self.permissions_endpoint().await?);
        let response = http::post_json(
            &self.inner.http,
            &url,
            access_token,
            user_exists_body(nnin)?.to_string(),
            self.inner.config.max_response_size,
        )
        .await?;
        process_user_exists_response(&url, &response)
    }

    /// Polls `{permissions_endpoint}{id}/grant` until the grant comes (then verified with
    /// [`Client::verify_grant`]), the permission is refused ([`Error::GrantRefused`]), or
    /// `deadline` passes ([`Error::GrantTimeout`]). Waits 1 s, then 1.5 times longer each time,
    /// at most 5 s. `deadline` is read on the client's clock ([`crate::ClientBuilder::clock`]).
    pub async fn poll_grant(
        &self,
        access_token: &str,
        permission: &RegisteredPermission,
        deadline: Instant,
    ) -> Result<VerifiedGrant, Error> {
        let url = grant_url(&self.permissions_endpoint().await?, &permission.id);
        let clock = self.inner.config.clock.clone();
        let mut delay = None;
        loop {
            let response = http::get(
                &self.inner.http,
                &url,
                "application/jwt, application/json",
                Some(access_token),
                self.inner.config.max_response_size,
            )
            .await?;
            if let GrantAnswer::Granted(jwt) = process_grant_response(&url, &response)? {
                return self.verify_grant(&jwt, permission).await;
            }
            let remaining = deadline.saturating_duration_since(clock.instant());
            if remaining.is_zero() {
                return Err(Error::GrantTimeout {
                    id: permission.id.clone(),
                });
            }
            let next = next_poll_delay(delay);
            delay = Some(next);
            tokio::time::sleep(next.min(remaining)).await;
        }
    }

    /// Verifies a grant JWT against the grant keys (`jwks_uri_grants`, a cache of their own,
    /// refetched once on an unknown `kid`) and the permission registered.
    pub async fn verify_grant(
        &self,
        jwt: &str,
        permission: &RegisteredPermission,
    ) -> Result<VerifiedGrant, Error> {
        let provider = self.provider().await?;
        let issuer = provider.metadata.issuer.clone();
        with_grant_keys(&provider, |keys| {
            verify_grant(jwt, keys, &issuer, permission)
        })
        .await
    }
}

async fn with_grant_keys<T>(
    provider: &Provider,
    check: impl Fn(&crate::jws::KeySet) -> Result<T, Error>,
) -> Result<T, Error> {
    let cache = provider
        .grant_jwks
        .as_ref()
        .ok_or(Error::MissingMetadata("jwks_uri_grants"))?;
    let keys = cache.keys().await?;
    match check(&keys) {
        Err(Error::UnknownKey { kid }) => {
            match cache.refetch_for_unknown_kid(kid.as_deref()).await? {
                Some(fresh) => check(&fresh),
                None => Err(Error::UnknownKey { kid }),
            }
        }
        other => other,
    }
}

//! Starting a login: the authorization request, sent in the URL, pushed (PAR, RFC 9126), or as a
//! signed or encrypted request object (RFC 9101).

use super::Client;
use crate::Error;
use crate::authorization::{
    AuthorizationParameters, AuthorizationRedirect, AuthorizationRequest, Channel,
};
use crate::par::{process_par_response, pushed_authorization_request};
use crate::request_encryption::{RequestEncryption, encrypt_request_object};
use crate::request_object::request_object_claims;

impl Client {
    /// Starts a login: set options on the returned builder, then `build()` it for the URL and the
    /// [`PendingLogin`](crate::PendingLogin) to keep in the user's session.
    pub async fn authorization_request(&self) -> Result<AuthorizationRequest, Error> {
        let redirect_uri = self.inner.config.redirect_uri.as_deref().ok_or_else(|| {
            Error::Config("no redirect_uri configured; set ClientBuilder::redirect_uri".into())
        })?;
        let provider = self.provider().await?;
        Ok(AuthorizationRequest::new(
            &provider.metadata,
            &self.inner.config.client_id,
            redirect_uri,
        ))
    }

    /// Sends `request` by PAR (RFC 9126): the parameters go to the provider from the backend,
    /// client-authenticated, and the returned URL carries only `client_id` and the single-use
    /// `request_uri`. The only way to send `authorization_details` (payments), and one of two for
    /// an NNIN in `login_hint`.
    pub async fn push_authorization_request(
        &self,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, Error> {
        let params = request.prepare(Channel::Pushed)?;
        self.push_parameters(params.params.clone(), params).await
    }

    async fn push_parameters(
        &self,
        form: Vec<(String, String)>,
        params: AuthorizationParameters,
    ) -> Result<AuthorizationRedirect, Error> {
        let provider = self.provider().await?;
        let request = pushed_authorization_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            &form,
        )?;
        let response = self.post_form(&request).await?;
        let pushed = process_par_response(&request.url, &response)?;
        params.into_request_uri_redirect(&pushed.request_uri)
    }

    /// Sends `request` as a signed request object (RFC 9101) in the URL, signed with the
    /// configured
    /// [`ClientBuilder::request_object_signer`](crate::ClientBuilder::request_object_signer). The
    /// parameters cannot be changed on the way, but anyone can read them: no NNIN login_hint here
    /// (see [`Client::encrypted_authorization_request`]).
    pub async fn signed_authorization_request(
        &self,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, Error> {
        let params = request.prepare(Channel::SignedRequestObject)?;
        let signed = self.sign_request_object(&params).await?;
        params.into_request_object_redirect(&signed)
    }

    /// Sends `request` as a signed request object encrypted to one of the provider's keys at
    /// `jwks_uri_enc` (nested JWT), chosen by `encryption` (default: the first usable key,
    /// RSA-OAEP-256 or ECDH-ES, with A256GCM).
    pub async fn encrypted_authorization_request(
        &self,
        request: AuthorizationRequest,
        encryption: &RequestEncryption,
    ) -> Result<AuthorizationRedirect, Error> {
        let params = request.prepare(Channel::EncryptedRequestObject)?;
        let signed = self.sign_request_object(&params).await?;
        let keys = self.encryption_keys().await?;
        let metadata = self.metadata().await?;
        let (key, options) = encryption.choose(&keys, &metadata)?;
        let encrypted = encrypt_request_object(&signed, key, &options)?;
        params.into_request_object_redirect(&encrypted)
    }

    async fn sign_request_object(&self, params: &AuthorizationParameters) -> Result<String, Error> {
        let signer = self
            .inner
            .config
            .request_signer
            .0
            .as_ref()
            .ok_or(Error::MissingRequestObjectSigner)?;
        let provider = self.provider().await?;
        let claims = request_object_claims(
            &params.params,
            &self.inner.config.client_id,
            &provider.metadata.issuer,
            self.unix_now(),
            self.inner.config.request_object_lifetime,
        )?;
        signer.sign_request_object(&claims)
    }
}

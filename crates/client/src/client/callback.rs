//! The end of a login: the callback checked, the code exchanged, the ID token validated.

use super::Client;
use crate::Error;
use crate::authorization::PendingLogin;
use crate::callback::{AuthorizationCode, CallbackParams, validate_callback};
use crate::id_token::{Expected, IdToken, check_requested_acr};
use crate::payment::verify_permission_digest;
use crate::token::{Tokens, authorization_code_request, read_token_response};

/// The result of a completed login: the validated ID token and the token response it came with.
#[derive(Debug, Clone)]
pub struct Login {
    pub id_token: IdToken,
    pub tokens: Tokens,
}

impl Client {
    /// Handles the callback end to end (seed 002): state, iss and error checks, the code
    /// exchange, and full ID token validation against the pending login's nonce and its
    /// requested `acr_values`; for a login with a payment, the ID token's `permission_digest`
    /// against the statement sent.
    pub async fn handle_callback(
        &self,
        pending: &PendingLogin,
        params: &CallbackParams,
    ) -> Result<Login, Error> {
        let provider = self.provider().await?;
        let code = validate_callback(pending, params, &provider.metadata)?;
        let tokens = self.exchange_code(pending, &code).await?;
        let id_token = tokens.id_token.as_deref().ok_or(Error::MissingIdToken)?;
        let id_token = self
            .verify_id_token(
                id_token,
                &Expected {
                    nonce: Some(&pending.nonce),
                    access_token: Some(&tokens.access_token),
                },
            )
            .await?;
        check_requested_acr(&id_token.claims, &pending.acr_values)?;
        if let Some(expected) = &pending.permission_digest {
            verify_permission_digest(&id_token.claims, expected)?;
        }
        Ok(Login { id_token, tokens })
    }

    /// Exchanges an authorization code for tokens (no ID token validation; see
    /// [`Client::handle_callback`]).
    pub async fn exchange_code(
        &self,
        pending: &PendingLogin,
        code: &AuthorizationCode,
    ) -> Result<Tokens, Error> {
        let provider = self.provider().await?;
        let request =
            authorization_code_request(&provider.metadata, &self.inner.config.auth, pending, code)?;
        let response = self.post_form(&request).await?;
        read_token_response(&request.url, &response)
    }
}

//! Refreshing a login's tokens, and checking that a new ID token is about the same login.

use super::Client;
use crate::Error;
use crate::id_token::Expected;
use crate::refresh::{Refreshed, check_refreshed_claims};
use crate::token::{read_token_response, refresh_token_request};
use bankid_oidc_core::claims::IdTokenClaims;

impl Client {
    /// Exchanges a refresh token for fresh tokens (RFC 6749 section 6). `original` is the
    /// validated ID token of the login (its claims); a new ID token, if the provider sends one,
    /// passes every ID token check except the nonce (a refresh has none) and must be about the
    /// same login: same `iss`, `sub`, `aud` and `azp` (OpenID Connect Core 12.2). `scopes` may
    /// narrow the new access token's scope; `None` keeps the login's.
    ///
    /// **Store [`Refreshed::refresh_token`] in place of `refresh_token`.** Providers that rotate
    /// (BankID, RFC 9700) spend a refresh token on use: sending the old one again later is taken
    /// as theft and revokes every token of the login. Our provider lets a retry of the same
    /// token within a few seconds through (it answers with the same successor), so a request
    /// whose answer was lost can be repeated at once; concurrent refreshes of one session are
    /// still best serialised by the merchant.
    ///
    /// If the new ID token fails a check the error is returned and the rotated tokens are
    /// dropped: the provider answered with something that is not this login, so the session
    /// should end.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        original: &IdTokenClaims,
        scopes: Option<&[&str]>,
    ) -> Result<Refreshed, Error> {
        let provider = self.provider().await?;
        let request = refresh_token_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            refresh_token,
            scopes,
        )?;
        let response = self.post_form(&request).await?;
        let tokens = read_token_response(&request.url, &response)?;
        let id_token = match tokens.id_token.as_deref() {
            Some(raw) => {
                let expected = Expected {
                    nonce: None,
                    access_token: Some(&tokens.access_token),
                };
                let id_token = self.verify_id_token(raw, &expected).await?;
                check_refreshed_claims(original, &id_token.claims)?;
                Some(id_token)
            }
            None => None,
        };
        Ok(Refreshed::new(tokens, id_token, refresh_token))
    }
}

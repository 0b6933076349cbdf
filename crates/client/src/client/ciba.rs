//! CIBA over HTTP (the pure halves are in [`crate::ciba`]): the backchannel authentication
//! request, and the handle that polls the token endpoint until the user answers.

use super::{Client, Login};
use crate::Error;
use crate::ciba::{
    AuthenticationResponse, BackchannelRequest, PollOutcome, backchannel_authentication_request,
    poll_request, process_authentication_response, process_poll_response,
};
use crate::id_token::{Expected, check_requested_acr};
use std::time::{Duration, Instant};

impl Client {
    /// Sends a backchannel authentication request (CIBA Core section 7) to discovery's
    /// `backchannel_authentication_endpoint` ([`Error::MissingMetadata`] if the issuer has none:
    /// at BankID only the BIS issuer does), authenticated as at the token endpoint. The
    /// provider's refusals are typed ([`Error::CibaInvalidBindingMessage`] and the others of
    /// [`crate::ciba::process_authentication_response`]). The returned handle polls for the
    /// tokens; its deadline (`expires_in`) counts from now on the client's clock.
    pub async fn backchannel_authentication(
        &self,
        request: &BackchannelRequest,
    ) -> Result<CibaHandle, Error> {
        let provider = self.provider().await?;
        let built = backchannel_authentication_request(
            &provider.metadata,
            &self.inner.config.auth,
            &self.inner.config.client_id,
            request,
        )?;
        let started = self.inner.config.clock.instant();
        let response = self.post_form(&built).await?;
        let answer = process_authentication_response(&built.url, &response)?;
        Ok(CibaHandle {
            client: self.clone(),
            interval: Duration::from_secs(answer.interval.max(0) as u64),
            deadline: started
                .checked_add(Duration::from_secs(answer.expires_in.max(0) as u64))
                .unwrap_or(started),
            answer,
            acr_values: request.requested_acr_values().to_vec(),
        })
    }
}

/// A backchannel authentication request the provider accepted: what polling it needs.
#[derive(Debug, Clone)]
pub struct CibaHandle {
    client: Client,
    answer: AuthenticationResponse,
    /// The current polling interval: the provider's, plus 5 s for every `slow_down`.
    interval: Duration,
    /// When `expires_in` runs out, on the client's monotonic clock.
    deadline: Instant,
    /// The `acr_values` sent, which the ID token's `acr` must satisfy.
    acr_values: Vec<String>,
}

impl CibaHandle {
    /// The provider's `auth_req_id`.
    pub fn auth_req_id(&self) -> &str {
        &self.answer.auth_req_id
    }

    /// The provider's answer to the request, as received.
    pub fn response(&self) -> &AuthenticationResponse {
        &self.answer
    }

    /// The current polling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Polls the token endpoint until the user answers: waits `interval` before each poll (on
    /// the client's [`Clock`](crate::Clock), [`Clock::sleep`](crate::Clock::sleep)), adds 5 s
    /// at every `slow_down`, and stops when the next poll would come after `expires_in`
    /// ([`Error::CibaTimeout`]). `authorization_pending` never reaches the caller; the user's
    /// denial or an unreachable app is [`Error::CibaAccessDenied`], the provider's expiry
    /// [`Error::CibaExpiredToken`], a request already redeemed or not this client's
    /// [`Error::CibaInvalidGrant`].
    ///
    /// The tokens come back validated as in the code flow (signature, `iss`, `aud`, times,
    /// `at_hash`, the client's minimum LOA: 3 at BIS by default, and the `acr_values` sent)
    /// except the nonce: CIBA has none.
    pub async fn poll(&mut self) -> Result<Login, Error> {
        let clock = self.client.inner.config.clock.clone();
        loop {
            let remaining = self.deadline.saturating_duration_since(clock.instant());
            if self.interval >= remaining {
                return Err(Error::CibaTimeout {
                    expires_in: self.answer.expires_in,
                });
            }
            clock.sleep(self.interval).await;
            if let Some(login) = self.poll_once().await? {
                return Ok(login);
            }
        }
    }

    /// One poll, now: the validated tokens, or `None` if the user has not answered yet (the
    /// interval grows on `slow_down`). For callers that schedule polls themselves; keep
    /// [`CibaHandle::interval`] between them.
    pub async fn poll_once(&mut self) -> Result<Option<Login>, Error> {
        let client = &self.client;
        let provider = client.provider().await?;
        let request = poll_request(
            &provider.metadata,
            &client.inner.config.auth,
            &client.inner.config.client_id,
            &self.answer.auth_req_id,
        )?;
        let response = client.post_form(&request).await?;
        match process_poll_response(&request.url, &response, self.interval)? {
            PollOutcome::Pending { interval } | PollOutcome::SlowDown { interval } => {
                self.interval = interval;
                Ok(None)
            }
            PollOutcome::Tokens(tokens) => {
                let raw = tokens.id_token.as_deref().ok_or(Error::MissingIdToken)?;
                let id_token = client
                    .verify_id_token(
                        raw,
                        &Expected {
                            nonce: None,
                            access_token: Some(&tokens.access_token),
                        },
                    )
                    .await?;
                check_requested_acr(&id_token.claims, &self.acr_values)?;
                Ok(Some(Login { id_token, tokens }))
            }
        }
    }
}

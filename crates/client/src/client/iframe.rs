//! The iframe flow over HTTP (the pure halves are in [`crate::iframe`]).

use super::Client;
use crate::Error;
use crate::authorization::Channel;
use crate::iframe::{
    IframeAuthorization, IframeRequest, iframe_authorize_request, process_iframe_authorize_response,
};

impl Client {
    /// Asks the BIS issuer's `iframe_authorize_endpoint` for the single-use address of an
    /// iframe login, with a machine token holding `permissions/iframe` ([`Client::client_credentials`]).
    /// Keep [`IframeAuthorization::pending`] in the session as for any login; the frame ends at
    /// the redirect URI, handled by [`Client::handle_callback`].
    pub async fn iframe_authorize(
        &self,
        access_token: &str,
        request: &IframeRequest,
    ) -> Result<IframeAuthorization, Error> {
        let params = request.request_clone().prepare(Channel::Pushed)?;
        let provider = self.provider().await?;
        let form = iframe_authorize_request(
            &provider.metadata,
            access_token,
            &params,
            request.frame_ancestor(),
        )?;
        let response = self.post_form(&form).await?;
        let (authorize_uri, expires_in) = process_iframe_authorize_response(&form.url, &response)?;
        Ok(IframeAuthorization {
            authorize_uri,
            expires_in,
            pending: params.pending,
        })
    }
}

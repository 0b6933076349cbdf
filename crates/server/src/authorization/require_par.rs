//! Step 5: a client registered with `require_pushed_authorization_requests` sends only pushed
//! requests (RFC 9126 section 6); a plain one is refused to its redirect_uri.

use super::Refused;
use crate::store::Client;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::authorize::ResponseTarget;

pub fn check(client: &Client, target: &ResponseTarget) -> Result<(), Refused> {
    if !client.require_pushed_authorization_requests {
        return Ok(());
    }
    let e = OAuthError::invalid_request(format!(
        "request_uri: client '{}' must push its authorization requests (PAR, RFC 9126)",
        client.client_id
    ));
    Err(Refused::Redirect(Box::new(target.clone()), e))
}

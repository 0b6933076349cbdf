//! Step 1: `client_id` names a registered client (read through the one-second cache).

use super::Refused;
use crate::Provider;
use crate::store::Client;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::authorize::AuthorizeParams;
use std::sync::Arc;

pub async fn load_client(p: &Provider, params: &AuthorizeParams) -> Result<Arc<Client>, Refused> {
    let client_id = params.client_id().map_err(Refused::Page)?;
    match p.client(client_id).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(Refused::Page(OAuthError::invalid_request(format!(
            "client_id: no client '{client_id}' is registered"
        )))),
        Err(e) => Err(Refused::Store(e)),
    }
}

//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the URL that sends the user to
//! the provider's `end_session_endpoint`, which ends the provider's session and returns the user
//! to the merchant.
//!
//! Send the ID token of the login as `id_token_hint`: with it the provider knows which session
//! and which client, and can redirect back without asking the user to confirm. The
//! `post_logout_redirect_uri` must be registered for the client exactly. Put a fresh random
//! `state` in the URL, remember it, and compare it when the user lands on that URI.

use crate::Error;
use bankid_oidc_core::discovery::ProviderMetadata;
use url::Url;

/// A logout URL under construction; [`LogoutRequest::build`] gives the URL to redirect to.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    endpoint: String,
    client_id: String,
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    ui_locales: Option<String>,
}

impl LogoutRequest {
    /// A logout at the provider's `end_session_endpoint`, for `client_id` (always sent, so that
    /// the provider can check `post_logout_redirect_uri` even without an `id_token_hint`).
    pub fn new(metadata: &ProviderMetadata, client_id: &str) -> Result<Self, Error> {
        let endpoint = metadata
            .end_session_endpoint
            .as_deref()
            .ok_or(Error::MissingMetadata("end_session_endpoint"))?;
        Ok(LogoutRequest {
            endpoint: endpoint.to_owned(),
            client_id: client_id.to_owned(),
            id_token_hint: None,
            post_logout_redirect_uri: None,
            state: None,
            ui_locales: None,
        })
    }

    /// The raw ID token of the login being ended ([`crate::IdToken::raw`]); an expired one is
    /// fine.
    pub fn id_token_hint(mut self, id_token: &str) -> Self {
        self.id_token_hint = Some(id_token.to_owned());
        self
    }

    /// Where the provider sends the user afterwards; registered for the client exactly.
    pub fn post_logout_redirect_uri(mut self, uri: &str) -> Self {
        self.post_logout_redirect_uri = Some(uri.to_owned());
        self
    }

    /// Returned unchanged on the redirect to `post_logout_redirect_uri`.
    pub fn state(mut self, state: &str) -> Self {
        self.state = Some(state.to_owned());
        self
    }

    /// The languages of the provider's logout page, e.g. `"nb en"`.
    pub fn ui_locales(mut self, locales: &str) -> Self {
        self.ui_locales = Some(locales.to_owned());
        self
    }

    /// The URL to redirect the user to.
    pub fn build(self) -> Result<Url, Error> {
        let mut url = Url::parse(&self.endpoint).map_err(|e| Error::MalformedResponse {
            what: "end_session_endpoint",
            detail: format!("'{}' is not a URL: {e}", self.endpoint),
        })?;
        if let Some(uri) = &self.post_logout_redirect_uri {
            Url::parse(uri).map_err(|e| {
                Error::Config(format!(
                    "post_logout_redirect_uri '{uri}' is not a URL: {e}"
                ))
            })?;
        }
        if self.state.is_some() && self.post_logout_redirect_uri.is_none() {
            return Err(Error::Config(
                "a logout state is returned only with post_logout_redirect_uri; set both or neither"
                    .into(),
            ));
        }
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &self.client_id);
            let optional = [
                ("id_token_hint", &self.id_token_hint),
                ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
                ("state", &self.state),
                ("ui_locales", &self.ui_locales),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn metadata(endpoint: Option<&str>) -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            end_session_endpoint: endpoint.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn logout_url_carries_hint_redirect_state_and_locales() {
        let url = LogoutRequest::new(&metadata(Some("https://op.example/logout")), "merchant")
            .unwrap()
            .id_token_hint("eyJ.x.y")
            .post_logout_redirect_uri("https://m.example/bye?from=op")
            .state("s-1")
            .ui_locales("nb en")
            .build()
            .unwrap();
        assert!(url.as_str().starts_with("https://op.example/logout?"));
        let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["client_id"], "merchant");
        assert_eq!(query["id_token_hint"], "eyJ.x.y");
        assert_eq!(
            query["post_logout_redirect_uri"],
            "https://m.example/bye?from=op"
        );
        assert_eq!(query["state"], "s-1");
        assert_eq!(query["ui_locales"], "nb en");
    }

    #[test]
    fn logout_url_keeps_the_endpoints_own_query_and_omits_unset_values() {
        let url = LogoutRequest::new(&metadata(Some("https://op.example/logout?realm=x")), "m")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://op.example/logout?realm=x&client_id=m"
        );
    }

    #[test]
    fn logout_needs_the_endpoint_a_valid_redirect_and_no_state_without_one() {
        assert!(matches!(
            LogoutRequest::new(&metadata(None), "m"),
            Err(Error::MissingMetadata("end_session_endpoint"))
        ));
        let request =
            LogoutRequest::new(&metadata(Some("https://op.example/logout")), "m").unwrap();
        assert!(matches!(
            request
                .clone()
                .post_logout_redirect_uri("not a url")
                .build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(request.state("s").build(), Err(Error::Config(_))));
    }
}

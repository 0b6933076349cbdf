//! The authorization request a merchant sends, and what it keeps until the callback.

use crate::provider::{CLIENT_ID, REDIRECT_URI, TestProvider};
use bankid_oidc_core::pkce::s256_challenge;

/// What a merchant keeps between the authorization request and the callback.
#[derive(Debug, Clone)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub params: Vec<(String, String)>,
}

impl Pending {
    /// A valid API version 4 request for the test client, with `extra` parameters replacing or
    /// adding to the defaults and `without` removed.
    pub fn new(extra: &[(&str, &str)], without: &[&str]) -> Pending {
        let state = format!("state-{}", random_suffix());
        let nonce = format!("nonce-{}", random_suffix());
        let verifier = format!("verifier-{}-{}", random_suffix(), "x".repeat(30));
        let challenge = s256_challenge(&verifier);
        let defaults = [
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid profile nnin_altsub"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let mut params: Vec<(String, String)> = defaults
            .iter()
            .filter(|(k, _)| !without.contains(k) && !extra.iter().any(|(e, _)| e == k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Pending {
            state,
            nonce,
            verifier,
            params,
        }
    }

    pub fn url(&self, tp: &TestProvider) -> String {
        self.url_at(tp.authorization_endpoint())
    }

    pub fn url_at(&self, authorization_endpoint: &str) -> String {
        let query = serde_urlencoded::to_string(&self.params).unwrap();
        format!("{authorization_endpoint}?{query}")
    }
}

fn random_suffix() -> String {
    bankid_oidc_server::secret::random_token()[..12].to_owned()
}

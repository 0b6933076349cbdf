//! The merchant's side of the token endpoint: redeeming a code, and reading an OAuth error.

use crate::browser::Browser;
use crate::pending::Pending;
use crate::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestProvider};
use reqwest::{Response, StatusCode};

/// A token request with client_secret_basic.
pub async fn redeem(tp: &TestProvider, code: &str, verifier: &str) -> Response {
    redeem_as(tp, CLIENT_ID, CLIENT_SECRET, code, verifier, REDIRECT_URI).await
}

pub async fn redeem_as(
    tp: &TestProvider,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Response {
    redeem_with_endpoint(
        tp.token_endpoint(),
        client_id,
        secret,
        code,
        verifier,
        redirect_uri,
    )
    .await
}

pub async fn redeem_with_endpoint(
    token_endpoint: &str,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", redirect_uri),
    ];
    reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The OAuth error of a JSON error response, asserting its status.
pub async fn oauth_error(response: Response, status: StatusCode) -> (String, String) {
    assert_eq!(response.status(), status);
    let body: serde_json::Value = response.json().await.unwrap();
    (
        body["error"].as_str().unwrap().to_owned(),
        body["error_description"].as_str().unwrap_or("").to_owned(),
    )
}

/// A complete login and code exchange; returns the token response.
pub async fn login_and_redeem(
    tp: &TestProvider,
    browser: &Browser,
    extra: &[(&str, &str)],
) -> (Pending, serde_json::Value) {
    let pending = Pending::new(extra, &[]);
    let user = tp.user("Kari").clone();
    let callback = browser.login_bid(tp, &pending, &user).await;
    let response = redeem(tp, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    (pending, response.json().await.unwrap())
}

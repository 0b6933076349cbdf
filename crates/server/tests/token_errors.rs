//! One test per refused token request, each asserting the exact OAuth error.

use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::oauth::{oauth_error, redeem, redeem_as};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{
    CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, OTHER_SECRET, REDIRECT_URI, TestProvider,
};
use reqwest::StatusCode;

async fn fresh_code(tp: &TestProvider) -> (Pending, String) {
    let pending = Pending::new(&[], &[]);
    let callback = Browser::new(tp)
        .login_bid(tp, &pending, &tp.user("Kari").clone())
        .await;
    let code = callback.code().to_owned();
    (pending, code)
}

async fn userinfo_status(tp: &TestProvider, access_token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(tp.userinfo_endpoint())
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn token_rejects_code_replay_and_revokes_its_tokens() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    let tokens: serde_json::Value = redeem(&tp, &code, &pending.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&tp, access_token).await, StatusCode::OK);
    let (error, description) = oauth_error(
        redeem(&tp, &code, &pending.verifier).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("already used"), "{description}");
    assert_eq!(
        userinfo_status(&tp, access_token).await,
        StatusCode::UNAUTHORIZED,
        "the first redemption's token is revoked"
    );
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_give_tokens_once() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    let (a, b) = tokio::join!(
        redeem(&tp, &code, &pending.verifier),
        redeem(&tp, &code, &pending.verifier)
    );
    let ok = [a.status(), b.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "a code must be redeemed exactly once");
}

#[tokio::test]
async fn token_rejects_a_wrong_code_verifier() {
    let tp = TestProvider::start().await;
    let (_, code) = fresh_code(&tp).await;
    let wrong = "w".repeat(43);
    let (error, description) =
        oauth_error(redeem(&tp, &code, &wrong).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.starts_with("code_verifier"), "{description}");
    let (error, _) = oauth_error(redeem(&tp, &code, "short").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
}

#[tokio::test]
async fn token_requires_the_code_verifier() {
    let tp = TestProvider::start().await;
    let (_, code) = fresh_code(&tp).await;
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    let (error, description) = oauth_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_request");
    assert!(description.starts_with("code_verifier"));
}

#[tokio::test]
async fn token_rejects_a_code_issued_to_another_client() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    let response = redeem_as(
        &tp,
        OTHER_CLIENT_ID,
        OTHER_SECRET,
        &code,
        &pending.verifier,
        REDIRECT_URI,
    )
    .await;
    let (error, description) = oauth_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("another client"));
}

#[tokio::test]
async fn token_rejects_an_expired_code() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    tp.advance(61);
    let (error, description) = oauth_error(
        redeem(&tp, &code, &pending.verifier).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("expired"));
}

#[tokio::test]
async fn token_rejects_a_different_redirect_uri() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    let response = redeem_as(
        &tp,
        CLIENT_ID,
        CLIENT_SECRET,
        &code,
        &pending.verifier,
        "https://shop.example/cb2?x=1",
    )
    .await;
    let (error, description) = oauth_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.starts_with("redirect_uri"));
}

#[tokio::test]
async fn token_rejects_a_bad_client_secret_with_401() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    let response = redeem_as(
        &tp,
        CLIENT_ID,
        "wrong-secret",
        &code,
        &pending.verifier,
        REDIRECT_URI,
    )
    .await;
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (error, _) = oauth_error(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(error, "invalid_client");
    // client_secret_post with a wrong secret, and an unknown client: the same answer.
    for (id, secret) in [(CLIENT_ID, "wrong"), ("nobody", CLIENT_SECRET)] {
        let response = reqwest::Client::new()
            .post(tp.token_endpoint())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("code_verifier", pending.verifier.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        let (error, description) = oauth_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(
            (error.as_str(), description.as_str()),
            ("invalid_client", "client authentication failed")
        );
    }
    // The code survived the failed attempts of unauthenticated callers.
    assert_eq!(
        redeem(&tp, &code, &pending.verifier).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_rejects_missing_or_doubled_client_authentication() {
    let tp = TestProvider::start().await;
    let (pending, code) = fresh_code(&tp).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", pending.verifier.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .form(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(response, StatusCode::UNAUTHORIZED).await.0,
        "invalid_client"
    );
    let mut both = base.to_vec();
    both.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "invalid_request"
    );
}

#[tokio::test]
async fn token_rejects_unsupported_grant_types_and_bad_bodies() {
    let tp = TestProvider::start().await;
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "unsupported_grant_type"
    );
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "invalid_request"
    );
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "a"),
            ("code", "b"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "invalid_request"
    );
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn token_rejects_an_unknown_code() {
    let tp = TestProvider::start().await;
    let (error, _) = oauth_error(
        redeem(&tp, "not-a-code", &"v".repeat(43)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_grant");
}

#[tokio::test]
async fn a_grant_type_another_issuer_serves_is_unsupported_here_even_for_a_client_registered_for_it()
 {
    use bankid_oidc_core::grant_type::GrantType;
    let tp = TestProvider::start().await;
    // A client registered for CIBA (the BankID with biometrics issuer's grant type).
    let mut client = tp.store.client(CLIENT_ID).await.unwrap().unwrap();
    client.grant_types.push(GrantType::Ciba);
    tp.store.update_client(&client).await.unwrap();
    tp.advance(1); // past the one-second client cache
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", GrantType::Ciba.as_str()),
            ("auth_req_id", "a"),
        ])
        .send()
        .await
        .unwrap();
    let (error, description) = oauth_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "unsupported_grant_type");
    assert_eq!(
        description,
        "grant_type: 'urn:openid:params:grant-type:ciba' is not supported \
         (authorization_code, refresh_token, client_credentials)"
    );
    // The realm's discovery does not offer it either.
    assert!(
        !tp.meta
            .grant_types_supported
            .iter()
            .any(|g| g == GrantType::Ciba.as_str())
    );
}

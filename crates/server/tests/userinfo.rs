//! The userinfo endpoint refuses every token that is not a live access token of this provider.

use bankid_oidc_core::b64;
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::oauth::login_and_redeem;
use bankid_oidc_testkit::provider::TestProvider;
use reqwest::StatusCode;

async fn userinfo(tp: &TestProvider, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(tp.userinfo_endpoint())
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_invalid_token_gets_401_with_a_bearer_challenge() {
    let tp = TestProvider::start().await;
    for token in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let response = userinfo(&tp, token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            challenge(&response).starts_with("Bearer ")
                && challenge(&response).contains("error=\"invalid_token\"")
        );
    }
}

#[tokio::test]
async fn a_missing_token_gets_a_bare_challenge() {
    let tp = TestProvider::start().await;
    let response = reqwest::get(tp.userinfo_endpoint()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!challenge(&response).contains("error="));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    tp.advance(301);
    let response = userinfo(&tp, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("expired"));
}

#[tokio::test]
async fn an_id_token_is_not_an_access_token() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let response = userinfo(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("at+jwt"));
}

#[tokio::test]
async fn a_token_with_altered_claims_is_refused() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let token = tokens["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64::decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = serde_json::json!(tp.user("Ola").id);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64::encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    assert_eq!(
        userinfo(&tp, &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_token_may_come_in_a_post_body_but_not_twice() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let token = tokens["access_token"].as_str().unwrap();
    let response = reqwest::Client::new()
        .post(tp.userinfo_endpoint())
        .form(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = reqwest::Client::new()
        .post(tp.userinfo_endpoint())
        .bearer_auth(token)
        .form(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

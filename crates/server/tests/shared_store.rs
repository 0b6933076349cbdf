//! Two providers on one store, as two instances behind a balancer are (the same SQLite file, or
//! the same PostgreSQL schema when the tests run on PostgreSQL): a key one of them makes is
//! known to the other the moment a token names it.

use bankid_oidc_testkit::provider::{MACHINE_CLIENT_ID, MACHINE_SECRET, TestProvider};
use bankid_oidc_testkit::test_key::TestKey;
use serde_json::{Value, json};

/// A machine token from `tp`'s token endpoint.
async fn machine_token(tp: &TestProvider) -> String {
    let body: Value = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(MACHINE_CLIENT_ID, Some(MACHINE_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "esign/csc")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Whether `token` is active, asked at `instance`'s own address.
async fn active_at(a: &TestProvider, instance: &TestProvider, token: &str) -> bool {
    let introspect = a
        .meta
        .introspection_endpoint
        .as_deref()
        .unwrap()
        .replace(&a.base, &instance.base);
    let body: Value = reqwest::Client::new()
        .post(introspect)
        .basic_auth(MACHINE_CLIENT_ID, Some(MACHINE_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["active"] == json!(true)
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_token_signed_with_a_key_another_instance_just_made_is_verified_after_one_reload() {
    let dir = tempfile::tempdir().unwrap();
    let a = TestProvider::start_in(dir.path()).await;
    let public = url::Url::parse(&a.base).unwrap();
    // B serves the same issuer (the balancer's address, here A's) from the same store.
    let b = TestProvider::start_in_with(dir.path(), |config| config.public_url = public).await;
    let before = machine_token(&a).await;
    assert!(
        active_at(&a, &b, &before).await,
        "B knows the key both loaded at start"
    );

    // A makes a key and signs with it at once (`keys rotate --now`); B has not loaded it, and
    // no key schedule runs in the test kit to tell it.
    let kid = a.rotate_keys().await;
    let after = machine_token(&a).await;
    assert_eq!(kid_of(&after), kid);
    assert!(
        active_at(&a, &b, &after).await,
        "B reads the keys again for the new kid"
    );
    assert!(
        active_at(&a, &b, &before).await,
        "and still knows the retiring key"
    );

    // A key that is in no store is refused, reload or not.
    let stranger = TestKey::es256("not-in-any-store");
    let mut claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            after.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    claims["jti"] = json!("forged");
    let forged = stranger.sign(
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": "not-in-any-store"}),
        &claims,
    );
    assert!(!active_at(&a, &b, &forged).await);
}

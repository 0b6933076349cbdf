//! What the iframe tests share: a merchant client registered for the BIS scopes and the
//! permissions scopes, its permissions, and its call to `iframe-authorize`.

#![allow(dead_code)]

use bankid_oidc_core::b64;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_core::token_hash::sha256_b64;
use bankid_oidc_server::permission_token;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{AppScript, AppScripted, Permission, User};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::TestProvider;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const SHOP: &str = "iframe-shop";
pub const SHOP_SECRET: &str = "iframe-shop-secret-0123456789-abcdefghij";

/// The merchant: its client, registered for `redirect_uri`.
pub async fn register_shop(tp: &TestProvider, redirect_uri: &str, scopes: &str) {
    let mut client = new_client(
        SHOP,
        SHOP_SECRET,
        vec![redirect_uri.into()],
        ScopeSet::parse(scopes).unwrap(),
        tp.now(),
    );
    client.name = "Iframe Shop".into();
    // Its backend takes client credentials tokens; its iframe ends in a code.
    client.grant_types = vec![GrantType::AuthorizationCode, GrantType::ClientCredentials];
    tp.store.add_client(&client).await.unwrap();
}

pub const ALL_SCOPES: &str =
    "openid profile sub_nnin sub_bankid permissions/client permissions/iframe";

pub async fn bis_doc(tp: &TestProvider) -> Value {
    let issuer = tp.provider.issuers.bis().issuer.clone();
    reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A client credentials token of `client_id` from the realm issuer.
pub async fn token_of(tp: &TestProvider, client_id: &str, secret: &str) -> String {
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A payment permission of `client_id` with `user`'s NNIN as its login hint, and its token.
pub async fn permission(
    tp: &TestProvider,
    client_id: &str,
    user: &User,
    exp_in: i64,
) -> (Permission, String) {
    let now = tp.now();
    let nonce = bankid_oidc_server::secret::random_token();
    let statement = json!({
        "nonce": nonce,
        "id": "basket-1",
        "payments": [{"paymentId": "p1", "amount": "123.45", "currency": "NOK",
                      "creditorName": "Scrooge McDuck"}],
    });
    let text = serde_json::to_string(&statement).unwrap();
    let permission = Permission {
        id: format!("1.BY.{}.{}", &nonce[..8], &nonce[8..16]),
        client_id: client_id.into(),
        type_: "payment.v1".into(),
        loa: "sub".into(),
        permission: b64::encode(&text),
        digest: sha256_b64(&text),
        nonce: Some(nonce),
        intents: vec![],
        login_hint_nnin: Some(user.nnin.clone()),
        acr_values: vec!["urn:bankid:bis".into()],
        binding_message: "Farlig frakk".into(),
        iat: now,
        expires_at: now + exp_in,
        created_at: now,
        token_used_at: None,
        app_request_id: None,
        grant_jwt: None,
    };
    assert!(
        tp.store
            .add_permission(&permission, now + 600)
            .await
            .unwrap()
    );
    let token = permission_token::issue(&tp.provider, &permission);
    (permission, token)
}

/// The form of an iframe request: state, nonce and PKCE of `pending`, and `fields`.
pub fn iframe_form(
    pending: &Pending,
    redirect_uri: &str,
    permission_token: &str,
    frame_ancestor: &str,
) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = pending
        .params
        .iter()
        .filter(|(k, _)| k != "client_id" && k != "response_type" && k != "redirect_uri")
        .cloned()
        .collect();
    for (k, v) in [
        ("redirect_uri", redirect_uri),
        ("login_hint_token", permission_token),
        ("frame_ancestor", frame_ancestor),
    ] {
        form.push((k.into(), v.into()));
    }
    form.retain(|(k, _)| k != "scope");
    form.push(("scope".into(), "openid profile".into()));
    form
}

pub fn pending() -> Pending {
    Pending::new(&[], &[])
}

pub async fn iframe_authorize(
    tp: &TestProvider,
    token: Option<&str>,
    form: &[(String, String)],
) -> reqwest::Response {
    let endpoint = bis_doc(tp).await["iframe_authorize_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut request = reqwest::Client::new().post(endpoint).form(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// `authorize_uri` of an accepted iframe request.
pub async fn authorize_uri(tp: &TestProvider, token: &str, form: &[(String, String)]) -> String {
    let response = iframe_authorize(tp, Some(token), form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    body["authorize_uri"].as_str().unwrap().to_owned()
}

/// The user's app answers `answer` after `delay` seconds.
pub async fn script(tp: &TestProvider, user: &User, answer: AppScript, delay: i64) {
    let scripted = AppScripted { answer, delay };
    assert!(
        tp.store
            .set_app_script(&user.id, Some(scripted))
            .await
            .unwrap()
    );
}

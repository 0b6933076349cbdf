//! Issuers as data: two issuers in one provider (two realms here; the BankID with biometrics
//! issuer is the next) share keys, clients and users, but never each other's requests, logins,
//! codes or tokens.

use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::jwt::verify_with_jwks;
use bankid_oidc_testkit::oauth::{login_and_redeem, oauth_error, redeem, redeem_with_endpoint};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestProvider};
use reqwest::StatusCode;
use serde_json::Value;

/// A provider serving the realms `current` (primary) and `preprod`; returns it with the
/// discovery of `preprod`.
async fn two_realms() -> (TestProvider, ProviderMetadata) {
    let tp =
        TestProvider::start_with(|c| c.realms = vec!["current".into(), "preprod".into()]).await;
    let other: ProviderMetadata = reqwest::get(format!(
        "{}/auth/realms/preprod/.well-known/openid-configuration",
        tp.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    (tp, other)
}

/// The test shop redeems `code` at the token endpoint of `issuer`.
async fn redeem_at(issuer: &ProviderMetadata, code: &str, verifier: &str) -> reqwest::Response {
    let token_endpoint = issuer.token_endpoint.as_deref().unwrap();
    redeem_with_endpoint(
        token_endpoint,
        CLIENT_ID,
        CLIENT_SECRET,
        code,
        verifier,
        REDIRECT_URI,
    )
    .await
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_issuer_publishes_its_own_discovery_and_the_same_keys() {
    let (tp, other) = two_realms().await;
    assert_eq!(other.issuer, format!("{}/auth/realms/preprod", tp.base));
    assert_ne!(other.issuer, tp.meta.issuer);
    for endpoint in [&other.authorization_endpoint, &other.token_endpoint] {
        assert!(endpoint.as_deref().unwrap().starts_with(&other.issuer));
    }
    let jwks = |url: String| async move { reqwest::get(url).await.unwrap().text().await.unwrap() };
    assert_eq!(
        jwks(other.jwks_uri.clone()).await,
        jwks(tp.meta.jwks_uri.clone()).await
    );
}

#[tokio::test]
async fn a_code_is_redeemed_only_at_the_issuer_that_made_it() {
    let (tp, other) = two_realms().await;
    let user = tp.user("Kari").clone();
    let pending = Pending::new(&[], &[]);
    let callback = Browser::new(&tp).login_bid(&tp, &pending, &user).await;
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    let elsewhere = redeem_at(&other, callback.code(), &pending.verifier).await;
    let (error, description) = oauth_error(elsewhere, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert_eq!(description, "code: was issued by another issuer");
    // Presented at the wrong issuer, the code was neither consumed nor revoked.
    let response = redeem(&tp, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(
        verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await["iss"],
        tp.issuer
    );
}

#[tokio::test]
async fn the_other_issuer_makes_codes_and_tokens_of_its_own() {
    let (tp, other) = two_realms().await;
    let user = tp.user("Kari").clone();
    let pending = Pending::new(&[], &[]);
    let auth = other.authorization_endpoint.as_deref().unwrap();
    let callback = Browser::new(&tp)
        .login_bid_at(&pending.url_at(auth), &user.nnin, &user.otp, &user.password)
        .await;
    assert_eq!(callback.get("iss"), Some(other.issuer.as_str()));
    let response = redeem_at(&other, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let id = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["iss"], other.issuer);
    // Its refresh token is exchanged there, not at the primary realm.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let (error, description) = oauth_error(
        post_form(tp.token_endpoint(), &form).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_grant");
    assert_eq!(description, "refresh_token: was issued by another issuer");
    let response = post_form(other.token_endpoint.as_deref().unwrap(), &form).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "not used up by the refused attempt"
    );
    // Its access token is refused by the primary realm's userinfo and inactive at its
    // introspection, and served by its own.
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo = |url: String| {
        let access = access.to_owned();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(access)
                .send()
                .await
                .unwrap()
        }
    };
    let refused = userinfo(tp.userinfo_endpoint().to_owned()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let served = userinfo(other.userinfo_endpoint.clone().unwrap()).await;
    assert_eq!(served.status(), StatusCode::OK);
    let introspect = |url: String, token: String| async move {
        post_form(&url, &[("token", &token)])
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let primary_introspection = tp.meta.introspection_endpoint.clone().unwrap();
    let own_introspection = other.introspection_endpoint.clone().unwrap();
    assert_eq!(
        introspect(primary_introspection.clone(), access.to_owned()).await["active"],
        false
    );
    assert_eq!(
        introspect(own_introspection, access.to_owned()).await["active"],
        true
    );
    // The refresh token's successor too is another issuer's at the primary introspection.
    let successor: Value = post_form(
        other.token_endpoint.as_deref().unwrap(),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await
    .json()
    .await
    .unwrap();
    let next = successor["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(primary_introspection, next).await["active"],
        false
    );
}

#[tokio::test]
async fn a_login_flow_continues_only_at_its_issuer() {
    let (tp, _) = two_realms().await;
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let action = forms(&html)[0].action.clone();
    assert!(action.starts_with("/auth/realms/current/"));
    // The same login's address under the other realm: the browser's cookie is the primary
    // realm's (its path), so move it by hand as an attacker would.
    let moved = action.replacen("/auth/realms/current/", "/auth/realms/preprod/", 1);
    let mut page = html.clone();
    page = page.replace(&action, &moved);
    let (_, answer) = Browser::page(browser.submit(&page, &[("nnin", &user.nnin)], None).await);
    assert!(
        text_of(&answer, "error_description")
            .unwrap()
            .contains("expired or is finished")
    );
}

#[tokio::test]
async fn a_pushed_request_and_an_id_token_hint_serve_only_their_issuer() {
    let (tp, other) = two_realms().await;
    // Pushed to the primary realm, its request_uri is unknown to the other.
    let pending = Pending::new(&[], &[]);
    let mut form: Vec<(&str, &str)> = pending
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.retain(|(k, _)| *k != "client_id");
    let pushed: Value = post_form(
        tp.meta
            .pushed_authorization_request_endpoint
            .as_deref()
            .unwrap(),
        &form,
    )
    .await
    .json()
    .await
    .unwrap();
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let query =
        serde_urlencoded::to_string([("client_id", CLIENT_ID), ("request_uri", request_uri)])
            .unwrap();
    let url = format!(
        "{}?{query}",
        other.authorization_endpoint.as_deref().unwrap()
    );
    let (_, html) = Browser::page(Browser::new(&tp).get(&url).await);
    assert_eq!(
        text_of(&html, "error").as_deref(),
        Some("invalid_request_uri")
    );
    assert!(
        text_of(&html, "error_description")
            .unwrap()
            .contains("another issuer")
    );
    // The primary realm's ID token is no hint at the other realm.
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let hinted = Pending::new(
        &[("id_token_hint", tokens["id_token"].as_str().unwrap())],
        &[],
    );
    let auth = other.authorization_endpoint.as_deref().unwrap();
    let callback = Browser::callback(Browser::new(&tp).get(&hinted.url_at(auth)).await);
    assert_eq!(callback.error(), "invalid_request");
    assert!(
        callback
            .get("error_description")
            .unwrap()
            .starts_with("id_token_hint: not an ID token of this issuer")
    );
}

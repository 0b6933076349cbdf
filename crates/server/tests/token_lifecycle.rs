//! The token side of the realm issuer: client credentials, refresh rotation, introspection,
//! revocation, logout and private_key_jwt, over real HTTP.

use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::jwk::Jwks;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_testkit::browser::{Browser, Step};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::jwt::{ClientKey, verify_with_jwks};
use bankid_oidc_testkit::oauth::{login_and_redeem, oauth_error, redeem_as};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{
    CLIENT_ID, CLIENT_SECRET, MACHINE_CLIENT_ID, MACHINE_SECRET, OTHER_CLIENT_ID, POST_LOGOUT_URI,
    REDIRECT_URI, TestProvider,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post_form(url: &str, auth: (&str, &str), form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .basic_auth(auth.0, Some(auth.1))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn endpoint(tp: &TestProvider, which: Option<&String>) -> String {
    which
        .cloned()
        .unwrap_or_else(|| panic!("discovery lacks an endpoint: {:?}", tp.meta))
}

async fn machine_token(tp: &TestProvider, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_form(
        tp.token_endpoint(),
        (MACHINE_CLIENT_ID, MACHINE_SECRET),
        &form,
    )
    .await
}

async fn refresh(tp: &TestProvider, token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_form(tp.token_endpoint(), (CLIENT_ID, CLIENT_SECRET), &form).await
}

async fn userinfo_status(tp: &TestProvider, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(tp.userinfo_endpoint())
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn introspect(tp: &TestProvider, auth: (&str, &str), token: &str) -> Value {
    let url = endpoint(tp, tp.meta.introspection_endpoint.as_ref());
    let response = post_form(&url, auth, &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn revoke(tp: &TestProvider, auth: (&str, &str), token: &str) -> reqwest::Response {
    post_form(
        &endpoint(tp, tp.meta.revocation_endpoint.as_ref()),
        auth,
        &[("token", token)],
    )
    .await
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

// ---- client credentials -------------------------------------------------------------------

#[tokio::test]
async fn client_credentials_give_a_jwt_with_the_asked_machine_scopes() {
    let tp = TestProvider::start().await;
    assert!(
        tp.meta
            .grant_types_supported
            .contains(&"client_credentials".to_string())
    );
    let response = machine_token(&tp, Some("esign/csc permissions/client")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "esign/csc permissions/client");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let claims = verify_with_jwks(&tp, &s(&body, "access_token")).await;
    assert_eq!(claims["client_id"], MACHINE_CLIENT_ID);
    assert_eq!(claims["sub"], MACHINE_CLIENT_ID);
    assert_eq!(claims["scope"], "esign/csc permissions/client");
    assert_eq!(claims["aud"], tp.issuer);
    assert!(claims["jti"].is_string());
    // Without scope: every machine scope the client is registered for.
    let body: Value = machine_token(&tp, None).await.json().await.unwrap();
    assert_eq!(
        body["scope"],
        "esign esign/csc permissions/client permissions/iframe"
    );
}

#[tokio::test]
async fn client_credentials_refuse_scopes_outside_the_clients_allowance() {
    let tp = TestProvider::start().await;
    for scope in [
        "esign/nnin",
        "permissions/ciba",
        "openid",
        "profile",
        "esign/csc admin",
    ] {
        let (error, description) = oauth_error(
            machine_token(&tp, Some(scope)).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error, "invalid_scope", "{scope}: {description}");
        assert!(description.starts_with("scope"));
    }
}

#[tokio::test]
async fn grant_types_the_client_is_not_registered_for_are_unauthorized_client() {
    let tp = TestProvider::start().await;
    let response = post_form(
        tp.token_endpoint(),
        (CLIENT_ID, CLIENT_SECRET),
        &[("grant_type", "client_credentials"), ("scope", "esign")],
    )
    .await;
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "unauthorized_client"
    );
    let response = post_form(
        tp.token_endpoint(),
        (MACHINE_CLIENT_ID, MACHINE_SECRET),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "unauthorized_client"
    );
}

#[tokio::test]
async fn a_machine_token_is_not_accepted_by_userinfo() {
    let tp = TestProvider::start().await;
    let body: Value = machine_token(&tp, Some("esign"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        userinfo_status(&tp, &s(&body, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
}

// ---- refresh tokens -------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_and_keeps_the_login_and_never_widens_scope() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(
        &tp,
        &Browser::new(&tp),
        &[("scope", "openid profile nnin_altsub")],
    )
    .await;
    let first_id = verify_with_jwks(&tp, &s(&tokens, "id_token")).await;
    let rt = s(&tokens, "refresh_token");

    let response = refresh(&tp, &rt, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let next: Value = response.json().await.unwrap();
    let rt2 = s(&next, "refresh_token");
    assert_ne!(rt, rt2, "the refresh token rotates");
    let id = verify_with_jwks(&tp, &s(&next, "id_token")).await;
    for claim in [
        "sub",
        "sid",
        "acr",
        "amr",
        "bankid_altsub",
        "nnin_altsub",
        "aud",
    ] {
        assert_eq!(id[claim], first_id[claim], "{claim} is kept");
    }
    assert!(id.get("nonce").is_none(), "no nonce on refresh");
    assert_eq!(
        userinfo_status(&tp, &s(&next, "access_token")).await,
        StatusCode::OK
    );

    // Narrowing works and the family keeps its scope; widening is refused.
    let narrowed: Value = refresh(&tp, &rt2, Some("openid"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrowed["scope"], "openid");
    let rt3 = s(&narrowed, "refresh_token");
    let (error, _) = oauth_error(
        refresh(&tp, &rt3, Some("openid email")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_scope");
    let wide_again: Value = refresh(&tp, &rt3, None).await.json().await.unwrap();
    assert_eq!(wide_again["scope"], "nnin_altsub openid profile");
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_whole_family() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let rt = s(&tokens, "refresh_token");
    let next: Value = refresh(&tp, &rt, None).await.json().await.unwrap();
    let rt2 = s(&next, "refresh_token");
    let at2 = s(&next, "access_token");
    tp.advance(11); // past the grace window
    let (error, description) =
        oauth_error(refresh(&tp, &rt, None).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("already used"), "{description}");
    // Everything of the family is dead: the newest refresh token and the access tokens.
    assert_eq!(
        oauth_error(refresh(&tp, &rt2, None).await, StatusCode::BAD_REQUEST)
            .await
            .0,
        "invalid_grant"
    );
    assert_eq!(userinfo_status(&tp, &at2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        userinfo_status(&tp, &s(&tokens, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_retry_within_the_grace_window_gets_the_same_successor() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let rt = s(&tokens, "refresh_token");
    let a: Value = refresh(&tp, &rt, None).await.json().await.unwrap();
    let b: Value = refresh(&tp, &rt, None).await.json().await.unwrap();
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert_ne!(a["access_token"], b["access_token"]);
    // The family still works, and once the successor is used the old token is plain reuse.
    let c = refresh(&tp, &s(&a, "refresh_token"), None).await;
    assert_eq!(c.status(), StatusCode::OK);
    assert_eq!(
        oauth_error(refresh(&tp, &rt, None).await, StatusCode::BAD_REQUEST)
            .await
            .0,
        "invalid_grant"
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_leave_one_working_family() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let rt = s(&tokens, "refresh_token");
    let (a, b) = tokio::join!(refresh(&tp, &rt, None), refresh(&tp, &rt, None));
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    let next = refresh(&tp, &s(&a, "refresh_token"), None).await;
    assert_eq!(next.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client_and_expires() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let rt = s(&tokens, "refresh_token");
    let mut other = new_client(
        "third",
        "third-secret-0123456789-abcdefghijklmno",
        vec!["https://third.example/cb".into()],
        bankid_oidc_core::scope::ScopeSet::parse("openid").unwrap(),
        0,
    );
    other.grant_types = vec![GrantType::RefreshToken];
    tp.store.add_client(&other).await.unwrap();
    let response = post_form(
        tp.token_endpoint(),
        ("third", "third-secret-0123456789-abcdefghijklmno"),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    let (error, description) = oauth_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("another client"));
    // Without offline_access a refresh token lives as long as a browser session.
    tp.advance(8 * 3600 + 1);
    let (error, description) =
        oauth_error(refresh(&tp, &rt, None).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
}

#[tokio::test]
async fn offline_access_refresh_tokens_outlive_the_session() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(
        &tp,
        &Browser::new(&tp),
        &[("scope", "openid offline_access")],
    )
    .await;
    tp.advance(24 * 3600);
    assert_eq!(
        refresh(&tp, &s(&tokens, "refresh_token"), None)
            .await
            .status(),
        StatusCode::OK
    );
}

// ---- introspection and revocation -----------------------------------------------------------

#[tokio::test]
async fn introspection_shows_a_client_its_own_tokens_only() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let at = s(&tokens, "access_token");
    assert_eq!(
        tp.meta.token_introspection_endpoint,
        tp.meta.introspection_endpoint
    );
    let own = introspect(&tp, (CLIENT_ID, CLIENT_SECRET), &at).await;
    assert_eq!(own["active"], true);
    assert_eq!(own["client_id"], CLIENT_ID);
    assert_eq!(own["token_type"], "Bearer");
    assert_eq!(own["scope"], "nnin_altsub openid profile");
    assert!(own["exp"].is_i64() && own["sub"].is_string());
    let rt = introspect(
        &tp,
        (CLIENT_ID, CLIENT_SECRET),
        &s(&tokens, "refresh_token"),
    )
    .await;
    assert_eq!(
        (rt["active"].clone(), rt["token_type"].clone()),
        (json!(true), json!("refresh_token"))
    );
    // Another client learns nothing, not even that the token exists.
    let foreign = introspect(&tp, (MACHINE_CLIENT_ID, MACHINE_SECRET), &at).await;
    assert_eq!(foreign, json!({ "active": false }));
    assert_eq!(
        introspect(&tp, (CLIENT_ID, CLIENT_SECRET), "garbage").await,
        json!({ "active": false })
    );
    // A resource server may introspect any token.
    let mut rs = new_client(
        "api",
        "api-secret-0123456789-abcdefghijklmnopq",
        Vec::new(),
        Default::default(),
        0,
    );
    rs.grant_types = Vec::new();
    rs.resource_server = true;
    tp.store.add_client(&rs).await.unwrap();
    assert_eq!(
        introspect(&tp, ("api", "api-secret-0123456789-abcdefghijklmnopq"), &at).await["active"],
        true
    );
    // Expired tokens are inactive.
    tp.advance(301);
    assert_eq!(
        introspect(&tp, (CLIENT_ID, CLIENT_SECRET), &at).await["active"],
        false
    );
}

#[tokio::test]
async fn introspection_and_revocation_require_client_authentication() {
    let tp = TestProvider::start().await;
    for url in [
        tp.meta.introspection_endpoint.clone().unwrap(),
        tp.meta.revocation_endpoint.clone().unwrap(),
    ] {
        let response = reqwest::Client::new()
            .post(&url)
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            oauth_error(response, StatusCode::UNAUTHORIZED).await.0,
            "invalid_client"
        );
        let response = post_form(&url, (CLIENT_ID, "wrong"), &[("token", "x")]).await;
        assert_eq!(
            oauth_error(response, StatusCode::UNAUTHORIZED).await.0,
            "invalid_client"
        );
    }
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_by_userinfo_and_introspection() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let at = s(&tokens, "access_token");
    assert_eq!(
        revoke(&tp, (CLIENT_ID, CLIENT_SECRET), &at).await.status(),
        StatusCode::OK
    );
    assert_eq!(userinfo_status(&tp, &at).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        introspect(&tp, (CLIENT_ID, CLIENT_SECRET), &at).await["active"],
        false
    );
    // The refresh token of the same login still works: an access token is revoked alone.
    assert_eq!(
        refresh(&tp, &s(&tokens, "refresh_token"), None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    assert_eq!(
        revoke(
            &tp,
            (CLIENT_ID, CLIENT_SECRET),
            &s(&tokens, "refresh_token")
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        userinfo_status(&tp, &s(&tokens, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        oauth_error(
            refresh(&tp, &s(&tokens, "refresh_token"), None).await,
            StatusCode::BAD_REQUEST
        )
        .await
        .0,
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_token_and_unknown_tokens_are_fine() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let at = s(&tokens, "access_token");
    let response = revoke(&tp, (MACHINE_CLIENT_ID, MACHINE_SECRET), &at).await;
    assert_eq!(
        oauth_error(response, StatusCode::BAD_REQUEST).await.0,
        "invalid_request"
    );
    assert_eq!(userinfo_status(&tp, &at).await, StatusCode::OK);
    assert_eq!(
        revoke(&tp, (CLIENT_ID, CLIENT_SECRET), "no-such-token")
            .await
            .status(),
        StatusCode::OK
    );
}

// ---- logout ---------------------------------------------------------------------------------

#[tokio::test]
async fn logout_ends_the_session_and_the_next_authorize_asks_for_login() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, tokens) = login_and_redeem(&tp, &browser, &[]).await;
    assert!(
        matches!(
            browser.get(&Pending::new(&[], &[]).url(&tp)).await,
            Step::Callback(_)
        ),
        "SSO before logout"
    );
    let url = format!(
        "{}?{}",
        tp.meta.end_session_endpoint.clone().unwrap(),
        serde_urlencoded::to_string([
            ("id_token_hint", s(&tokens, "id_token")),
            ("post_logout_redirect_uri", POST_LOGOUT_URI.into()),
            ("state", "bye".into())
        ])
        .unwrap()
    );
    let response = browser.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()["location"],
        format!("{POST_LOGOUT_URI}?state=bye")
    );
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(
        matches!(
            browser.get(&Pending::new(&[], &[]).url(&tp)).await,
            Step::Page { .. }
        ),
        "login again after logout"
    );
    // The session's (not offline) refresh token ended with it.
    assert_eq!(
        oauth_error(
            refresh(&tp, &s(&tokens, "refresh_token"), None).await,
            StatusCode::BAD_REQUEST
        )
        .await
        .0,
        "invalid_grant"
    );
}

#[tokio::test]
async fn logout_without_a_hint_asks_the_person_to_confirm() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    login_and_redeem(&tp, &browser, &[]).await;
    let logout = tp.meta.end_session_endpoint.clone().unwrap();
    let (_, html) = Browser::page(browser.get(&logout).await);
    assert!(forms(&html)[0].fields.iter().any(|(n, _)| n == "confirm"));
    // A forged confirmation (a third-party page posting to us) only shows the question again.
    let response = browser
        .http
        .post(&logout)
        .form(&[("confirm", "forged")])
        .send()
        .await
        .unwrap();
    let again = response.text().await.unwrap();
    assert!(
        forms(&again)
            .first()
            .is_some_and(|f| f.fields.iter().any(|(n, _)| n == "confirm"))
    );
    assert!(
        matches!(
            browser.get(&Pending::new(&[], &[]).url(&tp)).await,
            Step::Callback(_)
        ),
        "still logged in"
    );
    // The real confirmation logs out.
    let (_, done) = Browser::page(browser.submit(&html, &[], None).await);
    assert!(text_of(&done, "logged-out").is_some());
    assert!(matches!(
        browser.get(&Pending::new(&[], &[]).url(&tp)).await,
        Step::Page { .. }
    ));
}

#[tokio::test]
async fn logout_refuses_unregistered_redirects_and_foreign_hints() {
    let tp = TestProvider::start().await;
    let (_, tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let logout = tp.meta.end_session_endpoint.clone().unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases = [
        vec![
            ("id_token_hint", s(&tokens, "id_token")),
            (
                "post_logout_redirect_uri",
                "https://evil.example/".to_string(),
            ),
        ],
        vec![("post_logout_redirect_uri", POST_LOGOUT_URI.to_string())],
        vec![("id_token_hint", "not.a.token".to_string())],
        vec![("id_token_hint", s(&tokens, "access_token"))],
        vec![
            ("id_token_hint", s(&tokens, "id_token")),
            ("client_id", OTHER_CLIENT_ID.to_string()),
        ],
    ];
    for params in cases {
        let response = http
            .get(format!(
                "{logout}?{}",
                serde_urlencoded::to_string(&params).unwrap()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
        assert!(response.headers().get("location").is_none());
    }
}

// ---- private_key_jwt -----------------------------------------------------------------------

const PKJWT_CLIENT: &str = "signed-shop";

async fn register_pkjwt_client(tp: &TestProvider, key: &ClientKey) {
    let mut client = new_client(
        PKJWT_CLIENT,
        "",
        vec![REDIRECT_URI.into()],
        bankid_oidc_core::scope::ScopeSet::parse("openid profile").unwrap(),
        0,
    );
    client.secret_hash = String::new();
    client.token_endpoint_auth_method = ClientAuthMethod::PrivateKeyJwt;
    client.jwks = Some(
        serde_json::to_string(&Jwks {
            keys: vec![key.jwk.clone()],
        })
        .unwrap(),
    );
    tp.store.add_client(&client).await.unwrap();
}

fn assertion_claims(tp: &TestProvider, jti: &str, aud: &str, exp_in: i64) -> Value {
    let now = bankid_oidc_server::clock::Clock::now(tp.clock.as_ref());
    json!({ "iss": PKJWT_CLIENT, "sub": PKJWT_CLIENT, "aud": aud, "jti": jti, "iat": now, "exp": now + exp_in })
}

async fn code_for_pkjwt_client(tp: &TestProvider) -> (Pending, String) {
    let pending = Pending::new(
        &[("client_id", PKJWT_CLIENT), ("scope", "openid profile")],
        &[],
    );
    let callback = Browser::new(tp)
        .login_bid(tp, &pending, &tp.user("Kari").clone())
        .await;
    let code = callback.code().to_owned();
    (pending, code)
}

async fn redeem_with_assertion(
    tp: &TestProvider,
    code: &str,
    verifier: &str,
    assertion: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(tp.token_endpoint())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", REDIRECT_URI),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn private_key_jwt_authenticates_and_each_broken_assertion_is_invalid_client() {
    let tp = TestProvider::start().await;
    assert!(
        tp.meta
            .token_endpoint_auth_methods_supported
            .contains(&"private_key_jwt".to_string())
    );
    let key = ClientKey::new("client-key-1");
    register_pkjwt_client(&tp, &key).await;
    let (pending, code) = code_for_pkjwt_client(&tp).await;
    let token_endpoint = tp.token_endpoint().to_owned();

    let refused = [
        ("wrong aud", key.sign(&assertion_claims(&tp, "j-aud", "https://elsewhere.example", 60))),
        ("expired", key.sign(&assertion_claims(&tp, "j-exp", &token_endpoint, -1))),
        ("too long", key.sign(&assertion_claims(&tp, "j-long", &token_endpoint, 3600))),
        ("unknown key", ClientKey::new("client-key-1").sign(&assertion_claims(&tp, "j-key", &token_endpoint, 60))),
        ("no jti", key.sign(&json!({ "iss": PKJWT_CLIENT, "sub": PKJWT_CLIENT, "aud": token_endpoint, "exp": bankid_oidc_server::clock::Clock::now(tp.clock.as_ref()) + 60 }))),
        ("hmac", jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &assertion_claims(&tp, "j-hs", &token_endpoint, 60), &jsonwebtoken::EncodingKey::from_secret(key.jwk.x.as_ref().unwrap().as_bytes())).unwrap()),
    ];
    for (what, assertion) in refused {
        let response = redeem_with_assertion(&tp, &code, &pending.verifier, &assertion).await;
        let (error, description) = oauth_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(error, "invalid_client", "{what}: {description}");
        assert!(
            description.starts_with("client_assertion"),
            "{what}: {description}"
        );
    }

    let good = key.sign(&assertion_claims(&tp, "j-good", &tp.issuer, 60));
    let response = redeem_with_assertion(&tp, &code, &pending.verifier, &good).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the code survived the refused attempts"
    );

    // The same assertion again: a replayed jti.
    let (pending, code) = code_for_pkjwt_client(&tp).await;
    let (error, description) = oauth_error(
        redeem_with_assertion(&tp, &code, &pending.verifier, &good).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, "invalid_client");
    assert!(description.contains("jti"), "{description}");
}

#[tokio::test]
async fn a_private_key_jwt_client_has_no_secret_and_a_secret_client_no_assertion() {
    let tp = TestProvider::start().await;
    let key = ClientKey::new("k");
    register_pkjwt_client(&tp, &key).await;
    let (pending, code) = code_for_pkjwt_client(&tp).await;
    let response = redeem_as(
        &tp,
        PKJWT_CLIENT,
        "",
        &code,
        &pending.verifier,
        REDIRECT_URI,
    )
    .await;
    assert_eq!(
        oauth_error(response, StatusCode::UNAUTHORIZED).await.0,
        "invalid_client"
    );
    // An assertion naming a secret-based client.
    let now = bankid_oidc_server::clock::Clock::now(tp.clock.as_ref());
    let assertion = key.sign(&json!({ "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": tp.issuer, "jti": "x", "exp": now + 60 }));
    let (error, description) = oauth_error(
        redeem_with_assertion(&tp, &code, &pending.verifier, &assertion).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, "invalid_client");
    assert!(
        description.contains("not registered for private_key_jwt"),
        "{description}"
    );
}

#[tokio::test]
async fn private_key_jwt_keys_come_from_the_jwks_uri_and_a_new_key_is_fetched_once() {
    use std::sync::{Arc, Mutex};
    let tp = TestProvider::start().await;
    let first = ClientKey::new("first");
    let served = Arc::new(Mutex::new(Jwks {
        keys: vec![first.jwk.clone()],
    }));
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (served2, fetches2) = (served.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let jwks = served2.lock().unwrap().clone();
            fetches2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { axum::Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_uri = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut client = new_client(
        PKJWT_CLIENT,
        "",
        vec![REDIRECT_URI.into()],
        bankid_oidc_core::scope::ScopeSet::parse("openid profile").unwrap(),
        0,
    );
    client.token_endpoint_auth_method = ClientAuthMethod::PrivateKeyJwt;
    client.jwks_uri = Some(jwks_uri);
    tp.store.add_client(&client).await.unwrap();

    let (pending, code) = code_for_pkjwt_client(&tp).await;
    let ok = redeem_with_assertion(
        &tp,
        &code,
        &pending.verifier,
        &first.sign(&assertion_claims(&tp, "a1", &tp.issuer, 60)),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The client rotates its key: the provider refetches once (after its short minimum interval).
    let second = ClientKey::new("second");
    served.lock().unwrap().keys = vec![second.jwk.clone()];
    tp.advance(11);
    let (pending, code) = code_for_pkjwt_client(&tp).await;
    let ok = redeem_with_assertion(
        &tp,
        &code,
        &pending.verifier,
        &second.sign(&assertion_claims(&tp, "a2", &tp.issuer, 60)),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
}

// ---- keys -----------------------------------------------------------------------------------

#[tokio::test]
async fn after_a_rotation_old_tokens_still_validate_and_new_ones_use_the_new_key() {
    let tp = TestProvider::start().await;
    let (_, before) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let kid = tp.rotate_keys().await;
    let (_, after) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    assert_eq!(
        jsonwebtoken::decode_header(s(&after, "id_token"))
            .unwrap()
            .kid
            .as_deref(),
        Some(kid.as_str())
    );
    // verify_with_jwks fetches the JWKS each time: both keys are published.
    verify_with_jwks(&tp, &s(&before, "id_token")).await;
    verify_with_jwks(&tp, &s(&after, "id_token")).await;
    assert_eq!(
        userinfo_status(&tp, &s(&before, "access_token")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_machine_token_is_not_recorded_but_can_be_revoked_and_dies_with_its_client() {
    let tp = TestProvider::start().await;
    let body: Value = machine_token(&tp, Some("esign"))
        .await
        .json()
        .await
        .unwrap();
    let token = s(&body, "access_token");
    let seen = introspect(&tp, (MACHINE_CLIENT_ID, MACHINE_SECRET), &token).await;
    assert_eq!(
        (seen["active"].clone(), seen["client_id"].clone()),
        (json!(true), json!(MACHINE_CLIENT_ID))
    );
    assert_eq!(
        introspect(&tp, (CLIENT_ID, CLIENT_SECRET), &token).await,
        json!({ "active": false })
    );
    assert_eq!(
        revoke(&tp, (MACHINE_CLIENT_ID, MACHINE_SECRET), &token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        introspect(&tp, (MACHINE_CLIENT_ID, MACHINE_SECRET), &token).await["active"],
        false
    );

    // A client that is removed takes its tokens with it (the client cache lives a second).
    let other: Value = machine_token(&tp, Some("esign"))
        .await
        .json()
        .await
        .unwrap();
    let other = s(&other, "access_token");
    let mut rs = new_client(
        "api",
        "api-secret-0123456789-abcdefghijklmnopq",
        Vec::new(),
        Default::default(),
        0,
    );
    rs.grant_types = Vec::new();
    rs.resource_server = true;
    tp.store.add_client(&rs).await.unwrap();
    let api = ("api", "api-secret-0123456789-abcdefghijklmnopq");
    assert_eq!(introspect(&tp, api, &other).await["active"], true);
    tp.store.remove_client(MACHINE_CLIENT_ID, 0).await.unwrap();
    // Within a second the provider sees the removal (it keeps found clients for a second).
    tp.advance(1);
    assert_eq!(introspect(&tp, api, &other).await["active"], false);
}

#[tokio::test]
async fn housekeeping_deletes_what_expired_and_keeps_what_lives() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, old) = login_and_redeem(&tp, &browser, &[]).await;
    let now = || bankid_oidc_server::clock::Clock::now(tp.clock.as_ref());
    // Nothing has expired yet: nothing of this login goes.
    tp.store.purge_expired(now(), 24 * 3600).await.unwrap();
    assert_eq!(
        userinfo_status(&tp, &s(&old, "access_token")).await,
        StatusCode::OK
    );
    assert_eq!(
        introspect(&tp, (CLIENT_ID, CLIENT_SECRET), &s(&old, "refresh_token")).await["active"],
        true
    );

    // Two days later everything of that login has expired for a day or more.
    tp.advance(2 * 24 * 3600);
    let (_, fresh) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let deleted = tp.store.purge_expired(now(), 24 * 3600).await.unwrap();
    assert!(
        deleted >= 5,
        "session, code, access and refresh token, grant: {deleted} rows"
    );
    let (error, description) = oauth_error(
        refresh(&tp, &s(&old, "refresh_token"), None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("unknown"), "{description}");
    // The login of now is untouched.
    assert_eq!(
        userinfo_status(&tp, &s(&fresh, "access_token")).await,
        StatusCode::OK
    );
    assert_eq!(
        refresh(&tp, &s(&fresh, "refresh_token"), None)
            .await
            .status(),
        StatusCode::OK
    );
}

/// Signs `claims` with `key` and a header of the caller's `typ` (none when None), as a client
/// that follows no recommendation would.
fn sign_with_typ(key: &ClientKey, claims: &Value, typ: Option<&str>) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
    )
    .unwrap()
}

/// A signed request object of the private_key_jwt client: iss = sub = client_id, aud = issuer,
/// as a client that copies its assertion code into its request object code would make it.
fn request_object_claims(tp: &TestProvider, pending: &Pending, jti: &str) -> Value {
    let mut claims = assertion_claims(tp, jti, &tp.issuer, 60);
    for (k, v) in &pending.params {
        claims[k] = json!(v);
    }
    claims
}

fn authorize_with_request_object(tp: &TestProvider, request: &str) -> String {
    format!(
        "{}?{}",
        tp.authorization_endpoint(),
        serde_urlencoded::to_string([
            ("client_id", PKJWT_CLIENT),
            ("response_type", "code"),
            ("request", request),
        ])
        .unwrap()
    )
}

#[tokio::test]
async fn a_request_object_from_the_browser_is_not_a_client_assertion() {
    let tp = TestProvider::start().await;
    let key = ClientKey::new("k");
    register_pkjwt_client(&tp, &key).await;
    let (pending, code) = code_for_pkjwt_client(&tp).await;
    // A request object travels through the browser (and its history and logs): whoever sees one
    // must not be able to authenticate as the client with it.
    let request_pending = Pending::new(
        &[("client_id", PKJWT_CLIENT), ("scope", "openid profile")],
        &[],
    );
    let claims = request_object_claims(&tp, &request_pending, "ro-as-assertion");
    for (typ, expected) in [
        (
            None,
            "client_assertion: carries authorization request parameters (code_challenge, code_challenge_method, nonce, redirect_uri, response_type, scope, state): a request object is not a client credential",
        ),
        (
            Some("JWT"),
            "client_assertion: carries authorization request parameters (code_challenge, code_challenge_method, nonce, redirect_uri, response_type, scope, state): a request object is not a client credential",
        ),
        (
            Some("oauth-authz-req+jwt"),
            "client_assertion: typ \"oauth-authz-req+jwt\" marks a request object, not a client assertion",
        ),
    ] {
        let request_object = sign_with_typ(&key, &claims, typ);
        let response = redeem_with_assertion(&tp, &code, &pending.verifier, &request_object).await;
        let (error, description) = oauth_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(error, "invalid_client", "{typ:?}");
        assert_eq!(description, expected, "{typ:?}");
    }
    // A request object and a client assertion share one record of used jtis: a jti seen in a
    // request object is not fresh for an assertion.
    let used_at_authorize = sign_with_typ(
        &key,
        &request_object_claims(&tp, &request_pending, "shared-jti"),
        Some("oauth-authz-req+jwt"),
    );
    let step = Browser::new(&tp)
        .get(&authorize_with_request_object(&tp, &used_at_authorize))
        .await;
    assert!(
        matches!(
            step,
            Step::Page {
                status: StatusCode::OK,
                ..
            }
        ),
        "the request object starts a login"
    );
    let assertion = key.sign(&assertion_claims(
        &tp,
        "shared-jti",
        tp.token_endpoint(),
        60,
    ));
    let (error, description) = oauth_error(
        redeem_with_assertion(&tp, &code, &pending.verifier, &assertion).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, "invalid_client");
    assert_eq!(description, "client_assertion: jti was already used");
    // The code is still good for a proper assertion.
    let assertion = key.sign(&assertion_claims(&tp, "fresh-jti", tp.token_endpoint(), 60));
    let response = redeem_with_assertion(&tp, &code, &pending.verifier, &assertion).await;
    assert_eq!(response.status(), StatusCode::OK);
}

//! The authorization code flow at the BankID with biometrics issuer (seed 002), with and without
//! an upfront permission (`login_hint_token`), over HTTP. The app is answered through the
//! provider's `app` module or a user's scripted answer, as its web page and CLI would.

use bankid_oidc_core::b64;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_core::token_hash::{at_hash, sha256_b64};
use bankid_oidc_server::app::{self, AppContent};
use bankid_oidc_server::permission_token;
use bankid_oidc_server::registration::check_client;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{AppAnswer, AppRequest, AppScript, AppScripted, Permission, User};
use bankid_oidc_testkit::browser::{Browser, Callback};
use bankid_oidc_testkit::html::forms;
use bankid_oidc_testkit::oauth::{oauth_error, redeem, redeem_with_endpoint};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{
    CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, REDIRECT_URI, TestProvider,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A client registered for every BIS scope (`clients add --scope "openid profile sub_nnin
/// sub_bankid"`).
const BIS_CLIENT: &str = "bis-shop";
const BIS_SECRET: &str = "bis-shop-secret-0123456789-abcdefghijklm";

/// The BIS issuer's discovery, read as a merchant reads it.
struct Bis {
    issuer: String,
    authorize: String,
    token: String,
    userinfo: String,
    jwks_uri: String,
}

async fn bis(tp: &TestProvider) -> Bis {
    let issuer = tp.provider.issuers.bis().issuer.clone();
    let doc: Value = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["request_parameter_supported"], false);
    let url = |name: &str| doc[name].as_str().unwrap().to_owned();
    Bis {
        authorize: url("authorization_endpoint"),
        token: url("token_endpoint"),
        userinfo: url("userinfo_endpoint"),
        jwks_uri: url("jwks_uri"),
        issuer,
    }
}

async fn start() -> (TestProvider, Bis) {
    let tp = TestProvider::start().await;
    let mut client = new_client(
        BIS_CLIENT,
        BIS_SECRET,
        vec![REDIRECT_URI.into()],
        ScopeSet::parse("openid profile sub_nnin sub_bankid").unwrap(),
        tp.now(),
    );
    client.name = "Bis Shop".into();
    // The registration rules accept the BIS scopes.
    check_client(&client).unwrap();
    tp.store.add_client(&client).await.unwrap();
    let bis = bis(&tp).await;
    (tp, bis)
}

/// A request of the BIS client for `scope`, with `extra` parameters.
fn bis_pending(scope: &str, extra: &[(&str, &str)]) -> Pending {
    let mut params = vec![("client_id", BIS_CLIENT), ("scope", scope)];
    params.extend_from_slice(extra);
    Pending::new(&params, &[])
}

async fn redeem_bis(bis: &Bis, code: &str, verifier: &str) -> reqwest::Response {
    redeem_with_endpoint(
        &bis.token,
        BIS_CLIENT,
        BIS_SECRET,
        code,
        verifier,
        REDIRECT_URI,
    )
    .await
}

/// Verifies a token against the key set at `jwks_uri` with jsonwebtoken.
async fn verify_at(jwks_uri: &str, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(jwks_uri).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

fn select_text(html: &str, selector: &str) -> Option<String> {
    scraper::Html::parse_document(html)
        .select(&scraper::Selector::parse(selector).unwrap())
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}

/// The user's one request waiting in the app.
async fn pending_in_app(tp: &TestProvider, user: &User) -> AppRequest {
    let mut list = app::pending(&tp.provider, &user.id).await.unwrap();
    assert_eq!(list.len(), 1, "one request in the app: {list:?}");
    list.remove(0)
}

async fn app_answers(tp: &TestProvider, user: &User, answer: AppAnswer) -> AppRequest {
    let request = pending_in_app(tp, user).await;
    assert!(
        app::answer(&tp.provider, &user.id, &request.id, answer)
            .await
            .unwrap()
    );
    request
}

/// Opens the authorization URL and enters the NNIN: the page that waits for the app.
async fn to_waiting_page(browser: &Browser, url: &str, user: &User) -> String {
    let (_, html) = Browser::page(browser.get(url).await);
    assert!(forms(&html)[0].fields.iter().any(|(k, _)| k == "nnin"));
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    assert!(
        browser.refresh_url(&html).is_some(),
        "the page waits: {html}"
    );
    html
}

async fn script(tp: &TestProvider, user: &User, answer: AppScript) {
    let scripted = AppScripted { answer, delay: 0 };
    assert!(
        tp.store
            .set_app_script(&user.id, Some(scripted))
            .await
            .unwrap()
    );
}

fn assert_error(callback: &Callback, error: &str, description: &str, bis: &Bis, state: &str) {
    assert_eq!(callback.error(), error, "{:?}", callback.params);
    let text = callback.get("error_description").unwrap_or_default();
    assert!(text.contains(description), "{text}");
    assert_eq!(callback.get("iss"), Some(bis.issuer.as_str()));
    assert_eq!(callback.get("state"), Some(state));
}

#[tokio::test]
async fn bis_code_flow_waits_for_the_app_and_gives_the_bis_id_token() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Ola").clone();
    let pending = bis_pending("openid profile sub_nnin", &[]);
    let html = to_waiting_page(&browser, &pending.url_at(&bis.authorize), &user).await;

    // The page shows the binding message the app shows, and no way to approve but the app.
    let words = select_text(&html, ".binding").expect("a binding message");
    assert_eq!(words.split(' ').count(), 2);
    assert!(
        !forms(&html)[0]
            .buttons
            .contains(&("decision".into(), "allow".into())),
        "at BIS only the app approves"
    );
    let request = pending_in_app(&tp, &user).await;
    assert_eq!(request.binding_message, words);
    assert_eq!(request.client_id, BIS_CLIENT);
    assert_eq!(request.client_name, "Bis Shop");
    assert_eq!(AppContent::of_request(&request), AppContent::Login);

    // A posted approval is ignored, and so is a reload before the app answers.
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    let (_, html) = Browser::page(browser.reload(&html).await);
    assert!(browser.refresh_url(&html).is_some());

    app_answers(&tp, &user, AppAnswer::Approved).await;
    let callback = Browser::callback(browser.reload(&html).await);
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(bis.issuer.as_str()));

    let response = redeem_bis(&bis, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert!(
        tokens.get("refresh_token").is_none(),
        "BIS serves no refresh grant"
    );
    let id_token = tokens["id_token"].as_str().unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let id = verify_at(&bis.jwks_uri, id_token).await;
    // Seed 004: the JWKS of the BankID OIDC configuration verifies it too.
    assert_eq!(verify_at(&tp.meta.jwks_uri, id_token).await, id);
    assert_eq!(id["iss"], bis.issuer);
    assert_eq!(id["sub"], user.id);
    assert_eq!(id["aud"], BIS_CLIENT);
    assert_eq!(id["nonce"], pending.nonce);
    assert_eq!(id["typ"], "ID");
    assert_eq!(id["acr"], "urn:bankid:bis;LOA=3");
    assert_eq!(id["amr"], json!(["bis-mfa", "bis-hwk"]));
    assert_eq!(id["at_hash"], at_hash(access_token));
    assert!(id["sid"].is_string() && id["jti"].is_string());
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    let proof_key_id = bankid_oidc_server::device::proof_key_id(&user.id);
    assert_eq!(id["proof_key_id"], proof_key_id);
    assert_eq!(
        proof_key_id,
        sha256_b64(&format!("device:{}", user.id))[..22]
    );
    assert_eq!(id["sub_nnin"], user.nnin);
    assert_eq!(id["given_name"], user.given_name);
    assert_eq!(
        id["name"],
        format!("{} {}", user.given_name, user.family_name)
    );
    for absent in [
        "sub_bankid",
        "bankid_altsub",
        "nnin_altsub",
        "api_ver",
        "azp",
    ] {
        assert!(
            id.get(absent).is_none(),
            "{absent} is not in this BIS ID token"
        );
    }

    // Userinfo: the BIS claims at BIS; the realm refuses a BIS token.
    let info: Value = reqwest::Client::new()
        .get(&bis.userinfo)
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], user.id);
    assert_eq!(info["sub_nnin"], user.nnin);
    assert_eq!(info["family_name"], user.family_name);
    assert!(info.get("sub_bankid").is_none() && info.get("email").is_none());
    let refused = reqwest::Client::new()
        .get(tp.userinfo_endpoint())
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bis_scopes_give_their_claims_only_when_asked_and_registered() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Kari").clone();
    let pending = bis_pending("openid sub_bankid", &[]);
    let html = to_waiting_page(&browser, &pending.url_at(&bis.authorize), &user).await;
    app_answers(&tp, &user, AppAnswer::Approved).await;
    let callback = Browser::callback(browser.reload(&html).await);
    let tokens: Value = redeem_bis(&bis, callback.code(), &pending.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = verify_at(&bis.jwks_uri, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["sub_bankid"], user.pid);
    for absent in ["sub_nnin", "given_name", "name", "birthdate"] {
        assert!(id.get(absent).is_none(), "{absent} needs its scope");
    }

    // The shop registered no BIS scope but openid and profile; and realm scopes are not BIS's.
    for scope in ["openid sub_nnin", "openid nnin_altsub"] {
        let pending = Pending::new(&[("scope", scope)], &[]);
        let callback = Browser::callback(browser.get(&pending.url_at(&bis.authorize)).await);
        assert_error(&callback, "invalid_scope", "scope", &bis, &pending.state);
    }
}

#[tokio::test]
async fn bis_refuses_other_methods_request_objects_and_prompt_none() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    for (extra, error, description) in [
        (("login_hint", "BID"), "invalid_request", "login_hint: "),
        (
            ("login_hint", ":15076500565"),
            "invalid_request",
            "login_hint_token",
        ),
        (
            ("acr_values", "urn:bankid:bid"),
            "invalid_request",
            "acr_values: ",
        ),
        (
            ("request", "e30.e30."),
            "request_not_supported",
            "request: ",
        ),
        (
            ("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "request_uri_not_supported",
            "request_uri: ",
        ),
        (("prompt", "none"), "login_required", "prompt"),
    ] {
        let pending = bis_pending("openid", &[extra]);
        let callback = Browser::callback(browser.get(&pending.url_at(&bis.authorize)).await);
        assert_error(&callback, error, description, &bis, &pending.state);
    }
    // PKCE is required as at the realm.
    let pending = Pending::new(
        &[("client_id", BIS_CLIENT), ("scope", "openid")],
        &["code_challenge"],
    );
    let callback = Browser::callback(browser.get(&pending.url_at(&bis.authorize)).await);
    assert_error(
        &callback,
        "invalid_request",
        "code_challenge",
        &bis,
        &pending.state,
    );
    // login_hint=BIS and acr_values=urn:bankid:bis are what BIS is.
    let pending = bis_pending(
        "openid",
        &[("login_hint", "BIS"), ("acr_values", "urn:bankid:bis")],
    );
    let (_, html) = Browser::page(browser.get(&pending.url_at(&bis.authorize)).await);
    assert!(forms(&html)[0].fields.iter().any(|(k, _)| k == "nnin"));
}

#[tokio::test]
async fn the_app_denying_ends_with_access_denied() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Ola").clone();
    let pending = bis_pending("openid", &[("response_mode", "fragment")]);
    let html = to_waiting_page(&browser, &pending.url_at(&bis.authorize), &user).await;
    app_answers(&tp, &user, AppAnswer::Denied).await;
    let callback = Browser::callback(browser.reload(&html).await);
    assert_error(&callback, "access_denied", "denied", &bis, &pending.state);
}

#[tokio::test]
async fn an_app_that_times_out_or_cannot_be_reached_ends_with_access_denied() {
    let (tp, bis) = start().await;
    for (answer, description) in [
        (AppScript::Timeout, "the app did not answer in time"),
        (AppScript::Unreachable, "the app could not be reached"),
    ] {
        let browser = Browser::new(&tp);
        let user = tp.user("Ola").clone();
        script(&tp, &user, answer).await;
        let pending = bis_pending("openid", &[]);
        let url = pending.url_at(&bis.authorize);
        let (_, html) = Browser::page(browser.get(&url).await);
        // The scripted answer took effect at once: the page that would wait goes on.
        let callback =
            Browser::callback(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
        assert_error(
            &callback,
            "access_denied",
            description,
            &bis,
            &pending.state,
        );
    }
    // Without a script, the app timeout (or the permission's exp) ends the wait.
    let browser = Browser::new(&tp);
    let user = tp.user("Kari").clone();
    let pending = bis_pending("openid", &[]);
    let html = to_waiting_page(&browser, &pending.url_at(&bis.authorize), &user).await;
    tp.advance(tp.provider.config.app_timeout);
    let callback = Browser::callback(browser.reload(&html).await);
    assert_error(
        &callback,
        "access_denied",
        "did not answer in time",
        &bis,
        &pending.state,
    );
}

#[tokio::test]
async fn a_code_is_redeemed_only_at_the_issuer_that_made_it() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Ola").clone();
    // A BIS code of the shop at the realm's token endpoint.
    let pending = Pending::new(&[("scope", "openid")], &[]);
    let html = to_waiting_page(&browser, &pending.url_at(&bis.authorize), &user).await;
    app_answers(&tp, &user, AppAnswer::Approved).await;
    let callback = Browser::callback(browser.reload(&html).await);
    let (error, description) = oauth_error(
        redeem(&tp, callback.code(), &pending.verifier).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("another issuer"), "{description}");
    // Not consumed there: it still works where it was made.
    let response = redeem_with_endpoint(
        &bis.token,
        CLIENT_ID,
        CLIENT_SECRET,
        callback.code(),
        &pending.verifier,
        REDIRECT_URI,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    // A realm code at the BIS token endpoint.
    let pending = Pending::new(&[], &[]);
    let callback = browser
        .login_bid(&tp, &pending, &tp.user("Kari").clone())
        .await;
    let response = redeem_with_endpoint(
        &bis.token,
        CLIENT_ID,
        CLIENT_SECRET,
        callback.code(),
        &pending.verifier,
        REDIRECT_URI,
    )
    .await;
    let (error, _) = oauth_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_grant");
    let response = redeem(&tp, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A payment permission the client registered (as `POST {permissions_endpoint}` would), with
/// the user's NNIN as its login hint if `user` is given, and its permission token.
async fn register_permission(
    tp: &TestProvider,
    client_id: &str,
    user: Option<&User>,
    exp_in: i64,
) -> (Permission, String) {
    let now = tp.now();
    let nonce = bankid_oidc_server::secret::random_token();
    let statement = json!({
        "nonce": nonce,
        "id": "order-1",
        "payments": [{"paymentId": "p1", "amount": "149.50", "currency": "NOK",
                      "creditorName": "Fjordkaffe AS"}],
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
        login_hint_nnin: user.map(|u| u.nnin.clone()),
        acr_values: vec!["urn:bankid:bis".into()],
        binding_message: "Modig laks".into(),
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

#[tokio::test]
async fn a_permission_pre_selects_the_user_and_the_app_shows_its_payments() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Ola").clone();
    let (permission, token) = register_permission(&tp, BIS_CLIENT, Some(&user), 300).await;
    let pending = bis_pending("openid", &[("login_hint_token", &token)]);
    // No NNIN asked: the first page waits for the app, with the permission's binding message.
    let (_, html) = Browser::page(browser.get(&pending.url_at(&bis.authorize)).await);
    assert!(!forms(&html)[0].fields.iter().any(|(k, _)| k == "nnin"));
    assert_eq!(
        select_text(&html, ".binding").as_deref(),
        Some("Modig laks")
    );
    let request = pending_in_app(&tp, &user).await;
    assert_eq!(request.binding_message, "Modig laks");
    assert_eq!(
        request.permission_id.as_deref(),
        Some(permission.id.as_str())
    );
    let AppContent::Payments { lines } = AppContent::of_request(&request) else {
        panic!("the app shows the payments: {}", request.content);
    };
    assert_eq!(lines[0].amount, "149.50");
    assert_eq!(lines[0].creditor, "Fjordkaffe AS");
    let stored = tp.store.permission(&permission.id).await.unwrap().unwrap();
    assert_eq!(stored.app_request_id.as_deref(), Some(request.id.as_str()));
    assert!(stored.token_used_at.is_some());

    app_answers(&tp, &user, AppAnswer::Approved).await;
    let callback = Browser::callback(browser.reload(&html).await);
    let tokens: Value = redeem_bis(&bis, callback.code(), &pending.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = verify_at(&bis.jwks_uri, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["sub"], user.id);

    // Used once: the same token again is refused.
    let again = bis_pending("openid", &[("login_hint_token", &token)]);
    let callback = Browser::callback(browser.get(&again.url_at(&bis.authorize)).await);
    assert_error(
        &callback,
        "invalid_request",
        "login_hint_token: the permission was used before",
        &bis,
        &again.state,
    );
}

#[tokio::test]
async fn a_permission_without_login_hint_asks_the_nnin_and_then_the_app_with_it() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Kari").clone();
    let (permission, token) = register_permission(&tp, BIS_CLIENT, None, 300).await;
    let pending = bis_pending("openid", &[("login_hint_token", &token)]);
    let html = to_waiting_page(&browser, &pending.url_at(&bis.authorize), &user).await;
    assert_eq!(
        select_text(&html, ".binding").as_deref(),
        Some("Modig laks")
    );
    let request = pending_in_app(&tp, &user).await;
    assert_eq!(
        request.permission_id.as_deref(),
        Some(permission.id.as_str())
    );
    // The permission's exp bounds the wait.
    assert_eq!(
        request.expires_at,
        permission
            .expires_at
            .min(tp.now() + tp.provider.config.app_timeout)
    );
}

#[tokio::test]
async fn login_hint_token_is_refused_when_used_elsewhere_expired_or_at_the_realm() {
    let (tp, bis) = start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Ola").clone();

    // A bad request does not burn the token.
    let (_, token) = register_permission(&tp, BIS_CLIENT, Some(&user), 300).await;
    let bad = Pending::new(
        &[
            ("client_id", BIS_CLIENT),
            ("scope", "openid"),
            ("login_hint_token", &token),
        ],
        &["nonce"],
    );
    let callback = Browser::callback(browser.get(&bad.url_at(&bis.authorize)).await);
    assert_error(&callback, "invalid_request", "nonce", &bis, &bad.state);
    let good = bis_pending("openid", &[("login_hint_token", &token)]);
    let (_, html) = Browser::page(browser.get(&good.url_at(&bis.authorize)).await);
    assert!(browser.refresh_url(&html).is_some());

    // Another client's token.
    let (_, other) = register_permission(&tp, OTHER_CLIENT_ID, Some(&user), 300).await;
    let pending = bis_pending("openid", &[("login_hint_token", &other)]);
    let callback = Browser::callback(browser.get(&pending.url_at(&bis.authorize)).await);
    assert_error(
        &callback,
        "invalid_request",
        "login_hint_token: ",
        &bis,
        &pending.state,
    );
    assert!(
        callback
            .get("error_description")
            .unwrap()
            .contains("another client")
    );

    // Past the permission's exp.
    let (_, token) = register_permission(&tp, BIS_CLIENT, Some(&user), 60).await;
    tp.advance(61);
    let pending = bis_pending("openid", &[("login_hint_token", &token)]);
    let callback = Browser::callback(browser.get(&pending.url_at(&bis.authorize)).await);
    assert_error(
        &callback,
        "invalid_request",
        "login_hint_token: the permission has expired",
        &bis,
        &pending.state,
    );

    // Not a permission token.
    let pending = bis_pending("openid", &[("login_hint_token", "e30.e30.e30")]);
    let callback = Browser::callback(browser.get(&pending.url_at(&bis.authorize)).await);
    assert_error(
        &callback,
        "invalid_request",
        "login_hint_token: ",
        &bis,
        &pending.state,
    );

    // The realm takes none.
    let (_, token) = register_permission(&tp, CLIENT_ID, Some(&user), 300).await;
    let pending = Pending::new(&[("login_hint_token", &token)], &[]);
    let callback = Browser::callback(browser.get(&pending.url(&tp)).await);
    assert_eq!(callback.error(), "invalid_request");
    assert!(
        callback
            .get("error_description")
            .unwrap()
            .starts_with("login_hint_token: ")
    );
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
}

#[tokio::test]
async fn the_realm_bis_login_is_approved_in_page_or_in_the_app() {
    let tp = TestProvider::start().await;
    let user = tp.user("Ola").clone();

    // In the page: the app's request is answered too, and leaves the app's list.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let html = to_waiting_page(&browser, &pending.url(&tp), &user).await;
    let request = pending_in_app(&tp, &user).await;
    assert_eq!(
        select_text(&html, ".binding"),
        Some(request.binding_message.clone())
    );
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    assert!(
        app::pending(&tp.provider, &user.id)
            .await
            .unwrap()
            .is_empty()
    );
    let stored = tp.store.app_request(&request.id).await.unwrap().unwrap();
    assert_eq!(stored.answer, Some(AppAnswer::Approved));
    let response = redeem(&tp, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);

    // In the app: the page's next reload goes on, with the realm's issuer.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let html = to_waiting_page(&browser, &pending.url(&tp), &user).await;
    app_answers(&tp, &user, AppAnswer::Approved).await;
    let callback = Browser::callback(browser.reload(&html).await);
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    let tokens: Value = redeem(&tp, callback.code(), &pending.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = verify_at(&tp.meta.jwks_uri, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["iss"], tp.issuer);
    assert_eq!(id["acr"], "urn:bankid:bis;LOA=3");
    assert_eq!(id["bankid_altsub"], user.pid);

    // Denied in the page: the app's request is answered too.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let html = to_waiting_page(&browser, &pending.url(&tp), &user).await;
    let request = pending_in_app(&tp, &user).await;
    let callback = Browser::callback(browser.submit(&html, &[], Some(("decision", "deny"))).await);
    assert_eq!(callback.error(), "access_denied");
    let stored = tp.store.app_request(&request.id).await.unwrap().unwrap();
    assert_eq!(stored.answer, Some(AppAnswer::Denied));

    // Denied in the app: the in-page approval no longer counts.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let html = to_waiting_page(&browser, &pending.url(&tp), &user).await;
    app_answers(&tp, &user, AppAnswer::Denied).await;
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    assert_eq!(callback.error(), "access_denied");
}

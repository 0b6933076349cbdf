//! API version 4 request security over real HTTP: pushed authorization requests, signed and
//! encrypted request objects, the NNIN login_hint rule, the NNIN consent flow of seed 001, rich
//! authorization requests for payments, and the userinfo claims.

use bankid_oidc_core::jwe::{self, ContentEncryption, EncryptOptions, KeyManagement};
use bankid_oidc_core::jwk::{Jwk, Jwks};
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_testkit::browser::{Browser, Callback, Step};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::jwt::{ClientKey, verify_with_jwks};
use bankid_oidc_testkit::oauth::{login_and_redeem, oauth_error, redeem_as};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, REDIRECT_URI, TestProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};

const RP: &str = "secure-shop";
const RP_SECRET: &str = "secure-shop-secret-0123456789-abcdefghij";

/// A client with a registered signing key, allowed every person scope.
async fn register(tp: &TestProvider, key: &ClientKey, require_par: bool) {
    let scopes = ScopeSet::parse("openid profile nnin_altsub nnin email phone address").unwrap();
    let mut client = new_client(RP, RP_SECRET, vec![REDIRECT_URI.into()], scopes, 0);
    client.jwks = Some(
        serde_json::to_string(&Jwks {
            keys: vec![key.jwk.clone()],
        })
        .unwrap(),
    );
    client.require_pushed_authorization_requests = require_par;
    tp.store.add_client(&client).await.unwrap();
}

fn par_endpoint(tp: &TestProvider) -> String {
    tp.meta
        .pushed_authorization_request_endpoint
        .clone()
        .expect("discovery publishes PAR")
}

/// The standard parameters of a request by RP, with `extra` replacing or adding.
fn rp_pending(extra: &[(&str, &str)]) -> Pending {
    let mut all = vec![("client_id", RP)];
    all.extend_from_slice(extra);
    Pending::new(&all, &[])
}

async fn push(tp: &TestProvider, params: &[(String, String)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(par_endpoint(tp))
        .basic_auth(RP, Some(RP_SECRET))
        .form(params)
        .send()
        .await
        .unwrap()
}

/// Pushes and returns the authorization URL that carries only client_id and request_uri.
async fn pushed_url(tp: &TestProvider, pending: &Pending) -> String {
    let response = push(tp, &pending.params).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!((60..=90).contains(&expires_in), "{expires_in}");
    format!(
        "{}?{}",
        tp.authorization_endpoint(),
        serde_urlencoded::to_string([("client_id", RP), ("request_uri", request_uri)]).unwrap()
    )
}

async fn redeem_rp(tp: &TestProvider, code: &str, verifier: &str) -> Value {
    let response = redeem_as(tp, RP, RP_SECRET, code, verifier, REDIRECT_URI).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn login_at(tp: &TestProvider, url: &str) -> Callback {
    let user = tp.user("Kari").clone();
    Browser::new(tp)
        .login_bid_at(url, &user.nnin, &user.otp, &user.password)
        .await
}

/// The error page's OAuth code, asserting that nothing was redirected.
async fn page_error(url: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    (
        text_of(&html, "error").unwrap(),
        text_of(&html, "error_description").unwrap(),
    )
}

fn claims_for(tp: &TestProvider, pending: &Pending, jti: &str, lifetime: i64) -> Value {
    let now = bankid_oidc_server::clock::Clock::now(tp.clock.as_ref());
    let mut claims = json!({ "iss": RP, "aud": tp.issuer, "iat": now, "nbf": now, "exp": now + lifetime, "jti": jti });
    for (k, v) in &pending.params {
        claims[k] = json!(v);
    }
    claims
}

fn request_url(tp: &TestProvider, request: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", RP),
        ("response_type", "code"),
        ("request", request),
    ];
    params.extend_from_slice(extra);
    format!(
        "{}?{}",
        tp.authorization_endpoint(),
        serde_urlencoded::to_string(&params).unwrap()
    )
}

async fn enc_key(tp: &TestProvider, kty: &str) -> Jwk {
    let uri = tp
        .meta
        .jwks_uri_enc
        .clone()
        .expect("discovery publishes jwks_uri_enc");
    let jwks: Jwks = reqwest::get(uri).await.unwrap().json().await.unwrap();
    jwks.keys
        .into_iter()
        .find(|k| k.kty == kty && k.use_.as_deref() == Some("enc"))
        .unwrap()
}

// ---- PAR ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pushed_request_logs_in_and_its_request_uri_is_single_use() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let pending = rp_pending(&[]);
    let url = pushed_url(&tp, &pending).await;
    let callback = login_at(&tp, &url).await;
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    let tokens = redeem_rp(&tp, callback.code(), &pending.verifier).await;
    assert_eq!(
        verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await["nonce"],
        pending.nonce
    );
    let (error, description) = page_error(&url).await;
    assert_eq!(error, "invalid_request_uri");
    assert!(description.contains("already used"), "{description}");
}

#[tokio::test]
async fn authorize_with_a_request_uri_ignores_the_other_parameters() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let pending = rp_pending(&[]);
    let url = pushed_url(&tp, &pending).await;
    let tampered =
        format!("{url}&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=openid+nnin&state=other");
    let callback = login_at(&tp, &tampered).await;
    assert_eq!(
        callback.get("state"),
        Some(pending.state.as_str()),
        "the pushed state, not the query's"
    );
}

#[tokio::test]
async fn a_request_uri_is_bound_to_its_client_and_expires() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let url = pushed_url(&tp, &rp_pending(&[])).await;
    let stolen = url.replace(
        &format!("client_id={RP}"),
        &format!("client_id={CLIENT_ID}"),
    );
    assert_eq!(page_error(&stolen).await.0, "invalid_request_uri");
    // The other client's attempt did not consume it.
    assert!(login_at(&tp, &url).await.get("code").is_some());
    let expiring = pushed_url(&tp, &rp_pending(&[])).await;
    tp.advance(91);
    let (error, description) = page_error(&expiring).await;
    assert_eq!(error, "invalid_request_uri");
    assert!(description.contains("expired"));
    let refused = |request_uri: String| {
        let url = format!(
            "{}?client_id={RP}&request_uri={request_uri}",
            tp.authorization_endpoint()
        );
        async move { page_error(&url).await }
    };
    let prefix = "urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A";
    for (request_uri, expected) in [
        (
            "urn%3Aother".to_owned(),
            "not a request_uri from this provider",
        ),
        (
            format!("{prefix}{}", "a".repeat(200)),
            "not a request_uri from this provider",
        ),
        (format!("{prefix}0190b2c3d4enever-pushed"), "unknown"),
    ] {
        let (error, description) = refused(request_uri.clone()).await;
        assert_eq!(error, "invalid_request_uri", "{request_uri}");
        assert!(
            description.contains(expected),
            "{request_uri}: {description}"
        );
    }
}

#[tokio::test]
async fn par_requires_client_authentication_and_validates_like_authorize() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let response = reqwest::Client::new()
        .post(par_endpoint(&tp))
        .form(&rp_pending(&[]).params)
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_error(response, StatusCode::UNAUTHORIZED).await.0,
        "invalid_client"
    );
    let cases: Vec<(Pending, &str)> = vec![
        (
            Pending::new(&[("client_id", RP)], &["state"]),
            "invalid_request",
        ),
        (
            rp_pending(&[("code_challenge_method", "plain")]),
            "invalid_request",
        ),
        (
            rp_pending(&[("redirect_uri", "https://evil.example/")]),
            "invalid_request",
        ),
        (rp_pending(&[("scope", "openid esign")]), "invalid_scope"),
        (rp_pending(&[("request_uri", "urn:x")]), "invalid_request"),
        (rp_pending(&[("client_id", CLIENT_ID)]), "invalid_request"),
    ];
    for (pending, expected) in cases {
        let (error, description) =
            oauth_error(push(&tp, &pending.params).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error, expected, "{description}");
    }
}

#[tokio::test]
async fn a_client_that_requires_par_cannot_use_plain_authorize() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), true).await;
    let pending = rp_pending(&[]);
    let callback = Browser::callback(Browser::new(&tp).get(&pending.url(&tp)).await);
    assert_eq!(callback.error(), "invalid_request");
    assert!(callback.get("error_description").unwrap().contains("PAR"));
    assert!(
        login_at(&tp, &pushed_url(&tp, &pending).await)
            .await
            .get("code")
            .is_some()
    );
}

#[tokio::test]
async fn an_nnin_login_hint_through_par_skips_the_nnin_step() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let user = tp.user("Ola").clone();
    let hint = format!("BID:{}", user.nnin);
    let url = pushed_url(&tp, &rp_pending(&[("login_hint", &hint)])).await;
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&url).await);
    let fields: Vec<String> = forms(&html)[0]
        .fields
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    assert!(
        fields.contains(&"otp".to_string()) && !fields.contains(&"nnin".to_string()),
        "{fields:?}"
    );
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    let callback = Browser::callback(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    );
    let pending_verifier = callback.code().to_owned();
    assert!(!pending_verifier.is_empty());
    // The same hint with a wrong check digit is refused.
    let bad = format!(
        "BID:{}{}",
        &user.nnin[..10],
        (user.nnin.as_bytes()[10] - b'0' + 1) % 10
    );
    let (error, _) = oauth_error(
        push(&tp, &rp_pending(&[("login_hint", &bad)]).params).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, "invalid_request");
}

// ---- request objects ----------------------------------------------------------------------

#[tokio::test]
async fn a_signed_request_object_logs_in() {
    let tp = TestProvider::start().await;
    let key = ClientKey::new("k");
    register(&tp, &key, false).await;
    let pending = rp_pending(&[]);
    let request = key.sign(&claims_for(&tp, &pending, "ro-1", 300));
    let callback = login_at(&tp, &request_url(&tp, &request, &[])).await;
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    redeem_rp(&tp, callback.code(), &pending.verifier).await;
}

#[tokio::test]
async fn broken_request_objects_are_refused() {
    let tp = TestProvider::start().await;
    let key = ClientKey::new("k");
    register(&tp, &key, false).await;
    let pending = rp_pending(&[]);
    let good = key.sign(&claims_for(&tp, &pending, "ro-replay", 300));
    assert!(
        login_at(&tp, &request_url(&tp, &good, &[]))
            .await
            .get("code")
            .is_some()
    );
    let none = format!(
        "{}.{}.",
        bankid_oidc_core::b64::encode(br#"{"alg":"none"}"#),
        good.split('.').nth(1).unwrap()
    );
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = bankid_oidc_core::b64::encode(
        serde_json::to_vec(&claims_for(&tp, &pending, "ro-forged", 300)).unwrap(),
    );
    let cases = [
        ("replayed jti", good.clone(), "invalid_request_object"),
        ("alg none", none, "invalid_request_object"),
        (
            "bad signature",
            format!("{}.{}.{}", parts[0], forged_payload, parts[2]),
            "invalid_request_object",
        ),
        (
            "unknown key",
            ClientKey::new("k").sign(&claims_for(&tp, &pending, "ro-key", 300)),
            "invalid_request_object",
        ),
        (
            "expired (beyond the 30 s skew)",
            key.sign(&claims_for(&tp, &pending, "ro-exp", -60)),
            "invalid_request_object",
        ),
        (
            "too long lived",
            key.sign(&claims_for(&tp, &pending, "ro-long", 7200)),
            "invalid_request_object",
        ),
    ];
    for (what, request, expected) in cases {
        let (error, description) = page_error(&request_url(&tp, &request, &[])).await;
        assert_eq!(error, expected, "{what}: {description}");
    }
    // API version 4: response_type must also be a query parameter.
    let request = key.sign(&claims_for(&tp, &pending, "ro-rt", 300));
    let url = format!(
        "{}?{}",
        tp.authorization_endpoint(),
        serde_urlencoded::to_string([("client_id", RP), ("request", request.as_str())]).unwrap()
    );
    let (error, description) = page_error(&url).await;
    assert_eq!(error, "invalid_request");
    assert!(description.starts_with("response_type"));
}

#[tokio::test]
async fn an_nnin_login_hint_in_a_signed_but_unencrypted_request_object_is_refused() {
    let tp = TestProvider::start().await;
    let key = ClientKey::new("k");
    register(&tp, &key, false).await;
    let hint = format!("BID:{}", tp.user("Kari").nnin);
    let pending = rp_pending(&[("login_hint", &hint)]);
    let request = key.sign(&claims_for(&tp, &pending, "ro-nnin", 300));
    let callback = Browser::callback(
        Browser::new(&tp)
            .get(&request_url(&tp, &request, &[]))
            .await,
    );
    assert_eq!(callback.error(), "invalid_request");
    assert!(
        callback
            .get("error_description")
            .unwrap()
            .starts_with("login_hint")
    );
}

#[tokio::test]
async fn an_encrypted_request_object_may_carry_an_nnin_login_hint() {
    let tp = TestProvider::start().await;
    let key = ClientKey::new("k");
    register(&tp, &key, false).await;
    let user = tp.user("Kari").clone();
    let hint = format!("BID:{}", user.nnin);
    for (kty, alg, enc) in [
        ("RSA", KeyManagement::RsaOaep256, ContentEncryption::A256Gcm),
        ("EC", KeyManagement::EcdhEs, ContentEncryption::A128CbcHs256),
    ] {
        let pending = rp_pending(&[("login_hint", &hint)]);
        let signed = key.sign(&claims_for(&tp, &pending, &format!("ro-enc-{kty}"), 300));
        let recipient = enc_key(&tp, kty).await;
        let encrypted = jwe::encrypt(
            signed.as_bytes(),
            &recipient,
            &EncryptOptions::new(alg, enc).cty("JWT"),
        )
        .unwrap();
        let browser = Browser::new(&tp);
        let (_, html) = Browser::page(browser.get(&request_url(&tp, &encrypted, &[])).await);
        assert!(
            forms(&html)[0].fields.iter().any(|(n, _)| n == "otp"),
            "{kty}: the NNIN step is skipped"
        );
        let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
        let callback = Browser::callback(
            browser
                .submit(&html, &[("password", &user.password)], None)
                .await,
        );
        redeem_rp(&tp, callback.code(), &pending.verifier).await;
    }
}

#[tokio::test]
async fn the_legacy_encrypted_login_hint_may_carry_only_login_hint_and_rsa1_5_is_refused() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let user = tp.user("Kari").clone();
    let recipient = enc_key(&tp, "RSA").await;
    let options = EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A128Gcm);
    let legacy = jwe::encrypt(
        json!({ "login_hint": format!("BID:{}", user.nnin) })
            .to_string()
            .as_bytes(),
        &recipient,
        &options,
    )
    .unwrap();
    let pending = rp_pending(&[]);
    let extra: Vec<(&str, &str)> = pending
        .params
        .iter()
        .filter(|(k, _)| k != "client_id" && k != "response_type")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (_, html) = Browser::page(
        Browser::new(&tp)
            .get(&request_url(&tp, &legacy, &extra))
            .await,
    );
    assert!(forms(&html)[0].fields.iter().any(|(n, _)| n == "otp"));
    let smuggled = jwe::encrypt(
        json!({ "login_hint": "BID", "redirect_uri": "https://evil.example/" })
            .to_string()
            .as_bytes(),
        &recipient,
        &options,
    )
    .unwrap();
    assert_eq!(
        page_error(&request_url(&tp, &smuggled, &extra)).await.0,
        "invalid_request_object"
    );
    // RSA1_5: a hand-made header, since no well-behaved library should produce it.
    let header = bankid_oidc_core::b64::encode(br#"{"alg":"RSA1_5","enc":"A128GCM"}"#);
    let rsa1_5 = format!("{header}.AAAA.AAAA.AAAA.AAAA");
    assert_eq!(
        page_error(&request_url(&tp, &rsa1_5, &extra)).await.0,
        "invalid_request_object"
    );
}

#[tokio::test]
async fn discovery_lists_what_request_objects_may_use() {
    let tp = TestProvider::start().await;
    let m = &tp.meta;
    assert_eq!(m.request_parameter_supported, Some(true));
    assert_eq!(m.require_pushed_authorization_requests, Some(false));
    assert!(
        m.request_object_encryption_alg_values_supported
            .contains(&"RSA-OAEP-256".to_string())
    );
    assert!(
        !m.request_object_encryption_alg_values_supported
            .contains(&"RSA1_5".to_string())
    );
    assert!(
        m.request_object_encryption_enc_values_supported
            .contains(&"A128CBC-HS256".to_string())
    );
    assert_eq!(
        m.request_object_signing_alg_values_supported,
        ["ES256", "PS256", "RS256"]
    );
    assert_eq!(m.authorization_details_types_supported, ["payment.v1"]);
    let jwks: Value = reqwest::get(&m.jwks_uri)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let enc = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["use"] == "enc")
        .count();
    assert_eq!(enc, 2, "the encryption keys are in the JWKS too");
}

// ---- claims and the NNIN consent flow (seed 001) --------------------------------------------

async fn userinfo(tp: &TestProvider, access_token: &str) -> Value {
    reqwest::Client::new()
        .get(tp.userinfo_endpoint())
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn userinfo_serves_email_phone_and_address_by_scope() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let pending = rp_pending(&[("scope", "openid email phone address")]);
    let callback = login_at(&tp, &pending.url(&tp)).await;
    let tokens = redeem_rp(&tp, callback.code(), &pending.verifier).await;
    let info = userinfo(&tp, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "kari.nordmann@example.no");
    assert_eq!(info["phone_number"], "48000001");
    assert_eq!(info["address"]["street_address"], "Storgata 1");
    assert_eq!(info["address"]["postal_code"], "0155");
    assert_eq!(info["address"]["country"], "NO");
    assert!(info.get("nnin").is_none());
}

#[tokio::test]
async fn the_nnin_consent_flow_of_seed_001() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let user = tp.user("Kari").clone();
    let merchant_has_nnin = |_altsub: &str| false; // the merchant's own records

    // Step 1: an authorization request with nnin_altsub (no nnin scope yet).
    let browser = Browser::new(&tp);
    let first = rp_pending(&[("scope", "openid profile nnin_altsub")]);
    let callback = browser
        .login_bid_at(&first.url(&tp), &user.nnin, &user.otp, &user.password)
        .await;
    // Step 2: exchange the code; the NNIN is in the ID token as nnin_altsub.
    let tokens = redeem_rp(&tp, callback.code(), &first.verifier).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let claims = verify_with_jwks(&tp, &id_token).await;
    assert_eq!(claims["nnin_altsub"], user.nnin);
    // Step 3: the merchant has not stored the NNIN with consent, so it continues.
    assert!(!merchant_has_nnin(
        claims["bankid_altsub"].as_str().unwrap()
    ));
    // Step 4: a new request with scope nnin and the ID token as id_token_hint, in the browser
    // whose session the token names: no identification, only the consent page naming the
    // merchant and the NNIN.
    let second = rp_pending(&[("scope", "openid nnin"), ("id_token_hint", &id_token)]);
    let (_, html) = Browser::page(browser.get(&second.url(&tp)).await);
    assert!(
        text_of(&html, "consent-nnin").is_some(),
        "the consent page asks for the NNIN"
    );
    assert!(html.contains(RP), "the consent page names the merchant");
    assert!(
        !forms(&html)[0]
            .fields
            .iter()
            .any(|(n, _)| n == "nnin" || n == "otp"),
        "no identification"
    );
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    // Step 5: exchange the code.
    let tokens = redeem_rp(&tp, callback.code(), &second.verifier).await;
    let second_claims = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(second_claims["sub"], claims["sub"]);
    // Step 6: userinfo has the NNIN, because the user consented.
    assert_eq!(
        userinfo(&tp, tokens["access_token"].as_str().unwrap()).await["nnin"],
        user.nnin
    );
}

#[tokio::test]
async fn denying_consent_ends_with_access_denied_and_no_nnin() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let first = rp_pending(&[("scope", "openid")]);
    let browser = Browser::new(&tp);
    let kari = tp.user("Kari").clone();
    let callback = browser
        .login_bid_at(&first.url(&tp), &kari.nnin, &kari.otp, &kari.password)
        .await;
    let tokens = redeem_rp(&tp, callback.code(), &first.verifier).await;
    let second = rp_pending(&[
        ("scope", "openid nnin"),
        ("id_token_hint", tokens["id_token"].as_str().unwrap()),
    ]);
    let (_, html) = Browser::page(browser.get(&second.url(&tp)).await);
    let callback = Browser::callback(browser.submit(&html, &[], Some(("decision", "deny"))).await);
    assert_eq!(callback.error(), "access_denied");
    // A token without the nnin scope never yields nnin, whatever the user consented elsewhere.
    assert!(
        userinfo(&tp, tokens["access_token"].as_str().unwrap())
            .await
            .get("nnin")
            .is_none()
    );
}

#[tokio::test]
async fn an_id_token_hint_must_be_ours_for_this_client_and_its_user_must_exist() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    // A hint issued to the test shop, presented by RP.
    let (_, shop_tokens) = login_and_redeem(&tp, &Browser::new(&tp), &[]).await;
    let other = shop_tokens["id_token"].as_str().unwrap().to_owned();
    let mut forged = other.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let first = rp_pending(&[("scope", "openid")]);
    let tokens = redeem_rp(
        &tp,
        login_at(&tp, &first.url(&tp)).await.code(),
        &first.verifier,
    )
    .await;
    let own = tokens["id_token"].as_str().unwrap().to_owned();
    let user = tp.user("Kari").clone();
    for (what, hint) in [
        ("another client's", other.as_str()),
        ("forged", forged.as_str()),
        ("malformed", "not-a-jwt"),
        ("an access token", tokens["access_token"].as_str().unwrap()),
    ] {
        let pending = rp_pending(&[("scope", "openid nnin"), ("id_token_hint", hint)]);
        let callback = Browser::callback(Browser::new(&tp).get(&pending.url(&tp)).await);
        assert_eq!(callback.error(), "invalid_request", "{what}");
        assert!(
            callback
                .get("error_description")
                .unwrap()
                .starts_with("id_token_hint"),
            "{what}"
        );
    }
    tp.store.remove_user(&user.id, 0).await.unwrap();
    let pending = rp_pending(&[("scope", "openid nnin"), ("id_token_hint", &own)]);
    let callback = Browser::callback(Browser::new(&tp).get(&pending.url(&tp)).await);
    assert!(
        callback
            .get("error_description")
            .unwrap()
            .contains("no longer exists")
    );
}

// ---- rich authorization requests (payment.v1) -----------------------------------------------

fn statement() -> String {
    let value = json!({"nonce": "dW5pcXVl", "id": "basket-1", "payments": [
        {"paymentId": "p-1", "amount": "123.45", "currency": "NOK", "creditorName": "Scrooge McDuck"}]});
    bankid_oidc_core::b64::encode(serde_json::to_vec(&value).unwrap())
}

#[tokio::test]
async fn a_payment_in_a_pushed_request_is_approved_and_its_digest_is_in_the_tokens() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let permission = statement();
    let details = json!([{ "type": "payment.v1", "permission": permission }]).to_string();
    let pending = rp_pending(&[("authorization_details", &details)]);
    let url = pushed_url(&tp, &pending).await;
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&url).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    );
    assert!(
        html.contains("123.45 NOK") && html.contains("Scrooge McDuck"),
        "the approval step shows the payment"
    );
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    let tokens = redeem_rp(&tp, callback.code(), &pending.verifier).await;
    let expected = bankid_oidc_core::permission::digest_of(
        &bankid_oidc_core::b64::decode(&permission).unwrap(),
    );
    let id = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["permission_digest"], expected);
    let at = verify_with_jwks(&tp, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(at["authorization_details"][0]["type"], "payment.v1");
    assert_eq!(at["authorization_details"][0]["digest"], expected);
    assert_eq!(at["authorization_details"][0]["permission"], permission);
}

#[tokio::test]
async fn payments_outside_par_or_with_a_bad_statement_are_refused() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let details = json!([{ "type": "payment.v1", "permission": statement() }]).to_string();
    let callback = Browser::callback(
        Browser::new(&tp)
            .get(&rp_pending(&[("authorization_details", &details)]).url(&tp))
            .await,
    );
    assert_eq!(callback.error(), "invalid_request");
    assert!(
        callback
            .get("error_description")
            .unwrap()
            .contains("pushed authorization request")
    );
    let bad_amount = bankid_oidc_core::b64::encode(
        serde_json::to_vec(&json!({"nonce": "n", "id": "i", "payments": [
        {"paymentId": "p", "amount": "12,50", "currency": "NOK", "creditorName": "X"}]}))
        .unwrap(),
    );
    for details in [
        json!([{ "type": "payment.v1", "permission": bad_amount }]).to_string(),
        json!([{ "type": "card.v1", "permission": statement() }]).to_string(),
        "not json".to_string(),
    ] {
        let (error, description) = oauth_error(
            push(
                &tp,
                &rp_pending(&[("authorization_details", &details)]).params,
            )
            .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error, "invalid_request", "{description}");
        assert!(
            description.starts_with("authorization_details"),
            "{description}"
        );
    }
}

#[tokio::test]
async fn an_id_token_hint_skips_identification_only_for_the_nnin_consent() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let first = rp_pending(&[("scope", "openid")]);
    let tokens = redeem_rp(
        &tp,
        login_at(&tp, &first.url(&tp)).await.code(),
        &first.verifier,
    )
    .await;
    let hint = tokens["id_token"].as_str().unwrap().to_owned();
    // A plain login with a hint, in a browser without a session: the user must identify (the
    // hint pre-selects them: the one-time code is asked).
    let plain = rp_pending(&[("scope", "openid profile"), ("id_token_hint", &hint)]);
    let (_, html) = Browser::page(Browser::new(&tp).get(&plain.url(&tp)).await);
    assert!(asks_to_identify(&html), "identification is not skipped");
    // A payment with a hint, even with the nnin scope: the user must identify too.
    let details = json!([{ "type": "payment.v1", "permission": statement() }]).to_string();
    let pay = rp_pending(&[
        ("scope", "openid nnin"),
        ("id_token_hint", &hint),
        ("authorization_details", &details),
    ]);
    let (_, html) = Browser::page(Browser::new(&tp).get(&pushed_url(&tp, &pay).await).await);
    assert!(asks_to_identify(&html), "a payment needs the user");
    // A browser logged in as another user is not taken for the hinted one.
    let ola = tp.user("Ola").clone();
    let browser = Browser::new(&tp);
    let other = rp_pending(&[("scope", "openid")]);
    browser
        .login_bid_at(&other.url(&tp), &ola.nnin, &ola.otp, &ola.password)
        .await;
    let (_, html) = Browser::page(browser.get(&plain.url(&tp)).await);
    assert!(
        asks_to_identify(&html),
        "Ola's session does not serve Kari's hint"
    );
}

/// The page is a step of identification (the NNIN or, for a pre-selected user, the choice of
/// method or the one-time code), not the consent.
fn asks_to_identify(html: &str) -> bool {
    forms(html)[0]
        .fields
        .iter()
        .any(|(n, v)| n == "step" && ["nnin", "otp", "mobile"].contains(&v.as_str()))
}

/// Logs Kari in with BankID in `browser` for RP; returns her ID token and the code's record.
async fn kari_logged_in(tp: &TestProvider, browser: &Browser) -> String {
    let kari = tp.user("Kari").clone();
    let first = rp_pending(&[("scope", "openid")]);
    let callback = browser
        .login_bid_at(&first.url(tp), &kari.nnin, &kari.otp, &kari.password)
        .await;
    let tokens = redeem_rp(tp, callback.code(), &first.verifier).await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_id_token_alone_is_not_a_login_in_a_browser_without_its_session() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let victim_token = kari_logged_in(&tp, &Browser::new(&tp)).await;
    // The attacker's browser has no session: the hint names the user, who must identify.
    let attack = rp_pending(&[("scope", "openid nnin"), ("id_token_hint", &victim_token)]);
    let attacker = Browser::new(&tp);
    let (_, html) = Browser::page(attacker.get(&attack.url(&tp)).await);
    assert!(
        asks_to_identify(&html),
        "no consent page without identification"
    );
    assert!(text_of(&html, "consent-nnin").is_none());
    // Consenting at once (the consent page's answer posted to the identification step) gets
    // nothing.
    let step = attacker
        .submit(&html, &[], Some(("decision", "allow")))
        .await;
    assert!(
        matches!(step, Step::Page { .. }),
        "no code without identification"
    );
    // prompt=none cannot log in either.
    let silent = rp_pending(&[
        ("scope", "openid nnin"),
        ("id_token_hint", &victim_token),
        ("prompt", "none"),
    ]);
    let callback = Browser::callback(Browser::new(&tp).get(&silent.url(&tp)).await);
    assert_eq!(callback.error(), "login_required");
}

#[tokio::test]
async fn an_id_token_hint_of_a_logged_out_session_does_not_skip_identification() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let browser = Browser::new(&tp);
    let token = kari_logged_in(&tp, &browser).await;
    // The session the token names ends (a logout elsewhere, say) while this browser still
    // presents its cookie.
    let claims = verify_with_jwks(&tp, &token).await;
    tp.store
        .end_session(claims["sid"].as_str().unwrap(), tp.now())
        .await
        .unwrap();
    let again = rp_pending(&[("scope", "openid nnin"), ("id_token_hint", &token)]);
    let (_, html) = Browser::page(browser.get(&again.url(&tp)).await);
    assert!(asks_to_identify(&html), "the hint names an ended session");
    let stale = Browser::new(&tp);
    let (_, html) = Browser::page(stale.get(&again.url(&tp)).await);
    assert!(
        asks_to_identify(&html),
        "and a browser without a session has none"
    );
}

#[tokio::test]
async fn an_id_token_hint_in_its_live_session_keeps_the_session_auth_time_after_expiry() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let browser = Browser::new(&tp);
    let logged_in_at = tp.now();
    let token = kari_logged_in(&tp, &browser).await;
    // An hour later the ID token has long expired, but the session (8 h) is live.
    tp.advance(3600);
    let consent = rp_pending(&[("scope", "openid nnin"), ("id_token_hint", &token)]);
    let (_, html) = Browser::page(browser.get(&consent.url(&tp)).await);
    assert!(
        text_of(&html, "consent-nnin").is_some(),
        "only consent in the live session"
    );
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    let code = tp
        .store
        .code(&bankid_oidc_server::store::StoreKey::of(callback.code()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        code.auth_time, logged_in_at,
        "the grant carries when the user authenticated, not when they consented"
    );
}

// ---- the lockout across login methods --------------------------------------------------------

/// Five wrong one-time codes in a netcentric login: the user is locked.
async fn lock_out(tp: &TestProvider, user: &bankid_oidc_server::store::User, wrong: usize) {
    let browser = Browser::new(tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(tp)).await);
    let (_, mut html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    for _ in 0..wrong {
        html = Browser::page(browser.submit(&html, &[("otp", "wrong")], None).await).1;
    }
}

/// The message a BID login of `user` meets: at the NNIN step if locked, else after a wrong code.
async fn bid_login_message(tp: &TestProvider, user: &bankid_oidc_server::store::User) -> String {
    let browser = Browser::new(tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    if let Some(refused) = text_of(&html, "error") {
        return refused;
    }
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", "wrong")], None).await);
    text_of(&html, "error").unwrap()
}

#[tokio::test]
async fn a_locked_user_cannot_log_in_with_biometrics_preselected_by_a_pushed_login_hint() {
    let tp = TestProvider::start().await;
    register(&tp, &ClientKey::new("k"), false).await;
    let user = tp.user("Ola").clone();
    lock_out(&tp, &user, 5).await;
    let hint = format!(":{}", user.nnin);
    let url = pushed_url(
        &tp,
        &rp_pending(&[("login_hint", &hint), ("acr_values", "urn:bankid:bis")]),
    )
    .await;
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&url).await);
    // The lock is told before anything is asked: no approval in the app is offered.
    assert!(
        text_of(&html, "error").unwrap().contains("sperret"),
        "{html}"
    );
    assert!(
        !forms(&html)[0]
            .buttons
            .contains(&("decision".into(), "allow".into()))
    );
    // Choosing the app anyway is refused too, and approving a stale approval form is not possible.
    let (_, html) = Browser::page(browser.submit(&html, &[], Some(("method", "BIS"))).await);
    assert!(text_of(&html, "error").unwrap().contains("sperret"));
    let step = browser
        .submit(&html, &[("step", "approve")], Some(("decision", "allow")))
        .await;
    assert!(
        matches!(step, Step::Page { .. }),
        "a locked user must not log in"
    );
    // And the lock is still there.
    assert!(bid_login_message(&tp, &user).await.contains("sperret"));
}

#[tokio::test]
async fn a_biometrics_login_does_not_clear_failed_code_attempts() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    lock_out(&tp, &user, 4).await;
    // A BIS login (no secret checked) succeeds: the user is not locked yet.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    assert!(callback.get("code").is_some());
    // It did not give the guesser five new tries: the next wrong code locks.
    assert!(bid_login_message(&tp, &user).await.contains("sperret"));
    let stored = tp.store.user(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.failed_attempts, 5);
}

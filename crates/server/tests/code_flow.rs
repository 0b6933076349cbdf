//! The authorization code flow of seed 002 end to end, for each identity method and response mode.

use bankid_oidc_core::token_hash::at_hash;
use bankid_oidc_testkit::browser::{Browser, parse_callback};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::jwt::verify_with_jwks;
use bankid_oidc_testkit::oauth::{login_and_redeem, redeem, redeem_as};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestProvider};
use reqwest::StatusCode;

#[tokio::test]
async fn discovery_publishes_the_realm_issuer_and_bankid_fields() {
    let tp = TestProvider::start().await;
    let doc: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", tp.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(doc["issuer"], tp.issuer);
    assert!(tp.issuer.ends_with("/auth/realms/current"));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["tls_client_certificate_bound_access_tokens"], false);
    let jwks: serde_json::Value = reqwest::get(doc["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(
        key.get("d").is_none(),
        "the private key must never be published"
    );
}

#[tokio::test]
async fn netcentric_bankid_login_gives_a_v4_id_token_and_userinfo() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(
        &[
            ("scope", "openid profile nnin_altsub email phone"),
            ("login_hint", "BID"),
        ],
        &[],
    );
    let user = tp.user("Kari").clone();
    let callback = browser.login_bid(&tp, &pending, &user).await;
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));

    let response = redeem(&tp, callback.code(), &pending.verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "email nnin_altsub openid phone profile");
    assert!(tokens["expires_in"].as_u64().unwrap() > 0);

    let access_token = tokens["access_token"].as_str().unwrap();
    let id = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["iss"], tp.issuer);
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["azp"], CLIENT_ID);
    assert_eq!(id["nonce"], pending.nonce);
    assert_eq!(id["acr"], "urn:bankid:bid;LOA=4");
    assert_eq!(id["amr"], serde_json::json!(["bid"]));
    assert_eq!(id["typ"], "ID");
    assert_eq!(id["api_ver"], 4);
    assert_eq!(id["at_hash"], at_hash(access_token));
    assert_eq!(id["sub"], user.id);
    assert_eq!(id["bankid_altsub"], user.pid);
    assert!(bankid_oidc_core::pid::is_valid(
        id["bankid_altsub"].as_str().unwrap()
    ));
    assert_eq!(id["nnin_altsub"], user.nnin);
    assert_eq!(id["given_name"], "Kari");
    assert_eq!(id["family_name"], "Nordmann");
    assert_eq!(id["name"], "Kari Nordmann");
    assert_eq!(id["birthdate"], "1985-03-15");
    assert!(id["updated_at"].is_i64());
    assert!(id["sid"].is_string() && id["jti"].is_string());
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    for removed in ["session_state", "auth_time", "tid", "originator"] {
        assert!(
            id.get(removed).is_none(),
            "{removed} was removed in API version 4"
        );
    }

    let at_header = jsonwebtoken::decode_header(access_token).unwrap();
    assert_eq!(at_header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(at_header.alg, jsonwebtoken::Algorithm::ES256);
    let at = verify_with_jwks(&tp, access_token).await;
    assert_eq!(at["client_id"], CLIENT_ID);
    assert!(
        at.get("nonce").is_none(),
        "API version 4 removed nonce from the access token"
    );

    for post in [false, true] {
        let http = reqwest::Client::new();
        let request = if post {
            http.post(tp.userinfo_endpoint())
        } else {
            http.get(tp.userinfo_endpoint())
        };
        let info: serde_json::Value = request
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], user.id);
        assert_eq!(info["given_name"], "Kari");
        assert_eq!(info["email"], "kari.nordmann@example.no");
        assert_eq!(info["phone_number"], "48000001");
    }
}

#[tokio::test]
async fn id_token_without_profile_scope_has_no_profile_or_nnin() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, tokens) = login_and_redeem(&tp, &browser, &[("scope", "openid")]).await;
    let id = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    for absent in ["name", "given_name", "birthdate", "nnin_altsub"] {
        assert!(id.get(absent).is_none(), "{absent} needs its scope");
    }
    assert!(id["bankid_altsub"].is_string());
    let info: serde_json::Value = reqwest::Client::new()
        .get(tp.userinfo_endpoint())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info.get("given_name").is_none() && info.get("email").is_none());
}

#[tokio::test]
async fn bankid_with_biometrics_shows_a_binding_message_and_gives_loa3() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let user = tp.user("Ola").clone();
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let buttons = &forms(&html)[0].buttons;
    assert!(buttons.contains(&("method".into(), "BIS".into())));
    assert!(
        !buttons.contains(&("method".into(), "BID".into())),
        "login_hint=BIS selects the app only"
    );
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let binding = text_of(&html, "error")
        .is_none()
        .then(|| html.clone())
        .unwrap();
    let words = scraper::Html::parse_document(&binding)
        .select(&scraper::Selector::parse(".binding").unwrap())
        .next()
        .map(|e| e.text().collect::<String>())
        .expect("a binding message");
    assert_eq!(words.split(' ').count(), 2, "two words: {words}");
    let buttons = &forms(&html)[0].buttons;
    assert!(
        buttons.contains(&("decision".into(), "allow".into()))
            && buttons.contains(&("decision".into(), "deny".into()))
    );
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    let tokens: serde_json::Value = redeem(&tp, callback.code(), &pending.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["acr"], "urn:bankid:bis;LOA=3");
    assert_eq!(id["amr"], serde_json::json!(["bis-mfa", "bis-hwk"]));
    assert_eq!(id["sub"], user.id);
}

#[tokio::test]
async fn denying_in_the_app_ends_with_access_denied() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIS")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", &tp.user("Ola").nnin)], None)
            .await,
    );
    let callback = Browser::callback(browser.submit(&html, &[], Some(("decision", "deny"))).await);
    assert_eq!(callback.error(), "access_denied");
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
}

fn heading(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let h1 = scraper::Selector::parse("h1").unwrap();
    doc.select(&h1).next().unwrap().text().collect::<String>()
}

/// The value a form field is pre-filled with.
fn field_value(html: &str, name: &str) -> Option<String> {
    forms(html)[0]
        .fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn a_bim_login_hint_with_mobile_and_birth_date_fills_in_the_mobile_form() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIM:48000001:150385")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    assert_eq!(heading(&html), "BankID på mobil");
    assert_eq!(field_value(&html, "phone").as_deref(), Some("48000001"));
    assert_eq!(field_value(&html, "birthdate").as_deref(), Some("150385"));
    // Only a hint: the user can still correct it, and the login goes on as typed.
    let (_, html) = Browser::page(browser.submit(&html, &[], None).await);
    assert_eq!(heading(&html), "Bekreft med BankID på mobil");
    // A plain BIM hint fills in nothing.
    let (_, html) = Browser::page(
        Browser::new(&tp)
            .get(&Pending::new(&[("login_hint", "BIM")], &[]).url(&tp))
            .await,
    );
    assert_eq!(field_value(&html, "phone").as_deref(), Some(""));
}

#[tokio::test]
async fn bankid_on_mobile_asks_phone_and_birth_date_then_approval() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIM")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let names: Vec<String> = forms(&html)[0]
        .fields
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    assert!(names.contains(&"phone".into()) && names.contains(&"birthdate".into()));
    let (_, again) = Browser::page(
        browser
            .submit(
                &html,
                &[("phone", "48000001"), ("birthdate", "010101")],
                None,
            )
            .await,
    );
    assert!(
        text_of(&again, "error").is_some(),
        "a wrong birth date is refused on the page"
    );
    // What was typed stays, for correcting.
    assert_eq!(field_value(&again, "phone").as_deref(), Some("48000001"));
    assert_eq!(field_value(&again, "birthdate").as_deref(), Some("010101"));
    let (_, html) = Browser::page(
        browser
            .submit(
                &again,
                &[("phone", "48000001"), ("birthdate", "150385")],
                None,
            )
            .await,
    );
    // The approval is BankID on mobile's, not the app's.
    assert_eq!(heading(&html), "Bekreft med BankID på mobil");
    assert!(!html.contains("appen"), "{html}");
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    let tokens: serde_json::Value = redeem(&tp, callback.code(), &pending.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["acr"], "urn:bankid:bim;LOA=4");
    assert_eq!(id["sub"], tp.user("Kari").id);
}

#[tokio::test]
async fn acr_values_select_the_method() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("acr_values", "urn:bankid:bis")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let buttons = &forms(&html)[0].buttons;
    assert!(buttons.contains(&("method".into(), "BIS".into())));
    assert!(!buttons.iter().any(|(n, v)| n == "method" && v == "BID"));
}

#[tokio::test]
async fn cancel_on_any_step_ends_with_access_denied() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    for steps_before_cancel in 0..3 {
        let browser = Browser::new(&tp);
        let pending = Pending::new(&[], &[]);
        let (_, mut html) = Browser::page(browser.get(&pending.url(&tp)).await);
        let inputs = [
            ("nnin", user.nnin.as_str()),
            ("otp", user.otp.as_str()),
            ("password", user.password.as_str()),
        ];
        for input in inputs.iter().take(steps_before_cancel) {
            html = Browser::page(browser.submit(&html, &[*input], None).await).1;
        }
        let callback =
            Browser::callback(browser.submit(&html, &[], Some(("action", "cancel"))).await);
        assert_eq!(
            callback.error(),
            "access_denied",
            "cancel after {steps_before_cancel} steps"
        );
        assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    }
}

#[tokio::test]
async fn response_modes_fragment_and_form_post_deliver_code_state_and_iss() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    // Fragment: the parameters are after '#', not in the query.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("response_mode", "fragment")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    let response = browser
        .submit_response(&html, &[("password", &user.password)], None)
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{REDIRECT_URI}#")),
        "{location}"
    );
    let callback = parse_callback(&location);
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    assert_eq!(
        redeem(&tp, callback.code(), &pending.verifier)
            .await
            .status(),
        StatusCode::OK
    );

    // form_post: an auto-submitting form whose only script is allowed by hash.
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("response_mode", "form_post")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    let response = browser
        .submit_response(&html, &[("password", &user.password)], None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'sha256-") && csp.contains("form-action https://shop.example"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    let post = forms(&html).into_iter().next().unwrap();
    assert_eq!(post.action, REDIRECT_URI);
    let params: std::collections::HashMap<_, _> = post.fields.into_iter().collect();
    assert_eq!(params.get("state"), Some(&pending.state));
    assert_eq!(params.get("iss"), Some(&tp.issuer));
    assert_eq!(
        redeem(&tp, &params["code"], &pending.verifier)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_redirect_uri_with_a_query_keeps_it_and_adds_the_response() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("redirect_uri", "https://shop.example/cb2?x=1")], &[]);
    let callback = browser
        .login_bid(&tp, &pending, &tp.user("Kari").clone())
        .await;
    assert_eq!(callback.get("x"), Some("1"));
    let response = redeem_as(
        &tp,
        CLIENT_ID,
        CLIENT_SECRET,
        callback.code(),
        &pending.verifier,
        "https://shop.example/cb2?x=1",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_authorization_endpoint_accepts_post() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[], &[]);
    let response = browser
        .http
        .post(tp.authorization_endpoint())
        .form(&pending.params)
        .send()
        .await
        .unwrap();
    // A posted request is answered with a redirect to the login's own address (the Back
    // button never asks to post it again), with the browser's pre-login cookie; the GET there
    // shows the first step, whose form posts to that address.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/login-actions/") && location.contains("?seal="),
        "{location}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("bankid_oidc_session=")
    );
    let (url, html) = Browser::page(browser.follow(response).await);
    assert!(url.ends_with(&location), "{url}");
    let form = &forms(&html)[0];
    assert!(form.fields.iter().any(|(n, _)| n == "nnin"));
    assert_eq!(form.action, location);
    // And the login goes on from there to a code.
    let user = tp.user("Kari").clone();
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", &user.nnin)], Some(("method", "BID")))
            .await,
    );
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    let callback = Browser::callback(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    );
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert!(!callback.code().is_empty());
}

#[tokio::test]
async fn client_secret_post_authenticates_too() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[], &[]);
    let callback = browser
        .login_bid(&tp, &pending, &tp.user("Kari").clone())
        .await;
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", callback.code()),
            ("code_verifier", &pending.verifier),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_pages_speak_english_when_asked() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(
        browser
            .get(&Pending::new(&[("ui_locales", "en")], &[]).url(&tp))
            .await,
    );
    assert!(html.contains("lang=\"en\"") && html.contains("National identity number"));
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    assert!(html.contains("lang=\"nb\"") && html.contains("Fødselsnummer"));
    assert!(
        html.contains("TEST"),
        "pages are branded as a test provider"
    );
}

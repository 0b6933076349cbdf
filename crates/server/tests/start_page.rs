//! The start page (`/` and each issuer's base path), the request its form builds, and `/health`.

use bankid_oidc_server::seed::{DEMO_CLIENT_ID, demo_registration};
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::html::text_of;
use bankid_oidc_testkit::oauth::redeem;
use bankid_oidc_testkit::provider::{CLIENT_ID, REDIRECT_URI, TestProvider};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

const DEMO_SECRET: &str = "demo-secret-0123456789-abcdefghijklmnopq";

/// A test provider that also has the demo client.
async fn provider() -> TestProvider {
    let tp = TestProvider::start().await;
    let client = demo_registration(DEMO_SECRET, tp.provider.now());
    tp.store.add_client(&client).await.unwrap();
    tp
}

async fn get(url: &str) -> (StatusCode, HeaderMap, String) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The headers of every page (pages/render.rs), and nothing that runs.
fn assert_page_headers(headers: &HeaderMap, html: &str) {
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script at all: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(!html.contains("<script"), "no inline script");
}

#[tokio::test]
async fn the_start_page_shows_issuers_demo_client_users_and_links() {
    let tp = provider().await;
    let (status, headers, html) = get(&format!("{}/", tp.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert_page_headers(&headers, &html);
    assert!(html.contains("Test tool"), "clearly a test tool");
    for issuer in tp.provider.issuers.all() {
        let discovery = format!("{}/.well-known/openid-configuration", issuer.issuer);
        assert!(html.contains(&discovery), "{discovery}");
    }
    let demo = text_of(&html, "demo-client").unwrap();
    assert!(demo.contains(DEMO_CLIENT_ID), "{demo}");
    assert!(demo.contains("http://127.0.0.1:8081/callback"), "{demo}");
    assert!(!html.contains(DEMO_SECRET), "never the secret");
    let users = text_of(&html, "users").unwrap();
    for user in &tp.users {
        assert!(users.contains(&user.nnin), "{}", user.nnin);
        assert!(users.contains(&user.birthdate), "{}", user.birthdate);
        if let Some(phone) = &user.phone {
            assert!(users.contains(phone.as_str()), "{phone}");
        }
        assert!(!html.contains(&user.pid), "no PID needed");
    }
    let app = text_of(&html, "app").unwrap();
    assert!(app.contains(&format!("{}/bis/app", tp.base)), "{app}");
    let merchant = text_of(&html, "demo-merchant").unwrap();
    assert!(merchant.contains("http://127.0.0.1:8081"), "{merchant}");
    // Every client that can log a person in is in the form, machine clients are not.
    assert!(html.contains(&format!("value=\"{CLIENT_ID}\"")));
    assert!(html.contains(&format!("value=\"{DEMO_CLIENT_ID}\"")));
    assert!(!html.contains("value=\"machine\""));
}

#[tokio::test]
async fn each_issuer_base_shows_the_start_page_with_that_issuer_chosen() {
    let tp = provider().await;
    for (path, id) in [("/auth/realms/current", "realm:current"), ("/bis", "bis")] {
        let (status, headers, html) = get(&format!("{}{path}", tp.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_page_headers(&headers, &html);
        assert!(
            html.contains(&format!("<option value=\"{id}\" selected>")),
            "{path}: {id} preselected"
        );
    }
}

#[tokio::test]
async fn the_form_builds_a_request_that_logs_in_and_whose_code_redeems() {
    let tp = provider().await;
    let query = serde_urlencoded::to_string([
        ("issuer", "realm:current"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", ""),
        ("login_hint", "BID"),
        ("scope", "openid profile"),
        ("ui_locales", "en"),
        ("prompt", "login"),
    ])
    .unwrap();
    let (status, headers, html) = get(&format!("{}/start/request?{query}", tp.base)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_page_headers(&headers, &html);
    let url = text_of(&html, "authorization-url").unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    assert_eq!(
        parsed.as_str().split('?').next().unwrap(),
        tp.meta.authorization_endpoint.as_deref().unwrap()
    );
    let params: std::collections::HashMap<String, String> =
        parsed.query_pairs().into_owned().collect();
    assert_eq!(
        params["redirect_uri"], REDIRECT_URI,
        "the first registered one"
    );
    assert_eq!(params["login_hint"], "BID");
    assert_eq!(params["ui_locales"], "en");
    assert_eq!(params["prompt"], "login");
    assert_eq!(params["code_challenge_method"], "S256");
    let verifier = text_of(&html, "code-verifier").unwrap();

    let user = &tp.users[0];
    let browser = Browser::new(&tp);
    let callback = browser
        .login_bid_at(&url, &user.nnin, &user.otp, &user.password)
        .await;
    assert_eq!(callback.get("state"), Some(params["state"].as_str()));
    let response = redeem(&tp, callback.code(), &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_form_refuses_an_unknown_client_on_a_page() {
    let tp = provider().await;
    let (status, headers, html) = get(&format!(
        "{}/start/request?issuer=realm:current&client_id=nobody&scope=openid",
        tp.base
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_page_headers(&headers, &html);
    assert!(
        html.contains("client_id: &#39;nobody&#39; is not registered")
            || html.contains("client_id: 'nobody' is not registered"),
        "{html}"
    );
}

#[tokio::test]
async fn health_answers_ok_uncached() {
    let tp = TestProvider::start().await;
    let (status, headers, body) = get(&format!("{}/health", tp.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn every_page_names_the_icon_which_is_an_svg_that_runs_nothing() {
    let tp = provider().await;
    let (_, _, html) = get(&format!("{}/", tp.base)).await;
    let doc = scraper::Html::parse_document(&html);
    let link = scraper::Selector::parse(r#"link[rel="icon"]"#).unwrap();
    let href = doc
        .select(&link)
        .next()
        .and_then(|l| l.value().attr("href"))
        .expect("an icon link")
        .to_owned();
    assert!(href.ends_with("/resources/favicon.svg"), "{href}");
    let (status, headers, svg) = get(&format!("{}{href}", tp.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert_eq!(headers["content-security-policy"], "default-src 'none'");
    assert!(svg.starts_with("<svg") && !svg.contains("<script"), "{svg}");
    // The login pages name it too (one base template).
    let pending = bankid_oidc_testkit::pending::Pending::new(&[], &[]);
    let (_, login) = Browser::page(Browser::new(&tp).get(&pending.url(&tp)).await);
    assert!(login.contains(&format!("href=\"{href}\"")), "{login}");
}

async fn post_form(tp: &TestProvider, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/start/request", tp.base))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_form_pushes_the_request_with_the_typed_secret_and_the_link_carries_only_its_uri() {
    let tp = provider().await;
    let form = [
        ("issuer", "realm:current"),
        ("client_id", CLIENT_ID),
        ("login_hint", "BID"),
        ("scope", "openid profile"),
        ("par", "1"),
        (
            "client_secret",
            bankid_oidc_testkit::provider::CLIENT_SECRET,
        ),
    ];
    let (status, html) = post_form(&tp, &form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        text_of(&html, "pushed")
            .unwrap()
            .contains("request_uri urn:")
    );
    assert!(
        !html.contains(bankid_oidc_testkit::provider::CLIENT_SECRET),
        "never shown"
    );
    let url = url::Url::parse(&text_of(&html, "authorization-url").unwrap()).unwrap();
    let params: std::collections::HashMap<String, String> =
        url.query_pairs().into_owned().collect();
    let mut names: Vec<&str> = params.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["client_id", "request_uri"]);
    let verifier = text_of(&html, "code-verifier").unwrap();
    let user = &tp.users[0];
    let callback = Browser::new(&tp)
        .login_bid_at(url.as_str(), &user.nnin, &user.otp, &user.password)
        .await;
    let response = redeem(&tp, callback.code(), &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    // The request_uri is single-use: the same link again is refused.
    match Browser::new(&tp).get(url.as_str()).await {
        bankid_oidc_testkit::browser::Step::Page { status, .. } => {
            assert_eq!(status, StatusCode::BAD_REQUEST)
        }
        bankid_oidc_testkit::browser::Step::Callback(c) => {
            assert!(c.get("error").is_some(), "{:?}", c.params)
        }
    }
}

#[tokio::test]
async fn a_push_with_a_wrong_secret_or_through_the_address_is_refused() {
    let tp = provider().await;
    let (status, html) = post_form(
        &tp,
        &[
            ("issuer", "realm:current"),
            ("client_id", CLIENT_ID),
            ("scope", "openid"),
            ("par", "1"),
            ("client_secret", "not-the-secret"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    assert_eq!(text_of(&html, "error").as_deref(), Some("invalid_client"));
    assert!(!html.contains("not-the-secret"));
    // A secret is never taken from a URL.
    let (status, _, html) = get(&format!(
        "{}/start/request?issuer=realm:current&client_id={CLIENT_ID}&scope=openid&par=1",
        tp.base
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("par: a pushed request needs the client secret"),
        "{html}"
    );
}

//! One test per refused authorization request, each asserting the exact error and where it goes.

use bankid_oidc_testkit::browser::{Browser, parse_callback};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::{OTHER_REDIRECT_URI, TestProvider};
use reqwest::StatusCode;

/// The request must be answered by redirecting to the client with this error, state and iss.
async fn assert_redirected_error(
    tp: &TestProvider,
    pending: &Pending,
    code: &str,
    description_starts: &str,
) {
    let callback = Browser::callback(Browser::new(tp).get(&pending.url(tp)).await);
    assert_eq!(callback.error(), code, "{:?}", callback.params);
    let description = callback.get("error_description").unwrap();
    assert!(
        description.starts_with(description_starts),
        "'{description}' should start with '{description_starts}'"
    );
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    if let Some(state) = pending.params.iter().find(|(k, _)| k == "state") {
        assert_eq!(callback.get("state"), Some(state.1.as_str()));
    }
}

/// The request must be answered with an error page and no redirect.
async fn assert_error_page(tp: &TestProvider, url: &str, description_contains: &str) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers().get("location").is_none(),
        "must never redirect"
    );
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "error").as_deref(), Some("invalid_request"));
    let description = text_of(&html, "error_description").unwrap();
    assert!(description.contains(description_contains), "{description}");
    let _ = tp;
}

#[tokio::test]
async fn unknown_client_gets_an_error_page_and_no_redirect() {
    let tp = TestProvider::start().await;
    let url = Pending::new(&[("client_id", "evil")], &[]).url(&tp);
    assert_error_page(&tp, &url, "client_id").await;
}

#[tokio::test]
async fn unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let tp = TestProvider::start().await;
    for uri in [
        "https://evil.example/callback",
        "https://shop.example/callback/",
        "https://shop.example/callback?x=1",
        "https://SHOP.example/callback",
    ] {
        let url = Pending::new(&[("redirect_uri", uri)], &[]).url(&tp);
        assert_error_page(&tp, &url, "redirect_uri").await;
    }
    // Another client's registered URI is not this client's.
    let url = Pending::new(&[("redirect_uri", OTHER_REDIRECT_URI)], &[]).url(&tp);
    assert_error_page(&tp, &url, "redirect_uri").await;
}

#[tokio::test]
async fn missing_redirect_uri_or_client_id_gets_an_error_page() {
    let tp = TestProvider::start().await;
    assert_error_page(
        &tp,
        &Pending::new(&[], &["redirect_uri"]).url(&tp),
        "redirect_uri",
    )
    .await;
    assert_error_page(
        &tp,
        &Pending::new(&[], &["client_id"]).url(&tp),
        "client_id",
    )
    .await;
}

#[tokio::test]
async fn repeated_parameters_get_an_error_page() {
    let tp = TestProvider::start().await;
    let url = format!("{}&client_id=other-shop", Pending::new(&[], &[]).url(&tp));
    assert_error_page(&tp, &url, "more than once").await;
}

#[tokio::test]
async fn missing_state_is_refused() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[], &["state"]),
        "invalid_request",
        "state",
    )
    .await;
}

#[tokio::test]
async fn missing_nonce_is_refused() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[], &["nonce"]),
        "invalid_request",
        "nonce",
    )
    .await;
}

#[tokio::test]
async fn missing_code_challenge_is_refused() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[], &["code_challenge"]),
        "invalid_request",
        "code_challenge",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[], &["code_challenge_method"]),
        "invalid_request",
        "code_challenge_method",
    )
    .await;
}

#[tokio::test]
async fn plain_code_challenge_method_is_refused() {
    let tp = TestProvider::start().await;
    let pending = Pending::new(
        &[
            ("code_challenge_method", "plain"),
            ("code_challenge", &"a".repeat(43)),
        ],
        &[],
    );
    assert_redirected_error(&tp, &pending, "invalid_request", "code_challenge_method").await;
}

#[tokio::test]
async fn api_version_3_is_refused() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("api_version", "3")], &[]),
        "invalid_request",
        "api_version",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("api_version", "x")], &[]),
        "invalid_request",
        "api_version",
    )
    .await;
}

#[tokio::test]
async fn response_types_other_than_code_are_unsupported() {
    let tp = TestProvider::start().await;
    for rt in ["token", "id_token", "code id_token", "none"] {
        assert_redirected_error(
            &tp,
            &Pending::new(&[("response_type", rt)], &[]),
            "unsupported_response_type",
            "response_type",
        )
        .await;
    }
    assert_redirected_error(
        &tp,
        &Pending::new(&[], &["response_type"]),
        "invalid_request",
        "response_type",
    )
    .await;
}

#[tokio::test]
async fn unknown_and_unallowed_scopes_are_invalid_scope() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("scope", "openid superuser")], &[]),
        "invalid_scope",
        "scope",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("scope", "profile")], &[]),
        "invalid_scope",
        "scope: must include 'openid'",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("scope", "openid esign")], &[]),
        "invalid_scope",
        "scope",
    )
    .await;
}

#[tokio::test]
async fn an_nnin_in_a_plain_login_hint_is_refused() {
    let tp = TestProvider::start().await;
    let nnin = tp.user("Kari").nnin.clone();
    let hint = format!("BID:{nnin}");
    assert_redirected_error(
        &tp,
        &Pending::new(&[("login_hint", &hint)], &[]),
        "invalid_request",
        "login_hint",
    )
    .await;
    let hint = format!(":{nnin}");
    assert_redirected_error(
        &tp,
        &Pending::new(&[("login_hint", &hint)], &[]),
        "invalid_request",
        "login_hint",
    )
    .await;
}

#[tokio::test]
async fn malformed_login_hint_acr_values_prompt_and_max_age_are_refused() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("login_hint", "NOPE")], &[]),
        "invalid_request",
        "login_hint",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("acr_values", "urn:bankid:xyz")], &[]),
        "invalid_request",
        "acr_values",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(
            &[("login_hint", "BIS"), ("acr_values", "urn:bankid:bid")],
            &[],
        ),
        "invalid_request",
        "login_hint",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("prompt", "none login")], &[]),
        "invalid_request",
        "prompt",
    )
    .await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("max_age", "-1")], &[]),
        "invalid_request",
        "max_age",
    )
    .await;
}

#[tokio::test]
async fn unsupported_response_mode_is_refused_by_query() {
    let tp = TestProvider::start().await;
    assert_redirected_error(
        &tp,
        &Pending::new(&[("response_mode", "jwt")], &[]),
        "invalid_request",
        "response_mode",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_state_is_refused_and_not_echoed() {
    let tp = TestProvider::start().await;
    let long = "s".repeat(600);
    let pending = Pending::new(&[("state", &long)], &[]);
    let callback = Browser::callback(Browser::new(&tp).get(&pending.url(&tp)).await);
    assert_eq!(callback.error(), "invalid_request");
    assert_eq!(callback.get("state"), None);
}

#[tokio::test]
async fn error_descriptions_are_url_encoded_not_injected() {
    let tp = TestProvider::start().await;
    let pending = Pending::new(
        &[("state", "a&code=forged#x"), ("response_type", "token")],
        &[],
    );
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(pending.url(&tp))
        .send()
        .await
        .unwrap();
    let callback = parse_callback(response.headers()["location"].to_str().unwrap());
    assert_eq!(callback.get("state"), Some("a&code=forged#x"));
    assert_eq!(callback.get("code"), None);
}

#[tokio::test]
async fn a_login_by_redirect_keeps_nothing_while_it_runs_so_a_full_store_does_not_stop_it() {
    let tp = TestProvider::start().await;
    // No room at all for logins in progress, in all or for this address.
    tp.flows.set_max(0);
    tp.flows.set_max_per_source(0);
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let (otp_url, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    // Each step's address carries the login sealed; nothing is kept.
    assert!(otp_url.contains("?seal="), "{otp_url}");
    assert_eq!(tp.flows.len(tp.now()).await, 0);
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    assert_eq!(tp.flows.len(tp.now()).await, 0);
    let done = Browser::callback(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    );
    assert_eq!(done.get("state"), Some(pending.state.as_str()));
    assert!(!done.code().is_empty());
}

#[tokio::test]
async fn a_flood_of_authorization_requests_keeps_nothing_and_real_logins_go_on() {
    let tp = TestProvider::start().await;
    tp.flows.set_max(50);
    let user = tp.user("Kari").clone();
    // A real user opens the login page before the flood.
    let before = Browser::new(&tp);
    let pending = Pending::new(&[], &[]);
    let (_, first_page) = Browser::page(before.get(&pending.url(&tp)).await);
    // 2,000 plain authorization requests from a client that keeps no cookies, 40 times the
    // bound, 16 at a time.
    let url = Pending::new(&[], &[]).url(&tp);
    let http = reqwest::Client::new();
    let flood: Vec<_> = (0..16)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                for _ in 0..125 {
                    let status = http.get(&url).send().await.unwrap().status();
                    assert_eq!(status, StatusCode::OK);
                }
            })
        })
        .collect();
    for task in flood {
        task.await.unwrap();
    }
    assert_eq!(
        tp.flows.len(tp.now()).await,
        0,
        "nothing is kept for a login nobody typed into"
    );
    // The user who opened the page before the flood logs in, and so does a new one.
    let (_, html) = Browser::page(
        before
            .submit(&first_page, &[("nnin", &user.nnin)], None)
            .await,
    );
    let (_, html) = Browser::page(before.submit(&html, &[("otp", &user.otp)], None).await);
    let callback = Browser::callback(
        before
            .submit(&html, &[("password", &user.password)], None)
            .await,
    );
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    let fresh = Browser::new(&tp)
        .login_bid(&tp, &Pending::new(&[], &[]), &user)
        .await;
    assert!(!fresh.code().is_empty());
}

#[tokio::test]
async fn a_sealed_page_cannot_be_moved_or_changed_and_its_login_ends_once() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let action = forms(&html)[0].action.clone();
    let (path, seal) = action
        .split_once("?seal=")
        .expect("the first page's address is sealed");
    // Another browser cannot use it (it is bound to this browser's cookie).
    let other = Browser::new(&tp);
    let (_, page) = Browser::page(other.get(&format!("{}{action}", tp.base)).await);
    assert!(
        text_of(&page, "error_description")
            .unwrap()
            .contains("another browser")
    );
    // A changed seal, or the seal under another flow's address, does not open.
    let mut changed = seal.to_owned();
    let last = if changed.ends_with('A') { "B" } else { "A" };
    changed.replace_range(changed.len() - 1.., last);
    let (_, page) = Browser::page(
        browser
            .get(&format!("{}{path}?seal={changed}", tp.base))
            .await,
    );
    assert!(
        text_of(&page, "error_description")
            .unwrap()
            .contains("expired or is finished")
    );
    let (_, second) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let other_path = forms(&second)[0]
        .action
        .split_once('?')
        .unwrap()
        .0
        .to_owned();
    let (_, page) = Browser::page(
        browser
            .get(&format!("{}{other_path}?seal={seal}", tp.base))
            .await,
    );
    assert!(
        text_of(&page, "error_description")
            .unwrap()
            .contains("expired or is finished")
    );
    // Cancelled, the login ends, once: the same sealed page posted again goes through its
    // steps, but cannot end the login a second time (no code after the error).
    let cancelled = Browser::callback(browser.submit(&html, &[], Some(("action", "cancel"))).await);
    assert_eq!(cancelled.error(), "access_denied");
    let (_, page) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, page) = Browser::page(browser.submit(&page, &[("otp", &user.otp)], None).await);
    let (_, page) = Browser::page(
        browser
            .submit(&page, &[("password", &user.password)], None)
            .await,
    );
    assert!(
        text_of(&page, "error_description")
            .unwrap()
            .contains("already finished"),
        "{page}"
    );
    // Nor can a cancel of a page before the end.
    let (_, page) = Browser::page(browser.submit(&html, &[], Some(("action", "cancel"))).await);
    assert!(
        text_of(&page, "error_description")
            .unwrap()
            .contains("already finished")
    );
    // And a sealed page expires with its login.
    let (_, late) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    tp.advance(601);
    let (_, page) = Browser::page(browser.submit(&late, &[("nnin", &user.nnin)], None).await);
    assert!(
        text_of(&page, "error_description")
            .unwrap()
            .contains("expired or is finished")
    );
}

#[tokio::test]
async fn a_norwegian_error_page_says_in_norwegian_that_the_oauth_description_is_english() {
    let tp = TestProvider::start().await;
    for (locale, label, lang) in [
        ("nb", "Teknisk beskrivelse for utviklere", "nb"),
        ("en", "Technical description for developers", "en"),
    ] {
        let url = Pending::new(&[("client_id", "evil"), ("ui_locales", locale)], &[]).url(&tp);
        let html = reqwest::get(url).await.unwrap().text().await.unwrap();
        let page = scraper::Html::parse_document(&html);
        let root = page
            .select(&scraper::Selector::parse("html").unwrap())
            .next()
            .unwrap();
        assert_eq!(root.value().attr("lang"), Some(lang));
        assert!(
            text_of(&html, "error_details").unwrap().starts_with(label),
            "{html}"
        );
        // The protocol's words are marked as English, for screen readers and translators.
        let details = page
            .select(&scraper::Selector::parse("dl.oauth-error").unwrap())
            .next()
            .unwrap();
        assert_eq!(details.value().attr("lang"), Some("en"));
        assert!(
            text_of(&html, "error_description")
                .unwrap()
                .contains("client_id")
        );
    }
}

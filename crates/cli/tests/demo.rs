//! `bankid-oidc demo`, the demo merchant, as its user clicks it: the binary runs against a
//! provider on a temporary store, and the test kit's browser presses its buttons, goes through
//! the provider's login pages (the emulated app answering by script), and reads the result page.

use bankid_oidc_server::registration::{check_client, check_jwks};
use bankid_oidc_server::seed::demo_registration;
use bankid_oidc_server::store::{AppScript, AppScripted, User};
use bankid_oidc_testkit::browser::{Browser, Callback, Step};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::provider::TestProvider;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");
const SECRET: &str = "demo-secret-0123456789-abcdefghijklmnopq";

/// A provider, and the demo merchant binary in front of it with the seeded demo client's
/// registration (its redirect URIs moved to the port the demo got).
struct Merchant {
    tp: TestProvider,
    base: String,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Merchant {
    async fn start() -> Merchant {
        let tp = TestProvider::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--provider-url",
                &tp.base,
            ])
            .args(["--client-id", "demo-merchant", "--client-secret", SECRET])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
                .await
                .expect("the demo prints its banner")
                .unwrap()
                .expect("the demo exited before listening");
            if let Some(url) = line.strip_prefix("Listening on ") {
                break url.to_owned();
            }
        };
        // The seed's registration, as `bankid-oidc serve` makes it, with the demo's public key
        // registered as the README tells (`clients update --jwks`).
        let mut client = demo_registration(SECRET, tp.now());
        client.redirect_uris = vec![format!("{base}/callback")];
        client.post_logout_redirect_uris = vec![format!("{base}/")];
        let jwks = std::fs::read_to_string(dir.path().join("demo-merchant-jwks.json")).unwrap();
        client.jwks = Some(check_jwks(&jwks).unwrap());
        check_client(&client).unwrap();
        assert!(tp.store.add_client(&client).await.unwrap());
        Merchant {
            tp,
            base,
            _child: child,
            _dir: dir,
        }
    }

    fn browser(&self) -> Browser {
        Browser::new(&self.tp)
    }

    async fn get(&self, browser: &Browser, path: &str) -> reqwest::Response {
        browser
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, browser: &Browser, path: &str) -> String {
        let response = self.get(browser, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    /// Posts the form of `html` whose action is `action`, as its button would.
    async fn post(&self, browser: &Browser, html: &str, action: &str) -> reqwest::Response {
        let form = forms(html)
            .into_iter()
            .find(|f| f.action == action)
            .unwrap_or_else(|| panic!("a form posting to {action}: {html}"));
        browser
            .http
            .post(format!("{}{action}", self.base))
            .form(&form.fields)
            .send()
            .await
            .unwrap()
    }

    /// Presses the start page's button for `flow`: the provider's first page.
    async fn click(&self, browser: &Browser, flow: &str) -> Step {
        let html = self.page(browser, "/").await;
        let form = forms(&html)
            .into_iter()
            .find(|f| f.fields.iter().any(|(k, v)| k == "flow" && v == flow))
            .unwrap_or_else(|| panic!("a button for {flow}"));
        let response = browser
            .http
            .post(format!("{}{}", self.base, form.action))
            .form(&form.fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{flow}: {}",
            response.text().await.unwrap()
        );
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with(&self.tp.base), "{location}");
        browser.get(&location).await
    }

    /// The provider's answer delivered to the demo's callback.
    async fn deliver(&self, browser: &Browser, callback: &Callback) -> reqwest::Response {
        let query = serde_urlencoded::to_string(&callback.params).unwrap();
        self.get(browser, &format!("/callback?{query}")).await
    }

    /// Delivers the answer and reads the result page it leads to.
    async fn result(&self, browser: &Browser, callback: &Callback) -> String {
        let response = self.deliver(browser, callback).await;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(location.as_deref(), Some("/result"));
        self.page(browser, "/result").await
    }

    /// Follows an action's redirect back to the result page.
    async fn after(&self, browser: &Browser, response: reqwest::Response) -> String {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/result#action-result");
        self.page(browser, "/result").await
    }

    async fn script_app(&self, user: &User, answer: AppScript) {
        let scripted = AppScripted { answer, delay: 0 };
        assert!(
            self.tp
                .store
                .set_app_script(&user.id, Some(scripted))
                .await
                .unwrap()
        );
    }
}

/// Netcentric BankID: NNIN, one-time code, password.
async fn login_bid(browser: &Browser, first: Step, user: &User) -> Callback {
    let (_, html) = Browser::page(first);
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", &user.nnin)], Some(("method", "BID")))
            .await,
    );
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    Browser::callback(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    )
}

/// A page that waits for the app reloads itself until the (scripted) app has answered.
async fn wait_for_app(tp: &TestProvider, browser: &Browser, mut step: Step) -> Callback {
    for _ in 0..100 {
        let html = match step {
            Step::Callback(callback) => return callback,
            Step::Page { html, .. } => html,
        };
        let doc = scraper::Html::parse_document(&html);
        let selector = scraper::Selector::parse(r#"meta[http-equiv="refresh"]"#).unwrap();
        let content = doc
            .select(&selector)
            .next()
            .and_then(|m| m.value().attr("content"))
            .unwrap_or_else(|| panic!("a page that waits for the app: {html}"))
            .to_owned();
        let url = content.split_once("url=").unwrap().1.trim().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        step = browser.get(&format!("{}{url}", tp.base)).await;
    }
    panic!("the app never answered");
}

/// BankID with biometrics: the NNIN (unless the permission named the user), then the app.
async fn login_bis(tp: &TestProvider, browser: &Browser, first: Step, user: &User) -> Callback {
    let (_, html) = Browser::page(first);
    let asks_nnin = forms(&html)
        .first()
        .is_some_and(|f| f.fields.iter().any(|(k, _)| k == "nnin"));
    let step = if asks_nnin {
        browser
            .submit(&html, &[("nnin", &user.nnin)], Some(("method", "BIS")))
            .await
    } else {
        Step::Page {
            url: String::new(),
            html,
            status: StatusCode::OK,
        }
    };
    wait_for_app(tp, browser, step).await
}

fn text(html: &str, id: &str) -> String {
    text_of(html, id).unwrap_or_else(|| panic!("#{id} in the page: {html}"))
}

fn action_value(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let dt = scraper::Selector::parse("#action-result dt").unwrap();
    let dd = scraper::Selector::parse("#action-result dd").unwrap();
    doc.select(&dt)
        .zip(doc.select(&dd))
        .find(|(k, _)| k.text().collect::<String>() == name)
        .map(|(_, v)| v.text().collect::<String>())
}

/// Every check the client library made is listed on the result page.
fn assert_checks_listed(html: &str) {
    for id in [
        "state",
        "iss-response",
        "signature",
        "iss",
        "aud",
        "exp",
        "iat",
        "nonce",
        "acr",
        "at_hash",
        "pkce",
    ] {
        text(html, &format!("check-{id}"));
    }
}

#[tokio::test]
async fn a_bankid_login_shows_its_validated_claims_and_refresh_introspect_revoke_and_logout_work() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.user("Kari").clone();
    let first = m.click(&browser, "bid").await;
    let callback = login_bid(&browser, first, &kari).await;
    let html = m.result(&browser, &callback).await;

    assert_eq!(text(&html, "claim-sub"), kari.id);
    assert_eq!(text(&html, "claim-iss"), m.tp.issuer);
    assert_eq!(text(&html, "claim-aud"), "demo-merchant");
    assert!(text(&html, "claim-acr").starts_with("urn:bankid:bid;LOA="));
    assert_eq!(text(&html, "claim-given_name"), kari.given_name);
    assert_checks_listed(&html);
    assert!(text(&html, "check-at_hash").contains("SHA-256"));
    let access: serde_json::Value = serde_json::from_str(&text(&html, "access-token")).unwrap();
    assert_eq!(access["header"]["typ"], "at+jwt");
    assert_eq!(access["payload"]["sub"], kari.id);
    let userinfo: serde_json::Value = serde_json::from_str(&text(&html, "userinfo")).unwrap();
    assert_eq!(userinfo["sub"], kari.id);
    assert_eq!(userinfo["email"], "kari.nordmann@example.no");
    assert!(
        text_of(&html, "grant").is_none(),
        "no grant without a permission"
    );

    // Refresh: rotated tokens, the new ID token about the same login.
    let html = m
        .after(&browser, m.post(&browser, &html, "/refresh").await)
        .await;
    assert_eq!(action_value(&html, "result").as_deref(), Some("ok"));
    assert_eq!(action_value(&html, "rotated").as_deref(), Some("true"));

    // Introspection of the new access token.
    let html = m
        .after(&browser, m.post(&browser, &html, "/introspect").await)
        .await;
    assert_eq!(action_value(&html, "active").as_deref(), Some("true"));
    assert_eq!(
        action_value(&html, "client_id").as_deref(),
        Some("demo-merchant")
    );
    assert_eq!(action_value(&html, "sub"), Some(kari.id.clone()));

    // Revocation of the refresh token ends the login's access token too.
    let html = m
        .after(&browser, m.post(&browser, &html, "/revoke").await)
        .await;
    assert_eq!(action_value(&html, "result").as_deref(), Some("ok"));
    assert_eq!(
        action_value(&html, "revoked").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        action_value(&html, "access token active now").as_deref(),
        Some("false")
    );

    // RP-initiated logout: to the provider and back to the demo's start page.
    let response = m.post(&browser, &html, "/logout").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let end_session = m.tp.meta.end_session_endpoint.clone().unwrap();
    assert!(location.starts_with(&end_session), "{location}");
    let back = match browser.get(&location).await {
        Step::Callback(back) => back,
        Step::Page { html, .. } => {
            // A confirmation page: confirm.
            Browser::callback(browser.submit(&html, &[], None).await)
        }
    };
    let state = back.get("state").expect("the logout's state comes back");
    let html = m.page(&browser, &format!("/?state={state}")).await;
    text(&html, "logged-out");
    assert!(text_of(&html, "current-login").is_none());
    let response = m.get(&browser, "/result").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "no login any more"
    );
}

#[tokio::test]
async fn bankid_on_mobile_reaches_the_result_page() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.user("Kari").clone();
    let (_, html) = Browser::page(m.click(&browser, "bim").await);
    let (_, html) = Browser::page(
        browser
            .submit(
                &html,
                &[("phone", "48000001"), ("birthdate", "150385")],
                None,
            )
            .await,
    );
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );
    let html = m.result(&browser, &callback).await;
    assert_eq!(text(&html, "claim-sub"), kari.id);
    assert_eq!(text(&html, "claim-acr"), "urn:bankid:bim;LOA=4");
    assert_checks_listed(&html);
}

#[tokio::test]
async fn bankid_with_biometrics_at_the_realm_is_approved_in_the_app() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let ola = m.tp.user("Ola").clone();
    m.script_app(&ola, AppScript::Approve).await;
    let first = m.click(&browser, "bis-realm").await;
    let callback = login_bis(&m.tp, &browser, first, &ola).await;
    let html = m.result(&browser, &callback).await;
    assert_eq!(text(&html, "claim-sub"), ola.id);
    assert_eq!(text(&html, "claim-iss"), m.tp.issuer);
    assert_eq!(text(&html, "claim-acr"), "urn:bankid:bis;LOA=3");
}

#[tokio::test]
async fn bankid_with_biometrics_at_the_bis_issuer_gives_the_bis_claims() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let ola = m.tp.user("Ola").clone();
    m.script_app(&ola, AppScript::Approve).await;
    let first = m.click(&browser, "bis").await;
    let callback = login_bis(&m.tp, &browser, first, &ola).await;
    let html = m.result(&browser, &callback).await;
    let bis = m.tp.provider.issuers.bis().issuer.clone();
    assert_eq!(text(&html, "claim-iss"), bis);
    assert_eq!(text(&html, "claim-sub_nnin"), ola.nnin);
    assert_eq!(text(&html, "claim-sub_bankid"), ola.pid);
    assert!(text(&html, "check-acr").contains("LOA 3 required at BIS"));
    assert_checks_listed(&html);
    // BIS publishes no refresh, introspection, revocation or logout: no buttons for them.
    assert!(forms(&html).iter().all(|f| f.action != "/refresh"));
    text(&html, "actions-unavailable");
}

#[tokio::test]
async fn a_pushed_authorization_request_sends_only_its_request_uri() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.user("Kari").clone();
    let html = m.page(&browser, "/").await;
    let form = forms(&html)
        .into_iter()
        .find(|f| f.fields.iter().any(|(k, v)| k == "flow" && v == "par"))
        .unwrap();
    let response = browser
        .http
        .post(format!("{}/start", m.base))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"]);
    let callback = login_bid(&browser, browser.get(&location).await, &kari).await;
    let html = m.result(&browser, &callback).await;
    assert_eq!(text(&html, "claim-sub"), kari.id);
}

#[tokio::test]
async fn signed_and_encrypted_request_objects_log_in_with_the_registered_key() {
    let m = Merchant::start().await;
    let kari = m.tp.user("Kari").clone();
    for flow in ["signed", "encrypted"] {
        let browser = m.browser();
        let first = m.click(&browser, flow).await;
        let callback = login_bid(&browser, first, &kari).await;
        let html = m.result(&browser, &callback).await;
        assert_eq!(text(&html, "claim-sub"), kari.id, "{flow}");
        assert!(
            text(&html, "result-flow").contains("request object"),
            "{flow}"
        );
    }
}

#[tokio::test]
async fn a_payment_with_an_upfront_permission_shows_its_verified_grant() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let ingrid = m.tp.user("Ingrid").clone();
    m.script_app(&ingrid, AppScript::Approve).await;
    let first = m.click(&browser, "payment").await;
    let callback = login_bis(&m.tp, &browser, first, &ingrid).await;
    let html = m.result(&browser, &callback).await;
    assert_eq!(text(&html, "claim-sub_nnin"), ingrid.nnin);
    let grant: serde_json::Value = serde_json::from_str(&text(&html, "grant")).unwrap();
    assert_eq!(grant["pt"], "payment.v1");
    assert_eq!(grant["rpId"], "demo-merchant");
    assert_eq!(grant["iss"], m.tp.provider.issuers.bis().issuer);
    assert!(text(&html, "check-grant").contains("jwks_uri_grants"));
}

/// Presses the CIBA button and posts its page's NNIN (the first test user's by default):
/// the waiting page's address.
async fn start_ciba(m: &Merchant, browser: &Browser) -> String {
    let html = m.page(browser, "/").await;
    let form = forms(&html)
        .into_iter()
        .find(|f| f.fields.iter().any(|(k, v)| k == "flow" && v == "ciba"))
        .expect("a button for ciba");
    let response = browser
        .http
        .post(format!("{}{}", m.base, form.action))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/ciba");
    let html = m.page(browser, "/ciba").await;
    let nnin = forms(&html)
        .into_iter()
        .find(|f| f.action == "/ciba")
        .and_then(|f| f.fields.into_iter().find(|(k, _)| k == "nnin"))
        .map(|(_, v)| v);
    assert_eq!(nnin.as_deref(), Some(m.tp.users[0].nnin.as_str()));
    let response = m.post(browser, &html, "/ciba").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// Reloads the waiting page as the browser would (it shows the binding message and asks for a
/// reload) until the background poll ends; returns where it leads.
async fn wait_for_ciba(m: &Merchant, browser: &Browser, binding: &str) -> reqwest::Response {
    for _ in 0..40 {
        let response = m.get(browser, "/ciba/wait").await;
        if response.status() != StatusCode::OK {
            return response;
        }
        assert_eq!(response.headers()["refresh"], "2");
        let html = response.text().await.unwrap();
        assert_eq!(text(&html, "binding-message"), binding);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the CIBA poll did not end");
}

#[tokio::test]
async fn ciba_asks_the_customer_in_the_app_with_a_binding_message_and_shows_the_tokens() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.users[0].clone();
    m.script_app(&kari, AppScript::Approve).await;
    let location = start_ciba(&m, &browser).await;
    assert_eq!(location, "/ciba/wait");
    // The app was asked with the binding message the page shows.
    let requests =
        m.tp.store
            .app_requests_of(&kari.id, m.tp.now())
            .await
            .unwrap();
    let binding = requests[0].binding_message.clone();
    assert_eq!(requests[0].client_name, "Demo merchant");
    let response = wait_for_ciba(&m, &browser, &binding).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/result");
    let html = m.page(&browser, "/result").await;
    assert_eq!(text(&html, "claim-iss"), m.tp.provider.issuers.bis().issuer);
    assert_eq!(text(&html, "claim-sub_nnin"), kari.nnin);
    assert!(text(&html, "check-binding-message").contains(&binding));
    assert!(text(&html, "check-acr").contains("urn:bankid:bis;LOA=3"));
    assert!(text(&html, "check-no-nonce").contains("no nonce"));
    for id in ["signature", "iss", "aud", "exp", "iat", "at_hash"] {
        text(&html, &format!("check-{id}"));
    }
    // No redirect, so none of the redirect checks.
    for id in ["state", "iss-response", "nonce", "pkce"] {
        assert!(text_of(&html, &format!("check-{id}")).is_none(), "{id}");
    }
}

#[tokio::test]
async fn ciba_denied_in_the_app_shows_the_typed_error() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.users[0].clone();
    m.script_app(&kari, AppScript::Deny).await;
    start_ciba(&m, &browser).await;
    let requests =
        m.tp.store
            .app_requests_of(&kari.id, m.tp.now())
            .await
            .unwrap();
    let response = wait_for_ciba(&m, &browser, &requests[0].binding_message).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(text(&html, "error"), "access_denied");
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused_and_the_real_one_still_finishes() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.user("Kari").clone();
    let first = m.click(&browser, "bid").await;
    let callback = login_bid(&browser, first, &kari).await;

    let mut forged = callback.clone();
    forged
        .params
        .insert("state".into(), "an-attacker-s-state".into());
    let response = m.deliver(&browser, &forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(text(&html, "error"), "state_mismatch");
    text(&html, "error_description");

    let html = m.result(&browser, &callback).await;
    assert_eq!(text(&html, "claim-sub"), kari.id);
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let kari = m.tp.user("Kari").clone();
    let first = m.click(&browser, "bid").await;
    let callback = login_bid(&browser, first, &kari).await;
    m.result(&browser, &callback).await;
    let response = m.deliver(&browser, &callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(text(&html, "error"), "no_login_in_progress");

    // Nor does it work in another browser, which has no session with the demo.
    let other = m.browser();
    let response = m.deliver(&other, &callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(text(&response.text().await.unwrap(), "error"), "no_session");
}

#[tokio::test]
async fn a_post_without_the_session_s_csrf_token_is_refused() {
    let m = Merchant::start().await;
    let browser = m.browser();
    m.page(&browser, "/").await;
    for (fields, what) in [
        (vec![("flow", "bid")], "no token"),
        (vec![("flow", "bid"), ("csrf", "guessed")], "a wrong token"),
    ] {
        let response = browser
            .http
            .post(format!("{}/start", m.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert_eq!(text(&response.text().await.unwrap(), "error"), "csrf");
    }
    // A browser without the demo's cookie cannot post even with a token from another session.
    let html = m.page(&browser, "/").await;
    let stranger = m.browser();
    let form = forms(&html)
        .into_iter()
        .find(|f| f.action == "/start")
        .unwrap();
    let response = stranger
        .http
        .post(format!("{}/start", m.base))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_are_a_test_tool_in_two_languages_with_strict_headers() {
    let m = Merchant::start().await;
    let browser = m.browser();
    let response = m.get(&browser, "/").await;
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script at all: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("demo_merchant_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"nb\">"));
    assert!(text(&html, "test-banner").contains("Testverktøy"));
    // The iframe flow has its own form, the first test user's NNIN offered as the hint.
    let doc = scraper::Html::parse_document(&html);
    let nnin = doc
        .select(&scraper::Selector::parse("#iframe-nnin").unwrap())
        .next()
        .expect("#iframe-nnin");
    assert_eq!(
        nnin.value().attr("value"),
        Some(m.tp.user("Kari").nnin.as_str())
    );
    assert!(forms(&html).iter().any(|f| f.action == "/iframe"));
    // Every flow has a button that works: none is left disabled.
    let button = doc
        .select(&scraper::Selector::parse("#start-ciba").unwrap())
        .next()
        .expect("#start-ciba");
    assert!(button.value().attr("disabled").is_none());
    assert!(!html.contains(" disabled"), "a disabled control: {html}");

    let html = m.page(&browser, "/?lang=en").await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(text(&html, "test-banner").contains("Test tool"));
    assert_eq!(text(&html, "start-bid"), "BankID");
    // The choice stays with the session.
    let html = m.page(&browser, "/").await;
    assert!(html.contains("<html lang=\"en\">"));
    // Accept-Language for a new visitor.
    let response = m
        .browser()
        .http
        .get(format!("{}/", m.base))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<html lang=\"en\">")
    );
}

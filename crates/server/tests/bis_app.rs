//! The emulated BankID app's web page (`{bis}/app`) over HTTP: sign-in under the login's
//! lockout, the list of requests with what each asks, answers, and the attacks on it (a forged
//! request id, a missing CSRF token, a second answer, framing and caching).

use bankid_oidc_core::b64;
use bankid_oidc_server::app;
use bankid_oidc_server::issuer::Endpoint;
use bankid_oidc_server::store::{AppRequest, AppStatus, Permission, User};
use bankid_oidc_testkit::browser::Browser;
use bankid_oidc_testkit::html::{Form, forms, text_of};
use bankid_oidc_testkit::provider::{CLIENT_ID, TestProvider};
use reqwest::StatusCode;

fn app_url(tp: &TestProvider) -> String {
    tp.provider.issuers.bis().url(Endpoint::App)
}

fn absolute(tp: &TestProvider, action: &str) -> String {
    format!("{}{action}", tp.base)
}

/// The app page in English.
async fn get_page(browser: &Browser, tp: &TestProvider) -> (StatusCode, String) {
    let response = browser
        .http
        .get(app_url(tp))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(
    browser: &Browser,
    tp: &TestProvider,
    form: &Form,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut sent: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(k, _)| !fields.iter().any(|(n, _)| n == k))
        .cloned()
        .collect();
    sent.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    browser
        .http
        .post(absolute(tp, &form.action))
        .header("accept-language", "en")
        .form(&sent)
        .send()
        .await
        .unwrap()
}

/// Signs in on the app's sign-in form; the response to the posted form.
async fn sign_in(
    browser: &Browser,
    tp: &TestProvider,
    user: &User,
    password: &str,
) -> reqwest::Response {
    let (_, html) = get_page(browser, tp).await;
    let form = forms(&html).into_iter().next().expect("the sign-in form");
    post(
        browser,
        tp,
        &form,
        &[("nnin", &user.nnin), ("password", password)],
    )
    .await
}

async fn signed_in(tp: &TestProvider, user: &User) -> Browser {
    let browser = Browser::new(tp);
    let response = sign_in(&browser, tp, user, &user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    browser
}

async fn ask(tp: &TestProvider, user: &User, binding: &str) -> AppRequest {
    let client = tp.provider.client(CLIENT_ID).await.unwrap().unwrap();
    app::ask(&tp.provider, user, &client, binding, None)
        .await
        .unwrap()
}

/// A permission of `type_` with `statement`, registered for the shop.
async fn permission(tp: &TestProvider, type_: &str, statement: serde_json::Value) -> Permission {
    let now = tp.now();
    let bytes = serde_json::to_vec(&statement).unwrap();
    let p = Permission {
        id: format!(
            "1.BY.{}.x",
            b64::encode(bankid_oidc_server::secret::random_token())
        ),
        client_id: CLIENT_ID.into(),
        type_: type_.into(),
        loa: "substantial".into(),
        permission: b64::encode(&bytes),
        digest: "d".into(),
        nonce: None,
        intents: Vec::new(),
        login_hint_nnin: None,
        acr_values: Vec::new(),
        binding_message: "Blå bil".into(),
        iat: now,
        expires_at: now + 300,
        created_at: now,
        token_used_at: None,
        app_request_id: None,
        grant_jwt: None,
    };
    assert!(tp.store.add_permission(&p, now + 300).await.unwrap());
    p
}

/// The answer form of request `id` on the page.
fn answer_form(html: &str, id: &str) -> Form {
    forms(html)
        .into_iter()
        .find(|f| f.fields.iter().any(|(k, v)| k == "request" && v == id))
        .unwrap_or_else(|| panic!("no answer form for {id} in {html}"))
}

async fn status(tp: &TestProvider, id: &str) -> AppStatus {
    app::status(&tp.provider, id).await.unwrap().unwrap()
}

#[tokio::test]
async fn the_list_shows_the_merchant_binding_message_payments_text_and_logins() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = signed_in(&tp, &kari).await;
    let (status, html) = get_page(&browser, &tp).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text_of(&html, "no-requests").is_some(), "{html}");

    let login = ask(&tp, &kari, "Farlig frakk").await;
    let payment = permission(
        &tp,
        "payment.v1",
        serde_json::json!({"nonce": "n1", "id": "p1", "payments": [
            {"paymentId": "1", "amount": "123.45", "currency": "NOK", "creditorName": "Scrooge McDuck"},
            {"paymentId": "2", "amount": "7.00", "currency": "EUR", "creditorName": "Donald Duck"}
        ]}),
    )
    .await;
    let client = tp.provider.client(CLIENT_ID).await.unwrap().unwrap();
    let pay = app::ask(&tp.provider, &kari, &client, "Blå bil", Some(&payment))
        .await
        .unwrap();
    let text = permission(
        &tp,
        "text.v1",
        serde_json::json!({"text": "I agree to the terms"}),
    )
    .await;
    let agree = app::ask(&tp.provider, &kari, &client, "Rød sykkel", Some(&text))
        .await
        .unwrap();

    let (_, html) = get_page(&browser, &tp).await;
    assert_eq!(text_of(&html, "user").as_deref(), Some("Kari Nordmann"));
    let section = |id: &str| text_of(&html, &format!("request-{id}")).unwrap();
    let shown = section(&login.id);
    assert!(shown.contains(&client.name), "{shown}");
    assert!(
        shown.contains("Farlig frakk") && shown.contains("Log in"),
        "{shown}"
    );
    let shown = section(&pay.id);
    assert!(shown.contains("Blå bil"), "{shown}");
    assert!(shown.contains("123.45 NOK to Scrooge McDuck"), "{shown}");
    assert!(shown.contains("7.00 EUR to Donald Duck"), "{shown}");
    let shown = section(&agree.id);
    assert!(shown.contains("I agree to the terms") && shown.contains("Rød sykkel"));
    // Each pending request has its Approve and Deny buttons; the page reloads itself.
    for id in [&login.id, &pay.id, &agree.id] {
        let form = answer_form(&html, id);
        assert!(form.buttons.contains(&("decision".into(), "allow".into())));
        assert!(form.buttons.contains(&("decision".into(), "deny".into())));
    }
    assert!(html.contains(r#"<meta http-equiv="refresh" content="2; url="#));
    // Another user sees none of them.
    let ola = tp.user("Ola").clone();
    let other = signed_in(&tp, &ola).await;
    let (_, html) = get_page(&other, &tp).await;
    assert!(!html.contains("Farlig frakk") && text_of(&html, "no-requests").is_some());
}

#[tokio::test]
async fn approve_and_deny_change_the_status_and_the_list_says_so() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = signed_in(&tp, &kari).await;
    let first = ask(&tp, &kari, "Farlig frakk").await;
    let second = ask(&tp, &kari, "Blå bil").await;
    assert_eq!(status(&tp, &first.id).await, AppStatus::Pending);

    let (_, html) = get_page(&browser, &tp).await;
    let response = post(
        &browser,
        &tp,
        &answer_form(&html, &first.id),
        &[("decision", "allow")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(&tp, &first.id).await, AppStatus::Approved);
    let response = post(
        &browser,
        &tp,
        &answer_form(&html, &second.id),
        &[("decision", "deny")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(&tp, &second.id).await, AppStatus::Denied);
    assert!(
        app::pending(&tp.provider, &kari.id)
            .await
            .unwrap()
            .is_empty()
    );

    let (_, html) = get_page(&browser, &tp).await;
    let shown = text_of(&html, &format!("request-{}", first.id)).unwrap();
    assert!(shown.contains("Approved"), "{shown}");
    let shown = text_of(&html, &format!("request-{}", second.id)).unwrap();
    assert!(shown.contains("Denied"), "{shown}");
    assert!(
        forms(&html)
            .iter()
            .all(|f| !f.fields.iter().any(|(k, _)| k == "request"))
    );
}

#[tokio::test]
async fn a_request_cannot_be_answered_twice_or_after_it_timed_out() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = signed_in(&tp, &kari).await;
    let request = ask(&tp, &kari, "Farlig frakk").await;
    let (_, html) = get_page(&browser, &tp).await;
    let form = answer_form(&html, &request.id);
    let first = post(&browser, &tp, &form, &[("decision", "allow")]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = post(&browser, &tp, &form, &[("decision", "deny")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let html = again.text().await.unwrap();
    assert!(text_of(&html, "error").unwrap().contains("no longer waits"));
    assert_eq!(status(&tp, &request.id).await, AppStatus::Approved);

    let late = ask(&tp, &kari, "Blå bil").await;
    let (_, html) = get_page(&browser, &tp).await;
    let form = answer_form(&html, &late.id);
    tp.advance(tp.provider.config.app_timeout);
    let response = post(&browser, &tp, &form, &[("decision", "allow")]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(status(&tp, &late.id).await, AppStatus::TimedOut);
}

#[tokio::test]
async fn a_user_cannot_answer_another_users_request_by_forging_its_id() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let ola = tp.user("Ola").clone();
    let olas = ask(&tp, &ola, "Farlig frakk").await;
    let karis = ask(&tp, &kari, "Blå bil").await;
    let browser = signed_in(&tp, &kari).await;
    let (_, html) = get_page(&browser, &tp).await;
    let form = answer_form(&html, &karis.id);
    for decision in ["allow", "deny"] {
        let response = post(
            &browser,
            &tp,
            &form,
            &[("request", &olas.id), ("decision", decision)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(status(&tp, &olas.id).await, AppStatus::Pending);
    assert_eq!(status(&tp, &karis.id).await, AppStatus::Pending);
}

#[tokio::test]
async fn posts_without_the_csrf_token_of_their_cookie_are_refused() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = signed_in(&tp, &kari).await;
    let request = ask(&tp, &kari, "Farlig frakk").await;
    let (_, html) = get_page(&browser, &tp).await;
    let form = answer_form(&html, &request.id);
    for csrf in ["", "forged"] {
        let response = post(
            &browser,
            &tp,
            &form,
            &[("csrf", csrf), ("decision", "allow")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    // Another session's token is not this one's.
    let other = signed_in(&tp, &kari).await;
    let (_, other_html) = get_page(&other, &tp).await;
    let other_csrf = answer_form(&other_html, &request.id)
        .fields
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    let response = post(
        &browser,
        &tp,
        &form,
        &[("csrf", &other_csrf), ("decision", "allow")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(status(&tp, &request.id).await, AppStatus::Pending);

    // The sign-in form's token is bound to its own cookie: without it, no sign-in.
    let fresh = Browser::new(&tp);
    let (_, html) = get_page(&fresh, &tp).await;
    let sign_in_form = forms(&html).into_iter().next().unwrap();
    let response = post(
        &fresh,
        &tp,
        &sign_in_form,
        &[
            ("csrf", ""),
            ("nnin", &kari.nnin),
            ("password", &kari.password),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let stranger = Browser::new(&tp);
    let response = post(
        &stranger,
        &tp,
        &sign_in_form,
        &[("nnin", &kari.nnin), ("password", &kari.password)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_wrong_password_counts_against_the_login_lockout_and_a_locked_user_cannot_sign_in() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let response = sign_in(&browser, &tp, &kari, "wrong").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(
        text_of(&html, "error").unwrap().contains("Wrong password"),
        "{html}"
    );
    let stored = tp.store.user(&kari.id).await.unwrap().unwrap();
    assert_eq!(stored.failed_attempts, 1);
    // The right password signs in, and clears no count (one secret of a login's two).
    let response = sign_in(&browser, &tp, &kari, &kari.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stored = tp.store.user(&kari.id).await.unwrap().unwrap();
    assert_eq!(stored.failed_attempts, 1);

    let ola = tp.user("Ola").clone();
    let guesser = Browser::new(&tp);
    for _ in 0..tp.provider.config.max_login_failures {
        let response = sign_in(&guesser, &tp, &ola, "guess").await;
        assert_ne!(response.status(), StatusCode::SEE_OTHER);
    }
    let stored = tp.store.user(&ola.id).await.unwrap().unwrap();
    assert!(stored.is_locked(tp.now()));
    let response = sign_in(&guesser, &tp, &ola, &ola.password).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(
        text_of(&html, "error").unwrap().contains("locked"),
        "{html}"
    );
    // Unknown users are told so, and nobody is signed in.
    let nobody = bankid_oidc_core::nnin::Nnin::synthetic(1990, 1, 1, 999);
    let mut stranger = ola.clone();
    stranger.nnin = nobody.as_str().to_owned();
    let response = sign_in(&guesser, &tp, &stranger, "x").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn app_pages_send_the_security_headers_and_a_strict_cookie_of_their_own() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let check = |headers: &reqwest::header::HeaderMap| {
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"));
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
    };
    let response = browser.http.get(app_url(&tp)).send().await.unwrap();
    check(response.headers());
    let html = response.text().await.unwrap();
    let form = forms(&html).into_iter().next().unwrap();
    let response = post(
        &browser,
        &tp,
        &form,
        &[("nnin", &kari.nnin), ("password", &kari.password)],
    )
    .await;
    let app_path = format!("Path={}", url::Url::parse(&app_url(&tp)).unwrap().path());
    let session_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("bankid_app="))
        .expect("the app's session cookie");
    for part in ["HttpOnly", "SameSite=Strict", &app_path] {
        assert!(session_cookie.contains(part), "{session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "plain http: no Secure");
    let response = browser.http.get(app_url(&tp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    check(response.headers());
    // A refused post is a page with the same headers.
    let html = response.text().await.unwrap();
    let sign_out = forms(&html).into_iter().last().unwrap();
    let refused = post(&browser, &tp, &sign_out, &[("csrf", "x")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    check(refused.headers());
}

#[tokio::test]
async fn sign_out_ends_the_app_session_which_names_no_login_method() {
    let tp = TestProvider::start().await;
    let kari = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let response = sign_in(&browser, &tp, &kari, &kari.password).await;
    let token = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find_map(|c| {
            c.strip_prefix("bankid_app=")
                .map(|rest| rest.split(';').next().unwrap().to_owned())
        })
        .unwrap();
    // The app session names its user but no login method nor authentication time, which the
    // authorization endpoint needs of a session before it takes it for a login.
    let session = tp
        .store
        .session_by_cookie(&bankid_oidc_server::store::StoreKey::of(&token), tp.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user_id.as_deref(), Some(kari.id.as_str()));
    assert_eq!((session.method, session.auth_time), (None, None));

    let (_, html) = get_page(&browser, &tp).await;
    let sign_out = forms(&html).into_iter().last().unwrap();
    assert!(
        sign_out
            .fields
            .contains(&("action".into(), "sign_out".into()))
    );
    let response = post(&browser, &tp, &sign_out, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&browser, &tp).await;
    assert!(
        html.contains(r#"name="password""#),
        "back at the sign-in: {html}"
    );
    assert!(
        tp.store
            .session_by_cookie(&bankid_oidc_server::store::StoreKey::of(&token), tp.now())
            .await
            .unwrap()
            .is_none()
    );
}

//! The login pages under attack: CSRF, session binding, guessing, framing, caching, fixation;
//! and single sign-on with the controls that override it.

use bankid_oidc_server::store::User;
use bankid_oidc_testkit::browser::{Browser, Step};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::jwt::verify_with_jwks;
use bankid_oidc_testkit::oauth::{login_and_redeem, redeem};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::TestProvider;
use reqwest::StatusCode;

#[tokio::test]
async fn login_pages_send_the_security_headers() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let response = browser
        .http
        .get(Pending::new(&[], &[]).url(&tp))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: no Secure flag"
    );
    // The authorization endpoint answers with the first page itself, and the login's own
    // address (where its form posts) shows the same page: both send the headers.
    let first = response.headers().clone();
    let html = response.text().await.unwrap();
    let action = forms(&html)[0].action.clone();
    let page = browser
        .http
        .get(format!("{}{action}", tp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    for h in [&first, page.headers()] {
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn a_post_without_the_right_csrf_token_is_refused() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let step = browser
        .submit(
            &html,
            &[("csrf", "forged"), ("nnin", &tp.user("Kari").nnin)],
            None,
        )
        .await;
    let Step::Page { html, status, .. } = step else {
        panic!("a forged form must not reach the client")
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text_of(&html, "error_description")
            .unwrap()
            .starts_with("csrf")
    );
}

#[tokio::test]
async fn a_login_flow_cannot_be_continued_from_another_browser() {
    let tp = TestProvider::start().await;
    let victim = Browser::new(&tp);
    let (_, html) = Browser::page(victim.get(&Pending::new(&[], &[]).url(&tp)).await);
    // The attacker has the victim's page (flow id and CSRF token) but not the session cookie.
    let attacker = Browser::new(&tp);
    let Step::Page { html, status, .. } = attacker
        .submit(&html, &[("nnin", &tp.user("Kari").nnin)], None)
        .await
    else {
        panic!("must not complete");
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text_of(&html, "error_description")
            .unwrap()
            .contains("another browser session")
    );
}

#[tokio::test]
async fn wrong_code_or_password_shows_a_message_and_five_failures_lock_the_user() {
    let tp = TestProvider::start().await;
    let user = tp.user("Ingrid").clone();
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let (_, mut html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    for attempt in 1..=4 {
        html = Browser::page(browser.submit(&html, &[("otp", "wrong")], None).await).1;
        let message = text_of(&html, "error").unwrap();
        assert!(message.contains("Feil engangskode"), "{message}");
        assert!(message.ends_with(&(5 - attempt).to_string()), "{message}");
    }
    html = Browser::page(browser.submit(&html, &[("otp", "wrong")], None).await).1;
    // The page says until when (UTC), and offers nothing but Cancel: no field, no login button.
    let until = bankid_oidc_server::clock::utc_text(tp.now() + 15 * 60);
    assert_eq!(
        text_of(&html, "error").unwrap(),
        format!("For mange feilforsøk. BankID er sperret til {until}.")
    );
    assert_only_cancel(&html);
    // Locked: even the right code, posted as an attacker would, is refused, and a new login is
    // refused at the NNIN step.
    html = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await).1;
    assert!(text_of(&html, "error").unwrap().contains("sperret"));
    let other = Browser::new(&tp);
    let (_, fresh) = Browser::page(other.get(&Pending::new(&[], &[]).url(&tp)).await);
    let (_, fresh) = Browser::page(other.submit(&fresh, &[("nnin", &user.nnin)], None).await);
    assert!(text_of(&fresh, "error").unwrap().contains(&until));
    assert_only_cancel(&fresh);
    // Cancel takes the user back to the merchant with access_denied.
    let cancelled = other.submit(&fresh, &[], Some(("action", "cancel"))).await;
    let Step::Callback(callback) = cancelled else {
        panic!("cancel must reach the client")
    };
    assert_eq!(callback.get("error"), Some("access_denied"));
    // After the lockout the user can log in again.
    tp.advance(16 * 60);
    let callback = Browser::new(&tp)
        .login_bid(&tp, &Pending::new(&[], &[]), &user)
        .await;
    assert!(callback.get("code").is_some());
}

/// The lockout page's form has one control: Cancel.
fn assert_only_cancel(html: &str) {
    let doc = scraper::Html::parse_document(html);
    let controls: Vec<String> = doc
        .select(&scraper::Selector::parse("form input:not([type=hidden]), form button").unwrap())
        .map(|e| e.html())
        .collect();
    assert_eq!(controls.len(), 1, "{controls:?}");
    assert!(controls[0].contains("value=\"cancel\""), "{controls:?}");
}

#[tokio::test]
async fn wrong_password_counts_towards_the_same_lockout() {
    let tp = TestProvider::start().await;
    let user = tp.user("Ola").clone();
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, mut html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    for _ in 0..5 {
        html = Browser::page(browser.submit(&html, &[("password", "nope")], None).await).1;
    }
    assert!(text_of(&html, "error").unwrap().contains("sperret til"));
    assert_only_cancel(&html);
    let html = Browser::page(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    )
    .1;
    assert!(text_of(&html, "error").unwrap().contains("sperret"));
}

/// A browser at the password step of `user`: the page of that step.
async fn at_password_step(tp: &TestProvider, browser: &Browser, user: &User) -> String {
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    assert!(
        forms(&html)[0]
            .fields
            .iter()
            .any(|(n, v)| n == "step" && v == "password")
    );
    html
}

#[tokio::test]
async fn the_right_password_ends_a_login_only_as_the_store_has_the_user_at_its_end() {
    // The last secret is checked by the login's end itself when nothing can come before it
    // (one read fewer): what another login stored meanwhile must still count.
    let tp = TestProvider::start().await;
    let user = tp.user("Ola").clone();
    let failed = |tp: &TestProvider| {
        let id = user.id.clone();
        let store = tp.store.clone();
        async move { store.user(&id).await.unwrap().unwrap().failed_attempts }
    };
    // A wrong password from another login meanwhile: the right one still logs in, and clears
    // the count, as a right last secret does.
    let (browser, guesser) = (Browser::new(&tp), Browser::new(&tp));
    let html = at_password_step(&tp, &browser, &user).await;
    let guess = at_password_step(&tp, &guesser, &user).await;
    let (_, guess) = Browser::page(guesser.submit(&guess, &[("password", "nope")], None).await);
    assert!(text_of(&guess, "error").unwrap().contains("4"));
    assert_eq!(failed(&tp).await, 1);
    let done = browser
        .submit(&html, &[("password", &user.password)], None)
        .await;
    assert!(!Browser::callback(done).code().is_empty());
    assert_eq!(failed(&tp).await, 0);
    // Locked by another login meanwhile: the right password is refused with the lock, and the
    // login does not end (no code, and its page still offers Cancel).
    let browser = Browser::new(&tp);
    let html = at_password_step(&tp, &browser, &user).await;
    let mut guess = at_password_step(&tp, &guesser, &user).await;
    for _ in 0..5 {
        guess = Browser::page(guesser.submit(&guess, &[("password", "nope")], None).await).1;
    }
    assert!(text_of(&guess, "error").unwrap().contains("sperret til"));
    let (_, refused) = Browser::page(
        browser
            .submit(&html, &[("password", &user.password)], None)
            .await,
    );
    assert!(
        text_of(&refused, "error").unwrap().contains("sperret"),
        "{refused}"
    );
    assert_only_cancel(&refused);
    let cancelled = browser
        .submit(&refused, &[], Some(("action", "cancel")))
        .await;
    assert_eq!(
        Browser::callback(cancelled).get("error"),
        Some("access_denied")
    );
    // A wrong password is never taken for the right one, locked or not.
    tp.advance(16 * 60);
    let browser = Browser::new(&tp);
    let html = at_password_step(&tp, &browser, &user).await;
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("password", "Qwer1234")], None)
            .await,
    );
    assert!(text_of(&html, "error").unwrap().contains("4"), "{html}");
    let done = browser
        .submit(&html, &[("password", &user.password)], None)
        .await;
    assert!(!Browser::callback(done).code().is_empty());
}

#[tokio::test]
async fn invalid_and_unknown_nnins_are_explained_on_the_page() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(
        browser
            .get(&Pending::new(&[("ui_locales", "en")], &[]).url(&tp))
            .await,
    );
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", "15076500566")], None)
            .await,
    );
    assert!(text_of(&html, "error").unwrap().contains("check digits"));
    // The refused value stays in its field, for correcting.
    assert_eq!(nnin_field(&html), "15076500566");
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", "15076500565")], None)
            .await,
    );
    assert!(text_of(&html, "error").unwrap().contains("no test user"));
    assert_eq!(nnin_field(&html), "15076500565");
    // Markup typed into the field comes back as text, never as markup; an overlong value is
    // not sent back at all.
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", "\"><b>x")], None).await);
    assert!(!html.contains("<b>x"), "{html}");
    assert_eq!(nnin_field(&html), "\"><b>x");
    let (_, html) = Browser::page(
        browser
            .submit(&html, &[("nnin", &"1".repeat(5000))], None)
            .await,
    );
    assert_eq!(nnin_field(&html), "");
}

fn nnin_field(html: &str) -> String {
    forms(html)[0]
        .fields
        .iter()
        .find(|(name, _)| name == "nnin")
        .map(|(_, value)| value.clone())
        .expect("an NNIN field")
}

#[tokio::test]
async fn each_posted_step_redirects_to_the_flows_address_whose_get_shows_the_step() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let (_, nnin_page) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let response = browser
        .submit_response(&nnin_page, &[("nnin", &user.nnin)], None)
        .await;
    // Post/redirect/get: the Back button and a reload never ask to send the form again.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let h = response.headers();
    let location = h["location"].to_str().unwrap().to_owned();
    // The address carries the login sealed as it stands after the step: nothing is kept.
    assert!(
        location.contains("/login-actions/") && location.contains("?seal="),
        "{location}"
    );
    assert_eq!(tp.flows.len(tp.now()).await, 0);
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.get("set-cookie").is_none(), "nothing to carry: {h:?}");
    let page = |response: reqwest::Response| async move {
        let h = response.headers().clone();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["cache-control"], "no-store");
        response.text().await.unwrap()
    };
    let url = format!("{}{location}", tp.base);
    let otp_page = page(browser.http.get(&url).send().await.unwrap()).await;
    let form = &forms(&otp_page)[0];
    assert!(form.fields.iter().any(|(n, v)| n == "step" && v == "otp"));
    assert_eq!(form.action, location);
    assert!(text_of(&otp_page, "error").is_none());
    // A reload is a GET of the same address: the same step, nothing sent again.
    let reloaded = page(browser.http.get(&url).send().await.unwrap()).await;
    assert_eq!(forms(&reloaded)[0].fields, form.fields);
    // The next step redirects to the login's address again, sealed as it stands after that
    // step, which shows the password.
    let response = browser
        .submit_response(&otp_page, &[("otp", &user.otp)], None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let next = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(next.split('?').next(), location.split('?').next());
    assert_ne!(next, location);
    let url = format!("{}{next}", tp.base);
    let password_page = page(browser.http.get(&url).send().await.unwrap()).await;
    assert!(
        forms(&password_page)[0]
            .fields
            .iter()
            .any(|(n, v)| n == "step" && v == "password")
    );
}

/// The carried-notice cookie a response sets, `name=value`.
fn carried_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("bankid_oidc_notice="))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_refused_value_travels_to_its_page_sealed_in_a_cookie_read_once_never_in_the_address() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (first_url, html) = Browser::page(
        browser
            .get(&Pending::new(&[("ui_locales", "en")], &[]).url(&tp))
            .await,
    );
    let bad = "15076500566";
    let response = browser.submit_response(&html, &[("nnin", bad)], None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    // Not kept yet: the address still carries the sealed flow, and never the NNIN.
    assert!(location.contains("?seal="), "{location}");
    assert!(!location.contains(bad) && !first_url.contains(bad));
    let cookie = carried_cookie(&response).expect("the notice is carried");
    let flow_path = location.split('?').next().unwrap();
    assert!(
        cookie.contains(&format!(
            "; Path={flow_path}; Max-Age=60; HttpOnly; SameSite=Lax"
        )),
        "{cookie}"
    );
    assert!(!cookie.contains(bad), "sealed: {cookie}");
    // The GET shows the notice and the refused value in its field, and removes the cookie.
    let response = browser
        .http
        .get(format!("{}{location}", tp.base))
        .send()
        .await
        .unwrap();
    let removed = carried_cookie(&response).expect("the cookie is removed");
    assert!(removed.contains("Max-Age=0"), "{removed}");
    let html = response.text().await.unwrap();
    assert!(text_of(&html, "error").unwrap().contains("check digits"));
    assert_eq!(nnin_field(&html), bad);
    // Read once: a reload shows the step as it stands, without the notice.
    let (_, html) = Browser::page(browser.get(&format!("{}{location}", tp.base)).await);
    assert!(text_of(&html, "error").is_none(), "{html}");
    assert_eq!(nnin_field(&html), "");
}

#[tokio::test]
async fn a_carried_notice_shows_only_on_its_own_flows_page_for_its_step_while_fresh() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    // A browser that sends exactly the cookies it is given.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = "bankid_oidc_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let get = |url: String, cookies: String| {
        let http = http.clone();
        async move {
            let response = http
                .get(url)
                .header("cookie", cookies)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        }
    };
    let start = |locale: &'static str| {
        let url = Pending::new(&[("ui_locales", locale)], &[]).url(&tp);
        async move { get(url, session.to_owned()).await }
    };
    let post = |html: String, values: Vec<(&'static str, String)>| {
        let http = http.clone();
        let base = tp.base.clone();
        async move {
            let form = forms(&html).into_iter().next().unwrap();
            let mut fields: Vec<(String, String)> = form
                .fields
                .into_iter()
                .filter(|(k, _)| !values.iter().any(|(n, _)| n == k))
                .collect();
            fields.extend(values.into_iter().map(|(k, v)| (k.to_owned(), v)));
            let response = http
                .post(format!("{base}{}", form.action))
                .header("cookie", session)
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            let carried =
                carried_cookie(&response).map(|c| c.split(';').next().unwrap().to_owned());
            (format!("{base}{location}"), carried)
        }
    };
    let shows_notice = |html: &str| text_of(html, "error").is_some();

    let a = start("en").await;
    let (a_url, carried) = post(a.clone(), vec![("nnin", "15076500565".into())]).await;
    let carried = carried.expect("a notice for the unknown user");
    let with = |carried: &str| format!("{session}; {carried}");
    assert!(shows_notice(&get(a_url.clone(), with(&carried)).await));

    // On another flow's page (the cookie moved there by hand): nothing.
    let b = start("en").await;
    let (b_url, _) = post(b, vec![("nnin", "1507650056".into())]).await;
    assert!(!shows_notice(&get(b_url, with(&carried)).await));

    // Changed by one character: nothing, and the page is shown all the same.
    let mut changed = carried.clone().into_bytes();
    let last = changed.len() - 2;
    changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let html = get(a_url.clone(), with(&changed)).await;
    assert!(!shows_notice(&html) && html.contains("name=\"nnin\""));

    // After its minute: nothing.
    tp.advance(61);
    assert!(!shows_notice(&get(a_url.clone(), with(&carried)).await));

    // For a step the flow has left (the NNIN accepted meanwhile): nothing on the next step.
    let c = start("en").await;
    let (c_url, c_carried) = post(c.clone(), vec![("nnin", "15076500565".into())]).await;
    let c_carried = c_carried.unwrap();
    let c_page = get(c_url.clone(), session.to_owned()).await;
    let (otp_url, _) = post(
        c_page,
        vec![("nnin", user.nnin.clone()), ("method", "BID".into())],
    )
    .await;
    let otp_page = get(otp_url, with(&c_carried)).await;
    assert!(otp_page.contains("name=\"otp\""), "{otp_page}");
    assert!(!shows_notice(&otp_page), "{otp_page}");
}

#[tokio::test]
async fn a_replayed_step_repeats_that_step_and_a_step_cannot_be_skipped() {
    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let (_, nnin_page) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    let (_, otp_page) = Browser::page(
        browser
            .submit(&nnin_page, &[("nnin", &user.nnin)], None)
            .await,
    );
    // Submitting the NNIN page again (a double submit, or after the Back button) repeats that
    // step from its own address: the one-time code is asked again, nothing is skipped.
    let (_, again) = Browser::page(
        browser
            .submit(&nnin_page, &[("nnin", &user.nnin)], None)
            .await,
    );
    assert!(
        forms(&again)[0]
            .fields
            .iter()
            .any(|(n, v)| n == "step" && v == "otp")
    );
    assert!(text_of(&again, "error").is_none());
    // Skipping the one-time code by posting the password step is not possible either.
    let (_, skipped) = Browser::page(
        browser
            .submit(
                &otp_page,
                &[("step", "password"), ("password", &user.password)],
                None,
            )
            .await,
    );
    assert!(
        forms(&skipped)[0]
            .fields
            .iter()
            .any(|(n, v)| n == "step" && v == "otp")
    );
}

#[tokio::test]
async fn a_second_authorize_reuses_the_login_and_a_new_session_id_is_issued_at_login() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let first = Pending::new(&[], &[]);
    // The cookie before login (anonymous) differs from the one after (no session fixation).
    let response = browser.http.get(first.url(&tp)).send().await.unwrap();
    let pre_login_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, html) = Browser::page(browser.follow(response).await);
    let user = tp.user("Kari").clone();
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &user.nnin)], None).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    let response = browser
        .submit_response(&html, &[("password", &user.password)], None)
        .await;
    let post_login_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(pre_login_cookie, post_login_cookie);
    let first_callback = Browser::callback(browser.follow(response).await);
    let first_tokens: serde_json::Value = redeem(&tp, first_callback.code(), &first.verifier)
        .await
        .json()
        .await
        .unwrap();

    let second = Pending::new(&[], &[]);
    let callback = Browser::callback(browser.get(&second.url(&tp)).await);
    let tokens: serde_json::Value = redeem(&tp, callback.code(), &second.verifier)
        .await
        .json()
        .await
        .unwrap();
    let a = verify_with_jwks(&tp, first_tokens["id_token"].as_str().unwrap()).await;
    let b = verify_with_jwks(&tp, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(a["sid"], b["sid"]);
    assert_eq!(b["nonce"], second.nonce);
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_login() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    login_and_redeem(&tp, &browser, &[]).await;
    let step = browser
        .get(&Pending::new(&[("prompt", "login")], &[]).url(&tp))
        .await;
    assert!(
        matches!(step, Step::Page { .. }),
        "prompt=login must show the login page"
    );
    // max_age: a login 10 seconds old is too old for max_age=5, fresh enough for max_age=60.
    tp.advance(10);
    assert!(matches!(
        browser
            .get(&Pending::new(&[("max_age", "5")], &[]).url(&tp))
            .await,
        Step::Page { .. }
    ));
    assert!(matches!(
        browser
            .get(&Pending::new(&[("max_age", "60")], &[]).url(&tp))
            .await,
        Step::Callback(_)
    ));
}

#[tokio::test]
async fn sso_does_not_cross_to_a_method_the_request_excludes() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    login_and_redeem(&tp, &browser, &[]).await;
    let step = browser
        .get(&Pending::new(&[("login_hint", "BIS")], &[]).url(&tp))
        .await;
    assert!(
        matches!(step, Step::Page { .. }),
        "a BID session does not satisfy login_hint=BIS"
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_returns_login_required() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("prompt", "none")], &[]);
    let callback = Browser::callback(browser.get(&pending.url(&tp)).await);
    assert_eq!(callback.error(), "login_required");
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    login_and_redeem(&tp, &browser, &[]).await;
    let callback = Browser::callback(
        browser
            .get(&Pending::new(&[("prompt", "none")], &[]).url(&tp))
            .await,
    );
    assert!(callback.get("code").is_some());
}

#[tokio::test]
async fn an_expired_login_flow_cannot_be_finished() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let user = tp.user("Kari").clone();
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    tp.advance(11 * 60);
    let Step::Page { html, status, .. } =
        browser.submit(&html, &[("nnin", &user.nnin)], None).await
    else {
        panic!()
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text_of(&html, "error_description")
            .unwrap()
            .contains("expired")
    );
}

/// Drives a new browser to the one-time code step of `user`; returns the browser and the page.
async fn at_code_step(tp: &TestProvider, nnin: &str) -> (Browser, String) {
    let browser = Browser::new(tp);
    let (_, html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(tp)).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", nnin)], None).await);
    assert!(
        forms(&html)[0]
            .fields
            .iter()
            .any(|(n, v)| n == "step" && v == "otp"),
        "{html}"
    );
    (browser, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guessed_codes_is_compared_at_most_max_failures_times() {
    let tp = TestProvider::start().await;
    let user = tp.user("Ingrid").clone();
    let max = tp.provider.config.max_login_failures;
    // 30 logins of one user, each at its one-time code step; then 29 wrong codes and the right
    // one, all sent at once (the right one last, so that it arrives after the lock).
    let mut logins = Vec::new();
    for _ in 0..30 {
        logins.push(at_code_step(&tp, &user.nnin).await);
    }
    let burst = logins.into_iter().enumerate().map(|(i, (browser, html))| {
        let otp = if i == 29 {
            user.otp.clone()
        } else {
            format!("guess-{i}")
        };
        async move {
            let (_, html) = Browser::page(browser.submit(&html, &[("otp", &otp)], None).await);
            html
        }
    });
    let pages = futures_join_all(burst).await;
    let step_of = |html: &str| {
        forms(html)[0]
            .fields
            .iter()
            .find(|(n, _)| n == "step")
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let accepted = step_of(&pages[29]) == "password";
    // Every wrong code compared is a failure in the store; the ones refused unread are not.
    let stored = tp.store.user(&user.id).await.unwrap().unwrap();
    let wrong_compared = stored.failed_attempts;
    assert!(
        wrong_compared <= max,
        "{wrong_compared} wrong codes were compared; the limit is {max}"
    );
    let told_wrong = pages[..29]
        .iter()
        .filter(|html| text_of(html, "error").unwrap().contains("Feil engangskode"))
        .count() as i64;
    assert!(told_wrong < max, "{told_wrong} pages said 'wrong code'");
    // The right code may be accepted when it was compared before the lock (a person typing
    // while someone guesses); which came first is the scheduler's choice. What must hold
    // either way: once `max` wrong codes were compared the user is locked, and the right code
    // is refused then.
    if wrong_compared == max {
        assert!(stored.is_locked(bankid_oidc_server::clock::Clock::now(tp.clock.as_ref())));
    }
    if !accepted {
        assert!(text_of(&pages[29], "error").unwrap().contains("sperret"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_codes_sent_at_once_by_parallel_tests_never_lock_their_user() {
    let tp = TestProvider::start().await;
    let user = tp.user("Ingrid").clone();
    // A test suite logs one test user in 20 times in parallel.
    let mut logins = Vec::new();
    for _ in 0..20 {
        logins.push(at_code_step(&tp, &user.nnin).await);
    }
    let otp = user.otp.clone();
    let burst = logins.into_iter().map(|(browser, html)| {
        let otp = otp.clone();
        async move {
            let (_, html) = Browser::page(browser.submit(&html, &[("otp", &otp)], None).await);
            html
        }
    });
    for html in futures_join_all(burst).await {
        let step = forms(&html)[0]
            .fields
            .iter()
            .find(|(n, _)| n == "step")
            .map(|(_, v)| v.clone());
        assert_eq!(
            step.as_deref(),
            Some("password"),
            "{:?}",
            text_of(&html, "error")
        );
    }
    let stored = tp.store.user(&user.id).await.unwrap().unwrap();
    assert_eq!((stored.failed_attempts, stored.locked_until), (0, None));
}

/// Runs futures concurrently on the test's runtime.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_refused_nnin_is_explained_wholly_in_norwegian_on_a_norwegian_page() {
    let tp = TestProvider::start().await;
    let browser = Browser::new(&tp);
    let (_, mut html) = Browser::page(browser.get(&Pending::new(&[], &[]).url(&tp)).await);
    for (nnin, rule) in [
        ("15076500566", "kontrollsifrene stemmer ikke (modulus 11)"),
        ("0101", "et fødselsnummer har nøyaktig 11 sifre"),
        ("0101001235a", "et fødselsnummer har bare sifrene 0-9"),
        (
            "32010012356",
            "de seks første sifrene er ikke en fødselsdato (DDMMÅÅ)",
        ),
    ] {
        html = Browser::page(browser.submit(&html, &[("nnin", nnin)], None).await).1;
        assert_eq!(
            text_of(&html, "error").unwrap(),
            format!("Fødselsnummeret er ikke gyldig: {rule}.")
        );
    }
}

//! Scripted outcomes of the realm logins (issue 19, point 6): under `--test-controls`, a test
//! user's next login ends with a chosen error at the client's redirect_uri, once, so that a
//! merchant's error paths can be tested without a person.

use bankid_oidc_server::store::{LoginScript, User};
use bankid_oidc_testkit::browser::{Browser, Callback};
use bankid_oidc_testkit::pending::Pending;
use bankid_oidc_testkit::provider::TestProvider;
use reqwest::StatusCode;
use serde_json::{Value, json};

const OUTCOMES: [&str; 4] = [
    "access_denied",
    "login_required",
    "server_error",
    "temporarily_unavailable",
];

async fn with_controls() -> TestProvider {
    TestProvider::start_with(|c| c.test_controls = true).await
}

async fn script(tp: &TestProvider, nnin: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/test-controls/users/{nnin}/next-login", tp.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A netcentric BankID login up to the NNIN step: a scripted outcome ends it there.
async fn login_to_nnin(tp: &TestProvider, browser: &Browser, pending: &Pending) -> Callback {
    let nnin = &tp.user("Kari").nnin;
    let (_, html) = Browser::page(browser.get(&pending.url(tp)).await);
    Browser::callback(
        browser
            .submit(&html, &[("nnin", nnin)], Some(("method", "BID")))
            .await,
    )
}

/// Whether the store's reads of the user (by id, by NNIN, by phone) say a script waits.
async fn scripted(tp: &TestProvider, user: &User) -> bool {
    let by_id = tp.store.user(&user.id).await.unwrap().unwrap();
    let by_nnin = tp.store.user_by_nnin(&user.nnin).await.unwrap().unwrap();
    let phone = user.phone.as_deref().unwrap();
    let by_phone = tp.store.users_by_phone(phone).await.unwrap();
    let by_phone = by_phone.iter().find(|u| u.id == user.id).unwrap();
    assert_eq!(by_id.next_login_scripted, by_nnin.next_login_scripted);
    assert_eq!(by_id.next_login_scripted, by_phone.next_login_scripted);
    by_id.next_login_scripted
}

fn assert_error_at_redirect_uri(
    tp: &TestProvider,
    pending: &Pending,
    callback: &Callback,
    error: &str,
) {
    assert_eq!(callback.get("error"), Some(error));
    assert!(callback.get("error_description").is_some());
    assert_eq!(callback.get("state"), Some(pending.state.as_str()));
    assert_eq!(callback.get("iss"), Some(tp.issuer.as_str()));
    assert_eq!(callback.get("code"), None);
}

#[tokio::test]
async fn each_scripted_outcome_reaches_the_redirect_uri_with_state_and_iss_once() {
    let tp = with_controls().await;
    let user = tp.user("Kari").clone();
    for outcome in OUTCOMES {
        let response = script(&tp, &user.nnin, json!({ "outcome": outcome })).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["outcome"], outcome);
        // A login takes a script only where the user's read says one waits.
        assert!(scripted(&tp, &user).await, "{outcome}: the read shows it");
        let browser = Browser::new(&tp);
        let pending = Pending::new(&[], &[]);
        let callback = login_to_nnin(&tp, &browser, &pending).await;
        assert_error_at_redirect_uri(&tp, &pending, &callback, outcome);
        assert!(!scripted(&tp, &user).await, "{outcome}: taken");
        // Used once: the next login goes through.
        let pending = Pending::new(&[], &[]);
        let callback = Browser::new(&tp).login_bid(&tp, &pending, &user).await;
        assert!(
            !callback.code().is_empty(),
            "{outcome}: the next login succeeds"
        );
    }
}

#[tokio::test]
async fn bankid_on_mobile_ends_with_the_scripted_outcome_after_the_phone_step() {
    let tp = with_controls().await;
    let nnin = tp.user("Kari").nnin.clone();
    script(&tp, &nnin, json!({ "outcome": "access_denied" })).await;
    let browser = Browser::new(&tp);
    let pending = Pending::new(&[("login_hint", "BIM")], &[]);
    let (_, html) = Browser::page(browser.get(&pending.url(&tp)).await);
    let callback = Browser::callback(
        browser
            .submit(
                &html,
                &[("phone", "48000001"), ("birthdate", "150385")],
                None,
            )
            .await,
    );
    assert_error_at_redirect_uri(&tp, &pending, &callback, "access_denied");
    assert_eq!(
        tp.store.login_script(&tp.user("Kari").id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_session_user_with_a_scripted_login_required_is_refused_as_a_silent_login_is() {
    let tp = with_controls().await;
    let user = tp.user("Kari").clone();
    let browser = Browser::new(&tp);
    let first = Pending::new(&[], &[]);
    assert!(
        !browser
            .login_bid(&tp, &first, &user)
            .await
            .code()
            .is_empty()
    );
    script(&tp, &user.nnin, json!({ "outcome": "login_required" })).await;
    // prompt=none with a live session: BankID's refusal of a silent login, word for word.
    let silent = Pending::new(&[("prompt", "none")], &[]);
    let callback = Browser::callback(browser.get(&silent.url(&tp)).await);
    assert_error_at_redirect_uri(&tp, &silent, &callback, "login_required");
    let without_session = Browser::callback(
        Browser::new(&tp)
            .get(&Pending::new(&[("prompt", "none")], &[]).url(&tp))
            .await,
    );
    assert_eq!(
        callback.get("error_description"),
        without_session.get("error_description")
    );
    // The session is still there: the next silent login gets a code.
    let again = Pending::new(&[("prompt", "none")], &[]);
    assert!(
        !Browser::callback(browser.get(&again.url(&tp)).await)
            .code()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unknown_outcome_is_refused_naming_the_parameter_and_the_accepted_values() {
    let tp = with_controls().await;
    let nnin = tp.user("Kari").nnin.clone();
    let response = script(&tp, &nnin, json!({ "outcome": "denied" })).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "outcome: 'denied' is not an outcome; use one of access_denied, login_required, \
         server_error, temporarily_unavailable, or none to clear"
    );
    let response = script(&tp, &nnin, json!({})).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("outcome: required"),
        "{body}"
    );
    let response = script(&tp, "01017012345", json!({ "outcome": "access_denied" })).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Nothing was scripted: the login goes through.
    let user = tp.user("Kari").clone();
    let pending = Pending::new(&[], &[]);
    assert!(
        !Browser::new(&tp)
            .login_bid(&tp, &pending, &user)
            .await
            .code()
            .is_empty()
    );
}

#[tokio::test]
async fn a_script_is_cleared_with_none() {
    let tp = with_controls().await;
    let user = tp.user("Kari").clone();
    script(&tp, &user.nnin, json!({ "outcome": "server_error" })).await;
    let response = script(&tp, &user.nnin, json!({ "outcome": "none" })).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pending = Pending::new(&[], &[]);
    assert!(
        !Browser::new(&tp)
            .login_bid(&tp, &pending, &user)
            .await
            .code()
            .is_empty()
    );
}

#[tokio::test]
async fn without_test_controls_the_control_does_not_exist() {
    let tp = TestProvider::start().await;
    let nnin = tp.user("Kari").nnin.clone();
    let response = script(&tp, &nnin, json!({ "outcome": "access_denied" })).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let pending = Pending::new(&[], &[]);
    let user = tp.user("Kari").clone();
    assert!(
        !Browser::new(&tp)
            .login_bid(&tp, &pending, &user)
            .await
            .code()
            .is_empty()
    );
}

#[tokio::test]
async fn of_two_logins_at_once_one_takes_the_script() {
    let tp = TestProvider::start().await;
    let id = tp.user("Kari").id.clone();
    tp.store
        .set_login_script(&id, Some(LoginScript::ServerError))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        tp.store.take_login_script(&id),
        tp.store.take_login_script(&id)
    );
    let taken: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(taken, vec![LoginScript::ServerError]);
}

//! The iframe flow (seed 004) over HTTP: every refusal of `iframe-authorize`, the single use and
//! the 60 seconds of its `authorize_uri`, the headers of the flow's pages, and a login that ends
//! in a code redeemed at the BIS token endpoint. The browser's side is `browser_iframe.rs`.

mod iframe_common;

use bankid_oidc_server::store::{AppScript, AppStatus};
use bankid_oidc_testkit::html::forms;
use bankid_oidc_testkit::oauth::redeem_with_endpoint;
use bankid_oidc_testkit::provider::{
    MACHINE_CLIENT_ID, OTHER_CLIENT_ID, REDIRECT_URI, TestProvider,
};
use iframe_common::*;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use serde_json::Value;

const FRAME: &str = "https://shop.example";

struct Shop {
    tp: TestProvider,
    token: String,
}

async fn shop() -> Shop {
    let tp = TestProvider::start().await;
    register_shop(&tp, REDIRECT_URI, ALL_SCOPES).await;
    let token = token_of(&tp, SHOP, SHOP_SECRET).await;
    Shop { tp, token }
}

/// A valid form for a new permission of the shop for Kari.
async fn valid_form(s: &Shop) -> Vec<(String, String)> {
    let user = s.tp.user("Kari").clone();
    let (_, permission_token) = permission(&s.tp, SHOP, &user, 300).await;
    iframe_form(&pending(), REDIRECT_URI, &permission_token, FRAME)
}

async fn refused(response: reqwest::Response, status: StatusCode, error: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body["error_description"].as_str().unwrap().to_owned()
}

fn changed(form: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut form: Vec<_> = form.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(value) = value {
        form.push((name.into(), value.into()));
    }
    form
}

#[tokio::test]
async fn bis_discovery_publishes_the_iframe_authorize_endpoint() {
    let tp = TestProvider::start().await;
    let doc = bis_doc(&tp).await;
    let endpoint = doc["iframe_authorize_endpoint"].as_str().unwrap();
    assert!(endpoint.starts_with(doc["issuer"].as_str().unwrap()));
}

#[tokio::test]
async fn iframe_authorize_without_a_token_is_refused_with_invalid_token() {
    let s = shop().await;
    let form = valid_form(&s).await;
    let response = iframe_authorize(&s.tp, None, &form).await;
    assert!(response.headers().contains_key("www-authenticate"));
    refused(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let response = iframe_authorize(&s.tp, Some("not-a-token"), &form).await;
    refused(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn iframe_authorize_with_a_token_without_permissions_iframe_is_refused() {
    let tp = TestProvider::start().await;
    register_shop(&tp, REDIRECT_URI, "openid profile permissions/client").await;
    let token = token_of(&tp, SHOP, SHOP_SECRET).await;
    let user = tp.user("Kari").clone();
    let (_, pt) = permission(&tp, SHOP, &user, 300).await;
    let form = iframe_form(&pending(), REDIRECT_URI, &pt, FRAME);
    let response = iframe_authorize(&tp, Some(&token), &form).await;
    let d = refused(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    assert!(d.contains("permissions/iframe"), "{d}");
}

#[tokio::test]
async fn iframe_authorize_refuses_a_missing_or_invalid_field() {
    let s = shop().await;
    let form = valid_form(&s).await;
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("login_hint_token", None, "login_hint_token"),
        ("login_hint_token", Some("garbage"), "login_hint_token"),
        ("frame_ancestor", None, "frame_ancestor"),
        ("scope", None, "scope"),
        ("scope", Some("profile"), "openid"),
        ("scope", Some("openid nnin"), "scope"),
        ("redirect_uri", None, "redirect_uri"),
        (
            "redirect_uri",
            Some("https://evil.example/cb"),
            "redirect_uri",
        ),
        ("state", None, "state"),
        ("nonce", None, "nonce"),
        ("code_challenge", None, "code_challenge"),
        (
            "code_challenge_method",
            Some("plain"),
            "code_challenge_method",
        ),
        ("response_type", Some("token"), "response_type"),
        ("client_id", Some(OTHER_CLIENT_ID), "client_id"),
    ];
    for (name, value, named) in cases {
        let response = iframe_authorize(&s.tp, Some(&s.token), &changed(&form, name, *value)).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{name}={value:?}"
        );
        let body: Value = response.json().await.unwrap();
        let d = body["error_description"].as_str().unwrap();
        assert!(d.contains(named), "{name}={value:?}: {body}");
    }
    // None of these burnt the permission: the form is still accepted.
    authorize_uri(&s.tp, &s.token, &form).await;
}

#[tokio::test]
async fn iframe_authorize_refuses_every_frame_ancestor_that_is_not_an_origin() {
    let s = shop().await;
    let form = valid_form(&s).await;
    for bad in [
        "https://shop.example/",
        "https://shop.example/path",
        "https://shop.example?q",
        "https://shop.example#f",
        "https://user@shop.example",
        "https://*.shop.example",
        "*",
        "https://shop.example https://evil.example",
        "'self'",
        "https://shop.example; script-src *",
        "https://shop.example,https://evil.example",
        "http://shop.example",
        "javascript://x",
        "shop.example",
    ] {
        let response = iframe_authorize(
            &s.tp,
            Some(&s.token),
            &changed(&form, "frame_ancestor", Some(bad)),
        )
        .await;
        let d = refused(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(d.starts_with("frame_ancestor"), "{bad}: {d}");
    }
}

#[tokio::test]
async fn iframe_authorize_refuses_a_permission_of_another_client_a_used_one_and_an_expired_one() {
    let s = shop().await;
    let user = s.tp.user("Kari").clone();
    let (_, other) = permission(&s.tp, MACHINE_CLIENT_ID, &user, 300).await;
    let form = iframe_form(&pending(), REDIRECT_URI, &other, FRAME);
    let d = refused(
        iframe_authorize(&s.tp, Some(&s.token), &form).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(d.contains("another client"), "{d}");

    let form = valid_form(&s).await;
    authorize_uri(&s.tp, &s.token, &form).await;
    let d = refused(
        iframe_authorize(&s.tp, Some(&s.token), &form).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(d.contains("used before"), "{d}");

    let (_, expiring) = permission(&s.tp, SHOP, &user, 30).await;
    s.tp.advance(31);
    let form = iframe_form(&pending(), REDIRECT_URI, &expiring, FRAME);
    let d = refused(
        iframe_authorize(&s.tp, Some(&s.token), &form).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(d.contains("expired"), "{d}");
}

fn assert_framed_by(response: &reqwest::Response, origin: &str) {
    let csp = response.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains(&format!("frame-ancestors {origin};")), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        !response.headers().contains_key(X_FRAME_OPTIONS),
        "X-Frame-Options would contradict the CSP"
    );
}

#[tokio::test]
async fn the_authorize_uri_works_once() {
    let s = shop().await;
    let uri = authorize_uri(&s.tp, &s.token, &valid_form(&s).await).await;
    let first = reqwest::get(&uri).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_framed_by(&first, FRAME);
    let replay = reqwest::get(&uri).await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_framed_by(&replay, FRAME);
    assert!(replay.text().await.unwrap().contains("used already"));
}

#[tokio::test]
async fn the_authorize_uri_expires_after_60_seconds() {
    let s = shop().await;
    let uri = authorize_uri(&s.tp, &s.token, &valid_form(&s).await).await;
    s.tp.advance(61);
    let late = reqwest::get(&uri).await.unwrap();
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert_framed_by(&late, FRAME);
    assert!(late.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn the_flows_pages_are_framed_by_frame_ancestor_and_every_other_page_by_nobody() {
    let s = shop().await;
    let user = s.tp.user("Kari").clone();
    script(&s.tp, &user, AppScript::Approve, 30).await;
    let uri = authorize_uri(&s.tp, &s.token, &valid_form(&s).await).await;
    let page = reqwest::get(&uri).await.unwrap();
    assert_framed_by(&page, FRAME);
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains(&format!("data-frame-ancestor=\"{FRAME}\"")));
    let form = forms(&html).remove(0);
    // The NNIN is pre-filled from the permission's login hint.
    assert!(
        form.fields
            .iter()
            .any(|(k, v)| k == "nnin" && *v == user.nnin)
    );
    let action = format!("{}{}", s.tp.base, form.action.replace("&amp;", "&"));
    let mut fields = form.fields.clone();
    fields.push(("method".into(), "BIS".into()));
    let waiting = reqwest::Client::new()
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(waiting.status(), StatusCode::OK);
    assert_framed_by(&waiting, FRAME);
    let html = waiting.text().await.unwrap();
    assert!(html.contains("data-state=\"waiting\""), "{html}");
    assert!(html.contains("Farlig frakk"));

    // A form without the frame key is refused, and that page too is framed by the merchant.
    let stolen = action.split('?').next().unwrap();
    let refused = reqwest::Client::new()
        .post(stolen)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_framed_by(&refused, FRAME);

    // Every other page refuses frames.
    let other = reqwest::get(format!(
        "{}?client_id=nobody",
        s.tp.authorization_endpoint()
    ))
    .await
    .unwrap();
    let csp = other.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(other.headers()[X_FRAME_OPTIONS], "DENY");

    // The script is a file of the provider's origin, cached for long.
    let script_url = scraper_script(&html);
    let script = reqwest::get(format!("{}{script_url}", s.tp.base))
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        script.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
}

#[tokio::test]
async fn each_step_in_the_frame_redirects_to_a_get_with_its_notice_sealed_in_the_address() {
    let s = shop().await;
    let user = s.tp.user("Kari").clone();
    script(&s.tp, &user, AppScript::Approve, 30).await;
    let uri = authorize_uri(&s.tp, &s.token, &valid_form(&s).await).await;
    let html = reqwest::get(&uri).await.unwrap().text().await.unwrap();
    let form = forms(&html).remove(0);
    let action = format!("{}{}", s.tp.base, form.action.replace("&amp;", "&"));
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |nnin: &str| {
        let mut fields = changed(&form.fields, "nnin", Some(nnin));
        fields.push(("method".into(), "BIS".into()));
        no_redirects.post(&action).form(&fields).send()
    };
    // An NNIN of nobody: a 303 to the frame's page, its notice sealed in the address, and
    // never the NNIN there.
    let unknown = "15076500565";
    let response = post(unknown).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("?k=") && location.contains("&n="),
        "{location}"
    );
    assert!(!location.contains(unknown), "{location}");
    let page = reqwest::get(format!("{}{location}", s.tp.base))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_framed_by(&page, FRAME);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"error\""), "{html}");
    // A notice changed by one character shows the step without it.
    let mut changed_location = location.clone();
    changed_location.insert(changed_location.len() - 3, 'x');
    let html = reqwest::get(format!("{}{changed_location}", s.tp.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"error\"") && html.contains("name=\"nnin\""));
    // The user's own NNIN: a 303 without a notice, whose GET shows the waiting step.
    let response = post(&user.nnin).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(!location.contains("&n="), "{location}");
    let page = reqwest::get(format!("{}{location}", s.tp.base))
        .await
        .unwrap();
    assert_framed_by(&page, FRAME);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-state=\"waiting\""), "{html}");
}

fn scraper_script(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("script[src]").unwrap();
    doc.select(&sel)
        .next()
        .unwrap()
        .value()
        .attr("src")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_approved_iframe_login_ends_with_a_code_for_the_bis_token_endpoint() {
    let s = shop().await;
    let user = s.tp.user("Kari").clone();
    script(&s.tp, &user, AppScript::Approve, 0).await;
    let p = pending();
    let (permission, pt) = permission(&s.tp, SHOP, &user, 300).await;
    let form = iframe_form(&p, REDIRECT_URI, &pt, FRAME);
    let uri = authorize_uri(&s.tp, &s.token, &form).await;
    let html = reqwest::get(&uri).await.unwrap().text().await.unwrap();
    let step = forms(&html).remove(0);
    let mut fields = step.fields.clone();
    fields.push(("method".into(), "BIS".into()));
    let action = format!("{}{}", s.tp.base, step.action.replace("&amp;", "&"));
    let leave = reqwest::Client::new()
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_framed_by(&leave, FRAME);
    let html = leave.text().await.unwrap();
    assert!(html.contains("data-outcome=\"granted\""), "{html}");
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#iframe-flow").unwrap();
    let redirect = doc
        .select(&sel)
        .next()
        .unwrap()
        .value()
        .attr("data-redirect")
        .unwrap()
        .to_owned();
    let url = url::Url::parse(&redirect).unwrap();
    assert!(redirect.starts_with(REDIRECT_URI));
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["state"], p.state);
    let token_endpoint = bis_doc(&s.tp).await["token_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = redeem_with_endpoint(
        &token_endpoint,
        SHOP,
        SHOP_SECRET,
        &q["code"],
        &p.verifier,
        REDIRECT_URI,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The permission's app request is linked (`app::ask`) and approved: its grant is
    // readable as for any BIS login.
    let kept =
        s.tp.store
            .permission(&permission.id)
            .await
            .unwrap()
            .unwrap();
    let request = kept
        .app_request_id
        .expect("the app was asked for the permission");
    assert_eq!(
        bankid_oidc_server::app::status(&s.tp.provider, &request)
            .await
            .unwrap(),
        Some(AppStatus::Approved)
    );
}

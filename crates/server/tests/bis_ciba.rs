//! CIBA at the BankID with biometrics issuer (poll mode), over HTTP: a merchant's backend names
//! the user (a permission token or an NNIN), the user's app answers (through the provider's
//! `app` module or a scripted answer, as the app's web page and CLI would), and the merchant
//! polls the token endpoint. The clock is the provider's test clock: no test sleeps.

use bankid_oidc_core::b64;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_core::token_hash::sha256_b64;
use bankid_oidc_server::app;
use bankid_oidc_server::permission_token;
use bankid_oidc_server::registration::check_client;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{AppAnswer, AppRequest, AppScript, AppScripted, Permission, User};
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, TestProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A terminal registered for CIBA (`clients add --grant-type urn:openid:params:grant-type:ciba
/// --grant-type client_credentials --scope "openid profile sub_nnin permissions/ciba
/// permissions/client"`): it registers permissions and reads their grants too.
const TERMINAL: &str = "terminal";
const TERMINAL_SECRET: &str = "terminal-secret-0123456789-abcdefghijkl";
/// A second CIBA client, to try the first one's requests.
const RIVAL: &str = "rival-terminal";
const RIVAL_SECRET: &str = "rival-secret-0123456789-abcdefghijklmnop";
/// Registered for the CIBA grant type but not the scope `permissions/ciba` (stored without the
/// registration rules, as a database edited by hand could hold it).
const NO_SCOPE: &str = "no-ciba-scope";

struct Bis {
    backchannel: String,
    token: String,
    permissions: String,
    jwks_uri: String,
}

async fn start() -> (TestProvider, Bis) {
    let tp = TestProvider::start().await;
    for (id, secret, scopes) in [
        (
            TERMINAL,
            TERMINAL_SECRET,
            "openid profile sub_nnin permissions/ciba permissions/client",
        ),
        (RIVAL, RIVAL_SECRET, "openid permissions/ciba"),
        (NO_SCOPE, TERMINAL_SECRET, "openid"),
    ] {
        let mut client = new_client(
            id,
            secret,
            Vec::new(),
            ScopeSet::parse(scopes).unwrap(),
            tp.now(),
        );
        client.name = "Kiosk".into();
        client.grant_types = vec![GrantType::Ciba, GrantType::ClientCredentials];
        if id != NO_SCOPE {
            check_client(&client).unwrap();
        }
        assert!(tp.store.add_client(&client).await.unwrap());
    }
    let issuer = tp.provider.issuers.bis().issuer.clone();
    let doc: Value = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = |name: &str| doc[name].as_str().unwrap().to_owned();
    let bis = Bis {
        backchannel: url("backchannel_authentication_endpoint"),
        token: url("token_endpoint"),
        permissions: url("permissions_endpoint"),
        jwks_uri: url("jwks_uri"),
    };
    (tp, bis)
}

/// A text permission of `client_id` naming `user`, with its permission token.
async fn register_permission(
    tp: &TestProvider,
    client_id: &str,
    user: &User,
    exp_in: i64,
) -> (Permission, String) {
    let now = tp.now();
    let id = bankid_oidc_core::permission_request::permission_id(
        &bankid_oidc_server::secret::random_bytes(),
        &bankid_oidc_server::secret::random_bytes(),
    );
    let text = serde_json::to_string(&json!({"text": "Hent pakke 42 i kassa"})).unwrap();
    let permission = Permission {
        id,
        client_id: client_id.into(),
        type_: "text.v1".into(),
        loa: "sub".into(),
        permission: b64::encode(&text),
        digest: sha256_b64(&text),
        nonce: None,
        intents: vec!["ciba".into()],
        login_hint_nnin: Some(user.nnin.clone()),
        acr_values: vec!["urn:bankid:bis".into()],
        binding_message: "Modig laks".into(),
        iat: now,
        expires_at: now + exp_in,
        created_at: now,
        token_used_at: None,
        app_request_id: None,
        grant_jwt: None,
    };
    assert!(tp.store.add_permission(&permission, now).await.unwrap());
    let token = permission_token::issue(&tp.provider, &permission);
    (permission, token)
}

async fn post(url: &str, client: (&str, &str), form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .basic_auth(client.0, Some(client.1))
        .form(form)
        .send()
        .await
        .unwrap()
}

const TERMINAL_AUTH: (&str, &str) = (TERMINAL, TERMINAL_SECRET);

/// Starts a CIBA request; returns the answer's body.
async fn authenticate(bis: &Bis, form: &[(&str, &str)]) -> Value {
    let response = post(&bis.backchannel, TERMINAL_AUTH, form).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn with_token(bis: &Bis, token: &str) -> String {
    let body = authenticate(
        bis,
        &[("scope", "openid profile"), ("login_hint_token", token)],
    )
    .await;
    body["auth_req_id"].as_str().unwrap().to_owned()
}

async fn poll_as(bis: &Bis, client: (&str, &str), auth_req_id: &str) -> (StatusCode, Value) {
    let response = post(
        &bis.token,
        client,
        &[
            ("grant_type", "urn:openid:params:grant-type:ciba"),
            ("auth_req_id", auth_req_id),
        ],
    )
    .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    (response.status(), response.json().await.unwrap())
}

async fn poll(bis: &Bis, auth_req_id: &str) -> (StatusCode, Value) {
    poll_as(bis, TERMINAL_AUTH, auth_req_id).await
}

/// Asserts a poll's refusal: 400, `error`, a description naming `auth_req_id`.
async fn poll_refused(bis: &Bis, auth_req_id: &str, error: &str) -> String {
    let (status, body) = poll(bis, auth_req_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap().to_owned();
    assert!(description.starts_with("auth_req_id: "), "{description}");
    description
}

/// Asserts a refusal at the backchannel endpoint: its status, `error`, and a description that
/// names `parameter`.
async fn refused(response: reqwest::Response, status: StatusCode, error: &str, parameter: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("{parameter}: ")),
        "{description}"
    );
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

async fn script(tp: &TestProvider, user: &User, answer: AppScript) {
    let scripted = AppScripted { answer, delay: 0 };
    assert!(
        tp.store
            .set_app_script(&user.id, Some(scripted))
            .await
            .unwrap()
    );
}

async fn claims_of(jwks_uri: &str, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(jwks_uri).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn discovery_publishes_ciba_in_poll_mode() {
    let (tp, bis) = start().await;
    let doc: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        tp.provider.issuers.bis().issuer
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        bis.backchannel,
        format!("{}/bis/backchannel/authentication", tp.base)
    );
    assert_eq!(
        doc["backchannel_token_delivery_modes_supported"],
        json!(["poll"])
    );
    assert_eq!(doc["backchannel_user_code_parameter_supported"], false);
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:openid:params:grant-type:ciba"))
    );
    // The realm has no CIBA.
    assert!(tp.meta.backchannel_authentication_endpoint.is_none());
}

#[tokio::test]
async fn ciba_with_a_permission_is_approved_in_the_app_and_gives_tokens_once() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let (permission, token) = register_permission(&tp, TERMINAL, &user, 300).await;
    let body = authenticate(
        &bis,
        &[
            ("scope", "openid profile sub_nnin"),
            ("login_hint_token", &token),
            ("binding_message", "Modig laks"),
            ("acr_values", "urn:bankid:bis"),
        ],
    )
    .await;
    let auth_req_id = body["auth_req_id"].as_str().unwrap();
    assert!(auth_req_id.len() >= 43, "high entropy: {auth_req_id}");
    assert_eq!(body["interval"], 5);
    assert!(body["expires_in"].as_i64().unwrap() > 0);

    poll_refused(&bis, auth_req_id, "authorization_pending").await;
    // The app shows the merchant, the permission's binding message and its text.
    let request = app_answers(&tp, &user, AppAnswer::Approved).await;
    assert_eq!(request.binding_message, "Modig laks");
    assert_eq!(request.client_name, "Kiosk");
    assert_eq!(
        request.permission_id.as_deref(),
        Some(permission.id.as_str())
    );

    tp.advance(5);
    let (status, tokens) = poll(&bis, auth_req_id).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let id = claims_of(&bis.jwks_uri, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["iss"], tp.provider.issuers.bis().issuer);
    assert_eq!(id["aud"], TERMINAL);
    assert_eq!(id["sub"], user.id);
    assert_eq!(id["acr"], "urn:bankid:bis;LOA=3");
    assert_eq!(id["sub_nnin"], user.nnin);
    assert!(id.get("nonce").is_none(), "CIBA has no nonce: {id}");

    // The replayed auth_req_id gets nothing more.
    tp.advance(5);
    let description = poll_refused(&bis, auth_req_id, "invalid_grant").await;
    assert!(
        description.contains("issued to an earlier poll"),
        "{description}"
    );

    // The grant is readable at {id}/grant, as for a permission approved in a login.
    let machine = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(TERMINAL, Some(TERMINAL_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "permissions/client"),
        ])
        .send()
        .await
        .unwrap();
    let machine: Value = machine.json().await.unwrap();
    let grant = reqwest::Client::new()
        .get(format!("{}{}/grant", bis.permissions, permission.id))
        .bearer_auth(machine["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let status = grant.status();
    assert_eq!(status, StatusCode::OK, "{}", grant.text().await.unwrap());
}

#[tokio::test]
async fn ciba_with_an_nnin_asks_the_app_with_the_merchants_binding_message() {
    let (tp, bis) = start().await;
    let user = tp.users[1].clone();
    script(&tp, &user, AppScript::Approve).await;
    let body = authenticate(
        &bis,
        &[
            ("scope", "openid"),
            ("login_hint", &user.nnin),
            ("binding_message", "Blå ørret"),
        ],
    )
    .await;
    let requests = tp.store.app_requests_of(&user.id, tp.now()).await.unwrap();
    assert_eq!(requests[0].binding_message, "Blå ørret");
    let (status, tokens) = poll(&bis, body["auth_req_id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn ciba_denied_in_the_app_is_access_denied() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let (_, token) = register_permission(&tp, TERMINAL, &user, 300).await;
    let id = with_token(&bis, &token).await;
    app_answers(&tp, &user, AppAnswer::Denied).await;
    let description = poll_refused(&bis, &id, "access_denied").await;
    assert!(description.contains("denied"), "{description}");
}

#[tokio::test]
async fn ciba_unreachable_app_is_access_denied_and_says_so() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    script(&tp, &user, AppScript::Unreachable).await;
    let (_, token) = register_permission(&tp, TERMINAL, &user, 300).await;
    let id = with_token(&bis, &token).await;
    let description = poll_refused(&bis, &id, "access_denied").await;
    assert!(
        description.contains("could not be reached"),
        "{description}"
    );
}

#[tokio::test]
async fn ciba_unanswered_is_expired_token_after_expires_in_or_the_scripted_timeout() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let body = authenticate(
        &bis,
        &[
            ("scope", "openid"),
            ("login_hint", &user.nnin),
            ("binding_message", "Sen sel"),
            ("requested_expiry", "60"),
        ],
    )
    .await;
    assert_eq!(body["expires_in"], 60);
    let id = body["auth_req_id"].as_str().unwrap();
    poll_refused(&bis, id, "authorization_pending").await;
    tp.advance(60);
    poll_refused(&bis, id, "expired_token").await;

    let other = tp.users[1].clone();
    script(&tp, &other, AppScript::Timeout).await;
    let body = authenticate(
        &bis,
        &[
            ("scope", "openid"),
            ("login_hint", &other.nnin),
            ("binding_message", "Sen sel"),
        ],
    )
    .await;
    let description =
        poll_refused(&bis, body["auth_req_id"].as_str().unwrap(), "expired_token").await;
    assert!(description.contains("did not answer"), "{description}");
}

#[tokio::test]
async fn ciba_polled_too_fast_slows_down_then_succeeds_at_the_new_interval() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let (_, token) = register_permission(&tp, TERMINAL, &user, 300).await;
    let id = with_token(&bis, &token).await;
    poll_refused(&bis, &id, "authorization_pending").await;
    tp.advance(2);
    let description = poll_refused(&bis, &id, "slow_down").await;
    assert!(description.contains("wait 10 seconds"), "{description}");
    app_answers(&tp, &user, AppAnswer::Approved).await;
    // The old interval is too early now.
    tp.advance(5);
    let description = poll_refused(&bis, &id, "slow_down").await;
    assert!(description.contains("wait 15 seconds"), "{description}");
    tp.advance(15);
    let (status, body) = poll(&bis, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn ciba_auth_req_id_of_another_client_is_invalid_grant_and_does_not_disturb_it() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let (_, token) = register_permission(&tp, TERMINAL, &user, 300).await;
    let id = with_token(&bis, &token).await;
    app_answers(&tp, &user, AppAnswer::Approved).await;
    let (status, body) = poll_as(&bis, (RIVAL, RIVAL_SECRET), &id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("auth_req_id: ")
    );
    // The rival's poll counted for nothing: the owner's first poll is on time.
    let (status, body) = poll(&bis, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    poll_refused(&bis, "not-an-auth-req-id", "invalid_grant").await;
}

#[tokio::test]
async fn ciba_binding_message_must_equal_the_permissions_and_does_not_burn_it() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let (_, token) = register_permission(&tp, TERMINAL, &user, 300).await;
    let response = post(
        &bis.backchannel,
        TERMINAL_AUTH,
        &[
            ("scope", "openid"),
            ("login_hint_token", &token),
            ("binding_message", "Feig torsk"),
        ],
    )
    .await;
    refused(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_binding_message",
        "binding_message",
    )
    .await;
    // The refused request did not use the permission.
    with_token(&bis, &token).await;
    let response = post(
        &bis.backchannel,
        TERMINAL_AUTH,
        &[("scope", "openid"), ("login_hint_token", &token)],
    )
    .await;
    refused(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "login_hint_token",
    )
    .await;
}

#[tokio::test]
async fn ciba_expired_permission_token_is_expired_login_hint_token() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let (_, token) = register_permission(&tp, TERMINAL, &user, 30).await;
    tp.advance(31);
    let response = post(
        &bis.backchannel,
        TERMINAL_AUTH,
        &[("scope", "openid"), ("login_hint_token", &token)],
    )
    .await;
    refused(
        response,
        StatusCode::BAD_REQUEST,
        "expired_login_hint_token",
        "login_hint_token",
    )
    .await;
}

#[tokio::test]
async fn ciba_refuses_clients_not_registered_for_it() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let form = [
        ("scope", "openid"),
        ("login_hint", user.nnin.as_str()),
        ("binding_message", "Modig laks"),
    ];
    // The test kit's shop has neither the grant type nor the scope.
    let response = post(&bis.backchannel, (CLIENT_ID, CLIENT_SECRET), &form).await;
    refused(
        response,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "client_id",
    )
    .await;
    let response = post(&bis.backchannel, (NO_SCOPE, TERMINAL_SECRET), &form).await;
    refused(
        response,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "client_id",
    )
    .await;
    let response = post(&bis.backchannel, (TERMINAL, "wrong"), &form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // Nothing reached the app.
    assert!(
        app::pending(&tp.provider, &user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A request's form fields.
type Form<'a> = Vec<(&'a str, &'a str)>;

#[tokio::test]
async fn ciba_refuses_bad_requests_naming_the_parameter() {
    let (tp, bis) = start().await;
    let user = tp.users[0].clone();
    let nnin = user.nnin.as_str();
    let (_, other_token) = register_permission(&tp, RIVAL, &user, 300).await;
    let cases: Vec<(Form, &str, &str)> = vec![
        (
            vec![
                ("scope", "profile"),
                ("login_hint", nnin),
                ("binding_message", "Hei"),
            ],
            "invalid_scope",
            "scope",
        ),
        (
            vec![("login_hint", nnin), ("binding_message", "Hei")],
            "invalid_scope",
            "scope",
        ),
        (
            vec![
                ("scope", "openid email"),
                ("login_hint", nnin),
                ("binding_message", "Hei"),
            ],
            "invalid_scope",
            "scope",
        ),
        (
            vec![
                ("scope", "openid sub_bankid"),
                ("login_hint", nnin),
                ("binding_message", "Hei"),
            ],
            "invalid_scope",
            "scope",
        ),
        (
            vec![("scope", "openid"), ("binding_message", "Hei")],
            "invalid_request",
            "login_hint_token",
        ),
        (
            vec![("scope", "openid"), ("login_hint", nnin)],
            "invalid_request",
            "binding_message",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", "BIS"),
                ("binding_message", "Hei"),
            ],
            "unknown_user_id",
            "login_hint",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", "01010012356"),
                ("binding_message", "Hei"),
            ],
            "unknown_user_id",
            "login_hint",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", nnin),
                ("binding_message", "<b>Hei</b>"),
            ],
            "invalid_binding_message",
            "binding_message",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", nnin),
                ("binding_message", "Hei"),
                ("requested_expiry", "3600"),
            ],
            "invalid_request",
            "requested_expiry",
        ),
        (
            vec![
                ("scope", "openid"),
                ("login_hint", nnin),
                ("binding_message", "Hei"),
                ("acr_values", "urn:bankid:bid"),
            ],
            "invalid_request",
            "acr_values",
        ),
        (
            vec![("scope", "openid"), ("login_hint_token", &other_token)],
            "invalid_request",
            "login_hint_token",
        ),
        (
            vec![("scope", "openid"), ("login_hint_token", "e30.e30.e30")],
            "invalid_request",
            "login_hint_token",
        ),
    ];
    for (form, error, parameter) in cases {
        let response = post(&bis.backchannel, TERMINAL_AUTH, &form).await;
        refused(response, StatusCode::BAD_REQUEST, error, parameter).await;
    }
    assert!(
        app::pending(&tp.provider, &user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

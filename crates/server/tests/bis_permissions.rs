//! The permissions API of BankID with biometrics (seed 004) over HTTP: who may call it, which
//! registrations it refuses (and that a refusal stores nothing), and the grant: readable only
//! by its client, signed with the grants key set, the same bytes on every read.

use bankid_oidc_core::b64;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_server::app;
use bankid_oidc_server::registration::new_client;
use bankid_oidc_server::store::AppAnswer;
use bankid_oidc_testkit::provider::{MACHINE_CLIENT_ID, MACHINE_SECRET, TestProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TEXT_CLIENT: &str = "text-shop";
const RIVAL_CLIENT: &str = "rival-shop";
const ESIGN_CLIENT: &str = "esign-only";
const SECRET: &str = "a-secret-0123456789-abcdefghijklmnopqrst";

/// A provider with the test kit's machine client (`permissions/client`) and three more: one
/// with `permissions/text`, a rival merchant, and one without any permissions scope.
async fn provider() -> TestProvider {
    let tp = TestProvider::start().await;
    for (id, scopes) in [
        (TEXT_CLIENT, "permissions/client permissions/text"),
        (RIVAL_CLIENT, "permissions/client"),
        (ESIGN_CLIENT, "esign/csc"),
    ] {
        let scopes = bankid_oidc_core::scope::ScopeSet::parse(scopes).unwrap();
        let mut client = new_client(id, SECRET, Vec::new(), scopes, tp.now());
        client.grant_types = vec![GrantType::ClientCredentials];
        assert!(tp.store.add_client(&client).await.unwrap());
    }
    tp
}

async fn bis(tp: &TestProvider) -> ProviderMetadata {
    reqwest::get(format!("{}/bis/.well-known/openid-configuration", tp.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A client credentials token from the realm issuer.
async fn token_of(tp: &TestProvider, client_id: &str, secret: &str) -> String {
    let response = reqwest::Client::new()
        .post(tp.token_endpoint())
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn merchant_token(tp: &TestProvider) -> String {
    token_of(tp, MACHINE_CLIENT_ID, MACHINE_SECRET).await
}

async fn permissions_endpoint(tp: &TestProvider) -> String {
    bis(tp).await.permissions_endpoint.unwrap()
}

fn encoded(statement: &Value) -> String {
    b64::encode(serde_json::to_vec(statement).unwrap())
}

/// Seed 004's payment statement with `nonce`.
fn payment(nonce: &str, amount: &str, currency: &str) -> Value {
    json!({
        "nonce": nonce,
        "id": "YmFza2V0IGlk",
        "payments": [{
            "paymentId": "cGF5bWVudCBpZA",
            "amount": amount,
            "currency": currency,
            "creditorName": "Scrooge McDuck",
        }],
    })
}

/// A registration body of `type_` with `statement`, valid now for five minutes.
fn body(tp: &TestProvider, type_: &str, statement: &Value) -> Value {
    let now = tp.now();
    json!({
        "type": type_,
        "loa": "sub",
        "iat": now,
        "exp": now + 300,
        "permission": encoded(statement),
        "intents": ["iframe"],
        "acr_values": ["urn:bankid:bis"],
    })
}

async fn post_json(url: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn register(tp: &TestProvider, token: &str, body: &Value) -> reqwest::Response {
    post_json(&permissions_endpoint(tp).await, Some(token), body).await
}

/// Asserts a JSON refusal: its status, `error`, no caching; returns the body.
async fn refused(response: reqwest::Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "every answer is no-store"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body
}

/// Asserts a 400 whose `field` and `error_description` name `field`.
async fn refused_field(response: reqwest::Response, field: &str) -> Value {
    let body = refused(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{field}: ")),
        "{body}"
    );
    body
}

async fn registered(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn bis_discovery_publishes_the_permissions_endpoint_and_a_grant_key_set_of_its_own() {
    let tp = provider().await;
    let meta = bis(&tp).await;
    assert_eq!(
        meta.permissions_endpoint.as_deref(),
        Some(format!("{}/bis/permissions/v1/", tp.base).as_str())
    );
    let grants_uri = meta.jwks_uri_grants.unwrap();
    assert_eq!(grants_uri, format!("{}/bis/jwks/grants", tp.base));
    let kids = |jwks: Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let response = reqwest::get(&grants_uri).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let grant_kids = kids(response.json().await.unwrap());
    let signing_kids = kids(
        reqwest::get(&meta.jwks_uri)
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(grant_kids.len(), 1);
    assert!(grant_kids.iter().all(|k| !signing_kids.contains(k)));
    // The realm and BIS publish the same signing keys.
    let realm_kids = kids(
        reqwest::get(&tp.meta.jwks_uri)
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(realm_kids, signing_kids);
}

#[tokio::test]
async fn an_authentication_permission_is_registered_with_an_id_a_token_and_a_binding_message() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let answer = registered(
        register(
            &tp,
            &token,
            &body(&tp, "authentication.v1", &json!({"nonce": "n-auth"})),
        )
        .await,
    )
    .await;
    let id = answer["id"].as_str().unwrap();
    assert!(bankid_oidc_core::permission_request::is_permission_id(id));
    assert_eq!(
        answer["bindingMessage"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    let claims = bankid_oidc_server::permission_token::verify(
        &tp.provider,
        answer["permissionToken"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(claims.p, id);
    assert_eq!(claims.cid, MACHINE_CLIENT_ID);
    let stored = tp.store.permission(id).await.unwrap().unwrap();
    assert_eq!(stored.type_, "authentication.v1");
    assert_eq!(stored.client_id, MACHINE_CLIENT_ID);
}

#[tokio::test]
async fn a_text_permission_is_registered_with_permissions_text() {
    let tp = provider().await;
    let token = token_of(&tp, TEXT_CLIENT, SECRET).await;
    let answer = registered(
        register(
            &tp,
            &token,
            &body(&tp, "text.v1", &json!({"text": "Godta vilkårene"})),
        )
        .await,
    )
    .await;
    let stored = tp
        .store
        .permission(answer["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.type_, "text.v1");
    assert_eq!(stored.nonce, None);
}

#[tokio::test]
async fn the_seed_004_payment_permission_is_registered() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let statement = payment("dW5pcXVlIHZhbHVl", "123.45", "NOK");
    let answer =
        registered(register(&tp, &token, &body(&tp, "payment.v1", &statement)).await).await;
    let stored = tp
        .store
        .permission(answer["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.nonce.as_deref(), Some("dW5pcXVlIHZhbHVl"));
    assert_eq!(stored.binding_message, answer["bindingMessage"]);
}

/// A refused registration stores nothing: the same nonce is accepted right after.
async fn nothing_was_stored(tp: &TestProvider, token: &str, nonce: &str) {
    let statement = payment(nonce, "10.00", "NOK");
    registered(register(tp, token, &body(tp, "payment.v1", &statement)).await).await;
}

/// Registers a payment with a body changed by `change`, asserts the refusal names `field`, then
/// that nothing was stored.
async fn payment_refused(change: impl FnOnce(&TestProvider, &mut Value), field: &str) {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let mut request = body(&tp, "payment.v1", &payment("once", "10.00", "NOK"));
    change(&tp, &mut request);
    refused_field(register(&tp, &token, &request).await, field).await;
    nothing_was_stored(&tp, &token, "once").await;
}

#[tokio::test]
async fn a_stale_iat_is_refused() {
    payment_refused(|tp, b| b["iat"] = json!(tp.now() - 120), "iat").await;
}

#[tokio::test]
async fn a_future_iat_is_refused() {
    payment_refused(|tp, b| b["iat"] = json!(tp.now() + 120), "iat").await;
}

#[tokio::test]
async fn an_exp_before_iat_is_refused() {
    payment_refused(|tp, b| b["exp"] = json!(tp.now() - 1), "exp").await;
}

#[tokio::test]
async fn an_exp_too_far_ahead_is_refused() {
    payment_refused(|tp, b| b["exp"] = json!(tp.now() + 3600), "exp").await;
}

#[tokio::test]
async fn an_unknown_field_is_refused() {
    payment_refused(
        |_, b| b["callback"] = json!("https://evil.example"),
        "callback",
    )
    .await;
}

async fn statement_refused(statement: Value, field: &str) {
    payment_refused(|_, b| b["permission"] = json!(encoded(&statement)), field).await;
}

#[tokio::test]
async fn an_amount_with_a_decimal_comma_is_refused() {
    statement_refused(
        payment("once", "1,5", "NOK"),
        "permission.payments[0].amount",
    )
    .await;
}

#[tokio::test]
async fn a_negative_amount_is_refused() {
    statement_refused(
        payment("once", "-3", "NOK"),
        "permission.payments[0].amount",
    )
    .await;
}

#[tokio::test]
async fn a_zero_amount_is_refused() {
    statement_refused(payment("once", "0", "NOK"), "permission.payments[0].amount").await;
}

#[tokio::test]
async fn an_amount_of_15_significant_digits_is_refused() {
    statement_refused(
        payment("once", "1234567890123.45", "NOK"),
        "permission.payments[0].amount",
    )
    .await;
}

#[tokio::test]
async fn a_currency_outside_iso_4217_is_refused() {
    statement_refused(
        payment("once", "10.00", "XYZ"),
        "permission.payments[0].currency",
    )
    .await;
}

#[tokio::test]
async fn an_oversize_body_is_refused() {
    payment_refused(|_, b| b["padding"] = json!("x".repeat(40 * 1024)), "body").await;
}

#[tokio::test]
async fn a_reused_payment_nonce_is_refused_and_names_the_nonce() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let request = body(&tp, "payment.v1", &payment("twice", "10.00", "NOK"));
    registered(register(&tp, &token, &request).await).await;
    let again = refused_field(register(&tp, &token, &request).await, "permission.nonce").await;
    assert!(
        again["error_description"]
            .as_str()
            .unwrap()
            .contains("used this nonce before"),
        "{again}"
    );
    // Nonces are per client: another merchant may use the same value.
    let rival = token_of(&tp, RIVAL_CLIENT, SECRET).await;
    registered(register(&tp, &rival, &request).await).await;
}

#[tokio::test]
async fn a_text_permission_without_permissions_text_is_refused() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let request = body(&tp, "text.v1", &json!({"text": "Godta", "nonce": "once"}));
    refused_field(register(&tp, &token, &request).await, "type").await;
    nothing_was_stored(&tp, &token, "once").await;
}

#[tokio::test]
async fn a_token_without_permissions_client_is_refused_as_insufficient_scope() {
    let tp = provider().await;
    let token = token_of(&tp, ESIGN_CLIENT, SECRET).await;
    let request = body(&tp, "payment.v1", &payment("once", "10.00", "NOK"));
    let response = register(&tp, &token, &request).await;
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );
    let body = refused(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("permissions/client")
    );
    nothing_was_stored(&tp, &merchant_token(&tp).await, "once").await;
}

async fn invalid_token(response: reqwest::Response) -> Value {
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    refused(response, StatusCode::UNAUTHORIZED, "invalid_token").await
}

#[tokio::test]
async fn a_registration_without_a_token_is_refused() {
    let tp = provider().await;
    let request = body(&tp, "payment.v1", &payment("once", "10.00", "NOK"));
    let url = permissions_endpoint(&tp).await;
    let body = invalid_token(post_json(&url, None, &request).await).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("access token")
    );
    nothing_was_stored(&tp, &merchant_token(&tp).await, "once").await;
}

#[tokio::test]
async fn a_garbage_token_or_an_id_token_or_a_forged_issuer_is_refused() {
    let tp = provider().await;
    let request = body(&tp, "payment.v1", &payment("once", "10.00", "NOK"));
    let url = permissions_endpoint(&tp).await;
    invalid_token(post_json(&url, Some("garbage"), &request).await).await;
    // A token of the provider's keys that names the BIS issuer: the BIS issues no API tokens.
    let now = tp.now();
    let bis_token = tp.provider.keys.sign(
        "at+jwt",
        &json!({
            "iss": format!("{}/bis", tp.base), "sub": MACHINE_CLIENT_ID,
            "aud": format!("{}/bis", tp.base), "client_id": MACHINE_CLIENT_ID,
            "scope": "permissions/client", "exp": now + 300, "iat": now, "jti": "j",
        }),
    );
    let body = invalid_token(post_json(&url, Some(&bis_token), &request).await).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("realm")
    );
    // A realm token with a signature from other keys.
    let realm = merchant_token(&tp).await;
    let forged = format!("{}.AAAA", realm.rsplit_once('.').unwrap().0);
    invalid_token(post_json(&url, Some(&forged), &request).await).await;
    nothing_was_stored(&tp, &realm, "once").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_with_415() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let request = body(&tp, "payment.v1", &payment("once", "10.00", "NOK"));
    let response = reqwest::Client::new()
        .post(permissions_endpoint(&tp).await)
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(request.to_string())
        .send()
        .await
        .unwrap();
    let body = refused(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    nothing_was_stored(&tp, &token, "once").await;
}

#[tokio::test]
async fn user_exists_answers_for_test_users_only() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let url = format!("{}user-exists", permissions_endpoint(&tp).await);
    let kari = tp.user("Kari").nnin.clone();
    let ask = |nnin: String| json!({"loginHint": [{"scheme": "nnin", "value": nnin}]});
    let response = post_json(&url, Some(&token), &ask(kari)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"exists": true})
    );
    // A valid NNIN of nobody here.
    let response = post_json(&url, Some(&token), &ask("15076500565".into())).await;
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"exists": false})
    );
    refused_field(
        post_json(&url, Some(&token), &ask("12345".into())).await,
        "loginHint[0].value",
    )
    .await;
    invalid_token(post_json(&url, None, &ask("15076500565".into())).await).await;
}

// The grant.

async fn grant_of(tp: &TestProvider, token: &str, id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{id}/grant", permissions_endpoint(tp).await))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Registers the seed's payment as the machine client; returns its id.
async fn registered_payment(tp: &TestProvider, token: &str, nonce: &str) -> String {
    let statement = payment(nonce, "123.45", "NOK");
    let answer = registered(register(tp, token, &body(tp, "payment.v1", &statement)).await).await;
    answer["id"].as_str().unwrap().to_owned()
}

/// Asks Kari's app to approve permission `id` (what the login flow does); returns the request id.
async fn ask_kari(tp: &TestProvider, id: &str) -> String {
    let permission = tp.store.permission(id).await.unwrap().unwrap();
    let client = tp
        .provider
        .client(MACHINE_CLIENT_ID)
        .await
        .unwrap()
        .unwrap();
    let request = app::ask(
        &tp.provider,
        tp.user("Kari"),
        &client,
        &permission.binding_message,
        Some(&permission),
    )
    .await
    .unwrap();
    request.id
}

#[tokio::test]
async fn a_grant_is_not_found_before_the_user_is_asked_and_while_the_app_waits() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let id = registered_payment(&tp, &token, "n1").await;
    let body = refused(
        grant_of(&tp, &token, &id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        body["error_description"],
        "the permission is not granted yet"
    );
    ask_kari(&tp, &id).await;
    refused(
        grant_of(&tp, &token, &id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Junk ids are refused before any store read, alike.
    refused(
        grant_of(&tp, &token, "1.BY.junk").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn another_clients_token_cannot_read_a_grant_nor_learn_that_it_exists() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let id = registered_payment(&tp, &token, "n1").await;
    let request = ask_kari(&tp, &id).await;
    let kari = tp.user("Kari").id.clone();
    assert!(
        app::answer(&tp.provider, &kari, &request, AppAnswer::Approved)
            .await
            .unwrap()
    );
    let rival = token_of(&tp, RIVAL_CLIENT, SECRET).await;
    let theirs = refused(
        grant_of(&tp, &rival, &id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let unknown = format!("1.BY.{}.{}", "A".repeat(43), "A".repeat(43));
    let none = refused(
        grant_of(&tp, &rival, &unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        theirs, none,
        "another client's permission answers as an unknown one"
    );
    invalid_token(
        reqwest::get(format!("{}{id}/grant", permissions_endpoint(&tp).await))
            .await
            .unwrap(),
    )
    .await;
}

/// Verifies a grant with jsonwebtoken against the key set at `jwks_uri`.
async fn verify_at(jwks_uri: &str, token: &str) -> Option<Value> {
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(jwks_uri).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwk = jwks.find(header.kid.as_deref().unwrap())?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    Some(
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .unwrap()
            .claims,
    )
}

#[tokio::test]
async fn an_approved_grant_verifies_against_the_grant_keys_with_every_seed_claim_and_is_signed_once()
 {
    let tp = provider().await;
    let meta = bis(&tp).await;
    let token = merchant_token(&tp).await;
    let id = registered_payment(&tp, &token, "dW5pcXVlIHZhbHVl").await;
    let request = ask_kari(&tp, &id).await;
    let kari = tp.user("Kari").clone();
    tp.advance(5);
    assert!(
        app::answer(&tp.provider, &kari.id, &request, AppAnswer::Approved)
            .await
            .unwrap()
    );
    let approved_at = tp.now();
    tp.advance(3);

    let response = grant_of(&tp, &token, &id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/jwt");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let grant = response.text().await.unwrap();
    assert!(
        verify_at(&meta.jwks_uri, &grant).await.is_none(),
        "a grant is not signed by a token key"
    );
    let claims = verify_at(meta.jwks_uri_grants.as_deref().unwrap(), &grant)
        .await
        .expect("signed by a key of jwks_uri_grants");
    let permission = tp.store.permission(&id).await.unwrap().unwrap();
    assert_eq!(claims["gv"], 1);
    assert_eq!(claims["pt"], "payment.v1");
    assert_eq!(claims["type"], "grant");
    assert_eq!(claims["rpId"], MACHINE_CLIENT_ID);
    assert!(claims["sv"].as_str().unwrap().starts_with("bankid-oidc@"));
    assert_eq!(claims["iat"], approved_at);
    assert_eq!(claims["iss"], meta.issuer);
    assert_eq!(claims["nonce"], "dW5pcXVlIHZhbHVl");
    assert_eq!(
        claims["proofKeyId"],
        bankid_oidc_server::device::proof_key_id(&kari.id)
    );
    assert_eq!(claims["sub"], format!("nnin:{}", kari.nnin));
    assert_eq!(claims["permissionId"], id);
    assert_eq!(claims["digest"], permission.digest);
    assert_eq!(claims.as_object().unwrap().len(), 12, "{claims}");

    tp.advance(10);
    let again = grant_of(&tp, &token, &id).await.text().await.unwrap();
    assert_eq!(again, grant, "every read returns the same bytes");
}

#[tokio::test]
async fn a_denied_permission_answers_access_denied() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let id = registered_payment(&tp, &token, "n1").await;
    let request = ask_kari(&tp, &id).await;
    let kari = tp.user("Kari").id.clone();
    assert!(
        app::answer(&tp.provider, &kari, &request, AppAnswer::Denied)
            .await
            .unwrap()
    );
    refused(
        grant_of(&tp, &token, &id).await,
        StatusCode::FORBIDDEN,
        "access_denied",
    )
    .await;
}

#[tokio::test]
async fn an_unanswered_permission_answers_expired_once_its_time_is_up() {
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let id = registered_payment(&tp, &token, "n1").await;
    ask_kari(&tp, &id).await;
    tp.advance(301);
    // The access token lives 300 s too: the merchant gets a new one.
    let token = merchant_token(&tp).await;
    refused(
        grant_of(&tp, &token, &id).await,
        StatusCode::GONE,
        "expired",
    )
    .await;
    // Never asked at all, past its exp: expired too.
    let unasked = registered_payment(&tp, &token, "n2").await;
    tp.advance(301);
    let token = merchant_token(&tp).await;
    refused(
        grant_of(&tp, &token, &unasked).await,
        StatusCode::GONE,
        "expired",
    )
    .await;
}

#[tokio::test]
async fn a_permission_whose_app_cannot_be_reached_answers_timeout() {
    use bankid_oidc_server::store::{AppScript, AppScripted};
    let tp = provider().await;
    let token = merchant_token(&tp).await;
    let id = registered_payment(&tp, &token, "n1").await;
    let kari = tp.user("Kari").id.clone();
    let unreachable = AppScripted {
        answer: AppScript::Unreachable,
        delay: 0,
    };
    assert!(
        tp.store
            .set_app_script(&kari, Some(unreachable))
            .await
            .unwrap()
    );
    ask_kari(&tp, &id).await;
    refused(
        grant_of(&tp, &token, &id).await,
        StatusCode::GONE,
        "timeout",
    )
    .await;
}

#[tokio::test]
async fn a_grant_key_rotated_by_the_test_control_is_published_before_it_signs_a_grant() {
    let tp = TestProvider::start_with(|c| c.test_controls = true).await;
    let meta = bis(&tp).await;
    let grants_uri = meta.jwks_uri_grants.unwrap();
    let signing_before = reqwest::get(&meta.jwks_uri)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/test-controls/keys/rotate?set=grants", tp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated["set"], "grants");
    let kid = rotated["kid"].as_str().unwrap();
    let jwks: Value = reqwest::get(&grants_uri)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid)
    );
    assert_eq!(tp.provider.grant_keys.active_kid(), kid);
    let signing_after = reqwest::get(&meta.jwks_uri)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        signing_before, signing_after,
        "the signing set did not move"
    );
    let unknown = reqwest::Client::new()
        .post(format!("{}/test-controls/keys/rotate?set=other", tp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

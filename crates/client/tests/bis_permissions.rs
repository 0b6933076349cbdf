//! BankID with biometrics over HTTP against the fake provider: registering a permission,
//! user-exists, and polling for the grant (not yet, then granted; refused; out of time).

use bankid_oidc_client::bis::{PermissionRequest, RegisteredPermission};
use bankid_oidc_client::core::permission::{Payment, PaymentStatement, Statement};
use bankid_oidc_client::{Client, Error};
use bankid_oidc_testkit::fake_provider::{GrantStep, PERMISSION_ID, TestProvider, now};
use bankid_oidc_testkit::id_token::CLIENT_ID;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const TOKEN: &str = "machine-token";

async fn bis() -> (Arc<TestProvider>, Client) {
    let tp = TestProvider::start().await;
    tp.publish_bis();
    let client = Client::builder(&tp.issuer, CLIENT_ID)
        .discover()
        .await
        .unwrap();
    (tp, client)
}

fn statement() -> Statement {
    Statement::Payment(PaymentStatement {
        nonce: "nonce-1".into(),
        id: "basket".into(),
        payments: vec![Payment {
            payment_id: "p1".into(),
            amount: "123.45".into(),
            currency: "NOK".into(),
            creditor_name: "Scrooge McDuck".into(),
        }],
    })
}

async fn register(client: &Client) -> RegisteredPermission {
    let request = PermissionRequest::new(statement()).intents(["redirect"]);
    client.register_permission(TOKEN, &request).await.unwrap()
}

fn grant_claims(tp: &TestProvider, registered: &RegisteredPermission) -> Value {
    json!({
        "gv": 1, "pt": "payment.v1", "type": "grant", "rpId": CLIENT_ID, "sv": "test@0",
        "iat": now(), "iss": tp.issuer, "nonce": registered.nonce, "proofKeyId": "k",
        "sub": "nnin:15076500565", "permissionId": registered.id, "digest": registered.digest,
    })
}

#[tokio::test]
async fn registers_with_the_bearer_token_and_reads_the_answer() {
    let (tp, client) = bis().await;
    let registered = register(&client).await;
    assert_eq!(registered.id, PERMISSION_ID);
    assert_eq!(registered.binding_message, "Farlig frakk");
    let (body, authorization) = tp.permission_requests.lock().unwrap()[0].clone();
    assert_eq!(authorization.as_deref(), Some("Bearer machine-token"));
    assert_eq!(body["type"], "payment.v1");
    assert_eq!(body["intents"], json!(["redirect"]));
    assert!(client.user_exists(TOKEN, "15076500565").await.unwrap());
}

#[tokio::test]
async fn polling_waits_through_a_404_and_returns_the_verified_grant() {
    let (tp, client) = bis().await;
    let registered = register(&client).await;
    tp.script_grant([
        GrantStep::NotYet,
        GrantStep::Grant(grant_claims(&tp, &registered)),
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let grant = client
        .poll_grant(TOKEN, &registered, deadline)
        .await
        .unwrap();
    assert_eq!(grant.claims.permission_id, PERMISSION_ID);
    assert_eq!(tp.grant_polls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_grant_signed_by_the_id_token_key_is_refused() {
    let (tp, client) = bis().await;
    let registered = register(&client).await;
    let forged = tp.key.sign_claims(&grant_claims(&tp, &registered));
    assert!(matches!(
        client.verify_grant(&forged, &registered).await,
        Err(Error::UnknownKey { .. })
    ));
}

#[tokio::test]
async fn a_denial_ends_the_polling_with_its_error() {
    let (tp, client) = bis().await;
    let registered = register(&client).await;
    tp.script_grant([GrantStep::Json(
        axum::http::StatusCode::FORBIDDEN,
        json!({"error": "access_denied", "error_description": "the user declined"}),
    )]);
    let deadline = Instant::now() + Duration::from_secs(10);
    match client.poll_grant(TOKEN, &registered, deadline).await {
        Err(Error::GrantRefused(error)) => {
            assert_eq!(error.code, "access_denied");
            assert_eq!(error.description.as_deref(), Some("the user declined"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn polling_stops_at_the_deadline() {
    let (_tp, client) = bis().await;
    let registered = register(&client).await;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(1500);
    assert!(matches!(
        client.poll_grant(TOKEN, &registered, deadline).await,
        Err(Error::GrantTimeout { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_realm_client_has_no_permissions_endpoint() {
    let tp = TestProvider::start().await;
    let client = Client::builder(&tp.issuer, CLIENT_ID)
        .discover()
        .await
        .unwrap();
    assert!(matches!(
        client.permissions_endpoint().await,
        Err(Error::MissingMetadata("permissions_endpoint"))
    ));
}

#[tokio::test]
async fn a_bis_client_needs_loa_3_in_acr_by_default_and_the_merchant_may_state_another() {
    let (tp, client) = bis().await;
    tp.id_token_claim("acr", json!("urn:bankid:bis;LOA=2"));
    let expected = bankid_oidc_client::Expected::default();
    assert!(matches!(
        client.verify_id_token(&tp.id_token("n"), &expected).await,
        Err(Error::InsufficientLoa { required: 3, .. })
    ));
    let lenient = Client::builder(&tp.issuer, CLIENT_ID)
        .min_loa(2)
        .discover()
        .await
        .unwrap();
    lenient
        .verify_id_token(&tp.id_token("n"), &expected)
        .await
        .unwrap();
    tp.id_token_claim("acr", json!("urn:bankid:bis;LOA=3"));
    let token = client
        .verify_id_token(&tp.id_token("n"), &expected)
        .await
        .unwrap();
    assert_eq!(token.loa(), Some(3));
}

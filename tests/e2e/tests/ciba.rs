//! CIBA at BankID with biometrics with the client library against the provider, over HTTP: a
//! terminal names the customer (a permission token, or an NNIN with a binding message), the
//! customer answers in the emulated app, and `CibaHandle::poll` returns validated tokens. The
//! library waits between polls on its clock; here that clock is the provider's test clock, so a
//! poll's wait moves the provider's time instead of sleeping.

use bankid_oidc_client::bis::PermissionRequest;
use bankid_oidc_client::clock::Sleep;
use bankid_oidc_client::core::permission::{Statement, TextStatement};
use bankid_oidc_client::{BackchannelRequest, Client, Clock, Error};
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::app;
use bankid_oidc_server::clock::OffsetClock;
use bankid_oidc_server::registration::check_client;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{AppAnswer, AppRequest, AppScript, AppScripted, User};
use bankid_oidc_testkit::provider::TestProvider;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A terminal registered for CIBA: the CIBA grant type and scope, and machine tokens for the
/// permissions API with text permissions.
const TERMINAL: &str = "ciba-terminal";
const TERMINAL_SECRET: &str = "ciba-terminal-secret-0123456789-abcdefgh";

/// The provider's test clock as the library's clock: the same time, and waiting moves it.
#[derive(Debug)]
struct ProviderTime(Arc<OffsetClock>);

impl ProviderTime {
    fn offset(&self) -> Duration {
        Duration::from_secs(self.0.offset().max(0) as u64)
    }
}

impl Clock for ProviderTime {
    fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset()
    }

    fn instant(&self) -> Instant {
        Instant::now() + self.offset()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.0.advance(duration.as_secs() as i64);
        Box::pin(std::future::ready(()))
    }
}

/// A provider with the terminal registered, and the terminal's clients: the realm for machine
/// tokens, BIS for the rest (on the provider's clock).
async fn terminal() -> (TestProvider, Client, Client) {
    let tp = TestProvider::start().await;
    let mut client = new_client(
        TERMINAL,
        TERMINAL_SECRET,
        Vec::new(),
        ScopeSet::parse(
            "openid profile sub_nnin permissions/ciba permissions/client permissions/text",
        )
        .unwrap(),
        tp.now(),
    );
    client.name = "Parcel Kiosk".into();
    client.grant_types = vec![GrantType::Ciba, GrantType::ClientCredentials];
    check_client(&client).unwrap();
    assert!(tp.store.add_client(&client).await.unwrap());
    let realm = Client::builder(&tp.issuer, TERMINAL)
        .client_secret(TERMINAL_SECRET)
        .discover()
        .await
        .unwrap();
    let bis = Client::builder(&tp.provider.issuers.bis().issuer, TERMINAL)
        .client_secret(TERMINAL_SECRET)
        .clock(Arc::new(ProviderTime(tp.clock.clone())))
        .discover()
        .await
        .unwrap();
    (tp, realm, bis)
}

fn text(words: &str) -> Statement {
    Statement::Text(TextStatement {
        nonce: Some("Y2liYS1ub25jZQ".into()),
        text: words.into(),
    })
}

/// The user's one request waiting in the app.
async fn in_app(tp: &TestProvider, user: &User) -> AppRequest {
    let mut list = app::pending(&tp.provider, &user.id).await.unwrap();
    assert_eq!(list.len(), 1, "one request in the app: {list:?}");
    list.remove(0)
}

async fn app_answers(tp: &TestProvider, user: &User, answer: AppAnswer) -> AppRequest {
    let request = in_app(tp, user).await;
    assert!(
        app::answer(&tp.provider, &user.id, &request.id, answer)
            .await
            .unwrap()
    );
    request
}

#[tokio::test]
async fn ciba_with_a_permission_follows_the_flows_steps_to_validated_tokens_and_the_grant() {
    let (tp, realm, bis) = terminal().await;
    let customer = tp.users[0].clone();

    // 1. The terminal's BIS configuration has a backchannel authentication endpoint.
    assert!(
        bis.metadata()
            .await
            .unwrap()
            .backchannel_authentication_endpoint
            .is_some()
    );

    // 2. A machine token for the permissions API, and a text permission naming the customer.
    let token = realm
        .client_credentials(&["permissions/client", "permissions/text"])
        .await
        .unwrap();
    let request = PermissionRequest::new(text("Hent pakke 42 i kassa"))
        .intents(["ciba"])
        .login_hint_nnin(&customer.nnin);
    let registered = bis
        .register_permission(&token.token, &request)
        .await
        .unwrap();

    // 3. The backchannel authentication request with its permission token; the terminal shows
    // the permission's binding message.
    let mut handle = bis
        .backchannel_authentication(
            &BackchannelRequest::login_hint_token(&registered.permission_token)
                .scopes(["profile", "sub_nnin"])
                .acr_values(["urn:bankid:bis"]),
        )
        .await
        .unwrap();
    assert_eq!(handle.interval(), Duration::from_secs(5));
    assert!(handle.auth_req_id().len() >= 43);

    // 4. The customer's app shows the kiosk, the same words and the permission; they approve.
    let shown = app_answers(&tp, &customer, AppAnswer::Approved).await;
    assert_eq!(shown.client_name, "Parcel Kiosk");
    assert_eq!(shown.binding_message, registered.binding_message);
    assert_eq!(shown.permission_id.as_deref(), Some(registered.id.as_str()));

    // 5. The poll waits the interval (on the provider's clock) and returns validated tokens:
    // this client's, LOA 3, no nonce.
    let before = tp.now();
    let login = handle.poll().await.unwrap();
    assert!(tp.now() - before >= 5, "the poll waited the interval");
    let claims = &login.id_token.claims;
    assert_eq!(claims.iss, bis.issuer());
    assert_eq!(claims.sub, customer.id);
    assert_eq!(login.id_token.loa(), Some(3));
    assert_eq!(claims.sub_nnin.as_deref(), Some(customer.nnin.as_str()));
    assert!(claims.nonce.is_none());
    assert!(login.tokens.refresh_token.is_none());

    // 6. The grant of the permission, verified against the grant keys.
    let grant = bis
        .poll_grant(
            &token.token,
            &registered,
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(grant.claims.permission_id, registered.id);
    assert_eq!(grant.claims.sub, format!("nnin:{}", customer.nnin));

    // 7. The request gave its tokens once: polling it again is the typed invalid_grant.
    let again = handle.poll().await;
    assert!(
        matches!(again, Err(Error::CibaInvalidGrant(_))),
        "{again:?}"
    );
}

#[tokio::test]
async fn ciba_denied_in_the_app_ends_the_poll_with_access_denied() {
    let (tp, realm, bis) = terminal().await;
    let customer = tp.users[0].clone();
    let token = realm
        .client_credentials(&["permissions/client", "permissions/text"])
        .await
        .unwrap();
    let request = PermissionRequest::new(text("Hent pakke 7")).login_hint_nnin(&customer.nnin);
    let registered = bis
        .register_permission(&token.token, &request)
        .await
        .unwrap();
    let mut handle = bis
        .backchannel_authentication(&BackchannelRequest::login_hint_token(
            &registered.permission_token,
        ))
        .await
        .unwrap();
    app_answers(&tp, &customer, AppAnswer::Denied).await;
    match handle.poll().await {
        Err(Error::CibaAccessDenied(e)) => {
            assert_eq!(e.code, "access_denied");
            assert!(e.description.unwrap().contains("denied"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn ciba_with_an_nnin_and_a_binding_message_gives_tokens() {
    let (tp, _, bis) = terminal().await;
    let customer = tp.users[1].clone();
    let scripted = AppScripted {
        answer: AppScript::Approve,
        delay: 0,
    };
    assert!(
        tp.store
            .set_app_script(&customer.id, Some(scripted))
            .await
            .unwrap()
    );
    let mut handle = bis
        .backchannel_authentication(
            &BackchannelRequest::login_hint(&customer.nnin)
                .scopes(["sub_nnin"])
                .binding_message("Blå ørret 42"),
        )
        .await
        .unwrap();
    let requests = tp
        .store
        .app_requests_of(&customer.id, tp.now())
        .await
        .unwrap();
    assert_eq!(requests[0].binding_message, "Blå ørret 42");
    let login = handle.poll().await.unwrap();
    assert_eq!(
        login.id_token.claims.sub_nnin.as_deref(),
        Some(customer.nnin.as_str())
    );
}

#[tokio::test]
async fn ciba_unanswered_stops_at_expires_in_with_a_typed_error() {
    let (tp, _, bis) = terminal().await;
    let customer = tp.users[0].clone();
    let mut handle = bis
        .backchannel_authentication(
            &BackchannelRequest::login_hint(&customer.nnin)
                .binding_message("Sen sel")
                .requested_expiry(Duration::from_secs(12)),
        )
        .await
        .unwrap();
    assert_eq!(handle.response().expires_in, 12);
    let before = tp.now();
    let timed_out = handle.poll().await;
    assert!(
        matches!(timed_out, Err(Error::CibaTimeout { expires_in: 12 })),
        "{timed_out:?}"
    );
    assert!(tp.now() - before <= 12, "no poll after expires_in");
}

#[tokio::test]
async fn ciba_binding_message_other_than_the_permissions_is_invalid_binding_message() {
    let (tp, realm, bis) = terminal().await;
    let customer = tp.users[0].clone();
    let token = realm
        .client_credentials(&["permissions/client", "permissions/text"])
        .await
        .unwrap();
    let registered = bis
        .register_permission(
            &token.token,
            &PermissionRequest::new(text("Hent pakke 9")).login_hint_nnin(&customer.nnin),
        )
        .await
        .unwrap();
    let other = if registered.binding_message == "Feig torsk" {
        "Modig laks"
    } else {
        "Feig torsk"
    };
    let refused = bis
        .backchannel_authentication(
            &BackchannelRequest::login_hint_token(&registered.permission_token)
                .binding_message(other),
        )
        .await;
    match refused {
        Err(Error::CibaInvalidBindingMessage(e)) => {
            assert!(e.description.unwrap().starts_with("binding_message: "));
        }
        other => panic!("{other:?}"),
    }
    // Nothing reached the app.
    assert!(
        app::pending(&tp.provider, &customer.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ciba_at_the_realm_is_missing_metadata() {
    let (tp, realm, _) = terminal().await;
    let refused = realm
        .backchannel_authentication(
            &BackchannelRequest::login_hint(&tp.users[0].nnin).binding_message("Hei"),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::MissingMetadata(
                "backchannel_authentication_endpoint"
            ))
        ),
        "{refused:?}"
    );
}

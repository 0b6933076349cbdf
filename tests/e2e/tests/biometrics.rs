//! BankID with biometrics with the client library against the provider, over HTTP: seed 004's
//! permission and grant sequence, and seed 002's code flow with and without an upfront
//! permission. Each test reads like the seed's numbered steps. The user's phone is played by the
//! emulated app: its web page (a second browser), or a scripted answer.

use bankid_oidc_client::bis::PermissionRequest;
use bankid_oidc_client::core::permission::{Payment, PaymentStatement, Statement, TextStatement};
use bankid_oidc_client::{AuthorizationRedirect, CallbackParams, Client, Error};
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::registration::check_client;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::{AppScript, AppScripted, User};
use bankid_oidc_testkit::browser::{Browser, Callback, Step};
use bankid_oidc_testkit::provider::TestProvider;
use std::time::{Duration, Instant};

const SHOP: &str = "bis-merchant";
const SHOP_SECRET: &str = "bis-merchant-secret-0123456789-abcdefghi";
const SHOP_REDIRECT: &str = "https://bis-merchant.example/callback";

/// A provider with a merchant registered as seed 004 step 1 asks: a login client for the BIS
/// scopes that may also get machine tokens with `permissions/client` and `permissions/text`.
async fn provider() -> TestProvider {
    let tp = TestProvider::start().await;
    let mut shop = new_client(
        SHOP,
        SHOP_SECRET,
        vec![SHOP_REDIRECT.into()],
        ScopeSet::parse(
            "openid profile sub_nnin sub_bankid permissions/client permissions/iframe \
             permissions/text",
        )
        .unwrap(),
        tp.now(),
    );
    shop.name = "Biometric Shop".into();
    shop.grant_types = vec![GrantType::AuthorizationCode, GrantType::ClientCredentials];
    check_client(&shop).unwrap();
    tp.store.add_client(&shop).await.unwrap();
    tp
}

/// Step 2 and step 4: a client for each configuration, each from its discovery document.
async fn clients(tp: &TestProvider) -> (Client, Client) {
    let realm = Client::builder(&tp.issuer, SHOP)
        .client_secret(SHOP_SECRET)
        .discover()
        .await
        .unwrap();
    let bis = Client::builder(&tp.provider.issuers.bis().issuer, SHOP)
        .client_secret(SHOP_SECRET)
        .redirect_uri(SHOP_REDIRECT)
        .discover()
        .await
        .unwrap();
    (realm, bis)
}

fn payment(nonce: &str) -> Statement {
    Statement::Payment(PaymentStatement {
        nonce: nonce.into(),
        id: "YmFza2V0IGlk".into(),
        payments: vec![Payment {
            payment_id: "cGF5bWVudCBpZA".into(),
            amount: "123.45".into(),
            currency: "NOK".into(),
            creditor_name: "Scrooge McDuck".into(),
        }],
    })
}

fn callback_params(callback: &Callback) -> CallbackParams {
    CallbackParams::parse(&serde_urlencoded::to_string(&callback.params).unwrap())
}

/// The user's browser opens the login; with a permission naming the user, the page shows the
/// binding message and waits for the app.
async fn open_login(browser: &Browser, login: &AuthorizationRedirect) -> String {
    let (_, html) = Browser::page(browser.get(login.url.as_str()).await);
    assert!(
        browser.refresh_url(&html).is_some(),
        "the page waits for the app: {html}"
    );
    html
}

/// The waiting page, reloaded until it leaves for the merchant (bounded).
async fn wait_for_callback(browser: &Browser, mut html: String) -> Callback {
    for _ in 0..20 {
        match browser.reload(&html).await {
            Step::Callback(callback) => return callback,
            Step::Page { html: next, .. } => html = next,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the login never left the waiting page: {html}");
}

/// The user's phone: signs in to the emulated app's web page and answers the one request
/// waiting there, after checking that it shows what the merchant asked for.
async fn answer_in_app(tp: &TestProvider, user: &User, expect: &[&str], decision: &str) {
    let phone = Browser::new(tp);
    let app = format!("{}/app", tp.provider.issuers.bis().issuer);
    let (_, html) = Browser::page(phone.get(&app).await);
    let (_, html) = Browser::page(
        phone
            .submit(
                &html,
                &[("nnin", &user.nnin), ("password", &user.password)],
                None,
            )
            .await,
    );
    for text in expect {
        assert!(html.contains(text), "the app shows '{text}': {html}");
    }
    let (_, html) = Browser::page(phone.submit(&html, &[], Some(("decision", decision))).await);
    assert!(
        !html.contains(r#"name="decision""#),
        "nothing is left to answer: {html}"
    );
}

#[tokio::test]
async fn seed_004_a_payment_permission_is_approved_in_the_app_and_its_grant_verifies() {
    let tp = provider().await;
    let kari = tp.user("Kari").clone();

    // 2. and 4. The BankID OIDC configuration and the BankID with biometrics configuration.
    let (realm, bis) = clients(&tp).await;
    assert_ne!(realm.issuer(), bis.issuer());
    assert!(
        bis.permissions_endpoint()
            .await
            .unwrap()
            .ends_with("/permissions/v1/")
    );

    // 3. An access token from BankID OIDC with permissions/client.
    let token = realm
        .client_credentials(&["permissions/client"])
        .await
        .unwrap();

    // Whether the user can use BankID with biometrics.
    assert!(bis.user_exists(&token.token, &kari.nnin).await.unwrap());
    // A valid NNIN of nobody here (synthetic: month + 80).
    assert!(!bis.user_exists(&token.token, "01818510078").await.unwrap());

    // 5. Register the permission: a payment statement with a unique nonce and a login hint.
    let request = PermissionRequest::new(payment("dW5pcXVlIHZhbHVl")).login_hint_nnin(&kari.nnin);
    let registered = bis
        .register_permission(&token.token, &request)
        .await
        .unwrap();
    assert!(registered.id.starts_with("1.BY."), "{}", registered.id);
    assert_eq!(registered.binding_message.split(' ').count(), 2);

    // 12. (early) Polling before the user answered: not granted yet, until the deadline.
    let early = bis
        .poll_grant(
            &token.token,
            &registered,
            Instant::now() + Duration::from_millis(300),
        )
        .await;
    assert!(
        matches!(early, Err(Error::GrantTimeout { .. })),
        "{early:?}"
    );

    // 6. and 7. The login with the permission token (PKCE, state and nonce by the library).
    let login = bis
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile", "sub_nnin"])
        .login_hint_token(&registered.permission_token)
        .build()
        .unwrap();
    let browser = Browser::new(&tp);
    let html = open_login(&browser, &login).await;
    assert!(
        html.contains(&registered.binding_message),
        "the merchant's binding message is on the page"
    );

    // The user approves in the app, which shows the merchant, the words and the payment.
    answer_in_app(
        &tp,
        &kari,
        &[
            "Biometric Shop",
            &registered.binding_message,
            "123.45 NOK",
            "Scrooge McDuck",
        ],
        "allow",
    )
    .await;

    // 10. and 11. The callback, the code exchanged at the BIS token endpoint, the token checked.
    let callback = wait_for_callback(&browser, html).await;
    let result = bis
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    let claims = &result.id_token.claims;
    assert_eq!(claims.iss, bis.issuer());
    assert_eq!(claims.sub, kari.id);
    assert_eq!(claims.acr.as_deref(), Some("urn:bankid:bis;LOA=3"));
    assert_eq!(result.id_token.loa(), Some(3));
    assert_eq!(claims.sub_nnin.as_deref(), Some(kari.nnin.as_str()));
    assert_eq!(claims.nonce.as_deref(), Some(login.pending.nonce.as_str()));

    // 12. The signed permission: verified with jwks_uri_grants, its nonce and digest those of
    // the statement sent, its subject the user who approved.
    let grant = bis
        .poll_grant(
            &token.token,
            &registered,
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(grant.claims.nonce, "dW5pcXVlIHZhbHVl");
    assert_eq!(grant.claims.digest, registered.digest);
    assert_eq!(grant.claims.permission_id, registered.id);
    assert_eq!(grant.claims.sub, format!("nnin:{}", kari.nnin));
    assert_eq!(grant.claims.iss, bis.issuer());
    assert_eq!(
        grant.claims.proof_key_id,
        claims.proof_key_id.clone().unwrap(),
        "the grant and the ID token name the same device key"
    );

    // A permission token works once: a second login with it is refused.
    let again = bis
        .authorization_request()
        .await
        .unwrap()
        .login_hint_token(&registered.permission_token)
        .build()
        .unwrap();
    let callback = Browser::callback(Browser::new(&tp).get(again.url.as_str()).await);
    assert_eq!(callback.error(), "invalid_request");
}

#[tokio::test]
async fn seed_002_a_bis_login_by_scripted_answer_gives_a_loa3_id_token_of_the_bis_issuer() {
    let tp = provider().await;
    let ola = tp.user("Ola").clone();
    // A pipeline's deterministic answer: Ola's app approves at once.
    let approve = AppScripted {
        answer: AppScript::Approve,
        delay: 0,
    };
    assert!(
        tp.store
            .set_app_script(&ola.id, Some(approve))
            .await
            .unwrap()
    );
    let (_, bis) = clients(&tp).await;

    // 3. The authorization request: PKCE S256, state and nonce.
    let login = bis
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile", "sub_bankid"])
        .build()
        .unwrap();
    assert!(login.url.as_str().contains("code_challenge_method=S256"));

    // The user gives the NNIN; the app answers; the browser goes back to the merchant.
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(login.url.as_str()).await);
    let step = browser.submit(&html, &[("nnin", &ola.nnin)], None).await;
    let callback = match step {
        Step::Callback(callback) => callback,
        Step::Page { html, .. } => wait_for_callback(&browser, html).await,
    };

    // 4. and 5. The callback and the token exchange; the library checks nonce, LOA 3, the
    // signature from jwks_uri, iss, aud, exp and iat.
    let result = bis
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    let claims = &result.id_token.claims;
    assert_eq!(claims.iss, bis.issuer());
    assert!(claims.aud.contains(SHOP));
    assert_eq!(claims.amr, ["bis-mfa", "bis-hwk"]);
    assert_eq!(claims.sub_bankid.as_deref(), Some(ola.pid.as_str()));
    assert_eq!(claims.sub_nnin, None, "sub_nnin was not asked for");
    assert_eq!(claims.profile.given_name.as_deref(), Some("Ola"));
}

#[tokio::test]
async fn seed_002_upfront_permission_denied_in_the_app_ends_the_login_and_refuses_the_grant() {
    let tp = provider().await;
    let ingrid = tp.users[2].clone();
    let (realm, bis) = clients(&tp).await;
    let token = realm
        .client_credentials(&["permissions/client", "permissions/text"])
        .await
        .unwrap();

    // A text to approve, without a login hint: the login asks for the NNIN.
    let statement = Statement::Text(TextStatement {
        nonce: Some("dGV4dCBub25jZQ".into()),
        text: "Godkjenn avtalen om strømlevering".into(),
    });
    let registered = bis
        .register_permission(&token.token, &PermissionRequest::new(statement))
        .await
        .unwrap();
    let login = bis
        .authorization_request()
        .await
        .unwrap()
        .login_hint_token(&registered.permission_token)
        .build()
        .unwrap();
    let browser = Browser::new(&tp);
    let (_, html) = Browser::page(browser.get(login.url.as_str()).await);
    let (_, html) = Browser::page(browser.submit(&html, &[("nnin", &ingrid.nnin)], None).await);

    answer_in_app(
        &tp,
        &ingrid,
        &[
            "Godkjenn avtalen om strømlevering",
            &registered.binding_message,
        ],
        "deny",
    )
    .await;
    let callback = wait_for_callback(&browser, html).await;
    assert_eq!(callback.error(), "access_denied");
    let refused = bis
        .handle_callback(&login.pending, &callback_params(&callback))
        .await;
    assert!(refused.is_err(), "{refused:?}");

    // The grant is refused for good: polling stops at once with the provider's error.
    let grant = bis
        .poll_grant(
            &token.token,
            &registered,
            Instant::now() + Duration::from_secs(10),
        )
        .await;
    match grant {
        Err(Error::GrantRefused(error)) => assert_eq!(error.code, "access_denied"),
        other => panic!("expected access_denied, got {other:?}"),
    }
}

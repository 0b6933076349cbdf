//! The rest of a token's life, through the relying-party library against this project's
//! provider over real HTTP: refresh with rotation and reuse detection, introspection,
//! revocation, RP-initiated logout, `private_key_jwt` client authentication, and signing-key
//! rotation under a running load of logins.

use bankid_oidc_client::private_key_jwt::AssertionClaims;
use bankid_oidc_client::{
    AuthorizationRedirect, CallbackParams, Client, ClientAssertionSigner, ClientAuth, Error,
    Expected, Introspection, Login, PrivateKeyJwtSigner, TokenTypeHint,
};
use bankid_oidc_core::ErrorCode;
use bankid_oidc_core::grant_type::ClientAuthMethod;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::clock::Clock;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_testkit::browser::{Browser, Callback, Step};
use bankid_oidc_testkit::html::forms;
use bankid_oidc_testkit::provider::{
    CLIENT_ID, CLIENT_SECRET, MACHINE_CLIENT_ID, MACHINE_SECRET, POST_LOGOUT_URI, REDIRECT_URI,
    TestProvider,
};
use reqwest::header::LOCATION;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The test shop as a relying party, configured as a BankID merchant would be.
fn shop(tp: &TestProvider) -> bankid_oidc_client::ClientBuilder {
    Client::builder(&tp.issuer, CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .redirect_uri(REDIRECT_URI)
        .min_loa(4)
        .require_at_hash(true)
        .allowed_algs(&["ES256"])
}

async fn machine(tp: &TestProvider) -> Client {
    Client::builder(&tp.issuer, MACHINE_CLIENT_ID)
        .client_secret(MACHINE_SECRET)
        .discover()
        .await
        .unwrap()
}

/// A netcentric login request from the library; `offline_access` asks for a long-lived refresh
/// token.
async fn start_login(client: &Client) -> AuthorizationRedirect {
    client
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile", "offline_access"])
        .login_hint("BID")
        .api_version(4)
        .build()
        .unwrap()
}

fn callback_params(callback: &Callback) -> CallbackParams {
    CallbackParams::parse(&serde_urlencoded::to_string(&callback.params).unwrap())
}

/// Netcentric BankID (NNIN, one-time code, password) in `browser`.
async fn log_in_with(
    tp: &TestProvider,
    browser: &Browser,
    login: &AuthorizationRedirect,
    user: &str,
) -> Callback {
    let user = tp.user(user);
    browser
        .login_bid_at(login.url.as_str(), &user.nnin, &user.otp, &user.password)
        .await
}

/// A complete login through the library, in a new browser.
async fn complete_login(tp: &TestProvider, client: &Client, user: &str) -> Login {
    let login = start_login(client).await;
    let callback = log_in_with(tp, &Browser::new(tp), &login, user).await;
    client
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_or_else(|e| panic!("login failed: {e}"))
}

fn refresh_token_of(login: &Login) -> String {
    login
        .tokens
        .refresh_token
        .clone()
        .expect("the shop is registered for refresh_token, so the code exchange returns one")
}

/// The provider's OAuth error code at `endpoint`, or a panic naming what came instead.
fn endpoint_error(err: &Error, endpoint: &str) -> (Option<ErrorCode>, String) {
    match err {
        Error::Endpoint {
            endpoint: found,
            error,
            ..
        } if *found == endpoint => (
            error.known_code(),
            error.description.clone().unwrap_or_default(),
        ),
        other => panic!("expected an error from the {endpoint} endpoint, got {other:?}"),
    }
}

fn assert_invalid_grant(err: &Error) {
    let (code, description) = endpoint_error(err, "token");
    assert_eq!(code, Some(ErrorCode::InvalidGrant), "{description}");
}

async fn assert_userinfo_refuses(client: &Client, access_token: &str, sub: &str) {
    let err = client.userinfo(access_token, sub).await.unwrap_err();
    let (code, description) = endpoint_error(&err, "userinfo");
    assert_eq!(code, Some(ErrorCode::InvalidToken), "{description}");
}

// --- refresh --------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_and_reuse_of_a_spent_token_after_the_grace_revokes_the_family() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let login = complete_login(&tp, &client, "Kari").await;
    let original = &login.id_token.claims;
    let first = refresh_token_of(&login);

    let second = client.refresh(&first, original, None).await.unwrap();
    assert!(second.rotated, "every use rotates the refresh token");
    assert_ne!(second.refresh_token, first);
    assert_ne!(second.tokens.access_token, login.tokens.access_token);
    let id_token = second
        .id_token
        .as_ref()
        .expect("a refresh of an openid login returns an ID token");
    assert_eq!(id_token.claims.sub, original.sub);
    assert_eq!(id_token.claims.nonce, None, "no nonce on refresh");
    assert_eq!(
        id_token.claims.sid, original.sid,
        "refresh keeps the provider session"
    );
    assert_eq!(id_token.claims.acr, original.acr);
    assert_eq!(id_token.claims.amr, original.amr);
    client
        .userinfo(&second.tokens.access_token, &original.sub)
        .await
        .unwrap();

    // The merchant stored the successor and refreshes with it.
    let third = client
        .refresh(&second.refresh_token, original, None)
        .await
        .unwrap();
    assert!(third.rotated);

    // Later (past the 10 s grace window), the spent first token turns up again: theft. The
    // provider refuses it and revokes the whole family...
    tp.advance(11);
    let err = client.refresh(&first, original, None).await.unwrap_err();
    assert_invalid_grant(&err);
    // ...so the legitimate holder's latest refresh token fails too,
    let err = client
        .refresh(&third.refresh_token, original, None)
        .await
        .unwrap_err();
    assert_invalid_grant(&err);
    // and the access tokens of the family are dead.
    assert_userinfo_refuses(&client, &third.tokens.access_token, &original.sub).await;
    assert_eq!(
        client
            .introspect(&third.refresh_token, Some(TokenTypeHint::RefreshToken))
            .await
            .unwrap(),
        Introspection::Inactive
    );
}

#[tokio::test]
async fn refresh_can_narrow_the_scope_but_not_widen_it() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let login = complete_login(&tp, &client, "Kari").await;
    let original = &login.id_token.claims;

    let narrowed = client
        .refresh(&refresh_token_of(&login), original, Some(&["openid"]))
        .await
        .unwrap();
    assert_eq!(narrowed.tokens.scope.as_deref(), Some("openid"));

    let err = client
        .refresh(
            &narrowed.refresh_token,
            original,
            Some(&["openid", "email"]),
        )
        .await
        .unwrap_err();
    let (code, description) = endpoint_error(&err, "token");
    assert_eq!(code, Some(ErrorCode::InvalidScope), "{description}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_get_the_same_successor_and_the_family_lives_on() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let login = complete_login(&tp, &client, "Kari").await;
    let original = Arc::new(login.id_token.claims.clone());
    let mut current = refresh_token_of(&login);

    // Several rounds, each a double submit of the current token from two tasks (a merchant
    // with two web workers holding the same session, or a retried request).
    for round in 0..5 {
        let spawn = |token: String| {
            let (client, original) = (client.clone(), original.clone());
            tokio::spawn(async move { client.refresh(&token, &original, None).await })
        };
        let a = spawn(current.clone());
        let b = spawn(current.clone());
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => panic!(
                "round {round}: both refreshes must succeed: {:?} / {:?}",
                a.err(),
                b.err()
            ),
        };
        assert_eq!(
            a.refresh_token, b.refresh_token,
            "round {round}: one family, one successor"
        );
        assert_ne!(a.refresh_token, current);
        for access in [&a.tokens.access_token, &b.tokens.access_token] {
            client.userinfo(access, &original.sub).await.unwrap();
        }
        current = a.refresh_token;
    }

    // The family still works afterwards, rotation continues as usual.
    let next = client.refresh(&current, &original, None).await.unwrap();
    assert!(next.rotated);
    assert!(
        client
            .introspect(&next.refresh_token, Some(TokenTypeHint::RefreshToken))
            .await
            .unwrap()
            .is_active()
    );
}

// --- introspection and revocation ------------------------------------------------------------

#[tokio::test]
async fn introspection_shows_a_client_its_own_tokens_and_not_another_clients() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let login = complete_login(&tp, &client, "Kari").await;

    let answer = client
        .introspect(&login.tokens.access_token, Some(TokenTypeHint::AccessToken))
        .await
        .unwrap();
    let token = answer
        .active()
        .expect("the shop's own access token is active");
    assert_eq!(token.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(
        token.sub.as_deref(),
        Some(login.id_token.claims.sub.as_str())
    );
    assert_eq!(token.iss.as_deref(), Some(tp.issuer.as_str()));
    assert_eq!(token.token_type.as_deref(), Some("Bearer"));
    assert!(token.scopes().any(|s| s == "offline_access"));
    assert_eq!(token.sid, login.id_token.claims.sid);
    assert!(token.exp.unwrap() > token.iat.unwrap());

    // The refresh token too, without a hint.
    let refresh = client
        .introspect(&refresh_token_of(&login), None)
        .await
        .unwrap();
    assert_eq!(
        refresh.active().unwrap().client_id.as_deref(),
        Some(CLIENT_ID)
    );

    // Another client's tokens are inactive to the shop, and the shop's to it: an answer that
    // says nothing about whether the token exists.
    let machine = machine(&tp).await;
    let machine_token = machine.client_credentials(&["esign"]).await.unwrap();
    assert!(
        machine
            .introspect(&machine_token.token, None)
            .await
            .unwrap()
            .is_active()
    );
    assert_eq!(
        client.introspect(&machine_token.token, None).await.unwrap(),
        Introspection::Inactive
    );
    assert_eq!(
        machine
            .introspect(&login.tokens.access_token, None)
            .await
            .unwrap(),
        Introspection::Inactive
    );
    assert_eq!(
        machine
            .introspect(&refresh_token_of(&login), None)
            .await
            .unwrap(),
        Introspection::Inactive
    );

    // A wrong secret is the endpoint's invalid_client, not an inactive token.
    let impostor = Client::builder(&tp.issuer, CLIENT_ID)
        .client_secret("not-the-secret")
        .discover()
        .await
        .unwrap();
    let err = impostor
        .introspect(&login.tokens.access_token, None)
        .await
        .unwrap_err();
    let (code, _) = endpoint_error(&err, "introspection");
    assert_eq!(code, Some(ErrorCode::InvalidClient));
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_by_userinfo_and_inactive_at_introspection() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let login = complete_login(&tp, &client, "Kari").await;
    let sub = &login.id_token.claims.sub;
    let access = &login.tokens.access_token;
    client.userinfo(access, sub).await.unwrap();

    // Another client cannot revoke the shop's token.
    let err = machine(&tp)
        .await
        .revoke(access, Some(TokenTypeHint::AccessToken))
        .await
        .unwrap_err();
    endpoint_error(&err, "revocation");
    client.userinfo(access, sub).await.unwrap();

    client
        .revoke(access, Some(TokenTypeHint::AccessToken))
        .await
        .unwrap();
    assert_userinfo_refuses(&client, access, sub).await;
    assert_eq!(
        client.introspect(access, None).await.unwrap(),
        Introspection::Inactive
    );
    // Revoking again is fine (RFC 7009: the answer does not depend on the token's state).
    client.revoke(access, None).await.unwrap();

    // Revoking an access token leaves the login's refresh token alive.
    let refreshed = client
        .refresh(&refresh_token_of(&login), &login.id_token.claims, None)
        .await
        .unwrap();
    client
        .userinfo(&refreshed.tokens.access_token, sub)
        .await
        .unwrap();
}

#[tokio::test]
async fn revoking_the_refresh_token_ends_the_whole_login() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let login = complete_login(&tp, &client, "Kari").await;
    let claims = &login.id_token.claims;
    let refreshed = client
        .refresh(&refresh_token_of(&login), claims, None)
        .await
        .unwrap();

    client
        .revoke(&refreshed.refresh_token, Some(TokenTypeHint::RefreshToken))
        .await
        .unwrap();
    let err = client
        .refresh(&refreshed.refresh_token, claims, None)
        .await
        .unwrap_err();
    assert_invalid_grant(&err);
    assert_userinfo_refuses(&client, &refreshed.tokens.access_token, &claims.sub).await;
    assert_userinfo_refuses(&client, &login.tokens.access_token, &claims.sub).await;
}

#[tokio::test]
async fn a_revoked_machine_token_leaves_the_cache_and_the_next_call_fetches_a_new_one() {
    let tp = TestProvider::start().await;
    let machine = machine(&tp).await;
    let token = machine.client_credentials(&["esign"]).await.unwrap();
    assert_eq!(
        machine.client_credentials(&["esign"]).await.unwrap().token,
        token.token,
        "cached"
    );
    machine.revoke(&token.token, None).await.unwrap();
    assert_eq!(
        machine.introspect(&token.token, None).await.unwrap(),
        Introspection::Inactive
    );
    let fresh = machine.client_credentials(&["esign"]).await.unwrap();
    assert_ne!(fresh.token, token.token);
    assert!(
        machine
            .introspect(&fresh.token, None)
            .await
            .unwrap()
            .is_active()
    );
}

// --- logout ----------------------------------------------------------------------------------

#[tokio::test]
async fn logout_redirects_with_state_and_the_next_authorize_asks_for_login_again() {
    let tp = TestProvider::start().await;
    let client = shop(&tp).discover().await.unwrap();
    let browser = Browser::new(&tp);
    let first = start_login(&client).await;
    let callback = log_in_with(&tp, &browser, &first, "Kari").await;
    let login = client
        .handle_callback(&first.pending, &callback_params(&callback))
        .await
        .unwrap();

    // While the provider session lives, a new login is single sign-on: straight back with a
    // code, no page. (Shows that the check after logout below can tell the difference.)
    let sso = start_login(&client).await;
    let callback = Browser::callback(browser.get(sso.url.as_str()).await);
    client
        .handle_callback(&sso.pending, &callback_params(&callback))
        .await
        .unwrap();

    let logout = client
        .logout_request()
        .await
        .unwrap()
        .id_token_hint(&login.id_token.raw)
        .post_logout_redirect_uri(POST_LOGOUT_URI)
        .state("logout-state-1")
        .ui_locales("nb")
        .build()
        .unwrap();
    assert!(
        logout
            .as_str()
            .starts_with(tp.meta.end_session_endpoint.as_deref().unwrap())
    );
    let response = browser.http.get(logout.as_str()).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    let mut landed = location.clone();
    landed.set_query(None);
    assert_eq!(landed.as_str(), POST_LOGOUT_URI);
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(query, [("state".to_owned(), "logout-state-1".to_owned())]);

    // The provider session is over: the same browser gets the login page, not a code.
    let again = start_login(&client).await;
    match browser.get(again.url.as_str()).await {
        Step::Page { html, .. } => {
            assert!(
                forms(&html)
                    .iter()
                    .any(|f| f.fields.iter().any(|(name, _)| name == "nnin")),
                "expected the login page: {html}"
            );
        }
        Step::Callback(c) => panic!("single sign-on after logout: {:?}", c.params),
    }
    // And logging in again works.
    let callback = log_in_with(&tp, &browser, &again, "Kari").await;
    client
        .handle_callback(&again.pending, &callback_params(&callback))
        .await
        .unwrap();
}

// --- private_key_jwt -------------------------------------------------------------------------

const SIGNED_CLIENT_ID: &str = "signed-shop";
const SIGNED_REDIRECT_URI: &str = "https://signed.example/callback";

/// Registers a client that authenticates with `private_key_jwt` and the signer's public JWKS.
async fn register_signed_client(tp: &TestProvider, signer: &PrivateKeyJwtSigner) {
    let now = tp.clock.now();
    let mut client = new_client(
        SIGNED_CLIENT_ID,
        // Never presented: a private_key_jwt client authenticates with its key only.
        "unused-secret-0123456789-abcdefghijklmnop",
        vec![SIGNED_REDIRECT_URI.into()],
        ScopeSet::parse("openid profile").unwrap(),
        now,
    );
    client.token_endpoint_auth_method = ClientAuthMethod::PrivateKeyJwt;
    client.jwks = Some(signer.jwks_json());
    tp.store.add_client(&client).await.unwrap();
}

async fn signed_client(tp: &TestProvider, signer: impl ClientAssertionSigner + 'static) -> Client {
    Client::builder(&tp.issuer, SIGNED_CLIENT_ID)
        .auth(ClientAuth::PrivateKeyJwt(Arc::new(signer)))
        .redirect_uri(SIGNED_REDIRECT_URI)
        .min_loa(4)
        .require_at_hash(true)
        .discover()
        .await
        .unwrap()
}

/// Hands out the same assertion every time: a captured assertion replayed.
struct Replaying {
    signer: PrivateKeyJwtSigner,
    captured: Mutex<Option<String>>,
}

impl ClientAssertionSigner for Replaying {
    fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, Error> {
        let mut captured = self.captured.lock().unwrap();
        if captured.is_none() {
            *captured = Some(self.signer.client_assertion(client_id, audience)?);
        }
        Ok(captured.clone().unwrap())
    }
}

/// Signs assertions whose `exp` is already past, with the registered key.
struct Expired(PrivateKeyJwtSigner);

impl ClientAssertionSigner for Expired {
    fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        self.0.sign(&AssertionClaims {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: audience.to_owned(),
            iat: now - 120,
            exp: now - 60,
            jti: format!("expired-{now}"),
        })
    }
}

fn pem_copy(signer: &PrivateKeyJwtSigner) -> PrivateKeyJwtSigner {
    PrivateKeyJwtSigner::from_pkcs8_pem(&signer.to_pkcs8_pem().unwrap()).unwrap()
}

#[tokio::test]
async fn private_key_jwt_exchanges_codes_and_refuses_replayed_wrong_aud_expired_and_unknown_key() {
    let tp = TestProvider::start().await;
    let signer = PrivateKeyJwtSigner::generate().unwrap();
    register_signed_client(&tp, &signer).await;
    assert!(
        tp.meta
            .token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == "private_key_jwt")
    );

    // A login whose code is exchanged with an assertion (captured for the replay below).
    let replaying = Replaying {
        signer: pem_copy(&signer),
        captured: Mutex::new(None),
    };
    let replayer = signed_client(&tp, replaying).await;
    let first = start_login_for(&replayer).await;
    let callback = log_in_with(&tp, &Browser::new(&tp), &first, "Kari").await;
    let login = replayer
        .handle_callback(&first.pending, &callback_params(&callback))
        .await
        .expect("the code exchange with a private_key_jwt assertion succeeds");
    assert_eq!(login.id_token.claims.aud.len(), 1);
    assert!(login.id_token.claims.aud.contains(SIGNED_CLIENT_ID));

    // A second login; its code survives every refused attempt below, because the client is
    // authenticated before the grant is looked at.
    let second = start_login_for(&replayer).await;
    let callback = log_in_with(&tp, &Browser::new(&tp), &second, "Kari").await;
    let params = callback_params(&callback);

    let other_key = PrivateKeyJwtSigner::generate().unwrap();
    let same_kid_other_key = PrivateKeyJwtSigner::generate()
        .unwrap()
        .kid(signer.key_id());
    let refusals: Vec<(&str, Client, &str)> = vec![
        ("replayed jti", replayer.clone(), "jti"),
        (
            "wrong aud",
            signed_client(&tp, pem_copy(&signer).audience("https://elsewhere.example")).await,
            "aud",
        ),
        (
            "expired assertion",
            signed_client(&tp, Expired(pem_copy(&signer))).await,
            "expired",
        ),
        ("unknown key", signed_client(&tp, other_key).await, "kid"),
        (
            "unregistered key under the registered kid",
            signed_client(&tp, same_kid_other_key).await,
            "signature",
        ),
    ];
    for (case, client, reason) in refusals {
        let err = client
            .handle_callback(&second.pending, &params)
            .await
            .unwrap_err();
        let (code, description) = endpoint_error(&err, "token");
        assert_eq!(
            code,
            Some(ErrorCode::InvalidClient),
            "{case}: {description}"
        );
        // The description names the rule, so the refusal is known to be for this reason.
        assert!(
            description.contains(reason),
            "{case}: expected '{reason}' in '{description}'"
        );
    }

    // The genuine signer with a fresh assertion still redeems the code.
    let genuine = signed_client(&tp, signer).await;
    let login = genuine
        .handle_callback(&second.pending, &params)
        .await
        .unwrap();
    // And the same key authenticates at introspection and revocation too.
    assert!(
        genuine
            .introspect(&login.tokens.access_token, None)
            .await
            .unwrap()
            .is_active()
    );
    genuine
        .revoke(&login.tokens.access_token, None)
        .await
        .unwrap();
}

async fn start_login_for(client: &Client) -> AuthorizationRedirect {
    client
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile"])
        .login_hint("BID")
        .api_version(4)
        .build()
        .unwrap()
}

// --- key rotation under load -----------------------------------------------------------------

/// One login of the load: its ID token and the rotation count at its start and end.
struct LoadLogin {
    login: Login,
    phase_at_start: usize,
    phase_at_end: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_rotation_under_a_running_load_of_logins_loses_no_login() {
    const TASKS: usize = 4;
    const ROTATIONS: usize = 3;
    /// Logins completed under each key before the next step, so every key signs some.
    const LOGINS_PER_PHASE: usize = 6;

    let tp = Arc::new(TestProvider::start().await);
    // The provider's immediate rotation (`rotate_keys_now`, the test control) publishes the new
    // key and signs with it at the same instant, so a client learns it only by refetching the
    // JWKS when it meets the unknown kid; three rotations seconds apart would hit the default
    // 30 s refetch rate limit and fail logins with UnknownKey. Scheduled rotations publish the
    // next key a lead time before it signs and come hours apart, so there the rate limit never
    // bites; here it is switched off.
    let client = shop(&tp)
        .jwks_min_refetch_interval(Duration::ZERO)
        .discover()
        .await
        .unwrap();
    let initial_kid = {
        let login = complete_login(&tp, &client, "Kari").await;
        jsonwebtoken::decode_header(&login.id_token.raw)
            .unwrap()
            .kid
            .unwrap()
    };

    let phase = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let completed: Arc<Mutex<Vec<LoadLogin>>> = Arc::default();
    let users = ["Kari", "Ola", "Ingrid", "Kari"];
    let tasks: Vec<_> = users
        .into_iter()
        .take(TASKS)
        .map(|user| {
            let (tp, client) = (tp.clone(), client.clone());
            let (phase, stop, completed) = (phase.clone(), stop.clone(), completed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let phase_at_start = phase.load(Ordering::SeqCst);
                    let login = start_login(&client).await;
                    let callback = log_in_with(&tp, &Browser::new(&tp), &login, user).await;
                    let result = client
                        .handle_callback(&login.pending, &callback_params(&callback))
                        .await
                        .map_err(|e| format!("{user}'s login in phase {phase_at_start}: {e}"))?;
                    completed.lock().unwrap().push(LoadLogin {
                        login: result,
                        phase_at_start,
                        phase_at_end: phase.load(Ordering::SeqCst),
                    });
                }
                Ok::<(), String>(())
            })
        })
        .collect();

    let finished_in = |p: usize| {
        completed
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.phase_at_start == p && l.phase_at_end == p)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut kids = vec![initial_kid];
    let mut phases_done = 0;
    'phases: for step in 0..=ROTATIONS {
        while finished_in(step) < LOGINS_PER_PHASE {
            // A task ends early only on a failed login; joining it below shows which.
            if tasks.iter().any(|t| t.is_finished()) || Instant::now() > deadline {
                break 'phases;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if step < ROTATIONS {
            kids.push(tp.rotate_keys().await);
            phase.store(step + 1, Ordering::SeqCst);
        }
        phases_done += 1;
    }
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await
            .unwrap()
            .unwrap_or_else(|e| panic!("a login was lost: {e}"));
    }
    assert_eq!(phases_done, ROTATIONS + 1, "the load stalled");

    let completed = std::mem::take(&mut *completed.lock().unwrap());
    let spanning = completed
        .iter()
        .filter(|l| l.phase_at_start != l.phase_at_end)
        .count();
    assert!(
        spanning > 0,
        "some logins were in flight during a rotation ({} logins)",
        completed.len()
    );
    // Every key signed logins while it was current.
    let signed_with: BTreeSet<String> = completed
        .iter()
        .map(|l| {
            jsonwebtoken::decode_header(&l.login.id_token.raw)
                .unwrap()
                .kid
                .unwrap()
        })
        .collect();
    for kid in &kids {
        assert!(signed_with.contains(kid), "no login was signed with {kid}");
    }
    // Tokens signed before, during and after the rotations all still validate now, with the
    // keys of the last rotation in the client's cache: retired keys stay published.
    for l in &completed {
        client
            .verify_id_token(
                &l.login.id_token.raw,
                &Expected {
                    nonce: l.login.id_token.claims.nonce.as_deref(),
                    access_token: Some(&l.login.tokens.access_token),
                },
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "a token from phase {}..{} no longer validates: {e}",
                    l.phase_at_start, l.phase_at_end
                )
            });
    }
}

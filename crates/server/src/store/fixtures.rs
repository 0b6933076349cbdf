//! Records for the store's unit tests.

use crate::secret::{new_id, random_token};
use crate::store::{
    AuthorizationCode, Client, Completion, EndCheck, Ending, FlowStore, GrantTerms, LoginFlow,
    NewLogin, Session, Step, Store, StoreKey,
};
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::scope::ScopeSet;
use std::sync::Arc;

/// A validated authorization request of client `shop`.
pub fn request() -> ValidatedAuthorizeRequest {
    use bankid_oidc_core::authorize::{
        AuthorizeParams, Channel, ClientPolicy, check_redirect, validate,
    };
    let query = "client_id=shop&redirect_uri=https%3A%2F%2Fshop.example%2Fcallback&response_type=code\
        &scope=openid&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
        &code_challenge_method=S256";
    let params = AuthorizeParams::from_urlencoded(query.as_bytes()).unwrap();
    let redirect_uris = vec!["https://shop.example/callback".to_owned()];
    let scopes = ScopeSet::parse("openid profile").unwrap();
    let policy = ClientPolicy {
        client_id: "shop",
        redirect_uris: &redirect_uris,
        scopes: &scopes,
    };
    let target = check_redirect(&params, &policy).unwrap();
    validate(&params, &policy, &target, Channel::Query).unwrap()
}

/// A login flow at its first step, made at `created_at`.
pub fn flow_at(id: &str, created_at: i64, expires_at: i64) -> LoginFlow {
    LoginFlow {
        id: id.into(),
        browser_hash: StoreKey::of("browser"),
        session_id: None,
        request: Arc::new(request()),
        step: Step::Nnin,
        method: Some(Method::Bid),
        user_id: None,
        csrf: "csrf".into(),
        binding_message: None,
        created_at,
        expires_at,
        kept_session: None,
        source: None,
        app_request_id: None,
        permission_id: None,
        frame_ancestor: None,
    }
}

/// A test user with id `id`.
pub fn user(id: &str) -> crate::store::User {
    crate::store::User {
        id: id.into(),
        nnin: "15838540063".into(),
        pid: format!("pid-{id}"),
        given_name: "Kari".into(),
        family_name: "Nordmann".into(),
        birthdate: "1985-03-15".into(),
        email: None,
        phone: None,
        address: None,
        otp: "otp".into(),
        password: "qwer1234".into(),
        failed_attempts: 0,
        locked_until: None,
        updated_at: 0,
        next_login_scripted: false,
    }
}

/// A client `id` with a secret hash, for the code flow.
pub fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: id.into(),
        secret_hash: "hash".into(),
        redirect_uris: vec!["https://shop.example/callback".into()],
        scopes: ScopeSet::parse("openid profile").unwrap(),
        created_at: 0,
        grant_types: vec![GrantType::AuthorizationCode],
        token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
        post_logout_redirect_uris: vec![],
        jwks: None,
        jwks_uri: None,
        resource_server: false,
        require_pushed_authorization_requests: false,
        permission_types: vec![],
    }
}

/// A fresh code (and grant) of `user_id` for `client_id`, issued at 10 and expiring at 70.
pub fn code(user_id: &str, client_id: &str, session_id: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: StoreKey::of(&random_token()),
        issuer: "realm:current".into(),
        grant_id: new_id(),
        client_id: client_id.into(),
        redirect_uri: "https://shop.example/callback".into(),
        code_challenge: "challenge".into(),
        nonce: "nonce".into(),
        scope: "openid profile".into(),
        user_id: user_id.into(),
        session_id: session_id.into(),
        method: Method::Bid,
        auth_time: 10,
        api_version: 4,
        issued_at: 10,
        expires_at: 70,
        consumed_at: None,
        terms: GrantTerms::default(),
    }
}

/// A login's end for `user_id` at client `shop`: a new session, replacing `replaced`, with its
/// grant and code.
pub fn completion(user_id: &str, replaced: Option<&str>) -> Completion {
    let session = Session {
        id: new_id(),
        user_id: Some(user_id.into()),
        method: Some(Method::Bid),
        auth_time: Some(10),
        created_at: 10,
        expires_at: 1000,
    };
    Completion {
        login: Some(NewLogin {
            replaced_session_id: replaced.map(str::to_owned),
            cookie: StoreKey::of(&random_token()),
            session: session.clone(),
        }),
        code: code(user_id, "shop", &session.id),
        grant_created_at: 10,
    }
}

/// What every flow store does with a login's end that checks the password: it ends the flow and
/// stores the login only for the user's password while the store has no failure and no lock for
/// them; otherwise nothing is stored and the flow goes on.
pub async fn a_login_end_checks_the_password_failures_and_lock(
    flows: &dyn FlowStore,
    store: &dyn Store,
) {
    let user = user(&new_id());
    store.add_user(&user).await.unwrap();
    store.add_client(&client("shop")).await.unwrap();
    let check = |password| EndCheck {
        user_id: &user.id,
        password,
    };
    let end = |flow_id: String, password: &'static str| {
        let completion = completion(&user.id, None);
        let check = check(password);
        async move {
            let ending = flows
                .finish_flow_completing(&flow_id, 600, &completion, Some(&check), store)
                .await
                .unwrap();
            let stored = store.code(&completion.code.code_hash).await.unwrap();
            (ending, stored.is_some())
        }
    };
    let flow_id = new_id();
    for wrong in ["", "qwer123", "qwer12345", "QWER1234"] {
        assert_eq!(
            end(flow_id.clone(), wrong).await,
            (Ending::CheckFailed, false)
        );
    }
    // Not ended by the checks that failed: the right password ends it, once.
    assert_eq!(
        end(flow_id.clone(), "qwer1234").await,
        (Ending::Ended, true)
    );
    assert_eq!(
        end(flow_id.clone(), "qwer1234").await,
        (Ending::AlreadyEnded, false)
    );
    // A failure stored: the right password does not pass until a right secret clears it.
    store
        .count_login_failure(&user.id, 20, 5, 900)
        .await
        .unwrap();
    assert_eq!(
        end(new_id(), "qwer1234").await,
        (Ending::CheckFailed, false)
    );
    assert!(store.accept_login_secret(&user.id, 20, true).await.unwrap());
    assert_eq!(end(new_id(), "qwer1234").await, (Ending::Ended, true));
    // Locked: it does not pass.
    for _ in 0..5 {
        store
            .count_login_failure(&user.id, 30, 5, 900)
            .await
            .unwrap();
    }
    assert_eq!(
        end(new_id(), "qwer1234").await,
        (Ending::CheckFailed, false)
    );
    // Another user's id, or a user who is gone: it does not pass.
    let other = EndCheck {
        user_id: "no-such-user",
        password: "qwer1234",
    };
    let completion = completion(&user.id, None);
    let ending = flows
        .finish_flow_completing(&new_id(), 600, &completion, Some(&other), store)
        .await
        .unwrap();
    assert_eq!(ending, Ending::CheckFailed);
}

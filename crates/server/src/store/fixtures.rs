//! Records for the store's unit tests.

use crate::secret::{new_id, random_token};
use crate::store::{AuthorizationCode, Client, GrantTerms, LoginFlow, Step, StoreKey};
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

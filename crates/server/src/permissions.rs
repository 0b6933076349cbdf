//! The permissions API of BankID with biometrics (seed 004): a merchant registers a permission,
//! asks whether a user can use the app, and reads the grant once the user approved.
//!
//! Every call carries a client credentials access token of a *realm* issuer holding
//! `permissions/client` (the BIS issuer issues no such token). What each call answers
//! (`http/permissions.rs` renders it; every answer is `Cache-Control: no-store`):
//!
//! | call | status | body |
//! | --- | --- | --- |
//! | any, no or bad token | 401 | `{"error":"invalid_token","error_description"}` + `WWW-Authenticate: Bearer error="invalid_token"` |
//! | any, no `permissions/client` | 403 | `{"error":"insufficient_scope","error_description"}` |
//! | `POST {permissions_endpoint}`, `user-exists`: not JSON | 415 | `{"error":"invalid_request","error_description"}` |
//! | a body that breaks a rule, a reused nonce | 400 | `{"error":"invalid_request","error_description":"<field>: <rule>","field"}` |
//! | `POST {permissions_endpoint}` | 200 | `{"id","permissionToken","bindingMessage"}` |
//! | `POST {permissions_endpoint}user-exists` | 200 | `{"exists": bool}` |
//! | `GET {id}/grant`: unknown id, another client's | 404 | `{"error":"not_found","error_description":"no such permission"}` |
//! | `GET {id}/grant`: user not asked yet, or asked and not answered | 404 | `{"error":"not_found","error_description":"the permission is not granted yet"}` |
//! | `GET {id}/grant`: denied | 403 | `{"error":"access_denied"}` |
//! | `GET {id}/grant`: unanswered past its time, or the permission's `exp` passed unasked | 410 | `{"error":"expired"}` |
//! | `GET {id}/grant`: the user's app could not be reached | 410 | `{"error":"timeout"}` |
//! | `GET {id}/grant`: approved | 200 | the grant JWT, `Content-Type: application/jwt` |
//!
//! Nothing is stored for a refused registration. A statement's nonce is accepted once per client
//! while it is remembered (`permission_nonce_keep`), in the same write that stores the
//! permission. The grant is signed on the first read after approval with the grants key set
//! (`jwks_uri_grants`, never the token keys) and kept: every later read returns the same bytes.

use crate::Provider;
use crate::bearer::{BearerError, live_access_token};
use crate::issuer::IssuerKind;
use crate::permission_token;
use crate::secret::random_bytes;
use crate::store::{AppRequest, AppStatus, Client, Permission, StoreError};
use bankid_oidc_core::permission_request::{
    GRANT_TYPE, GRANT_VERSION, GrantClaims, PermissionError, PermissionPolicy, is_permission_id,
    parse_user_exists, permission_id, validate_permission_request,
};
use serde::Serialize;
use std::sync::Arc;

/// The scope every call of the permissions API needs.
pub const CLIENT_SCOPE: &str = "permissions/client";
/// The scope a `text.v1` permission needs.
pub const TEXT_SCOPE: &str = "permissions/text";

/// A refusal of the permissions API; each maps to one status and error code
/// (`http::permissions`).
#[derive(Debug)]
pub enum PermissionsError {
    /// No access token, or not a live realm access token: 401 `invalid_token`.
    InvalidToken(String),
    /// The token lacks `permissions/client`: 403 `insufficient_scope`.
    InsufficientScope,
    /// The body is not `application/json`: 415.
    UnsupportedMediaType,
    /// The body breaks a rule: 400 `invalid_request` naming the field.
    InvalidRequest(PermissionError),
    /// Unknown, another client's, or not granted yet: 404 `not_found`.
    NotFound(&'static str),
    /// The user denied: 403 `access_denied`.
    AccessDenied,
    /// The user did not answer in time: 410 `expired`.
    Expired(&'static str),
    /// The user's app could not be reached, so no answer will come: 410 `timeout` (the client
    /// library reads `access_denied`, `expired` and `timeout` as final refusals).
    Unreachable,
    Store(StoreError),
}

impl From<StoreError> for PermissionsError {
    fn from(e: StoreError) -> Self {
        PermissionsError::Store(e)
    }
}

/// The merchant calling: its registration and the scopes of its token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client: Arc<Client>,
    pub scope: String,
}

impl Caller {
    fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// The caller of a permissions call: a live access token from the realm issuer that issued it
/// (named by its `iss`, checked by [`live_access_token`] against that issuer) with
/// `permissions/client`.
pub async fn authenticate(p: &Provider, token: Option<&str>) -> Result<Caller, PermissionsError> {
    authenticate_for(p, token, CLIENT_SCOPE).await
}

/// The caller, as [`authenticate`] checks it, of an API that needs `scope` (iframe-authorize
/// needs `permissions/iframe`).
pub async fn authenticate_for(
    p: &Provider,
    token: Option<&str>,
    scope: &str,
) -> Result<Caller, PermissionsError> {
    let invalid = |d: &str| PermissionsError::InvalidToken(d.to_owned());
    let token = token.ok_or_else(|| invalid("access token: missing"))?;
    let (_, payload) = p
        .keys
        .decode_issued(token)
        .map_err(|e| invalid(&format!("access token: {e}")))?;
    let iss = serde_json::from_slice::<serde_json::Value>(&payload)
        .ok()
        .and_then(|claims| claims["iss"].as_str().map(str::to_owned))
        .ok_or_else(|| invalid("access token: no issuer"))?;
    let issuer = p
        .issuers
        .all()
        .iter()
        .find(|i| i.kind == IssuerKind::Realm && i.issuer == iss)
        .ok_or_else(|| {
            invalid("access token: not issued by a BankID OIDC realm of this provider")
        })?;
    let (claims, _) = match live_access_token(p, issuer, token).await {
        Ok(found) => found,
        Err(BearerError::Invalid(d)) => return Err(PermissionsError::InvalidToken(d)),
        Err(BearerError::Store(e)) => return Err(e.into()),
    };
    let client = p
        .client(&claims.client_id)
        .await?
        .ok_or_else(|| invalid("access token: its client no longer exists"))?;
    let caller = Caller {
        client,
        scope: claims.scope,
    };
    if !caller.has_scope(scope) {
        return Err(PermissionsError::InsufficientScope);
    }
    Ok(caller)
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub id: String,
    pub permission_token: String,
    pub binding_message: String,
}

/// Registers a permission: the body by core's rules under this client's registration, then the
/// permission and its nonce in one write.
pub async fn register(
    p: &Provider,
    caller: &Caller,
    body: &[u8],
) -> Result<Registered, PermissionsError> {
    let now = p.now();
    let policy = PermissionPolicy {
        now,
        max_lifetime: p.config.permission_max_lifetime,
        text_allowed: caller.has_scope(TEXT_SCOPE),
        extra_types: caller.client.permission_types.clone(),
    };
    let valid =
        validate_permission_request(body, &policy).map_err(PermissionsError::InvalidRequest)?;
    let permission = Permission {
        id: permission_id(&random_bytes::<32>(), &random_bytes::<32>()),
        client_id: caller.client.client_id.clone(),
        nonce: valid.statement.nonce().map(str::to_owned),
        type_: valid.type_,
        loa: valid.loa,
        permission: valid.permission,
        digest: valid.digest,
        intents: valid.intents,
        login_hint_nnin: valid.login_hint_nnin,
        acr_values: valid.acr_values,
        binding_message: crate::login::binding::new_binding_message(),
        iat: valid.iat,
        expires_at: valid.exp,
        created_at: now,
        token_used_at: None,
        app_request_id: None,
        grant_jwt: None,
    };
    if !p
        .store
        .add_permission(&permission, now + p.config.permission_nonce_keep)
        .await?
    {
        return Err(PermissionsError::InvalidRequest(PermissionError::new(
            "permission.nonce",
            "this client used this nonce before; a nonce must be unique per permission",
        )));
    }
    Ok(Registered {
        permission_token: permission_token::issue(p, &permission),
        id: permission.id,
        binding_message: permission.binding_message,
    })
}

/// Whether a test user has the NNIN of the body's `loginHint` (every test user has the app).
pub async fn user_exists(p: &Provider, body: &[u8]) -> Result<bool, PermissionsError> {
    let nnin = parse_user_exists(body).map_err(PermissionsError::InvalidRequest)?;
    Ok(p.store.user_by_nnin(&nnin).await?.is_some())
}

/// The grant of permission `id` for its client: signed on the first read after the user
/// approved, then the kept bytes.
pub async fn grant(p: &Provider, caller: &Caller, id: &str) -> Result<String, PermissionsError> {
    const UNKNOWN: &str = "no such permission";
    if !is_permission_id(id) {
        return Err(PermissionsError::NotFound(UNKNOWN));
    }
    // Another client's permission answers as an unknown one: its existence is not revealed.
    let permission = match p.store.permission(id).await? {
        Some(permission) if permission.client_id == caller.client.client_id => permission,
        _ => return Err(PermissionsError::NotFound(UNKNOWN)),
    };
    if let Some(kept) = permission.grant_jwt {
        return Ok(kept);
    }
    let now = p.now();
    let request = match &permission.app_request_id {
        Some(request_id) => p.store.app_request(request_id).await?,
        None => None,
    };
    let Some(request) = request else {
        return Err(if now >= permission.expires_at {
            PermissionsError::Expired("the permission's exp passed before the user was asked")
        } else {
            PermissionsError::NotFound("the permission is not granted yet")
        });
    };
    match request.status(now) {
        AppStatus::Pending => Err(PermissionsError::NotFound(
            "the permission is not granted yet",
        )),
        AppStatus::Denied => Err(PermissionsError::AccessDenied),
        AppStatus::TimedOut => Err(PermissionsError::Expired(
            "the user did not answer before the permission expired",
        )),
        AppStatus::Unreachable => Err(PermissionsError::Unreachable),
        AppStatus::Approved => {
            let jwt = sign_grant(p, &permission, &request, now).await?;
            Ok(p.store.keep_grant(id, &jwt).await?.unwrap_or(jwt))
        }
    }
}

/// The server version in grants (`sv`), like seed 004's `2020-10-30@deadbeef`.
pub fn server_version() -> String {
    format!("bankid-oidc@{}", env!("CARGO_PKG_VERSION"))
}

async fn sign_grant(
    p: &Provider,
    permission: &Permission,
    request: &AppRequest,
    now: i64,
) -> Result<String, PermissionsError> {
    let user = p
        .store
        .user(&request.user_id)
        .await?
        .ok_or(PermissionsError::Expired(
            "the user who was asked no longer exists",
        ))?;
    // When the user approved: their answer, or their scripted answer's time.
    let approved_at = request
        .answered_at
        .or(request.script.map(|(_, at)| at))
        .unwrap_or(now);
    let claims = GrantClaims {
        gv: GRANT_VERSION,
        pt: permission.type_.clone(),
        type_: GRANT_TYPE.to_owned(),
        rp_id: permission.client_id.clone(),
        sv: server_version(),
        iat: approved_at,
        iss: p.issuers.bis().issuer.clone(),
        nonce: permission.nonce.clone().unwrap_or_default(),
        proof_key_id: crate::device::proof_key_id(&user.id),
        sub: format!("nnin:{}", user.nnin),
        permission_id: permission.id.clone(),
        digest: permission.digest.clone(),
    };
    Ok(p.grant_keys.sign("JWT", &claims))
}

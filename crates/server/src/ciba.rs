//! The backchannel authentication endpoint of BankID with biometrics (CIBA Core 1.0, poll
//! mode): a merchant's backend names a user and the provider asks that user's app, with no
//! browser between them. The request passes a list of named checks (the rules BIS chooses
//! where CIBA leaves a choice are in core `ciba`), then asks the app ([`app::ask`], so the app's
//! web page, the CLI and scripted answers see it like any other BIS request) and keeps the
//! request for the token endpoint to poll (`grants::ciba`).
//!
//! The permission token is used (once) only after every other rule passed, so that a bad
//! request does not burn it.

use crate::authorization::login_hint_token::{self, Unusable};
use crate::issuer::Issuer;
use crate::secret::random_token;
use crate::store::{CibaRequest, Client, Permission, StoreError, StoreKey, User};
use crate::{Provider, app};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::ciba::{
    AuthenticationResponse, CIBA_SCOPE, Hint, INTERVAL, check_acr_values, check_binding_message,
    check_hint, check_requested_expiry,
};
use bankid_oidc_core::error::ErrorCode;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::scope::{BIS_SCOPES, ScopeSet};

/// Why a backchannel authentication request was refused: the client's fault (a CIBA error,
/// CIBA Core section 13) or ours.
#[derive(Debug)]
pub enum CibaError {
    OAuth(OAuthError),
    Store(StoreError),
}

impl From<OAuthError> for CibaError {
    fn from(e: OAuthError) -> Self {
        CibaError::OAuth(e)
    }
}

impl From<StoreError> for CibaError {
    fn from(e: StoreError) -> Self {
        CibaError::Store(e)
    }
}

fn refuse(code: ErrorCode, description: impl Into<String>) -> CibaError {
    CibaError::OAuth(OAuthError::new(code, description))
}

/// The client is registered for CIBA: the grant type and the scope `permissions/ciba`.
fn check_client(client: &Client) -> Result<(), CibaError> {
    if !client.allows_grant(GrantType::Ciba) {
        return Err(refuse(
            ErrorCode::UnauthorizedClient,
            format!(
                "client_id: client '{}' is not registered for the grant type {}",
                client.client_id,
                GrantType::Ciba
            ),
        ));
    }
    if !client.scopes.contains(CIBA_SCOPE) {
        return Err(refuse(
            ErrorCode::UnauthorizedClient,
            format!(
                "client_id: client '{}' is not registered for the scope {CIBA_SCOPE}",
                client.client_id
            ),
        ));
    }
    Ok(())
}

/// `scope`: `openid`, and only BIS scopes the client is registered for.
fn check_scope(client: &Client, text: Option<&str>) -> Result<ScopeSet, CibaError> {
    let invalid = |rule: String| refuse(ErrorCode::InvalidScope, format!("scope: {rule}"));
    let Some(text) = text else {
        return Err(invalid("required, with openid".into()));
    };
    let scope = ScopeSet::parse(text).map_err(invalid)?;
    if !scope.contains("openid") {
        return Err(invalid("must contain openid".into()));
    }
    for s in scope.iter() {
        if !BIS_SCOPES.contains(&s) {
            let shown: String = s.chars().take(60).collect();
            return Err(invalid(format!(
                "'{shown}' is not a BankID with biometrics scope ({})",
                BIS_SCOPES.join(" ")
            )));
        }
        if !client.scopes.contains(s) {
            return Err(invalid(format!(
                "'{s}' is not allowed for client '{}'",
                client.client_id
            )));
        }
    }
    Ok(scope)
}

/// A permission token's refusal in CIBA's words.
fn unusable(e: Unusable) -> CibaError {
    let description = e.description();
    let code = match e {
        Unusable::Store(e) => return CibaError::Store(e),
        Unusable::Expired => ErrorCode::ExpiredLoginHintToken,
        Unusable::NoSuchUser => ErrorCode::UnknownUserId,
        _ => ErrorCode::InvalidRequest,
    };
    refuse(code, description)
}

/// The user the hint names, the permission (if a token named one) and the binding message.
struct Named {
    user: User,
    permission: Option<Permission>,
    binding_message: String,
}

async fn resolve(
    p: &Provider,
    client: &Client,
    hint: Hint,
    binding_message: Option<&str>,
) -> Result<Named, CibaError> {
    match hint {
        Hint::Nnin(nnin) => {
            let Some(binding_message) = binding_message else {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "binding_message: required with login_hint (the merchant shows it, the app \
                     shows it, the user compares them)",
                ));
            };
            let Some(user) = p.store.user_by_nnin(nnin.as_str()).await? else {
                return Err(refuse(
                    ErrorCode::UnknownUserId,
                    "login_hint: no user with this NNIN can use BankID with biometrics here",
                ));
            };
            Ok(Named {
                user,
                permission: None,
                binding_message: binding_message.to_owned(),
            })
        }
        Hint::PermissionToken(token) => {
            let found = login_hint_token::find(p, &client.client_id, &token)
                .await
                .map_err(unusable)?;
            let Some(user) = found.user.clone() else {
                return Err(refuse(
                    ErrorCode::UnknownUserId,
                    "login_hint_token: the permission names no user; register it with a \
                     loginHint (CIBA has no page to ask for the NNIN)",
                ));
            };
            if binding_message.is_some_and(|m| m != found.permission.binding_message) {
                return Err(refuse(
                    ErrorCode::InvalidBindingMessage,
                    "binding_message: differs from the permission's binding message",
                ));
            }
            let used = login_hint_token::use_found(p, &client.client_id, found)
                .await
                .map_err(unusable)?;
            let binding_message = used.permission.binding_message.clone();
            Ok(Named {
                user,
                permission: Some(used.permission),
                binding_message,
            })
        }
    }
}

/// Takes a backchannel authentication request of an authenticated `client`.
pub async fn start(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    params: &Params,
) -> Result<AuthenticationResponse, CibaError> {
    check_client(client)?;
    let scope = check_scope(client, params.get("scope"))?;
    let hint = check_hint(
        params.get("login_hint_token"),
        params.get("login_hint"),
        params.get("id_token_hint"),
    )?;
    let binding_message = check_binding_message(params.get("binding_message"))?;
    let requested_expiry = check_requested_expiry(params.get("requested_expiry"))?;
    check_acr_values(params.get("acr_values"), Method::Bis.acr_value())?;
    if params.get("user_code").is_some() {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            "user_code: not supported (backchannel_user_code_parameter_supported is false)",
        ));
    }
    let named = resolve(p, client, hint, binding_message).await?;
    let request = app::ask(
        p,
        &named.user,
        client,
        &named.binding_message,
        named.permission.as_ref(),
    )
    .await?;
    let now = p.now();
    // The request ends with the app's (its timeout, or the permission's exp), or sooner if
    // the client asked.
    let expires_at =
        requested_expiry.map_or(request.expires_at, |e| (now + e).min(request.expires_at));
    let auth_req_id = random_token();
    p.store
        .add_ciba_request(&CibaRequest {
            key: StoreKey::of(&auth_req_id),
            issuer: issuer.id.clone(),
            client_id: client.client_id.clone(),
            user_id: named.user.id.clone(),
            app_request_id: request.id,
            scope: scope.to_string(),
            interval: INTERVAL,
            created_at: now,
            expires_at,
            last_polled_at: None,
            redeemed_at: None,
        })
        .await?;
    Ok(AuthenticationResponse {
        auth_req_id,
        expires_in: expires_at - now,
        interval: INTERVAL,
    })
}

//! `grant_type=urn:openid:params:grant-type:ciba` (CIBA Core sections 10 and 11, poll mode):
//! the merchant polls for the tokens of a backchannel authentication request. Each poll is one
//! conditional write (`CibaStore::poll_ciba_request`: too early is `slow_down`, and the
//! interval grows), then the app's answer decides: `authorization_pending`, `access_denied`,
//! `expired_token`, or the tokens, once (`CibaStore::redeem_ciba_request` marks the request
//! redeemed in the transaction that records them).

use super::{GrantError, GrantResult, access_record, invalid_grant};
use crate::issuer::Issuer;
use crate::secret::new_id;
use crate::store::{AppStatus, CibaGrant, CibaRedeemed, Client, Issued, Polled, StoreKey};
use crate::tokens::{LoginContext, for_login};
use crate::{Provider, app};
use bankid_oidc_core::MIN_API_VERSION;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::ciba::SLOW_DOWN_STEP;
use bankid_oidc_core::claims::TokenResponse;
use bankid_oidc_core::error::ErrorCode;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::scope::ScopeSet;

fn refuse(code: ErrorCode, rule: impl std::fmt::Display) -> GrantError {
    GrantError::OAuth(OAuthError::new(code, format!("auth_req_id: {rule}")))
}

/// The same answer for an unknown request and another client's: one client cannot learn
/// whether another's `auth_req_id` exists.
const UNKNOWN: &str = "auth_req_id: unknown (or not this client's)";

pub async fn exchange(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    params: &Params,
) -> GrantResult {
    let auth_req_id = params.require("auth_req_id")?;
    let key = StoreKey::of(auth_req_id);
    let now = p.now();
    let request = match p
        .store
        .poll_ciba_request(&key, &client.client_id, now, SLOW_DOWN_STEP)
        .await?
    {
        Polled::OnTime(request) => *request,
        Polled::TooEarly { interval } => {
            return Err(refuse(
                ErrorCode::SlowDown,
                format!("polled sooner than the interval; wait {interval} seconds between polls"),
            ));
        }
        Polled::Expired => {
            return Err(refuse(
                ErrorCode::ExpiredToken,
                "expired; start a new backchannel authentication request",
            ));
        }
        Polled::Redeemed => {
            return Err(invalid_grant(
                "auth_req_id: its tokens were issued to an earlier poll; a request gives tokens once",
            ));
        }
        Polled::OtherClient | Polled::Unknown => return Err(invalid_grant(UNKNOWN)),
    };
    if !issuer.made(&request.issuer) {
        return Err(invalid_grant(UNKNOWN));
    }
    match app::status(p, &request.app_request_id).await? {
        Some(AppStatus::Approved) => {}
        Some(AppStatus::Pending) => {
            return Err(refuse(
                ErrorCode::AuthorizationPending,
                "the user has not answered in the app yet",
            ));
        }
        Some(AppStatus::Denied) => {
            return Err(refuse(
                ErrorCode::AccessDenied,
                "the user denied the request in the app",
            ));
        }
        Some(AppStatus::Unreachable) => {
            return Err(refuse(
                ErrorCode::AccessDenied,
                "the user's app could not be reached",
            ));
        }
        Some(AppStatus::TimedOut) | None => {
            return Err(refuse(
                ErrorCode::ExpiredToken,
                "the user did not answer in the app in time",
            ));
        }
    }
    let Some(user) = p.store.user(&request.user_id).await? else {
        return Err(invalid_grant("auth_req_id: the user no longer exists"));
    };
    let scope = ScopeSet::try_from(request.scope.clone()).unwrap_or_default();
    // No browser, so no session: the request's grant stands in for one as the ID token's sid.
    let grant = CibaGrant {
        grant_id: new_id(),
        session_id: new_id(),
    };
    let login = LoginContext {
        client_id: &request.client_id,
        scope: &scope,
        session_id: &grant.session_id,
        method: Method::Bis,
        api_version: MIN_API_VERSION,
        // CIBA has no nonce (CIBA Core section 10.1.1).
        nonce: None,
        authorization_details: None,
    };
    let tokens = for_login(p, issuer, &login, &user, now);
    let issued = Issued {
        access: access_record(&tokens, &grant.grant_id, &client.client_id),
        refresh: None,
    };
    match p
        .store
        .redeem_ciba_request(&key, now, &grant, &issued)
        .await?
    {
        CibaRedeemed::Fresh => Ok(TokenResponse {
            access_token: tokens.access.token,
            token_type: "Bearer".into(),
            expires_in: Some(p.config.access_token_ttl as u64),
            id_token: Some(tokens.id_token),
            refresh_token: None,
            scope: Some(scope.to_string()),
        }),
        // Lost a race with a concurrent poll of the same request, which got the tokens.
        CibaRedeemed::AlreadyRedeemed => Err(invalid_grant(
            "auth_req_id: its tokens were issued to an earlier poll; a request gives tokens once",
        )),
    }
}

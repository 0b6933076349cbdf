//! The authorization request, as a pipeline of named steps (after node-oidc-provider's
//! `lib/actions/authorization/`), each in its own file, ending in the pure [`decide()`]:
//!
//! 1. [`load_client`]: `client_id` names a registered client.
//! 2. [`pushed_request`](mod@pushed_request): a `request_uri` takes the request pushed to this issuer by this
//!    client (everything else was checked when it was pushed).
//! 3. [`request_object`]: a signed or encrypted `request` is verified and merged.
//! 4. the redirect check (the core's `check_redirect`): from here on, errors go to the client.
//! 5. [`require_par`]: a client registered for PAR must push its requests.
//! 6. the core's checks (`bankid_oidc_core::authorize::validate`, one named rule each).
//! 7. [`hint`]: the `id_token_hint` names a user of ours and a session.
//! 8. [`decide()`]: issue a code, ask consent, start a login, or refuse (`prompt=none`).
//!
//! At the BankID with biometrics issuer ([`biometrics_request`]): no pushed requests or request
//! objects (its discovery says so), the core's checks under its rules, no single sign-on (every
//! login is approved in the app), and then
//! 9. [`login_hint_token`]: a permission token is used for the login.
//!
//! The BIS rules where seed 002 is silent *(ours)*: `login_hint` may only be `BIS` (an NNIN
//! form is refused: without PAR or request objects it would travel in the browser's address;
//! a permission's login hint pre-selects the user instead); `acr_values` may only name
//! `urn:bankid:bis`; `request` and `request_uri` are refused with `request_not_supported` and
//! `request_uri_not_supported`; `prompt=none` is refused with `login_required`; the realm
//! refuses `login_hint_token` with `invalid_request`. How the login waits for the app, and what
//! each answer leads to, is `login::flow::poll`'s.
//!
//! `http::authorize` (a page or a redirect) and `http::par` (JSON) are adapters around it.

pub mod decide;
pub mod hint;
pub mod load_client;
pub mod login_hint_token;
pub mod pushed_request;
pub mod request_object;
pub mod require_par;

pub use decide::{Decision, Known, decide};

use crate::Provider;
use crate::issuer::{Issuer, IssuerKind};
use crate::store::{Client, StoreError};
use bankid_oidc_core::authorize::{
    AuthorizeError, AuthorizeParams, Channel, ClientPolicy, IssuerRules, ResponseTarget,
    ValidatedAuthorizeRequest, check_redirect, validate, validate_at,
};
use bankid_oidc_core::{ErrorCode, OAuthError};

/// Why a request was refused, and where the refusal goes.
#[derive(Debug)]
pub enum Refused {
    /// Client or redirect_uri not proven: to the person, on a page.
    Page(OAuthError),
    /// To the client's redirect_uri.
    Redirect(Box<ResponseTarget>, OAuthError),
    Store(StoreError),
}

impl From<AuthorizeError> for Refused {
    fn from(e: AuthorizeError) -> Self {
        match e {
            AuthorizeError::Page(e) => Refused::Page(e),
            AuthorizeError::Redirect(target, e) => Refused::Redirect(target, e),
        }
    }
}

/// Steps 1 to 6 for a request the browser brings to the authorization endpoint.
pub async fn browser_request(
    p: &Provider,
    issuer: &Issuer,
    params: &AuthorizeParams,
) -> Result<ValidatedAuthorizeRequest, Refused> {
    let client = load_client::load_client(p, params).await?;
    if issuer.kind == IssuerKind::Bis {
        return biometrics_request(issuer, &client, params);
    }
    if let Some(request_uri) = params.get("request_uri") {
        return pushed_request::take(p, issuer, &client.client_id, request_uri)
            .await
            .map_err(Refused::Page);
    }
    // Until the redirect_uri is proven, request object errors are shown on a page.
    let resolved = request_object::resolve(p, issuer, &client, params, false)
        .await
        .map_err(Refused::Page)?;
    let policy = policy(&client);
    let target = check_redirect(&resolved.params, &policy)?;
    require_par::check(&client, &target)?;
    let req = validate(&resolved.params, &policy, &target, resolved.channel)?;
    Ok(ValidatedAuthorizeRequest {
        issuer: issuer.id.clone(),
        ..req
    })
}

/// Steps 4 and 6 at the BankID with biometrics issuer (also for `iframe-authorize`, whose form
/// is validated as this request), which takes only plain requests: a
/// `request` or `request_uri` is refused (to the client once its redirect_uri is proven); a
/// client registered to push its requests is not held to that here (BIS has no PAR).
pub fn biometrics_request(
    issuer: &Issuer,
    client: &Client,
    params: &AuthorizeParams,
) -> Result<ValidatedAuthorizeRequest, Refused> {
    let policy = policy(client);
    let target = check_redirect(params, &policy);
    for (name, code) in [
        ("request", ErrorCode::RequestNotSupported),
        ("request_uri", ErrorCode::RequestUriNotSupported),
    ] {
        if params.get(name).is_some() {
            let e = OAuthError::new(
                code,
                format!(
                    "{name}: the BankID with biometrics issuer takes no request objects or pushed \
                     requests (see its discovery); send the parameters in the query"
                ),
            );
            return Err(match target {
                Ok(target) => Refused::Redirect(Box::new(target), e),
                Err(_) => Refused::Page(e),
            });
        }
    }
    let target = target?;
    let req = validate_at(
        params,
        &policy,
        &target,
        Channel::Query,
        IssuerRules::Biometrics,
    )?;
    Ok(ValidatedAuthorizeRequest {
        issuer: issuer.id.clone(),
        ..req
    })
}

/// Steps 3, 4, 6 and 7 for a request `client` pushes (RFC 9126); every refusal is for the
/// client, as JSON.
pub async fn pushed_request(
    p: &Provider,
    issuer: &Issuer,
    client: &Client,
    params: &AuthorizeParams,
) -> Result<ValidatedAuthorizeRequest, OAuthError> {
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri: not allowed in a pushed authorization request",
        ));
    }
    if params
        .get("client_id")
        .is_some_and(|id| id != client.client_id)
    {
        return Err(OAuthError::invalid_request(
            "client_id: differs from the authenticated client",
        ));
    }
    let resolved = request_object::resolve(p, issuer, client, params, true).await?;
    let policy = policy(client);
    let req = check_redirect(&resolved.params, &policy)
        .and_then(|target| validate(&resolved.params, &policy, &target, resolved.channel))
        .map_err(|e| match e {
            AuthorizeError::Page(e) | AuthorizeError::Redirect(_, e) => e,
        })?;
    // A bad id_token_hint is refused now rather than after the browser arrives.
    if let Some(token) = &req.id_token_hint {
        hint::resolve(p, issuer, &client.client_id, token).await?;
    }
    Ok(ValidatedAuthorizeRequest {
        issuer: issuer.id.clone(),
        ..req
    })
}

fn policy(client: &Client) -> ClientPolicy<'_> {
    ClientPolicy {
        client_id: &client.client_id,
        redirect_uris: &client.redirect_uris,
        scopes: &client.scopes,
    }
}

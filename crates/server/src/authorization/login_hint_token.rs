//! Step 9 at the BankID with biometrics issuer: `login_hint_token`, a permission token (seed
//! 002, "Authorization Code with upfront permissions"). It names a permission this client
//! registered; the permission's login hint pre-selects the user, its binding message and
//! content are what the app shows. It is used (once) only after every other rule passed, so
//! that a bad request does not burn it.

use crate::Provider;
use crate::permission_token;
use crate::store::{Permission, PermissionTaken, StoreError, User};
use bankid_oidc_core::OAuthError;

/// Why a permission token cannot serve this login.
#[derive(Debug)]
pub enum TokenRefused {
    /// The client's fault: `invalid_request`, naming the parameter.
    Invalid(OAuthError),
    Store(StoreError),
}

impl From<StoreError> for TokenRefused {
    fn from(e: StoreError) -> Self {
        TokenRefused::Store(e)
    }
}

/// A permission used for a login, and the user its login hint names (if it names one).
pub struct UsedPermission {
    pub permission: Permission,
    pub user: Option<User>,
}

/// Why a permission token cannot be used, each reason apart, so that CIBA can answer with its
/// own codes (`expired_login_hint_token`, `unknown_user_id`) where a login says
/// `invalid_request`.
#[derive(Debug)]
pub enum Unusable {
    /// Not a permission token of ours, or outside its lifetime (`verify`'s description).
    NotOurs(String),
    OtherClient,
    Unknown,
    /// The permission's login hint names no user here.
    NoSuchUser,
    Used,
    Expired,
    Store(StoreError),
}

impl From<StoreError> for Unusable {
    fn from(e: StoreError) -> Self {
        Unusable::Store(e)
    }
}

impl Unusable {
    /// The rule it broke, as a description naming `login_hint_token`.
    pub fn description(&self) -> String {
        let rule = match self {
            // `verify` names the parameter already.
            Unusable::NotOurs(e) => return e.clone(),
            Unusable::OtherClient => "was issued to another client",
            Unusable::Unknown => "no such permission",
            Unusable::NoSuchUser => "the permission's login hint names no user here",
            Unusable::Used => "the permission was used before; a permission token works once",
            Unusable::Expired => "the permission has expired (its exp passed)",
            Unusable::Store(_) => "the provider could not read it",
        };
        format!("login_hint_token: {rule}")
    }
}

/// A permission token checked (ours, this client's, its user known) but not yet used.
pub struct FoundPermission {
    pub permission: Permission,
    pub user: Option<User>,
}

/// Verifies `token` for `client_id` and reads its permission and user, without using it: what
/// can be refused without using the permission is refused here.
pub async fn find(p: &Provider, client_id: &str, token: &str) -> Result<FoundPermission, Unusable> {
    p.learn_signing_key(token).await;
    let claims = permission_token::verify(p, token).map_err(Unusable::NotOurs)?;
    if claims.cid != client_id {
        return Err(Unusable::OtherClient);
    }
    let Some(permission) = p.store.permission(&claims.p).await? else {
        return Err(Unusable::Unknown);
    };
    let user = match &permission.login_hint_nnin {
        Some(nnin) => match p.store.user_by_nnin(nnin).await? {
            Some(user) => Some(user),
            None => return Err(Unusable::NoSuchUser),
        },
        None => None,
    };
    Ok(FoundPermission { permission, user })
}

/// Uses a found permission (once, before its `exp`: the store's conditional write).
pub async fn use_found(
    p: &Provider,
    client_id: &str,
    found: FoundPermission,
) -> Result<UsedPermission, Unusable> {
    match p
        .store
        .use_permission(&found.permission.id, client_id, p.now())
        .await?
    {
        PermissionTaken::Taken(permission) => Ok(UsedPermission {
            permission: *permission,
            user: found.user,
        }),
        PermissionTaken::Used => Err(Unusable::Used),
        PermissionTaken::Expired => Err(Unusable::Expired),
        PermissionTaken::OtherClient => Err(Unusable::OtherClient),
        PermissionTaken::Unknown => Err(Unusable::Unknown),
    }
}

/// Verifies `token` for `client_id`'s login and uses its permission.
pub async fn take(
    p: &Provider,
    client_id: &str,
    token: &str,
) -> Result<UsedPermission, TokenRefused> {
    let refused = |e: Unusable| match e {
        Unusable::Store(e) => TokenRefused::Store(e),
        e => TokenRefused::Invalid(OAuthError::invalid_request(e.description())),
    };
    let found = find(p, client_id, token).await.map_err(refused)?;
    use_found(p, client_id, found).await.map_err(refused)
}

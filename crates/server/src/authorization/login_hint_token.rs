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

fn invalid(rule: &str) -> TokenRefused {
    TokenRefused::Invalid(OAuthError::invalid_request(format!(
        "login_hint_token: {rule}"
    )))
}

/// A permission used for a login, and the user its login hint names (if it names one).
pub struct UsedPermission {
    pub permission: Permission,
    pub user: Option<User>,
}

/// Verifies `token` for `client_id`'s login and uses its permission.
pub async fn take(
    p: &Provider,
    client_id: &str,
    token: &str,
) -> Result<UsedPermission, TokenRefused> {
    let claims = permission_token::verify(p, token).map_err(|e| {
        // `verify` names the parameter already.
        TokenRefused::Invalid(OAuthError::invalid_request(e))
    })?;
    if claims.cid != client_id {
        return Err(invalid("was issued to another client"));
    }
    // What can be refused without using the permission is refused first.
    let Some(permission) = p.store.permission(&claims.p).await? else {
        return Err(invalid("no such permission"));
    };
    let user = match &permission.login_hint_nnin {
        Some(nnin) => match p.store.user_by_nnin(nnin).await? {
            Some(user) => Some(user),
            None => return Err(invalid("the permission's login hint names no user here")),
        },
        None => None,
    };
    match p
        .store
        .use_permission(&claims.p, client_id, p.now())
        .await?
    {
        PermissionTaken::Taken(permission) => Ok(UsedPermission {
            permission: *permission,
            user,
        }),
        PermissionTaken::Used => Err(invalid(
            "the permission was used before; a permission token works once",
        )),
        PermissionTaken::Expired => Err(invalid("the permission has expired (its exp passed)")),
        PermissionTaken::OtherClient => Err(invalid("the permission belongs to another client")),
        PermissionTaken::Unknown => Err(invalid("no such permission")),
    }
}

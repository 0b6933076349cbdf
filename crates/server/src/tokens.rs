//! The tokens of a login or a machine client: which claims go where. Signing is the keyring's;
//! storage is the caller's.

use crate::Provider;
use crate::issuer::{Issuer, IssuerKind};
use crate::secret::new_id;
use crate::store::User;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::claims::{
    ACCESS_TOKEN_TYP, AccessTokenClaims, Audience, ID_TOKEN_TYP, IdTokenClaims, ProfileClaims,
};
use bankid_oidc_core::permission::AuthorizationDetail;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_core::token_hash::TokenDigest;

/// What a person login contributes to its tokens, whether they come from a code or a refresh.
pub struct LoginContext<'a> {
    pub client_id: &'a str,
    pub scope: &'a ScopeSet,
    pub session_id: &'a str,
    pub method: Method,
    pub api_version: u32,
    /// The authorization request's nonce; none on refresh (OpenID Connect Core 12.2).
    pub nonce: Option<&'a str>,
    /// Approved `authorization_details` of the grant, JSON.
    pub authorization_details: Option<&'a str>,
}

/// A signed access token and what the store records of it.
pub struct AccessToken {
    pub token: String,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

pub struct LoginTokens {
    pub access: AccessToken,
    /// SHA-256 of the access token, base64url: how the store records it.
    pub access_hash: String,
    pub id_token: String,
}

/// The profile claims a scope set allows.
pub fn profile_claims(user: &User, scope: &ScopeSet) -> ProfileClaims {
    if !scope.contains("profile") {
        return ProfileClaims::default();
    }
    ProfileClaims {
        name: Some(format!("{} {}", user.given_name, user.family_name)),
        given_name: Some(user.given_name.clone()),
        family_name: Some(user.family_name.clone()),
        birthdate: Some(user.birthdate.clone()),
        updated_at: Some(user.updated_at),
    }
}

fn access_token(p: &Provider, claims: AccessTokenClaims) -> AccessToken {
    AccessToken {
        jti: claims.jti.clone(),
        issued_at: claims.iat,
        expires_at: claims.exp,
        token: p.keys.sign(ACCESS_TOKEN_TYP, &claims),
    }
}

/// Signs the access token and ID token of a person login.
pub fn for_login(
    p: &Provider,
    issuer: &Issuer,
    login: &LoginContext,
    user: &User,
    now: i64,
) -> LoginTokens {
    let kind = issuer.kind;
    let issuer = &issuer.issuer;
    // The details travel in the access token without the decoded statement.
    let details: Option<Vec<AuthorizationDetail>> = login
        .authorization_details
        .and_then(|json| serde_json::from_str::<Vec<AuthorizationDetail>>(json).ok())
        .map(|list| {
            list.into_iter()
                .map(|d| AuthorizationDetail {
                    statement: None,
                    ..d
                })
                .collect()
        });
    let permission_digest = details
        .as_ref()
        .and_then(|d| d.first())
        .map(|d| d.digest.clone());
    let access = access_token(
        p,
        AccessTokenClaims {
            iss: issuer.clone(),
            sub: user.id.clone(),
            aud: Audience::One(issuer.clone()),
            client_id: login.client_id.to_owned(),
            scope: login.scope.to_string(),
            exp: now + p.config.access_token_ttl,
            iat: now,
            jti: new_id(),
            sid: Some(login.session_id.to_owned()),
            acr: Some(login.method.acr()),
            authorization_details: details,
        },
    );
    let access_digest = TokenDigest::of(&access.token);
    let id = match kind {
        IssuerKind::Realm => realm_id_token(login, user),
        IssuerKind::Bis => bis_id_token(login, user),
    };
    let id = IdTokenClaims {
        iss: issuer.clone(),
        sub: user.id.clone(),
        aud: Audience::One(login.client_id.to_owned()),
        exp: now + p.config.id_token_ttl,
        iat: now,
        jti: Some(new_id()),
        sid: Some(login.session_id.to_owned()),
        nonce: login.nonce.map(str::to_owned),
        acr: Some(login.method.acr()),
        amr: login.method.amr().iter().map(|s| (*s).to_owned()).collect(),
        typ: Some(ID_TOKEN_TYP.into()),
        at_hash: Some(access_digest.at_hash()),
        profile: profile_claims(user, login.scope),
        permission_digest,
        ..id
    };
    let id_token = p.keys.sign("JWT", &id);
    LoginTokens {
        access,
        access_hash: access_digest.sha256_b64(),
        id_token,
    }
}

/// The claims only the realm's ID token carries (API version 4); the common ones are set by
/// [`for_login`].
fn realm_id_token(login: &LoginContext, user: &User) -> IdTokenClaims {
    IdTokenClaims {
        azp: Some(login.client_id.to_owned()),
        api_ver: Some(login.api_version),
        bankid_altsub: Some(user.pid.clone()),
        nnin_altsub: login
            .scope
            .contains("nnin_altsub")
            .then(|| user.nnin.clone()),
        ..blank_id_token()
    }
}

/// The claims only the BIS issuer's ID token carries (shared/BANKID.md): the device key, and
/// the NNIN and PID by their scopes. It has none of the realm's (`azp`, `api_ver`,
/// `bankid_altsub`, `nnin_altsub`): its discovery does not list them.
fn bis_id_token(login: &LoginContext, user: &User) -> IdTokenClaims {
    IdTokenClaims {
        proof_key_id: Some(crate::device::proof_key_id(&user.id)),
        sub_nnin: login.scope.contains("sub_nnin").then(|| user.nnin.clone()),
        sub_bankid: login.scope.contains("sub_bankid").then(|| user.pid.clone()),
        ..blank_id_token()
    }
}

fn blank_id_token() -> IdTokenClaims {
    IdTokenClaims {
        iss: String::new(),
        sub: String::new(),
        aud: Audience::Many(Vec::new()),
        exp: 0,
        iat: 0,
        azp: None,
        jti: None,
        sid: None,
        nonce: None,
        acr: None,
        amr: Vec::new(),
        typ: None,
        api_ver: None,
        at_hash: None,
        bankid_altsub: None,
        nnin_altsub: None,
        profile: ProfileClaims::default(),
        sub_nnin: None,
        sub_bankid: None,
        proof_key_id: None,
        permission_digest: None,
    }
}

/// Signs the access token of a machine client (client credentials): the client is the subject.
pub fn for_client(
    p: &Provider,
    issuer: &Issuer,
    client_id: &str,
    scope: &ScopeSet,
    now: i64,
) -> AccessToken {
    let issuer = &issuer.issuer;
    access_token(
        p,
        AccessTokenClaims {
            iss: issuer.clone(),
            sub: client_id.to_owned(),
            aud: Audience::One(issuer.clone()),
            client_id: client_id.to_owned(),
            scope: scope.to_string(),
            exp: now + p.config.access_token_ttl,
            iat: now,
            jti: new_id(),
            sid: None,
            acr: None,
            authorization_details: None,
        },
    )
}

//! The tokens of a login: which claims go where. Signing is the keyring's; storage is the
//! caller's.

use crate::Provider;
use crate::secret::random_id;
use crate::store::{AuthorizationCode, User};
use bankid_oidc_core::claims::{
    ACCESS_TOKEN_TYP, AccessTokenClaims, Audience, ID_TOKEN_TYP, IdTokenClaims, ProfileClaims,
};
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_core::token_hash::at_hash;

pub struct IssuedTokens {
    pub access_token: String,
    pub access_token_jti: String,
    pub access_token_expires_at: i64,
    pub id_token: String,
    pub expires_in: i64,
    pub scope: String,
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

/// Signs the access token and ID token for a redeemed authorization code.
pub fn for_code(
    provider: &Provider,
    code: &AuthorizationCode,
    user: &User,
    now: i64,
) -> IssuedTokens {
    let scope = ScopeSet::try_from(code.scope.clone()).unwrap_or_default();
    let issuer = &provider.realm.issuer;
    let jti = random_id();
    let expires_at = now + provider.config.access_token_ttl;
    let access = AccessTokenClaims {
        iss: issuer.clone(),
        sub: user.id.clone(),
        aud: Audience::One(issuer.clone()),
        client_id: code.client_id.clone(),
        scope: scope.to_string(),
        exp: expires_at,
        iat: now,
        jti: jti.clone(),
        sid: Some(code.session_id.clone()),
        acr: Some(code.method.acr()),
    };
    let access_token = provider.keys.sign(ACCESS_TOKEN_TYP, &access);
    let id = IdTokenClaims {
        iss: issuer.clone(),
        sub: user.id.clone(),
        aud: Audience::One(code.client_id.clone()),
        exp: now + provider.config.id_token_ttl,
        iat: now,
        azp: Some(code.client_id.clone()),
        jti: Some(random_id()),
        sid: Some(code.session_id.clone()),
        nonce: Some(code.nonce.clone()),
        acr: Some(code.method.acr()),
        amr: code.method.amr().iter().map(|s| (*s).to_owned()).collect(),
        typ: Some(ID_TOKEN_TYP.into()),
        api_ver: Some(code.api_version),
        at_hash: Some(at_hash(&access_token)),
        bankid_altsub: Some(user.pid.clone()),
        nnin_altsub: scope.contains("nnin_altsub").then(|| user.nnin.clone()),
        profile: profile_claims(user, &scope),
        sub_nnin: None,
        sub_bankid: None,
        proof_key_id: None,
        permission_digest: None,
    };
    let id_token = provider.keys.sign("JWT", &id);
    IssuedTokens {
        access_token,
        access_token_jti: jti,
        access_token_expires_at: expires_at,
        id_token,
        expires_in: provider.config.access_token_ttl,
        scope: scope.to_string(),
    }
}

//! Rows to records. Every SELECT names its columns with the lists below (the SQLite store's
//! lists, `store/sqlite/rows.rs`, with PostgreSQL's joins) and every mapping reads them by
//! position.

use super::err;
use crate::store::*;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::scope::ScopeSet;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

/// Column `i`, or an error naming it.
pub fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> StoreResult<T> {
    row.try_get(i).map_err(|e| err(format!("column {i}: {e}")))
}

fn bad(i: usize, what: impl std::fmt::Display) -> StoreError {
    err(format!("column {i}: {what}"))
}

fn method(row: &Row, i: usize) -> StoreResult<Method> {
    let text: String = get(row, i)?;
    Method::from_hint(&text).ok_or_else(|| bad(i, format!("unknown method {text}")))
}

fn optional_method(row: &Row, i: usize) -> StoreResult<Option<Method>> {
    let text: Option<String> = get(row, i)?;
    Ok(text.and_then(|t| Method::from_hint(&t)))
}

fn api_version(row: &Row, i: usize) -> StoreResult<u32> {
    let v: i64 = get(row, i)?;
    u32::try_from(v).map_err(|e| bad(i, e))
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> StoreResult<T> {
    let text: String = get(row, i)?;
    serde_json::from_str(&text).map_err(|e| bad(i, e))
}

pub fn key(row: &Row, i: usize) -> StoreResult<StoreKey> {
    Ok(StoreKey::stored(get(row, i)?))
}

fn optional_key(row: &Row, i: usize) -> StoreResult<Option<StoreKey>> {
    Ok(get::<Option<String>>(row, i)?.map(StoreKey::stored))
}

pub const CLIENT: &str = "client_id, name, secret_hash, redirect_uris, scopes, created_at, grant_types, \
     token_endpoint_auth_method, post_logout_redirect_uris, jwks, jwks_uri, resource_server, \
     require_pushed_authorization_requests, permission_types";

pub fn client(row: &Row) -> StoreResult<Client> {
    let scopes: String = get(row, 4)?;
    let grant_types: String = get(row, 6)?;
    let method: String = get(row, 7)?;
    Ok(Client {
        client_id: get(row, 0)?,
        name: get(row, 1)?,
        secret_hash: get(row, 2)?,
        redirect_uris: json(row, 3)?,
        scopes: ScopeSet::try_from(scopes).map_err(|e| bad(4, e))?,
        created_at: get(row, 5)?,
        grant_types: grant_types
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(|g| GrantType::parse(g).ok_or_else(|| bad(6, format!("grant type '{g}'"))))
            .collect::<Result<_, _>>()?,
        token_endpoint_auth_method: ClientAuthMethod::parse(&method)
            .ok_or_else(|| bad(7, format!("method '{method}'")))?,
        post_logout_redirect_uris: json(row, 8)?,
        jwks: get(row, 9)?,
        jwks_uri: get(row, 10)?,
        resource_server: get(row, 11)?,
        require_pushed_authorization_requests: get(row, 12)?,
        permission_types: json(row, 13)?,
    })
}

/// Named by table, so that a query that joins `users` to another table reads them too.
pub const USER: &str = "users.id, users.nnin, users.pid, users.given_name, users.family_name, \
     users.birthdate, users.email, users.phone, users.address, users.otp, users.password, \
     users.failed_attempts, users.locked_until, users.updated_at, \
     EXISTS (SELECT 1 FROM login_scripts s WHERE s.user_id = users.id)";

pub fn user(row: &Row) -> StoreResult<User> {
    user_at(row, 0)
}

/// The [`USER`] columns from column `at` on, `None` where an outer join found no user.
pub fn user_or_none(row: &Row, at: usize) -> StoreResult<Option<User>> {
    match get::<Option<String>>(row, at)? {
        Some(_) => user_at(row, at).map(Some),
        None => Ok(None),
    }
}

fn user_at(row: &Row, at: usize) -> StoreResult<User> {
    Ok(User {
        id: get(row, at)?,
        nnin: get(row, at + 1)?,
        pid: get(row, at + 2)?,
        given_name: get(row, at + 3)?,
        family_name: get(row, at + 4)?,
        birthdate: get(row, at + 5)?,
        email: get(row, at + 6)?,
        phone: get(row, at + 7)?,
        address: get(row, at + 8)?,
        otp: get(row, at + 9)?,
        password: get(row, at + 10)?,
        failed_attempts: get(row, at + 11)?,
        locked_until: get(row, at + 12)?,
        updated_at: get(row, at + 13)?,
        next_login_scripted: get(row, at + 14)?,
    })
}

pub const SIGNING_KEY: &str =
    "kid, alg, private_pkcs8, public_jwk, state, created_at, activate_at, retire_at";

pub fn signing_key(row: &Row) -> StoreResult<StoredSigningKey> {
    Ok(StoredSigningKey {
        kid: get(row, 0)?,
        alg: get(row, 1)?,
        private_pkcs8: get(row, 2)?,
        public_jwk: get(row, 3)?,
        state: get(row, 4)?,
        created_at: get(row, 5)?,
        activate_at: get(row, 6)?,
        retire_at: get(row, 7)?,
    })
}

pub const SESSION: &str = "id, user_id, method, auth_time, created_at, expires_at";

pub fn session(row: &Row) -> StoreResult<Session> {
    Ok(Session {
        id: get(row, 0)?,
        user_id: get(row, 1)?,
        method: optional_method(row, 2)?,
        auth_time: get(row, 3)?,
        created_at: get(row, 4)?,
        expires_at: get(row, 5)?,
    })
}

/// A code (`c`) joined with its grant (`g`).
pub const CODE: &str = "c.code_hash, c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, \
     c.nonce, c.scope, c.user_id, c.session_id, c.method, c.auth_time, c.api_version, \
     c.issued_at, c.expires_at, c.consumed_at, g.nnin_consent, g.authorization_details, g.issuer";

/// How many columns [`CODE`] names: where the columns a query adds after them begin.
pub const CODE_COLUMNS: usize = columns(CODE);

/// The number of columns in a list of plain column names.
const fn columns(list: &str) -> usize {
    let bytes = list.as_bytes();
    let (mut i, mut n) = (0, 1);
    while i < bytes.len() {
        if bytes[i] == b',' {
            n += 1;
        }
        i += 1;
    }
    n
}

pub fn code(row: &Row) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: key(row, 0)?,
        grant_id: get(row, 1)?,
        client_id: get(row, 2)?,
        redirect_uri: get(row, 3)?,
        code_challenge: get(row, 4)?,
        nonce: get(row, 5)?,
        scope: get(row, 6)?,
        user_id: get(row, 7)?,
        session_id: get(row, 8)?,
        method: method(row, 9)?,
        auth_time: get(row, 10)?,
        api_version: api_version(row, 11)?,
        issued_at: get(row, 12)?,
        expires_at: get(row, 13)?,
        consumed_at: get(row, 14)?,
        terms: terms(row, 15)?,
        issuer: issuer(row, 17)?,
    })
}

/// A grant's issuer id; empty for grants from before issuers were recorded.
fn issuer(row: &Row, at: usize) -> StoreResult<String> {
    Ok(get::<Option<String>>(row, at)?.unwrap_or_default())
}

/// `nnin_consent, authorization_details` of a grant, from column `at`.
fn terms(row: &Row, at: usize) -> StoreResult<GrantTerms> {
    Ok(GrantTerms {
        nnin_consent: get(row, at)?,
        authorization_details: get(row, at + 1)?,
    })
}

/// A refresh token (`r`) joined with its grant (`g`): revoked, then the terms.
pub const REFRESH: &str = "r.token_hash, r.grant_id, r.parent_hash, r.client_id, r.user_id, r.scope, \
     r.session_id, r.method, r.auth_time, r.api_version, r.issued_at, r.expires_at, r.used_at, \
     g.revoked_at IS NOT NULL, g.nnin_consent, g.authorization_details, g.issuer";

pub fn refresh(row: &Row) -> StoreResult<RefreshTokenState> {
    Ok(RefreshTokenState {
        token: RefreshToken {
            token_hash: key(row, 0)?,
            grant_id: get(row, 1)?,
            parent_hash: optional_key(row, 2)?,
            client_id: get(row, 3)?,
            user_id: get(row, 4)?,
            scope: get(row, 5)?,
            session_id: get(row, 6)?,
            method: method(row, 7)?,
            auth_time: get(row, 8)?,
            api_version: api_version(row, 9)?,
            issued_at: get(row, 10)?,
            expires_at: get(row, 11)?,
            used_at: get(row, 12)?,
        },
        grant_revoked: get(row, 13)?,
        terms: terms(row, 14)?,
        issuer: issuer(row, 16)?,
    })
}

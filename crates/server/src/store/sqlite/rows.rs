//! Rows to records. Every SELECT names its columns with the lists below and every mapping reads
//! them by position, so that a read does no column-name lookups.
//!
//! A record's grant is read with scalar subqueries, not a JOIN or EXISTS (which SQLite turns
//! into a join): since SQLite 3.54 a cached statement that joins tables and compares a column
//! to a parameter is compiled again on every run (rusqlite clears the bindings of a statement
//! it caches, and that marks such a statement expired), which made each of those reads cost as
//! much as the rest of its request. A test holds every read to no recompilation.

use crate::store::*;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::grant_type::{ClientAuthMethod, GrantType};
use bankid_oidc_core::scope::ScopeSet;
use rusqlite::Row;
use rusqlite::types::Type;

/// A value in a column that does not read as what it must be.
fn bad(column: usize, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, e.to_string().into())
}

fn method(row: &Row, i: usize) -> rusqlite::Result<Method> {
    let text: String = row.get(i)?;
    Method::from_hint(&text).ok_or_else(|| bad(i, format!("unknown method {text}")))
}

fn optional_method(row: &Row, i: usize) -> rusqlite::Result<Option<Method>> {
    let text: Option<String> = row.get(i)?;
    Ok(text.and_then(|t| Method::from_hint(&t)))
}

fn api_version(row: &Row, i: usize) -> rusqlite::Result<u32> {
    let v: i64 = row.get(i)?;
    u32::try_from(v).map_err(|e| bad(i, e))
}

pub(super) fn json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    serde_json::from_str(&text).map_err(|e| bad(i, e))
}

pub const CLIENT: &str = "client_id, name, secret_hash, redirect_uris, scopes, created_at, grant_types, \
     token_endpoint_auth_method, post_logout_redirect_uris, jwks, jwks_uri, resource_server, \
     require_pushed_authorization_requests, permission_types";

pub fn client(row: &Row) -> rusqlite::Result<Client> {
    let scopes: String = row.get(4)?;
    let grant_types: String = row.get(6)?;
    Ok(Client {
        client_id: row.get(0)?,
        name: row.get(1)?,
        secret_hash: row.get(2)?,
        redirect_uris: json(row, 3)?,
        scopes: ScopeSet::try_from(scopes).map_err(|e| bad(4, e))?,
        created_at: row.get(5)?,
        grant_types: grant_types
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(|g| GrantType::parse(g).ok_or_else(|| bad(6, format!("grant type '{g}'"))))
            .collect::<Result<_, _>>()?,
        token_endpoint_auth_method: {
            let method: String = row.get(7)?;
            ClientAuthMethod::parse(&method).ok_or_else(|| bad(7, format!("method '{method}'")))?
        },
        post_logout_redirect_uris: json(row, 8)?,
        jwks: row.get(9)?,
        jwks_uri: row.get(10)?,
        resource_server: row.get(11)?,
        require_pushed_authorization_requests: row.get(12)?,
        permission_types: json(row, 13)?,
    })
}

pub const USER: &str = "id, nnin, pid, given_name, family_name, birthdate, email, phone, address, otp, \
     password, failed_attempts, locked_until, updated_at, \
     EXISTS (SELECT 1 FROM login_scripts s WHERE s.user_id = users.id)";

pub fn user(row: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        nnin: row.get(1)?,
        pid: row.get(2)?,
        given_name: row.get(3)?,
        family_name: row.get(4)?,
        birthdate: row.get(5)?,
        email: row.get(6)?,
        phone: row.get(7)?,
        address: row.get(8)?,
        otp: row.get(9)?,
        password: row.get(10)?,
        failed_attempts: row.get(11)?,
        locked_until: row.get(12)?,
        updated_at: row.get(13)?,
        next_login_scripted: row.get(14)?,
    })
}

pub const SIGNING_KEY: &str =
    "kid, alg, private_pkcs8, public_jwk, state, created_at, activate_at, retire_at";

pub fn signing_key(row: &Row) -> rusqlite::Result<StoredSigningKey> {
    Ok(StoredSigningKey {
        kid: row.get(0)?,
        alg: row.get(1)?,
        private_pkcs8: row.get(2)?,
        public_jwk: row.get(3)?,
        state: row.get(4)?,
        created_at: row.get(5)?,
        activate_at: row.get(6)?,
        retire_at: row.get(7)?,
    })
}

pub const SESSION: &str = "id, user_id, method, auth_time, created_at, expires_at";

pub fn session(row: &Row) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        user_id: row.get(1)?,
        method: optional_method(row, 2)?,
        auth_time: row.get(3)?,
        created_at: row.get(4)?,
        expires_at: row.get(5)?,
    })
}

/// A code (`c`) with its grant's terms.
pub const CODE: &str = "c.code_hash, c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, \
     c.nonce, c.scope, c.user_id, c.session_id, c.method, c.auth_time, c.api_version, \
     c.issued_at, c.expires_at, c.consumed_at, \
     (SELECT nnin_consent FROM grants WHERE id = c.grant_id), \
     (SELECT authorization_details FROM grants WHERE id = c.grant_id), \
     (SELECT issuer FROM grants WHERE id = c.grant_id)";

pub fn code(row: &Row) -> rusqlite::Result<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: row.get(0)?,
        grant_id: row.get(1)?,
        client_id: row.get(2)?,
        redirect_uri: row.get(3)?,
        code_challenge: row.get(4)?,
        nonce: row.get(5)?,
        scope: row.get(6)?,
        user_id: row.get(7)?,
        session_id: row.get(8)?,
        method: method(row, 9)?,
        auth_time: row.get(10)?,
        api_version: api_version(row, 11)?,
        issued_at: row.get(12)?,
        expires_at: row.get(13)?,
        consumed_at: row.get(14)?,
        terms: terms(row, 15)?,
        issuer: issuer(row, 17)?,
    })
}

/// A grant's issuer id; empty for grants from before issuers were recorded.
fn issuer(row: &Row, at: usize) -> rusqlite::Result<String> {
    Ok(row.get::<_, Option<String>>(at)?.unwrap_or_default())
}

/// `nnin_consent, authorization_details` of a grant, from column `at`.
pub fn terms(row: &Row, at: usize) -> rusqlite::Result<GrantTerms> {
    Ok(GrantTerms {
        nnin_consent: row.get(at)?,
        authorization_details: row.get(at + 1)?,
    })
}

/// A refresh token (`r`) with its grant: revoked, then the terms.
pub const REFRESH: &str = "r.token_hash, r.grant_id, r.parent_hash, r.client_id, r.user_id, r.scope, \
     r.session_id, r.method, r.auth_time, r.api_version, r.issued_at, r.expires_at, r.used_at, \
     (SELECT revoked_at IS NOT NULL FROM grants WHERE id = r.grant_id), \
     (SELECT nnin_consent FROM grants WHERE id = r.grant_id), \
     (SELECT authorization_details FROM grants WHERE id = r.grant_id), \
     (SELECT issuer FROM grants WHERE id = r.grant_id)";

pub fn refresh(row: &Row) -> rusqlite::Result<RefreshTokenState> {
    Ok(RefreshTokenState {
        token: RefreshToken {
            token_hash: row.get(0)?,
            grant_id: row.get(1)?,
            parent_hash: row.get(2)?,
            client_id: row.get(3)?,
            user_id: row.get(4)?,
            scope: row.get(5)?,
            session_id: row.get(6)?,
            method: method(row, 7)?,
            auth_time: row.get(8)?,
            api_version: api_version(row, 9)?,
            issued_at: row.get(10)?,
            expires_at: row.get(11)?,
            used_at: row.get(12)?,
        },
        grant_revoked: row.get(13)?,
        terms: terms(row, 14)?,
        issuer: issuer(row, 16)?,
    })
}

impl rusqlite::ToSql for StoreKey {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.as_str().to_sql()
    }
}

impl rusqlite::types::FromSql for StoreKey {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        String::column_result(value).map(StoreKey::stored)
    }
}

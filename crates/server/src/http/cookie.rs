//! The browser session cookie. Its value is a random secret; the store keeps only its SHA-256,
//! and the session's public id (`sid`) is a different value.

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION_COOKIE: &str = "bankid_oidc_session";

/// What a posted login step carries to the page it redirects to (`login::flow::Carried`),
/// sealed; scoped to the flow's own address, read once.
pub const CARRIED_COOKIE: &str = "bankid_oidc_notice";

/// Longest carried value read: a notice and three short fields, sealed, are a few hundred bytes.
const MAX_CARRIED: usize = 1024;

/// The value of cookie `name`, if the request has exactly one: two of them (one planted by a
/// sibling domain, say) are trusted neither.
fn only_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((n, v)) = pair.trim().split_once('=')
                && n == name
            {
                if found.is_some() {
                    return None;
                }
                found = Some(v.to_owned());
            }
        }
    }
    found
}

/// The value of cookie `name` holding a random token (base64url, at most 64 characters), if
/// the request has exactly one well-formed one.
pub fn token_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    only_cookie(headers, name).filter(|v| {
        !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The session cookie's value, if the request has exactly one well-formed one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    token_cookie(headers, SESSION_COOKIE)
}

/// The carried notice's value, if the request has exactly one of a plausible size.
pub fn carried_cookie(headers: &HeaderMap) -> Option<String> {
    only_cookie(headers, CARRIED_COOKIE).filter(|v| !v.is_empty() && v.len() <= MAX_CARRIED)
}

/// `Set-Cookie` for a carried notice (`max_age` 0 removes it): HttpOnly, SameSite=Lax, Secure
/// on https, scoped to the flow's address `path`.
pub fn set_carried_cookie(value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CARRIED_COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("sealed values are base64url and paths are ASCII")
}

/// `Set-Cookie` for a session: HttpOnly, SameSite=Lax, Secure on https, scoped to `path`.
pub fn set_session_cookie(value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie values are base64url")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_session_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; bankid_oidc_session=abc_DEF-1; c=d"),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc_DEF-1"));
    }

    #[test]
    fn refuses_doubled_or_malformed_session_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bankid_oidc_session=a; bankid_oidc_session=b"),
        );
        assert_eq!(session_cookie(&h), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bankid_oidc_session=a\"b"),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn reads_one_carried_notice_of_a_plausible_size() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bankid_oidc_session=a; bankid_oidc_notice=xyz"),
        );
        assert_eq!(carried_cookie(&h).as_deref(), Some("xyz"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bankid_oidc_notice=a; bankid_oidc_notice=b"),
        );
        assert_eq!(carried_cookie(&h), None, "two: neither");
        let long = format!("bankid_oidc_notice={}", "a".repeat(MAX_CARRIED + 1));
        h.insert(header::COOKIE, HeaderValue::from_str(&long).unwrap());
        assert_eq!(carried_cookie(&h), None, "oversize");
        let v = set_carried_cookie("v", "/auth/login/f", 0, true);
        let text = v.to_str().unwrap();
        assert!(text.contains("Path=/auth/login/f; Max-Age=0; HttpOnly; SameSite=Lax; Secure"));
    }

    #[test]
    fn the_cookie_is_httponly_lax_and_secure_on_https() {
        let v = set_session_cookie("x", "/auth", 60, true);
        let text = v.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Secure")
        );
        assert!(
            !set_session_cookie("x", "/", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}

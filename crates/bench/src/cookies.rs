//! A browser's cookie jar, reduced to what a login on one host needs, and cleared between
//! logins: every code flow starts as a new browser, so that single sign-on never skips the
//! login and each flow costs the provider a whole login, while the worker's connection stays
//! alive across logins.
//!
//! Only 127.0.0.1 is benchmarked, so domains are not tracked; paths are, because oidc-provider
//! scopes its interaction cookies by path.

use http::header::{HeaderMap, SET_COOKIE};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Stores the `Set-Cookie` headers of a response to a request for `request_path`.
    pub fn store(&mut self, headers: &HeaderMap, request_path: &str) {
        for value in headers.get_all(SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                self.store_one(text, request_path);
            }
        }
    }

    fn store_one(&mut self, set_cookie: &str, request_path: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let mut path = default_path(request_path);
        let mut expired = false;
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            let (key, val) = (key.trim().to_ascii_lowercase(), val.trim());
            match key.as_str() {
                "path" if val.starts_with('/') => path = val.to_owned(),
                "max-age" => expired |= val.parse::<i64>().is_ok_and(|s| s <= 0),
                // Servers delete a cookie with an expiry at the epoch.
                "expires" => expired |= val.contains("1970"),
                _ => {}
            }
        }
        self.cookies.retain(|c| !(c.name == name && c.path == path));
        if !expired {
            self.cookies.push(Cookie { name, value, path });
        }
    }

    /// The `Cookie` header for a request to `path`, if any cookie applies.
    pub fn header_for(&self, path: &str) -> Option<String> {
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| path_matches(&c.path, path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // RFC 6265 5.4: longer paths first.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// RFC 6265 5.1.4: the directory of the request path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// RFC 6265 5.1.4 path-match.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(SET_COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn keeps_sends_and_scopes_cookies_by_path() {
        let mut jar = CookieJar::default();
        jar.store(
            &headers(&[
                "bankid_oidc_session=abc; Path=/; HttpOnly; SameSite=Lax",
                "_interaction=uid1; path=/interaction/uid1; httponly",
            ]),
            "/auth",
        );
        assert_eq!(
            jar.header_for("/login").as_deref(),
            Some("bankid_oidc_session=abc")
        );
        assert_eq!(
            jar.header_for("/interaction/uid1").as_deref(),
            Some("_interaction=uid1; bankid_oidc_session=abc")
        );
        assert_eq!(
            jar.header_for("/interaction/uid10").as_deref(),
            Some("bankid_oidc_session=abc")
        );
    }

    #[test]
    fn replaces_and_deletes_cookies() {
        let mut jar = CookieJar::default();
        jar.store(&headers(&["s=1; Path=/", "t=2; Path=/"]), "/");
        jar.store(&headers(&["s=3; Path=/"]), "/");
        assert_eq!(jar.header_for("/").as_deref(), Some("t=2; s=3"));
        jar.store(
            &headers(&["t=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT"]),
            "/",
        );
        jar.store(&headers(&["s=; Max-Age=0; Path=/"]), "/");
        assert_eq!(jar.len(), 0);
        assert_eq!(jar.header_for("/"), None);
    }

    #[test]
    fn defaults_the_path_to_the_request_directory_and_clears() {
        let mut jar = CookieJar::default();
        jar.store(&headers(&["a=1"]), "/auth/realms/current/login");
        assert_eq!(
            jar.header_for("/auth/realms/current/x").as_deref(),
            Some("a=1")
        );
        assert_eq!(jar.header_for("/other"), None);
        jar.clear();
        assert_eq!(jar.header_for("/auth/realms/current/x"), None);
    }
}

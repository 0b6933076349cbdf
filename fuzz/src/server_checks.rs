//! The checks of the server's fuzz targets: the request reading that happens before the store
//! is asked anything (form bodies, the Basic header, cookies, the token endpoint's parameters
//! and client authentication). Compiled into the fuzz crate and, with `#[path]`, into
//! `crates/server/tests/fuzz_corpus.rs`, which replays the corpora on stable.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::params::Params;
use bankid_oidc_server::client_assertion::{ASSERTION_TYPE, claimed_client};
use bankid_oidc_server::http::client_auth::{Presented, basic_credentials, presented};
use bankid_oidc_server::http::cookie::{SESSION_COOKIE, session_cookie, set_session_cookie};
use bankid_oidc_server::http::form::{form_params, is_form};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A request as the fuzzer writes it: `Name: value` lines, an empty line, the body. Lines that
/// are not a valid header are skipped.
pub fn request(data: &[u8]) -> (HeaderMap, &[u8]) {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (&data[..0], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    (headers, body)
}

fn pairs(params: &Params) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A form body is read only under a form content type, and reads as the core's parameters do.
pub fn form(data: &[u8]) {
    let (headers, body) = request(data);
    let Ok(params) = form_params(&headers, body) else {
        return;
    };
    assert!(is_form(&headers));
    assert_eq!(
        pairs(&params),
        pairs(&Params::from_urlencoded(body).unwrap())
    );
}

/// An accepted Basic credential, encoded again the way RFC 6749 section 2.3.1 says, reads back
/// as the same client id and secret.
pub fn basic_auth(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    let Ok(Some((id, secret))) = basic_credentials(&headers) else {
        return;
    };
    let escape = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let again = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", escape(&id), escape(&secret)))
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&again).unwrap(),
    );
    assert_eq!(basic_credentials(&headers).unwrap(), Some((id, secret)));
}

/// Each line is one `Cookie` header. The session cookie read is well-formed, was sent exactly
/// once, and is read back from the `Set-Cookie` the provider would send for it.
pub fn cookie(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(header::COOKIE, value);
        }
    }
    let Some(value) = session_cookie(&headers) else {
        return;
    };
    assert!(!value.is_empty() && value.len() <= 64);
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let pair = format!("{SESSION_COOKIE}={value}");
    let sent = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|t| t.split(';'))
        .filter(|p| {
            p.trim()
                .split_once('=')
                .is_some_and(|(n, _)| n == SESSION_COOKIE)
        })
        .collect::<Vec<_>>();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].trim(), pair);
    let set = set_session_cookie(&value, "/", 60, true);
    let echoed = set.to_str().unwrap().split(';').next().unwrap().to_owned();
    let mut back = HeaderMap::new();
    back.insert(header::COOKIE, HeaderValue::from_str(&echoed).unwrap());
    assert_eq!(session_cookie(&back), Some(value));
}

/// The token endpoint's reading of a request, up to the store: the form, exactly one client
/// authentication method, and the grant type. What it reads is what the request said.
pub fn token_request(data: &[u8]) {
    let (headers, body) = request(data);
    let Ok(params) = form_params(&headers, body) else {
        return;
    };
    let _ = params.require("grant_type").map(GrantType::parse);
    let Ok(presented) = presented(&headers, &params) else {
        return;
    };
    let basic = basic_credentials(&headers).ok().flatten();
    let methods = usize::from(basic.is_some())
        + usize::from(params.get("client_secret").is_some())
        + usize::from(params.get("client_assertion").is_some());
    assert_eq!(methods, 1, "exactly one client authentication method");
    match presented {
        Presented::Secret {
            client_id,
            secret,
            basic: true,
        } => {
            assert_eq!(basic, Some((client_id.clone(), secret)));
            assert!(params.get("client_id").is_none_or(|id| id == client_id));
        }
        Presented::Secret {
            client_id,
            secret,
            basic: false,
        } => {
            assert_eq!(params.get("client_secret"), Some(secret.as_str()));
            assert_eq!(params.get("client_id"), Some(client_id.as_str()));
        }
        Presented::Assertion {
            client_id,
            assertion,
        } => {
            assert_eq!(params.get("client_assertion"), Some(assertion.as_str()));
            assert_eq!(params.get("client_assertion_type"), Some(ASSERTION_TYPE));
            assert_eq!(claimed_client(&assertion), Some(client_id.clone()));
            assert!(params.get("client_id").is_none_or(|id| id == client_id));
        }
    }
}

/// The seed inputs of the server's targets, from the test suite's requests (valid and
/// refused). `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let form = "Content-Type: application/x-www-form-urlencoded\n\n";
    let basic =
        |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let assertion = format!(
        "{}.{}.c2ln",
        bankid_oidc_core::b64::encode(r#"{"alg":"ES256","kid":"k"}"#),
        bankid_oidc_core::b64::encode(
            r#"{"iss":"rp","sub":"rp","aud":"https://op/token","jti":"j","exp":1700000300}"#
        )
    );
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_owned(), bytes));
    };
    for (name, body) in [
        ("valid", format!("{form}grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
        ("valid-charset", "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\n\ngrant_type=refresh_token&refresh_token=r".to_owned()),
        ("refused-json", "Content-Type: application/json\n\n{\"grant_type\":\"x\"}".to_owned()),
        ("refused-repeat", format!("{form}code=a&code=b")),
        ("refused-utf8", format!("{form}code=%FF")),
    ] {
        add("server_form", name, body.into_bytes());
    }
    for (name, value) in [
        ("valid", basic("demo-client", "secret")),
        ("valid-escaped", basic("client%3Aone", "p%40ss+word%25")),
        (
            "valid-lowercase",
            format!("basic {}", STANDARD.encode("a:b")),
        ),
        ("refused-no-colon", basic("client", "").replace("Og==", "")),
        ("refused-bearer", "Bearer abc".to_owned()),
        ("refused-base64", "Basic ***".to_owned()),
    ] {
        add("server_basic_auth", name, value.into_bytes());
    }
    for (name, value) in [
        ("valid", format!("theme=dark; {SESSION_COOKIE}=abc_DEF-123")),
        ("valid-two-headers", format!("a=1\n{SESSION_COOKIE}=abcdef")),
        (
            "refused-doubled",
            format!("{SESSION_COOKIE}=a; {SESSION_COOKIE}=b"),
        ),
        ("refused-charset", format!("{SESSION_COOKIE}=a%20b")),
        (
            "refused-long",
            format!("{SESSION_COOKIE}={}", "a".repeat(65)),
        ),
    ] {
        add("server_cookie", name, value.into_bytes());
    }
    for (name, value) in [
        (
            "valid-basic",
            format!(
                "Authorization: {}\nContent-Type: application/x-www-form-urlencoded\n\ngrant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=v",
                basic("demo-client", "secret")
            ),
        ),
        (
            "valid-post",
            format!("{form}grant_type=client_credentials&client_id=m&client_secret=s&scope=openid"),
        ),
        (
            "valid-assertion",
            format!(
                "{form}grant_type=refresh_token&refresh_token=r&client_assertion_type={}&client_assertion={assertion}",
                url::form_urlencoded::byte_serialize(ASSERTION_TYPE.as_bytes()).collect::<String>()
            ),
        ),
        (
            "refused-two-methods",
            format!(
                "Authorization: {}\nContent-Type: application/x-www-form-urlencoded\n\ngrant_type=x&client_id=a&client_secret=s",
                basic("a", "s")
            ),
        ),
        (
            "refused-client-id-differs",
            format!(
                "Authorization: {}\nContent-Type: application/x-www-form-urlencoded\n\ngrant_type=x&client_id=b",
                basic("a", "s")
            ),
        ),
        (
            "refused-assertion-type",
            format!("{form}grant_type=x&client_assertion_type=jwt&client_assertion={assertion}"),
        ),
        (
            "refused-none",
            format!("{form}grant_type=authorization_code&code=c"),
        ),
    ] {
        add("server_token_request", name, value.into_bytes());
    }
    out
}

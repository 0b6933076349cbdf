//! The checks of the client library's fuzz targets: everything a provider (or whoever stands
//! in its place) sends to a relying party. Compiled into the fuzz crate and, with `#[path]`,
//! into `crates/client/tests/fuzz_corpus.rs`, which replays the corpora on stable.

use bankid_oidc_client::bis::RegisteredPermission;
use bankid_oidc_client::bis::grant::{GrantAnswer, process_grant_response, verify_grant};
use bankid_oidc_client::callback::{CallbackParams, validate_callback};
use bankid_oidc_client::discovery::process_discovery_response;
use bankid_oidc_client::http::HttpResponse;
use bankid_oidc_client::introspection::{Introspection, process_introspection_response};
use bankid_oidc_client::token::{process_token_response, read_token_response};
use bankid_oidc_client::userinfo::process_userinfo_response;
use bankid_oidc_client::{Expected, IdTokenVerifier, KeySet, PendingLogin};
use bankid_oidc_core::b64;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::jwk::Jwks;
use serde_json::{Value, json};
use std::sync::OnceLock;

include!("fixed_keys.rs");

pub const NOW: i64 = 1_700_000_000;
pub const ISSUER: &str = "https://auth.fuzz.example/realms/current";
pub const BIS_ISSUER: &str = "https://auth.fuzz.example/bis";
pub const CLIENT_ID: &str = "fuzz-client";
pub const SUB: &str = "sub-1";
pub const NONCE: &str = "nonce-1";
pub const STATE: &str = "state-1";
const URL: &str = "https://auth.fuzz.example/endpoint";

const STATUSES: [u16; 8] = [200, 200, 200, 200, 400, 401, 404, 500];
const MEDIA_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("application/jwt"),
    Some("application/json; charset=utf-8"),
    None,
    Some("text/html"),
];

/// An HTTP answer as the fuzzer writes it: a byte choosing the status, a byte choosing the
/// content type, then the body.
pub fn response(data: &[u8]) -> Option<HttpResponse> {
    let [status, media, body @ ..] = data else {
        return None;
    };
    Some(HttpResponse {
        status: STATUSES[usize::from(*status) % STATUSES.len()],
        content_type: MEDIA_TYPES[usize::from(*media) % MEDIA_TYPES.len()].map(str::to_owned),
        body: body.to_vec(),
    })
}

/// The inverse of [`response`], for the seeds.
pub fn write_response(status: u16, media: Option<&str>, body: &[u8]) -> Vec<u8> {
    let s = STATUSES.iter().position(|s| *s == status).unwrap() as u8;
    let m = MEDIA_TYPES.iter().position(|m| *m == media).unwrap() as u8;
    [&[s, m][..], body].concat()
}

fn metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: ISSUER.into(),
        jwks_uri: format!("{ISSUER}/jwks"),
        id_token_signing_alg_values_supported: vec!["ES256".into(), "RS256".into(), "PS256".into()],
        authorization_response_iss_parameter_supported: Some(true),
        ..ProviderMetadata::default()
    }
}

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::from_jwks(&client_signing_jwks()))
}

/// Verifies a compact JWS with aws-lc-rs directly against the fixed keys' public halves.
fn assert_signed_by_fixed_key(compact: &str) {
    use aws_lc_rs::signature::{self, KeyPair, UnparsedPublicKey};
    let header: Value =
        serde_json::from_slice(&b64::decode(compact.split('.').next().unwrap()).unwrap()).unwrap();
    let alg = header["alg"]
        .as_str()
        .expect("an accepted JWS names its alg");
    let (input, signature_b64) = compact.rsplit_once('.').unwrap();
    let signature = b64::decode(signature_b64).expect("an accepted signature is base64url");
    let params: &dyn signature::VerificationAlgorithm = match alg {
        "ES256" => &signature::ECDSA_P256_SHA256_FIXED,
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        other => panic!("a token with alg {other} was accepted"),
    };
    let public = if alg == "ES256" {
        fixed_es256().public_key().as_ref().to_vec()
    } else {
        fixed_rsa().public_key().as_ref().to_vec()
    };
    assert!(
        UnparsedPublicKey::new(params, public)
            .verify(input.as_bytes(), &signature)
            .is_ok(),
        "accepted a {alg} token the fixed test key did not sign"
    );
}

/// A discovery document is accepted only for the issuer asked, and survives its serde form.
pub fn discovery(data: &[u8]) {
    let Some(response) = response(data) else {
        return;
    };
    let Ok(metadata) = process_discovery_response(ISSUER, &response) else {
        return;
    };
    assert_eq!(response.status, 200);
    assert_eq!(metadata.issuer, ISSUER);
    let again: ProviderMetadata =
        serde_json::from_slice(&serde_json::to_vec(&metadata).unwrap()).unwrap();
    assert_eq!(again, metadata);
    let _ = IdTokenVerifier::new(&metadata, CLIENT_ID);
}

/// A JWKS keeps at most the keys it lists, and a key set the fuzzer made up never verifies an
/// ID token signed by the fixed key unless it holds that key.
pub fn jwks(data: &[u8]) {
    let Ok(set) = KeySet::from_json(data) else {
        return;
    };
    let jwks: Jwks = serde_json::from_slice(data).unwrap();
    assert!(set.len() <= jwks.keys.len());
    let verifier = IdTokenVerifier::new(&metadata(), CLIENT_ID).unwrap();
    let token = fixed_id_token();
    if verifier
        .verify(token, &set, &Expected::default(), NOW)
        .is_ok()
    {
        let fixed = &client_signing_jwks().keys[0];
        assert!(jwks.keys.iter().any(|k| k.x == fixed.x && k.y == fixed.y));
    }
}

/// An accepted token response is a bearer token from a 200 answer and reads the same both ways.
pub fn token_response(data: &[u8]) {
    let Some(response) = response(data) else {
        return;
    };
    let read = read_token_response(URL, &response);
    let processed = process_token_response(URL, &response);
    assert_eq!(read.is_ok(), processed.is_ok());
    let (Ok(tokens), Ok(processed)) = (read, processed) else {
        return;
    };
    assert_eq!(response.status, 200);
    assert!(tokens.token_type.eq_ignore_ascii_case("bearer"));
    assert_eq!(tokens.access_token, processed.access_token);
    assert_eq!(tokens.expires_in, processed.expires_in);
    let again = serde_json::from_slice(&serde_json::to_vec(&tokens).unwrap()).unwrap();
    assert_eq!(tokens, again);
}

/// An ID token is accepted only when the fixed key signed it and it says what the login
/// expects: issuer, audience, times, nonce and the minimum level of assurance.
pub fn id_token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let verifier = IdTokenVerifier::new(&metadata(), CLIENT_ID)
        .unwrap()
        .min_loa(3);
    let expected = Expected {
        nonce: Some(NONCE),
        access_token: Some("access-1"),
    };
    let Ok(id_token) = verifier.verify(token, keys(), &expected, NOW) else {
        return;
    };
    assert_signed_by_fixed_key(token);
    let claims = &id_token.claims;
    assert_eq!(claims.iss, ISSUER);
    assert!(claims.aud.contains(CLIENT_ID));
    assert!(claims.exp >= NOW - 30 && claims.iat <= NOW + 30);
    assert!(!claims.sub.is_empty());
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
    assert!(id_token.loa().is_some_and(|loa| loa >= 3));
    assert_eq!(id_token.raw, token);
}

/// Userinfo (JSON or a signed JWT) is accepted only for the login's subject, and a JWT only
/// when the fixed key signed it.
pub fn userinfo(data: &[u8]) {
    let Some(response) = response(data) else {
        return;
    };
    let verifier = IdTokenVerifier::new(&metadata(), CLIENT_ID).unwrap();
    let Ok(info) = process_userinfo_response(URL, &response, &verifier, keys(), SUB) else {
        return;
    };
    assert_eq!(response.status, 200);
    assert_eq!(info.sub, SUB);
    if response.content_type.as_deref() == Some("application/jwt") {
        assert_signed_by_fixed_key(std::str::from_utf8(&response.body).unwrap().trim());
    }
}

/// `active` decides, and only a JSON boolean can.
pub fn introspection(data: &[u8]) {
    let Some(response) = response(data) else {
        return;
    };
    let Ok(answer) = process_introspection_response(URL, &response) else {
        return;
    };
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["active"], json!(answer.is_active()));
    if let Introspection::Active(token) = answer {
        assert!(token.sub.as_deref() != Some(""));
    }
}

/// The callback's parameters read back the same once encoded again; a code is accepted only
/// with the login's state and the issuer's `iss`, and never next to an error.
pub fn callback(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = CallbackParams::parse(text);
    let mut encoder = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("state", &params.state),
        ("code", &params.code),
        ("iss", &params.iss),
        ("error", &params.error),
        ("error_description", &params.error_description),
        ("error_uri", &params.error_uri),
    ] {
        if let Some(value) = value {
            encoder.append_pair(name, value);
        }
    }
    assert_eq!(CallbackParams::parse(&encoder.finish()), params);
    let pending = PendingLogin {
        issuer: ISSUER.into(),
        client_id: CLIENT_ID.into(),
        redirect_uri: "https://rp.fuzz.example/callback".into(),
        state: STATE.into(),
        nonce: NONCE.into(),
        code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        max_age: None,
        permission_digest: None,
        acr_values: Vec::new(),
    };
    for promised in [Some(true), None] {
        let metadata = ProviderMetadata {
            authorization_response_iss_parameter_supported: promised,
            ..metadata()
        };
        let Ok(code) = validate_callback(&pending, &params, &metadata) else {
            continue;
        };
        assert_eq!(params.state.as_deref(), Some(STATE));
        assert!(params.error.is_none());
        assert!(!code.0.is_empty() && params.code.as_deref() == Some(code.0.as_str()));
        match &params.iss {
            Some(iss) => assert_eq!(iss, ISSUER),
            None => assert_ne!(promised, Some(true)),
        }
    }
}

/// A BIS grant (from the grant endpoint's answer, or the JWT alone) is accepted only when the
/// fixed key signed it with ES256 and it names the registered permission.
pub fn bis_grant(data: &[u8]) {
    let permission = RegisteredPermission {
        id: "1.BY.perm.id".into(),
        permission_token: "pt".into(),
        binding_message: "BLUE CAT".into(),
        nonce: Some(NONCE.into()),
        digest: "digest-1".into(),
    };
    let mut tokens = Vec::new();
    if let Some(response) = response(data)
        && let Ok(GrantAnswer::Granted(jwt)) = process_grant_response(URL, &response)
    {
        assert_eq!(response.status, 200);
        tokens.push(jwt);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        tokens.push(text.to_owned());
    }
    for token in tokens {
        let Ok(grant) = verify_grant(&token, keys(), BIS_ISSUER, &permission) else {
            continue;
        };
        assert_signed_by_fixed_key(&token);
        assert_eq!(grant.raw, token);
        let header: Value =
            serde_json::from_slice(&b64::decode(token.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["alg"], "ES256", "a grant is ES256 only");
        assert_eq!(grant.claims.iss, BIS_ISSUER);
        assert_eq!(grant.claims.permission_id, permission.id);
        assert_eq!(grant.claims.digest, permission.digest);
        assert_eq!(
            Some(grant.claims.nonce.as_str()),
            permission.nonce.as_deref()
        );
        assert!(grant.claims.sub.len() > "nnin:".len() && grant.claims.sub.starts_with("nnin:"));
    }
}

fn id_token_claims() -> Value {
    json!({"iss": ISSUER, "sub": SUB, "aud": CLIENT_ID, "exp": NOW + 300, "iat": NOW,
        "nonce": NONCE, "acr": "urn:bankid:bid;LOA=4", "amr": ["BID"], "sid": "sid-1"})
}

fn fixed_id_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| sign("ES256", &id_token_claims(), &json!({"typ": "JWT"})))
}

/// The seed inputs of the client's targets, from the test suite's answers (valid and refused),
/// signed with the fixed keys. `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_owned(), bytes));
    };
    let json_type = Some("application/json");
    let discovery = serde_json::to_vec(&metadata()).unwrap();
    add(
        "client_discovery",
        "valid",
        write_response(200, json_type, &discovery),
    );
    let other = serde_json::to_vec(&ProviderMetadata {
        issuer: "https://evil".into(),
        ..metadata()
    })
    .unwrap();
    add(
        "client_discovery",
        "refused-issuer",
        write_response(200, json_type, &other),
    );
    add(
        "client_discovery",
        "refused-status",
        write_response(500, json_type, b"{}"),
    );
    add(
        "client_discovery",
        "refused-no-jwks-uri",
        write_response(
            200,
            json_type,
            format!(r#"{{"issuer":"{ISSUER}"}}"#).as_bytes(),
        ),
    );

    add(
        "client_jwks",
        "valid",
        serde_json::to_vec(&client_signing_jwks()).unwrap(),
    );
    add("client_jwks", "valid-odd-key", br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}"#.to_vec());
    add(
        "client_jwks",
        "refused-not-array",
        br#"{"keys":{}}"#.to_vec(),
    );

    for (name, status, body) in [
        (
            "valid",
            200,
            json!({"access_token": "a", "token_type": "Bearer", "expires_in": 300, "id_token": "x.y.z", "refresh_token": "r", "scope": "openid"}),
        ),
        (
            "valid-lowercase",
            200,
            json!({"access_token": "a", "token_type": "bearer"}),
        ),
        (
            "refused-dpop",
            200,
            json!({"access_token": "a", "token_type": "DPoP"}),
        ),
        (
            "refused-negative-expires",
            200,
            json!({"access_token": "a", "token_type": "Bearer", "expires_in": -1}),
        ),
        (
            "refused-error",
            400,
            json!({"error": "invalid_grant", "error_description": "code used"}),
        ),
    ] {
        add(
            "client_token_response",
            name,
            write_response(status, json_type, body.to_string().as_bytes()),
        );
    }

    let with = |changes: Value| {
        let mut claims = id_token_claims();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let typ = json!({"typ": "JWT"});
    add(
        "client_id_token",
        "valid-es256",
        sign("ES256", &id_token_claims(), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "valid-rs256",
        sign("RS256", &id_token_claims(), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "valid-ps256-two-audiences",
        sign(
            "PS256",
            &with(json!({"aud": [CLIENT_ID, "other"], "azp": CLIENT_ID})),
            &typ,
        )
        .into_bytes(),
    );
    add(
        "client_id_token",
        "refused-expired",
        sign("ES256", &with(json!({"exp": NOW - 3600})), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "refused-nonce",
        sign("ES256", &with(json!({"nonce": "other"})), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "refused-loa",
        sign("ES256", &with(json!({"acr": "urn:bankid:bis;LOA=2"})), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "refused-at-hash",
        sign("ES256", &with(json!({"at_hash": "AAAA"})), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "refused-issuer",
        sign("ES256", &with(json!({"iss": "https://evil"})), &typ).into_bytes(),
    );
    add(
        "client_id_token",
        "valid-extreme-times",
        sign(
            "ES256",
            &with(json!({"exp": i64::MAX, "iat": i64::MIN})),
            &typ,
        )
        .into_bytes(),
    );
    let valid = sign("ES256", &id_token_claims(), &typ);
    let payload = valid.split('.').nth(1).unwrap();
    add(
        "client_id_token",
        "refused-none",
        format!("{}.{payload}.", b64::encode(r#"{"alg":"none"}"#)).into_bytes(),
    );
    add(
        "client_id_token",
        "refused-hs256",
        format!(
            "{}.{payload}.AAAA",
            b64::encode(r#"{"alg":"HS256","kid":"fuzz-es256"}"#)
        )
        .into_bytes(),
    );

    let info = json!({"sub": SUB, "name": "Kari Nordmann", "birthdate": "1965-07-15"});
    add(
        "client_userinfo",
        "valid-json",
        write_response(200, json_type, info.to_string().as_bytes()),
    );
    let jwt_info = json!({"sub": SUB, "iss": ISSUER, "aud": CLIENT_ID, "name": "Kari"});
    add(
        "client_userinfo",
        "valid-jwt",
        write_response(
            200,
            Some("application/jwt"),
            sign("ES256", &jwt_info, &json!({})).as_bytes(),
        ),
    );
    add(
        "client_userinfo",
        "refused-other-sub",
        write_response(
            200,
            json_type,
            json!({"sub": "sub-2"}).to_string().as_bytes(),
        ),
    );
    add(
        "client_userinfo",
        "refused-jwt-audience",
        write_response(
            200,
            Some("application/jwt"),
            sign(
                "ES256",
                &json!({"sub": SUB, "iss": ISSUER, "aud": "other"}),
                &json!({}),
            )
            .as_bytes(),
        ),
    );
    add(
        "client_userinfo",
        "refused-html",
        write_response(200, Some("text/html"), b"<html>"),
    );

    for (name, body) in [
        (
            "valid-active",
            json!({"active": true, "scope": "openid profile", "client_id": CLIENT_ID, "sub": SUB, "exp": NOW + 60, "iat": NOW}),
        ),
        ("valid-inactive", json!({"active": false})),
        ("refused-string-active", json!({"active": "true"})),
        ("refused-empty-sub", json!({"active": true, "sub": ""})),
        ("refused-huge-exp", json!({"active": true, "exp": 1e300})),
    ] {
        add(
            "client_introspection",
            name,
            write_response(200, json_type, body.to_string().as_bytes()),
        );
    }

    let iss = url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>();
    for (name, text) in [
        ("valid", format!("?code=c-1&state={STATE}&iss={iss}")),
        (
            "valid-fragment",
            format!("#state={STATE}&code=c-1&iss={iss}"),
        ),
        ("refused-state", format!("code=c-1&state=other&iss={iss}")),
        ("refused-no-iss", format!("code=c-1&state={STATE}")),
        (
            "refused-error",
            format!("error=access_denied&error_description=no&state={STATE}&iss={iss}"),
        ),
        (
            "refused-repeat-first-wins",
            format!("state={STATE}&code=c-1&iss={iss}&state=x&code=y"),
        ),
    ] {
        add("client_callback", name, text.into_bytes());
    }

    let grant = json!({"gv": 1, "pt": "pt", "type": "grant", "rpId": CLIENT_ID, "sv": "1",
        "iat": NOW, "iss": BIS_ISSUER, "nonce": NONCE, "proofKeyId": "pk", "sub": "nnin:15076500565",
        "permissionId": "1.BY.perm.id", "digest": "digest-1"});
    let signed = sign("ES256", &grant, &json!({"typ": "JWT"}));
    add(
        "client_bis_grant",
        "valid-answer",
        write_response(200, Some("application/jwt"), signed.as_bytes()),
    );
    add("client_bis_grant", "valid-jwt", signed.into_bytes());
    let mut other = grant.clone();
    other["digest"] = json!("digest-2");
    add(
        "client_bis_grant",
        "refused-digest",
        sign("ES256", &other, &json!({})).into_bytes(),
    );
    add(
        "client_bis_grant",
        "refused-rs256",
        sign("RS256", &grant, &json!({})).into_bytes(),
    );
    add(
        "client_bis_grant",
        "not-yet",
        write_response(404, json_type, b""),
    );
    add(
        "client_bis_grant",
        "refused-denied",
        write_response(400, json_type, br#"{"error":"access_denied"}"#),
    );
    out
}

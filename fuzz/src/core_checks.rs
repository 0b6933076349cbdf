//! The checks of the core's fuzz targets. Each takes the fuzzer's bytes, runs a parser and
//! panics when the parser accepts something that does not re-encode or re-validate consistently.
//! The cargo-fuzz targets call them, and `crates/core/tests/fuzz_corpus.rs` replays the corpora
//! through them on stable (this file is compiled there with `#[path]`).

use bankid_oidc_core::acr::{self, Method};
use bankid_oidc_core::authorize::{
    self, AuthorizeError, Channel, ClientPolicy, IssuerRules, MAX_STATE_LEN,
};
use bankid_oidc_core::b64;
use bankid_oidc_core::client_jws::{self, REQUEST_OBJECT_TYPES};
use bankid_oidc_core::jwe::{
    self, ContentEncryption, DecryptionKey, EncryptOptions, KeyManagement,
};
use bankid_oidc_core::jwk::{Jwk, Jwks};
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::login_hint::LoginHint;
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_core::params::Params;
use bankid_oidc_core::permission::{self, STATEMENT_TYPES};
use bankid_oidc_core::permission_request::{self, PermissionPolicy};
use bankid_oidc_core::request_object::{self, RequestObjectContent, RequestObjectRules};
use bankid_oidc_core::scope::ScopeSet;
use serde_json::{Value, json};
use std::sync::OnceLock;

include!("fixed_keys.rs");

/// The time every check runs at: 2023-11-14T22:13:20Z.
pub const NOW: i64 = 1_700_000_000;
pub const CLIENT_ID: &str = "fuzz-client";
pub const ISSUER: &str = "https://auth.fuzz.example/realms/current";
pub const REDIRECT_URI: &str = "https://rp.fuzz.example/callback";

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

// ---------------------------------------------------------------------------------------------
// JWS: request objects, client assertions (the same verifier), id_token_hint's shape.

/// A signed JWT is accepted only when its signature verifies, independently of the library,
/// with the fixed test key it names; never with `none`, HMAC, or another key.
pub fn jws(data: &[u8]) {
    let Some(compact) = text(data) else { return };
    let keys = client_signing_jwks();
    if let Ok(verified) = client_jws::verify(compact, &keys, &REQUEST_OBJECT_TYPES) {
        assert_signed_by_fixed_key(compact, verified.alg.name());
        let payload = compact.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&b64::decode(payload).unwrap()).unwrap();
        assert_eq!(Value::Object(verified.claims.clone()), claims);
    }
    let rules = RequestObjectRules::new(CLIENT_ID, ISSUER, NOW);
    if let Ok(object) = request_object::verify_request_object(compact, &keys, &rules) {
        assert_signed_by_fixed_key(compact, object.alg.name());
        assert!(!object.jti.is_empty() && object.jti.len() <= request_object::MAX_JTI_LEN);
        assert!(
            object.exp >= NOW - rules.clock_skew,
            "an expired request object passed"
        );
        assert_eq!(object.claims.get("iss"), Some(&json!(CLIENT_ID)));
        for (name, _) in object.authorization_parameters() {
            assert!(!["iss", "aud", "exp", "nbf", "iat", "jti", "sub"].contains(&name.as_str()));
        }
    }
}

/// Verifies `compact` with aws-lc-rs directly against the fixed keys' public halves.
fn assert_signed_by_fixed_key(compact: &str, alg: &str) {
    use aws_lc_rs::signature::{self, KeyPair, UnparsedPublicKey};
    let (signing_input, signature_b64) = compact.rsplit_once('.').unwrap();
    let signature = b64::decode(signature_b64).expect("an accepted signature is base64url");
    let ok = match alg {
        "ES256" => UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            fixed_es256().public_key().as_ref(),
        )
        .verify(signing_input.as_bytes(), &signature)
        .is_ok(),
        "RS256" | "PS256" => {
            let params: &dyn signature::VerificationAlgorithm = if alg == "RS256" {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PSS_2048_8192_SHA256
            };
            UnparsedPublicKey::new(params, fixed_rsa().public_key().as_ref())
                .verify(signing_input.as_bytes(), &signature)
                .is_ok()
        }
        other => panic!("a token with alg {other} was accepted"),
    };
    assert!(ok, "accepted a {alg} token the fixed test key did not sign");
}

// ---------------------------------------------------------------------------------------------
// JWE: every alg and enc accepted, with fixed RSA and P-256 keys.

/// A JWE that decrypts must decrypt to the same header `peek_header` reads, use canonical
/// base64url in every segment, and be refused once any of its parts is changed by one bit.
pub fn jwe(data: &[u8]) {
    let Some(compact) = text(data) else { return };
    let keys = decryption_keys();
    let peeked = jwe::peek_header(compact);
    let Ok(decrypted) = jwe::decrypt(compact, keys) else {
        let _ = request_object::decrypt_request_object(compact, keys);
        return;
    };
    assert_eq!(peeked.as_ref(), Ok(&decrypted.header));
    assert!(keys.iter().any(|k| k.kid() == decrypted.key_id));
    let segments: Vec<&str> = compact.split('.').collect();
    assert_eq!(segments.len(), 5);
    for segment in &segments {
        let bytes = b64::decode(segment).expect("an accepted JWE is base64url");
        assert_eq!(
            &b64::encode(&bytes),
            segment,
            "a non-canonical segment was accepted"
        );
    }
    for index in 0..5 {
        let bytes = b64::decode(segments[index]).unwrap();
        for at in [0, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            if bytes.is_empty() {
                continue;
            }
            let mut tampered = bytes.clone();
            tampered[at] ^= 0x01;
            let mut parts: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
            parts[index] = b64::encode(&tampered);
            assert!(
                jwe::decrypt(&parts.join("."), keys).is_err(),
                "a JWE changed in segment {index} at byte {at} still decrypted"
            );
        }
    }
    match request_object::decrypt_request_object(compact, keys) {
        Ok(object) => match object.content {
            RequestObjectContent::Signed(inner) => assert_eq!(inner.split('.').count(), 3),
            RequestObjectContent::Claims(claims) => {
                let text = std::str::from_utf8(&decrypted.plaintext).unwrap().trim();
                assert_eq!(
                    serde_json::from_str::<Value>(text).unwrap(),
                    Value::Object(claims)
                );
            }
        },
        Err(_) => assert!(
            std::str::from_utf8(&decrypted.plaintext).is_err()
                || !decrypted.plaintext.trim_ascii().starts_with(b"{")
                || decrypted
                    .header
                    .cty
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
                || serde_json::from_slice::<serde_json::Map<String, Value>>(
                    decrypted.plaintext.trim_ascii()
                )
                .is_err()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// JWK and JWKS.

/// A JWK or JWKS that parses serializes back to JSON that parses to the same value.
pub fn jwk(data: &[u8]) {
    if let Ok(jwks) = serde_json::from_slice::<Jwks>(data) {
        let again: Jwks = serde_json::from_slice(&serde_json::to_vec(&jwks).unwrap()).unwrap();
        assert_eq!(jwks, again);
        for key in &jwks.keys {
            for alg in ["ES256", "PS256", "RS256"] {
                let _ = client_jws::SigningAlg::from_name(alg).unwrap().fits(key);
            }
        }
    }
    if let Ok(key) = serde_json::from_slice::<Jwk>(data) {
        let again: Jwk = serde_json::from_slice(&serde_json::to_vec(&key).unwrap()).unwrap();
        assert_eq!(key, again);
        // A key the fuzzer made up must never verify a token signed by the fixed key.
        let token = fixed_es256_token();
        let set = Jwks {
            keys: vec![key.clone()],
        };
        if client_jws::verify(token, &set, &REQUEST_OBJECT_TYPES).is_ok() {
            assert_eq!(key.x, client_signing_jwks().keys[0].x);
            assert_eq!(key.y, client_signing_jwks().keys[0].y);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The authorization request: parameter parsing and the whole check table.

/// Parameters round-trip through form encoding; an accepted request holds exactly what the
/// parameters said, within the client's registration and the issuer's rules.
pub fn authorize(data: &[u8]) {
    let Ok(params) = Params::from_urlencoded(data) else {
        return;
    };
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let encoded = serde_urlencoded::to_string(&pairs).unwrap();
    let again = Params::from_urlencoded(encoded.as_bytes()).expect("re-encoded parameters parse");
    let again: Vec<(String, String)> = again.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(pairs, again);

    let scopes = ScopeSet::parse("openid profile nnin_altsub address email phone").unwrap();
    let redirect_uris = [REDIRECT_URI.to_owned()];
    let client = ClientPolicy {
        client_id: CLIENT_ID,
        redirect_uris: &redirect_uris,
        scopes: &scopes,
    };
    let target = match authorize::check_redirect(&params, &client) {
        Ok(target) => target,
        Err(AuthorizeError::Page(_)) => return,
        Err(AuthorizeError::Redirect(target, _)) => {
            assert_eq!(target.redirect_uri, REDIRECT_URI);
            return;
        }
    };
    assert_eq!(params.get("redirect_uri"), Some(REDIRECT_URI));
    if let Some(state) = &target.state {
        assert!(state.len() <= MAX_STATE_LEN);
    }
    for rules in [IssuerRules::Realm, IssuerRules::Biometrics] {
        for channel in [
            Channel::Query,
            Channel::Pushed,
            Channel::EncryptedRequestObject,
        ] {
            let Ok(valid) = authorize::validate_at(&params, &client, &target, channel, rules)
            else {
                continue;
            };
            assert_eq!(valid.client_id, CLIENT_ID);
            assert_eq!(params.get("response_type"), Some("code"));
            assert_eq!(Some(valid.state.as_str()), params.get("state"));
            assert_eq!(Some(valid.nonce.as_str()), params.get("nonce"));
            assert_eq!(
                Some(valid.code_challenge.as_str()),
                params.get("code_challenge")
            );
            assert_eq!(
                ScopeSet::parse(params.get("scope").unwrap()).unwrap(),
                valid.scope
            );
            assert!(valid.scope.contains("openid") && valid.scope.is_subset(&scopes));
            assert!(valid.scope.iter().all(|s| rules.scopes().contains(&s)));
            assert!(valid.api_version == bankid_oidc_core::MIN_API_VERSION);
            assert!(!valid.methods.is_empty());
            if rules == IssuerRules::Biometrics {
                assert_eq!(valid.methods, [Method::Bis]);
            }
            match (&valid.login_hint, params.get("login_hint")) {
                (None, None) => {}
                (Some(hint), Some(text)) => {
                    assert_eq!(&LoginHint::parse(text).unwrap(), hint);
                    if hint.nnin().is_some() {
                        assert_ne!(channel, Channel::Query, "an NNIN hint passed in a query");
                    }
                }
                (hint, text) => panic!("login_hint {text:?} became {hint:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The small grammars.

/// The login_hint grammar has one spelling per value: an accepted hint prints back to its text.
pub fn login_hint(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(hint) = LoginHint::parse(text) else {
        return;
    };
    assert_eq!(login_hint_text(&hint), text);
    let json = serde_json::to_string(&hint).unwrap();
    assert_eq!(serde_json::from_str::<LoginHint>(&json).unwrap(), hint);
}

/// How a hint is written (the grammar of `login_hint.rs`).
pub fn login_hint_text(hint: &LoginHint) -> String {
    match hint {
        LoginHint::Method { method } => method.hint().to_owned(),
        LoginHint::BidUser { nnin } => format!("BID:{nnin}"),
        LoginHint::BimUser {
            mobile,
            birth_ddmmyy,
        } => format!("BIM:{mobile}:{birth_ddmmyy}"),
        LoginHint::User { nnin } => format!(":{nnin}"),
    }
}

/// An accepted NNIN is its 11 digits with check digits that an independent computation agrees
/// with, and survives its serde form.
pub fn nnin(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(nnin) = Nnin::parse(text) else { return };
    assert_eq!(nnin.as_str(), text);
    let digits: Vec<u32> = text.bytes().map(|b| u32::from(b - b'0')).collect();
    assert_eq!(digits.len(), 11);
    let k1 = 11
        - [3, 7, 6, 1, 8, 9, 4, 5, 2]
            .iter()
            .zip(&digits)
            .map(|(w, d)| w * d)
            .sum::<u32>()
            % 11;
    let k2 = 11
        - [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
            .iter()
            .zip(&digits)
            .map(|(w, d)| w * d)
            .sum::<u32>()
            % 11;
    assert_eq!(digits[9], k1 % 11, "first check digit");
    assert_eq!(digits[10], k2 % 11, "second check digit");
    let birth = nnin.birth_ddmmyy();
    assert!(birth.len() == 6 && birth.bytes().all(|b| b.is_ascii_digit()));
    let json = serde_json::to_string(&nnin).unwrap();
    assert_eq!(serde_json::from_str::<Nnin>(&json).unwrap(), nnin);
}

/// Accepted `acr_values` are a non-empty list without repeats that reads back the same, whether
/// written as method URNs or as the `acr` values the provider issues.
pub fn acr_values(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = acr::loa_of(text);
    let Ok(methods) = acr::parse_acr_values(text) else {
        return;
    };
    assert!(!methods.is_empty());
    for (i, m) in methods.iter().enumerate() {
        assert!(!methods[..i].contains(m), "a repeated method");
        assert_eq!(acr::loa_of(&m.acr()), Some(m.loa()));
    }
    let urns: Vec<&str> = methods.iter().map(|m| m.acr_value()).collect();
    assert_eq!(acr::parse_acr_values(&urns.join(" ")).unwrap(), methods);
    let acrs: Vec<String> = methods.iter().map(|m| m.acr()).collect();
    assert_eq!(acr::parse_acr_values(&acrs.join(" ")).unwrap(), methods);
}

/// The chosen language is one the list named, and its own tag chooses it again.
pub fn ui_locales(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Some(locale) = Locale::from_ui_locales(text) else {
        return;
    };
    assert_eq!(Locale::from_ui_locales(locale.tag()), Some(locale));
    let named = |tag: &str| {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match locale {
            Locale::Nb => ["nb", "no", "nn"].contains(&primary.as_str()),
            Locale::En => primary == "en",
        }
    };
    assert!(text.split(' ').any(named));
}

/// A scope set prints in a form that parses to the same set, holds every token it was given,
/// and obeys the set laws.
pub fn scope(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(set) = ScopeSet::parse(text) else {
        return;
    };
    assert_eq!(ScopeSet::parse(&set.to_string()).unwrap(), set);
    assert!(text.split(' ').all(|t| set.contains(t)));
    assert!(set.iter().all(|t| text.split(' ').any(|s| s == t)));
    assert!(set.is_subset(&set));
    assert_eq!(set.missing_from(&set).count(), 0);
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), set);
    let _ = bankid_oidc_core::scope::is_known(text);
}

// ---------------------------------------------------------------------------------------------
// Permission statements and permission registration bodies.

/// The first byte picks the type and whether the rest is the base64url text itself or the JSON
/// to encode. An accepted statement has the digest of its bytes and round-trips through its
/// JSON.
pub fn permission_statement(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let type_ = STATEMENT_TYPES[usize::from(first & 0x7f) % STATEMENT_TYPES.len()];
    let encoded = if first & 0x80 == 0 {
        b64::encode(rest)
    } else {
        let Some(text) = text(rest) else { return };
        text.to_owned()
    };
    if let Ok(details) = permission::parse_authorization_details(&String::from_utf8_lossy(rest)) {
        for detail in details {
            let (statement, digest) = permission::parse_payment_statement(&detail.permission)
                .expect("an accepted detail's statement parses again");
            assert_eq!(digest, detail.digest);
            assert_eq!(Some(statement), detail.statement);
        }
    }
    let Ok((statement, digest)) = permission::parse_statement(type_, &encoded) else {
        return;
    };
    assert_eq!(
        digest,
        permission::digest_of(&b64::decode(&encoded).unwrap())
    );
    assert_eq!(statement.type_name(), type_);
    if matches!(type_, "payment.v1" | "card.v1" | "account.v1") {
        assert!(statement.nonce().is_some());
    }
    let again = b64::encode(statement.to_json());
    let (reparsed, _) = permission::parse_statement(type_, &again)
        .expect("a statement's own JSON is a valid statement");
    assert_eq!(reparsed, statement);
}

/// An accepted registration body carries a statement that parses again to the same value and
/// digest, times within the policy, and only known intents, ACR values and valid NNINs.
pub fn permission_request(data: &[u8]) {
    if let Ok(nnin) = permission_request::parse_user_exists(data) {
        Nnin::parse(&nnin).expect("user-exists accepted an invalid NNIN");
    }
    let mut policy = PermissionPolicy::new(NOW);
    policy.text_allowed = true;
    policy.extra_types = vec!["card.v1".into(), "account.v1".into()];
    let Ok(valid) = permission_request::validate_permission_request(data, &policy) else {
        return;
    };
    let (statement, digest) = permission::parse_statement(&valid.type_, &valid.permission).unwrap();
    assert_eq!(
        (statement, digest),
        (valid.statement.clone(), valid.digest.clone())
    );
    assert!(
        valid.exp > valid.iat,
        "exp {} not after iat {}",
        valid.exp,
        valid.iat
    );
    assert!(valid.exp - valid.iat <= policy.max_lifetime);
    assert!(valid.iat <= NOW + 60 && valid.iat >= NOW - permission_request::MAX_IAT_AGE_SECS - 60);
    assert!(
        valid
            .intents
            .iter()
            .all(|i| permission_request::INTENTS.contains(&i.as_str()))
    );
    assert!(
        valid
            .acr_values
            .iter()
            .all(|a| permission_request::ACR_VALUES.contains(&a.as_str()))
    );
    if let Some(nnin) = &valid.login_hint_nnin {
        Nnin::parse(nnin).expect("a registered permission names a valid NNIN");
    }
    let json = serde_json::to_string(&valid).unwrap();
    assert_eq!(
        serde_json::from_str::<permission_request::ValidPermission>(&json).unwrap(),
        valid
    );
}

// ---------------------------------------------------------------------------------------------
// Keys and seeds.

fn decryption_keys() -> &'static [DecryptionKey] {
    static KEYS: OnceLock<Vec<DecryptionKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            DecryptionKey::rsa_from_pkcs8("fuzz-rsa-enc", RSA_ENC_PKCS8).unwrap(),
            DecryptionKey::p256_from_pkcs8("fuzz-p256-enc", P256_ENC_PKCS8).unwrap(),
        ]
    })
}

fn fixed_es256_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| sign("ES256", &json!({"iss": CLIENT_ID}), &json!({})))
}

/// The seed inputs of the core's targets, from the test suite's requests and tokens (valid and
/// refused), signed and encrypted with the fixed keys. `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_owned(), bytes));
    };
    let claims = json!({
        "iss": CLIENT_ID, "aud": ISSUER, "client_id": CLIENT_ID, "jti": "jti-1",
        "iat": NOW, "exp": NOW + 300, "response_type": "code", "redirect_uri": REDIRECT_URI,
        "scope": "openid profile", "state": "s-1", "nonce": "n-1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "login_hint": "BID:15076500565"
    });
    let typ = json!({"typ": "oauth-authz-req+jwt"});
    for alg in ["ES256", "RS256", "PS256"] {
        add(
            "core_jws",
            &format!("valid-{alg}"),
            sign(alg, &claims, &typ).into_bytes(),
        );
    }
    let mut expired = claims.clone();
    expired["exp"] = json!(NOW - 3600);
    add(
        "core_jws",
        "refused-expired",
        sign("ES256", &expired, &typ).into_bytes(),
    );
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("https://elsewhere.example");
    add(
        "core_jws",
        "refused-audience",
        sign("ES256", &wrong_aud, &typ).into_bytes(),
    );
    add(
        "core_jws",
        "refused-typ",
        sign("ES256", &claims, &json!({"typ": "JWT+x"})).into_bytes(),
    );
    add(
        "core_jws",
        "refused-crit",
        sign("ES256", &claims, &json!({"crit": ["b64"]})).into_bytes(),
    );
    let valid = sign("ES256", &claims, &typ);
    let (input, _) = valid.rsplit_once('.').unwrap();
    let none_header = b64::encode(br#"{"alg":"none"}"#);
    let payload = input.split('.').nth(1).unwrap();
    add(
        "core_jws",
        "refused-none",
        format!("{none_header}.{payload}.").into_bytes(),
    );
    let hs = b64::encode(br#"{"alg":"HS256","kid":"fuzz-es256"}"#);
    add(
        "core_jws",
        "refused-hs256",
        format!("{hs}.{payload}.AAAA").into_bytes(),
    );
    add(
        "core_jws",
        "refused-signature",
        format!("{input}.{}", b64::encode([7u8; 64])).into_bytes(),
    );
    add(
        "core_jws",
        "refused-two-segments",
        input.as_bytes().to_vec(),
    );

    let inner = sign("ES256", &claims, &typ);
    let keys = decryption_keys();
    for alg in KeyManagement::ALL {
        let key = keys.iter().find(|k| k.supports(alg)).unwrap();
        for enc in [ContentEncryption::A256Gcm, ContentEncryption::A128CbcHs256] {
            let options = EncryptOptions::new(alg, enc).cty("JWT");
            let mut recipient = key.public_jwk();
            recipient.alg = None;
            let compact = jwe::encrypt(inner.as_bytes(), &recipient, &options).unwrap();
            add(
                "core_jwe",
                &format!("valid-{}-{}", alg.name(), enc.name()),
                compact.into_bytes(),
            );
        }
    }
    let legacy = jwe::encrypt(
        br#"{"login_hint":"BID:15076500565"}"#,
        &keys[0].public_jwk(),
        &EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A256Gcm),
    )
    .unwrap();
    add(
        "core_jwe",
        "valid-legacy-claims",
        legacy.clone().into_bytes(),
    );
    let rest = legacy.split_once('.').unwrap().1;
    for (name, header) in [
        ("refused-rsa1_5", json!({"alg": "RSA1_5", "enc": "A256GCM"})),
        ("refused-dir", json!({"alg": "dir", "enc": "A256GCM"})),
        (
            "refused-zip",
            json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF"}),
        ),
        (
            "refused-crit",
            json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "crit": ["x"]}),
        ),
        (
            "refused-kid",
            json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "nobody"}),
        ),
        (
            "refused-epk",
            json!({"alg": "ECDH-ES", "enc": "A256GCM", "epk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}),
        ),
    ] {
        let header = b64::encode(header.to_string());
        add("core_jwe", name, format!("{header}.{rest}").into_bytes());
    }

    let es = &client_signing_jwks();
    add("core_jwk", "valid-jwks", serde_json::to_vec(es).unwrap());
    add(
        "core_jwk",
        "valid-ec-jwk",
        serde_json::to_vec(&es.keys[0]).unwrap(),
    );
    add(
        "core_jwk",
        "valid-rsa-jwk",
        serde_json::to_vec(&es.keys[1]).unwrap(),
    );
    add(
        "core_jwk",
        "valid-enc-jwk",
        serde_json::to_vec(&keys[1].public_jwk()).unwrap(),
    );
    add(
        "core_jwk",
        "refused-no-kty",
        br#"{"kid":"a","x":"AA"}"#.to_vec(),
    );
    add(
        "core_jwk",
        "refused-keys-not-array",
        br#"{"keys":{"kty":"EC"}}"#.to_vec(),
    );

    let query = format!(
        "client_id={CLIENT_ID}&response_type=code&redirect_uri={}&scope=openid+profile&state=s-1\
         &nonce=n-1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256",
        url_escape(REDIRECT_URI)
    );
    add(
        "core_authorize",
        "valid-minimal",
        query.clone().into_bytes(),
    );
    for (name, extra) in [
        (
            "valid-bis",
            "&login_hint=BIS&acr_values=urn:bankid:bis&ui_locales=en&prompt=login",
        ),
        (
            "valid-nnin-hint-pushed",
            "&login_hint=BID%3A15076500565&api_version=4&max_age=60",
        ),
        (
            "valid-bim",
            "&login_hint=BIM:48059848:150765&acr_values=urn:bankid:bim;LOA%3D4",
        ),
        ("refused-api-version", "&api_version=3"),
        ("refused-acr-inflated", "&acr_values=urn:bankid:bis;LOA%3D4"),
        ("refused-repeated", "&state=s-2"),
        ("refused-prompt", "&prompt=none+login"),
        ("request-uri", "&request_uri=urn:x"),
        (
            "valid-payment",
            "&authorization_details=%5B%7B%22type%22%3A%22payment.v1%22%2C%22permission%22%3A%22eyJub25jZSI6Im4iLCJpZCI6IjEiLCJwYXltZW50cyI6W3sicGF5bWVudElkIjoicDEiLCJhbW91bnQiOiIxMC4wMCIsImN1cnJlbmN5IjoiTk9LIiwiY3JlZGl0b3JOYW1lIjoiU2hvcCJ9XX0%22%7D%5D",
        ),
    ] {
        add(
            "core_authorize",
            name,
            format!("{query}{extra}").into_bytes(),
        );
    }
    add(
        "core_authorize",
        "refused-redirect",
        query.replace("rp.fuzz", "evil").into_bytes(),
    );
    add(
        "core_authorize",
        "refused-utf8",
        b"scope=%FF&client_id=x".to_vec(),
    );

    for (name, hint) in [
        ("valid-bid", "BID"),
        ("valid-bis", "BIS"),
        ("valid-bim", "BIM"),
        ("valid-bid-user", "BID:15076500565"),
        ("valid-user", ":15076500565"),
        ("valid-bim-user", "BIM:48059848:150765"),
        ("refused-lowercase", "bid"),
        ("refused-check-digit", "BID:15076500566"),
        ("refused-bis-user", "BIS:15076500565"),
        ("refused-short-mobile", "BIM:1234:150765"),
        ("refused-extra", "BID:15076500565:x"),
        ("refused-empty", ""),
    ] {
        add("core_login_hint", name, hint.as_bytes().to_vec());
    }
    for (name, n) in [
        ("valid", "15076500565"),
        ("valid-synthetic", "01820000000"),
        ("valid-d-number", "41017000029"),
        ("refused-check", "15076500566"),
        ("refused-date", "32136500565"),
        ("refused-length", "1507650056"),
        ("refused-letters", "1507650056x"),
    ] {
        let n = if name == "valid-synthetic" {
            Nnin::synthetic(1990, 1, 15, 0).to_string()
        } else if name == "valid-d-number" {
            (0..1000u32)
                .map(|i| format!("410170{:03}", i))
                .find_map(|p| {
                    (0..100)
                        .map(|c| format!("{p}{c:02}"))
                        .find(|t| Nnin::parse(t).is_ok())
                })
                .unwrap()
        } else {
            n.to_owned()
        };
        add("core_nnin", name, n.into_bytes());
    }
    for (name, v) in [
        ("valid-two", "urn:bankid:bid urn:bankid:bis"),
        ("valid-loa", "urn:bankid:bis;LOA=3"),
        ("valid-bim", "urn:bankid:bim"),
        ("refused-inflated", "urn:bankid:bis;LOA=4"),
        ("refused-unknown", "urn:bankid:xyz"),
        ("refused-blank", " "),
    ] {
        add("core_acr_values", name, v.as_bytes().to_vec());
    }
    for (name, v) in [
        ("valid-en", "de en nb"),
        ("valid-nb-region", "nb-NO"),
        ("valid-no", "no"),
        ("valid-nn", "nn_NO en"),
        ("none-supported", "fr de"),
    ] {
        add("core_ui_locales", name, v.as_bytes().to_vec());
    }
    for (name, v) in [
        ("valid", "profile openid nnin_altsub openid"),
        ("valid-bis", "openid sub_nnin sub_bankid"),
        ("refused-double-space", "openid  profile"),
        ("refused-quote", "openid \"x\""),
        ("refused-empty", ""),
        ("refused-tab", "openid\tprofile"),
    ] {
        add("core_scope", name, v.as_bytes().to_vec());
    }
    let payment = json!({"nonce": "n-1", "id": "order-1", "payments": [
        {"paymentId": "p1", "amount": "100.00", "currency": "NOK", "creditorName": "Shop AS"}]});
    for (name, first, statement) in [
        ("valid-authentication", 0u8, json!({})),
        ("valid-authentication-nonce", 0, json!({"nonce": "n-1"})),
        (
            "valid-text",
            1,
            json!({"nonce": "n-1", "text": "Approve the\nagreement"}),
        ),
        ("valid-payment", 2, payment.clone()),
        (
            "valid-card",
            3,
            json!({"nonce": "n", "id": "card-1", "text": "Save the card"}),
        ),
        (
            "valid-account",
            4,
            json!({"nonce": "n", "id": "acc-1", "text": "Link the account"}),
        ),
        (
            "refused-payment-no-nonce",
            2,
            json!({"id": "1", "payments": []}),
        ),
        (
            "refused-amount",
            2,
            json!({"nonce": "n", "id": "1", "payments": [
            {"paymentId": "p", "amount": "1,00", "currency": "NOK", "creditorName": "S"}]}),
        ),
        (
            "refused-currency",
            2,
            json!({"nonce": "n", "id": "1", "payments": [
            {"paymentId": "p", "amount": "1.00", "currency": "XXY", "creditorName": "S"}]}),
        ),
        ("refused-text-extra", 1, json!({"text": "a", "x": 1})),
    ] {
        let mut bytes = vec![first];
        bytes.extend(serde_json::to_vec(&statement).unwrap());
        add("core_permission_statement", name, bytes);
    }
    let mut raw = vec![0x82u8];
    raw.extend(b64::encode(serde_json::to_vec(&payment).unwrap()).into_bytes());
    add("core_permission_statement", "valid-payment-base64", raw);
    let details = json!([{"type": "payment.v1",
        "permission": b64::encode(serde_json::to_vec(&payment).unwrap())}]);
    add(
        "core_permission_statement",
        "valid-authorization-details",
        [&[0x80u8][..], details.to_string().as_bytes()].concat(),
    );

    let permission = b64::encode(serde_json::to_vec(&payment).unwrap());
    let body = |extra: Value| {
        let mut body = json!({"type": "payment.v1", "iat": NOW, "exp": NOW + 300,
            "permission": permission, "intents": ["ciba", "redirect"],
            "loginHint": [{"scheme": "nnin", "value": "15076500565"}],
            "acr_values": ["urn:bankid:bis"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        serde_json::to_vec(&body).unwrap()
    };
    add("core_permission_request", "valid-payment", body(json!({})));
    add(
        "core_permission_request",
        "valid-authentication",
        serde_json::to_vec(&json!({
        "iat": NOW, "exp": NOW + 60, "permission": b64::encode("{}")}))
        .unwrap(),
    );
    add(
        "core_permission_request",
        "refused-exp-before-iat",
        body(json!({"exp": NOW - 10})),
    );
    add(
        "core_permission_request",
        "refused-lifetime",
        body(json!({"exp": NOW + 100_000})),
    );
    add(
        "core_permission_request",
        "refused-old-iat",
        body(json!({"iat": NOW - 3600})),
    );
    add(
        "core_permission_request",
        "refused-unknown-field",
        body(json!({"extra": 1})),
    );
    add(
        "core_permission_request",
        "refused-intent",
        body(json!({"intents": ["fax"]})),
    );
    add(
        "core_permission_request",
        "refused-huge-iat",
        body(json!({"iat": i64::MAX, "exp": i64::MIN})),
    );
    add(
        "core_permission_request",
        "valid-user-exists",
        br#"{"loginHint":[{"scheme":"nnin","value":"15076500565"}]}"#.to_vec(),
    );
    out
}

fn url_escape(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

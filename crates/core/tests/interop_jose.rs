//! Interoperability with jose (panva), the JOSE library under node-oidc-provider and
//! openid-client (tests/interop/jose/jose.mjs):
//!
//! - jose encrypts to our keys with every alg × enc we accept, and we decrypt;
//! - we encrypt with every alg × enc, and jose decrypts with our private keys;
//! - jose signs request objects (ES256, PS256, RS256) and nests one in a JWE, and we verify.
//!
//! Needs node and npm; jose is installed from the npm registry on first run (`npm ci` with the
//! committed lock file). Without node the test fails, so that CI cannot pass by skipping it; set
//! BANKID_OIDC_SKIP_INTEROP=1 to skip on purpose.

use bankid_oidc_core::jwe::{
    self, ContentEncryption, DecryptionKey, EncryptOptions, KeyManagement,
};
use bankid_oidc_core::jwk::Jwks;
use bankid_oidc_core::request_object::{
    RequestObjectContent, RequestObjectRules, SigningAlg, decrypt_request_object,
    verify_request_object,
};
use bankid_oidc_testkit::npm::{self, NodeProject};
use base64::Engine;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

const PAYLOAD: &str = r#"{"login_hint":"BID:07127000183","note":"blåbærsyltetøy"}"#;
const CLIENT: &str = "jose-client";
const ISSUER: &str = "https://auth.example.no/auth/realms/current";

fn jose() -> NodeProject {
    NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/jose"),
        "jose",
    )
}

fn run_jose(request: &Value) -> Value {
    let mut child = jose()
        .node("jose.mjs")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running node jose.mjs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "jose.mjs failed:\n{stderr}\n{stdout}"
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn jose_and_we_encrypt_decrypt_and_sign_for_each_other() {
    if npm::skip_requested() {
        return;
    }
    jose().install();

    let rsa = DecryptionKey::generate_rsa("provider-rsa-enc").unwrap();
    let ec = DecryptionKey::generate_p256("provider-ec-enc").unwrap();
    let combinations: Vec<(KeyManagement, ContentEncryption)> = KeyManagement::ALL
        .into_iter()
        .flat_map(|a| ContentEncryption::ALL.into_iter().map(move |e| (a, e)))
        .collect();

    let ours: Vec<Value> = combinations
        .iter()
        .map(|&(alg, enc)| {
            let key = if rsa.supports(alg) { &rsa } else { &ec };
            let mut to = key.public_jwk();
            to.alg = None;
            let compact =
                jwe::encrypt(PAYLOAD.as_bytes(), &to, &EncryptOptions::new(alg, enc)).unwrap();
            json!({"alg": alg.name(), "enc": enc.name(), "compact": compact})
        })
        .collect();
    let now = unix_now();
    let claims = json!({
        "iss": CLIENT, "aud": ISSUER, "client_id": CLIENT,
        "iat": now, "nbf": now, "exp": now + 120, "jti": "jose-jti-1",
        "response_type": "code", "scope": "openid", "login_hint": "BID:07127000183",
    });
    let pkcs8 =
        |k: &DecryptionKey| base64::engine::general_purpose::STANDARD.encode(k.to_pkcs8().unwrap());
    let answer = run_jose(&json!({
        "payload": PAYLOAD,
        "publicJwks": {"RSA": rsa.public_jwk(), "EC": ec.public_jwk()},
        "pkcs8": {"RSA": pkcs8(&rsa), "EC": pkcs8(&ec)},
        "algs": KeyManagement::ALL.map(KeyManagement::name),
        "encs": ContentEncryption::ALL.map(ContentEncryption::name),
        "ours": ours,
        "claims": claims,
    }));
    let keys = [rsa, ec];

    // (a) jose encrypted, we decrypt.
    let encrypted = answer["encrypted"].as_array().unwrap();
    assert_eq!(encrypted.len(), combinations.len());
    for item in encrypted {
        let what = format!("jose {} {}", item["alg"], item["enc"]);
        let out = jwe::decrypt(item["compact"].as_str().unwrap(), &keys)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(out.plaintext, PAYLOAD.as_bytes(), "{what}");
        assert_eq!(out.header.alg.name(), item["alg"], "{what}");
        assert_eq!(out.header.enc.name(), item["enc"], "{what}");
    }

    // (b) we encrypted, jose decrypted.
    let decrypted = answer["decrypted"].as_array().unwrap();
    assert_eq!(decrypted.len(), combinations.len());
    for item in decrypted {
        assert_eq!(
            item["plaintext"], PAYLOAD,
            "ours {} {}",
            item["alg"], item["enc"]
        );
    }

    // (c) jose signed request objects, and one nested in a JWE.
    let jwks: Jwks = serde_json::from_value(answer["jwks"].clone()).unwrap();
    let rules = RequestObjectRules::new(CLIENT, ISSUER, now);
    for item in answer["requestObjects"].as_array().unwrap() {
        let verified = verify_request_object(item["compact"].as_str().unwrap(), &jwks, &rules)
            .unwrap_or_else(|e| panic!("jose {}: {e}", item["alg"]));
        assert_eq!(verified.alg.name(), item["alg"]);
        assert_eq!(verified.jti, "jose-jti-1");
    }
    let unwrapped = decrypt_request_object(answer["nested"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(unwrapped.header.cty.as_deref(), Some("JWT"));
    let RequestObjectContent::Signed(inner) = unwrapped.content else {
        panic!("jose's nested JWT was not read as a signed request object");
    };
    let verified = verify_request_object(&inner, &jwks, &rules).unwrap();
    assert_eq!(verified.alg, SigningAlg::Ps256);
    assert_eq!(verified.claims["login_hint"], "BID:07127000183");
}

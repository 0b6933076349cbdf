//! Interoperability: openid-client (the Node relying party certified by the OpenID Foundation)
//! completes the code flow with PKCE against our provider and validates its ID token, and jose
//! checks the signature against our JWKS (tests/interop/openid-client/rp.mjs).
//!
//! Needs node and npm; the packages are installed from the npm registry on first run (`npm ci`
//! with the committed lock file). Without node the test fails, so that CI cannot pass by skipping
//! it; set BANKID_OIDC_SKIP_INTEROP=1 to skip on purpose.

use bankid_oidc_testkit::npm::{self, NodeProject};
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestProvider};
use std::path::Path;

fn openid_client() -> NodeProject {
    NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/openid-client"),
        "openid-client",
    )
}

#[tokio::test]
async fn openid_client_completes_the_code_flow_and_validates_the_id_token() {
    if npm::skip_requested() {
        return;
    }
    let node = openid_client();
    let installer = node.clone();
    tokio::task::spawn_blocking(move || installer.install())
        .await
        .unwrap();

    let tp = TestProvider::start().await;
    let user = tp.user("Kari").clone();
    let output = tokio::process::Command::from(node.node("rp.mjs"))
        .env("ISSUER", &tp.issuer)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("NNIN", &user.nnin)
        .env("OTP", &user.otp)
        .env("PASSWORD", &user.password)
        .output()
        .await
        .expect("running node rp.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openid-client failed:\n{stderr}\n{stdout}"
    );
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["alg"], "ES256");
    assert_eq!(result["iss"], tp.issuer);
    let claims = &result["claims"];
    assert_eq!(claims["iss"], tp.issuer);
    assert_eq!(claims["sub"], user.id);
    assert_eq!(claims["acr"], "urn:bankid:bid;LOA=4");
    assert_eq!(claims["nnin_altsub"], user.nnin);
    assert_eq!(claims["bankid_altsub"], user.pid);
    assert_eq!(result["userinfo"]["sub"], user.id);
    assert_eq!(result["userinfo"]["given_name"], "Kari");
}

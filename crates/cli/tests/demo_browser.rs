//! The demo merchant in real headless Chromium (Debian's `chromium`, driven by the npm package
//! playwright-core: tests/browser/demo.mjs): the `bankid-oidc demo` binary against an in-process
//! provider, each redirect flow clicked through once, then the iframe flow, whose analytics
//! events the demo's page lists as they arrive. The app answers by a scripted answer set here
//! before the script runs. Screenshots of the iframe flow's steps and of every result page, at
//! desktop (1280×800) and phone (390×844) widths, go to target/screenshots/demo/; no page may be
//! wider than the phone.
//!
//! Needs node, npm and /usr/bin/chromium (`.ci/run` installs them); without them the test fails,
//! so that CI cannot pass by skipping it; BANKID_OIDC_SKIP_INTEROP=1 skips it on purpose.

use bankid_oidc_server::registration::{check_client, check_jwks};
use bankid_oidc_server::seed::demo_registration;
use bankid_oidc_server::store::{AppScript, AppScripted};
use bankid_oidc_testkit::npm::{self, NodeProject};
use bankid_oidc_testkit::provider::TestProvider;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");
const SECRET: &str = "demo-secret-0123456789-abcdefghijklmnopq";

fn project() -> NodeProject {
    NodeProject::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser"),
        "playwright-core",
    )
}

fn shots() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/screenshots/demo")
        .to_string_lossy()
        .into_owned()
}

/// The provider, and the demo binary in front of it with the seeded demo client's registration
/// (redirect URIs on the demo's port, its request-object key registered), as tests/demo.rs.
async fn start() -> (TestProvider, String, Child, tempfile::TempDir) {
    let tp = TestProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--provider-url",
            &tp.base,
        ])
        .args(["--client-id", "demo-merchant", "--client-secret", SECRET])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the demo prints its banner")
            .unwrap()
            .expect("the demo exited before listening");
        if let Some(url) = line.strip_prefix("Listening on ") {
            break url.to_owned();
        }
    };
    let mut client = demo_registration(SECRET, tp.now());
    client.redirect_uris = vec![format!("{base}/callback")];
    client.post_logout_redirect_uris = vec![format!("{base}/")];
    let jwks = std::fs::read_to_string(dir.path().join("demo-merchant-jwks.json")).unwrap();
    client.jwks = Some(check_jwks(&jwks).unwrap());
    check_client(&client).unwrap();
    assert!(tp.store.add_client(&client).await.unwrap());
    (tp, base, child, dir)
}

const IFRAME_EVENTS: [&str; 7] = [
    "initialization_pending",
    "initialization_completed",
    "awaiting_user_identity_input",
    "awaiting_delegated_authentication",
    "authorization_pending",
    "authorization_granted",
    "redirecting_to_merchant",
];

#[tokio::test]
async fn every_flow_of_the_demo_merchant_in_headless_chromium() {
    if npm::skip_requested() {
        return;
    }
    let node = project();
    tokio::task::spawn_blocking(move || node.install())
        .await
        .unwrap();
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "the browser tests need /usr/bin/chromium (apt-get install chromium)"
    );
    let (tp, base, _child, _dir) = start().await;
    let (kari, ola, ingrid) = (
        tp.user("Kari").clone(),
        tp.user("Ola").clone(),
        tp.user("Ingrid").clone(),
    );
    // The app approves: at once for the redirect flows, after two seconds in the iframe (so the
    // page shows its waiting step).
    for (user, delay) in [(&ola, 0), (&ingrid, 0), (&kari, 2)] {
        let scripted = AppScripted {
            answer: AppScript::Approve,
            delay,
        };
        assert!(
            tp.store
                .set_app_script(&user.id, Some(scripted))
                .await
                .unwrap()
        );
    }
    let user = |u: &bankid_oidc_server::store::User| {
        // BankID on mobile asks the birth date as DDMMYY.
        let (y, rest) = u.birthdate.split_once('-').unwrap();
        let (m, d) = rest.split_once('-').unwrap();
        json!({"nnin": u.nnin, "otp": u.otp, "password": u.password,
               "phone": u.phone, "birthdate": format!("{d}{m}{}", &y[2..])})
    };
    let mut command = tokio::process::Command::from(project().node("demo.mjs"));
    command.env("PROVIDER_URL", &tp.base);
    command.env("DEMO_URL", &base).env("SHOTS", shots()).env(
        "USERS",
        json!({"kari": user(&kari), "ola": user(&ola), "ingrid": user(&ingrid)}).to_string(),
    );
    if let Ok(only) = std::env::var("DEMO_BROWSER_ONLY") {
        command.env("ONLY", only);
    }
    let output = command.output().await.expect("running node demo.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo.mjs failed:\n{stderr}\n{stdout}"
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(result.get("failure").is_none(), "{result:#}");
    assert_eq!(result["consoleErrors"], json!([]), "{result:#}");
    assert_eq!(
        result["overflows"],
        json!([]),
        "wider than a phone: {result:#}"
    );
    // The provider's login pages on a phone: the card keeps a margin, Cancel is set apart as a
    // plain link at the end of the row, BankID on mobile's approval is titled for it.
    assert!(
        std::env::var("DEMO_BROWSER_ONLY").is_ok()
            || result["providerPages"]["bid-nnin"]["hasCancel"] == true,
        "{result:#}"
    );
    for (name, page) in result["providerPages"].as_object().unwrap() {
        assert!(
            page["marginLeft"].as_f64().unwrap() >= 8.0,
            "{name}: {page}"
        );
        assert!(
            page["marginRight"].as_f64().unwrap() >= 8.0,
            "{name}: {page}"
        );
        // The approval step has Approve and Deny, and no Cancel.
        if page["hasCancel"] == true {
            assert_eq!(page["cancelUnderlined"], true, "{name}: {page}");
            assert_eq!(page["cancelAtRowEnd"], true, "{name}: {page}");
        }
    }
    // The provider's start page builds a request whose link goes to the realm.
    if std::env::var("DEMO_BROWSER_ONLY").is_err() {
        let url = result["startPage"]["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "{}/auth/realms/current/protocol/openid-connect/auth?",
                tp.base
            )),
            "{url}"
        );
    }
    // Post/redirect/get: the refused NNIN stays in its field (never in the address), and a
    // reload, Back or Forward afterwards loads by GET only.
    assert!(std::env::var("DEMO_BROWSER_ONLY").is_ok() || result.get("prg").is_some());
    if let Some(prg) = result.get("prg") {
        let refused = &prg["refused"];
        assert_eq!(refused["value"], "15076500566", "{prg:#}");
        assert!(refused["error"].as_str().unwrap().contains("check digits"));
        assert!(!refused["url"].as_str().unwrap().contains("15076500566"));
        assert_eq!(prg["reloaded"]["navigations"], json!(["GET"]), "{prg:#}");
        assert_eq!(
            prg["reloaded"]["error"],
            Value::Null,
            "the notice is read once"
        );
        assert_eq!(prg["reloaded"]["value"], "");
        assert_eq!(
            prg["nninPosted"]["navigations"],
            json!(["POST", "GET"]),
            "{prg:#}"
        );
        assert_eq!(prg["otpReloaded"], json!(["GET"]), "{prg:#}");
        assert_eq!(prg["back"], json!(["GET"]), "{prg:#}");
        assert_eq!(prg["forward"], json!(["GET"]), "{prg:#}");
        assert_eq!(prg["result"]["flow"], "bid");
        assert_eq!(prg["result"]["sub"], kari.id);
    }
    if let Some(approve) = result["providerPages"].get("bim-approve") {
        let title = approve["title"].as_str().unwrap();
        assert!(title.contains("mobil") && !title.contains("app"), "{title}");
    }

    let bis = tp.provider.issuers.bis().issuer.clone();
    let only = std::env::var("DEMO_BROWSER_ONLY").ok();
    let expected = [
        ("bid", &kari, tp.issuer.as_str(), "urn:bankid:bid;LOA=4"),
        ("bim", &kari, tp.issuer.as_str(), "urn:bankid:bim;LOA=4"),
        (
            "bis-realm",
            &ola,
            tp.issuer.as_str(),
            "urn:bankid:bis;LOA=3",
        ),
        ("bis", &ola, bis.as_str(), "urn:bankid:bis;LOA=3"),
        ("par", &kari, tp.issuer.as_str(), "urn:bankid:bid;LOA=4"),
        ("signed", &kari, tp.issuer.as_str(), "urn:bankid:bid;LOA=4"),
        (
            "encrypted",
            &kari,
            tp.issuer.as_str(),
            "urn:bankid:bid;LOA=4",
        ),
        ("payment", &ingrid, bis.as_str(), "urn:bankid:bis;LOA=3"),
    ];
    for (flow, who, issuer, acr) in expected {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|f| f == flow))
        {
            continue;
        }
        let page = &result["flows"][flow];
        assert_eq!(page["flow"], flow, "{result:#}");
        assert_eq!(page["iss"], issuer, "{flow}");
        assert_eq!(page["acr"], acr, "{flow}");
        if issuer == tp.issuer {
            assert_eq!(page["sub"], who.id, "{flow}");
        } else {
            assert_eq!(page["subNnin"], who.nnin, "{flow}");
        }
        for check in [
            "check-state",
            "check-signature",
            "check-nonce",
            "check-pkce",
        ] {
            assert!(
                page["checks"].as_array().unwrap().contains(&json!(check)),
                "{flow}: {check}"
            );
        }
    }
    if only.is_none() {
        let payment = &result["flows"]["payment"];
        assert_eq!(payment["grant"]["pt"], "payment.v1");
        assert_eq!(payment["grant"]["rpId"], "demo-merchant");
    }

    if only
        .as_deref()
        .is_none_or(|o| o.split(',').any(|f| f == "iframe"))
    {
        let iframe = &result["iframe"];
        assert_eq!(
            iframe["offeredNnin"], kari.nnin,
            "the first test user's NNIN"
        );
        assert_eq!(
            iframe["nnin"], kari.nnin,
            "pre-filled from the permission's hint"
        );
        assert_eq!(iframe["events"], json!(IFRAME_EVENTS), "{iframe:#}");
        assert_eq!(iframe["listed"], json!(IFRAME_EVENTS), "listed in order");
        assert!(
            !iframe["bindingMessage"].as_str().unwrap().is_empty(),
            "{iframe:#}"
        );
        let page = &iframe["result"];
        assert_eq!(page["flow"], "iframe");
        assert_eq!(page["iss"], bis);
        assert_eq!(page["acr"], "urn:bankid:bis;LOA=3");
        assert_eq!(page["subNnin"], kari.nnin);
        assert!(
            page["checks"]
                .as_array()
                .unwrap()
                .contains(&json!("check-grant"))
        );
        assert_eq!(page["grant"]["pt"], "payment.v1");
        assert_eq!(page["grant"]["rpId"], "demo-merchant");
        assert_eq!(page["grant"]["iss"], bis);
    }
}

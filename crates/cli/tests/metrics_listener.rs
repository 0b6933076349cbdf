//! `serve --metrics-listen`: `/metrics` on a listener of its own, and then not on `--listen`;
//! without it, `/metrics` beside the endpoints.

use reqwest::StatusCode;
use std::path::Path;
use std::process::Command;

#[path = "common/served.rs"]
mod served;
use served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_bankid-oidc");

fn command(dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "0"])
        .args(extra)
        .env_remove("BANKID_OIDC_METRICS_LISTEN");
    command
}

fn serve(dir: &Path, command: Command) -> Served {
    Served::spawn(command, &dir.join("stdout.txt"), &dir.join("stderr.txt"))
}

async fn get(url: &str) -> (StatusCode, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_listen_serves_the_metrics_there_and_the_main_listener_answers_404_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(
        dir.path(),
        command(dir.path(), &["--metrics-listen", "127.0.0.1:0"]),
    );
    let metrics = served.value_after("Metrics:");
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    assert!(
        !metrics.starts_with(&served.base),
        "its own port: {metrics}"
    );
    let (status, _) = get(&format!("{}/metrics", served.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&format!("{}/health/live", served.base)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = get(&metrics).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // The main listener's requests, counted by the same provider.
    assert!(
        text.lines().any(|l| l
            == r#"bankid_oidc_http_requests_total{endpoint="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l
                == r#"bankid_oidc_http_requests_total{endpoint="/health/live",status="200"} 1"#),
        "{text}"
    );
    // Nothing else on the metrics listener.
    let other = metrics.replace("/metrics", "/health/live");
    let (status, _) = get(&other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    served.stop();
}

#[tokio::test]
async fn without_metrics_listen_the_metrics_are_served_beside_the_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), command(dir.path(), &[]));
    assert_eq!(
        served.value_after("Metrics:"),
        format!("{}/metrics", served.base)
    );
    let (status, text) = get(&format!("{}/metrics", served.base)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains("# TYPE bankid_oidc_logins_started_total counter"),
        "{text}"
    );
    served.stop();
}

#[test]
fn metrics_listen_takes_the_forms_of_listen_from_its_environment_variable_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    // The port form, from the environment.
    let mut from_env = command(dir.path(), &[]);
    from_env.env("BANKID_OIDC_METRICS_LISTEN", "0");
    let served = serve(dir.path(), from_env);
    let metrics = served.value_after("Metrics:");
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    assert!(!metrics.starts_with(&served.base), "{metrics}");
    served.stop();

    let refused = command(dir.path(), &["--metrics-listen", "localhost"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--metrics-listen"), "{stderr}");
    assert!(stderr.contains("localhost:PORT"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let refused = command(dir.path(), &["--metrics-listen", &address])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("--metrics-listen {address}: cannot listen there")),
        "{stderr}"
    );
}

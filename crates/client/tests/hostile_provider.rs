//! The client against a provider that answers badly on purpose (issue 15): each test makes the
//! test provider misbehave in one way and asserts the exact error the library answers with.

use axum::http::{Method, StatusCode};
use bankid_oidc_client::authorization::LoginSecrets;
use bankid_oidc_client::{
    AuthorizationRequest, CallbackParams, Client, ClientAuth, Error, Expected, Login,
};
use bankid_oidc_testkit::elsewhere::Elsewhere;
use bankid_oidc_testkit::fake_provider::{Answer, SECRET, TestProvider, now};
use bankid_oidc_testkit::firehose::Firehose;
use bankid_oidc_testkit::id_token::{ACCESS_TOKEN, CLIENT_ID, NONCE, bankid_claims, with};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const VERIFIER: &str = "verifier-that-must-reach-only-the-token-endpoint-0123456789";
const GIB: u64 = 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;

fn subject() -> String {
    bankid_claims()["sub"].as_str().unwrap().to_owned()
}

fn builder(issuer: &str) -> bankid_oidc_client::ClientBuilder {
    Client::builder(issuer, CLIENT_ID)
        .client_secret(SECRET)
        .redirect_uri("http://127.0.0.1/cb")
        .min_loa(3)
}

async fn client(p: &TestProvider) -> Client {
    builder(&p.issuer).discover().await.unwrap()
}

/// A login through `handle_callback`, the request shaped by `shape`, with the secrets the test
/// provider expects (its ID tokens carry [`NONCE`]).
async fn login(
    client: &Client,
    shape: impl FnOnce(AuthorizationRequest) -> AuthorizationRequest,
) -> Result<Login, Error> {
    let redirect = shape(client.authorization_request().await?).build_with(LoginSecrets {
        state: "state-1".into(),
        nonce: NONCE.into(),
        code_verifier: VERIFIER.into(),
    })?;
    let iss: String = url::form_urlencoded::byte_serialize(client.issuer().as_bytes()).collect();
    let callback = CallbackParams::parse(&format!("code=the-code&state=state-1&iss={iss}"));
    client.handle_callback(&redirect.pending, &callback).await
}

/// Calls the operation that reads the endpoint published as discovery member `member`.
async fn call(client: &Client, p: &TestProvider, member: &str) -> Result<(), Error> {
    match member {
        "jwks_uri" => {
            let expected = Expected {
                nonce: Some(NONCE),
                access_token: None,
            };
            client
                .verify_id_token(&p.id_token(NONCE), &expected)
                .await
                .map(drop)
        }
        "token_endpoint" => login(client, |r| r).await.map(drop),
        "userinfo_endpoint" => client.userinfo(ACCESS_TOKEN, &subject()).await.map(drop),
        "introspection_endpoint" => client.introspect(ACCESS_TOKEN, None).await.map(drop),
        "revocation_endpoint" => client.revoke(ACCESS_TOKEN, None).await,
        "pushed_authorization_request_endpoint" => {
            let request = client.authorization_request().await?;
            client.push_authorization_request(request).await.map(drop)
        }
        other => panic!("no operation for {other}"),
    }
}

const ENDPOINTS: [&str; 6] = [
    "jwks_uri",
    "token_endpoint",
    "userinfo_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "pushed_authorization_request_endpoint",
];

/// Waits until the firehose has seen the client hang up, and returns the bytes it got out.
async fn bytes_sent_before_hang_up(firehose: &Firehose) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while firehose.hung_up.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the client never hung up ({} bytes sent)",
            firehose.sent()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    firehose.sent()
}

fn assert_too_large(result: Result<(), Error>, what: &str) {
    match result {
        Err(Error::ResponseTooLarge { limit, .. }) => {
            assert_eq!(
                limit,
                bankid_oidc_client::http::DEFAULT_MAX_RESPONSE_SIZE,
                "{what}"
            )
        }
        other => panic!("{what}: expected ResponseTooLarge, got {other:?}"),
    }
}

// --- 1. response bodies are capped ------------------------------------------------------------

#[tokio::test]
async fn a_gibibyte_streamed_slowly_is_cut_off_at_the_limit_at_every_endpoint() {
    // 64 KiB per millisecond at most: reading the whole GiB would take over 16 s.
    let pause = Duration::from_millis(1);

    let firehose = Firehose::start(GIB, false, pause).await;
    let started = Instant::now();
    let discovered = builder(&firehose.url).discover().await.map(drop);
    assert_too_large(discovered, "discovery");
    assert!(started.elapsed() < Duration::from_secs(5));
    let sent = bytes_sent_before_hang_up(&firehose).await;
    assert!(sent < 16 * MIB, "discovery: {sent} bytes went out");

    for member in ENDPOINTS {
        let p = TestProvider::start().await;
        let firehose = Firehose::start(GIB, false, pause).await;
        p.publish(member, json!(format!("{}/endpoint", firehose.url)));
        let client = client(&p).await;
        let started = Instant::now();
        assert_too_large(call(&client, &p, member).await, member);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{member}: took {:?}",
            started.elapsed()
        );
        let sent = bytes_sent_before_hang_up(&firehose).await;
        assert!(sent < 16 * MIB, "{member}: {sent} bytes went out");
    }
}

#[tokio::test]
async fn an_announced_content_length_above_the_limit_is_refused_before_the_body_is_read() {
    let firehose = Firehose::start(GIB, true, Duration::from_millis(1)).await;
    assert_too_large(
        builder(&firehose.url).discover().await.map(drop),
        "discovery",
    );
    let sent = bytes_sent_before_hang_up(&firehose).await;
    assert!(sent < 16 * MIB, "{sent} bytes went out");
}

#[tokio::test]
async fn the_limit_is_the_builders() {
    // 300 KiB of unterminated JSON: over the default limit, under a 1 MiB one.
    let firehose = Firehose::start(300 * 1024, false, Duration::ZERO).await;
    assert_too_large(builder(&firehose.url).discover().await.map(drop), "default");
    let raised = builder(&firehose.url)
        .max_response_size(1024 * 1024)
        .discover()
        .await
        .unwrap_err();
    assert!(
        matches!(
            raised,
            Error::MalformedResponse {
                what: "discovery document",
                ..
            }
        ),
        "read to the end, then refused as JSON: {raised:?}"
    );
    let err = builder(&firehose.url)
        .max_response_size(10)
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

// --- 2. the provider's numbers ----------------------------------------------------------------

#[tokio::test]
async fn a_machine_token_living_beyond_the_clock_neither_panics_nor_is_cached() {
    let p = TestProvider::start().await;
    let client = client(&p).await;
    p.token_member("expires_in", json!(u64::MAX));
    for _ in 0..2 {
        let token = client.client_credentials(&["esign"]).await.unwrap();
        assert_eq!(token.expires_at, None);
    }
    assert_eq!(
        p.token_requests.load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}

#[tokio::test]
async fn a_token_response_without_expires_in_is_accepted_with_an_unknown_lifetime() {
    let p = TestProvider::start().await;
    let client = client(&p).await;
    p.token_member("expires_in", Value::Null);
    let login = login(&client, |r| r).await.unwrap();
    assert_eq!(login.tokens.expires_in, None);
    assert_eq!(login.tokens.lifetime(), None);
    let machine = client.client_credentials(&["esign"]).await.unwrap();
    assert_eq!(machine.expires_at, None);
}

#[tokio::test]
async fn an_expires_in_that_is_not_a_non_negative_integer_is_a_malformed_token_response() {
    let p = TestProvider::start().await;
    let client = client(&p).await;
    for bad in [json!(-1), json!(1.5), json!(1e300), json!("300")] {
        p.token_member("expires_in", bad.clone());
        let err = client.client_credentials(&["esign"]).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::MalformedResponse {
                    what: "token response",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
}

// --- 3. no redirect is followed, whatever HTTP client the caller gives ------------------------

/// A client like a merchant's own: reqwest's defaults follow up to ten redirects.
async fn client_with_following_http(p: &TestProvider, auth: ClientAuth) -> Client {
    builder(&p.issuer)
        .auth(auth)
        .http_client(reqwest::Client::new())
        .discover()
        .await
        .unwrap()
}

fn assert_refused_redirect(result: Result<(), Error>, what: &str) {
    assert!(
        matches!(result, Err(Error::Redirect { .. })),
        "{what}: expected Redirect, got {result:?}"
    );
}

/// Nothing secret reached the other origin: no POST, no body, no credentials. After a 307 or
/// 308 nothing reached it at all.
fn assert_nothing_leaked(elsewhere: &Elsewhere, status: StatusCode, secrets: &[&str], what: &str) {
    let received = elsewhere.received();
    if matches!(
        status,
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
    ) {
        assert!(received.is_empty(), "{what} {status}: {received:?}");
    }
    for request in received {
        assert_eq!(request.method, Method::GET, "{what} {status}");
        assert!(request.authorization.is_none(), "{what} {status}");
        assert!(request.body.is_empty(), "{what} {status}: {request:?}");
        for secret in secrets {
            assert!(
                !request.uri.to_string().contains(secret),
                "{what} {status}: {request:?}"
            );
        }
    }
}

const REDIRECTS: [StatusCode; 5] = [
    StatusCode::MOVED_PERMANENTLY,
    StatusCode::FOUND,
    StatusCode::SEE_OTHER,
    StatusCode::TEMPORARY_REDIRECT,
    StatusCode::PERMANENT_REDIRECT,
];

#[tokio::test]
async fn a_redirecting_token_endpoint_never_gets_the_code_and_verifier_to_another_origin() {
    for status in REDIRECTS {
        let p = TestProvider::start().await;
        let elsewhere = Elsewhere::start().await;
        p.misbehave(
            "/token",
            Answer::Redirect(status, format!("{}/token", elsewhere.origin)),
        );
        let client = client_with_following_http(
            &p,
            ClientAuth::SecretBasic {
                secret: SECRET.into(),
            },
        )
        .await;
        assert_refused_redirect(login(&client, |r| r).await.map(drop), "token");
        assert_nothing_leaked(&elsewhere, status, &["the-code", VERIFIER], "token");
    }
}

#[tokio::test]
async fn a_redirecting_par_introspection_or_revocation_endpoint_never_gets_the_secret_elsewhere() {
    let paths = [
        ("pushed_authorization_request_endpoint", "/par"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
    ];
    for (member, path) in paths {
        for status in REDIRECTS {
            let p = TestProvider::start().await;
            let elsewhere = Elsewhere::start().await;
            p.misbehave(
                path,
                Answer::Redirect(status, format!("{}{path}", elsewhere.origin)),
            );
            // The secret travels in the body here, with the token or the request.
            let client = client_with_following_http(
                &p,
                ClientAuth::SecretPost {
                    secret: SECRET.into(),
                },
            )
            .await;
            assert_refused_redirect(call(&client, &p, member).await, member);
            assert_nothing_leaked(&elsewhere, status, &[SECRET, ACCESS_TOKEN], member);
        }
    }
}

#[tokio::test]
async fn a_form_that_cannot_be_replayed_still_goes_out_with_its_content_length() {
    // Some gateways refuse chunked POSTs; the unreplayable body keeps its exact length.
    let p = TestProvider::start().await;
    let client = client(&p).await;
    client.client_credentials(&["esign"]).await.unwrap();
    let lengths = p.token_content_lengths.lock().unwrap().clone();
    assert_eq!(lengths.len(), 1);
    let length: usize = lengths[0]
        .as_deref()
        .expect("Content-Length")
        .parse()
        .unwrap();
    assert_eq!(length, "grant_type=client_credentials&scope=esign".len());
}

#[tokio::test]
async fn with_the_librarys_own_http_client_a_redirect_is_read_and_refused() {
    let p = TestProvider::start().await;
    let elsewhere = Elsewhere::start().await;
    p.misbehave(
        "/token",
        Answer::Redirect(
            StatusCode::TEMPORARY_REDIRECT,
            format!("{}/token", elsewhere.origin),
        ),
    );
    let client = client(&p).await;
    match login(&client, |r| r).await {
        Err(Error::Redirect { location, .. }) => {
            assert_eq!(location, Some(format!("{}/token", elsewhere.origin)))
        }
        other => panic!("{other:?}"),
    }
    assert!(elsewhere.received().is_empty());
}

// --- 4. the requested acr_values ---------------------------------------------------------------

#[tokio::test]
async fn a_login_that_asked_for_bankid_refuses_a_biometrics_token() {
    let p = TestProvider::start().await;
    let client = client(&p).await;
    // The test provider issues `urn:bankid:bis;LOA=3`, as if the user had edited the URL.
    for asked in [
        "urn:bankid:bid",
        "urn:bankid:bid;LOA=4",
        "urn:bankid:bis;LOA=4",
    ] {
        match login(&client, |r| r.acr_values([asked])).await {
            Err(Error::AcrNotRequested { acr, requested }) => {
                assert_eq!(acr.as_deref(), Some("urn:bankid:bis;LOA=3"));
                assert_eq!(requested, [asked]);
            }
            other => panic!("{asked}: {other:?}"),
        }
    }
    for asked in [
        "urn:bankid:bis",
        "urn:bankid:bid urn:bankid:bis",
        "urn:bankid:bis;LOA=3",
    ] {
        login(&client, |r| r.acr_values([asked]))
            .await
            .unwrap_or_else(|e| panic!("{asked}: {e}"));
    }
    // A token without acr, when acr_values were sent (and no min_loa would catch it first).
    p.id_token_claim("acr", Value::Null);
    let client = Client::builder(&p.issuer, CLIENT_ID)
        .client_secret(SECRET)
        .redirect_uri("http://127.0.0.1/cb")
        .discover()
        .await
        .unwrap();
    assert!(matches!(
        login(&client, |r| r.acr_values(["urn:bankid:bis"])).await,
        Err(Error::AcrNotRequested { acr: None, .. })
    ));
}

// --- 5. signed userinfo names the provider and the client -------------------------------------

#[tokio::test]
async fn signed_userinfo_without_iss_or_aud_or_naming_others_is_refused() {
    let p = TestProvider::start().await;
    let client = client(&p).await;
    let good = json!({"iss": p.issuer, "aud": CLIENT_ID, "sub": subject()});
    *p.userinfo_claims.lock().unwrap() = Some(good.clone());
    client.userinfo(ACCESS_TOKEN, &subject()).await.unwrap();

    type Refusal = fn(&Error) -> bool;
    let cases: [(&str, Value, Refusal); 4] = [
        ("iss", Value::Null, |e| {
            matches!(e, Error::MissingUserinfoClaim("iss"))
        }),
        ("aud", Value::Null, |e| {
            matches!(e, Error::MissingUserinfoClaim("aud"))
        }),
        ("iss", json!("https://other.example"), |e| {
            matches!(e, Error::WrongIssuer { .. })
        }),
        ("aud", json!("another-client"), |e| {
            matches!(e, Error::WrongAudience { .. })
        }),
    ];
    for (claim, value, expected) in cases {
        *p.userinfo_claims.lock().unwrap() = Some(with(good.clone(), claim, value));
        let err = client.userinfo(ACCESS_TOKEN, &subject()).await.unwrap_err();
        assert!(expected(&err), "{claim}: {err:?}");
    }
}

// --- 6. nbf -----------------------------------------------------------------------------------

#[tokio::test]
async fn an_id_token_not_yet_valid_is_refused_beyond_the_clock_skew() {
    let p = TestProvider::start().await;
    let client = client(&p).await;
    p.id_token_claim("nbf", json!(now() + 3600));
    assert!(matches!(
        login(&client, |r| r).await,
        Err(Error::NotYetValid { skew: 30, .. })
    ));
    // Within the skew, a provider clock a little ahead is tolerated.
    p.id_token_claim("nbf", json!(now() + 10));
    login(&client, |r| r).await.unwrap();
}

// --- 7. empty identifiers ---------------------------------------------------------------------

#[tokio::test]
async fn an_empty_sub_or_sid_is_refused() {
    for claim in ["sub", "sid"] {
        let p = TestProvider::start().await;
        let client = client(&p).await;
        p.id_token_claim(claim, json!(""));
        match login(&client, |r| r).await {
            Err(Error::EmptyClaim(c)) => assert_eq!(c, claim),
            other => panic!("{claim}: {other:?}"),
        }
    }
    let p = TestProvider::start().await;
    let client = client(&p).await;
    *p.userinfo_claims.lock().unwrap() =
        Some(json!({"iss": p.issuer, "aud": CLIENT_ID, "sub": ""}));
    assert!(matches!(
        client.userinfo(ACCESS_TOKEN, "").await,
        Err(Error::EmptyClaim("sub"))
    ));
    p.misbehave(
        "/introspect",
        Answer::Json(StatusCode::OK, json!({"active": true, "sub": ""})),
    );
    assert!(matches!(
        client.introspect(ACCESS_TOKEN, None).await,
        Err(Error::EmptyClaim("sub"))
    ));
}

// --- transport errors -------------------------------------------------------------------------

#[tokio::test]
async fn a_provider_that_never_answers_is_a_network_error_that_says_it_timed_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/realm", listener.local_addr().unwrap());
    // Accepts, reads nothing, answers nothing.
    let silent = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = builder(&issuer)
        .http_client(http)
        .discover()
        .await
        .unwrap_err();
    match &err {
        Error::Network { timed_out, .. } => assert!(*timed_out, "{err}"),
        other => panic!("{other:?}"),
    }
    silent.abort();

    // Nobody listening: a network error, not a timeout.
    let closed = format!("http://{}/realm", free_address().await);
    match builder(&closed).discover().await {
        Err(Error::Network { timed_out, .. }) => assert!(!timed_out),
        other => panic!("{other:?}"),
    }
}

async fn free_address() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

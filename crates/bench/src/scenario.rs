//! The scenarios. A [`Worker`] holds what one simulated client keeps between operations: its
//! HTTP connection pool (kept alive), its relying-party client with warm caches, and its
//! browser's cookie jar.

use crate::cookies::CookieJar;
use crate::html::{error_message, first_form};
use crate::stats::Recorder;
use crate::{Args, ScenarioName, Target};
use anyhow::{Context, anyhow, bail};
use bankid_oidc_client::core::discovery::ProviderMetadata;
use bankid_oidc_client::http::HttpResponse;
use bankid_oidc_client::token::{client_credentials_request, process_token_response};
use bankid_oidc_client::{CallbackParams, Client, ClientAuth, Error as ClientError};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// The most requests one login may take before it counts as stuck (ours needs 5 to 7).
const MAX_HOPS: usize = 16;

/// A failed operation: a short stable kind for the error table, and the message.
#[derive(Debug)]
pub struct Failure {
    pub kind: String,
    pub detail: String,
}

impl Failure {
    fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Failure {
            kind: kind.into(),
            detail: detail.into(),
        }
    }
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "transport"
        };
        Failure::new(kind, e.to_string())
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        // A provider's OAuth error keeps its code; otherwise the library's variant names it.
        let kind = match e.provider_error() {
            Some(p) => p.code.clone(),
            None => {
                let debug = format!("{e:?}");
                let end = debug
                    .find(|c: char| !c.is_alphanumeric())
                    .unwrap_or(debug.len());
                format!("client_{}", &debug[..end])
            }
        };
        Failure::new(kind, e.to_string())
    }
}

/// What all workers share: the arguments and the provider's metadata.
#[derive(Debug)]
pub struct Setup {
    args: Args,
    metadata: ProviderMetadata,
    discovery_url: String,
}

fn http_client(args: &Args) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        // Redirects are followed by hand: the browser's cookies, and the stop at redirect_uri.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs_f64(args.timeout))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4)
        .build()?)
}

impl Setup {
    pub async fn new(args: &Args) -> anyhow::Result<Self> {
        let discovery_url = bankid_oidc_client::discovery::discovery_url(&args.issuer);
        let response = http_client(args)?
            .get(&discovery_url)
            .send()
            .await
            .with_context(|| format!("GET {discovery_url}"))?;
        if !response.status().is_success() {
            bail!("GET {discovery_url}: {}", response.status());
        }
        let metadata: ProviderMetadata = response.json().await.context("discovery document")?;
        if metadata.issuer != args.issuer {
            bail!(
                "discovery names issuer {} rather than {}",
                metadata.issuer,
                args.issuer
            );
        }
        Ok(Setup {
            args: args.clone(),
            metadata,
            discovery_url,
        })
    }
}

pub struct Worker {
    setup: Arc<Setup>,
    http: reqwest::Client,
    /// The relying party (code flow only): discovery done, JWKS cached after the first login.
    client: Option<Client>,
    jar: CookieJar,
    steps: Vec<(&'static str, Duration)>,
}

impl Worker {
    pub async fn new(setup: Arc<Setup>) -> anyhow::Result<Self> {
        let http = http_client(&setup.args)?;
        let client = match setup.args.scenario {
            ScenarioName::CodeFlow | ScenarioName::ParFlow => Some(
                Client::builder(&setup.args.issuer, &setup.args.client_id)
                    .client_secret(&setup.args.client_secret)
                    .redirect_uri(&setup.args.redirect_uri)
                    .allowed_algs(&["ES256"])
                    .http_client(http.clone())
                    .discover()
                    .await
                    .map_err(|e| anyhow!("client discovery: {e}"))?,
            ),
            _ => None,
        };
        Ok(Worker {
            setup,
            http,
            client,
            jar: CookieJar::default(),
            steps: Vec::new(),
        })
    }

    /// Runs one operation and records it; latency counts from `since`.
    pub async fn run_once(&mut self, rec: &mut Recorder, since: Instant) {
        self.steps.clear();
        let result = match self.setup.args.scenario {
            ScenarioName::Discovery => {
                let url = self.setup.discovery_url.clone();
                self.get_document(&url).await
            }
            ScenarioName::Jwks => {
                let url = self.setup.metadata.jwks_uri.clone();
                self.get_document(&url).await
            }
            ScenarioName::ClientCredentials => self.client_credentials().await,
            ScenarioName::CodeFlow | ScenarioName::ParFlow => self.code_flow().await,
        };
        match result {
            Ok(()) => {
                rec.success(since.elapsed());
                for (name, d) in &self.steps {
                    rec.step(name, *d);
                }
            }
            Err(f) => rec.failure(&f.kind, &f.detail),
        }
    }

    async fn get_document(&self, url: &str) -> Result<(), Failure> {
        let response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status != StatusCode::OK || body.is_empty() {
            return Err(http_failure(status, &body));
        }
        Ok(())
    }

    /// A token request built and read by the client library's sans-I/O functions (the
    /// library's `Client::client_credentials` caches tokens, which would measure the cache).
    async fn client_credentials(&self) -> Result<(), Failure> {
        let args = &self.setup.args;
        let scopes: Vec<&str> = args.cc_scope.split_whitespace().collect();
        let request = client_credentials_request(
            &self.setup.metadata,
            &ClientAuth::SecretBasic {
                secret: args.client_secret.clone(),
            },
            &args.client_id,
            &scopes,
        )?;
        let mut builder = self
            .http
            .post(&request.url)
            .header(ACCEPT, "application/json")
            .form(&request.form);
        if let Some(authorization) = &request.authorization {
            builder = builder.header(AUTHORIZATION, authorization);
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await?.to_vec();
        let tokens = process_token_response(
            &request.url,
            &HttpResponse {
                status,
                content_type,
                body,
            },
        )?;
        if tokens.access_token.split('.').count() != 3 {
            return Err(Failure::new(
                "opaque_access_token",
                "the access token is not a JWT",
            ));
        }
        Ok(())
    }

    /// One browser request with this worker's cookies; stores the cookies it sets.
    async fn browse(
        &mut self,
        method: Method,
        url: &Url,
        form: Option<&[(String, String)]>,
    ) -> Result<reqwest::Response, Failure> {
        let mut request = self
            .http
            .request(method, url.as_str())
            .header(ACCEPT, "text/html");
        if let Some(cookie) = self.jar.header_for(url.path()) {
            request = request.header(COOKIE, cookie);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await?;
        self.jar.store(response.headers(), url.path());
        Ok(response)
    }

    /// The whole person login. Each phase's time (with the redirects it causes) is a step.
    async fn code_flow(&mut self) -> Result<(), Failure> {
        let setup = self.setup.clone();
        let args = &setup.args;
        let client = self.client.clone().expect("code-flow worker has a client");
        // A new browser for every login, so that single sign-on never skips the login steps.
        self.jar.clear();

        let mut phase: &'static str = "authorize";
        let mut phase_start = Instant::now();
        let mut request = client
            .authorization_request()
            .await?
            .scopes(args.scope.split_whitespace());
        if args.target == Target::Ours {
            request = request.login_hint("BID");
        }
        let redirect = if args.scenario == ScenarioName::ParFlow {
            let pushed = client.push_authorization_request(request).await?;
            let now = Instant::now();
            self.steps.push(("push", now - phase_start));
            phase_start = now;
            pushed
        } else {
            request.build()?
        };
        let mut url = redirect.url.clone();
        let mut response = self.browse(Method::GET, &url, None).await?;

        let mut hops = 0;
        let callback = loop {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(Failure::new(
                    "login_stuck",
                    format!("no callback after {MAX_HOPS} requests; last at {url}"),
                ));
            }
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Failure::new("no_location", format!("{status} at {url}")))?;
                let next = url
                    .join(location)
                    .map_err(|e| Failure::new("bad_location", format!("{location}: {e}")))?;
                if next.as_str().starts_with(&args.redirect_uri) {
                    break next;
                }
                url = next;
                response = self.browse(Method::GET, &url, None).await?;
                continue;
            }
            let body = response.text().await?;
            if status != StatusCode::OK || args.target == Target::Node {
                // oidc-provider's interaction completes by itself; a page means it did not.
                return Err(http_failure(status, body.as_bytes()));
            }
            if let Some(message) = error_message(&body) {
                return Err(Failure::new("login_page_error", message));
            }
            let form = first_form(&body)
                .ok_or_else(|| Failure::new("no_form", format!("no form on the page at {url}")))?;
            if form.method != "post" {
                return Err(Failure::new("no_form", "the login form is not method=post"));
            }
            let step = match form.input("step") {
                Some("nnin") => "nnin",
                Some("otp") => "otp",
                Some("password") => "password",
                other => {
                    return Err(Failure::new(
                        "unexpected_step",
                        format!("login step {other:?} at {url}"),
                    ));
                }
            };
            let fields: Vec<(String, String)> = form
                .inputs
                .iter()
                .map(|(name, value)| {
                    let value = match name.as_str() {
                        "nnin" => args.nnin.clone(),
                        "otp" => args.otp.clone(),
                        "password" => args.password.clone(),
                        _ => value.clone(),
                    };
                    (name.clone(), value)
                })
                .collect();
            let now = Instant::now();
            self.steps.push((phase, now - phase_start));
            (phase, phase_start) = (step, now);
            url = url
                .join(&form.action)
                .map_err(|e| Failure::new("bad_action", format!("{}: {e}", form.action)))?;
            response = self.browse(Method::POST, &url, Some(&fields)).await?;
        };
        let now = Instant::now();
        self.steps.push((phase, now - phase_start));

        let params = CallbackParams::parse(callback.query().or(callback.fragment()).unwrap_or(""));
        let login = client.handle_callback(&redirect.pending, &params).await?;
        let exchanged = Instant::now();
        self.steps.push(("token + ID token", exchanged - now));

        client
            .userinfo(&login.tokens.access_token, &login.id_token.claims.sub)
            .await?;
        self.steps.push(("userinfo", exchanged.elapsed()));
        Ok(())
    }
}

/// An unexpected HTTP answer: its OAuth error code if the body has one, else `http_<status>`.
fn http_failure(status: StatusCode, body: &[u8]) -> Failure {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned));
    Failure::new(
        code.unwrap_or_else(|| format!("http_{}", status.as_u16())),
        format!("{status}: {text}"),
    )
}

//! The scenarios. A [`Worker`] holds what one simulated client keeps between operations: its
//! kept-alive connection to the provider, its relying-party client with warm caches, and its
//! browser's cookie jar.
//!
//! The relying party's HTTP calls (PAR, the code exchange, userinfo) go over the worker's own
//! connection: the steps of `Client::push_authorization_request`, `Client::handle_callback` and
//! `Client::userinfo` are done here with the library's sans-I/O functions, so that every check
//! is still the library's while the transport costs the shared machine as little as it can.

use crate::cookies::CookieJar;
use crate::html::{error_message, first_form};
use crate::origin::{Destination, Origin};
use crate::stats::Recorder;
use crate::transport::{self, Response, Transport, form_body};
use crate::{Args, ScenarioName, Target};
use anyhow::{Context, anyhow, bail};
use bankid_oidc_client::core::claims::TokenResponse;
use bankid_oidc_client::core::discovery::ProviderMetadata;
use bankid_oidc_client::http::{FormRequest, HttpResponse};
use bankid_oidc_client::par::{process_par_response, pushed_authorization_request};
use bankid_oidc_client::payment::verify_permission_digest;
use bankid_oidc_client::token::{
    authorization_code_request, client_credentials_request, process_token_response,
};
use bankid_oidc_client::userinfo::process_userinfo_response;
use bankid_oidc_client::{
    AuthorizationRedirect, AuthorizationRequest, CallbackParams, Channel, Client, ClientAuth,
    Error as ClientError, Expected, IdToken, JwksCache, KeySet, PendingLogin, validate_callback,
};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION};
use http::{Method, StatusCode};
use hyper::body::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

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

impl From<transport::Error> for Failure {
    fn from(e: transport::Error) -> Self {
        Failure::new(e.kind, e.detail)
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

/// A transport failure in a step the library's `Client` used to send: reported as the
/// library reports one (`Error::Network`), so that the error table keeps its kinds.
fn network_failure(url: &str, e: transport::Error) -> Failure {
    Failure::new(
        "client_Network",
        format!(
            "could not reach {url}: {e}; check that the provider is running and the URL is right"
        ),
    )
}

/// The answer as the library's sans-I/O functions read it.
fn library_response(response: Response) -> HttpResponse {
    HttpResponse {
        status: response.status.as_u16(),
        content_type: response.content_type().map(str::to_owned),
        body: response.body.into(),
    }
}

/// What all workers share: the arguments, the provider's origin and metadata.
#[derive(Debug)]
pub struct Setup {
    args: Args,
    origin: Arc<Origin>,
    timeout: Duration,
    metadata: ProviderMetadata,
    /// The paths the document scenarios request, found once.
    discovery_path: String,
    jwks_path: String,
    /// How the client authenticates at the token and PAR endpoints (as `Client` is configured).
    auth: ClientAuth,
}

/// The HTTP client of the relying-party library, which fetches discovery and the JWKS with it
/// (once per worker, not per operation).
fn library_http_client(args: &Args) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        // As the library's default client: tokens never follow a redirect.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs_f64(args.timeout))
        .tcp_nodelay(true)
        .build()?)
}

impl Setup {
    pub async fn new(args: &Args) -> anyhow::Result<Self> {
        let origin = Arc::new(Origin::of(&args.issuer).await?);
        let timeout = Duration::from_secs_f64(args.timeout);
        let discovery_url = bankid_oidc_client::discovery::discovery_url(&args.issuer);
        let discovery_path = on_origin(&origin, "the discovery document", &discovery_url)?;
        let mut transport = Transport::new(origin.clone(), timeout);
        let request = transport
            .request(Method::GET, &discovery_path)
            .header(ACCEPT, "application/json");
        let response = transport
            .send(request, Bytes::new())
            .await
            .with_context(|| format!("GET {discovery_url}"))?;
        if !response.status.is_success() {
            bail!("GET {discovery_url}: {}", response.status);
        }
        let metadata: ProviderMetadata =
            serde_json::from_slice(&response.body).context("discovery document")?;
        if metadata.issuer != args.issuer {
            bail!(
                "discovery names issuer {} rather than {}",
                metadata.issuer,
                args.issuer
            );
        }
        // Every endpoint a scenario uses must be on the one origin the transport speaks to.
        let flow = matches!(
            args.scenario,
            ScenarioName::CodeFlow | ScenarioName::ParFlow
        );
        let endpoints = [
            (
                "authorization_endpoint",
                metadata.authorization_endpoint.as_deref(),
                flow,
            ),
            ("token_endpoint", metadata.token_endpoint.as_deref(), true),
            (
                "userinfo_endpoint",
                metadata.userinfo_endpoint.as_deref(),
                flow,
            ),
            (
                "pushed_authorization_request_endpoint",
                metadata.pushed_authorization_request_endpoint.as_deref(),
                args.scenario == ScenarioName::ParFlow,
            ),
        ];
        for (name, url, used) in endpoints {
            if let (Some(url), true) = (url, used) {
                on_origin(&origin, name, url)?;
            }
        }
        let jwks_path = on_origin(&origin, "jwks_uri", &metadata.jwks_uri)?;
        Ok(Setup {
            args: args.clone(),
            origin,
            timeout,
            metadata,
            discovery_path,
            jwks_path,
            auth: ClientAuth::SecretBasic {
                secret: args.client_secret.clone(),
            },
        })
    }
}

/// The path and query of `url`, which must be on the issuer's origin.
fn on_origin(origin: &Origin, what: &str, url: &str) -> anyhow::Result<String> {
    match origin.path_of(url) {
        Some(path) => Ok(path.to_owned()),
        None => bail!("{what} {url} is not on the issuer's origin, the only one benchmarked"),
    }
}

/// The relying party of a code-flow worker.
struct RelyingParty {
    /// Discovery done; its JWKS cache is warm after the first login.
    client: Client,
    /// Keys for a signed userinfo answer, fetched only if one comes (the library's own cache
    /// is private to `Client`).
    userinfo_keys: JwksCache,
}

pub struct Worker {
    setup: Arc<Setup>,
    transport: Transport,
    rp: Option<Arc<RelyingParty>>,
    jar: CookieJar,
    steps: Vec<(&'static str, Duration)>,
}

impl Worker {
    pub async fn new(setup: Arc<Setup>) -> anyhow::Result<Self> {
        let mut transport = Transport::new(setup.origin.clone(), setup.timeout);
        transport
            .connect()
            .await
            .with_context(|| format!("connecting to {}", setup.args.issuer))?;
        let rp = match setup.args.scenario {
            ScenarioName::CodeFlow | ScenarioName::ParFlow => {
                let http = library_http_client(&setup.args)?;
                let client = Client::builder(&setup.args.issuer, &setup.args.client_id)
                    .client_secret(&setup.args.client_secret)
                    .redirect_uri(&setup.args.redirect_uri)
                    .allowed_algs(&["ES256"])
                    .http_client(http.clone())
                    .discover()
                    .await
                    .map_err(|e| anyhow!("client discovery: {e}"))?;
                let userinfo_keys = JwksCache::new(http, &setup.metadata.jwks_uri);
                Some(Arc::new(RelyingParty {
                    client,
                    userinfo_keys,
                }))
            }
            _ => None,
        };
        Ok(Worker {
            setup,
            transport,
            rp,
            jar: CookieJar::default(),
            steps: Vec::new(),
        })
    }

    /// Runs one operation and records it; latency counts from `since`.
    pub async fn run_once(&mut self, rec: &mut Recorder, since: Instant) {
        self.steps.clear();
        let setup = self.setup.clone();
        let result = match setup.args.scenario {
            ScenarioName::Discovery => self.get_document(&setup.discovery_path).await,
            ScenarioName::Jwks => self.get_document(&setup.jwks_path).await,
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

    async fn get_document(&mut self, path: &str) -> Result<(), Failure> {
        let request = self
            .transport
            .request(Method::GET, path)
            .header(ACCEPT, "application/json");
        let response = self.transport.send(request, Bytes::new()).await?;
        if response.status != StatusCode::OK || response.body.is_empty() {
            return Err(http_failure(response.status, &response.body));
        }
        Ok(())
    }

    /// A token request built and read by the client library's sans-I/O functions (the
    /// library's `Client::client_credentials` caches tokens, which would measure the cache).
    async fn client_credentials(&mut self) -> Result<(), Failure> {
        let setup = self.setup.clone();
        let args = &setup.args;
        let scopes: Vec<&str> = args.cc_scope.split_whitespace().collect();
        let request =
            client_credentials_request(&setup.metadata, &setup.auth, &args.client_id, &scopes)?;
        let response = self.post_form(&request).await?;
        let tokens = process_token_response(&request.url, &library_response(response))?;
        if tokens.access_token.split('.').count() != 3 {
            return Err(Failure::new(
                "opaque_access_token",
                "the access token is not a JWT",
            ));
        }
        Ok(())
    }

    /// A form POST as the library's `post_form` sends it.
    async fn post_form(&mut self, request: &FormRequest) -> Result<Response, transport::Error> {
        let path = origin_path(&self.setup.origin, &request.url)?;
        let mut builder = self
            .transport
            .request(Method::POST, path)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, FORM);
        if let Some(authorization) = &request.authorization {
            builder = builder.header(AUTHORIZATION, authorization.as_str());
        }
        self.transport.send(builder, form_body(&request.form)).await
    }

    /// One browser request with this worker's cookies; stores the cookies it sets.
    async fn browse(
        &mut self,
        method: Method,
        path_and_query: &str,
        form: Option<Bytes>,
    ) -> Result<Response, Failure> {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(path, _)| path);
        let mut request = self
            .transport
            .request(method, path_and_query)
            .header(ACCEPT, "text/html");
        if let Some(cookie) = self.jar.header_for(path) {
            request = request.header(COOKIE, cookie);
        }
        let body = match form {
            Some(form) => {
                request = request.header(CONTENT_TYPE, FORM);
                form
            }
            None => Bytes::new(),
        };
        let response = self.transport.send(request, body).await?;
        self.jar.store(&response.headers, path);
        Ok(response)
    }

    /// The whole person login. Each phase's time (with the redirects it causes) is a step.
    async fn code_flow(&mut self) -> Result<(), Failure> {
        let setup = self.setup.clone();
        let args = &setup.args;
        let origin = &setup.origin;
        let rp = self.rp.clone().expect("code-flow worker has a client");
        let client = &rp.client;
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
            let pushed = self.push_authorization_request(client, request).await?;
            let now = Instant::now();
            self.steps.push(("push", now - phase_start));
            phase_start = now;
            pushed
        } else {
            request.build()?
        };
        let mut path = origin
            .path_of_url(&redirect.url)
            .ok_or_else(|| Failure::new("bad_location", format!("{}: {OFF_ORIGIN}", redirect.url)))?
            .to_owned();
        let mut response = self.browse(Method::GET, &path, None).await?;

        let mut hops = 0;
        let callback = loop {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(Failure::new(
                    "login_stuck",
                    format!("no callback after {MAX_HOPS} requests; last at {path}"),
                ));
            }
            let status = response.status;
            if status.is_redirection() {
                let location = response
                    .headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Failure::new("no_location", format!("{status} at {path}")))?;
                let next = origin
                    .resolve(&path, location)
                    .map_err(|e| Failure::new("bad_location", format!("{location}: {e}")))?;
                if origin.starts_with(&next, &args.redirect_uri) {
                    break next;
                }
                path = match next {
                    Destination::Here(next) => next,
                    Destination::Elsewhere(url) => {
                        return Err(Failure::new("bad_location", format!("{url}: {OFF_ORIGIN}")));
                    }
                };
                response = self.browse(Method::GET, &path, None).await?;
                continue;
            }
            if status != StatusCode::OK || args.target == Target::Node {
                // oidc-provider's interaction completes by itself; a page means it did not.
                return Err(http_failure(status, &response.body));
            }
            let body = String::from_utf8_lossy(&response.body);
            if let Some(message) = error_message(&body) {
                return Err(Failure::new("login_page_error", message));
            }
            let form = first_form(&body)
                .ok_or_else(|| Failure::new("no_form", format!("no form on the page at {path}")))?;
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
                        format!("login step {other:?} at {path}"),
                    ));
                }
            };
            let fields: Vec<(&str, &str)> = form
                .inputs
                .iter()
                .map(|(name, value)| {
                    let value = match name.as_str() {
                        "nnin" => &args.nnin,
                        "otp" => &args.otp,
                        "password" => &args.password,
                        _ => value,
                    };
                    (name.as_str(), value.as_str())
                })
                .collect();
            let fields = form_body(&fields);
            let now = Instant::now();
            self.steps.push((phase, now - phase_start));
            (phase, phase_start) = (step, now);
            path = match origin.resolve(&path, &form.action) {
                Ok(Destination::Here(action)) => action,
                Ok(Destination::Elsewhere(url)) => {
                    return Err(Failure::new("bad_action", format!("{url}: {OFF_ORIGIN}")));
                }
                Err(e) => return Err(Failure::new("bad_action", format!("{}: {e}", form.action))),
            };
            response = self.browse(Method::POST, &path, Some(fields)).await?;
        };
        let now = Instant::now();
        self.steps.push((phase, now - phase_start));

        let query = match &callback {
            Destination::Elsewhere(url) => url.query().or(url.fragment()),
            Destination::Here(path) => path.split_once('?').map(|(_, query)| query),
        };
        let params = CallbackParams::parse(query.unwrap_or(""));
        let (id_token, tokens) = self
            .handle_callback(client, &redirect.pending, &params)
            .await?;
        let exchanged = Instant::now();
        self.steps.push(("token + ID token", exchanged - now));

        self.userinfo(&rp, &tokens.access_token, &id_token.claims.sub)
            .await?;
        self.steps.push(("userinfo", exchanged.elapsed()));
        Ok(())
    }

    /// `Client::push_authorization_request`, over this worker's connection.
    async fn push_authorization_request(
        &mut self,
        client: &Client,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, Failure> {
        let params = request.prepare(Channel::Pushed)?;
        let metadata = client.metadata().await?;
        let request = pushed_authorization_request(
            &metadata,
            &self.setup.auth,
            client.client_id(),
            &params.params,
        )?;
        let response = self
            .post_form(&request)
            .await
            .map_err(|e| network_failure(&request.url, e))?;
        let pushed = process_par_response(&request.url, &library_response(response))?;
        Ok(params.into_request_uri_redirect(&pushed.request_uri)?)
    }

    /// `Client::handle_callback`, over this worker's connection: state and `iss` checks, the
    /// code exchange, full ID token validation with the client's cached keys, and a payment's
    /// `permission_digest`.
    async fn handle_callback(
        &mut self,
        client: &Client,
        pending: &PendingLogin,
        params: &CallbackParams,
    ) -> Result<(IdToken, TokenResponse), Failure> {
        let metadata = client.metadata().await?;
        let code = validate_callback(pending, params, &metadata)?;
        let request = authorization_code_request(&metadata, &self.setup.auth, pending, &code)?;
        let response = self
            .post_form(&request)
            .await
            .map_err(|e| network_failure(&request.url, e))?;
        let tokens = process_token_response(&request.url, &library_response(response))?;
        let raw = tokens
            .id_token
            .as_deref()
            .ok_or(ClientError::MissingIdToken)?;
        let expected = Expected {
            nonce: Some(&pending.nonce),
            access_token: Some(&tokens.access_token),
        };
        let id_token = client.verify_id_token(raw, &expected).await?;
        if let Some(digest) = &pending.permission_digest {
            verify_permission_digest(&id_token.claims, digest)?;
        }
        Ok((id_token, tokens))
    }

    /// `Client::userinfo`, over this worker's connection: JSON, or a JWT verified with the
    /// provider's keys (refetched once for an unknown `kid`), about `expected_sub`.
    async fn userinfo(
        &mut self,
        rp: &RelyingParty,
        access_token: &str,
        expected_sub: &str,
    ) -> Result<(), Failure> {
        let metadata = rp.client.metadata().await?;
        let url = metadata
            .userinfo_endpoint
            .as_deref()
            .ok_or(ClientError::MissingMetadata("userinfo_endpoint"))?;
        let path = origin_path(&self.setup.origin, url).map_err(|e| network_failure(url, e))?;
        let request = self
            .transport
            .request(Method::GET, path)
            .header(ACCEPT, "application/json, application/jwt")
            .header(AUTHORIZATION, format!("Bearer {access_token}"));
        let response = self
            .transport
            .send(request, Bytes::new())
            .await
            .map_err(|e| network_failure(url, e))?;
        let response = library_response(response);
        let verifier = rp.client.id_token_verifier().await?;
        let check = |keys: &KeySet| {
            process_userinfo_response(url, &response, &verifier, keys, expected_sub)
        };
        if !is_jwt(&response) {
            check(&KeySet::default())?;
            return Ok(());
        }
        match check(&*rp.userinfo_keys.keys().await?) {
            Err(ClientError::UnknownKey { kid }) => {
                match rp
                    .userinfo_keys
                    .refetch_for_unknown_kid(kid.as_deref())
                    .await?
                {
                    Some(fresh) => check(&fresh)?,
                    None => return Err(ClientError::UnknownKey { kid }.into()),
                }
            }
            other => other?,
        };
        Ok(())
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const OFF_ORIGIN: &str = "not on the issuer's origin, the only one the load generator follows";

/// The path and query of a URL the provider named, on its origin.
fn origin_path<'a>(origin: &Origin, url: &'a str) -> Result<&'a str, transport::Error> {
    origin
        .path_of(url)
        .ok_or_else(|| transport::Error::new("transport", format!("{url}: {OFF_ORIGIN}")))
}

/// Whether the answer is a signed JWT (`application/jwt`, parameters aside).
fn is_jwt(response: &HttpResponse) -> bool {
    response.content_type.as_deref().is_some_and(|value| {
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/jwt")
    })
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

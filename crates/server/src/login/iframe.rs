//! The iframe flow of BankID with biometrics (seed 004, steps 7 to 10): a merchant's backend
//! asks `iframe-authorize` for a single-use address, its page frames it, the user gives the
//! NNIN (pre-filled from the permission's login hint) and approves in the app, and the frame
//! goes to the merchant's redirect_uri with a code.
//!
//! - **Single use.** The address carries the flow sealed (see [`super::seal`]) with an expiry of
//!   [`URI_TTL`] seconds. Opening it keeps the flow in the store under its id (a conditional
//!   insert), so a second opening finds the id taken and is refused; nothing is stored for an
//!   address that is never opened. The seal was chosen over a stored secret because the login
//!   flows already work this way (no store write per unopened request), and the flow id is the
//!   one-time id.
//! - **Bound to the frame, not to a cookie.** A cross-site frame gets no SameSite=Lax cookie.
//!   Opening the address makes a fresh frame key, stored only as a [`StoreKey`] (the flow's
//!   `browser_hash`), and the page's form actions and status address carry it; the forms carry
//!   the flow's CSRF token too. Only the frame that opened the address holds the key.
//! - **Framed by one origin.** `frame_ancestor` is an origin, checked strictly here because it
//!   goes into the `Content-Security-Policy` header of every page of the flow.

use super::flow::{self, ActiveFlow, Notice, Refusal, Start, Submitted};
use crate::Provider;
use crate::app;
use crate::issuer::{Endpoint, Issuer};
use crate::pages::delivery::{error_params, location};
use crate::secret::random_token;
use crate::store::{AppStatus, FlowState, Permission, StoreError, StoreKey};
use bankid_oidc_core::authorize::ValidatedAuthorizeRequest;
use bankid_oidc_core::{ErrorCode, OAuthError};
use std::net::IpAddr;
use std::sync::Arc;
use url::{Host, Url};

/// How long an `authorize_uri` can be opened (seed 004: `expires_in: 60`).
pub const URI_TTL: i64 = 60;

/// An origin that may frame the flow: `https://host[:port]`, or `http://` for a loopback host,
/// serialized as browsers serialize origins (lower-case host, no default port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameAncestor(String);

impl FrameAncestor {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `frame_ancestor`; the error names the rule it breaks.
    pub fn parse(value: &str) -> Result<FrameAncestor, String> {
        let refuse = |rule: &str| Err(format!("frame_ancestor: {rule}"));
        if value.is_empty() || value.len() > 255 {
            return refuse("must be an origin of at most 255 characters");
        }
        // Before parsing: the URL parser would drop or encode some of these, and in a header
        // each could end the directive or add a source.
        if let Some(c) = value.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '/' | '[' | ']'))
        }) {
            return refuse(&format!(
                "'{}' is not allowed: an origin is a scheme, a host and an optional port",
                c.escape_default()
            ));
        }
        let Some((scheme, rest)) = value.split_once("://") else {
            return refuse("must start with https:// (or http:// for a loopback host)");
        };
        if rest.contains('/') {
            return refuse("must have no path, not even '/'");
        }
        if let Some((_, port)) = rest.rsplit_once(':')
            && !rest.ends_with(']')
            && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
        {
            return refuse("the port must be digits");
        }
        let parsed = match Url::parse(value) {
            Ok(u) => u,
            Err(e) => return refuse(&format!("is not an origin ({e})")),
        };
        let loopback = match parsed.host() {
            Some(Host::Domain("")) => return refuse("has no host"),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => return refuse("has no host"),
        };
        match scheme {
            "https" => {}
            "http" if loopback => {}
            "http" => return refuse("http is allowed only for a loopback host; use https"),
            _ => return refuse("must start with https:// (or http:// for a loopback host)"),
        }
        Ok(FrameAncestor(parsed.origin().ascii_serialization()))
    }
}

/// A flow for a validated iframe request that used `permission`; the address that opens it.
pub async fn prepare(
    p: &Provider,
    issuer: &Arc<Issuer>,
    req: &ValidatedAuthorizeRequest,
    permission: Permission,
    frame_ancestor: &FrameAncestor,
) -> Result<String, StoreError> {
    // Bound to no browser yet: opening the address binds it to the frame.
    let nobody = StoreKey::of(&random_token());
    let browser = flow::BrowserBinding {
        cookie: &nobody,
        session_id: None,
    };
    // The user is asked for the NNIN (pre-filled from the permission's hint) in the frame, so
    // the app is asked only once the frame is open.
    let start = Start::Identify {
        user: None,
        permission: Some(Box::new(permission)),
    };
    let mut flow = flow::start(p, issuer, browser, req, start).await?.flow;
    flow.frame_ancestor = Some(frame_ancestor.as_str().to_owned());
    flow.expires_at = p.now() + URI_TTL;
    let sealed = p.seal.seal(&flow);
    let page = issuer
        .url(Endpoint::IframePage)
        .replace("{flow_id}", &flow.id);
    Ok(format!("{page}?seal={sealed}"))
}

/// Why the flow's address or page cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// The address was opened before.
    Used,
    /// The address's 60 seconds have passed.
    Expired,
    /// Not an address or page of ours, or the flow has ended.
    Unknown,
    /// The form cannot continue the login.
    Refused(Refusal),
}

impl Unusable {
    pub fn description(self) -> &'static str {
        match self {
            Unusable::Used => "authorize_uri: this address was used already; it works once",
            Unusable::Expired => {
                "authorize_uri: this address has expired (it works for 60 seconds)"
            }
            Unusable::Unknown => "login: no such login, or it is finished",
            Unusable::Refused(r) => r.description(),
        }
    }
}

/// A refusal, with the origin its page may be framed by when the flow names one.
pub struct Refused {
    pub why: Unusable,
    pub frame_ancestor: Option<String>,
}

/// The flow opened at its address, and the frame key its page's forms carry.
pub struct Opened {
    pub active: ActiveFlow,
    pub frame_key: String,
}

/// Opens the address `{page}/{flow_id}?seal=...`: once, within its 60 seconds.
pub async fn open(
    p: &Provider,
    issuer: &Arc<Issuer>,
    flow_id: &str,
    sealed: &str,
    source: Option<String>,
) -> Result<Result<Opened, Refused>, StoreError> {
    let now = p.now();
    let Some(mut flow) = p.seal.open(flow_id, sealed) else {
        return Ok(Err(Refused {
            why: Unusable::Unknown,
            frame_ancestor: None,
        }));
    };
    let frame_ancestor = flow.frame_ancestor.clone();
    let refused = |why| {
        Ok(Err(Refused {
            why,
            frame_ancestor: frame_ancestor.clone(),
        }))
    };
    if frame_ancestor.is_none() || !issuer.made(&flow.request.issuer) {
        return refused(Unusable::Unknown);
    }
    if !matches!(p.flows.flow(flow_id, now).await?, FlowState::Unknown) {
        return refused(Unusable::Used);
    }
    if flow.expires_at <= now {
        return refused(Unusable::Expired);
    }
    let frame_key = random_token();
    flow.browser_hash = StoreKey::of(&frame_key);
    flow.expires_at = now + p.config.flow_ttl;
    // Where it is opened from: one address holds a bounded share of the kept logins
    // (`store::flows`), and the flow's end gives that place back.
    flow.source = source;
    match p.flows.create_flow(&flow).await {
        Ok(true) => {}
        // Opened by another request meanwhile.
        Ok(false) => return refused(Unusable::Used),
        Err(e) if e.is_full() => {
            tracing::warn!(error = %e, "an iframe login was refused");
            return refused(Unusable::Unknown);
        }
        Err(e) => return Err(e),
    }
    Ok(Ok(Opened {
        active: ActiveFlow::kept(flow, issuer.clone()),
        frame_key,
    }))
}

/// Loads an open iframe flow for the frame whose key is `frame_key`.
pub async fn load(
    p: &Provider,
    issuer: &Arc<Issuer>,
    flow_id: &str,
    frame_key: Option<&str>,
) -> Result<Result<ActiveFlow, Refused>, StoreError> {
    // The origin that may frame the refusal: the kept flow's, whoever asks.
    let frame_ancestor = match p.flows.flow(flow_id, p.now()).await? {
        FlowState::Live(flow) => flow.frame_ancestor.clone(),
        _ => None,
    };
    let refused = |why| {
        Ok(Err(Refused {
            why,
            frame_ancestor: frame_ancestor.clone(),
        }))
    };
    if frame_ancestor.is_none() {
        return refused(Unusable::Unknown);
    }
    let key = frame_key.map(StoreKey::of);
    match flow::load(p, issuer, flow_id, None, key.as_ref()).await {
        Ok(active) => Ok(Ok(active)),
        Err(flow::LoadError::Refused(Refusal::Gone)) => refused(Unusable::Unknown),
        Err(flow::LoadError::Refused(r)) => refused(Unusable::Refused(r)),
        Err(flow::LoadError::Store(e)) => Err(e),
    }
}

/// How an iframe login stands, in the words of its analytics events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Granted,
    Denied,
    Timeout,
    Errored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Granted => "granted",
            Outcome::Denied => "denied",
            Outcome::Timeout => "timeout",
            Outcome::Errored => "errored",
        }
    }
}

/// What a step of an iframe login leads to.
pub enum Framed {
    /// Show the flow's step.
    Show(Box<ActiveFlow>, Option<Notice>),
    /// The login ended: the frame goes to `location` (the redirect_uri with a code or an error).
    Leave {
        outcome: Outcome,
        location: String,
    },
    Refused(Refusal),
    Store(StoreError),
}

/// What `submitted` means in the frame; `app_request` is the flow's app request before the
/// step, whose answer tells a denial from a timeout.
pub async fn framed(p: &Provider, app_request: Option<&str>, submitted: Submitted) -> Framed {
    match submitted {
        Submitted::Show(active, notice) => Framed::Show(active, notice),
        Submitted::Refused(r) => Framed::Refused(r),
        Submitted::Store(e) => Framed::Store(e),
        Submitted::Completed {
            target,
            issuer,
            code,
            ..
        } => Framed::Leave {
            outcome: Outcome::Granted,
            location: location(&target, &issuer.issuer, vec![("code", code)]),
        },
        Submitted::Failed {
            target,
            issuer,
            error,
        } => {
            let outcome = match failure(p, app_request, &error).await {
                Ok(outcome) => outcome,
                Err(e) => return Framed::Store(e),
            };
            Framed::Leave {
                outcome,
                location: location(&target, &issuer.issuer, error_params(&error)),
            }
        }
    }
}

async fn failure(
    p: &Provider,
    app_request: Option<&str>,
    error: &OAuthError,
) -> Result<Outcome, StoreError> {
    if error.code != ErrorCode::AccessDenied {
        return Ok(Outcome::Errored);
    }
    let status = match app_request {
        Some(id) => app::status(p, id).await?,
        None => None,
    };
    Ok(match status {
        Some(AppStatus::TimedOut) => Outcome::Timeout,
        Some(AppStatus::Unreachable) => Outcome::Errored,
        // A flow whose app request is gone waited past its time (`flow::poll`).
        None if app_request.is_some() => Outcome::Timeout,
        _ => Outcome::Denied,
    })
}

/// Where the waiting login stands now: the app's answer moves it on as in `flow::poll`.
pub async fn status(p: &Provider, active: ActiveFlow) -> Framed {
    let app_request = active.flow.app_request_id.clone();
    framed(p, app_request.as_deref(), flow::poll(p, active).await).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(value: &str) -> String {
        FrameAncestor::parse(value).expect_err(value)
    }

    #[test]
    fn an_origin_is_accepted_and_serialized_as_browsers_do() {
        for (given, kept) in [
            ("https://shop.example", "https://shop.example"),
            ("https://Shop.Example:8443", "https://shop.example:8443"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://[::1]:3000", "http://[::1]:3000"),
        ] {
            assert_eq!(FrameAncestor::parse(given).unwrap().as_str(), kept);
        }
    }

    #[test]
    fn a_path_even_a_slash_is_refused() {
        assert!(refused("https://shop.example/").contains("no path"));
        assert!(refused("https://shop.example/checkout").contains("no path"));
    }

    #[test]
    fn a_query_or_fragment_is_refused() {
        assert!(refused("https://shop.example?x=1").contains("'?'"));
        assert!(refused("https://shop.example#top").contains("'#'"));
    }

    #[test]
    fn userinfo_is_refused() {
        assert!(refused("https://user@shop.example").contains("'@'"));
    }

    #[test]
    fn a_wildcard_is_refused() {
        assert!(refused("https://*.shop.example").contains("'*'"));
        assert!(refused("*").contains("'*'"));
    }

    #[test]
    fn whitespace_is_refused() {
        assert!(refused("https://shop.example https://evil.example").contains("' '"));
        assert!(refused(" https://shop.example").contains("' '"));
        assert!(refused("https://shop.example\t").contains("'\\t'"));
        assert!(refused("https://shop.example\r\nX-Evil: 1").contains("'\\r'"));
    }

    #[test]
    fn quotes_semicolons_and_commas_are_refused() {
        assert!(refused("'self'").contains("'\\''"));
        assert!(refused("\"https://shop.example\"").contains("'\\\"'"));
        assert!(refused("https://shop.example; script-src *").contains("';'"));
        assert!(refused("https://shop.example,https://evil.example").contains("','"));
    }

    #[test]
    fn plain_http_off_loopback_is_refused() {
        assert!(refused("http://shop.example").contains("loopback"));
        assert!(refused("http://10.0.0.1").contains("loopback"));
    }

    #[test]
    fn other_schemes_and_no_scheme_are_refused() {
        assert!(refused("shop.example").contains("https://"));
        assert!(refused("javascript://shop.example").contains("https://"));
        assert!(refused("data:text/html").contains("https://"));
        assert!(refused("ftp://shop.example").contains("https://"));
    }

    #[test]
    fn no_host_a_bad_port_or_an_empty_value_is_refused() {
        refused("https://");
        refused("https://:443");
        refused("https://shop.example:99999");
        refused("https://shop.example:");
        refused("");
        refused(&format!("https://{}.example", "a".repeat(300)));
    }
}

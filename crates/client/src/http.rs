//! The library's only contact with the network: a request goes out, status, content type and
//! body come back. Everything that interprets the answer is sans-I/O and lives elsewhere.
//!
//! Two rules hold here whatever `reqwest::Client` the caller configured:
//!
//! - **A body is read up to a limit and no further.** It is read chunk by chunk and the read stops
//!   as soon as it would pass the limit (at once when `Content-Length` announces more), so a
//!   provider cannot make the merchant buffer a body of its choosing.
//! - **No redirect is followed.** A form body (the code and PKCE verifier, a refresh token, a
//!   client secret or assertion) is sent as a body that cannot be replayed, so a client that
//!   follows redirects cannot re-send it after a 307 or 308: the 3xx comes back to this module,
//!   which refuses it. A 301, 302 or 303 that such a client follows turns into a GET without the
//!   body (and without `Authorization` across origins, as reqwest strips it); its answer arrives
//!   from another URL and is refused as well, so nothing read here ever comes from an address
//!   the provider did not publish.

use crate::Error;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};

/// The largest response body read unless configured: discovery, JWKS, token, userinfo and
/// introspection answers are a few KiB each.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 256 * 1024;

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text, for error messages; cut so that a large error page does not flood logs.
    pub(crate) fn body_excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(300) {
            Some((end, _)) => format!("{}...", &text[..end]),
            None => text.into_owned(),
        }
    }

    /// The media type without parameters, lower-cased.
    pub(crate) fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// A form POST to a provider endpoint, as built by the sans-I/O request builders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRequest {
    pub url: String,
    /// The `Authorization` header value, if the client authenticates with one.
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
}

pub(crate) async fn get(
    http: &reqwest::Client,
    url: &str,
    accept: &str,
    bearer: Option<&str>,
    max_body: usize,
) -> Result<HttpResponse, Error> {
    let mut request = http.get(url).header(ACCEPT, accept);
    if let Some(token) = bearer {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    read(url, request.send().await, max_body).await
}

pub(crate) async fn post_form(
    http: &reqwest::Client,
    request: &FormRequest,
    max_body: usize,
) -> Result<HttpResponse, Error> {
    let body = serde_urlencoded::to_string(&request.form)
        .map_err(|e| Error::Config(format!("form encoding failed: {e}")))?;
    let mut builder = http
        .post(&request.url)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        // `wrap` makes a body that reqwest cannot clone, hence cannot re-send to a redirect's
        // target; its exact size still goes out as Content-Length.
        .body(reqwest::Body::wrap(body));
    if let Some(value) = &request.authorization {
        builder = builder.header(AUTHORIZATION, value);
    }
    read(&request.url, builder.send().await, max_body).await
}

/// A JSON POST with a bearer token (the permissions API), sent like a form: a body the HTTP
/// client cannot replay to a redirect's target.
pub(crate) async fn post_json(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    body: String,
    max_body: usize,
) -> Result<HttpResponse, Error> {
    let builder = http
        .post(url)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, format!("Bearer {bearer}"))
        .body(reqwest::Body::wrap(body));
    read(url, builder.send().await, max_body).await
}

async fn read(
    url: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
    max_body: usize,
) -> Result<HttpResponse, Error> {
    let mut response = sent.map_err(|e| Error::network(url, e))?;
    refuse_redirect(url, &response)?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let too_large = || Error::ResponseTooLarge {
        url: url.to_owned(),
        limit: max_body,
    };
    if response
        .content_length()
        .is_some_and(|announced| announced > max_body as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::network(url, e))? {
        let needed = body.len().saturating_add(chunk.len());
        if needed > max_body {
            // Dropping the response here closes the connection: the rest is never read.
            return Err(too_large());
        }
        // Grow as a Vec would, but never past the limit.
        let target = needed.max(body.capacity().saturating_mul(2)).min(max_body);
        body.reserve_exact(target - body.len());
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        content_type,
        body,
    })
}

/// A 3xx the HTTP client handed back, or an answer from another URL than the one asked (the
/// caller's client followed a redirect), is refused.
fn refuse_redirect(url: &str, response: &reqwest::Response) -> Result<(), Error> {
    if response.status().is_redirection() {
        return Err(Error::Redirect {
            url: url.to_owned(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        });
    }
    let mut asked = url::Url::parse(url).map_err(|e| Error::Config(format!("{url}: {e}")))?;
    // An HTTP request carries no fragment, so the answer's URL has none either.
    asked.set_fragment(None);
    if *response.url() != asked {
        return Err(Error::Redirect {
            url: url.to_owned(),
            location: Some(response.url().to_string()),
        });
    }
    Ok(())
}

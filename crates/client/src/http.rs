//! The library's only contact with the network: a request goes out, status, content type and
//! body come back. Everything that interprets the answer is sans-I/O and lives elsewhere.

use crate::Error;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};

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
) -> Result<HttpResponse, Error> {
    let mut request = http.get(url).header(ACCEPT, accept);
    if let Some(token) = bearer {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    read(url, request.send().await).await
}

pub(crate) async fn post_form(
    http: &reqwest::Client,
    request: &FormRequest,
) -> Result<HttpResponse, Error> {
    let body = serde_urlencoded::to_string(&request.form)
        .map_err(|e| Error::Config(format!("form encoding failed: {e}")))?;
    let mut builder = http
        .post(&request.url)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some(value) = &request.authorization {
        builder = builder.header(AUTHORIZATION, value);
    }
    read(&request.url, builder.send().await).await
}

async fn read(
    url: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<HttpResponse, Error> {
    let response = sent.map_err(|e| Error::network(url, e))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .bytes()
        .await
        .map_err(|e| Error::network(url, e))?
        .to_vec();
    Ok(HttpResponse {
        status,
        content_type,
        body,
    })
}

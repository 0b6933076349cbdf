//! A cookie-holding browser that drives the provider's HTML forms over real HTTP and stops where
//! the answer reaches the client's redirect_uri.

use crate::html::forms;
use crate::pending::Pending;
use crate::provider::TestProvider;
use bankid_oidc_server::store::User;
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use std::collections::HashMap;

/// The answer that reached the client's redirect_uri, however it was delivered.
#[derive(Debug, Clone)]
pub struct Callback {
    pub params: HashMap<String, String>,
}

impl Callback {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn code(&self) -> &str {
        self.get("code")
            .unwrap_or_else(|| panic!("no code in callback: {:?}", self.params))
    }

    pub fn error(&self) -> &str {
        self.get("error")
            .unwrap_or_else(|| panic!("no error in callback: {:?}", self.params))
    }
}

/// A browser: keeps cookies, follows nothing by itself.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
    /// Where requests for `base` are sent instead (one instance of several behind `base`).
    via: Option<String>,
}

pub enum Step {
    /// A page of the provider (HTML) at this URL.
    Page {
        url: String,
        html: String,
        status: StatusCode,
    },
    /// The client's redirect_uri was reached.
    Callback(Callback),
}

impl Browser {
    pub fn new(tp: &TestProvider) -> Browser {
        Browser::with_base(&tp.base)
    }

    /// A browser for the provider at `base` (scheme, host and port).
    pub fn with_base(base: &str) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = base.trim_end_matches('/').to_owned();
        Browser {
            http,
            base,
            via: None,
        }
    }

    /// A browser for the provider whose public address is `base`, every request of which goes
    /// to `instance` (scheme, host and port) instead: one instance of several behind a balancer.
    pub fn at_instance(base: &str, instance: &str) -> Browser {
        let mut browser = Browser::with_base(base);
        browser.via = Some(instance.trim_end_matches('/').to_owned());
        browser
    }

    /// The address a request for `url` is sent to.
    fn routed(&self, url: &str) -> String {
        match (&self.via, url.strip_prefix(&self.base)) {
            (Some(instance), Some(rest)) => format!("{instance}{rest}"),
            _ => url.to_owned(),
        }
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_owned()
        }
    }

    /// Follows redirects within the provider until a page or the client's redirect_uri.
    pub async fn follow(&self, mut response: Response) -> Step {
        loop {
            let status = response.status();
            if status.is_redirection() {
                let location = self.absolute(response.headers()[LOCATION].to_str().unwrap());
                if location.starts_with(&self.base) {
                    response = self.http.get(self.routed(&location)).send().await.unwrap();
                    continue;
                }
                return Step::Callback(parse_callback(&location));
            }
            let url = response.url().to_string();
            let html = response.text().await.unwrap();
            // form_post: an auto-submitting form to the client.
            if let Some(form) = forms(&html)
                .into_iter()
                .find(|f| !f.action.starts_with('/') && !f.action.starts_with(&self.base))
            {
                return Step::Callback(Callback {
                    params: form.fields.into_iter().collect(),
                });
            }
            return Step::Page { url, html, status };
        }
    }

    pub async fn get(&self, url: &str) -> Step {
        let response = self.http.get(self.routed(url)).send().await.unwrap();
        self.follow(response).await
    }

    /// Submits the page's first form with `values` filled in and `button` pressed.
    pub async fn submit(
        &self,
        html: &str,
        values: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Step {
        let response = self.submit_response(html, values, button).await;
        self.follow(response).await
    }

    /// Like [`Browser::submit`], returning the provider's response without following it.
    pub async fn submit_response(
        &self,
        html: &str,
        values: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Response {
        let form = forms(html).into_iter().next().expect("the page has a form");
        let mut fields: Vec<(String, String)> = form
            .fields
            .into_iter()
            .filter(|(k, _)| !values.iter().any(|(n, _)| n == k))
            .collect();
        fields.extend(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some((name, value)) = button {
            fields.push((name.to_owned(), value.to_owned()));
        }
        self.http
            .post(self.routed(&self.absolute(&form.action)))
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// Where a page that waits (for the app) reloads itself from: its
    /// `<meta http-equiv="refresh" content="N; url=...">`, absolute.
    pub fn refresh_url(&self, html: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(html);
        let selector = scraper::Selector::parse(r#"meta[http-equiv="refresh"]"#).unwrap();
        let content = doc.select(&selector).next()?.value().attr("content")?;
        let url = content.split_once("url=")?.1.trim();
        Some(self.absolute(url))
    }

    /// Reloads a waiting page as a browser does when its refresh is due.
    pub async fn reload(&self, html: &str) -> Step {
        let url = self
            .refresh_url(html)
            .unwrap_or_else(|| panic!("the page does not wait: {html}"));
        self.get(&url).await
    }

    pub fn page(step: Step) -> (String, String) {
        match step {
            Step::Page { url, html, .. } => (url, html),
            Step::Callback(c) => panic!("expected a page, got a callback {:?}", c.params),
        }
    }

    pub fn callback(step: Step) -> Callback {
        match step {
            Step::Callback(c) => c,
            Step::Page { html, .. } => panic!("expected a callback, got a page: {html}"),
        }
    }

    /// Netcentric BankID: NNIN, one-time code, password.
    pub async fn login_bid(&self, tp: &TestProvider, pending: &Pending, user: &User) -> Callback {
        self.login_bid_at(&pending.url(tp), &user.nnin, &user.otp, &user.password)
            .await
    }

    pub async fn login_bid_at(&self, url: &str, nnin: &str, otp: &str, password: &str) -> Callback {
        let (_, html) = Browser::page(self.get(url).await);
        let method = Some(("method", "BID"));
        let (_, html) = Browser::page(self.submit(&html, &[("nnin", nnin)], method).await);
        let (_, html) = Browser::page(self.submit(&html, &[("otp", otp)], None).await);
        Browser::callback(self.submit(&html, &[("password", password)], None).await)
    }
}

pub fn parse_callback(location: &str) -> Callback {
    let url = url::Url::parse(location).unwrap();
    let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    Callback { params }
}

//! The emulated BankID app's pages: the sign-in of a test user, and the list of their requests
//! with what each asks (a login, a text, payments) and its answer buttons. `http::app` decides
//! what to show; this renders it with every page's headers.

use super::render::{csp, render};
use super::texts::{AppTexts, Texts, app_texts, texts};
use crate::app::AppContent;
use crate::store::{AppRequest, AppStatus};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use bankid_oidc_core::locale::Locale;

/// Seconds between the list's reloads, so that a new request shows up while the user looks.
pub const REFRESH_SECONDS: u32 = 2;

/// What a request asks, as lines of text: "Log in"; the text; one line per payment ("123.45
/// NOK to Scrooge McDuck"). The CLI prints the same lines.
pub fn content_lines(content: &AppContent, a: &AppTexts) -> Vec<String> {
    match content {
        AppContent::Login => vec![a.content_login.to_owned()],
        AppContent::Text { text } => vec![text.clone()],
        AppContent::Payments { lines } => lines
            .iter()
            .map(|l| {
                format!(
                    "{} {} {} {}",
                    l.amount, l.currency, a.payment_to, l.creditor
                )
            })
            .collect(),
        AppContent::Approval { text, .. } => vec![text.clone()],
    }
}

/// How the app names a request's status once it is no longer pending.
fn status_text(status: AppStatus, a: &AppTexts) -> Option<&'static str> {
    match status {
        AppStatus::Pending => None,
        AppStatus::Approved => Some(a.status_approved),
        AppStatus::Denied => Some(a.status_denied),
        AppStatus::TimedOut => Some(a.status_timed_out),
        AppStatus::Unreachable => Some(a.status_unreachable),
    }
}

/// A request as the list shows it.
pub struct RequestView {
    pub id: String,
    pub merchant: String,
    pub binding_message: String,
    pub lines: Vec<String>,
    /// None while it waits for an answer (the page shows the buttons).
    pub status: Option<&'static str>,
}

impl RequestView {
    pub fn of(request: &AppRequest, now: i64, locale: Locale) -> RequestView {
        let a = app_texts(locale);
        RequestView {
            id: request.id.clone(),
            merchant: request.client_name.clone(),
            binding_message: request.binding_message.clone(),
            lines: content_lines(&AppContent::of_request(request), a),
            status: status_text(request.status(now), a),
        }
    }
}

#[derive(Template)]
#[template(path = "app_sign_in.html")]
struct SignInPage<'a> {
    t: &'a Texts,
    a: &'a AppTexts,
    title: &'a str,
    css_url: &'a str,
    action: &'a str,
    csrf: &'a str,
    error: Option<String>,
}

/// The sign-in form: NNIN and the test password.
pub fn sign_in(
    status: StatusCode,
    locale: Locale,
    css_url: &str,
    action: &str,
    csrf: &str,
    error: Option<String>,
) -> Response {
    let a = app_texts(locale);
    let page = SignInPage {
        t: texts(locale),
        a,
        title: a.title_sign_in,
        css_url,
        action,
        csrf,
        error,
    };
    render(status, &page, &csp("'self'"))
}

#[derive(Template)]
#[template(path = "app.html")]
struct ListPage<'a> {
    t: &'a Texts,
    a: &'a AppTexts,
    title: &'a str,
    css_url: &'a str,
    action: &'a str,
    csrf: &'a str,
    user_name: &'a str,
    requests: &'a [RequestView],
    notice: Option<&'a str>,
    error: Option<&'a str>,
    refresh: String,
}

/// What the list page shows besides the requests.
pub struct ListMessage<'a> {
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The user's requests with their answer buttons; the page reloads itself.
#[allow(clippy::too_many_arguments)]
pub fn list(
    status: StatusCode,
    locale: Locale,
    css_url: &str,
    action: &str,
    csrf: &str,
    user_name: &str,
    requests: &[RequestView],
    message: ListMessage<'_>,
) -> Response {
    let a = app_texts(locale);
    let page = ListPage {
        t: texts(locale),
        a,
        title: a.title_app,
        css_url,
        action,
        csrf,
        user_name,
        requests,
        notice: message.notice,
        error: message.error,
        // To the page's own address: a reload of a page answering a POST must not post again.
        refresh: format!("{REFRESH_SECONDS}; url={action}"),
    };
    render(status, &page, &csp("'self'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::PaymentLine;
    use crate::pages::texts::EN_APP;

    #[test]
    fn payments_read_as_amount_currency_and_creditor() {
        let content = AppContent::Payments {
            lines: vec![PaymentLine {
                amount: "123.45".into(),
                currency: "NOK".into(),
                creditor: "Scrooge McDuck".into(),
            }],
        };
        assert_eq!(
            content_lines(&content, &EN_APP),
            vec!["123.45 NOK to Scrooge McDuck"]
        );
        assert_eq!(content_lines(&AppContent::Login, &EN_APP), vec!["Log in"]);
    }
}

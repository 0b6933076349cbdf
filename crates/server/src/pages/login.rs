//! The login steps' page: built from a flow (`login::flow`) and rendered with its template.

use super::render::{csp, error_page, render};
use super::texts::{Texts, texts};
use crate::Provider;
use crate::issuer::IssuerKind;
use crate::login::flow::{ActiveFlow, Notice, Refusal, standing_notice, waits_for_app};
use crate::store::Step;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::locale::Locale;
use bankid_oidc_core::login_hint::LoginHint;
use bankid_oidc_core::nnin::NninError;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'a Texts,
    pub title: &'a str,
    pub css_url: &'a str,
    pub action: &'a str,
    pub csrf: &'a str,
    pub step: &'a str,
    pub client_name: Option<&'a str>,
    pub error: Option<String>,
    pub method_buttons: Vec<(&'static str, &'static str)>,
    pub binding_message: Option<&'a str>,
    /// The login_hint named the user: the NNIN page offers the methods only.
    pub user_preselected: bool,
    /// The consent page asks for the NNIN.
    pub consent_nnin: bool,
    /// Payments to approve: (amount with currency, creditor).
    pub payments: Vec<(String, String)>,
    /// The step waits for the app's answer: the page reloads itself (a meta refresh: the CSP
    /// allows no script) from this address, which reads the answer.
    pub refresh_url: Option<&'a str>,
    /// Only the app approves (BIS issuer): the page has no approve button.
    pub app_only: bool,
    /// The user is locked out: the page says until when and offers only Cancel.
    pub locked: bool,
    /// The approval step's hint: the app's, or BankID on mobile's.
    pub approve_hint: &'a str,
    /// The fields' values: what the user typed, or a `BIM:<mobile>:<DDMMYY>` login_hint's.
    pub nnin_value: Option<&'a str>,
    pub phone_value: Option<&'a str>,
    pub birthdate_value: Option<&'a str>,
}

/// Renders a login step. `redirect_origin` is the client's origin, which the forms' redirects
/// may reach.
pub fn render_login(page: &LoginPage, redirect_origin: Option<&str>) -> Response {
    let form_action = match redirect_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    render(StatusCode::OK, page, &csp(&form_action))
}

/// Shows the flow's current step, with a notice (else the one its state calls for).
pub async fn show(p: &Provider, active: &ActiveFlow, notice: Option<Notice>) -> Response {
    let t = texts(active.request().locale);
    let flow = &active.flow;
    let req = active.request();
    let notice = match notice {
        Some(notice) => Some(notice),
        None => standing_notice(p, active).await,
    };
    // A locked user is offered nothing but Cancel: no button may look like a way in.
    let locked = matches!(notice, Some(Notice::Locked { .. }));
    let error = notice.map(|n| notice_text(t, &n));
    let client_name = p
        .client(&req.client_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.name.clone());
    let bim = flow.method == Some(Method::Bim);
    let title = match flow.step {
        Step::Nnin => t.title_nnin,
        Step::Otp => t.title_otp,
        Step::Password => t.title_password,
        Step::Mobile => t.title_mobile,
        Step::Approve if bim => t.title_approve_mobile,
        Step::Approve => t.title_approve,
        Step::Consent => t.title_consent,
    };
    let payments = req
        .authorization_details
        .iter()
        .flatten()
        .filter_map(|d| d.statement.as_ref())
        .flat_map(|s| s.payments.iter())
        .map(|p| {
            (
                format!("{} {}", p.amount, p.currency),
                p.creditor_name.clone(),
            )
        })
        .collect();
    let method_buttons = req
        .methods
        .iter()
        .filter(|m| **m != Method::Bim)
        .map(|m| (m.hint(), method_label(t, *m)))
        .collect();
    // What the user typed stays in its field; else `login_hint=BIM:<mobile>:<DDMMYY>` fills
    // in the mobile form.
    let bim_hint = match &req.login_hint {
        Some(LoginHint::BimUser {
            mobile,
            birth_ddmmyy,
        }) => Some((mobile.as_str(), birth_ddmmyy.as_str())),
        _ => None,
    };
    let entered = &active.entered;
    let phone_value = entered
        .phone
        .as_deref()
        .or(bim_hint.map(|(mobile, _)| mobile));
    let birthdate_value = entered
        .birthdate
        .as_deref()
        .or(bim_hint.map(|(_, birth)| birth));
    let action = active.action();
    let waiting = waits_for_app(p, active).await;
    let css = p.css_path();
    let page = LoginPage {
        t,
        title,
        css_url: &css,
        action: &action,
        csrf: &flow.csrf,
        step: flow.step.as_str(),
        client_name: client_name.as_deref(),
        error,
        method_buttons,
        binding_message: flow.binding_message.as_deref(),
        user_preselected: flow.user_id.is_some(),
        consent_nnin: req.scope.contains("nnin"),
        payments,
        refresh_url: waiting.then_some(action.as_str()),
        app_only: active.issuer_kind() == IssuerKind::Bis,
        locked,
        approve_hint: if bim {
            t.approve_hint_mobile
        } else {
            t.approve_hint
        },
        nnin_value: entered.nnin.as_deref(),
        phone_value,
        birthdate_value,
    };
    let origin = url::Url::parse(&req.target.redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization());
    render_login(&page, origin.as_deref())
}

/// A notice in the page's language.
pub(crate) fn notice_text(t: &Texts, notice: &Notice) -> String {
    match notice {
        // In the page's language, not the parser's English.
        Notice::BadNnin(rule) => {
            let rule = match rule {
                NninError::Length => t.nnin_length,
                NninError::NotDigits => t.nnin_digits,
                NninError::Date => t.nnin_date,
                NninError::CheckDigits => t.nnin_check_digits,
            };
            format!("{}: {rule}.", t.bad_nnin)
        }
        Notice::UnknownUser => t.unknown_user.to_owned(),
        Notice::UnknownMobileUser => t.unknown_mobile_user.to_owned(),
        Notice::BadMobile => t.bad_mobile.to_owned(),
        Notice::WrongOtp { attempts_left } => {
            format!("{} {} {attempts_left}", t.wrong_otp, t.attempts_left)
        }
        Notice::WrongPassword { attempts_left } => {
            format!("{} {} {attempts_left}", t.wrong_password, t.attempts_left)
        }
        Notice::Locked { until: Some(until) } => {
            format!("{} {}.", t.locked_until, crate::clock::utc_text(*until))
        }
        Notice::Locked { until: None } => t.locked.to_owned(),
        Notice::StaleForm => t.stale_form.to_owned(),
    }
}

fn method_label(t: &Texts, m: Method) -> &'static str {
    match m {
        Method::Bid => t.method_bid,
        Method::Bis => t.method_bis,
        Method::Bim => t.method_bim,
    }
}

/// The page for a form that cannot continue its login.
pub fn refused(p: &Provider, refusal: Refusal) -> Response {
    flow_error_page(p, refusal.description())
}

/// An error page about a login (`invalid_request`).
pub fn flow_error_page(p: &Provider, description: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        &OAuthError::invalid_request(description),
        Locale::default(),
        &p.css_path(),
    )
}

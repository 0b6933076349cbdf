//! The steps of a login flow. A flow belongs to one browser session, one authorization request
//! and one CSRF token. A login by redirect travels sealed in the address of each of its pages
//! (`super::seal`) and is written to the store only when it ends, with a conditional write: a
//! step posted again (a double submit, the Back button) repeats that step, but no step can be
//! skipped (the step is inside the seal) and a login ends once. The iframe flow's logins are
//! kept in the store from the moment their page opens, and move forward with a conditional
//! write, so a replayed form cannot repeat a step there.

use super::binding::new_binding_message;
use crate::Provider;
use crate::app;
use crate::authorization::Known;
use crate::grants::{Authentication, new_code};
use crate::issuer::{Endpoint, Issuer, IssuerKind};
use crate::secret::{new_id, ordered_token, random_token};
use crate::store::{
    AppAnswer, AppStatus, Attempt, Completion, EndCheck, Ending, FlowState, KeptSession, LoginFlow,
    LoginScript, NewLogin, Permission, Session, Step, StoreError, StoreKey, User,
};
use bankid_oidc_core::OAuthError;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::authorize::{ResponseTarget, ValidatedAuthorizeRequest};
use bankid_oidc_core::nnin::Nnin;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Every field any login step posts. Unknown fields are ignored; each is length-limited by the
/// body limit of the router.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub step: String,
    pub action: Option<String>,
    pub method: Option<String>,
    pub nnin: Option<String>,
    pub otp: Option<String>,
    pub password: Option<String>,
    pub phone: Option<String>,
    pub birthdate: Option<String>,
    pub decision: Option<String>,
}

/// Where a login flow starts.
pub enum Start {
    /// Identify the user; an NNIN login_hint (pushed or encrypted), an id_token_hint or (at
    /// BIS) a permission's login hint pre-selects `user`. The `permission` a login_hint_token
    /// used is what the app shows.
    Identify {
        user: Option<Box<User>>,
        permission: Option<Box<Permission>>,
    },
    /// The user is already authenticated in a session that serves the request (SSO, or the
    /// session an id_token_hint names): only consent is asked, and the session is kept.
    Consent(Known),
}

/// Whether the request asks the user to agree to something beyond logging in.
pub fn needs_consent(req: &ValidatedAuthorizeRequest) -> bool {
    req.scope.contains("nnin") || req.authorization_details.is_some()
}

/// The browser a flow belongs to: the hash of its session cookie, and the authenticated
/// session that cookie stands for, if any.
pub struct BrowserBinding<'a> {
    pub cookie: &'a StoreKey,
    pub session_id: Option<&'a str>,
}

/// Makes a flow for a validated request in a browser, ready to be shown. It is not kept: it
/// travels sealed in its pages' addresses until it ends (see [`super::seal`]). A flow that
/// starts at the app's approval (a pre-selected user) has asked the app already.
pub async fn start(
    p: &Provider,
    issuer: &Arc<Issuer>,
    browser: BrowserBinding<'_>,
    req: &ValidatedAuthorizeRequest,
    start: Start,
) -> Result<ActiveFlow, StoreError> {
    let now = p.now();
    let mut flow = LoginFlow {
        id: ordered_token(),
        browser_hash: browser.cookie.clone(),
        session_id: browser.session_id.map(str::to_owned),
        request: Arc::new(req.clone()),
        step: Step::Nnin,
        method: (req.methods.len() == 1).then(|| req.methods[0]),
        user_id: None,
        csrf: random_token(),
        binding_message: None,
        created_at: now,
        expires_at: now + p.config.flow_ttl,
        kept_session: None,
        source: None,
        app_request_id: None,
        permission_id: None,
        frame_ancestor: None,
    };
    match start {
        Start::Consent(known) => {
            flow.step = Step::Consent;
            flow.user_id = Some(known.user_id);
            flow.method = Some(known.method);
            flow.kept_session = Some(KeptSession {
                id: known.session_id,
                auth_time: known.auth_time,
            });
        }
        Start::Identify {
            user: Some(user),
            permission,
        } => {
            flow.user_id = Some(user.id.clone());
            flow.permission_id = permission.as_ref().map(|p| p.id.clone());
            // A locked user stays on the first page, which tells the lock: no method asks them
            // anything.
            match flow.method.filter(|_| !user.is_locked(now)) {
                Some(Method::Bid) => flow.step = Step::Otp,
                Some(Method::Bis) => {
                    flow.step = Step::Approve;
                    ask_app(p, &mut flow, &user, permission.as_deref()).await?;
                }
                // The method is the user's choice: the first page offers the methods only.
                _ => {}
            }
        }
        Start::Identify {
            user: None,
            permission,
        } => {
            flow.permission_id = permission.map(|p| p.id);
            if req.methods == [Method::Bim] {
                flow.step = Step::Mobile;
            }
        }
    }
    let sealed = p.seal.seal(&flow);
    p.metrics.login_started(flow.method);
    Ok(ActiveFlow {
        flow,
        issuer: issuer.clone(),
        sealed: Some(sealed),
        entered: Entered::default(),
    })
}

/// Sends the login to the user's app (BankID with biometrics), with the permission's binding
/// message if a permission is approved in it, else a new one; the flow waits for its answer.
async fn ask_app(
    p: &Provider,
    flow: &mut LoginFlow,
    user: &User,
    permission: Option<&Permission>,
) -> Result<(), StoreError> {
    let binding = permission.map_or_else(new_binding_message, |p| p.binding_message.clone());
    // A client removed meanwhile: nothing to show in the app; the login cannot end in a code.
    if let Some(client) = p.client(&flow.request.client_id).await? {
        let request = app::ask(p, user, &client, &binding, permission).await?;
        flow.app_request_id = Some(request.id);
    }
    flow.binding_message = Some(binding);
    Ok(())
}

/// A flow loaded for the browser that owns it.
pub struct ActiveFlow {
    pub flow: LoginFlow,
    /// The issuer the flow's request was sent to.
    issuer: Arc<Issuer>,
    /// The flow sealed as it stands, for a login by redirect (the store does not keep it); None
    /// for a kept flow (the iframe's).
    sealed: Option<String>,
    /// What the user typed in the posted form, shown again in its field when the step is
    /// shown again (a refused NNIN, mobile number or birth date stays for correcting).
    pub entered: Entered,
}

/// The values a posted identification step carried, for its page shown again. Never a
/// one-time code or password: a secret is not sent back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entered {
    pub nnin: Option<String>,
    pub phone: Option<String>,
    pub birthdate: Option<String>,
}

impl Entered {
    fn of(form: &LoginForm) -> Entered {
        // As long as the fields' maxlength allows, at most: the page is not an echo.
        let keep = |value: &Option<String>, max: usize| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.chars().count() <= max)
                .map(str::to_owned)
        };
        Entered {
            nnin: keep(&form.nnin, 11),
            phone: keep(&form.phone, 8),
            birthdate: keep(&form.birthdate, 6),
        }
    }
}

impl ActiveFlow {
    /// A flow the store keeps from now on, loaded by the iframe flow when its single-use
    /// address is opened (see `super::iframe`).
    pub(crate) fn kept(flow: LoginFlow, issuer: Arc<Issuer>) -> ActiveFlow {
        ActiveFlow {
            flow,
            issuer,
            sealed: None,
            entered: Entered::default(),
        }
    }

    /// The issuer the flow's request was sent to.
    pub fn issuer(&self) -> &Arc<Issuer> {
        &self.issuer
    }

    /// The authorization request the flow answers.
    pub fn request(&self) -> &ValidatedAuthorizeRequest {
        &self.flow.request
    }

    /// The kind of issuer the flow's request was sent to.
    pub fn issuer_kind(&self) -> IssuerKind {
        self.issuer.kind
    }

    /// The flow's address, without the sealed flow: what a cookie for its page is scoped to.
    pub fn path(&self) -> String {
        format!(
            "{}/{}",
            self.issuer.route(Endpoint::LoginActions),
            self.flow.id
        )
    }

    /// Where the page's forms post: the flow's address, with the sealed flow unless the store
    /// keeps it.
    pub fn action(&self) -> String {
        let path = self.path();
        match &self.sealed {
            Some(sealed) => format!("{path}?seal={sealed}"),
            None => path,
        }
    }
}

/// Why a form cannot continue a login: shown on an error page (`invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Gone,
    OtherBrowser,
    Csrf,
    AlreadySubmitted,
    AlreadyFinished,
    NoUser,
}

impl Refusal {
    pub fn description(self) -> &'static str {
        match self {
            Refusal::Gone => {
                "login: this login has expired or is finished; start again from the service"
            }
            Refusal::OtherBrowser => "login: this login was started in another browser session",
            Refusal::Csrf => "csrf: the form's CSRF token does not match this login",
            Refusal::AlreadySubmitted => "login: this step was already submitted",
            Refusal::AlreadyFinished => "login: this login is already finished",
            Refusal::NoUser => "login: no user was identified in this login",
        }
    }
}

/// What a step is shown again with: the page renders it in the request's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    /// The NNIN does not parse (the rule it breaks).
    BadNnin(bankid_oidc_core::nnin::NninError),
    UnknownUser,
    UnknownMobileUser,
    BadMobile,
    WrongOtp {
        attempts_left: i64,
    },
    WrongPassword {
        attempts_left: i64,
    },
    /// Too many wrong secrets: locked until then (seconds since the epoch), if known.
    Locked {
        until: Option<i64>,
    },
    /// The form was of an earlier step (a reload, a double submit).
    StaleForm,
}

/// What a posted step that is shown again carries to its page: each post answers with a
/// redirect to the flow's address (post/redirect/get: the Back button and a reload never ask
/// to send a form again), and the notice and the values typed travel to that page sealed, in a
/// cookie that lives [`CARRIED_TTL`] seconds and is read once (`http::login_actions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The step the notice is about: a page that shows another step (the flow moved on in
    /// another tab) does not show it.
    pub step: Step,
    pub notice: Notice,
    pub entered: Entered,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

/// How long what a post carries waits for its page: the redirect is followed at once.
pub const CARRIED_TTL: i64 = 60;

/// The notice (and what the user typed) a step is shown again with, sealed for its page.
pub fn carry(p: &Provider, active: &ActiveFlow, notice: Notice) -> String {
    let carried = Carried {
        step: active.flow.step,
        notice,
        entered: active.entered.clone(),
        expires_at: p.now() + CARRIED_TTL,
    };
    p.seal.seal_carried(&active.flow.id, &carried)
}

/// Opens what a post carried to this flow's page: the notice, with the values typed put back
/// into `active`, if it is this flow's, for its current step, and not expired.
pub fn take_carried(p: &Provider, active: &mut ActiveFlow, sealed: &str) -> Option<Notice> {
    let carried = p.seal.open_carried(&active.flow.id, sealed)?;
    if carried.step != active.flow.step || carried.expires_at <= p.now() {
        return None;
    }
    active.entered = carried.entered;
    Some(carried.notice)
}

/// Why a flow could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Refused(Refusal),
    Store(StoreError),
}

/// Loads a flow if `sealed` holds it (a login by redirect: its state travels sealed in each
/// step's address, and nothing is read from the store) or the store keeps it (the iframe flow),
/// has not expired and belongs to the browser whose session cookie is `cookie`.
pub async fn load(
    p: &Provider,
    issuer: &Arc<Issuer>,
    flow_id: &str,
    sealed: Option<&str>,
    cookie: Option<&StoreKey>,
) -> Result<ActiveFlow, LoadError> {
    let gone = || LoadError::Refused(Refusal::Gone);
    let now = p.now();
    let (flow, sealed) = match sealed {
        Some(sealed) => match p.seal.open(flow_id, sealed) {
            Some(flow) if flow.expires_at > now => (flow, Some(sealed.to_owned())),
            _ => return Err(gone()),
        },
        None => match p.flows.flow(flow_id, now).await {
            Ok(FlowState::Live(flow)) => (*flow, None),
            Ok(FlowState::Ended | FlowState::Unknown) => return Err(gone()),
            Err(e) => return Err(LoadError::Store(e)),
        },
    };
    // A flow is continued only at the issuer its request was sent to.
    if !issuer.made(&flow.request.issuer) {
        return Err(gone());
    }
    // The flow id travels in the URL; the session cookie proves it is this browser's flow.
    let owned = cookie.is_some_and(|key| {
        bool::from(
            key.as_str()
                .as_bytes()
                .ct_eq(flow.browser_hash.as_str().as_bytes()),
        )
    });
    if !owned {
        return Err(LoadError::Refused(Refusal::OtherBrowser));
    }
    Ok(ActiveFlow {
        flow,
        issuer: issuer.clone(),
        sealed,
        entered: Entered::default(),
    })
}

/// The message the current step is shown with when nothing else is to be said: a user
/// pre-selected at the first page is told of their lock before anything is asked.
pub async fn standing_notice(p: &Provider, active: &ActiveFlow) -> Option<Notice> {
    let flow = &active.flow;
    match &flow.user_id {
        Some(user_id) if flow.step == Step::Nnin => locked_user(p, user_id)
            .await
            .ok()
            .flatten()
            .map(|u| Notice::Locked {
                until: u.locked_until,
            }),
        _ => None,
    }
}

/// What a posted step leads to; `http::login_actions` answers with it.
pub enum Submitted {
    /// Show the flow's step (the same again, or the next), with a notice.
    Show(Box<ActiveFlow>, Option<Notice>),
    /// The form cannot continue this login.
    Refused(Refusal),
    /// The login ended with an error for the client.
    Failed {
        target: ResponseTarget,
        issuer: Arc<Issuer>,
        error: OAuthError,
    },
    /// The user is authenticated: the code goes to the client, and (when they logged in rather
    /// than completing a kept session) the browser gets the new session's cookie.
    Completed {
        target: ResponseTarget,
        issuer: Arc<Issuer>,
        code: String,
        session_cookie: Option<String>,
    },
    Store(StoreError),
}

/// Handles a posted step.
pub async fn submit(p: &Provider, mut active: ActiveFlow, form: LoginForm) -> Submitted {
    if !bool::from(form.csrf.as_bytes().ct_eq(active.flow.csrf.as_bytes())) {
        return Submitted::Refused(Refusal::Csrf);
    }
    if form.step != active.flow.step.as_str() {
        return Submitted::Show(Box::new(active), Some(Notice::StaleForm));
    }
    if form.action.as_deref() == Some("cancel") || form.decision.as_deref() == Some("deny") {
        let what = if form.action.is_some() {
            "the user cancelled the login"
        } else {
            "the user denied the request"
        };
        // The app's request is answered too, so that it leaves the app's list.
        if let Err(e) = answer_app(p, &active, AppAnswer::Denied).await {
            return Submitted::Store(e);
        }
        return end_with_error(p, &active, OAuthError::access_denied(what)).await;
    }
    active.entered = Entered::of(&form);
    let outcome = match active.flow.step {
        Step::Nnin => step_nnin(p, &mut active, &form).await,
        Step::Otp => step_secret(p, &mut active, form.otp.as_deref(), Secret::Otp).await,
        Step::Password => {
            if let Some(done) = password_at_end(p, &active, form.password.as_deref()).await {
                return done;
            }
            step_secret(p, &mut active, form.password.as_deref(), Secret::Password).await
        }
        Step::Mobile => step_mobile(p, &mut active, &form).await,
        // At BIS the approval comes from the app only (that is its point): the page waits.
        Step::Approve if active.issuer.kind == IssuerKind::Bis => Ok(Outcome::Retry(None)),
        Step::Approve => match form.decision.as_deref() {
            Some("allow") => step_approve(p, &mut active).await,
            _ => Ok(Outcome::Retry(None)),
        },
        Step::Consent => match form.decision.as_deref() {
            Some("allow") => Ok(Outcome::Complete),
            _ => Ok(Outcome::Retry(None)),
        },
    };
    settle(p, active, outcome).await
}

/// Where a flow that waits for the app stands, when its page is shown again (the waiting
/// page refreshes itself): the app's answer moves it on as a posted step would.
pub async fn poll(p: &Provider, active: ActiveFlow) -> Submitted {
    let (Step::Approve, Some(request_id)) = (active.flow.step, &active.flow.app_request_id) else {
        return Submitted::Show(Box::new(active), None);
    };
    let status = match app::status(p, request_id).await {
        Ok(status) => status,
        Err(e) => return Submitted::Store(e),
    };
    let bis = active.issuer.kind == IssuerKind::Bis;
    let denied = |what: &str| OAuthError::access_denied(what);
    // At the realm the in-page approval stands in for the app, so an app that did not answer
    // ends nothing there; at BIS the app is the only way.
    let error = match status {
        Some(AppStatus::Pending) => return Submitted::Show(Box::new(active), None),
        Some(AppStatus::Approved) => {
            let mut active = active;
            let outcome = step_approve(p, &mut active).await;
            return settle(p, active, outcome).await;
        }
        Some(AppStatus::Denied) => denied("the user denied the request in the app"),
        Some(AppStatus::TimedOut) | None if bis => denied("the app did not answer in time"),
        Some(AppStatus::Unreachable) if bis => denied("the app could not be reached"),
        Some(AppStatus::TimedOut | AppStatus::Unreachable) | None => {
            return Submitted::Show(Box::new(active), None);
        }
    };
    end_with_error(p, &active, error).await
}

/// Whether the flow waits for its user's app (the waiting page refreshes itself).
pub async fn waits_for_app(p: &Provider, active: &ActiveFlow) -> bool {
    match (active.flow.step, &active.flow.app_request_id) {
        (Step::Approve, Some(id)) => {
            matches!(app::status(p, id).await, Ok(Some(AppStatus::Pending)))
        }
        _ => false,
    }
}

/// Answers the flow's app request, if it has one, for its user.
async fn answer_app(
    p: &Provider,
    active: &ActiveFlow,
    answer: AppAnswer,
) -> Result<bool, StoreError> {
    match (&active.flow.app_request_id, &active.flow.user_id) {
        (Some(request_id), Some(user_id)) => app::answer(p, user_id, request_id, answer).await,
        _ => Ok(false),
    }
}

/// What a step's outcome leads to.
async fn settle(
    p: &Provider,
    mut active: ActiveFlow,
    outcome: Result<Outcome, StoreError>,
) -> Submitted {
    match outcome {
        Ok(Outcome::Retry(message)) => Submitted::Show(Box::new(active), message),
        // A login by redirect moves on by sealing its new state into the next address: nothing
        // is written until it ends, and its end is written once (`finish_flow`), so a step
        // posted again (a double submit, the Back button) may repeat that step but never skip
        // one or end the login twice.
        Ok(Outcome::Advance(_)) if active.sealed.is_some() => {
            active.sealed = Some(p.seal.seal(&active.flow));
            Submitted::Show(Box::new(active), None)
        }
        Ok(Outcome::Advance(from)) => {
            // A kept flow (the iframe's) moves on if no other post did first.
            let kept = p.flows.advance_flow(&active.flow, from).await;
            match kept {
                // The next step: the post answers with a redirect to the flow's address, whose
                // GET shows it. A form of the step before, posted again (a double submit), shows
                // the current step (the step names no longer match).
                Ok(true) => Submitted::Show(Box::new(active), None),
                Ok(false) => Submitted::Refused(Refusal::AlreadySubmitted),
                Err(e) => Submitted::Store(e),
            }
        }
        Ok(Outcome::Complete) => complete(p, &active).await,
        Ok(Outcome::Fail(error)) => end_with_error(p, &active, error).await,
        Err(e) => Submitted::Store(e),
    }
}

enum Outcome {
    /// Show the step again, with a notice.
    Retry(Option<Notice>),
    /// The flow changed (in memory) from this step; store it and show the next one.
    Advance(Step),
    /// The user is authenticated.
    Complete,
    /// The login ends with this error for the client.
    Fail(OAuthError),
}

enum Secret {
    Otp,
    Password,
}

/// The user is identified at `step`: ask for consent when the request needs it, else complete.
fn identified(active: &mut ActiveFlow, step: Step) -> Outcome {
    if needs_consent(active.request()) {
        active.flow.step = Step::Consent;
        Outcome::Advance(step)
    } else {
        Outcome::Complete
    }
}

async fn step_nnin(
    p: &Provider,
    active: &mut ActiveFlow,
    form: &LoginForm,
) -> Result<Outcome, StoreError> {
    let methods = &active.request().methods;
    let chosen = form
        .method
        .as_deref()
        .and_then(Method::from_hint)
        .filter(|m| methods.contains(m));
    if chosen == Some(Method::Bim) {
        active.flow.method = Some(Method::Bim);
        active.flow.step = Step::Mobile;
        return Ok(Outcome::Advance(Step::Nnin));
    }
    // A user pre-selected by the login_hint is not asked for the NNIN again. Read from the
    // store: the lock must be current.
    let preselected = match &active.flow.user_id {
        Some(id) => p.store.user(id).await?.map(Arc::new),
        None => None,
    };
    let user = match preselected {
        Some(user) => user,
        None => {
            let nnin = match Nnin::parse(form.nnin.as_deref().unwrap_or("").trim()) {
                Ok(n) => n,
                Err(e) => return Ok(Outcome::Retry(Some(Notice::BadNnin(e)))),
            };
            let Some(user) = p.store.user_by_nnin(nnin.as_str()).await? else {
                return Ok(Outcome::Retry(Some(Notice::UnknownUser)));
            };
            Arc::new(user)
        }
    };
    if user.is_locked(p.now()) {
        return Ok(Outcome::Retry(Some(Notice::Locked {
            until: user.locked_until,
        })));
    }
    if let Some(error) = scripted_end(p, active, &user).await? {
        return Ok(Outcome::Fail(error));
    }
    let method = chosen
        .or_else(|| methods.iter().copied().find(|m| *m != Method::Bim))
        .unwrap_or(Method::Bid);
    active.flow.user_id = Some(user.id.clone());
    active.flow.method = Some(method);
    if method == Method::Bis {
        active.flow.step = Step::Approve;
        let permission = match &active.flow.permission_id {
            Some(id) => p.store.permission(id).await?,
            None => None,
        };
        ask_app(p, &mut active.flow, &user, permission.as_ref()).await?;
    } else {
        active.flow.step = Step::Otp;
    }
    Ok(Outcome::Advance(Step::Nnin))
}

async fn step_secret(
    p: &Provider,
    active: &mut ActiveFlow,
    given: Option<&str>,
    which: Secret,
) -> Result<Outcome, StoreError> {
    let Some(user_id) = active.flow.user_id.clone() else {
        return Ok(Outcome::Retry(Some(Notice::UnknownUser)));
    };
    // Whether a wrong secret of this user was on its way to the store before the read below,
    // which is the store's (not the one-second cache's): see `super::verdicts`.
    let marked_before = p.pending_failures.any(&user_id);
    let Some(user) = p.store.user(&user_id).await? else {
        return Ok(Outcome::Retry(Some(Notice::UnknownUser)));
    };
    let now = p.now();
    let max = p.config.max_login_failures;
    let expected = match which {
        Secret::Otp => &user.otp,
        Secret::Password => &user.password,
    };
    let right = bool::from(given.unwrap_or("").as_bytes().ct_eq(expected.as_bytes()));
    // The verdict takes effect only through the store's conditional writes, in their order:
    // see `UserStore::count_login_failure`.
    if !right {
        let _pending = p.pending_failures.mark(&user.id);
        let attempt = p
            .store
            .count_login_failure(&user.id, now, max, p.config.lockout_seconds)
            .await?;
        p.user_changed(&user.id);
        let notice = match attempt {
            Attempt::Counted {
                locked_until: None,
                failed_attempts,
            } => {
                let attempts_left = max - failed_attempts;
                match which {
                    Secret::Otp => Notice::WrongOtp { attempts_left },
                    Secret::Password => Notice::WrongPassword { attempts_left },
                }
            }
            Attempt::Counted { locked_until, .. } => Notice::Locked {
                until: locked_until,
            },
            Attempt::Refused => lock_notice(p, &user.id).await?,
        };
        return Ok(Outcome::Retry(Some(notice)));
    }
    // The right secret counts only if the user is not locked by then; the password, the last
    // secret, clears the count. With no failure stored or on its way, nothing can come before
    // it, and it needs no write of its own (see `super::verdicts`).
    let last = matches!(which, Secret::Password);
    let unordered = !marked_before
        && user.failed_attempts == 0
        && user.locked_until.is_none()
        && !p.pending_failures.any(&user.id);
    if !unordered {
        let accepted = p.store.accept_login_secret(&user.id, now, last).await?;
        p.user_changed(&user.id);
        if !accepted {
            return Ok(Outcome::Retry(Some(lock_notice(p, &user.id).await?)));
        }
    }
    match which {
        Secret::Otp => {
            active.flow.step = Step::Password;
            Ok(Outcome::Advance(Step::Otp))
        }
        Secret::Password => Ok(identified(active, Step::Password)),
    }
}

/// The password step when nothing can come before its secret (no failure of the user on its
/// way to the store from this process) and the login ends with it (no consent page follows):
/// the login's end checks the password, and that the store has no failure and no lock for the
/// user, in the same write (`FlowStore::finish_flow_completing`: one statement on PostgreSQL,
/// a read fewer per login). A verdict taken there is the unordered one of `step_secret`, made
/// at the end. `None` when it does not apply or the check did not pass: the step then runs as
/// every other, which reads the user, counts a wrong password and tells a lock.
async fn password_at_end(
    p: &Provider,
    active: &ActiveFlow,
    given: Option<&str>,
) -> Option<Submitted> {
    let user_id = active.flow.user_id.as_deref()?;
    let password = given.filter(|g| !g.is_empty())?;
    if needs_consent(active.request()) || p.pending_failures.any(user_id) {
        return None;
    }
    let check = EndCheck { user_id, password };
    complete_with(p, active, Some(&check)).await
}

/// The user approved (in the app, or at the realm on the page, which answers the app's request
/// too so that it leaves the app's list): only if they are not locked meanwhile (read from the
/// store), and not if they denied in the app first.
async fn step_approve(p: &Provider, active: &mut ActiveFlow) -> Result<Outcome, StoreError> {
    let Some(user_id) = active.flow.user_id.clone() else {
        return Ok(Outcome::Retry(Some(Notice::UnknownUser)));
    };
    if let Some(user) = locked_user(p, &user_id).await? {
        return Ok(Outcome::Retry(Some(Notice::Locked {
            until: user.locked_until,
        })));
    }
    if let Some(request_id) = active.flow.app_request_id.clone()
        && !app::answer(p, &user_id, &request_id, AppAnswer::Approved).await?
        && app::status(p, &request_id).await? == Some(AppStatus::Denied)
    {
        return Ok(Outcome::Fail(OAuthError::access_denied(
            "the user denied the request in the app",
        )));
    }
    Ok(identified(active, Step::Approve))
}

/// The lock notice with the lock's end as the store has it (the user may be gone meanwhile).
async fn lock_notice(p: &Provider, user_id: &str) -> Result<Notice, StoreError> {
    Ok(Notice::Locked {
        until: p.store.user(user_id).await?.and_then(|u| u.locked_until),
    })
}

/// The user, if the store says they are locked now.
async fn locked_user(p: &Provider, user_id: &str) -> Result<Option<User>, StoreError> {
    Ok(p.store
        .user(user_id)
        .await?
        .filter(|u| u.is_locked(p.now())))
}

async fn step_mobile(
    p: &Provider,
    active: &mut ActiveFlow,
    form: &LoginForm,
) -> Result<Outcome, StoreError> {
    let phone = form.phone.as_deref().unwrap_or("").trim();
    let birth = form.birthdate.as_deref().unwrap_or("").trim();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(phone, 8) || !digits(birth, 6) {
        return Ok(Outcome::Retry(Some(Notice::BadMobile)));
    }
    let users = p.store.users_by_phone(phone).await?;
    let Some(user) = users
        .into_iter()
        .find(|u| birth_ddmmyy(u).as_deref() == Some(birth))
    else {
        return Ok(Outcome::Retry(Some(Notice::UnknownMobileUser)));
    };
    if user.is_locked(p.now()) {
        return Ok(Outcome::Retry(Some(Notice::Locked {
            until: user.locked_until,
        })));
    }
    if let Some(error) = scripted_end(p, active, &user).await? {
        return Ok(Outcome::Fail(error));
    }
    active.flow.user_id = Some(user.id);
    active.flow.method = Some(Method::Bim);
    active.flow.step = Step::Approve;
    active.flow.binding_message = Some(new_binding_message());
    Ok(Outcome::Advance(Step::Mobile))
}

/// A realm login whose user was just identified ends here if the user's next login is scripted
/// (test controls, `users update --next-login`); the script is taken by this login only.
/// The user was read from the store by this step, so whether a script waits comes with it.
async fn scripted_end(
    p: &Provider,
    active: &ActiveFlow,
    user: &User,
) -> Result<Option<OAuthError>, StoreError> {
    if active.issuer.kind != IssuerKind::Realm || !user.next_login_scripted {
        return Ok(None);
    }
    let script = p.store.take_login_script(&user.id).await?;
    Ok(script.map(|s| scripted_error(s, active.request().prompt.none)))
}

/// The error a scripted login ends with: the code and description a real one would have.
/// `login_required` under `prompt=none` is worded as the refusal of a silent login is.
pub fn scripted_error(script: LoginScript, prompt_none: bool) -> OAuthError {
    let description = match script {
        LoginScript::AccessDenied => "the user cancelled the login",
        LoginScript::LoginRequired if prompt_none => {
            "prompt: 'none' was given but the user must log in"
        }
        LoginScript::LoginRequired => "the user must log in again",
        LoginScript::ServerError => "the login could not be completed; try again",
        LoginScript::TemporarilyUnavailable => {
            "the login service is temporarily unavailable; try again in a few minutes"
        }
    };
    OAuthError::new(script.error_code(), description)
}

/// `YYYY-MM-DD` as `DDMMYY`.
fn birth_ddmmyy(user: &User) -> Option<String> {
    let b = user.birthdate.as_bytes();
    (b.len() == 10).then(|| {
        format!(
            "{}{}{}",
            &user.birthdate[8..10],
            &user.birthdate[5..7],
            &user.birthdate[2..4]
        )
    })
}

/// Ends the flow and sends an error to the client.
async fn end_with_error(p: &Provider, active: &ActiveFlow, error: OAuthError) -> Submitted {
    crate::record_client_id(&active.request().client_id);
    match p
        .flows
        .finish_flow(&active.flow.id, active.flow.expires_at)
        .await
    {
        Ok(true) => Submitted::Failed {
            target: active.request().target.clone(),
            issuer: active.issuer.clone(),
            error,
        },
        Ok(false) => Submitted::Refused(Refusal::AlreadyFinished),
        Err(e) => Submitted::Store(e),
    }
}

/// The user is authenticated: the flow ends (once: a double submit finds it ended) and a new
/// session (never the pre-login one: no session fixation) and a code are stored, only by the
/// call that ended it (`FlowStore::finish_flow_completing`: one statement on PostgreSQL), and
/// the client gets its answer.
async fn complete(p: &Provider, active: &ActiveFlow) -> Submitted {
    complete_with(p, active, None).await.unwrap_or_else(|| {
        Submitted::Store(StoreError::new("a login's end without a check failed one"))
    })
}

/// [`complete`], with the end checking `check` too: `None` if it did not pass (nothing stored).
async fn complete_with(
    p: &Provider,
    active: &ActiveFlow,
    check: Option<&EndCheck<'_>>,
) -> Option<Submitted> {
    let (Some(user_id), Some(method)) = (active.flow.user_id.as_deref(), active.flow.method) else {
        return Some(Submitted::Refused(Refusal::NoUser));
    };
    let now = p.now();
    // A consent to the NNIN is given only on the consent page, which this flow passed if the
    // scope asked for it.
    let nnin_consent = active.request().scope.contains("nnin");
    let cookie = ordered_token();
    let (login, session_id, auth_time) = match &active.flow.kept_session {
        Some(kept) => (None, kept.id.clone(), kept.auth_time),
        None => {
            let session = Session {
                id: new_id(),
                user_id: Some(user_id.to_owned()),
                method: Some(method),
                auth_time: Some(now),
                created_at: now,
                expires_at: now + p.config.session_ttl,
            };
            let id = session.id.clone();
            let login = NewLogin {
                replaced_session_id: active.flow.session_id.clone(),
                session,
                cookie: StoreKey::of(&cookie),
            };
            (Some(login), id, now)
        }
    };
    let auth = Authentication {
        user_id,
        session_id: &session_id,
        method,
        auth_time,
        nnin_consent,
    };
    let (code, record) = new_code(p, active.request(), &auth);
    let logged_in = login.is_some();
    let completion = Completion {
        login,
        code: record,
        grant_created_at: now,
    };
    match p
        .flows
        .finish_flow_completing(
            &active.flow.id,
            active.flow.expires_at,
            &completion,
            check,
            p.store.as_ref(),
        )
        .await
    {
        Ok(Ending::Ended) => {}
        Ok(Ending::AlreadyEnded) => return Some(Submitted::Refused(Refusal::AlreadyFinished)),
        Ok(Ending::CheckFailed) => return None,
        Err(e) => return Some(Submitted::Store(e)),
    }
    p.metrics.login_completed(method);
    // The user's id, never their national identity number.
    tracing::info!(
        client_id = %active.request().client_id,
        issuer = %active.issuer.id,
        method = %method.hint(),
        user_id = %user_id,
        "login completed"
    );
    Some(Submitted::Completed {
        target: active.request().target.clone(),
        issuer: active.issuer.clone(),
        code,
        session_cookie: logged_in.then_some(cookie),
    })
}

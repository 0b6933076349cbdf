//! The emulated BankID app: the test user's phone. A login or a permission at the BankID with
//! biometrics issuer asks the user's app ([`ask`]); the user answers on the app's web page or
//! through the CLI ([`answer`]), or their scripted answer does; the flow that asked reads
//! where the request stands ([`status`]). All of it lives in the store, because the CLI that
//! answers is another process.

use crate::Provider;
use crate::secret::ordered_token;
use crate::store::{AppAnswer, AppRequest, AppStatus, Client, Permission, StoreResult, User};
use bankid_oidc_core::b64;
use serde::{Deserialize, Serialize};

/// What the app shows the user, besides the merchant and the binding message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppContent {
    /// A login.
    Login,
    /// A text to approve (`text.v1`).
    Text { text: String },
    /// Payments to approve (`payment.v1`).
    Payments { lines: Vec<PaymentLine> },
    /// A card or account to approve (`card.v1`, `account.v1`): the text the merchant wrote.
    Approval { type_: String, text: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    pub amount: String,
    pub currency: String,
    pub creditor: String,
}

impl AppContent {
    /// What a permission asks the user to approve: its statement, validated when it was
    /// registered, read again for display (a login when it has nothing to show).
    pub fn of_permission(permission: &Permission) -> AppContent {
        let statement: serde_json::Value = b64::decode(&permission.permission)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let text = |field: &str| statement[field].as_str().unwrap_or_default().to_owned();
        match permission.type_.as_str() {
            "text.v1" => AppContent::Text { text: text("text") },
            "payment.v1" => AppContent::Payments {
                lines: statement["payments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| PaymentLine {
                        amount: p["amount"].as_str().unwrap_or_default().to_owned(),
                        currency: p["currency"].as_str().unwrap_or_default().to_owned(),
                        creditor: p["creditorName"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            },
            "card.v1" | "account.v1" => AppContent::Approval {
                type_: permission.type_.clone(),
                text: text("text"),
            },
            _ => AppContent::Login,
        }
    }

    /// The content of a stored request.
    pub fn of_request(request: &AppRequest) -> AppContent {
        serde_json::from_str(&request.content).unwrap_or(AppContent::Login)
    }
}

/// Sends a request to `user`'s app: a login, or `permission` to approve. It waits for an
/// answer until the app timeout (or the permission's `exp`, if sooner); a user with a scripted
/// answer gets it after the script's delay.
pub async fn ask(
    p: &Provider,
    user: &User,
    client: &Client,
    binding_message: &str,
    permission: Option<&Permission>,
) -> StoreResult<AppRequest> {
    let now = p.now();
    let mut expires_at = now + p.config.app_timeout;
    if let Some(permission) = permission {
        expires_at = expires_at.min(permission.expires_at);
    }
    let script = p
        .store
        .app_script(&user.id)
        .await?
        .map(|s| (s.answer, now + s.delay));
    let content = permission.map_or(AppContent::Login, AppContent::of_permission);
    let request = AppRequest {
        // Time-ordered: the store lists a user's requests by `created_at` (seconds), then id,
        // so that requests made within one second keep their order ("the oldest pending").
        id: ordered_token(),
        user_id: user.id.clone(),
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        binding_message: binding_message.to_owned(),
        permission_id: permission.map(|p| p.id.clone()),
        content: serde_json::to_string(&content).expect("content serializes"),
        created_at: now,
        expires_at,
        answer: None,
        answered_at: None,
        script,
    };
    p.store.create_app_request(&request).await?;
    if let Some(permission) = permission {
        p.store
            .link_app_request(&permission.id, &request.id)
            .await?;
    }
    Ok(request)
}

/// Where a request to the app stands now; `None` if it is unknown (or purged).
pub async fn status(p: &Provider, request_id: &str) -> StoreResult<Option<AppStatus>> {
    let now = p.now();
    Ok(p.store
        .app_request(request_id)
        .await?
        .map(|r| r.status(now)))
}

/// The user answers a request in their app; `Ok(false)` if it was no longer pending.
pub async fn answer(
    p: &Provider,
    user_id: &str,
    request_id: &str,
    answer: AppAnswer,
) -> StoreResult<bool> {
    p.store
        .answer_app_request(request_id, user_id, answer, p.now())
        .await
}

/// The user's requests that are still waiting for an answer.
pub async fn pending(p: &Provider, user_id: &str) -> StoreResult<Vec<AppRequest>> {
    let now = p.now();
    Ok(p.store
        .app_requests_of(user_id, now)
        .await?
        .into_iter()
        .filter(|r| r.status(now) == AppStatus::Pending)
        .collect())
}

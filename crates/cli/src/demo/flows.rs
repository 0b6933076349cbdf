//! The flows the demo offers, and how each one starts: which issuer, which parameters, which
//! channel (URL, PAR, request object), all through `bankid-oidc-client`.

use super::Demo;
use super::pages::Lang;
use super::session::Pending;
use bankid_oidc_client::bis::PermissionRequest;
use bankid_oidc_client::ciba::BackchannelRequest;
use bankid_oidc_client::core::nnin::Nnin;
use bankid_oidc_client::core::permission::{Payment, PaymentStatement, Statement};
use bankid_oidc_client::{AuthorizationRequest, CibaHandle, Client, RequestEncryption};
use bankid_oidc_server::secret::random_token;
use url::Url;

/// Which issuer a flow logs in at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// The BankID OIDC realm (`{provider}/auth/realms/{realm}`).
    Realm,
    /// The BankID with biometrics issuer (`{provider}/bis`).
    Bis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Netcentric BankID at the realm (`login_hint=BID`).
    Bid,
    /// BankID on mobile at the realm (`login_hint=BIM`).
    Bim,
    /// BankID with biometrics chosen at the realm (`login_hint=BIS`).
    BisRealm,
    /// A login at the BIS issuer itself, with the BIS scopes.
    Bis,
    /// The realm login sent by PAR (RFC 9126).
    Par,
    /// The realm login as a signed request object (RFC 9101).
    Signed,
    /// The realm login as a signed request object encrypted to the provider's key.
    Encrypted,
    /// A payment permission registered upfront, approved by a BIS login with its
    /// `login_hint_token`, then its signed grant.
    Payment,
    /// The iframe flow (seed 004): the provider's page framed by the demo's, started by
    /// `iframe::start` (its own form, with the NNIN to hint).
    Iframe,
    /// CIBA (poll mode) at BIS: no redirect; the customer's NNIN and a binding message, the
    /// approval in the app, the tokens polled for.
    Ciba,
}

impl Flow {
    /// In the order of the start page.
    pub const ALL: [Flow; 10] = [
        Flow::Bid,
        Flow::Bim,
        Flow::BisRealm,
        Flow::Bis,
        Flow::Par,
        Flow::Signed,
        Flow::Encrypted,
        Flow::Payment,
        Flow::Iframe,
        Flow::Ciba,
    ];

    /// The value posted by its button, and its element id (`start-{id}`).
    pub fn id(self) -> &'static str {
        match self {
            Flow::Bid => "bid",
            Flow::Bim => "bim",
            Flow::BisRealm => "bis-realm",
            Flow::Bis => "bis",
            Flow::Par => "par",
            Flow::Signed => "signed",
            Flow::Encrypted => "encrypted",
            Flow::Payment => "payment",
            Flow::Iframe => "iframe",
            Flow::Ciba => "ciba",
        }
    }

    pub fn parse(id: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|f| f.id() == id)
    }

    pub fn issuer(self) -> IssuerKind {
        match self {
            Flow::Bis | Flow::Payment | Flow::Iframe | Flow::Ciba => IssuerKind::Bis,
            _ => IssuerKind::Realm,
        }
    }

    /// Whether it starts at its own form (`POST /iframe`) rather than `POST /start`.
    pub fn own_form(self) -> bool {
        matches!(self, Flow::Iframe)
    }

    /// Whether it signs a request object (which needs the demo's key registered).
    pub fn signs_request_object(self) -> bool {
        matches!(self, Flow::Signed | Flow::Encrypted)
    }
}

/// Scopes of a realm login: what userinfo can then show.
const REALM_SCOPES: &[&str] = &["profile", "nnin_altsub", "email", "phone", "address"];
/// Scopes of a BIS login: the NNIN and the BankID PID as claims of their own.
const BIS_SCOPES: &[&str] = &["profile", "sub_nnin", "sub_bankid"];

/// The error a flow's start can end with, shown on a page.
pub type StartError = bankid_oidc_client::Error;

/// Starts `flow`: what to keep in the session, and where to send the browser.
pub async fn start(demo: &Demo, flow: Flow, lang: Lang) -> Result<(Pending, Url), StartError> {
    let realm_request = |client: &Client| {
        let client = client.clone();
        async move {
            Ok::<AuthorizationRequest, StartError>(
                client
                    .authorization_request()
                    .await?
                    .scopes(REALM_SCOPES.iter().copied())
                    .api_version(4)
                    .ui_locales([lang.code()]),
            )
        }
    };
    let mut permission = None;
    let redirect = match flow {
        Flow::Bid | Flow::Bim | Flow::BisRealm => {
            let hint = match flow {
                Flow::Bid => "BID",
                Flow::Bim => "BIM",
                _ => "BIS",
            };
            realm_request(&demo.realm).await?.login_hint(hint).build()?
        }
        Flow::Par => {
            let request = realm_request(&demo.realm).await?.login_hint("BID");
            demo.realm.push_authorization_request(request).await?
        }
        Flow::Signed => {
            let request = realm_request(&demo.realm).await?.login_hint("BID");
            demo.realm.signed_authorization_request(request).await?
        }
        Flow::Encrypted => {
            let request = realm_request(&demo.realm).await?.login_hint("BID");
            demo.realm
                .encrypted_authorization_request(request, &RequestEncryption::new())
                .await?
        }
        Flow::Bis => demo
            .bis
            .authorization_request()
            .await?
            .scopes(BIS_SCOPES.iter().copied())
            .build()?,
        Flow::Payment => {
            // Seed 004: a machine token from the realm, the permission registered at BIS, and
            // the login that approves it carries its token.
            let token = demo
                .realm
                .client_credentials(&["permissions/client"])
                .await?;
            let statement = Statement::Payment(PaymentStatement {
                nonce: random_token(),
                id: format!("order-{}", &random_token()[..8]),
                payments: vec![Payment {
                    payment_id: format!("payment-{}", &random_token()[..8]),
                    amount: "149.50".into(),
                    currency: "NOK".into(),
                    creditor_name: "Demo merchant AS".into(),
                }],
            });
            let request = PermissionRequest::new(statement).intents(["redirect"]);
            let registered = demo.bis.register_permission(&token.token, &request).await?;
            let redirect = demo
                .bis
                .authorization_request()
                .await?
                .scopes(["sub_nnin"])
                .login_hint_token(&registered.permission_token)
                .build()?;
            permission = Some((registered, token.token));
            redirect
        }
        Flow::Iframe => {
            return Err(bankid_oidc_client::Error::Config(
                "the iframe flow starts at its own form (POST /iframe)".into(),
            ));
        }
        Flow::Ciba => {
            return Err(bankid_oidc_client::Error::Config(
                "CIBA has no redirect; it starts from /ciba (start_ciba)".into(),
            ));
        }
    };
    Ok((
        Pending {
            flow,
            login: redirect.pending,
            permission,
        },
        redirect.url,
    ))
}

/// The NNIN the CIBA page offers: the first test user's (`seed::test_users`, Kari Nordmann).
pub fn default_ciba_nnin() -> String {
    Nnin::synthetic(1985, 3, 15, 400).as_str().to_owned()
}

/// Words for binding messages: two of them, as BIS's own permissions have.
const ADJECTIVES: &[&str] = &[
    "Modig", "Rask", "Stille", "Lys", "Glad", "Klok", "Sterk", "Varm",
];
const ANIMALS: &[&str] = &["laks", "elg", "ugle", "rev", "sel", "ørn", "bjørn", "torsk"];

/// A fresh binding message for a CIBA request: two words the page and the app both show.
pub fn binding_message() -> String {
    let bytes = random_token().into_bytes();
    let pick = |list: &[&'static str], b: u8| list[b as usize % list.len()];
    format!("{} {}", pick(ADJECTIVES, bytes[0]), pick(ANIMALS, bytes[1]))
}

/// Starts CIBA at BIS for the customer with `nnin` (`login_hint`) with `binding_message`,
/// through the client library: the handle polls for the tokens.
pub async fn start_ciba(
    demo: &Demo,
    nnin: &str,
    binding_message: &str,
) -> Result<CibaHandle, StartError> {
    let request = BackchannelRequest::login_hint(nnin)
        .scopes(BIS_SCOPES.iter().copied())
        .binding_message(binding_message)
        .acr_values(["urn:bankid:bis"]);
    demo.bis.backchannel_authentication(&request).await
}

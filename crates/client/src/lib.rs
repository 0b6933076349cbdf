//! A relying-party library for BankID Norway's OpenID Connect platform (the BankID OIDC realm
//! issuer and the BankID with biometrics issuer), and for any standard OpenID Connect provider.
//!
//! It does what the BankID merchant guides ask a backend to do, and checks what they ask to be
//! checked: discovery with the issuer check and a cache; `state`, `nonce` and PKCE (S256) from the
//! operating system's CSPRNG; the callback in the order of BankID's decision graph (state, then
//! the RFC 9207 `iss`, then `error`, then the code); the code exchange with
//! `client_secret_basic`; and every ID token rule, each with its own [`Error`] variant:
//! signature by a key from the JWKS, algorithm among the provider's announced ones and never
//! `none` or HMAC, `iss`, `aud`/`azp`, `exp`/`iat`/`nbf` with clock skew, a non-empty `sub`,
//! `nonce`, the requested `acr_values` and a minimum level of assurance from `acr`, and
//! `at_hash`. Keys follow the provider's key rotation: a token with an
//! unknown `kid` triggers one JWKS refetch, rate limited.
//!
//! # Shape
//!
//! As in oauth4webapi, every step is a pair: a pure function that builds or validates
//! ([`AuthorizationRequest`], [`validate_callback`], [`token::authorization_code_request`],
//! [`token::read_token_response`], [`IdTokenVerifier::verify`],
//! [`userinfo::process_userinfo_response`]) and the [`Client`], a thin async layer that does
//! the HTTP and keeps the caches (discovery, JWKS, client-credentials tokens). The later steps
//! follow the same shape ([`token::refresh_token_request`] with
//! [`refresh::check_refreshed_claims`], [`introspection::introspection_request`] with
//! [`introspection::process_introspection_response`], [`revocation::revocation_request`] with
//! [`revocation::process_revocation_response`], [`LogoutRequest`]). Use the `Client`;
//! reach for the functions when you bring your own HTTP stack or test without a network.
//!
//! # A complete login
//!
//! ```no_run
//! use bankid_oidc_client::{CallbackParams, Client, Error, PendingLogin};
//!
//! # async fn session_store(_: &PendingLogin) {}
//! # async fn session_load() -> PendingLogin { unimplemented!() }
//! # async fn run() -> Result<(), Error> {
//! // Once at start-up: one client per issuer, shared by all requests.
//! let client = Client::builder(
//!         "https://auth.current.bankid.no/auth/realms/current",
//!         "my-merchant",
//!     )
//!     .client_secret("secret from BankID")
//!     .redirect_uri("https://merchant.example/callback")
//!     .min_loa(3) // seeds 002 and 004: "acr includes LOA=3"
//!     .discover()
//!     .await?;
//!
//! // 1. The user clicks "log in": redirect them, remember the pending login server-side.
//! let login = client
//!     .authorization_request()
//!     .await?
//!     .scopes(["profile", "nnin_altsub"])
//!     .login_hint("BIS")
//!     .api_version(4)
//!     .build()?;
//! session_store(&login.pending).await; // serde-serializable; holds the PKCE verifier
//! let redirect_to = login.url; // send a 302 to this URL
//! # let _ = redirect_to;
//!
//! // 2. The provider redirects back to /callback?code=...&state=...&iss=...
//! let pending = session_load().await;
//! let query = "code=...&state=...&iss=..."; // the callback's raw query string
//! match client.handle_callback(&pending, &CallbackParams::parse(query)).await {
//!     Ok(login) => {
//!         let claims = &login.id_token.claims;
//!         println!("logged in: {} ({:?})", claims.sub, claims.bankid_altsub);
//!         let info = client
//!             .userinfo(&login.tokens.access_token, &claims.sub)
//!             .await?;
//!         println!("email: {:?}", info.email);
//!     }
//!     // The user cancelled at BankID.
//!     Err(Error::Authorization(e)) if e.code == "access_denied" => println!("cancelled"),
//!     // Anything else: the login failed; show an error and let the user try again.
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A machine client (permissions API, eSign) gets its tokens with
//! [`Client::client_credentials`], which caches each token until shortly before it expires.
//!
//! # The rest of a token's life
//!
//! - [`Client::refresh`] exchanges a refresh token (scope `offline_access`) for new tokens and
//!   checks that a new ID token is about the same login. Refresh tokens rotate: store
//!   [`Refreshed::refresh_token`] in place of the old one every time, because reusing a spent
//!   refresh token revokes the whole login at the provider.
//! - [`Client::introspect`] (RFC 7662) and [`Client::revoke`] (RFC 7009), authenticated like the
//!   token endpoint.
//! - [`Client::logout_request`] builds the URL of the provider's `end_session_endpoint` (with
//!   `id_token_hint`, `post_logout_redirect_uri`, `state`, `ui_locales`).
//! - [`PrivateKeyJwtSigner`] authenticates the client with `private_key_jwt` (RFC 7523) on an
//!   ES256 key instead of a secret; it exports the public JWKS to register.
//!
//! # Request security (API version 4)
//!
//! - [`Client::push_authorization_request`] sends the request by PAR (RFC 9126) and returns the
//!   URL with only `client_id` and `request_uri`; [`Client::signed_authorization_request`] and
//!   [`Client::encrypted_authorization_request`] send it as a signed request object (RFC 9101),
//!   encrypted to the provider's `jwks_uri_enc` key for the latter. [`Channel`] says which
//!   parameters each may carry; the library refuses an NNIN `login_hint` in a URL and a payment
//!   outside PAR before anything is sent.
//! - [`login_hint`] builds hints checked against BankID's grammar; [`payment`] builds
//!   `payment.v1` statements, and `handle_callback` checks the ID token's `permission_digest`.
//! - [`nnin_consent`] is seed 001's NNIN consent flow, with the merchant's
//!   [`NninConsentStore`].
//! - [`bis`] is BankID with biometrics' permissions API (seed 004): permissions registered
//!   upfront ([`Client::register_permission`]), the login with their `login_hint_token`, and the
//!   grant polled for and verified against the grant keys ([`Client::poll_grant`]).
//! - [`ciba`] is BIS's backchannel authentication (CIBA, poll mode), with no browser:
//!   [`Client::backchannel_authentication`] names the user (a permission token or an NNIN) and
//!   returns a [`CibaHandle`] whose [`CibaHandle::poll`] waits for the app's answer and returns
//!   the validated tokens.
//! - [`iframe`] is its iframe flow: [`Client::iframe_authorize`] asks for the single-use address
//!   the merchant's page frames, with PKCE, `state` and `nonce` kept as for any login.
//!
//! # Time
//!
//! Every time the library reads comes from one [`Clock`] ([`ClientBuilder::clock`]; the system's
//! by default): ID token times, request objects, machine-token expiry, and the age of cached
//! discovery, JWKS and encryption keys. [`PrivateKeyJwtSigner::clock`] dates client assertions.
//! The pause between CIBA polls is the clock's too ([`Clock::sleep`]). Tests pass a
//! [`ManualClock`] and advance it instead of sleeping.
//!
//! # What the library refuses
//!
//! A merchant's backend must survive whatever the network returns, so besides the rules above
//! the library refuses, each with its own [`Error`] variant:
//!
//! - **A response body over the limit** ([`Error::ResponseTooLarge`]), at every endpoint
//!   (discovery, JWKS, `jwks_uri_enc`, token, userinfo, introspection, revocation, PAR). The body
//!   is read chunk by chunk and the read stops as soon as it would pass
//!   [`ClientBuilder::max_response_size`] (256 KiB by default), or before the first byte when
//!   `Content-Length` announces more: never more than the limit is held.
//! - **Any redirect** ([`Error::Redirect`]), whatever HTTP client is given to
//!   [`ClientBuilder::http_client`]. Form bodies (code and PKCE verifier, refresh token, client
//!   secret or assertion, the pushed request, the token to introspect or revoke) go out as a body
//!   the HTTP client cannot replay, so a client that follows redirects hands a 307 or 308 back
//!   instead of re-sending it; a 3xx, or an answer from another URL than the endpoint asked
//!   (a followed 301, 302 or 303, which reqwest turns into a GET without the body), is refused.
//! - **Numbers that do not fit** ([`Error::MalformedResponse`], [`Error::MalformedJwt`]):
//!   `expires_in` must be a non-negative integer, `exp`, `iat` and `nbf` integers within i64.
//!   Every value that fits is compared or added with saturating or checked arithmetic, so no
//!   number from the provider can panic or overflow; a machine token whose lifetime the clock
//!   cannot represent is used but not cached. A token response without `expires_in` is accepted
//!   ([`Tokens::expires_in`] is `None`: lifetime unknown, and such a machine token is not cached).
//! - **An ID token whose `acr` the login did not ask for** ([`Error::AcrNotRequested`]): the
//!   pending login keeps the `acr_values` sent, so a user who edits the request from BankID
//!   (LOA 4) to BankID with biometrics (LOA 3) is refused at the callback.
//! - **Signed userinfo without `iss` or `aud`** ([`Error::MissingUserinfoClaim`]), or naming
//!   another provider or client ([`Error::WrongIssuer`], [`Error::WrongAudience`]).
//! - **A token before its `nbf`** ([`Error::NotYetValid`]), with the same clock skew as `exp`
//!   and `iat`.
//! - **An empty `sub`, or an empty `sid` where present** ([`Error::EmptyClaim`]), in ID tokens,
//!   userinfo and introspection answers, so that nothing is ever keyed by an empty identifier.
//!
//! `examples/login.rs` runs this flow from the command line against a local provider.
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod authorization;
pub mod bis;
pub mod callback;
pub mod ciba;
pub mod client;
pub mod client_auth;
pub mod clock;
pub mod discovery;
pub mod error;
pub mod http;
pub mod id_token;
pub mod iframe;
pub mod introspection;
pub mod jwks;
pub mod jws;
pub mod login_hint;
pub mod logout;
pub mod machine_token;
pub mod nnin_consent;
pub mod par;
pub mod payment;
pub mod private_key_jwt;
mod random;
pub mod refresh;
pub mod request_encryption;
pub mod request_object;
pub mod revocation;
pub mod token;
pub mod userinfo;

pub use authorization::{
    AuthorizationParameters, AuthorizationRedirect, AuthorizationRequest, Channel, LoginSecrets,
    PendingLogin, ResponseMode,
};
pub use callback::{AuthorizationCode, CallbackParams, validate_callback};
pub use ciba::BackchannelRequest;
pub use client::{CibaHandle, Client, ClientBuilder, Login};
pub use client_auth::{ClientAssertionSigner, ClientAuth};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ProviderError};
pub use id_token::{Expected, IdToken, IdTokenVerifier};
pub use iframe::{IframeAuthorization, IframeRequest};
pub use introspection::{ActiveToken, Introspection};
pub use jwks::JwksCache;
pub use jws::{AllowedAlgs, KeySet};
pub use logout::LogoutRequest;
pub use machine_token::AccessToken;
pub use nnin_consent::{NninConsentFlow, NninConsentStore, NninStatus, NninSubject};
pub use par::PushedRequest;
pub use payment::{PaymentAuthorization, PaymentRequest};
pub use private_key_jwt::PrivateKeyJwtSigner;
pub use refresh::Refreshed;
pub use request_encryption::RequestEncryption;
pub use request_object::RequestObjectSigner;
pub use token::{TokenTypeHint, Tokens};
pub use userinfo::UserInfo;

/// The core crate's vocabulary this API speaks in (claims, discovery metadata, error codes).
pub use bankid_oidc_core as core;

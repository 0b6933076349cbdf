//! Request security through the relying-party library against this project's provider (issue
//! 4): pushed authorization requests, signed and encrypted request objects, NNIN login hints,
//! seed 001's NNIN consent flow with the merchant's consent store, and payments (RAR) whose
//! `permission_digest` the library checks.

use bankid_oidc_client::login_hint;
use bankid_oidc_client::nnin_consent::{NninConsentOutcome, NninConsentRecord};
use bankid_oidc_client::payment::{PaymentRequest, verify_permission_digest};
use bankid_oidc_client::{
    AuthorizationRedirect, CallbackParams, Client, Error, Login, NninConsentFlow, NninConsentStore,
    NninStatus, NninSubject, PrivateKeyJwtSigner, RequestEncryption, RequestObjectSigner,
};
use bankid_oidc_core::b64;
use bankid_oidc_core::scope::ScopeSet;
use bankid_oidc_server::clock::Clock;
use bankid_oidc_server::seed::new_client;
use bankid_oidc_server::store::User;
use bankid_oidc_testkit::browser::{Browser, Callback, Step};
use bankid_oidc_testkit::html::{forms, text_of};
use bankid_oidc_testkit::jwt::verify_with_jwks;
use bankid_oidc_testkit::provider::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TestProvider};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// A merchant registered for the confidential scopes (`nnin`, `address`) and for request
/// objects signed by its own key.
const MERCHANT_ID: &str = "merchant";
const MERCHANT_SECRET: &str = "merchant-secret-0123456789-abcdefghijklm";
const MERCHANT_REDIRECT_URI: &str = "https://merchant.example/callback";

struct Setup {
    tp: TestProvider,
    signer: Arc<PrivateKeyJwtSigner>,
}

impl Setup {
    async fn start() -> Setup {
        let tp = TestProvider::start().await;
        let signer = Arc::new(PrivateKeyJwtSigner::generate().unwrap());
        let mut merchant = new_client(
            MERCHANT_ID,
            MERCHANT_SECRET,
            vec![MERCHANT_REDIRECT_URI.into()],
            ScopeSet::parse("openid profile nnin_altsub nnin address email phone").unwrap(),
            tp.clock.now(),
        );
        merchant.jwks = Some(signer.jwks_json());
        tp.store.add_client(&merchant).await.unwrap();
        Setup { tp, signer }
    }

    /// The merchant as a relying party: client secret for the endpoints, its ES256 key for
    /// request objects.
    async fn merchant(&self) -> Client {
        Client::builder(&self.tp.issuer, MERCHANT_ID)
            .client_secret(MERCHANT_SECRET)
            .request_object_signer(self.signer.clone() as Arc<dyn RequestObjectSigner>)
            .redirect_uri(MERCHANT_REDIRECT_URI)
            .min_loa(4)
            .require_at_hash(true)
            .allowed_algs(&["ES256"])
            .discover()
            .await
            .unwrap()
    }

    /// The harness's test shop (no request object key, no `nnin` scope).
    async fn shop(&self) -> Client {
        Client::builder(&self.tp.issuer, CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .redirect_uri(REDIRECT_URI)
            .min_loa(4)
            .require_at_hash(true)
            .discover()
            .await
            .unwrap()
    }

    fn kari(&self) -> User {
        self.tp.user("Kari").clone()
    }
}

/// What arrived at the redirect URI, as the merchant's callback handler would read it.
fn callback_params(callback: &Callback) -> CallbackParams {
    CallbackParams::parse(&serde_urlencoded::to_string(&callback.params).unwrap())
}

fn query(redirect: &AuthorizationRedirect) -> HashMap<String, String> {
    redirect.url.query_pairs().into_owned().collect()
}

fn query_names(redirect: &AuthorizationRedirect) -> HashSet<String> {
    query(redirect).into_keys().collect()
}

fn names(list: &[&str]) -> HashSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Whether the page's form has an input with this name.
fn has_field(html: &str, name: &str) -> bool {
    forms(html)
        .first()
        .is_some_and(|form| form.fields.iter().any(|(n, _)| n == name))
}

/// The first page of a login started at `redirect`.
async fn first_page(browser: &Browser, redirect: &AuthorizationRedirect) -> String {
    Browser::page(browser.get(redirect.url.as_str()).await).1
}

/// Netcentric BankID from `html` on: the NNIN if the page asks for it, the one-time code, the
/// password. Returns what follows the password (the callback, or the consent page).
async fn identify_bid(browser: &Browser, html: &str, user: &User) -> Step {
    let mut html = html.to_owned();
    if has_field(&html, "nnin") {
        let step = browser
            .submit(&html, &[("nnin", &user.nnin)], Some(("method", "BID")))
            .await;
        html = Browser::page(step).1;
    }
    let (_, html) = Browser::page(browser.submit(&html, &[("otp", &user.otp)], None).await);
    browser
        .submit(&html, &[("password", &user.password)], None)
        .await
}

/// A complete netcentric login in a new browser, ending at the callback.
async fn log_in(tp: &TestProvider, redirect: &AuthorizationRedirect, user: &User) -> Callback {
    let browser = Browser::new(tp);
    let html = first_page(&browser, redirect).await;
    Browser::callback(identify_bid(&browser, &html, user).await)
}

/// The decoded protected header of a compact JWS or JWE.
fn jose_header(compact: &str) -> serde_json::Value {
    let first = compact.split('.').next().unwrap();
    serde_json::from_slice(&b64::decode(first).unwrap()).unwrap()
}

#[tokio::test]
async fn par_login_through_the_library_puts_only_client_id_and_a_single_use_request_uri_in_the_url()
{
    let s = Setup::start().await;
    let shop = s.shop().await;
    let login = shop
        .push_authorization_request(
            shop.authorization_request()
                .await
                .unwrap()
                .scopes(["profile", "nnin_altsub"])
                .hint(&login_hint::bid())
                .api_version(4),
        )
        .await
        .unwrap();
    assert!(
        login
            .url
            .as_str()
            .starts_with(s.tp.authorization_endpoint())
    );
    assert_eq!(query_names(&login), names(&["client_id", "request_uri"]));
    assert_eq!(query(&login)["client_id"], CLIENT_ID);
    assert!(query(&login)["request_uri"].starts_with("urn:ietf:params:oauth:request_uri:"));

    let callback = log_in(&s.tp, &login, &s.kari()).await;
    let result = shop
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    assert_eq!(result.id_token.claims.sub, s.kari().id);
    assert_eq!(
        result.id_token.claims.nnin_altsub.as_deref(),
        Some(s.kari().nnin.as_str())
    );
    assert_eq!(
        result.id_token.claims.nonce.as_deref(),
        Some(login.pending.nonce.as_str())
    );

    // The request_uri was spent by that login.
    match Browser::new(&s.tp).get(login.url.as_str()).await {
        Step::Page { status, .. } => assert!(status.is_client_error(), "{status}"),
        Step::Callback(c) => panic!("a spent request_uri reached the client: {:?}", c.params),
    }
}

#[tokio::test]
async fn an_nnin_login_hint_by_par_skips_the_nnin_page_and_never_goes_into_a_plain_url() {
    let s = Setup::start().await;
    let shop = s.shop().await;
    let kari = s.kari();
    let hint = login_hint::bid_with_nnin(&kari.nnin).unwrap();

    // The library refuses to put the NNIN in a URL before anything is sent.
    let plain = shop
        .authorization_request()
        .await
        .unwrap()
        .hint(&hint)
        .build()
        .unwrap_err();
    assert!(
        matches!(plain, Error::NotAllowedInChannel { .. }),
        "{plain:?}"
    );
    let signed_only = shop
        .signed_authorization_request(shop.authorization_request().await.unwrap().hint(&hint))
        .await
        .unwrap_err();
    assert!(
        matches!(signed_only, Error::NotAllowedInChannel { .. }),
        "{signed_only:?}"
    );

    let login = shop
        .push_authorization_request(
            shop.authorization_request()
                .await
                .unwrap()
                .scopes(["nnin_altsub"])
                .hint(&hint),
        )
        .await
        .unwrap();
    assert!(!login.url.as_str().contains(&kari.nnin));
    let browser = Browser::new(&s.tp);
    let html = first_page(&browser, &login).await;
    assert!(
        has_field(&html, "otp"),
        "the first page asks for the code: {html}"
    );
    assert!(!has_field(&html, "nnin"), "the user was named by the hint");
    let callback = Browser::callback(identify_bid(&browser, &html, &kari).await);
    let result = shop
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    assert_eq!(result.id_token.claims.sub, kari.id);
}

#[tokio::test]
async fn a_signed_request_object_from_the_library_logs_in_and_cannot_be_replayed() {
    let s = Setup::start().await;
    let merchant = s.merchant().await;
    let login = merchant
        .signed_authorization_request(
            merchant
                .authorization_request()
                .await
                .unwrap()
                .scopes(["profile", "email", "address"])
                .hint(&login_hint::bid()),
        )
        .await
        .unwrap();
    assert_eq!(
        query_names(&login),
        names(&["client_id", "response_type", "request"])
    );
    let request = query(&login)["request"].clone();
    let header = jose_header(&request);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "oauth-authz-req+jwt");
    assert_eq!(header["kid"], s.signer.key_id());
    let claims: serde_json::Value =
        serde_json::from_slice(&b64::decode(request.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["iss"], MERCHANT_ID);
    assert_eq!(claims["aud"], s.tp.issuer.as_str());
    assert_eq!(claims["state"], login.pending.state.as_str());
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600);

    let callback = log_in(&s.tp, &login, &s.kari()).await;
    let result = merchant
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    assert_eq!(result.id_token.claims.sub, s.kari().id);
    let info = merchant
        .userinfo(&result.tokens.access_token, &result.id_token.claims.sub)
        .await
        .unwrap();
    assert_eq!(info.email.as_deref(), Some("kari.nordmann@example.no"));
    assert!(
        info.address.is_some(),
        "scope address from the signed object"
    );

    // The same object again: its jti is spent.
    match Browser::new(&s.tp).get(login.url.as_str()).await {
        Step::Page { status, html, .. } => {
            assert!(status.is_client_error(), "{status}");
            assert!(html.contains("jti"), "{html}");
        }
        Step::Callback(c) => panic!("a replayed request object was accepted: {:?}", c.params),
    }
}

#[tokio::test]
async fn encrypted_request_objects_to_the_rsa_and_the_ec_key_carry_an_nnin_hint() {
    let s = Setup::start().await;
    let merchant = s.merchant().await;
    let kari = s.kari();
    let keys = merchant.encryption_keys().await.unwrap();
    assert!(keys.iter().all(|k| k.use_.as_deref() == Some("enc")));

    for (encryption, alg) in [
        (RequestEncryption::rsa(), "RSA-OAEP-256"),
        (RequestEncryption::ec(), "ECDH-ES"),
    ] {
        let login = merchant
            .encrypted_authorization_request(
                merchant
                    .authorization_request()
                    .await
                    .unwrap()
                    .scopes(["nnin_altsub"])
                    .hint(&login_hint::bid_with_nnin(&kari.nnin).unwrap()),
                &encryption,
            )
            .await
            .unwrap();
        assert_eq!(
            query_names(&login),
            names(&["client_id", "response_type", "request"])
        );
        let header = jose_header(&query(&login)["request"]);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["cty"], "JWT");
        assert!(
            keys.iter()
                .any(|k| k.kid.as_deref() == header["kid"].as_str())
        );

        let browser = Browser::new(&s.tp);
        let html = first_page(&browser, &login).await;
        assert!(
            has_field(&html, "otp"),
            "{alg}: the hint named the user: {html}"
        );
        let callback = Browser::callback(identify_bid(&browser, &html, &kari).await);
        let result = merchant
            .handle_callback(&login.pending, &callback_params(&callback))
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(result.id_token.claims.sub, kari.id, "{alg}");
        assert_eq!(
            result.id_token.claims.nnin_altsub.as_deref(),
            Some(kari.nnin.as_str())
        );
    }
}

/// The merchant's own consent store, here in memory, keyed as [`NninSubject::key`] suggests.
#[derive(Default)]
struct MemoryConsentStore {
    records: Mutex<HashMap<String, NninConsentRecord>>,
}

impl MemoryConsentStore {
    fn stored(&self, subject: &str) -> Option<NninConsentRecord> {
        self.records.lock().unwrap().get(subject).cloned()
    }
}

impl NninConsentStore for MemoryConsentStore {
    type Error = Infallible;

    async fn has_nnin(&self, subject: &NninSubject) -> Result<bool, Infallible> {
        Ok(self.records.lock().unwrap().contains_key(subject.key()))
    }

    async fn store_nnin(
        &self,
        subject: &NninSubject,
        record: &NninConsentRecord,
    ) -> Result<(), Infallible> {
        self.records
            .lock()
            .unwrap()
            .insert(subject.key().to_owned(), record.clone());
        Ok(())
    }
}

/// Seed 001, steps 1 and 2: the ordinary login, with `nnin_altsub` and without `nnin`.
async fn first_login(merchant: &Client, browser: &Browser, user: &User) -> Login {
    let step1 = merchant
        .authorization_request()
        .await
        .unwrap()
        .scopes(["profile", "nnin_altsub"])
        .hint(&login_hint::bid())
        .build()
        .unwrap();
    assert!(!query(&step1)["scope"].split(' ').any(|s| s == "nnin"));
    let html = first_page(browser, &step1).await;
    let callback = Browser::callback(identify_bid(browser, &html, user).await);
    merchant
        .handle_callback(&step1.pending, &callback_params(&callback))
        .await
        .unwrap()
}

#[tokio::test]
async fn seed_001_nnin_consent_flow_runs_its_six_steps_and_stops_at_step_3_once_stored() {
    let s = Setup::start().await;
    let merchant = s.merchant().await;
    let store = MemoryConsentStore::default();
    let flow = NninConsentFlow::new(&merchant, &store);
    let kari = s.kari();
    let browser = Browser::new(&s.tp);

    // Step 1: authorize with nnin_altsub, not nnin (BankID identification).
    // Step 2: exchange the code; the verified ID token names the user by nnin_altsub.
    let first = first_login(&merchant, &browser, &kari).await;
    assert_eq!(
        first.id_token.claims.nnin_altsub.as_deref(),
        Some(kari.nnin.as_str())
    );

    // Step 3: no NNIN stored for this user yet, so continue with steps 4 to 6.
    assert_eq!(flow.check(&first).await.unwrap(), NninStatus::ConsentNeeded);

    // Step 4: authorize with scope nnin and the ID token as id_token_hint (pushed, since the
    // hint carries the NNIN). Identification is skipped; the user only sees the consent page.
    let step4 = flow.consent_redirect(&first).await.unwrap();
    assert_eq!(query_names(&step4), names(&["client_id", "request_uri"]));
    let html = first_page(&browser, &step4).await;
    assert!(
        text_of(&html, "consent-nnin").is_some(),
        "the consent page asks for the NNIN: {html}"
    );
    assert!(!has_field(&html, "nnin") && !has_field(&html, "otp"));
    let callback = Browser::callback(
        browser
            .submit(&html, &[], Some(("decision", "allow")))
            .await,
    );

    // Step 5: exchange the code and verify the new ID token, as in step 2.
    let consent = merchant
        .handle_callback(&step4.pending, &callback_params(&callback))
        .await
        .unwrap();
    assert_eq!(consent.id_token.claims.sub, first.id_token.claims.sub);

    // Step 6: userinfo with the access token of step 5 has nnin; the merchant stores it with
    // the consent (BankID stores none).
    let outcome = flow
        .store_consented_nnin(&first.id_token.claims, &consent)
        .await
        .unwrap();
    let NninConsentOutcome::Stored(record) = outcome else {
        panic!("the user consented, yet no NNIN: {outcome:?}");
    };
    assert_eq!(record.nnin.as_str(), kari.nnin);
    assert_eq!(record.client_id, MERCHANT_ID);
    assert_eq!(record.issuer, s.tp.issuer);
    assert_eq!(store.stored(&kari.pid), Some(record));

    // The next login of the same user: steps 1 to 3, and step 3 stops the flow.
    let again = first_login(&merchant, &Browser::new(&s.tp), &kari).await;
    assert_eq!(flow.check(&again).await.unwrap(), NninStatus::AlreadyStored);
}

#[tokio::test]
async fn a_denied_nnin_consent_stores_nothing_and_a_login_without_consent_never_yields_nnin() {
    let s = Setup::start().await;
    let merchant = s.merchant().await;
    let store = MemoryConsentStore::default();
    let flow = NninConsentFlow::new(&merchant, &store);
    let kari = s.kari();
    let browser = Browser::new(&s.tp);

    let first = first_login(&merchant, &browser, &kari).await;
    assert_eq!(flow.check(&first).await.unwrap(), NninStatus::ConsentNeeded);
    let step4 = flow.consent_redirect(&first).await.unwrap();
    let html = first_page(&browser, &step4).await;
    let callback = Browser::callback(browser.submit(&html, &[], Some(("decision", "deny"))).await);
    let err = merchant
        .handle_callback(&step4.pending, &callback_params(&callback))
        .await
        .unwrap_err();
    assert_eq!(
        err.provider_error().map(|e| e.code.as_str()),
        Some("access_denied"),
        "{err:?}"
    );

    // The first login's token was issued without consent: userinfo has no nnin.
    assert_eq!(
        flow.store_consented_nnin(&first.id_token.claims, &first)
            .await
            .unwrap(),
        NninConsentOutcome::NotGiven
    );
    assert_eq!(store.stored(&kari.pid), None);
    assert_eq!(flow.check(&first).await.unwrap(), NninStatus::ConsentNeeded);
}

#[tokio::test]
async fn a_payment_by_par_comes_back_as_the_permission_digest_the_library_verifies() {
    let s = Setup::start().await;
    let shop = s.shop().await;
    let kari = s.kari();
    let payment = PaymentRequest::new("basket-42")
        .payment("order-1", "123.45", "NOK", "Scrooge McDuck")
        .build()
        .unwrap();
    let request = || async {
        shop.authorization_request()
            .await
            .unwrap()
            .hint(&login_hint::bid_with_nnin(&kari.nnin).unwrap())
            .payment(&payment)
    };

    // Outside PAR the library refuses the payment, as BankID would.
    let err = request().await.build().unwrap_err();
    assert!(matches!(err, Error::NotAllowedInChannel { .. }), "{err:?}");

    let approve = |login: AuthorizationRedirect| {
        let tp = &s.tp;
        let kari = kari.clone();
        async move {
            let browser = Browser::new(tp);
            let html = first_page(&browser, &login).await;
            let (_, consent) = Browser::page(identify_bid(&browser, &html, &kari).await);
            assert!(
                consent.contains("123.45 NOK") && consent.contains("Scrooge McDuck"),
                "the user sees the payment: {consent}"
            );
            let callback = Browser::callback(
                browser
                    .submit(&consent, &[], Some(("decision", "allow")))
                    .await,
            );
            (login, callback)
        }
    };

    let (login, callback) = approve(
        shop.push_authorization_request(request().await)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        login.pending.permission_digest.as_deref(),
        Some(payment.expected_digest.as_str())
    );
    let result = shop
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap();
    assert_eq!(
        result.id_token.claims.permission_digest.as_deref(),
        Some(payment.expected_digest.as_str())
    );
    let access = verify_with_jwks(&s.tp, &result.tokens.access_token).await;
    assert_eq!(access["authorization_details"][0]["type"], "payment.v1");
    assert_eq!(
        access["authorization_details"][0]["digest"],
        payment.expected_digest.as_str()
    );
    assert_eq!(
        access["authorization_details"][0]["permission"],
        payment.permission.as_str()
    );

    // Another statement's digest is not this login's approval.
    let other = PaymentRequest::new("basket-42")
        .payment("order-1", "999.00", "NOK", "Scrooge McDuck")
        .build()
        .unwrap();
    let err =
        verify_permission_digest(&result.id_token.claims, &other.expected_digest).unwrap_err();
    assert!(
        matches!(&err, Error::PermissionDigestMismatch { found: Some(f), .. } if *f == payment.expected_digest),
        "{err:?}"
    );

    // A pending login whose expectation was tampered with fails at the callback.
    let (mut login, callback) = approve(
        shop.push_authorization_request(request().await)
            .await
            .unwrap(),
    )
    .await;
    login.pending.permission_digest = Some(other.expected_digest.clone());
    let err = shop
        .handle_callback(&login.pending, &callback_params(&callback))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::PermissionDigestMismatch { expected, .. } if *expected == other.expected_digest),
        "{err:?}"
    );
}

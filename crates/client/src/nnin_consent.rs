//! The NNIN consent flow of seed 001: BankID asks the user's consent to share the national
//! identity number (fødselsnummer) with the merchant, and the merchant stores the NNIN with the
//! consent. BankID stores no consent; the merchant does, through [`NninConsentStore`].
//!
//! | Step | Seed 001                                                   | Here                                          |
//! |------|------------------------------------------------------------|-----------------------------------------------|
//! | 1    | authorize with `nnin_altsub`, without `nnin`               | `Client::authorization_request`               |
//! | 2    | exchange the code, verify the ID token                     | `Client::handle_callback`                     |
//! | 3    | is an NNIN stored for this user? yes: stop                 | [`NninConsentFlow::check`]                    |
//! | 4    | authorize with scope `nnin` and `id_token_hint`            | [`NninConsentFlow::consent_redirect`]         |
//! | 5    | exchange the code, verify the ID token                     | `Client::handle_callback`                     |
//! | 6    | userinfo with the access token: `nnin` if the user agreed  | [`NninConsentFlow::store_consented_nnin`]     |
//!
//! Step 4 is pushed (PAR) when the provider offers it, because the hint, an ID token, carries
//! the NNIN in `nnin_altsub`, and a URL is the wrong place for it. The pure parts
//! ([`subject_of`], [`consent_request`], [`check_same_user`], [`consent_record`]) serve a
//! merchant with its own HTTP stack.

use crate::Error;
use crate::authorization::{AuthorizationRedirect, AuthorizationRequest};
use crate::client::{Client, Login};
use crate::id_token::IdToken;
use crate::userinfo::UserInfo;
use bankid_oidc_core::claims::IdTokenClaims;
use bankid_oidc_core::nnin::Nnin;
use std::future::Future;

/// The user a login is about, as the merchant's store may know them: by BankID's stable
/// `bankid_altsub` (the PID, the same for every merchant) or by this provider's `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NninSubject {
    pub sub: String,
    pub bankid_altsub: Option<String>,
}

impl NninSubject {
    /// The key to store under: `bankid_altsub` when the provider sent it, else `sub`.
    pub fn key(&self) -> &str {
        self.bankid_altsub.as_deref().unwrap_or(&self.sub)
    }
}

/// What the merchant keeps: the NNIN and the proof of the consent it was shared under.
#[derive(Clone, PartialEq, Eq)]
pub struct NninConsentRecord {
    pub nnin: Nnin,
    pub issuer: String,
    pub client_id: String,
    /// When the consent was given: the `iat` of the ID token of step 5.
    pub consented_at: i64,
    /// The `jti` of that ID token, to find the login again.
    pub id_token_jti: Option<String>,
}

impl std::fmt::Debug for NninConsentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Nnin's Debug shows only the birth date part.
        f.debug_struct("NninConsentRecord")
            .field("nnin", &self.nnin)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("consented_at", &self.consented_at)
            .field("id_token_jti", &self.id_token_jti)
            .finish()
    }
}

/// Where the merchant keeps NNINs and the consents they were shared under.
pub trait NninConsentStore: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Whether an NNIN (with consent) is stored for this user (seed 001 step 3).
    fn has_nnin(
        &self,
        subject: &NninSubject,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Stores the NNIN with its consent (step 6).
    fn store_nnin(
        &self,
        subject: &NninSubject,
        record: &NninConsentRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The outcome of step 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NninStatus {
    /// The NNIN is stored: all is well, stop here.
    AlreadyStored,
    /// Continue with steps 4 to 6.
    ConsentNeeded,
}

/// The outcome of step 6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NninConsentOutcome {
    /// The user agreed; the NNIN was stored with this record.
    Stored(NninConsentRecord),
    /// Userinfo has no `nnin`: the user did not agree, and nothing was stored.
    NotGiven,
}

/// The user of a login.
pub fn subject_of(claims: &IdTokenClaims) -> NninSubject {
    NninSubject {
        sub: claims.sub.clone(),
        bankid_altsub: claims.bankid_altsub.clone(),
    }
}

/// Step 4's request: scope `nnin` and the first login's ID token as `id_token_hint`, on a
/// request started with `Client::authorization_request`.
pub fn consent_request(request: AuthorizationRequest, first: &IdToken) -> AuthorizationRequest {
    request.scopes(["nnin"]).id_token_hint(&first.raw)
}

/// The login of step 5 must be about the user of step 2: a consent is stored for the user who
/// gave it, never for another.
pub fn check_same_user(first: &IdTokenClaims, consent: &IdTokenClaims) -> Result<(), Error> {
    if first.sub != consent.sub {
        return Err(Error::NninConsentUserMismatch { claim: "sub" });
    }
    if first.bankid_altsub.is_some() && consent.bankid_altsub != first.bankid_altsub {
        return Err(Error::NninConsentUserMismatch {
            claim: "bankid_altsub",
        });
    }
    Ok(())
}

/// Step 6's reading of userinfo: `Some` record when the user consented (`nnin` present and a
/// valid NNIN, the same as the first login's `nnin_altsub` if it had one), `None` when not.
pub fn consent_record(
    first: &IdTokenClaims,
    consent: &Login,
    info: &UserInfo,
) -> Result<Option<NninConsentRecord>, Error> {
    check_same_user(first, &consent.id_token.claims)?;
    let Some(text) = info.nnin.as_deref() else {
        return Ok(None);
    };
    let nnin = Nnin::parse(text).map_err(|e| Error::MalformedResponse {
        what: "userinfo nnin",
        detail: e.to_string(),
    })?;
    if first
        .nnin_altsub
        .as_deref()
        .is_some_and(|altsub| altsub != nnin.as_str())
    {
        return Err(Error::NninConsentUserMismatch {
            claim: "nnin (userinfo) and nnin_altsub (first ID token)",
        });
    }
    let claims = &consent.id_token.claims;
    Ok(Some(NninConsentRecord {
        nnin,
        issuer: claims.iss.clone(),
        client_id: claims.azp.clone().unwrap_or_else(|| first_audience(claims)),
        consented_at: claims.iat,
        id_token_jti: claims.jti.clone(),
    }))
}

fn first_audience(claims: &IdTokenClaims) -> String {
    match &claims.aud {
        bankid_oidc_core::claims::Audience::One(a) => a.clone(),
        bankid_oidc_core::claims::Audience::Many(list) => list.first().cloned().unwrap_or_default(),
    }
}

fn store_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
    Error::ConsentStore(Box::new(e))
}

/// Steps 3, 4 and 6 of seed 001 for one client and the merchant's store; steps 1, 2 and 5 are
/// the ordinary login (`Client::authorization_request`, `Client::handle_callback`).
#[derive(Debug)]
pub struct NninConsentFlow<'a, S> {
    client: &'a Client,
    store: &'a S,
}

impl<'a, S: NninConsentStore> NninConsentFlow<'a, S> {
    pub fn new(client: &'a Client, store: &'a S) -> Self {
        NninConsentFlow { client, store }
    }

    /// Step 3: is an NNIN stored for the user of the first login?
    pub async fn check(&self, first: &Login) -> Result<NninStatus, Error> {
        let subject = subject_of(&first.id_token.claims);
        Ok(
            if self.store.has_nnin(&subject).await.map_err(store_error)? {
                NninStatus::AlreadyStored
            } else {
                NninStatus::ConsentNeeded
            },
        )
    }

    /// Step 4: the consent request, pushed when the provider offers PAR. Keep the returned
    /// pending login and the first login's ID token in the session for steps 5 and 6.
    pub async fn consent_redirect(&self, first: &Login) -> Result<AuthorizationRedirect, Error> {
        let request = consent_request(self.client.authorization_request().await?, &first.id_token);
        let metadata = self.client.metadata().await?;
        if metadata.pushed_authorization_request_endpoint.is_some() {
            self.client.push_authorization_request(request).await
        } else {
            request.build()
        }
    }

    /// Step 6: userinfo with the access token of step 5; stores the NNIN with its consent if the
    /// user agreed. `first` is the first login's ID token claims (step 2), `consent` the login
    /// of step 5.
    pub async fn store_consented_nnin(
        &self,
        first: &IdTokenClaims,
        consent: &Login,
    ) -> Result<NninConsentOutcome, Error> {
        check_same_user(first, &consent.id_token.claims)?;
        let info = self
            .client
            .userinfo(&consent.tokens.access_token, &consent.id_token.claims.sub)
            .await?;
        match consent_record(first, consent, &info)? {
            Some(record) => {
                self.store
                    .store_nnin(&subject_of(first), &record)
                    .await
                    .map_err(store_error)?;
                Ok(NninConsentOutcome::Stored(record))
            }
            None => Ok(NninConsentOutcome::NotGiven),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::discovery::ProviderMetadata;

    const NNIN: &str = "15076500565";

    fn claims(sub: &str, altsub: Option<&str>, nnin_altsub: Option<&str>) -> IdTokenClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "https://op.example", "sub": sub, "aud": "shop", "azp": "shop",
            "exp": 200, "iat": 100, "jti": "j-1",
            "bankid_altsub": altsub, "nnin_altsub": nnin_altsub,
        }))
        .unwrap()
    }

    fn login(claims: IdTokenClaims) -> Login {
        Login {
            id_token: IdToken {
                claims,
                raw: "h.p.s".into(),
            },
            tokens: serde_json::from_value(serde_json::json!({
                "access_token": "at", "token_type": "Bearer", "expires_in": 300
            }))
            .unwrap(),
        }
    }

    fn userinfo(sub: &str, nnin: Option<&str>) -> UserInfo {
        serde_json::from_value(serde_json::json!({"sub": sub, "nnin": nnin})).unwrap()
    }

    #[test]
    fn the_subject_is_keyed_by_bankid_altsub_and_falls_back_to_sub() {
        let with = subject_of(&claims("u1", Some("9578-6000-4-1"), None));
        assert_eq!(with.key(), "9578-6000-4-1");
        let without = subject_of(&claims("u1", None, None));
        assert_eq!(without.key(), "u1");
    }

    #[test]
    fn step_4_asks_for_nnin_with_the_first_id_token_as_hint() {
        let metadata = ProviderMetadata {
            issuer: "https://op.example".into(),
            authorization_endpoint: Some("https://op.example/auth".into()),
            jwks_uri: "https://op.example/jwks".into(),
            ..Default::default()
        };
        let first = login(claims("u1", None, Some(NNIN)));
        let request = AuthorizationRequest::new(&metadata, "shop", "https://shop.example/cb");
        let params = consent_request(request, &first.id_token)
            .prepare(crate::Channel::Pushed)
            .unwrap();
        assert_eq!(params.get("scope"), Some("openid nnin"));
        assert_eq!(params.get("id_token_hint"), Some("h.p.s"));
    }

    #[test]
    fn step_6_records_the_consented_nnin_and_nothing_without_consent() {
        let first = claims("u1", Some("pid"), Some(NNIN));
        let consent = login(claims("u1", Some("pid"), None));
        let record = consent_record(&first, &consent, &userinfo("u1", Some(NNIN)))
            .unwrap()
            .unwrap();
        assert_eq!(record.nnin.as_str(), NNIN);
        assert_eq!(record.client_id, "shop");
        assert_eq!(record.consented_at, 100);
        assert!(
            !format!("{record:?}").contains(NNIN),
            "the NNIN stays out of logs"
        );
        assert_eq!(
            consent_record(&first, &consent, &userinfo("u1", None)).unwrap(),
            None
        );
    }

    #[test]
    fn step_6_refuses_a_consent_of_another_user_or_a_different_nnin() {
        let first = claims("u1", Some("pid"), Some(NNIN));
        let other = login(claims("u2", Some("pid"), None));
        assert!(matches!(
            consent_record(&first, &other, &userinfo("u2", Some(NNIN))),
            Err(Error::NninConsentUserMismatch { claim: "sub" })
        ));
        let other_pid = login(claims("u1", Some("pid-2"), None));
        assert!(matches!(
            check_same_user(&first, &other_pid.id_token.claims),
            Err(Error::NninConsentUserMismatch {
                claim: "bankid_altsub"
            })
        ));
        let same = login(claims("u1", Some("pid"), None));
        let different = Nnin::synthetic(1990, 1, 1, 0);
        assert!(matches!(
            consent_record(&first, &same, &userinfo("u1", Some(different.as_str()))),
            Err(Error::NninConsentUserMismatch { .. })
        ));
        assert!(matches!(
            consent_record(&first, &same, &userinfo("u1", Some("15076500566"))),
            Err(Error::MalformedResponse { .. })
        ));
    }
}

//! The authorization response at the merchant's redirect URI, checked in the order of seed 002's
//! decision graph: state first, then (RFC 9207) the issuer, then the provider's error, then the
//! code.

use crate::Error;
use crate::authorization::PendingLogin;
use crate::error::ProviderError;
use bankid_oidc_core::discovery::ProviderMetadata;
use subtle::ConstantTimeEq;

/// The parameters of an authorization response, from a query string (`response_mode=query`), a
/// fragment handed over by the browser, or a form body (`form_post`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
}

impl CallbackParams {
    /// Parses `application/x-www-form-urlencoded` text: a query string (with or without `?`), a
    /// fragment (with or without `#`) or a form body.
    pub fn parse(encoded: &str) -> Self {
        let encoded = encoded.trim_start_matches(['?', '#']);
        let mut params = CallbackParams::default();
        for (name, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
            let slot = match name.as_ref() {
                "state" => &mut params.state,
                "code" => &mut params.code,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                "error_uri" => &mut params.error_uri,
                _ => continue,
            };
            // RFC 6749 section 3.1 forbids repeats; the first value counts, so that a value
            // appended after the provider's own cannot replace it.
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

/// A code that passed the callback checks, ready for the token exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode(pub String);

/// Checks the callback against the pending login and the provider's metadata.
pub fn validate_callback(
    pending: &PendingLogin,
    params: &CallbackParams,
    metadata: &ProviderMetadata,
) -> Result<AuthorizationCode, Error> {
    if pending.issuer != metadata.issuer {
        return Err(Error::PendingLoginIssuerMismatch {
            pending: pending.issuer.clone(),
            client: metadata.issuer.clone(),
        });
    }
    let state = params.state.as_deref().ok_or(Error::MissingState)?;
    if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(Error::StateMismatch);
    }
    // RFC 9207: when the provider promises `iss`, its absence is as suspicious as a wrong value;
    // a value that is present is checked either way.
    match &params.iss {
        Some(iss) if *iss != metadata.issuer => {
            return Err(Error::CallbackIssuerMismatch {
                expected: metadata.issuer.clone(),
                found: iss.clone(),
            });
        }
        None if metadata.authorization_response_iss_parameter_supported == Some(true) => {
            return Err(Error::MissingCallbackIssuer);
        }
        _ => {}
    }
    if let Some(code) = &params.error {
        return Err(Error::Authorization(ProviderError {
            code: code.clone(),
            description: params.error_description.clone(),
            uri: params.error_uri.clone(),
        }));
    }
    match params.code.as_deref() {
        Some(code) if !code.is_empty() => Ok(AuthorizationCode(code.to_owned())),
        _ => Err(Error::MissingCode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bankid_oidc_core::ErrorCode;

    const ISSUER: &str = "https://op.example/auth/realms/current";

    fn metadata(announces_iss: bool) -> ProviderMetadata {
        ProviderMetadata {
            issuer: ISSUER.into(),
            jwks_uri: "https://op.example/jwks".into(),
            authorization_response_iss_parameter_supported: Some(announces_iss),
            ..Default::default()
        }
    }

    fn pending() -> PendingLogin {
        PendingLogin {
            issuer: ISSUER.into(),
            client_id: "merchant".into(),
            redirect_uri: "https://m.example/cb".into(),
            state: "the-state".into(),
            nonce: "the-nonce".into(),
            code_verifier: "v".repeat(43),
            max_age: None,
            permission_digest: None,
            acr_values: Vec::new(),
        }
    }

    fn iss() -> String {
        url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect()
    }

    #[test]
    fn callback_with_matching_state_and_issuer_yields_the_code() {
        let params = CallbackParams::parse(&format!("?code=abc&state=the-state&iss={}", iss()));
        assert_eq!(
            validate_callback(&pending(), &params, &metadata(true)).unwrap(),
            AuthorizationCode("abc".into())
        );
    }

    #[test]
    fn callback_state_mismatch_fails_before_anything_else_is_looked_at() {
        let params = CallbackParams::parse("error=access_denied&state=other&iss=https://evil");
        assert!(matches!(
            validate_callback(&pending(), &params, &metadata(true)),
            Err(Error::StateMismatch)
        ));
        let params = CallbackParams::parse("code=abc");
        assert!(matches!(
            validate_callback(&pending(), &params, &metadata(true)),
            Err(Error::MissingState)
        ));
    }

    #[test]
    fn callback_error_becomes_a_typed_provider_error() {
        let params = CallbackParams::parse(&format!(
            "error=access_denied&error_description=User+cancelled&state=the-state&iss={}",
            iss()
        ));
        let err = validate_callback(&pending(), &params, &metadata(true)).unwrap_err();
        let provider = err.provider_error().expect("a provider error");
        assert_eq!(provider.known_code(), Some(ErrorCode::AccessDenied));
        assert_eq!(provider.description.as_deref(), Some("User cancelled"));
    }

    #[test]
    fn callback_iss_rfc_9207_mix_up_defence() {
        let wrong = CallbackParams::parse("code=abc&state=the-state&iss=https://other.example");
        assert!(matches!(
            validate_callback(&pending(), &wrong, &metadata(false)),
            Err(Error::CallbackIssuerMismatch { .. })
        ));
        let missing = CallbackParams::parse("code=abc&state=the-state");
        assert!(matches!(
            validate_callback(&pending(), &missing, &metadata(true)),
            Err(Error::MissingCallbackIssuer)
        ));
        // A provider that does not announce RFC 9207 may leave iss out.
        assert!(validate_callback(&pending(), &missing, &metadata(false)).is_ok());
    }

    #[test]
    fn callback_without_code_or_for_another_provider_fails() {
        let params = CallbackParams::parse(&format!("state=the-state&iss={}", iss()));
        assert!(matches!(
            validate_callback(&pending(), &params, &metadata(true)),
            Err(Error::MissingCode)
        ));
        let mut other = metadata(true);
        other.issuer = "https://bis.example".into();
        assert!(matches!(
            validate_callback(&pending(), &params, &other),
            Err(Error::PendingLoginIssuerMismatch { .. })
        ));
    }

    #[test]
    fn callback_params_parse_fragments_and_form_bodies() {
        let params = CallbackParams::parse("#code=a%2Bb&state=s");
        assert_eq!(params.code.as_deref(), Some("a+b"));
        assert_eq!(params.state.as_deref(), Some("s"));
    }
}

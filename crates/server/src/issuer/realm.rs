//! The BankID OIDC realm issuer: its endpoint paths and discovery document.

use super::{Endpoint, auth_methods, strings};
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::discovery::ProviderMetadata;
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::jwe::{ContentEncryption, KeyManagement};
use bankid_oidc_core::permission::PAYMENT_V1;
use bankid_oidc_core::request_object::SigningAlg;
use bankid_oidc_core::scope::{MACHINE_SCOPES, PERSON_SCOPES};

/// Endpoint paths below the issuer, as BankID's Keycloak realm has them. Only discovery
/// publishes them; no client of ours depends on them.
const AUTH_PATH: &str = "/protocol/openid-connect/auth";
const TOKEN_PATH: &str = "/protocol/openid-connect/token";
const USERINFO_PATH: &str = "/protocol/openid-connect/userinfo";
const JWKS_PATH: &str = "/protocol/openid-connect/certs";
const INTROSPECTION_PATH: &str = "/protocol/openid-connect/token/introspect";
const REVOCATION_PATH: &str = "/protocol/openid-connect/revoke";
const LOGOUT_PATH: &str = "/protocol/openid-connect/logout";
const PAR_PATH: &str = "/protocol/openid-connect/ext/par/request";
/// The encryption keys alone (BankID's `jwks_uri_enc`).
const JWKS_ENC_PATH: &str = "/protocol/openid-connect/certs/enc";
const LOGIN_ACTIONS_PATH: &str = "/login-actions";
const STYLESHEET_PATH: &str = "/resources/style.css";
/// Beside the stylesheet: the pages find it from the stylesheet's address (`base.html`).
const FAVICON_PATH: &str = "/resources/favicon.svg";
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The endpoints a realm serves, in the order the router adds them.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::Discovery,
    Endpoint::Jwks,
    Endpoint::JwksEnc,
    Endpoint::Authorization,
    Endpoint::PushedAuthorization,
    Endpoint::Token,
    Endpoint::Userinfo,
    Endpoint::Introspection,
    Endpoint::Revocation,
    Endpoint::Logout,
    Endpoint::LoginActions,
    Endpoint::Stylesheet,
    Endpoint::Favicon,
];

/// An endpoint's path below a realm issuer.
pub fn path(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Discovery => DISCOVERY_PATH,
        Endpoint::Jwks => JWKS_PATH,
        Endpoint::JwksEnc => JWKS_ENC_PATH,
        Endpoint::Authorization => AUTH_PATH,
        Endpoint::PushedAuthorization => PAR_PATH,
        Endpoint::Token => TOKEN_PATH,
        Endpoint::Userinfo => USERINFO_PATH,
        Endpoint::Introspection => INTROSPECTION_PATH,
        Endpoint::Revocation => REVOCATION_PATH,
        Endpoint::Logout => LOGOUT_PATH,
        Endpoint::LoginActions => LOGIN_ACTIONS_PATH,
        Endpoint::Stylesheet => STYLESHEET_PATH,
        Endpoint::Favicon => FAVICON_PATH,
        // Not served at realms: their paths are the BIS issuer's.
        Endpoint::JwksGrants
        | Endpoint::Permissions
        | Endpoint::PermissionUserExists
        | Endpoint::PermissionGrant
        | Endpoint::App
        | Endpoint::BackchannelAuthentication
        | Endpoint::IframeAuthorize
        | Endpoint::IframePage
        | Endpoint::IframeStatus
        | Endpoint::IframeScript => super::bis::path(endpoint),
    }
}

/// The grant types a realm's token endpoint serves (CIBA belongs to the BIS issuer).
pub const GRANT_TYPES: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
];

/// The discovery document of the realm issuer `issuer`.
pub fn discovery(issuer: &str) -> ProviderMetadata {
    let url = |path: &str| format!("{issuer}{path}");
    ProviderMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: Some(url(AUTH_PATH)),
        token_endpoint: Some(url(TOKEN_PATH)),
        userinfo_endpoint: Some(url(USERINFO_PATH)),
        jwks_uri: url(JWKS_PATH),
        introspection_endpoint: Some(url(INTROSPECTION_PATH)),
        token_introspection_endpoint: Some(url(INTROSPECTION_PATH)),
        revocation_endpoint: Some(url(REVOCATION_PATH)),
        end_session_endpoint: Some(url(LOGOUT_PATH)),
        pushed_authorization_request_endpoint: Some(url(PAR_PATH)),
        require_pushed_authorization_requests: Some(false),
        jwks_uri_enc: Some(url(JWKS_ENC_PATH)),
        request_object_signing_alg_values_supported: SigningAlg::ALL
            .iter()
            .map(|a| a.name().to_owned())
            .collect(),
        request_object_encryption_alg_values_supported: KeyManagement::ALL
            .iter()
            .map(|a| a.name().to_owned())
            .collect(),
        request_object_encryption_enc_values_supported: ContentEncryption::ALL
            .iter()
            .map(|e| e.name().to_owned())
            .collect(),
        authorization_details_types_supported: strings(&[PAYMENT_V1]),
        scopes_supported: PERSON_SCOPES
            .iter()
            .chain(MACHINE_SCOPES)
            .map(|s| (*s).to_owned())
            .collect(),
        claims_supported: strings(&[
            "iss",
            "sub",
            "aud",
            "azp",
            "exp",
            "iat",
            "jti",
            "sid",
            "nonce",
            "acr",
            "amr",
            "typ",
            "api_ver",
            "at_hash",
            "bankid_altsub",
            "nnin_altsub",
            "name",
            "given_name",
            "family_name",
            "birthdate",
            "updated_at",
            "email",
            "phone_number",
            "address",
            "nnin",
            "permission_digest",
        ]),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query", "fragment", "form_post"]),
        grant_types_supported: GRANT_TYPES.iter().map(|g| g.to_string()).collect(),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["ES256"]),
        token_endpoint_auth_methods_supported: auth_methods(),
        token_endpoint_auth_signing_alg_values_supported: SigningAlg::ALL
            .iter()
            .map(|a| a.name().to_owned())
            .collect(),
        introspection_endpoint_auth_methods_supported: auth_methods(),
        revocation_endpoint_auth_methods_supported: auth_methods(),
        code_challenge_methods_supported: strings(&["S256"]),
        acr_values_supported: Method::ALL
            .iter()
            .map(|m| m.acr_value().to_owned())
            .collect(),
        ui_locales_supported: strings(&["nb", "en"]),
        prompt_values_supported: strings(&["none", "login", "consent", "select_account"]),
        claims_parameter_supported: Some(false),
        request_parameter_supported: Some(true),
        request_uri_parameter_supported: Some(false),
        authorization_response_iss_parameter_supported: Some(true),
        tls_client_certificate_bound_access_tokens: Some(false),
        ..ProviderMetadata::default()
    }
}

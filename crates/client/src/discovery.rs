//! Discovery (OpenID Connect Discovery 1.0): where the configuration lives, and the check that it
//! belongs to the issuer we asked (section 4.3: `issuer` must equal the URL it was fetched for).

use crate::Error;
use crate::http::HttpResponse;
use bankid_oidc_core::discovery::ProviderMetadata;

/// `{issuer}/.well-known/openid-configuration`, without doubling a trailing slash.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Reads a discovery response and checks it against the issuer it was fetched for.
pub fn process_discovery_response(
    expected_issuer: &str,
    response: &HttpResponse,
) -> Result<ProviderMetadata, Error> {
    if response.status != 200 {
        return Err(Error::HttpStatus {
            url: discovery_url(expected_issuer),
            status: response.status,
            body: response.body_excerpt(),
        });
    }
    let metadata: ProviderMetadata =
        serde_json::from_slice(&response.body).map_err(|e| Error::MalformedResponse {
            what: "discovery document",
            detail: e.to_string(),
        })?;
    check_metadata(expected_issuer, metadata)
}

/// The issuer check alone, for metadata obtained some other way (a file, a test).
pub fn check_metadata(
    expected_issuer: &str,
    metadata: ProviderMetadata,
) -> Result<ProviderMetadata, Error> {
    // Exact comparison: a provider that publishes another issuer than the one configured would
    // issue tokens whose `iss` the merchant never checks against the right value.
    if metadata.issuer != expected_issuer {
        return Err(Error::IssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: metadata.issuer,
        });
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn discovery_url_appends_the_well_known_path_once() {
        assert_eq!(
            discovery_url("https://auth.current.bankid.no/auth/realms/current"),
            "https://auth.current.bankid.no/auth/realms/current/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://app.bankid.no/"),
            "https://app.bankid.no/.well-known/openid-configuration"
        );
    }

    #[test]
    fn discovery_refuses_a_document_for_another_issuer() {
        let body = r#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"}"#;
        let err = process_discovery_response("https://good.example", &response(body)).unwrap_err();
        assert!(
            matches!(err, Error::IssuerMismatch { ref found, .. } if found == "https://evil.example")
        );
    }

    #[test]
    fn discovery_reads_bankid_extension_fields() {
        let body = r#"{"issuer":"https://bis.example","jwks_uri":"https://bis.example/jwks",
            "permissions_endpoint":"https://bis.example/permissions/v1/",
            "jwks_uri_grants":"https://bis.example/grants/jwks",
            "id_token_signing_alg_values_supported":["ES256"]}"#;
        let metadata = process_discovery_response("https://bis.example", &response(body)).unwrap();
        assert_eq!(
            metadata.permissions_endpoint.as_deref(),
            Some("https://bis.example/permissions/v1/")
        );
        assert_eq!(metadata.id_token_signing_alg_values_supported, ["ES256"]);
    }

    #[test]
    fn discovery_reports_http_errors_and_bad_json() {
        let mut not_found = response("nope");
        not_found.status = 404;
        assert!(matches!(
            process_discovery_response("https://x.example", &not_found),
            Err(Error::HttpStatus { status: 404, .. })
        ));
        assert!(matches!(
            process_discovery_response("https://x.example", &response("{")),
            Err(Error::MalformedResponse { .. })
        ));
    }
}

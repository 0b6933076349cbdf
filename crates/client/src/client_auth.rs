//! How the client proves its identity at the token endpoint.

use crate::Error;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use std::sync::Arc;

/// Signs `private_key_jwt` client assertions (RFC 7523). The library stays out of key handling:
/// implement this with the key store you have.
pub trait ClientAssertionSigner: Send + Sync {
    /// A signed JWT with `iss` and `sub` = `client_id`, `aud` = `audience` (the provider's issuer
    /// or token endpoint), a fresh `jti` and a short `exp`.
    fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, Error>;
}

/// The token endpoint authentication method.
#[derive(Clone)]
pub enum ClientAuth {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 section 2.3.1). BankID's
    /// default.
    SecretBasic { secret: String },
    /// `client_id` and `client_secret` in the form body.
    SecretPost { secret: String },
    /// A signed JWT assertion (`client_assertion_type=...jwt-bearer`).
    PrivateKeyJwt(Arc<dyn ClientAssertionSigner>),
    /// A public client: only `client_id` (PKCE carries the proof).
    None,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientAuth::SecretBasic { .. } => "SecretBasic",
            ClientAuth::SecretPost { .. } => "SecretPost",
            ClientAuth::PrivateKeyJwt(_) => "PrivateKeyJwt",
            ClientAuth::None => "None",
        })
    }
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl ClientAuth {
    /// Adds the credentials to a token request: returns the `Authorization` header value, if any,
    /// and appends form fields.
    pub(crate) fn apply(
        &self,
        client_id: &str,
        audience: &str,
        form: &mut Vec<(String, String)>,
    ) -> Result<Option<String>, Error> {
        match self {
            ClientAuth::SecretBasic { secret } => Ok(Some(basic_authorization(client_id, secret))),
            ClientAuth::SecretPost { secret } => {
                form.push(("client_id".into(), client_id.into()));
                form.push(("client_secret".into(), secret.clone()));
                Ok(None)
            }
            ClientAuth::PrivateKeyJwt(signer) => {
                form.push(("client_id".into(), client_id.into()));
                form.push(("client_assertion_type".into(), JWT_BEARER.into()));
                form.push((
                    "client_assertion".into(),
                    signer.client_assertion(client_id, audience)?,
                ));
                Ok(None)
            }
            ClientAuth::None => {
                form.push(("client_id".into(), client_id.into()));
                Ok(None)
            }
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`. RFC 6749 section 2.3.1 form-urlencodes
/// both before joining them, so a secret with `:` or `+` survives; many libraries skip this.
/// Standard base64 with padding, not the base64url of JOSE.
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    format!("Basic {}", STANDARD.encode(credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_form_urlencodes_id_and_secret_first() {
        // "a b:c" -> "a+b%3Ac"; "s+/=" -> "s%2B%2F%3D"
        let header = basic_authorization("a b:c", "s+/=");
        let decoded = STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"a+b%3Ac:s%2B%2F%3D");
        assert_eq!(
            basic_authorization("client", "secret"),
            "Basic Y2xpZW50OnNlY3JldA=="
        );
    }

    #[test]
    fn secret_post_and_private_key_jwt_put_credentials_in_the_form() {
        struct Fixed;
        impl ClientAssertionSigner for Fixed {
            fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, Error> {
                Ok(format!("{client_id}@{audience}"))
            }
        }
        let mut form = Vec::new();
        let header = ClientAuth::PrivateKeyJwt(Arc::new(Fixed))
            .apply("c", "https://op.example", &mut form)
            .unwrap();
        assert_eq!(header, None);
        assert!(form.contains(&("client_assertion".into(), "c@https://op.example".into())));
        assert!(form.contains(&("client_assertion_type".into(), JWT_BEARER.into())));

        let mut form = Vec::new();
        ClientAuth::SecretPost { secret: "s".into() }
            .apply("c", "https://op.example", &mut form)
            .unwrap();
        assert_eq!(
            form,
            [
                ("client_id".into(), "c".into()),
                ("client_secret".into(), "s".into())
            ]
        );
    }
}

//! What a first start puts in an empty store: a demo client and a few test users, so that a
//! login works without any setup.

use crate::registration;
use crate::secret::{new_id, random_bytes, random_token};
use crate::store::{Client, Store, StoreResult, User};
use bankid_oidc_core::grant_type::GrantType;
use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_core::pid;
use bankid_oidc_core::scope::{BIS_SCOPES, PERSON_SCOPES, ScopeSet};

pub const DEMO_CLIENT_ID: &str = "demo-merchant";
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8081/callback";
pub const DEMO_POST_LOGOUT_URI: &str = "http://127.0.0.1:8081/";
/// BankID's test environment uses these for its test users; so do we unless told otherwise.
pub const DEFAULT_OTP: &str = "otp";
pub const DEFAULT_PASSWORD: &str = "qwer1234";

/// The demo client as created, with its secret in clear: it is shown once and kept nowhere but
/// where the caller puts it.
pub struct DemoClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// A new user with a generated id and BankID PID.
#[allow(clippy::too_many_arguments)]
pub fn new_user(
    nnin: &Nnin,
    given_name: &str,
    family_name: &str,
    birthdate: &str,
    email: Option<String>,
    phone: Option<String>,
    otp: Option<String>,
    password: Option<String>,
    now: i64,
) -> User {
    User {
        id: new_id(),
        nnin: nnin.to_string(),
        pid: pid::from_random(random_bytes::<16>()),
        given_name: given_name.to_owned(),
        family_name: family_name.to_owned(),
        birthdate: birthdate.to_owned(),
        email,
        phone,
        address: None,
        otp: otp.unwrap_or_else(|| DEFAULT_OTP.into()),
        password: password.unwrap_or_else(|| DEFAULT_PASSWORD.into()),
        failed_attempts: 0,
        locked_until: None,
        updated_at: now,
        next_login_scripted: false,
    }
}

pub use crate::registration::new_client;

/// Where the demo merchant (`bankid-oidc demo`) receives its codes.
pub fn demo_redirect_uris() -> Vec<String> {
    vec![
        DEMO_REDIRECT_URI.to_owned(),
        "http://localhost:8081/callback".to_owned(),
    ]
}

/// Where RP-initiated logout sends the browser back to the demo merchant.
pub fn demo_post_logout_redirect_uris() -> Vec<String> {
    vec![
        DEMO_POST_LOGOUT_URI.to_owned(),
        "http://localhost:8081/".to_owned(),
    ]
}

/// The machine scopes the demo merchant asks for with client credentials: registering
/// permissions (seed 004), a text permission, and the iframe and CIBA flows.
pub const DEMO_MACHINE_SCOPES: &[&str] = &[
    "permissions/client",
    "permissions/text",
    "permissions/iframe",
    "permissions/ciba",
];

/// The demo client's registration: everything `bankid-oidc demo` shows must work with it, so it
/// has the person scopes of the realm, the BIS scopes, the permissions scopes, and the grants
/// of a login with refresh, of a machine token and of CIBA.
pub fn demo_registration(secret: &str, now: i64) -> Client {
    let scopes: ScopeSet = PERSON_SCOPES
        .iter()
        .chain(BIS_SCOPES)
        .chain(DEMO_MACHINE_SCOPES)
        .copied()
        .collect();
    let mut client = new_client(DEMO_CLIENT_ID, secret, demo_redirect_uris(), scopes, now);
    client.name = "Demo merchant".into();
    client.grant_types = vec![
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Ciba,
    ];
    client.post_logout_redirect_uris = demo_post_logout_redirect_uris();
    client
}

/// Creates the demo client if the store has no client at all.
pub async fn demo_client(store: &dyn Store, now: i64) -> StoreResult<Option<DemoClient>> {
    if !store.clients().await?.is_empty() {
        return Ok(None);
    }
    let secret = random_token();
    let client = demo_registration(&secret, now);
    // The same rules as `bankid-oidc clients add`; a unit test holds the demo client to them.
    registration::check_client(&client).expect("the demo client meets the registration rules");
    store.add_client(&client).await?;
    Ok(Some(DemoClient {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: secret,
        redirect_uri: DEMO_REDIRECT_URI.into(),
    }))
}

/// Creates three test users with synthetic NNINs if the store has no user at all.
pub async fn test_users(store: &dyn Store, now: i64) -> StoreResult<Vec<User>> {
    if !store.users().await?.is_empty() {
        return Ok(Vec::new());
    }
    let people = [
        (
            "Kari",
            "Nordmann",
            (1985, 3, 15),
            "kari.nordmann@example.no",
            "48000001",
            "Storgata 1, 0155 Oslo",
        ),
        (
            "Ola",
            "Nordmann",
            (1979, 11, 2),
            "ola.nordmann@example.no",
            "48000002",
            "Bryggen 5, 5003 Bergen",
        ),
        (
            "Ingrid",
            "Testesen",
            (2001, 7, 30),
            "ingrid.testesen@example.no",
            "48000003",
            "Munkegata 10, 7011 Trondheim",
        ),
    ];
    let mut users = Vec::new();
    for (i, (given, family, (y, m, d), email, phone, address)) in people.into_iter().enumerate() {
        let nnin = Nnin::synthetic(y, m, d, 400 + 37 * i as u32);
        let user = new_user(
            &nnin,
            given,
            family,
            &format!("{y:04}-{m:02}-{d:02}"),
            Some(email.into()),
            Some(phone.into()),
            None,
            None,
            now,
        );
        let user = User {
            address: Some(address_claim(address).expect("seeded addresses parse")),
            ..user
        };
        store.add_user(&user).await?;
        users.push(user);
    }
    Ok(users)
}

/// The OpenID Connect address claim (JSON) for a Norwegian address written as
/// "street, postal code locality", e.g. "Storgata 1, 0155 Oslo".
pub fn address_claim(text: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "address '{text}': write it as \"street, postal code locality\", e.g. \"Storgata 1, 0155 Oslo\""
        )
    };
    let (street, place) = text.rsplit_once(',').ok_or_else(bad)?;
    let (postal_code, locality) = place.trim().split_once(' ').ok_or_else(bad)?;
    let (street, locality) = (street.trim(), locality.trim());
    if street.is_empty()
        || locality.is_empty()
        || postal_code.len() != 4
        || !postal_code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let claim = serde_json::json!({
        "formatted": format!("{street}\n{postal_code} {locality}\nNorway"),
        "street_address": street,
        "postal_code": postal_code,
        "locality": locality,
        "country": "NO",
    });
    Ok(claim.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_client_meets_the_registration_rules() {
        use super::*;
        let demo = demo_registration("secret", 0);
        assert_eq!(registration::check_client(&demo), Ok(()));
        // What `bankid-oidc demo` offers needs all of these.
        for scope in ["nnin_altsub", "offline_access", "sub_nnin", "sub_bankid"]
            .iter()
            .chain(DEMO_MACHINE_SCOPES)
        {
            assert!(demo.scopes.contains(scope), "{scope}");
        }
        for grant in [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ] {
            assert!(demo.allows_grant(grant), "{grant}");
        }
        assert!(
            demo.post_logout_redirect_uris
                .contains(&DEMO_POST_LOGOUT_URI.to_owned())
        );
    }

    #[test]
    fn addresses_are_street_postal_code_and_locality() {
        let claim: serde_json::Value =
            serde_json::from_str(&super::address_claim("Storgata 1, 0155 Oslo").unwrap()).unwrap();
        assert_eq!(claim["street_address"], "Storgata 1");
        assert_eq!(claim["postal_code"], "0155");
        assert_eq!(claim["locality"], "Oslo");
        assert_eq!(claim["country"], "NO");
        for bad in [
            "Storgata 1",
            "Storgata 1, Oslo",
            "Storgata 1, 155 Oslo",
            ", 0155 Oslo",
        ] {
            assert!(super::address_claim(bad).is_err(), "{bad}");
        }
    }
}

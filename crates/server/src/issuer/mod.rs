//! The issuers this process serves. The realm issuer (`/auth/realms/{realm}`, Keycloak-style
//! paths) is here now; the BankID with biometrics issuer (`/bis`) joins it with its own discovery.

pub mod realm;

pub use realm::RealmIssuer;

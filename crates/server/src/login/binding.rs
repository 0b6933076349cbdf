//! Binding messages: two short words shown both on the merchant's page and in the app, so the
//! user can see that the approval belongs to this login (the words: core `permission_request`).

use crate::secret::random_bytes;
use bankid_oidc_core::permission_request::binding_message;

pub fn new_binding_message() -> String {
    binding_message(random_bytes::<2>())
}

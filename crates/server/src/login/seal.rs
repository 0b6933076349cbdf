//! A login by redirect travels sealed in the address of each of its pages instead of being kept
//! by the server: anyone can send authorization requests by the thousand, and a flood of them
//! must not fill a store of logins in progress and lock real users out (issue "Provider
//! hardening", point 3). Each posted step answers with a redirect to an address that carries
//! the state after that step, so the store is written only when the login ends: on PostgreSQL a
//! login is seven statements fewer than with a row moved at every step (BENCHMARKS.md), any
//! instance serves any step, and a restart of the provider loses no login in progress.
//!
//! The seal is AES-256-GCM under a provider secret, with the flow id as associated data: it
//! cannot be read (it may carry an NNIN login_hint from a pushed request, and a chosen user's
//! id), changed, or moved to another flow id. It is bound to the browser (the cookie's hash is
//! inside) and expires with the flow. A login ends once: the store remembers an ended flow's id
//! until it would have expired, and the end is a conditional write, so no sealed page of it can
//! end it again.
//!
//! The same key seals what a posted step carries to the page it redirects to (a notice and
//! the values typed, see `flow::Carried`), which travels in a short-lived cookie: never an NNIN
//! in an address.

use super::flow::Carried;
use crate::store::LoginFlow;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use bankid_oidc_core::b64;

/// The name of the provider secret the seal key is made from.
pub const SECRET_NAME: &str = "login-flow-seal";

/// Longest sealed value opened (a flow with a large pushed request is a few kilobytes).
const MAX_SEALED: usize = 32 * 1024;

pub struct FlowSeal {
    key: LessSafeKey,
}

impl FlowSeal {
    pub fn new(secret: &[u8]) -> FlowSeal {
        let key = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret);
        FlowSeal {
            key: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, key.as_ref()).expect("a 256-bit key"),
            ),
        }
    }

    /// The flow, sealed: base64url of a random nonce and the ciphertext with its tag.
    pub fn seal(&self, flow: &LoginFlow) -> String {
        let data = serde_json::to_vec(flow).expect("a flow serializes");
        self.seal_bytes(flow.id.as_bytes(), data)
    }

    /// The flow sealed in `sealed` for `flow_id`, if it is one of ours, unchanged, for that id.
    pub fn open(&self, flow_id: &str, sealed: &str) -> Option<LoginFlow> {
        let plain = self.open_bytes(flow_id.as_bytes(), sealed)?;
        let flow: LoginFlow = serde_json::from_slice(&plain).ok()?;
        (flow.id == flow_id).then_some(flow)
    }

    /// What a posted step of `flow_id` carries to the page it redirects to, sealed like a
    /// flow. The associated data names what it is, so that neither seal opens as the other.
    pub fn seal_carried(&self, flow_id: &str, carried: &Carried) -> String {
        let data = serde_json::to_vec(carried).expect("a notice serializes");
        self.seal_bytes(carried_aad(flow_id).as_bytes(), data)
    }

    /// What `sealed` carries for `flow_id`'s page, if it is ours, unchanged, for that flow.
    pub fn open_carried(&self, flow_id: &str, sealed: &str) -> Option<Carried> {
        let plain = self.open_bytes(carried_aad(flow_id).as_bytes(), sealed)?;
        serde_json::from_slice(&plain).ok()
    }

    fn seal_bytes(&self, aad: &[u8], mut data: Vec<u8>) -> String {
        let nonce = crate::secret::random_bytes::<NONCE_LEN>();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut data,
            )
            .expect("sealing");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        b64::encode(out)
    }

    fn open_bytes(&self, aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > MAX_SEALED {
            return None;
        }
        let bytes = b64::decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let mut data = data.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut data)
            .ok()?
            .len();
        data.truncate(len);
        Some(data)
    }
}

/// A flow id is 43 base64url characters, so no flow id starts with this.
fn carried_aad(flow_id: &str) -> String {
    format!("carried:{flow_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::flow_at;

    #[test]
    fn a_sealed_flow_opens_unchanged_for_its_id_only() {
        let seal = FlowSeal::new(b"secret");
        let flow = flow_at("flow-1", 0, 600);
        let sealed = seal.seal(&flow);
        assert_eq!(seal.open("flow-1", &sealed), Some(flow.clone()));
        assert_eq!(seal.open("flow-2", &sealed), None, "moved to another flow");
        assert_eq!(FlowSeal::new(b"other").open("flow-1", &sealed), None);
        assert_ne!(seal.seal(&flow), sealed, "a fresh nonce each time");
    }

    #[test]
    fn a_changed_or_malformed_seal_does_not_open() {
        let seal = FlowSeal::new(b"secret");
        let sealed = seal.seal(&flow_at("flow-1", 0, 600));
        let mut bytes = b64::decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(seal.open("flow-1", &b64::encode(&bytes)), None);
        bytes[20] ^= 1;
        assert_eq!(seal.open("flow-1", &b64::encode(&bytes)), None);
        for bad in ["", "AAAA", "not base64 !", &"A".repeat(MAX_SEALED + 4)] {
            assert_eq!(seal.open("flow-1", bad), None, "{bad:.20}");
        }
        // Nothing in it can be read: the request's state is not in the clear.
        assert!(!String::from_utf8_lossy(&b64::decode(&sealed).unwrap()).contains("\"state\""));
    }

    #[test]
    fn a_carried_notice_opens_for_its_flow_only_and_never_as_a_flow() {
        use crate::login::flow::{Entered, Notice};
        use crate::store::Step;
        let seal = FlowSeal::new(b"secret");
        let carried = Carried {
            step: Step::Nnin,
            notice: Notice::UnknownUser,
            entered: Entered {
                nnin: Some("01010112345".into()),
                ..Entered::default()
            },
            expires_at: 60,
        };
        let sealed = seal.seal_carried("flow-1", &carried);
        assert_eq!(seal.open_carried("flow-1", &sealed), Some(carried.clone()));
        assert_eq!(seal.open_carried("flow-2", &sealed), None, "another flow");
        assert_eq!(seal.open("flow-1", &sealed), None, "a notice is not a flow");
        let flow = seal.seal(&flow_at("flow-1", 0, 600));
        assert_eq!(
            seal.open_carried("flow-1", &flow),
            None,
            "a flow is not a notice"
        );
        assert!(!String::from_utf8_lossy(&b64::decode(&sealed).unwrap()).contains("0101011"));
    }
}

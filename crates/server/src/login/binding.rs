//! Binding messages: two short words shown both on the merchant's page and in the app, so the
//! user can see that the approval belongs to this login.

use crate::secret::random_bytes;

const ADJECTIVES: &[&str] = &[
    "Blå", "Rask", "Stille", "Glad", "Varm", "Kald", "Grønn", "Modig", "Rolig", "Lys", "Mørk",
    "Liten", "Stor", "Klok", "Myk", "Sterk",
];
const NOUNS: &[&str] = &[
    "elg", "fjord", "bjørk", "laks", "ulv", "fjell", "båt", "ravn", "sol", "skog", "bre", "rein",
    "måke", "hytte", "elv", "stein",
];

pub fn new_binding_message() -> String {
    let [a, b] = random_bytes::<2>();
    format!(
        "{} {}",
        ADJECTIVES[usize::from(a) % ADJECTIVES.len()],
        NOUNS[usize::from(b) % NOUNS.len()]
    )
}

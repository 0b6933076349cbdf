//! Replays the fuzz corpora of this crate's targets (`fuzz/corpus/client_*`) and the inputs of
//! fuzzing's past findings (`tests/fuzz_regressions/client_*`) through the same checks the fuzz
//! targets run (`fuzz/src/client_checks.rs`), on stable, so that CI holds every finding.
//!
//! The seeds are written by `cargo test -p bankid-oidc-client --test fuzz_corpus -- --ignored write_seeds`.

#[allow(dead_code)]
#[path = "../../../fuzz/src/client_checks.rs"]
mod checks;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn discovery_corpus_replays() {
    replay("client_discovery", checks::discovery);
}

#[test]
fn jwks_corpus_replays() {
    replay("client_jwks", checks::jwks);
}

#[test]
fn token_response_corpus_replays() {
    replay("client_token_response", checks::token_response);
}

#[test]
fn id_token_corpus_replays() {
    replay("client_id_token", checks::id_token);
}

#[test]
fn userinfo_corpus_replays() {
    replay("client_userinfo", checks::userinfo);
}

#[test]
fn introspection_corpus_replays() {
    replay("client_introspection", checks::introspection);
}

#[test]
fn callback_corpus_replays() {
    replay("client_callback", checks::callback);
}

#[test]
fn bis_grant_corpus_replays() {
    replay("client_bis_grant", checks::bis_grant);
}

#[test]
#[ignore = "writes the seed corpora; run by hand after changing the seeds"]
fn write_seeds() {
    replay::write_seeds(checks::seeds());
}

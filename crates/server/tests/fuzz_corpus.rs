//! Replays the fuzz corpora of this crate's targets (`fuzz/corpus/server_*`) and the inputs of
//! fuzzing's past findings (`tests/fuzz_regressions/server_*`) through the same checks the fuzz
//! targets run (`fuzz/src/server_checks.rs`), on stable, so that CI holds every finding.
//!
//! The seeds are written by `cargo test -p bankid-oidc-server --test fuzz_corpus -- --ignored write_seeds`.

#[allow(dead_code)]
#[path = "../../../fuzz/src/server_checks.rs"]
mod checks;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn form_corpus_replays() {
    replay("server_form", checks::form);
}

#[test]
fn basic_auth_corpus_replays() {
    replay("server_basic_auth", checks::basic_auth);
}

#[test]
fn cookie_corpus_replays() {
    replay("server_cookie", checks::cookie);
}

#[test]
fn token_request_corpus_replays() {
    replay("server_token_request", checks::token_request);
}

#[test]
#[ignore = "writes the seed corpora; run by hand after changing the seeds"]
fn write_seeds() {
    replay::write_seeds(checks::seeds());
}

//! Replays the fuzz corpora of this crate's targets (`fuzz/corpus/core_*`) and the inputs of
//! fuzzing's past findings (`tests/fuzz_regressions/core_*`) through the same checks the fuzz
//! targets run (`fuzz/src/core_checks.rs`), on stable, so that CI holds every finding.
//!
//! The seeds are written by `cargo test -p bankid-oidc-core --test fuzz_corpus -- --ignored write_seeds`.

#[allow(dead_code)]
#[path = "../../../fuzz/src/core_checks.rs"]
mod checks;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn jws_corpus_replays() {
    replay("core_jws", checks::jws);
}

#[test]
fn jwe_corpus_replays() {
    replay("core_jwe", checks::jwe);
}

#[test]
fn jwk_corpus_replays() {
    replay("core_jwk", checks::jwk);
}

#[test]
fn authorize_corpus_replays() {
    replay("core_authorize", checks::authorize);
}

#[test]
fn login_hint_corpus_replays() {
    replay("core_login_hint", checks::login_hint);
}

#[test]
fn nnin_corpus_replays() {
    replay("core_nnin", checks::nnin);
}

#[test]
fn acr_values_corpus_replays() {
    replay("core_acr_values", checks::acr_values);
}

#[test]
fn ui_locales_corpus_replays() {
    replay("core_ui_locales", checks::ui_locales);
}

#[test]
fn scope_corpus_replays() {
    replay("core_scope", checks::scope);
}

#[test]
fn permission_statement_corpus_replays() {
    replay("core_permission_statement", checks::permission_statement);
}

#[test]
fn permission_request_corpus_replays() {
    replay("core_permission_request", checks::permission_request);
}

#[test]
#[ignore = "writes the seed corpora; run by hand after changing the seeds"]
fn write_seeds() {
    replay::write_seeds(checks::seeds());
}

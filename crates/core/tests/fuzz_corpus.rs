//! Replays the fuzz corpora of this crate's targets (`fuzz/corpus/core_*`) and the inputs of
//! fuzzing's past findings (`tests/fuzz_regressions/core_*`) through the same checks the fuzz
//! targets run (`fuzz/src/core_checks.rs`), on stable, so that CI holds every finding.
//!
//! The seeds are written by `cargo test -p bankid-oidc-core --test fuzz_corpus -- --ignored write_seeds`.

#[allow(dead_code)]
#[path = "../../../fuzz/src/core_checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn dirs(target: &str) -> [PathBuf; 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../../fuzz/corpus").join(target),
        root.join("tests/fuzz_regressions").join(target),
    ]
}

/// Runs `check` on every file of the target's corpus and regression folders; a panic names
/// the file.
fn replay(target: &str, check: fn(&[u8])) {
    let mut count = 0;
    for dir in dirs(target) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its check", file.display());
            count += 1;
        }
    }
    assert!(count > 0, "no corpus for {target}");
}

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
    for (target, name, bytes) in checks::seeds() {
        let dir = &dirs(target)[0];
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

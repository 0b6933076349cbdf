//! Replays the fuzz corpora of this crate's targets (`fuzz/corpus/client_*`) and the inputs of
//! fuzzing's past findings (`tests/fuzz_regressions/client_*`) through the same checks the fuzz
//! targets run (`fuzz/src/client_checks.rs`), on stable, so that CI holds every finding.
//!
//! The seeds are written by `cargo test -p bankid-oidc-client --test fuzz_corpus -- --ignored write_seeds`.

#[allow(dead_code)]
#[path = "../../../fuzz/src/client_checks.rs"]
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
    for (target, name, bytes) in checks::seeds() {
        let dir = &dirs(target)[0];
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

//! The stable replay of the fuzz corpora, shared by `crates/{core,server,client}/tests/
//! fuzz_corpus.rs` (each includes this file with `#[path]`; the fuzz crate itself does not).
//! `CARGO_MANIFEST_DIR` is the including crate's.

use std::path::{Path, PathBuf};

/// The committed seeds of a target and the inputs of its past findings in the crate's tests.
fn dirs(target: &str) -> [PathBuf; 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../../fuzz/corpus").join(target),
        root.join("tests/fuzz_regressions").join(target),
    ]
}

/// Runs `check` on every file of the target's corpus and regression folders; a panic names
/// the file.
pub fn replay(target: &str, check: fn(&[u8])) {
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

/// Writes the seeds a checks file makes into the targets' corpus folders (`seed-<name>`).
pub fn write_seeds(seeds: Vec<(&str, String, Vec<u8>)>) {
    for (target, name, bytes) in seeds {
        let dir = &dirs(target)[0];
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

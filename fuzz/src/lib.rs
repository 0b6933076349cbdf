//! The checks the fuzz targets run, one module per crate. The same files are compiled into each
//! crate's `tests/fuzz_corpus.rs` (with `#[path]`), so that `cargo test` on stable replays the
//! corpora through exactly the code the fuzzer runs. See README.md.

pub mod client_checks;
pub mod core_checks;
pub mod server_checks;

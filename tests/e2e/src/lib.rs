//! End-to-end tests of the relying-party library against this project's provider; the tests are
//! under `tests/`. This crate has no code of its own.

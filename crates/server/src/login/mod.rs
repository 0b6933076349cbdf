//! The user-facing login pages: netcentric BankID (NNIN, one-time code, password), BankID on
//! mobile (phone and birth date, then approval) and BankID with biometrics (NNIN, then the
//! binding message and approval, standing in for the app).
//!
//! The pages follow the automation contract of shared/DESIGN.md: plain forms with a CSRF token,
//! fields named `nnin`, `otp`, `password`, `phone`, `birthdate`, approval buttons
//! `decision=allow|deny`, and a cancel (`action=cancel`) that ends with `access_denied`.

mod binding;
pub mod flow;
mod pages;
pub mod seal;
pub mod texts;

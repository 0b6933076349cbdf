//! Logins in progress as a state machine, apart from pages and HTTP: a flow starts from a
//! validated authorization request ([`flow::start`]), moves one [`crate::store::Step`] at a
//! time on posted forms ([`flow::submit`], which answers with a [`flow::Submitted`] outcome,
//! never a response), and ends with a code or an error for the client. The methods: netcentric
//! BankID (NNIN, one-time code, password), BankID on mobile (phone and birth date, then
//! approval) and BankID with biometrics (NNIN, then the binding message and approval).
//!
//! The pages follow the automation contract of shared/DESIGN.md; `crate::pages::login`
//! renders them.

pub mod binding;
pub mod flow;
pub mod iframe;
pub mod seal;
pub mod verdicts;

//! What a person sees, in one place: every page the provider renders (the login steps, consent,
//! errors, logout), their texts in Norwegian and English, the headers every page sends, and the
//! delivery of the authorization response to the client (a redirect or a form_post page).
//! Nothing here decides: `login` and `http` decide, and hand this module what to show.

pub mod app;
pub mod delivery;
pub mod iframe;
pub mod login;
pub mod logout;
pub mod render;
pub mod start;
pub mod texts;

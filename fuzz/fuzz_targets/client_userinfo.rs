#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bankid_oidc_fuzz::client_checks::userinfo(data));

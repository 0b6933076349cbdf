#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bankid_oidc_fuzz::core_checks::ui_locales(data));

#![no_main]
//! `config.toml` plus `TIMEFORGED_*` overrides: `Config::from_toml_str`, validation and the
//! `tf config show` round trip (see `timeforged::fuzzing::config`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    timeforged_fuzz::run(data, timeforged::fuzzing::config);
});

#![no_main]
//! The WakaTime HTTP ingest without a server: API key forms, `X-Machine-Name`, User-Agent, body
//! and per-item conversion (see `timeforged::fuzzing::wakatime_ingest`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    timeforged_fuzz::run(data, timeforged::fuzzing::wakatime_ingest);
});

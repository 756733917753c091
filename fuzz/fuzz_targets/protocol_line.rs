#![no_main]
//! Socket request lines: framing, `protocol::parse_line`, heartbeat items and the checks the
//! daemon runs before storage (see `timeforged::fuzzing::protocol_line`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    timeforged_fuzz::run(data, timeforged::fuzzing::protocol_line);
});

//! The WakaTime wire format, so every WakaTime editor plugin can report to TimeForged: what
//! clients send (heartbeats, User-Agents, range names) and the JSON shapes they read back.
//!
//! Pure data conversion — no I/O, no HTTP, no database; the daemon's HTTP layer calls it.
//! - [`user_agent`]: editor, OS and plugin from a User-Agent.
//! - [`ingest`]: request bodies → [`crate::model::Heartbeat`]s, and the bulk reply.
//! - [`range`]: WakaTime's range names (`last_7_days`, `this_month` …) → a [`RangeSpec`].
//! - [`summary`]: `statusbar/today`, `summaries`, `stats`, `all_time_since_today`, `projects`,
//!   `users/current` and `heartbeats` bodies built from [`crate::report::Report`]s.
//!
//! [`RangeSpec`]: crate::report::RangeSpec

pub mod dependencies;
pub mod ingest;
pub mod range;
pub mod summary;
pub mod user_agent;

pub use ingest::{
    BodyError, HeartbeatData, IngestContext, LastValues, bulk_response, error_body, parse_body,
    to_heartbeat, to_heartbeats, url_decode,
};
pub use range::{WakaRange, parse_range_name};
pub use user_agent::UserAgent;

/// An instant as WakaTime writes it: RFC 3339 in UTC, whole seconds (`2023-01-29T03:00:00Z`).
pub(crate) fn utc_ms(ms: i64) -> String {
    jiff::Timestamp::from_second(ms.div_euclid(1000))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// [`utc_ms`] from unix seconds.
pub(crate) fn utc_seconds(seconds: f64) -> String {
    utc_ms(crate::model::seconds_to_ms(seconds))
}

/// Percent-encodes like Go's `url.QueryEscape` (a space becomes `+`), as WakaTime's
/// `urlencoded_name` is.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_strings_are_whole_seconds() {
        assert_eq!(utc_ms(1_674_961_200_999), "2023-01-29T03:00:00Z");
        assert_eq!(utc_ms(-1), "1969-12-31T23:59:59Z");
        assert_eq!(utc_seconds(1_586_899_635.4), "2020-04-14T21:27:15Z");
    }

    #[test]
    fn url_encode_round_trips() {
        for s in ["my project", "a+b/c?d=é", "plain-name_1.0~x", ""] {
            assert_eq!(url_decode(url_encode(s)), s);
        }
        assert_eq!(url_encode("my project/é"), "my+project%2F%C3%A9");
    }
}

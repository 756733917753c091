//! Focus timers (`tf focus`): a stretch of time set aside for work, kept by the daemon in the
//! database so it outlives the terminal and a restart. Here: the session record, its limits and
//! the duration grammar. Pure; the daemon runs the clock and the store keeps the rows.

use crate::model::{MAX_ENTITY_BYTES, MAX_STRING_BYTES, ValidationError};
use serde::{Deserialize, Serialize};

/// `tf focus start` without a duration: a Pomodoro.
pub const DEFAULT_MS: i64 = 25 * 60_000;
/// Shortest timer: a second (tests and quick checks use a few).
pub const MIN_MS: i64 = 1_000;
/// Longest timer: 12 hours. A longer one is a typo, not a focus session.
pub const MAX_MS: i64 = 12 * 3_600_000;

/// The file the daemon writes a rung timer's id to when it has no desktop notifications; the
/// shell hooks ring the terminal bell once for each new id. Beside the spool, in the state
/// directory.
pub fn bell_path(spool: &std::path::Path) -> std::path::PathBuf {
    spool.with_file_name("focus.bell")
}

/// One focus session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FocusSession {
    pub id: i64,
    /// Unix milliseconds.
    pub start_ms: i64,
    /// The length asked for.
    pub planned_ms: i64,
    /// When it ended; `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
    /// It ran its whole length (false: stopped early, or still running).
    #[serde(default)]
    pub completed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl FocusSession {
    /// When the timer is due to ring.
    pub fn due_ms(&self) -> i64 {
        self.start_ms.saturating_add(self.planned_ms)
    }
}

/// What `tf focus start` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FocusPlan {
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl FocusPlan {
    /// The session this plan became when stored as `id`, started at `start_ms`.
    pub fn started(&self, id: i64, start_ms: i64) -> FocusSession {
        FocusSession {
            id,
            start_ms,
            planned_ms: self.duration_ms,
            end_ms: None,
            completed: false,
            project: self.project.clone(),
            note: self.note.clone(),
        }
    }

    /// The limits, each error naming its field; blank strings become `None`.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        check_duration(self.duration_ms)?;
        for (field, value, max) in [
            ("project", &mut self.project, MAX_STRING_BYTES),
            ("note", &mut self.note, MAX_ENTITY_BYTES),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
            if let Some(v) = value {
                if v.len() > max {
                    return Err(ValidationError::new(
                        field,
                        format!("is {} bytes long (at most {max})", v.len()),
                    ));
                }
                if v.contains('\0') {
                    return Err(ValidationError::new(field, "must not contain NUL bytes"));
                }
            }
        }
        Ok(())
    }
}

/// A timer's length must be between [`MIN_MS`] and [`MAX_MS`].
pub fn check_duration(ms: i64) -> Result<(), ValidationError> {
    if ms < MIN_MS {
        return Err(ValidationError::new(
            "duration",
            format!(
                "{} is too short: a focus timer runs at least 1 second (e.g. 25m)",
                show(ms)
            ),
        ));
    }
    if ms > MAX_MS {
        return Err(ValidationError::new(
            "duration",
            format!(
                "{} is too long: a focus timer runs at most 12 hours (e.g. 25m, 1h30m)",
                show(ms)
            ),
        ));
    }
    Ok(())
}

fn show(ms: i64) -> String {
    let s = ms / 1000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// Parses a duration: `25m`, `1h30m`, `90s`, `1h 30m`, ISO 8601 (`PT25M`), or a bare number of
/// minutes (`25`). Returns milliseconds; limits are [`check_duration`]'s.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let err =
        || format!("{text:?} is not a duration (expected e.g. 25m, 1h30m, 90s, or minutes: 25)");
    if t.is_empty() {
        return Err(err());
    }
    if let Ok(minutes) = t.parse::<f64>() {
        if !minutes.is_finite() {
            return Err(err());
        }
        return Ok((minutes * 60_000.0)
            .round()
            .clamp(i64::MIN as f64, i64::MAX as f64) as i64);
    }
    let d: jiff::SignedDuration = t.parse().map_err(|_| err())?;
    i64::try_from(d.as_millis()).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, ms) in [
            ("25m", 25 * 60_000),
            ("25", 25 * 60_000),
            ("1h30m", 90 * 60_000),
            ("1h 30m", 90 * 60_000),
            ("90s", 90_000),
            ("PT25M", 25 * 60_000),
            ("0.5", 30_000),
            ("100h", 100 * 3_600_000),
            ("0", 0),
        ] {
            assert_eq!(parse_duration(text), Ok(ms), "{text}");
        }
        for bad in ["", "soon", "25 minutes please", "NaN", "inf"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("not a duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn limits_name_the_duration() {
        for (ms, want) in [
            (0, "0s is too short"),
            (999, "0s is too short"),
            (100 * 3_600_000, "100h00m is too long"),
        ] {
            let e = check_duration(ms).unwrap_err();
            assert_eq!(e.field, "duration");
            assert!(e.problem.contains(want), "{ms}: {e}");
        }
        check_duration(MIN_MS).unwrap();
        check_duration(MAX_MS).unwrap();
        let mut p = FocusPlan {
            duration_ms: DEFAULT_MS,
            project: Some(" ".into()),
            note: Some("n".repeat(5000)),
        };
        assert_eq!(p.validate().unwrap_err().field, "note");
        assert_eq!(p.project, None);
    }
}

//! Text helpers for cells of a fixed width: truncation by display width (never inside a grapheme,
//! with "…"), and the formats of durations, clock times and dates.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width of `s` in terminal cells, measured per grapheme like ratatui's buffer does, so
/// what we measure is what gets drawn.
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(grapheme_width).sum()
}

fn grapheme_width(g: &str) -> usize {
    // ratatui draws a control character as nothing; counting it as 0 keeps us in agreement.
    g.width()
}

/// Replaces control characters (newlines, tabs, escapes) that a name might carry with spaces: they
/// would otherwise move the cursor or be dropped, shifting every cell after them.
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// `s` cut to at most `max` cells; a cut string ends in "…". Never splits a grapheme (so an emoji
/// or a letter with combining marks stays whole or goes whole).
pub fn truncate(s: &str, max: usize) -> String {
    let s = clean(s);
    if width(&s) <= max {
        return s.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = grapheme_width(g);
        if used + w > max - 1 {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    out
}

/// `s` cut to at most `max` cells from the left ("…c/app.rs"), for paths whose end matters most.
pub fn truncate_start(s: &str, max: usize) -> String {
    let s = clean(s);
    if width(&s) <= max {
        return s.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept = Vec::new();
    let mut used = 0;
    for g in s.graphemes(true).rev() {
        let w = grapheme_width(g);
        if used + w > max - 1 {
            break;
        }
        kept.push(g);
        used += w;
    }
    let mut out = String::from("…");
    out.extend(kept.into_iter().rev());
    out
}

/// `s` truncated and padded with spaces to exactly `cells` cells.
pub fn fit(s: &str, cells: usize) -> String {
    let mut out = truncate(s, cells);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cells.saturating_sub(w)));
    out
}

/// `s` truncated and right-aligned in exactly `cells` cells.
pub fn fit_right(s: &str, cells: usize) -> String {
    let t = truncate(s, cells);
    let w = width(&t);
    let mut out = " ".repeat(cells.saturating_sub(w));
    out.push_str(&t);
    out
}

/// Durations the way the CLI writes them: `3h 05m`, `42m`, `15s`.
pub fn duration(seconds: f64) -> String {
    let s = if seconds.is_finite() {
        seconds.max(0.0).round() as i64
    } else {
        0
    };
    if s < 60 {
        return if s == 0 { "0m".into() } else { format!("{s}s") };
    }
    let minutes = s / 60;
    if minutes < 60 {
        format!("{minutes}m")
    } else {
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    }
}

/// A running time, with seconds while it is short: `45s`, `5m 12s`, `1h 05m`.
pub fn elapsed(seconds: f64) -> String {
    let s = if seconds.is_finite() {
        seconds.max(0.0) as i64
    } else {
        0
    };
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        duration(s as f64)
    }
}

/// Compact hours for calendar cells: `5.2h`, `42m`, `` (nothing) for zero.
pub fn hours_compact(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 30.0 {
        String::new()
    } else if seconds < 3600.0 {
        format!("{}m", (seconds / 60.0).round() as i64)
    } else if seconds < 36_000.0 {
        format!("{:.1}h", seconds / 3600.0)
    } else {
        format!("{}h", (seconds / 3600.0).round() as i64)
    }
}

/// Local wall-clock seconds since the epoch.
fn local(unix: f64, utc_offset_seconds: i32) -> i64 {
    if unix.is_finite() {
        unix.floor() as i64 + i64::from(utc_offset_seconds)
    } else {
        0
    }
}

/// `HH:MM` in local time.
pub fn clock(unix: f64, utc_offset_seconds: i32) -> String {
    let secs = local(unix, utc_offset_seconds).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, secs / 60 % 60)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `25 Nov 14:05` in local time.
pub fn date_time(unix: f64, utc_offset_seconds: i32) -> String {
    let local = local(unix, utc_offset_seconds);
    let (_, month, day) = civil_from_days(local.div_euclid(86_400));
    format!(
        "{day:2} {} {}",
        MONTHS[(month - 1) as usize],
        clock(unix, utc_offset_seconds)
    )
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01 (Howard Hinnant's algorithm);
/// small enough not to warrant a date library in this crate.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Share of `part` in `total` as `42%`; `<1%` for a sliver rather than a misleading `0%`.
pub fn percent(part: f64, total: f64) -> String {
    if total <= 0.0 || !total.is_finite() || !part.is_finite() {
        return String::new();
    }
    let p = part / total * 100.0;
    if p > 0.0 && p < 0.5 {
        "<1%".into()
    } else {
        format!("{:.0}%", p.min(100.0))
    }
}

/// A horizontal bar `cells` wide, filled to `fraction` with eighth blocks for sub-cell precision.
pub fn bar(fraction: f64, cells: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (fraction * cells as f64 * 8.0).round() as usize;
    let full = (eighths / 8).min(cells);
    let mut out = "█".repeat(full);
    if full < cells {
        let rest = eighths % 8;
        // A non-zero value always shows at least a sliver.
        let rest = if full == 0 && rest == 0 && fraction > 0.0 {
            1
        } else {
            rest
        };
        out.push(PARTS[rest]);
        out.extend(std::iter::repeat_n(' ', cells - full - 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_the_cli() {
        for (s, want) in [
            (0.0, "0m"),
            (15.0, "15s"),
            (59.4, "59s"),
            (60.0, "1m"),
            (42.0 * 60.0, "42m"),
            (3600.0, "1h 00m"),
            (3.0 * 3600.0 + 5.0 * 60.0, "3h 05m"),
            (f64::NAN, "0m"),
            (-5.0, "0m"),
        ] {
            assert_eq!(duration(s), want, "{s}");
        }
        assert_eq!(elapsed(312.0), "5m 12s");
        assert_eq!(elapsed(3.0), "3s");
        assert_eq!(hours_compact(5.2 * 3600.0), "5.2h");
        assert_eq!(hours_compact(0.0), "");
    }

    #[test]
    fn truncation_by_display_width_never_splits_a_grapheme() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abc", 0), "");
        // Wide chars: 2 cells each; a cut must not leave half an emoji.
        assert_eq!(truncate("😀😀😀", 4), "😀…");
        assert_eq!(width(&truncate("😀😀😀", 4)), 3);
        // e + combining acute stays together.
        let s = "e\u{301}e\u{301}e\u{301}";
        assert_eq!(truncate(s, 2), "e\u{301}…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(truncate_start("src/app.rs", 7), "…app.rs");
        assert_eq!(truncate_start("😀😀😀", 4), "…😀");
        assert_eq!(fit_right("ab", 4), "  ab");
        assert_eq!(truncate("a\nb\tc", 10), "a b c");
        let long = "x".repeat(500);
        assert_eq!(width(&truncate(&long, 30)), 30);
    }

    #[test]
    fn clock_and_dates_use_the_given_offset() {
        // 2026-11-25 13:05:00 UTC
        let t = 1_795_611_900.0;
        assert_eq!(clock(t, 0), "13:05");
        assert_eq!(clock(t, 3600), "14:05");
        assert_eq!(clock(t, -14 * 3600), "23:05");
        assert_eq!(date_time(t, 0), "25 Nov 13:05");
        assert_eq!(date_time(t, -14 * 3600), "24 Nov 23:05");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn bars_have_the_exact_width() {
        for cells in 0..12 {
            for f in [0.0, 0.01, 0.33, 0.5, 0.99, 1.0, 2.0, f64::NAN] {
                assert_eq!(width(&bar(f, cells)), cells, "{f} {cells}");
            }
        }
        assert_eq!(bar(1.0, 3), "███");
        assert_eq!(bar(0.5, 2), "█ ");
        assert!(bar(0.001, 5).starts_with('▏'));
        assert_eq!(percent(1.0, 4.0), "25%");
        assert_eq!(percent(0.001, 4.0), "<1%");
    }
}

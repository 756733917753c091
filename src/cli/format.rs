//! Human output: durations like `3h 05m`, aligned tables with bars, colour only on a terminal
//! and never with `NO_COLOR`.

use std::io::IsTerminal;

/// `3h 05m`; under a minute `42s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    if s > 0 && s < 60 {
        return format!("{s}s");
    }
    let minutes = s / 60;
    format!("{}h {:02}m", minutes / 60, minutes % 60)
}

/// Whether to colour stdout.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect() -> Style {
        Style { color: use_color() }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn accent(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// Display width and truncation are the dashboard's (per grapheme, as terminals draw them), so
/// tables and the dashboard agree on every name.
pub use timeforged_tui::text::{truncate, width};

pub fn pad_right(s: &str, w: usize) -> String {
    let n = width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

pub fn pad_left(s: &str, w: usize) -> String {
    let n = width(s);
    format!("{}{s}", " ".repeat(w.saturating_sub(n)))
}

/// A bar of `fraction` (0..=1) of `cells` cells, with eighth-block precision.
pub fn bar(fraction: f64, cells: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * cells as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// Columns of the terminal, 100 when unknown (piped output).
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// Quotes a CSV field when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Rows under a header, columns aligned; `(none)` when there are no rows.
pub fn print_table(
    out: &mut impl std::io::Write,
    head: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    if rows.is_empty() {
        writeln!(out, "(none)")?;
        return Ok(());
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| width(&r[i]))
                .chain([width(head[i])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| pad_right(c, *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(
        out,
        "{}",
        line(head.iter().map(|h| h.to_string()).collect())
    )?;
    for r in rows {
        writeln!(out, "{}", line(r.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        let cases = [
            (0.0, "0h 00m"),
            (42.0, "42s"),
            (60.0, "0h 01m"),
            (3.0 * 3600.0 + 5.0 * 60.0 + 12.0, "3h 05m"),
            (100.0 * 3600.0, "100h 00m"),
        ];
        for (s, want) in cases {
            assert_eq!(duration(s), want);
        }
    }

    #[test]
    fn wide_characters_keep_columns_aligned() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("🚀x"), 3);
        assert_eq!(pad_right("日本", 6), "日本  ");
        assert_eq!(truncate("abcdefgh", 5), "abcd…");
        assert_eq!(width(&truncate("日本語のプロジェクト", 7)), 7);
    }

    #[test]
    fn bars_and_csv() {
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 3), "█▌");
        assert_eq!(bar(0.0, 3), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}

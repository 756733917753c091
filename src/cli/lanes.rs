//! `tf report --ai`: human and agent time side by side, as a table, JSON (the report with an
//! `ai` object) or CSV rows.

use super::format::{self, Style};
use crate::report::Report;
use crate::report::ai::Lanes;
use anyhow::Result;
use std::io::Write;

/// The report's JSON with the lanes as `ai`, after the report's own fields.
#[derive(serde::Serialize)]
pub struct WithLanes<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    pub ai: &'a Lanes,
}

/// `+12` / `-3` / `0`: line changes are net, and either way.
fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// `12.3k` above a thousand.
fn count(n: i64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

pub fn print(lanes: &Lanes, style: Style, out: &mut impl Write) -> Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        style.bold("Lane        time     lines  (each lane on its own timeline)")
    )?;
    let row = |name: &str, seconds: f64, lines: Option<i64>, extra: String| {
        format!(
            "{}  {}  {:>6}  {extra}",
            format::pad_right(name, 8),
            format::pad_left(&format::duration(seconds), 7),
            lines.map(signed).unwrap_or_default()
        )
    };
    writeln!(
        out,
        "{}",
        row(
            "human",
            lanes.human.seconds,
            Some(lanes.human.line_changes),
            String::new()
        )
    )?;
    let a = &lanes.agent;
    let mut extra = Vec::new();
    if a.sessions > 0 {
        extra.push(format!(
            "{} session{}",
            a.sessions,
            if a.sessions == 1 { "" } else { "s" }
        ));
    }
    if a.input_tokens > 0 || a.output_tokens > 0 {
        extra.push(format!(
            "{} in / {} out tokens",
            count(a.input_tokens),
            count(a.output_tokens)
        ));
    }
    writeln!(
        out,
        "{}",
        row(
            "agent",
            a.seconds,
            Some(a.line_changes),
            style.dim(&extra.join(" · "))
        )
    )?;
    writeln!(
        out,
        "{}",
        row(
            "overlap",
            lanes.overlap_seconds,
            None,
            style.dim("both at once")
        )
    )?;
    writeln!(
        out,
        "{}",
        row(
            "either",
            lanes.either_seconds,
            None,
            style.dim("one or both")
        )
    )?;
    if lanes.agents.is_empty() {
        return Ok(());
    }
    let w = lanes
        .agents
        .iter()
        .map(|r| format::width(&r.name))
        .max()
        .unwrap_or(5)
        .clamp(5, 30);
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{}  {:>7}  {:>6}  sessions",
            format::pad_right("Agent", w),
            "time",
            "lines"
        ))
    )?;
    for r in &lanes.agents {
        writeln!(
            out,
            "{}  {}  {:>6}  {}",
            format::pad_right(&format::truncate(&r.name, w), w),
            format::pad_left(&format::duration(r.seconds), 7),
            signed(r.line_changes),
            r.sessions
        )?;
    }
    Ok(())
}

/// CSV rows in the report's columns (dimension,name,seconds,percent): the lanes as dimension
/// `ai`, each agent as `agent`; percent of the time either lane was active.
pub fn csv(lanes: &Lanes, out: &mut impl Write) -> Result<()> {
    let pct = |s: f64| {
        if lanes.either_seconds > 0.0 {
            (s * 10_000.0 / lanes.either_seconds).round() / 100.0
        } else {
            0.0
        }
    };
    for (name, s) in [
        ("human", lanes.human.seconds),
        ("agent", lanes.agent.seconds),
        ("overlap", lanes.overlap_seconds),
        ("either", lanes.either_seconds),
    ] {
        writeln!(out, "ai,{name},{s},{}", pct(s))?;
    }
    for r in &lanes.agents {
        writeln!(
            out,
            "agent,{},{},{}",
            format::csv_field(&r.name),
            r.seconds,
            pct(r.seconds)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ai::{AgentLane, AgentRow, HumanLane};

    #[test]
    fn the_lane_table() {
        let lanes = Lanes {
            human: HumanLane {
                seconds: 7200.0,
                line_changes: 120,
            },
            agent: AgentLane {
                seconds: 3600.0,
                line_changes: -4,
                input_tokens: 12_300,
                output_tokens: 800,
                sessions: 2,
            },
            overlap_seconds: 1800.0,
            either_seconds: 9000.0,
            agents: vec![AgentRow {
                name: "claude-code".into(),
                seconds: 3600.0,
                line_changes: -4,
                sessions: 2,
                ..AgentRow::default()
            }],
        };
        let mut out = Vec::new();
        print(&lanes, Style { color: false }, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "human      2h 00m    +120  ");
        assert_eq!(
            lines[3],
            "agent      1h 00m      -4  2 sessions · 12.3k in / 800 out tokens"
        );
        assert!(lines[4].starts_with("overlap    0h 30m"), "{text}");
        assert!(
            lines[8].starts_with("claude-code   1h 00m      -4  2"),
            "{text}"
        );
        let mut out = Vec::new();
        csv(&lanes, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("ai,overlap,1800,20\n"), "{text}");
        assert!(text.contains("agent,claude-code,3600,40\n"), "{text}");
    }
}

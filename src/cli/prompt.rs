//! `tf status --format FMT`: one line for shell prompts and status bars. It runs on every prompt,
//! so it never starts the daemon, never prints an error for a daemon that is down (an empty
//! line instead), and asks one question on the socket.

use super::{Context, format};
use crate::client::Client;
use crate::protocol::{Request, Response, StatusInfo};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;

/// The placeholders, in the order the error message lists them.
pub const PLACEHOLDERS: [&str; 6] = ["today", "project", "branch", "language", "running", "focus"];

/// A template cut into literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Field(&'static str),
}

/// Parses `{name}` placeholders and `{{` / `}}` escapes. Every unknown name is reported at
/// once, so a prompt configuration is fixed in one go.
pub fn parse_template(template: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    bail!("--format {template:?}: a {{ is not closed (write {{{{ for a brace)");
                }
                match PLACEHOLDERS.iter().find(|p| **p == name.trim()) {
                    Some(p) => {
                        if !text.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(Piece::Field(p));
                    }
                    None => unknown.push(format!("{{{name}}}")),
                }
            }
            '}' => bail!("--format {template:?}: a }} without its {{ (write }}}} for a brace)"),
            c => text.push(c),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "--format: unknown placeholder{} {} (known: {})",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
        );
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The line for `info` at `now` (unix seconds).
pub fn render(pieces: &[Piece], info: &StatusInfo, now: f64) -> String {
    // What the latest heartbeat says counts only while it is active: a prompt showing a
    // project touched yesterday would be wrong.
    let current = info.current.as_ref().filter(|c| c.active);
    let field = |name: &str| -> String {
        match name {
            "today" => format::duration(info.today_seconds),
            "project" => current.and_then(|c| c.project.clone()).unwrap_or_default(),
            "branch" => current.and_then(|c| c.branch.clone()).unwrap_or_default(),
            "language" => current.and_then(|c| c.language.clone()).unwrap_or_default(),
            "running" => info
                .shells
                .iter()
                .filter_map(|s| Some((s.running.as_deref()?, s.running_since?)))
                // The one started last: the build you just kicked off in another pane.
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(cmd, since)| format!("{cmd} {}", format::duration(now - since)))
                .unwrap_or_default(),
            "focus" => super::focus::prompt(info.focus.as_ref()),
            _ => String::new(),
        }
    };
    let mut line = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => line.push_str(t),
            Piece::Field(f) => line.push_str(&field(f)),
        }
    }
    // A prompt is one line, whatever a project or command name holds.
    line.replace(['\n', '\r'], " ")
}

pub fn status_format(ctx: &Context, template: &str, out: &mut impl Write) -> Result<ExitCode> {
    // The template first: a typo is reported whether or not the daemon runs.
    let pieces = parse_template(template)?;
    let info = Client::connect(&ctx.paths.socket).ok().and_then(|mut c| {
        match c.request(&Request::Status) {
            Ok(Response::Status(info)) => Some(info),
            _ => None,
        }
    });
    match info {
        Some(info) => writeln!(
            out,
            "{}",
            render(&pieces, &info, crate::calendar::now_seconds())
        )?,
        None => writeln!(out)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Current, ShellSeen};

    fn info() -> StatusInfo {
        StatusInfo {
            pid: 1,
            version: "0".into(),
            protocol: 1,
            uptime_seconds: 0.0,
            socket: String::new(),
            database: String::new(),
            timezone: "UTC".into(),
            timeout_minutes: 15.0,
            http: None,
            http_error: None,
            heartbeats: 3,
            focus: None,
            agents: Vec::new(),
            today_seconds: 3.0 * 3600.0 + 300.0,
            current: Some(Current {
                project: Some("timeforged".into()),
                branch: Some("main".into()),
                language: Some("Rust".into()),
                entity: "/w/a.rs".into(),
                time: 990.0,
                active: true,
            }),
            shells: vec![
                ShellSeen {
                    shell: "zsh".into(),
                    pid: 1,
                    tty: None,
                    last_seen: 0.0,
                    running: Some("cargo".into()),
                    running_since: Some(400.0),
                    last_end: None,
                },
                ShellSeen {
                    shell: "bash".into(),
                    pid: 2,
                    tty: None,
                    last_seen: 0.0,
                    running: Some("make".into()),
                    running_since: Some(880.0),
                    last_end: None,
                },
            ],
            spool: Default::default(),
            watch: Vec::new(),
            watch_limit: None,
            machine_id: None,
            machine: None,
            sync: Vec::new(),
            config: None,
            down_before_start: None,
            started_by: None,
        }
    }

    fn line(template: &str, info: &StatusInfo) -> String {
        render(&parse_template(template).unwrap(), info, 1000.0)
    }

    #[test]
    fn placeholders_are_filled() {
        let i = info();
        assert_eq!(line("{today}", &i), "3h 05m");
        assert_eq!(
            line("⏱ {project}@{branch} ({language}) {today}", &i),
            "⏱ timeforged@main (Rust) 3h 05m"
        );
        assert_eq!(
            line("{running}", &i),
            "make 0h 02m",
            "the command started last"
        );
        assert_eq!(line("{{today}} { today }", &i), "{today} 3h 05m");
        assert_eq!(line("plain", &i), "plain");
        assert_eq!(line("", &i), "");
    }

    #[test]
    fn an_idle_latest_heartbeat_shows_no_project() {
        let mut i = info();
        if let Some(c) = i.current.as_mut() {
            c.active = false;
        }
        i.shells.clear();
        assert_eq!(
            line("[{project}|{branch}|{language}|{running}] {today}", &i),
            "[|||] 3h 05m"
        );
        i.current = None;
        assert_eq!(line("{project}", &i), "");
    }

    #[test]
    fn bad_templates_name_what_is_wrong() {
        let e = parse_template("{today} {proj} {foo}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown placeholders {proj}, {foo}"), "{e}");
        assert!(
            e.contains("{today}, {project}, {branch}"),
            "lists the known ones: {e}"
        );
        let e = parse_template("{today").unwrap_err().to_string();
        assert!(e.contains("not closed"), "{e}");
        let e = parse_template("today}").unwrap_err().to_string();
        assert!(e.contains("without its {"), "{e}");
    }
}

//! Shell integration: the events the zsh/bash/fish hooks send ("command started", "command
//! finished"), and how they become heartbeats — category, privacy, duration caps. Pure; the
//! daemon does the I/O.

pub mod classify;
pub mod cmdline;
pub mod redact;

use std::path::Path;

use crate::config::ShellConfig;
use crate::model::{Category, EntityType, Heartbeat, Source};
use serde::{Deserialize, Serialize};

/// A shell with a hook script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Zsh,
    Bash,
    Fish,
}

/// The hook scripts, embedded so `tf init` needs no files at run time.
const ZSH: &str = include_str!("../../shell/timeforged.zsh");
const BASH: &str = include_str!("../../shell/timeforged.bash");
const FISH: &str = include_str!("../../shell/timeforged.fish");

/// The hook for `shell` with its placeholders filled in: `@TF_SPOOL@`, `@TF_BIN@` and
/// `@TF_BELL@` (absolute paths, quoted for the shell by the script itself; the bell is the focus
/// timer's, [`crate::focus::bell_path`]) and `@TF_SPOOL_CAP@` (bytes past which a hook stops
/// appending to the spool).
pub fn script(shell: Shell, spool: &Path, spool_cap: u64, tf: &Path) -> String {
    let template = match shell {
        Shell::Zsh => ZSH,
        Shell::Bash => BASH,
        Shell::Fish => FISH,
    };
    // zsh and bash read the paths from quoted here-documents; fish has them in single quotes,
    // where only `\` and `'` need escaping.
    let fill = |p: &Path| {
        let p = p.to_string_lossy();
        match shell {
            Shell::Fish => p.replace('\\', "\\\\").replace('\'', "\\'"),
            _ => p.into_owned(),
        }
    };
    template
        .replace("@TF_SPOOL@", &fill(spool))
        .replace("@TF_BIN@", &fill(tf))
        .replace("@TF_BELL@", &fill(&crate::focus::bell_path(spool)))
        .replace("@TF_SPOOL_CAP@", &spool_cap.to_string())
}

/// What a hook sends. `start`/`end` share the fields; `end` adds the start time and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShellEvent {
    pub event: ShellEventKind,
    /// `zsh`, `bash` or `fish`.
    pub shell: String,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub tty: Option<String>,
    pub cwd: String,
    /// The command line as typed.
    pub command: String,
    /// Unix seconds (`$EPOCHREALTIME`).
    pub time: f64,
    /// For `end`: when the command started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    /// For `end`: the exit status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShellEventKind {
    Start,
    End,
}

/// `[shell]` settings, checked once.
#[derive(Debug, Clone)]
pub struct ShellRules {
    pub record_args: bool,
    pub default_category: Category,
    pub exclude_commands: Vec<String>,
    pub exclude_dirs: Vec<std::path::PathBuf>,
    pub max_command_ms: i64,
    pub categories: Vec<(String, Category)>,
}

impl ShellRules {
    pub fn new(c: &ShellConfig, home: Option<&std::path::Path>) -> ShellRules {
        let (dirs, commands): (Vec<&String>, Vec<&String>) = c
            .exclude
            .iter()
            .partition(|e| e.starts_with('/') || e.starts_with("~/"));
        ShellRules {
            record_args: c.record_args,
            default_category: Category::parse(&c.default_category).unwrap_or_default(),
            exclude_commands: commands.into_iter().cloned().collect(),
            exclude_dirs: dirs
                .into_iter()
                .map(|d| match (d.strip_prefix("~/"), home) {
                    (Some(rest), Some(h)) => h.join(rest),
                    _ => std::path::PathBuf::from(d),
                })
                .collect(),
            max_command_ms: i64::from(c.max_command_minutes) * 60_000,
            categories: c
                .categories
                .iter()
                .filter_map(|(p, cat)| Some((p.clone(), Category::parse(cat)?)))
                .collect(),
        }
    }

    pub fn excluded(&self, e: &ShellEvent) -> bool {
        let cwd = std::path::Path::new(&e.cwd);
        self.exclude_dirs.iter().any(|d| cwd.starts_with(d))
            || self
                .exclude_commands
                .iter()
                .any(|p| classify::glob_match(p, e.command.trim()))
    }
}

/// What is stored as the entity: the program only, unless whole commands are opted in (then
/// with secrets redacted). Bounded to the entity limit.
pub fn entity(command: &str, record_args: bool) -> String {
    let text = if record_args {
        redact::redact(command)
    } else {
        classify::program_and_subcommand(command)
            .program
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default()
    };
    let mut text = text.replace(['\n', '\r', '\0'], " ");
    if text.len() > crate::model::MAX_ENTITY_BYTES {
        let mut cut = crate::model::MAX_ENTITY_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The heartbeats a shell event stands for. A finished command covers its whole run (capped),
/// with heartbeats closer together than the timeout so the run counts in full; a started
/// command marks its start. `project`/`branch` come from the caller (it knows the repository).
pub fn heartbeats(
    e: &ShellEvent,
    rules: &ShellRules,
    timeout_ms: i64,
    project: Option<String>,
    branch: Option<String>,
    machine: Option<String>,
) -> Vec<Heartbeat> {
    let mut entity = entity(&e.command, rules.record_args);
    if e.command.trim().is_empty() || !e.time.is_finite() {
        return Vec::new();
    }
    if entity.trim().is_empty() {
        // A line that runs no program (`A=1`, `> out`, `;;`) is the shell's own work: it
        // still counts, under the shell's name.
        entity = match e.shell.trim() {
            "" => "shell".to_string(),
            name => name.to_string(),
        };
    }
    let category = classify::category(&e.command, &rules.categories, rules.default_category);
    let make = |t_ms: i64, last: bool| {
        let mut h = Heartbeat::new(crate::model::ms_to_seconds(t_ms), entity.clone());
        h.entity_type = EntityType::Command;
        h.category = category;
        h.project = project.clone();
        h.branch = branch.clone();
        h.machine = machine.clone();
        h.editor = Some(e.shell.clone());
        h.source = Some(Source::Shell);
        let mut meta = serde_json::Map::new();
        meta.insert("cwd".into(), e.cwd.clone().into());
        meta.insert("shell_pid".into(), e.pid.into());
        if let Some(tty) = &e.tty {
            meta.insert("tty".into(), tty.clone().into());
        }
        if last && let Some(status) = e.status {
            meta.insert("exit_status".into(), status.into());
        }
        h.meta = Some(meta);
        h
    };
    let end_ms = crate::model::seconds_to_ms(e.time);
    match e.event {
        ShellEventKind::Start => vec![make(end_ms, false)],
        ShellEventKind::End => {
            let start_ms = e
                .start
                .filter(|s| s.is_finite())
                .map(crate::model::seconds_to_ms)
                .unwrap_or(end_ms);
            let start_ms = start_ms.min(end_ms);
            // A forgotten `tail -f` counts at most `max_command_ms`. The last heartbeat is at
            // least 1 ms after the first, or a command that ran for less than a millisecond
            // would lose its exit status to the start heartbeat's dedup key.
            // Saturating: a time far outside the range of milliseconds (validation refuses the
            // heartbeats afterwards) must not overflow.
            let last_ms = end_ms
                .min(start_ms.saturating_add(rules.max_command_ms))
                .max(start_ms.saturating_add(1));
            let step = (timeout_ms / 2).clamp(1_000, 60_000);
            let mut out = Vec::new();
            let mut t = start_ms;
            while t < last_ms {
                out.push(make(t, false));
                t = t.saturating_add(step);
            }
            out.push(make(last_ms, true));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(command: &str, start: f64, end: f64) -> ShellEvent {
        ShellEvent {
            event: ShellEventKind::End,
            shell: "zsh".into(),
            pid: 42,
            tty: Some("/dev/pts/1".into()),
            cwd: "/src/app".into(),
            command: command.into(),
            time: end,
            start: Some(start),
            status: Some(1),
        }
    }

    fn rules() -> ShellRules {
        ShellRules::new(&ShellConfig::default(), None)
    }

    #[test]
    fn a_long_command_counts_for_its_whole_run() {
        let hs = heartbeats(
            &event("cargo build --release", 1000.0, 1000.0 + 40.0 * 60.0),
            &rules(),
            900_000,
            None,
            None,
            None,
        );
        // Every gap is under the timeout, so the run counts 40 minutes.
        assert!(
            hs.windows(2)
                .all(|w| (w[1].time - w[0].time) * 1000.0 < 900_000.0)
        );
        assert_eq!(hs.first().unwrap().time, 1000.0);
        assert_eq!(hs.last().unwrap().time, 1000.0 + 2400.0);
        assert!(
            hs.iter()
                .all(|h| h.entity == "cargo" && h.category.as_str() == "building")
        );
        assert_eq!(hs.last().unwrap().meta.as_ref().unwrap()["exit_status"], 1);
        assert!(hs[0].meta.as_ref().unwrap().get("exit_status").is_none());
    }

    /// Found by fuzzing (`fuzz/regressions/protocol_line/shell-end-time-overflow`): an `end`
    /// event whose time is past the largest millisecond count overflowed `start + max`.
    #[test]
    fn an_end_time_beyond_i64_milliseconds_does_not_overflow() {
        for (start, end) in [
            (None, 1.77e16),
            (Some(1.77e16), 1.77e16),
            (Some(-1e300), 1e300),
            (None, -1e300),
            (Some(9.2e15), 9.3e15),
        ] {
            let mut e = event("cargo build", 0.0, end);
            e.start = start;
            let hs = heartbeats(&e, &rules(), 900_000, None, None, None);
            assert!(!hs.is_empty() && hs.len() <= 14_401, "{start:?} {end}");
            let now = 1_767_225_600.0;
            assert!(
                hs.into_iter().all(|mut h| h.validate(now).is_err()),
                "{start:?} {end}"
            );
        }
    }

    #[test]
    fn runs_are_capped_and_quick_commands_give_two_heartbeats() {
        let mut r = rules();
        r.max_command_ms = 10 * 60_000;
        let hs = heartbeats(
            &event("tail -f log", 0.0, 5.0 * 3600.0),
            &r,
            900_000,
            None,
            None,
            None,
        );
        assert_eq!(hs.last().unwrap().time, 600.0);
        // A quick command: its start, and its end 1 ms later carrying the exit status.
        let hs = heartbeats(&event("ls", 10.0, 10.0), &r, 900_000, None, None, None);
        assert_eq!(
            hs.iter().map(Heartbeat::time_ms).collect::<Vec<_>>(),
            vec![10_000, 10_001]
        );
    }

    #[test]
    fn only_the_program_is_stored_unless_opted_in() {
        assert_eq!(
            entity("GITHUB_TOKEN=x gh pr create --title secret", false),
            "gh"
        );
        assert_eq!(entity("mysql --password=x", true), "mysql --password=***");
        assert_eq!(entity("echo a\nb", true), "echo a b");
        assert_eq!(
            entity(&"x".repeat(10_000), true).len(),
            crate::model::MAX_ENTITY_BYTES
        );
        assert_eq!(entity("   ", false), "");
    }

    /// Issue 12: the program stored and the category come from the parsed command line, not
    /// its first word (`clear;`, `|` and `nobody` were stored before).
    #[test]
    fn the_program_of_a_command_line_is_parsed() {
        for (command, program, category) in [
            ("clear; tf report", "tf", "coding"),
            ("TOKEN=x env | head", "env", "coding"),
            ("sudo -u nobody make", "make", "building"),
            (
                "cd app && cargo test 2>&1 | tee log",
                "cargo",
                "running tests",
            ),
            ("time -p nice -n 5 pytest -x", "pytest", "running tests"),
            ("sh -c 'go build ./...'", "go", "building"),
        ] {
            let hs = heartbeats(
                &event(command, 10.0, 11.0),
                &rules(),
                900_000,
                None,
                None,
                None,
            );
            assert!(!hs.is_empty(), "{command}");
            for h in hs {
                assert_eq!(h.entity, program, "{command}");
                assert_eq!(h.category.as_str(), category, "{command}");
            }
        }
    }

    /// Odd lines are never dropped: a line with no program counts as the shell's, and
    /// unterminated quotes, replacement characters and huge lines still name a program.
    #[test]
    fn odd_lines_still_make_heartbeats() {
        for (command, program) in [
            ("A=1", "zsh"),
            ("> out.txt", "zsh"),
            (";;", "zsh"),
            ("echo 'unterminated", "echo"),
            ("make \"$(", "make"),
            ("\u{fffd}ls -la", "\u{fffd}ls"),
        ] {
            let hs = heartbeats(
                &event(command, 10.0, 11.0),
                &rules(),
                900_000,
                None,
                None,
                None,
            );
            assert!(!hs.is_empty(), "{command:?}");
            assert!(
                hs.iter().all(|h| h.entity == program),
                "{command:?}: {hs:?}"
            );
        }
        let huge = format!("cargo test {}", "'x".repeat(1 << 20));
        let hs = heartbeats(
            &event(&huge, 10.0, 11.0),
            &rules(),
            900_000,
            None,
            None,
            None,
        );
        assert_eq!(hs.last().map(|h| h.entity.as_str()), Some("cargo"));
        assert_eq!(hs[0].category.as_str(), "running tests");
        // Blank lines are not commands.
        assert!(
            heartbeats(
                &event("  ", 10.0, 11.0),
                &rules(),
                900_000,
                None,
                None,
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn a_sub_millisecond_command_keeps_its_exit_status() {
        let hs = heartbeats(
            &event("true", 100.0, 100.0003),
            &rules(),
            900_000,
            None,
            None,
            None,
        );
        assert_eq!(hs.len(), 2);
        assert_ne!(hs[0].time_ms(), hs[1].time_ms());
        assert_eq!(hs[1].meta.as_ref().unwrap()["exit_status"], 1);
    }

    #[test]
    fn fish_paths_are_escaped() {
        let s = script(Shell::Fish, Path::new("/s"), 1 << 20, Path::new("/a'b\\c"));
        assert!(!s.contains("@TF_"), "{s}");
        assert!(s.contains("'/a\\'b\\\\c'"), "{s}");
    }

    #[test]
    fn exclusions() {
        let c = ShellConfig {
            exclude: vec!["ls*".into(), "~/secret".into(), "/tmp/x".into()],
            ..Default::default()
        };
        let r = ShellRules::new(&c, Some(std::path::Path::new("/home/me")));
        let mut e = event("ls -la", 0.0, 1.0);
        assert!(r.excluded(&e));
        e.command = "cargo build".into();
        assert!(!r.excluded(&e));
        e.cwd = "/home/me/secret/deep".into();
        assert!(r.excluded(&e));
        e.cwd = "/tmp/xy".into();
        assert!(!r.excluded(&e));
    }
}

//! Documentation that ships inside `tf`: the man pages (generated into `man/` by a test and
//! embedded here, so `tf man install` works after `cargo install`), the shell completions with
//! project names from the daemon, and the hand-written man page sections (time grammar,
//! examples, files, environment, exit status).

use super::Context;
use super::args::{Cli, CompleteWhat};
use crate::client::Client;
use crate::protocol::{Request, Response};
use crate::report::{Dim, Filters, NONE_NAME, RangeSpec};
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

macro_rules! pages {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/man/", $name)))),*]
    };
}

/// Every generated man page (a test checks this list against the generator).
pub(crate) const PAGES: &[(&str, &[u8])] = pages!(
    "tf.1",
    "tf-add.1",
    "tf-agent.1",
    "tf-apikey.1",
    "tf-branches.1",
    "tf-commits.1",
    "tf-completions.1",
    "tf-config.1",
    "tf-daemon.1",
    "tf-dash.1",
    "tf-doctor.1",
    "tf-export.1",
    "tf-focus.1",
    "tf-forget.1",
    "tf-git.1",
    "tf-heartbeat.1",
    "tf-import.1",
    "tf-init.1",
    "tf-intervals.1",
    "tf-log.1",
    "tf-man.1",
    "tf-report.1",
    "tf-sessions.1",
    "tf-setup.1",
    "tf-status.1",
    "tf-sync.1",
    "tf-watch.1",
    "tf-web.1",
    "timeforged.1",
    "timeforged-run.1",
    "timeforged-serve.1",
    "timeforged-user.1",
);

/// Where man pages go when no `--dir` is given: `PREFIX/share/man` for a `tf` in `PREFIX/bin`
/// (man-db searches it for every `bin` directory on `PATH`, so `~/.cargo/share/man` works for
/// `cargo install`), else `~/.local/share/man`.
fn default_man_dir() -> Result<PathBuf> {
    if let Ok(exe) = std::env::current_exe()
        && let Some(bin) = exe.parent()
        && bin.file_name().is_some_and(|n| n == "bin")
        && let Some(prefix) = bin.parent()
    {
        return Ok(prefix.join("share/man"));
    }
    let dirs = directories::BaseDirs::new()
        .context("cannot find your home directory: give the directory with --dir")?;
    Ok(dirs.data_dir().join("man"))
}

pub fn install(dir: Option<&Path>, out: &mut impl Write) -> Result<ExitCode> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => default_man_dir()?,
    };
    let man1 = dir.join("man1");
    std::fs::create_dir_all(&man1).with_context(|| format!("cannot create {}", man1.display()))?;
    for (name, page) in PAGES {
        let path = man1.join(name);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    writeln!(
        out,
        "installed {} man pages in {}",
        PAGES.len(),
        man1.display()
    )?;
    match on_manpath(&dir) {
        Some(true) => writeln!(out, "`man tf` finds them")?,
        Some(false) => writeln!(
            out,
            "`man` does not search {} yet: add it with\n  export MANPATH=\"{}:$MANPATH\"",
            dir.display(),
            dir.display()
        )?,
        None => writeln!(
            out,
            "if `man tf` does not find them, add {} to MANPATH",
            dir.display()
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `manpath` (man-db) lists `dir`; `None` when there is no `manpath` to ask.
fn on_manpath(dir: &Path) -> Option<bool> {
    let out = std::process::Command::new("manpath")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let want = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let listed = String::from_utf8_lossy(&out.stdout);
    Some(listed.trim().split(':').any(|p| {
        let p = Path::new(p);
        p.canonicalize().unwrap_or_else(|_| p.to_path_buf()) == want
    }))
}

/// `tf complete projects`: one name per line, from a running daemon only (Tab must stay fast
/// and must not start anything); nothing at all otherwise.
pub fn complete(ctx: &Context, what: CompleteWhat, out: &mut impl Write) -> Result<ExitCode> {
    match what {
        CompleteWhat::Projects => {
            let Ok(mut client) = Client::connect(&ctx.paths.socket) else {
                return Ok(ExitCode::SUCCESS);
            };
            let request = Request::Report {
                range: RangeSpec::named("365d"),
                by: vec![Dim::Project],
                filters: Filters::default(),
                timeout_minutes: None,
            };
            if let Ok(Response::Report(report)) = client.request(&request) {
                for (_, rows) in &report.by {
                    for r in rows.iter().filter(|r| r.name != NONE_NAME) {
                        writeln!(out, "{}", r.name)?;
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The completion script for `shell`, with project names after `--project` where the shell
/// lets a script add them (bash, zsh, fish).
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> Result<ExitCode> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tf", &mut script);
    let script = String::from_utf8(script).context("completion script is not UTF-8")?;
    out.write_all(with_projects(shell, &script).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Adds project names to the generated script. clap's scripts are static: each gets the
/// smallest change that makes the value of `--project` come from `tf complete projects`, run
/// only when a project name is being completed (nothing runs at shell start).
fn with_projects(shell: clap_complete::Shell, script: &str) -> String {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => script.replace(
            "--project)\n                    COMPREPLY=($(compgen -f \"${cur}\"))",
            "--project)\n                    COMPREPLY=($(compgen -W \"$(tf complete projects \
             2>/dev/null)\" -- \"${cur}\"))",
        ),
        // `_arguments` specs end in the value's action; clap leaves `_default` (files).
        Shell::Zsh => {
            let specs: Vec<String> = script
                .lines()
                .map(|l| {
                    let project = l.starts_with("'--project=") || l.starts_with("'*--project=");
                    match (project, l.rsplit_once(":_default'")) {
                        (true, Some((head, tail))) => format!("{head}:_tf_projects'{tail}"),
                        _ => l.to_string(),
                    }
                })
                .collect();
            let spec = specs.join("\n") + "\n";
            let helper = r#"
(( $+functions[_tf_projects] )) ||
_tf_projects() {
    local -a projects
    projects=("${(@f)$(tf complete projects 2>/dev/null)}")
    _describe -t projects 'project' projects
}
"#;
            // Defined before the `compdef` line, so sourcing the file works as well.
            match spec.rfind("\nif [ \"$funcstack[1]\" = \"_tf\" ]") {
                Some(at) => format!("{}{helper}{}", &spec[..at], &spec[at..]),
                None => format!("{spec}{helper}"),
            }
        }
        // clap's fish lines omit positional values, so the range names are added too.
        Shell::Fish => {
            let mut out: String = script
                .lines()
                .map(|l| match l.contains(" -l project ") && l.ends_with(" -r") {
                    true => format!("{l} -f -a '(tf complete projects 2>/dev/null)'\n"),
                    false => format!("{l}\n"),
                })
                .collect();
            let ranges = crate::report::range::RANGE_NAMES.join(" ");
            for sub in ["report", "sessions", "log", "export", "branches", "commits"] {
                out.push_str(&format!(
                    "complete -c tf -n \"__fish_tf_using_subcommand {sub}\" -f -a \"{ranges}\"\n"
                ));
            }
            out
        }
        _ => script.to_string(),
    }
}

/// A part of a man page section.
#[cfg(test)]
pub(crate) enum Block {
    Para(&'static str),
    /// A term and what it means (`.TP`).
    Item(&'static str, &'static str),
    /// Lines shown as typed.
    Code(&'static str),
}

/// Hand-written sections for a page (`tf`, `tf-report`, …), after the generated ones.
#[cfg(test)]
pub(crate) fn extra_sections(page: &str) -> Vec<(&'static str, Vec<Block>)> {
    use Block::{Code, Item, Para};
    let grammar = || {
        vec![
            Para(
                "A RANGE (the positional argument of report, sessions, log, export, branches \
                 and commits) is one of:",
            ),
            Item("today", "the default; yesterday likewise"),
            Item(
                "week, last-week",
                "this week up to today, the week before (weeks start on Monday unless \
                 report.week_start = \"sunday\")",
            ),
            Item("month, last-month, year", "likewise"),
            Item("Nd", "the last N days including today: 7d, 30d"),
            Item("all", "everything"),
            Item("YYYY-MM-DD", "that day: tf report 2026-12-01"),
            Item("YYYY-MM", "that month: tf report 2026-11"),
            Para(
                "Or --from and --to, each a TIME (either may be left out: from the beginning, \
                 to the end of today). A TIME (also tf add --from/--to and tf heartbeat --time) \
                 is one of:",
            ),
            Item("now", "this instant"),
            Item(
                "today, yesterday, YYYY-MM-DD",
                "the start of that day; as --to, its end, so --from D --to D is day D",
            ),
            Item("HH:MM[:SS]", "that time today: 09:30"),
            Item(
                "YYYY-MM-DD HH:MM[:SS], YYYY-MM-DDTHH:MM[:SS]",
                "a local date and time: \"2026-12-01 09:30\"",
            ),
            Item(
                "RFC 3339",
                "an exact instant with its offset: 2026-12-01T09:30:00+01:00, …Z",
            ),
            Item(
                "unix seconds",
                "1764581400, decimals allowed (at least 100000000)",
            ),
            Item(
                "-2h, 90m ago, 1h30m ago, 3 days ago",
                "back from now; units s, m (min), h, d, w (a day is a calendar day)",
            ),
            Para(
                "Days and times without an offset are read in the daemon's time zone (tf status \
                 shows it), so tf add, tf heartbeat and the reports always agree, whatever TZ \
                 the calling shell has. A bad RANGE or TIME is an error naming the argument and \
                 listing these forms (exit status 2).",
            ),
        ]
    };
    let exit_status = || {
        vec![
            Item("0", "success"),
            Item(
                "1",
                "some input was rejected (bad rows in tf import; the good ones are stored)",
            ),
            Item(
                "2",
                "an error: bad arguments, an unusable config file, the daemon could not be \
                 reached or refused the request (the message is on stderr as tf: …)",
            ),
            Item("3", "tf daemon status: the daemon is not running"),
        ]
    };
    match page {
        "tf" => vec![
            ("TIME AND RANGES", grammar()),
            (
                "EXAMPLES",
                vec![Code(
                    "eval \"$(tf init zsh)\"                   # in ~/.zshrc: record what the shell runs\n\
                     tf watch add ~/code                     # count the files you save\n\
                     tf status                               # today's total, current project\n\
                     tf report week --by project --by language\n\
                     tf report 2026-12-01 --json             # one day, as JSON\n\
                     tf report --from 09:30 --to now --by branch\n\
                     tf sessions yesterday\n\
                     tf add --project standup --from 09:30 --to 09:45 --note daily\n\
                     tf heartbeat --entity src/main.rs --time '10m ago'\n\
                     tf log today\n\
                     tf export all --format csv -o time.csv\n\
                     tf import wakatime wakatime-dump.json\n\
                     tf status --format '{today} {project}'  # for a prompt or tmux\n\
                     tf man install                          # so that `man tf` works",
                )],
            ),
            (
                "FILES",
                vec![
                    Para("With TIMEFORGED_DIR=DIR set, every file is in DIR. Otherwise:"),
                    Item("~/.config/timeforged/config.toml", "the configuration"),
                    Item(
                        "~/.local/share/timeforged/timeforged.db",
                        "the SQLite database (its lock file timeforged.lock beside it)",
                    ),
                    Item(
                        "~/.local/share/timeforged/api_key",
                        "the key WakaTime plugins use (tf apikey)",
                    ),
                    Item(
                        "~/.local/state/timeforged/timeforged.log",
                        "the daemon's log",
                    ),
                    Item(
                        "~/.local/state/timeforged/spool.jsonl",
                        "shell events waiting for the daemon",
                    ),
                    Item(
                        "$XDG_RUNTIME_DIR/timeforged/tf.sock",
                        "the daemon's socket (else /tmp/timeforged-$UID/tf.sock)",
                    ),
                    Para("tf config path prints where they are."),
                ],
            ),
            (
                "ENVIRONMENT",
                vec![
                    Item(
                        "TIMEFORGED_DIR",
                        "keep config, database, socket and logs in this one directory",
                    ),
                    Item(
                        "TIMEFORGED_SECTION__KEY",
                        "any configuration key, e.g. TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=10 \
                         (later layers win: defaults, config.toml, then these)",
                    ),
                    Item(
                        "TZ",
                        "the daemon's time zone when it starts; days and times are read in it",
                    ),
                    Item("NO_COLOR", "no colour even on a terminal"),
                    Item(
                        "COLUMNS",
                        "table width when not on a terminal (default 100)",
                    ),
                    Item(
                        "WAKATIME_HOME",
                        "where tf setup wakatime finds .wakatime.cfg",
                    ),
                    Item(
                        "XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME, XDG_RUNTIME_DIR",
                        "the base directories above",
                    ),
                ],
            ),
            ("EXIT STATUS", exit_status()),
            (
                "SEE ALSO",
                vec![Para(
                    "tf-report(1), tf-sessions(1), tf-log(1), tf-add(1), tf-heartbeat(1), \
                     tf-status(1), tf-dash(1), tf-import(1), tf-export(1), timeforged(1)",
                )],
            ),
        ],
        "tf-report" => vec![
            ("TIME AND RANGES", grammar()),
            (
                "OUTPUT",
                vec![
                    Para(
                        "A table per --by (default: project) with time, percent and a bar. \
                         --json prints {\"start\", \"end\", \"total_seconds\", \"by\": {DIM: \
                         [{\"name\", \"seconds\", \"percent\"}]}} with one key per --by in the \
                         order given; --csv prints dimension,name,seconds,percent, the first \
                         row being the total. Both default to --by project as well.",
                    ),
                    Para("Rows without a value are named (none)."),
                    Para(
                        "--by actor credits every moment to one actor, human or an agent \
                         (claude-code, codex, …), on the one timeline: the rows add up to the \
                         total. --ai shows the lanes instead: the human's time and the agents' \
                         time each on its own timeline (same timeout), the time both were \
                         active (overlap), and the net line changes and tokens of each; with \
                         --json an \"ai\" object {\"human\": {\"seconds\", \"line_changes\"}, \
                         \"agent\": {\"seconds\", \"line_changes\", \"input_tokens\", \
                         \"output_tokens\", \"sessions\"}, \"overlap_seconds\", \
                         \"either_seconds\", \"agents\": [{\"name\", \"seconds\", …}]}; with \
                         --csv rows ai,human|agent|overlap|either and agent,NAME. --ai alone \
                         leaves out the --by project table.",
                    ),
                ],
            ),
            (
                "EXAMPLES",
                vec![Code(
                    "tf report                              # today, by project\n\
                     tf report week --by project --by language\n\
                     tf report 2026-12-01 --by branch       # one day\n\
                     tf report 2026-11 --by day             # one month, day by day\n\
                     tf report --from 09:30 --to now\n\
                     tf report --from 2026-11-01 --to 2026-11-15 --csv\n\
                     tf report 30d --project api --by ticket --json\n\
                     tf report --from -2h --timeout 5\n\
                     tf report week --by actor              # human, claude-code, codex, …\n\
                     tf report --ai                         # human and agent lanes side by side",
                )],
            ),
            ("EXIT STATUS", exit_status()),
            ("SEE ALSO", vec![Para("tf(1), tf-sessions(1), tf-log(1)")]),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_project_names_after_project() {
        use clap_complete::Shell;
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            completions(shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("tf complete projects"), "{shell}: {text}");
            // Ranges and dimensions come from the value parsers' possible values.
            assert!(text.contains("last-week"), "{shell} offers ranges");
            assert!(text.contains("ticket"), "{shell} offers --by dimensions");
        }
        let mut out = Vec::new();
        completions(Shell::Zsh, &mut out).unwrap();
        let zsh = String::from_utf8(out).unwrap();
        assert!(
            zsh.contains(":P:_tf_projects'"),
            "the --project spec calls the helper"
        );
        assert!(!zsh.contains(":P:_default'"), "every --project is covered");
        let helper = zsh.find("_tf_projects() {").expect("the helper");
        let compdef = zsh.rfind("compdef _tf tf").expect("compdef");
        assert!(helper < compdef, "defined before use");
    }
}

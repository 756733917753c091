//! The `tf` command line, defined once with clap (man pages and completions come from here).

use crate::report::Dim;
use crate::report::range::{RANGE_GRAMMAR, RANGE_NAMES, RangeName, TIME_GRAMMAR, TimeSpec};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsStr;
use std::path::PathBuf;

/// The time grammar under `--help` of every command that takes a time or a range (and in
/// their man pages): the one text of `report::range`, with what the flags add.
pub fn time_help() -> String {
    format!(
        "RANGE: {RANGE_GRAMMAR}. Default: today.\n\nTIME (--from, --to, --time): {TIME_GRAMMAR}. \
         A day as --to includes that whole day. Days and times without an offset are in the \
         daemon's time zone (tf status shows it)."
    )
}

#[derive(Debug, Parser)]
#[command(
    name = "tf",
    version,
    about = "TimeForged: honest numbers about your coding time, kept on your machine",
    long_about = "TimeForged tracks developer time from shell hooks, file changes, git and WakaTime editor \
plugins, keeps it in a local SQLite database, and reports it. `tf` talks to the per-user daemon \
`timeforged`, starting it when needed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Daemon status, today's total and the current project.
    #[command(after_long_help = STATUS_FORMAT_HELP)]
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// One line for a prompt or status bar, e.g. '{today} {project}'; never starts the
        /// daemon and prints an empty line when it is not running.
        #[arg(long, value_name = "FMT", conflicts_with = "json")]
        format: Option<String>,
    },
    /// Time per project, language, branch, … for a range.
    #[command(after_long_help = time_help())]
    Report(ReportArgs),
    /// Runs of activity with start, end, duration and main project.
    #[command(after_long_help = time_help())]
    Sessions {
        #[command(flatten)]
        range: RangeArgs,
        /// Print a JSON array of sessions.
        #[arg(long)]
        json: bool,
    },
    /// The raw heartbeats and manual intervals recorded in a range, newest last.
    #[command(after_long_help = time_help())]
    Log {
        #[command(flatten)]
        range: RangeArgs,
        /// Print JSON: {"heartbeats": [...], "intervals": [...]} (WakaTime field names plus
        /// `source`; intervals with their id).
        #[arg(long)]
        json: bool,
    },
    /// A live dashboard of today, the week, the month and each project (keys: ? for help).
    Dash,
    /// Open the web dashboard in your browser, signed in (a one-time link from the daemon).
    Web {
        /// Print the link instead of opening a browser (it works once, for 5 minutes).
        #[arg(long)]
        print: bool,
    },
    /// Time per branch: first and last activity, commits made, ticket keys.
    #[command(after_long_help = time_help())]
    Branches {
        #[command(flatten)]
        range: RangeArgs,
        /// Only branches of this project.
        #[arg(long)]
        project: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Commits, each with the time spent on its branch since the previous commit.
    #[command(after_long_help = time_help())]
    Commits {
        #[command(flatten)]
        range: RangeArgs,
        /// Only commits of this project.
        #[arg(long)]
        project: Option<String>,
        /// Only commits on this branch.
        #[arg(long)]
        branch: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Track file changes in git repositories below a directory.
    Watch {
        #[command(subcommand)]
        action: WatchCommand,
    },
    /// Sync with your TimeForged server and forward to WakaTime-compatible ones.
    Sync {
        #[command(subcommand)]
        action: SyncCommand,
    },
    /// Send one heartbeat (for scripts and integrations).
    #[command(after_long_help = time_help())]
    Heartbeat(HeartbeatArgs),
    /// Add a manual interval; it wins over heartbeat time in its span.
    #[command(after_long_help = time_help())]
    Add(AddArgs),
    /// List manual intervals (in RANGE), or remove or edit one.
    #[command(after_long_help = time_help(), args_conflicts_with_subcommands = true)]
    Intervals {
        #[command(subcommand)]
        action: Option<IntervalsCommand>,
        #[command(flatten)]
        range: RangeArgs,
        /// Print a JSON array of intervals with their ids.
        #[arg(long)]
        json: bool,
    },
    /// Delete recorded heartbeats of a project, or of files matching a pattern; reports follow
    /// at once. Shows what it would delete unless --yes is given.
    #[command(after_long_help = FORGET_HELP)]
    Forget(ForgetArgs),
    /// Import heartbeats: `tf import FILE` (JSON array or JSON lines, `-` for stdin) or
    /// `tf import wakatime FILE` (WakaTime's data dump).
    Import {
        /// `wakatime` for a WakaTime data dump, else the file.
        #[arg(value_name = "[wakatime] FILE")]
        kind_or_file: PathBuf,
        /// The dump file, after `wakatime`.
        #[arg(hide = true)]
        file: Option<PathBuf>,
    },
    /// Export heartbeats as JSON lines or CSV.
    #[command(after_long_help = time_help())]
    Export {
        #[command(flatten)]
        range: RangeArgs,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Start, stop or inspect the daemon; install it as a service; read its log.
    Daemon {
        #[command(subcommand)]
        action: DaemonAction,
    },
    /// Check the daemon, its socket, the config, the shell hook, watched roots, git hooks,
    /// WakaTime's config, the HTTP port, sync and the service; print each problem with its fix.
    ///
    /// Exits 1 when it found a problem (warnings alone exit 0).
    Doctor {
        /// Print JSON: {"ok", "problems", "warnings", "checks": [{"name", "status", "message", "fix"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Show the effective configuration or where it lives.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the API key WakaTime plugins use to talk to the local daemon.
    Apikey,
    /// Point other tools at TimeForged.
    Setup {
        #[command(subcommand)]
        target: SetupTarget,
    },
    /// Install or remove TimeForged's git hooks; see which are installed.
    ///
    /// The hooks record commits, checkouts, merges and rewrites (amend, rebase) for the reports
    /// by branch and commit. A hook already there keeps running.
    Git {
        #[command(subcommand)]
        action: GitAction,
    },
    /// Print the shell hook to source: `eval "$(tf init zsh)"` (bash and fish likewise).
    Init { shell: HookShell },
    /// Send a shell event (used by the bash and fish hooks; never prints, always succeeds).
    #[command(hide = true)]
    Hook(HookArgs),
    /// Record what a coding agent does: `tf agent event` is the command of its hooks.
    Agent {
        #[command(subcommand)]
        action: AgentCommand,
    },
    /// A focus timer kept by the daemon, with how much of it was real activity.
    Focus {
        #[command(subcommand)]
        action: FocusCommand,
    },
    /// Print shell completions (they offer ranges, --by dimensions and your project names).
    #[command(after_long_help = COMPLETIONS_HELP)]
    Completions { shell: clap_complete::Shell },
    /// Install the man pages where `man` finds them.
    Man {
        #[command(subcommand)]
        action: ManAction,
    },
    /// Print candidates for shell completion (called by the completion scripts).
    #[command(hide = true)]
    Complete { what: CompleteWhat },
}

#[derive(Debug, Subcommand)]
pub enum ManAction {
    /// Write tf.1, tf-*.1, timeforged*.1 into DIR/man1 (default: share/man next to the tf
    /// binary, e.g. ~/.cargo/share/man, which man finds for ~/.cargo/bin on PATH).
    Install {
        /// The man directory (the one holding man1/), e.g. ~/.local/share/man.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompleteWhat {
    /// Project names seen in the last year (from a running daemon; nothing otherwise).
    Projects,
}

const STATUS_FORMAT_HELP: &str = "FMT placeholders: {today} (today's total, 3h 05m), {project}, \
{branch}, {language} (of the latest heartbeat, while it is active: within the timeout), \
{running} (the command a shell is running now, and for how long), {focus} (the focus \
timer's minutes left, `12m left`, or nothing), {{ and }} for braces. An \
unknown placeholder is an error (exit 2). When the daemon is not running it prints an empty \
line and exits 0.\n\nExamples: tf status --format '{today}' (tmux: set -g status-right \
'#(tf status --format \"{project} {today}\")'), RPROMPT='$(tf status --format \"{today}\")'.";

const COMPLETIONS_HELP: &str = "Where each shell reads them:\n\n  \
tf completions bash > ~/.local/share/bash-completion/completions/tf\n  \
tf completions zsh > ~/.zfunc/_tf    # fpath+=(~/.zfunc) before compinit in ~/.zshrc\n  \
tf completions fish > ~/.config/fish/completions/tf.fish\n\nProject names after --project \
come from the running daemon when you press Tab (tf complete projects); nothing runs when the \
shell starts.";

/// A range: a name, a day, a month, or `--from`/`--to`. Checked here; the daemon resolves it.
#[derive(Debug, Clone, Args, Default)]
pub struct RangeArgs {
    /// today (default), yesterday, week, last-week, month, last-month, year, all, Nd,
    /// YYYY-MM-DD, YYYY-MM.
    #[arg(value_name = "RANGE", value_parser = RangeParser, hide_possible_values = true)]
    pub range: Option<String>,
    /// Start TIME (see below); a day means its start. Without --to: until the end of today.
    #[arg(long, value_name = "TIME", value_parser = TimeTextParser, allow_hyphen_values = true,
          conflicts_with = "range")]
    pub from: Option<String>,
    /// End TIME; a day (YYYY-MM-DD, today, yesterday) is included whole.
    #[arg(long, value_name = "TIME", value_parser = TimeTextParser, allow_hyphen_values = true,
          conflicts_with = "range")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// Group by: project (default), language, branch, ticket, category, entity, editor,
    /// machine, os, source, day, actor (human or the agent; repeatable, or comma-separated).
    #[arg(long = "by", value_name = "DIM", value_parser = DimsParser, hide_possible_values = true)]
    pub by: Vec<DimList>,
    /// Only time on this project (repeatable: any of them).
    #[arg(long, value_name = "P")]
    pub project: Vec<String>,
    /// Only time on this branch (repeatable).
    #[arg(long, value_name = "B")]
    pub branch: Vec<String>,
    /// Only time in this language (repeatable).
    #[arg(long, value_name = "L")]
    pub language: Vec<String>,
    /// Heartbeat timeout for this report, in minutes (1–240).
    #[arg(long, value_name = "MIN")]
    pub timeout: Option<u32>,
    /// Print JSON: {"start", "end", "total_seconds", "by": {DIM: [{"name", "seconds", "percent"}]}}.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV: dimension,name,seconds,percent (first row: the total).
    #[arg(long)]
    pub csv: bool,
    /// Human and agent time side by side: each on its own timeline, their overlap, the line
    /// changes and tokens of each (an `ai` object with --json).
    #[arg(long)]
    pub ai: bool,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Record one event of a coding agent (never prints, always exits 0, never waits for the
    /// daemon).
    ///
    /// Reads the hook's JSON payload from stdin as Claude Code sends it (session_id,
    /// hook_event_name, cwd, tool_name, tool_input.file_path, …), or from PAYLOAD; flags fill
    /// in or override what the payload says, so other agents can pass only flags. The daemon
    /// makes an `ai coding` heartbeat of it, credited to the agent: the file the tool touched,
    /// else the project of the directory. A payload that is not JSON is dropped with a line in
    /// the daemon's log.
    Event(AgentEventArgs),
}

#[derive(Debug, Args)]
pub struct AgentEventArgs {
    /// The agent: claude-code, codex, aider, … (any name of letters, digits, '-', '_', '.').
    #[arg(long)]
    pub agent: String,
    /// The event: Claude Code's hook names (UserPromptSubmit, PreToolUse, PostToolUse, Stop,
    /// SessionStart, SessionEnd), or prompt, tool, edit, stop, session-end, …; given, stdin is
    /// not read.
    #[arg(long)]
    pub event: Option<std::ffi::OsString>,
    /// The agent's working directory (default: the current one); gives project and branch.
    #[arg(long)]
    pub cwd: Option<std::ffi::OsString>,
    /// The file the agent touched (relative to --cwd).
    #[arg(long)]
    pub file: Option<std::ffi::OsString>,
    /// The file was written.
    #[arg(long)]
    pub write: bool,
    /// Net lines the agent changed in the file (added minus removed).
    #[arg(long, allow_hyphen_values = true)]
    pub line_changes: Option<i64>,
    /// The agent's session id.
    #[arg(long)]
    pub session: Option<std::ffi::OsString>,
    /// The AI model.
    #[arg(long)]
    pub model: Option<std::ffi::OsString>,
    /// The tool it used.
    #[arg(long)]
    pub tool: Option<std::ffi::OsString>,
    /// When it happened, in unix seconds (default: now; hooks run as it happens).
    #[arg(long)]
    pub time: Option<f64>,
    /// The payload itself, instead of stdin (as Codex's notify passes it).
    pub payload: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FocusCommand {
    /// Start a focus timer (one at a time); at its end a desktop notification, or the
    /// terminal bell at your next prompt.
    Start {
        /// How long: 25m (the default), 1h30m, 90s, or minutes (50); 1 second to 12 hours.
        duration: Option<String>,
        /// What the session is for.
        #[arg(long)]
        project: Option<String>,
        /// A note kept with the session.
        #[arg(long)]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the running timer early.
    Stop {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The running timer: time left, and your activity so far.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Focus sessions of a range, each with how much of it was real activity, on which
    /// projects.
    Log {
        #[command(flatten)]
        range: RangeArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    /// File path, command, app, domain or URL.
    #[arg(long)]
    pub entity: std::ffi::OsString,
    /// file, app, domain, url or command.
    #[arg(long = "type", default_value = "file")]
    pub entity_type: String,
    /// coding, building, debugging, running tests, … (WakaTime's categories).
    #[arg(long)]
    pub category: Option<String>,
    /// Defaults to the git repository (or .wakatime-project) of a file entity.
    #[arg(long)]
    pub project: Option<String>,
    #[arg(long)]
    pub branch: Option<String>,
    /// Defaults to the language of the file name.
    #[arg(long)]
    pub language: Option<String>,
    /// When (a TIME, see below); defaults to now.
    #[arg(long, value_name = "TIME", value_parser = TimeParser, allow_hyphen_values = true)]
    pub time: Option<TimeSpec>,
    /// The file was saved.
    #[arg(long)]
    pub write: bool,
    /// Cursor line.
    #[arg(long)]
    pub lineno: Option<i64>,
    /// Lines in the file.
    #[arg(long)]
    pub lines: Option<i64>,
    /// Defaults to this machine's host name.
    #[arg(long)]
    pub machine: Option<String>,
    /// Editor name, e.g. "VS Code".
    #[arg(long)]
    pub editor: Option<String>,
    /// editor, shell, fs, git, manual, import or sync.
    #[arg(long, default_value = "manual")]
    pub source: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The project the time goes to.
    #[arg(long)]
    pub project: String,
    /// Start TIME (see below): 09:30, "2026-12-01 09:30", -2h, …
    #[arg(long, value_name = "TIME", value_parser = TimeParser, allow_hyphen_values = true)]
    pub from: TimeSpec,
    /// End TIME; a day alone means the end of that day.
    #[arg(long, value_name = "TIME", value_parser = TimeParser, allow_hyphen_values = true)]
    pub to: TimeSpec,
    /// What it was (shown by `tf log`).
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long)]
    pub branch: Option<String>,
    /// A WakaTime category (default: coding).
    #[arg(long)]
    pub category: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IntervalsCommand {
    /// Remove a manual interval (its id is in `tf intervals`).
    Rm { id: i64 },
    /// Change a manual interval: only the fields given change.
    #[command(after_long_help = time_help())]
    Edit(Box<EditIntervalArgs>),
}

#[derive(Debug, Args)]
pub struct EditIntervalArgs {
    /// The interval's id (see `tf intervals`).
    pub id: i64,
    #[arg(long)]
    pub project: Option<String>,
    /// New start TIME.
    #[arg(long, value_name = "TIME", value_parser = TimeParser, allow_hyphen_values = true)]
    pub from: Option<TimeSpec>,
    /// New end TIME; a day alone means the end of that day.
    #[arg(long, value_name = "TIME", value_parser = TimeParser, allow_hyphen_values = true)]
    pub to: Option<TimeSpec>,
    /// New note; an empty one removes it.
    #[arg(long)]
    pub note: Option<String>,
    /// New branch; an empty one removes it.
    #[arg(long)]
    pub branch: Option<String>,
    /// New WakaTime category.
    #[arg(long)]
    pub category: Option<String>,
}

pub const FORGET_HELP: &str = "Without a RANGE or --from/--to, all time. A PATTERN has `*` (any \
characters) and `?` (one); without a `/` it matches the file name (`*.env`, `secret?.txt`), with \
one the whole path (`/home/me/work/private/*`). The deletion is journaled: a synced machine sends it \
to the server and the user's other machines. Manual intervals are not touched (tf intervals rm).

Examples:
  tf forget --project acme                      # what would go
  tf forget --project acme --yes
  tf forget --entity '*.env' --yes
  tf forget --project acme --from 2026-11-01 --to 2026-11-30 --yes";

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Only heartbeats of this project.
    #[arg(long, required_unless_present = "entity")]
    pub project: Option<String>,
    /// Only heartbeats whose file (entity) matches this pattern.
    #[arg(long, value_name = "PATTERN")]
    pub entity: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Delete them (without it, only show what would be deleted).
    #[arg(long)]
    pub yes: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// RANGE: checked with the one grammar, so a typo fails before the daemon is asked, and clap's
/// error names the argument. Its possible values (the names) feed the completions.
#[derive(Debug, Clone, Copy)]
pub struct RangeParser;

impl TypedValueParser for RangeParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        let check = |s: &str| {
            RangeName::parse(s).map(|_| s.to_string()).map_err(|_| {
                format!("not a range; a RANGE is {RANGE_GRAMMAR} (or give --from/--to TIME)")
            })
        };
        check.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(RANGE_NAMES.iter().map(PossibleValue::new)))
    }
}

/// A TIME kept as text: ranges travel to the daemon as written, and it resolves them.
#[derive(Debug, Clone, Copy)]
pub struct TimeTextParser;

impl TypedValueParser for TimeTextParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        TimeParser
            .parse_ref(cmd, arg, value)
            .map(|_| value.to_string_lossy().into_owned())
    }
}

/// A TIME, parsed (zone-free) for commands that resolve it themselves with the daemon's zone.
#[derive(Debug, Clone, Copy)]
pub struct TimeParser;

impl TypedValueParser for TimeParser {
    type Value = TimeSpec;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<TimeSpec, clap::Error> {
        let parse = |s: &str| {
            TimeSpec::parse(s).map_err(|e| format!("{}; a TIME is {TIME_GRAMMAR}", e.problem))
        };
        parse.parse_ref(cmd, arg, value)
    }
}

/// One `--by` value: a dimension or a comma-separated list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimList(pub Vec<Dim>);

#[derive(Debug, Clone, Copy)]
pub struct DimsParser;

impl TypedValueParser for DimsParser {
    type Value = DimList;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<DimList, clap::Error> {
        let parse = |s: &str| {
            let names: Vec<&str> = s
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if names.is_empty() {
                return Err("empty; expected a dimension".to_string());
            }
            names
                .into_iter()
                .map(|n| {
                    Dim::parse(n).ok_or_else(|| {
                        format!(
                            "unknown dimension {n:?}; expected one of: {}",
                            Dim::ALL.map(Dim::as_str).join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<Dim>, String>>()
                .map(DimList)
        };
        parse.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Dim::ALL.iter().map(|d| PossibleValue::new(d.as_str())),
        ))
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum HookShell {
    Zsh,
    Bash,
    Fish,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// start or end.
    pub event: String,
    #[arg(long)]
    pub shell: String,
    #[arg(long, default_value_t = 0)]
    pub pid: u32,
    #[arg(long)]
    pub tty: Option<std::ffi::OsString>,
    #[arg(long)]
    pub cwd: std::ffi::OsString,
    #[arg(long, allow_hyphen_values = true)]
    pub command: std::ffi::OsString,
    /// Unix seconds; now when absent.
    #[arg(long)]
    pub time: Option<f64>,
    /// For `end`: when the command started (unix seconds).
    #[arg(long)]
    pub start: Option<f64>,
    /// For `end`: the exit status.
    #[arg(long, allow_hyphen_values = true)]
    pub status: Option<i32>,
    /// For `end`: how long the command ran, in milliseconds (fish's $CMD_DURATION).
    #[arg(long)]
    pub duration_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// JSON lines, one heartbeat per line (WakaTime field names).
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Sync every target now and print what moved.
    Now {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Each target: last success, records waiting, last error, next retry, clock skew.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Watch a directory (kept across restarts; `[watch] roots` in the config does the same).
    Add { path: PathBuf },
    /// Stop watching a directory added with `tf watch add`.
    Remove { path: PathBuf },
    /// The watched directories, how many directories and repositories each has.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SetupTarget {
    /// Write api_url and api_key into ~/.wakatime.cfg (backed up; other settings kept).
    Wakatime {
        /// Show what would be written, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Restore the file as it was before `tf setup wakatime`.
        #[arg(long)]
        undo: bool,
    },
    /// Add TimeForged's hooks to Claude Code's ~/.claude/settings.json (backed up; other
    /// settings and hooks kept), so its work counts as agent time.
    ClaudeCode {
        /// Show the file as it would be written, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove TimeForged's hooks again (everything else stays).
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GitAction {
    /// Install the post-commit, post-checkout, post-merge and post-rewrite hooks.
    ///
    /// They go where git runs hooks from: core.hooksPath when set, else hooks/ in the common git
    /// directory (linked worktrees share it; in a bare repository, its worktrees run them). A
    /// hook already there is kept as NAME.pre-timeforged and run by ours, with the same
    /// arguments and input. Reinstalling updates our hooks and changes nothing else.
    ///
    /// With --global, once for every repository: the hooks go into TimeForged's own directory
    /// (git-hooks/ next to config.toml) and the global core.hooksPath points there. Each of
    /// them runs the hook git would have run without it (the previous global core.hooksPath's,
    /// if one was set, else the repository's own hooks/), with the same arguments and input.
    /// A repository with its own core.hooksPath keeps it (install there without --global).
    Install {
        /// A path in the repository (default: the current directory).
        repo: Option<PathBuf>,
        /// For every repository, through the global core.hooksPath.
        #[arg(long, conflicts_with = "repo")]
        global: bool,
    },
    /// Remove TimeForged's hooks and put back the hooks they kept.
    ///
    /// A hook of ours that was edited since it was installed is left alone, with a warning.
    /// With --global, the global core.hooksPath is put back as it was before `tf git install
    /// --global` (unless it was changed since), and the global hooks are removed.
    Uninstall {
        /// A path in the repository (default: the current directory).
        repo: Option<PathBuf>,
        /// The hooks installed with `tf git install --global`.
        #[arg(long, conflicts_with = "repo")]
        global: bool,
    },
    /// Where the hooks directory is and which hooks are installed.
    Status {
        /// A path in the repository (default: the current directory).
        repo: Option<PathBuf>,
        /// The hooks installed with `tf git install --global`.
        #[arg(long, conflicts_with = "repo")]
        global: bool,
    },
    /// Record a git event (run by the installed hooks; never prints, always succeeds).
    #[command(hide = true)]
    Hook {
        /// post-commit, post-checkout, post-merge or post-rewrite.
        name: String,
        /// The arguments git gave the hook.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Start the daemon in the background (no-op when running).
    Start,
    /// Stop the daemon (it flushes pending writes first).
    Stop,
    /// Whether the daemon runs, with its pid and version.
    Status,
    /// Run the daemon as a service: started at login and again after a crash.
    ///
    /// On Linux, systemd user units (timeforged.socket and timeforged.service in
    /// $XDG_CONFIG_HOME/systemd/user): systemd listens on the socket and starts the daemon on
    /// first use, and (unless --on-demand) at login. On macOS, a launchd agent.
    Install {
        /// Start the daemon only on first use, not at login (file saves before the first `tf`
        /// command after login are then not recorded).
        #[arg(long)]
        on_demand: bool,
        /// Write the service files only; do not enable or start them.
        #[arg(long)]
        no_enable: bool,
    },
    /// Remove the service: the daemon starts only when `tf` needs it again.
    Uninstall,
    /// The daemon's log (the last lines; --follow for what comes).
    Logs {
        /// How many lines from the end.
        #[arg(long, short = 'n', default_value_t = 50)]
        lines: usize,
        /// Keep printing what is appended, until interrupted.
        #[arg(long, short)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// The effective configuration (defaults, then config.toml, then TIMEFORGED_* variables).
    Show,
    /// Where the configuration file, database, socket and log are.
    Path,
}

/// The daemon's command line (`timeforged`), here so that its man page is generated too.
#[derive(Debug, Parser)]
#[command(
    name = "timeforged",
    version,
    about = "The TimeForged daemon: collects activity and answers `tf`"
)]
pub struct DaemonCli {
    #[command(subcommand)]
    pub command: Option<DaemonCommand>,
}

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Serve in the foreground until SIGTERM/SIGINT or `tf daemon stop` (the default).
    Run,
    /// Run the multi-user team server: the WakaTime-compatible API for every user, by API key.
    Serve(ServeArgs),
    /// Manage the team server's users and their API keys.
    User(UserArgs),
}

/// Which database a server command uses: `--db`, else `[storage] url`, else `server.db` in the
/// data directory.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database: a file path, sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(
        long,
        value_name = "URL",
        env = "TIMEFORGED_STORAGE__URL",
        hide_env_values = true
    )]
    pub db: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: `[server] listen`, 127.0.0.1:9114).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; prints their first API key (only now: it is stored hashed).
    Add {
        name: String,
        #[command(flatten)]
        settings: UserSettingsArgs,
    },
    /// Users with their settings and number of keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a user and everything they recorded.
    Remove {
        name: String,
        /// Really delete the user's data.
        #[arg(long)]
        yes: bool,
    },
    /// Change a user's settings (time zone, timeout, preset, week start).
    Set {
        name: String,
        #[command(flatten)]
        settings: UserSettingsArgs,
    },
    /// Print a one-time link that signs NAME in to the web dashboard.
    LoginLink {
        name: String,
        /// The server's address as browsers reach it (default: http://[server] listen).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// How long the link works if unused, in minutes (1 to 10080).
        #[arg(long, value_name = "MIN", default_value_t = 60)]
        minutes: u32,
    },
    /// API keys: add, list, revoke, rotate.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// Per-user settings; `default` unsets one (the server's default applies).
#[derive(Debug, Args, Default)]
pub struct UserSettingsArgs {
    /// Time zone for days and weeks (IANA name, e.g. Europe/Berlin), or `default`.
    #[arg(long, value_name = "TZ")]
    pub time_zone: Option<String>,
    /// Heartbeat timeout in minutes (1–240), or `default`.
    #[arg(long, value_name = "MIN")]
    pub timeout: Option<String>,
    /// Duration rules: timeforged or wakapi, or `default`.
    #[arg(long, value_name = "PRESET")]
    pub preset: Option<String>,
    /// First day of the week: monday or sunday, or `default`.
    #[arg(long, value_name = "DAY")]
    pub week_start: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// A new key for the user (printed once).
    Add {
        name: String,
        /// What the key is for (a machine, a plugin).
        #[arg(long)]
        label: Option<String>,
        /// The key may read reports but not send heartbeats.
        #[arg(long)]
        read_only: bool,
    },
    /// The user's keys (ids, labels, read-only, created).
    List {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke one key by its id (see `key list`); it stops working at once.
    Revoke {
        #[arg(value_name = "KEY_ID")]
        id: i64,
    },
    /// Revoke every key of the user and print a new one.
    Rotate { name: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    /// Renders every man page: `tf.1`, `tf-<command>.1`, `timeforged.1` and
    /// `timeforged-<command>.1`.
    fn man_pages() -> Vec<(String, Vec<u8>)> {
        let mut pages = Vec::new();
        let mut render = |name: String, cmd: clap::Command| {
            let page = name.trim_end_matches(".1").to_string();
            pages.push((name, render_page(&page, cmd)));
        };
        for (program, cmd) in [("tf", Cli::command()), ("timeforged", DaemonCli::command())] {
            for sub in cmd
                .get_subcommands()
                .filter(|s| s.get_name() != "help" && !s.is_hide_set())
            {
                let name = format!("{program}-{}", sub.get_name());
                let page = format!("{name}.1");
                // clap wants a static name; leaking a few strings in a test is fine.
                render(page, sub.clone().name(&*Box::leak(name.into_boxed_str())));
            }
            render(format!("{program}.1"), cmd);
        }
        pages
    }

    /// clap_mangen's sections, then ours: the hand-written ones for `page`, else the command's
    /// long after-help under a fitting title.
    fn render_page(page: &str, cmd: clap::Command) -> Vec<u8> {
        let mut extra = crate::cli::manual::extra_sections(page);
        if extra.is_empty()
            && let Some(help) = cmd.get_after_long_help()
        {
            let help = help.to_string();
            let title = if help == time_help() {
                "TIME AND RANGES"
            } else if help == STATUS_FORMAT_HELP {
                "FORMAT"
            } else {
                "FILES"
            };
            let paragraphs: Vec<&'static str> =
                Box::leak(help.into_boxed_str()).split("\n\n").collect();
            // Indented lines are commands, shown as typed.
            let block = |p: &'static str| match p.starts_with("  ") {
                true => crate::cli::manual::Block::Code(p),
                false => crate::cli::manual::Block::Para(p),
            };
            extra.push((title, paragraphs.into_iter().map(block).collect()));
        }
        // Without the after-help, which clap_mangen would print as "EXTRA".
        let cmd = cmd.after_long_help(clap::builder::Resettable::<clap::builder::StyledStr>::Reset);
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut buf)
            .expect("render man page");
        let mut page = String::from_utf8(buf).expect("roff is UTF-8");
        let ours: String = extra
            .iter()
            .map(|(title, blocks)| roff_section(title, blocks))
            .collect();
        match page.find("\n.SH VERSION") {
            Some(at) => page.insert_str(at + 1, &ours),
            None => page.push_str(&ours),
        }
        page.into_bytes()
    }

    /// Roff for one section. Text is escaped so that no line starts a request and `-` stays a
    /// minus (copy-pasteable options).
    fn roff_section(title: &str, blocks: &[crate::cli::manual::Block]) -> String {
        use crate::cli::manual::Block;
        let esc = |s: &str| {
            s.lines()
                .map(|l| {
                    let l = l.replace('\\', "\\e").replace('-', "\\-");
                    if l.starts_with(['.', '\'']) {
                        format!("\\&{l}")
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut out = format!(".SH \"{title}\"\n");
        for b in blocks {
            match b {
                Block::Para(text) => out.push_str(&format!(".PP\n{}\n", esc(text))),
                Block::Item(term, text) => {
                    out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(term), esc(text)))
                }
                Block::Code(text) => {
                    out.push_str(&format!(".PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n", esc(text)))
                }
            }
        }
        out
    }

    /// `tf man install` embeds exactly the pages the generator writes.
    #[test]
    fn embedded_man_pages_are_the_generated_ones() {
        let mut generated: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
        let mut embedded: Vec<String> = crate::cli::manual::PAGES
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        generated.sort();
        embedded.sort();
        assert_eq!(generated, embedded);
    }

    /// The checked-in man pages match the clap definitions. Regenerate with
    /// `TIMEFORGED_UPDATE_MAN=1 cargo test --lib man_pages`.
    #[test]
    fn man_pages_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let update = std::env::var_os("TIMEFORGED_UPDATE_MAN").is_some();
        for (name, page) in man_pages() {
            let path = dir.join(&name);
            if update {
                std::fs::create_dir_all(&dir).expect("create man/");
                std::fs::write(&path, &page).expect("write man page");
            } else {
                let have = std::fs::read(&path).unwrap_or_default();
                assert!(
                    have == page,
                    "{} is stale: run TIMEFORGED_UPDATE_MAN=1 cargo test --lib man_pages",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        DaemonCli::command().debug_assert();
    }
}

//! The `tf` command line, defined once with clap (man pages and completions come from here).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Time per project, language, branch, … for a range.
    Report(ReportArgs),
    /// Runs of activity with start, end, duration and main project.
    Sessions {
        #[command(flatten)]
        range: RangeArgs,
        /// Print a JSON array of sessions.
        #[arg(long)]
        json: bool,
    },
    /// The raw heartbeats and manual intervals recorded in a range, newest last.
    Log {
        #[command(flatten)]
        range: RangeArgs,
        /// Print a JSON array of heartbeats (WakaTime field names plus `source`).
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
    Heartbeat(HeartbeatArgs),
    /// Add a manual interval; it wins over heartbeat time in its span.
    Add(AddArgs),
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
    Export {
        #[command(flatten)]
        range: RangeArgs,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Start, stop or inspect the daemon.
    Daemon {
        #[command(subcommand)]
        action: DaemonAction,
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
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

/// A range: a name, or `--from`/`--to`.
#[derive(Debug, Clone, Args, Default)]
pub struct RangeArgs {
    /// today, yesterday, week, last-week, month, last-month, year, 7d, 30d (any Nd), all
    pub range: Option<String>,
    /// Start: a date (YYYY-MM-DD, local) or an RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// End: a date (inclusive whole day) or an RFC 3339 time.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// Group by: project, language, branch, ticket, category, entity, editor, machine, os, source, day (repeatable).
    #[arg(long = "by", value_name = "DIM")]
    pub by: Vec<String>,
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
    /// Unix seconds; defaults to now.
    #[arg(long)]
    pub time: Option<f64>,
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
    /// Start: RFC 3339, `YYYY-MM-DD HH:MM` (local), `HH:MM` (today) or unix seconds.
    #[arg(long)]
    pub from: String,
    /// End, in the same forms as --from.
    #[arg(long)]
    pub to: String,
    /// What it was (shown by `tf log`).
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long)]
    pub branch: Option<String>,
    /// A WakaTime category (default: coding).
    #[arg(long)]
    pub category: Option<String>,
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
}

#[derive(Debug, Subcommand)]
pub enum GitAction {
    /// Install the post-commit, post-checkout, post-merge and post-rewrite hooks.
    ///
    /// They go where git runs hooks from: core.hooksPath when set, else hooks/ in the common git
    /// directory (linked worktrees share it; in a bare repository, its worktrees run them). A
    /// hook already there is kept as NAME.pre-timeforged and run by ours, with the same
    /// arguments and input. Reinstalling updates our hooks and changes nothing else.
    Install {
        /// A path in the repository (default: the current directory).
        repo: Option<PathBuf>,
    },
    /// Remove TimeForged's hooks and put back the hooks they kept.
    ///
    /// A hook of ours that was edited since it was installed is left alone, with a warning.
    Uninstall {
        /// A path in the repository (default: the current directory).
        repo: Option<PathBuf>,
    },
    /// Where the hooks directory is and which hooks are installed.
    Status {
        /// A path in the repository (default: the current directory).
        repo: Option<PathBuf>,
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
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .expect("render man page");
            pages.push((name, buf));
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

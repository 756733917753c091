//! `tf doctor`: checks everything TimeForged depends on — the daemon, its socket, the config
//! against the running daemon, the shell hook, watched roots and the inotify limit, git hooks,
//! WakaTime's config, the HTTP port, sync and the service — and prints each problem with its
//! fix. Also the comparison of `tf`'s settings with the daemon's that every command makes.

use super::Context;
use crate::client::Client;
use crate::config::{self, Config};
use crate::protocol::{ConfigState, Request, Response};
use std::path::Path;

/// Compares this `tf`'s settings with the daemon's. When the config file is not what the
/// daemon last read, the daemon is asked to read it now (the file watcher may not have seen the
/// change yet). Returns what still differs, each with what to do; nothing when they agree (or
/// the daemon is too old to say).
pub fn settings_notes(ctx: &Context, client: &mut Client) -> Vec<String> {
    let Ok(Response::Config(mut theirs)) = client.request(&Request::Config { reload: false })
    else {
        return Vec::new();
    };
    if agrees(ctx, &theirs) {
        return Vec::new();
    }
    let file_text = config::read_file(&ctx.paths.config_file).ok().flatten();
    let file_fingerprint = file_text.as_deref().map(config::short_hash);
    if theirs.file_fingerprint != file_fingerprint
        || Path::new(&theirs.file) != ctx.paths.config_file
        || theirs.fingerprint != ctx.config.fingerprint()
    {
        if let Ok(Response::Config(now)) = client.request(&Request::Config { reload: true }) {
            theirs = now;
        }
        if agrees(ctx, &theirs) {
            return Vec::new();
        }
    }
    describe_differences(
        &ctx.config,
        &ctx.paths.config_file,
        &theirs,
        config::env_vars(),
    )
}

fn agrees(ctx: &Context, theirs: &ConfigState) -> bool {
    theirs.fingerprint == ctx.config.fingerprint()
        && theirs.error.is_none()
        && theirs.restart_needed.is_empty()
}

/// What differs between `mine` (this `tf`: its file and `env`) and the daemon's `theirs`, and
/// what to do about each.
pub fn describe_differences(
    mine: &Config,
    file: &Path,
    theirs: &ConfigState,
    env: Vec<(String, String)>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let restart = restart_command();
    if let Some(e) = &theirs.error {
        notes.push(format!(
            "the daemon could not load its config ({e}); it keeps the settings it loaded at {}",
            clock(theirs.loaded_at)
        ));
    }
    let mut needs_restart = Vec::new();
    for (key, daemon, here) in config::differences(&theirs.settings, &mine.daemon_json()) {
        if theirs.restart_needed.contains(&key) {
            needs_restart.push(format!("{key} = {here}"));
            continue;
        }
        let var = env.iter().find(|(name, _)| var_sets(name, &key));
        match var {
            Some((name, value)) => notes.push(format!(
                "{name}={value} is set here, but the daemon runs with {key} = {daemon}: it reads \
                 TIMEFORGED_* variables only when it starts. Put the setting in {}{}, or restart \
                 the daemon from this shell ({restart})",
                file.display(),
                match key.as_str() {
                    "durations.timeout_minutes" => {
                        format!(" (for one report: tf report --timeout {here})")
                    }
                    _ => String::new(),
                }
            )),
            None if theirs.error.is_some() => {}
            None => notes.push(format!(
                "{key} is {here} here but {daemon} in the daemon, which was started with other \
                 TIMEFORGED_* variables or another config: restart it ({restart})"
            )),
        }
    }
    if !needs_restart.is_empty() {
        notes.push(format!(
            "{} sets {}, which the daemon applies only when it starts: restart it ({restart})",
            file.display(),
            needs_restart.join(", ")
        ));
    }
    notes
}

/// Whether the variable `name` (`TIMEFORGED_DURATIONS__TIMEOUT_MINUTES`) sets `key`
/// (`durations.timeout_minutes`, or a section such as `sync`).
fn var_sets(name: &str, key: &str) -> bool {
    let Some(rest) = name
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("TIMEFORGED_"))
        .map(|_| &name[11..])
    else {
        return false;
    };
    let Some((section, k)) = rest.split_once("__") else {
        return false;
    };
    let dotted = format!(
        "{}.{}",
        section.to_ascii_lowercase(),
        k.to_ascii_lowercase()
    );
    dotted == key || section.eq_ignore_ascii_case(key)
}

/// How to restart the daemon: through systemd when it manages it.
pub fn restart_command() -> String {
    match super::service::installed_manager() {
        Some(m) => m.restart_command(),
        None => "tf daemon stop; tf daemon start".to_string(),
    }
}

/// `HH:MM` of unix seconds, in the local time zone.
pub fn clock(seconds: f64) -> String {
    crate::calendar::Calendar::system()
        .zoned(crate::model::seconds_to_ms(seconds))
        .strftime("%H:%M")
        .to_string()
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth knowing; not broken.
    Warn,
    /// Broken: `tf doctor` exits 1.
    Problem,
    /// Could not be checked (it needs something that is missing).
    Skipped,
}

/// One check's outcome, with what to do when it is not ok.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Level,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: &'static str, status: Level, message: impl Into<String>) -> Check {
    Check {
        name,
        status,
        message: message.into(),
        fix: None,
    }
}

fn problem(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        fix: Some(fix.into()),
        ..check(name, Level::Problem, message)
    }
}

fn warn(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        fix: Some(fix.into()),
        ..check(name, Level::Warn, message)
    }
}

/// How long `tf doctor` waits for the daemon's answers: a hung daemon is a finding, not a hang.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub fn doctor(
    ctx: &Context,
    json: bool,
    out: &mut impl std::io::Write,
) -> anyhow::Result<std::process::ExitCode> {
    let checks = run_checks(ctx);
    let problems = checks.iter().filter(|c| c.status == Level::Problem).count();
    let warnings = checks.iter().filter(|c| c.status == Level::Warn).count();
    if json {
        let report = serde_json::json!({
            "ok": problems == 0,
            "problems": problems,
            "warnings": warnings,
            "checks": checks,
        });
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        let style = super::format::Style::detect();
        for c in &checks {
            let mark = match c.status {
                Level::Ok => style.accent("ok     "),
                Level::Warn => style.bold("warn   "),
                Level::Problem => style.bold("PROBLEM"),
                Level::Skipped => style.dim("skipped"),
            };
            writeln!(out, "{mark} {:<10} {}", c.name, c.message)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "        {:<10} fix: {fix}", "")?;
            }
        }
        writeln!(
            out,
            "{problems} problem{}, {warnings} warning{}",
            if problems == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )?;
    }
    Ok(match problems {
        0 => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::from(1),
    })
}

fn run_checks(ctx: &Context) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(match &ctx.config_error {
        Some(e) => problem(
            "config",
            e.clone(),
            "correct the file at the line named (or move it away to run with the defaults)",
        ),
        None => check(
            "config",
            Level::Ok,
            format!("{} reads cleanly", ctx.paths.config_file.display()),
        ),
    });
    checks.extend(socket_checks(&ctx.paths.socket));
    let (daemon, mut client, info) = daemon_check(ctx);
    checks.push(daemon);
    let skipped = |name| check(name, Level::Skipped, "the daemon is not answering");
    match (&mut client, &info) {
        (Some(client), Some(_)) if ctx.config_error.is_none() => {
            let notes = settings_notes(ctx, client);
            checks.push(match notes.is_empty() {
                true => check(
                    "settings",
                    Level::Ok,
                    "the daemon runs with the settings tf reads",
                ),
                false => problem(
                    "settings",
                    notes.join("; "),
                    "see above: the daemon's settings differ from this shell's",
                ),
            });
        }
        (_, Some(info)) => {
            let error = info.config.as_ref().and_then(|c| c.error.clone());
            checks.push(match error {
                Some(e) => problem(
                    "settings",
                    format!("the daemon could not load its config: {e}"),
                    "correct the config file",
                ),
                None => check(
                    "settings",
                    Level::Skipped,
                    "tf could not read the config file",
                ),
            });
        }
        _ => checks.push(skipped("settings")),
    }
    checks.extend(service_checks(info.as_deref()));
    checks.push(shell_check(info.as_deref()));
    match &info {
        Some(info) => checks.extend(watch_checks(info)),
        None => checks.push(skipped("watch")),
    }
    checks.push(git_hooks_check());
    checks.push(wakatime_check(ctx, info.as_deref()));
    checks.push(http_check(ctx, info.as_deref()));
    match &info {
        Some(info) => checks.extend(sync_checks(info)),
        None => checks.push(skipped("sync")),
    }
    checks
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

fn socket_checks(socket: &Path) -> Vec<Check> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let dir = socket.parent().unwrap_or(Path::new("/"));
    match std::fs::metadata(dir) {
        Err(_) => out.push(check(
            "socket",
            Level::Skipped,
            format!("{} does not exist yet (the daemon creates it)", dir.display()),
        )),
        Ok(m) if m.uid() != current_uid() => out.push(problem(
            "socket",
            format!(
                "the socket directory {} belongs to uid {}, not to you: they could pose as the daemon",
                dir.display(),
                m.uid()
            ),
            format!("remove it (sudo rm -r {}) and run tf daemon start", dir.display()),
        )),
        Ok(m) if m.mode() & 0o077 != 0 => out.push(problem(
            "socket",
            format!(
                "the socket directory {} is open to others (mode {:o}): other users can reach the daemon's socket",
                dir.display(),
                m.mode() & 0o777
            ),
            format!("chmod 700 {}", dir.display()),
        )),
        Ok(_) => match std::fs::symlink_metadata(socket) {
            Err(_) => out.push(check(
                "socket",
                Level::Ok,
                format!("{} is private (no socket yet)", dir.display()),
            )),
            Ok(m) if !m.file_type().is_socket() => out.push(problem(
                "socket",
                format!("{} is not a socket", socket.display()),
                format!("remove it (rm {}) and run tf daemon start", socket.display()),
            )),
            Ok(m) if m.mode() & 0o077 != 0 => out.push(problem(
                "socket",
                format!(
                    "the socket {} is open to others (mode {:o})",
                    socket.display(),
                    m.mode() & 0o777
                ),
                format!("chmod 600 {}", socket.display()),
            )),
            Ok(_) => out.push(check(
                "socket",
                Level::Ok,
                format!("{} and its directory are private", socket.display()),
            )),
        },
    }
    out
}

/// Whether the daemon answers, without starting it: a doctor must see it as it is.
fn daemon_check(
    ctx: &Context,
) -> (
    Check,
    Option<Client>,
    Option<Box<crate::protocol::StatusInfo>>,
) {
    let socket = &ctx.paths.socket;
    let start_fix = match super::service::installed_manager() {
        Some(_) => "tf daemon start".to_string(),
        None => {
            "tf daemon start (and `tf daemon install` to have it start at login and after a crash)"
                .to_string()
        }
    };
    let mut client = match Client::connect(socket) {
        Ok(c) => c,
        Err(_) if socket.exists() => {
            return (
                problem(
                    "daemon",
                    format!(
                        "nobody answers on {} (a daemon that died left it)",
                        socket.display()
                    ),
                    start_fix,
                ),
                None,
                None,
            );
        }
        Err(_) => {
            return (
                problem(
                    "daemon",
                    "not running: file saves and editor heartbeats are not recorded",
                    start_fix,
                ),
                None,
                None,
            );
        }
    };
    client.set_timeout(Some(ANSWER_TIMEOUT));
    let info = match client.request(&Request::Status) {
        Ok(Response::Status(info)) => info,
        Ok(other) => {
            return (
                problem(
                    "daemon",
                    format!("unexpected answer to status: {other:?}"),
                    restart_command(),
                ),
                None,
                None,
            );
        }
        Err(e) => {
            return (
                problem(
                    "daemon",
                    format!(
                        "the daemon on {} does not answer properly: {e}",
                        socket.display()
                    ),
                    format!("{}; see tf daemon logs", restart_command()),
                ),
                None,
                None,
            );
        }
    };
    let mine = env!("CARGO_PKG_VERSION");
    let c = if info.version != mine {
        problem(
            "daemon",
            format!(
                "the daemon is version {}, tf is {mine} (upgraded while it ran)",
                info.version
            ),
            restart_command(),
        )
    } else {
        check(
            "daemon",
            Level::Ok,
            format!(
                "running · pid {} · version {} · {}",
                info.pid,
                info.version,
                socket.display()
            ),
        )
    };
    (c, Some(client), Some(info))
}

fn service_checks(info: Option<&crate::protocol::StatusInfo>) -> Vec<Check> {
    use super::service::{Manager, SERVICE};
    let mut out = Vec::new();
    match super::service::installed_manager() {
        None => out.push(warn(
            "service",
            "not installed: after a reboot or a crash nothing starts the daemon until a tf command does",
            "tf daemon install",
        )),
        Some(Manager::Systemd { dir }) => {
            let unit = std::fs::read_to_string(dir.join(SERVICE)).unwrap_or_default();
            let exec = unit
                .lines()
                .find_map(|l| l.strip_prefix("ExecStart="))
                .map(|l| {
                    let l = l.trim();
                    match l.strip_prefix('"') {
                        Some(q) => q.split('"').next().unwrap_or_default().replace("%%", "%"),
                        None => l.split_whitespace().next().unwrap_or_default().to_string(),
                    }
                })
                .unwrap_or_default();
            let at_login = unit.contains("WantedBy=default.target");
            let watching = info.is_some_and(|i| !i.watch.is_empty());
            if !Path::new(&exec).is_file() {
                out.push(problem(
                    "service",
                    format!("{} starts {exec:?}, which does not exist (moved or uninstalled)", dir.join(SERVICE).display()),
                    "tf daemon install (writes the units again for this timeforged)",
                ));
            } else if !at_login && watching {
                out.push(warn(
                    "service",
                    "installed --on-demand while directories are watched: file saves after login are not recorded until the first tf command",
                    "tf daemon install (without --on-demand)",
                ));
            } else {
                out.push(check(
                    "service",
                    Level::Ok,
                    format!(
                        "systemd user units in {} ({})",
                        dir.display(),
                        if at_login { "started at login" } else { "started on first use" }
                    ),
                ));
            }
        }
        Some(Manager::Launchd { plist }) => out.push(check(
            "service",
            Level::Ok,
            format!("launchd agent {}", plist.display()),
        )),
    }
    if let Some(d) = info.and_then(|i| i.down_before_start) {
        out.push(warn(
            "downtime",
            format!(
                "the daemon was not running for {} before its last start: file saves then were not recorded",
                super::format::duration((d.to - d.from).max(0.0))
            ),
            "tf daemon install (starts it at login and after a crash)",
        ));
    }
    out
}

/// The login shell's startup file, and whether it loads the hook.
fn shell_check(info: Option<&crate::protocol::StatusInfo>) -> Check {
    if std::env::var_os("TIMEFORGED_SHELL_DISABLED").is_some_and(|v| v == "1") {
        return warn(
            "shell",
            "TIMEFORGED_SHELL_DISABLED=1 is set: the hook records nothing in this shell",
            "unset TIMEFORGED_SHELL_DISABLED",
        );
    }
    let shell = std::env::var("SHELL").unwrap_or_default();
    let name = Path::new(&shell)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let (rc, line) = match name.as_str() {
        "zsh" => (
            std::env::var_os("ZDOTDIR")
                .map(std::path::PathBuf::from)
                .unwrap_or(home.clone())
                .join(".zshrc"),
            "eval \"$(tf init zsh)\"",
        ),
        "bash" => (home.join(".bashrc"), "eval \"$(tf init bash)\""),
        "fish" => (
            std::env::var_os("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .unwrap_or(home.join(".config"))
                .join("fish/config.fish"),
            "tf init fish | source",
        ),
        _ => {
            return check(
                "shell",
                Level::Skipped,
                format!("login shell {shell:?} has no hook (zsh, bash and fish do)"),
            );
        }
    };
    let text = std::fs::read_to_string(&rc).unwrap_or_default();
    if !text.contains("tf init") {
        return problem(
            "shell",
            format!(
                "{} does not load the {name} hook: commands you run are not recorded",
                rc.display()
            ),
            format!(
                "echo '{line}' >> {}   (then open a new shell)",
                rc.display()
            ),
        );
    }
    match info {
        Some(i) if i.shells.is_empty() => warn(
            "shell",
            format!(
                "{} loads the hook, but no shell has reported in the last hour",
                rc.display()
            ),
            format!("open a new shell (exec {name}); check that `tf` is on its PATH"),
        ),
        Some(i) if i.spool.dropped > 0 => warn(
            "shell",
            format!(
                "{} shell events were dropped while the daemon was down (the spool was full)",
                i.spool.dropped
            ),
            "tf daemon install (keeps the daemon running), or raise shell.spool_max_bytes",
        ),
        _ => check(
            "shell",
            Level::Ok,
            format!("{} loads the {name} hook", rc.display()),
        ),
    }
}

fn watch_checks(info: &crate::protocol::StatusInfo) -> Vec<Check> {
    let mut out = Vec::new();
    if info.watch.is_empty() {
        out.push(warn(
            "watch",
            "no directory is watched: files you save are not recorded (without an editor plugin)",
            "tf watch add ~/code",
        ));
    }
    for r in &info.watch {
        out.push(match &r.error {
            Some(e) => problem(
                "watch",
                format!("{}: {e}", r.path),
                match r.origin.as_str() {
                    "config" => {
                        "correct or remove it in [watch] roots of the config file".to_string()
                    }
                    _ => format!("tf watch remove {}", r.path),
                },
            ),
            None => check(
                "watch",
                Level::Ok,
                format!(
                    "{} · {} directories, {} repositories",
                    r.path,
                    r.watched_dirs + r.polled_dirs,
                    r.repositories
                ),
            ),
        });
    }
    if let Some(limit) = &info.watch_limit {
        out.push(problem(
            "inotify",
            limit.clone(),
            "sudo sysctl fs.inotify.max_user_watches=524288 (and the same line in /etc/sysctl.d/90-timeforged.conf)",
        ));
    } else if let Some(max) = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
    {
        let used: usize = info.watch.iter().map(|r| r.watched_dirs).sum();
        out.push(match used * 10 > max * 8 {
            true => warn(
                "inotify",
                format!(
                    "{used} of the kernel's {max} inotify watches are used by the daemon alone"
                ),
                "sudo sysctl fs.inotify.max_user_watches=524288",
            ),
            false => check(
                "inotify",
                Level::Ok,
                format!("{used} of {max} watches in use"),
            ),
        });
    }
    out
}

fn git_hooks_check() -> Check {
    use crate::git::hooks::{self, State};
    let dir = match hooks::locate(Path::new(".")) {
        Ok(d) => d,
        Err(_) => return check("git", Level::Skipped, "not in a git repository"),
    };
    let statuses = match hooks::status(&dir) {
        Ok(s) => s,
        Err(e) => return problem("git", e.to_string(), "check the repository's permissions"),
    };
    let me = std::env::current_exe().ok();
    let mut absent = Vec::new();
    for s in &statuses {
        match &s.state {
            State::Ours { tf } if !tf.is_file() => {
                return problem(
                    "git",
                    format!(
                        "{} runs {}, which does not exist",
                        s.path.display(),
                        tf.display()
                    ),
                    "tf git install",
                );
            }
            State::Ours { .. } if !s.executable => {
                return problem(
                    "git",
                    format!("{} is not executable: git skips it", s.path.display()),
                    "tf git install",
                );
            }
            State::Ours { tf } if me.as_ref().is_some_and(|m| m != tf) => {
                return warn(
                    "git",
                    format!("{} runs another tf ({})", s.path.display(), tf.display()),
                    "tf git install",
                );
            }
            State::Edited => {
                return warn(
                    "git",
                    format!("{} was edited since tf installed it", s.path.display()),
                    "tf git uninstall; tf git install (or keep your edits)",
                );
            }
            State::Absent | State::Foreign => absent.push(s.name),
            State::Ours { .. } => {}
        }
    }
    match absent.is_empty() {
        true => check(
            "git",
            Level::Ok,
            format!("hooks installed in {}", dir.path.display()),
        ),
        false => warn(
            "git",
            format!(
                "{} has no TimeForged {} hook: commits are only seen in watched repositories",
                dir.repo.display(),
                absent.join(", ")
            ),
            "tf git install",
        ),
    }
}

/// `api_url` and `api_key` in the `[settings]` section of an INI text.
fn wakatime_settings(text: &str) -> (Option<String>, Option<String>) {
    let (mut url, mut key, mut in_settings) = (None, None, false);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_settings = line.eq_ignore_ascii_case("[settings]");
            continue;
        }
        if let (true, Some((k, v))) = (in_settings, line.split_once('=')) {
            match k.trim().to_ascii_lowercase().as_str() {
                "api_url" => url = Some(v.trim().to_string()),
                "api_key" => key = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    (url, key)
}

fn wakatime_check(ctx: &Context, info: Option<&crate::protocol::StatusInfo>) -> Check {
    let Ok(cfg) = super::setup::wakatime_cfg() else {
        return check(
            "wakatime",
            Level::Skipped,
            "neither WAKATIME_HOME nor HOME is set",
        );
    };
    let Ok(text) = std::fs::read_to_string(&cfg) else {
        return warn(
            "wakatime",
            format!(
                "{} does not exist: editor plugins are not pointed at TimeForged",
                cfg.display()
            ),
            "tf setup wakatime",
        );
    };
    let (url, key) = wakatime_settings(&text);
    let Some(url) = url else {
        return warn(
            "wakatime",
            format!(
                "{} has no api_url: plugins report to wakatime.com, not to TimeForged",
                cfg.display()
            ),
            "tf setup wakatime",
        );
    };
    let Some(addr) = info.and_then(|i| i.http.clone()) else {
        return check(
            "wakatime",
            Level::Skipped,
            format!(
                "{} points at {url}; the daemon's HTTP API is not listening to compare",
                cfg.display()
            ),
        );
    };
    let host_port = url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    let port = |hp: &str| hp.rsplit_once(':').map(|(_, p)| p.to_string());
    let local_host = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|h| host_port.starts_with(h));
    if !local_host {
        return warn(
            "wakatime",
            format!(
                "{} points editor plugins at {url}, not at TimeForged",
                cfg.display()
            ),
            "tf setup wakatime (or forward to that server with [[forward]] instead)",
        );
    }
    if port(&host_port) != port(&addr) {
        return problem(
            "wakatime",
            format!(
                "{} points at {url}, but the daemon listens on {addr}: plugins cannot report",
                cfg.display()
            ),
            "tf setup wakatime",
        );
    }
    let ours = std::fs::read_to_string(&ctx.paths.api_key).unwrap_or_default();
    if key.as_deref().map(str::trim) != Some(ours.trim()) {
        return problem(
            "wakatime",
            format!(
                "{} has another api_key than the daemon's: plugins are refused (401)",
                cfg.display()
            ),
            "tf setup wakatime",
        );
    }
    check(
        "wakatime",
        Level::Ok,
        format!("{} points at the daemon ({url})", cfg.display()),
    )
}

fn http_check(ctx: &Context, info: Option<&crate::protocol::StatusInfo>) -> Check {
    if !ctx.config.http.enabled {
        return check(
            "http",
            Level::Ok,
            "the HTTP API is disabled (http.enabled = false)",
        );
    }
    let Some(info) = info else {
        return check("http", Level::Skipped, "the daemon is not answering");
    };
    match (&info.http, &info.http_error) {
        (_, Some(e)) => problem(
            "http",
            e.clone(),
            format!(
                "pick a free port: http.listen = \"127.0.0.1:PORT\" in {}, then {}",
                ctx.paths.config_file.display(),
                restart_command()
            ),
        ),
        (Some(addr), None) => {
            let reachable = addr
                .parse::<std::net::SocketAddr>()
                .ok()
                .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, ANSWER_TIMEOUT).is_ok());
            match reachable {
                true => check("http", Level::Ok, format!("listening on http://{addr}")),
                false => problem(
                    "http",
                    format!("the daemon says it listens on {addr}, but nothing accepts there"),
                    restart_command(),
                ),
            }
        }
        (None, None) => check("http", Level::Ok, "disabled"),
    }
}

fn sync_checks(info: &crate::protocol::StatusInfo) -> Vec<Check> {
    if info.sync.is_empty() {
        return vec![check("sync", Level::Ok, "no sync target configured")];
    }
    info.sync
        .iter()
        .map(|t| match (&t.last_error, t.clock_skew_seconds) {
            (Some(e), _) => problem(
                "sync",
                format!("{} {}: {e}", t.name, t.url),
                match e.contains("401") || e.contains("403") || e.to_lowercase().contains("key") {
                    true => "put a valid key in the config file (`timeforged user key add NAME` on the server)".to_string(),
                    false => "check the URL and that the server is reachable; tf sync now retries".to_string(),
                },
            ),
            (None, Some(skew)) => warn(
                "sync",
                format!("{} {}: the server's clock is {skew} s off this machine's", t.name, t.url),
                "set both clocks by NTP (timedatectl set-ntp true)",
            ),
            (None, None) => check(
                "sync",
                Level::Ok,
                format!("{} {} · {} waiting", t.name, t.url, t.pending),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_matched_to_keys() {
        assert!(var_sets(
            "TIMEFORGED_DURATIONS__TIMEOUT_MINUTES",
            "durations.timeout_minutes"
        ));
        assert!(var_sets(
            "timeforged_report__week_start",
            "report.week_start"
        ));
        assert!(var_sets("TIMEFORGED_SYNC__URL", "sync"));
        assert!(!var_sets("TIMEFORGED_DIR", "durations.timeout_minutes"));
        assert!(!var_sets(
            "OTHER_DURATIONS__TIMEOUT_MINUTES",
            "durations.timeout_minutes"
        ));
    }

    #[test]
    fn differences_say_which_layer_and_what_to_do() {
        let daemon = Config::default();
        let mut mine = Config::default();
        mine.durations.timeout_minutes = Some(1);
        mine.http.listen = "127.0.0.1:9999".into();
        let theirs = ConfigState {
            settings: daemon.daemon_json(),
            restart_needed: vec!["http.listen".into()],
            ..ConfigState::default()
        };
        let env = vec![(
            "TIMEFORGED_DURATIONS__TIMEOUT_MINUTES".to_string(),
            "1".to_string(),
        )];
        let notes = describe_differences(&mine, Path::new("/x/config.toml"), &theirs, env);
        assert_eq!(notes.len(), 2, "{notes:#?}");
        assert!(
            notes[0].starts_with("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=1 is set here, but the daemon runs with durations.timeout_minutes = 15"),
            "{}",
            notes[0]
        );
        assert!(notes[0].contains("tf report --timeout 1"), "{}", notes[0]);
        assert!(
            notes[1].contains("/x/config.toml sets http.listen = \"127.0.0.1:9999\", which the daemon applies only when it starts"),
            "{}",
            notes[1]
        );
    }

    #[test]
    fn wakatime_settings_are_read_from_their_section() {
        let text = "[other]\napi_url = no\n[settings]\napi_key = k\napi_url = http://127.0.0.1:9113/api/v1\n";
        assert_eq!(
            wakatime_settings(text),
            (
                Some("http://127.0.0.1:9113/api/v1".into()),
                Some("k".into())
            )
        );
    }
}

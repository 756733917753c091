//! `tf daemon install|uninstall|logs`: the daemon as a user service, so that it runs after a
//! reboot or a crash. On Linux a systemd user unit, socket-activated (systemd listens on the
//! socket and starts the daemon on first use, passing it the socket) and by default also
//! started at login, so file saves are recorded from then on; on macOS a launchd agent. The
//! files are made by plain functions, tested on any system.

use super::Context;
use crate::client::{Client, stop_daemon};
use anyhow::{Context as _, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub const SERVICE: &str = "timeforged.service";
pub const SOCKET: &str = "timeforged.socket";
/// The launchd agent's label, and its plist's name.
pub const LAUNCHD_LABEL: &str = "dev.timeforged.daemon";

/// What runs the daemon when `tf daemon install` was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    Systemd { dir: PathBuf },
    Launchd { plist: PathBuf },
}

impl Manager {
    /// How to restart the daemon under it.
    pub fn restart_command(&self) -> String {
        match self {
            Manager::Systemd { .. } => format!("systemctl --user restart {SERVICE}"),
            Manager::Launchd { .. } => format!(
                "launchctl kickstart -k gui/{}/{LAUNCHD_LABEL}",
                current_uid()
            ),
        }
    }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
pub fn systemd_user_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty() && Path::new(d).is_absolute())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(config.join("systemd/user"))
}

/// `~/Library/LaunchAgents/dev.timeforged.daemon.plist`.
pub fn launchd_plist_path() -> Option<PathBuf> {
    home().map(|h| h.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The service manager `tf daemon install` set up, if any (its files are there).
pub fn installed_manager() -> Option<Manager> {
    if cfg!(target_os = "macos") {
        let plist = launchd_plist_path()?;
        return plist.is_file().then_some(Manager::Launchd { plist });
    }
    let dir = systemd_user_dir()?;
    dir.join(SERVICE)
        .is_file()
        .then_some(Manager::Systemd { dir })
}

/// What the service files say.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The `timeforged` binary (absolute).
    pub daemon: PathBuf,
    /// Where the daemon's socket is (as `tf` finds it).
    pub socket: PathBuf,
    /// `$XDG_RUNTIME_DIR`, which units write as `%t`.
    pub runtime_dir: Option<PathBuf>,
    /// `TIMEFORGED_DIR`, passed on when set.
    pub timeforged_dir: Option<PathBuf>,
    /// Started at login too (else only on first use).
    pub at_login: bool,
}

/// A value for a systemd unit line, quoted when needed: `%` is a specifier and `$` a variable
/// there, `"` and `\` are quoting.
fn systemd_quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    if escaped.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') || escaped != text {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

/// `timeforged.service`.
pub fn systemd_service(u: &Unit) -> String {
    let mut env = String::new();
    if let Some(dir) = &u.timeforged_dir {
        env.push_str(&format!(
            "Environment={}\n",
            systemd_quote(&format!("TIMEFORGED_DIR={}", dir.display()))
        ));
    }
    let install = match u.at_login {
        true => "\n[Install]\nWantedBy=default.target\n",
        false => "",
    };
    format!(
        "# Written by `tf daemon install`; `tf daemon uninstall` removes it.\n\
         [Unit]\n\
         Description=TimeForged daemon: tracks the time you spend on code\n\
         Documentation=man:timeforged(1)\n\
         Requires={SOCKET}\n\
         After={SOCKET}\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={} run\n\
         ExecReload=/bin/kill -HUP $MAINPID\n\
         {env}\
         # After a crash, start again; exit 3 means another daemon already serves this database.\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         RestartPreventExitStatus=3\n\
         {install}",
        systemd_quote(&u.daemon.display().to_string()),
    )
}

/// `timeforged.socket`: systemd listens where `tf` connects and starts the service on the first
/// connection.
pub fn systemd_socket(u: &Unit) -> String {
    format!(
        "# Written by `tf daemon install`; `tf daemon uninstall` removes it.\n\
         [Unit]\n\
         Description=TimeForged daemon socket: starts the daemon on first use\n\
         Documentation=man:timeforged(1)\n\
         \n\
         [Socket]\n\
         ListenStream={}\n\
         SocketMode=0600\n\
         DirectoryMode=0700\n\
         RemoveOnStop=true\n\
         \n\
         [Install]\n\
         WantedBy=sockets.target\n",
        crate::daemon::activation::unit_listen_path(&u.socket, u.runtime_dir.as_deref())
    )
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The launchd agent: started at login, started again after a crash (not after a clean stop,
/// so `tf daemon stop` stops it). launchd has no socket activation for a plain Unix socket
/// path, so the agent always runs.
pub fn launchd_plist(u: &Unit, stderr_log: &Path) -> String {
    let mut env = String::new();
    if let Some(dir) = &u.timeforged_dir {
        env = format!(
            "    <key>EnvironmentVariables</key>\n    <dict>\n        <key>TIMEFORGED_DIR</key>\n        <string>{}</string>\n    </dict>\n",
            xml(&dir.display().to_string())
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `tf daemon install`; `tf daemon uninstall` removes it. -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \x20   <key>Label</key>\n\
         \x20   <string>{LAUNCHD_LABEL}</string>\n\
         \x20   <key>ProgramArguments</key>\n\
         \x20   <array>\n\
         \x20       <string>{}</string>\n\
         \x20       <string>run</string>\n\
         \x20   </array>\n\
         \x20   <key>RunAtLoad</key>\n\
         \x20   <true/>\n\
         \x20   <key>KeepAlive</key>\n\
         \x20   <dict>\n\
         \x20       <key>SuccessfulExit</key>\n\
         \x20       <false/>\n\
         \x20   </dict>\n\
         \x20   <key>ProcessType</key>\n\
         \x20   <string>Background</string>\n\
         \x20   <key>StandardErrorPath</key>\n\
         \x20   <string>{}</string>\n\
         {env}\
         </dict>\n\
         </plist>\n",
        xml(&u.daemon.display().to_string()),
        xml(&stderr_log.display().to_string()),
    )
}

/// The `timeforged` binary as an absolute path: next to `tf`, else on `PATH`.
fn daemon_binary() -> Result<PathBuf> {
    let program = crate::client::daemon_program();
    if program.is_absolute() {
        return Ok(program);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(&program))
        .find(|p| p.is_file())
        .with_context(|| {
            "cannot find the `timeforged` binary next to `tf` or on PATH: the service needs its \
             full path (install both with `cargo install --locked --path .`)"
        })
}

fn unit_for(ctx: &Context, at_login: bool) -> Result<Unit> {
    Ok(Unit {
        daemon: daemon_binary()?,
        socket: ctx.paths.socket.clone(),
        runtime_dir: std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute()),
        timeforged_dir: std::env::var_os("TIMEFORGED_DIR")
            .filter(|d| !d.is_empty())
            .map(|d| std::path::absolute(Path::new(&d)).unwrap_or_else(|_| PathBuf::from(d))),
        at_login,
    })
}

/// `systemctl --user ARGS`: Ok, or what it said.
fn systemctl(args: &[&str]) -> Result<(), String> {
    match Command::new("systemctl").arg("--user").args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(format!("cannot run systemctl: {e}")),
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub fn install(
    ctx: &Context,
    on_demand: bool,
    no_enable: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let unit = unit_for(ctx, !on_demand)?;
    if cfg!(target_os = "macos") {
        return install_launchd(ctx, &unit, no_enable, out);
    }
    if !cfg!(target_os = "linux") {
        bail!("tf daemon install supports systemd (Linux) and launchd (macOS) only");
    }
    let dir = systemd_user_dir().context(
        "cannot find your config directory for systemd units: set HOME or XDG_CONFIG_HOME",
    )?;
    let (service, socket) = (dir.join(SERVICE), dir.join(SOCKET));
    write_file(&service, &systemd_service(&unit))?;
    write_file(&socket, &systemd_socket(&unit))?;
    writeln!(out, "wrote {}", socket.display())?;
    writeln!(out, "wrote {}", service.display())?;
    let enable: Vec<&str> = match on_demand {
        true => vec![SOCKET],
        false => vec![SOCKET, SERVICE],
    };
    let how = format!(
        "systemctl --user daemon-reload && systemctl --user enable --now {}",
        enable.join(" ")
    );
    if no_enable {
        writeln!(out, "not enabled (--no-enable): {how}")?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(e) = systemctl(&["daemon-reload"]) {
        writeln!(
            out,
            "systemd's user instance is not reachable here ({e}); once it is: {how}"
        )?;
        return Ok(ExitCode::from(1));
    }
    // A daemon `tf` started would keep the lock: the one systemd starts must find it free.
    if Client::connect(&ctx.paths.socket).is_ok() && stop_daemon(&ctx.paths)? {
        writeln!(
            out,
            "stopped the daemon started by tf; systemd runs it from now on"
        )?;
    }
    let mut args = vec!["enable", "--now"];
    args.extend(enable.iter().copied());
    if let Err(e) = systemctl(&args) {
        bail!("systemctl --user {}: {e}", args.join(" "));
    }
    match on_demand {
        true => writeln!(
            out,
            "enabled {SOCKET}: the daemon starts on first use (file saves before the first tf \
             command after login are not recorded; `tf daemon install` without --on-demand \
             starts it at login)"
        )?,
        false => writeln!(
            out,
            "enabled {SOCKET} and {SERVICE}: the daemon runs from login on, and starts again \
             after a crash"
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

fn install_launchd(
    ctx: &Context,
    unit: &Unit,
    no_enable: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let plist = launchd_plist_path().context("cannot find your home directory: set HOME")?;
    let stderr_log = ctx.paths.log.with_extension("stderr.log");
    write_file(&plist, &launchd_plist(unit, &stderr_log))?;
    writeln!(out, "wrote {}", plist.display())?;
    let domain = format!("gui/{}", current_uid());
    if no_enable {
        writeln!(
            out,
            "not loaded (--no-enable): launchctl bootstrap {domain} {}",
            plist.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if Client::connect(&ctx.paths.socket).is_ok() {
        stop_daemon(&ctx.paths)?;
    }
    // Loading twice fails: unload an older copy first (an error here means none was loaded).
    let _ = Command::new("launchctl")
        .args(["bootout", &domain])
        .arg(&plist)
        .output();
    let loaded = Command::new("launchctl")
        .args(["bootstrap", &domain])
        .arg(&plist)
        .output()
        .context("cannot run launchctl")?;
    if !loaded.status.success() {
        bail!(
            "launchctl bootstrap {domain} {}: {}",
            plist.display(),
            String::from_utf8_lossy(&loaded.stderr).trim()
        );
    }
    writeln!(
        out,
        "loaded {LAUNCHD_LABEL}: the daemon runs from login on, and starts again after a crash"
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall(out: &mut impl Write) -> Result<ExitCode> {
    if cfg!(target_os = "macos") {
        let plist = launchd_plist_path().context("cannot find your home directory: set HOME")?;
        if plist.exists() {
            let _ = Command::new("launchctl")
                .args(["bootout", &format!("gui/{}", current_uid())])
                .arg(&plist)
                .output();
            std::fs::remove_file(&plist)
                .with_context(|| format!("cannot remove {}", plist.display()))?;
            writeln!(out, "removed {}", plist.display())?;
        } else {
            writeln!(out, "not installed ({} does not exist)", plist.display())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let dir = systemd_user_dir().context(
        "cannot find your config directory for systemd units: set HOME or XDG_CONFIG_HOME",
    )?;
    let files = [dir.join(SOCKET), dir.join(SERVICE)];
    if !files.iter().any(|f| f.exists()) {
        writeln!(out, "not installed (no {SERVICE} in {})", dir.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    // Without a systemd user instance there is nothing to stop: the files are all there is.
    let _ = systemctl(&["disable", "--now", SOCKET, SERVICE]);
    for f in &files {
        match std::fs::remove_file(f) {
            Ok(()) => writeln!(out, "removed {}", f.display())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", f.display())),
        }
    }
    let _ = systemctl(&["daemon-reload"]);
    writeln!(
        out,
        "the daemon now starts only when tf needs it (as before `tf daemon install`)"
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the last `lines` lines of the daemon's log, then (with `follow`) what is added,
/// until interrupted.
pub fn logs(ctx: &Context, lines: usize, follow: bool, out: &mut impl Write) -> Result<ExitCode> {
    use std::io::{Read, Seek, SeekFrom};
    let path = &ctx.paths.log;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => {
            writeln!(
                out,
                "no log yet: {} does not exist (the daemon has not run)",
                path.display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read the log {}", path.display())),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    // The tail: read back from the end in blocks until enough lines are in.
    let mut start = len;
    let mut tail = Vec::new();
    while start > 0 && tail.iter().filter(|&&b| b == b'\n').count() <= lines {
        let step = start.min(64 * 1024);
        start -= step;
        file.seek(SeekFrom::Start(start))?;
        let mut block = vec![0; step as usize];
        file.read_exact(&mut block)?;
        block.extend_from_slice(&tail);
        tail = block;
    }
    let text = String::from_utf8_lossy(&tail);
    let all: Vec<&str> = text.lines().collect();
    for line in &all[all.len().saturating_sub(lines)..] {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if !follow {
        if let Some(Manager::Systemd { .. }) = installed_manager() {
            eprintln!(
                "tf: what systemd itself says about the service (a start that failed before \
                 the log opened): journalctl --user -u {SERVICE}"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut pos = len;
    let mut buf = Vec::new();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let now = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if now < pos {
            // Replaced or truncated: start over from its beginning.
            file = match std::fs::File::open(path) {
                Ok(f) => f,
                Err(_) => continue,
            };
            pos = 0;
        }
        if now > pos {
            file.seek(SeekFrom::Start(pos))?;
            buf.clear();
            let read = (&mut file).take(now - pos).read_to_end(&mut buf)?;
            pos += read as u64;
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> Unit {
        Unit {
            daemon: PathBuf::from("/home/ann/.cargo/bin/timeforged"),
            socket: PathBuf::from("/run/user/1000/timeforged/tf.sock"),
            runtime_dir: Some(PathBuf::from("/run/user/1000")),
            timeforged_dir: None,
            at_login: true,
        }
    }

    #[test]
    fn systemd_units_are_socket_activated_and_restart_after_a_crash() {
        let service = systemd_service(&unit());
        for line in [
            "ExecStart=/home/ann/.cargo/bin/timeforged run",
            "Requires=timeforged.socket",
            "After=timeforged.socket",
            "Restart=on-failure",
            "RestartPreventExitStatus=3",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "WantedBy=default.target",
        ] {
            assert!(
                service.lines().any(|l| l == line),
                "{line:?} in:\n{service}"
            );
        }
        assert!(!service.contains("Environment="), "{service}");
        let socket = systemd_socket(&unit());
        for line in [
            "ListenStream=%t/timeforged/tf.sock",
            "SocketMode=0600",
            "DirectoryMode=0700",
            "WantedBy=sockets.target",
        ] {
            assert!(socket.lines().any(|l| l == line), "{line:?} in:\n{socket}");
        }
        // On demand: no [Install] for the service, so only the socket starts it.
        let on_demand = systemd_service(&Unit {
            at_login: false,
            ..unit()
        });
        assert!(!on_demand.contains("[Install]"), "{on_demand}");
    }

    #[test]
    fn systemd_values_are_quoted() {
        let u = Unit {
            daemon: PathBuf::from("/opt/my tools/100%/timeforged"),
            socket: PathBuf::from("/srv/tf dir/tf.sock"),
            runtime_dir: None,
            timeforged_dir: Some(PathBuf::from("/srv/tf dir")),
            at_login: true,
        };
        let service = systemd_service(&u);
        assert!(
            service.contains("ExecStart=\"/opt/my tools/100%%/timeforged\" run"),
            "{service}"
        );
        assert!(
            service.contains("Environment=\"TIMEFORGED_DIR=/srv/tf dir\""),
            "{service}"
        );
        assert!(
            systemd_socket(&u).contains("ListenStream=/srv/tf dir/tf.sock"),
            "{}",
            systemd_socket(&u)
        );
        assert_eq!(systemd_quote("/a/b"), "/a/b");
        assert_eq!(systemd_quote("a$b"), "\"a$$b\"");
        assert_eq!(systemd_quote("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn launchd_plist_runs_at_load_and_after_a_crash() {
        let u = Unit {
            daemon: PathBuf::from("/Users/ann/bin/time<forged>"),
            timeforged_dir: Some(PathBuf::from("/Users/ann/tf & co")),
            ..unit()
        };
        let plist = launchd_plist(&u, Path::new("/Users/ann/tf/timeforged.stderr.log"));
        for want in [
            "<string>dev.timeforged.daemon</string>",
            "<string>/Users/ann/bin/time&lt;forged&gt;</string>",
            "<string>run</string>",
            "<key>RunAtLoad</key>\n    <true/>",
            "<key>SuccessfulExit</key>\n        <false/>",
            "<key>TIMEFORGED_DIR</key>\n        <string>/Users/ann/tf &amp; co</string>",
            "<string>/Users/ann/tf/timeforged.stderr.log</string>",
        ] {
            assert!(plist.contains(want), "{want:?} in:\n{plist}");
        }
        // Well-formed enough for plutil: every element closed, in order.
        let opens = plist.matches("<dict>").count();
        assert_eq!(opens, plist.matches("</dict>").count(), "{plist}");
        assert_eq!(
            plist.matches("<array>").count(),
            plist.matches("</array>").count()
        );
        assert!(plist.trim_end().ends_with("</plist>"));
    }
}

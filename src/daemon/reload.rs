//! Config reloads while the daemon runs: when the file changes (inotify on its directory, a
//! slow look elsewhere), on SIGHUP, and when `tf` finds the file newer than the daemon's
//! settings. The file is checked whole first: a bad one keeps the settings in force and `tf
//! status` says why. Durations, week start, `[shell]`, `[watch]` and the sync targets apply at
//! once (rollups are rebuilt, the watcher and the sync thread restarted); what only a restart
//! applies ([`crate::config::RESTART_KEYS`]) is listed as such.

use super::State;
use super::account::Account;
use super::sync::{self, SyncHandle};
use crate::config::{self, Config, ConfigError, Format};
use crate::paths::Paths;
use crate::protocol::ConfigState;
use crate::shell::ShellRules;
use crate::store::UserSettings;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a reload may change; every request reads the one in force through [`State::live`].
pub(crate) struct Live {
    /// The settings in force (their restart keys as the daemon started).
    pub config: Config,
    /// The config file as last looked for.
    pub file: PathBuf,
    /// A hash of its text as last read (`None`: no file).
    pub file_fingerprint: Option<String>,
    /// When `config` was loaded (ms).
    pub loaded_ms: i64,
    /// Why the file as last read is not in force.
    pub error: Option<String>,
    /// Keys the file sets that only a restart applies.
    pub restart_needed: Vec<String>,
    /// The local user with these settings.
    pub local: Account,
    /// `[shell]`, checked.
    pub shell_rules: Arc<ShellRules>,
    /// The sync thread, when targets are configured.
    pub sync: Option<SyncHandle>,
}

impl Live {
    /// The settings the daemon started with.
    pub fn initial(
        paths: &Paths,
        config: &Config,
        local: Account,
        sync: Option<SyncHandle>,
    ) -> Live {
        let file = config::find_file(&paths.config_file).unwrap_or(paths.config_file.clone());
        let text = config::read_file(&file).ok().flatten();
        Live {
            config: config.clone(),
            file_fingerprint: text.as_deref().map(config::short_hash),
            file,
            loaded_ms: crate::calendar::now_ms(),
            error: None,
            restart_needed: Vec::new(),
            local,
            shell_rules: Arc::new(shell_rules(config)),
            sync,
        }
    }

    /// As the protocol shows it.
    pub fn state(&self) -> ConfigState {
        ConfigState {
            file: self.file.display().to_string(),
            loaded_at: crate::model::ms_to_seconds(self.loaded_ms),
            fingerprint: self.config.fingerprint(),
            file_fingerprint: self.file_fingerprint.clone(),
            error: self.error.clone(),
            restart_needed: self.restart_needed.clone(),
            settings: self.config.daemon_json(),
        }
    }

    fn with(&self, change: impl FnOnce(&mut Live)) -> Live {
        let mut next = Live {
            config: self.config.clone(),
            file: self.file.clone(),
            file_fingerprint: self.file_fingerprint.clone(),
            loaded_ms: self.loaded_ms,
            error: self.error.clone(),
            restart_needed: self.restart_needed.clone(),
            local: self.local.clone(),
            shell_rules: self.shell_rules.clone(),
            sync: self.sync.clone(),
        };
        change(&mut next);
        next
    }
}

fn shell_rules(config: &Config) -> ShellRules {
    ShellRules::new(
        &config.shell,
        std::env::var_os("HOME").as_deref().map(Path::new),
    )
}

/// The local user's row settings for `config`: every rule set explicitly, so readers that
/// resolve users from the database see exactly the config's (the time zone stays the system's).
pub(crate) fn local_settings(config: &Config) -> UserSettings {
    UserSettings {
        time_zone: None,
        timeout_minutes: Some(config.durations.timeout_minutes()),
        preset: Some(config.durations.preset),
        week_start: Some(config.report.week_start),
    }
}

/// The file in use and its text, read now; an error for a file that cannot be found or read.
fn read_config(default: &Path) -> Result<(PathBuf, Option<String>), ConfigError> {
    let file = config::find_file(default)?;
    let text = config::read_file(&file)?;
    Ok((file, text))
}

fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    // The daemon's own environment, as at its start: a variable set in some shell later is
    // that shell's, and `tf` says so when it differs.
    match Format::of(file) {
        Format::Toml => Config::from_toml_str(text, file, config::env_vars()),
        Format::Yaml => Config::from_yaml_str(text, file, config::env_vars()),
    }
}

/// Reads the config file again and applies what changed; returns the settings now in force.
pub(crate) async fn reload(state: &State, why: &str) -> Arc<Live> {
    let _one_at_a_time = state.reloading.lock().await;
    if *state.shutdown.borrow() {
        return state.live();
    }
    let old = state.live();
    let default = state.options.paths.config_file.clone();
    let (file, text) = match read_config(&default) {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("config not reloaded ({why}): {e}; the settings in force are kept");
            state.publish(old.with(|l| {
                l.error = Some(e.to_string());
                l.file_fingerprint = None;
            }));
            return state.live();
        }
    };
    let file_fingerprint = text.as_deref().map(config::short_hash);
    let parsed = parse(&file, text.as_deref().unwrap_or_default());
    let new = match parsed {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("config not reloaded ({why}): {e}; the settings in force are kept");
            state.publish(old.with(|l| {
                l.error = Some(e.to_string());
                l.file = file;
                l.file_fingerprint = file_fingerprint;
            }));
            return state.live();
        }
    };
    let (new, restart_needed) = new.keep_restart_keys(&state.options.config);
    if new == old.config {
        state.publish(old.with(|l| {
            l.error = None;
            l.file = file;
            l.file_fingerprint = file_fingerprint;
            l.restart_needed = restart_needed;
        }));
        return state.live();
    }
    let changed: Vec<String> = config::differences(&old.config.daemon_json(), &new.daemon_json())
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    match apply(state, &old, &new).await {
        Ok((local, sync)) => {
            tracing::info!(
                file = %file.display(),
                "config reloaded ({why}): {} changed{}",
                changed.join(", "),
                match restart_needed.is_empty() {
                    true => String::new(),
                    false => format!("; a restart applies {}", restart_needed.join(", ")),
                }
            );
            state.publish(Live {
                shell_rules: Arc::new(shell_rules(&new)),
                config: new,
                file,
                file_fingerprint,
                loaded_ms: crate::calendar::now_ms(),
                error: None,
                restart_needed,
                local,
                sync,
            });
        }
        Err(e) => {
            tracing::warn!("config not reloaded ({why}): {e}; the settings in force are kept");
            state.publish(old.with(|l| {
                l.error = Some(format!("could not apply {}: {e}", file.display()));
                l.file = file;
                l.file_fingerprint = file_fingerprint;
            }));
        }
    }
    state.live()
}

/// Puts `new` in force where `old` differs: the local user's rules (and their rollups), the
/// watcher, the sync thread. Returns the local user and the sync thread to publish.
async fn apply(
    state: &State,
    old: &Live,
    new: &Config,
) -> Result<(Account, Option<SyncHandle>), String> {
    let mut local = old.local.clone();
    let rules = super::rules_for(new);
    if rules != local.rules() || new.report.week_start != local.week_start {
        local.scope.rules = rules;
        local.week_start = new.report.week_start;
        let (user, settings, scope) = (local.id(), local_settings(new), local.scope.clone());
        // Through the writer, after what is queued: rollups computed under the old rules are
        // dropped and rebuilt while idle.
        state
            .writer
            .run(move |w| {
                w.set_settings(user, &settings)?;
                crate::report::rollup::ensure_rules(w, &scope)
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    if new.watch != old.config.watch {
        let added = state
            .read(|snap| snap.watch_roots())
            .await
            .map_err(|e| format!("reading the watched roots: {e}"))?;
        // The old watcher goes first: two would record each save twice.
        if let Some(w) = state.watch.replace(None) {
            w.stop();
        }
        state
            .watch
            .replace(Some(super::watcher::start(state, &new.watch, added)));
    }
    let mut sync = old.sync.clone();
    let targets_changed = new.sync != old.config.sync || new.forward != old.config.forward;
    // The sync thread stores what it pulls under the local user's rules (which days a
    // heartbeat makes stale depends on the timeout): it restarts with the new ones too.
    let rules_changed = local.rules() != old.local.rules();
    if targets_changed || (rules_changed && sync.is_some()) {
        if let Some(running) = sync.take() {
            // Its round may be sending a page: let it finish, so the two never overlap.
            let _ = tokio::task::spawn_blocking(move || running.stop_and_wait()).await;
        }
        state.writer.set_journal(new.syncs());
        sync = sync::start(
            new,
            state.db.clone(),
            state.writer.clone(),
            local.clone(),
            state.machine_id.clone(),
        )
        .map_err(|e| format!("starting the sync thread: {e}"))?;
    }
    Ok((local, sync))
}

/// How long after the last change notice the file is read: an editor's save is several events.
const SETTLE: Duration = Duration::from_millis(100);
/// Where change notices are missing: how often the files are looked at.
const POLL: Duration = Duration::from_secs(5);

/// Reloads whenever a config file (`config.toml`, `config.yaml`, `config.yml`) in the config
/// directory is written, created, renamed or removed, until the daemon stops.
pub(crate) async fn watch_file(state: State) {
    let dir = state
        .options
        .paths
        .config_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut stopping = state.shutdown.subscribe();
    let mut notices = changes::Changes::new(&dir);
    let mut seen = stamp(&dir);
    // A change made while the daemon started (before the notices above were set up) would
    // otherwise go unseen: read the file once now. Nothing changed, nothing is applied.
    reload(&state, "start").await;
    loop {
        let polling = notices.is_none();
        let notice = async {
            match notices.as_mut() {
                Some(n) => n.changed().await,
                None => std::future::pending().await,
            }
        };
        // Without notices (no inotify, or the directory does not exist yet) the files are
        // looked at every few seconds: three `stat`s.
        let poll = async {
            match polling {
                true => tokio::time::sleep(POLL).await,
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = notice => {
                // Let the writes of one save settle.
                tokio::time::sleep(SETTLE).await;
                if let Some(n) = notices.as_mut() {
                    n.drain();
                }
                if !dir.is_dir() {
                    // The directory went away, and its watch with it: look until it is back.
                    notices = None;
                }
            }
            _ = poll => {
                if notices.is_none() {
                    notices = changes::Changes::new(&dir);
                }
                let now = stamp(&dir);
                if now == seen {
                    continue;
                }
            }
            _ = stopping.changed() => return,
        }
        seen = stamp(&dir);
        reload(&state, "the config file changed").await;
    }
}

/// The config files' modification times and sizes, to see a change without notices.
fn stamp(dir: &Path) -> Vec<Option<(std::time::SystemTime, u64)>> {
    ["config.toml", "config.yaml", "config.yml"]
        .iter()
        .map(|name| {
            let m = std::fs::metadata(dir.join(name)).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

#[cfg(target_os = "linux")]
mod changes {
    use inotify::{EventMask, Inotify, WatchMask};
    use std::path::Path;
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// Change notices for the config files of one directory.
    pub(super) struct Changes {
        fd: AsyncFd<Inotify>,
        buffer: Vec<u8>,
    }

    impl Changes {
        /// None when the directory does not exist (yet) or inotify is unavailable.
        pub(super) fn new(dir: &Path) -> Option<Changes> {
            if !dir.is_dir() {
                return None;
            }
            let started = Inotify::init().and_then(|inotify| {
                inotify.watches().add(
                    dir,
                    WatchMask::CLOSE_WRITE
                        | WatchMask::MOVED_TO
                        | WatchMask::MOVED_FROM
                        | WatchMask::CREATE
                        | WatchMask::DELETE
                        | WatchMask::DELETE_SELF
                        | WatchMask::MOVE_SELF,
                )?;
                // SAFETY: the Inotify owns its descriptor, closes it only when dropped (with
                // the AsyncFd that owns it), and never swaps it for another.
                unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) }
                    .map_err(|e| e.into_parts().1)
            });
            match started {
                Ok(fd) => Some(Changes {
                    fd,
                    buffer: vec![0; 4096],
                }),
                Err(e) => {
                    tracing::warn!(
                        "cannot watch {} for config changes ({e}); looking every few seconds",
                        dir.display()
                    );
                    None
                }
            }
        }

        /// Returns once a config file changed (or the directory went away, or events were
        /// lost).
        pub(super) async fn changed(&mut self) {
            loop {
                let Ok(mut ready) = self.fd.readable_mut().await else {
                    return std::future::pending().await;
                };
                match ready.get_inner_mut().read_events(&mut self.buffer) {
                    Ok(events) => {
                        let mut ours = false;
                        for e in events {
                            ours |= e.mask.intersects(
                                EventMask::Q_OVERFLOW
                                    | EventMask::DELETE_SELF
                                    | EventMask::MOVE_SELF
                                    | EventMask::IGNORED,
                            ) || e.name.and_then(|n| n.to_str()).is_some_and(|n| {
                                ["config.toml", "config.yaml", "config.yml"].contains(&n)
                            });
                        }
                        if ours {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ready.clear_ready(),
                    Err(e) => {
                        tracing::warn!("reading inotify events for the config: {e}");
                        return std::future::pending().await;
                    }
                }
            }
        }

        /// Drops notices already queued (they are about the change being read now).
        pub(super) fn drain(&mut self) {
            let _ = self.fd.get_mut().read_events(&mut self.buffer);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod changes {
    /// No change notices here: the files are looked at every few seconds.
    pub(super) enum Changes {}

    impl Changes {
        pub(super) fn new(_dir: &std::path::Path) -> Option<Changes> {
            None
        }

        pub(super) async fn changed(&mut self) {
            match *self {}
        }

        pub(super) fn drain(&mut self) {
            match *self {}
        }
    }
}

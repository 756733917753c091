//! The running daemon: lock file, socket hygiene (or the socket systemd passes), the accept
//! loop, the writer thread, config reloads (file change, SIGHUP), and a graceful stop on
//! SIGTERM/SIGINT or a `shutdown` request (flush, remove the socket, exit 0).

pub mod account;
pub mod activation;
mod agent;
mod alive;
mod corrections;
mod focus;
mod git;
mod handlers;
pub(crate) mod http;
mod metrics;
pub(crate) mod query;
mod reload;
mod respond;
pub mod server;
mod shell;
mod socket;
pub mod startup;
mod sync;
mod sync_api;
mod wakatime_api;
mod watcher;
pub(crate) mod writer;

use crate::calendar::Calendar;
use crate::config::Config;
use crate::paths::Paths;
use crate::protocol::Event;
use crate::store::{Database, Snapshot, StoreError};
use crate::timeline::Rules;
use account::{Account, Defaults};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{broadcast, watch};

/// Everything the daemon needs to start.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Paths,
    pub config: Config,
    pub calendar: Calendar,
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("a daemon is already running on {socket}; stop it with `tf daemon stop`")]
    AlreadyRunning { socket: PathBuf },
    #[error("another daemon holds the lock {lock} (pid {pid}): one daemon per database")]
    Locked { lock: PathBuf, pid: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Paths(#[from] crate::paths::PathsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rules the configuration asks for.
pub fn rules_for(config: &Config) -> Rules {
    crate::config::rules(config.durations.timeout_minutes, config.durations.preset)
}

/// Shared by every connection; cheap to clone.
#[derive(Clone)]
pub(crate) struct State {
    pub started: Instant,
    /// As the daemon started: its paths, and the config it started with (whose
    /// [`crate::config::RESTART_KEYS`] stay in force until a restart).
    pub options: Arc<Options>,
    pub db: Arc<dyn Database>,
    /// What a config reload may change: read it with [`State::live`], never hold it long.
    live: Arc<RwLock<Arc<reload::Live>>>,
    /// One reload at a time.
    reloading: Arc<tokio::sync::Mutex<()>>,
    pub writer: writer::WriterHandle,
    pub events: broadcast::Sender<Event>,
    pub shutdown: watch::Sender<bool>,
    /// Where the HTTP API listens, when enabled.
    pub http_addr: Option<std::net::SocketAddr>,
    /// Why the HTTP API is not listening although enabled.
    pub http_error: Option<String>,
    /// Shells whose hooks reported recently, by shell pid.
    pub shells: Arc<Mutex<std::collections::HashMap<u32, crate::protocol::ShellSeen>>>,
    /// Spooled events dropped because the spool was full.
    pub spool_dropped: Arc<std::sync::atomic::AtomicU64>,
    /// This machine's name, for heartbeats the daemon makes itself.
    pub machine: Option<String>,
    /// The file watcher (replaced when `[watch]` changes).
    pub watch: WatchSlot,
    /// This install's id for sync.
    pub machine_id: String,
    /// Agent sessions whose hooks reported recently, by (agent, session).
    pub agents: Arc<Mutex<std::collections::HashMap<(String, String), crate::protocol::AgentSeen>>>,
    /// Wakes the focus timer's task when a timer is started or stopped.
    pub focus_changed: Arc<tokio::sync::Notify>,
    /// How long the daemon was not running before this start, when that was a while.
    pub down_before_start: Option<crate::protocol::Downtime>,
    /// `systemd` when the socket came from socket activation.
    pub started_by: Option<String>,
}

/// The running file watcher, if any; replaced whole when its settings change.
#[derive(Clone, Default)]
pub(crate) struct WatchSlot(Arc<Mutex<Option<crate::watch::WatchHandle>>>);

impl WatchSlot {
    pub fn get(&self) -> Option<crate::watch::WatchHandle> {
        self.0.lock().ok().and_then(|w| w.clone())
    }

    /// Puts `new` in place and returns the one it replaces.
    pub fn replace(
        &self,
        new: Option<crate::watch::WatchHandle>,
    ) -> Option<crate::watch::WatchHandle> {
        match self.0.lock() {
            Ok(mut w) => std::mem::replace(&mut *w, new),
            Err(_) => None,
        }
    }
}

impl State {
    /// The settings in force now (a cheap clone of a shared pointer).
    pub fn live(&self) -> Arc<reload::Live> {
        match self.live.read() {
            Ok(live) => live.clone(),
            // A reload panicked mid-way: what it left is still a whole `Live`.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The local user with the settings in force: whose data the socket reads and writes.
    pub fn local(&self) -> Account {
        self.live().local.clone()
    }

    fn publish(&self, live: reload::Live) {
        let live = Arc::new(live);
        match self.live.write() {
            Ok(mut slot) => *slot = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
    }

    /// Stores heartbeats of the local user (made by the daemon itself: shell, watcher, git)
    /// and tells subscribers; returns how many were new.
    pub async fn store(&self, beats: Vec<crate::model::Heartbeat>) -> Result<usize, String> {
        let written = self
            .writer
            .heartbeats(self.local().scope, beats)
            .await
            .map_err(|e| e.to_string())?;
        Ok(announce(&self.events, &written))
    }

    /// Runs `f` on a snapshot of the database, off the async thread.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Snapshot) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        query::read(&self.db, f).await.map_err(|e| e.to_string())
    }
}

/// Tells subscribers about newly stored heartbeats; returns how many were new.
pub(crate) fn announce(events: &broadcast::Sender<Event>, written: &writer::Written) -> usize {
    let count = written.new_count();
    if let Some(latest_time) = written.latest_new {
        let _ = events.send(Event::Heartbeats { count, latest_time });
    }
    count
}

/// Worker threads of the daemon's runtime.
const RUNTIME_WORKERS: usize = 2;
/// How long an idle blocking thread (reads, file work) waits for more before it exits. Short,
/// so that the threads of a burst of reads have exited, and handed back the memory they cached
/// (glibc's per-thread cache), by the time the quiet reads' release trims the heap.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the daemon until it is told to stop. Blocks; builds its own runtime.
pub fn run(options: Options) -> Result<(), DaemonError> {
    limit_allocator_caching();
    // Two workers, as the team server has: with one thread, every HTTP request's parsing,
    // key lookup and answer waited in line on it (about 60 µs each), and an editor's burst of
    // heartbeats could not use a second core while the writer commits. Each more worker
    // costs a few hundred KB of resident memory, so not one per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RUNTIME_WORKERS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .enable_all()
        .build()
        .map_err(|source| DaemonError::Io {
            what: "starting the runtime",
            path: PathBuf::new(),
            source,
        })?;
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> Result<(), DaemonError> {
    raise_open_file_limit();
    let paths = &options.paths;
    paths.create_dirs()?;
    let _lock = take_lock(paths)?;
    // Before anything else is written: when did the previous run end?
    let alive = alive::Alive::new(paths);
    let down_before_start = alive.downtime();
    startup::prepare_database(paths)?;
    // Open the database before taking the socket, so a bad database leaves no socket behind.
    let db: Arc<dyn Database> =
        Arc::new(crate::store::sqlite::SqliteDatabase::open(&paths.database)?);
    let mut store = db.writer()?;
    let defaults = Defaults::from_config(&options.config, options.calendar.clone());
    let local = local_account(&mut *store, &options.config, &defaults)?;
    crate::report::rollup::ensure_rules(&mut *store, &local.scope)?;
    let mut added_roots = Vec::new();
    store.read(&mut |snap| {
        added_roots = snap.watch_roots()?;
        Ok(())
    })?;
    let http_enabled = options.config.http.enabled;
    if http_enabled {
        register_api_key(paths, &mut *store, local.id())?;
    }
    let machine_id = store.ensure_machine_id()?;
    // A taken HTTP port must not keep the daemon from serving the socket: report it instead.
    let mut http_error = None;
    let http_listener = if http_enabled {
        let listen = &options.config.http.listen;
        match http::bind(listen).await {
            Ok(l) => Some(l),
            Err(e) => {
                let msg = format!(
                    "cannot listen for HTTP on {listen}: {e} (set http.listen or TIMEFORGED_HTTP__LISTEN)"
                );
                tracing::warn!("{msg}");
                http_error = Some(msg);
                None
            }
        }
    } else {
        None
    };
    // Before the socket is there: once a client can connect, a SIGHUP (a reload) or SIGTERM
    // must find the handlers in place, not kill the daemon by default.
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut sighup = signal(tokio::signal::unix::SignalKind::hangup())?;
    // systemd may have passed the socket (socket activation): it owns the file then.
    let activated = activation::take_listener(&paths.socket)?;
    let started_by = activated.is_some().then(|| "systemd".to_string());
    let listener = match activated {
        Some(l) => l,
        None => socket::bind(&paths.socket).await?,
    };
    let (writer, writer_thread) = writer::spawn(store, defaults.clone(), options.config.syncs())
        .map_err(|source| DaemonError::Io {
            what: "starting the writer thread",
            path: paths.database.clone(),
            source,
        })?;
    let (shutdown, mut stopping) = watch::channel(false);
    let sync = sync::start(
        &options.config,
        db.clone(),
        writer.clone(),
        local.clone(),
        machine_id.clone(),
    )
    .map_err(|source| DaemonError::Io {
        what: "starting the sync thread",
        path: paths.database.clone(),
        source,
    })?;
    let live = reload::Live::initial(paths, &options.config, local.clone(), sync);
    let state = State {
        started: Instant::now(),
        options: Arc::new(options.clone()),
        db: db.clone(),
        live: Arc::new(RwLock::new(Arc::new(live))),
        reloading: Arc::default(),
        writer: writer.clone(),
        events: broadcast::channel(256).0,
        shutdown,
        http_addr: http_listener.as_ref().and_then(http::local_addr),
        http_error,
        shells: Arc::new(Mutex::new(Default::default())),
        spool_dropped: Arc::new(Default::default()),
        machine: crate::model::hostname(),
        watch: WatchSlot::default(),
        machine_id,
        agents: Arc::default(),
        focus_changed: Arc::default(),
        down_before_start,
        started_by,
    };
    {
        // New records go out soon after they are stored, to whichever sync thread runs now.
        let mut events = state.events.subscribe();
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(sync) = &state.live().sync {
                            sync.new_data();
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
    tokio::spawn(shell::drain_spool(state.clone()));
    tokio::spawn(focus::run(state.clone()));
    state.watch.replace(Some(watcher::start(
        &state,
        &options.config.watch,
        added_roots,
    )));
    tokio::spawn(reload::watch_file(state.clone()));
    tokio::spawn(alive.keep(state.shutdown.subscribe()));
    if let Some(listener) = http_listener {
        let loopback_only = state.http_addr.is_some_and(|a| a.ip().is_loopback());
        let api = http::Api {
            db: db.clone(),
            writer: writer.clone(),
            events: state.events.clone(),
            shutdown: state.shutdown.clone(),
            // The local user's own settings are kept in their row (see `local_account`), so
            // these only fill in the time zone, which a reload does not change.
            defaults: Arc::new(defaults),
            max_heartbeat_age_days: options.config.http.max_heartbeat_age_days,
            loopback_only,
            local: Some((local.id(), username())),
            metrics: None,
            // Only this daemon writes its database: keys can be cached.
            accounts: Some(Arc::default()),
            started: state.started,
        };
        tracing::info!(address = ?state.http_addr, "WakaTime-compatible HTTP API listening");
        tokio::spawn(http::serve(api, listener));
    }
    tracing::info!(
        pid = std::process::id(),
        socket = %paths.socket.display(),
        database = %paths.database.display(),
        started_by = state.started_by.as_deref().unwrap_or("tf"),
        "timeforged {} listening",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    tokio::spawn(async move { handlers::connection(state, stream).await });
                }
                Err(e) => {
                    // Out of file descriptors and the like: log, breathe, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = sighup.recv() => {
                let state = state.clone();
                tokio::spawn(async move { reload::reload(&state, "SIGHUP").await });
            }
            _ = sigterm.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = stopping.changed() => { tracing::info!("shutdown requested: stopping"); break; }
        }
    }
    // Stop accepting first, so no new work arrives; then let the writer commit what is queued.
    drop(listener);
    if state.started_by.is_none() {
        // A socket systemd passed stays its own: it listens on for the next start.
        let _ = std::fs::remove_file(&paths.socket);
    }
    let _ = state.shutdown.send(true);
    // A reload in progress finishes first, so that it starts nothing after this.
    let _reloading = state.reloading.lock().await;
    if let Some(w) = state.watch.replace(None) {
        w.stop();
    }
    if let Some(s) = &state.live().sync {
        s.stop();
    }
    writer.stop();
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    alive::Alive::new(paths).touch();
    tracing::info!("stopped");
    Ok(())
}

/// The local user: the database's first user (created on first start), named after the
/// login name. Their settings are the config's, written into their row so that every reader
/// that resolves users from the database (the HTTP API, the writer's rollups) uses them too,
/// and a reload changes them for all at once.
fn local_account(
    store: &mut dyn crate::store::Store,
    config: &Config,
    defaults: &Defaults,
) -> Result<Account, DaemonError> {
    let mut first = None;
    store.read(&mut |snap| {
        first = snap.users()?.into_iter().min_by_key(|u| u.id);
        Ok(())
    })?;
    let mut user = match first {
        Some(u) => u,
        None => store.add_user(&local_name(), &Default::default(), query::now_ms())?,
    };
    if user.name != local_name() && store.rename_user(user.id, &local_name()).is_ok() {
        // Renamed logins, and databases from before users had names.
        user.name = local_name();
    }
    let settings = reload::local_settings(config);
    if user.settings != settings {
        store.set_settings(user.id, &settings)?;
        user.settings = settings;
    }
    Ok(Account::resolve(&user, defaults))
}

/// The login name, as a user name (`local` when it is not a valid one).
fn local_name() -> String {
    let name = username();
    if crate::store::check_user_name(&name).is_ok() {
        name
    } else {
        "local".into()
    }
}

/// Makes sure the key in the key file (a 0600 file, for `tf apikey`) is the local user's key
/// file key: a replaced file's older key stops working.
fn register_api_key(
    paths: &Paths,
    store: &mut dyn crate::store::Store,
    user: crate::store::UserId,
) -> Result<(), DaemonError> {
    let key = crate::apikey::load_or_create(&paths.api_key).map_err(|source| DaemonError::Io {
        what: "cannot read or create the API key",
        path: paths.api_key.clone(),
        source,
    })?;
    let hash = crate::apikey::hash(&key);
    let mut current = false;
    store.read(&mut |snap| {
        current = snap
            .key_by_hash(&hash)?
            .is_some_and(|(k, _)| k.user == user && k.label.as_deref() == Some(KEY_FILE));
        Ok(())
    })?;
    if !current {
        store.revoke_keys(crate::store::KeySelector::OfUser {
            user,
            label: Some(KEY_FILE),
        })?;
        store.add_key(user, &hash, Some(KEY_FILE), false, query::now_ms())?;
    }
    Ok(())
}

const KEY_FILE: &str = crate::store::KEY_FILE_LABEL;

/// The local user's login name, accepted in `/users/{name}/…` beside `current`.
pub(crate) fn username() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "current".into())
}

pub(crate) fn signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, DaemonError> {
    tokio::signal::unix::signal(kind).map_err(|source| DaemonError::Io {
        what: "installing a signal handler",
        path: PathBuf::new(),
        source,
    })
}

/// A long-running daemon should not keep freed memory: one malloc arena (instead of one per
/// thread) and large buffers straight from mmap, so a big import does not leave the daemon at
/// several times its idle size; and SQLite connections that hold no page cache up front.
fn limit_allocator_caching() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only tunes glibc's allocator; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    crate::store::sqlite::no_page_cache_up_front();
}

/// Lets the daemon hold many connections (the HTTP API's cap is 8192) and, on the BSDs, a
/// descriptor per watched directory: the soft limit is often 1024 (256 on macOS) while the hard
/// limit is far higher.
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            // macOS may report an infinite hard limit, yet refuses a soft one above OPEN_MAX
            // (10240, or kern.maxfilesperproc): asking for more would fail and leave its
            // default of 256.
            let cap = if cfg!(target_os = "macos") {
                10_240
            } else {
                16_384
            };
            let want = lim.rlim_max.min(cap);
            if lim.rlim_cur < want {
                lim.rlim_cur = want;
                let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
    }
}

/// Takes the lock next to the database and writes our pid into it. Held until the file closes.
fn take_lock(paths: &Paths) -> Result<File, DaemonError> {
    use std::io::{Read, Seek, Write};
    let io = |what, source| DaemonError::Io {
        what,
        path: paths.lock.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&paths.lock)
        .map_err(|e| io("cannot open lock file", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(DaemonError::Locked {
                lock: paths.lock.clone(),
                pid: pid.trim().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("cannot lock", e)),
    }
    file.set_len(0)
        .map_err(|e| io("cannot write lock file", e))?;
    file.rewind().map_err(|e| io("cannot write lock file", e))?;
    writeln!(file, "{}", std::process::id()).map_err(|e| io("cannot write lock file", e))?;
    Ok(file)
}

//! The running daemon: lock file, socket hygiene, the accept loop, the writer thread, and a
//! graceful stop on SIGTERM/SIGINT or a `shutdown` request (flush, remove the socket, exit 0).

mod git;
mod handlers;
mod http;
mod shell;
mod socket;
pub mod startup;
mod wakatime_api;
mod watcher;
mod writer;

use crate::calendar::Calendar;
use crate::config::{Config, Preset};
use crate::paths::Paths;
use crate::protocol::Event;
use crate::store::{Reader, StoreError, Writer};
use crate::timeline::{MidnightRule, Rules};
use crate::wakatime::LastValues;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
    #[error(transparent)]
    Paths(#[from] crate::paths::PathsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rules the configuration asks for.
pub fn rules_for(config: &Config) -> Rules {
    let timeout_ms = (config.durations.timeout_seconds() * 1000.0) as i64;
    match config.durations.preset {
        Preset::Timeforged => Rules {
            timeout_ms,
            midnight: MidnightRule::Split,
        },
        Preset::Wakapi => Rules {
            timeout_ms,
            midnight: MidnightRule::Drop,
        },
    }
}

/// Shared by every connection; cheap to clone.
#[derive(Clone)]
pub(crate) struct State {
    pub started: Instant,
    pub options: Arc<Options>,
    pub rules: Rules,
    pub writer: writer::WriterHandle,
    pub readers: Arc<Mutex<Vec<Reader>>>,
    pub events: broadcast::Sender<Event>,
    pub shutdown: watch::Sender<bool>,
    /// Where the HTTP API listens, when enabled.
    pub http_addr: Option<std::net::SocketAddr>,
    /// Why the HTTP API is not listening although enabled.
    pub http_error: Option<String>,
    /// `[shell]` settings, checked once.
    pub shell_rules: Arc<crate::shell::ShellRules>,
    /// Shells whose hooks reported recently, by shell pid.
    pub shells: Arc<Mutex<std::collections::HashMap<u32, crate::protocol::ShellSeen>>>,
    /// Spooled events dropped because the spool was full.
    pub spool_dropped: Arc<std::sync::atomic::AtomicU64>,
    /// This machine's name, for heartbeats the daemon makes itself.
    pub machine: Option<String>,
    /// The newest project/branch/language, for WakaTime's `<<LAST_PROJECT>>` placeholders.
    pub last: Arc<Mutex<Option<LastValues>>>,
    /// The file watcher (set once it is started).
    pub watch: Arc<std::sync::OnceLock<crate::watch::WatchHandle>>,
}

impl State {
    /// The newest heartbeat's project, branch and language (read from the database once).
    pub async fn last_values(&self) -> LastValues {
        if let Some(v) = self.last.lock().ok().and_then(|l| l.clone()) {
            return v;
        }
        let latest = self
            .read(|r| r.latest(crate::store::LOCAL_USER, i64::MAX))
            .await
            .ok()
            .flatten();
        let v = latest
            .as_ref()
            .map(LastValues::from_heartbeat)
            .unwrap_or_default();
        self.set_last_values(v.clone());
        v
    }

    pub fn set_last_values(&self, v: LastValues) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(v);
        }
    }

    /// Stores heartbeats the daemon made itself (shell, watcher, git) and tells subscribers;
    /// returns how many were new.
    pub async fn store(&self, beats: Vec<crate::model::Heartbeat>) -> Result<usize, String> {
        let latest_time = beats.iter().map(|h| h.time).fold(f64::MIN, f64::max);
        let stored = self.writer.heartbeats(beats).await?;
        let count = stored
            .iter()
            .filter(|s| **s == crate::store::Stored::New)
            .count();
        if count > 0 {
            let _ = self.events.send(Event::Heartbeats { count, latest_time });
        }
        Ok(count)
    }

    /// Runs `f` with a reader on a blocking thread (queries can take milliseconds).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Reader) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let pool = self.readers.clone();
        let path = self.options.paths.database.clone();
        tokio::task::spawn_blocking(move || {
            let reader = pool.lock().ok().and_then(|mut p| p.pop());
            let reader = match reader {
                Some(r) => r,
                None => Reader::open(&path).map_err(|e| e.to_string())?,
            };
            let out = f(&reader).map_err(|e| e.to_string());
            reader.shrink_memory();
            if let Ok(mut p) = pool.lock() {
                p.push(reader);
            }
            out
        })
        .await
        .map_err(|e| format!("query failed: {e}"))?
    }
}

/// Runs the daemon until it is told to stop. Blocks; builds its own single-threaded runtime
/// (a per-user daemon needs no more, and it keeps memory small).
pub fn run(options: Options) -> Result<(), DaemonError> {
    limit_allocator_caching();
    let runtime = tokio::runtime::Builder::new_current_thread()
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
    startup::prepare_database(paths)?;
    // Open the database before taking the socket, so a bad database leaves no socket behind.
    let rules = rules_for(&options.config);
    let mut store = Writer::open(&paths.database, options.calendar.clone(), rules)?;
    let added_roots = store.watch_roots()?;
    let api_keys = if options.config.http.enabled {
        Some(register_api_key(paths, &mut store)?)
    } else {
        None
    };
    // A taken HTTP port must not keep the daemon from serving the socket: report it instead.
    let mut http_error = None;
    let http_listener = match api_keys {
        Some(_) => {
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
        }
        None => None,
    };
    let listener = socket::bind(&paths.socket).await?;
    let checkpointer = crate::store::Checkpointer::open(&paths.database)?;
    let (writer, writer_thread) = writer::spawn(store, checkpointer);
    let (shutdown, mut stopping) = watch::channel(false);
    let state = State {
        started: Instant::now(),
        options: Arc::new(options.clone()),
        rules,
        writer: writer.clone(),
        readers: Arc::new(Mutex::new(Vec::new())),
        events: broadcast::channel(256).0,
        shutdown,
        http_addr: http_listener.as_ref().and_then(http::local_addr),
        http_error,
        last: Arc::new(Mutex::new(None)),
        shell_rules: Arc::new(crate::shell::ShellRules::new(
            &options.config.shell,
            std::env::var_os("HOME")
                .as_deref()
                .map(std::path::Path::new),
        )),
        shells: Arc::new(Mutex::new(Default::default())),
        spool_dropped: Arc::new(Default::default()),
        machine: crate::model::hostname(),
        watch: Arc::default(),
    };
    tokio::spawn(shell::drain_spool(state.clone()));
    let _ = state.watch.set(watcher::start(&state, added_roots));
    if let (Some(listener), Some(keys)) = (http_listener, api_keys) {
        let loopback_only = state.http_addr.is_some_and(|a| a.ip().is_loopback());
        let web = http::Http {
            state: state.clone(),
            key_hashes: Arc::new(keys),
            loopback_only,
            username: Arc::from(username()),
        };
        tracing::info!(address = ?state.http_addr, "WakaTime-compatible HTTP API listening");
        tokio::spawn(http::serve(web, listener));
    }
    tracing::info!(
        pid = std::process::id(),
        socket = %paths.socket.display(),
        database = %paths.database.display(),
        "timeforged {} listening",
        env!("CARGO_PKG_VERSION")
    );
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt())?;
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
            _ = sigterm.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = stopping.changed() => { tracing::info!("shutdown requested: stopping"); break; }
        }
    }
    // Stop accepting first, so no new work arrives; then let the writer commit what is queued.
    drop(listener);
    let _ = std::fs::remove_file(&paths.socket);
    let _ = state.shutdown.send(true);
    if let Some(w) = state.watch.get() {
        w.stop();
    }
    // Readers closed first, so the writer's final checkpoint can empty the WAL.
    if let Ok(mut pool) = state.readers.lock() {
        pool.clear();
    }
    writer.stop();
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Makes sure the local API key exists (a 0600 file, for `tf apikey`) and that its hash is
/// registered; returns every key hash the local user may use.
fn register_api_key(
    paths: &Paths,
    store: &mut Writer,
) -> Result<Vec<crate::apikey::KeyHash>, DaemonError> {
    let key = crate::apikey::load_or_create(&paths.api_key).map_err(|source| DaemonError::Io {
        what: "cannot read or create the API key",
        path: paths.api_key.clone(),
        source,
    })?;
    let now = jiff::Timestamp::now().as_millisecond();
    Ok(store.register_api_key(crate::store::LOCAL_USER, &crate::apikey::hash(&key), now)?)
}

/// The local user's login name, accepted in `/users/{name}/…` beside `current`.
pub(crate) fn username() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "current".into())
}

fn signal(
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
/// several times its idle size.
fn limit_allocator_caching() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only tunes glibc's allocator; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Lets the daemon hold many connections (the HTTP API's cap is 8192): the soft limit is often
/// 1024 while the hard limit is far higher.
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            let want = lim.rlim_max.min(16_384);
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

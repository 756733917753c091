//! `timeforged serve`: the same binary as a multi-user team server. Every WakaTime endpoint of
//! the daemon, per user (the API key says whose data), on SQLite or PostgreSQL; `/healthz`;
//! and, when asked for, `/metrics`. No socket, no watcher: users' own daemons and editors
//! send it their heartbeats over HTTP.

use super::account::{Account, Defaults};
use super::http::{self, Api};
use super::metrics::{Gauges, Metrics};
use super::{DaemonError, query, writer};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::store::Database;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{broadcast, watch};

/// What `timeforged serve` starts with.
#[derive(Clone)]
pub struct ServeOptions {
    pub config: Config,
    pub db: Arc<dyn Database>,
    pub listen: String,
    /// Called with the address bound (tests listen on port 0).
    pub on_listening: Option<Arc<dyn Fn(SocketAddr) + Send + Sync>>,
}

/// The default time zone of a server's users: `server.time_zone`, else the system's.
pub fn server_calendar(config: &Config) -> Calendar {
    config
        .server
        .time_zone
        .as_deref()
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .map(Calendar::new)
        .unwrap_or_else(Calendar::system)
}

/// Refuses to serve heartbeats in the clear to the network unless told to.
pub fn check_listen(listen: &str, allow_plaintext: bool) -> Result<SocketAddr, DaemonError> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        DaemonError::Config(format!(
            "--listen {listen:?} is not an address (expected IP:PORT such as 127.0.0.1:9114)"
        ))
    })?;
    if !addr.ip().is_loopback() && !allow_plaintext {
        return Err(DaemonError::Config(format!(
            "refusing to listen on {addr} without TLS: API keys and activity would cross the \
             network in the clear. Put a TLS reverse proxy (Caddy, nginx) in front and listen on \
             127.0.0.1, or set [server] allow_plaintext = true (TIMEFORGED_SERVER__ALLOW_PLAINTEXT=true) \
             if the network is trusted"
        )));
    }
    Ok(addr)
}

/// Runs the server until SIGTERM/SIGINT. Blocks; builds its own runtime.
pub fn run(options: ServeOptions) -> Result<(), DaemonError> {
    // As the daemon: without it, freed request bodies and answers stayed in per-thread arenas
    // (tens of MB after a large load or a year of `summaries`).
    super::limit_allocator_caching();
    let config = &options.config;
    let addr = check_listen(&options.listen, config.server.allow_plaintext)?;
    let defaults = Defaults::from_config(config, server_calendar(config));
    // Blocking database work happens here, before the runtime (the PostgreSQL client runs
    // its own): rollups follow each user's rules, so settings changed while the server was
    // down count now.
    let mut store = options.db.writer()?;
    let mut users = Vec::new();
    store.read(&mut |snap| {
        users = snap.users()?;
        Ok(())
    })?;
    for user in &users {
        let account = Account::resolve(user, &defaults);
        crate::report::rollup::ensure_rules(&mut *store, &account.scope)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| DaemonError::Io {
            what: "starting the runtime",
            path: Default::default(),
            source,
        })?;
    // The last handle on the database is dropped after the runtime: PostgreSQL connections
    // block on their own runtime when closed.
    let db = options.db.clone();
    let out = runtime.block_on(serve(options, addr, defaults, store, users.len()));
    drop(runtime);
    drop(db);
    out
}

async fn serve(
    options: ServeOptions,
    addr: SocketAddr,
    defaults: Defaults,
    store: Box<dyn crate::store::Store>,
    users: usize,
) -> Result<(), DaemonError> {
    let config = &options.config;
    let db = options.db.clone();
    let listener = http::bind(&addr.to_string())
        .await
        .map_err(|source| DaemonError::Io {
            what: "cannot listen on",
            path: addr.to_string().into(),
            source,
        })?;
    let bound = http::local_addr(&listener).unwrap_or(addr);
    let (writer, writer_thread) =
        writer::spawn(store, defaults.clone(), true).map_err(|source| DaemonError::Io {
            what: "starting the writer thread",
            path: db.describe().into(),
            source,
        })?;
    let (shutdown, _) = watch::channel(false);
    let api = Api {
        db: db.clone(),
        writer: writer.clone(),
        events: broadcast::channel(256).0,
        shutdown: shutdown.clone(),
        defaults: Arc::new(defaults),
        max_heartbeat_age_days: config.http.max_heartbeat_age_days,
        loopback_only: false,
        local: None,
        metrics: config.server.metrics.then(|| Arc::new(Metrics::default())),
        accounts: None,
        started: Instant::now(),
    };
    tracing::info!(
        address = %bound,
        database = %db.describe(),
        users,
        metrics = config.server.metrics,
        "timeforged {} serving",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(f) = &options.on_listening {
        f(bound);
    }
    let server = tokio::spawn(http::serve(api, listener));
    let mut sigterm = super::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = super::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::select! {
        _ = sigterm.recv() => tracing::info!("SIGTERM: stopping"),
        _ = sigint.recv() => tracing::info!("SIGINT: stopping"),
    }
    let _ = shutdown.send(true);
    let _ = server.await;
    // Everything acknowledged is committed; the writer finishes what is queued.
    writer.stop();
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    tracing::info!("stopped");
    Ok(())
}

/// `GET /healthz`: 200 when the database answers, 503 (with why) when it does not.
pub(crate) async fn healthz(api: &Api) -> (bool, serde_json::Value) {
    let started = api.started;
    match query::read(&api.db, |snap| snap.heartbeat_count()).await {
        Ok(_) => (
            true,
            serde_json::json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_seconds": started.elapsed().as_secs(),
            }),
        ),
        Err(e) => (
            false,
            serde_json::json!({"status": "unavailable", "error": e.to_string()}),
        ),
    }
}

/// `GET /metrics` body.
pub(crate) async fn metrics(api: &Api, metrics: &Metrics) -> String {
    let db = api.db.clone();
    let users = query::read(&api.db, |snap| snap.users().map(|u| u.len()))
        .await
        .unwrap_or(0);
    let bytes = tokio::task::spawn_blocking(move || db.size_bytes().unwrap_or(0))
        .await
        .unwrap_or(0);
    metrics.render(&Gauges {
        users,
        database_bytes: bytes,
        uptime_seconds: api.started.elapsed().as_secs_f64(),
    })
}

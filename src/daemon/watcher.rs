//! The file watcher in the daemon: starts it on the configured and added roots, stores what it
//! finds, and answers `tf watch add/remove/list`.

use super::State;
use super::respond::{storage_error, write_error};
use crate::calendar::now_ms;
use crate::protocol::{ErrorCode, Response, WatchAction};
use crate::watch::{Origin, Output, Settings, WatchHandle};
use std::path::{Path, PathBuf};

/// Starts the watcher with `config` (`[watch]` in force). `added` are the roots kept in the
/// database by `tf watch add`.
pub(crate) fn start(
    state: &State,
    config: &crate::config::WatchConfig,
    added: Vec<String>,
) -> WatchHandle {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut roots: Vec<(PathBuf, Origin)> = Vec::new();
    for r in &config.roots {
        let path = match (r.strip_prefix("~"), &home) {
            (Ok(rest), Some(home)) => home.join(rest),
            _ => r.clone(),
        };
        roots.push((crate::project::clean_path(&path), Origin::Config));
    }
    for r in added {
        let path = PathBuf::from(r);
        if !roots.iter().any(|(p, _)| *p == path) {
            roots.push((path, Origin::Added));
        }
    }
    let settings = Settings::from_config(config, own_dirs(state));
    let runtime = tokio::runtime::Handle::current();
    let st = state.clone();
    let sink = Box::new(move |out: Output| {
        let st = st.clone();
        runtime.spawn(async move {
            match out {
                Output::Heartbeats(beats) => store(&st, beats).await,
                Output::Git { event, live } => {
                    if let Response::Error { message, .. } =
                        super::git::record(&st, event, live).await
                    {
                        tracing::debug!("git event from the watcher: {message}");
                    }
                }
            }
        });
    });
    crate::watch::spawn(settings, roots, sink)
}

/// The daemon's own directories: never watched, since its writes would feed back.
fn own_dirs(state: &State) -> Vec<PathBuf> {
    let paths = &state.options.paths;
    [&paths.database, &paths.socket, &paths.log, &paths.spool]
        .iter()
        .filter_map(|p| p.parent().map(crate::project::clean_path))
        .collect()
}

async fn store(state: &State, beats: Vec<crate::model::Heartbeat>) {
    if let Err(e) = state.store(beats).await {
        tracing::error!("storing file heartbeats: {e}");
    }
}

pub(crate) async fn handle(state: &State, action: WatchAction) -> Response {
    let Some(watch) = state.watch.get() else {
        return Response::error(ErrorCode::Storage, "the file watcher is not running");
    };
    match action {
        WatchAction::List => {}
        WatchAction::Add { path } => {
            let path = match checked_root(&path) {
                Ok(p) => p,
                Err(msg) => return Response::error(ErrorCode::Invalid, msg),
            };
            if let Some(own) = own_dirs(state).iter().find(|d| path.starts_with(d)) {
                return Response::error(
                    ErrorCode::Invalid,
                    format!(
                        "path: {} is inside TimeForged's own directory {}, whose files change on \
                         every write; watch your code directories instead",
                        path.display(),
                        own.display()
                    ),
                );
            }
            let text = path.display().to_string();
            let now = now_ms();
            if let Err(e) = state
                .writer
                .run(move |w| w.add_watch_root(&text, now))
                .await
            {
                return write_error(e);
            }
            if let Err(e) = watch.add_root(path, Origin::Added).await {
                return storage_error(e);
            }
        }
        WatchAction::Remove { path } => {
            // Relative to what? The daemon's directory is not the client's.
            if !Path::new(&path).is_absolute() {
                return Response::error(
                    ErrorCode::Invalid,
                    format!("path: expected an absolute path, got {path:?}"),
                );
            }
            let path = crate::project::clean_path(Path::new(&path));
            let text = path.display().to_string();
            match watch.status().roots.iter().find(|r| r.path == text) {
                None => {
                    return Response::error(
                        ErrorCode::Invalid,
                        format!("path: {text} is not a watched root (see `tf watch list`)"),
                    );
                }
                Some(r) if r.origin == "config" => {
                    return Response::error(
                        ErrorCode::Invalid,
                        format!(
                            "path: {text} comes from [watch] roots in the config file; remove it there"
                        ),
                    );
                }
                Some(_) => {}
            }
            let key = text.clone();
            if let Err(e) = state.writer.run(move |w| w.remove_watch_root(&key)).await {
                return write_error(e);
            }
            if let Err(e) = watch.remove_root(path).await {
                return storage_error(e);
            }
        }
    }
    Response::WatchRoots {
        roots: watch.status().roots,
    }
}

/// An absolute, existing, readable directory — or an error that says which it is not.
fn checked_root(path: &str) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err("path: expected a directory, got an empty path".into());
    }
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(format!("path: expected an absolute path, got {path:?}"));
    }
    let p = crate::project::clean_path(p);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("path: {} is not a directory", p.display())),
        Err(e) => return Err(format!("path: cannot watch {}: {e}", p.display())),
    }
    std::fs::read_dir(&p).map_err(|e| format!("path: cannot read {}: {e}", p.display()))?;
    Ok(p)
}

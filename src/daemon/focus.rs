//! The focus timer in the daemon: `tf focus start|stop|status|log` over the socket, the session
//! kept in the database, and [`run`], which sleeps until the running timer is due and rings it
//! (a timer that came due while the daemon was down rings when it starts). Ringing is a
//! desktop notification where `notify-send` works, else a bell the shell hooks sound at the
//! next prompt (the file [`crate::focus::bell_path`]).

use super::State;
use super::respond::{resolve, storage_error, write_error};
use crate::calendar::now_ms;
use crate::focus::{FocusPlan, FocusSession};
use crate::protocol::{ErrorCode, FocusAction, FocusEntry, FocusReply, Response};
use crate::store::{FOCUS_RUNNING, Snapshot, StoreError};
use std::time::Duration;

pub(crate) async fn handle(state: &State, action: FocusAction) -> Response {
    match action {
        FocusAction::Start(plan) => start(state, plan).await,
        FocusAction::Stop => stop(state).await,
        FocusAction::Status => {
            let user = state.local();
            let now = now_ms();
            state
                .read(move |snap| {
                    let running = snap.running_focus(user.id())?;
                    let running = running.map(|f| entry(snap, &user, f, now)).transpose()?;
                    Ok(Response::Focus(Box::new(FocusReply {
                        running,
                        stopped: None,
                    })))
                })
                .await
                .unwrap_or_else(storage_error)
        }
        FocusAction::Log { range } => {
            let (start, end) = match resolve(state, &range) {
                Ok(r) => r,
                Err(e) => return e,
            };
            let user = state.local();
            let now = now_ms();
            state
                .read(move |snap| {
                    let sessions = snap
                        .focus_sessions(user.id(), start, end)?
                        .into_iter()
                        .map(|f| entry(snap, &user, f, now))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Response::FocusLog { sessions })
                })
                .await
                .unwrap_or_else(storage_error)
        }
    }
}

async fn start(state: &State, mut plan: FocusPlan) -> Response {
    if let Err(e) = plan.validate() {
        return Response::error(ErrorCode::Invalid, e.to_string());
    }
    let user = state.local();
    let now = now_ms();
    // Said before trying, with what runs: the store's refusal (a race) is the fallback.
    let running = {
        let u = user.clone();
        state.read(move |snap| snap.running_focus(u.id())).await
    };
    match running {
        Ok(Some(f)) => return already_running(state, &f, now),
        Ok(None) => {}
        Err(e) => return storage_error(e),
    }
    let id = user.id();
    let started = state
        .writer
        .run(move |w| w.start_focus(id, now, &plan))
        .await;
    match started {
        Ok(f) => {
            state.focus_changed.notify_one();
            tracing::info!(
                id = f.id,
                minutes = f.planned_ms / 60_000,
                "focus timer started"
            );
            let user = state.local();
            state
                .read(move |snap| {
                    Ok(Response::Focus(Box::new(FocusReply {
                        running: Some(entry(snap, &user, f, now)?),
                        stopped: None,
                    })))
                })
                .await
                .unwrap_or_else(storage_error)
        }
        Err(super::writer::WriteError::Store(StoreError::Invalid(m))) if m == FOCUS_RUNNING => {
            Response::error(
                ErrorCode::Invalid,
                format!("{FOCUS_RUNNING}; stop it first with `tf focus stop`"),
            )
        }
        Err(e) => write_error(e),
    }
}

fn already_running(state: &State, f: &FocusSession, now: i64) -> Response {
    let local = state.local();
    let cal = local.calendar();
    let at = |ms: i64| cal.zoned(ms).strftime("%H:%M").to_string();
    let left = (f.due_ms() - now).max(0) / 1000;
    Response::error(
        ErrorCode::Invalid,
        format!(
            "{FOCUS_RUNNING} (started {}, rings at {}, {}m{:02}s left{}); one at a time: stop it first with `tf focus stop`",
            at(f.start_ms),
            at(f.due_ms()),
            left / 60,
            left % 60,
            f.project
                .as_deref()
                .map(|p| format!(", project {p}"))
                .unwrap_or_default()
        ),
    )
}

async fn stop(state: &State) -> Response {
    let id = state.local().id();
    let now = now_ms();
    match state.writer.run(move |w| w.end_focus(id, now, false)).await {
        Ok(Some(f)) => {
            state.focus_changed.notify_one();
            let user = state.local();
            state
                .read(move |snap| {
                    Ok(Response::Focus(Box::new(FocusReply {
                        running: None,
                        stopped: Some(entry(snap, &user, f, now)?),
                    })))
                })
                .await
                .unwrap_or_else(storage_error)
        }
        Ok(None) => Response::error(
            ErrorCode::Invalid,
            "no focus timer is running (start one with `tf focus start 25m`)",
        ),
        Err(e) => write_error(e),
    }
}

/// A session with its real activity: the human's own time from its start to its end (or now).
pub(crate) fn entry(
    snap: &dyn Snapshot,
    user: &super::account::Account,
    f: FocusSession,
    now: i64,
) -> Result<FocusEntry, StoreError> {
    let end = f.end_ms.unwrap_or(now).max(f.start_ms);
    let projects = crate::report::ai::human_by_project(
        snap,
        user.calendar(),
        user.rules(),
        user.id(),
        f.start_ms,
        end,
    )?;
    Ok(FocusEntry {
        // A fold from +0: an empty f64 sum is -0.0, which prints as "-0".
        active_seconds: projects.iter().fold(0.0, |a, r| a + r.seconds),
        elapsed_seconds: (end - f.start_ms) as f64 / 1000.0,
        remaining_seconds: f
            .end_ms
            .is_none()
            .then(|| (f.due_ms() - now).max(0) as f64 / 1000.0),
        projects,
        session: f,
    })
}

/// Rings the running timer when it is due, for as long as the daemon runs. Wakes early when a
/// timer is started or stopped.
pub(crate) async fn run(state: State) {
    let mut stopping = state.shutdown.subscribe();
    let id = state.local().id();
    loop {
        if *stopping.borrow() {
            return;
        }
        let running = state.read(move |snap| snap.running_focus(id)).await;
        let wait = match running {
            Ok(Some(f)) => {
                let wait = f.due_ms() - now_ms();
                if wait <= 0 {
                    ring(&state, f).await;
                    continue;
                }
                Duration::from_millis(wait as u64)
            }
            // Nothing to ring until a timer is started.
            Ok(None) => Duration::from_secs(24 * 3600),
            Err(e) => {
                tracing::warn!("cannot read the focus timer ({e}); trying again in 10 s");
                Duration::from_secs(10)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.focus_changed.notified() => {}
            _ = stopping.changed() => return,
        }
    }
}

/// Ends a due timer as completed (at its due time, also when the daemon was down then) and
/// tells the user. The end is written only if that timer still runs: one stopped and another
/// started meanwhile is left alone.
async fn ring(state: &State, f: FocusSession) {
    let (user, due, id) = (state.local().id(), f.due_ms(), f.id);
    let ended = state
        .writer
        .run(move |w| {
            let mut still = false;
            w.read(&mut |snap| {
                still = snap.running_focus(user)?.is_some_and(|r| r.id == id);
                Ok(())
            })?;
            if still {
                w.end_focus(user, due, true)
            } else {
                Ok(None)
            }
        })
        .await;
    let f = match ended {
        Ok(Some(f)) => f,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("cannot end the focus timer ({e}); trying again in 10 s");
            tokio::time::sleep(Duration::from_secs(10)).await;
            return;
        }
    };
    let account = state.local();
    let now = now_ms();
    let done = state.read(move |snap| entry(snap, &account, f, now)).await;
    let Ok(done) = done else {
        return;
    };
    let body = message(&done);
    tracing::info!(id, "focus timer done: {body}");
    let bell = crate::focus::bell_path(&state.options.paths.spool);
    let id = done.session.id;
    // notify-send may block on a slow bus: off the runtime thread.
    let _ = tokio::task::spawn_blocking(move || {
        if !desktop_notification("Focus time is up", &body) {
            ring_bell(&bell, id);
        }
    })
    .await;
}

/// What the notification says: the length, the project, and how much of it was real activity.
fn message(e: &FocusEntry) -> String {
    let show = |s: f64| {
        let s = s.round() as i64;
        match s {
            s if s < 60 => format!("{s}s"),
            s if s < 3600 => format!("{}m", s / 60),
            s => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        }
    };
    let mut text = format!(
        "{} done, {} of it active",
        show(e.session.planned_ms as f64 / 1000.0),
        show(e.active_seconds)
    );
    if let Some(p) = &e.session.project {
        text.push_str(&format!(" · {p}"));
    }
    if let Some(n) = &e.session.note {
        text.push_str(&format!(" · {n}"));
    }
    text
}

/// A desktop notification through `notify-send`, if it is on PATH and succeeds (it fails
/// without a session bus or display).
fn desktop_notification(title: &str, body: &str) -> bool {
    let Some(program) = find_on_path("notify-send") else {
        return false;
    };
    let status = std::process::Command::new(program)
        .args(["--app-name=TimeForged", title, body])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => true,
        other => {
            tracing::info!("notify-send did not work ({other:?}): the shell hooks ring the bell");
            false
        }
    }
}

fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Writes the timer's id to the bell file, which each shell hook reads at its prompt and rings
/// the terminal bell once for. Replaced whole (write beside, rename): a hook never reads half.
fn ring_bell(path: &std::path::Path, id: i64) {
    let tmp = path.with_extension("bell.tmp");
    let written =
        std::fs::write(&tmp, format!("{id}\n")).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::warn!("cannot write the focus bell {}: {e}", path.display());
    }
}

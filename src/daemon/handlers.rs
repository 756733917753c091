//! One connection: peer check, then request lines in, response lines out. Each request type
//! has its handler here; they share [`State`].

use super::State;
use super::account::Account;
use super::query::{self, Ask};
use super::respond::{resolve, storage_error, write_error};
use super::socket::{Line, LineBuf, read_line};
use crate::calendar::now_ms;
use crate::model::{Heartbeat, Source, ms_to_seconds};
use crate::protocol::{
    Current, ErrorCode, Event, ItemError, LoggedInterval, MAX_LINE_BYTES, PROTOCOL_VERSION, Parsed,
    Request, Response, StatusInfo, parse_line, to_line,
};
use crate::report::{self, Dim, Filters, RangeSpec, Reading};
use crate::store::Snapshot;
use crate::timeline::Rules;
use serde_json::value::RawValue;
use std::collections::VecDeque;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::task::JoinHandle;

pub async fn connection(state: State, stream: UnixStream) {
    let (read, mut write) = {
        // Refuse other users even if they get past the 0700 directory (root, or a chmod).
        let me = current_uid();
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == me => {}
            Ok(cred) => {
                tracing::warn!(uid = cred.uid(), "refused a connection from another user");
                let mut s = stream;
                let msg = Response::error(
                    ErrorCode::Permission,
                    "permission denied: this daemon serves only its own user",
                );
                let _ = s.write_all(to_line(&msg).as_bytes()).await;
                return;
            }
            Err(e) => {
                tracing::warn!("cannot check the peer's credentials: {e}");
                return;
            }
        }
        stream.into_split()
    };
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut buf = LineBuf::default();
    // Heartbeat batches are pipelined: while one waits for its commit, the next is parsed.
    // Answers still go out in request order.
    let mut pending: VecDeque<JoinHandle<Response>> = VecDeque::new();
    loop {
        let line = tokio::select! {
            biased;
            done = async { pending.front_mut().expect("guarded by the condition").await }, if !pending.is_empty() => {
                pending.pop_front();
                let response = done.unwrap_or_else(|e| Response::error(ErrorCode::Storage, e.to_string()));
                if send(&mut write, &response).await.is_err() {
                    return;
                }
                continue;
            }
            line = read_line(&mut reader, &mut buf, MAX_LINE_BYTES), if pending.len() < MAX_IN_FLIGHT => line,
        };
        let line = match line {
            Ok(Line::Text(l)) => l,
            Ok(Line::Eof) | Err(_) => {
                let _ = drain(&mut pending, &mut write).await;
                return;
            }
            Ok(Line::TooLong(msg)) => {
                let _ = drain(&mut pending, &mut write).await;
                let _ = send(&mut write, &Response::error(ErrorCode::TooLarge, msg)).await;
                return;
            }
            Ok(Line::NotUtf8) => {
                let bad = Response::error(ErrorCode::BadRequest, "request line is not UTF-8");
                if drain(&mut pending, &mut write).await.is_err()
                    || send(&mut write, &bad).await.is_err()
                {
                    return;
                }
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        // Once a stop was asked for, nothing new starts: a connection made before it may still
        // send, and with several runtime threads its request can run before the accept loop ends.
        if *state.shutdown.borrow() {
            let stopping = Response::error(ErrorCode::ShuttingDown, "the daemon is shutting down");
            let _ = drain(&mut pending, &mut write).await;
            let _ = send(&mut write, &stopping).await;
            return;
        }
        let request = match parse_line(&line) {
            Ok(Parsed::Heartbeats { items, source }) => {
                let (good, errors) = validate_items(&items, source.unwrap_or_default());
                pending.push_back(tokio::spawn(store_items(state.clone(), good, errors)));
                continue;
            }
            Ok(Parsed::Other(r)) => Ok(r),
            Err(e) => Err(Response::error(e.code(), e.to_string())),
        };
        // Everything else waits for the batches before it, so answers keep their order.
        if drain(&mut pending, &mut write).await.is_err() {
            return;
        }
        let ok = match request {
            Err(error) => send(&mut write, &error).await,
            Ok(Request::Subscribe) => {
                subscribe(&state, &mut reader, &mut buf, &mut write).await;
                return;
            }
            Ok(Request::Log { range, intervals }) => {
                log(&state, range, intervals, &mut write).await
            }
            Ok(other) => {
                let response = handle(&state, other).await;
                send(&mut write, &response).await
            }
        };
        if ok.is_err() {
            return;
        }
    }
}

/// Heartbeat batches one connection may have waiting for their commit.
const MAX_IN_FLIGHT: usize = 4;

/// Sends the answers of every pipelined batch, in order.
async fn drain(
    pending: &mut VecDeque<JoinHandle<Response>>,
    write: &mut OwnedWriteHalf,
) -> std::io::Result<()> {
    while let Some(handle) = pending.pop_front() {
        let response = handle
            .await
            .unwrap_or_else(|e| Response::error(ErrorCode::Storage, e.to_string()));
        send(write, &response).await?;
    }
    Ok(())
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

async fn send(write: &mut OwnedWriteHalf, response: &Response) -> std::io::Result<()> {
    write.write_all(to_line(response).as_bytes()).await
}

/// Answers one request (everything but the streaming ones).
pub(crate) async fn handle(state: &State, request: Request) -> Response {
    match request {
        Request::Hello { .. } => Response::Hello {
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
            timezone: state.local().calendar().tz_name(),
        },
        Request::Status => status(state).await.unwrap_or_else(storage_error),
        Request::Heartbeats { heartbeats, source } => {
            let items: Vec<&RawValue> = heartbeats.iter().map(|b| &**b).collect();
            ingest(state, &items, source.unwrap_or_default()).await
        }
        Request::AddInterval { interval } => {
            let now = now_ms();
            if let Err(e) = interval.validate(ms_to_seconds(now)) {
                return Response::error(ErrorCode::Invalid, e.to_string());
            }
            let from = state.writer.local();
            match state
                .writer
                .interval(state.local().scope, interval, now, from)
                .await
            {
                Ok((id, added)) => {
                    if added {
                        let _ = state.events.send(Event::IntervalAdded { id });
                    }
                    Response::IntervalAdded {
                        id,
                        existed: !added,
                    }
                }
                Err(e) => write_error(e),
            }
        }
        Request::Intervals { range } => super::corrections::list(state, range).await,
        Request::EditInterval { id, change } => super::corrections::edit(state, id, change).await,
        Request::Forget {
            project,
            entity,
            range,
            apply,
        } => super::corrections::forget(state, project, entity, range, apply).await,
        Request::Report {
            range,
            by,
            filters,
            timeout_minutes,
        } => run_report(state, range, by, filters, timeout_minutes).await,
        Request::Sessions { range } => {
            read_range(state, &range, |r, start, end| {
                report::sessions(r, start, end).map(|sessions| Response::Sessions { sessions })
            })
            .await
        }
        Request::Timeline { range } => {
            read_range(state, &range, |r, start, end| {
                report::segments(r, start, end).map(|segments| Response::Timeline { segments })
            })
            .await
        }
        Request::Shell(event) => super::shell::handle(state, event).await,
        Request::Git(event) => super::git::record(state, event, true).await,
        Request::Branches { range, project } => super::git::branches(state, range, project).await,
        Request::Commits {
            range,
            project,
            branch,
        } => super::git::commits(state, range, project, branch).await,
        Request::Watch(action) => super::watcher::handle(state, action).await,
        Request::Shutdown => {
            let _ = state.shutdown.send(true);
            Response::Ok
        }
        Request::Config { reload } => {
            let live = match reload {
                true => super::reload::reload(state, "asked by tf").await,
                false => state.live(),
            };
            Response::Config(Box::new(live.state()))
        }
        Request::SyncNow | Request::SyncStatus => match &state.live().sync {
            None => Response::error(
                ErrorCode::Invalid,
                "nothing to sync with: add a [sync] or [[forward]] section to the config file \
                 (see `tf config path`)",
            ),
            Some(sync) if matches!(request, Request::SyncNow) => Response::Sync {
                targets: sync.now().await,
            },
            Some(sync) => Response::Sync {
                targets: sync.status(),
            },
        },
        Request::WebLogin => crate::web::auth::web_login(state).await,
        Request::Agent(event) => super::agent::handle(state, event).await,
        Request::Lanes {
            range,
            filters,
            timeout_minutes,
        } => lanes(state, range, filters, timeout_minutes).await,
        Request::Focus(action) => super::focus::handle(state, action).await,
        Request::Subscribe | Request::Log { .. } => Response::error(
            ErrorCode::BadRequest,
            "streaming request handled by the connection",
        ),
    }
}

/// Resolves `range` and answers with `f` run on a snapshot (the local user's calendar and
/// rules).
async fn read_range(
    state: &State,
    range: &RangeSpec,
    f: impl FnOnce(&Reading, i64, i64) -> crate::store::Result<Response> + Send + 'static,
) -> Response {
    let (start, end) = match resolve(state, range) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let account = state.local();
    state
        .read(move |snap| {
            let r = Reading {
                snap,
                cal: account.calendar(),
                rules: account.rules(),
                user: account.id(),
            };
            f(&r, start, end)
        })
        .await
        .unwrap_or_else(storage_error)
}

/// Validates each item on its own, stores the good ones in one transaction, and answers after
/// the commit.
async fn ingest(state: &State, items: &[&RawValue], default_source: Source) -> Response {
    let (good, errors) = validate_items(items, default_source);
    store_items(state.clone(), good, errors).await
}

/// Parses and validates each item on its own: good heartbeats, and an error per bad item.
fn validate_items(items: &[&RawValue], default_source: Source) -> (Vec<Heartbeat>, Vec<ItemError>) {
    let now = ms_to_seconds(now_ms());
    let mut good = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, raw) in items.iter().enumerate() {
        match Heartbeat::from_json(raw.get()) {
            Ok(mut h) => match h.validate(now) {
                Ok(()) => {
                    h.source.get_or_insert(default_source);
                    good.push(h)
                }
                Err(e) => errors.push(ItemError {
                    index,
                    error: e.to_string(),
                }),
            },
            Err(error) => errors.push(ItemError { index, error }),
        }
    }
    (good, errors)
}

/// Stores the good heartbeats in one transaction and answers after the commit.
async fn store_items(state: State, good: Vec<Heartbeat>, errors: Vec<ItemError>) -> Response {
    let written = if good.is_empty() {
        Default::default()
    } else {
        match state.writer.heartbeats(state.local().scope, good).await {
            Ok(w) => w,
            Err(e) => return write_error(e),
        }
    };
    let accepted = super::announce(&state.events, &written);
    Response::Stored {
        accepted,
        duplicates: written.stored.len() - accepted,
        rejected: errors.len(),
        errors,
    }
}

/// The rules of a report: the account's, with another timeout when asked.
fn rules_with(local: &Account, timeout_minutes: Option<u32>) -> Result<Rules, Response> {
    match timeout_minutes {
        None => Ok(local.rules()),
        Some(m @ 1..=240) => Ok(Rules {
            timeout_ms: i64::from(m) * 60_000,
            ..local.rules()
        }),
        Some(m) => Err(Response::error(
            ErrorCode::Invalid,
            format!("timeout {m} min is out of range (expected 1 to 240)"),
        )),
    }
}

/// Human and agent time side by side.
async fn lanes(
    state: &State,
    range: RangeSpec,
    filters: Filters,
    timeout_minutes: Option<u32>,
) -> Response {
    let rules = match rules_with(&state.local(), timeout_minutes) {
        Ok(r) => r,
        Err(e) => return e,
    };
    read_range(state, &range, move |r, start, end| {
        report::ai::lanes(r.snap, r.cal, rules, r.user, start, end, &filters)
            .map(|l| Response::Lanes(Box::new(l)))
    })
    .await
}

async fn run_report(
    state: &State,
    range: RangeSpec,
    by: Vec<Dim>,
    filters: Filters,
    timeout_minutes: Option<u32>,
) -> Response {
    let (start, end) = match resolve(state, &range) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let local = state.local();
    let rules = match rules_with(&local, timeout_minutes) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let ask = Ask {
        start,
        end,
        by,
        filters,
        rules,
    };
    match query::report(&state.db, &local, ask).await {
        Ok(r) => Response::Report(Box::new(r)),
        Err(e) => storage_error(e.to_string()),
    }
}

async fn status(state: &State) -> Result<Response, String> {
    let live = state.live();
    let account = &live.local;
    let cal = account.calendar();
    let now = now_ms();
    let today = cal.date_of(now);
    let (start, end) = cal.bounds(today);
    let timeout_ms = account.rules().timeout_ms;
    let (q, user) = (Ask::new(account, start, end, Vec::new()), account.clone());
    let (total, count, latest, focus) = state
        .read(move |snap| {
            let total = report::report(snap, user.calendar(), &query::to_query(&user, &q))?;
            let focus = snap
                .running_focus(user.id())?
                .map(|f| super::focus::entry(snap, &user, f, now))
                .transpose()?;
            Ok((
                total,
                snap.heartbeat_count()?,
                snap.latest(user.id(), i64::MAX)?,
                focus,
            ))
        })
        .await?;
    let current = latest.map(|h| Current {
        active: now - h.time_ms() < timeout_ms,
        project: h.project,
        branch: h.branch,
        language: h.language,
        entity: h.entity,
        time: h.time,
    });
    let watch = state.watch.get().map(|w| w.status()).unwrap_or_default();
    let paths = &state.options.paths;
    Ok(Response::Status(Box::new(StatusInfo {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: PROTOCOL_VERSION,
        uptime_seconds: state.started.elapsed().as_secs_f64(),
        socket: paths.socket.display().to_string(),
        database: paths.database.display().to_string(),
        timezone: cal.tz_name(),
        timeout_minutes: timeout_ms as f64 / 60_000.0,
        http: state.http_addr.map(|a| a.to_string()),
        http_error: state.http_error.clone(),
        shells: super::shell::seen(state),
        spool: crate::protocol::SpoolInfo {
            pending_bytes: super::shell::spool_pending(paths),
            dropped: state
                .spool_dropped
                .load(std::sync::atomic::Ordering::Relaxed),
        },
        heartbeats: count,
        today_seconds: total.total_seconds,
        current,
        watch: watch.roots,
        watch_limit: watch.limit,
        machine_id: Some(state.machine_id.clone()),
        machine: state.machine.clone(),
        sync: live.sync.as_ref().map(|s| s.status()).unwrap_or_default(),
        config: Some(live.state()),
        down_before_start: state.down_before_start,
        started_by: state.started_by.clone(),
        focus,
        agents: super::agent::seen(state),
    })))
}

/// Streams heartbeats (and intervals) of a range in chunks, then `end`.
async fn log(
    state: &State,
    range: RangeSpec,
    with_intervals: bool,
    write: &mut OwnedWriteHalf,
) -> std::io::Result<()> {
    let (start, end) = match resolve(state, &range) {
        Ok(r) => r,
        Err(e) => return send(write, &e).await,
    };
    const CHUNK: usize = 2000;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Response>(4);
    let user = state.local().id();
    let work = state.read(move |r: &dyn Snapshot| {
        if with_intervals {
            let intervals = r
                .intervals(user, start, end)?
                .into_iter()
                .map(|(id, interval)| LoggedInterval { id, interval })
                .collect::<Vec<_>>();
            if !intervals.is_empty() {
                let _ = tx.blocking_send(Response::LogChunk {
                    heartbeats: Vec::new(),
                    intervals,
                });
            }
        }
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut open = true;
        r.heartbeats(user, start, end, &mut |h| {
            chunk.push(h);
            if chunk.len() == CHUNK {
                let heartbeats = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                open = tx
                    .blocking_send(Response::LogChunk {
                        heartbeats,
                        intervals: Vec::new(),
                    })
                    .is_ok();
            }
            open
        })?;
        if !chunk.is_empty() {
            let _ = tx.blocking_send(Response::LogChunk {
                heartbeats: chunk,
                intervals: Vec::new(),
            });
        }
        Ok(())
    });
    let forward = async {
        while let Some(resp) = rx.recv().await {
            send(write, &resp).await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let (result, forwarded) = tokio::join!(work, forward);
    forwarded?;
    match result {
        Ok(()) => send(write, &Response::End).await,
        Err(e) => send(write, &storage_error(e)).await,
    }
}

/// Pushes events until the client goes away or the daemon stops.
async fn subscribe(
    state: &State,
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    buf: &mut LineBuf,
    write: &mut OwnedWriteHalf,
) {
    let mut events = state.events.subscribe();
    let mut stopping = state.shutdown.subscribe();
    if send(write, &Response::Ok).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(e) => if send(write, &Response::Event(e)).await.is_err() { return },
                // A slow subscriber missed some events; it will re-read totals on the next one.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            },
            line = read_line(reader, buf, MAX_LINE_BYTES) => {
                if !matches!(line, Ok(Line::Text(_))) { return }
            }
            _ = stopping.changed() => return,
        }
    }
}

//! The one writer: a thread that owns the write connection, takes every write request from a
//! queue, and commits whatever is waiting in one transaction before acknowledging each request.
//! When idle with stale rollups it refreshes them a few days at a time.

use crate::calendar::DayNum;
use crate::model::{Heartbeat, Interval};
use crate::store::{LOCAL_USER, Stored, Writer};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

pub enum WriteCmd {
    Heartbeats {
        items: Vec<Heartbeat>,
        reply: oneshot::Sender<Result<Vec<Stored>, String>>,
    },
    Interval {
        interval: Interval,
        now_ms: i64,
        reply: oneshot::Sender<Result<i64, String>>,
    },
    /// Bring the rollups of `[from, to]` up to date before a report reads them.
    Refresh {
        from: DayNum,
        to: DayNum,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Any other write, run on the writer thread in queue order (it answers by itself).
    Run(Box<dyn FnOnce(&mut Writer) + Send>),
    /// Finish everything queued before this, then exit.
    Stop,
}

/// Cheap to clone; sends to the writer thread.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteCmd>,
}

const CLOSED: &str = "the daemon is shutting down";

impl WriterHandle {
    pub async fn heartbeats(&self, items: Vec<Heartbeat>) -> Result<Vec<Stored>, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(WriteCmd::Heartbeats { items, reply })
            .map_err(|_| CLOSED.to_string())?;
        rx.await.map_err(|_| CLOSED.to_string())?
    }

    pub async fn interval(&self, interval: Interval, now_ms: i64) -> Result<i64, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(WriteCmd::Interval {
                interval,
                now_ms,
                reply,
            })
            .map_err(|_| CLOSED.to_string())?;
        rx.await.map_err(|_| CLOSED.to_string())?
    }

    pub async fn refresh(&self, from: DayNum, to: DayNum) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(WriteCmd::Refresh { from, to, reply })
            .map_err(|_| CLOSED.to_string())?;
        rx.await.map_err(|_| CLOSED.to_string())?
    }

    /// Runs `f` with the writer, after everything queued before it.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let (reply, rx) = oneshot::channel();
        let job = Box::new(move |w: &mut Writer| {
            let _ = reply.send(f(w).map_err(|e| e.to_string()));
        });
        self.tx
            .send(WriteCmd::Run(job))
            .map_err(|_| CLOSED.to_string())?;
        rx.await.map_err(|_| CLOSED.to_string())?
    }

    pub fn stop(&self) {
        let _ = self.tx.send(WriteCmd::Stop);
    }
}

/// Heartbeats of one request waiting for the next commit, with where to send the outcome.
type PendingInsert = (Vec<Heartbeat>, oneshot::Sender<Result<Vec<Stored>, String>>);

/// Most items committed in one transaction; bigger queues are split.
const MAX_BATCH: usize = 50_000;
/// How long the writer waits for more work before refreshing stale rollups in the background.
const IDLE_BEFORE_REFRESH: Duration = Duration::from_secs(2);
/// Days refreshed per idle step, so a request never waits long behind background work.
const REFRESH_STEP: usize = 8;

/// Starts the writer thread; it exits after [`WriteCmd::Stop`] or when every handle is gone.
/// Commits between two checkpoints (SQLite's own default is about every 1,000 pages).
const COMMITS_PER_CHECKPOINT: u32 = 200;

/// Starts the checkpoint thread; it runs a passive checkpoint each time it is nudged, and exits
/// when the writer is gone.
fn spawn_checkpointer(checkpointer: crate::store::Checkpointer) -> mpsc::SyncSender<()> {
    let (nudge, nudged) = mpsc::sync_channel::<()>(1);
    let _ = std::thread::Builder::new()
        .name("timeforged-checkpoint".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                if let Err(e) = checkpointer.passive() {
                    tracing::warn!("checkpoint: {e}");
                }
            }
        });
    nudge
}

pub fn spawn(
    mut writer: Writer,
    checkpointer: crate::store::Checkpointer,
) -> (WriterHandle, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<WriteCmd>();
    let nudge = spawn_checkpointer(checkpointer);
    let mut commits = 0u32;
    let thread = std::thread::Builder::new()
        .name("timeforged-writer".into())
        .spawn(move || {
            let mut stale = true; // unknown at start: rules may have changed
            let mut arrived: Option<WriteCmd> = None;
            loop {
                let first = if let Some(cmd) = arrived.take() {
                    cmd
                } else if stale {
                    match rx.recv_timeout(IDLE_BEFORE_REFRESH) {
                        Ok(cmd) => cmd,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            match refresh_while_idle(&mut writer, &rx) {
                                Some(cmd) => arrived = Some(cmd),
                                None => {
                                    stale = false;
                                    let _ = nudge.try_send(());
                                    release_memory(&writer);
                                }
                            }
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                } else {
                    match rx.recv() {
                        Ok(cmd) => cmd,
                        Err(_) => return,
                    }
                };
                // Take everything already waiting, so one transaction serves many requests.
                let mut cmds = vec![first];
                let mut items = 0;
                while items < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(cmd) => {
                            if let WriteCmd::Heartbeats { items: hb, .. } = &cmd {
                                items += hb.len();
                            }
                            cmds.push(cmd);
                        }
                        Err(_) => break,
                    }
                }
                commits += 1;
                if commits >= COMMITS_PER_CHECKPOINT {
                    commits = 0;
                    // Full channel: a checkpoint is already pending, which is as good.
                    let _ = nudge.try_send(());
                }
                if process(&mut writer, cmds) {
                    if let Err(e) = writer.checkpoint() {
                        tracing::warn!("checkpoint at shutdown: {e}");
                    }
                    return;
                }
                stale = true;
            }
        })
        .expect("spawning the writer thread");
    (WriterHandle { tx }, thread)
}

/// Refreshes stale rollups a few days at a time for as long as no request is waiting.
/// Returns the request that interrupted it, or None when every rollup is fresh.
fn refresh_while_idle(writer: &mut Writer, rx: &mpsc::Receiver<WriteCmd>) -> Option<WriteCmd> {
    loop {
        match writer.refresh_dirty(LOCAL_USER, None, REFRESH_STEP) {
            Ok(n) if n < REFRESH_STEP => return None,
            Ok(_) => {}
            Err(e) => {
                tracing::error!("refreshing rollups: {e}");
                return None;
            }
        }
        if let Ok(cmd) = rx.try_recv() {
            return Some(cmd);
        }
    }
}

/// Gives memory back to the system once the writer has nothing to do.
fn release_memory(writer: &Writer) {
    writer.shrink_memory();
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Handles a group of commands in order; returns true on Stop.
fn process(writer: &mut Writer, cmds: Vec<WriteCmd>) -> bool {
    let mut pending: Vec<PendingInsert> = Vec::new();
    let mut stop = false;
    for cmd in cmds {
        match cmd {
            WriteCmd::Heartbeats { items, reply } => pending.push((items, reply)),
            other => {
                // Keep the order: flush queued heartbeats before anything else.
                flush(writer, &mut pending);
                match other {
                    WriteCmd::Interval {
                        interval,
                        now_ms,
                        reply,
                    } => {
                        let _ = reply.send(
                            writer
                                .add_interval(LOCAL_USER, &interval, now_ms)
                                .map_err(|e| e.to_string()),
                        );
                    }
                    WriteCmd::Refresh { from, to, reply } => {
                        let res = writer.refresh_dirty(LOCAL_USER, Some((from, to)), usize::MAX);
                        let _ = reply.send(res.map(|_| ()).map_err(|e| e.to_string()));
                    }
                    WriteCmd::Run(job) => job(writer),
                    WriteCmd::Stop => stop = true,
                    WriteCmd::Heartbeats { .. } => unreachable!("handled above"),
                }
            }
        }
    }
    flush(writer, &mut pending);
    stop
}

fn flush(writer: &mut Writer, pending: &mut Vec<PendingInsert>) {
    if pending.is_empty() {
        return;
    }
    let lengths: Vec<usize> = pending.iter().map(|(items, _)| items.len()).collect();
    let all: Vec<Heartbeat> = pending
        .iter_mut()
        .flat_map(|(items, _)| std::mem::take(items))
        .collect();
    match writer.insert(LOCAL_USER, &all) {
        Ok(results) => {
            let mut rest = results.as_slice();
            for ((_, reply), n) in pending.drain(..).zip(lengths) {
                let (mine, tail) = rest.split_at(n);
                rest = tail;
                let _ = reply.send(Ok(mine.to_vec()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::error!("storing heartbeats: {msg}");
            for (_, reply) in pending.drain(..) {
                let _ = reply.send(Err(msg.clone()));
            }
        }
    }
}

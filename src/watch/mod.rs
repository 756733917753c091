//! The file-system watcher: inotify watches on every directory of the configured roots
//! that is not ignored, turning file writes inside git repositories into heartbeats
//! (`source=fs`, at most one per file per debounce period), HEAD changes into branch switches
//! and new reflog lines into commits. Past the kernel's watch limit, the remaining directories
//! are polled.
//!
//! Everything runs on one thread that owns the watchers and the state; the daemon talks to it
//! through [`WatchHandle`] and receives what it found through a [`Sink`].

// The kernel watcher: inotify, used directly, on Linux; notify's native backend (FSEvents,
// kqueue) elsewhere, and on Linux too with the `portable-watch` feature, to test that path.
#[cfg(all(target_os = "linux", not(feature = "portable-watch")))]
mod kernel;
#[cfg(any(not(target_os = "linux"), feature = "portable-watch"))]
#[path = "portable.rs"]
mod kernel;
mod reflog;
mod rules;
mod tree;

use crate::calendar::now_ms;
use crate::git::GitEvent;
use crate::model::{Category, Heartbeat, Source};
use crate::protocol::WatchRoot;
use notify::event::{AccessKind, AccessMode, CreateKind, MetadataKind, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use rules::IgnoreCache;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What the watcher hands to the daemon.
#[derive(Debug)]
pub enum Output {
    Heartbeats(Vec<Heartbeat>),
    /// A git event seen by the watcher. `live` is false for what was learnt when a repository
    /// was first found (the branch it is on), true for a switch seen happening.
    Git {
        event: GitEvent,
        live: bool,
    },
}

pub type Sink = Box<dyn Fn(Output) + Send>;

/// The watcher's settings (from `[watch]`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub exclude: Vec<String>,
    pub debounce: Duration,
    pub poll_interval: Duration,
    /// 0 = as many as the kernel allows.
    pub max_watches: usize,
    /// Directories never watched (the daemon's own data, so its writes do not feed back).
    pub skip: Vec<PathBuf>,
    pub machine: Option<String>,
}

impl Settings {
    pub fn from_config(c: &crate::config::WatchConfig, skip: Vec<PathBuf>) -> Settings {
        Settings {
            exclude: c.exclude.clone(),
            debounce: Duration::from_secs(u64::from(c.debounce_seconds)),
            poll_interval: Duration::from_secs(u64::from(c.poll_seconds)),
            max_watches: c.max_watches,
            skip,
            machine: crate::model::hostname(),
        }
    }
}

/// Where a root comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Config,
    Added,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Added => "added",
        }
    }
}

enum Msg {
    /// Events of one inotify read.
    Kernel(Vec<kernel::KernelEvent>),
    /// An event of the poller (directories past the watch limit).
    Fs(notify::Result<notify::Event>),
    AddRoot {
        path: PathBuf,
        origin: Origin,
        reply: oneshot::Sender<WatchRoot>,
    },
    RemoveRoot {
        path: PathBuf,
        reply: oneshot::Sender<bool>,
    },
    Stop,
}

/// What `tf status` and `tf watch list` show, as of the watcher's last batch.
#[derive(Debug, Clone, Default)]
pub struct WatchStatus {
    pub roots: Vec<WatchRoot>,
    /// Set once the watch limit was reached: what happened and the fix.
    pub limit: Option<String>,
}

/// Talks to the watcher thread. Cheap to clone.
#[derive(Clone)]
pub struct WatchHandle {
    tx: mpsc::Sender<Msg>,
    /// Published by the watcher after every change, so reading it never waits for a walk or a
    /// batch in progress.
    status: Arc<Mutex<WatchStatus>>,
}

impl WatchHandle {
    /// Sends a request to the watcher thread and waits for its answer.
    async fn ask<T>(&self, msg: impl FnOnce(oneshot::Sender<T>) -> Msg) -> Result<T, String> {
        const GONE: &str = "the watcher stopped";
        let (reply, rx) = oneshot::channel();
        self.tx.send(msg(reply)).map_err(|_| GONE.to_string())?;
        rx.await.map_err(|_| GONE.to_string())
    }

    /// Starts watching `path` (walking it happens before the answer).
    pub async fn add_root(&self, path: PathBuf, origin: Origin) -> Result<WatchRoot, String> {
        self.ask(|reply| Msg::AddRoot {
            path,
            origin,
            reply,
        })
        .await
    }

    /// Stops watching a root; false when it was not watched.
    pub async fn remove_root(&self, path: PathBuf) -> Result<bool, String> {
        self.ask(|reply| Msg::RemoveRoot { path, reply }).await
    }

    /// The roots and, if it was reached, the watch-limit message.
    pub fn status(&self) -> WatchStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

/// Starts the watcher thread with `roots` (walked on the thread, so the daemon starts at once).
pub fn spawn(settings: Settings, roots: Vec<(PathBuf, Origin)>, sink: Sink) -> WatchHandle {
    let (tx, rx) = mpsc::channel();
    let handle = WatchHandle {
        tx: tx.clone(),
        status: Arc::default(),
    };
    let status = handle.status.clone();
    let spawned = std::thread::Builder::new()
        .name("timeforged-watch".into())
        .spawn(move || {
            let mut w = Watch::new(settings, sink, tx, status);
            // Every root is listed at once; its counts fill in as it is walked.
            for (path, origin) in &roots {
                w.roots.push(Root {
                    path: path.clone(),
                    origin: *origin,
                    error: None,
                });
            }
            w.publish();
            for (path, origin) in roots {
                w.add_root(path, origin);
                w.publish();
            }
            w.run(rx);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the file watcher: {e}");
    }
    handle
}

/// How long events are gathered before they are turned into heartbeats: a save is several
/// events, a checkout thousands.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// Events handled in one batch at most, so heartbeats of a long burst keep flowing.
const MAX_BATCH_EVENTS: usize = 50_000;
/// More distinct files than this written in one repository within one batch is a tool at
/// work (checkout, formatter, build), not a person: one heartbeat stands for the rest.
const BURST_FILES: usize = 10;
/// A file found in a directory that just appeared counts as a save when it was modified at
/// most this long before the batch that saw the directory began (`mkdir -p a/b && echo x >
/// a/b/f` writes `f` before a watch on `a/b` can exist); older files were moved or copied in
/// with their times (`mv`, `cp -a`, `tar x`) and are not saves.
const FRESH_BEFORE_MS: i64 = 10_000;
/// Files looked at in the directories that appeared in one event, at most: a copied tree is
/// watched whole, but only its first files are read for saves.
const SCAN_FILES: usize = 1_000;
/// git holds `index.lock` while it writes the work tree (clone, checkout, merge, reset,
/// stash, rebase): writes meanwhile are git's, not saves. A lock older than this is taken for
/// one left behind by a crashed git (or a `git commit -a` waiting on its editor), and saves
/// count again.
const INDEX_LOCK_MAX_MS: i64 = 10 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Inotify(kernel::Descriptor),
    Poll,
}

struct Root {
    path: PathBuf,
    origin: Origin,
    error: Option<String>,
}

/// A repository (or linked worktree) found under a root.
struct Repo {
    git_dir: PathBuf,
    project: Option<String>,
    branch: Option<String>,
    /// How far `logs/HEAD` has been read, and the branch it had reached there.
    reflog_offset: u64,
    reflog_branch: Option<String>,
    /// Since when (ms) git holds `index.lock`: it is writing the work tree.
    index_lock: Option<i64>,
    /// New directories that appeared while git held the lock, to look at when it lets go.
    pending_scan: Vec<PathBuf>,
    /// When the watcher found it (ms). A file last modified before then is no save, whatever
    /// event comes for it: a clone's checkout may finish (and release its lock) between the
    /// writes and the moment the repository is found, with their events still queued.
    found_ms: i64,
}

impl Repo {
    fn git_writing(&self, now: i64) -> bool {
        self.index_lock
            .is_some_and(|since| now - since < INDEX_LOCK_MAX_MS)
    }
}

struct Watch {
    settings: Settings,
    sink: Sink,
    /// For the watchers' event handlers.
    tx: mpsc::Sender<Msg>,
    /// Adds and removes inotify watches (None when inotify is unavailable: everything polled).
    inotify: Option<kernel::Handle>,
    /// Watch descriptor → the directory it watches.
    by_wd: HashMap<kernel::Descriptor, PathBuf>,
    poller: Option<notify::PollWatcher>,
    roots: Vec<Root>,
    dirs: HashMap<PathBuf, Mode>,
    inotify_count: usize,
    /// Work-tree root → repository.
    repos: HashMap<PathBuf, Repo>,
    /// Git directory → work-tree root, to route HEAD changes.
    git_dirs: HashMap<PathBuf, PathBuf>,
    /// `<git dir>/logs` → work-tree root, to route reflog changes.
    reflogs: HashMap<PathBuf, PathBuf>,
    ignores: IgnoreCache,
    /// File → when it last made a heartbeat (ms), for the debounce.
    recent: HashMap<PathBuf, i64>,
    last_prune: Instant,
    limit: Option<String>,
    /// Shared with [`WatchHandle::status`].
    status: Arc<Mutex<WatchStatus>>,
}

impl Watch {
    fn new(
        settings: Settings,
        sink: Sink,
        tx: mpsc::Sender<Msg>,
        status: Arc<Mutex<WatchStatus>>,
    ) -> Watch {
        let inotify = kernel::start(tx.clone())
            .map_err(|e| tracing::warn!("inotify unavailable, polling instead: {e}"))
            .ok();
        Watch {
            settings,
            sink,
            tx,
            inotify,
            by_wd: HashMap::new(),
            poller: None,
            roots: Vec::new(),
            dirs: HashMap::new(),
            inotify_count: 0,
            repos: HashMap::new(),
            git_dirs: HashMap::new(),
            reflogs: HashMap::new(),
            ignores: IgnoreCache::default(),
            recent: HashMap::new(),
            last_prune: Instant::now(),
            limit: None,
            status,
        }
    }

    fn run(&mut self, rx: mpsc::Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut batch = Batch {
                started_ms: now_ms(),
                ..Batch::default()
            };
            if !self.handle(first, &mut batch) {
                return;
            }
            if batch.events > 0 {
                // Let the rest of a burst arrive and take it at once: one wake-up per batch
                // instead of one per event (a checkout is thousands of events).
                std::thread::sleep(BATCH_WINDOW);
                while let Ok(msg) = rx.try_recv() {
                    if !self.handle(msg, &mut batch) {
                        return;
                    }
                    if batch.events >= MAX_BATCH_EVENTS {
                        break;
                    }
                }
            }
            self.flush(batch);
            self.publish();
        }
    }

    /// Makes the current roots and limit what [`WatchHandle::status`] answers.
    fn publish(&self) {
        let status = WatchStatus {
            roots: self
                .roots
                .iter()
                .map(|r| self.root_status(&r.path))
                .collect(),
            limit: self.limit.clone(),
        };
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
    }

    /// Handles one message; false on Stop.
    fn handle(&mut self, msg: Msg, batch: &mut Batch) -> bool {
        match msg {
            Msg::Kernel(events) => {
                for e in events {
                    self.on_kernel(e, batch);
                }
            }
            Msg::Fs(Ok(event)) => self.on_event(event, batch),
            Msg::Fs(Err(e)) => tracing::debug!("watch error: {e}"),
            Msg::AddRoot {
                path,
                origin,
                reply,
            } => {
                self.add_root(path.clone(), origin);
                self.publish();
                let _ = reply.send(self.root_status(&path));
            }
            Msg::RemoveRoot { path, reply } => {
                let removed = self.remove_root(&path);
                self.publish();
                let _ = reply.send(removed);
            }
            Msg::Stop => return false,
        }
        true
    }

    fn flush(&mut self, batch: Batch) {
        if !batch.heartbeats.is_empty() {
            (self.sink)(Output::Heartbeats(batch.heartbeats));
        }
        for event in batch.git {
            (self.sink)(Output::Git { event, live: true });
        }
        if self.last_prune.elapsed() > self.settings.debounce {
            let oldest = now_ms() - self.settings.debounce.as_millis() as i64;
            self.recent.retain(|_, t| *t > oldest);
            self.recent.shrink_to_fit();
            self.last_prune = Instant::now();
        }
    }

    fn add_root(&mut self, path: PathBuf, origin: Origin) {
        if let Some(r) = self.roots.iter_mut().find(|r| r.path == path) {
            // Re-adding re-walks: picks up what a failed first attempt missed.
            r.error = None;
        } else {
            self.roots.push(Root {
                path: path.clone(),
                origin,
                error: None,
            });
        }
        let started = Instant::now();
        let own = self.settings.skip.iter().find(|s| path.starts_with(s));
        let error = match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() && own.is_some() => Some(format!(
                "{} is inside TimeForged's own directory {}, whose files change on every write: \
                 it is not watched (watch your code directories instead)",
                path.display(),
                own.map(|d| d.display().to_string()).unwrap_or_default()
            )),
            Ok(m) if m.is_dir() => match std::fs::read_dir(&path) {
                Ok(_) => {
                    self.walk(&path);
                    None
                }
                Err(e) => Some(format!("cannot read {}: {e}", path.display())),
            },
            Ok(_) => Some(format!("{} is not a directory", path.display())),
            Err(e) => Some(format!("cannot watch {}: {e}", path.display())),
        };
        if let Some(e) = &error {
            tracing::warn!("{e}");
        } else {
            tracing::info!(
                root = %path.display(),
                dirs = self.dirs.len(),
                repositories = self.repos.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "watching"
            );
        }
        if let Some(r) = self.roots.iter_mut().find(|r| r.path == path) {
            r.error = error;
        }
    }

    fn remove_root(&mut self, path: &Path) -> bool {
        let Some(i) = self.roots.iter().position(|r| r.path == path) else {
            return false;
        };
        self.roots.remove(i);
        // Keep what another root still covers.
        let roots: Vec<PathBuf> = self.roots.iter().map(|r| r.path.clone()).collect();
        self.forget_under(path, |p| roots.iter().any(|r| p.starts_with(r)));
        true
    }

    /// Unwatches the directories and forgets the repositories under `top`, except those `keep`
    /// says to keep.
    fn forget_under(&mut self, top: &Path, keep: impl Fn(&Path) -> bool) {
        let under = |paths: &mut dyn Iterator<Item = &PathBuf>| -> Vec<PathBuf> {
            paths
                .filter(|d| d.starts_with(top) && !keep(d))
                .cloned()
                .collect()
        };
        for d in under(&mut self.dirs.keys()) {
            self.unwatch(&d);
        }
        for r in under(&mut self.repos.keys()) {
            self.forget_repo(&r);
        }
    }

    fn root_status(&self, path: &Path) -> WatchRoot {
        let root = self.roots.iter().find(|r| r.path == path);
        let (mut watched, mut polled) = (0, 0);
        for (d, mode) in &self.dirs {
            if d.starts_with(path) {
                match mode {
                    Mode::Inotify(_) => watched += 1,
                    Mode::Poll => polled += 1,
                }
            }
        }
        WatchRoot {
            path: path.display().to_string(),
            origin: root.map_or("config", |r| r.origin.as_str()).to_string(),
            watched_dirs: watched,
            polled_dirs: polled,
            repositories: self.repos.keys().filter(|r| r.starts_with(path)).count(),
            error: root.and_then(|r| r.error.clone()),
        }
    }

    /// Watches one directory: inotify while the limit allows, else polling.
    fn watch(&mut self, dir: &Path) {
        if self.dirs.contains_key(dir) {
            return;
        }
        let under_cap =
            self.settings.max_watches == 0 || self.inotify_count < self.settings.max_watches;
        if self.limit.is_none()
            && under_cap
            && let Some(w) = self.inotify.as_mut()
        {
            match kernel::add(w, dir) {
                Ok(wd) => {
                    self.inotify_count += 1;
                    self.by_wd.insert(wd.clone(), dir.to_path_buf());
                    self.dirs.insert(dir.to_path_buf(), Mode::Inotify(wd));
                    return;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => self.limit_reached(),
                Err(e) => {
                    // Gone or unreadable meanwhile: nothing to watch.
                    tracing::debug!(dir = %dir.display(), "cannot watch: {e}");
                    return;
                }
            }
        } else if self.limit.is_none() && !under_cap {
            self.limit_reached();
        }
        if self.poller.is_none() {
            let events = self.tx.clone();
            let config = notify::Config::default().with_poll_interval(self.settings.poll_interval);
            match notify::PollWatcher::new(
                move |e| {
                    let _ = events.send(Msg::Fs(e));
                },
                config,
            ) {
                Ok(p) => self.poller = Some(p),
                Err(e) => {
                    tracing::warn!("cannot poll {}: {e}", dir.display());
                    return;
                }
            }
        }
        if let Some(p) = self.poller.as_mut()
            && p.watch(dir, RecursiveMode::NonRecursive).is_ok()
        {
            self.dirs.insert(dir.to_path_buf(), Mode::Poll);
        }
    }

    fn limit_reached(&mut self) {
        let msg = format!(
            "inotify watch limit reached after {} watches: the other directories are polled every {} s \
             (slower to notice, more CPU). Raise the limit: `sudo sysctl fs.inotify.max_user_watches=524288` \
             (and add `fs.inotify.max_user_watches=524288` to /etc/sysctl.d/90-timeforged.conf), then \
             `tf daemon stop`; or narrow [watch] roots / add [watch] exclude names",
            self.inotify_count,
            self.settings.poll_interval.as_secs()
        );
        tracing::warn!("{msg}");
        self.limit = Some(msg);
    }

    fn unwatch(&mut self, dir: &Path) {
        match self.dirs.remove(dir) {
            Some(Mode::Inotify(wd)) => {
                self.inotify_count -= 1;
                self.by_wd.remove(&wd);
                if let Some(w) = self.inotify.as_mut() {
                    kernel::remove(w, wd);
                }
            }
            Some(Mode::Poll) => {
                if let Some(p) = self.poller.as_mut() {
                    let _ = p.unwatch(dir);
                }
            }
            None => {}
        }
    }

    /// Forgets a directory tree that was deleted or moved away.
    fn drop_tree(&mut self, gone: &Path) {
        self.forget_under(gone, |_| false);
        self.recent.retain(|p, _| !p.starts_with(gone));
        self.ignores.forget_tree(gone);
    }

    fn forget_repo(&mut self, root: &Path) {
        if let Some(repo) = self.repos.remove(root) {
            self.git_dirs.remove(&repo.git_dir);
            self.unwatch(&repo.git_dir);
            let logs = repo.git_dir.join("logs");
            self.reflogs.remove(&logs);
            self.unwatch(&logs);
        }
    }

    /// Registers the repository whose work tree is `root`: watches its git directory (for
    /// HEAD) and reports the branch it is on.
    fn add_repo(&mut self, root: &Path) {
        if self.repos.contains_key(root) {
            return;
        }
        let head = crate::project::head(root);
        let git_dir = head
            .git_dir
            .clone()
            .or_else(|| tree::git_dir_of(root))
            .unwrap_or_else(|| root.join(".git"));
        let git_dir = crate::project::clean_path(&git_dir);
        let project = crate::project::detect(root).project;
        self.watch(&git_dir);
        self.git_dirs.insert(git_dir.clone(), root.to_path_buf());
        let index_lock = lock_taken(&git_dir);
        self.repos.insert(
            root.to_path_buf(),
            Repo {
                git_dir,
                project: project.clone(),
                branch: head.branch.clone(),
                reflog_offset: 0,
                reflog_branch: None,
                // Already held when the repository appears mid-clone: its release is seen,
                // since the git directory is watched from here on.
                index_lock,
                pending_scan: Vec::new(),
                found_ms: file_clock_ms(),
            },
        );
        self.follow_reflog(root, false);
        if head.branch.is_some() {
            (self.sink)(Output::Git {
                event: GitEvent::checkout(root, head, now_ms() as f64 / 1000.0),
                live: false,
            });
        }
    }

    fn on_event(&mut self, event: notify::Event, batch: &mut Batch) {
        batch.events += 1;
        match event.kind {
            EventKind::Create(CreateKind::Folder) => {
                for p in event.paths {
                    self.new_dir(&p, batch);
                }
            }
            EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Any)) => {
                for p in event.paths {
                    self.created_or_moved_in(&p, batch);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice() {
                    self.removed(from, batch);
                    self.created_or_moved_in(to, batch);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                for p in &event.paths {
                    self.removed(p, batch);
                }
            }
            EventKind::Modify(
                ModifyKind::Data(_)
                | ModifyKind::Any
                | ModifyKind::Other
                | ModifyKind::Metadata(MetadataKind::WriteTime),
            )
            | EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                for p in event.paths {
                    self.written(&p, batch);
                }
            }
            _ => {}
        }
    }

    fn created_or_moved_in(&mut self, p: &Path, batch: &mut Batch) {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => self.new_dir(p, batch),
            Ok(_) => self.written(p, batch),
            Err(_) => {} // already gone: a temporary file
        }
    }

    fn removed(&mut self, p: &Path, batch: &mut Batch) {
        if self.dirs.contains_key(p) || self.repos.contains_key(p) {
            self.drop_tree(p);
        }
        if let Some(root) = self.git_dirs.get(p.parent().unwrap_or(p)) {
            // `index.lock` renamed to `index` (or removed on failure): git is done.
            if p.file_name().is_some_and(|n| n == "index.lock")
                && let Some(repo) = self.repos.get_mut(root)
            {
                repo.index_lock = None;
                let pending = std::mem::take(&mut repo.pending_scan);
                // git writes the index after the work tree: what is newer came after git.
                let after = std::fs::metadata(repo.git_dir.join("index"))
                    .ok()
                    .and_then(|m| modified_ms(&m))
                    .map_or(batch.started_ms, |t| t + 1);
                self.scan_dirs(&pending, after, batch);
            }
            return;
        }
        self.recent.remove(p);
    }

    /// A directory appeared (created, moved in, or a repository cloned): watch it unless
    /// ignored. Its files are not counted: they were made before we could see them typed.
    fn new_dir(&mut self, p: &Path, batch: &mut Batch) {
        let Some(parent) = p.parent() else { return };
        if p.file_name().is_some_and(|n| n == ".git") {
            // `git init` in a watched directory. Its first commits may be made before this
            // event is taken: the whole reflog is new, so it is read from its start.
            if self.dirs.contains_key(parent) && !self.repos.contains_key(parent) {
                self.add_repo(parent);
                self.follow_reflog(parent, true);
                self.reflog_changed(parent, batch);
            }
            return;
        }
        if let Some(root) = self.git_dirs.get(parent)
            && p.file_name().is_some_and(|n| n == "logs")
        {
            // The first commit creates the reflog (and may have written it already).
            let root = root.clone();
            self.follow_reflog(&root, true);
            self.reflog_changed(&root, batch);
            return;
        }
        if !self.dirs.contains_key(parent) || self.in_git_dir(p) {
            return;
        }
        if let Some(repo) = self.repo_of(p)
            && !p.join(".git").exists()
        {
            let (root, git_dir) = (repo.0.clone(), repo.1.git_dir.clone());
            if self.ignores.is_ignored(&root, &git_dir, p, true) {
                return;
            }
        }
        if !self.skip_dir(p, self.repo_of(p).is_some()) {
            let added = self.walk(p);
            self.scan_new(p, &added, batch);
        }
        batch.events += 1;
    }

    /// Files already in directories that just appeared: written before a watch could see them
    /// (`mkdir -p a/b && echo x > a/b/f`), they are saves if they are fresh (see
    /// [`FRESH_BEFORE_MS`]). Not in a repository that arrived with the directory (a clone, a
    /// repository moved or unpacked in: its files are not saves), nor while git writes the work
    /// tree ([`Self::written`] checks the lock).
    fn scan_new(&mut self, top: &Path, added: &[PathBuf], batch: &mut Batch) {
        let now = now_ms();
        let mut scan = Vec::new();
        for dir in added {
            let Some(root) = self.repo_of(&dir.join("_")).map(|(root, _)| root.clone()) else {
                continue; // outside repositories nothing is a save
            };
            if root.starts_with(top) {
                continue; // arrived with the directory
            }
            match self.repos.get_mut(&root) {
                // The lock seen is as of the events handled so far; git may have finished
                // since, and the user written in the new directory: it is looked at once
                // git's release of the lock comes up (see `removed`).
                Some(repo) if repo.git_writing(now) => {
                    if repo.pending_scan.len() < SCAN_FILES {
                        repo.pending_scan.push(dir.clone());
                    }
                }
                _ => scan.push(dir.clone()),
            }
        }
        self.scan_dirs(&scan, batch.started_ms - FRESH_BEFORE_MS, batch);
    }

    /// The files in `dirs` modified at `since` (ms) or later, as writes.
    fn scan_dirs(&mut self, dirs: &[PathBuf], since: i64, batch: &mut Batch) {
        let mut budget = SCAN_FILES;
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                if budget == 0 {
                    return;
                }
                budget -= 1;
                let modified = entry.metadata().ok().and_then(|m| modified_ms(&m));
                if modified.is_some_and(|m| m >= since) {
                    self.written(&entry.path(), batch);
                }
            }
        }
    }

    fn written(&mut self, p: &Path, batch: &mut Batch) {
        let Some(name) = p.file_name() else { return };
        let parent = p.parent().unwrap_or(p);
        if let Some(root) = self.git_dirs.get(parent) {
            if name == "HEAD" {
                let root = root.clone();
                self.head_changed(&root, batch);
            } else if name == "index.lock"
                && let Some(repo) = self.repos.get_mut(root)
            {
                // Created (then written): git is about to write the work tree.
                repo.index_lock.get_or_insert_with(now_ms);
            }
            return;
        }
        if let Some(root) = self.reflogs.get(parent) {
            if name == "HEAD" {
                let root = root.clone();
                self.reflog_changed(&root, batch);
            }
            return;
        }
        if self.in_git_dir(p) || rules::is_temporary_file(name) {
            return;
        }
        if name == ".gitignore" {
            self.ignores.forget(parent);
        }
        let now = now_ms();
        let debounce = self.settings.debounce.as_millis() as i64;
        if self.recent.get(p).is_some_and(|t| now - t < debounce) {
            return;
        }
        let Some((root, repo)) = self.repo_of(p) else {
            return;
        };
        if repo.git_writing(now) {
            return;
        }
        let found_ms = repo.found_ms;
        let (root, git_dir) = (root.clone(), repo.git_dir.clone());
        let (project, branch) = (repo.project.clone(), repo.branch.clone());
        // Checked after the debounce so a burst to one file costs one lookup.
        if self.ignores.is_ignored(&root, &git_dir, p, false) {
            self.recent.insert(p.to_path_buf(), now);
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return;
        };
        if !meta.is_file() {
            return;
        }
        // Written before the repository was found: the events of a clone (or of files copied
        // in with their times) that were queued while it was being found.
        if modified_ms(&meta).is_some_and(|m| m < found_ms) {
            return;
        }
        self.recent.insert(p.to_path_buf(), now);
        let count = batch.per_repo.entry(root).or_default();
        *count += 1;
        if *count > BURST_FILES {
            return;
        }
        let mut h = Heartbeat::new(now as f64 / 1000.0, p.to_string_lossy().into_owned());
        h.category = Category::CODING;
        h.is_write = true;
        h.project = project;
        h.branch = branch;
        h.language = crate::project::language_for_path(p).map(str::to_string);
        h.machine = self.settings.machine.clone();
        h.source = Some(Source::Fs);
        batch.heartbeats.push(h);
    }

    fn head_changed(&mut self, root: &Path, batch: &mut Batch) {
        let head = crate::project::head(root);
        let Some(repo) = self.repos.get_mut(root) else {
            return;
        };
        // A corrupt or half-written HEAD says nothing about the branch.
        if head.branch.is_none() || head.branch == repo.branch {
            return;
        }
        tracing::debug!(repo = %root.display(), from = ?repo.branch, to = ?head.branch, "branch switch");
        repo.branch = head.branch.clone();
        // The first write on the new branch must count, however recent the last one was.
        self.recent.retain(|p, _| !p.starts_with(root));
        batch
            .git
            .push(GitEvent::checkout(root, head, now_ms() as f64 / 1000.0));
    }

    /// The innermost known repository containing `p`.
    fn repo_of(&self, p: &Path) -> Option<(&PathBuf, &Repo)> {
        p.ancestors()
            .skip(1)
            .find_map(|a| self.repos.get_key_value(a))
    }

    fn in_git_dir(&self, p: &Path) -> bool {
        p.components().any(|c| c.as_os_str() == ".git")
    }

    /// Whether a directory found while walking is skipped. Hidden directories count only
    /// inside repositories (`.github/`), not in a home directory (`.cache/`, `.local/`).
    fn skip_dir(&self, p: &Path, in_repo: bool) -> bool {
        let Some(name) = p.file_name() else {
            return true;
        };
        rules::ignored_dir_name(name, &self.settings.exclude)
            || (!in_repo && name.as_encoded_bytes().first() == Some(&b'.'))
            || self.settings.skip.iter().any(|s| p.starts_with(s))
    }
}

/// What one batch of events produced.
#[derive(Default)]
struct Batch {
    /// When its first event was taken (ms).
    started_ms: i64,
    events: usize,
    heartbeats: Vec<Heartbeat>,
    git: Vec<GitEvent>,
    /// Heartbeat-worthy files per repository in this batch, for the burst rule.
    per_repo: HashMap<PathBuf, usize>,
}

/// When git took the index lock of `git_dir`, if it holds it (the lock file's time).
fn lock_taken(git_dir: &Path) -> Option<i64> {
    let meta = std::fs::symlink_metadata(git_dir.join("index.lock")).ok()?;
    Some(modified_ms(&meta).unwrap_or_else(now_ms))
}

/// Now, by the clock that stamps files. Linux stamps them with the coarse clock, which lags
/// the precise one by up to a tick (1–10 ms): a file written just after a precise "now" may
/// look older than it.
fn file_clock_ms() -> i64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime only writes the struct passed in.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
            return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000;
        }
    }
    now_ms()
}

/// A file's modification time in unix milliseconds.
fn modified_ms(meta: &std::fs::Metadata) -> Option<i64> {
    let since_epoch = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    i64::try_from(since_epoch.as_millis()).ok()
}

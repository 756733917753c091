//! The kernel watcher where there is no inotify to use directly (macOS, the BSDs), and on
//! Linux with the `portable-watch` feature so that this path is built and tested there too:
//! notify's native backend (`RecommendedWatcher`: FSEvents on macOS, kqueue on the BSDs,
//! inotify on Linux), one non-recursive watch per directory as `kernel.rs` keeps them, its
//! events mapped onto the same handlers. notify names watches by path, so the path is the
//! descriptor; each event is handed over as it comes (notify's callbacks are one event each).

use super::{Batch, Msg, Watch};
use notify::event::{AccessKind, AccessMode, CreateKind, MetadataKind, ModifyKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

/// What identifies a watch: the directory it watches.
pub(super) type Descriptor = PathBuf;

/// The handle that adds and removes watches.
pub(super) type Handle = RecommendedWatcher;

/// One event from notify's backend, or the error it reported.
pub(super) type KernelEvent = notify::Result<notify::Event>;

/// Starts notify's native backend; its events come to the watcher's thread as [`Msg::Kernel`].
pub(super) fn start(tx: Sender<Msg>) -> std::io::Result<Handle> {
    RecommendedWatcher::new(
        move |e: KernelEvent| {
            // A send fails only once the watcher stopped.
            let _ = tx.send(Msg::Kernel(vec![e]));
        },
        notify::Config::default(),
    )
    .map_err(io_error)
}

/// Watches one directory (not what is below it: each directory gets its own watch).
pub(super) fn add(handle: &mut Handle, dir: &Path) -> std::io::Result<Descriptor> {
    handle
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(io_error)?;
    Ok(dir.to_path_buf())
}

/// Removes a watch (the watch of a deleted directory may be gone already: nothing to do).
pub(super) fn remove(handle: &mut Handle, wd: Descriptor) {
    let _ = handle.unwatch(&wd);
}

/// notify's error as the `io::Error` the watcher expects. Running out of watches reads as
/// `ENOSPC`, inotify's "limit reached", so that the remaining directories are polled: notify
/// says `MaxFilesWatch` for inotify's limit, and kqueue, which holds a file descriptor per
/// watch, fails with `EMFILE`/`ENFILE`.
fn io_error(e: notify::Error) -> std::io::Error {
    match e.kind {
        notify::ErrorKind::MaxFilesWatch => std::io::Error::from_raw_os_error(libc::ENOSPC),
        notify::ErrorKind::Io(io)
            if matches!(io.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) =>
        {
            std::io::Error::from_raw_os_error(libc::ENOSPC)
        }
        notify::ErrorKind::Io(io) => io,
        kind => std::io::Error::other(notify::Error::new(kind).set_paths(e.paths)),
    }
}

impl Watch {
    pub(super) fn on_kernel(&mut self, e: KernelEvent, batch: &mut Batch) {
        batch.events += 1;
        let event = match e {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!("the file watcher reported an error: {e}");
                return;
            }
        };
        if event.need_rescan() {
            tracing::warn!(
                "the kernel dropped file events (its queue overflowed): some saves were not seen"
            );
            return;
        }
        match event.kind {
            EventKind::Create(CreateKind::Folder) => {
                for p in &event.paths {
                    self.new_dir(p, batch);
                }
            }
            // Not looked at on disk: git's `index.lock` is often renamed away before its
            // creation is taken, and must still count, as in `kernel.rs`.
            EventKind::Create(CreateKind::File) => {
                for p in &event.paths {
                    self.written(p, batch);
                }
            }
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                for p in &event.paths {
                    self.created(p, batch);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice() {
                    self.gone(from, batch);
                    self.created(to, batch);
                }
            }
            // FSEvents and kqueue say "renamed" without a side: what is there now moved in.
            EventKind::Modify(ModifyKind::Name(RenameMode::Any | RenameMode::Other)) => {
                for p in &event.paths {
                    if std::fs::symlink_metadata(p).is_ok() {
                        self.created(p, batch);
                    } else {
                        self.gone(p, batch);
                    }
                }
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                for p in &event.paths {
                    self.gone(p, batch);
                }
            }
            EventKind::Modify(
                ModifyKind::Data(_)
                | ModifyKind::Any
                | ModifyKind::Metadata(MetadataKind::WriteTime),
            )
            | EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                for p in &event.paths {
                    // kqueue reports a watched directory's own changes as writes to it.
                    if !self.dirs.contains_key(p) {
                        self.written(p, batch);
                    }
                }
            }
            // Opens, reads, attribute changes: no save.
            _ => {}
        }
    }

    /// A path created or moved in whose kind the event does not say: a directory is watched,
    /// anything else (also what is gone already, such as a lock file) is taken as written.
    fn created(&mut self, p: &Path, batch: &mut Batch) {
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()) {
            self.new_dir(p, batch);
        } else {
            self.written(p, batch);
        }
    }

    /// A path removed or moved away. A watched directory itself going away (the event of its
    /// own watch, or of its parent's) drops its tree, as `DELETE_SELF`/`MOVE_SELF` do in
    /// `kernel.rs`; a move within the tree is picked up again at its new place.
    fn gone(&mut self, p: &Path, batch: &mut Batch) {
        if self.by_wd.remove(p).is_some() {
            self.drop_tree(p);
        }
        self.removed(p, batch);
    }
}

//! inotify, used directly: watches only for what makes a heartbeat or changes the tree (a file
//! closed after writing, created, moved or deleted; never opens or reads, which `notify`'s
//! backend also asks for, so a build or a `grep` over the tree would cost the daemon CPU), and
//! the events of one `read` are handed over together instead of one message per event.

use super::{Batch, Msg, Watch};
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use std::ffi::{OsStr, OsString};
use std::sync::mpsc::Sender;

/// What each watched directory reports. `ONLYDIR` and `DONT_FOLLOW`: a path that turned into
/// a file or a symlink meanwhile is not watched; `EXCL_UNLINK`: nothing from deleted files.
pub(super) fn mask() -> WatchMask {
    WatchMask::CLOSE_WRITE
        | WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
        | WatchMask::ONLYDIR
        | WatchMask::DONT_FOLLOW
        | WatchMask::EXCL_UNLINK
}

/// What identifies a watch, and the handle that adds and removes them.
pub(super) type Descriptor = WatchDescriptor;
pub(super) type Handle = Watches;

/// Watches one directory for what [`mask`] names.
pub(super) fn add(handle: &mut Handle, dir: &std::path::Path) -> std::io::Result<Descriptor> {
    handle.add(dir, mask())
}

/// Removes a watch (the kernel drops the watch of a deleted directory itself).
pub(super) fn remove(handle: &mut Handle, wd: Descriptor) {
    let _ = handle.remove(wd);
}

/// One inotify event, owned.
#[derive(Debug)]
pub(super) struct KernelEvent {
    wd: WatchDescriptor,
    mask: EventMask,
    name: Option<OsString>,
}

/// Opens an inotify instance and starts the thread that reads it; returns the handle that adds
/// and removes watches.
pub(super) fn start(tx: Sender<Msg>) -> std::io::Result<Handle> {
    let mut inotify = Inotify::init()?;
    let watches = inotify.watches();
    std::thread::Builder::new()
        .name("timeforged-inotify".into())
        .spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let events = match inotify.read_events_blocking(&mut buffer) {
                    Ok(events) => events,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::warn!("reading inotify events: {e}");
                        return;
                    }
                };
                let batch: Vec<KernelEvent> = events
                    .map(|e| KernelEvent {
                        wd: e.wd,
                        mask: e.mask,
                        name: e.name.map(OsStr::to_os_string),
                    })
                    .collect();
                if tx.send(Msg::Kernel(batch)).is_err() {
                    return; // the watcher stopped
                }
            }
        })?;
    Ok(watches)
}

impl Watch {
    pub(super) fn on_kernel(&mut self, e: KernelEvent, batch: &mut Batch) {
        batch.events += 1;
        if e.mask.contains(EventMask::Q_OVERFLOW) {
            tracing::warn!(
                "the kernel dropped file events (its queue overflowed): some saves were not seen"
            );
            return;
        }
        let Some(dir) = self.by_wd.get(&e.wd).cloned() else {
            return; // a watch already removed
        };
        if e.mask
            .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED)
        {
            // The directory itself went away, or moved (its path is stale): forget it; a move
            // within the tree is picked up again at its new place.
            self.by_wd.remove(&e.wd);
            self.drop_tree(&dir);
            return;
        }
        let Some(name) = e.name else { return };
        let path = dir.join(name);
        let is_dir = e.mask.contains(EventMask::ISDIR);
        if e.mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) {
            if is_dir {
                self.new_dir(&path, batch);
            } else {
                self.written(&path, batch);
            }
        } else if e.mask.contains(EventMask::CLOSE_WRITE) {
            self.written(&path, batch);
        } else if e.mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM) {
            self.removed(&path, batch);
        }
    }
}

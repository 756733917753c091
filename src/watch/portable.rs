//! The kernel watcher where there is no inotify (macOS, the BSDs): none yet. `start` says so,
//! the watcher then polls every directory with notify's `PollWatcher`, and the types below
//! cannot even be made. notify's native backends (FSEvents, kqueue) would plug in here.

use super::{Batch, Msg, Watch};
use std::path::Path;
use std::sync::mpsc::Sender;

/// A watch: none can exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Descriptor {}

/// The handle that adds and removes watches: never made, since `start` fails.
pub(super) enum Handle {}

/// A kernel event: none comes.
#[derive(Debug)]
pub(super) enum KernelEvent {}

pub(super) fn start(_tx: Sender<Msg>) -> std::io::Result<Handle> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no kernel file watcher on this system (inotify is Linux's)",
    ))
}

pub(super) fn add(handle: &mut Handle, _dir: &Path) -> std::io::Result<Descriptor> {
    match *handle {}
}

pub(super) fn remove(handle: &mut Handle, _wd: Descriptor) {
    match *handle {}
}

impl Watch {
    pub(super) fn on_kernel(&mut self, e: KernelEvent, _batch: &mut Batch) {
        match e {}
    }
}

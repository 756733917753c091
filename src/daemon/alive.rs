//! The daemon's last sign of life: the modification time of a small file next to its lock,
//! touched every minute while it runs and when it stops. At the next start the time since then
//! is how long nothing watched the files (file saves then were not recorded): `tf status`
//! shows it when it was a while.

use crate::paths::Paths;
use crate::protocol::Downtime;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How often the file is touched: the downtime is known to within this.
const EVERY: Duration = Duration::from_secs(60);
/// Shorter gaps (a restart, an upgrade) are not worth a line in `tf status`.
pub(crate) const REPORT_AFTER: Duration = Duration::from_secs(5 * 60);

pub(crate) struct Alive {
    path: PathBuf,
}

impl Alive {
    pub fn new(paths: &Paths) -> Alive {
        Alive {
            path: alive_file(paths),
        }
    }

    /// How long since the previous run's last sign of life, when over [`REPORT_AFTER`]. None on
    /// the first start (no file).
    pub fn downtime(&self) -> Option<Downtime> {
        let last = std::fs::metadata(&self.path).ok()?.modified().ok()?;
        let now = SystemTime::now();
        let gap = now.duration_since(last).ok()?;
        let seconds = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        };
        if gap < REPORT_AFTER {
            return None;
        }
        tracing::warn!(
            "the daemon was not running for {}s before this start: file saves in that time were \
             not recorded (`tf daemon install` starts it at login and after a crash)",
            gap.as_secs()
        );
        Some(Downtime {
            from: seconds(last),
            to: seconds(now),
        })
    }

    /// Marks now as a moment the daemon was running. A metadata write: cheap, and it never
    /// touches the database.
    pub fn touch(&self) {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path);
        if let Err(e) = file.and_then(|f| f.set_modified(SystemTime::now())) {
            tracing::debug!("cannot touch {}: {e}", self.path.display());
        }
    }

    /// Touches the file now and every [`EVERY`] until the daemon stops.
    pub async fn keep(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        loop {
            self.touch();
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stopping.changed() => return,
            }
        }
    }
}

/// `timeforged.alive` next to the lock (so next to the database, one per daemon).
pub(crate) fn alive_file(paths: &Paths) -> PathBuf {
    paths.lock.with_extension("alive")
}

//! Checks made before the daemon opens its files, so that a start that cannot work says why and
//! what to do (a read-only file system, a database path that is a directory, a file without
//! write permission or of another owner) instead of SQLite's "unable to open database file".
//! Once the lock is taken it also repairs `-wal`/`-shm` files left read-only by an earlier start.

use crate::paths::Paths;
use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file or directory the daemon cannot use, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct StartupError {
    pub path: PathBuf,
    pub reason: String,
}

fn problem(path: &Path, reason: String) -> StartupError {
    StartupError {
        path: path.to_path_buf(),
        reason,
    }
}

/// Everything that can be checked without the lock: the directories the daemon writes to are
/// not on a read-only file system, and the database can be opened for writing. Changes nothing.
pub fn check(paths: &Paths) -> Result<(), StartupError> {
    for (what, file) in [
        ("database", &paths.database),
        ("lock file", &paths.lock),
        ("log", &paths.log),
        ("socket", &paths.socket),
        ("shell spool", &paths.spool),
        ("API key", &paths.api_key),
    ] {
        check_file_system(what, file)?;
    }
    check_database(&paths.database)
}

/// Run by the daemon once it holds the lock, just before SQLite opens the database: the checks
/// of [`check`] for the database, then side files the daemon owns but cannot write are made
/// writable again. (SQLite gives `-wal` and `-shm` the database's mode when it creates them, so
/// a start on a 0400 database used to leave them 0400, and `chmod 600` on the database alone
/// did not make the next start work.)
pub(crate) fn prepare_database(paths: &Paths) -> Result<(), super::DaemonError> {
    let database = &paths.database;
    let to_daemon_error = |e: StartupError| super::DaemonError::Io {
        what: "cannot use",
        path: e.path,
        source: io::Error::other(e.reason),
    };
    check_file_system("database", database).map_err(to_daemon_error)?;
    check_database(database).map_err(to_daemon_error)?;
    for side in side_files(database) {
        let Ok(meta) = std::fs::metadata(&side) else {
            continue;
        };
        let mode = meta.mode() & 0o7777;
        if meta.uid() != effective_uid() || mode & 0o600 == 0o600 {
            continue;
        }
        std::fs::set_permissions(&side, std::fs::Permissions::from_mode(mode | 0o600)).map_err(
            |source| super::DaemonError::Io {
                what: "cannot make writable",
                path: side.clone(),
                source,
            },
        )?;
        tracing::info!(
            file = %side.display(),
            "made the file writable again (mode {mode:04o} → {:04o}); an earlier start on a read-only database left it so",
            mode | 0o600
        );
    }
    Ok(())
}

/// SQLite's files beside the database in WAL mode.
fn side_files(database: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut name = OsString::from(database.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// A read-only file system under `file`'s directory (or the nearest ancestor that exists, when
/// the directory is yet to be created).
fn check_file_system(what: &str, file: &Path) -> Result<(), StartupError> {
    let Some(mut dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    while !dir.exists() {
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent,
            _ => return Ok(()),
        }
    }
    match access(dir, libc::W_OK) {
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => Err(problem(
            dir,
            format!(
                "is on a read-only file system, and the daemon must write its {what} there \
                 ({}); remount it read-write, or set TIMEFORGED_DIR (or storage.database, \
                 daemon.socket) to a writable place",
                file.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// The database is a regular file the daemon may write (or does not exist yet, in a directory
/// it may write), and its side files are not someone else's.
fn check_database(database: &Path) -> Result<(), StartupError> {
    match std::fs::metadata(database) {
        Ok(meta) if meta.is_dir() => {
            return Err(problem(
                database,
                "is a directory, not a database file; remove or rename it, or set \
                 storage.database to the path of a file"
                    .into(),
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(problem(
                database,
                "is not a regular file (a socket, pipe or device?); remove or rename it, or \
                 set storage.database to the path of a file"
                    .into(),
            ));
        }
        Ok(meta) => writable("the database", database, &meta)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(problem(database, format!("cannot be inspected: {e}")));
        }
    }
    if let Some(dir) = database.parent().filter(|d| d.is_dir()) {
        let meta = std::fs::metadata(dir).map_err(|e| problem(dir, e.to_string()))?;
        writable("the database's directory", dir, &meta)?;
    }
    for side in side_files(database) {
        if let Ok(meta) = std::fs::metadata(&side) {
            // A side file of ours that is merely read-only is repaired under the lock.
            if meta.uid() == effective_uid() {
                if let Err(e) = access(&side, libc::W_OK)
                    && e.raw_os_error() == Some(libc::EPERM)
                {
                    return Err(immutable(&side));
                }
                continue;
            }
            writable("the database's side file", &side, &meta)?;
        }
    }
    Ok(())
}

/// Whether the daemon may write `path` (and, for a directory, create files in it).
fn writable(what: &str, path: &Path, meta: &std::fs::Metadata) -> Result<(), StartupError> {
    let mode = if meta.is_dir() {
        libc::W_OK | libc::X_OK
    } else {
        libc::R_OK | libc::W_OK
    };
    let Err(e) = access(path, mode) else {
        return Ok(());
    };
    let me = effective_uid();
    let shown = path.display();
    Err(match e.raw_os_error() {
        Some(libc::EROFS) => problem(
            path,
            "is read-only: it is on a read-only file system; remount it read-write, or set \
             storage.database (or TIMEFORGED_DIR) to a writable place"
                .into(),
        ),
        Some(libc::EPERM) => immutable(path),
        Some(libc::EACCES) if meta.uid() != me => problem(
            path,
            format!(
                "is read-only for you: {what} belongs to uid {}, not to you (uid {me}); give it \
                 back with `sudo chown -R {me} {}`",
                meta.uid(),
                if meta.is_dir() {
                    shown.to_string()
                } else {
                    format!("{shown}*")
                },
            ),
        ),
        Some(libc::EACCES) if meta.is_dir() => problem(
            path,
            format!(
                "is read-only (mode {:04o}); SQLite creates the database's -wal and -shm files \
                 beside it: make it writable with `chmod u+rwx {shown}`",
                meta.mode() & 0o7777
            ),
        ),
        Some(libc::EACCES) => problem(
            path,
            format!(
                "is read-only (mode {:04o}); make it writable with `chmod 600 {shown}`",
                meta.mode() & 0o7777
            ),
        ),
        _ => problem(path, format!("cannot be opened for writing: {e}")),
    })
}

fn immutable(path: &Path) -> StartupError {
    problem(
        path,
        format!(
            "is read-only: it is marked immutable; `sudo chattr -i {}` makes it writable",
            path.display()
        ),
    )
}

/// `faccessat` with the effective ids, as the daemon's own opens will be checked.
fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_in_place_of_the_database_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(dir.path());
        std::fs::create_dir(&paths.database).unwrap();
        let err = check(&paths).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        assert!(!err.contains("read-only"), "{err}");
        assert!(err.contains(&paths.database.display().to_string()), "{err}");
    }

    #[test]
    fn a_fresh_directory_passes() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(&dir.path().join("not-yet"));
        check(&paths).unwrap();
    }

    #[test]
    fn side_files_are_named_after_the_database() {
        let [wal, shm] = side_files(Path::new("/d/work.db"));
        assert_eq!(wal, Path::new("/d/work.db-wal"));
        assert_eq!(shm, Path::new("/d/work.db-shm"));
    }
}

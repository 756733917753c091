//! Where TimeForged keeps its files: config, database, lock, log, spool and the daemon's socket.
//! XDG directories by default, or everything in one directory when `TIMEFORGED_DIR` is set.

use std::ffi::OsStr;
use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const CONFIG_FILE: &str = "config.toml";
const DATABASE_FILE: &str = "timeforged.db";
const SOCKET_FILE: &str = "tf.sock";
const LOCK_FILE: &str = "timeforged.lock";
const LOG_FILE: &str = "timeforged.log";
const SPOOL_FILE: &str = "spool.jsonl";
const API_KEY_FILE: &str = "api_key";

/// Only the owner may enter the directories we create: the socket directory is the first line of
/// defence against other users, and the database and logs hold the user's activity.
const PRIVATE_DIR_MODE: u32 = 0o700;

/// The files TimeForged reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `config.toml`.
    pub config_file: PathBuf,
    /// The SQLite database, `timeforged.db`.
    pub database: PathBuf,
    /// The daemon's Unix socket, `tf.sock`.
    pub socket: PathBuf,
    /// Held by the running daemon; next to the database, so there is one daemon per database.
    pub lock: PathBuf,
    /// The daemon's log file, `timeforged.log`.
    pub log: PathBuf,
    /// `spool.jsonl`: events queued by the shell hooks while the daemon is down.
    pub spool: PathBuf,
    /// `api_key`: the local user's key for the HTTP API (0600), next to the database.
    pub api_key: PathBuf,
}

/// Why the paths could not be worked out or their directories not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error(
        "cannot find your home directory to place TimeForged's files: set HOME, \
         or set TIMEFORGED_DIR to keep everything in one directory"
    )]
    NoHomeDir,
    #[error("TIMEFORGED_DIR={}: cannot turn it into an absolute path: {source}", path.display())]
    BaseDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot inspect {}: {source}", path.display())]
    Inspect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot restrict {} to mode 0700: {source}", path.display())]
    Restrict {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The socket directory could be controlled by someone else; using it would let them
    /// impersonate the daemon.
    #[error(
        "socket directory {} {problem}; remove it, or point XDG_RUNTIME_DIR, TIMEFORGED_DIR or \
         [daemon] socket at a directory only you own",
        path.display()
    )]
    InsecureSocketDir { path: PathBuf, problem: String },
}

impl Paths {
    /// Resolves the paths from the process environment: `TIMEFORGED_DIR` when set (non-empty) puts
    /// everything directly in that directory. Otherwise the config file goes in the XDG config
    /// dir (`~/.config/timeforged`), database and lock in the data dir (`~/.local/share/timeforged`),
    /// log and spool in the state dir (`~/.local/state/timeforged`, or the data dir on systems
    /// without one), and the socket in `$XDG_RUNTIME_DIR/timeforged/`, else `/tmp/timeforged-$UID/`.
    ///
    /// Does not read the config file: apply its overrides with [`Paths::with_overrides`].
    pub fn from_env() -> Result<Paths, PathsError> {
        Self::resolve(
            std::env::var_os("TIMEFORGED_DIR").as_deref(),
            std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
            current_uid(),
        )
    }

    /// [`Paths::from_env`] with the environment passed in, so it can be tested without touching
    /// the process environment. The XDG config/data/state dirs still come from `directories`.
    pub fn resolve(
        timeforged_dir: Option<&OsStr>,
        xdg_runtime_dir: Option<&OsStr>,
        uid: u32,
    ) -> Result<Paths, PathsError> {
        if let Some(dir) = timeforged_dir.filter(|dir| !dir.is_empty()) {
            // Relative would make the socket depend on the working directory, and `tf` and an
            // autostarted daemon must agree on it wherever they run.
            let dir = std::path::absolute(dir).map_err(|source| PathsError::BaseDir {
                path: PathBuf::from(dir),
                source,
            })?;
            return Ok(Self::in_dir(&dir));
        }
        let dirs =
            directories::ProjectDirs::from("", "", "timeforged").ok_or(PathsError::NoHomeDir)?;
        Ok(Self::xdg_layout(
            dirs.config_dir(),
            dirs.data_dir(),
            dirs.state_dir(),
            xdg_runtime_dir,
            uid,
        ))
    }

    /// Everything directly in `dir` (what `TIMEFORGED_DIR` does).
    pub fn in_dir(dir: &Path) -> Paths {
        Paths {
            config_file: dir.join(CONFIG_FILE),
            database: dir.join(DATABASE_FILE),
            socket: dir.join(SOCKET_FILE),
            lock: dir.join(LOCK_FILE),
            log: dir.join(LOG_FILE),
            spool: dir.join(SPOOL_FILE),
            api_key: dir.join(API_KEY_FILE),
        }
    }

    fn xdg_layout(
        config_dir: &Path,
        data_dir: &Path,
        state_dir: Option<&Path>,
        xdg_runtime_dir: Option<&OsStr>,
        uid: u32,
    ) -> Paths {
        let state_dir = state_dir.unwrap_or(data_dir);
        // The XDG spec says to ignore a relative XDG_RUNTIME_DIR.
        let socket_dir = match xdg_runtime_dir.map(Path::new) {
            Some(runtime) if runtime.is_absolute() => runtime.join("timeforged"),
            _ => PathBuf::from(format!("/tmp/timeforged-{uid}")),
        };
        Paths {
            config_file: config_dir.join(CONFIG_FILE),
            database: data_dir.join(DATABASE_FILE),
            socket: socket_dir.join(SOCKET_FILE),
            lock: data_dir.join(LOCK_FILE),
            log: state_dir.join(LOG_FILE),
            spool: state_dir.join(SPOOL_FILE),
            api_key: data_dir.join(API_KEY_FILE),
        }
    }

    /// Applies the config's `[daemon] socket` and `[storage] database` when set. A leading `~/` is
    /// expanded with `$HOME`. The lock follows the database (`work.db` → `work.lock`), so two
    /// databases can each have their daemon.
    pub fn with_overrides(self, socket: Option<&Path>, database: Option<&Path>) -> Paths {
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()));
        self.with_overrides_in_home(socket, database, home.as_deref())
    }

    fn with_overrides_in_home(
        mut self,
        socket: Option<&Path>,
        database: Option<&Path>,
        home: Option<&Path>,
    ) -> Paths {
        let is_set = |path: &&Path| !path.as_os_str().is_empty();
        if let Some(socket) = socket.filter(is_set) {
            self.socket = expand_home(socket, home);
        }
        if let Some(database) = database.filter(is_set) {
            self.database = expand_home(database, home);
            self.lock = lock_for(&self.database);
        }
        self
    }

    /// Creates the directories the daemon writes to. The socket directory must be private: it is
    /// created with mode 0700, an existing one of ours with group/other bits is restricted to
    /// 0700, and one owned by another user is refused. The data and state directories are
    /// created with mode 0700 when missing and otherwise left as the user set them.
    pub fn create_dirs(&self) -> Result<(), PathsError> {
        let uid = current_uid();
        if let Some(dir) = parent_dir(&self.socket) {
            ensure_private_dir(dir, uid)?;
        }
        for file in [
            &self.database,
            &self.lock,
            &self.log,
            &self.spool,
            &self.api_key,
        ] {
            if let Some(dir) = parent_dir(file) {
                create_dir_if_missing(dir)?;
            }
        }
        Ok(())
    }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        // `strip_prefix` works on components, so `~user/x` and `~x` are not expanded.
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

fn lock_for(database: &Path) -> PathBuf {
    let lock = database.with_extension("lock");
    if lock == database {
        // A database named `*.lock` must not be its own lock.
        let mut name = database.as_os_str().to_os_string();
        name.push(".lock");
        PathBuf::from(name)
    } else {
        lock
    }
}

fn parent_dir(file: &Path) -> Option<&Path> {
    file.parent().filter(|dir| !dir.as_os_str().is_empty())
}

/// Creates `dir` with mode 0700. Missing ancestors get the default mode: they may be shared
/// directories such as `~/.local` that other programs expect to be traversable.
fn create_private_dir(dir: &Path) -> Result<(), PathsError> {
    let create_error = |source| PathsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    };
    if let Some(parent) = parent_dir(dir) {
        fs::create_dir_all(parent).map_err(create_error)?;
    }
    match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(create_error(err)),
    }
}

fn create_dir_if_missing(dir: &Path) -> Result<(), PathsError> {
    if dir.is_dir() {
        return Ok(());
    }
    create_private_dir(dir)
}

fn ensure_private_dir(dir: &Path, uid: u32) -> Result<(), PathsError> {
    create_private_dir(dir)?;
    let inspect_error = |source| PathsError::Inspect {
        path: dir.to_path_buf(),
        source,
    };
    let insecure = |problem: String| PathsError::InsecureSocketDir {
        path: dir.to_path_buf(),
        problem,
    };
    // In a shared directory such as /tmp another user can plant a symlink; following it would
    // let them swap the target later. A symlink of our own (e.g. TIMEFORGED_DIR on a link) is fine.
    let link = fs::symlink_metadata(dir).map_err(inspect_error)?;
    if link.file_type().is_symlink() && link.uid() != uid {
        return Err(insecure(format!(
            "is a symbolic link owned by uid {}, not by you (uid {uid})",
            link.uid()
        )));
    }
    let meta = fs::metadata(dir).map_err(inspect_error)?;
    if !meta.is_dir() {
        return Err(insecure("is not a directory".to_owned()));
    }
    if meta.uid() != uid {
        return Err(insecure(format!(
            "is owned by uid {}, not by you (uid {uid})",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE)).map_err(|source| {
            PathsError::Restrict {
                path: dir.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn in_dir_puts_everything_in_the_one_directory() {
        let paths = Paths::in_dir(Path::new("/base"));
        let cases = [
            ("config_file", &paths.config_file, "/base/config.toml"),
            ("database", &paths.database, "/base/timeforged.db"),
            ("socket", &paths.socket, "/base/tf.sock"),
            ("lock", &paths.lock, "/base/timeforged.lock"),
            ("log", &paths.log, "/base/timeforged.log"),
            ("spool", &paths.spool, "/base/spool.jsonl"),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, Path::new(want), "{name}");
        }
    }

    #[test]
    fn resolve_with_timeforged_dir() {
        let cwd = std::env::current_dir().unwrap();
        let cases: [(&str, &str, PathBuf); 2] = [
            ("absolute", "/srv/tf", PathBuf::from("/srv/tf")),
            (
                "relative is made absolute",
                "some/dir",
                cwd.join("some/dir"),
            ),
        ];
        for (name, dir, want) in cases {
            let paths =
                Paths::resolve(Some(OsStr::new(dir)), Some(OsStr::new("/run/user/7")), 7).unwrap();
            assert_eq!(paths, Paths::in_dir(&want), "{name}");
        }
    }

    /// An empty `TIMEFORGED_DIR` counts as unset: the XDG layout, which needs a home directory
    /// (without one, the error says so, never a layout in the current directory).
    #[test]
    fn resolve_with_empty_timeforged_dir_uses_xdg() {
        match Paths::resolve(Some(OsStr::new("")), Some(OsStr::new("/run/user/7")), 7) {
            Ok(paths) => {
                assert_eq!(paths.socket, Path::new("/run/user/7/timeforged/tf.sock"));
                assert!(paths.config_file.ends_with("timeforged/config.toml"));
                assert!(paths.database.ends_with("timeforged/timeforged.db"));
            }
            Err(e) => {
                assert!(matches!(e, PathsError::NoHomeDir), "{e}");
                assert!(directories::BaseDirs::new().is_none(), "{e}");
            }
        }
    }

    #[test]
    fn xdg_layout() {
        let (config, data, state) = (Path::new("/c/tf"), Path::new("/d/tf"), Path::new("/s/tf"));
        struct Case {
            name: &'static str,
            state: Option<&'static Path>,
            runtime: Option<&'static str>,
            socket: &'static str,
            log: &'static str,
        }
        let cases = [
            Case {
                name: "runtime dir",
                state: Some(state),
                runtime: Some("/run/user/1000"),
                socket: "/run/user/1000/timeforged/tf.sock",
                log: "/s/tf/timeforged.log",
            },
            Case {
                name: "no runtime dir",
                state: Some(state),
                runtime: None,
                socket: "/tmp/timeforged-1000/tf.sock",
                log: "/s/tf/timeforged.log",
            },
            Case {
                name: "relative runtime dir is ignored",
                state: Some(state),
                runtime: Some("run"),
                socket: "/tmp/timeforged-1000/tf.sock",
                log: "/s/tf/timeforged.log",
            },
            Case {
                name: "no state dir",
                state: None,
                runtime: Some(""),
                socket: "/tmp/timeforged-1000/tf.sock",
                log: "/d/tf/timeforged.log",
            },
        ];
        for case in cases {
            let paths =
                Paths::xdg_layout(config, data, case.state, case.runtime.map(OsStr::new), 1000);
            let log_dir = Path::new(case.log).parent().unwrap();
            let want = Paths {
                config_file: PathBuf::from("/c/tf/config.toml"),
                database: PathBuf::from("/d/tf/timeforged.db"),
                socket: PathBuf::from(case.socket),
                lock: PathBuf::from("/d/tf/timeforged.lock"),
                log: PathBuf::from(case.log),
                spool: log_dir.join("spool.jsonl"),
                api_key: PathBuf::from("/d/tf/api_key"),
            };
            assert_eq!(paths, want, "{}", case.name);
        }
    }

    #[test]
    fn with_overrides() {
        let home = Some(Path::new("/home/ann"));
        /// name, socket, database, want socket, want database, want lock
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            &'a str,
            &'a str,
        );
        let cases: [Case; 7] = [
            (
                "none",
                None,
                None,
                "/b/tf.sock",
                "/b/timeforged.db",
                "/b/timeforged.lock",
            ),
            (
                "empty",
                Some(""),
                Some(""),
                "/b/tf.sock",
                "/b/timeforged.db",
                "/b/timeforged.lock",
            ),
            (
                "absolute",
                Some("/r/s"),
                Some("/v/w.db"),
                "/r/s",
                "/v/w.db",
                "/v/w.lock",
            ),
            (
                "tilde",
                Some("~/s.sock"),
                Some("~/d/x.db"),
                "/home/ann/s.sock",
                "/home/ann/d/x.db",
                "/home/ann/d/x.lock",
            ),
            (
                "tilde user is not expanded",
                Some("~bob/s"),
                None,
                "~bob/s",
                "/b/timeforged.db",
                "/b/timeforged.lock",
            ),
            (
                "no extension",
                None,
                Some("/v/work"),
                "/b/tf.sock",
                "/v/work",
                "/v/work.lock",
            ),
            (
                "lock extension",
                None,
                Some("/v/x.lock"),
                "/b/tf.sock",
                "/v/x.lock",
                "/v/x.lock.lock",
            ),
        ];
        for (name, socket, database, want_socket, want_database, want_lock) in cases {
            let paths = Paths::in_dir(Path::new("/b")).with_overrides_in_home(
                socket.map(Path::new),
                database.map(Path::new),
                home,
            );
            assert_eq!(paths.socket, Path::new(want_socket), "{name}: socket");
            assert_eq!(paths.database, Path::new(want_database), "{name}: database");
            assert_eq!(paths.lock, Path::new(want_lock), "{name}: lock");
            assert_eq!(paths.log, Path::new("/b/timeforged.log"), "{name}: log");
        }
        // Without a home directory a `~/` path is kept rather than guessed.
        let paths = Paths::in_dir(Path::new("/b")).with_overrides_in_home(
            Some(Path::new("~/s")),
            None,
            None,
        );
        assert_eq!(paths.socket, Path::new("~/s"));
    }

    #[test]
    fn create_dirs_makes_private_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("a/b");
        let paths = Paths::in_dir(&base);
        paths.create_dirs().unwrap();
        assert_eq!(mode(&base), 0o700);

        // XDG-like layout: every directory is created, each private.
        let paths = Paths {
            config_file: tmp.path().join("config/config.toml"),
            database: tmp.path().join("data/tf/timeforged.db"),
            socket: tmp.path().join("run/timeforged/tf.sock"),
            lock: tmp.path().join("data/tf/timeforged.lock"),
            log: tmp.path().join("state/tf/timeforged.log"),
            spool: tmp.path().join("state/tf/spool.jsonl"),
            api_key: tmp.path().join("data/tf/api_key"),
        };
        paths.create_dirs().unwrap();
        for dir in ["data/tf", "run/timeforged", "state/tf"] {
            assert_eq!(mode(&tmp.path().join(dir)), 0o700, "{dir}");
        }
        // The config file is the user's to create; the daemon does not need its directory.
        assert!(!tmp.path().join("config").exists());
        // Idempotent.
        paths.create_dirs().unwrap();
    }

    #[test]
    fn create_dirs_restricts_an_open_socket_dir_but_not_data_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("run");
        let data = tmp.path().join("data");
        for dir in [&run, &data] {
            fs::create_dir(dir).unwrap();
            fs::set_permissions(dir, Permissions::from_mode(0o755)).unwrap();
        }
        let mut paths = Paths::in_dir(&data);
        paths.socket = run.join("tf.sock");
        paths.create_dirs().unwrap();
        assert_eq!(mode(&run), 0o700);
        assert_eq!(mode(&data), 0o755);
    }

    #[test]
    fn create_dirs_accepts_our_own_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        fs::create_dir(&target).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        Paths::in_dir(&link).create_dirs().unwrap();
    }

    #[test]
    fn create_dirs_refuses_a_socket_dir_that_is_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, "").unwrap();
        let err = Paths::in_dir(&file).create_dirs().unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
    }

    /// A socket directory (or a symlink to one) owned by another user is refused: that user could
    /// swap the socket. As root, the directory is really given to another uid and `create_dirs`
    /// is run; as anyone else, our own directory is checked on behalf of another uid. The same
    /// check either way, so the test never needs to skip.
    #[test]
    fn create_dirs_refuses_a_socket_dir_owned_by_someone_else() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("timeforged-0");
        fs::create_dir(&run).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        let root = current_uid() == 0;
        let owner = if root { 65534 } else { current_uid() };
        if root {
            std::os::unix::fs::chown(&run, Some(owner), Some(owner)).unwrap();
            std::os::unix::fs::lchown(&link, Some(owner), Some(owner)).unwrap();
        }
        let check = |dir: &Path| -> PathsError {
            if root {
                let mut paths = Paths::in_dir(tmp.path());
                paths.socket = dir.join("tf.sock");
                paths.create_dirs().unwrap_err()
            } else {
                ensure_private_dir(dir, owner.wrapping_add(1)).unwrap_err()
            }
        };
        let err = check(&run);
        let message = err.to_string();
        assert!(
            matches!(err, PathsError::InsecureSocketDir { .. }),
            "{message}"
        );
        assert!(message.contains(&run.display().to_string()), "{message}");
        assert!(
            message.contains(&format!("owned by uid {owner}")),
            "{message}"
        );

        // The same through a symlink planted by that user.
        let message = check(&link).to_string();
        assert!(
            message.contains(&format!("symbolic link owned by uid {owner}")),
            "{message}"
        );
    }
}

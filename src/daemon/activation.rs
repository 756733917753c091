//! Socket activation: systemd listens on the socket, starts the daemon on the first connection
//! and passes the listening socket as file descriptor 3 (`LISTEN_FDS=1`, `LISTEN_PID` = our pid,
//! the `sd_listen_fds` protocol). The daemon then serves it instead of binding its own, and
//! leaves the file alone when it stops: systemd keeps listening for the next start.

use super::DaemonError;
use std::os::fd::{FromRawFd, RawFd};
use std::path::{Path, PathBuf};

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The socket systemd passed, as a listener, if it passed one to this process.
pub fn take_listener(expected: &Path) -> Result<Option<tokio::net::UnixListener>, DaemonError> {
    let passed = passed_fds(
        std::env::var("LISTEN_PID").ok().as_deref(),
        std::env::var("LISTEN_FDS").ok().as_deref(),
        std::process::id(),
    );
    let Some(count) = passed else {
        return Ok(None);
    };
    let fail = |message: String| DaemonError::Io {
        what: "socket activation",
        path: expected.to_path_buf(),
        source: std::io::Error::other(message),
    };
    if count != 1 {
        return Err(fail(format!(
            "systemd passed {count} sockets (LISTEN_FDS={count}); the daemon serves exactly one: \
             give timeforged.socket a single ListenStream="
        )));
    }
    check_listening_unix_socket(FIRST_FD).map_err(fail)?;
    // Children (none today) must not inherit it.
    // SAFETY: fcntl on a descriptor checked above to be an open socket.
    unsafe {
        let flags = libc::fcntl(FIRST_FD, libc::F_GETFD);
        if flags >= 0 {
            libc::fcntl(FIRST_FD, libc::F_SETFD, flags | libc::FD_CLOEXEC);
        }
    }
    // SAFETY: systemd hands descriptor 3 to this process alone (LISTEN_PID is ours), it is an
    // open listening Unix stream socket (checked above), and nothing else in the process owns
    // it: the listener takes ownership and closes it when dropped.
    let std_listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(FIRST_FD) };
    let io = |what, source| DaemonError::Io {
        what,
        path: expected.to_path_buf(),
        source,
    };
    std_listener
        .set_nonblocking(true)
        .map_err(|e| io("cannot use the socket systemd passed", e))?;
    if let Some(bound) = std_listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf))
        && bound != expected
    {
        tracing::warn!(
            passed = %bound.display(),
            expected = %expected.display(),
            "systemd passed a socket at another path than the one `tf` uses: `tf` will not \
             find this daemon; run `tf daemon install` again"
        );
    }
    let listener = tokio::net::UnixListener::from_std(std_listener)
        .map_err(|e| io("cannot use the socket systemd passed", e))?;
    Ok(Some(listener))
}

/// How many descriptors systemd passed to `pid`, from `LISTEN_PID` and `LISTEN_FDS`. None when
/// they are unset, are for another process (inherited from a parent that was activated), or
/// are not numbers.
pub fn passed_fds(listen_pid: Option<&str>, listen_fds: Option<&str>, pid: u32) -> Option<u32> {
    let for_pid: u32 = listen_pid?.trim().parse().ok()?;
    if for_pid != pid {
        return None;
    }
    let count: u32 = listen_fds?.trim().parse().ok()?;
    (count > 0).then_some(count)
}

/// That `fd` is a listening Unix stream socket, or what it is instead.
fn check_listening_unix_socket(fd: RawFd) -> Result<(), String> {
    let int_opt = |level, name| -> Result<libc::c_int, String> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`, which is that large.
        let r = unsafe {
            libc::getsockopt(
                fd,
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        match r {
            0 => Ok(value),
            _ => Err(format!(
                "descriptor {fd} is not a socket ({})",
                std::io::Error::last_os_error()
            )),
        }
    };
    if int_opt(libc::SOL_SOCKET, libc::SO_TYPE)? != libc::SOCK_STREAM {
        return Err(format!(
            "descriptor {fd} is not a stream socket: timeforged.socket needs ListenStream="
        ));
    }
    // SAFETY: sockaddr_storage is plain data, valid when zeroed.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `addr`, which is that large.
    let r = unsafe {
        libc::getsockname(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if r != 0 || libc::c_int::from(addr.ss_family) != libc::AF_UNIX {
        return Err(format!(
            "descriptor {fd} is not a Unix socket: timeforged.socket must listen on a path"
        ));
    }
    #[cfg(target_os = "linux")]
    if int_opt(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? == 0 {
        return Err(format!("descriptor {fd} is a socket that does not listen"));
    }
    Ok(())
}

/// The path systemd should listen on for `socket`, as a unit file writes it: `%t/…` under
/// `$XDG_RUNTIME_DIR` (the default place), else the path itself.
pub fn unit_listen_path(socket: &Path, runtime_dir: Option<&Path>) -> String {
    if let Some(rest) = runtime_dir.and_then(|r| socket.strip_prefix(r).ok()) {
        return format!("%t/{}", escape_specifiers(&rest.display().to_string()));
    }
    escape_specifiers(&socket.display().to_string())
}

/// `%` starts a systemd specifier: a literal one is `%%`.
pub fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// A path's parent, for messages.
pub fn socket_dir(socket: &Path) -> PathBuf {
    socket.parent().map(Path::to_path_buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_fds_only_for_this_process() {
        let cases = [
            (Some("42"), Some("1"), 42, Some(1)),
            (Some(" 42 "), Some("2"), 42, Some(2)),
            (Some("41"), Some("1"), 42, None),
            (None, Some("1"), 42, None),
            (Some("42"), None, 42, None),
            (Some("42"), Some("0"), 42, None),
            (Some("x"), Some("1"), 42, None),
            (Some("42"), Some("one"), 42, None),
        ];
        for (pid, fds, me, want) in cases {
            assert_eq!(passed_fds(pid, fds, me), want, "{pid:?} {fds:?} {me}");
        }
    }

    #[test]
    fn listen_paths_use_the_runtime_dir_specifier() {
        let run = Path::new("/run/user/1000");
        assert_eq!(
            unit_listen_path(Path::new("/run/user/1000/timeforged/tf.sock"), Some(run)),
            "%t/timeforged/tf.sock"
        );
        assert_eq!(
            unit_listen_path(Path::new("/home/ann/100%/tf.sock"), Some(run)),
            "/home/ann/100%%/tf.sock"
        );
        assert_eq!(
            unit_listen_path(Path::new("/tmp/timeforged-1000/tf.sock"), None),
            "/tmp/timeforged-1000/tf.sock"
        );
    }

    /// A real listening socket passes the check; a file, a datagram socket and a socket that
    /// does not listen do not.
    #[test]
    fn only_a_listening_unix_stream_socket_is_accepted() {
        use std::os::fd::AsRawFd;
        let tmp = tempfile::tempdir().unwrap();
        let listener = std::os::unix::net::UnixListener::bind(tmp.path().join("s")).unwrap();
        check_listening_unix_socket(listener.as_raw_fd()).unwrap();
        let file = std::fs::File::create(tmp.path().join("f")).unwrap();
        assert!(
            check_listening_unix_socket(file.as_raw_fd())
                .unwrap_err()
                .contains("not a socket")
        );
        let dgram = std::os::unix::net::UnixDatagram::unbound().unwrap();
        assert!(
            check_listening_unix_socket(dgram.as_raw_fd())
                .unwrap_err()
                .contains("not a stream socket")
        );
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let err = check_listening_unix_socket(a.as_raw_fd()).unwrap_err();
        assert!(err.contains("does not listen"), "{err}");
    }
}

//! Talking to the daemon from `tf` (and later hooks and the dashboard): a blocking Unix-socket
//! client, and autostart of the daemon when it is not running.

use crate::config::Config;
use crate::paths::Paths;
use crate::protocol::{ErrorCode, Request, Response, parse_response, to_line};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the daemon is not running on {} and autostart is off: start it with `tf daemon start`", .0.display())]
    NotRunning(PathBuf),
    #[error("could not start the daemon ({program}): {reason}")]
    StartFailed { program: String, reason: String },
    // The cause is the source (shown by `{:#}`), not part of the message: `tf` looks for a
    // broken pipe among the sources, and `{:#}` would otherwise print it twice.
    #[error("lost the connection to the daemon")]
    Io(#[from] std::io::Error),
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
    #[error("{message}")]
    Daemon { code: ErrorCode, message: String },
    #[error("{0}")]
    StopTimeout(String),
}

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// How long `tf` waits for an autostarted daemon to listen (or for another `tf`'s).
const START_TIMEOUT: Duration = Duration::from_secs(20);

impl Client {
    /// Connects to a running daemon.
    pub fn connect(socket: &Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(socket)?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Gives up on an answer after `timeout` (a hung daemon becomes an error, not a hang).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        let _ = self.reader.get_ref().set_read_timeout(timeout);
        let _ = self.writer.set_write_timeout(timeout);
    }

    /// Connects, starting the daemon first when it is not running and autostart is on.
    pub fn connect_or_start(paths: &Paths, config: &Config) -> Result<Client, ClientError> {
        if let Ok(c) = Client::connect(&paths.socket) {
            return Ok(c);
        }
        if !config.daemon.autostart {
            return Err(ClientError::NotRunning(paths.socket.clone()));
        }
        start_daemon(paths)?;
        Client::connect(&paths.socket).map_err(ClientError::Io)
    }

    /// Sends one request and reads one response; error responses become `Err`.
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        self.send(request)?;
        match self.receive()? {
            Response::Error { code, message } => Err(ClientError::Daemon { code, message }),
            other => Ok(other),
        }
    }

    pub fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        self.writer.write_all(to_line(request).as_bytes())?;
        Ok(())
    }

    /// Sends an already-serialized request line (the importer builds them without re-parsing).
    pub fn send_raw(&mut self, line: &str) -> Result<(), ClientError> {
        self.writer.write_all(line.as_bytes())?;
        Ok(())
    }

    pub fn receive(&mut self) -> Result<Response, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            )));
        }
        parse_response(line.trim_end()).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Reads a streamed answer (`log_chunk`s until `end`), calling `each` for every chunk.
    pub fn stream(
        &mut self,
        request: &Request,
        mut each: impl FnMut(Response) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        self.send(request)?;
        loop {
            match self.receive()? {
                Response::End => return Ok(()),
                Response::Error { code, message } => {
                    return Err(ClientError::Daemon { code, message });
                }
                other => each(other)?,
            }
        }
    }
}

/// The daemon binary: next to `tf` when installed together, else from `PATH`.
pub fn daemon_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("timeforged"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("timeforged"))
}

/// Exit status of `timeforged run` when another daemon already holds the lock (or serves the
/// socket): `tf` then waits for that one to listen instead of failing.
pub const EXIT_ANOTHER_DAEMON: u8 = 3;

/// Starts `timeforged run` in its own process group (it outlives `tf`) and waits until it
/// listens. Several `tf` may do this at once: the daemons that lose the race for the lock exit
/// with [`EXIT_ANOTHER_DAEMON`], and their `tf` waits for the winner (or starts again if the
/// winner died without listening). A failure is reported with what this start's daemon printed,
/// never an older line of the log.
pub fn start_daemon(paths: &Paths) -> Result<(), ClientError> {
    let program = daemon_program();
    let fail = |reason: String| ClientError::StartFailed {
        program: program.display().to_string(),
        reason,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    let mut ours = Some(Starting::spawn(&program).map_err(|e| fail(e.to_string()))?);
    let mut pause = Duration::from_millis(2);
    loop {
        let listening = UnixStream::connect(&paths.socket).is_ok();
        match ours.as_mut() {
            None if listening => return Ok(()),
            // The winner died before it listened (say, a bad database): start again, so that
            // this `tf` reports the reason itself.
            None if !lock_is_held(&paths.lock) => {
                ours = Some(Starting::spawn(&program).map_err(|e| fail(e.to_string()))?);
                continue;
            }
            None => {}
            Some(starting) => match starting.exited()? {
                Some((status, _)) if status.code() == Some(i32::from(EXIT_ANOTHER_DAEMON)) => {
                    // Lost the race: wait for the daemon that holds the lock.
                    ours = None;
                    continue;
                }
                Some((status, said)) => return Err(fail(exit_reason(status, &said, paths))),
                // Listening is ours, or ours is a loser that has not reached the lock yet:
                // then wait for it to find out and exit, so that it cannot become a daemon
                // nobody asked for once the winner stops.
                None if listening && answering_pid(&paths.socket) == Some(starting.child.id()) => {
                    return Ok(());
                }
                None => {}
            },
        }
        if Instant::now() >= deadline {
            if listening {
                return Ok(());
            }
            return Err(fail(match ours {
                Some(s) => format!(
                    "it (pid {}) did not listen on {} within {START_TIMEOUT:?}; see the log {}",
                    s.child.id(),
                    paths.socket.display(),
                    paths.log.display()
                ),
                None => match lock_pid(&paths.lock) {
                    Some(pid) => format!(
                        "another daemon (pid {pid}) holds the lock {} but did not listen on {} \
                         within {START_TIMEOUT:?}; if it is stuck, stop it with `kill {pid}`",
                        paths.lock.display(),
                        paths.socket.display(),
                    ),
                    None => format!(
                        "another daemon holds the lock {} but did not listen on {} within \
                         {START_TIMEOUT:?}",
                        paths.lock.display(),
                        paths.socket.display(),
                    ),
                },
            }));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// A daemon this `tf` spawned, with its stderr read through a pipe until it listens: that is
/// where a failed start says why (its log file may be unwritable, or hold older errors).
struct Starting {
    child: std::process::Child,
    stderr: Option<std::process::ChildStderr>,
    said: Vec<u8>,
}

/// What `tf` keeps of a failing daemon's stderr (its last bytes hold the reason).
const MAX_STDERR: usize = 16 * 1024;

impl Starting {
    fn spawn(program: &Path) -> std::io::Result<Starting> {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(program)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let stderr = child.stderr.take();
        if let Some(pipe) = &stderr {
            // Read without blocking: `tf` polls the socket between reads.
            // SAFETY: fcntl on a descriptor we own; only the O_NONBLOCK flag changes.
            unsafe {
                let fd = pipe.as_raw_fd();
                let flags = libc::fcntl(fd, libc::F_GETFL);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
                }
            }
        }
        Ok(Starting {
            child,
            stderr,
            said: Vec::new(),
        })
    }

    /// Reads what the daemon has written so far.
    fn read_stderr(&mut self) {
        use std::io::Read;
        let Some(pipe) = self.stderr.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 4096];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => {
                    self.stderr = None;
                    return;
                }
                Ok(n) => {
                    self.said.extend_from_slice(&chunk[..n]);
                    if self.said.len() > MAX_STDERR {
                        self.said.drain(..self.said.len() - MAX_STDERR);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // WouldBlock: nothing more for now. Anything else: the pipe is unusable.
                Err(_) => return,
            }
        }
    }

    /// The exit status and everything the daemon printed, once it has exited.
    fn exited(&mut self) -> Result<Option<(std::process::ExitStatus, String)>, ClientError> {
        self.read_stderr();
        let Some(status) = self.child.try_wait()? else {
            return Ok(None);
        };
        // The pipe may still hold the last lines; the writer is gone, so this ends at EOF.
        self.read_stderr();
        Ok(Some((
            status,
            String::from_utf8_lossy(&self.said).into_owned(),
        )))
    }
}

/// The pid of the daemon answering on `socket`.
fn answering_pid(socket: &Path) -> Option<u32> {
    let mut client = Client::connect(socket).ok()?;
    match client.request(&Request::Hello {
        client: Some("tf".into()),
    }) {
        Ok(Response::Hello { pid, .. }) => Some(pid),
        _ => None,
    }
}

/// Why a daemon exited, from what it printed (its `timeforged: ` prefix dropped).
fn exit_reason(status: std::process::ExitStatus, said: &str, paths: &Paths) -> String {
    let lines: Vec<&str> = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix("timeforged: ").unwrap_or(l))
        .collect();
    if lines.is_empty() {
        format!(
            "it exited with {status} without saying why; see the log {}",
            paths.log.display()
        )
    } else {
        lines.join("\n")
    }
}

/// Whether some process holds the daemon's lock (an flock, released when the daemon exits).
fn lock_is_held(lock: &Path) -> bool {
    let Ok(file) = std::fs::File::open(lock) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// The pid the running daemon wrote into its lock file.
fn lock_pid(lock: &Path) -> Option<u32> {
    std::fs::read_to_string(lock).ok()?.trim().parse().ok()
}

/// Whether `pid` runs the daemon, where the system says (Linux's /proc): the lock holder
/// writes its pid just after taking the lock, so for an instant the file still names an older
/// daemon whose pid may since belong to another program.
fn is_daemon(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(name) => name.trim() == "timeforged",
        Err(_) => !std::path::Path::new("/proc/self").exists(),
    }
}

fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// How long `tf daemon stop` waits for the daemon to exit: it first commits what is queued and
/// checkpoints the database, which takes a while on a large one.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Asks the daemon to stop and waits until it has exited (its lock is free or its process is
/// gone), so that a `tf daemon start` right after never meets the old one. False if none was
/// running.
pub fn stop_daemon(paths: &Paths) -> Result<bool, ClientError> {
    let pid = match Client::connect(&paths.socket) {
        Ok(mut client) => {
            let pid = match client.request(&Request::Hello {
                client: Some("tf".into()),
            }) {
                Ok(Response::Hello { pid, .. }) => Some(pid),
                _ => lock_pid(&paths.lock),
            };
            match client.request(&Request::Shutdown) {
                // Closed on us or refused as shutting down: already on its way out. Either way,
                // wait for it to exit like for any other.
                Ok(_)
                | Err(ClientError::Io(_))
                | Err(ClientError::Daemon {
                    code: ErrorCode::ShuttingDown,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
            pid
        }
        // No socket, yet the lock is held: a daemon that is stopping already, or one stuck
        // before it listens. Ask it by signal and wait all the same.
        Err(_) if lock_is_held(&paths.lock) => {
            let pid = lock_pid(&paths.lock);
            if let Some(pid) = pid.filter(|&p| is_daemon(p))
                && let Ok(pid) = libc::pid_t::try_from(pid)
            {
                // SAFETY: kill has no memory-safety preconditions; the pid is the lock holder's.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            pid
        }
        Err(_) => return Ok(false),
    };
    let deadline = Instant::now() + STOP_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let gone = pid.is_some_and(|p| !process_exists(p)) || !lock_is_held(&paths.lock);
        if gone {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            let who = pid.map_or("the daemon".to_string(), |p| {
                format!("the daemon (pid {p})")
            });
            let kill = pid.map_or(String::new(), |p| {
                format!("; `kill -9 {p}` ends it at once (what it committed is safe)")
            });
            return Err(ClientError::StopTimeout(format!(
                "{who} has not exited {STOP_TIMEOUT:?} after it was asked to stop; it may still be \
                 writing (see the log {}){kill}",
                paths.log.display()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

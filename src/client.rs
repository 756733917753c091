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
    #[error("lost the connection to the daemon: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
    #[error("{message}")]
    Daemon { code: ErrorCode, message: String },
}

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// How long `tf` waits for an autostarted daemon to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Starts `timeforged run` in its own session (it outlives `tf`) and waits until it listens.
pub fn start_daemon(paths: &Paths) -> Result<(), ClientError> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::process::CommandExt;
    let program = daemon_program();
    let fail = |reason: String| ClientError::StartFailed {
        program: program.display().to_string(),
        reason,
    };
    if let Some(dir) = paths.log.parent() {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    // Startup errors (before logging is set up) land in the log file too. It is the user's
    // activity: private, whatever the umask.
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&paths.log)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null());
    let mut child = Command::new(&program)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let deadline = Instant::now() + START_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    while Instant::now() < deadline {
        if UnixStream::connect(&paths.socket).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let tail =
                last_error_line(&paths.log).unwrap_or_else(|| format!("it exited with {status}"));
            return Err(fail(format!("{tail} (log: {})", paths.log.display())));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    Err(fail(format!(
        "it did not listen on {} within {START_TIMEOUT:?} (log: {})",
        paths.socket.display(),
        paths.log.display()
    )))
}

fn last_error_line(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| l.contains("timeforged:") || l.contains("ERROR"))
        .map(|l| l.trim().to_string())
}

/// Asks the daemon to stop and waits until its socket is gone. False if none was running.
pub fn stop_daemon(socket: &Path) -> Result<bool, ClientError> {
    let Ok(mut client) = Client::connect(socket) else {
        return Ok(false);
    };
    client.request(&Request::Shutdown)?;
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if UnixStream::connect(socket).is_err() {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(ClientError::Protocol(format!(
        "the daemon did not stop within {START_TIMEOUT:?}"
    )))
}

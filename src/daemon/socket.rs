//! Socket hygiene (stale-socket probe, 0600 mode) and bounded line reading.

use super::DaemonError;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::net::{UnixListener, UnixStream};

/// Binds the socket. A live socket means another daemon; a dead one is left over from a crash
/// and is removed.
pub async fn bind(path: &Path) -> Result<UnixListener, DaemonError> {
    if path.exists() {
        match UnixStream::connect(path).await {
            Ok(_) => {
                return Err(DaemonError::AlreadyRunning {
                    socket: path.to_path_buf(),
                });
            }
            Err(_) => {
                tracing::info!(socket = %path.display(), "removing stale socket");
                std::fs::remove_file(path).map_err(|source| DaemonError::Io {
                    what: "cannot remove stale socket",
                    path: path.to_path_buf(),
                    source,
                })?;
            }
        }
    }
    let io = |what, source| DaemonError::Io {
        what,
        path: path.to_path_buf(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(|e| io("cannot listen on", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io("cannot restrict permissions of", e))?;
    Ok(listener)
}

/// Outcome of reading one line.
pub enum Line {
    Text(String),
    /// Longer than the limit; the rest of the line was not read.
    TooLong,
    /// Not UTF-8.
    NotUtf8,
    Eof,
}

/// Reads one `\n`-terminated line of at most `max` bytes without buffering more than that.
/// Cancel-safe: a partial line stays in `buf` and the next call goes on from there.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                Line::Eof
            } else {
                finish(std::mem::take(buf))
            });
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                if buf.len() + i > max {
                    buf.clear();
                    return Ok(Line::TooLong);
                }
                buf.extend_from_slice(&available[..i]);
                reader.consume(i + 1);
                return Ok(finish(std::mem::take(buf)));
            }
            None => {
                let n = available.len();
                if buf.len() + n > max {
                    buf.clear();
                    return Ok(Line::TooLong);
                }
                buf.extend_from_slice(available);
                reader.consume(n);
            }
        }
    }
}

fn finish(mut buf: Vec<u8>) -> Line {
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    match String::from_utf8(buf) {
        Ok(s) => Line::Text(s),
        Err(_) => Line::NotUtf8,
    }
}

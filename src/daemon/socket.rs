//! Socket hygiene (stale-socket probe, 0600 mode) and bounded line reading: each line is at most
//! `max` bytes, and the unfinished lines of all connections together share one memory budget.

use super::DaemonError;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

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
    /// Longer than the limit, or no memory budget for it; the message says which. The rest of
    /// the line was not read: the connection is to be closed after the message is sent.
    TooLong(String),
    /// Not UTF-8.
    NotUtf8,
    Eof,
}

/// Lines that arrive whole in one read need no budget: they are handled at once, from the
/// connection's read buffer. A line that spans reads is kept while the rest arrives, and that
/// takes room from two process-wide pools: a slot of [`SMALL_LINE`] bytes, and once it grows
/// past that, a slot for the rest of a longest line. Slots are taken whole, so a connection
/// never waits while holding part of one (connections that each hold a part and wait for more
/// would starve each other).
const SMALL_LINE: usize = 64 * 1024;
/// 256 unfinished lines of up to [`SMALL_LINE`] bytes.
const SMALL_POOL: usize = 16 * 1024 * 1024;
/// A dozen unfinished lines up to the 4 MiB limit.
const LARGE_POOL: usize = 48 * 1024 * 1024;
/// How long a connection waits for room before it is refused (and its room given back).
const BUDGET_WAIT: Duration = Duration::from_secs(5);

/// Shared by every connection of the process: what bounds the daemon's memory is the sum.
static SMALL: Semaphore = Semaphore::const_new(SMALL_POOL);
static LARGE: Semaphore = Semaphore::const_new(LARGE_POOL);

/// The unfinished line of one connection and its slots of the budget. Dropping it (the
/// connection ends) gives the slots back.
#[derive(Default)]
pub struct LineBuf {
    bytes: Vec<u8>,
    small: Option<SemaphorePermit<'static>>,
    large: Option<SemaphorePermit<'static>>,
    /// Since when this connection has waited for room; kept across cancelled reads, so the wait
    /// is bounded however often the caller's `select!` restarts it.
    waiting_since: Option<Instant>,
}

impl LineBuf {
    /// Makes room for `additional` more bytes of a line of at most `max`: the slots it needs,
    /// then capacity (doubling, within the slots). False when no slot came within
    /// [`BUDGET_WAIT`]. Cancel-safe: a slot is kept only once it is all there.
    async fn reserve(&mut self, additional: usize, max: usize) -> bool {
        let needed = self.bytes.len() + additional;
        if needed <= self.bytes.capacity() {
            return true;
        }
        let deadline = *self.waiting_since.get_or_insert_with(Instant::now) + BUDGET_WAIT;
        if self.small.is_none() {
            match take(&SMALL, SMALL_LINE.min(max), deadline).await {
                Some(slot) => self.small = Some(slot),
                None => return false,
            }
        }
        let mut room = SMALL_LINE;
        if needed > SMALL_LINE {
            if self.large.is_none() {
                match take(&LARGE, max.saturating_sub(SMALL_LINE), deadline).await {
                    Some(slot) => self.large = Some(slot),
                    None => return false,
                }
            }
            room = max;
        }
        self.waiting_since = None;
        let capacity = (self.bytes.capacity() * 2).max(256).min(room).max(needed);
        self.bytes.reserve_exact(capacity - self.bytes.len());
        true
    }

    /// Hands out the finished line and gives its slots back.
    fn take_line(&mut self) -> Line {
        let bytes = std::mem::take(&mut self.bytes);
        self.clear();
        finish(bytes)
    }

    fn clear(&mut self) {
        self.bytes = Vec::new();
        self.small = None;
        self.large = None;
        self.waiting_since = None;
    }
}

/// `n` permits of `pool`, or `None` if they did not come by `deadline`.
async fn take(
    pool: &'static Semaphore,
    n: usize,
    deadline: Instant,
) -> Option<SemaphorePermit<'static>> {
    let n = u32::try_from(n).ok()?;
    match tokio::time::timeout_at(deadline, pool.acquire_many(n)).await {
        Ok(Ok(permit)) => Some(permit),
        _ => None,
    }
}

/// Reads one `\n`-terminated line of at most `max` bytes without buffering more than that; a
/// line that spans reads is kept only with room from the shared budget. Cancel-safe: a partial
/// line stays in `buf` and the next call goes on from there.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut LineBuf,
    max: usize,
) -> std::io::Result<Line> {
    loop {
        let (n, newline, whole) = {
            let available = reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(if buf.bytes.is_empty() {
                    buf.clear();
                    Line::Eof
                } else {
                    buf.take_line()
                });
            }
            match available.iter().position(|&b| b == b'\n') {
                // Whole in one read (the common case): no budget, the handler uses it at once.
                Some(i) if buf.bytes.is_empty() && i <= max => {
                    (i, true, Some(finish(available[..i].to_vec())))
                }
                Some(i) => (i, true, None),
                None => (available.len(), false, None),
            }
        };
        if let Some(line) = whole {
            reader.consume(n + 1);
            return Ok(line);
        }
        if buf.bytes.len() + n > max {
            buf.clear();
            return Ok(Line::TooLong(format!(
                "request line longer than {max} bytes; closing the connection"
            )));
        }
        if !buf.reserve(n, max).await {
            buf.clear();
            return Ok(Line::TooLong(format!(
                "the daemon already holds {} MiB of unfinished request lines from other \
                 connections and found no room for this one within {BUDGET_WAIT:?}; closing \
                 the connection (retry, or send smaller lines)",
                (SMALL_POOL + LARGE_POOL) / (1024 * 1024)
            )));
        }
        // Still buffered: `reserve` awaited nothing of the reader.
        let available = reader.fill_buf().await?;
        let Some(chunk) = available.get(..n) else {
            continue;
        };
        buf.bytes.extend_from_slice(chunk);
        if newline {
            reader.consume(n + 1);
            return Ok(buf.take_line());
        }
        reader.consume(n);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    /// Every line of `input`, read through a buffer of `capacity` bytes (small: lines span reads).
    async fn lines(input: &[u8], capacity: usize, max: usize) -> Vec<String> {
        let mut reader = BufReader::with_capacity(capacity, input);
        let mut buf = LineBuf::default();
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, &mut buf, max).await.unwrap() {
                Line::Text(t) => out.push(t),
                // The connection is closed after this: nothing more is read.
                Line::TooLong(m) => {
                    out.push(format!("TOO LONG: {m}"));
                    return out;
                }
                Line::NotUtf8 => out.push("NOT UTF-8".into()),
                Line::Eof => return out,
            }
        }
    }

    #[tokio::test]
    async fn lines_whole_or_spanning_reads_come_out_the_same() {
        let input = b"{\"a\":1}\r\n\n0123456789abcdef0123\nlast without newline";
        let want = [
            "{\"a\":1}",
            "",
            "0123456789abcdef0123",
            "last without newline",
        ];
        for capacity in [4, 7, 64, 4096] {
            assert_eq!(
                lines(input, capacity, 1024).await,
                want,
                "capacity {capacity}"
            );
        }
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_refused_whole_or_spanning() {
        for capacity in [4, 4096] {
            let got = lines(b"0123456789\n", capacity, 9).await;
            assert_eq!(got.len(), 1, "{got:?}");
            assert!(
                got[0].starts_with("TOO LONG: request line longer than 9 bytes"),
                "{got:?}"
            );
            let got = lines(b"012345678\n", capacity, 9).await;
            assert_eq!(got, ["012345678"], "the limit itself is fine");
        }
    }

    #[tokio::test]
    async fn a_spanning_line_gives_its_budget_back() {
        let line = vec![b'x'; 3 * SMALL_LINE];
        let mut input = line.clone();
        input.push(b'\n');
        let mut reader = BufReader::with_capacity(1024, &input[..]);
        let mut buf = LineBuf::default();
        let Line::Text(t) = read_line(&mut reader, &mut buf, 4 * SMALL_LINE)
            .await
            .unwrap()
        else {
            panic!("a line");
        };
        assert_eq!(t.len(), line.len());
        assert!(
            buf.small.is_none() && buf.large.is_none(),
            "slots given back"
        );
        assert_eq!(buf.bytes.capacity(), 0);
    }
}

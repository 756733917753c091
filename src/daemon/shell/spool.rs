//! The spool as a durable queue from the hooks to the daemon. Hooks append one JSON line per
//! event to `spool.jsonl` (one `write` in `O_APPEND` mode, so lines never interleave); the daemon
//! reads them from a cursor that moves, and is saved in `spool.offset`, only after what the
//! lines stand for is committed. A consumed file is renamed to `spool.draining`, read once more
//! after a grace period (a hook may have opened it just before the rename), then removed.
//!
//! Plain file I/O, no async and no daemon state, so that it is tested on its own: the daemon's
//! loop (`super::consume`) decides when to read and what a line becomes.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a renamed spool is kept for hooks that opened it just before the rename. A hook
/// holds the file open for microseconds; only a stopped process could take longer.
pub(crate) const GRACE: Duration = Duration::from_secs(5);
/// Most bytes read for one batch (a batch is one commit).
const BATCH_BYTES: usize = 256 * 1024;
/// A line longer than a request may be is not an event: it is skipped.
const MAX_LINE: usize = crate::protocol::MAX_LINE_BYTES;
/// The cursor file: two fixed-width slots `INODE OFFSET\n`, rewritten with one `pwrite`, so a
/// crash leaves either the old cursor or the new one.
const SLOT: usize = 42;
const CURSOR_BYTES: usize = 2 * SLOT;

/// Where one spool file has been consumed up to. `ino` 0: no file seen yet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Pos {
    ino: u64,
    offset: u64,
}

/// Which file a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Draining,
    Live,
}

/// Complete lines read from one file, not yet consumed: [`Spool::commit`] moves the cursor past
/// them once their events are stored.
#[derive(Debug)]
pub(crate) struct Batch {
    which: Which,
    ino: u64,
    /// The offset just past the last line.
    end: u64,
    /// Each line, empty lines left out; invalid UTF-8 replaced (such a line will not parse).
    pub lines: Vec<String>,
    /// Lines too long to be an event, skipped.
    pub oversized: u64,
}

/// The spool files and the cursor. See the module doc.
#[derive(Debug)]
pub(crate) struct Spool {
    live: PathBuf,
    draining: PathBuf,
    cursor: PathBuf,
    cursor_file: Option<File>,
    live_pos: Pos,
    /// The renamed file, and when it may be removed once consumed.
    draining_pos: Option<(Pos, Instant)>,
    /// Most bytes waiting to be consumed; the oldest lines beyond it are dropped.
    max_pending: u64,
    /// A consumed live file at least this big is renamed away (and so, soon, removed).
    compact_at: u64,
    /// A failing cursor write is logged once, not on every batch.
    cursor_failed: bool,
    /// [`GRACE`], shorter in tests.
    grace: Duration,
}

impl Spool {
    /// The spool at `live` (`spool.jsonl`), its cursor loaded. `max_pending` is
    /// `shell.spool_max_bytes`.
    pub(crate) fn open(live: &Path, max_pending: u64) -> Spool {
        let (draining, cursor) = siblings(live);
        let saved = read_cursor(&cursor);
        let now = Instant::now();
        let live_pos = position(live, &saved).unwrap_or_default();
        // Left by a crash (or by a daemon before this one): read what is left of it, then
        // remove it after the grace period, as after a rename.
        let draining_pos = position(&draining, &saved).map(|p| (p, now + GRACE));
        Spool {
            live: live.to_path_buf(),
            draining,
            cursor,
            cursor_file: None,
            live_pos,
            draining_pos,
            max_pending: max_pending.max(1),
            compact_at: compact_threshold(max_pending),
            cursor_failed: false,
            grace: GRACE,
        }
    }

    /// When the renamed file's grace period ends, if there is one: the caller wakes then to
    /// remove it.
    pub(crate) fn grace_ends(&self) -> Option<Instant> {
        self.draining_pos.map(|(_, until)| until)
    }

    /// The next complete lines to consume, oldest first (the renamed file before the live one);
    /// None when everything complete has been consumed. A line still being written waits.
    pub(crate) fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        while let Some((pos, until)) = self.draining_pos {
            match read_batch(&self.draining, pos, Which::Draining)? {
                Read::Batch(b) => return Ok(Some(b)),
                Read::Nothing => break,
                Read::Gone => self.draining_pos = None,
                Read::Replaced(ino) => self.draining_pos = Some((Pos { ino, offset: 0 }, until)),
            }
        }
        loop {
            match read_batch(&self.live, self.live_pos, Which::Live)? {
                Read::Batch(b) => return Ok(Some(b)),
                Read::Nothing | Read::Gone => return Ok(None),
                // A new file (after a rename, or made by a hook): from its start.
                Read::Replaced(ino) => self.live_pos = Pos { ino, offset: 0 },
            }
        }
    }

    /// Marks `batch` consumed and saves the cursor. Call only once its events are committed.
    pub(crate) fn commit(&mut self, batch: &Batch) {
        let target = match batch.which {
            Which::Live => Some(&mut self.live_pos),
            Which::Draining => self.draining_pos.as_mut().map(|(p, _)| p),
        };
        if let Some(pos) = target
            && pos.ino == batch.ino
        {
            pos.offset = pos.offset.max(batch.end);
        }
        self.save_cursor();
    }

    /// Keeps at most `max_pending` bytes waiting, dropping the oldest whole lines; returns how
    /// many lines were dropped.
    pub(crate) fn enforce_bound(&mut self) -> io::Result<u64> {
        let draining = match self.draining_pos {
            Some((pos, _)) => pending(&self.draining, pos)?,
            None => None,
        };
        let live = pending(&self.live, self.live_pos)?;
        let total = draining.map_or(0, |(_, n)| n) + live.map_or(0, |(_, n)| n);
        let Some(mut excess) = total.checked_sub(self.max_pending).filter(|e| *e > 0) else {
            return Ok(0);
        };
        let mut dropped = 0;
        if let (Some((pos, n)), Some((_, until))) = (draining, self.draining_pos) {
            let take = excess.min(n);
            let (offset, lines) = skip_lines(&self.draining, pos.offset, pos.offset + take, true)?;
            excess -= take;
            dropped += lines;
            self.draining_pos = Some((Pos { offset, ..pos }, until));
        }
        if let Some((pos, n)) = live
            && excess > 0
        {
            let take = excess.min(n);
            let (offset, lines) = skip_lines(&self.live, pos.offset, pos.offset + take, false)?;
            dropped += lines;
            self.live_pos = Pos { offset, ..pos };
        }
        if dropped > 0 {
            self.save_cursor();
        }
        Ok(dropped)
    }

    /// Removes the renamed file once its grace period is over and it is consumed, and renames
    /// the live file away once enough of it is consumed.
    pub(crate) fn compact(&mut self, now: Instant) -> io::Result<()> {
        if let Some((pos, until)) = self.draining_pos
            && now >= until
        {
            match metadata(&self.draining)? {
                Some(m) if m.ino() != pos.ino => {
                    // Not the file we renamed: read it all before it goes.
                    let pos = Pos {
                        ino: m.ino(),
                        offset: 0,
                    };
                    self.draining_pos = Some((pos, until));
                }
                // A late line, read first; but an unfinished line there never gets its end
                // (no hook writes to the renamed file any more, and the one writing it died or
                // ran out of disk): it goes with the file.
                Some(m) if m.len() > pos.offset && has_line_end(&self.draining, pos.offset)? => {}
                found => {
                    if let Some(m) = &found
                        && m.len() > pos.offset
                    {
                        tracing::warn!(
                            bytes = m.len() - pos.offset,
                            "dropped an unfinished line at the end of {}",
                            self.draining.display()
                        );
                    }
                    // Forget it in the cursor first: a crash before the removal then reads it
                    // again (its events are stored once all the same), and never skips part of
                    // a new file that reuses its inode.
                    self.draining_pos = None;
                    self.save_cursor();
                    if found.is_some() {
                        remove_if_present(&self.draining)?;
                    }
                }
            }
        }
        if self.draining_pos.is_none()
            && self.live_pos.offset >= self.compact_at
            && let Some(m) = metadata(&self.live)?
            && m.ino() == self.live_pos.ino
        {
            // What is not consumed yet, and a line appended from here on by a hook that opened
            // the file before, are read from the renamed file, which comes first. Not waiting
            // for the consumer to catch up: under a steady stream of events it might never.
            std::fs::rename(&self.live, &self.draining)?;
            self.draining_pos = Some((self.live_pos, now + self.grace));
            self.live_pos = Pos::default();
            self.save_cursor();
        }
        Ok(())
    }

    fn save_cursor(&mut self) {
        let mut text = String::with_capacity(CURSOR_BYTES);
        let draining = self.draining_pos.map(|(p, _)| p).unwrap_or_default();
        for pos in [self.live_pos, draining] {
            text.push_str(&format!("{:020} {:020}\n", pos.ino, pos.offset));
        }
        let written = self
            .cursor_file()
            .and_then(|f| f.write_all_at(text.as_bytes(), 0));
        match written {
            Ok(()) => self.cursor_failed = false,
            Err(e) if !self.cursor_failed => {
                // Consumed lines may then be read again after a restart: stored once all the
                // same, so this costs time, not data.
                tracing::warn!(
                    "cannot save the spool cursor {}: {e}",
                    self.cursor.display()
                );
                self.cursor_failed = true;
            }
            Err(_) => {}
        }
    }

    fn cursor_file(&mut self) -> io::Result<&File> {
        if self.cursor_file.is_none() {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&self.cursor)?;
            f.set_len(CURSOR_BYTES as u64)?;
            self.cursor_file = Some(f);
        }
        self.cursor_file
            .as_ref()
            .ok_or_else(|| io::Error::other("cursor file not open"))
    }
}

/// Bytes waiting in the spool (both files), as `tf status` shows them: what is past the saved
/// cursor.
pub(crate) fn pending_bytes(live: &Path) -> u64 {
    let (draining, cursor) = siblings(live);
    let saved = read_cursor(&cursor);
    [live, draining.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| {
            m.len()
                .saturating_sub(saved_offset(&saved, m.ino(), m.len()))
        })
        .sum()
}

/// The part of a garbled line that can still be an event: a hook cut short (killed, or out of
/// disk) leaves a line without its newline, and the next event is appended to it. Every event
/// line starts with `{"v":`, which cannot occur unescaped inside a JSON string.
pub(crate) fn salvage(line: &str) -> Option<&str> {
    let at = line.rfind("{\"v\":").filter(|&i| i > 0)?;
    Some(&line[at..])
}

/// `spool.draining` and `spool.offset` beside `spool.jsonl`.
fn siblings(live: &Path) -> (PathBuf, PathBuf) {
    (
        live.with_extension("draining"),
        live.with_extension("offset"),
    )
}

/// A file is renamed away once this much of it is consumed: often enough that the spool stays
/// small, rarely enough that renames cost nothing.
fn compact_threshold(max_pending: u64) -> u64 {
    (max_pending / 16).clamp(4 * 1024, 1024 * 1024)
}

fn metadata(path: &Path) -> io::Result<Option<std::fs::Metadata>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Saved (inode, offset) pairs; none when the file is missing or unreadable (everything is
/// then read again: stored once all the same).
fn read_cursor(path: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .take(2)
        .filter_map(|l| {
            let (ino, offset) = l.trim().split_once(' ')?;
            Some((ino.parse().ok()?, offset.parse().ok()?))
        })
        .filter(|&(ino, _)| ino != 0)
        .collect()
}

fn saved_offset(saved: &[(u64, u64)], ino: u64, len: u64) -> u64 {
    saved
        .iter()
        .find(|(i, _)| *i == ino)
        .map(|&(_, o)| o)
        // A shorter file than the cursor says is another file (or was truncated): from 0.
        .filter(|&o| o <= len)
        .unwrap_or(0)
}

/// Where to resume in the file at `path`, if it exists. By inode, not by name: after a crash
/// between a rename and the cursor's update, the cursor of `spool.jsonl` belongs to
/// `spool.draining`.
fn position(path: &Path, saved: &[(u64, u64)]) -> Option<Pos> {
    let m = std::fs::metadata(path).ok()?;
    Some(Pos {
        ino: m.ino(),
        offset: saved_offset(saved, m.ino(), m.len()),
    })
}

/// What the file at `path` holds beyond `pos`: (its position, bytes), None if it is gone.
fn pending(path: &Path, pos: Pos) -> io::Result<Option<(Pos, u64)>> {
    Ok(metadata(path)?.map(|m| {
        let pos = if m.ino() == pos.ino && m.len() >= pos.offset {
            pos
        } else {
            Pos {
                ino: m.ino(),
                offset: 0,
            }
        };
        (pos, m.len() - pos.offset)
    }))
}

enum Read {
    Batch(Batch),
    /// Nothing complete beyond the position.
    Nothing,
    Gone,
    /// Another file is at the path now (this inode): start it from 0.
    Replaced(u64),
}

fn read_batch(path: &Path, pos: Pos, which: Which) -> io::Result<Read> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::Gone),
        Err(e) => return Err(e),
    };
    let m = file.metadata()?;
    if m.ino() != pos.ino || m.len() < pos.offset {
        return Ok(Read::Replaced(m.ino()));
    }
    let available = m.len() - pos.offset;
    if available == 0 {
        return Ok(Read::Nothing);
    }
    let mut want = (available as usize).min(BATCH_BYTES);
    loop {
        let buf = read_at(&file, pos.offset, want)?;
        if let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
            let lines = buf[..last]
                .split(|&b| b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            return Ok(Read::Batch(Batch {
                which,
                ino: pos.ino,
                end: pos.offset + last as u64 + 1,
                lines,
                oversized: 0,
            }));
        }
        if buf.len() < want || want as u64 >= available {
            return Ok(Read::Nothing); // a line still being written
        }
        if want > MAX_LINE {
            // No event is this long: skip to the end of this line, if it has one yet.
            let (end, lines) = skip_lines(path, pos.offset, pos.offset + want as u64, false)?;
            if lines == 0 {
                return Ok(Read::Nothing);
            }
            return Ok(Read::Batch(Batch {
                which,
                ino: pos.ino,
                end,
                lines: Vec::new(),
                oversized: 1,
            }));
        }
        want = (want * 4).min(MAX_LINE + 1).min(available as usize);
    }
}

/// Whether the file at `path` has a line end after `offset`.
fn has_line_end(path: &Path, offset: u64) -> io::Result<bool> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut at = offset;
    while at < len {
        let chunk = read_at(&file, at, (64 * 1024).min((len - at) as usize))?;
        if chunk.is_empty() {
            break;
        }
        if chunk.contains(&b'\n') {
            return Ok(true);
        }
        at += chunk.len() as u64;
    }
    Ok(false)
}

/// Up to `len` bytes of `file` from `offset` (fewer at its end).
fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// The start of the first line at or after `target` (reading from `from`, a line start), and
/// how many lines start before it. With no line end at or after `target`: the file's end if
/// `to_end` (the renamed file, which no one writes), else the start of its unfinished last
/// line, which is kept.
fn skip_lines(path: &Path, from: u64, target: u64, to_end: bool) -> io::Result<(u64, u64)> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let (mut at, mut lines, mut last_start) = (from, 0u64, from);
    while at < len {
        let chunk = read_at(&file, at, (64 * 1024).min((len - at) as usize))?;
        if chunk.is_empty() {
            break;
        }
        for (i, &b) in chunk.iter().enumerate() {
            if b == b'\n' {
                let next = at + i as u64 + 1;
                lines += 1;
                last_start = next;
                if next >= target {
                    return Ok((next, lines));
                }
            }
        }
        at += chunk.len() as u64;
    }
    if to_end {
        let partial = u64::from(last_start < len);
        Ok((len, lines + partial))
    } else {
        Ok((last_start, lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, line: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
    }

    /// Reads and commits every batch, returning the lines.
    fn drain(s: &mut Spool) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(b) = s.next_batch().unwrap() {
            out.extend(b.lines.iter().cloned());
            s.commit(&b);
        }
        out
    }

    #[test]
    fn lines_are_consumed_once_and_the_cursor_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        let mut s = Spool::open(&live, 1 << 20);
        assert!(s.next_batch().unwrap().is_none());
        append(&live, "a\nb\n");
        assert_eq!(drain(&mut s), ["a", "b"]);
        append(&live, "c\n");
        // Read but not committed: a restart reads it again.
        let b = s.next_batch().unwrap().unwrap();
        assert_eq!(b.lines, ["c"]);
        drop(s);
        let mut s = Spool::open(&live, 1 << 20);
        assert_eq!(drain(&mut s), ["c"]);
        assert_eq!(pending_bytes(&live), 0);
        append(&live, "d\n");
        assert_eq!(pending_bytes(&live), 2);
    }

    #[test]
    fn an_unfinished_line_waits_for_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        let mut s = Spool::open(&live, 1 << 20);
        append(&live, "one\ntw");
        assert_eq!(drain(&mut s), ["one"]);
        assert!(s.next_batch().unwrap().is_none());
        append(&live, "o\n");
        assert_eq!(drain(&mut s), ["two"]);
    }

    #[test]
    fn garbled_lines_keep_the_event_appended_to_them() {
        let full = r#"{"v":1,"type":"shell","event":"end"}"#;
        let cut = r#"{"v":1,"type":"shell","ev"#;
        assert_eq!(salvage(&format!("{cut}{full}")), Some(full));
        assert_eq!(salvage(full), None);
        assert_eq!(salvage("garbage"), None);
    }

    #[test]
    fn the_oldest_lines_beyond_the_bound_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        for i in 0..100 {
            append(&live, &format!("{i:04}\n")); // 5 bytes a line
        }
        let mut s = Spool::open(&live, 50);
        assert_eq!(s.enforce_bound().unwrap(), 90);
        let lines = drain(&mut s);
        assert_eq!(lines.first().map(String::as_str), Some("0090"));
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn a_consumed_file_is_renamed_then_removed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        let draining = live.with_extension("draining");
        let mut s = Spool::open(&live, 16 * 4096); // compacts at 4 KiB
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..50 {
            append(&live, &line);
        }
        assert_eq!(drain(&mut s).len(), 50);
        let now = Instant::now();
        s.compact(now).unwrap();
        assert!(!live.exists() && draining.exists());
        // A hook that opened the file before the rename writes into the renamed file.
        append(&draining, "late\n");
        append(&live, "new\n");
        assert_eq!(drain(&mut s), ["late", "new"]);
        s.compact(now).unwrap();
        assert!(draining.exists(), "kept during the grace period");
        s.compact(now + GRACE).unwrap();
        assert!(!draining.exists());
        assert_eq!(pending_bytes(&live), 0);
        // A restart reads nothing twice.
        let mut s = Spool::open(&live, 16 * 4096);
        assert!(drain(&mut s).is_empty());
    }

    #[test]
    fn an_unfinished_line_in_the_renamed_file_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        let mut s = Spool::open(&live, 16 * 4096);
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..50 {
            append(&live, &line);
        }
        assert_eq!(drain(&mut s).len(), 50);
        let now = Instant::now();
        s.compact(now).unwrap();
        // A hook killed mid-write, just after the rename.
        append(&live.with_extension("draining"), "{\"v\":1,\"ty");
        assert!(drain(&mut s).is_empty());
        s.compact(now + GRACE).unwrap();
        assert!(!live.with_extension("draining").exists());
        // Compaction goes on.
        for _ in 0..50 {
            append(&live, &line);
        }
        assert_eq!(drain(&mut s).len(), 50);
        s.compact(now + GRACE).unwrap();
        assert!(!live.exists());
    }

    #[test]
    fn a_crash_between_rename_and_cursor_save_resumes_in_the_renamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        let mut s = Spool::open(&live, 1 << 20);
        append(&live, "a\nb\n");
        assert_eq!(drain(&mut s).len(), 2);
        drop(s);
        // What a crash right after the rename leaves: the cursor names the old inode.
        std::fs::rename(&live, live.with_extension("draining")).unwrap();
        append(&live.with_extension("draining"), "c\n");
        append(&live, "d\n");
        let mut s = Spool::open(&live, 1 << 20);
        assert_eq!(drain(&mut s), ["c", "d"]);
    }

    /// Writers append while the consumer reads, commits and compacts: every line is consumed
    /// exactly once.
    #[test]
    fn concurrent_appenders_lose_nothing_across_compactions() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("spool.jsonl");
        let stop = Arc::new(AtomicBool::new(false));
        // Each writer appends until told to stop, pausing now and then like a shell, and
        // returns how many lines it wrote.
        let threads: Vec<_> = (0..4)
            .map(|w| {
                let (live, stop) = (live.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) && i < 200_000 {
                        append(&live, &format!("{w}-{i:06}-{}\n", "p".repeat(40)));
                        i += 1;
                        if i % 50 == 0 {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                    i
                })
            })
            .collect();
        let mut s = Spool::open(&live, 16 * 4096);
        // Real time, with a grace period short enough for many compactions in the run and
        // long enough for a writer between its open and its write.
        s.grace = Duration::from_millis(20);
        let mut seen = Vec::new();
        let mut compactions = 0;
        loop {
            let finished = threads.iter().all(|t| t.is_finished());
            seen.extend(drain(&mut s));
            let before = s.draining_pos.map(|(p, _)| p.ino);
            s.compact(Instant::now()).unwrap();
            let after = s.draining_pos.map(|(p, _)| p.ino);
            compactions += usize::from(after.is_some() && after != before);
            if compactions >= 8 {
                stop.store(true, Ordering::Relaxed);
            }
            if finished && s.draining_pos.is_none() && s.next_batch().unwrap().is_none() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let written: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        seen.extend(drain(&mut s));
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a line was read twice");
        assert_eq!(seen.len(), written);
        assert!(compactions >= 8, "{compactions} compactions");
    }
}

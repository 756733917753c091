//! Moving data in and out: `tf log`, `tf export` (JSON lines or CSV) and `tf import` (JSON array
//! or JSON lines, validated item by item, bad rows reported with their line number).

use super::args::{ExportFormat, RangeArgs};
use super::{Context, format, range_spec};
use crate::calendar::Calendar;
use crate::model::{Heartbeat, MAX_MESSAGE_BYTES};
use crate::protocol::{LoggedInterval, PROTOCOL_VERSION, Request, Response};
use crate::wakatime::UserAgent;
use anyhow::{Context as _, Result, bail};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// An exported manual interval, one per line beside the heartbeats: `{"interval": {...}}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct IntervalLine {
    interval: crate::model::Interval,
}

/// An interval in `tf log --json`: the export's line shape plus its id, so one array holds
/// heartbeats and intervals in time order.
#[derive(serde::Serialize)]
struct LoggedIntervalItem<'a> {
    interval: &'a LoggedInterval,
}

pub fn log(ctx: &Context, range: RangeArgs, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    // Shown in the daemon's zone, like every report.
    let cal = super::daemon_calendar(&mut client)?;
    let request = Request::Log {
        range: range_spec(&range),
        intervals: true,
    };
    let mut out = BufWriter::new(out);
    let mut sink = match json {
        true => LogSink::Json { first: true },
        false => LogSink::Table(LogTable::new(cal, format::Style::detect())),
    };
    if json {
        write!(out, "[")?;
    }
    // Intervals come first and are few; each is written before the first heartbeat at or after
    // its start, so the output is in time order.
    let mut intervals: std::collections::VecDeque<LoggedInterval> = Default::default();
    client.stream(&request, |chunk| {
        let Response::LogChunk {
            heartbeats,
            intervals: ivs,
        } = chunk
        else {
            return Ok(());
        };
        intervals.extend(ivs);
        for h in heartbeats {
            while intervals
                .front()
                .is_some_and(|iv| iv.interval.start <= h.time)
            {
                if let Some(iv) = intervals.pop_front() {
                    sink.interval(&mut out, &iv)?;
                }
            }
            sink.heartbeat(&mut out, &h)?;
        }
        Ok(())
    })?;
    for iv in intervals {
        sink.interval(&mut out, &iv)?;
    }
    match &mut sink {
        LogSink::Json { first } => writeln!(out, "{}]", if *first { "" } else { "\n" })?,
        LogSink::Table(table) => table.finish(&mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

enum LogSink {
    Json { first: bool },
    Table(LogTable),
}

impl LogSink {
    fn heartbeat(&mut self, out: &mut impl Write, h: &Heartbeat) -> std::io::Result<()> {
        match self {
            LogSink::Json { first } => {
                let sep = if std::mem::replace(first, false) {
                    "\n"
                } else {
                    ",\n"
                };
                write!(out, "{sep}{}", serde_json::to_string(h).unwrap_or_default())
            }
            LogSink::Table(t) => t.push(out, LogRow::heartbeat(&t.cal, h)),
        }
    }

    fn interval(&mut self, out: &mut impl Write, iv: &LoggedInterval) -> std::io::Result<()> {
        match self {
            LogSink::Json { first } => {
                let sep = if std::mem::replace(first, false) {
                    "\n"
                } else {
                    ",\n"
                };
                let item = LoggedIntervalItem { interval: iv };
                write!(
                    out,
                    "{sep}{}",
                    serde_json::to_string(&item).unwrap_or_default()
                )
            }
            LogSink::Table(t) => t.push(out, LogRow::interval(&t.cal, iv)),
        }
    }
}

/// One line of the `tf log` table, before padding.
struct LogRow {
    cells: [String; LOG_COLUMNS.len()],
    /// The last column (the entity, or what an interval was), never padded.
    what: String,
    write: bool,
}

const LOG_COLUMNS: [&str; 7] = [
    "time", "type", "category", "source", "project", "branch", "language",
];
/// Widest a padded column gets; longer names are cut with `…` so one long branch name does
/// not push every row off the screen.
const LOG_MAX_WIDTH: usize = 24;
/// Rows measured before the first is printed: column widths come from them.
const LOG_MEASURED_ROWS: usize = 2000;

impl LogRow {
    fn heartbeat(cal: &Calendar, h: &Heartbeat) -> LogRow {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        LogRow {
            cells: [
                local(cal, h.time),
                h.entity_type.as_str().to_string(),
                h.category.as_str().to_string(),
                h.source.unwrap_or_default().as_str().to_string(),
                or_dash(&h.project),
                or_dash(&h.branch),
                or_dash(&h.language),
            ],
            what: h.entity.clone(),
            write: h.is_write,
        }
    }

    fn interval(cal: &Calendar, iv: &LoggedInterval) -> LogRow {
        let i = &iv.interval;
        let end = local(cal, i.end);
        // The end's date only when it differs from the start's.
        let end = match end.split_once(' ') {
            Some((date, time)) if local(cal, i.start).starts_with(date) => time.to_string(),
            _ => end,
        };
        LogRow {
            cells: [
                local(cal, i.start),
                "interval".into(),
                i.category.as_str().to_string(),
                "manual".into(),
                i.project.clone(),
                i.branch.clone().unwrap_or_else(|| "-".into()),
                "-".into(),
            ],
            what: format!(
                "until {end} ({}){}",
                format::duration(i.end - i.start),
                i.note
                    .as_deref()
                    .map(|n| format!(" · {n}"))
                    .unwrap_or_default()
            ),
            write: false,
        }
    }
}

/// The `tf log` table: a header and aligned columns, streamed after the first rows are
/// measured (a log can hold millions of rows).
struct LogTable {
    cal: Calendar,
    style: format::Style,
    pending: Vec<LogRow>,
    widths: Option<[usize; LOG_COLUMNS.len()]>,
}

impl LogTable {
    fn new(cal: Calendar, style: format::Style) -> LogTable {
        LogTable {
            cal,
            style,
            pending: Vec::new(),
            widths: None,
        }
    }

    fn push(&mut self, out: &mut impl Write, row: LogRow) -> std::io::Result<()> {
        match self.widths {
            Some(widths) => self.print(out, &widths, &row),
            None => {
                self.pending.push(row);
                if self.pending.len() >= LOG_MEASURED_ROWS {
                    self.flush(out)?;
                }
                Ok(())
            }
        }
    }

    /// Measures the rows held so far, prints the header and them.
    fn flush(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        let mut widths = LOG_COLUMNS.map(format::width);
        for row in &self.pending {
            for (w, cell) in widths.iter_mut().zip(&row.cells) {
                *w = (*w).max(format::width(cell).min(LOG_MAX_WIDTH));
            }
        }
        let header: Vec<String> = LOG_COLUMNS
            .iter()
            .zip(widths)
            .map(|(c, w)| format::pad_right(c, w))
            .collect();
        writeln!(
            out,
            "{}",
            self.style.bold(&format!("{}  entity", header.join("  ")))
        )?;
        self.widths = Some(widths);
        for row in std::mem::take(&mut self.pending) {
            self.print(out, &widths, &row)?;
        }
        Ok(())
    }

    fn print(
        &self,
        out: &mut impl Write,
        widths: &[usize; LOG_COLUMNS.len()],
        row: &LogRow,
    ) -> std::io::Result<()> {
        let mut line = String::new();
        for (i, (cell, w)) in row.cells.iter().zip(widths).enumerate() {
            let cell = format::pad_right(&format::truncate(cell, *w), *w);
            // The project stands out, as in the other tables.
            line.push_str(&if i == 4 { self.style.bold(&cell) } else { cell });
            line.push_str("  ");
        }
        line.push_str(&row.what);
        if row.write {
            line.push_str(&self.style.dim(" (write)"));
        }
        writeln!(out, "{line}")
    }

    fn finish(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self.widths.is_none() && self.pending.is_empty() {
            return writeln!(
                out,
                "{}",
                self.style.dim("no heartbeats or intervals in this range")
            );
        }
        if self.widths.is_none() {
            self.flush(out)?;
        }
        Ok(())
    }
}

fn local(cal: &Calendar, seconds: f64) -> String {
    cal.zoned(crate::model::seconds_to_ms(seconds))
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

const CSV_HEADER: &str = "time,entity,type,category,project,branch,language,is_write,lines,lineno,cursorpos,machine,editor,os,user_agent,source,dependencies,actor,ai_line_changes,human_line_changes,ai_session,ai_input_tokens,ai_output_tokens,ai_model";

pub fn export(
    ctx: &Context,
    range: RangeArgs,
    fmt: ExportFormat,
    output: Option<&Path>,
    stdout: &mut impl Write,
) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    let mut file;
    let sink: &mut dyn Write = match output {
        Some(p) => {
            file = std::fs::File::create(p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            &mut file
        }
        None => stdout,
    };
    let mut out = BufWriter::with_capacity(1 << 16, sink);
    if fmt == ExportFormat::Csv {
        writeln!(out, "{CSV_HEADER}")?;
    }
    let request = Request::Log {
        range: range_spec(&range),
        intervals: fmt == ExportFormat::Json,
    };
    client.stream(&request, |chunk| {
        let Response::LogChunk {
            heartbeats,
            intervals,
        } = chunk
        else {
            return Ok(());
        };
        for iv in intervals {
            let line = serde_json::to_string(&IntervalLine {
                interval: iv.interval,
            })
            .unwrap_or_default();
            writeln!(out, "{line}")?;
        }
        for h in heartbeats {
            match fmt {
                ExportFormat::Json => {
                    writeln!(out, "{}", serde_json::to_string(&h).unwrap_or_default())?
                }
                ExportFormat::Csv => writeln!(out, "{}", csv_row(&h))?,
            }
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn csv_row(h: &Heartbeat) -> String {
    let o = |v: &Option<String>| format::csv_field(v.as_deref().unwrap_or(""));
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    [
        format!("{:.3}", h.time),
        format::csv_field(&h.entity),
        h.entity_type.as_str().to_string(),
        format::csv_field(h.category.as_str()),
        o(&h.project),
        o(&h.branch),
        o(&h.language),
        h.is_write.to_string(),
        n(h.lines),
        n(h.lineno),
        n(h.cursorpos),
        o(&h.machine),
        o(&h.editor),
        o(&h.os),
        o(&h.user_agent),
        h.source.unwrap_or_default().as_str().to_string(),
        format::csv_field(&h.dependencies.join(";")),
        // New columns go last, so that readers of the older columns keep working.
        o(&h.actor),
        n(h.ai_line_changes),
        n(h.human_line_changes),
        o(&h.ai_session),
        n(h.ai_input_tokens),
        n(h.ai_output_tokens),
        o(&h.ai_model),
    ]
    .join(",")
}

/// One `heartbeats` request line holding the raw items.
fn batch_line(batch: &[Item], bytes: usize) -> String {
    let mut line = String::with_capacity(bytes + 64);
    line.push_str(&format!(
        r#"{{"v":{PROTOCOL_VERSION},"type":"heartbeats","source":"import","heartbeats":["#
    ));
    for (i, item) in batch.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        // A pretty-printed item spans lines; the protocol is one line per request. Raw
        // newlines can only be whitespace in JSON, so spaces are equivalent.
        if item.raw.contains(['\n', '\r']) {
            line.extend(
                item.raw
                    .chars()
                    .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
            );
        } else {
            line.push_str(&item.raw);
        }
    }
    line.push_str("]}\n");
    line
}

/// Bytes per request: well under the daemon's line limit.
const BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Rejections listed one by one; past this only counted.
const MAX_LISTED_ERRORS: usize = 50;

/// A manual interval to import, with its line.
type NumberedInterval = (usize, crate::model::Interval);

/// One item to import, with the line it starts on; owned only when editor/OS were added.
struct Item<'a> {
    line: usize,
    raw: Cow<'a, str>,
}

pub fn import(ctx: &Context, file: &Path) -> Result<ExitCode> {
    let bytes = read_input(file)?;
    if let Some(hint) = foreign_shape(&bytes, file) {
        bail!("{}: {hint}", file.display());
    }
    let mut errors: Vec<(usize, String)> = Vec::new();
    let (items, intervals) = split_items(&bytes, file, &mut errors)?;
    send_items(ctx, file, items, intervals, errors)
}

/// WakaTime's data dump: `{"user": …, "range": …, "days": [{"date": …, "heartbeats": […]}]}`.
pub fn import_wakatime(ctx: &Context, file: &Path) -> Result<ExitCode> {
    #[derive(serde::Deserialize)]
    struct Dump<'a> {
        #[serde(borrow)]
        days: Vec<DumpDay<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct DumpDay<'a> {
        #[serde(borrow, default)]
        heartbeats: Vec<&'a RawValue>,
    }
    let bytes = read_input(file)?;
    let text = utf8(&bytes, file)?;
    let dump: Dump = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}: not a WakaTime data dump ({{\"days\": [{{\"heartbeats\": […]}}]}}): {e}",
            file.display(),
            e.line()
        )
    })?;
    let mut lines = LineCounter::new(text);
    let mut agents = AgentCache::default();
    let items = dump
        .days
        .iter()
        .flat_map(|d| d.heartbeats.iter())
        .map(|raw| Item {
            line: lines.line_of(raw.get()),
            raw: agents.fill(raw.get()),
        })
        .collect();
    send_items(ctx, file, items, Vec::new(), Vec::new())
}

/// A file that is JSON but not what `tf import FILE` reads: what it is and the command that
/// reads it. Only the first value is parsed, so JSON lines cost one line here.
fn foreign_shape(bytes: &[u8], file: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        days: Option<serde::de::IgnoredAny>,
        data: Option<serde::de::IgnoredAny>,
        time: Option<serde::de::IgnoredAny>,
    }
    let text = bytes.trim_ascii_start();
    if !text.starts_with(b"{") {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let (days, data) = match serde::Deserialize::deserialize(&mut de) {
        Ok(Probe { days, data, time }) => (days.is_some(), data.is_some() && time.is_none()),
        // A dump cut short or with a bad item: still recognisable by its first key.
        Err(_) => {
            let head = String::from_utf8_lossy(&text[..text.len().min(64 * 1024)]);
            (
                head.contains("\"days\"") && head.contains("\"heartbeats\""),
                false,
            )
        }
    };
    if days {
        return Some(format!(
            "this is a WakaTime data dump ({{\"days\": [{{\"heartbeats\": […]}}]}}), not \
             heartbeats; import it with `tf import wakatime {}`",
            file.display()
        ));
    }
    if data {
        return Some(format!(
            "this is a WakaTime API answer ({{\"data\": […]}}), not heartbeats; import its \
             data array: `jq -c '.data[]' {} | tf import -`",
            file.display()
        ));
    }
    None
}

/// Editor, OS and AI model read from an item's `user_agent` as the HTTP API reads them, where the item
/// names neither; parses are cached, as a dump repeats a handful of agents.
#[derive(Default)]
struct AgentCache {
    parsed: HashMap<String, UserAgent>,
}

impl AgentCache {
    /// `raw` with `editor`/`os`/`ai_model` added when they are missing, null or empty and the user agent
    /// says; otherwise `raw` itself (most items: no copy). A malformed item is left for the
    /// daemon to reject with its precise error.
    fn fill<'a>(&mut self, raw: &'a str) -> Cow<'a, str> {
        if !raw.contains("\"user_agent\"") {
            return Cow::Borrowed(raw);
        }
        // The common case of both present: decided without parsing.
        // The model matters only for AI heartbeats, whose User-Agent names it.
        let wants_model =
            !raw.contains("\"ai_model\"") && (raw.contains("ai coding") || raw.contains("\"ai_"));
        if raw.contains("\"editor\"")
            && raw.contains("\"os\"")
            && !raw.contains("null")
            && !wants_model
        {
            return Cow::Borrowed(raw);
        }
        let Ok(mut item) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw)
        else {
            return Cow::Borrowed(raw);
        };
        let Some(ua) = item.get("user_agent").and_then(|v| v.as_str()) else {
            return Cow::Borrowed(raw);
        };
        let agent = self
            .parsed
            .entry(ua.to_string())
            .or_insert_with(|| crate::wakatime::user_agent::parse(ua))
            .clone();
        let mut changed = false;
        for (key, value) in [
            ("editor", agent.editor),
            ("os", agent.os),
            ("ai_model", agent.model),
        ] {
            let missing = item
                .get(key)
                .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
            if missing && let Some(value) = value {
                item.insert(key.to_string(), serde_json::Value::String(value));
                changed = true;
            }
        }
        match changed {
            true => serde_json::to_string(&item).map_or(Cow::Borrowed(raw), Cow::Owned),
            false => Cow::Borrowed(raw),
        }
    }
}

/// Line numbers of slices of one text, for slices handed out in order.
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, part: &str) -> usize {
        let at = (part.as_ptr() as usize)
            .saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len());
        if at >= self.offset {
            self.line += self.text[self.offset..at]
                .bytes()
                .filter(|&b| b == b'\n')
                .count();
            self.offset = at;
        }
        self.line
    }
}

/// Sends items in size-bounded batches, then intervals, and reports per-line rejections.
fn send_items(
    ctx: &Context,
    file: &Path,
    items: Vec<Item>,
    intervals: Vec<NumberedInterval>,
    mut errors: Vec<(usize, String)>,
) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    let (mut accepted, mut duplicates) = (0usize, 0usize);
    let progress = if std::io::IsTerminal::is_terminal(&std::io::stderr()) && items.len() > 20_000 {
        let bar = indicatif::ProgressBar::new(items.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "importing {bar:40} {pos}/{len} heartbeats ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    // Two batches in flight: the daemon parses one while the previous one commits, and this
    // process builds the next meanwhile.
    let mut in_flight: std::collections::VecDeque<(usize, usize)> = Default::default();
    let mut start = 0;
    while start < items.len() || !in_flight.is_empty() {
        if start < items.len() && in_flight.len() < 2 {
            // Batch by size, so that long entities never push a line over the limit.
            let mut end = start;
            let mut bytes = 0;
            while end < items.len() && (end == start || bytes + items[end].raw.len() < BATCH_BYTES)
            {
                bytes += items[end].raw.len() + 1;
                end += 1;
            }
            client.send_raw(&batch_line(&items[start..end], bytes))?;
            in_flight.push_back((start, end));
            start = end;
            continue;
        }
        let Some((first, end)) = in_flight.pop_front() else {
            break;
        };
        let batch = &items[first..end];
        match client.receive()? {
            Response::Stored {
                accepted: a,
                duplicates: d,
                errors: errs,
                ..
            } => {
                accepted += a;
                duplicates += d;
                for e in errs {
                    let line = batch.get(e.index).map_or(0, |i| i.line);
                    errors.push((line, e.error));
                }
            }
            Response::Error { message, .. } => {
                bail!("import stopped at line {}: {message}", batch[0].line)
            }
            other => bail!("unexpected answer to heartbeats: {other:?}"),
        }
        progress.inc(batch.len() as u64);
    }
    progress.finish_and_clear();
    let mut added_intervals = 0;
    for (line, iv) in intervals {
        match client.request(&Request::AddInterval { interval: iv }) {
            Ok(_) => added_intervals += 1,
            Err(crate::client::ClientError::Daemon { message, .. }) => errors.push((line, message)),
            Err(e) => return Err(e.into()),
        }
    }
    errors.sort_by_key(|e| e.0);
    for (line, e) in errors.iter().take(MAX_LISTED_ERRORS) {
        eprintln!("{}:{line}: {e}", file.display());
    }
    if errors.len() > MAX_LISTED_ERRORS {
        eprintln!(
            "… and {} more rejected rows",
            errors.len() - MAX_LISTED_ERRORS
        );
    }
    eprintln!(
        "imported {accepted} heartbeats ({duplicates} already present, {} rejected){}",
        errors.len(),
        if added_intervals > 0 {
            format!(", {added_intervals} intervals")
        } else {
            String::new()
        }
    );
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_input(file: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    Ok(bytes)
}

/// The whole input as text (a JSON document must be UTF-8 throughout).
fn utf8<'a>(bytes: &'a [u8], file: &Path) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        anyhow::anyhow!("{}:{line}: not UTF-8 text", file.display())
    })
}

/// Splits the input into heartbeat items (kept as raw JSON) and manual intervals, recording
/// lines that are not JSON as errors. Accepts a JSON array or JSON lines.
fn split_items<'a>(
    bytes: &'a [u8],
    file: &Path,
    errors: &mut Vec<(usize, String)>,
) -> Result<(Vec<Item<'a>>, Vec<NumberedInterval>)> {
    let mut items = Vec::new();
    let mut intervals = Vec::new();
    let mut agents = AgentCache::default();
    let mut take = |line: usize, raw: &'a str, errors: &mut Vec<(usize, String)>| {
        if raw.len() > MAX_MESSAGE_BYTES / 2 {
            errors.push((
                line,
                format!(
                    "item is {} bytes long (at most {})",
                    raw.len(),
                    MAX_MESSAGE_BYTES / 2
                ),
            ));
        } else if raw.trim_start().starts_with("{\"interval\"") {
            match serde_json::from_str::<IntervalLine>(raw) {
                Ok(iv) => intervals.push((line, iv.interval)),
                Err(e) => errors.push((line, format!("interval: {e}"))),
            }
        } else if raw.contains("\"source\"") {
            // TimeForged's own export: kept as recorded, so export → import is exact.
            items.push(Item {
                line,
                raw: Cow::Borrowed(raw),
            });
        } else {
            items.push(Item {
                line,
                raw: agents.fill(raw),
            });
        }
    };
    if bytes.trim_ascii_start().starts_with(b"[") {
        let text = utf8(bytes, file)?;
        let all: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!("line {}: not a JSON array of heartbeats: {e}", e.line())
        })?;
        let mut lines = LineCounter::new(text);
        for raw in all {
            take(lines.line_of(raw.get()), raw.get(), errors);
        }
    } else {
        // JSON lines: each line stands alone, so one bad line costs only itself.
        for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
            let Ok(l) = std::str::from_utf8(l) else {
                errors.push((i + 1, "not UTF-8 text".to_string()));
                continue;
            };
            let trimmed = l.trim();
            if trimmed.is_empty() {
                continue;
            }
            match serde_json::from_str::<&RawValue>(trimmed) {
                Ok(raw) => take(i + 1, raw.get(), errors),
                Err(e) => errors.push((i + 1, format!("not JSON: {e}"))),
            }
        }
    }
    Ok((items, intervals))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VSCODE: &str =
        "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2";

    #[test]
    fn user_agents_fill_only_what_is_missing() {
        let mut cache = AgentCache::default();
        let fill = |cache: &mut AgentCache, raw: &str| -> serde_json::Value {
            serde_json::from_str(&cache.fill(raw)).unwrap()
        };
        let h = fill(
            &mut cache,
            &format!(r#"{{"time":1,"user_agent":"{VSCODE}"}}"#),
        );
        assert_eq!(
            (&h["editor"], &h["os"]),
            (&"VS Code".into(), &"Linux".into())
        );
        let h = fill(
            &mut cache,
            &format!(r#"{{"time":1,"user_agent":"{VSCODE}","editor":"Cursor","os":null}}"#),
        );
        assert_eq!(
            (&h["editor"], &h["os"]),
            (&"Cursor".into(), &"Linux".into())
        );
        let h = fill(
            &mut cache,
            &format!(r#"{{"user_agent":"{VSCODE}","editor":""}}"#),
        );
        assert_eq!(h["editor"], "VS Code");
        assert_eq!(cache.parsed.len(), 1, "parsed once");
        // Nothing to read, or nothing missing: the text is passed on as it is.
        for raw in [
            r#"{"time":1,"entity":"a"}"#,
            r#"{"time":1,"user_agent":null}"#,
            r#"{"time":1,"user_agent":"unknown"}"#,
            r#"{"time":1,"user_agent":"x","editor":"vim","os":"Linux"}"#,
            r#"{"time":"#,
        ] {
            assert!(
                matches!(cache.fill(raw), Cow::Borrowed(r) if r == raw),
                "{raw}"
            );
        }
    }

    #[test]
    fn foreign_files_are_recognised_by_their_first_value() {
        let file = Path::new("d.json");
        let hint = |text: &str| foreign_shape(text.as_bytes(), file);
        let dump = hint(r#"{"user": {}, "days": [{"date": "2026-01-01", "heartbeats": []}]}"#);
        assert!(dump.unwrap().contains("`tf import wakatime d.json`"));
        let cut = hint("{\n  \"user\": {},\n  \"days\": [{\"heartbeats\": [{\"time\": 1,");
        assert!(cut.unwrap().contains("WakaTime data dump"));
        let api = hint(r#"{"data": [{"time": 1, "entity": "a"}]}"#);
        assert!(api.unwrap().contains("jq"));
        // Heartbeats, as JSON lines or an array, are not foreign; nor is a heartbeat that
        // happens to carry a `data` field.
        assert_eq!(
            hint("{\"time\": 1, \"entity\": \"a\"}\n{\"time\": 2}\n"),
            None
        );
        assert_eq!(hint(r#"[{"time": 1, "entity": "a"}]"#), None);
        assert_eq!(hint(r#"{"time": 1, "entity": "a", "data": 3}"#), None);
        assert_eq!(hint(""), None);
    }
}

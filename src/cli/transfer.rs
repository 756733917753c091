//! Moving data in and out: `tf log`, `tf export` (JSON lines or CSV) and `tf import` (JSON array
//! or JSON lines, validated item by item, bad rows reported with their line number).

use super::args::{ExportFormat, RangeArgs};
use super::{Context, format, range_spec};
use crate::calendar::Calendar;
use crate::model::{Heartbeat, MAX_MESSAGE_BYTES};
use crate::protocol::{LoggedInterval, PROTOCOL_VERSION, Request, Response};
use anyhow::{Context as _, Result, bail};
use serde_json::value::RawValue;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// An exported manual interval, one per line beside the heartbeats: `{"interval": {...}}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct IntervalLine {
    interval: crate::model::Interval,
}

pub fn log(ctx: &Context, range: RangeArgs, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let cal = Calendar::system();
    let mut client = ctx.client()?;
    let request = Request::Log {
        range: range_spec(&range),
        intervals: !json,
    };
    let mut out = BufWriter::new(out);
    let mut intervals: Vec<LoggedInterval> = Vec::new();
    let mut first = true;
    if json {
        write!(out, "[")?;
    }
    let style = format::Style::detect();
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
            if json {
                let sep = if first { "\n" } else { ",\n" };
                first = false;
                write!(
                    out,
                    "{sep}{}",
                    serde_json::to_string(&h).unwrap_or_default()
                )?;
                continue;
            }
            // Intervals are few: print each before the first heartbeat after its start.
            while intervals
                .first()
                .is_some_and(|iv| iv.interval.start <= h.time)
            {
                print_interval(&mut out, &cal, &intervals.remove(0), style)?;
            }
            print_heartbeat(&mut out, &cal, &h, style)?;
        }
        Ok(())
    })?;
    if json {
        writeln!(out, "{}]", if first { "" } else { "\n" })?;
    } else {
        for iv in &intervals {
            print_interval(&mut out, &cal, iv, style)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn local(cal: &Calendar, seconds: f64) -> String {
    cal.zoned(crate::model::seconds_to_ms(seconds))
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn print_heartbeat(
    out: &mut impl Write,
    cal: &Calendar,
    h: &Heartbeat,
    style: format::Style,
) -> std::io::Result<()> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "{}  {:<7} {:<14} {:<8} {} {} {} {}{}",
        local(cal, h.time),
        h.entity_type.as_str(),
        h.category.as_str(),
        h.source.unwrap_or_default().as_str(),
        style.bold(&dash(&h.project)),
        dash(&h.branch),
        dash(&h.language),
        h.entity,
        if h.is_write {
            style.dim(" (write)")
        } else {
            String::new()
        }
    )
}

fn print_interval(
    out: &mut impl Write,
    cal: &Calendar,
    iv: &LoggedInterval,
    style: format::Style,
) -> std::io::Result<()> {
    let i = &iv.interval;
    writeln!(
        out,
        "{}  {:<7} {:<14} {:<8} {} {} → {} ({}){}",
        local(cal, i.start),
        "manual",
        i.category.as_str(),
        "manual",
        style.bold(&i.project),
        i.branch.as_deref().unwrap_or("-"),
        local(cal, i.end),
        format::duration(i.end - i.start),
        i.note
            .as_deref()
            .map(|n| format!(" — {n}"))
            .unwrap_or_default()
    )
}

const CSV_HEADER: &str = "time,entity,type,category,project,branch,language,is_write,lines,lineno,cursorpos,machine,editor,os,user_agent,source,dependencies";

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
            line.push_str(item.raw);
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

/// One item to import, with the line it starts on.
struct Item<'a> {
    line: usize,
    raw: &'a str,
}

pub fn import(ctx: &Context, file: &Path) -> Result<ExitCode> {
    let bytes = read_input(file)?;
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
    let items = dump
        .days
        .iter()
        .flat_map(|d| d.heartbeats.iter())
        .map(|raw| Item {
            line: lines.line_of(raw.get()),
            raw: raw.get(),
        })
        .collect();
    send_items(ctx, file, items, Vec::new(), Vec::new())
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
        } else {
            items.push(Item { line, raw });
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

//! `tf intervals [rm|edit]` and `tf forget`: seeing and correcting what was recorded.

use super::args::{EditIntervalArgs, ForgetArgs, IntervalsCommand, RangeArgs};
use super::format::{self, Style, print_table};
use super::{Context, daemon_calendar, print_json, range_spec, resolve_time};
use crate::calendar::Calendar;
use crate::client::Client;
use crate::model::{Category, Interval, ms_to_seconds, seconds_to_ms};
use crate::protocol::{IntervalChange, IntervalEdited, LoggedInterval, Request, Response};
use crate::report::RangeSpec;
use crate::report::range::Edge;
use anyhow::{Context as _, Result, bail};
use std::io::Write;
use std::process::ExitCode;

pub fn intervals(
    ctx: &Context,
    action: Option<IntervalsCommand>,
    range: RangeArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    match action {
        None => list(ctx, range, json, out),
        Some(IntervalsCommand::Rm { id }) => {
            let mut client = ctx.client()?;
            let cal = daemon_calendar(&mut client)?;
            send_change(&mut client, &cal, id, IntervalChange::Remove, out)
        }
        Some(IntervalsCommand::Edit(args)) => edit(ctx, *args, out),
    }
}

fn list(ctx: &Context, range: RangeArgs, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    let cal = daemon_calendar(&mut client)?;
    let Response::Intervals { intervals } = client.request(&Request::Intervals {
        range: range_spec(&range),
    })?
    else {
        bail!("unexpected answer to intervals")
    };
    if json {
        return print_json(out, &intervals);
    }
    if intervals.is_empty() {
        writeln!(
            out,
            "{}",
            Style::detect().dim("no manual intervals in this range")
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = intervals.iter().map(|iv| row(&cal, iv)).collect();
    print_table(
        out,
        &[
            "id", "from", "to", "duration", "project", "branch", "category", "note",
        ],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn row(cal: &Calendar, LoggedInterval { id, interval: i }: &LoggedInterval) -> Vec<String> {
    let (from, to) = span(cal, i);
    vec![
        format!("#{id}"),
        from,
        to,
        format::duration(i.end - i.start),
        i.project.clone(),
        i.branch.clone().unwrap_or_else(|| "-".into()),
        i.category.as_str().to_string(),
        i.note.clone().unwrap_or_default(),
    ]
}

/// Start and end in the daemon's zone; the end's date only when it is another day.
pub(super) fn span(cal: &Calendar, i: &Interval) -> (String, String) {
    let at = |s: f64| {
        cal.zoned(seconds_to_ms(s))
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let (from, to) = (at(i.start), at(i.end));
    let to = match to.split_once(' ') {
        Some((date, time)) if from.starts_with(date) => time.to_string(),
        _ => to,
    };
    (from, to)
}

fn edit(ctx: &Context, a: EditIntervalArgs, out: &mut impl Write) -> Result<ExitCode> {
    if a.project.is_none()
        && a.from.is_none()
        && a.to.is_none()
        && a.note.is_none()
        && a.branch.is_none()
        && a.category.is_none()
    {
        bail!("nothing to change: give --project, --from, --to, --note, --branch or --category");
    }
    let category = a
        .category
        .as_deref()
        .map(|c| Category::parse(c).with_context(|| format!("--category {c:?}: unknown category")))
        .transpose()?;
    // Times in the daemon's zone, as `tf add` reads them.
    let mut client = ctx.client()?;
    let cal = daemon_calendar(&mut client)?;
    let now = crate::calendar::now_ms();
    let time = |arg, spec: &Option<_>, edge| -> Result<Option<f64>> {
        spec.as_ref()
            .map(|s| resolve_time(arg, s, &cal, now, edge).map(ms_to_seconds))
            .transpose()
    };
    let change = IntervalChange::Edit {
        project: a.project,
        start: time("--from", &a.from, Edge::Start)?,
        end: time("--to", &a.to, Edge::End)?,
        branch: a.branch,
        category,
        note: a.note,
    };
    send_change(&mut client, &cal, a.id, change, out)
}

fn send_change(
    client: &mut Client,
    cal: &Calendar,
    id: i64,
    change: IntervalChange,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let answer = client.request(&Request::EditInterval { id, change })?;
    let Response::IntervalEdited(edited) = answer else {
        bail!("unexpected answer to intervals: {answer:?}")
    };
    let IntervalEdited { id, old, new } = *edited;
    let describe = |i: &Interval| {
        let (from, to) = span(cal, i);
        format!(
            "{} {} ({from} → {to})",
            i.project,
            format::duration(i.end - i.start)
        )
    };
    match new {
        None => writeln!(out, "removed interval #{id}: {}", describe(&old))?,
        Some(new) => writeln!(
            out,
            "changed interval #{id}: {}\n                  now: {}",
            describe(&old),
            describe(&new)
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn forget(ctx: &Context, a: ForgetArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut range = range_spec(&a.range);
    if range == RangeSpec::default() {
        range.name = Some("all".into());
    }
    let mut client = ctx.client()?;
    let cal = daemon_calendar(&mut client)?;
    let answer = client.request(&Request::Forget {
        project: a.project.clone(),
        entity: a.entity.clone(),
        range,
        apply: a.yes,
    })?;
    let Response::Forgotten(found) = answer else {
        bail!("unexpected answer to forget: {answer:?}")
    };
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            deleted: bool,
            #[serde(flatten)]
            found: &'a crate::store::Forgotten,
        }
        return print_json(
            out,
            &Out {
                deleted: a.yes,
                found: &found,
            },
        );
    }
    let what = match (&a.project, &a.entity) {
        (Some(p), Some(e)) => format!("of project {p} on files matching {e}"),
        (Some(p), None) => format!("of project {p}"),
        (None, Some(e)) => format!("on files matching {e}"),
        (None, None) => unreachable!("clap requires one"),
    };
    let day = |ms: i64| cal.zoned(ms).strftime("%Y-%m-%d %H:%M").to_string();
    let when = match (found.first_ms, found.last_ms) {
        (Some(a), Some(b)) => format!(" ({} → {})", day(a), day(b)),
        _ => String::new(),
    };
    let n = found.heartbeats;
    if a.yes {
        writeln!(out, "forgot {n} heartbeats {what}{when}")?;
    } else if n == 0 {
        writeln!(out, "no heartbeats {what} in this range")?;
    } else {
        writeln!(
            out,
            "would forget {n} heartbeats {what}{when}; run again with --yes to delete them"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

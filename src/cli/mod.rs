//! `tf`'s commands: each turns its arguments into protocol requests and prints the answer.
//! The binary only parses arguments and calls [`run`].

pub mod admin;
pub mod agent;
pub mod args;
mod claude;
mod corrections;
mod dash;
pub mod doctor;
mod focus;
pub mod format;
mod git;
mod git_report;
mod hook;
mod lanes;
mod manual;
mod prompt;
pub mod service;
mod setup;
mod sync;
mod transfer;
mod web;

use crate::calendar::Calendar;
use crate::client::{Client, ClientError, start_daemon, stop_daemon};
use crate::config::Config;
use crate::model::{Category, EntityType, Heartbeat, Interval, Source};
use crate::paths::Paths;
use crate::protocol::{Request, Response, StatusInfo};
use crate::report::range::{Edge, TimeSpec};
use crate::report::{Dim, Filters, RangeSpec, Report, Session};
use anyhow::{Context as _, Result, bail};
pub use args::Cli;
use args::{AddArgs, Command, ConfigAction, DaemonAction, HeartbeatArgs, RangeArgs, ReportArgs};
use format::Style;
use std::io::Write;
use std::process::ExitCode;

/// Where things are and how they are configured, for one invocation.
pub struct Context {
    pub paths: Paths,
    pub config: Config,
    /// Why the config file could not be used (only for the commands that go on without it:
    /// `tf status`, `tf doctor`, `tf daemon …`); the settings are then the defaults and the
    /// variables.
    pub config_error: Option<String>,
}

impl Context {
    pub fn load() -> Result<Context> {
        let mut paths = Paths::from_env()?;
        let (config, file) =
            crate::config::load_found(&paths.config_file, crate::config::env_vars())?;
        paths.config_file = file;
        let paths = paths.with_overrides(
            config.daemon.socket.as_deref(),
            config.storage.database.as_deref(),
        );
        Ok(Context {
            paths,
            config,
            config_error: None,
        })
    }

    /// [`Context::load`], going on with the defaults (and the variables) when the config file
    /// is bad, so that `tf status` can say what the running daemon makes of it.
    pub fn load_lenient() -> Result<Context> {
        match Context::load() {
            Ok(ctx) => Ok(ctx),
            Err(e) => {
                let mut paths = Paths::from_env()?;
                paths.config_file = crate::config::find_file(&paths.config_file)
                    .unwrap_or(paths.config_file.clone());
                let config =
                    Config::from_toml_str("", &paths.config_file, crate::config::env_vars())
                        .unwrap_or_default();
                let paths = paths.with_overrides(
                    config.daemon.socket.as_deref(),
                    config.storage.database.as_deref(),
                );
                Ok(Context {
                    paths,
                    config,
                    config_error: Some(format!("{e:#}")),
                })
            }
        }
    }

    /// Connects to the daemon (starting it when needed) and says on stderr where its settings
    /// differ from this `tf`'s.
    pub fn client(&self) -> Result<Client, ClientError> {
        let mut client = Client::connect_or_start(&self.paths, &self.config)?;
        if self.config_error.is_none() {
            for note in doctor::settings_notes(self, &mut client) {
                eprintln!("tf: note: {note}");
            }
        }
        Ok(client)
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    // Hooks run on every prompt: no config errors, no output, no autostart.
    let cli = match cli.command {
        Command::Hook(args) => return Ok(hook::hook(args)),
        // An agent's hook: no config errors, no output, no daemon, exit 0 whatever happens.
        Command::Agent {
            action: args::AgentCommand::Event(args),
        } => return Ok(agent::event(args)),
        Command::Init { shell } => return hook::init(shell, &mut std::io::stdout().lock()),
        // Git hooks need neither the config nor the daemon (and must never fail a commit).
        Command::Git { action } => return git::run(action, &mut std::io::stdout().lock()),
        // Man pages are embedded; installing them needs no config.
        Command::Man {
            action: args::ManAction::Install { dir },
        } => return manual::install(dir.as_deref(), &mut std::io::stdout().lock()),
        Command::Completions { shell } => {
            return manual::completions(shell, &mut std::io::stdout().lock());
        }
        _ => cli,
    };
    // These go on with a bad config file, to say what the daemon makes of it.
    let lenient = matches!(
        cli.command,
        Command::Status { .. } | Command::Doctor { .. } | Command::Daemon { .. }
    );
    let ctx = match lenient {
        true => Context::load_lenient()?,
        false => Context::load()?,
    };
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Status {
            format: Some(template),
            ..
        } => prompt::status_format(&ctx, &template, out),
        Command::Status { json, .. } => status(&ctx, json, out),
        Command::Report(args) => report(&ctx, args, out),
        Command::Sessions { range, json } => sessions(&ctx, range, json, out),
        Command::Log { range, json } => transfer::log(&ctx, range, json, out),
        Command::Branches {
            range,
            project,
            json,
        } => git_report::branches(&ctx, range, project, json, out),
        Command::Commits {
            range,
            project,
            branch,
            json,
        } => git_report::commits(&ctx, range, project, branch, json, out),
        Command::Watch { action } => git_report::watch(&ctx, action, out),
        Command::Sync { action } => sync::run(&ctx, action, out).map(|()| ExitCode::SUCCESS),
        Command::Dash => dash::dash(&ctx),
        Command::Web { print } => web::web(&ctx, print, out),
        Command::Heartbeat(args) => heartbeat(&ctx, args),
        Command::Add(args) => add(&ctx, args, out),
        Command::Intervals {
            action,
            range,
            json,
        } => corrections::intervals(&ctx, action, range, json, out),
        Command::Forget(args) => corrections::forget(&ctx, args, out),
        Command::Import { kind_or_file, file } => match file {
            Some(dump) if kind_or_file.as_os_str() == "wakatime" => {
                transfer::import_wakatime(&ctx, &dump)
            }
            Some(_) => bail!(
                "unknown import kind {:?} (expected `tf import FILE` or `tf import wakatime FILE`)",
                kind_or_file
            ),
            None => transfer::import(&ctx, &kind_or_file),
        },
        Command::Apikey => setup::apikey(&ctx, out),
        Command::Setup {
            target: args::SetupTarget::Wakatime { dry_run, undo },
        } => setup::setup_wakatime(&ctx, dry_run, undo, out),
        Command::Setup {
            target: args::SetupTarget::ClaudeCode { dry_run, undo },
        } => claude::setup(dry_run, undo, out),
        Command::Focus { action } => focus::run(&ctx, action, out),
        Command::Export {
            range,
            format,
            output,
        } => transfer::export(&ctx, range, format, output.as_deref(), out),
        Command::Daemon { action } => daemon(&ctx, action, out),
        Command::Doctor { json } => doctor::doctor(&ctx, json, out),
        Command::Config { action } => config(&ctx, action, out),
        Command::Complete { what } => manual::complete(&ctx, what, out),
        Command::Hook(_)
        | Command::Agent { .. }
        | Command::Init { .. }
        | Command::Git { .. }
        | Command::Man { .. }
        | Command::Completions { .. } => {
            unreachable!("handled above")
        }
    }
}

fn range_spec(r: &RangeArgs) -> RangeSpec {
    RangeSpec {
        name: r.range.clone(),
        from: r.from.clone(),
        to: r.to.clone(),
    }
}

fn print_json<T: serde::Serialize>(out: &mut impl Write, value: &T) -> Result<ExitCode> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

fn status(ctx: &Context, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    if let Some(e) = &ctx.config_error {
        eprintln!(
            "tf: {e}\ntf: note: the daemon keeps the settings it loaded before (see `config` \
             in the status)"
        );
    }
    let mut client = ctx.client()?;
    let Response::Status(info) = client.request(&Request::Status)? else {
        bail!("unexpected answer to status")
    };
    if json {
        return print_json(out, &info);
    }
    print_status(&info, Style::detect(), out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_status(info: &StatusInfo, style: Style, out: &mut impl Write) -> Result<()> {
    // The daemon's zone by name: finding the system zone's name walks all of zoneinfo, which
    // would be most of `tf status`'s time.
    let cal = jiff::tz::TimeZone::get(&info.timezone)
        .map(Calendar::new)
        .unwrap_or_else(|_| Calendar::system());
    writeln!(
        out,
        "{} {} · pid {} · up {}",
        style.bold("timeforged"),
        info.version,
        info.pid,
        format::duration(info.uptime_seconds)
    )?;
    writeln!(
        out,
        "today      {}",
        style.bold(&format::duration(info.today_seconds))
    )?;
    match &info.current {
        Some(c) => {
            let what = [
                c.project.as_deref(),
                c.branch.as_deref().map(|b| b.to_string()).as_deref(),
                c.language.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            let when = cal
                .zoned(crate::model::seconds_to_ms(c.time))
                .strftime("%H:%M")
                .to_string();
            let state = if c.active {
                style.accent("active")
            } else {
                style.dim(&format!("idle since {when}"))
            };
            writeln!(
                out,
                "current    {} ({state})",
                if what.is_empty() {
                    c.entity.clone()
                } else {
                    what
                }
            )?;
        }
        None => writeln!(out, "current    {}", style.dim("no heartbeats yet"))?,
    }
    if let Some(f) = &info.focus {
        writeln!(out, "focus      {}", focus::line(f, &cal, style))?;
    }
    for a in &info.agents {
        let now = crate::calendar::now_seconds();
        let state = match a.working_since {
            Some(since) => style.accent(&format!("working for {}", format::duration(now - since))),
            None => style.dim(&format!("idle for {}", format::duration(now - a.last_seen))),
        };
        let project = a
            .project
            .as_deref()
            .map(|p| format!(" · {p}"))
            .unwrap_or_default();
        writeln!(out, "agent      {} · {state}{project}", a.agent)?;
    }
    writeln!(out, "heartbeats {}", info.heartbeats)?;
    match (&info.http, &info.http_error) {
        (Some(addr), _) => writeln!(out, "http       http://{addr}/api/v1 (WakaTime-compatible)")?,
        (None, Some(e)) => writeln!(
            out,
            "http       {}",
            style.bold(&format!("not listening: {e}"))
        )?,
        (None, None) => writeln!(out, "http       disabled")?,
    }
    if info.shells.is_empty() {
        writeln!(
            out,
            "shells     {}",
            style.dim("none seen in the last hour (eval \"$(tf init zsh)\" in ~/.zshrc)")
        )?;
    }
    for s in &info.shells {
        let running = match (&s.running, s.running_since) {
            (Some(cmd), Some(since)) => {
                let secs = crate::calendar::now_seconds() - since;
                format!(" · running {cmd} for {}", format::duration(secs))
            }
            _ => String::new(),
        };
        let tty = s
            .tty
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default();
        writeln!(out, "shell      {} pid {}{tty}{running}", s.shell, s.pid)?;
    }
    if info.spool.pending_bytes > 0 {
        writeln!(
            out,
            "spool      {} bytes of shell events waiting (stored as soon as the daemon can)",
            info.spool.pending_bytes
        )?;
    }
    if info.spool.dropped > 0 {
        writeln!(
            out,
            "spool      {}",
            style.bold(&format!(
                "{} shell events were dropped: the spool outgrew shell.spool_max_bytes while the daemon was down",
                info.spool.dropped
            ))
        )?;
    }
    if info.watch.is_empty() {
        writeln!(
            out,
            "watching   {}",
            style.dim("nothing (tf watch add ~/code tracks the files you save)")
        )?;
    }
    for r in &info.watch {
        let summary = git_report::root_summary(r);
        let summary = match r.error {
            Some(_) => style.bold(&summary),
            None => summary,
        };
        writeln!(out, "watching   {} · {summary}", r.path)?;
    }
    if let Some(limit) = &info.watch_limit {
        writeln!(out, "watching   {}", style.bold(limit))?;
    }
    if let Some(id) = &info.machine_id {
        let name = info.machine.as_deref().unwrap_or("(no host name)");
        writeln!(out, "machine    {name} · {id}")?;
    }
    let now = crate::calendar::now_seconds();
    for t in &info.sync {
        let state = match (&t.last_error, t.last_success) {
            (Some(e), _) => style.bold(&format!("error: {e}")),
            (None, Some(s)) => format!("synced {} ago", format::duration((now - s).max(0.0))),
            (None, None) => "not synced yet".into(),
        };
        writeln!(
            out,
            "{:<10} {} · {state} · {} waiting",
            t.name, t.url, t.pending
        )?;
    }
    writeln!(out, "database   {}", info.database)?;
    writeln!(
        out,
        "timezone   {} · timeout {} min",
        info.timezone, info.timeout_minutes
    )?;
    let at = |seconds: f64, format: &str| {
        cal.zoned(crate::model::seconds_to_ms(seconds))
            .strftime(format)
            .to_string()
    };
    if let Some(c) = &info.config {
        match &c.error {
            Some(e) => writeln!(
                out,
                "config     {}",
                style.bold(&format!(
                    "{e} — the daemon keeps the settings it loaded at {}",
                    at(c.loaded_at, "%H:%M")
                ))
            )?,
            None => writeln!(
                out,
                "config     {} · loaded {}",
                c.file,
                at(c.loaded_at, "%H:%M")
            )?,
        }
        if !c.restart_needed.is_empty() {
            writeln!(
                out,
                "config     {}",
                style.bold(&format!(
                    "{} changed: restart the daemon to apply it ({})",
                    c.restart_needed.join(", "),
                    doctor::restart_command()
                ))
            )?;
        }
    }
    if let Some(by) = &info.started_by {
        writeln!(out, "daemon     started by {by} (socket activation)")?;
    }
    if let Some(d) = &info.down_before_start {
        let fix = match service::installed_manager() {
            Some(_) => String::new(),
            None => " (`tf daemon install` starts it at login and after a crash)".to_string(),
        };
        writeln!(
            out,
            "daemon     {}",
            style.bold(&format!(
                "was not running for {} before this start ({} → {}): file saves then were not \
                 recorded{fix}",
                format::duration((d.to - d.from).max(0.0)),
                at(d.from, "%Y-%m-%d %H:%M"),
                at(d.to, "%Y-%m-%d %H:%M"),
            ))
        )?;
    }
    Ok(())
}

fn report(ctx: &Context, args: ReportArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut by: Vec<Dim> = Vec::new();
    for dim in args.by.iter().flat_map(|list| list.0.iter()) {
        if !by.contains(dim) {
            by.push(*dim);
        }
    }
    // The same default in every format: JSON and CSV readers expect the breakdown too. The
    // lane view alone (`--ai`) is a breakdown of its own.
    if by.is_empty() && !args.ai {
        by.push(Dim::Project);
    }
    let filters = Filters {
        project: args.project,
        branch: args.branch,
        language: args.language,
    };
    let request = Request::Report {
        range: range_spec(&args.range),
        by,
        filters: filters.clone(),
        timeout_minutes: args.timeout,
    };
    let mut client = ctx.client()?;
    let Response::Report(report) = client.request(&request)? else {
        bail!("unexpected answer to report")
    };
    let ai = if args.ai {
        let Response::Lanes(lanes) = client.request(&Request::Lanes {
            range: range_spec(&args.range),
            filters,
            timeout_minutes: args.timeout,
        })?
        else {
            bail!("unexpected answer to report --ai")
        };
        Some(lanes)
    } else {
        None
    };
    if args.json {
        return match &ai {
            Some(ai) => print_json(
                out,
                &lanes::WithLanes {
                    report: &report,
                    ai,
                },
            ),
            None => print_json(out, &report),
        };
    }
    if args.csv {
        writeln!(out, "dimension,name,seconds,percent")?;
        writeln!(out, "total,,{},100", report.total_seconds)?;
        for (dim, rows) in &report.by {
            for r in rows {
                writeln!(
                    out,
                    "{dim},{},{},{}",
                    format::csv_field(&r.name),
                    r.seconds,
                    r.percent
                )?;
            }
        }
        if let Some(ai) = &ai {
            lanes::csv(ai, out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    print_report(&report, Style::detect(), format::terminal_width(), out)?;
    if let Some(ai) = &ai {
        lanes::print(ai, Style::detect(), out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The human report: a header with the range and total, then one table per dimension.
pub fn print_report(
    report: &Report,
    style: Style,
    columns: usize,
    out: &mut impl Write,
) -> Result<()> {
    let show = |s: &str| s.get(..16).unwrap_or(s).replace('T', " ");
    writeln!(
        out,
        "{} → {}   total {}",
        show(&report.start),
        show(&report.end),
        style.bold(&format::duration(report.total_seconds))
    )?;
    for (dim, rows) in &report.by {
        writeln!(out)?;
        if rows.is_empty() {
            writeln!(
                out,
                "{}",
                style.dim(&format!("no {dim} time in this range"))
            )?;
            continue;
        }
        let name_w = rows
            .iter()
            .map(|r| format::width(&r.name))
            .max()
            .unwrap_or(0)
            .clamp(dim.len(), 40);
        let time_w = rows
            .iter()
            .map(|r| format::duration(r.seconds).len())
            .max()
            .unwrap_or(6)
            .max(6);
        let bar_w = columns.saturating_sub(name_w + time_w + 12).clamp(5, 40);
        let top = rows.iter().map(|r| r.seconds).fold(0.0, f64::max);
        writeln!(
            out,
            "{}",
            style.bold(&format!(
                "{}  {}  {:>6}",
                format::pad_right(&capitalize(dim), name_w),
                format::pad_left("time", time_w),
                "%"
            ))
        )?;
        for r in rows {
            let name = format::truncate(&r.name, name_w);
            writeln!(
                out,
                "{}  {}  {:>6.1}  {}",
                format::pad_right(&name, name_w),
                format::pad_left(&format::duration(r.seconds), time_w),
                r.percent,
                style.accent(&format::bar(
                    if top > 0.0 { r.seconds / top } else { 0.0 },
                    bar_w
                ))
            )?;
        }
    }
    Ok(())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn sessions(ctx: &Context, range: RangeArgs, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    let Response::Sessions { sessions } = client.request(&Request::Sessions {
        range: range_spec(&range),
    })?
    else {
        bail!("unexpected answer to sessions")
    };
    if json {
        let clean: Vec<Session> = sessions
            .into_iter()
            .map(|s| Session {
                start_ms: None,
                ..s
            })
            .collect();
        return print_json(out, &clean);
    }
    print_sessions(&sessions, Style::detect(), out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_sessions(sessions: &[Session], style: Style, out: &mut impl Write) -> Result<()> {
    if sessions.is_empty() {
        writeln!(out, "{}", style.dim("no sessions in this range"))?;
        return Ok(());
    }
    let pw = sessions
        .iter()
        .map(|s| format::width(&s.project))
        .max()
        .unwrap_or(7)
        .clamp(7, 30);
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{:<16}  {:<5}  {:>7}  {}  branch",
            "start",
            "end",
            "time",
            format::pad_right("project", pw)
        ))
    )?;
    for s in sessions {
        let start = s.start.get(..16).unwrap_or(&s.start).replace('T', " ");
        let end = s.end.get(11..16).unwrap_or(&s.end);
        writeln!(
            out,
            "{start:<16}  {end:<5}  {:>7}  {}  {}",
            format::duration(s.seconds),
            format::pad_right(&format::truncate(&s.project, pw), pw),
            s.branch
        )?;
    }
    let total: f64 = sessions.iter().map(|s| s.seconds).sum();
    writeln!(
        out,
        "{} sessions, {}",
        sessions.len(),
        style.bold(&format::duration(total))
    )?;
    Ok(())
}

fn heartbeat(ctx: &Context, a: HeartbeatArgs) -> Result<ExitCode> {
    let entity_type = EntityType::parse(&a.entity_type).with_context(|| {
        format!(
            "--type {:?}: expected file, app, domain, url or command",
            a.entity_type
        )
    })?;
    let source = Source::parse(&a.source).with_context(|| {
        format!(
            "--source {:?}: expected editor, shell, fs, git, manual, import or sync",
            a.source
        )
    })?;
    let category = match &a.category {
        Some(c) => Category::parse(c).with_context(|| {
            format!(
                "--category {c:?}: expected one of: {}",
                crate::model::CATEGORIES.join(", ")
            )
        })?,
        None if matches!(entity_type, EntityType::Domain | EntityType::Url) => Category::BROWSING,
        None => Category::CODING,
    };
    let mut entity = a.entity.to_str().map(str::to_string).with_context(|| {
        format!(
            "--entity {:?}: not valid UTF-8; TimeForged stores entities as text (rename the file or pass a UTF-8 name)",
            a.entity.to_string_lossy()
        )
    })?;
    let (mut project, mut branch, mut language) = (a.project, a.branch, a.language);
    if entity_type == EntityType::File {
        let path = std::path::absolute(&entity)
            .with_context(|| format!("--entity {entity:?}: not a usable path"))?;
        entity = path.to_string_lossy().into_owned();
        if project.is_none() || branch.is_none() {
            let info = crate::project::detect(&path);
            project = project.or(info.project);
            if branch.is_none() && project.is_some() {
                branch = info.branch;
            }
        }
        language =
            language.or_else(|| crate::project::language_for_path(&path).map(str::to_string));
    }
    let mut client = ctx.client()?;
    let now_ms = crate::calendar::now_ms();
    let time = match &a.time {
        None => now_ms,
        Some(spec) => {
            // Only wall-clock forms need the daemon's zone: scripts sending unix seconds or
            // RFC 3339 pay for no extra request.
            let cal = match spec.needs_zone() {
                true => daemon_calendar(&mut client)?,
                false => Calendar::new(jiff::tz::TimeZone::UTC),
            };
            resolve_time("--time", spec, &cal, now_ms, Edge::Start)?
        }
    };
    let now = crate::model::ms_to_seconds(now_ms);
    let mut h = Heartbeat::new(crate::model::ms_to_seconds(time), entity);
    h.entity_type = entity_type;
    h.category = category;
    h.project = project;
    h.branch = branch;
    h.language = language;
    h.is_write = a.write;
    h.lineno = a.lineno;
    h.lines = a.lines;
    h.machine = a.machine.or_else(crate::model::hostname);
    h.editor = a.editor;
    h.source = Some(source);
    h.validate(now).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let raw = serde_json::value::to_raw_value(&h)?;
    match client.request(&Request::Heartbeats {
        heartbeats: vec![raw],
        source: None,
    })? {
        Response::Stored { rejected: 0, .. } => Ok(ExitCode::SUCCESS),
        Response::Stored { errors, .. } => {
            bail!(
                "heartbeat rejected: {}",
                errors
                    .first()
                    .map(|e| e.error.as_str())
                    .unwrap_or("unknown reason")
            )
        }
        other => bail!("unexpected answer: {other:?}"),
    }
}

fn add(ctx: &Context, a: AddArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    // The daemon's zone, as for reports: `TZ=… tf add` and `tf report` agree on "09:30".
    let cal = daemon_calendar(&mut client)?;
    let now = crate::calendar::now_ms();
    let start =
        crate::model::ms_to_seconds(resolve_time("--from", &a.from, &cal, now, Edge::Start)?);
    let end = crate::model::ms_to_seconds(resolve_time("--to", &a.to, &cal, now, Edge::End)?);
    let category = match &a.category {
        Some(c) => {
            Category::parse(c).with_context(|| format!("--category {c:?}: unknown category"))?
        }
        None => Category::CODING,
    };
    let interval = Interval {
        start,
        end,
        project: a.project,
        branch: a.branch,
        category,
        note: a.note,
    };
    interval
        .validate(crate::model::ms_to_seconds(now))
        .map_err(|e| anyhow::anyhow!("--{e}"))?;
    let Response::IntervalAdded { id, existed } = client.request(&Request::AddInterval {
        interval: interval.clone(),
    })?
    else {
        bail!("unexpected answer to add")
    };
    let (from, to) = corrections::span(&cal, &interval);
    writeln!(
        out,
        "{} interval #{id}: {} {} ({from} → {to})",
        if existed { "already there:" } else { "added" },
        interval.project,
        format::duration(end - start),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `spec` as unix ms, or an error naming the argument.
fn resolve_time(
    arg: &str,
    spec: &TimeSpec,
    cal: &Calendar,
    now_ms: i64,
    edge: Edge,
) -> Result<i64> {
    spec.resolve(cal, now_ms, edge)
        .with_context(|| format!("{arg}: the time is out of range"))
}

/// The daemon's calendar, so that times without an offset mean what they mean in reports.
fn daemon_calendar(client: &mut Client) -> Result<Calendar> {
    let Response::Hello { timezone, .. } = client.request(&Request::Hello { client: None })? else {
        bail!("unexpected answer to hello")
    };
    calendar_named(&timezone)
}

/// A calendar for a zone as the daemon names it ([`Calendar::tz_name`]): an IANA name, or
/// `fixed:+05:00/+05:00` for a zone without one (a POSIX `TZ` string).
fn calendar_named(name: &str) -> Result<Calendar> {
    if let Ok(tz) = jiff::tz::TimeZone::get(name) {
        return Ok(Calendar::new(tz));
    }
    // Most often the daemon was started from this environment and shares its `TZ`.
    let system = Calendar::system();
    if system.tz_name() == name {
        return Ok(system);
    }
    if let Some((a, b)) = name.strip_prefix("fixed:").and_then(|r| r.split_once('/'))
        && a == b
        && let Some(offset) = parse_offset(a)
    {
        return Ok(Calendar::new(jiff::tz::TimeZone::fixed(offset)));
    }
    bail!(
        "the daemon's time zone {name:?} is not one this tf can use; give the time with an \
         offset (2026-12-01T09:30:00+01:00), as unix seconds, or relative (-2h)"
    )
}

/// `+05:00`, `-03:30`, `+05:30:15`.
fn parse_offset(s: &str) -> Option<jiff::tz::Offset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let mut seconds = 0i32;
    for (i, part) in rest.split(':').enumerate() {
        let n: i32 = part.parse().ok()?;
        seconds += n * [3600, 60, 1].get(i)?;
    }
    jiff::tz::Offset::from_seconds(sign * seconds).ok()
}

fn daemon(ctx: &Context, action: DaemonAction, out: &mut impl Write) -> Result<ExitCode> {
    match action {
        DaemonAction::Install {
            on_demand,
            no_enable,
        } => service::install(ctx, on_demand, no_enable, out),
        DaemonAction::Uninstall => service::uninstall(out),
        DaemonAction::Logs { lines, follow } => service::logs(ctx, lines, follow, out),
        DaemonAction::Start => {
            // An answer, not just a connection: with socket activation systemd accepts
            // connections before the daemon runs (this starts it).
            if answering(&ctx.paths.socket).is_some() {
                writeln!(out, "already running on {}", ctx.paths.socket.display())?;
            } else {
                start_daemon(&ctx.paths)?;
                writeln!(out, "started on {}", ctx.paths.socket.display())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DaemonAction::Stop => {
            if stop_daemon(&ctx.paths)? {
                writeln!(out, "stopped")?;
            } else {
                writeln!(out, "not running")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DaemonAction::Status => match Client::connect(&ctx.paths.socket) {
            Ok(mut c) => {
                let Response::Hello {
                    version,
                    pid,
                    protocol,
                    ..
                } = c.request(&Request::Hello {
                    client: Some("tf".into()),
                })?
                else {
                    bail!("unexpected answer to hello")
                };
                writeln!(
                    out,
                    "running · pid {pid} · version {version} · protocol {protocol} · {}",
                    ctx.paths.socket.display()
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Err(_) => {
                writeln!(out, "not running ({})", ctx.paths.socket.display())?;
                Ok(ExitCode::from(3))
            }
        },
    }
}

/// The pid of the daemon answering on `socket`.
fn answering(socket: &std::path::Path) -> Option<u32> {
    let mut c = Client::connect(socket).ok()?;
    match c.request(&Request::Hello {
        client: Some("tf".into()),
    }) {
        Ok(Response::Hello { pid, .. }) => Some(pid),
        _ => None,
    }
}

fn config(ctx: &Context, action: ConfigAction, out: &mut impl Write) -> Result<ExitCode> {
    match action {
        ConfigAction::Show => {
            write!(out, "{}", ctx.config.to_toml())?;
            // What the running daemon makes of it (never started just for this).
            if let Ok(mut client) = Client::connect(&ctx.paths.socket) {
                for note in doctor::settings_notes(ctx, &mut client) {
                    eprintln!("tf: note: {note}");
                }
            }
        }
        ConfigAction::Path => {
            let p = &ctx.paths;
            writeln!(out, "config    {}", p.config_file.display())?;
            writeln!(out, "database  {}", p.database.display())?;
            writeln!(out, "socket    {}", p.socket.display())?;
            writeln!(out, "log       {}", p.log.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;

    #[test]
    fn calendars_from_the_daemons_zone_names() {
        let t = jiff::Timestamp::from_second(1_764_581_400).unwrap();
        let offset = |cal: Calendar| cal.tz().to_offset(t).seconds();
        assert_eq!(offset(calendar_named("Europe/Berlin").unwrap()), 3600);
        assert_eq!(
            offset(calendar_named("fixed:+05:00/+05:00").unwrap()),
            18_000
        );
        assert_eq!(
            offset(calendar_named("fixed:-03:30/-03:30").unwrap()),
            -12_600
        );
        let e = calendar_named("fixed:+01:00/+02:00")
            .unwrap_err()
            .to_string();
        assert!(e.contains("offset") && e.contains("unix seconds"), "{e}");
        assert!(calendar_named("Mars/Olympus_Mons").is_err());
    }

    #[test]
    fn report_table_is_aligned_and_plain_without_color() {
        let report = Report {
            start: "2026-11-25T00:00:00+01:00".into(),
            end: "2026-11-26T00:00:00+01:00".into(),
            total_seconds: 3.0 * 3600.0 + 300.0,
            by: vec![(
                "project".into(),
                vec![
                    Row {
                        name: "timeforged".into(),
                        seconds: 3.0 * 3600.0,
                        percent: 97.3,
                    },
                    Row {
                        name: "日本".into(),
                        seconds: 300.0,
                        percent: 2.7,
                    },
                ],
            )],
        };
        let mut out = Vec::new();
        print_report(&report, Style { color: false }, 60, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "2026-11-25 00:00 → 2026-11-26 00:00   total 3h 05m"
        );
        assert_eq!(lines[2], "Project       time       %");
        assert!(
            lines[3].starts_with("timeforged  3h 00m    97.3  ███"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].starts_with("日本        0h 05m     2.7  "),
            "{}",
            lines[4]
        );
    }
}

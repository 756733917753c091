//! `tf sync now` and `tf sync status`: what each sync target did and where it stands.

use super::Context;
use super::args::SyncCommand;
use super::format::{Style, duration};
use crate::protocol::{Request, Response, SyncTarget};
use anyhow::{Result, bail};
use std::io::Write;

pub fn run(ctx: &Context, action: SyncCommand, out: &mut impl Write) -> Result<()> {
    let (request, json, now) = match action {
        SyncCommand::Now { json } => (Request::SyncNow, json, true),
        SyncCommand::Status { json } => (Request::SyncStatus, json, false),
    };
    let mut client = ctx.client()?;
    let Response::Sync { targets } = client.request(&request)? else {
        bail!("unexpected answer to sync");
    };
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&targets)?)?;
        return Ok(());
    }
    let style = Style::detect();
    let now_s = crate::calendar::now_seconds();
    for t in &targets {
        writeln!(out, "{}  {} ({})", style.bold(&t.name), t.url, t.kind)?;
        if now && let Some(m) = &t.moved {
            writeln!(
                out,
                "  now        {} sent, {} received, {} refused",
                m.pushed, m.pulled, m.rejected
            )?;
        }
        writeln!(out, "  {}", lines(t, now_s).join("\n  "))?;
    }
    if targets.iter().any(|t| t.last_error.is_some()) && now {
        bail!("sync did not finish: see the errors above");
    }
    Ok(())
}

/// The status lines of one target.
pub fn lines(t: &SyncTarget, now: f64) -> Vec<String> {
    let mut out = Vec::new();
    out.push(match t.last_success {
        Some(s) if now - s < 60.0 => "synced     just now".into(),
        Some(s) => format!("synced     {} ago", duration(now - s)),
        None => "synced     not yet".into(),
    });
    let mut waiting = format!(
        "waiting    {} record{}",
        t.pending,
        if t.pending == 1 { "" } else { "s" }
    );
    if t.backfilling {
        waiting.push_str(" (and what was recorded before this target was added)");
    }
    out.push(waiting);
    if let Some(e) = &t.last_error {
        out.push(format!("error      {e}"));
    }
    if let Some(r) = t.next_retry {
        out.push(format!("retry      in {}", duration((r - now).max(0.0))));
    }
    if let Some(skew) = t.clock_skew_seconds {
        out.push(format!(
            "clock      the server's clock is {} {} ours: check this machine's time",
            duration(skew.unsigned_abs() as f64),
            if skew > 0 { "ahead of" } else { "behind" }
        ));
    }
    out.push(format!(
        "totals     {} sent, {} received, {} refused since the daemon started",
        t.pushed, t.pulled, t.rejected
    ));
    out
}

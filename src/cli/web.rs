//! `tf web`: the web dashboard in the browser, signed in by a one-time link that only the
//! daemon's own user can ask for (the socket checks the peer), or `--print`ed.

use super::Context;
use crate::protocol::{Request, Response};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

pub fn web(ctx: &Context, print: bool, out: &mut impl Write) -> Result<ExitCode> {
    let mut client = ctx.client()?;
    let Response::WebLogin { url } = client.request(&Request::WebLogin)? else {
        bail!("unexpected answer to web_login")
    };
    if print {
        writeln!(out, "{url}")?;
        return Ok(ExitCode::SUCCESS);
    }
    match open(&url) {
        Ok(program) => eprintln!("opened the dashboard with {program}"),
        Err(why) => {
            eprintln!(
                "tf: could not open a browser ({why}); open this link (it works once, within 5 minutes):"
            );
            writeln!(out, "{url}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `url` with `$BROWSER` (a `:`-separated list, as `sensible-browser` reads it), else
/// the desktop's opener. Returns the program that took it.
fn open(url: &str) -> Result<String, String> {
    let mut candidates: Vec<String> = std::env::var("BROWSER")
        .map(|b| {
            b.split(':')
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let openers: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else {
        &["xdg-open", "sensible-browser", "x-www-browser"]
    };
    candidates.extend(openers.iter().map(|s| s.to_string()));
    let mut tried = Vec::new();
    for program in candidates {
        let status = Command::new(&program)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => return Ok(program),
            Ok(s) => tried.push(format!("{program}: {s}")),
            Err(e) => tried.push(format!("{program}: {e}")),
        }
    }
    Err(tried.join("; "))
}

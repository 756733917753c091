//! `tf setup wakatime`: points `~/.wakatime.cfg` at the local daemon (backing up the original,
//! keeping every other setting) and `--undo` puts it back. `tf apikey` prints the local key.

use super::Context;
use crate::protocol::{Request, Response};
use anyhow::{Context as _, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `$WAKATIME_HOME/.wakatime.cfg`, else `~/.wakatime.cfg` (where WakaTime clients look).
pub fn wakatime_cfg() -> Result<PathBuf> {
    let home = std::env::var_os("WAKATIME_HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()))
        .context("neither WAKATIME_HOME nor HOME is set: cannot find ~/.wakatime.cfg")?;
    Ok(Path::new(&home).join(".wakatime.cfg"))
}

fn backup_path(cfg: &Path) -> PathBuf {
    cfg.with_file_name(".wakatime.cfg.timeforged-backup")
}

/// Marks that there was no config before `tf setup`, so `--undo` removes ours.
fn none_marker(cfg: &Path) -> PathBuf {
    cfg.with_file_name(".wakatime.cfg.timeforged-none")
}

/// The daemon's API URL and key (starting the daemon if needed).
fn endpoint(ctx: &Context) -> Result<(String, String)> {
    let mut client = ctx.client()?;
    let Response::Status(info) = client.request(&Request::Status)? else {
        bail!("unexpected answer to status")
    };
    let Some(addr) = info.http else {
        match info.http_error {
            Some(e) => bail!("the daemon's HTTP API is not listening: {e}"),
            None => bail!(
                "the daemon's HTTP API is disabled (http.enabled = false): enable it to use WakaTime plugins"
            ),
        }
    };
    let key = std::fs::read_to_string(&ctx.paths.api_key)
        .with_context(|| format!("cannot read the API key {}", ctx.paths.api_key.display()))?;
    Ok((format!("http://{addr}/api/v1"), key.trim().to_string()))
}

pub fn apikey(ctx: &Context, out: &mut impl Write) -> Result<ExitCode> {
    let (_, key) = endpoint(ctx)?;
    writeln!(out, "{key}")?;
    Ok(ExitCode::SUCCESS)
}

pub fn setup_wakatime(
    ctx: &Context,
    dry_run: bool,
    undo: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let cfg = wakatime_cfg()?;
    if undo {
        return undo_setup(&cfg, dry_run, out);
    }
    let (url, key) = endpoint(ctx)?;
    let original = match std::fs::read_to_string(&cfg) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", cfg.display())),
    };
    let updated = set_settings(
        original.as_deref().unwrap_or(""),
        &[("api_url", &url), ("api_key", &key)],
    );
    if dry_run {
        writeln!(out, "# would write {}:", cfg.display())?;
        write!(out, "{updated}")?;
        return Ok(ExitCode::SUCCESS);
    }
    // Keep the first backup: running setup twice must not lose the user's original file.
    let (backup, marker) = (backup_path(&cfg), none_marker(&cfg));
    if !backup.exists() && !marker.exists() {
        match &original {
            Some(text) => std::fs::write(&backup, text)
                .with_context(|| format!("cannot back up to {}", backup.display()))?,
            None => std::fs::write(&marker, "")
                .with_context(|| format!("cannot write {}", marker.display()))?,
        }
    }
    write_private(&cfg, &updated)?;
    writeln!(
        out,
        "{} now points WakaTime clients at {url}",
        cfg.display()
    )?;
    if backup.exists() {
        writeln!(
            out,
            "the original is saved as {} (`tf setup wakatime --undo` restores it)",
            backup.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn undo_setup(cfg: &Path, dry_run: bool, out: &mut impl Write) -> Result<ExitCode> {
    let (backup, marker) = (backup_path(cfg), none_marker(cfg));
    if backup.exists() {
        if dry_run {
            writeln!(
                out,
                "would restore {} from {}",
                cfg.display(),
                backup.display()
            )?;
        } else {
            std::fs::rename(&backup, cfg)
                .with_context(|| format!("cannot restore {}", backup.display()))?;
            writeln!(out, "restored {}", cfg.display())?;
        }
    } else if marker.exists() {
        if dry_run {
            writeln!(
                out,
                "would remove {} (there was none before)",
                cfg.display()
            )?;
        } else {
            let _ = std::fs::remove_file(cfg);
            std::fs::remove_file(&marker)?;
            writeln!(out, "removed {} (there was none before)", cfg.display())?;
        }
    } else {
        bail!(
            "nothing to undo: no backup from `tf setup wakatime` next to {}",
            cfg.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // Write beside and rename, so a crash never leaves a half-written config.
    let tmp = path.with_extension("cfg.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Sets keys in the `[settings]` section of an INI text, keeping every other line as it was.
pub fn set_settings(text: &str, values: &[(&str, &str)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let is_section = |l: &str| l.trim_start().starts_with('[');
    let start = lines
        .iter()
        .position(|l| l.trim().eq_ignore_ascii_case("[settings]"));
    let start = match start {
        Some(i) => i,
        None => {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push("[settings]".to_string());
            lines.len() - 1
        }
    };
    for (key, value) in values {
        let end = lines[start + 1..]
            .iter()
            .position(|l| is_section(l))
            .map_or(lines.len(), |i| start + 1 + i);
        let existing = (start + 1..end).find(|&i| {
            lines[i]
                .split_once('=')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        });
        let line = format!("{key} = {value}");
        match existing {
            Some(i) => lines[i] = line,
            None => {
                // After the section's last non-blank line.
                let mut at = end;
                while at > start + 1 && lines[at - 1].trim().is_empty() {
                    at -= 1;
                }
                lines.insert(at, line);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &[(&str, &str)] = &[
        ("api_url", "http://127.0.0.1:9113/api/v1"),
        ("api_key", "k"),
    ];

    #[test]
    fn settings_are_replaced_and_others_kept() {
        let before = "# mine\n[settings]\ndebug = false\napi_key = old\nhide_file_names = true\n\n[projectmap]\nx = y\n";
        let after = set_settings(before, SET);
        assert_eq!(
            after,
            "# mine\n[settings]\ndebug = false\napi_key = k\nhide_file_names = true\napi_url = http://127.0.0.1:9113/api/v1\n\n[projectmap]\nx = y\n"
        );
        assert_eq!(set_settings(&after, SET), after, "idempotent");
    }

    #[test]
    fn a_missing_section_or_file_is_created() {
        assert_eq!(
            set_settings("", SET),
            "[settings]\napi_url = http://127.0.0.1:9113/api/v1\napi_key = k\n"
        );
        assert_eq!(
            set_settings("[other]\na = b", SET),
            "[other]\na = b\n\n[settings]\napi_url = http://127.0.0.1:9113/api/v1\napi_key = k\n"
        );
    }
}

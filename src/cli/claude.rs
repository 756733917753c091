//! `tf setup claude-code [--undo]`: adds the hooks of `hooks/claude-code.json` to Claude Code's
//! user settings (`~/.claude/settings.json`, or `$CLAUDE_CONFIG_DIR/settings.json`), pointing
//! at this `tf`, and removes them again. The file is edited, not rewritten: every other key
//! keeps its place and its text, other hooks stay, running setup twice changes nothing, and
//! the first original is kept as `settings.json.timeforged-backup`.

use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use serde_json::value::RawValue;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The hooks snippet, also for people who paste it by hand (`tf` must then be on PATH).
pub const SNIPPET: &str = include_str!("../../hooks/claude-code.json");

/// What marks a hook as ours: the command TimeForged puts there.
const OURS: &str = "agent event --agent claude-code";

/// `$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`.
pub fn settings_path() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(Path::new(&dir).join("settings.json"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("HOME is not set: cannot find ~/.claude/settings.json")?;
    Ok(Path::new(&home).join(".claude").join("settings.json"))
}

fn backup_path(settings: &Path) -> PathBuf {
    settings.with_file_name("settings.json.timeforged-backup")
}

/// Marks that there was no settings file before `tf setup claude-code`.
fn none_marker(settings: &Path) -> PathBuf {
    settings.with_file_name("settings.json.timeforged-none")
}

pub fn setup(dry_run: bool, undo: bool, out: &mut impl Write) -> Result<ExitCode> {
    let path = settings_path()?;
    let original = match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let text = original.as_deref().unwrap_or("");
    let tf = std::env::current_exe().context("cannot find the path of this tf")?;
    let updated = if undo {
        match remove_hooks(text).with_context(|| format!("{}", path.display()))? {
            Some(t) => t,
            None => bail!(
                "nothing to undo: {} has no hooks of TimeForged",
                path.display()
            ),
        }
    } else {
        add_hooks(text, &tf).with_context(|| format!("{}", path.display()))?
    };
    if dry_run {
        writeln!(out, "# would write {}:", path.display())?;
        write!(out, "{updated}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let (backup, marker) = (backup_path(&path), none_marker(&path));
    if undo {
        if marker.exists()
            && serde_json::from_str::<Value>(&updated).ok()
                == Some(Value::Object(Default::default()))
        {
            // There was no file before setup, and nothing but ours was added since.
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            let _ = std::fs::remove_file(&marker);
            writeln!(out, "removed {} (there was none before)", path.display())?;
        } else {
            write_keeping_mode(&path, &updated)?;
            let _ = std::fs::remove_file(&marker);
            writeln!(
                out,
                "removed TimeForged's hooks from {} (everything else is as it was)",
                path.display()
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Keep the first original: running setup twice must not lose it.
    if !backup.exists() && !marker.exists() {
        match &original {
            Some(t) => std::fs::write(&backup, t)
                .with_context(|| format!("cannot back up to {}", backup.display()))?,
            None => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                std::fs::write(&marker, "")
                    .with_context(|| format!("cannot write {}", marker.display()))?
            }
        }
    }
    write_keeping_mode(&path, &updated)?;
    writeln!(
        out,
        "{}: Claude Code now reports its prompts, tool calls and stops to TimeForged ({} agent event)",
        path.display(),
        tf.display()
    )?;
    if backup.exists() {
        writeln!(
            out,
            "the original is saved as {} (`tf setup claude-code --undo` removes the hooks again)",
            backup.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes beside and renames (a crash never leaves half a file), with the old file's mode.
fn write_keeping_mode(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o600);
    let tmp = path.with_extension("json.timeforged-tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// A JSON object as its members in order, each value as written.
type Members = Vec<(String, Box<RawValue>)>;

fn members(text: &str, what: &str) -> Result<Members> {
    struct Ordered;
    impl<'de> serde::de::Visitor<'de> for Ordered {
        type Value = Members;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let m = serde::Deserializer::deserialize_map(&mut de, Ordered)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| {
            anyhow::anyhow!(
                "{what} is not a JSON object ({e}); fix it by hand, nothing was changed"
            )
        })?;
    Ok(m)
}

/// The hook entries of TimeForged's snippet, by event, with `tf` made this one's path.
fn our_groups(tf: &Path) -> Result<Vec<(String, Vec<Value>)>> {
    let command = format!("{} {OURS}", shell_quote(&tf.to_string_lossy()));
    let snippet: Value = serde_json::from_str(SNIPPET).context("the built-in hooks snippet")?;
    let hooks = snippet["hooks"]
        .as_object()
        .context("the built-in hooks snippet has no hooks")?;
    let mut out = Vec::new();
    // The snippet's order, which serde_json's map does not keep: the events as listed there.
    for event in [
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
        "SessionEnd",
    ] {
        let mut groups = hooks
            .get(event)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for g in &mut groups {
            for h in g["hooks"].as_array_mut().into_iter().flatten() {
                h["command"] = Value::String(command.clone());
            }
        }
        out.push((event.to_string(), groups));
    }
    Ok(out)
}

/// `s` as one shell word.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Whether a hook entry (a matcher group) holds a hook of ours, and the group without them.
fn without_ours(group: &Value) -> (bool, Option<Value>) {
    let Some(list) = group.get("hooks").and_then(Value::as_array) else {
        return (false, Some(group.clone()));
    };
    let is_ours = |h: &Value| {
        h.get("command")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains(OURS))
    };
    if !list.iter().any(is_ours) {
        return (false, Some(group.clone()));
    }
    let kept: Vec<Value> = list.iter().filter(|h| !is_ours(h)).cloned().collect();
    if kept.is_empty() {
        return (true, None);
    }
    let mut g = group.clone();
    g["hooks"] = Value::Array(kept);
    (true, Some(g))
}

/// The `hooks` object's events in order, each with its entries.
type Events = Vec<(String, Vec<Entry>)>;

/// One event's entries: untouched ones as written, changed ones re-serialized.
enum Entry {
    Raw(Box<RawValue>),
    Value(Value),
}

/// The events of the `hooks` object, ours removed; and whether any was ours.
fn strip(hooks: Option<&RawValue>) -> Result<(Events, bool)> {
    let Some(raw) = hooks else {
        return Ok((Vec::new(), false));
    };
    let mut found = false;
    let mut events = Vec::new();
    for (event, list) in members(raw.get(), "\"hooks\"")? {
        let groups: Vec<Box<RawValue>> = serde_json::from_str(list.get()).map_err(|_| {
            anyhow::anyhow!(
                "\"hooks\".{event:?} is not a list; fix it by hand, nothing was changed"
            )
        })?;
        let mut entries = Vec::new();
        for g in groups {
            let value: Value = serde_json::from_str(g.get())?;
            match without_ours(&value) {
                (false, _) => entries.push(Entry::Raw(g)),
                (true, kept) => {
                    found = true;
                    entries.extend(kept.map(Entry::Value));
                }
            }
        }
        events.push((event, entries));
    }
    Ok((events, found))
}

/// The settings with TimeForged's hooks (replacing any earlier ones of ours).
pub fn add_hooks(text: &str, tf: &Path) -> Result<String> {
    let mut top = top_level(text)?;
    let at = top.iter().position(|(k, _)| k == "hooks");
    let (mut events, _) = strip(at.map(|i| &*top[i].1))?;
    for (event, groups) in our_groups(tf)? {
        let entries = groups.into_iter().map(Entry::Value);
        match events.iter_mut().find(|(e, _)| *e == event) {
            Some((_, list)) => list.extend(entries),
            None => events.push((event, entries.collect())),
        }
    }
    let hooks = RawValue::from_string(render_hooks(&events))?;
    match at {
        Some(i) => top[i].1 = hooks,
        None => top.push(("hooks".into(), hooks)),
    }
    Ok(render_top(&top))
}

/// The settings without TimeForged's hooks; None when there were none. Events and a `hooks`
/// object left empty go too.
pub fn remove_hooks(text: &str) -> Result<Option<String>> {
    let mut top = top_level(text)?;
    let Some(at) = top.iter().position(|(k, _)| k == "hooks") else {
        return Ok(None);
    };
    let (mut events, found) = strip(Some(&*top[at].1))?;
    if !found {
        return Ok(None);
    }
    events.retain(|(_, list)| !list.is_empty());
    if events.is_empty() {
        top.remove(at);
    } else {
        top[at].1 = RawValue::from_string(render_hooks(&events))?;
    }
    Ok(Some(render_top(&top)))
}

fn top_level(text: &str) -> Result<Members> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    members(text, "the file")
}

/// `value` pretty-printed for a place `depth` levels deep.
fn pretty_at(value: &Value, depth: usize) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.replace('\n', &format!("\n{}", "  ".repeat(depth)))
}

fn render_hooks(events: &Events) -> String {
    let mut out = String::from("{");
    for (i, (event, entries)) in events.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&serde_json::to_string(event).unwrap_or_default());
        out.push_str(": [");
        for (j, e) in entries.iter().enumerate() {
            out.push_str(if j == 0 { "\n      " } else { ",\n      " });
            match e {
                Entry::Raw(r) => out.push_str(r.get()),
                Entry::Value(v) => out.push_str(&pretty_at(v, 3)),
            }
        }
        out.push_str(if entries.is_empty() { "]" } else { "\n    ]" });
    }
    out.push_str(if events.is_empty() { "}" } else { "\n  }" });
    out
}

fn render_top(top: &Members) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in top.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push_str(": ");
        out.push_str(value.get());
    }
    out.push_str(if top.is_empty() { "}\n" } else { "\n}\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TF: &str = "/opt/my tools/tf";

    fn commands(text: &str, event: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(text).unwrap();
        v["hooks"][event]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
            .filter_map(|h| h["command"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn hooks_are_added_and_everything_else_kept() {
        let before = r#"{
  "model": "opus",
  "permissions": {"allow": ["Bash(ls)"]},
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [{"type": "command", "command": "~/bin/guard.sh"}]
      }
    ],
    "Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}]
  },
  "zzz": 1
}
"#;
        let after = add_hooks(before, Path::new(TF)).unwrap();
        let v: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["model"], "opus");
        assert_eq!(v["permissions"]["allow"][0], "Bash(ls)");
        assert_eq!(v["zzz"], 1);
        // The order of keys and the text of untouched values stay.
        assert!(after.find("\"model\"") < after.find("\"permissions\""));
        assert!(after.find("\"hooks\"") < after.find("\"zzz\""));
        assert!(after.contains(r#"{"type": "command", "command": "notify-send hi"}"#));
        let ours = format!("'{TF}' agent event --agent claude-code");
        assert_eq!(
            commands(&after, "PreToolUse"),
            vec!["~/bin/guard.sh".to_string(), ours.clone()]
        );
        for event in ["UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"] {
            assert_eq!(commands(&after, event), vec![ours.clone()], "{event}");
        }
        // Again: nothing changes.
        assert_eq!(add_hooks(&after, Path::new(TF)).unwrap(), after);
        // Removed: what was there before, and the events we added are gone.
        let back = remove_hooks(&after).unwrap().unwrap();
        let v: Value = serde_json::from_str(&back).unwrap();
        let was: Value = serde_json::from_str(before).unwrap();
        assert_eq!(v, was);
        assert_eq!(remove_hooks(&back).unwrap(), None);
    }

    #[test]
    fn a_new_file_and_a_moved_tf() {
        let first = add_hooks("", Path::new("/usr/bin/tf")).unwrap();
        let moved = add_hooks(&first, Path::new("/home/me/.cargo/bin/tf")).unwrap();
        assert_eq!(
            commands(&moved, "Stop"),
            vec!["/home/me/.cargo/bin/tf agent event --agent claude-code".to_string()]
        );
        let empty = remove_hooks(&moved).unwrap().unwrap();
        assert_eq!(empty, "{}\n");
    }

    #[test]
    fn a_broken_file_is_left_alone() {
        for bad in ["{\"model\": ", "[1]", "{\"hooks\": {\"Stop\": 3}}", "{} {}"] {
            let err = add_hooks(bad, Path::new(TF)).unwrap_err().to_string();
            assert!(err.contains("nothing was changed"), "{bad}: {err}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/bin/tf"), "/usr/bin/tf");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}

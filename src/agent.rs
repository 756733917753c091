//! Coding agents (Claude Code, Codex, Aider, …): their names, the events their hooks send, and
//! how an event becomes an agent heartbeat. Pure: the hook parses and spools, the daemon resolves
//! the project and stores.
//!
//! An agent's heartbeats carry its name in [`Heartbeat::actor`]; every heartbeat without one is
//! the human's. `ai coding` heartbeats that do not name their agent (a WakaTime plugin, the shell
//! running `claude`) get one from their editor or command ([`actor_for`]).

use crate::model::{Category, EntityType, Heartbeat, Source};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The actor of heartbeats without one, as reports name it.
pub const HUMAN: &str = "human";

/// Longest agent name.
const MAX_NAME: usize = 64;

/// Spellings of known agents (lowercase, without spaces, `-`, `_` or `.`) → the one name.
const KNOWN: &[(&str, &str)] = &[
    ("claude", "claude-code"),
    ("claudecode", "claude-code"),
    ("codex", "codex"),
    ("codexcli", "codex"),
    ("aider", "aider"),
    ("gemini", "gemini"),
    ("geminicli", "gemini"),
    ("copilot", "copilot"),
    ("githubcopilot", "copilot"),
    ("cursoragent", "cursor"),
    ("cursor", "cursor"),
    ("opencode", "opencode"),
    ("goose", "goose"),
    ("amp", "amp"),
    ("windsurf", "windsurf"),
    ("cline", "cline"),
    ("roocode", "roo-code"),
    ("continue", "continue"),
    ("cody", "cody"),
    ("kiro", "kiro"),
    ("qwencode", "qwen-code"),
];

/// Display names, for the `editor` of the heartbeats an agent's hook makes.
const DISPLAY: &[(&str, &str)] = &[
    ("claude-code", "Claude Code"),
    ("codex", "Codex"),
    ("aider", "Aider"),
    ("gemini", "Gemini CLI"),
    ("copilot", "Copilot"),
    ("cursor", "Cursor"),
    ("opencode", "OpenCode"),
];

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The one name of an agent: a known one's (`Claude` → `claude-code`), else the name in lower
/// case with spaces as `-`.
pub fn canonical(name: &str) -> String {
    let key = squash(name);
    match KNOWN.iter().find(|(k, _)| *k == key) {
        Some((_, n)) => n.to_string(),
        None => name.trim().to_lowercase().replace(char::is_whitespace, "-"),
    }
}

/// Checks and normalizes an actor given on the wire or the command line: `None` for the human
/// (empty or `human`), else the agent's one name. The error says what a name may hold.
pub fn actor_name(name: &str) -> Result<Option<String>, String> {
    let name = name.trim();
    if name.is_empty() || name.eq_ignore_ascii_case(HUMAN) {
        return Ok(None);
    }
    let c = canonical(name);
    let ok = c.len() <= MAX_NAME
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'));
    if !ok {
        return Err(format!(
            "{name:?} is not an agent name (letters, digits, '-', '_' or '.', at most {MAX_NAME} bytes, e.g. claude-code)"
        ));
    }
    Ok(Some(c))
}

/// The agent an `ai coding` heartbeat that names none stands for: the program of a command
/// (`claude` → `claude-code`), else its editor (a WakaTime plugin inside the agent), else `ai`.
pub fn actor_for(h: &Heartbeat) -> String {
    let from = |s: &str| actor_name(s).ok().flatten();
    if h.entity_type == EntityType::Command
        && let Some(a) = crate::shell::classify::program_and_subcommand(&h.entity)
            .program()
            .and_then(from)
    {
        return a;
    }
    h.editor
        .as_deref()
        .and_then(from)
        .unwrap_or_else(|| "ai".to_string())
}

/// How an agent is shown as an editor (`claude-code` → `Claude Code`).
pub fn display_name(agent: &str) -> String {
    DISPLAY
        .iter()
        .find(|(k, _)| *k == agent)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| agent.to_string())
}

/// What a hook spools (`{"type": "agent"}` on the socket): one event of an agent's session,
/// reduced to what TimeForged keeps. The daemon makes the heartbeat ([`heartbeat`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentEvent {
    /// The agent's one name (`claude-code`).
    pub agent: String,
    /// The hook's event (`PostToolUse`, `UserPromptSubmit`, `Stop`, …, or any name).
    pub event: String,
    /// Unix seconds.
    pub time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The file the tool touched, absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Net lines the tool changed (added minus removed), when it edited a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_changes: Option<i64>,
    /// The tool wrote the file.
    #[serde(default)]
    pub write: bool,
}

/// What an event says about the agent's state, from its name in any of the spellings agents
/// use (`SessionEnd`, `session-end`, `session_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The session opened; the agent has not started working.
    SessionStart,
    /// The agent waits for the human (a permission prompt, a question).
    Waiting,
    /// The agent finished its turn.
    Stop,
    /// The session is over.
    SessionEnd,
    /// Anything else is the agent at work: a prompt it was given, a tool, a compaction.
    Working,
}

impl Phase {
    pub fn of(event: &str) -> Phase {
        match squash(event).as_str() {
            "sessionstart" | "start" => Phase::SessionStart,
            "notification" | "permissionrequest" | "waiting" => Phase::Waiting,
            "stop" => Phase::Stop,
            "sessionend" | "end" => Phase::SessionEnd,
            _ => Phase::Working,
        }
    }

    /// Whether the event is activity of the agent (a heartbeat). A stop is: it ends the run of
    /// work the prompt started. Opening, closing and waiting are not.
    pub fn is_activity(self) -> bool {
        matches!(self, Phase::Working | Phase::Stop)
    }
}

/// Tools that write the file they name.
const WRITING_TOOLS: &[&str] = &["Edit", "MultiEdit", "Write", "NotebookEdit"];

/// Reads a hook payload in Claude Code's shape: `session_id`, `hook_event_name`, `cwd`,
/// `tool_name`, `tool_input` (`file_path` or `notebook_path`; `old_string`/`new_string`,
/// `edits`, `content` for edits), `tool_response` (`structuredPatch` after an edit), `model`.
/// A field of an unexpected type is ignored, not fatal; only a payload that is not a JSON
/// object is refused. `now` is the event's time (hooks run as it happens).
pub fn from_payload(agent: &str, payload: &str, now: f64) -> Result<AgentEvent, String> {
    #[derive(Deserialize)]
    struct Payload<'a> {
        #[serde(borrow, default)]
        session_id: Option<&'a RawValue>,
        #[serde(borrow, default)]
        hook_event_name: Option<&'a RawValue>,
        #[serde(borrow, default)]
        cwd: Option<&'a RawValue>,
        #[serde(borrow, default)]
        tool_name: Option<&'a RawValue>,
        #[serde(borrow, default)]
        tool_input: Option<&'a RawValue>,
        #[serde(borrow, default)]
        tool_response: Option<&'a RawValue>,
        #[serde(borrow, default)]
        model: Option<&'a RawValue>,
    }
    let text = payload.trim_start_matches('\u{feff}');
    if !text.trim_start().starts_with('{') {
        return Err(if text.trim().is_empty() {
            "the payload is empty (expected the hook's JSON object on stdin)".into()
        } else {
            "the payload is not a JSON object".into()
        });
    }
    let p: Payload = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let string = |raw: Option<&RawValue>| {
        raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
            .filter(|s| !s.trim().is_empty())
    };
    let event = string(p.hook_event_name).unwrap_or_else(|| "event".into());
    let cwd = string(p.cwd);
    let tool = string(p.tool_name);
    let input: ToolInput = p
        .tool_input
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let file = input
        .file_path
        .clone()
        .or_else(|| input.notebook_path.clone())
        .filter(|f| !f.trim().is_empty())
        .map(|f| absolute(&f, cwd.as_deref()));
    let after = squash(&event) == "posttooluse";
    let writes = tool.as_deref().is_some_and(|t| WRITING_TOOLS.contains(&t));
    let line_changes = (after && writes)
        .then(|| {
            let response: Option<ToolResponse> = p
                .tool_response
                .and_then(|r| serde_json::from_str(r.get()).ok());
            line_changes(&input_text(&input), response.as_ref())
        })
        .flatten();
    let model = p.model.and_then(|r| {
        // A name, or an object naming it (`{"id": …, "display_name": …}`).
        serde_json::from_str::<String>(r.get()).ok().or_else(|| {
            serde_json::from_str::<ModelObject>(r.get())
                .ok()
                .and_then(|m| m.id.or(m.display_name))
        })
    });
    Ok(AgentEvent {
        agent: agent.to_string(),
        event,
        time: now,
        cwd,
        file,
        tool,
        session: string(p.session_id),
        model: model.filter(|m| !m.trim().is_empty()),
        line_changes,
        write: after && writes,
    })
}

#[derive(Deserialize)]
struct ModelObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Default, Deserialize)]
struct ToolInput {
    #[serde(default)]
    file_path: Option<String>,
    #[serde(default)]
    notebook_path: Option<String>,
    #[serde(default)]
    old_string: Option<String>,
    #[serde(default)]
    new_string: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    edits: Vec<EditPair>,
}

#[derive(Deserialize)]
struct EditPair {
    #[serde(default)]
    old_string: String,
    #[serde(default)]
    new_string: String,
}

#[derive(Deserialize)]
struct ToolResponse {
    #[serde(default, rename = "structuredPatch")]
    structured_patch: Vec<Hunk>,
}

#[derive(Deserialize)]
struct Hunk {
    #[serde(default, rename = "oldLines")]
    old_lines: i64,
    #[serde(default, rename = "newLines")]
    new_lines: i64,
}

/// The edits a tool's input describes, as (old text, new text) pairs.
fn input_text(input: &ToolInput) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = input
        .edits
        .iter()
        .map(|e| (e.old_string.as_str(), e.new_string.as_str()))
        .collect();
    match (&input.old_string, &input.new_string, &input.content) {
        (old, Some(new), _) => pairs.push((old.as_deref().unwrap_or(""), new)),
        (_, None, Some(content)) => pairs.push(("", content)),
        _ => {}
    }
    pairs
}

/// Net lines an edit changed, as WakaTime counts them: the tool's own patch when it gave one
/// (exact, also for a rewrite of a whole file), else new text's lines minus old text's.
fn line_changes(edits: &[(&str, &str)], response: Option<&ToolResponse>) -> Option<i64> {
    if let Some(r) = response.filter(|r| !r.structured_patch.is_empty()) {
        return Some(
            r.structured_patch
                .iter()
                .map(|h| h.new_lines - h.old_lines)
                .sum(),
        );
    }
    if edits.is_empty() {
        return None;
    }
    Some(
        edits
            .iter()
            .map(|(old, new)| count_lines(new) - count_lines(old))
            .sum(),
    )
}

/// Lines of a text: a last line without its newline counts.
pub fn count_lines(s: &str) -> i64 {
    let newlines = s.bytes().filter(|&b| b == b'\n').count() as i64;
    newlines + i64::from(!s.is_empty() && !s.ends_with('\n'))
}

/// `file` made absolute against `cwd` (agents mostly give absolute paths already).
pub fn absolute(file: &str, cwd: Option<&str>) -> String {
    let path = std::path::Path::new(file);
    match cwd {
        Some(dir) if path.is_relative() => std::path::Path::new(dir)
            .join(path)
            .to_string_lossy()
            .into_owned(),
        _ => file.to_string(),
    }
}

/// The heartbeat an event stands for, or none when it is not activity ([`Phase`]). The caller
/// gives what it found out about the event's directory (the file's, else `cwd`): project,
/// branch and root; the entity is the file, else the project's root, else the directory.
pub fn heartbeat(
    e: &AgentEvent,
    project: Option<String>,
    branch: Option<String>,
    root: Option<String>,
    machine: Option<String>,
) -> Option<Heartbeat> {
    if !Phase::of(&e.event).is_activity() || !e.time.is_finite() {
        return None;
    }
    let (entity, entity_type) = match (&e.file, root.or_else(|| e.cwd.clone())) {
        (Some(f), _) => (f.clone(), EntityType::File),
        (None, Some(dir)) => (dir, EntityType::File),
        (None, None) => (e.agent.clone(), EntityType::App),
    };
    let mut h = Heartbeat::new(e.time, entity);
    h.entity_type = entity_type;
    h.category = Category::AI_CODING;
    h.project = project;
    h.branch = branch;
    h.language = e
        .file
        .as_deref()
        .and_then(|f| crate::project::language_for_path(std::path::Path::new(f)))
        .map(str::to_string);
    h.is_write = e.write;
    h.machine = machine;
    h.editor = Some(display_name(&e.agent));
    h.source = Some(Source::Agent);
    h.actor = Some(e.agent.clone());
    h.ai_session = e.session.clone();
    h.ai_model = e.model.clone();
    h.ai_line_changes = e.line_changes;
    let mut meta = serde_json::Map::new();
    meta.insert("event".into(), e.event.clone().into());
    if let Some(tool) = &e.tool {
        meta.insert("tool".into(), tool.clone().into());
    }
    h.meta = Some(meta);
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (given, want) in [
            ("claude-code", Some("claude-code")),
            ("Claude Code", Some("claude-code")),
            ("claude", Some("claude-code")),
            ("CODEX", Some("codex")),
            ("my-agent", Some("my-agent")),
            ("My Agent", Some("my-agent")),
            ("human", None),
            ("  ", None),
        ] {
            assert_eq!(actor_name(given).unwrap().as_deref(), want, "{given}");
        }
        for bad in ["a/b", "x;rm", &"a".repeat(65), "é"] {
            assert!(actor_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ai_coding_without_an_actor_gets_one() {
        let mut h = Heartbeat::new(1.0, "claude --resume");
        h.entity_type = EntityType::Command;
        h.editor = Some("zsh".into());
        assert_eq!(actor_for(&h), "claude-code");
        let mut h = Heartbeat::new(1.0, "/a.rs");
        h.editor = Some("Claude Code".into());
        assert_eq!(actor_for(&h), "claude-code");
        h.editor = Some("VS Code".into());
        assert_eq!(actor_for(&h), "vs-code");
        h.editor = None;
        assert_eq!(actor_for(&h), "ai");
    }

    #[test]
    fn claude_code_payloads() {
        let edit = r#"{"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/src/app",
            "hook_event_name":"PostToolUse","tool_name":"Edit",
            "tool_input":{"file_path":"lib.rs","old_string":"a\nb","new_string":"a\nb\nc\nd"},
            "tool_response":{"filePath":"/src/app/lib.rs"}}"#;
        let e = from_payload("claude-code", edit, 5.0).unwrap();
        assert_eq!(e.file.as_deref(), Some("/src/app/lib.rs"));
        assert_eq!(
            (e.line_changes, e.write, e.session.as_deref()),
            (Some(2), true, Some("s1"))
        );
        // The tool's patch wins: it knows what a replace_all did.
        let patched = r#"{"hook_event_name":"PostToolUse","tool_name":"Edit","cwd":"/x",
            "tool_input":{"file_path":"/x/a","old_string":"a","new_string":"b\nc","replace_all":true},
            "tool_response":{"structuredPatch":[{"oldStart":1,"oldLines":1,"newStart":1,"newLines":2},
                                                {"oldStart":9,"oldLines":3,"newStart":10,"newLines":1}]}}"#;
        assert_eq!(
            from_payload("claude-code", patched, 5.0)
                .unwrap()
                .line_changes,
            Some(-1)
        );
        let multi = r#"{"hook_event_name":"PostToolUse","tool_name":"MultiEdit",
            "tool_input":{"file_path":"/x/a","edits":[{"old_string":"","new_string":"x\n"},
                                                      {"old_string":"y\nz","new_string":""}]}}"#;
        assert_eq!(
            from_payload("claude-code", multi, 5.0)
                .unwrap()
                .line_changes,
            Some(-1)
        );
        let write = r#"{"hook_event_name":"PostToolUse","tool_name":"Write",
            "tool_input":{"file_path":"/x/new.py","content":"1\n2\n3"}}"#;
        assert_eq!(
            from_payload("claude-code", write, 5.0)
                .unwrap()
                .line_changes,
            Some(3)
        );
        // Before the tool ran nothing changed yet; a read changes nothing.
        let pre = r#"{"hook_event_name":"PreToolUse","tool_name":"Write",
            "tool_input":{"file_path":"/x/new.py","content":"1\n2\n3"}}"#;
        let e = from_payload("claude-code", pre, 5.0).unwrap();
        assert_eq!((e.line_changes, e.write), (None, false));
        let prompt = r#"{"session_id":"s1","cwd":"/src/app","hook_event_name":"UserPromptSubmit",
            "prompt":"fix it","model":{"id":"claude-opus-4-1","display_name":"Opus"}}"#;
        let e = from_payload("claude-code", prompt, 5.0).unwrap();
        assert_eq!(
            (e.file, e.tool, e.model.as_deref()),
            (None, None, Some("claude-opus-4-1"))
        );
    }

    #[test]
    fn odd_fields_are_ignored_and_non_objects_refused() {
        let odd = r#"{"hook_event_name":7,"cwd":["x"],"tool_input":"nope","session_id":null}"#;
        let e = from_payload("a", odd, 1.0).unwrap();
        assert_eq!(
            (e.event.as_str(), e.cwd, e.file, e.session),
            ("event", None, None, None)
        );
        for bad in ["", "not json", "[1,2]", "{\"cwd\": ", "\"str\""] {
            assert!(from_payload("a", bad, 1.0).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn which_events_are_activity() {
        for (event, active) in [
            ("UserPromptSubmit", true),
            ("PreToolUse", true),
            ("PostToolUse", true),
            ("Stop", true),
            ("SubagentStop", true),
            ("SessionStart", false),
            ("SessionEnd", false),
            ("session-end", false),
            ("Notification", false),
            ("anything-else", true),
        ] {
            assert_eq!(Phase::of(event).is_activity(), active, "{event}");
        }
    }

    #[test]
    fn heartbeats_of_events() {
        let e = from_payload(
            "claude-code",
            r#"{"hook_event_name":"PostToolUse","tool_name":"Write","cwd":"/r",
                "tool_input":{"file_path":"/r/src/main.rs","content":"fn main() {}\n"}}"#,
            100.0,
        )
        .unwrap();
        let h = heartbeat(
            &e,
            Some("r".into()),
            Some("main".into()),
            Some("/r".into()),
            None,
        )
        .unwrap();
        assert_eq!(h.entity, "/r/src/main.rs");
        assert_eq!(h.language.as_deref(), Some("Rust"));
        assert_eq!(h.category, Category::AI_CODING);
        assert_eq!(
            (h.actor.as_deref(), h.ai_line_changes, h.is_write),
            (Some("claude-code"), Some(1), true)
        );
        let stop = AgentEvent {
            event: "Stop".into(),
            file: None,
            ..e.clone()
        };
        assert_eq!(
            heartbeat(&stop, None, None, Some("/r".into()), None)
                .unwrap()
                .entity,
            "/r"
        );
        let end = AgentEvent {
            event: "SessionEnd".into(),
            ..e
        };
        assert!(heartbeat(&end, None, None, None, None).is_none());
    }
}

//! Heartbeats in: the request bodies WakaTime clients POST, turned into [`Heartbeat`]s one item
//! at a time, and the JSON replies those clients parse.
//!
//! What clients send, checked against their code:
//! - wakatime-cli (Go, `pkg/api/heartbeat.go`): a JSON array, numbers as numbers, `user_agent` in
//!   every item, the machine in the `X-Machine-Name` header (`url.QueryEscape`d, so `+` is a space).
//! - legacy Python client 13.1.0 (`wakatime/api.py`, `heartbeat.py`): a JSON array whose
//!   `lineno`/`cursorpos` are strings (straight from argv), `is_write`/`branch`/… may be `null`,
//!   `user_agent` in every item, `X-Machine-Name` as raw UTF-8, and `TimeZone` as a header.
//! - browser extensions and other plugins: one object, often with `<<LAST_PROJECT>>`.
//!
//! Replies follow wakatime-cli's `ParseHeartbeatResponses`: `{"responses": [[body, status], …]}`
//! in request order, where body is `{"data": {…}}` (201) or `{"error": "…"}` (400). The cli
//! re-queues an item only when its status is neither 201/202 nor 400, so a per-item 400 is
//! dropped, never retried forever.

use super::user_agent::UserAgent;
use crate::model::{Category, EntityType, Heartbeat, MAX_STRING_BYTES, Source, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;

/// The default maximum age of an accepted heartbeat: 365 days.
pub const DEFAULT_MAX_AGE_SECONDS: f64 = 365.0 * 86_400.0;

/// WakaTime's placeholders: "use the value of my previous heartbeat".
pub const LAST_PROJECT: &str = "<<LAST_PROJECT>>";
pub const LAST_BRANCH: &str = "<<LAST_BRANCH>>";
pub const LAST_LANGUAGE: &str = "<<LAST_LANGUAGE>>";

/// A request body that holds no heartbeats at all; the whole request gets a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error(
        "the request body is empty (expected a JSON array of heartbeats or one heartbeat object)"
    )]
    Empty,
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error(
        "the request body is a JSON {0}; expected an array of heartbeats or one heartbeat object"
    )]
    WrongType(&'static str),
}

/// Splits a request body into its items without parsing them, so that one bad item cannot fail
/// the others. Returns the items and whether the body was a single object (not an array).
/// A leading UTF-8 byte-order mark is ignored.
pub fn parse_body(body: &[u8]) -> Result<(Vec<Box<RawValue>>, bool), BodyError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(BodyError::Empty);
    };
    let invalid = |e: serde_json::Error| BodyError::InvalidJson(e.to_string());
    match first {
        b'[' => serde_json::from_slice::<Vec<Box<RawValue>>>(body)
            .map(|items| (items, false))
            .map_err(invalid),
        b'{' => serde_json::from_slice::<Box<RawValue>>(body)
            .map(|item| (vec![item], true))
            .map_err(invalid),
        _ => {
            // Valid JSON of the wrong kind gets a clearer message than a parse error.
            let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
            Err(BodyError::WrongType(json_type(&value)))
        }
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The newest project, branch and language, for the `<<LAST_…>>` placeholders.
///
/// Wakapi takes the branch and language from the newest heartbeat *of the resolved project*;
/// callers that can should fill `branch`/`language` that way. [`to_heartbeats`] keeps these
/// current within one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastValues {
    pub project: Option<String>,
    pub branch: Option<String>,
    pub language: Option<String>,
}

impl LastValues {
    /// The values of one heartbeat.
    pub fn from_heartbeat(h: &Heartbeat) -> LastValues {
        LastValues {
            project: h.project.clone(),
            branch: h.branch.clone(),
            language: h.language.clone(),
        }
    }

    /// Takes `h` as the newest heartbeat. A heartbeat without a project leaves the values alone
    /// (a browser visit should not forget the project); one in another project replaces all
    /// three, so a branch never leaks into a different project.
    pub fn remember(&mut self, h: &Heartbeat) {
        let Some(project) = &h.project else { return };
        if self.project.as_ref() != Some(project) {
            *self = LastValues::from_heartbeat(h);
            return;
        }
        if h.branch.is_some() {
            self.branch.clone_from(&h.branch);
        }
        if h.language.is_some() {
            self.language.clone_from(&h.language);
        }
    }
}

/// Everything about the request that is not in the item itself.
#[derive(Debug, Clone, Default)]
pub struct IngestContext {
    /// Unix seconds, for the age and future checks.
    pub now: f64,
    /// Older heartbeats are rejected; `0`, negative or non-finite turns the check off.
    pub max_age_seconds: f64,
    /// From `X-Machine-Name`, already decoded with [`url_decode`].
    pub machine: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// One item as clients send it. Every field is optional here so that a missing or wrongly typed
/// field is reported by name rather than as "invalid type … expected struct".
#[derive(Deserialize)]
struct Wire {
    #[serde(default, deserialize_with = "crate::model::lenient::time")]
    time: Option<f64>,
    /// The Python client's stdin alias for `time`.
    #[serde(default, deserialize_with = "crate::model::lenient::time")]
    timestamp: Option<f64>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default, rename = "type")]
    entity_type: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default, deserialize_with = "crate::model::lenient::boolean")]
    is_write: Option<bool>,
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    lines: Option<i64>,
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    lineno: Option<i64>,
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    cursorpos: Option<i64>,
    #[serde(default, deserialize_with = "crate::model::lenient::list")]
    dependencies: Vec<String>,
    /// Wakapi's name for the machine in the body.
    #[serde(default)]
    machine: Option<String>,
    #[serde(default)]
    machine_name: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    // WakaTime's AI fields (2026).
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    ai_line_changes: Option<i64>,
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    human_line_changes: Option<i64>,
    #[serde(default)]
    ai_session: Option<String>,
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    ai_input_tokens: Option<i64>,
    #[serde(default, deserialize_with = "crate::model::lenient::int")]
    ai_output_tokens: Option<i64>,
}

/// Converts one item into a validated heartbeat with `source = editor`.
///
/// Rules: `time` may be a number or a numeric string (`timestamp` is accepted when `time` is
/// absent); `type` defaults to `file`; a missing, null or empty `category` is `coding`
/// (`browsing` for `domain`/`url`); the item's `user_agent` wins over the header, and editor/OS
/// come from it (falling back to the header's for what it does not say); `machine` or
/// `machine_name` in the item wins over `X-Machine-Name`; placeholders are kept (see
/// [`resolve_placeholders`]). Errors name the field, e.g. `time: … is 400 days old; heartbeats
/// older than 365 days are refused`.
pub fn to_heartbeat(raw: &RawValue, ctx: &IngestContext) -> Result<Heartbeat, ValidationError> {
    convert(raw, ctx)
}

/// User-Agents parsed lately on this thread, newest last: a client repeats the same one in
/// every item and every request, and parsing it was a twentieth of the cost of a
/// single-heartbeat request.
const RECENT_UAS: usize = 4;

thread_local! {
    static PARSED_UAS: std::cell::RefCell<Vec<(String, UserAgent)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`super::user_agent::parse`], remembered for the last few User-Agents.
fn parse_user_agent(ua: &str) -> UserAgent {
    PARSED_UAS.with_borrow_mut(|recent| {
        if let Some((_, parsed)) = recent.iter().rev().find(|(k, _)| k == ua) {
            return parsed.clone();
        }
        let parsed = super::user_agent::parse(ua);
        if recent.len() >= RECENT_UAS {
            recent.remove(0);
        }
        recent.push((ua.to_string(), parsed.clone()));
        parsed
    })
}

fn convert(raw: &RawValue, ctx: &IngestContext) -> Result<Heartbeat, ValidationError> {
    let text = raw.get();
    let first = text.trim_start().as_bytes().first().copied();
    if first != Some(b'{') {
        let what = serde_json::from_str::<serde_json::Value>(text)
            .map(|v| json_type(&v))
            .unwrap_or("invalid value");
        return Err(ValidationError::new(
            "heartbeat",
            format!("expected a JSON object, got {what}"),
        ));
    }
    // The common case is valid; only a failure pays for tracking the path to the bad field.
    let wire: Wire = serde_json::from_str(text).map_err(|_| field_error(text))?;

    let time = wire
        .time
        .or(wire.timestamp)
        .ok_or_else(|| ValidationError::new("time", "missing (expected unix seconds)"))?;
    let entity = wire
        .entity
        .ok_or_else(|| ValidationError::new("entity", "missing"))?;
    let entity_type = match wire.entity_type.as_deref().map(str::trim) {
        None | Some("") => EntityType::File,
        Some(t) => EntityType::parse(t).ok_or_else(|| {
            let known: Vec<&str> = EntityType::ALL.iter().map(|t| t.as_str()).collect();
            ValidationError::new(
                "type",
                format!("unknown type {t:?} (expected one of: {})", known.join(", ")),
            )
        })?,
    };
    let category = match wire.category.as_deref().map(str::trim) {
        None | Some("") => match entity_type {
            EntityType::Domain | EntityType::Url => Category::BROWSING,
            _ => Category::CODING,
        },
        Some(c) => Category::parse(c).ok_or_else(|| {
            ValidationError::new(
                "category",
                format!(
                    "unknown category {c:?} (expected one of: {})",
                    crate::model::CATEGORIES.join(", ")
                ),
            )
        })?,
    };

    // Placeholders are resolved when stored (see [`resolve_placeholders`]); here they only get
    // their one spelling.
    let canonical = |value: Option<String>, placeholder: &str| match value {
        Some(v) if v.trim() == placeholder => Some(placeholder.to_string()),
        other => other,
    };
    let project = canonical(wire.project, LAST_PROJECT);
    let branch = canonical(wire.branch, LAST_BRANCH);
    let language = canonical(wire.language, LAST_LANGUAGE);

    let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let item_ua = non_empty(wire.user_agent);
    let header_ua = non_empty(ctx.user_agent.clone());
    let mut parsed = item_ua.as_deref().map(parse_user_agent).unwrap_or_default();
    if (parsed.editor.is_none() || parsed.os.is_none() || parsed.model.is_none())
        && let Some(h) = header_ua
            .as_deref()
            .filter(|h| Some(*h) != item_ua.as_deref())
    {
        let from_header = parse_user_agent(h);
        parsed.editor = parsed.editor.or(from_header.editor);
        parsed.os = parsed.os.or(from_header.os);
        parsed.model = parsed.model.or(from_header.model);
    }
    let user_agent = item_ua.or(header_ua);
    let machine = non_empty(wire.machine)
        .or(non_empty(wire.machine_name))
        .or_else(|| non_empty(ctx.machine.clone()));

    let mut h = Heartbeat::new(time, entity);
    h.entity_type = entity_type;
    h.category = category;
    h.project = project;
    h.branch = branch;
    h.language = language;
    h.is_write = wire.is_write.unwrap_or(false);
    h.lines = wire.lines;
    h.lineno = wire.lineno;
    h.cursorpos = wire.cursorpos;
    h.dependencies = wire.dependencies;
    h.machine = machine;
    // Derived metadata is cut to the limit rather than costing the user the heartbeat.
    h.editor = parsed.editor.map(truncate);
    h.os = parsed.os.map(truncate);
    h.user_agent = user_agent.map(truncate);
    h.ai_model = parsed.model.map(truncate);
    h.ai_line_changes = wire.ai_line_changes;
    h.human_line_changes = wire.human_line_changes;
    h.ai_session = wire.ai_session;
    h.ai_input_tokens = wire.ai_input_tokens;
    h.ai_output_tokens = wire.ai_output_tokens;
    h.source = Some(Source::Editor);
    h.validate(ctx.now)?;
    if ctx.max_age_seconds.is_finite()
        && ctx.max_age_seconds > 0.0
        && h.time < ctx.now - ctx.max_age_seconds
    {
        return Err(ValidationError::new(
            "time",
            format!(
                "{} is {} days old; heartbeats older than {} days are refused",
                h.time,
                ((ctx.now - h.time) / 86_400.0).floor(),
                trim_float(ctx.max_age_seconds / 86_400.0)
            ),
        ));
    }
    Ok(h)
}

/// [`to_heartbeat`] for every item, in order.
pub fn to_heartbeats(
    items: &[Box<RawValue>],
    ctx: &IngestContext,
) -> Vec<Result<Heartbeat, ValidationError>> {
    items.iter().map(|raw| convert(raw, ctx)).collect()
}

/// WakaTime's `<<LAST_PROJECT>>`, `<<LAST_BRANCH>>` and `<<LAST_LANGUAGE>>`, the one rule: each
/// takes the value of the user's newest heartbeat by time stored before it (or earlier in the
/// same batch); unknown → none, never the placeholder. `newest` and `last` carry that
/// heartbeat's time and values from one call to the next.
pub fn resolve_placeholders(items: &mut [Heartbeat], newest: &mut f64, last: &mut LastValues) {
    for h in items {
        let fill = |value: &mut Option<String>, placeholder: &str, known: &Option<String>| {
            if value.as_deref() == Some(placeholder) {
                value.clone_from(known);
            }
        };
        fill(&mut h.project, LAST_PROJECT, &last.project);
        fill(&mut h.branch, LAST_BRANCH, &last.branch);
        fill(&mut h.language, LAST_LANGUAGE, &last.language);
        if h.time >= *newest {
            *newest = h.time;
            last.remember(h);
        }
    }
}

/// Re-reads a failed item with path tracking to name the field at fault.
fn field_error(text: &str) -> ValidationError {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Wire>(&mut de) {
        Ok(_) => ValidationError::new("heartbeat", "is not a valid heartbeat object"),
        Err(e) => {
            let field = e
                .path()
                .iter()
                .find_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "heartbeat".to_string());
            ValidationError::new(&field, strip_position(&e.into_inner().to_string()))
        }
    }
}

/// serde_json appends " at line 1 column 42" to its messages; the column means nothing to the
/// sender of one item in a batch.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_STRING_BYTES {
        let mut cut = MAX_STRING_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Decodes `%XX` escapes and `+` (Go's `url.QueryEscape` writes a space as `+`). Input that is
/// not encoded, such as the raw UTF-8 the Python client sends, comes back unchanged; a broken
/// escape is kept as written and invalid UTF-8 becomes U+FFFD.
pub fn url_decode(input: impl AsRef<[u8]>) -> String {
    let bytes = input.as_ref();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The `data` object WakaTime returns for a created heartbeat (and lists in `GET heartbeats`).
///
/// wakatime-cli decodes it into its `heartbeat.Heartbeat`, whose `category` and `type` refuse
/// `null` and unknown names and whose `time` must be a number, so those are always written as
/// the client sent them; optional fields are left out when unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatData {
    pub id: String,
    pub entity: String,
    #[serde(rename = "type")]
    pub entity_type: EntityType,
    pub time: f64,
    pub category: Category,
    // Unknown values are left out rather than written as null: clients read a missing field as
    // null, and a bulk reply echoes every heartbeat, so the bytes add up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub is_write: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineno: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursorpos: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// WakaTime's is an id; ours is the machine's name, as Wakapi does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_name_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// RFC 3339 UTC, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    // WakaTime's AI fields, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_line_changes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_line_changes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_input_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_output_tokens: Option<i64>,
}

impl HeartbeatData {
    /// The reply for `h`, under the given id.
    pub fn new(h: &Heartbeat, id: impl Into<String>) -> HeartbeatData {
        HeartbeatData {
            id: id.into(),
            entity: h.entity.clone(),
            entity_type: h.entity_type,
            time: h.time,
            category: h.category,
            project: h.project.clone(),
            branch: h.branch.clone(),
            language: h.language.clone(),
            is_write: h.is_write,
            lines: h.lines,
            lineno: h.lineno,
            cursorpos: h.cursorpos,
            dependencies: h.dependencies.clone(),
            machine_name_id: h.machine.clone(),
            user_agent: h.user_agent.clone(),
            created_at: None,
            ai_line_changes: h.ai_line_changes,
            human_line_changes: h.human_line_changes,
            ai_session: h.ai_session.clone(),
            ai_input_tokens: h.ai_input_tokens,
            ai_output_tokens: h.ai_output_tokens,
        }
    }

    /// Sets `created_at` from unix seconds.
    pub fn created_at(mut self, unix_seconds: f64) -> HeartbeatData {
        self.created_at = Some(super::utc_seconds(unix_seconds));
        self
    }
}

/// A stable id for a heartbeat: [`Heartbeat::id`] as 16 hex digits, so a re-sent heartbeat
/// gets the same id, on every store.
pub fn heartbeat_id(h: &Heartbeat) -> String {
    format!("{:016x}", h.id() as u64)
}

/// The `data` of an accepted heartbeat, with its content hash as id (see [`heartbeat_id`]).
pub fn created(h: &Heartbeat) -> HeartbeatData {
    HeartbeatData::new(h, heartbeat_id(h))
}

/// One entry's body: `{"data": …}` or `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ItemBody<T> {
    Data { data: T },
    Error { error: String },
}

/// `{"responses": [[{"data": …}, 201], [{"error": "…"}, 400], …]}`; send it with status 201.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkResponse<T> {
    pub responses: Vec<(ItemBody<T>, u16)>,
}

/// The bulk reply, in request order: `Ok(data)` → 201, `Err(message)` → 400.
pub fn bulk_response<T: Serialize, E: fmt::Display>(
    results: impl IntoIterator<Item = Result<T, E>>,
) -> BulkResponse<T> {
    BulkResponse {
        responses: results
            .into_iter()
            .map(|r| match r {
                Ok(data) => (ItemBody::Data { data }, 201),
                Err(e) => (
                    ItemBody::Error {
                        error: e.to_string(),
                    },
                    400,
                ),
            })
            .collect(),
    }
}

/// WakaTime's error body, `{"error": "…"}` (the key wakatime-cli reads first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// `{"error": message}`.
pub fn error_body(message: &str) -> ErrorBody {
    ErrorBody {
        error: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_700_000_000.0;
    const GO_UA: &str =
        "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2";

    fn ctx() -> IngestContext {
        IngestContext {
            now: NOW,
            max_age_seconds: DEFAULT_MAX_AGE_SECONDS,
            machine: Some("laptop".into()),
            user_agent: Some(GO_UA.into()),
        }
    }

    fn raw(v: serde_json::Value) -> Box<RawValue> {
        RawValue::from_string(v.to_string()).unwrap()
    }

    fn convert(v: serde_json::Value) -> Result<Heartbeat, ValidationError> {
        to_heartbeat(&raw(v), &ctx())
    }

    #[test]
    fn bodies_split_into_items() {
        let (items, single) = parse_body(br#" [{"a":1}, 2, null] "#).unwrap();
        assert_eq!((items.len(), single), (3, false));
        assert_eq!(items[1].get(), "2");
        let (items, single) = parse_body(b"\xEF\xBB\xBF{\"time\": 1}").unwrap();
        assert_eq!((items.len(), single), (1, true));
        assert_eq!(parse_body(b"[]").unwrap().0.len(), 0);

        let cases: &[(&[u8], BodyError)] = &[
            (b"", BodyError::Empty),
            (b"  \n ", BodyError::Empty),
            (b"42", BodyError::WrongType("number")),
            (b"\"x\"", BodyError::WrongType("string")),
            (b"null", BodyError::WrongType("null")),
            (b"true", BodyError::WrongType("boolean")),
        ];
        for (body, want) in cases {
            assert_eq!(&parse_body(body).unwrap_err(), want);
        }
        for bad in [
            &b"[{"[..],
            b"{\"a\":}",
            b"[1,]",
            b"nope",
            b"[1] [2]",
            b"\xff",
        ] {
            let err = parse_body(bad).unwrap_err();
            assert!(matches!(err, BodyError::InvalidJson(_)), "{err:?}");
            assert!(err.to_string().contains("not valid JSON"), "{err}");
        }
    }

    /// What wakatime-cli (Go) sends (its `api_heartbeats_request.json` fixture shape).
    #[test]
    fn go_client_heartbeat() {
        let h = convert(json!({
            "branch": "heartbeat", "category": "coding", "cursorpos": 12,
            "dependencies": ["dep1", "dep2"], "entity": "/tmp/main.go", "is_write": true,
            "language": "Go", "lineno": 42, "lines": 100, "project": "wakatime-cli",
            "type": "file", "time": NOW - 60.5, "user_agent": GO_UA
        }))
        .unwrap();
        assert_eq!(h.time, NOW - 60.5);
        assert_eq!(h.entity, "/tmp/main.go");
        assert_eq!(h.entity_type, EntityType::File);
        assert_eq!(h.category, Category::CODING);
        assert_eq!(h.project.as_deref(), Some("wakatime-cli"));
        assert_eq!(h.branch.as_deref(), Some("heartbeat"));
        assert_eq!(h.language.as_deref(), Some("Go"));
        assert!(h.is_write);
        assert_eq!(
            (h.lines, h.lineno, h.cursorpos),
            (Some(100), Some(42), Some(12))
        );
        assert_eq!(h.dependencies, ["dep1", "dep2"]);
        assert_eq!(h.machine.as_deref(), Some("laptop"));
        assert_eq!(h.editor.as_deref(), Some("VS Code"));
        assert_eq!(h.os.as_deref(), Some("Linux"));
        assert_eq!(h.user_agent.as_deref(), Some(GO_UA));
        assert_eq!(h.source, Some(Source::Editor));
    }

    /// What the legacy Python client 13.1.0 posts (`Heartbeat.dict()`): strings for
    /// lineno/cursorpos, nulls everywhere.
    #[test]
    fn python_client_heartbeat() {
        let ua = "wakatime/13.1.0 (Linux-6.5.0-14-generic-x86_64-with-glibc2.35) Python3.11.4.final.0 vim/9.0 vim-wakatime/9.0.1";
        let h = convert(json!({
            "time": NOW - 1.25, "entity": "/home/u/a.py", "type": "file", "category": null,
            "is_write": null, "project": "demo", "branch": null, "language": "Python",
            "dependencies": null, "lines": 12, "lineno": "7", "cursorpos": "3",
            "user_agent": ua
        }))
        .unwrap();
        assert_eq!(
            (h.lines, h.lineno, h.cursorpos),
            (Some(12), Some(7), Some(3))
        );
        assert_eq!((h.category, h.is_write), (Category::CODING, false));
        assert_eq!(h.branch, None);
        assert!(h.dependencies.is_empty());
        assert_eq!(h.editor.as_deref(), Some("Vim"));
        assert_eq!(h.user_agent.as_deref(), Some(ua));
    }

    #[test]
    fn defaults_and_leniency() {
        type Check = fn(&Heartbeat) -> bool;
        let cases: Vec<(serde_json::Value, Check, &str)> = vec![
            (
                json!({"time": NOW, "entity": "a"}),
                |h| h.category == Category::CODING && h.entity_type == EntityType::File,
                "missing category and type",
            ),
            (
                json!({"time": NOW, "entity": "example.com", "type": "domain"}),
                |h| h.category == Category::BROWSING,
                "domain browses",
            ),
            (
                json!({"time": NOW, "entity": "https://x.org/a", "type": "url", "category": null}),
                |h| h.category == Category::BROWSING,
                "url browses",
            ),
            (
                json!({"time": NOW, "entity": "a", "category": ""}),
                |h| h.category == Category::CODING,
                "empty category",
            ),
            (
                json!({"time": NOW, "entity": "a", "category": "running tests"}),
                |h| h.category.as_str() == "running tests",
                "two-word category",
            ),
            (
                json!({"time": NOW, "entity": "a", "category": "AI Coding"}),
                |h| h.category.as_str() == "ai coding",
                "category case",
            ),
            (
                json!({"time": format!("{}", NOW - 3.5), "entity": "a"}),
                |h| h.time == NOW - 3.5,
                "time as string",
            ),
            (
                json!({"timestamp": NOW - 2.0, "entity": "a"}),
                |h| h.time == NOW - 2.0,
                "timestamp alias",
            ),
            (
                json!({"time": NOW, "entity": "a", "is_write": "true", "lines": "", "lineno": 4.0}),
                |h| h.is_write && h.lines.is_none() && h.lineno == Some(4),
                "bool and number strings",
            ),
            (
                json!({"time": NOW, "entity": "a", "dependencies": "serde, jiff ,"}),
                |h| h.dependencies == ["serde", "jiff"],
                "dependencies as a string",
            ),
            (
                json!({"time": NOW, "entity": "a", "type": null, "project": "  "}),
                |h| h.project.is_none() && h.entity_type == EntityType::File,
                "blank project",
            ),
            (
                json!({"time": NOW, "entity": "a", "line_additions": 3, "ai_session": "x"}),
                |h| h.entity == "a",
                "unknown fields are ignored",
            ),
        ];
        for (item, check, what) in cases {
            let h = convert(item).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(check(&h), "{what}: {h:?}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases: Vec<(serde_json::Value, &str, &str)> = vec![
            (json!({"entity": "a"}), "time", "missing"),
            (json!({"time": null, "entity": "a"}), "time", "missing"),
            (json!({"time": "soon", "entity": "a"}), "time", "\"soon\""),
            (json!({"time": true, "entity": "a"}), "time", "true"),
            (json!({"time": NOW}), "entity", "missing"),
            (json!({"time": NOW, "entity": ""}), "entity", "empty"),
            (
                json!({"time": NOW, "entity": 5}),
                "entity",
                "expected a string",
            ),
            (
                json!({"time": NOW, "entity": "a", "category": "sleeping"}),
                "category",
                "\"sleeping\"",
            ),
            (
                json!({"time": NOW, "entity": "a", "type": "planet"}),
                "type",
                "\"planet\"",
            ),
            (
                json!({"time": NOW, "entity": "a", "lineno": "seven"}),
                "lineno",
                "\"seven\"",
            ),
            (
                json!({"time": NOW, "entity": "a", "lines": [1]}),
                "lines",
                "expected",
            ),
            (
                json!({"time": NOW, "entity": "a", "is_write": "maybe"}),
                "is_write",
                "\"maybe\"",
            ),
            (
                json!({"time": NOW, "entity": "a", "dependencies": [1, 2]}),
                "dependencies",
                "expected a string",
            ),
            (
                json!({"time": NOW, "entity": "a", "dependencies": {"a": 1}}),
                "dependencies",
                "list of strings",
            ),
            (
                json!({"time": NOW, "entity": "a", "project": 7}),
                "project",
                "expected a string",
            ),
            (
                json!({"time": NOW, "entity": "a", "cursorpos": -1}),
                "cursorpos",
                "negative",
            ),
            (
                json!({"time": NOW + 3_601.0, "entity": "a"}),
                "time",
                "future",
            ),
            (json!({"time": -5, "entity": "a"}), "time", "1970"),
            (
                json!({"time": NOW - 366.0 * 86_400.0, "entity": "a"}),
                "time",
                "is 366 days old; heartbeats older than 365 days are refused",
            ),
            (
                json!({"time": NOW, "entity": "x".repeat(5000)}),
                "entity",
                "4096",
            ),
            (json!([1]), "heartbeat", "got array"),
            (json!(null), "heartbeat", "got null"),
            (json!("text"), "heartbeat", "got string"),
        ];
        for (item, field, needle) in cases {
            let err = convert(item.clone()).expect_err(&item.to_string());
            assert_eq!(err.field, field, "{item}: {err}");
            assert!(
                err.problem.contains(needle),
                "{item}: {err:?} lacks {needle:?}"
            );
            assert!(!err.problem.contains("line 1 column"), "{err}");
        }
    }

    #[test]
    fn max_age_can_be_turned_off() {
        let mut c = ctx();
        c.max_age_seconds = 0.0;
        let old = raw(json!({"time": 1000.0, "entity": "a"}));
        assert!(to_heartbeat(&old, &c).is_ok());
        c.max_age_seconds = 3600.0;
        assert!(to_heartbeat(&raw(json!({"time": NOW - 3599.0, "entity": "a"})), &c).is_ok());
        assert!(to_heartbeat(&old, &c).is_err());
    }

    #[test]
    fn placeholders_are_kept_in_one_spelling_until_stored() {
        let h = convert(
            json!({"time": NOW, "entity": "https://docs.rs", "type": "url",
            "project": " <<LAST_PROJECT>>", "branch": "<<LAST_BRANCH>>",
            "language": "<<LAST_LANGUAGE>> "}),
        )
        .unwrap();
        assert_eq!(h.project.as_deref(), Some(LAST_PROJECT));
        assert_eq!(h.branch.as_deref(), Some(LAST_BRANCH));
        assert_eq!(h.language.as_deref(), Some(LAST_LANGUAGE));
    }

    /// The one rule: the newest heartbeat by time, whatever the order items arrive in.
    #[test]
    fn placeholders_take_the_newest_heartbeat_by_time() {
        let hb = |t: f64, project: &str, branch: Option<&str>| {
            let mut h = Heartbeat::new(t, "f");
            h.project = Some(project.into());
            h.branch = branch.map(str::to_string);
            h
        };
        let (mut newest, mut last) = (f64::MIN, LastValues::default());
        let mut items = vec![
            hb(NOW - 30.0, LAST_PROJECT, None),
            hb(NOW - 20.0, "alpha", Some("dev")),
            // Older than alpha: resolved from alpha, but it does not become the newest.
            hb(NOW - 25.0, "beta", Some("x")),
            hb(NOW - 10.0, LAST_PROJECT, Some(LAST_BRANCH)),
        ];
        resolve_placeholders(&mut items, &mut newest, &mut last);
        assert_eq!(
            items[0].project, None,
            "unknown → none, never the placeholder"
        );
        assert_eq!(items[2].project.as_deref(), Some("beta"));
        assert_eq!(
            (items[3].project.as_deref(), items[3].branch.as_deref()),
            (Some("alpha"), Some("dev"))
        );
        assert_eq!(
            (newest, last.project.as_deref()),
            (NOW - 10.0, Some("alpha"))
        );
    }

    #[test]
    fn last_values_follow_the_project() {
        let mut last = LastValues::default();
        let mut h = Heartbeat::new(NOW, "a");
        h.project = Some("p".into());
        h.branch = Some("b1".into());
        last.remember(&h);
        h.branch = None;
        h.language = Some("Rust".into());
        last.remember(&h);
        assert_eq!(last.branch.as_deref(), Some("b1"));
        assert_eq!(last.language.as_deref(), Some("Rust"));
        h.project = Some("q".into());
        last.remember(&h);
        assert_eq!(
            (last.project.as_deref(), last.branch.as_deref()),
            (Some("q"), None)
        );
        let browsing = Heartbeat::new(NOW, "x.org");
        last.remember(&browsing);
        assert_eq!(last.project.as_deref(), Some("q"));
    }

    #[test]
    fn machine_and_user_agent_precedence() {
        // (item fields, header machine, header UA) → (machine, editor, os, user_agent)
        let vim_ua = "wakatime/13.1.0 (Darwin-23.0-x86_64-i386-64bit) Python3.9.0.final.0 vim/9.0 vim-wakatime/9.0.1";
        type Case<'a> = (
            serde_json::Value,
            Option<&'a str>,
            Option<&'a str>,
            (
                Option<&'a str>,
                Option<&'a str>,
                Option<&'a str>,
                Option<&'a str>,
            ),
        );
        let cases: Vec<Case> = vec![
            (
                json!({}),
                Some("laptop"),
                Some(GO_UA),
                (Some("laptop"), Some("VS Code"), Some("Linux"), Some(GO_UA)),
            ),
            (
                json!({"machine": "desk", "user_agent": vim_ua}),
                Some("laptop"),
                Some(GO_UA),
                (Some("desk"), Some("Vim"), Some("macOS"), Some(vim_ua)),
            ),
            (
                json!({"machine_name": "box"}),
                Some("laptop"),
                None,
                (Some("box"), None, None, None),
            ),
            (
                json!({"machine": "", "user_agent": ""}),
                Some("laptop"),
                Some(GO_UA),
                (Some("laptop"), Some("VS Code"), Some("Linux"), Some(GO_UA)),
            ),
            (
                // An item UA without an OS takes the header's OS.
                json!({"user_agent": "Chrome/120.0 chrome-wakatime/3.0"}),
                None,
                Some(GO_UA),
                (
                    None,
                    Some("Chrome"),
                    Some("Linux"),
                    Some("Chrome/120.0 chrome-wakatime/3.0"),
                ),
            ),
        ];
        for (mut item, machine, ua, want) in cases {
            item["time"] = json!(NOW);
            item["entity"] = json!("a");
            let mut c = ctx();
            c.machine = machine.map(String::from);
            c.user_agent = ua.map(String::from);
            let h = to_heartbeat(&raw(item.clone()), &c).unwrap();
            let got = (
                h.machine.as_deref(),
                h.editor.as_deref(),
                h.os.as_deref(),
                h.user_agent.as_deref(),
            );
            assert_eq!(got, want, "{item}");
        }
    }

    #[test]
    fn an_overlong_user_agent_is_cut_not_fatal() {
        let ua = format!("{GO_UA} {}", "é".repeat(400));
        let h = convert(json!({"time": NOW, "entity": "a", "user_agent": ua})).unwrap();
        assert!(h.user_agent.unwrap().len() <= MAX_STRING_BYTES);
    }

    #[test]
    fn url_decoding() {
        for (input, want) in [
            ("my-computer", "my-computer"),
            ("my%2Bcomputer%0A", "my+computer\n"),
            ("two+words", "two words"),
            ("caf%C3%A9", "café"),
            ("café", "café"),
            ("100%", "100%"),
            ("%zz%4", "%zz%4"),
            ("%ff", "\u{FFFD}"),
            ("", ""),
        ] {
            assert_eq!(url_decode(input), want, "{input}");
        }
        assert_eq!(url_decode("Jos\u{e9}".as_bytes()), "José");
    }

    /// The reply must decode with wakatime-cli's `ParseHeartbeatResponses`: `responses` is a list
    /// of `[body, status]`, a 201 body has `data` shaped like its `heartbeat.Heartbeat`
    /// (category/type strings, time a number), an error body has `error`.
    #[test]
    fn bulk_response_golden() {
        let mut h = Heartbeat::new(1_585_598_059.0, "/tmp/main.go");
        h.project = Some("wakatime-cli".into());
        h.branch = Some("heartbeat".into());
        h.language = Some("Go".into());
        h.is_write = true;
        h.lineno = Some(42);
        h.dependencies = vec!["dep1".into()];
        h.machine = Some("laptop".into());
        h.user_agent = Some("wakatime/13.0.6".into());
        let data = HeartbeatData::new(&h, "abc").created_at(1_586_899_635.0);
        let bad: Result<HeartbeatData, ValidationError> = Err(ValidationError::new(
            "time",
            "missing (expected unix seconds)",
        ));
        let body = serde_json::to_value(bulk_response([Ok(data), bad])).unwrap();
        assert_eq!(
            body,
            json!({"responses": [
                [{"data": {
                    "id": "abc", "entity": "/tmp/main.go", "type": "file",
                    "time": 1_585_598_059.0, "category": "coding", "project": "wakatime-cli",
                    "branch": "heartbeat", "language": "Go", "is_write": true,
                    "lineno": 42, "dependencies": ["dep1"],
                    "machine_name_id": "laptop", "user_agent": "wakatime/13.0.6",
                    "created_at": "2020-04-14T21:27:15Z"
                }}, 201],
                [{"error": "time: missing (expected unix seconds)"}, 400]
            ]})
        );
        assert_eq!(
            serde_json::to_value(error_body("invalid API key")).unwrap(),
            json!({"error": "invalid API key"})
        );
        // Works with any serializable data, e.g. JSON values.
        let v = serde_json::to_value(bulk_response([Ok::<_, String>(json!(1))])).unwrap();
        assert_eq!(v, json!({"responses": [[{"data": 1}, 201]]}));
    }

    #[test]
    fn ids_are_stable_content_hashes() {
        let h = convert(json!({"time": NOW, "entity": "a"})).unwrap();
        let again = convert(json!({"time": NOW, "entity": "a", "lineno": 3})).unwrap();
        assert_eq!(created(&h).id, created(&again).id);
        assert_eq!(created(&h).id.len(), 16);
        let other = convert(json!({"time": NOW, "entity": "b"})).unwrap();
        assert_ne!(heartbeat_id(&h), heartbeat_id(&other));
    }
}

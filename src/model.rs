//! The heartbeat — WakaTime's record of "this entity was active at this time" plus what a local
//! tracker knows (`source`, `meta`) — with its validation, size limits and dedup hash.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted entity (file path, command, URL …), in bytes.
pub const MAX_ENTITY_BYTES: usize = 4096;
/// Longest accepted value of any other string field, in bytes.
pub const MAX_STRING_BYTES: usize = 512;
/// Heartbeats may be at most this far in the future (clock skew between machines).
pub const MAX_FUTURE_SECONDS: f64 = 3600.0;
/// Largest JSON line on the socket or request body, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Largest net line change one heartbeat may carry, either way: more is a bug in the sender.
pub const MAX_LINE_CHANGES: u64 = 1_000_000;
/// Most tokens one heartbeat may report (input or output): far beyond any model's context.
pub const MAX_TOKENS: i64 = 100_000_000;

crate::named::named_enum! {
    /// What the entity names. WakaTime's four plus `command` for shell activity.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum EntityType {
        File = "file",
        App = "app",
        Domain = "domain",
        Url = "url",
        Command = "command",
    }
}

/// WakaTime's activity categories, in the order stored in the database (append only).
pub const CATEGORIES: [&str; 20] = [
    "coding",
    "building",
    "indexing",
    "debugging",
    "browsing",
    "running tests",
    "writing tests",
    "manual testing",
    "writing docs",
    "code reviewing",
    "communicating",
    "researching",
    "learning",
    "designing",
    "meeting",
    "planning",
    "supporting",
    "translating",
    "ai coding",
    "advising",
];

/// An activity category; always one of [`CATEGORIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(u8);

impl Category {
    pub const CODING: Category = Category(0);
    pub const BROWSING: Category = Category(4);
    /// Work done by a coding agent: such heartbeats are agent time (see [`Heartbeat::actor`]).
    pub const AI_CODING: Category = Category(18);

    /// Accepts WakaTime's spellings case-insensitively, with `-` or `_` for spaces.
    pub fn parse(s: &str) -> Option<Self> {
        let wanted = s.trim().as_bytes();
        let same = |c: &str| {
            c.len() == wanted.len()
                && c.bytes().zip(wanted).all(|(a, &b)| {
                    let b = if b == b'-' || b == b'_' { b' ' } else { b };
                    a.eq_ignore_ascii_case(&b)
                })
        };
        CATEGORIES
            .iter()
            .position(|c| same(c))
            .map(|i| Category(i as u8))
    }

    pub fn as_str(self) -> &'static str {
        CATEGORIES[usize::from(self.0)]
    }

    pub fn code(self) -> i64 {
        i64::from(self.0)
    }

    pub fn from_code(code: i64) -> Option<Self> {
        let i = u8::try_from(code).ok()?;
        (usize::from(i) < CATEGORIES.len()).then_some(Category(i))
    }
}

impl Default for Category {
    fn default() -> Self {
        Self::CODING
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Borrowed when possible: this runs for every heartbeat.
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Category::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown category {s:?} (expected one of: {})",
                CATEGORIES.join(", ")
            ))
        })
    }
}

crate::named::named_enum! {
    /// Where a heartbeat came from.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
    )]
    #[serde(rename_all = "lowercase")]
    pub enum Source {
        /// A WakaTime editor plugin (HTTP ingest).
        Editor = "editor",
        Shell = "shell",
        Fs = "fs",
        Git = "git",
        /// `tf heartbeat` and other direct socket clients.
        #[default]
        Manual = "manual",
        Import = "import",
        Sync = "sync",
        /// A coding agent's hook (`tf agent event`).
        Agent = "agent",
    }
}

/// One heartbeat, with WakaTime's field names on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Unix seconds; stored at millisecond precision.
    pub time: f64,
    pub entity: String,
    #[serde(
        rename = "type",
        default = "default_type",
        deserialize_with = "lenient::or_default_type"
    )]
    pub entity_type: EntityType,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub is_write: bool,
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub lines: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub lineno: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub cursorpos: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `None` when the sender did not say; the daemon fills in the request's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Free-form data for custom event kinds (task, ticket, agent session …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
    /// Who did the work: `None` for the human, else the agent (`claude-code`, `codex`, …).
    /// Filled in by [`Heartbeat::validate`] for `ai coding` heartbeats that do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// WakaTime's AI fields: net lines the AI changed (negative when it removed more than it
    /// added, as WakaTime counts them) …
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub ai_line_changes: Option<i64>,
    /// … net lines the human changed …
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub human_line_changes: Option<i64>,
    /// … the agent's session id …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_session: Option<String>,
    /// … and tokens used since the previous heartbeat.
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub ai_input_tokens: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub ai_output_tokens: Option<i64>,
    /// The AI model (`opus-4.1`), read from the User-Agent when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_model: Option<String>,
}

fn default_type() -> EntityType {
    EntityType::File
}

/// WakaTime clients send `null` for absent fields and numbers and booleans as strings; these
/// accept all of it. Shared by `tf import`, the socket and the HTTP API.
pub(crate) mod lenient {
    use super::EntityType;
    use serde::Deserialize;
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use std::fmt;

    enum Scalar {
        Null,
        Bool(bool),
        Int(i64),
        Float(f64),
        Text(String),
    }

    struct ScalarVisitor;

    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Scalar;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, a string or null")
        }
        fn visit_unit<E>(self) -> Result<Scalar, E> {
            Ok(Scalar::Null)
        }
        fn visit_none<E>(self) -> Result<Scalar, E> {
            Ok(Scalar::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
            Ok(Scalar::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
            Ok(Scalar::Int(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
            Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
            Ok(Scalar::Float(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
            Ok(Scalar::Text(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
            Ok(Scalar::Text(v))
        }
    }

    fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    fn fail<E: de::Error>(expected: &str, got: impl fmt::Display) -> E {
        E::custom(format!("expected {expected}, got {got}"))
    }

    /// Unix seconds as a number or a numeric string; an empty string counts as absent.
    pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        const WHAT: &str = "unix seconds as a number";
        match scalar(d)? {
            Scalar::Null => Ok(None),
            Scalar::Int(i) => Ok(Some(i as f64)),
            Scalar::Float(f) => Ok(Some(f)),
            Scalar::Text(s) if s.trim().is_empty() => Ok(None),
            Scalar::Text(s) => s
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| fail(WHAT, format_args!("{s:?}"))),
            Scalar::Bool(b) => Err(fail(WHAT, b)),
        }
    }

    /// An integer, a float (`7.0`, truncated) or a string holding one; an empty string is
    /// absent. A value beyond i64 is refused: a cast would quietly store it as i64::MAX.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        const WHAT: &str = "an integer";
        match scalar(d)? {
            Scalar::Null => Ok(None),
            Scalar::Int(i) => Ok(Some(i)),
            Scalar::Float(f) => float_to_int(f).map(Some),
            Scalar::Text(s) if s.trim().is_empty() => Ok(None),
            Scalar::Text(s) => {
                let t = s.trim();
                if let Ok(i) = t.parse::<i64>() {
                    return Ok(Some(i));
                }
                match t.parse::<f64>() {
                    Ok(f) => float_to_int(f).map(Some),
                    Err(_) => Err(fail(WHAT, format_args!("{s:?}"))),
                }
            }
            Scalar::Bool(b) => Err(fail(WHAT, b)),
        }
    }

    /// `f` truncated to an integer, if it is finite and within i64.
    fn float_to_int<E: de::Error>(f: f64) -> Result<i64, E> {
        // i64::MAX as f64 rounds up to 2^63, which is out of range itself: hence `<`.
        const LIMIT: f64 = i64::MAX as f64;
        if !f.is_finite() {
            return Err(fail("an integer", f));
        }
        if !(-LIMIT..LIMIT).contains(&f) {
            return Err(E::custom(format!(
                "{f} is out of range (expected an integer from {} to {})",
                i64::MIN,
                i64::MAX
            )));
        }
        Ok(f as i64)
    }

    /// `true`/`false`, `0`/`1`, or those as strings.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        const WHAT: &str = "true or false";
        match scalar(d)? {
            Scalar::Null => Ok(None),
            Scalar::Bool(b) => Ok(Some(b)),
            Scalar::Int(0) => Ok(Some(false)),
            Scalar::Int(1) => Ok(Some(true)),
            Scalar::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(fail(WHAT, format_args!("{s:?}"))),
            },
            Scalar::Int(i) => Err(fail(WHAT, i)),
            Scalar::Float(f) => Err(fail(WHAT, f)),
        }
    }

    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings, a comma-separated string or null")
        }
        fn visit_unit<E>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(item) = seq.next_element::<String>()? {
                out.push(item);
            }
            Ok(out)
        }
    }

    /// A list of strings, a comma-separated string, or null.
    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(ListVisitor)
    }

    pub fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    pub fn or_default_type<'de, D: Deserializer<'de>>(d: D) -> Result<EntityType, D::Error> {
        Ok(Option::<EntityType>::deserialize(d)?.unwrap_or(EntityType::File))
    }

    #[cfg(test)]
    mod tests {
        #[derive(serde::Deserialize)]
        struct Lines {
            #[serde(default, deserialize_with = "super::int")]
            lines: Option<i64>,
        }

        fn lines(json: &str) -> Result<Option<i64>, String> {
            serde_json::from_str::<Lines>(json)
                .map(|l| l.lines)
                .map_err(|e| e.to_string())
        }

        #[test]
        fn integers_in_every_form_clients_send() {
            let cases = [
                (r#"{"lines": 7}"#, Some(7)),
                (r#"{"lines": 7.9}"#, Some(7)),
                (r#"{"lines": "7"}"#, Some(7)),
                (r#"{"lines": " 7.0 "}"#, Some(7)),
                (r#"{"lines": ""}"#, None),
                (r#"{"lines": null}"#, None),
                (r#"{"lines": 9223372036854775807}"#, Some(i64::MAX)),
                (r#"{"lines": "-9223372036854775808"}"#, Some(i64::MIN)),
            ];
            for (json, want) in cases {
                assert_eq!(lines(json), Ok(want), "{json}");
            }
        }

        #[test]
        fn values_beyond_i64_are_refused_not_saturated() {
            for json in [
                r#"{"lines": 1e30}"#,
                r#"{"lines": 1000000000000000000000000000000}"#,
                r#"{"lines": 9223372036854775808}"#,
                r#"{"lines": 18446744073709551615}"#,
                r#"{"lines": "1e30"}"#,
                r#"{"lines": "99999999999999999999"}"#,
                r#"{"lines": -1e19}"#,
            ] {
                let err = lines(json).expect_err(json);
                assert!(err.contains("out of range"), "{json}: {err}");
                assert!(err.contains("9223372036854775807"), "{json}: {err}");
            }
            for json in [r#"{"lines": "many"}"#, r#"{"lines": true}"#] {
                let err = lines(json).expect_err(json);
                assert!(err.contains("expected an integer"), "{json}: {err}");
            }
        }
    }
}

impl Heartbeat {
    /// One heartbeat from JSON. The fast parser runs first; only a failure is parsed again to
    /// name the field at fault (`time: invalid type …`).
    pub fn from_json(raw: &str) -> Result<Heartbeat, String> {
        if let Ok(h) = serde_json::from_str::<Heartbeat>(raw) {
            return Ok(h);
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        match serde_path_to_error::deserialize::<_, Heartbeat>(&mut de) {
            Ok(h) => Ok(h),
            Err(e) => {
                let path = e.path().to_string();
                Err(if path == "." {
                    e.inner().to_string()
                } else {
                    format!("{path}: {}", e.inner())
                })
            }
        }
    }

    /// A heartbeat with only the required fields set.
    pub fn new(time: f64, entity: impl Into<String>) -> Self {
        Heartbeat {
            time,
            entity: entity.into(),
            entity_type: EntityType::File,
            category: Category::CODING,
            project: None,
            branch: None,
            language: None,
            is_write: false,
            lines: None,
            lineno: None,
            cursorpos: None,
            dependencies: Vec::new(),
            machine: None,
            editor: None,
            os: None,
            user_agent: None,
            source: None,
            meta: None,
            actor: None,
            ai_line_changes: None,
            human_line_changes: None,
            ai_session: None,
            ai_input_tokens: None,
            ai_output_tokens: None,
            ai_model: None,
        }
    }

    /// The time in whole milliseconds, as stored.
    pub fn time_ms(&self) -> i64 {
        seconds_to_ms(self.time)
    }

    /// Checks the limits of DESIGN.md; `now` is unix seconds. Empty optional strings become None
    /// so that "no project" is spelled one way.
    pub fn validate(&mut self, now: f64) -> Result<(), ValidationError> {
        if !self.time.is_finite() {
            return Err(ValidationError::new(
                "time",
                "must be a finite number of unix seconds",
            ));
        }
        if self.time < 0.0 {
            return Err(ValidationError::new(
                "time",
                format!("{} is before 1970-01-01 (expected unix seconds)", self.time),
            ));
        }
        if self.time > now + MAX_FUTURE_SECONDS {
            return Err(ValidationError::new(
                "time",
                format!(
                    "{} is {:.0} s in the future (at most {MAX_FUTURE_SECONDS:.0} s allowed)",
                    self.time,
                    self.time - now
                ),
            ));
        }
        if self.entity.trim().is_empty() {
            return Err(ValidationError::new("entity", "must not be empty"));
        }
        check_len("entity", &self.entity, MAX_ENTITY_BYTES)?;
        for (field, value) in [
            ("project", &mut self.project),
            ("branch", &mut self.branch),
            ("language", &mut self.language),
            ("machine", &mut self.machine),
            ("editor", &mut self.editor),
            ("os", &mut self.os),
            ("user_agent", &mut self.user_agent),
            ("ai_session", &mut self.ai_session),
            ("ai_model", &mut self.ai_model),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
            if let Some(v) = value {
                check_len(field, v, MAX_STRING_BYTES)?;
            }
        }
        for dep in &self.dependencies {
            check_len("dependencies", dep, MAX_STRING_BYTES)?;
        }
        if self.dependencies.len() > 1000 {
            return Err(ValidationError::new("dependencies", "at most 1000 entries"));
        }
        for (field, value) in [
            ("lines", self.lines),
            ("lineno", self.lineno),
            ("cursorpos", self.cursorpos),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(ValidationError::new(field, "must not be negative"));
            }
        }
        for (field, value) in [
            ("ai_line_changes", self.ai_line_changes),
            ("human_line_changes", self.human_line_changes),
        ] {
            if value.is_some_and(|v| v.unsigned_abs() > MAX_LINE_CHANGES) {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "{} lines is not a real change (at most {MAX_LINE_CHANGES} either way)",
                        value.unwrap_or_default()
                    ),
                ));
            }
        }
        for (field, value) in [
            ("ai_input_tokens", self.ai_input_tokens),
            ("ai_output_tokens", self.ai_output_tokens),
        ] {
            match value {
                Some(v) if v < 0 => {
                    return Err(ValidationError::new(field, "must not be negative"));
                }
                Some(v) if v > MAX_TOKENS => {
                    return Err(ValidationError::new(
                        field,
                        format!("{v} tokens in one heartbeat is not real (at most {MAX_TOKENS})"),
                    ));
                }
                _ => {}
            }
        }
        self.actor = match self.actor.take() {
            Some(a) => {
                crate::agent::actor_name(&a).map_err(|e| ValidationError::new("actor", e))?
            }
            None if self.category == Category::AI_CODING => Some(crate::agent::actor_for(self)),
            None => None,
        };
        if let Some(meta) = &self.meta {
            let size = serde_json::to_string(meta)
                .map(|s| s.len())
                .unwrap_or(usize::MAX);
            if size > MAX_ENTITY_BYTES {
                return Err(ValidationError::new(
                    "meta",
                    format!("{size} bytes of JSON (at most {MAX_ENTITY_BYTES})"),
                ));
            }
        }
        Ok(())
    }

    /// The heartbeat's id, which is also its dedup key (DESIGN.md): the same on every store
    /// and machine, so re-sending a heartbeat (retries, offline queues, re-imports, sync)
    /// never double counts. Heartbeats of one millisecond are ordered by it.
    pub fn id(&self) -> i64 {
        heartbeat_id(
            self.time_ms(),
            &self.entity,
            self.entity_type,
            self.category,
            self.project.as_deref(),
            self.branch.as_deref(),
            self.language.as_deref(),
            self.machine.as_deref(),
            self.is_write,
        )
    }
}

/// [`Heartbeat::id`] from the fields it covers (stores recompute it from their columns).
#[allow(clippy::too_many_arguments)]
pub fn heartbeat_id(
    time_ms: i64,
    entity: &str,
    entity_type: EntityType,
    category: Category,
    project: Option<&str>,
    branch: Option<&str>,
    language: Option<&str>,
    machine: Option<&str>,
    is_write: bool,
) -> i64 {
    use xxhash_rust::xxh3::Xxh3;
    let mut h = Xxh3::new();
    h.update(&time_ms.to_le_bytes());
    // Each string is length-prefixed so that ("ab","c") and ("a","bc") differ.
    let mut field = |s: Option<&str>| match s {
        Some(s) => {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(&u64::MAX.to_le_bytes()),
    };
    field(Some(entity));
    field(Some(entity_type.as_str()));
    field(Some(category.as_str()));
    field(project);
    field(branch);
    field(language);
    field(machine);
    h.update(&[u8::from(is_write)]);
    h.digest() as i64
}

/// This machine's host name.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

pub fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

pub fn ms_to_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() > max {
        return Err(ValidationError::new(
            field,
            format!("is {} bytes long (at most {max})", value.len()),
        ));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(field, "must not contain NUL bytes"));
    }
    Ok(())
}

/// A heartbeat (or other input) that was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    pub field: String,
    pub problem: String,
}

impl ValidationError {
    pub fn new(field: &str, problem: impl Into<String>) -> Self {
        ValidationError {
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

/// A span of time entered by hand with `tf add`; it wins over heartbeat time in its span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Unix seconds, inclusive.
    pub start: f64,
    /// Unix seconds, exclusive.
    pub end: f64,
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default)]
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Interval {
    pub fn validate(&self, now: f64) -> Result<(), ValidationError> {
        for (field, t) in [("from", self.start), ("to", self.end)] {
            if !t.is_finite() || t < 0.0 {
                return Err(ValidationError::new(
                    field,
                    "must be a time after 1970-01-01",
                ));
            }
            if t > now + MAX_FUTURE_SECONDS {
                return Err(ValidationError::new(
                    field,
                    "is more than 1 h in the future",
                ));
            }
        }
        if self.end <= self.start {
            return Err(ValidationError::new("to", "must be after from"));
        }
        if self.project.trim().is_empty() {
            return Err(ValidationError::new("project", "must not be empty"));
        }
        check_len("project", &self.project, MAX_STRING_BYTES)?;
        if let Some(b) = &self.branch {
            check_len("branch", b, MAX_STRING_BYTES)?;
        }
        if let Some(n) = &self.note {
            check_len("note", n, MAX_ENTITY_BYTES)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_700_000_000.0;

    fn hb() -> Heartbeat {
        Heartbeat::new(NOW - 10.0, "/src/main.rs")
    }

    #[test]
    fn validation_names_the_field() {
        type Mutation = Box<dyn Fn(&mut Heartbeat)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("time", Box::new(|h| h.time = f64::NAN)),
            ("time", Box::new(|h| h.time = f64::INFINITY)),
            ("time", Box::new(|h| h.time = -1.0)),
            ("time", Box::new(|h| h.time = NOW + 3601.0)),
            ("entity", Box::new(|h| h.entity = String::new())),
            ("entity", Box::new(|h| h.entity = "x".repeat(4097))),
            ("project", Box::new(|h| h.project = Some("p".repeat(513)))),
            ("branch", Box::new(|h| h.branch = Some("a\0b".into()))),
            ("lineno", Box::new(|h| h.lineno = Some(-3))),
            (
                "dependencies",
                Box::new(|h| h.dependencies = vec!["d".repeat(600)]),
            ),
        ];
        for (field, mutate) in cases {
            let mut h = hb();
            mutate(&mut h);
            let err = h.validate(NOW).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let mut h = hb();
        h.entity = "x".repeat(MAX_ENTITY_BYTES);
        h.project = Some("p".repeat(MAX_STRING_BYTES));
        h.time = NOW + MAX_FUTURE_SECONDS;
        h.validate(NOW).unwrap();
    }

    #[test]
    fn empty_optional_strings_become_none() {
        let mut h = hb();
        h.project = Some("  ".into());
        h.validate(NOW).unwrap();
        assert_eq!(h.project, None);
    }

    #[test]
    fn id_ignores_sub_millisecond_noise_and_non_key_fields() {
        let a = hb();
        let mut b = hb();
        b.time += 0.0001;
        b.lineno = Some(4);
        b.editor = Some("vim".into());
        assert_eq!(a.id(), b.id());
        let mut c = hb();
        c.project = Some("x".into());
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn id_is_pinned() {
        // Stored on disk and shared between stores: a change here needs a migration.
        let h = Heartbeat::new(1_700_000_000.5, "/src/main.rs");
        assert_eq!(
            h.id(),
            heartbeat_id(
                1_700_000_000_500,
                "/src/main.rs",
                EntityType::File,
                Category::CODING,
                None,
                None,
                None,
                None,
                false
            )
        );
        assert_eq!(format!("{:016x}", h.id() as u64), "ffccac8f6a3c53c0");
    }

    #[test]
    fn wakatime_quirks_are_accepted() {
        let h: Heartbeat = serde_json::from_str(
            r#"{"time": 1.5, "entity": "a.rs", "type": null, "category": null, "is_write": null,
                "lines": "120", "lineno": 7.0, "cursorpos": "", "dependencies": null, "project": null}"#,
        )
        .unwrap();
        assert_eq!(
            (h.entity_type, h.category, h.is_write),
            (EntityType::File, Category::CODING, false)
        );
        assert_eq!((h.lines, h.lineno, h.cursorpos), (Some(120), Some(7), None));
        let bad =
            serde_json::from_str::<Heartbeat>(r#"{"time": 1, "entity": "a", "lineno": "seven"}"#);
        assert!(bad.unwrap_err().to_string().contains("\"seven\""));
    }

    #[test]
    fn categories_parse_in_wakatime_spellings() {
        assert_eq!(
            Category::parse("running tests").unwrap().as_str(),
            "running tests"
        );
        assert_eq!(
            Category::parse("Running-Tests").unwrap().as_str(),
            "running tests"
        );
        assert_eq!(Category::parse("ai_coding").unwrap().as_str(), "ai coding");
        assert!(Category::parse("sleeping").is_none());
        for (i, c) in CATEGORIES.iter().enumerate() {
            assert_eq!(Category::from_code(i as i64).unwrap().as_str(), *c);
        }
    }

    #[test]
    fn heartbeat_json_uses_wakatime_names() {
        let h: Heartbeat = serde_json::from_str(
            r#"{"time": 1.5, "entity": "a.rs", "type": "file", "category": "debugging", "is_write": true}"#,
        )
        .unwrap();
        assert_eq!(h.category.as_str(), "debugging");
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["type"], "file");
        assert!(v.get("source").is_none());
    }
}

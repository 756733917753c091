//! Fuzzing entry points, shared by the cargo-fuzz targets in `fuzz/` and the corpus replay test
//! (`tests/fuzz_corpus.rs`): each takes raw bytes, runs the daemon's real parsing path and panics
//! when a property beyond "no panic" breaks. Not a public API.
//!
//! The clock is fixed ([`NOW`]) so that a corpus file behaves the same on every replay.

use crate::apikey;
use crate::calendar::Calendar;
use crate::config::{Config, ConfigError, ShellConfig, WeekStart};
use crate::model::{Heartbeat, Source, ValidationError, seconds_to_ms};
use crate::protocol::{
    FocusAction, ItemError, MAX_LINE_BYTES, Parsed, Request, Response, parse_line, parse_request,
    parse_response, to_line,
};
use crate::shell::{ShellEvent, ShellRules};
use crate::wakatime::{self, IngestContext, LastValues};
use axum::http::{HeaderValue, Uri};
use serde_json::value::RawValue;
use std::path::Path;

/// The fuzzers' "now": 2026-01-01T00:00:00Z, in unix seconds.
pub const NOW: f64 = 1_767_225_600.0;

/// One input is a stream of socket bytes: each line goes through what the daemon does with a
/// request line before it touches storage (framing, [`parse_line`], heartbeat item parsing and
/// [`Heartbeat::validate`], interval/git/shell event checks, range resolution).
pub fn protocol_line(data: &[u8]) {
    // As `daemon::socket::read_line` frames them: `\n`-terminated, at most MAX_LINE_BYTES,
    // a trailing `\r` dropped, non-UTF-8 answered with an error, blank lines skipped.
    for line in data.split(|&b| b == b'\n') {
        if line.len() > MAX_LINE_BYTES {
            return; // The daemon answers `too_large` and closes the connection.
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        request_line(line);
        // The client side (`tf`) reads lines with the same framing.
        let _ = parse_response(line);
    }
}

fn request_line(line: &str) {
    match parse_line(line) {
        Ok(Parsed::Heartbeats { items, source }) => {
            // The one-pass fast path must agree with the precise parser.
            match parse_request(line) {
                Ok(Request::Heartbeats {
                    heartbeats,
                    source: slow_source,
                }) => {
                    assert_eq!(
                        slow_source, source,
                        "source differs between parsers: {line}"
                    );
                    let slow: Vec<&str> = heartbeats.iter().map(|b| b.get()).collect();
                    let fast: Vec<&str> = items.iter().map(|b| b.get()).collect();
                    assert_eq!(fast, slow, "items differ between parsers: {line}");
                }
                other => panic!("parse_line saw a heartbeats batch, parse_request {other:?}"),
            }
            heartbeat_items(&items, source.unwrap_or_default());
        }
        Ok(Parsed::Other(request)) => {
            round_trip_request(&request);
            before_storage(request);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty(), "empty protocol error for {line}");
            answer_round_trips(&Response::error(e.code(), message));
        }
    }
}

/// A request written by [`to_line`] reads back as the same request.
fn round_trip_request(request: &Request) {
    let line = to_line(request);
    match parse_request(line.trim_end()) {
        Ok(back) => assert_same(&back, request, &line),
        Err(e) => panic!("to_line wrote a line parse_request refuses ({e}): {line}"),
    }
}

/// `a` and `b` serialize to the same JSON, but for numbers 1 ULP apart: serde_json (without its
/// `float_roundtrip` feature) may read a float back 1 ULP off. Times are stored in whole
/// milliseconds, where that never shows; [`valid_heartbeat`] checks that it does not.
fn assert_same<T: serde::Serialize + std::fmt::Debug>(a: &T, b: &T, context: &str) {
    let same = match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(x), Ok(y)) => same_json(&x, &y),
        _ => false,
    };
    assert!(same, "changed through JSON: {context}\n  {a:?}\n  {b:?}");
}

fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => {
                        p.is_sign_negative() == q.is_sign_negative()
                            && p.to_bits().abs_diff(q.to_bits()) <= 1
                    }
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| same_json(p, q)))
        }
        _ => a == b,
    }
}

/// The daemon's answer is one line that the client reads back unchanged.
fn answer_round_trips(response: &Response) {
    let line = to_line(response);
    assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
    match parse_response(line.trim_end()) {
        Ok(back) => assert_eq!(&back, response, "response changed: {line}"),
        Err(e) => panic!("to_line wrote a response parse_response refuses ({e}): {line}"),
    }
}

/// What the daemon checks for each request before handing it to storage.
fn before_storage(request: Request) {
    let now_ms = seconds_to_ms(NOW);
    match request {
        Request::Heartbeats { heartbeats, source } => {
            let items: Vec<&RawValue> = heartbeats.iter().map(|b| &**b).collect();
            heartbeat_items(&items, source.unwrap_or_default());
        }
        Request::AddInterval { interval } => {
            if let Err(e) = interval.validate(NOW) {
                validation_error(&e);
            }
        }
        Request::EditInterval { change, .. } => {
            let sample = crate::model::Interval {
                start: NOW - 3600.0,
                end: NOW,
                project: "p".into(),
                branch: None,
                category: Default::default(),
                note: None,
            };
            if let Some(iv) = change.apply(&sample)
                && let Err(e) = iv.validate(NOW)
            {
                validation_error(&e);
            }
        }
        Request::Forget {
            project,
            entity,
            range,
            ..
        } => {
            for cal in calendars() {
                if let Ok((start_ms, end_ms)) =
                    crate::report::range::resolve(&range, &cal, now_ms, WeekStart::Monday)
                {
                    let forget = crate::store::Forget {
                        project: project.clone(),
                        entity: entity.clone(),
                        start_ms,
                        end_ms,
                    };
                    if let Err(e) = forget.validate() {
                        validation_error(&e);
                    }
                    let _ = forget.matches_entity("/home/fuzz/src/main.rs");
                }
            }
        }
        Request::Report { range, .. }
        | Request::Intervals { range }
        | Request::Sessions { range }
        | Request::Timeline { range }
        | Request::Log { range, .. }
        | Request::Branches { range, .. }
        | Request::Commits { range, .. }
        | Request::Lanes { range, .. }
        | Request::Focus(FocusAction::Log { range }) => {
            for cal in calendars() {
                for week_start in [WeekStart::Monday, WeekStart::Sunday] {
                    if let Ok((start, end)) =
                        crate::report::range::resolve(&range, &cal, now_ms, week_start)
                    {
                        assert!(start < end, "empty range {start}..{end} from {range:?}");
                        // What the report then asks of the calendar.
                        let _ = (cal.day_of(start), cal.day_of(end - 1));
                    }
                }
            }
        }
        Request::Shell(event) => shell_event(&event),
        Request::Git(event) => {
            if let Err(e) = event.validate() {
                assert!(e.contains(':'), "git event error names no field: {e}");
            }
        }
        Request::Agent(event) => agent_event(&event),
        Request::Focus(FocusAction::Start(mut plan)) => {
            if let Err(e) = plan.validate() {
                validation_error(&e);
            }
        }
        Request::Hello { .. }
        | Request::Focus(FocusAction::Stop | FocusAction::Status)
        | Request::Status
        | Request::SyncNow
        | Request::SyncStatus
        | Request::Config { .. }
        | Request::WebLogin
        | Request::Watch(_)
        | Request::Subscribe
        | Request::Shutdown => {}
    }
}

/// An agent hook's event becomes at most one heartbeat (as `daemon::agent` makes it), which
/// either validates or is refused with the field named.
fn agent_event(event: &crate::agent::AgentEvent) {
    for (project, root) in [(None, None), (Some("project"), Some("/home/fuzz/project"))] {
        let made = crate::agent::heartbeat(
            event,
            project.map(str::to_string),
            Some("main".into()),
            root.map(str::to_string),
            Some("machine".into()),
        );
        if let Some(mut h) = made {
            match h.validate(NOW) {
                Ok(()) => valid_heartbeat(&h),
                Err(e) => validation_error(&e),
            }
        }
    }
}

/// UTC, and a zone with daylight saving time that needs no time zone database.
fn calendars() -> [Calendar; 2] {
    let dst =
        jiff::tz::TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap_or(jiff::tz::TimeZone::UTC);
    [Calendar::new(jiff::tz::TimeZone::UTC), Calendar::new(dst)]
}

/// A shell hook's event becomes heartbeats (as `daemon::shell::handle` makes them), under the
/// default rules and under rules with every option set.
fn shell_event(event: &ShellEvent) {
    let mut config = ShellConfig {
        record_args: true,
        exclude: vec!["ls*".into(), "/tmp".into(), "~/private".into()],
        ..ShellConfig::default()
    };
    config
        .categories
        .insert("cargo test*".into(), "running tests".into());
    for rules in [
        ShellRules::new(&ShellConfig::default(), None),
        ShellRules::new(&config, Some(Path::new("/home/fuzz"))),
    ] {
        let _ = rules.excluded(event);
        for timeout_ms in [60_000, 15 * 60_000, 240 * 60_000] {
            let beats = crate::shell::heartbeats(
                event,
                &rules,
                timeout_ms,
                Some("project".into()),
                Some("main".into()),
                Some("machine".into()),
            );
            for mut h in beats {
                if h.validate(NOW).is_ok() {
                    valid_heartbeat(&h);
                }
            }
        }
    }
}

/// The daemon's per-item handling of a `heartbeats` batch (`daemon::handlers::validate_items`).
fn heartbeat_items(items: &[&RawValue], default_source: Source) {
    let mut errors = Vec::new();
    for (index, raw) in items.iter().enumerate() {
        match Heartbeat::from_json(raw.get()) {
            Ok(mut h) => match h.validate(NOW) {
                Ok(()) => {
                    h.source.get_or_insert(default_source);
                    valid_heartbeat(&h);
                }
                Err(e) => {
                    validation_error(&e);
                    errors.push(ItemError {
                        index,
                        error: e.to_string(),
                    });
                }
            },
            Err(error) => {
                assert!(!error.is_empty(), "empty error for item {}", raw.get());
                if strict_object(raw.get()) {
                    assert!(
                        names_a_field(&error),
                        "error for an object names no field: {error}\nitem: {}",
                        raw.get()
                    );
                }
                errors.push(ItemError { index, error });
            }
        }
    }
    answer_round_trips(&Response::Stored {
        accepted: items.len() - errors.len(),
        duplicates: 0,
        rejected: errors.len(),
        errors,
    });
}

/// An object that is also valid JSON text for a strict reader. Raw items are only scanned, so
/// they may hold escapes no string can take (a lone surrogate `\uDFAF`); when that is in a key,
/// there is no field name to give.
fn strict_object(raw: &str) -> bool {
    raw.starts_with('{') && serde_json::from_str::<serde_json::Value>(raw).is_ok()
}

/// `field: problem` (a path in front), or serde's "missing field `x`" / "duplicate field `x`".
fn names_a_field(error: &str) -> bool {
    let named_path = error
        .split_once(": ")
        .is_some_and(|(path, _)| !path.is_empty() && !path.contains(' '));
    named_path || error.contains("field `")
}

fn validation_error(e: &ValidationError) {
    assert!(
        !e.field.is_empty() && !e.problem.is_empty(),
        "a validation error without field or problem: {e:?}"
    );
}

/// Properties of a heartbeat that passed validation: validating again changes nothing, and it
/// survives the JSON of `tf export` / the socket unchanged, dedup key included.
fn valid_heartbeat(h: &Heartbeat) {
    let mut again = h.clone();
    assert!(
        again.validate(NOW).is_ok(),
        "validates once, not twice: {h:?}"
    );
    assert_eq!(&again, h, "validation is not idempotent");
    assert!(h.time_ms() >= 0, "validated time before 1970: {h:?}");
    let json = match serde_json::to_string(h) {
        Ok(json) => json,
        Err(e) => panic!("a valid heartbeat does not serialize ({e}): {h:?}"),
    };
    let back = match Heartbeat::from_json(&json) {
        Ok(back) => back,
        Err(e) => panic!("a valid heartbeat does not read back ({e}): {json}"),
    };
    assert_same(&back, h, &json);
    assert_eq!(back.time_ms(), h.time_ms(), "stored time changed: {json}");
    assert_eq!(back.id(), h.id(), "dedup key changed: {json}");
}

/// One input is one or more HTTP requests to the ingest endpoint, without a server, separated by
/// a line holding one NUL byte (neither a header nor a JSON body can hold NUL). A request is
/// optional head lines (a request line `POST /target?query HTTP/1.1` and `Name: value` headers),
/// a blank line, then the body; without a blank line it is all body. Runs API-key extraction,
/// `X-Machine-Name` decoding, User-Agent parsing, [`wakatime::parse_body`] and
/// [`wakatime::to_heartbeats`] as `daemon::http` does, and builds the reply.
pub fn wakatime_ingest(data: &[u8]) {
    const SEPARATOR: &[u8] = b"\n\0\n";
    let mut rest = data;
    while let Some(i) = find(rest, SEPARATOR) {
        wakatime_request(&rest[..i]);
        rest = &rest[i + SEPARATOR.len()..];
    }
    wakatime_request(rest);
}

fn wakatime_request(data: &[u8]) {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (&[][..], data),
    };
    let request = HttpHead::parse(head);
    api_key(&request);

    let machine = request.machine.as_ref().map(|m| {
        let decoded = wakatime::url_decode(m.as_bytes());
        assert_eq!(
            wakatime::url_decode(wakatime::url_encode(&decoded)),
            decoded
        );
        decoded
    });
    let user_agent = request
        .user_agent
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(ua) = &user_agent {
        user_agent_properties(ua);
    }
    // Item-level User-Agents and any header bytes, as text.
    if let Some(raw) = &request.user_agent {
        user_agent_properties(&String::from_utf8_lossy(raw.as_bytes()));
    }

    let (items, single) = match wakatime::parse_body(body) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(
        !single || items.len() == 1,
        "a single object gave {}",
        items.len()
    );
    let ctx = IngestContext {
        now: NOW,
        max_age_seconds: wakatime::ingest::DEFAULT_MAX_AGE_SECONDS,
        machine,
        user_agent,
    };
    let mut converted = wakatime::to_heartbeats(&items, &ctx);
    assert_eq!(converted.len(), items.len(), "one result per item");

    // Item by item with `to_heartbeat` (no User-Agent cache) gives the same results.
    for (raw, result) in items.iter().zip(&converted) {
        let alone = wakatime::to_heartbeat(raw, &ctx);
        assert_eq!(
            &alone,
            result,
            "batch and single conversion differ: {}",
            raw.get()
        );
        if let Err(e) = result {
            validation_error(e);
            assert!(
                !ends_with_position(&e.problem),
                "position in an item error: {e}"
            );
            if strict_object(raw.get()) {
                assert!(
                    e.field != "heartbeat" || e.problem.contains('`'),
                    "error for an object names no field: {e}\nitem: {}",
                    raw.get()
                );
            }
        }
    }
    // Placeholders resolved as the writer does, from the user's latest values.
    let mut last = LastValues {
        project: Some("prev".into()),
        branch: Some("main".into()),
        language: Some("Rust".into()),
    };
    let mut ok: Vec<Heartbeat> = converted.iter().filter_map(|r| r.clone().ok()).collect();
    let mut newest = f64::MIN;
    wakatime::ingest::resolve_placeholders(&mut ok, &mut newest, &mut last);
    let mut resolved = ok.into_iter();
    for h in converted.iter_mut().flatten() {
        *h = resolved.next().expect("one per valid item");
        ingested_heartbeat(h);
    }

    // The reply, as the handler builds it.
    let results: Vec<Result<wakatime::HeartbeatData, String>> = converted
        .iter()
        .map(|r| match r {
            Ok(h) => Ok(wakatime::ingest::created(h)),
            Err(e) => Err(e.to_string()),
        })
        .collect();
    let reply = serde_json::to_string(&wakatime::bulk_response(results));
    assert!(reply.is_ok(), "the reply does not serialize: {reply:?}");
}

/// serde_json's " at line 1 column 42", which means nothing to the sender of one item.
fn ends_with_position(message: &str) -> bool {
    let Some((_, tail)) = message.rsplit_once(" at line ") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    tail.split_once(" column ")
        .is_some_and(|(line, column)| digits(line) && digits(column))
}

fn ingested_heartbeat(h: &Heartbeat) {
    valid_heartbeat(h);
    assert_eq!(h.source, Some(Source::Editor));
    for (value, placeholder) in [
        (&h.project, wakatime::ingest::LAST_PROJECT),
        (&h.branch, wakatime::ingest::LAST_BRANCH),
        (&h.language, wakatime::ingest::LAST_LANGUAGE),
    ] {
        assert_ne!(
            value.as_deref().map(str::trim),
            Some(placeholder),
            "placeholder left in {h:?}"
        );
    }
    let data = wakatime::ingest::created(h);
    let json = match serde_json::to_string(&data) {
        Ok(json) => json,
        Err(e) => panic!("reply data does not serialize ({e}): {data:?}"),
    };
    match serde_json::from_str::<wakatime::HeartbeatData>(&json) {
        Ok(back) => assert_same(&back, &data, &json),
        Err(e) => panic!("reply data does not read back ({e}): {json}"),
    }
}

/// The request head as hyper would hand it to the handler.
#[derive(Default)]
struct HttpHead {
    query: Option<String>,
    authorization: Option<HeaderValue>,
    machine: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
}

impl HttpHead {
    fn parse(head: &[u8]) -> HttpHead {
        let mut out = HttpHead::default();
        for (i, line) in head.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if i == 0
                && let Some(target) = request_target(line)
            {
                out.query = target.query().map(str::to_string);
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
            // hyper strips optional whitespace and refuses values with control characters.
            let value = line[colon + 1..].trim_ascii();
            let Ok(value) = HeaderValue::from_bytes(value) else {
                continue;
            };
            let slot = match name.as_str() {
                "authorization" => &mut out.authorization,
                "x-machine-name" => &mut out.machine,
                "user-agent" => &mut out.user_agent,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        out
    }
}

/// `POST /api/v1/heartbeats?api_key=… HTTP/1.1` → the target, if it is a valid URI.
fn request_target(line: &[u8]) -> Option<Uri> {
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split(' ');
    let method = words.next()?;
    let target = words.next()?;
    if method.is_empty() || method.contains(':') || !target.starts_with('/') {
        return None;
    }
    Uri::try_from(target).ok()
}

/// The key as `daemon::http::authenticate` extracts it; a valid key reads back from every form
/// clients send it in.
fn api_key(request: &HttpHead) {
    let auth = request.authorization.as_ref().and_then(|v| v.to_str().ok());
    let query_key = request.query.as_deref().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "api_key")
            .map(|(_, v)| wakatime::url_decode(v))
    });
    let Some(key) = apikey::from_request(auth, query_key.as_deref()) else {
        return;
    };
    let _ = apikey::hash(&key);
    if apikey::is_valid(&key) {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for form in [
            format!("Basic {}", b64(&key)),
            format!("Basic {}", b64(&format!("{key}:"))),
            format!("Bearer {key}"),
            format!("Bearer {}", b64(&key)),
        ] {
            assert_eq!(
                apikey::from_request(Some(&form), None).as_deref(),
                Some(key.as_str()),
                "{form}"
            );
        }
        assert_eq!(
            apikey::from_request(None, Some(&key)).as_deref(),
            Some(key.as_str())
        );
    }
}

fn user_agent_properties(ua: &str) {
    let parsed = wakatime::user_agent::parse(ua);
    if let Some(editor) = &parsed.editor {
        assert!(
            !editor.is_empty() && !editor.contains(|c: char| c.is_whitespace() && c != ' '),
            "editor {editor:?} from {ua:?}"
        );
        assert!(
            editor.len() <= ua.len().max(32),
            "editor longer than {ua:?}"
        );
    }
    if let Some(plugin) = &parsed.plugin {
        assert!(
            ua.contains(plugin.as_str()),
            "plugin {plugin:?} not in {ua:?}"
        );
    }
}

/// One input is one or more cases separated by a line holding two NUL bytes; a case is a config
/// file, optionally followed by a NUL byte and `NAME=value` lines taken as the environment.
/// Runs [`Config::from_toml_str`] (which validates); a config that loads is valid, and
/// `tf config show`'s TOML loads back as the same config.
pub fn config(data: &[u8]) {
    const SEPARATOR: &[u8] = b"\n\0\0\n";
    let mut rest = data;
    while let Some(i) = find(rest, SEPARATOR) {
        config_case(&rest[..i]);
        rest = &rest[i + SEPARATOR.len()..];
    }
    config_case(rest);
}

fn config_case(data: &[u8]) {
    let (text, env) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    // `Config::load` reads the file as UTF-8 and refuses anything else before parsing.
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let env: Vec<(String, String)> = String::from_utf8_lossy(env)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let origin = Path::new("/fuzz/config.toml");
    match Config::from_toml_str(text, origin, env) {
        Ok(config) => {
            if let Err(e) = config.validate() {
                panic!("a loaded config does not validate: {e}");
            }
            let shown = config.to_toml();
            // `tf config show` writes the timeout in force, also when the preset chose it.
            let mut expected = config.clone();
            expected.durations.timeout_minutes = Some(config.durations.timeout_minutes());
            match Config::from_toml_str(&shown, origin, Vec::new()) {
                Ok(back) => assert_eq!(back, expected, "config changed through to_toml:\n{shown}"),
                Err(e) => panic!("to_toml wrote a config that does not load ({e}):\n{shown}"),
            }
        }
        Err(e) => config_error(&e, text),
    }
}

fn config_error(e: &ConfigError, text: &str) {
    let message = e.to_string();
    assert!(!message.is_empty());
    match e {
        ConfigError::File {
            position, message, ..
        } => {
            assert!(!message.is_empty());
            if let Some(p) = position {
                let lines = text.split('\n').count();
                assert!(
                    p.line >= 1 && p.line <= lines && p.column >= 1,
                    "position {p:?} outside the {lines}-line file"
                );
            }
        }
        ConfigError::Env { var, message, .. } => {
            assert!(!var.is_empty() && !message.is_empty());
        }
        ConfigError::Invalid { key, message } => {
            assert!(message.contains(key), "{message} does not name {key}");
        }
        ConfigError::Read { .. } | ConfigError::Ambiguous { .. } => {
            panic!("from_toml_str does not read files")
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

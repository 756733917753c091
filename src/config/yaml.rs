//! `config.yaml`: the same keys as `config.toml`, read into the same table so that the
//! `TIMEFORGED_*` variables layer over it alike, with errors that name the file, line, column
//! and key as for TOML. Parsed by `serde_yaml_ng`, a maintained fork of the archived
//! `serde_yaml`: its messages carry the key's path and its errors the position, like `toml`'s.

use super::{Config, ConfigError, Position};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_yaml_ng::Value;
use std::path::Path;

/// The file as a table of sections (`null` values are left out: unset).
pub(super) fn to_table(text: &str, origin: &Path) -> Result<toml::Table, ConfigError> {
    let mut value: Value = serde_yaml_ng::from_str(text).map_err(|e| file_error(&e, origin))?;
    // `<<: *defaults` merges, as YAML users expect.
    value.apply_merge().map_err(|e| file_error(&e, origin))?;
    let converted = match value {
        Value::Null => Ok(toml::Table::new()),
        Value::Mapping(m) => mapping(m, &mut Vec::new()),
        other => Err(Unsupported {
            path: Vec::new(),
            what: format!(
                "expected sections such as `durations:` at the top of the file, found {}",
                kind(&other)
            ),
        }),
    };
    converted.map_err(|bad| {
        // Deserializing the file directly knows the position of most such values.
        match check(text, origin) {
            Err(positioned) => positioned,
            Ok(()) => ConfigError::File {
                path: origin.to_path_buf(),
                position: {
                    let path: Vec<&str> = bad.path.iter().map(String::as_str).collect();
                    position_of_value(text, &path)
                },
                key: (!bad.path.is_empty()).then(|| bad.path.join(".")),
                message: match bad.path.is_empty() {
                    true => bad.what,
                    false => format!("{}: {}", bad.path.join("."), bad.what),
                },
            },
        }
    })
}

/// The file alone deserialized into [`Config`]: its first error with line, column and key.
pub(super) fn check(text: &str, origin: &Path) -> Result<(), ConfigError> {
    serde_yaml_ng::from_str::<Config>(text)
        .map(|_| ())
        .map_err(|e| file_error(&e, origin))
}

/// A value the table cannot hold.
struct Unsupported {
    path: Vec<String>,
    what: String,
}

fn mapping(m: serde_yaml_ng::Mapping, path: &mut Vec<String>) -> Result<toml::Table, Unsupported> {
    let mut table = toml::Table::new();
    for (k, v) in m {
        let Value::String(name) = k else {
            return Err(Unsupported {
                path: path.clone(),
                what: format!("a key must be a name, found {}", kind(&k)),
            });
        };
        path.push(name.clone());
        if let Some(v) = convert(v, path)? {
            table.insert(name, v);
        }
        path.pop();
    }
    Ok(table)
}

fn convert(v: Value, path: &mut Vec<String>) -> Result<Option<toml::Value>, Unsupported> {
    let fail = |path: &Vec<String>, what: String| Unsupported {
        path: path.clone(),
        what,
    };
    Ok(Some(match v {
        Value::Null => return Ok(None),
        Value::Bool(b) => toml::Value::Boolean(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, _) if n.is_u64() => return Err(fail(path, format!("{n} is too large"))),
            (None, Some(f)) => toml::Value::Float(f),
            (None, None) => return Err(fail(path, format!("{n} is not a number"))),
        },
        Value::String(s) => toml::Value::String(s),
        Value::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match convert(item, path)? {
                    Some(v) => out.push(v),
                    None => return Err(fail(path, "a list item is empty (null)".into())),
                }
            }
            toml::Value::Array(out)
        }
        Value::Mapping(m) => toml::Value::Table(mapping(m, path)?),
        Value::Tagged(t) => {
            return Err(fail(
                path,
                format!("YAML tags ({}) are not supported here", t.tag),
            ));
        }
    }))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// `path:line:column: key: message`, as for TOML.
fn file_error(e: &serde_yaml_ng::Error, origin: &Path) -> ConfigError {
    let location = e.location();
    let mut message = e.to_string();
    if let Some(l) = &location {
        // The position goes in front, as for TOML; the message keeps the rest.
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(at) = message.find(&suffix) {
            message.replace_range(at..at + suffix.len(), "");
        }
    }
    let mut key = leading_key(&message);
    if key.is_none()
        && let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_string())
    {
        // A misspelt section: TOML's message names it, so this one does too.
        message = format!("{name}: {message}");
        key = Some(name);
    }
    ConfigError::File {
        path: origin.to_path_buf(),
        position: location.map(|l| Position {
            line: l.line(),
            column: l.column(),
        }),
        key,
        message,
    }
}

/// `durations.timeout_minutes` of `durations.timeout_minutes: invalid type: …`.
fn leading_key(message: &str) -> Option<String> {
    let (head, _) = message.split_once(": ")?;
    let is_path = !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'));
    is_path.then(|| head.to_string())
}

/// Where the value of `path` (`["durations", "timeout_minutes"]`) is in the file. serde_yaml_ng
/// keeps no positions in its values, but stamps an error raised while a value is read with that
/// value's position: a visitor that fails on purpose at `path` reads it off.
pub(super) fn position_of_value(text: &str, path: &[&str]) -> Option<Position> {
    let err = Find { path }
        .deserialize(serde_yaml_ng::Deserializer::from_str(text))
        .err()?;
    if !err.to_string().contains(FOUND) {
        return None;
    }
    let l = err.location()?;
    Some(Position {
        line: l.line(),
        column: l.column(),
    })
}

const FOUND: &str = "timeforged: value found";

struct Find<'a> {
    path: &'a [&'a str],
}

impl Find<'_> {
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        match self.path.is_empty() {
            true => Err(E::custom(FOUND)),
            false => Ok(()),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.leaf()?;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.path[0] {
                return map.next_value_seed(Find {
                    path: &self.path[1..],
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.leaf()?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    /// A tagged value (`!tag value`).
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.leaf()
    }
}

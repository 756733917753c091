//! API keys for the HTTP API: lowercase UUIDv4 (the only form WakaTime clients accept), kept
//! as SHA-256 hashes in the database, and pulled out of the request forms clients use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A new random key.
pub fn generate() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Whether `s` is a lowercase hyphenated UUIDv4.
pub fn is_valid(s: &str) -> bool {
    uuid::Uuid::try_parse(s)
        .is_ok_and(|u| u.get_version_num() == 4 && u.hyphenated().to_string() == s)
}

pub type KeyHash = [u8; 32];

pub fn hash(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// The local user's key from `path`, created (0600) on first use.
pub fn load_or_create(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) if is_valid(s.trim()) => return Ok(s.trim().to_string()),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} does not hold a lowercase UUIDv4 API key; delete it to get a new key",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let key = generate();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(f, "{key}")?;
    Ok(key)
}

/// The forms a key may be sent in, for error messages.
pub const ACCEPTED_FORMS: &str = "`Authorization: Basic base64(key)`, `Basic base64(key:)`, \
     `Bearer key`, `Bearer base64(key)` or `?api_key=key`";

/// Why no key could be read from a request: what was sent, in what form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Neither an `Authorization` header nor `?api_key=`.
    Missing,
    /// An `Authorization` header that is only one word (a bare key, or a scheme alone).
    NoScheme,
    /// A scheme other than Basic or Bearer.
    Scheme(String),
    /// Basic or Bearer credentials that are neither a key nor base64.
    NotBase64(&'static str),
    /// Base64 that decodes to something other than UTF-8 text.
    NotText(&'static str),
    /// A form that holds an empty key.
    Empty(&'static str),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !matches!(self, KeyError::Missing) {
            f.write_str("cannot read the API key: ")?;
        }
        match self {
            KeyError::Missing => f.write_str("missing API key")?,
            KeyError::NoScheme => f.write_str(
                "the Authorization header has no scheme (a bare key is not accepted there)",
            )?,
            KeyError::Scheme(s) => write!(f, "Authorization scheme {s:?} is not supported")?,
            KeyError::NotBase64(s) => write!(
                f,
                "the {s} credentials are neither a key nor base64 (a key sent as it is needs Bearer)"
            )?,
            KeyError::NotText(s) => write!(
                f,
                "the {s} credentials decode to something that is not text"
            )?,
            KeyError::Empty(s) => write!(f, "the {s} holds an empty key")?,
        }
        write!(
            f,
            ": send the key as {ACCEPTED_FORMS} (`tf apikey` prints it)"
        )
    }
}

impl std::error::Error for KeyError {}

/// The key a request carries, in any of the forms WakaTime clients and Wakapi use:
/// `Authorization: Basic base64(key)` or `Basic base64(key:)`, `Bearer key`,
/// `Bearer base64(key)`, or `?api_key=key`. The header wins over the query. An error says what
/// was wrong with the form sent (not whether the key is the right one: that is the caller's).
pub fn parse_request(
    authorization: Option<&str>,
    query_api_key: Option<&str>,
) -> Result<String, KeyError> {
    let Some(header) = authorization else {
        return match query_api_key.map(str::trim) {
            None => Err(KeyError::Missing),
            Some("") => Err(KeyError::Empty("api_key parameter")),
            Some(key) => Ok(key.to_string()),
        };
    };
    let Some((scheme, value)) = header.trim().split_once(char::is_whitespace) else {
        return Err(match header.trim() {
            "" => KeyError::Empty("Authorization header"),
            _ => KeyError::NoScheme,
        });
    };
    let value = value.trim();
    let (name, plain_allowed) = match scheme.to_ascii_lowercase().as_str() {
        "basic" => ("Basic", false),
        "bearer" => ("Bearer", true),
        _ => return Err(KeyError::Scheme(scheme.to_string())),
    };
    if plain_allowed && is_valid(value) {
        return Ok(value.to_string());
    }
    let bytes = STANDARD
        .decode(value)
        .map_err(|_| KeyError::NotBase64(name))?;
    let text = String::from_utf8(bytes).map_err(|_| KeyError::NotText(name))?;
    // `key:` is HTTP Basic's user:password with the key as the user.
    let key = text.split(':').next().unwrap_or("").trim();
    if key.is_empty() {
        return Err(KeyError::Empty(match name {
            "Basic" => "Basic credentials",
            _ => "Bearer credentials",
        }));
    }
    Ok(key.to_string())
}

/// [`parse_request`] without the reason.
pub fn from_request(authorization: Option<&str>, query_api_key: Option<&str>) -> Option<String> {
    parse_request(authorization, query_api_key).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c8b0e8f6-5b2a-4f5e-9c1d-2a3b4c5d6e7f";

    #[test]
    fn keys_are_lowercase_uuid_v4() {
        assert!(is_valid(&generate()));
        assert!(is_valid(KEY));
        assert!(!is_valid(&KEY.to_uppercase()));
        assert!(!is_valid("c8b0e8f6-5b2a-1f5e-9c1d-2a3b4c5d6e7f")); // version 1
        assert!(!is_valid("not-a-key"));
    }

    #[test]
    fn every_auth_form_yields_the_key() {
        let b64 = |s: &str| STANDARD.encode(s);
        let cases = [
            (Some(format!("Basic {}", b64(KEY))), None),
            (Some(format!("Basic {}", b64(&format!("{KEY}:")))), None),
            (
                Some(format!("basic {}", b64(&format!("{KEY}:ignored")))),
                None,
            ),
            (Some(format!("Bearer {KEY}")), None),
            (Some(format!("Bearer {}", b64(KEY))), None),
            (None, Some(KEY)),
        ];
        for (auth, query) in cases {
            assert_eq!(
                from_request(auth.as_deref(), query).as_deref(),
                Some(KEY),
                "{auth:?} {query:?}"
            );
        }
        assert_eq!(from_request(Some("Digest abc"), None), None);
        assert_eq!(from_request(Some("Basic !!!"), None), None);
        assert_eq!(from_request(None, None), None);
    }

    #[test]
    fn a_key_in_a_bad_form_is_told_what_was_wrong_and_what_is_accepted() {
        let b64 = |b: &[u8]| STANDARD.encode(b);
        let cases: [(Option<String>, Option<&str>, KeyError, &str); 9] = [
            (None, None, KeyError::Missing, "missing API key"),
            (Some(KEY.into()), None, KeyError::NoScheme, "no scheme"),
            (Some("Basic".into()), None, KeyError::NoScheme, "no scheme"),
            (
                Some(format!("Token {KEY}")),
                None,
                KeyError::Scheme("Token".into()),
                "\"Token\" is not supported",
            ),
            (
                Some(format!("Basic {KEY}")),
                None,
                KeyError::NotBase64("Basic"),
                "neither a key nor base64",
            ),
            (
                Some("Bearer not-a-key!".into()),
                None,
                KeyError::NotBase64("Bearer"),
                "Bearer credentials",
            ),
            (
                Some(format!("Basic {}", b64(&[0xff, 0xfe]))),
                None,
                KeyError::NotText("Basic"),
                "not text",
            ),
            (
                Some(format!("Basic {}", b64(b":secret"))),
                None,
                KeyError::Empty("Basic credentials"),
                "empty key",
            ),
            (
                None,
                Some("  "),
                KeyError::Empty("api_key parameter"),
                "api_key",
            ),
        ];
        for (auth, query, want, needle) in cases {
            let err = parse_request(auth.as_deref(), query).unwrap_err();
            assert_eq!(err, want, "{auth:?} {query:?}");
            let message = err.to_string();
            assert!(message.contains(needle), "{message}");
            assert!(
                message.contains("Basic base64(key)") && message.contains("?api_key=key"),
                "lists the accepted forms: {message}"
            );
        }
    }

    #[test]
    fn key_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api_key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&path, "garbage").unwrap();
        assert!(
            load_or_create(&path)
                .unwrap_err()
                .to_string()
                .contains("UUIDv4")
        );
    }
}

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

/// The key a request carries, in any of the forms WakaTime clients and Wakapi use:
/// `Authorization: Basic base64(key)` or `Basic base64(key:)`, `Bearer key`,
/// `Bearer base64(key)`, or `?api_key=key`.
pub fn from_request(authorization: Option<&str>, query_api_key: Option<&str>) -> Option<String> {
    if let Some(h) = authorization {
        let (scheme, value) = h.trim().split_once(' ')?;
        let value = value.trim();
        let decoded = || {
            STANDARD
                .decode(value)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(|s| s.split(':').next().unwrap_or("").to_string())
        };
        return match scheme.to_ascii_lowercase().as_str() {
            "basic" => decoded(),
            "bearer" if is_valid(value) => Some(value.to_string()),
            "bearer" => decoded(),
            _ => None,
        };
    }
    query_api_key.map(|k| k.trim().to_string())
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

//! Secrets out of command lines before they are stored (`[shell] record_args = true`):
//! `KEY=value` assignments, values of secret-looking options, credentials in URLs, and long
//! token-like words. Over-redacting is fine; leaking is not.

use super::cmdline::is_assignment;

const MASK: &str = "***";

/// Option names whose value is a secret (`--token x`, `--password=x`, `-p x` is too ambiguous).
fn is_secret_option(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    [
        "token",
        "password",
        "passwd",
        "pass",
        "secret",
        "api-key",
        "apikey",
        "api_key",
        "key",
        "auth",
        "credentials",
        "private-key",
    ]
    .iter()
    .any(|s| n == *s || n.ends_with(&format!("-{s}")) || n.ends_with(&format!("_{s}")))
}

/// A word that looks like a token: long, and made of several character classes.
fn looks_like_token(word: &str) -> bool {
    let w = word.trim_matches(|c| c == '"' || c == '\'');
    if w.len() < 24 || w.contains('/') && !w.contains('+') {
        return false;
    }
    let classes = [
        w.chars().any(|c| c.is_ascii_lowercase()),
        w.chars().any(|c| c.is_ascii_uppercase()),
        w.chars().any(|c| c.is_ascii_digit()),
    ];
    w.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_+=./".contains(c))
        && classes.iter().filter(|b| **b).count() >= 2
}

/// `scheme://user:password@host` → `scheme://user:***@host`.
fn redact_url(word: &str) -> String {
    let Some(scheme_end) = word.find("://") else {
        return word.to_string();
    };
    let rest = &word[scheme_end + 3..];
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!(
                "{}{user}:{MASK}@{}",
                &word[..scheme_end + 3],
                &rest[at + 1..]
            )
        }
        None => word.to_string(),
    }
}

/// The command with secrets replaced by `***`. Whitespace is normalised to single spaces.
pub fn redact(command: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hide_next = false;
    let mut lower_prev = String::new();
    for word in command.split_whitespace() {
        let redacted = if hide_next {
            hide_next = false;
            MASK.to_string()
        } else if is_assignment(word) {
            let (name, _) = word.split_once('=').unwrap_or((word, ""));
            format!("{name}={MASK}")
        } else if let Some((name, _)) = word.split_once('=').filter(|(n, _)| n.starts_with('-')) {
            if is_secret_option(name) {
                format!("{name}={MASK}")
            } else {
                redact_url(word)
            }
        } else if word.starts_with('-') && is_secret_option(word) {
            hide_next = true;
            word.to_string()
        } else if lower_prev.ends_with("authorization:")
            && ["bearer", "basic", "token"].contains(&word.to_ascii_lowercase().as_str())
        {
            word.to_string()
        } else if lower_prev == "bearer" || lower_prev.ends_with("authorization:") {
            MASK.to_string()
        } else if word.contains("://") {
            redact_url(word)
        } else if looks_like_token(word) {
            MASK.to_string()
        } else {
            word.to_string()
        };
        lower_prev = word
            .trim_matches(|c| c == '"' || c == '\'')
            .to_ascii_lowercase();
        out.push(redacted);
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let cases = [
            ("AWS_SECRET=abc123 aws s3 ls", "AWS_SECRET=*** aws s3 ls"),
            (
                "mysql -u root --password=hunter2 db",
                "mysql -u root --password=*** db",
            ),
            (
                "gh auth login --with-token ghp_aaaaBBBB1111cccc2222dddd3333",
                "gh auth login --with-token ***",
            ),
            (
                "tool --api-key sk-abc --verbose",
                "tool --api-key *** --verbose",
            ),
            (
                "git clone https://me:s3cret@github.com/x/y.git",
                "git clone https://me:***@github.com/x/y.git",
            ),
            (
                "curl -H 'Authorization: Bearer abcdef' https://x",
                "curl -H 'Authorization: Bearer *** https://x",
            ),
            ("export GITHUB_TOKEN=ghp_xyz", "export GITHUB_TOKEN=***"),
            (
                "echo eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0",
                "echo ***",
            ),
            ("cargo test --release", "cargo test --release"),
            (
                "cd /home/me/projects/some-long-directory-name-here",
                "cd /home/me/projects/some-long-directory-name-here",
            ),
        ];
        for (command, want) in cases {
            assert_eq!(redact(command), want, "{command}");
        }
    }
}

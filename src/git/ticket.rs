//! Ticket keys in branch names: `feature/ABC-123-login` → `ABC-123` (Jira, Linear, YouTrack
//! style), `fix/#42-crash`, `issue-42` or `42-crash` → `#42` (GitHub and GitLab issue numbers).

/// The ticket a branch is about, if its name carries one.
pub fn ticket(branch: &str) -> Option<String> {
    if branch.starts_with("detached:") {
        return None;
    }
    // The last path segment names the work (`user/feature/ABC-1-x` → `ABC-1-x`), but a key
    // anywhere in the name counts, nearest the end first.
    for segment in branch.rsplit('/') {
        if let Some(key) = project_key(segment) {
            return Some(key);
        }
    }
    branch.rsplit('/').find_map(issue_number)
}

/// `ABC-123`: letters (then letters or digits), a dash or underscore, digits; upper-cased.
fn project_key(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A key starts at the segment's start or after a separator.
        let at_boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if at_boundary && bytes[i].is_ascii_alphabetic() {
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_alphanumeric() {
                j += 1;
            }
            let prefix = &segment[i..j];
            let digits_start = j + 1;
            if j < bytes.len()
                && (bytes[j] == b'-' || bytes[j] == b'_')
                && prefix.len() >= 2
                && prefix.len() <= 10
                && !prefix.bytes().all(|b| b.is_ascii_digit())
                && !IGNORED_PREFIXES
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(prefix))
            {
                let mut k = digits_start;
                while k < bytes.len() && bytes[k].is_ascii_digit() {
                    k += 1;
                }
                let ends_cleanly = k == bytes.len() || !bytes[k].is_ascii_alphanumeric();
                if k > digits_start && k - digits_start <= 9 && ends_cleanly {
                    return Some(format!(
                        "{}-{}",
                        prefix.to_ascii_uppercase(),
                        &segment[digits_start..k]
                    ));
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// Words that come before a number in branch names without naming a ticket project
/// (`release-1`, `v-2`); `issue-42` and `gh-42` are issue numbers, handled below.
const IGNORED_PREFIXES: &[&str] = &["release", "hotfix", "issue", "issues", "gh", "pr", "v"];

/// `#42`, `issue-42`, `issues/42`, `gh-42` or a leading `42-…` → `#42`.
fn issue_number(segment: &str) -> Option<String> {
    let lower = segment.to_ascii_lowercase();
    let rest = ["#", "issue-", "issue_", "issues-", "gh-", "gh_"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .or_else(|| lower.find("-#").map(|i| &lower[i + 2..]))
        .unwrap_or(&lower);
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    let after = rest.as_bytes().get(digits.len());
    let ends_cleanly = after.is_none_or(|b| !b.is_ascii_alphanumeric());
    (!digits.is_empty() && digits.len() <= 9 && ends_cleanly).then(|| format!("#{digits}"))
}

#[cfg(test)]
mod tests {
    use super::ticket;

    #[test]
    fn project_keys() {
        for (branch, want) in [
            ("feature/ABC-123-login", Some("ABC-123")),
            ("ABC-123", Some("ABC-123")),
            ("abc-7_fix", Some("ABC-7")),
            ("jdoe/feature/PROJ2-99", Some("PROJ2-99")),
            ("bugfix/XY_12-null-deref", Some("XY-12")),
            ("feature/login-ABC-5", Some("ABC-5")),
            ("fix/#42-crash", Some("#42")),
            ("42-crash-on-start", Some("#42")),
            ("issue-42", Some("#42")),
            ("gh-7/docs", Some("#7")),
            ("main", None),
            ("release-1.2", None),
            ("v-2", None),
            ("feature/login", None),
            ("detached:abc1234", None),
            ("utf8-ünïcode-3x", None),
            ("A-1", None),
            ("", None),
        ] {
            assert_eq!(ticket(branch).as_deref(), want, "{branch}");
        }
    }
}

//! Which WakaTime category a shell command belongs to: user rules first, then built-in rules
//! on the program and its subcommand, then the configured default. Pure, table-tested.

use super::cmdline::Invocation;
use crate::model::Category;

/// The program and its first argument; which command of a line counts, and how quotes,
/// assignments and wrappers are read, is [`super::cmdline`]'s rule.
pub fn program_and_subcommand(command: &str) -> Invocation<'_> {
    super::cmdline::parse(command)
}

/// Built-in rules: the category of a program (and subcommand), if it has a definite one.
fn builtin(program: &str, sub: Option<&str>) -> Option<&'static str> {
    let sub = sub.unwrap_or("");
    let cat = match program {
        "cargo" => match sub {
            "test" | "t" | "nextest" | "bench" | "miri" => "running tests",
            "build" | "b" | "check" | "c" | "clippy" | "install" | "run" | "r" | "doc" | "fmt" => {
                "building"
            }
            _ => return None,
        },
        "go" => match sub {
            "test" => "running tests",
            "build" | "install" | "run" | "generate" | "vet" => "building",
            _ => return None,
        },
        "npm" | "pnpm" | "yarn" | "bun" | "deno" => match sub {
            "test" | "t" => "running tests",
            "build" | "install" | "i" | "ci" | "add" => "building",
            "run" => return None, // decided by the script name, which user rules can map
            _ => return None,
        },
        "mvn" | "gradle" | "gradlew" | "./gradlew" | "sbt" | "dotnet" | "swift" | "mix"
        | "stack" | "cabal" | "zig" => match sub {
            "test" | "verify" | "check" => "running tests",
            _ => "building",
        },
        "make" | "gmake" | "cmake" | "ninja" | "meson" | "bazel" | "bazelisk" | "buck"
        | "buck2" | "just" | "rustc" | "gcc" | "g++" | "clang" | "clang++" | "cc" | "c++"
        | "tsc" | "webpack" | "vite" | "esbuild" | "rollup" | "javac" => match (program, sub) {
            ("make" | "gmake" | "ninja" | "just", "test" | "check") => "running tests",
            ("bazel" | "bazelisk", "test") => "running tests",
            _ => "building",
        },
        "docker" | "podman" | "buildah" => match sub {
            "build" | "buildx" => "building",
            _ => return None,
        },
        "pytest" | "py.test" | "tox" | "nox" | "jest" | "vitest" | "mocha" | "rspec"
        | "phpunit" | "ctest" | "busted" | "playwright" | "cypress" | "bats" => "running tests",
        "python" | "python3" if sub == "-m" => return None,
        "gdb" | "lldb" | "rr" | "valgrind" | "strace" | "ltrace" | "pdb" | "dlv" | "rust-gdb"
        | "rust-lldb" | "perf" | "heaptrack" => "debugging",
        "gh" => match sub {
            "pr" => "code reviewing",
            _ => "coding",
        },
        "git" | "tig" | "lazygit" | "gitui" | "jj" => match sub {
            "difftool" | "range-diff" | "review" => "code reviewing",
            _ => "coding",
        },
        "vim" | "nvim" | "vi" | "hx" | "helix" | "emacs" | "nano" | "micro" | "kak" | "ed"
        | "code" | "zed" => "coding",
        "claude" | "codex" | "aider" | "gemini" | "copilot" | "cursor-agent" | "opencode"
        | "goose" | "amp" => "ai coding",
        "man" | "tldr" => "researching",
        _ => return None,
    };
    Some(cat)
}

/// User rules (glob on the whole command line, checked in order), then built-in rules, then
/// `default`.
pub fn category(command: &str, rules: &[(String, Category)], default: Category) -> Category {
    let trimmed = command.trim();
    if let Some((_, c)) = rules
        .iter()
        .find(|(pattern, _)| glob_match(pattern, trimmed))
    {
        return *c;
    }
    let run = program_and_subcommand(trimmed);
    run.program()
        .and_then(|p| builtin(p, run.subcommand()))
        .and_then(Category::parse)
        .unwrap_or(default)
}

/// Shell-style glob: `*` any run of characters, `?` one character, everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(command: &str) -> &'static str {
        category(command, &[], Category::CODING).as_str()
    }

    #[test]
    fn builtin_rules() {
        let cases = [
            ("cargo build --release", "building"),
            ("cargo test -p core", "running tests"),
            ("cargo +nightly test", "running tests"),
            ("/usr/bin/cargo clippy", "building"),
            ("RUST_LOG=debug cargo nextest run", "running tests"),
            ("sudo -E make install", "building"),
            ("make test", "running tests"),
            ("npm test", "running tests"),
            ("npm run build", "coding"),
            ("pnpm install", "building"),
            ("pytest -x tests/", "running tests"),
            ("go test ./...", "running tests"),
            ("go build", "building"),
            ("jest --watch", "running tests"),
            ("gdb ./a.out", "debugging"),
            ("lldb -- target/debug/tf", "debugging"),
            ("git commit -m 'x'", "coding"),
            ("git difftool main", "code reviewing"),
            ("gh pr review 12 --approve", "code reviewing"),
            ("gh issue list", "coding"),
            ("nvim src/main.rs", "coding"),
            ("emacs -nw notes.org", "coding"),
            ("claude", "ai coding"),
            ("aider --model x", "ai coding"),
            ("docker build -t x .", "building"),
            ("ls -la", "coding"),
            ("", "coding"),
            ("time cargo bench", "running tests"),
        ];
        for (command, want) in cases {
            assert_eq!(cat(command), want, "{command}");
        }
    }

    #[test]
    fn user_rules_win_and_default_applies() {
        let rules = vec![
            (
                "just test*".to_string(),
                Category::parse("running tests").unwrap(),
            ),
            (
                "npm run build*".to_string(),
                Category::parse("building").unwrap(),
            ),
        ];
        let def = Category::parse("researching").unwrap();
        assert_eq!(
            category("just test unit", &rules, def).as_str(),
            "running tests"
        );
        assert_eq!(
            category("npm run build:prod", &rules, def).as_str(),
            "building"
        );
        assert_eq!(category("ls", &rules, def).as_str(), "researching");
        assert_eq!(
            category("cargo test", &rules, def).as_str(),
            "running tests"
        );
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("ls*", "ls -la", true),
            ("ls*", "cls", false),
            ("*secret*", "echo my-secret-thing", true),
            ("git ?ush", "git push", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("", "", true),
            ("*", "", true),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} {t}");
        }
    }

    #[test]
    fn assignments_and_wrappers_are_skipped() {
        let run = program_and_subcommand("A=1 B=2 nice -n 5 cargo build");
        assert_eq!(
            (run.program(), run.subcommand()),
            (Some("cargo"), Some("build"))
        );
        assert_eq!(program_and_subcommand("=x").program(), Some("=x"));
    }
}

//! Which program a shell command line runs: a small lexer for what a prompt hands the hook
//! (quotes, escapes, `;` `&&` `||` `&` newlines, pipelines, subshells and braces, assignments,
//! redirections, here-documents, comments) and the wrappers that run another program
//! (`sudo -u USER`, `env -i`, `time -p`, `nice -n N`, `timeout 5s`, `sh -c '…'`, …).
//!
//! The rule: a line is a list of pipelines; the program of a pipeline is the program of its
//! first command; the program of the line is that of the first pipeline that does more than
//! set up the shell ([`SETUP`]: `cd`, `clear`, `export`, …), or of the first pipeline when all
//! of them do. So `clear; tf report` is `tf`, `cd app && make` is `make`, `cargo test | tee
//! log` is `cargo`, and `TOKEN=x env | head` is `env`.
//!
//! [`parse`] is pure and total (any input, no panic, no I/O, allocation only to unquote the two
//! words it returns), so it can be fuzzed directly, and it runs on every shell command.

use std::borrow::Cow;

/// What a command line runs, as far as classification needs: the program (its file name:
/// `/usr/bin/cargo` is `cargo`) and its first argument that is not an option.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation<'a> {
    pub program: Option<Cow<'a, str>>,
    pub subcommand: Option<Cow<'a, str>>,
}

impl Invocation<'_> {
    pub fn program(&self) -> Option<&str> {
        self.program.as_deref()
    }

    pub fn subcommand(&self) -> Option<&str> {
        self.subcommand.as_deref()
    }

    fn into_owned(self) -> Invocation<'static> {
        Invocation {
            program: self.program.map(|p| Cow::Owned(p.into_owned())),
            subcommand: self.subcommand.map(|s| Cow::Owned(s.into_owned())),
        }
    }
}

/// Commands that only prepare the shell for the next one: skipped when a later pipeline of
/// the same line runs something else.
pub const SETUP: &[&str] = &[
    "cd", "pushd", "popd", "z", "zi", "clear", "reset", "export", "unset", "source", ".", "set",
    "setopt", "unsetopt", "alias", "unalias", "true", ":", "echo", "printf", "sleep",
];

/// A command that runs the command after its own options and arguments.
struct Wrapper {
    name: &'static str,
    /// Short options whose value is the rest of the word or the next word (`-u USER`).
    short_values: &'static [u8],
    /// Long options whose value may be the next word (`--user USER`; `--user=USER` is one).
    long_values: &'static [&'static str],
    /// Short options after which no command follows (`command -v git` only looks it up).
    short_stop: &'static [u8],
    /// Arguments between the options and the command (`timeout DURATION`).
    positional: u8,
    /// The command may be one word holding a whole command line (`watch 'make | tail'`).
    line_arg: bool,
}

const fn wrapper(name: &'static str, short_values: &'static [u8]) -> Wrapper {
    Wrapper {
        name,
        short_values,
        long_values: &[],
        short_stop: &[],
        positional: 0,
        line_arg: false,
    }
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        long_values: &[
            "user",
            "group",
            "other-user",
            "host",
            "prompt",
            "role",
            "type",
            "close-from",
            "chdir",
            "command-timeout",
            "login-class",
        ],
        short_stop: b"lveKV",
        ..wrapper("sudo", b"ugUhprtTCDc")
    },
    wrapper("doas", b"uC"),
    Wrapper {
        long_values: &["unset", "chdir", "split-string"],
        ..wrapper("env", b"uCSP")
    },
    Wrapper {
        long_values: &["format", "output"],
        ..wrapper("time", b"fo")
    },
    Wrapper {
        long_values: &["adjustment"],
        ..wrapper("nice", b"n")
    },
    wrapper("exec", b"a"),
    wrapper("nohup", b""),
    Wrapper {
        short_stop: b"vV",
        ..wrapper("command", b"")
    },
    wrapper("builtin", b""),
    wrapper("noglob", b""),
    wrapper("nocorrect", b""),
    Wrapper {
        long_values: &["signal", "kill-after"],
        positional: 1,
        ..wrapper("timeout", b"sk")
    },
    Wrapper {
        long_values: &[
            "arg-file",
            "delimiter",
            "max-args",
            "max-procs",
            "max-chars",
            "max-lines",
            "process-slot-var",
        ],
        ..wrapper("xargs", b"adEILnPs")
    },
    Wrapper {
        long_values: &["interval", "equexit"],
        line_arg: true,
        ..wrapper("watch", b"nq")
    },
    wrapper("caffeinate", b"tw"),
    Wrapper {
        long_values: &["input", "output", "error"],
        ..wrapper("stdbuf", b"ioe")
    },
    wrapper("ionice", b"cn"),
    Wrapper {
        positional: 1,
        ..wrapper("taskset", b"")
    },
    wrapper("unbuffer", b""),
];

/// Shells whose `-c STRING` is a command line of its own.
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "mksh", "fish"];

/// Command lines inside command lines (`sh -c "sudo env make"`) are followed this deep.
const MAX_DEPTH: u8 = 3;

/// Lines are read this far at most: the hooks send 4 KiB, the socket takes up to 4 MiB, and
/// the program of a line is near its start.
const MAX_LINE: usize = 64 * 1024;

/// The program (and its subcommand) that `line` runs, by the rule in the module docs.
pub fn parse(line: &str) -> Invocation<'_> {
    let mut end = line.len().min(MAX_LINE);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    parse_in(&line[..end], 0)
}

fn parse_in(line: &str, depth: u8) -> Invocation<'_> {
    let mut lx = Lexer::new(line);
    let mut first: Option<Invocation<'_>> = None;
    loop {
        let (found, end) = command(&mut lx, depth);
        if let Some(inv) = found {
            if !inv.program().is_some_and(|p| SETUP.contains(&p)) {
                return inv;
            }
            first.get_or_insert(inv);
        }
        let end = end.unwrap_or_else(|| lx.skip_command());
        match end {
            End::Sep => {}
            End::Pipe => {
                // The rest of the pipeline reads what the first command writes.
                if lx.skip_pipeline() == End::Eof {
                    break;
                }
            }
            End::Eof => break,
        }
    }
    first.unwrap_or_default()
}

/// What ended a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `;` `&` `&&` `||` a newline, `(` or `)`.
    Sep,
    Pipe,
    Eof,
}

/// Reads one command: its program and subcommand, and how it ended when that was reached
/// (None: the command goes on after its subcommand).
fn command<'a>(lx: &mut Lexer<'a>, depth: u8) -> (Option<Invocation<'a>>, Option<End>) {
    // The last wrapper read: it is the program when no command follows it (`env | head`).
    let mut wrapped: Option<Cow<'a, str>> = None;
    let alone = |w: Option<Cow<'a, str>>| {
        w.map(|p| Invocation {
            program: Some(p),
            subcommand: None,
        })
    };
    loop {
        let (raw, plain) = match lx.next() {
            Tok::Word { raw, plain } => (raw, plain),
            Tok::Redir { target } => {
                if target {
                    lx.next_word();
                }
                continue;
            }
            Tok::Sep => return (alone(wrapped), Some(End::Sep)),
            Tok::Pipe => return (alone(wrapped), Some(End::Pipe)),
            Tok::Eof => return (alone(wrapped), Some(End::Eof)),
        };
        if is_assignment(raw) {
            continue;
        }
        if plain {
            match raw {
                "!" | "{" | "}" | "if" | "then" | "else" | "elif" | "fi" | "while" | "until"
                | "do" | "done" | "esac" | "coproc" => continue,
                // Headers whose words are not a command (`for f in *.rs`); a function
                // definition's name (`f() { …; }`: its body's commands follow as commands).
                "for" | "select" | "case" => return (None, None),
                "function" => {
                    lx.next_word();
                    continue;
                }
                _ if raw.len() > 2 && raw.ends_with("()") => continue,
                _ => {}
            }
        }
        let name = basename(text(raw, plain));
        if name.is_empty() {
            return (None, None);
        }
        if let Some(w) = WRAPPERS.iter().find(|w| w.name == name.as_ref()) {
            wrapped = Some(name);
            match wrapper_args(lx, w, depth) {
                After::Command => continue,
                After::Stop => return (alone(wrapped), None),
                After::Line(inv) => return (Some(inv), None),
            }
        }
        if SHELLS.contains(&name.as_ref()) {
            return match shell_args(lx, depth) {
                Some(inv) => (Some(inv), None),
                None => (
                    Some(Invocation {
                        program: Some(name),
                        subcommand: None,
                    }),
                    None,
                ),
            };
        }
        let (subcommand, end) = subcommand(lx);
        let inv = Invocation {
            program: Some(name),
            subcommand,
        };
        return (Some(inv), end);
    }
}

/// The first argument that is not an option (`cargo +nightly test`: toolchains are not one).
fn subcommand<'a>(lx: &mut Lexer<'a>) -> (Option<Cow<'a, str>>, Option<End>) {
    loop {
        match lx.next() {
            Tok::Word { raw, plain } => {
                // Options, toolchains (`cargo +nightly test`), process substitutions.
                if raw.starts_with(['-', '+']) || raw.starts_with("<(") || raw.starts_with(">(") {
                    continue;
                }
                return (Some(text(raw, plain)), None);
            }
            Tok::Redir { target } => {
                if target {
                    lx.next_word();
                }
            }
            Tok::Sep => return (None, Some(End::Sep)),
            Tok::Pipe => return (None, Some(End::Pipe)),
            Tok::Eof => return (None, Some(End::Eof)),
        }
    }
}

enum After {
    /// The wrapped command comes next.
    Command,
    /// Nothing is run beyond the wrapper.
    Stop,
    /// The wrapper was given a whole command line (`env -S '…'`, `watch 'a | b'`).
    Line(Invocation<'static>),
}

/// Reads a wrapper's options and arguments, up to the command it runs.
fn wrapper_args(lx: &mut Lexer<'_>, w: &Wrapper, depth: u8) -> After {
    let mut positional = w.positional;
    loop {
        let Tok::Word { raw, plain } = lx.peek() else {
            // A separator or the end: the caller sees it next.
            return After::Command;
        };
        let is_option = (raw.len() > 1 && raw.starts_with('-')) || (raw == "-" && w.name == "env");
        if raw == "--" {
            lx.next();
            for _ in 0..positional {
                lx.next_word();
            }
            return After::Command;
        }
        if !is_option {
            if positional > 0 {
                positional -= 1;
                lx.next();
                continue;
            }
            if w.line_arg && raw.contains([' ', '\t', '\n', '|', ';', '&']) {
                lx.next();
                return line(&text(raw, plain), depth);
            }
            return After::Command;
        }
        lx.next();
        if let Some(long) = raw.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let value = match value {
                Some(v) => Some(text(v, plain)),
                None if w.long_values.contains(&name) => lx.next_word(),
                None => None,
            };
            if w.name == "env"
                && name == "split-string"
                && let Some(v) = value
            {
                return line(&v, depth);
            }
            continue;
        }
        // A cluster of short options: `-En`, `-uroot`, `-u root`; `nice -10` is a number.
        let cluster = &raw.as_bytes()[1..];
        for (i, c) in cluster.iter().enumerate() {
            if w.short_stop.contains(c) {
                return After::Stop;
            }
            if w.short_values.contains(c) {
                let value = match &raw[1 + i + 1..] {
                    "" => lx.next_word(),
                    rest => Some(text(rest, plain)),
                };
                if w.name == "env"
                    && *c == b'S'
                    && let Some(v) = value
                {
                    return line(&v, depth);
                }
                break;
            }
        }
    }
}

/// `sh -c STRING`: the program of STRING; `bash script.sh`: None (the shell is the program).
fn shell_args(lx: &mut Lexer<'_>, depth: u8) -> Option<Invocation<'static>> {
    loop {
        let Tok::Word { raw, .. } = lx.peek() else {
            return None;
        };
        if !raw.starts_with('-') || raw == "-" || raw == "--" {
            return None;
        }
        lx.next();
        if matches!(raw, "--rcfile" | "--init-file") || raw == "-o" || raw == "+o" {
            lx.next_word();
            continue;
        }
        if !raw.starts_with("--") && raw[1..].contains('c') {
            let command = lx.next_word()?;
            return match line(&command, depth) {
                After::Line(inv) => Some(inv),
                _ => None,
            };
        }
    }
}

/// The program of a command line given as one argument.
fn line(command: &str, depth: u8) -> After {
    if depth >= MAX_DEPTH {
        return After::Stop;
    }
    After::Line(parse_in(command, depth + 1).into_owned())
}

/// `NAME=value`, `NAME+=value`, `NAME[i]=value` before a command.
pub(crate) fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let name = name.strip_suffix('+').unwrap_or(name);
    let name = match name.split_once('[') {
        Some((n, rest)) if rest.ends_with(']') => n,
        Some(_) => return false,
        None => name,
    };
    !name.is_empty()
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// `/usr/bin/cargo` → `cargo`, `$HOME/bin/x` → `x`; a slash inside an expansion is not a
/// directory separator (`$(echo /bin/x)` stays as written).
fn basename(word: Cow<'_, str>) -> Cow<'_, str> {
    let last = word.rsplit('/').next().unwrap_or(&word);
    if last.contains([')', '}', '`']) {
        return word;
    }
    match word {
        Cow::Borrowed(w) => Cow::Borrowed(w.rsplit('/').next().unwrap_or(w)),
        Cow::Owned(w) => match w.rsplit_once('/') {
            Some((_, name)) => Cow::Owned(name.to_string()),
            None => Cow::Owned(w),
        },
    }
}

fn text(raw: &str, plain: bool) -> Cow<'_, str> {
    if plain {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(unquote(raw))
    }
}

/// A word as the shell passes it on: quotes removed, escapes resolved; expansions (`$x`,
/// `$(…)`, backquotes) are kept as written.
fn unquote(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'\n') | None => {}
                    Some(&c) => out.push(c),
                }
                i += 2;
            }
            b'\'' => {
                let end = skip_single(b, i);
                let close = if end > i + 1 && b[end - 1] == b'\'' {
                    end - 1
                } else {
                    end
                };
                out.extend_from_slice(&b[i + 1..close]);
                i = end;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    match b[i] {
                        b'\\' if matches!(b.get(i + 1), Some(b'$' | b'`' | b'"' | b'\\')) => {
                            out.push(b[i + 1]);
                            i += 2;
                        }
                        b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
                        b'$' | b'`' => {
                            let end = skip_expansion(b, i, 0);
                            out.extend_from_slice(&b[i..end]);
                            i = end;
                        }
                        c => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
            }
            b'$' if b.get(i + 1) == Some(&b'\'') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        out.push(b[i + 1]);
                        i += 2;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                i += 1;
            }
            b'$' | b'`' => {
                let end = skip_expansion(b, i, 0);
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were removed from valid UTF-8, so this is valid; lossy just in case.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// After a `'…'` starting at `i` (its closing quote, or the end).
fn skip_single(b: &[u8], i: usize) -> usize {
    match b[i + 1..].iter().position(|&c| c == b'\'') {
        Some(p) => i + 1 + p + 1,
        None => b.len(),
    }
}

/// Quotes and expansions nested deeper than this (`"$("$(…` a thousand times) end the word
/// at the end of the line: the scan stays iterative in effect, and the stack small.
const MAX_NEST: u32 = 64;

/// After a `"…"` starting at `i`, `nest` levels deep in quotes and expansions.
fn skip_double(b: &[u8], mut i: usize, nest: u32) -> usize {
    if nest > MAX_NEST {
        return b.len();
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'$' | b'`' => i = skip_expansion(b, i, nest + 1),
            _ => i += 1,
        }
    }
    b.len()
}

/// After `$'…'`, starting at the `$`.
fn skip_ansi(b: &[u8], mut i: usize) -> usize {
    i += 2;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// After an expansion starting at `i` (`$(…)`, `$((…))`, `${…}`, `` `…` ``, `$name`, `$`).
fn skip_expansion(b: &[u8], i: usize, nest: u32) -> usize {
    if nest > MAX_NEST {
        return b.len();
    }
    match (b[i], b.get(i + 1)) {
        (b'`', _) => {
            let mut j = i + 1;
            while j < b.len() {
                match b[j] {
                    b'\\' => j += 2,
                    b'`' => return j + 1,
                    _ => j += 1,
                }
            }
            b.len()
        }
        (b'$', Some(b'(')) => skip_group(b, i + 1, b'(', b')', nest + 1),
        (b'$', Some(b'{')) => skip_group(b, i + 1, b'{', b'}', nest + 1),
        _ => i + 1,
    }
}

/// After the group opened by `open` at `i`, with nesting, quotes and expansions inside.
fn skip_group(b: &[u8], mut i: usize, open: u8, close: u8, nest: u32) -> usize {
    if nest > MAX_NEST {
        return b.len();
    }
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if c == open {
            depth += 1;
            i += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            i += 1;
            if depth == 0 {
                return i;
            }
        } else {
            i = match c {
                b'\\' => i + 2,
                b'\'' => skip_single(b, i),
                b'"' => skip_double(b, i, nest + 1),
                b'`' => skip_expansion(b, i, nest + 1),
                b'$' if b.get(i + 1) == Some(&b'\'') => skip_ansi(b, i),
                b'$' if matches!(b.get(i + 1), Some(b'(' | b'{')) => skip_expansion(b, i, nest + 1),
                _ => i + 1,
            };
        }
    }
    b.len()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// A word as written; `plain` when it has no quotes or escapes (it is its own text).
    Word {
        raw: &'a str,
        plain: bool,
    },
    /// A redirection operator; `target` when a word (file, fd, here-document delimiter)
    /// follows it.
    Redir {
        target: bool,
    },
    Sep,
    Pipe,
    Eof,
}

struct Lexer<'a> {
    src: &'a str,
    i: usize,
    peeked: Option<Tok<'a>>,
    /// Set after `<<`: the next word is a here-document's delimiter (`true`: `<<-`).
    heredoc_next: Option<bool>,
    /// Here-documents whose bodies start after the next newline.
    heredocs: Vec<(Cow<'a, str>, bool)>,
}

fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            i: 0,
            peeked: None,
            heredoc_next: None,
            heredocs: Vec::new(),
        }
    }

    fn peek(&mut self) -> Tok<'a> {
        if let Some(t) = self.peeked {
            return t;
        }
        let t = self.lex();
        self.peeked = Some(t);
        t
    }

    fn next(&mut self) -> Tok<'a> {
        match self.peeked.take() {
            Some(t) => t,
            None => self.lex(),
        }
    }

    /// The next token if it is a word (consumed), as its text.
    fn next_word(&mut self) -> Option<Cow<'a, str>> {
        match self.peek() {
            Tok::Word { raw, plain } => {
                self.next();
                Some(text(raw, plain))
            }
            _ => None,
        }
    }

    /// Skips to the end of the current command.
    fn skip_command(&mut self) -> End {
        loop {
            match self.next() {
                Tok::Sep => return End::Sep,
                Tok::Pipe => return End::Pipe,
                Tok::Eof => return End::Eof,
                Tok::Word { .. } | Tok::Redir { .. } => {}
            }
        }
    }

    /// Skips to the end of the current pipeline.
    fn skip_pipeline(&mut self) -> End {
        loop {
            match self.skip_command() {
                End::Pipe => {}
                end => return end,
            }
        }
    }

    fn lex(&mut self) -> Tok<'a> {
        let b = self.src.as_bytes();
        loop {
            while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\r') {
                self.i += 1;
            }
            match (b.get(self.i), b.get(self.i + 1)) {
                // A line continuation between words.
                (Some(b'\\'), Some(b'\n')) => self.i += 2,
                // A comment, to the end of the line.
                (Some(b'#'), _) => {
                    self.i = b[self.i..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(b.len(), |p| self.i + p);
                }
                _ => break,
            }
        }
        let Some(&c) = b.get(self.i) else {
            return Tok::Eof;
        };
        let at = |k: usize| b.get(self.i + k).copied();
        let (tok, len) = match c {
            b'\n' => {
                self.i += 1;
                self.skip_heredoc_bodies();
                return Tok::Sep;
            }
            b';' => (Tok::Sep, if at(1) == Some(b';') { 2 } else { 1 }),
            b'|' => match at(1) {
                Some(b'|') => (Tok::Sep, 2),
                Some(b'&') => (Tok::Pipe, 2),
                _ => (Tok::Pipe, 1),
            },
            b'&' => match (at(1), at(2)) {
                (Some(b'&'), _) => (Tok::Sep, 2),
                (Some(b'>'), Some(b'>')) => (Tok::Redir { target: true }, 3),
                (Some(b'>'), _) => (Tok::Redir { target: true }, 2),
                _ => (Tok::Sep, 1),
            },
            b'(' | b')' => (Tok::Sep, 1),
            b'<' | b'>' if at(1) == Some(b'(') => return self.word(),
            b'<' | b'>' => self.redirection(0),
            b'0'..=b'9' => {
                let digits = b[self.i..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                match b.get(self.i + digits) {
                    Some(b'<' | b'>') => self.redirection(digits),
                    _ => return self.word(),
                }
            }
            _ => return self.word(),
        };
        self.i += len;
        tok
    }

    /// The redirection operator after `skip` fd digits at the current position.
    fn redirection(&mut self, skip: usize) -> (Tok<'a>, usize) {
        let b = self.src.as_bytes();
        let at = |k: usize| b.get(self.i + skip + k).copied();
        let op = match (at(0), at(1), at(2)) {
            (Some(b'<'), Some(b'<'), Some(b'<')) => 3,
            (Some(b'<'), Some(b'<'), Some(b'-')) => {
                self.heredoc_next = Some(true);
                3
            }
            (Some(b'<'), Some(b'<'), _) => {
                self.heredoc_next = Some(false);
                2
            }
            (Some(b'<' | b'>'), Some(b'>' | b'&' | b'|'), _) => 2,
            _ => 1,
        };
        (Tok::Redir { target: true }, skip + op)
    }

    fn word(&mut self) -> Tok<'a> {
        let b = self.src.as_bytes();
        let start = self.i;
        let mut i = start;
        let mut plain = true;
        while i < b.len() {
            let c = b[i];
            match c {
                b'\\' => {
                    plain = false;
                    i += 2;
                }
                b'\'' => {
                    plain = false;
                    i = skip_single(b, i);
                }
                b'"' => {
                    plain = false;
                    i = skip_double(b, i, 0);
                }
                b'$' if b.get(i + 1) == Some(&b'\'') => {
                    plain = false;
                    i = skip_ansi(b, i);
                }
                b'$' | b'`' => i = skip_expansion(b, i, 0),
                // Inside a word, a parenthesis belongs to it: `arr=(a b)`, `f()`, zsh glob
                // qualifiers `*(.)`, extglobs `@(a|b)`, process substitution `<(cmd)`.
                b'(' if i > start => i = skip_group(b, i, b'(', b')', 0),
                b'<' | b'>' if i == start => i = skip_group(b, i + 1, b'(', b')', 0),
                _ if is_meta(c) => break,
                _ => i += 1,
            }
        }
        let end = i.min(b.len());
        self.i = end;
        let raw = &self.src[start..end];
        if let Some(strip_tabs) = self.heredoc_next.take() {
            self.heredocs.push((text(raw, plain), strip_tabs));
        }
        Tok::Word { raw, plain }
    }

    /// After a newline: skips the bodies of the here-documents opened on the line before.
    fn skip_heredoc_bodies(&mut self) {
        let b = self.src.as_bytes();
        for (delimiter, strip_tabs) in std::mem::take(&mut self.heredocs) {
            while self.i < b.len() {
                let end = b[self.i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| self.i + p);
                let mut line = &self.src[self.i..end];
                self.i = (end + 1).min(b.len());
                if strip_tabs {
                    line = line.trim_start_matches('\t');
                }
                if line == delimiter {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> (Option<String>, Option<String>) {
        let inv = parse(line);
        (
            inv.program().map(str::to_string),
            inv.subcommand().map(str::to_string),
        )
    }

    #[test]
    fn programs_and_subcommands() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            // The three.
            ("clear; tf report", "tf", Some("report")),
            ("TOKEN=x env | head", "env", None),
            ("sudo -u nobody make", "make", None),
            // Separators and lists.
            ("cd app && cargo build", "cargo", Some("build")),
            ("cd app\ncargo test", "cargo", Some("test")),
            ("make || echo failed", "make", None),
            ("sleep 2 & cargo run", "cargo", Some("run")),
            ("cargo test; notify-send done", "cargo", Some("test")),
            ("cd ..", "cd", Some("..")),
            ("echo hi | grep h", "echo", Some("hi")),
            ("clear;tf report", "tf", Some("report")),
            (
                "export A=1; unset B; source .env && pytest -x",
                "pytest",
                None,
            ),
            // Pipelines: the first command.
            ("cargo test 2>&1 | tee log", "cargo", Some("test")),
            ("git log | less", "git", Some("log")),
            ("make |& grep error", "make", None),
            // Subshells and braces.
            ("(cd x && make test)", "make", Some("test")),
            ("{ cargo build; cargo test; }", "cargo", Some("build")),
            ("( make ) | tee out", "make", None),
            ("! git diff --quiet", "git", Some("diff")),
            // Quotes and escapes.
            ("'cargo' build", "cargo", Some("build")),
            ("\"/usr/bin/git\" status", "git", Some("status")),
            ("g\\it status", "git", Some("status")),
            ("echo 'a; b' ; make", "make", None),
            ("echo \"a && b\" && npm test", "npm", Some("test")),
            ("echo $(cd x; ls) && go test", "go", Some("test")),
            ("echo `date`; go build", "go", Some("build")),
            ("git commit -m \"fix; it\"", "git", Some("commit")),
            ("git commit -m 'it''s'", "git", Some("commit")),
            ("printf $'a\\'b;c'; just test", "just", Some("test")),
            // Assignments.
            ("A=1 B=\"x y\" cargo test", "cargo", Some("test")),
            ("PATH+=:/x arr[2]=y make", "make", None),
            ("arr=(a b c) make", "make", None),
            ("A=1", "", None),
            // Wrappers and their options.
            ("sudo -E make install", "make", Some("install")),
            ("sudo -u nobody -g staff -- make", "make", None),
            ("sudo -unobody make", "make", None),
            ("sudo --user=nobody make", "make", None),
            ("sudo --user nobody make", "make", None),
            ("sudo VAR=1 make", "make", None),
            ("sudo -l", "sudo", None),
            ("sudo -s", "sudo", None),
            ("doas -u root make", "make", None),
            (
                "env -i -u HOME PATH=/bin cargo build",
                "cargo",
                Some("build"),
            ),
            ("env --unset HOME --chdir /tmp make", "make", None),
            ("env - make", "make", None),
            ("env -S 'cargo test'", "cargo", Some("test")),
            ("env --split-string='cargo build'", "cargo", Some("build")),
            ("time -p cargo bench", "cargo", Some("bench")),
            ("time -f %e -o t.txt make", "make", None),
            ("nice -n 5 make", "make", None),
            ("nice -10 make", "make", None),
            ("nice --adjustment=3 make", "make", None),
            ("exec -a myname vim", "vim", None),
            ("nohup ./server &", "server", None),
            ("command -p make", "make", None),
            ("command -v git", "command", None),
            ("builtin cd /", "cd", Some("/")),
            ("timeout 5s cargo test", "cargo", Some("test")),
            ("timeout -s KILL -k 1m 10m make", "make", None),
            ("timeout --signal=INT 5 pytest", "pytest", None),
            ("xargs -n 1 -P 4 rm", "rm", None),
            ("xargs -0 -I{} cp {} /tmp", "cp", Some("{}")),
            ("watch -n 1 make", "make", None),
            ("watch -n1 'make | tail'", "make", None),
            ("watch -d \"git status\"", "git", Some("status")),
            ("sudo nice -n 2 time -p env -i make", "make", None),
            ("noglob rm *.o", "rm", Some("*.o")),
            ("stdbuf -oL make", "make", None),
            ("taskset 0x3 make", "make", None),
            ("env", "env", None),
            ("sudo", "sudo", None),
            // Shells running a command line.
            ("sh -c 'cargo test'", "cargo", Some("test")),
            ("bash -lc \"cd x && make\"", "make", None),
            ("bash script.sh", "bash", None),
            ("zsh", "zsh", None),
            // Redirections, here-documents, comments.
            ("> out.txt make", "make", None),
            ("2>/dev/null make", "make", None),
            ("make > log 2>&1", "make", None),
            ("make &> log", "make", None),
            ("cat <<EOF\nrm -rf /\nEOF\nmake", "cat", None),
            (
                "tee f <<'EOF' >/dev/null\ncd x; rm y\nEOF",
                "tee",
                Some("f"),
            ),
            ("cat <<-EOF | sh\n\techo\n\tEOF", "cat", None),
            ("diff <(ls a) <(ls b)", "diff", None),
            ("make \\\n  test", "make", Some("test")),
            ("make # build it", "make", None),
            ("# just a comment\ncargo test", "cargo", Some("test")),
            // Control structures.
            ("for f in *.rs; do rustfmt $f; done", "rustfmt", Some("$f")),
            ("while true; do make; sleep 1; done", "make", None),
            ("if cargo test; then echo ok; fi", "cargo", Some("test")),
            ("f() { make; }", "make", None),
            // Toolchains and options before the subcommand.
            ("cargo +nightly test", "cargo", Some("test")),
            ("/usr/bin/cargo clippy", "cargo", Some("clippy")),
            // The other examples.
            ("time cargo test", "cargo", Some("test")),
            ("exec make", "make", None),
            ("command make -j4", "make", None),
            ("builtin echo hi", "echo", Some("hi")),
            ("env -i A=b cmd", "cmd", None),
            ("env -i -- A=b B='c d' cmd x", "cmd", Some("x")),
            ("(cd x && make)", "make", None),
            ("$(which cargo) build", "$(which cargo)", Some("build")),
            ("$(echo /usr/bin/x) y", "$(echo /usr/bin/x)", Some("y")),
            ("$HOME/bin/tool run", "tool", Some("run")),
            ("`which make` all", "`which make`", Some("all")),
            ("x=$(git rev-parse HEAD); git show $x", "git", Some("show")),
            // Odd input: a program is still named.
            ("echo 'unterminated", "echo", Some("unterminated")),
            ("'cargo build", "cargo build", None),
            ("make \"", "make", Some("")),
            ("make $(", "make", Some("$(")),
            ("make \\", "make", Some("")),
            (
                "\u{fffd}\u{fffd}-tool x",
                "\u{fffd}\u{fffd}-tool",
                Some("x"),
            ),
            ("sudo -u", "sudo", None),
            ("env -S", "env", None),
            ("timeout", "timeout", None),
            // Nothing to run.
            ("", "", None),
            ("   ", "", None),
            (";;", "", None),
            ("| |", "", None),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(line, program, sub)| {
                let want = (
                    (!program.is_empty()).then(|| program.to_string()),
                    sub.map(str::to_string),
                );
                let got = run(line);
                (got != want).then(|| format!("{line:?}: got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn assignments() {
        for (word, want) in [
            ("A=1", true),
            ("_x9=", true),
            ("PATH+=:/x", true),
            ("arr[2]=y", true),
            ("1A=x", false),
            ("=x", false),
            ("a-b=c", false),
            ("arr[2=y", false),
            ("make", false),
        ] {
            assert_eq!(is_assignment(word), want, "{word}");
        }
    }

    #[test]
    fn plain_words_are_borrowed() {
        let inv = parse("sudo -u me cargo build");
        assert!(matches!(inv.program, Some(Cow::Borrowed("cargo"))));
        assert!(matches!(inv.subcommand, Some(Cow::Borrowed("build"))));
    }

    #[test]
    fn nested_command_lines_stop_at_a_depth() {
        let deep = "sh -c \"sh -c 'sh -c \\\"sh -c make\\\"'\"";
        // Three levels are followed; the fourth is not.
        assert_eq!(run(deep).0.as_deref(), Some("sh"));
        assert_eq!(run("sh -c \"sh -c 'make'\"").0.as_deref(), Some("make"));
    }

    /// Deeply nested quotes and expansions (a 4 MiB line from the socket could nest a
    /// million deep) neither overflow the stack nor take long; a huge line is read only as far
    /// as its start.
    #[test]
    fn deep_nesting_and_huge_lines_are_bounded() {
        for unit in ["$(", "\"$(", "${", "`\"", "<(", "a(", "$'"] {
            let line = format!("make {}", unit.repeat(1 << 20));
            let started = std::time::Instant::now();
            assert_eq!(run(&line).0.as_deref(), Some("make"), "{unit}");
            assert!(
                started.elapsed().as_secs() < 5,
                "{unit}: {:?}",
                started.elapsed()
            );
        }
        let huge = format!("cargo build {}", "x ".repeat(4 << 20));
        assert_eq!(run(&huge), (Some("cargo".into()), Some("build".into())));
        // Cut inside a multi-byte character: still a valid str.
        let wide = format!("{}é make", "a".repeat(MAX_LINE - 1));
        assert!(run(&wide).0.is_some());
    }

    /// Every short line over an alphabet of the syntax's special characters gives an answer
    /// (no panic, no endless loop), and a program is never empty.
    #[test]
    fn any_input_gives_an_answer() {
        let alphabet: &[&str] = &[
            "a", " ", "'", "\"", "\\", "$", "(", ")", "{", "}", "`", ";", "&", "|", "<", ">", "\n",
            "#", "=", "-", "é", "sudo ", "env -S", "<<E", "E",
        ];
        let n = alphabet.len();
        let mut line = String::new();
        for len in 1..=4u32 {
            for mut k in 0..n.pow(len) {
                line.clear();
                for _ in 0..len {
                    line.push_str(alphabet[k % n]);
                    k /= n;
                }
                let inv = parse(&line);
                assert!(inv.program().is_none_or(|p| !p.is_empty()), "{line:?}");
            }
        }
    }
}

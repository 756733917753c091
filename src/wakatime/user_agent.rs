//! Editor, operating system and plugin read from the User-Agent a WakaTime client sends, shown
//! with the display names WakaTime uses ("VS Code", "IntelliJ IDEA", "macOS" …).
//!
//! The shapes seen in the wild, all handled by one scan:
//! - wakatime-cli (Go): `wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2`
//! - legacy Python client: `wakatime/13.1.0 (Linux-6.5.0-14-generic-x86_64-with-glibc2.35)
//!   Python3.11.4.final.0 vim/9.0 vim-wakatime/9.0.1`
//! - browser extensions: `Chrome/114.0.0.0 linux_x86-64 chrome-wakatime/3.0.17`, or a whole browser
//!   User-Agent followed by `win_x86-64 edge-wakatime/3.0.18`
//!
//! The OS comes from the first parenthesised group that names one (or a standalone `os_arch`
//! word); the editor is the first `name/version` word that is not the WakaTime core, a language
//! runtime or a `*-wakatime` plugin, preferring a name from the editor table (so an AI model
//! token such as `opus/4.1` in front of `claude-code/2.1` is skipped), else the plugin's prefix.

/// What a User-Agent says about its sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent {
    /// Display name of the editor ("VS Code"); an unknown editor's token as given ("Skype").
    pub editor: Option<String>,
    /// Display name of the operating system ("Linux", "macOS", "Windows", "WSL" …).
    pub os: Option<String>,
    /// The plugin's own `name/version` word, e.g. `vscode-wakatime/24.9.2`.
    pub plugin: Option<String>,
    /// The AI model of an `ai coding` heartbeat, from the token WakaTime's CLI puts before
    /// the agent (`opus/4.1-medium` → `opus-4.1-medium`).
    pub model: Option<String>,
}

/// Parses a User-Agent header or a heartbeat's `user_agent` field. Never fails: what cannot be
/// recognised is left `None`.
pub fn parse(ua: &str) -> UserAgent {
    let (words, groups) = split_groups(ua.trim());
    let os = groups
        .iter()
        .find_map(|g| os_from_group(g))
        .or_else(|| words.iter().find_map(|w| os_from_word(w)));

    let browser = words
        .first()
        .is_some_and(|w| w.to_ascii_lowercase().starts_with("mozilla/"));
    let mut candidates: Vec<String> = Vec::new();
    let mut plugin: Option<&str> = None;
    let mut plugin_editor: Option<&str> = None;
    let mut model: Option<String> = None;
    // Words without a slash just before a `name/version` word belong to the name
    // ("HBuilder X/4.56", "Spring Tool Suite/4.0").
    let mut pending: Vec<&str> = Vec::new();
    for word in &words {
        let Some((name, rest)) = word.split_once('/') else {
            if is_noise_word(word) {
                pending.clear();
            } else {
                pending.push(word);
            }
            continue;
        };
        let joined = if pending.is_empty() {
            name.to_string()
        } else {
            format!("{} {name}", pending.join(" "))
        };
        pending.clear();
        if is_skipped_name(name) {
            continue;
        }
        if pending.is_empty() && is_model_family(name) {
            if model.is_none() && !rest.is_empty() {
                model = Some(format!("{name}-{rest}").to_lowercase());
            }
            continue;
        }
        if let Some(prefix) = strip_suffix_ignore_case(name, "-wakatime") {
            if plugin.is_none() {
                plugin = Some(word);
                if !is_generic_plugin_prefix(prefix) {
                    plugin_editor = Some(prefix);
                }
            }
            continue;
        }
        // The JetBrains plugin has sent `jetbrains/PyCharm/2023.1`.
        let name = match rest.split_once('/') {
            Some((product, _)) if name.eq_ignore_ascii_case("jetbrains") && !product.is_empty() => {
                product.to_string()
            }
            _ => joined,
        };
        if !name.is_empty() {
            candidates.push(name);
        }
    }

    let from_plugin = plugin_editor.map(editor_display_name);
    let editor = if browser {
        from_plugin.or_else(|| candidates.first().map(|c| editor_display_name(c)))
    } else {
        candidates
            .iter()
            .find_map(|c| known_editor(c))
            .map(str::to_string)
            .or_else(|| candidates.first().map(|c| editor_display_name(c)))
            .or(from_plugin)
    };
    UserAgent {
        editor,
        os: os.map(str::to_string),
        plugin: plugin.map(str::to_string),
        model,
    }
}

/// The display name of an editor token: WakaTime's spelling for a known editor, else the token
/// as given.
pub fn editor_display_name(token: &str) -> String {
    known_editor(token)
        .map(str::to_string)
        .unwrap_or_else(|| token.to_string())
}

/// The display name of a known editor, matched case-insensitively ignoring spaces, `-`, `_`
/// and `.` (`vscode`, `VSCode`, `visual-studio-code` are one editor).
pub fn known_editor(token: &str) -> Option<&'static str> {
    let key = normalize(token);
    if key.is_empty() {
        return None;
    }
    if let Some((_, name)) = EDITORS.iter().find(|(k, _)| *k == key) {
        return Some(name);
    }
    // JetBrains product names carry editions ("pycharmcommunityedition", "intellijideaultimate").
    PRODUCT_PREFIXES
        .iter()
        .find(|(k, _)| key.starts_with(k))
        .map(|(_, name)| *name)
}

/// The display name of an operating-system token (`darwin` → `macOS`), or `None` when the token
/// names no operating system.
pub fn os_display_name(token: &str) -> Option<&'static str> {
    let token = token.trim();
    OPERATING_SYSTEMS
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| k.eq_ignore_ascii_case(token)))
        .map(|(_, name)| *name)
}

/// Normalized editor token → WakaTime's display name.
const EDITORS: &[(&str, &str)] = &[
    ("vscode", "VS Code"),
    ("code", "VS Code"),
    ("visualstudiocode", "VS Code"),
    ("vscodeinsiders", "VS Code"),
    ("codeoss", "VS Code"),
    ("vscodium", "VSCodium"),
    ("codeserver", "code-server"),
    ("vim", "Vim"),
    ("gvim", "Vim"),
    ("macvim", "Vim"),
    ("neovim", "Neovim"),
    ("nvim", "Neovim"),
    ("emacs", "Emacs"),
    ("sublime", "Sublime Text"),
    ("sublimetext", "Sublime Text"),
    ("zed", "Zed"),
    ("helix", "Helix"),
    ("hx", "Helix"),
    ("kakoune", "Kakoune"),
    ("kak", "Kakoune"),
    ("xcode", "Xcode"),
    ("visualstudio", "Visual Studio"),
    ("atom", "Atom"),
    ("eclipse", "Eclipse"),
    ("netbeans", "NetBeans"),
    ("jupyter", "Jupyter"),
    ("jupyterlab", "Jupyter"),
    ("obsidian", "Obsidian"),
    ("cursor", "Cursor"),
    ("windsurf", "Windsurf"),
    ("kiro", "Kiro"),
    ("trae", "Trae"),
    ("positron", "Positron"),
    ("antigravity", "Antigravity"),
    ("intellij", "IntelliJ IDEA"),
    ("idea", "IntelliJ IDEA"),
    ("fleet", "Fleet"),
    ("kate", "Kate"),
    ("ktexteditor", "Kate"),
    ("notepad++", "Notepad++"),
    ("notepadpp", "Notepad++"),
    ("nova", "Nova"),
    ("textmate", "TextMate"),
    ("brackets", "Brackets"),
    ("micro", "Micro"),
    ("nano", "nano"),
    ("geany", "Geany"),
    ("gedit", "gedit"),
    ("lapce", "Lapce"),
    ("qtcreator", "Qt Creator"),
    ("rstudio", "RStudio"),
    ("matlab", "MATLAB"),
    ("azuredatastudio", "Azure Data Studio"),
    ("ssms", "SSMS"),
    ("unity", "Unity"),
    ("unreal", "Unreal Engine"),
    ("blender", "Blender"),
    ("figma", "Figma"),
    ("postman", "Postman"),
    ("flashdevelop", "FlashDevelop"),
    ("terminal", "Terminal"),
    ("claude", "Claude"),
    ("claudecode", "Claude Code"),
    ("codex", "Codex"),
    ("codexcli", "Codex"),
    ("copilot", "Copilot"),
    ("githubcopilotcli", "Copilot CLI"),
    ("opencode", "OpenCode"),
    ("opencodecli", "OpenCode"),
    ("chrome", "Chrome"),
    ("chromium", "Chromium"),
    ("firefox", "Firefox"),
    ("edge", "Edge"),
    ("edg", "Edge"),
    ("safari", "Safari"),
    ("brave", "Brave"),
];

/// Normalized prefixes of product names that come with edition suffixes.
const PRODUCT_PREFIXES: &[(&str, &str)] = &[
    ("intellijidea", "IntelliJ IDEA"),
    ("pycharm", "PyCharm"),
    ("webstorm", "WebStorm"),
    ("phpstorm", "PhpStorm"),
    ("rubymine", "RubyMine"),
    ("clion", "CLion"),
    ("goland", "GoLand"),
    ("rider", "Rider"),
    ("datagrip", "DataGrip"),
    ("dataspell", "DataSpell"),
    ("rustrover", "RustRover"),
    ("appcode", "AppCode"),
    ("aqua", "Aqua"),
    ("writerside", "Writerside"),
    ("androidstudio", "Android Studio"),
];

/// Lower-case OS tokens → display name. `mac` is what VS Code's plugin and browser extensions
/// write, `darwin` what Go reports, `macOS`/`Darwin` what Python's `platform.platform()` starts
/// with.
const OPERATING_SYSTEMS: &[(&[&str], &str)] = &[
    (&["linux", "gnu"], "Linux"),
    (
        &["darwin", "macos", "mac", "macosx", "macintosh", "osx"],
        "macOS",
    ),
    (
        &[
            "windows", "win", "win32", "win64", "cygwin", "msys", "mingw",
        ],
        "Windows",
    ),
    (&["wsl", "wsl2"], "WSL"),
    (&["freebsd"], "FreeBSD"),
    (&["openbsd"], "OpenBSD"),
    (&["netbsd"], "NetBSD"),
    (&["dragonfly"], "DragonFly BSD"),
    (&["android"], "Android"),
    (&["ios", "iphone", "ipad"], "iOS"),
    (&["cros", "chromeos"], "ChromeOS"),
    (&["sunos", "solaris"], "Solaris"),
    (&["illumos"], "illumos"),
    (&["aix"], "AIX"),
    (&["haiku"], "Haiku"),
];

fn normalize(token: &str) -> String {
    token
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits into whitespace-separated words outside parentheses and the top-level parenthesised
/// groups. An unclosed group runs to the end.
fn split_groups(ua: &str) -> (Vec<&str>, Vec<&str>) {
    let mut words = Vec::new();
    let mut groups = Vec::new();
    let mut depth = 0usize;
    let mut group_start = 0;
    let mut word_start: Option<usize> = None;
    for (i, c) in ua.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    if let Some(s) = word_start.take() {
                        words.push(&ua[s..i]);
                    }
                    group_start = i + 1;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    groups.push(&ua[group_start..i]);
                }
            }
            c if depth == 0 && c.is_whitespace() => {
                if let Some(s) = word_start.take() {
                    words.push(&ua[s..i]);
                }
            }
            _ if depth == 0 => {
                word_start.get_or_insert(i);
            }
            _ => {}
        }
    }
    if depth > 0 {
        groups.push(&ua[group_start..]);
    } else if let Some(s) = word_start {
        words.push(&ua[s..]);
    }
    (words, groups)
}

fn os_from_group(group: &str) -> Option<&'static str> {
    let lower = group.to_ascii_lowercase();
    // WSL kernels: `5.15.167.4-microsoft-standard-WSL2`.
    if lower.contains("microsoft-standard") || lower.contains("-wsl") {
        return Some("WSL");
    }
    let tokens = || lower.split([' ', '-', '_', ';', ',', '/']);
    // Go on Android reports `Linux-android`.
    if tokens().any(|t| t == "android") {
        return Some("Android");
    }
    tokens().find_map(os_display_name)
}

/// A standalone `os_arch` word such as `linux_x86-64` or `mac_arm64` (browser extensions).
fn os_from_word(word: &str) -> Option<&'static str> {
    let (os, arch) = word.split_once(['_', '-'])?;
    if arch.is_empty() || word.contains('/') {
        return None;
    }
    os_display_name(os)
}

/// Words that are never part of an editor's name: runtimes and `os_arch` words.
fn is_noise_word(word: &str) -> bool {
    is_runtime(word) || os_from_word(word).is_some()
}

/// `go1.22.1`, `Python3.11.4.final.0`, `python`, `go` (any case).
fn is_runtime(name: &str) -> bool {
    let versioned = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            && name[prefix.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_digit())
    };
    versioned("go") || versioned("python")
}

/// Model families as wakatime-cli writes them in front of the agent (`opus/4.1`, `gpt/5.2`,
/// `gemini/3-flash-preview`). `claude` is not one: `Claude/2.1` is the desktop app.
fn is_model_family(name: &str) -> bool {
    const FAMILIES: &[&str] = &[
        "opus",
        "sonnet",
        "haiku",
        "gpt",
        "o1",
        "o3",
        "o4",
        "gemini",
        "qwen",
        "deepseek",
        "grok",
        "llama",
        "mistral",
        "codestral",
        "devstral",
        "kimi",
        "glm",
        "composer",
        "minimax",
    ];
    FAMILIES.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Names of `name/version` words that are not editors.
fn is_skipped_name(name: &str) -> bool {
    name.is_empty()
        || ["wakatime", "wakatime-cli", "wakatime-ls", "unknown"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
        || is_runtime(name)
}

/// `desktop-wakatime`, `windows-wakatime`, `macos-wakatime`: apps that watch other programs, so
/// their prefix is not an editor.
fn is_generic_plugin_prefix(prefix: &str) -> bool {
    prefix.is_empty() || os_display_name(prefix).is_some() || prefix.eq_ignore_ascii_case("desktop")
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real User-Agents: (UA, editor, os, plugin). Sources: the issue, wakatime-cli's
    /// `heartbeat.UserAgent` format, the legacy Python client's `get_user_agent`, and the UAs
    /// collected in Wakapi's `utils/http_test.go`.
    #[test]
    fn real_world_user_agents() {
        type Want<'a> = Option<&'a str>;
        let cases: &[(&str, Want, Want, Want)] = &[
            (
                "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2",
                Some("VS Code"),
                Some("Linux"),
                Some("vscode-wakatime/24.9.2"),
            ),
            (
                "wakatime/13.1.0 (Linux-6.5.0-14-generic-x86_64-with-glibc2.35) Python3.11.4.final.0 vim/9.0 vim-wakatime/9.0.1",
                Some("Vim"),
                Some("Linux"),
                Some("vim-wakatime/9.0.1"),
            ),
            (
                "wakatime/13.0.7 (Linux-4.15.0-96-generic-x86_64-with-glibc2.4) Python3.8.0.final.0 GoLand/2019.3.4 GoLand-wakatime/11.0.1",
                Some("GoLand"),
                Some("Linux"),
                Some("GoLand-wakatime/11.0.1"),
            ),
            (
                "wakatime/13.0.4 (Linux-5.4.64-x86_64-with-glibc2.2.5) Python3.7.6.final.0 emacs-wakatime/1.0.2",
                Some("Emacs"),
                Some("Linux"),
                Some("emacs-wakatime/1.0.2"),
            ),
            (
                "wakatime/13.1.0 (macOS-14.1-arm64-arm-64bit) Python3.12.0.final.0 sublime/4169 sublime-wakatime/10.0.1",
                Some("Sublime Text"),
                Some("macOS"),
                Some("sublime-wakatime/10.0.1"),
            ),
            (
                "wakatime/12.0.0 (Windows-10-10.0.19041-SP0) Python3.8.5.final.0 atom/1.60.0 atom-wakatime/8.0.0",
                Some("Atom"),
                Some("Windows"),
                Some("atom-wakatime/8.0.0"),
            ),
            (
                "wakatime/v1.18.11 (linux-5.13.8-200.fc34.x86_64-x86_64) go1.16.7 emacs-wakatime/1.0.2",
                Some("Emacs"),
                Some("Linux"),
                Some("emacs-wakatime/1.0.2"),
            ),
            (
                "wakatime/ (Linux-6.0.42-1-lts-foobar-x86_64) KTextEditor/5.111.0 kate-wakatime/1.3.10",
                Some("Kate"),
                Some("Linux"),
                Some("kate-wakatime/1.3.10"),
            ),
            (
                "wakatime/v1.86.5 (linux-6.6.4-200.fc39.x86_64-unknown) go1.21.3 neovim/900 vim-wakatime/11.1.1",
                Some("Neovim"),
                Some("Linux"),
                Some("vim-wakatime/11.1.1"),
            ),
            (
                "wakatime/v1.105.0 (linux-6.11.8-zen1-2-zen-unknown) go1.23.3 cursor/1.93.1 vscode-wakatime/24.8.0",
                Some("Cursor"),
                Some("Linux"),
                Some("vscode-wakatime/24.8.0"),
            ),
            (
                "wakatime/v1.106.1 (linux-5.15.167.4-microsoft-standard-WSL2-unknown) go1.23.3 cursor/1.93.1 vscode-wakatime/24.9.2",
                Some("Cursor"),
                Some("WSL"),
                Some("vscode-wakatime/24.9.2"),
            ),
            (
                "wakatime/v1.123.0 (darwin-23.4.0-arm64) go1.24.4 windsurf/1.99.3 vscode-wakatime/25.1.1",
                Some("Windsurf"),
                Some("macOS"),
                Some("vscode-wakatime/25.1.1"),
            ),
            (
                "wakatime/v1.102.1 (windows-10.0.27718.1000-x86_64) go1.22.5 Notepad++/unknown windows-wakatime/0.5.0",
                Some("Notepad++"),
                Some("Windows"),
                Some("windows-wakatime/0.5.0"),
            ),
            (
                "wakatime/v1.102.1 (windows-10.0.27723.1000-x86_64) go1.22.5 Skype/unknown windows-wakatime/0.5.0",
                Some("Skype"),
                Some("Windows"),
                Some("windows-wakatime/0.5.0"),
            ),
            (
                "wakatime/1.139.1 (linux-6.18.8-unknown) go1.25.5 helix/25.07.1 (74075bb5) wakatime-ls/0.2.2 helix-wakatime/0.2.2",
                Some("Helix"),
                Some("Linux"),
                Some("helix-wakatime/0.2.2"),
            ),
            (
                "wakatime/v1.90.0 (darwin-23.1.0-arm64) go1.22.1 xcode/15.0 xcode-wakatime/5.0.0",
                Some("Xcode"),
                Some("macOS"),
                Some("xcode-wakatime/5.0.0"),
            ),
            (
                "wakatime/v1.95.0 (linux-6.8.0-x86_64) go1.22.5 intellijidea/2024.2.1 intellijidea-wakatime/15.0.2",
                Some("IntelliJ IDEA"),
                Some("Linux"),
                Some("intellijidea-wakatime/15.0.2"),
            ),
            (
                "wakatime/v1.95.0 (darwin-23.6.0-arm64) go1.22.5 pycharmcommunityedition/2024.2 pycharmcommunityedition-wakatime/15.0.2",
                Some("PyCharm"),
                Some("macOS"),
                Some("pycharmcommunityedition-wakatime/15.0.2"),
            ),
            (
                "wakatime/v1.95.0 (windows-10.0.22631-x86_64) go1.22.5 androidstudio/2024.1 androidstudio-wakatime/15.0.2",
                Some("Android Studio"),
                Some("Windows"),
                Some("androidstudio-wakatime/15.0.2"),
            ),
            (
                "wakatime/v1.98.0 (linux-6.9.3-x86_64) go1.22.5 Zed/0.150.0 zed-wakatime/0.1.9",
                Some("Zed"),
                Some("Linux"),
                Some("zed-wakatime/0.1.9"),
            ),
            (
                "wakatime/v1.90.0 (windows-10.0.22631-x86_64) go1.22.1 visualstudio/17.9 visualstudio-wakatime/11.0.0",
                Some("Visual Studio"),
                Some("Windows"),
                Some("visualstudio-wakatime/11.0.0"),
            ),
            (
                "wakatime/v1.90.0 (freebsd-14.0-amd64) go1.22.1 vim/901 vim-wakatime/11.2.0",
                Some("Vim"),
                Some("FreeBSD"),
                Some("vim-wakatime/11.2.0"),
            ),
            (
                "wakatime/v1.107.0 (linux-6.11.8) go1.23.3 Claude/2.1.118 jetbrains/PyCharm/2023.1",
                Some("Claude"),
                Some("Linux"),
                None,
            ),
            (
                "wakatime/v1.0 (linux-6.6.0-x86_64) go1.21 opus/4.1-medium claude-code/2.1.45",
                Some("Claude Code"),
                Some("Linux"),
                None,
            ),
            (
                "wakatime/v1.0 (linux-6.6.0-x86_64) go1.21 gemini/3-flash-preview vscode/1.95.3 vscode-wakatime/24.8.0",
                Some("VS Code"),
                Some("Linux"),
                Some("vscode-wakatime/24.8.0"),
            ),
            (
                "wakatime/v1.96.0 (darwin-24.0.0-arm64) go1.22.5 (Mac) vscode/1.95.0 vscode-wakatime/24.9.2",
                Some("VS Code"),
                Some("macOS"),
                Some("vscode-wakatime/24.9.2"),
            ),
            (
                "Chrome/114.0.0.0 linux_x86-64 chrome-wakatime/3.0.17",
                Some("Chrome"),
                Some("Linux"),
                Some("chrome-wakatime/3.0.17"),
            ),
            (
                "Chrome/115.0.0.0 mac_arm64 chrome-wakatime/3.0.19",
                Some("Chrome"),
                Some("macOS"),
                Some("chrome-wakatime/3.0.19"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36 Edg/116.0.1938.62 win_x86-64 edge-wakatime/3.0.18",
                Some("Edge"),
                Some("Windows"),
                Some("edge-wakatime/3.0.18"),
            ),
            (
                "HBuilder X/4.56 (Windows_NT 10.0.26100)",
                Some("HBuilder X"),
                Some("Windows"),
                None,
            ),
            (
                "wakatime/13.0.7 Python3.8.0.final.0 GoLand/2019.3.4 GoLand-wakatime/11.0.1",
                Some("GoLand"),
                None,
                Some("GoLand-wakatime/11.0.1"),
            ),
            (
                "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 Unknown/0",
                None,
                Some("Linux"),
                None,
            ),
            ("", None, None, None),
        ];
        assert!(cases.len() >= 15);
        for (ua, editor, os, plugin) in cases {
            let got = parse(ua);
            assert_eq!(got.editor.as_deref(), *editor, "editor of {ua}");
            assert_eq!(got.os.as_deref(), *os, "os of {ua}");
            assert_eq!(got.plugin.as_deref(), *plugin, "plugin of {ua}");
        }
    }

    #[test]
    fn display_names() {
        for (token, name) in [
            ("vscode", "VS Code"),
            ("VSCode", "VS Code"),
            ("visual-studio-code", "VS Code"),
            ("nvim", "Neovim"),
            ("IntelliJ IDEA", "IntelliJ IDEA"),
            ("intellijideaultimate", "IntelliJ IDEA"),
            ("PhpStorm", "PhpStorm"),
            ("rustrover", "RustRover"),
            ("sublime_text", "Sublime Text"),
            ("jupyterlab", "Jupyter"),
            ("obsidian", "Obsidian"),
            ("SomeNewEditor", "SomeNewEditor"),
        ] {
            assert_eq!(editor_display_name(token), name, "{token}");
        }
        for (token, name) in [
            ("darwin", Some("macOS")),
            ("Darwin", Some("macOS")),
            ("linux", Some("Linux")),
            ("windows", Some("Windows")),
            ("freebsd", Some("FreeBSD")),
            ("openbsd", Some("OpenBSD")),
            ("plan9", None),
        ] {
            assert_eq!(os_display_name(token), name, "{token}");
        }
    }

    #[test]
    fn the_ai_model_before_the_agent() {
        for (ua, model, editor) in [
            (
                "wakatime/v1.0 (linux-6.6.0-x86_64) go1.21 opus/4.1-medium claude-code/2.1.45",
                Some("opus-4.1-medium"),
                Some("Claude Code"),
            ),
            (
                "wakatime/v1.0 (linux-6.6.0-x86_64) go1.21 gemini/3-flash-preview vscode/1.95.3 vscode-wakatime/24.8.0",
                Some("gemini-3-flash-preview"),
                Some("VS Code"),
            ),
            (
                "wakatime/v1.0 (darwin-24.0.0-arm64) go1.22 GPT/5.2 Codex/0.40 SomeIDE/1",
                Some("gpt-5.2"),
                Some("Codex"),
            ),
            // The desktop app named Claude is an editor, not a model.
            (
                "wakatime/v1.107.0 (linux-6.11.8) go1.23.3 Claude/2.1.118",
                None,
                Some("Claude"),
            ),
            (
                "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2",
                None,
                Some("VS Code"),
            ),
        ] {
            let got = parse(ua);
            assert_eq!(got.model.as_deref(), model, "model of {ua}");
            assert_eq!(got.editor.as_deref(), editor, "editor of {ua}");
        }
    }

    #[test]
    fn unbalanced_parentheses_do_not_panic() {
        for ua in [
            "wakatime/1 (linux",
            "a) b/1",
            "((",
            "))",
            "é/1 (ü-ö)",
            "x-wakatime/",
        ] {
            let _ = parse(ua);
        }
        assert_eq!(parse("wakatime/1 (linux").os.as_deref(), Some("Linux"));
    }
}

//! File name → language, named exactly as WakaTime names it, so heartbeats we make from file
//! events group with the ones WakaTime editor plugins send for the same files.
//!
//! The table follows what wakatime-cli reports for a bare file name (its Chroma lexer globs, their
//! priorities, and its lexer-name → language mapping). It never reads the file: wakatime-cli's
//! content-based tie-breaks (`.h` next to `.m` files, …) are replaced by the most common answer.

use std::cmp::Ordering;
use std::path::Path;

/// The language of the file at `path`, judged by its file name alone; `None` when unknown.
///
/// Extensions match case-insensitively (`.PY` is Python), except `.C` and `.H`, which are C++ as
/// in wakatime-cli. The longest known multi-dot suffix wins (`x.html.erb` is ERB, `x.d.ts` is
/// TypeScript).
pub fn language_for_path(path: &Path) -> Option<&'static str> {
    // A lossy name only allocates for non-UTF-8 names, which no table entry can match exactly
    // anyway; the replacement characters keep the extension readable.
    let name = path.file_name()?.to_string_lossy();
    language_for_file_name(&name)
}

fn language_for_file_name(name: &str) -> Option<&'static str> {
    if let Some(&(_, language)) = FILE_NAMES.iter().find(|(glob, _)| glob_eq(glob, name)) {
        return Some(language);
    }
    if let Some(language) = language_for_extension(name) {
        return Some(language);
    }
    FILE_NAME_PREFIXES
        .iter()
        .find(|(prefix, _)| {
            name.len() > prefix.len()
                && name.is_char_boundary(prefix.len())
                && glob_eq(prefix, &name[..prefix.len()])
        })
        .map(|&(_, language)| language)
}

/// Tries every suffix after a dot, longest first, so `x.rs.in` finds `rs.in` before `in`.
fn language_for_extension(name: &str) -> Option<&'static str> {
    for (dot, _) in name.match_indices('.') {
        let ext = &name[dot + 1..];
        if ext.is_empty() {
            continue;
        }
        // Chroma's C++ lexer claims the upper-case `.C` and `.H` (a Unix convention for C++).
        if ext == "C" || ext == "H" {
            return Some("C++");
        }
        if let Ok(i) = EXTENSIONS.binary_search_by(|(key, _)| cmp_lowercase(key, ext)) {
            return Some(EXTENSIONS[i].1);
        }
    }
    None
}

/// wakatime-cli matches each glob against the name and against the lower-cased name, so a
/// lower-case glob is case-insensitive and one with capitals (`Makefile`) is exact.
fn glob_eq(glob: &str, name: &str) -> bool {
    // Length first: almost every comparison fails there, and this runs per heartbeat.
    glob.len() == name.len()
        && (glob == name
            || (glob.eq_ignore_ascii_case(name) && !glob.bytes().any(|b| b.is_ascii_uppercase())))
}

/// Orders a lower-case table key against `probe` as if `probe` were lower-cased, without
/// allocating.
fn cmp_lowercase(key: &str, probe: &str) -> Ordering {
    key.bytes()
        .cmp(probe.bytes().map(|b| b.to_ascii_lowercase()))
}

/// Whole file names. Globs with capitals match exactly, lower-case ones in any case.
static FILE_NAMES: &[(&str, &str)] = &[
    (".bashrc", "Bash"),
    ("bashrc", "Bash"),
    (".zshrc", "Bash"),
    ("zshrc", "Bash"),
    (".env", "Bash"),
    ("APKBUILD", "Bash"),
    ("PKGBUILD", "Bash"),
    ("CMakeLists.txt", "CMake"),
    ("Dockerfile", "Docker"),
    ("Containerfile", "Docker"),
    // wakatime-cli special-cases go.mod; go.sum has no language there.
    ("go.mod", "Go"),
    (".gitconfig", "INI"),
    (".editorconfig", "INI"),
    ("pylintrc", "INI"),
    (".pylintrc", "INI"),
    (".luaurc", "JSON"),
    ("Makefile", "Makefile"),
    ("makefile", "Makefile"),
    ("GNUmakefile", "Makefile"),
    ("BSDmakefile", "Makefile"),
    // Chroma highlights justfiles with its Makefile lexer, so WakaTime calls them Makefile.
    ("Justfile", "Makefile"),
    ("justfile", "Makefile"),
    (".justfile", "Makefile"),
    ("meson.build", "Meson"),
    ("meson_options.txt", "Meson"),
    ("meson.options", "Meson"),
    ("nginx.conf", "Nginx configuration file"),
    (".htaccess", "Apache Config"),
    ("apache.conf", "Apache Config"),
    ("apache2.conf", "Apache Config"),
    ("crontab", "Crontab"),
    ("SConstruct", "Python"),
    ("SConscript", "Python"),
    ("BUCK", "Python"),
    ("BUILD", "Python"),
    ("BUILD.bazel", "Python"),
    ("WORKSPACE", "Python"),
    ("WORKSPACE.bazel", "Python"),
    ("WORKSPACE.bzlmod", "Python"),
    ("MODULE.bazel", "Python"),
    // wakatime-cli maps Chroma's R lexer to its language "S".
    (".Rhistory", "S"),
    (".Rprofile", "S"),
    (".Renviron", "S"),
    ("Rakefile", "Ruby"),
    ("Gemfile", "Ruby"),
    ("Vagrantfile", "Ruby"),
    ("Appraisals", "Ruby"),
    (".pryrc", "Ruby"),
    (".ruby-version", "Ruby"),
    ("Gemfile.lock", "Gemfile.lock"),
    ("Pipfile", "TOML"),
    ("poetry.lock", "TOML"),
    ("uv.lock", "TOML"),
    // Not in wakatime-cli (it leaves Cargo.lock without a language), but it is TOML like its
    // poetry.lock and uv.lock siblings.
    ("Cargo.lock", "TOML"),
    (".vimrc", "VimL"),
    ("_vimrc", "VimL"),
    ("vimrc", "VimL"),
    (".gvimrc", "VimL"),
    ("_gvimrc", "VimL"),
    ("gvimrc", "VimL"),
    (".exrc", "VimL"),
    ("_exrc", "VimL"),
];

/// File-name prefixes (`Dockerfile.*`), tried after extensions so `bash_setup.py` stays Python.
static FILE_NAME_PREFIXES: &[(&str, &str)] = &[
    ("Dockerfile.", "Docker"),
    ("Containerfile.", "Docker"),
    ("Makefile.", "Makefile"),
    ("Caddyfile", "Caddyfile"),
    (".env.", "Bash"),
    (".bash_", "Bash"),
    ("bash_", "Bash"),
];

/// Extensions without the dot, lower-case, sorted by bytes for binary search (a test checks).
///
/// Where several wakatime-cli lexers claim an extension, the entry is the one it picks without
/// reading the file: `.ts` TypeScript (not TypoScript), `.pl` Perl (not Prolog), `.fs` F# (not
/// Forth), `.pp` Puppet (not Pascal), `.v` Verilog, `.m` Objective-C, `.inc` PHP.
/// Quirks kept on purpose, because they are what WakaTime reports: `.tsx` is "TypeScript",
/// `.zsh` is "Bash", `.r` is "S", `.nim` is "Nimrod", `.txt` is "Text".
static EXTENSIONS: &[(&str, &str)] = &[
    ("abap", "ABAP"),
    ("ada", "Ada"),
    ("adb", "Ada"),
    ("ado", "Stata"),
    ("ads", "Ada"),
    ("agda", "Agda"),
    ("ahk", "AutoHotkey"),
    ("ahkl", "AutoHotkey"),
    ("applescript", "AppleScript"),
    ("asm", "NASM"),
    ("astro", "Astro"),
    ("aux", "TeX"),
    ("avsc", "JSON"),
    ("awk", "Awk"),
    ("bal", "Ballerina"),
    ("bash", "Bash"),
    ("bat", "Batchfile"),
    ("bib", "BibTeX"),
    ("bicep", "Bicep"),
    ("bzl", "Python"),
    ("c", "C"),
    ("c++", "C++"),
    ("c3", "C3"),
    ("capnp", "Cap'n Proto"),
    ("cc", "C++"),
    ("cfg", "INI"),
    ("cginc", "HLSL"),
    ("chpl", "Chapel"),
    ("cjs", "JavaScript"),
    ("cl", "Common Lisp"),
    ("clj", "Clojure"),
    ("cljs", "ClojureScript"),
    ("cmake", "CMake"),
    ("cmd", "Batchfile"),
    ("cob", "COBOL"),
    ("coffee", "CoffeeScript"),
    ("containerfile", "Docker"),
    ("cp", "C++"),
    ("cpp", "C++"),
    ("cpy", "COBOL"),
    ("cql", "Cassandra CQL"),
    ("cr", "Crystal"),
    ("cs", "C#"),
    ("csh", "Tcsh"),
    ("csproj", "XML"),
    ("css", "CSS"),
    ("csv", "CSV"),
    ("cts", "TypeScript"),
    ("cu", "Cuda"),
    ("cue", "CUE"),
    ("cuh", "Cuda"),
    ("cxx", "C++"),
    ("d", "D"),
    ("dart", "Dart"),
    ("dfm", "Delphi"),
    ("di", "D"),
    ("diff", "Diff"),
    ("do", "Stata"),
    ("docker", "Docker"),
    ("dockerfile", "Docker"),
    ("dpr", "Delphi"),
    ("duby", "Ruby"),
    ("ebuild", "Bash"),
    ("eclass", "Bash"),
    ("edn", "Clojure"),
    ("eex", "Elixir"),
    ("el", "Emacs Lisp"),
    ("elm", "Elm"),
    ("env", "Bash"),
    ("eps", "PostScript"),
    ("erb", "ERB"),
    ("erl", "Erlang"),
    ("es", "Erlang"),
    ("escript", "Erlang"),
    ("ex", "Elixir"),
    ("exheres-0", "Bash"),
    ("exlib", "Bash"),
    ("exs", "Elixir"),
    ("f", "FortranFixed"),
    ("f03", "Fortran"),
    ("f90", "Fortran"),
    ("f95", "Fortran"),
    ("feature", "Gherkin"),
    ("fennel", "Fennel"),
    ("fish", "Fish"),
    ("fmx", "Delphi"),
    ("frag", "GLSL"),
    ("frt", "Forth"),
    ("fs", "F#"),
    ("fsi", "F#"),
    ("fsproj", "XML"),
    ("fth", "Forth"),
    ("fun", "Standard ML"),
    ("fx", "HLSL"),
    ("fxh", "HLSL"),
    ("gd", "GDScript"),
    ("gemfile", "Ruby"),
    ("gemspec", "Ruby"),
    ("geo", "GLSL"),
    ("gleam", "Gleam"),
    ("go", "Go"),
    ("gradle", "Groovy"),
    ("graphql", "GraphQL"),
    ("graphqls", "GraphQL"),
    ("groovy", "Groovy"),
    ("h", "C"),
    ("h++", "C++"),
    ("ha", "Hare"),
    ("haml", "Haml"),
    ("handlebars", "Handlebars"),
    ("hbs", "Handlebars"),
    ("hcl", "Terraform"),
    ("hh", "C++"),
    ("hlsl", "HLSL"),
    ("hlsli", "HLSL"),
    ("hpp", "C++"),
    ("hrl", "Erlang"),
    ("hs", "Haskell"),
    ("htm", "HTML"),
    ("html", "HTML"),
    ("html.erb", "ERB"),
    ("hx", "Haxe"),
    ("hxsl", "Haxe"),
    ("hxx", "C++"),
    ("idc", "C"),
    ("idr", "Idris"),
    ("inc", "PHP"),
    ("inf", "INI"),
    ("ini", "INI"),
    ("jade", "Pug"),
    ("janet", "Janet"),
    ("java", "Java"),
    ("jdn", "Janet"),
    ("jl", "Julia"),
    ("js", "JavaScript"),
    ("jsm", "JavaScript"),
    ("json", "JSON"),
    ("json.jbuilder", "Ruby"),
    ("json5", "JSON"),
    ("jsonc", "JSON"),
    ("jsonl", "JSON"),
    ("jsonnet", "Jsonnet"),
    ("jsx", "JSX"),
    ("jy", "Python"),
    ("ksh", "Bash"),
    ("kt", "Kotlin"),
    ("kts", "Kotlin"),
    ("lean", "Lean4"),
    ("less", "LESS"),
    ("lhs", "Literate Haskell"),
    ("libsonnet", "Jsonnet"),
    ("liquid", "Liquid"),
    ("lisp", "Common Lisp"),
    ("ll", "LLVM"),
    ("load", "Fish"),
    ("ls", "LiveScript"),
    ("lua", "Lua"),
    ("luau", "Luau"),
    ("m", "Objective-C"),
    ("mak", "Makefile"),
    ("mao", "Mako"),
    ("markdown", "Markdown"),
    ("md", "Markdown"),
    ("mdx", "MDX"),
    ("metal", "Metal"),
    ("mjs", "JavaScript"),
    ("mk", "Makefile"),
    ("mkd", "Markdown"),
    ("ml", "OCaml"),
    ("mli", "OCaml"),
    ("mll", "OCaml"),
    ("mly", "OCaml"),
    ("mm", "Objective-C++"),
    ("mo", "Modelica"),
    ("mojo", "Mojo"),
    ("moon", "MoonScript"),
    ("mts", "TypeScript"),
    ("mustache", "Mustache"),
    ("nasm", "NASM"),
    ("nim", "Nimrod"),
    ("nimrod", "Nimrod"),
    ("nix", "Nix"),
    ("nsh", "NSIS"),
    ("nsi", "NSIS"),
    ("nu", "Nushell"),
    ("odin", "Odin"),
    ("org", "Org"),
    ("p6", "Raku"),
    ("pas", "Delphi"),
    ("patch", "Diff"),
    ("pde", "Processing"),
    ("php", "PHP"),
    ("php3", "PHP"),
    ("php4", "PHP"),
    ("php5", "PHP"),
    ("phtml", "PHTML"),
    ("pl", "Perl"),
    ("pl6", "Raku"),
    ("pm", "Perl"),
    ("pm6", "Raku"),
    ("po", "Gettext"),
    ("pony", "Pony"),
    ("pot", "Gettext"),
    ("pp", "Puppet"),
    ("pro", "Prolog"),
    ("prolog", "Prolog"),
    ("properties", "Java Properties"),
    ("proto", "Protocol Buffer"),
    ("ps", "PostScript"),
    ("ps1", "PowerShell"),
    ("psd1", "PowerShell"),
    ("psm1", "PowerShell"),
    ("pug", "Pug"),
    ("pxd", "Cython"),
    ("pxi", "Cython"),
    ("py", "Python"),
    ("pyi", "Python"),
    ("pyw", "Python"),
    ("pyx", "Cython"),
    ("qbs", "QML"),
    ("qml", "QML"),
    ("qrc", "XML"),
    ("r", "S"),
    ("rake", "Ruby"),
    ("raku", "Raku"),
    ("rakumod", "Raku"),
    ("rakutest", "Raku"),
    ("razor", "Razor"),
    ("rb", "Ruby"),
    ("rbw", "Ruby"),
    ("rbx", "Ruby"),
    ("re", "Reason"),
    ("react", "JSX"),
    ("rego", "Rego"),
    ("rei", "Reason"),
    ("res", "ReScript"),
    ("resi", "ReScript"),
    ("rest", "reStructuredText"),
    ("rkt", "Racket"),
    ("rktd", "Racket"),
    ("rktl", "Racket"),
    ("rs", "Rust"),
    ("rs.in", "Rust"),
    ("rss", "XML"),
    ("rst", "reStructuredText"),
    ("rvt", "Tcl"),
    ("s", "Assembly"),
    ("sage", "Python"),
    ("sas", "SAS"),
    ("sass", "Sass"),
    ("scad", "OpenSCAD"),
    ("scala", "Scala"),
    ("scm", "Scheme"),
    ("scss", "SCSS"),
    ("sed", "sed"),
    ("sh", "Bash"),
    ("sig", "Standard ML"),
    ("slim", "Slim"),
    ("sml", "Standard ML"),
    ("sol", "Solidity"),
    ("spec", "RPMSpec"),
    ("sql", "SQL"),
    ("ss", "Scheme"),
    ("st", "Smalltalk"),
    ("star", "Python"),
    ("styl", "Stylus"),
    ("sv", "SystemVerilog"),
    ("svelte", "Svelte"),
    ("svg", "XML"),
    ("svh", "SystemVerilog"),
    ("swift", "Swift"),
    ("t", "Perl"),
    ("tac", "Python"),
    ("tcl", "Tcl"),
    ("tcsh", "Tcsh"),
    ("templ", "Templ"),
    ("tex", "TeX"),
    ("tf", "Terraform"),
    ("thrift", "Thrift"),
    ("toc", "TeX"),
    ("toml", "TOML"),
    ("tpl", "Smarty"),
    ("tpp", "C++"),
    ("ts", "TypeScript"),
    ("tsx", "TypeScript"),
    ("ttl", "Turtle"),
    ("twig", "Twig"),
    ("txt", "Text"),
    ("typ", "Typst"),
    ("v", "Verilog"),
    ("vala", "Vala"),
    ("vapi", "Vala"),
    ("vb", "VB.NET"),
    ("vbs", "VBScript"),
    ("vcxproj", "XML"),
    ("vert", "GLSL"),
    ("vhd", "VHDL"),
    ("vhdl", "VHDL"),
    ("vim", "VimL"),
    ("vue", "Vue.js"),
    ("wast", "WebAssembly"),
    ("wat", "WebAssembly"),
    ("wlua", "Lua"),
    ("wsdl", "XML"),
    ("wsf", "XML"),
    ("xaml", "XAML"),
    ("xhtml", "HTML"),
    ("xml", "XML"),
    ("xml.erb", "ERB"),
    ("xpl", "XSLT"),
    ("xsd", "XML"),
    ("xsl", "XSLT"),
    ("xslt", "XSLT"),
    ("yaml", "YAML"),
    ("yml", "YAML"),
    ("zig", "Zig"),
    ("zon", "Zig"),
    ("zsh", "Bash"),
    ("zshrc", "Bash"),
    ("🔥", "Mojo"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_lowercase_and_unique() {
        for pair in EXTENSIONS.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "EXTENSIONS out of order at {:?}",
                pair[1]
            );
        }
        for (ext, _) in EXTENSIONS {
            assert!(
                !ext.is_empty() && !ext.starts_with('.'),
                "bad extension {ext:?}"
            );
            assert!(
                !ext.bytes().any(|b| b.is_ascii_uppercase()),
                "{ext:?} must be lower-case"
            );
        }
        for (i, (name, _)) in FILE_NAMES.iter().enumerate() {
            assert!(
                !FILE_NAMES[i + 1..].iter().any(|(other, _)| other == name),
                "duplicate file name {name:?}"
            );
        }
    }

    #[test]
    fn covers_at_least_eighty_languages() {
        let mut names: Vec<&str> = EXTENSIONS
            .iter()
            .chain(FILE_NAMES)
            .chain(FILE_NAME_PREFIXES)
            .map(|&(_, language)| language)
            .collect();
        names.sort_unstable();
        names.dedup();
        assert!(names.len() >= 80, "only {} languages", names.len());
    }

    #[test]
    fn file_names_to_languages() {
        let cases: &[(&str, Option<&str>)] = &[
            ("src/main.rs", Some("Rust")),
            ("build.rs.in", Some("Rust")),
            ("app.py", Some("Python")),
            ("stubs.pyi", Some("Python")),
            ("BUILD.bazel", Some("Python")),
            ("defs.bzl", Some("Python")),
            ("index.js", Some("JavaScript")),
            ("module.mjs", Some("JavaScript")),
            ("config.cjs", Some("JavaScript")),
            ("App.jsx", Some("JSX")),
            ("main.ts", Some("TypeScript")),
            ("types.d.ts", Some("TypeScript")),
            ("App.tsx", Some("TypeScript")),
            ("Main.java", Some("Java")),
            ("Main.kt", Some("Kotlin")),
            ("build.gradle.kts", Some("Kotlin")),
            ("build.gradle", Some("Groovy")),
            ("main.go", Some("Go")),
            ("go.mod", Some("Go")),
            ("main.c", Some("C")),
            ("main.h", Some("C")),
            ("main.cpp", Some("C++")),
            ("main.cc", Some("C++")),
            ("main.hpp", Some("C++")),
            ("legacy.C", Some("C++")),
            ("Program.cs", Some("C#")),
            ("View.m", Some("Objective-C")),
            ("View.mm", Some("Objective-C++")),
            ("App.swift", Some("Swift")),
            ("main.dart", Some("Dart")),
            ("app.rb", Some("Ruby")),
            ("Gemfile", Some("Ruby")),
            ("Rakefile", Some("Ruby")),
            ("index.php", Some("PHP")),
            ("script.pl", Some("Perl")),
            ("init.lua", Some("Lua")),
            ("analysis.R", Some("S")),
            ("install.sh", Some("Bash")),
            ("prompt.zsh", Some("Bash")),
            (".bashrc", Some("Bash")),
            (".bash_profile", Some("Bash")),
            (".env.local", Some("Bash")),
            ("config.fish", Some("Fish")),
            ("profile.ps1", Some("PowerShell")),
            ("run.bat", Some("Batchfile")),
            ("Main.hs", Some("Haskell")),
            ("main.ml", Some("OCaml")),
            ("Lib.fs", Some("F#")),
            ("lib.ex", Some("Elixir")),
            ("test.exs", Some("Elixir")),
            ("server.erl", Some("Erlang")),
            ("core.clj", Some("Clojure")),
            ("app.cljs", Some("ClojureScript")),
            ("init.el", Some("Emacs Lisp")),
            ("Main.elm", Some("Elm")),
            ("model.jl", Some("Julia")),
            ("main.zig", Some("Zig")),
            ("main.nim", Some("Nimrod")),
            ("Main.scala", Some("Scala")),
            ("index.html", Some("HTML")),
            ("style.css", Some("CSS")),
            ("style.scss", Some("SCSS")),
            ("style.less", Some("LESS")),
            ("App.vue", Some("Vue.js")),
            ("App.svelte", Some("Svelte")),
            ("page.astro", Some("Astro")),
            ("README.md", Some("Markdown")),
            ("docs.mdx", Some("MDX")),
            ("index.rst", Some("reStructuredText")),
            ("paper.tex", Some("TeX")),
            ("notes.txt", Some("Text")),
            ("package.json", Some("JSON")),
            ("tsconfig.json", Some("JSON")),
            ("config.yaml", Some("YAML")),
            ("ci.yml", Some("YAML")),
            ("Cargo.toml", Some("TOML")),
            ("Cargo.lock", Some("TOML")),
            ("setup.cfg", Some("INI")),
            ("pom.xml", Some("XML")),
            ("icon.svg", Some("XML")),
            ("query.sql", Some("SQL")),
            ("schema.graphql", Some("GraphQL")),
            ("api.proto", Some("Protocol Buffer")),
            ("Dockerfile", Some("Docker")),
            ("Dockerfile.dev", Some("Docker")),
            ("app.dockerfile", Some("Docker")),
            ("Makefile", Some("Makefile")),
            ("rules.mk", Some("Makefile")),
            ("justfile", Some("Makefile")),
            ("CMakeLists.txt", Some("CMake")),
            ("toolchain.cmake", Some("CMake")),
            ("meson.build", Some("Meson")),
            ("main.tf", Some("Terraform")),
            ("flake.nix", Some("Nix")),
            ("fix.patch", Some("Diff")),
            ("view.html.erb", Some("ERB")),
            ("Token.sol", Some("Solidity")),
            ("kernel.cu", Some("Cuda")),
            ("shader.frag", Some("GLSL")),
            ("boot.s", Some("Assembly")),
            ("boot.asm", Some("NASM")),
            ("site.pp", Some("Puppet")),
            ("init.vim", Some("VimL")),
            (".vimrc", Some("VimL")),
            ("data.csv", Some("CSV")),
            ("App.xaml", Some("XAML")),
            ("main.typ", Some("Typst")),
            ("main.mojo", Some("Mojo")),
            ("main.🔥", Some("Mojo")),
            ("nginx.conf", Some("Nginx configuration file")),
            // Case: extensions are case-insensitive, capitalised file-name globs are exact.
            ("SCRIPT.PY", Some("Python")),
            ("Main.RS", Some("Rust")),
            ("makefile", Some("Makefile")),
            ("gemfile", None),
            ("build", None),
            // Unknown or extension-less.
            ("LICENSE", None),
            ("archive.tar.gz", None),
            ("notes.", None),
            ("", None),
        ];
        let mut failures = Vec::new();
        for &(name, want) in cases {
            let got = language_for_path(Path::new(name));
            if got != want {
                failures.push(format!("{name:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(cases.len() >= 60);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn full_paths_and_directories_use_the_last_component() {
        assert_eq!(
            language_for_path(Path::new("/home/u/src/x.rs")),
            Some("Rust")
        );
        assert_eq!(
            language_for_path(Path::new("/home/u/project.py/notes.md")),
            Some("Markdown")
        );
        assert_eq!(language_for_path(Path::new("/")), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_file_name_does_not_panic() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(OsStr::from_bytes(b"caf\xe9.py"));
        assert_eq!(language_for_path(path), Some("Python"));
        let path = Path::new(OsStr::from_bytes(b"\xff\xfe"));
        assert_eq!(language_for_path(path), None);
    }
}

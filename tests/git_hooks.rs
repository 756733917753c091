//! The git hooks with real git and the real `tf`: `tf git install` in temp repositories
//! (chaining an existing hook, core.hooksPath, worktrees, bare repositories, reinstalling,
//! uninstalling), and what `git commit`, `checkout`, `merge` and `rebase` record through the
//! hooks: in the spool with the daemon down, in `tf commits` with it up. Git never fails or
//! prints because of them. A missing git is SKIPPED (a failure under TIMEFORGED_REQUIRE_ALL=1).

mod common;
#[path = "common/git.rs"]
mod git_cli;

use common::{TF, TestEnv, is_root, show, skip, stderr};
use git_cli::{git, git_ok, have_git};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const HOOKS: [&str; 4] = ["post-commit", "post-checkout", "post-merge", "post-rewrite"];

/// A new repository `name` in the scratch directory with one commit on `main`; its path with
/// symlinks resolved (as git reports the work tree).
fn repo(env: &TestEnv, name: &str) -> PathBuf {
    let dir = env.scratch().join(name);
    std::fs::create_dir_all(&dir).expect("create the repo dir");
    git_ok(env, &dir, &["init", "-q", "-b", "main"]);
    git_ok(env, &dir, &["commit", "-q", "--allow-empty", "-m", "start"]);
    dir.canonicalize().expect("canonical repo path")
}

/// Changes a file and commits it, checking git printed nothing; returns the new HEAD.
fn commit(env: &TestEnv, dir: &Path, message: &str) -> String {
    let file = dir.join("file.txt");
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    std::fs::write(&file, format!("{old}{message}\n")).expect("write file.txt");
    git_ok(env, dir, &["add", "file.txt"]);
    let out = git(env, dir, &["commit", "-q", "-m", message]);
    assert!(out.status.success(), "git commit failed: {}", show(&out));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "the hooks print nothing: {}",
        show(&out)
    );
    git_ok(env, dir, &["rev-parse", "HEAD"])
}

fn install(env: &TestEnv, path: &Path) -> String {
    env.tf_ok([
        Path::new("git").as_os_str(),
        "install".as_ref(),
        path.as_os_str(),
    ])
}

fn tf_git(env: &TestEnv, action: &str, path: &Path) -> Output {
    env.tf([
        Path::new("git").as_os_str(),
        action.as_ref(),
        path.as_os_str(),
    ])
}

/// The `git` request lines in the spool, oldest first.
fn spooled(env: &TestEnv) -> Vec<Value> {
    let text = std::fs::read_to_string(env.base.join("spool.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("spool line {l:?}: {e}")))
        .filter(|v: &Value| v["type"] == "git")
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Writes an executable script.
fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Name and bytes of every file in `dir`, sorted.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read the hooks dir")
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap(), mode(&path))
        })
        .collect();
    files.sort();
    files
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn install_puts_four_executable_hooks_where_git_looks() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let out = install(&env, &dir);
    let hooks = dir.join(".git/hooks");
    assert!(out.contains(&hooks.display().to_string()), "{out}");
    // Where git itself says its hooks are.
    let git_says = dir.join(git_ok(&env, &dir, &["rev-parse", "--git-path", "hooks"]));
    assert_eq!(git_says.canonicalize().unwrap(), hooks);
    for name in HOOKS {
        let path = hooks.join(name);
        assert_eq!(mode(&path) & 0o111, 0o111, "{name} is executable");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#!/bin/sh\n# timeforged-hook v1\n"),
            "{text}"
        );
        assert!(text.contains(&format!("tf='{TF}'")), "{text}");
        assert!(!hooks.join(format!("{name}.pre-timeforged")).exists());
    }
    let status = env.tf_ok(["git", "status", dir.to_str().unwrap()]);
    assert_eq!(
        status.matches("installed, runs").count(),
        4,
        "all four installed: {status}"
    );
}

#[test]
fn a_commit_with_the_daemon_down_is_spooled_with_its_sha() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    install(&env, &dir);
    let sha = commit(&env, &dir, "Add the thing\n\nWith a body.");
    let events = spooled(&env);
    assert_eq!(kinds(&events), ["commit"], "{events:?}");
    let e = &events[0];
    assert_eq!(e["v"], 1);
    assert_eq!(e["head"], sha.as_str());
    assert_eq!(e["branch"], "main");
    assert_eq!(e["summary"], "Add the thing");
    assert_eq!(e["repo"], dir.to_str().unwrap());
    let time = e["time"].as_f64().unwrap();
    assert!((time - common::now_secs()).abs() < 60.0, "{e}");
}

#[test]
fn an_existing_hook_is_chained_and_both_run() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let marker = env.scratch().join("marker");
    let hook = dir.join(".git/hooks/post-commit");
    write_script(
        &hook,
        &format!(
            "#!/bin/sh\necho \"mine $#\" >> {}\nexit 3\n",
            sh_quote(&marker)
        ),
    );
    let out = install(&env, &dir);
    assert!(out.contains("post-commit.pre-timeforged"), "{out}");
    let sha = commit(&env, &dir, "both");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "mine 0\n");
    let events = spooled(&env);
    assert_eq!(kinds(&events), ["commit"]);
    assert_eq!(events[0]["head"], sha.as_str());
    // Our hook exits with the chained hook's status (git ignores it for post-commit).
    let status = Command::new(&hook)
        .current_dir(&dir)
        .env("TIMEFORGED_DIR", &env.base)
        .status()
        .expect("run the hook");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn the_chained_post_rewrite_hook_gets_the_same_input_and_arguments() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let seen = env.scratch().join("seen");
    write_script(
        &dir.join(".git/hooks/post-rewrite"),
        &format!(
            "#!/bin/sh\n{{ echo \"args: $*\"; cat; }} >> {}\n",
            sh_quote(&seen)
        ),
    );
    install(&env, &dir);
    let before = commit(&env, &dir, "one");
    git_ok(
        &env,
        &dir,
        &["commit", "-q", "--amend", "-m", "one, amended"],
    );
    let after = git_ok(&env, &dir, &["rev-parse", "HEAD"]);
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        format!("args: amend\n{before} {after}\n")
    );
    let events = spooled(&env);
    assert_eq!(kinds(&events), ["commit", "commit", "rewrite"]);
    assert_eq!(events[2]["rewrite"], "amend");
    assert_eq!(
        events[2]["rewritten"],
        serde_json::json!([[before, after.clone()]])
    );

    // A rebase of two commits: two lines, to both.
    std::fs::remove_file(&seen).unwrap();
    git_ok(&env, &dir, &["checkout", "-q", "-b", "topic"]);
    let a = commit(&env, &dir, "a");
    let b = commit(&env, &dir, "b");
    git_ok(&env, &dir, &["checkout", "-q", "main"]);
    std::fs::write(dir.join("other.txt"), "x").unwrap();
    git_ok(&env, &dir, &["add", "other.txt"]);
    git_ok(&env, &dir, &["commit", "-q", "-m", "other"]);
    git_ok(&env, &dir, &["checkout", "-q", "topic"]);
    git_ok(&env, &dir, &["rebase", "-q", "main"]);
    let b2 = git_ok(&env, &dir, &["rev-parse", "HEAD"]);
    let a2 = git_ok(&env, &dir, &["rev-parse", "HEAD~1"]);
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        format!("args: rebase\n{a} {a2}\n{b} {b2}\n")
    );
    let rewrite = spooled(&env).pop().unwrap();
    assert_eq!(rewrite["kind"], "rewrite");
    assert_eq!(rewrite["rewrite"], "rebase");
    assert_eq!(rewrite["branch"], "topic");
    assert_eq!(
        rewrite["rewritten"],
        serde_json::json!([[a, a2], [b, b2.clone()]])
    );
}

#[test]
fn checkouts_and_merges_are_recorded_but_not_file_checkouts_or_squashes() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    install(&env, &dir);
    commit(&env, &dir, "base");
    git_ok(&env, &dir, &["checkout", "-q", "-b", "topic"]);
    let topic = commit(&env, &dir, "on topic");
    git_ok(&env, &dir, &["checkout", "-q", "main"]);
    std::fs::write(dir.join("file.txt"), "scribbled").unwrap();
    git_ok(&env, &dir, &["checkout", "-q", "--", "file.txt"]);
    git_ok(&env, &dir, &["merge", "-q", "--ff-only", "topic"]);
    let events = spooled(&env);
    assert_eq!(
        kinds(&events),
        ["commit", "checkout", "commit", "checkout", "merge"],
        "{events:#?}"
    );
    assert_eq!(events[1]["branch"], "topic");
    assert_eq!(events[3]["branch"], "main");
    assert_eq!(events[4]["head"], topic.as_str());
    assert_eq!(events[4]["summary"], "on topic");

    // A squash merge makes no commit: the commit that follows records it.
    git_ok(&env, &dir, &["checkout", "-q", "-b", "squashed"]);
    commit(&env, &dir, "to squash");
    git_ok(&env, &dir, &["checkout", "-q", "main"]);
    let before = spooled(&env).len();
    git_ok(&env, &dir, &["merge", "-q", "--squash", "squashed"]);
    assert_eq!(spooled(&env).len(), before, "nothing for --squash");
    let squash = git_ok(&env, &dir, &["commit", "-q", "-m", "squashed it"]);
    assert!(squash.is_empty());
    let last = spooled(&env).pop().unwrap();
    assert_eq!(last["kind"], "commit");
    assert_eq!(last["summary"], "squashed it");
}

#[test]
fn core_hooks_path_is_honoured_relative_home_and_absolute() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let absolute = env.scratch().join("shared hooks");
    for (setting, expected) in [
        (".githooks".to_string(), dir.join(".githooks")),
        ("~/home-hooks".to_string(), env.scratch().join("home-hooks")),
        (absolute.display().to_string(), absolute.clone()),
    ] {
        git_ok(&env, &dir, &["config", "core.hooksPath", &setting]);
        let out = install(&env, &dir);
        assert!(
            out.contains(&format!(
                "hooks directory {} (core.hooksPath",
                expected.display()
            )),
            "{setting}: {out}"
        );
        for name in HOOKS {
            assert!(expected.join(name).is_file(), "{setting}: {name}");
        }
        assert!(!dir.join(".git/hooks/post-commit").exists(), "{setting}");
        let before = spooled(&env).len();
        let sha = commit(&env, &dir, &setting);
        let events = spooled(&env);
        assert_eq!(events.len(), before + 1, "{setting}: git ran the hook");
        assert_eq!(events[before]["head"], sha.as_str());
        std::fs::remove_dir_all(&expected).unwrap();
    }
}

#[test]
fn a_worktree_installs_into_the_shared_hooks_directory() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let main = repo(&env, "app");
    let wt = env.scratch().join("app-wt");
    git_ok(
        &env,
        &main,
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    let wt = wt.canonicalize().unwrap();
    let out = install(&env, &wt);
    assert!(
        out.contains(&main.join(".git/hooks").display().to_string()),
        "{out}"
    );
    assert!(main.join(".git/hooks/post-commit").is_file());
    assert!(!main.join(".git/worktrees/app-wt/hooks").exists());
    let sha = commit(&env, &wt, "in the worktree");
    let e = spooled(&env).pop().expect("an event");
    assert_eq!(e["head"], sha.as_str());
    assert_eq!(e["branch"], "side");
    assert_eq!(e["repo"], wt.to_str().unwrap());
}

#[test]
fn a_bare_repository_gets_hooks_its_worktrees_run() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let src = repo(&env, "src");
    let bare = env.scratch().join("app.git");
    git_ok(
        &env,
        env.scratch(),
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let out = install(&env, &bare);
    assert!(out.contains("bare repository"), "{out}");
    assert!(bare.join("hooks/post-commit").is_file());
    let wt = env.scratch().join("app");
    git_ok(
        &env,
        &bare,
        &["worktree", "add", "-q", wt.to_str().unwrap(), "main"],
    );
    let sha = commit(&env, &wt, "from a worktree of a bare repository");
    let e = spooled(&env).pop().expect("an event");
    assert_eq!(e["kind"], "commit");
    assert_eq!(e["head"], sha.as_str());
}

#[test]
fn reinstalling_changes_nothing_and_never_chains_twice() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let marker = env.scratch().join("marker");
    write_script(
        &dir.join(".git/hooks/post-commit"),
        &format!("#!/bin/sh\necho ran >> {}\n", sh_quote(&marker)),
    );
    let hooks = dir.join(".git/hooks");
    install(&env, &dir);
    let first = snapshot(&hooks);
    let again = install(&env, &dir);
    assert_eq!(again.matches("up to date").count(), 4, "{again}");
    assert_eq!(snapshot(&hooks), first);
    assert!(
        !hooks
            .join("post-commit.pre-timeforged.pre-timeforged")
            .exists()
    );
    commit(&env, &dir, "once");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    assert_eq!(spooled(&env).len(), 1);
}

#[test]
fn uninstall_restores_the_original_hooks_byte_for_byte() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let hooks = dir.join(".git/hooks");
    let original = hooks.join("post-checkout");
    std::fs::write(&original, b"#!/bin/sh\r\n# odd bytes \xff\n exit 0").unwrap();
    std::fs::set_permissions(&original, std::fs::Permissions::from_mode(0o750)).unwrap();
    let before = snapshot(&hooks);
    install(&env, &dir);
    assert_ne!(snapshot(&hooks), before);
    let out = tf_git(&env, "uninstall", &dir);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(snapshot(&hooks), before, "{}", show(&out));
    // Nothing is left to record.
    commit(&env, &dir, "after");
    assert!(spooled(&env).is_empty());
    // Uninstalling again is harmless.
    let again = tf_git(&env, "uninstall", &dir);
    assert!(again.status.success(), "{}", show(&again));
    assert_eq!(snapshot(&hooks), before);
}

#[test]
fn an_edited_hook_of_ours_is_left_alone_with_a_warning() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    install(&env, &dir);
    let merge = dir.join(".git/hooks/post-merge");
    let mut text = std::fs::read(&merge).unwrap();
    text.extend_from_slice(b"echo my addition\n");
    std::fs::write(&merge, &text).unwrap();
    let out = tf_git(&env, "uninstall", &dir);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out).contains("post-merge was edited since it was installed; left alone"),
        "{}",
        show(&out)
    );
    assert_eq!(std::fs::read(&merge).unwrap(), text);
    assert!(!dir.join(".git/hooks/post-commit").exists());
    // Installing does not overwrite it either.
    let out = tf_git(&env, "install", &dir);
    assert!(stderr(&out).contains("left alone"), "{}", show(&out));
    assert_eq!(std::fs::read(&merge).unwrap(), text);
}

#[test]
fn git_commit_succeeds_silently_when_tf_is_gone() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    // Install with a copy of tf, then delete the copy: an uninstalled or moved tf.
    let bin = env.scratch().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tf = bin.join("tf");
    if std::fs::hard_link(TF, &tf).is_err() {
        std::fs::copy(TF, &tf).expect("copy tf");
    }
    let out = Command::new(&tf)
        .args(["git", "install", dir.to_str().unwrap()])
        .env("TIMEFORGED_DIR", &env.base)
        .env("HOME", env.scratch())
        .output()
        .expect("run the copy of tf");
    assert!(out.status.success(), "{}", show(&out));
    std::fs::remove_file(&tf).unwrap();
    commit(&env, &dir, "tf is gone");
    assert!(spooled(&env).is_empty());
    let status = env.tf_ok(["git", "status", dir.to_str().unwrap()]);
    assert!(status.contains("is gone"), "{status}");
    // Reinstalling points the hooks at this tf again.
    let out = install(&env, &dir);
    assert_eq!(out.matches("updated").count(), 4, "{out}");
    commit(&env, &dir, "tf is back");
    assert_eq!(spooled(&env).len(), 1);
}

#[test]
fn a_daemon_that_never_answers_delays_git_only_briefly() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    install(&env, &dir);
    std::fs::create_dir_all(&env.base).unwrap();
    // Accepts connections (the kernel does) but never reads or answers.
    let _listener = std::os::unix::net::UnixListener::bind(env.socket()).expect("bind");
    let start = Instant::now();
    commit(&env, &dir, "into the void");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "git commit took {took:?} with a hung daemon"
    );
}

#[test]
fn bad_input_gives_a_clear_error() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let plain = env.scratch().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    // Unless the temp dir itself lies in a repository, git finds none there either.
    if !git(&env, &plain, &["rev-parse", "--git-dir"])
        .status
        .success()
    {
        let out = tf_git(&env, "install", &plain);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{}: not in a git repository", plain.display())),
            "{err}"
        );
    }
    let out = tf_git(&env, "status", &plain.join("missing"));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("no such file or directory"),
        "{}",
        show(&out)
    );

    let dir = repo(&env, "app");
    let hooks = dir.join(".git/hooks");
    if is_root() {
        // Permissions do not stop root; an immutable directory does.
        if !env.make_immutable(&hooks) {
            skip("running as root without chattr: cannot make a directory unwritable");
            return;
        }
    } else {
        std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let out = tf_git(&env, "install", &dir);
    if is_root() {
        env.make_mutable(&hooks);
    } else {
        std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&hooks.display().to_string()) && err.contains("not writable"),
        "{err}"
    );
    assert!(!hooks.join("post-commit").exists());
}

#[test]
fn commits_made_through_the_hooks_are_listed_by_tf_commits() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "app");
    install(&env, &dir);
    env.start_daemon();
    let sha = commit(&env, &dir, "Recorded by the daemon");
    assert!(spooled(&env).is_empty(), "sent, not spooled");
    let commits = env.tf_json(["commits", "--json"]);
    let list = commits.as_array().expect("a JSON array");
    let row = list
        .iter()
        .find(|c| c["sha"] == sha.as_str())
        .unwrap_or_else(|| panic!("{sha} in {commits:#}"));
    assert_eq!(row["branch"], "main");
    assert_eq!(row["project"], "app");
    assert_eq!(row["summary"], "Recorded by the daemon");
    assert!(row["seconds"].is_number(), "{row}");
}

#[test]
fn a_commit_spooled_while_the_daemon_was_down_is_listed_once_it_starts() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "app");
    install(&env, &dir);
    let sha = commit(&env, &dir, "Made offline");
    assert_eq!(spooled(&env).len(), 1);
    env.start_daemon();
    // The daemon consumes the spool right after it starts, beside serving requests.
    let row = common::wait_for("the spooled commit to be stored", || {
        let commits = env.tf_json(["commits", "--json"]);
        commits
            .as_array()
            .and_then(|list| list.iter().find(|c| c["sha"] == sha.as_str()).cloned())
    });
    assert_eq!(row["summary"], "Made offline");
    assert_eq!(row["branch"], "main");
}

// ---------------------------------------------------------------------------------------------
// tf git install --global

/// The global core.hooksPath in the test's HOME, if set.
fn global_hooks_path(env: &TestEnv) -> Option<String> {
    let out = git(
        env,
        env.scratch(),
        &["config", "--global", "--get", "core.hooksPath"],
    );
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

fn tf_global(env: &TestEnv, action: &str) -> String {
    env.tf_ok(["git", action, "--global"])
}

/// Issue 12: installed once, the hooks record commits in every repository, old and new, and
/// each repository's own hooks still run (a pre-commit that refuses still refuses); the
/// per-repository commands say the global hooks are in force.
#[test]
fn global_hooks_record_every_repository_and_run_its_own_hooks() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let old = repo(&env, "old");
    // The repository's own hooks: a post-commit that logs, a pre-commit that refuses "BAD".
    let log = env.scratch().join("own-hooks.log");
    write_script(
        &old.join(".git/hooks/post-commit"),
        &format!("#!/bin/sh\necho \"post-commit $*\" >> {}\n", sh_quote(&log)),
    );
    write_script(
        &old.join(".git/hooks/pre-commit"),
        "#!/bin/sh\n! git diff --cached | grep -q BAD\n",
    );
    let out = tf_global(&env, "install");
    assert!(out.contains("core.hooksPath"), "{out}");
    let dir = env.base.join("git-hooks");
    assert_eq!(
        global_hooks_path(&env).as_deref(),
        Some(dir.to_str().unwrap())
    );
    assert_eq!(mode(&dir.join("post-commit")) & 0o700, 0o700);

    let first = commit(&env, &old, "one");
    // A repository made after the install.
    let new = repo(&env, "new");
    let second = commit(&env, &new, "two");
    let events = spooled(&env);
    let heads: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "commit")
        .map(|e| e["head"].as_str().unwrap())
        .collect();
    assert!(heads.contains(&first.as_str()), "{heads:?}");
    assert!(heads.contains(&second.as_str()), "{heads:?}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "post-commit \n",
        "the repository's own post-commit ran once"
    );
    // The repository's pre-commit still refuses.
    std::fs::write(old.join("file.txt"), "BAD\n").unwrap();
    git_ok(&env, &old, &["add", "file.txt"]);
    let refused = git(&env, &old, &["commit", "-q", "-m", "bad"]);
    assert!(!refused.status.success(), "{}", show(&refused));

    // Per repository: nothing to do, and status says why.
    let out = install(&env, &new);
    assert!(out.contains("already record this repository"), "{out}");
    assert!(!new.join(".git/hooks/post-commit").exists());
    let out = tf_git(&env, "uninstall", &new);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("tf git uninstall --global"),
        "{}",
        show(&out)
    );
    let out = env.tf_ok(["git", "status", "--global"]);
    assert!(
        out.contains("in force") && out.contains("22 of 22"),
        "{out}"
    );
}

/// A global core.hooksPath set before is run by ours and put back, byte for byte, by
/// uninstall; installing twice keeps it; with none before, uninstall unsets it again.
#[test]
fn global_install_chains_the_previous_hooks_path_and_uninstall_restores_it() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let dir = repo(&env, "app");
    let mine = env.scratch().join(".githooks");
    std::fs::create_dir_all(&mine).unwrap();
    let log = env.scratch().join("mine.log");
    write_script(
        &mine.join("post-commit"),
        &format!("#!/bin/sh\necho mine >> {}\n", sh_quote(&log)),
    );
    // post-rewrite reads its input: both it and tf get all of it.
    write_script(
        &mine.join("post-rewrite"),
        &format!("#!/bin/sh\ncat >> {}\n", sh_quote(&log)),
    );
    git_ok(
        &env,
        &dir,
        &["config", "--global", "core.hooksPath", "~/.githooks"],
    );

    let out = tf_global(&env, "install");
    assert!(out.contains("was ~/.githooks"), "{out}");
    let again = tf_global(&env, "install");
    assert!(again.contains("already points here"), "{again}");
    assert!(again.contains("~/.githooks"), "{again}");

    let before = commit(&env, &dir, "one");
    git_ok(
        &env,
        &dir,
        &["commit", "-q", "--amend", "-m", "one, amended"],
    );
    let after = git_ok(&env, &dir, &["rev-parse", "HEAD"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("mine\nmine\n{before} {after}\n"),
        "the previous global hooks ran, with git's input"
    );
    let events = spooled(&env);
    assert_eq!(
        kinds(&events),
        ["commit", "commit", "rewrite"],
        "{events:?}"
    );

    let out = tf_global(&env, "uninstall");
    assert!(out.contains("restored to ~/.githooks"), "{out}");
    assert_eq!(global_hooks_path(&env).as_deref(), Some("~/.githooks"));
    assert!(!env.base.join("git-hooks").exists());
    commit(&env, &dir, "two");
    assert_eq!(spooled(&env).len(), 3, "nothing recorded after uninstall");

    // None before: unset after.
    git_ok(
        &env,
        &dir,
        &["config", "--global", "--unset", "core.hooksPath"],
    );
    tf_global(&env, "install");
    let out = tf_global(&env, "uninstall");
    assert!(out.contains("unset, as it was"), "{out}");
    assert_eq!(global_hooks_path(&env), None);
    // Changed by the user since: left alone, with a warning.
    tf_global(&env, "install");
    git_ok(
        &env,
        &dir,
        &["config", "--global", "core.hooksPath", "/elsewhere"],
    );
    let out = env.tf(["git", "uninstall", "--global"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("left as it is"), "{}", show(&out));
    assert_eq!(global_hooks_path(&env).as_deref(), Some("/elsewhere"));
}

/// Bad input: a path with --global, a foreign file where our hooks go, no git at all; each
/// changes nothing.
#[test]
fn global_install_bad_input_changes_nothing() {
    if !have_git() {
        return;
    }
    let env = TestEnv::new();
    let out = env.tf(["git", "install", "--global", "somewhere"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("--global"), "{}", show(&out));

    let dir = env.base.join("git-hooks");
    std::fs::create_dir_all(&dir).unwrap();
    write_script(&dir.join("pre-commit"), "#!/bin/sh\nexit 0\n");
    let out = env.tf(["git", "install", "--global"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("pre-commit is not TimeForged's"),
        "{}",
        show(&out)
    );
    assert_eq!(global_hooks_path(&env), None);
    assert_eq!(snapshot(&dir).len(), 1);
    std::fs::remove_file(dir.join("pre-commit")).unwrap();

    let out = env
        .tf_cmd(["git", "install", "--global"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot run git"), "{}", show(&out));
    assert_eq!(global_hooks_path(&env), None);
}

/// Every hook script, the global one included, is POSIX sh that shellcheck passes.
#[test]
fn hook_scripts_pass_shellcheck() {
    let ok = Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("hook_scripts_pass_shellcheck: shellcheck is not installed");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        // Agents' hook settings (claude-code.json) live here too.
        .filter(|p| p.extension().is_none())
        .collect();
    scripts.sort();
    assert!(scripts.iter().any(|p| p.ends_with("global")), "{scripts:?}");
    let out = Command::new("shellcheck")
        .args(["-s", "sh"])
        .args(&scripts)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
}

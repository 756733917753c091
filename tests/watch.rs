//! File-system and git tracking against a real daemon watching real git repositories made by
//! the git CLI: writes land on the right branch, switches split time, ignored paths stay
//! silent, the tree is followed as it changes, and the watch limit falls back to polling.

mod common;
#[path = "common/git.rs"]
mod git_cli;

use common::{TestEnv, now_secs, wait_for};
use git_cli::{git_ok, have_git};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A repository with one commit on `main`, at `code/<name>`.
fn repo(env: &TestEnv, name: &str) -> PathBuf {
    let dir = env.scratch().join("code").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    git_ok(env, &dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.join(".gitignore"), "*.log\ngenerated/\n").unwrap();
    git_ok(env, &dir, &["add", "."]);
    git_ok(env, &dir, &["commit", "-q", "-m", "init"]);
    dir
}

/// Starts the daemon watching `code/` with extra `[watch]` settings.
fn start(env: &mut TestEnv, extra: &str) {
    let root = env.scratch().join("code");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&env.base).unwrap();
    std::fs::write(
        env.config_file(),
        format!(
            "[watch]\nroots = [{:?}]\n{extra}",
            root.display().to_string()
        ),
    )
    .unwrap();
    env.start_daemon();
    // Watching starts on its own thread: wait until the root is walked.
    wait_for("the root to be watched", || {
        let s = env.connect().status();
        (s["watch"][0]["watched_dirs"].as_u64().unwrap_or(0) > 0).then_some(())
    });
}

fn fs_beats(env: &TestEnv) -> Vec<Value> {
    env.connect()
        .log_all()
        .into_iter()
        .filter(|h| h["source"] == "fs")
        .collect()
}

/// Waits for a heartbeat on `file` (path suffix) and returns it.
fn wait_beat(env: &TestEnv, file: &str, branch: &str) -> Value {
    wait_for(&format!("a heartbeat for {file} on {branch}"), || {
        env.connect().log_all().into_iter().find(|h| {
            h["entity"].as_str().is_some_and(|e| e.ends_with(file)) && h["branch"] == branch
        })
    })
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_write_becomes_a_heartbeat_with_project_branch_and_language() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "alpha");
    start(&mut env, "");
    write(&dir.join("src/lib.rs"), "pub fn x() {}\n");
    let h = wait_beat(&env, "src/lib.rs", "main");
    assert_eq!(h["project"], "alpha", "{h}");
    assert_eq!(h["language"], "Rust", "{h}");
    assert_eq!(h["is_write"], true, "{h}");
    assert_eq!(h["type"], "file", "{h}");
    assert_eq!(h["category"], "coding", "{h}");
    // Debounced: more writes to the same file within 30 s add nothing.
    for i in 0..5 {
        write(&dir.join("src/lib.rs"), &format!("pub fn x{i}() {{}}\n"));
    }
    write(&dir.join("src/marker.rs"), "\n");
    wait_beat(&env, "src/marker.rs", "main");
    let on_lib = fs_beats(&env)
        .iter()
        .filter(|h| h["entity"].as_str().unwrap().ends_with("src/lib.rs"))
        .count();
    assert_eq!(on_lib, 1);
}

#[test]
fn switching_branches_splits_time_between_them() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "beta");
    start(&mut env, "");
    write(&dir.join("src/main.rs"), "fn main() { one() }\n");
    wait_beat(&env, "src/main.rs", "main");
    git_ok(
        &env,
        &dir,
        &["checkout", "-q", "-b", "feature/ABC-123-login"],
    );
    // The switch itself is recorded on the new branch…
    let switch = wait_for("the branch switch", || {
        env.connect()
            .log_all()
            .into_iter()
            .find(|h| h["source"] == "git" && h["branch"] == "feature/ABC-123-login")
    });
    // …and the same file written right after counts again, on the new branch.
    write(&dir.join("src/main.rs"), "fn main() { two() }\n");
    let second = wait_beat(&env, "src/main.rs", "feature/ABC-123-login");

    let beats = env.connect().log_all();
    let first = beats
        .iter()
        .find(|h| h["branch"] == "main" && h["source"] == "fs")
        .unwrap();
    let t = |h: &Value| h["time"].as_f64().unwrap();
    let day = common::rfc3339(t(first) - 3600.0);
    let end = common::rfc3339(now_secs() + 60.0);
    let report = env
        .connect()
        .report(&day, &end, &["branch", "ticket"], None);
    let on_main = common::row_seconds(&report, "branch", "main");
    let on_feature = common::row_seconds(&report, "branch", "feature/ABC-123-login");
    assert!(
        (on_main - (t(&switch) - t(first))).abs() < 0.002,
        "main gets the time up to the switch: {report}"
    );
    assert!(
        (on_feature - (t(&second) - t(&switch))).abs() < 0.002,
        "the new branch gets the time after it: {report}"
    );
    assert!((common::row_seconds(&report, "ticket", "ABC-123") - on_feature).abs() < 0.002);

    let branches = env.tf_json(["branches", "--json"]);
    let names: Vec<&str> = branches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branch"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"main") && names.contains(&"feature/ABC-123-login"),
        "{branches}"
    );
    let feature = branches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["branch"] == "feature/ABC-123-login")
        .unwrap();
    assert_eq!(feature["ticket"], "ABC-123");
    assert_eq!(feature["project"], "beta");
    // Detached HEAD is a branch of its own.
    git_ok(&env, &dir, &["checkout", "-q", "--detach", "main"]);
    wait_for("the detached HEAD", || {
        env.connect().log_all().into_iter().find(|h| {
            h["branch"]
                .as_str()
                .is_some_and(|b| b.starts_with("detached:") && b.len() == 16)
        })
    });
}

#[test]
fn ignored_and_temporary_files_make_no_heartbeats() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "gamma");
    std::fs::create_dir_all(dir.join("target/debug")).unwrap();
    std::fs::create_dir_all(dir.join("node_modules/x")).unwrap();
    std::fs::create_dir_all(dir.join("generated")).unwrap();
    start(&mut env, "exclude = [\"vendor-cache\"]\n");
    std::fs::create_dir_all(dir.join("vendor-cache")).unwrap();
    for f in [
        "build.log",
        "generated/out.rs",
        "target/debug/main.rs",
        "node_modules/x/index.js",
        "vendor-cache/a.rs",
        "src/.main.rs.swp",
        "src/main.rs~",
        "src/4913",
        "src/.#main.rs",
        "src/main.rs___jb_tmp___",
        ".git/config-test",
    ] {
        write(&dir.join(f), "x\n");
    }
    // A real write after them all: once it is in, the ignored ones would have been too.
    write(&dir.join("src/real.rs"), "\n");
    wait_beat(&env, "src/real.rs", "main");
    let entities: Vec<String> = fs_beats(&env)
        .iter()
        .map(|h| h["entity"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(entities.len(), 1, "only src/real.rs: {entities:?}");
    // Outside any repository nothing counts either.
    write(&env.scratch().join("code/notes.txt"), "x\n");
    write(&dir.join("src/real2.rs"), "\n");
    wait_beat(&env, "src/real2.rs", "main");
    assert_eq!(fs_beats(&env).len(), 2);
}

#[test]
fn new_directories_are_watched_and_deleted_ones_dropped() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "delta");
    std::fs::create_dir_all(dir.join("old/inner")).unwrap();
    start(&mut env, "");
    let dirs = |env: &TestEnv| {
        env.connect().status()["watch"][0]["watched_dirs"]
            .as_u64()
            .unwrap()
    };
    let before = dirs(&env);
    std::fs::create_dir_all(dir.join("src/new/deeper")).unwrap();
    wait_for("the new directories to be watched", || {
        (dirs(&env) == before + 2).then_some(())
    });
    write(&dir.join("src/new/deeper/x.py"), "print(1)\n");
    let h = wait_beat(&env, "src/new/deeper/x.py", "main");
    assert_eq!(h["language"], "Python");

    std::fs::remove_dir_all(dir.join("old")).unwrap();
    wait_for("the deleted directories to be dropped", || {
        (dirs(&env) == before).then_some(())
    });
    // The watcher still works after the deletion.
    write(&dir.join("src/after.rs"), "\n");
    wait_beat(&env, "src/after.rs", "main");
    // A directory deleted and created again under the same name is watched again.
    std::fs::create_dir_all(dir.join("old")).unwrap();
    write(&dir.join("old/again.rs"), "\n");
    wait_for(
        "old/again.rs (possibly rewritten once the watch is in place)",
        || {
            write(&dir.join("old/again.rs"), "\n");
            fs_beats(&env)
                .into_iter()
                .find(|h| h["entity"].as_str().unwrap().ends_with("old/again.rs"))
        },
    );
}

#[test]
fn linked_worktrees_count_as_one_project_with_their_own_branch() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "epsilon");
    let wt = env.scratch().join("code/epsilon-wt");
    git_ok(
        &env,
        &dir,
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    start(&mut env, "");
    write(&wt.join("src/side.rs"), "\n");
    let h = wait_beat(&env, "src/side.rs", "side");
    assert_eq!(h["project"], "epsilon", "{h}");
    write(&dir.join("src/main.rs"), "fn main() {}\n\n");
    let h = wait_beat(&env, "epsilon/src/main.rs", "main");
    assert_eq!(h["project"], "epsilon", "{h}");
    // A switch in the worktree is seen through its own HEAD.
    git_ok(&env, &wt, &["checkout", "-q", "-b", "side-2"]);
    write(&wt.join("src/side.rs"), "\n\n");
    wait_beat(&env, "src/side.rs", "side-2");
    let s = env.connect().status();
    assert_eq!(s["watch"][0]["repositories"], 2, "{s}");
}

#[test]
fn past_the_watch_limit_directories_are_polled_and_reported() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "zeta");
    for d in ["a", "b", "c", "d"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    start(&mut env, "max_watches = 3\npoll_seconds = 1\n");
    let s = env.connect().status();
    let root = &s["watch"][0];
    assert_eq!(root["watched_dirs"], 3, "{s}");
    assert!(root["polled_dirs"].as_u64().unwrap() >= 4, "{s}");
    let msg = s["watch_limit"].as_str().expect("the limit is reported");
    assert!(msg.contains("fs.inotify.max_user_watches"), "{msg}");
    assert!(env.log_text().contains("fs.inotify.max_user_watches"));
    let text = env.tf_ok(["status"]);
    assert!(
        text.contains("polled") && text.contains("max_user_watches"),
        "{text}"
    );
    // Writes in polled directories still count (each directory is polled every second).
    for d in ["a", "b", "c", "d"] {
        write(&dir.join(d).join("f.rs"), "\n");
    }
    for d in ["a", "b", "c", "d"] {
        wait_beat(&env, &format!("{d}/f.rs"), "main");
    }
}

#[test]
fn watch_add_list_remove_and_their_bad_input() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let other = env.scratch().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    let dir = repo(&env, "eta");
    start(&mut env, "");
    let other_s = other.to_str().unwrap();
    let out = env.tf_ok(["watch", "add", other_s]);
    assert!(out.contains(other_s), "{out}");
    // A repository created later under an added root is found.
    let sub = other.join("late");
    std::fs::create_dir_all(&sub).unwrap();
    git_ok(&env, &sub, &["init", "-q", "-b", "trunk"]);
    write(&sub.join("x.go"), "package x\n");
    wait_for("late/x.go", || {
        write(&sub.join("x.go"), "package x\n");
        fs_beats(&env)
            .into_iter()
            .find(|h| h["project"] == "late" && h["branch"] == "trunk")
    });
    let list = env.tf_json(["watch", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // Added roots survive a restart.
    env.terminate_daemon();
    env.start_daemon();
    let list = env.tf_json(["watch", "list", "--json"]);
    let added = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == other_s)
        .cloned();
    assert_eq!(
        added.map(|r| r["origin"].clone()),
        Some(json!("added")),
        "{list}"
    );

    // Bad input: clear errors naming the path, nothing changes.
    if !common::is_root() {
        // (root reads any directory, so this part only runs as a normal user)
        use std::os::unix::fs::PermissionsExt;
        let locked = env.scratch().join("locked");
        std::fs::create_dir_all(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let out = env.tf(["watch", "add", locked.to_str().unwrap()]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!out.status.success());
        assert!(
            common::stderr(&out).contains("cannot read"),
            "{}",
            common::stderr(&out)
        );
    }
    let missing = env.scratch().join("missing");
    for (args, want) in [
        (vec!["watch", "add", missing.to_str().unwrap()], "missing"),
        (
            vec!["watch", "add", dir.join("src/main.rs").to_str().unwrap()],
            "not a directory",
        ),
        (
            vec!["watch", "remove", missing.to_str().unwrap()],
            "not a watched root",
        ),
        (
            vec![
                "watch",
                "remove",
                env.scratch().join("code").to_str().unwrap(),
            ],
            "config file",
        ),
    ] {
        let out = env.tf(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = common::stderr(&out);
        assert!(
            err.contains("path") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    // Over the socket a relative path is refused (the daemon's directory is not the client's).
    for action in ["add", "remove"] {
        let r = env
            .connect()
            .request(json!({"v": 1, "type": "watch", "action": action, "path": "code"}));
        assert_eq!(r["type"], "error", "{r}");
        assert!(
            r["message"].as_str().unwrap().contains("absolute path"),
            "{r}"
        );
    }
    env.tf_ok(["watch", "remove", other_s]);
    let list = env.tf_json(["watch", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn hostile_trees_do_not_break_the_watcher() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "theta");
    // A symlink loop, a symlink out of the tree, a non-UTF-8 name, a corrupt repository.
    std::os::unix::fs::symlink("..", dir.join("src/loop")).unwrap();
    std::os::unix::fs::symlink("/", dir.join("src/root")).unwrap();
    let corrupt = env.scratch().join("code/corrupt");
    std::fs::create_dir_all(corrupt.join(".git")).unwrap();
    std::fs::write(corrupt.join(".git/HEAD"), "garbage\n").unwrap();
    // A root that does not exist is reported, not fatal.
    std::fs::create_dir_all(env.scratch().join("code")).unwrap();
    std::fs::create_dir_all(&env.base).unwrap();
    let missing = env.scratch().join("nope");
    std::fs::write(
        env.config_file(),
        format!(
            "[watch]\nroots = [{:?}, {:?}]\n",
            env.scratch().join("code").display().to_string(),
            missing.display().to_string()
        ),
    )
    .unwrap();
    env.start_daemon();
    // Both roots are listed at once; the missing one's error once its walk was tried.
    let s = wait_for("both roots, walked", || {
        let s = env.connect().status();
        let roots = s["watch"].as_array()?;
        (roots.len() == 2 && roots.iter().any(|r| r["error"].is_string())).then_some(s)
    });
    let bad = s["watch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == missing.to_str().unwrap())
        .unwrap();
    assert!(bad["error"].as_str().unwrap().contains("nope"), "{s}");
    let text = env.tf_ok(["status"]);
    assert!(text.contains("error: cannot watch"), "{text}");

    use std::os::unix::ffi::OsStrExt;
    let odd = dir
        .join("src")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.rs"));
    std::fs::write(&odd, "\n").unwrap();
    wait_for("the non-UTF-8 file's heartbeat", || {
        fs_beats(&env)
            .into_iter()
            .find(|h| h["entity"].as_str().unwrap().contains("caf\u{fffd}.rs"))
    });
    // A repository whose HEAD turns to garbage keeps its last branch for writes.
    std::fs::write(dir.join(".git/HEAD"), "not a ref\n").unwrap();
    write(&dir.join("src/still.rs"), "\n");
    wait_beat(&env, "src/still.rs", "main");
    write(&corrupt.join("c.rs"), "\n");
    write(&dir.join("src/last.rs"), "\n");
    wait_beat(&env, "src/last.rs", "main");
    assert!(env.daemon_pid().is_some());
}

#[test]
fn commits_are_recorded_from_the_reflog_without_hooks() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "iota");
    // A repository whose first commit comes after the daemon started watching.
    let fresh = env.scratch().join("code/kappa");
    std::fs::create_dir_all(&fresh).unwrap();
    start(&mut env, "");
    let commits = |env: &TestEnv| -> Vec<Value> {
        env.tf_json(["commits", "--json"])
            .as_array()
            .unwrap()
            .clone()
    };
    let sha = |dir: &Path| git_ok(&env, dir, &["rev-parse", "HEAD"]);

    write(&dir.join("src/cart.rs"), "\n");
    git_ok(&env, &dir, &["checkout", "-q", "-b", "feature/CART-1"]);
    git_ok(&env, &dir, &["add", "."]);
    git_ok(&env, &dir, &["commit", "-q", "-m", "cart: add"]);
    let first = sha(&dir);
    let listed = wait_for("the commit from the reflog", || {
        let c = commits(&env);
        c.iter().any(|c| c["sha"] == first.as_str()).then_some(c)
    });
    let c = listed.iter().find(|c| c["sha"] == first.as_str()).unwrap();
    assert_eq!(c["summary"], "cart: add", "{c}");
    assert_eq!(c["branch"], "feature/CART-1", "{c}");
    assert_eq!(c["project"], "iota", "{c}");

    // An amend replaces it.
    git_ok(
        &env,
        &dir,
        &["commit", "-q", "--amend", "-m", "cart: add, amended"],
    );
    let amended = sha(&dir);
    wait_for("the amended commit to replace the first", || {
        let c = commits(&env);
        (c.iter().any(|c| c["sha"] == amended.as_str())
            && !c.iter().any(|c| c["sha"] == first.as_str()))
        .then_some(())
    });

    // A real merge is a merge; a fast-forward adds nothing.
    git_ok(&env, &dir, &["checkout", "-q", "main"]);
    git_ok(
        &env,
        &dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "merge cart",
            "feature/CART-1",
        ],
    );
    let merge = sha(&dir);
    wait_for("the merge commit", || {
        commits(&env)
            .into_iter()
            .find(|c| c["sha"] == merge.as_str() && c["merge"] == true)
    });

    // The first commit of a new repository, and with the hooks installed as well: once each.
    git_ok(&env, &fresh, &["init", "-q", "-b", "main"]);
    write(&fresh.join("a.rs"), "\n");
    git_ok(&env, &fresh, &["add", "."]);
    git_ok(&env, &fresh, &["commit", "-q", "-m", "first"]);
    let root_commit = sha(&fresh);
    wait_for("the new repository's first commit", || {
        commits(&env)
            .into_iter()
            .find(|c| c["sha"] == root_commit.as_str())
    });
    let installed = env
        .tf_cmd(["git", "install"])
        .current_dir(&fresh)
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", common::show(&installed));
    write(&fresh.join("b.rs"), "\n");
    git_ok(&env, &fresh, &["add", "."]);
    git_ok(&env, &fresh, &["commit", "-q", "-m", "second"]);
    let second = sha(&fresh);
    wait_for("the second commit", || {
        commits(&env)
            .into_iter()
            .find(|c| c["sha"] == second.as_str())
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let same: Vec<Value> = commits(&env)
        .into_iter()
        .filter(|c| c["sha"] == second.as_str())
        .collect();
    assert_eq!(same.len(), 1, "hook and reflog record it once: {same:?}");
}

/// A root inside TimeForged's own directory cannot be watched (its files change on every
/// write); it used to be skipped silently. `tf watch list` and `tf status` say why, and
/// `tf watch add` refuses it.
#[test]
fn a_root_inside_the_daemons_own_directory_is_named_as_not_watched() {
    let mut env = TestEnv::new();
    let inside = env.base.join("notes");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::write(
        env.config_file(),
        format!("[watch]\nroots = [{:?}]\n", inside.display().to_string()),
    )
    .unwrap();
    env.start_daemon();
    let list = wait_for("the root's status", || {
        let list = env.tf_json(["watch", "list", "--json"]);
        list[0]["error"].is_string().then_some(list)
    });
    let error = list[0]["error"].as_str().unwrap();
    assert!(error.contains("TimeForged's own directory"), "{list}");
    let status = env.tf_ok(["status"]);
    assert!(status.contains("TimeForged's own directory"), "{status}");
    let other = env.base.join("more");
    std::fs::create_dir_all(&other).unwrap();
    let out = env.tf(["watch", "add", other.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(
        err.contains("own directory") && err.contains("path"),
        "{err}"
    );
}

/// The paths (relative to `dir`) of the fs heartbeats under `dir`.
fn saves_under(env: &TestEnv, dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    let mut v: Vec<String> = fs_beats(env)
        .iter()
        .filter_map(|h| {
            h["entity"]
                .as_str()?
                .strip_prefix(&prefix)
                .map(String::from)
        })
        .collect();
    v.sort();
    v
}

/// Sets a file's modification time `age` in the past.
fn age(path: &Path, age: std::time::Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - age).unwrap();
}

/// Issue 12, item 6: a file written into directories made just before it
/// (`mkdir -p pkg/sub && echo x > pkg/sub/m.py`) exists before any watch on them can: it is
/// found when the new directories are walked, and is a save. A directory moved in with old
/// files brings no saves, but is watched.
#[test]
fn the_first_write_into_a_new_nested_directory_is_a_save() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "nested");
    // Moved in later: files last changed an hour ago.
    let old = env.scratch().join("elsewhere/oldpkg");
    write(&old.join("inner/old.rs"), "\n");
    write(&old.join("top.rs"), "\n");
    age(
        &old.join("inner/old.rs"),
        std::time::Duration::from_secs(3600),
    );
    age(&old.join("top.rs"), std::time::Duration::from_secs(3600));
    start(&mut env, "");

    // A save first: the watcher takes it and waits for the rest of its batch (100 ms), so
    // what follows is all on disk before the new directories are walked, every time.
    write(&dir.join("src/trigger.rs"), "\n");
    // What `mkdir -p pkg/sub/deeper && echo x > pkg/sub/m.py && …` does.
    std::fs::create_dir_all(dir.join("pkg/sub/deeper")).unwrap();
    std::fs::write(dir.join("pkg/sub/m.py"), "x\n").unwrap();
    std::fs::write(dir.join("pkg/sub/deeper/n.rs"), "y\n").unwrap();
    let h = wait_beat(&env, "pkg/sub/m.py", "main");
    assert_eq!(h["language"], "Python", "{h}");
    assert_eq!(h["project"], "nested", "{h}");
    wait_beat(&env, "pkg/sub/deeper/n.rs", "main");

    std::fs::rename(&old, dir.join("oldpkg")).unwrap();
    // Moved in and watched: a write in it counts; the files it came with did not.
    wait_for(
        "oldpkg/inner/new.rs (rewritten until the watch is in place)",
        || {
            write(&dir.join("oldpkg/inner/new.rs"), "\n");
            fs_beats(&env).into_iter().find(|h| {
                h["entity"]
                    .as_str()
                    .unwrap()
                    .ends_with("oldpkg/inner/new.rs")
            })
        },
    );
    assert_eq!(
        saves_under(&env, &dir),
        [
            "oldpkg/inner/new.rs",
            "pkg/sub/deeper/n.rs",
            "pkg/sub/m.py",
            "src/trigger.rs"
        ]
    );
}

/// Issue 12, item 6: `git clone` into a watched root records none of the clone's files as
/// saves (the repository arrives with its directory, and git writes the work tree holding
/// `index.lock`); a save in the clone afterwards counts. A checkout of many files in a watched
/// repository is no save either.
#[test]
fn a_clone_into_a_root_records_no_saves() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    // The origin, outside the root: 40 files in nested directories.
    let origin = env.scratch().join("origin");
    std::fs::create_dir_all(&origin).unwrap();
    git_ok(&env, &origin, &["init", "-q", "-b", "main"]);
    for i in 0..40 {
        write(
            &origin.join(format!("src/m{}/f{i}.rs", i % 4)),
            &format!("// {i}\n"),
        );
    }
    git_ok(&env, &origin, &["add", "."]);
    git_ok(&env, &origin, &["commit", "-q", "-m", "init"]);
    git_ok(&env, &origin, &["checkout", "-q", "-b", "other"]);
    for i in 0..40 {
        write(
            &origin.join(format!("src/m{}/f{i}.rs", i % 4)),
            &format!("// other {i}\n"),
        );
    }
    git_ok(&env, &origin, &["commit", "-q", "-am", "other"]);
    git_ok(&env, &origin, &["checkout", "-q", "main"]);
    let origin_s = origin.display().to_string();
    start(&mut env, "");
    let code = env.scratch().join("code");
    let repos = |env: &TestEnv| {
        env.connect().status()["watch"][0]["repositories"]
            .as_u64()
            .unwrap()
    };

    // A plain clone.
    git_ok(&env, &code, &["clone", "-q", &origin_s, "cloned"]);
    wait_for("the clone to be found", || (repos(&env) == 1).then_some(()));
    let cloned = code.join("cloned");
    write(&cloned.join("src/mine.rs"), "\n");
    wait_beat(&env, "cloned/src/mine.rs", "main");

    // A clone whose work tree is written once the daemon watches it: git's own writes.
    git_ok(
        &env,
        &code,
        &["clone", "-q", "--no-checkout", &origin_s, "late"],
    );
    wait_for("the second clone to be found", || {
        (repos(&env) == 2).then_some(())
    });
    let late = code.join("late");
    git_ok(&env, &late, &["reset", "-q", "--hard"]);
    // A branch switch that rewrites every file.
    git_ok(&env, &cloned, &["checkout", "-q", "other"]);
    write(&late.join("src/after.rs"), "\n");
    wait_beat(&env, "late/src/after.rs", "main");
    write(&cloned.join("src/on-other.rs"), "\n");
    wait_beat(&env, "cloned/src/on-other.rs", "other");

    assert_eq!(
        saves_under(&env, &cloned),
        ["src/mine.rs", "src/on-other.rs"]
    );
    assert_eq!(saves_under(&env, &late), ["src/after.rs"]);
}

/// An `index.lock` left behind by a crashed git does not silence a repository for good.
#[test]
fn a_stale_index_lock_does_not_hide_saves() {
    if !have_git() {
        return;
    }
    let mut env = TestEnv::new();
    let dir = repo(&env, "stale");
    let lock = dir.join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    age(&lock, std::time::Duration::from_secs(3600));
    start(&mut env, "");
    write(&dir.join("src/lib.rs"), "\n");
    wait_beat(&env, "src/lib.rs", "main");
}

//! Git events over the socket, as the hooks send them: commits mark points on a branch, time
//! per commit is the branch's time since the previous commit, and rebase, amend and squash keep
//! that time. Bad events are refused with the field named, storing nothing.

mod common;
#[path = "common/git.rs"]
mod git_cli;

use common::{TestEnv, recent_hour, wait_for};
use git_cli::{git_ok, have_git};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A real (empty) repository named `proj`, so the daemon can name the project from the path.
fn repo(env: &TestEnv) -> Option<PathBuf> {
    let dir = env.scratch().join("proj");
    std::fs::create_dir_all(&dir).unwrap();
    if !have_git() {
        return None;
    }
    git_ok(env, &dir, &["init", "-q"]);
    Some(dir)
}

fn sha(n: u32) -> String {
    format!("{n:0>40x}")
}

fn event(repo: &Path, kind: &str, time: f64, extra: Value) -> Value {
    let mut e = json!({"v": 1, "type": "git", "kind": kind, "time": time,
        "repo": repo.display().to_string(), "branch": "feature/TF-1"});
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

fn beat(t: f64) -> Value {
    json!({"time": t, "entity": "/proj/src/a.rs", "project": "proj", "branch": "feature/TF-1"})
}

fn commits(env: &TestEnv) -> Vec<(String, f64)> {
    env.tf_json(["commits", "--json", "week"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["sha"].as_str().unwrap().to_string(),
                c["seconds"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn time_per_commit_survives_rebase_amend_and_squash() {
    let mut env = TestEnv::new();
    let Some(dir) = repo(&env) else { return };
    env.start_daemon();
    let mut c = env.connect();
    let t = recent_hour();
    c.heartbeats(&[beat(t), beat(t + 60.0), beat(t + 120.0)]);
    let ok = c.request(event(
        &dir,
        "commit",
        t + 120.0,
        json!({"head": sha(1), "summary": "first"}),
    ));
    assert_eq!(ok["type"], "ok", "{ok}");
    c.heartbeats(&[beat(t + 180.0), beat(t + 240.0)]);
    c.request(event(
        &dir,
        "commit",
        t + 240.0,
        json!({"head": sha(2), "summary": "second"}),
    ));
    assert_eq!(commits(&env), vec![(sha(1), 120.0), (sha(2), 120.0)]);
    let full = env.tf_json(["commits", "--json", "week"]);
    assert_eq!(full[0]["summary"], "first");
    assert_eq!(full[0]["project"], "proj");
    assert_eq!(full[0]["branch"], "feature/TF-1");

    // Rebase: new ids, same marks and times.
    c.request(event(
        &dir,
        "rewrite",
        t + 300.0,
        json!({"rewrite": "rebase",
        "rewritten": [[sha(1), sha(11)], [sha(2), sha(12)]]}),
    ));
    assert_eq!(commits(&env), vec![(sha(11), 120.0), (sha(12), 120.0)]);

    // Amend after more work: the amended commit now covers that work too.
    c.heartbeats(&[beat(t + 300.0), beat(t + 360.0)]);
    c.request(event(
        &dir,
        "rewrite",
        t + 360.0,
        json!({"rewrite": "amend",
        "rewritten": [[sha(12), sha(22)]], "summary": "second, amended"}),
    ));
    assert_eq!(commits(&env), vec![(sha(11), 120.0), (sha(22), 240.0)]);

    // Squash both into one: it holds all of the branch's time.
    c.request(event(
        &dir,
        "rewrite",
        t + 400.0,
        json!({"rewrite": "rebase",
        "rewritten": [[sha(11), sha(30)], [sha(22), sha(30)]]}),
    ));
    assert_eq!(commits(&env), vec![(sha(30), 360.0)]);

    // The text table shows it too.
    let text = env.tf_ok(["commits", "week"]);
    assert!(
        text.contains(&sha(30)[..8]) && text.contains("0h 06m"),
        "{text}"
    );
    let branches = env.tf_json(["branches", "--json", "week"]);
    let row = branches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["branch"] == "feature/TF-1")
        .unwrap();
    assert_eq!(row["commits"], 1, "{branches}");
    assert_eq!(row["ticket"], "TF-1", "{branches}");
}

#[test]
fn a_switch_is_recorded_once_and_moves_time_to_the_new_branch() {
    let mut env = TestEnv::new();
    let Some(dir) = repo(&env) else { return };
    env.start_daemon();
    let mut c = env.connect();
    let t = recent_hour();
    c.heartbeats(&[
        json!({"time": t, "entity": "/proj/a.rs", "project": "proj", "branch": "main"}),
    ]);
    // Two checkouts to the same branch (hook and watcher both saw it): one switch.
    for _ in 0..2 {
        let r = c.request(event(
            &dir,
            "checkout",
            t + 100.0,
            json!({"branch": "other", "head": sha(5)}),
        ));
        assert_eq!(r["type"], "ok", "{r}");
    }
    c.heartbeats(&[
        json!({"time": t + 160.0, "entity": "/proj/a.rs", "project": "proj", "branch": "other"}),
    ]);
    let beats = c.log_all();
    let git: Vec<&Value> = beats.iter().filter(|h| h["source"] == "git").collect();
    assert_eq!(git.len(), 1, "one switch heartbeat: {beats:?}");
    let report = c.report(
        &common::rfc3339(t - 1.0),
        &common::rfc3339(t + 200.0),
        &["branch"],
        None,
    );
    assert_eq!(
        common::row_seconds(&report, "branch", "main"),
        100.0,
        "{report}"
    );
    assert_eq!(
        common::row_seconds(&report, "branch", "other"),
        60.0,
        "{report}"
    );
}

#[test]
fn bad_git_events_are_refused_with_the_field_named() {
    let mut env = TestEnv::new();
    let Some(dir) = repo(&env) else { return };
    env.start_daemon();
    let mut c = env.connect();
    let t = recent_hour();
    let not_repo = env.scratch().join("plain");
    std::fs::create_dir_all(&not_repo).unwrap();
    for (bad, field) in [
        (event(&dir, "commit", t, json!({"head": "xyz"})), "head"),
        (
            event(&dir, "commit", t, json!({"repo": "relative/path"})),
            "repo",
        ),
        (event(&dir, "commit", t, json!({"time": -5.0})), "time"),
        (event(&dir, "commit", t, json!({"branch": ""})), "branch"),
        (
            event(
                &dir,
                "rewrite",
                t,
                json!({"rewritten": [["abc", "not hex!"]]}),
            ),
            "rewritten[0]",
        ),
        (
            event(
                &dir,
                "commit",
                t,
                json!({"repo": not_repo.display().to_string()}),
            ),
            "repo",
        ),
        (event(&dir, "teleport", t, json!({})), "kind"),
        (json!({"v": 1, "type": "git", "time": t}), "kind"),
    ] {
        let r = c.request(bad.clone());
        assert_eq!(r["type"], "error", "{bad} → {r}");
        assert!(
            r["message"].as_str().unwrap().contains(field),
            "{bad} → {r}"
        );
    }
    assert!(commits(&env).is_empty());
    assert_eq!(c.count(), 0, "nothing stored");
    // The connection and daemon are fine afterwards.
    let r = c.request(event(&dir, "commit", t, json!({"head": sha(9)})));
    assert_eq!(r["type"], "ok", "{r}");
    assert_eq!(commits(&env).len(), 1);
}

#[test]
fn git_events_spooled_while_the_daemon_was_down_are_stored_at_start() {
    let mut env = TestEnv::new();
    let Some(dir) = repo(&env) else { return };
    let t = recent_hour();
    let spool = env.base.join("spool.jsonl");
    std::fs::create_dir_all(&env.base).unwrap();
    let line = event(
        &dir,
        "commit",
        t,
        json!({"head": sha(7), "summary": "offline"}),
    );
    std::fs::write(&spool, format!("{line}\n")).unwrap();
    env.start_daemon();
    wait_for("the spooled commit", || {
        let list = commits(&env);
        (list.len() == 1).then_some(())
    });
    assert_eq!(commits(&env)[0].0, sha(7));
}

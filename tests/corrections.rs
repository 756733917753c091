//! Correcting what was recorded (issue 12, item 5): `tf intervals` list, edit and remove;
//! `tf forget` by project, file pattern and range; reports follow at once; bad input changes
//! nothing. Real daemon, real SQLite file.

mod common;

use common::{TestEnv, hb, local_date, now_secs, show, stderr};
use serde_json::Value;

/// A daemon in UTC, and yesterday's date there.
fn setup() -> (TestEnv, String) {
    let mut env = TestEnv::with_tz("UTC");
    env.start_daemon();
    (env, local_date(now_secs() - 86_400.0, 0))
}

fn total(env: &TestEnv, range: &str) -> f64 {
    env.tf_json(["report", range, "--json"])["total_seconds"]
        .as_f64()
        .expect("total_seconds")
}

fn projects(env: &TestEnv, range: &str) -> Vec<String> {
    let r = env.tf_json(["report", range, "--json", "--by", "project"]);
    r["by"]["project"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|row| row["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn fails(env: &TestEnv, args: &[&str], needle: &str) {
    let out = env.tf(args);
    assert!(
        !out.status.success(),
        "tf {args:?} succeeded: {}",
        show(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains(needle),
        "tf {args:?}: {err:?} lacks {needle:?}"
    );
}

#[test]
fn intervals_are_listed_edited_and_removed_and_reports_follow() {
    let (env, day) = setup();
    let (from, to) = (format!("{day} 09:00"), format!("{day} 10:00"));
    let add = [
        "add",
        "--project",
        "docs",
        "--from",
        &from,
        "--to",
        &to,
        "--note",
        "write",
    ];
    let added = env.tf_ok(add);
    assert!(
        added.starts_with("added interval #1: docs 1h 00m"),
        "{added}"
    );
    // The same interval again: it says so, and nothing doubles.
    let again = env.tf_ok(add);
    assert!(again.starts_with("already there: interval #1"), "{again}");
    assert_eq!(total(&env, "yesterday"), 3600.0);

    let list = env.tf_json(["intervals", "yesterday", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["project"], "docs");
    assert_eq!(list[0]["note"], "write");
    let text = env.tf_ok(["intervals", "yesterday"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("id") && lines[0].contains("project"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("#1") && lines[1].contains("docs"),
        "{text}"
    );
    assert!(
        lines[1].contains("09:00") && lines[1].contains("1h 00m"),
        "{text}"
    );

    // Longer, then another project: the report follows each edit at once.
    let edited = env.tf_ok(["intervals", "edit", "1", "--to", &format!("{day} 10:30")]);
    assert!(
        edited.contains("changed interval #1") && edited.contains("1h 30m"),
        "{edited}"
    );
    assert_eq!(total(&env, "yesterday"), 5400.0);
    env.tf_ok(["intervals", "edit", "1", "--project", "book", "--note", ""]);
    assert_eq!(projects(&env, "yesterday"), vec!["book"]);
    let list = env.tf_json(["intervals", "yesterday", "--json"]);
    assert_eq!(list[0]["id"], 1, "an edit keeps the id");
    assert!(
        list[0].get("note").is_none(),
        "an empty note removes it: {list}"
    );

    let removed = env.tf_ok(["intervals", "rm", "1"]);
    assert!(
        removed.starts_with("removed interval #1: book 1h 30m"),
        "{removed}"
    );
    assert_eq!(total(&env, "yesterday"), 0.0);
    let empty = env.tf_ok(["intervals", "yesterday"]);
    assert_eq!(empty.trim(), "no manual intervals in this range");
    // It can be added again.
    assert!(env.tf_ok(add).starts_with("added interval #"));
}

#[test]
fn bad_interval_corrections_change_nothing() {
    let (env, day) = setup();
    let at = |hm: &str| format!("{day} {hm}");
    env.tf_ok([
        "add",
        "--project",
        "a",
        "--from",
        &at("09:00"),
        "--to",
        &at("10:00"),
    ]);
    env.tf_ok([
        "add",
        "--project",
        "b",
        "--from",
        &at("11:00"),
        "--to",
        &at("12:00"),
    ]);
    let before = env.tf_json(["intervals", "yesterday", "--json"]);

    fails(&env, &["intervals", "rm", "99"], "no interval #99");
    fails(
        &env,
        &["intervals", "edit", "99", "--note", "x"],
        "no interval #99",
    );
    fails(&env, &["intervals", "edit", "1"], "nothing to change");
    fails(
        &env,
        &["intervals", "edit", "1", "--to", &at("08:00")],
        "to",
    );
    fails(
        &env,
        &["intervals", "edit", "1", "--from", "soonish"],
        "--from",
    );
    fails(
        &env,
        &["intervals", "edit", "1", "--category", "napping"],
        "--category",
    );
    fails(
        &env,
        &["intervals", "edit", "1", "--project", ""],
        "project",
    );
    fails(&env, &["intervals", "rm", "one"], "invalid value 'one'");
    // Onto the other interval exactly: refused, naming it.
    fails(
        &env,
        &[
            "intervals",
            "edit",
            "1",
            "--project",
            "b",
            "--from",
            &at("11:00"),
            "--to",
            &at("12:00"),
        ],
        "interval #2 already has that project, start and end",
    );
    assert_eq!(env.tf_json(["intervals", "yesterday", "--json"]), before);
    assert_eq!(total(&env, "yesterday"), 7200.0);
}

#[test]
fn forget_shows_then_deletes_and_reports_follow() {
    let (env, day) = setup();
    let t0 = common::local_midnight(now_secs() - 86_400.0, 0) + 9.0 * 3600.0;
    let beats: Vec<Value> = (0..30)
        .flat_map(|i| {
            let t = t0 + f64::from(i) * 60.0;
            [
                hb(t, "/w/keep/src/main.rs", "keep", "Rust"),
                hb(t + 1.0, "/w/gone/src/lib.rs", "gone", "Rust"),
                hb(t + 2.0, "/w/keep/.env", "keep", "Text"),
            ]
        })
        .collect();
    assert_eq!(env.connect().heartbeats(&beats)["accepted"], 90);
    let before = total(&env, "yesterday");
    assert_eq!(projects(&env, "yesterday"), vec!["keep", "gone"]);

    // Without --yes: what would go, and nothing goes.
    let shown = env.tf_ok(["forget", "--project", "gone"]);
    assert!(
        shown.starts_with("would forget 30 heartbeats of project gone")
            && shown.contains(&format!("{day} 09:00"))
            && shown.contains("--yes"),
        "{shown}"
    );
    assert_eq!(total(&env, "yesterday"), before);

    let done = env.tf_ok(["forget", "--project", "gone", "--yes"]);
    assert!(
        done.starts_with("forgot 30 heartbeats of project gone"),
        "{done}"
    );
    assert_eq!(
        projects(&env, "yesterday"),
        vec!["keep"],
        "the report follows at once"
    );
    assert_eq!(env.connect().count(), 60);

    // A file pattern, as JSON; only that file's heartbeats go.
    let env_files = env.tf_json(["forget", "--entity", "*.env", "--yes", "--json"]);
    assert_eq!(env_files["deleted"], true);
    assert_eq!(env_files["heartbeats"], 30, "{env_files}");
    let log = env.tf_json(["log", "yesterday", "--json"]);
    assert!(
        log.as_array().is_some_and(
            |l| l.len() == 30 && l.iter().all(|h| h["entity"] == "/w/keep/src/main.rs")
        ),
        "{log}"
    );
    // A range that misses them: nothing.
    let none = env.tf_ok(["forget", "--project", "keep", "today", "--yes"]);
    assert_eq!(none.trim(), "forgot 0 heartbeats of project keep");
    assert_eq!(env.connect().count(), 30);
    let nothing = env.tf_ok(["forget", "--project", "nobody"]);
    assert_eq!(
        nothing.trim(),
        "no heartbeats of project nobody in this range"
    );
}

#[test]
fn bad_forget_requests_change_nothing() {
    let (env, _) = setup();
    let t = now_secs() - 86_400.0;
    env.connect().heartbeats(&[
        hb(t, "/w/a.rs", "a", "Rust"),
        hb(t + 60.0, "/w/a.rs", "a", "Rust"),
    ]);
    fails(&env, &["forget", "--yes"], "--project");
    fails(
        &env,
        &["forget", "--project", "", "--yes"],
        "project: must be 1 to 512 bytes",
    );
    fails(
        &env,
        &["forget", "--entity", " ", "--yes"],
        "entity: must be 1 to 512 bytes",
    );
    fails(
        &env,
        &["forget", "--project", "a", "--from", "then", "--yes"],
        "--from",
    );
    fails(
        &env,
        &["forget", "--project", "a", "fortnight", "--yes"],
        "RANGE",
    );
    fails(
        &env,
        &[
            "forget",
            "--project",
            "a",
            "--from",
            "today",
            "--to",
            "yesterday",
            "--yes",
        ],
        "is not before",
    );
    // Over the socket, a forget that names neither is refused by the daemon too.
    let answer = env.connect().request(serde_json::json!(
        {"v": 1, "type": "forget", "range": {"name": "all"}, "apply": true}));
    assert_eq!(answer["code"], "invalid", "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("project")),
        "{answer}"
    );
    assert_eq!(env.connect().count(), 2);
}

//! `tf` end to end against a real daemon: heartbeats with project detection from real git
//! repositories, reports in every format and range with exact totals, sessions, log, manual
//! intervals, export → import round trips, config, and plain output off a terminal.

mod common;

use common::{
    Conn, TestEnv, hb, local_date, local_midnight, noon_zone, now_secs, recent_hour, rfc3339,
    row_seconds, show, skip, stderr, total,
};
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::path::Path;

/// A known day of activity in a zone where it is now 12:xx, so that "today" and "yesterday"
/// are certain and no data is near midnight:
/// - yesterday 09:00–09:10: alpha/main/Rust every 60 s → 600 s
/// - today 08:00–08:05: alpha/main/Rust every 60 s, 08:06–08:09 beta/dev/Python every 60 s
///   → alpha 360 s (the switch gap goes to alpha), beta 180 s
/// - today 10:00: gamma/main/Go at 0, 10, 190, 200 s (DESIGN.md's reference case) → 200 s,
///   or 20 s with a 2-minute timeout
struct Dataset {
    env: TestEnv,
    offset: i64,
    today0: f64,
    yesterday0: f64,
    today: String,
    yesterday: String,
}

const TODAY_TOTAL: f64 = 740.0;
const YESTERDAY_TOTAL: f64 = 600.0;

fn beat(t: f64, project: &str, branch: &str, language: &str, ext: &str) -> Value {
    let mut h = hb(t, &format!("/w/{project}/main.{ext}"), project, language);
    h["branch"] = json!(branch);
    h
}

fn dataset() -> Dataset {
    let (tz, offset) = noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    let now = now_secs();
    let today0 = local_midnight(now, offset);
    let yesterday0 = today0 - 86_400.0;
    let mut items = Vec::new();
    for i in 0..=10 {
        items.push(beat(
            yesterday0 + 9.0 * 3600.0 + f64::from(i) * 60.0,
            "alpha",
            "main",
            "Rust",
            "rs",
        ));
    }
    let t8 = today0 + 8.0 * 3600.0;
    for i in 0..=5 {
        items.push(beat(
            t8 + f64::from(i) * 60.0,
            "alpha",
            "main",
            "Rust",
            "rs",
        ));
    }
    for i in 6..=9 {
        items.push(beat(
            t8 + f64::from(i) * 60.0,
            "beta",
            "dev",
            "Python",
            "py",
        ));
    }
    let t10 = today0 + 10.0 * 3600.0;
    for dt in [0.0, 10.0, 190.0, 200.0] {
        items.push(beat(t10 + dt, "gamma", "main", "Go", "go"));
    }
    let r = env.connect().heartbeats(&items);
    assert_eq!(r["accepted"], items.len(), "{r}");
    Dataset {
        offset,
        today0,
        yesterday0,
        today: local_date(now, offset),
        yesterday: local_date(yesterday0 + 3600.0, offset),
        env,
    }
}

fn rows(report: &Value, dim: &str) -> Vec<(String, f64)> {
    report["by"][dim]
        .as_array()
        .unwrap_or_else(|| panic!("no by.{dim}: {report}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("row name").to_string(),
                r["seconds"].as_f64().expect("row seconds"),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, f64)]) -> Vec<(String, f64)> {
    rows.iter().map(|(n, s)| (n.to_string(), *s)).collect()
}

#[test]
fn report_json_has_the_documented_shape_and_exact_totals() {
    let d = dataset();
    let text = d.env.tf_ok([
        "report", "today", "--json", "--by", "project", "--by", "language", "--by", "branch",
    ]);
    let report: Value = serde_json::from_str(&text).expect("JSON");
    let keys: Vec<&String> = report.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["by", "end", "start", "total_seconds"], "{text}");
    assert_eq!(total(&report), TODAY_TOTAL, "{text}");
    let offset = local_offset_suffix(d.offset);
    assert_eq!(
        report["start"],
        format!("{}T00:00:00{offset}", d.today),
        "{text}"
    );
    let tomorrow = local_date(d.today0 + 86_400.0 + 3600.0, d.offset);
    assert_eq!(
        report["end"],
        format!("{tomorrow}T00:00:00{offset}"),
        "{text}"
    );

    // One key per --by, in the order asked.
    let by: Vec<&String> = report["by"]
        .as_object()
        .expect("by object")
        .keys()
        .collect();
    assert_eq!(by.len(), 3, "{text}");
    let at = |k: &str| text.find(&format!("\"{k}\": [")).expect(k);
    assert!(
        at("project") < at("language") && at("language") < at("branch"),
        "{text}"
    );

    for row in report["by"]["project"].as_array().expect("rows") {
        let mut keys: Vec<&String> = row.as_object().expect("row object").keys().collect();
        keys.sort();
        assert_eq!(keys, ["name", "percent", "seconds"], "{row}");
    }
    assert_eq!(
        rows(&report, "project"),
        owned(&[("alpha", 360.0), ("gamma", 200.0), ("beta", 180.0)]),
        "sorted by time, largest first"
    );
    assert_eq!(
        rows(&report, "language"),
        owned(&[("Rust", 360.0), ("Go", 200.0), ("Python", 180.0)])
    );
    assert_eq!(
        rows(&report, "branch"),
        owned(&[("main", 560.0), ("dev", 180.0)])
    );
    let percent: f64 = report["by"]["project"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["percent"].as_f64().expect("percent"))
        .sum();
    assert!((percent - 100.0).abs() < 0.02, "percents add up: {text}");
    assert_eq!(report["by"]["project"][0]["percent"], 48.65, "{text}");
}

/// `+05:00` for an offset in seconds.
fn local_offset_suffix(offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let h = offset.abs() / 3600;
    format!("{sign}{h:02}:00")
}

#[test]
fn report_timeout_and_the_design_reference_case() {
    let d = dataset();
    let t10 = d.today0 + 10.0 * 3600.0;
    let from = rfc3339(t10 - 60.0);
    let to = rfc3339(t10 + 3600.0);
    let args = |timeout: Option<&str>| {
        let mut a = vec!["report", "--from", &from, "--to", &to, "--json"];
        if let Some(t) = timeout {
            a.extend(["--timeout", t]);
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(total(&d.env.tf_json(args(None))), 200.0);
    assert_eq!(total(&d.env.tf_json(args(Some("10")))), 200.0);
    assert_eq!(total(&d.env.tf_json(args(Some("2")))), 20.0);
    // Whole today with a 2-minute timeout: the 60 s gaps still count.
    let r = d
        .env
        .tf_json(["report", "today", "--json", "--timeout", "2"]);
    assert_eq!(total(&r), 560.0);
    // And the default comes back afterwards (a changed timeout recomputes, caches do not leak).
    let r = d.env.tf_json(["report", "today", "--json"]);
    assert_eq!(total(&r), TODAY_TOTAL);

    let out = d.env.tf(["report", "today", "--timeout", "0"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("timeout 0"), "{}", show(&out));
}

#[test]
fn report_filters_by_project_branch_and_language() {
    let d = dataset();
    let total_of = |extra: &[&str]| {
        let mut args = vec!["report", "all", "--json", "--by", "project"];
        args.extend_from_slice(extra);
        total(&d.env.tf_json(args))
    };
    assert_eq!(total_of(&["--project", "alpha"]), 960.0);
    assert_eq!(total_of(&["--branch", "dev"]), 180.0);
    assert_eq!(total_of(&["--branch", "main"]), 1160.0);
    assert_eq!(total_of(&["--language", "Go"]), 200.0);
    assert_eq!(total_of(&["--project", "alpha", "--language", "Go"]), 0.0);
    assert_eq!(total_of(&["--project", "no-such-project"]), 0.0);
    let r = d.env.tf_json([
        "report", "today", "--json", "--by", "project", "--branch", "main",
    ]);
    assert_eq!(
        rows(&r, "project"),
        owned(&[("alpha", 360.0), ("gamma", 200.0)])
    );
}

#[test]
fn named_ranges_and_from_to_give_exact_totals() {
    let d = dataset();
    let total_of = |args: &[&str]| {
        let mut a = vec!["report", "--json"];
        a.extend_from_slice(args);
        total(&d.env.tf_json(a))
    };
    assert_eq!(total_of(&["today"]), TODAY_TOTAL);
    assert_eq!(total_of(&[]), TODAY_TOTAL, "today is the default range");
    assert_eq!(total_of(&["yesterday"]), YESTERDAY_TOTAL);
    assert_eq!(total_of(&["7d"]), TODAY_TOTAL + YESTERDAY_TOTAL);
    assert_eq!(total_of(&["all"]), TODAY_TOTAL + YESTERDAY_TOTAL);
    assert_eq!(total_of(&["30d"]), TODAY_TOTAL + YESTERDAY_TOTAL);
    assert_eq!(total_of(&["1d"]), TODAY_TOTAL, "1d is today");
    // Yesterday lies in this week or the last, this month or the last: never both, never
    // neither. Today is always in the current ones.
    for (this, last) in [("week", "last-week"), ("month", "last-month")] {
        let (a, b) = (total_of(&[this]), total_of(&[last]));
        assert_eq!(a + b, TODAY_TOTAL + YESTERDAY_TOTAL, "{this} + {last}");
        assert!(a >= TODAY_TOTAL, "{this} includes today: {a}");
    }
    let year = total_of(&["year"]);
    assert!(
        year == TODAY_TOTAL || year == TODAY_TOTAL + YESTERDAY_TOTAL,
        "year: {year}"
    );
    assert_eq!(
        total_of(&["--from", &d.today, "--to", &d.today]),
        TODAY_TOTAL
    );
    assert_eq!(
        total_of(&["--from", &d.yesterday, "--to", &d.yesterday]),
        YESTERDAY_TOTAL,
        "--to with a date includes that whole day"
    );
    assert_eq!(
        total_of(&["--from", &d.yesterday]),
        TODAY_TOTAL + YESTERDAY_TOTAL
    );
    // RFC 3339 bounds clip: the heartbeat just before --from counts for the part inside.
    let t8 = d.today0 + 8.0 * 3600.0;
    assert_eq!(
        total_of(&["--from", &rfc3339(t8 + 30.0), "--to", &rfc3339(t8 + 150.0)]),
        120.0
    );
    // The same instants written with the local offset instead of Z.
    let local = |t: f64| {
        let z = jiff::Timestamp::from_second(t as i64)
            .expect("time")
            .to_zoned_datetime(jiff::tz::TimeZone::fixed(
                jiff::tz::Offset::from_seconds(d.offset as i32).expect("offset"),
            ));
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    };
    assert_eq!(
        total_of(&["--from", &local(t8 + 30.0), "--to", &local(t8 + 150.0)]),
        120.0
    );

    let out = d.env.tf(["report", "fortnight"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("fortnight"), "{}", show(&out));
    let out = d.env.tf(["report", "--by", "mood"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("mood"), "{}", show(&out));
}

#[test]
fn report_by_day_names_rows_by_local_date() {
    let d = dataset();
    let r = d
        .env
        .tf_json(["report", "7d", "--json", "--by", "day", "--by", "project"]);
    assert_eq!(
        rows(&r, "day"),
        owned(&[(&d.yesterday, YESTERDAY_TOTAL), (&d.today, TODAY_TOTAL)]),
        "oldest day first"
    );
    for (name, _) in rows(&r, "day") {
        assert!(
            name.len() == 10 && name.as_bytes()[4] == b'-' && name.as_bytes()[7] == b'-',
            "YYYY-MM-DD: {name}"
        );
    }
    assert_eq!(row_seconds(&r, "project", "alpha"), 960.0);
}

#[test]
fn report_table_and_csv() {
    let d = dataset();
    let table = d
        .env
        .tf_ok(["report", "today", "--by", "project", "--by", "language"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{} 00:00 → {} 00:00   total 0h 12m",
            d.today,
            local_date(d.today0 + 90_000.0, d.offset)
        ),
        "{table}"
    );
    let project_header = lines
        .iter()
        .position(|l| l.starts_with("Project"))
        .unwrap_or_else(|| panic!("a Project table: {table}"));
    let alpha = lines[project_header + 1];
    assert!(alpha.starts_with("alpha"), "{table}");
    assert!(
        alpha.contains("0h 06m") && alpha.contains("48.6"),
        "{table}"
    );
    assert!(lines[project_header + 2].starts_with("gamma"), "{table}");
    assert!(lines[project_header + 2].contains("0h 03m"), "{table}");
    assert!(table.contains("Language"), "{table}");
    // Columns are aligned: the time column starts at the same place on every row.
    let col = |l: &str| l.find("0h").expect("a duration");
    assert_eq!(col(alpha), col(lines[project_header + 3]), "{table}");
    assert!(
        !table.contains('\x1b'),
        "no colour when not on a terminal: {table:?}"
    );

    let csv = d.env.tf_ok(["report", "today", "--csv", "--by", "project"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "dimension,name,seconds,percent");
    assert_eq!(lines[1], "total,,740,100");
    assert_eq!(lines[2], "project,alpha,360,48.65");
    assert_eq!(lines[3], "project,gamma,200,27.03");
    assert_eq!(lines[4], "project,beta,180,24.32");
    assert_eq!(lines.len(), 5, "{csv}");
}

#[test]
fn sessions_json_lists_runs_with_main_project_and_branch() {
    let d = dataset();
    let sessions = d.env.tf_json(["sessions", "today", "--json"]);
    let list = sessions.as_array().expect("an array");
    assert_eq!(list.len(), 2, "{sessions}");
    let t8 = d.today0 + 8.0 * 3600.0;
    let t10 = d.today0 + 10.0 * 3600.0;
    let at = |v: &Value| {
        v.as_str()
            .expect("a time string")
            .parse::<jiff::Timestamp>()
            .expect("RFC 3339")
            .as_second() as f64
    };
    let offset = local_offset_suffix(d.offset);
    for s in list {
        let mut keys: Vec<&String> = s.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["branch", "end", "project", "seconds", "start"],
            "{s}"
        );
        assert!(
            s["start"].as_str().unwrap_or_default().ends_with(&offset),
            "local time: {s}"
        );
    }
    assert_eq!(at(&list[0]["start"]), t8, "{sessions}");
    assert_eq!(at(&list[0]["end"]), t8 + 540.0, "{sessions}");
    assert_eq!(list[0]["seconds"], 540.0, "{sessions}");
    assert_eq!(list[0]["project"], "alpha", "{sessions}");
    assert_eq!(list[0]["branch"], "main", "{sessions}");
    assert_eq!(at(&list[1]["start"]), t10, "{sessions}");
    assert_eq!(list[1]["seconds"], 200.0, "{sessions}");
    assert_eq!(list[1]["project"], "gamma", "{sessions}");

    let yesterday = d.env.tf_json(["sessions", "yesterday", "--json"]);
    assert_eq!(yesterday.as_array().map(Vec::len), Some(1), "{yesterday}");
    assert_eq!(yesterday[0]["seconds"], 600.0);
    let t9 = d.yesterday0 + 9.0 * 3600.0;
    assert_eq!(at(&yesterday[0]["start"]), t9);

    let table = d.env.tf_ok(["sessions", "today"]);
    assert!(
        table.contains("alpha") && table.contains("gamma"),
        "{table}"
    );
    assert!(table.contains("2 sessions, 0h 12m"), "{table}");
}

#[test]
fn log_json_is_an_array_of_heartbeats_newest_last() {
    let d = dataset();
    let log = d.env.tf_json(["log", "today", "--json"]);
    let list = log.as_array().expect("an array");
    assert_eq!(list.len(), 14, "today's heartbeats: {log}");
    let times: Vec<f64> = list
        .iter()
        .map(|h| h["time"].as_f64().expect("time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "newest last: {times:?}"
    );
    let first = &list[0];
    assert_eq!(first["time"], d.today0 + 8.0 * 3600.0);
    assert_eq!(first["entity"], "/w/alpha/main.rs");
    assert_eq!(first["type"], "file");
    assert_eq!(first["category"], "coding");
    assert_eq!(first["project"], "alpha");
    assert_eq!(first["branch"], "main");
    assert_eq!(first["language"], "Rust");
    assert_eq!(first["is_write"], false);
    assert_eq!(
        first["source"], "manual",
        "socket clients default to manual"
    );
    let all = d.env.tf_json(["log", "all", "--json"]);
    assert_eq!(all.as_array().map(Vec::len), Some(25));

    let empty = d.env.tf_ok([
        "log",
        "--from",
        "2001-01-01",
        "--to",
        "2001-01-02",
        "--json",
    ]);
    let empty: Value = serde_json::from_str(&empty).expect("JSON even when empty");
    assert_eq!(empty, json!([]));

    let text = d.env.tf_ok(["log", "today"]);
    assert_eq!(text.lines().count(), 1 + 14, "a header and 14 rows: {text}");
    assert!(
        text.lines().last().unwrap_or_default().contains("gamma"),
        "{text}"
    );
}

/// A git repository named `name` with one commit, via git2 (no git CLI needed).
fn git_repo(dir: &Path) -> git2::Repository {
    let repo = git2::Repository::init(dir).expect("git init");
    std::fs::create_dir_all(dir.join("src")).expect("mkdir src");
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").expect("write main.rs");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("src/main.rs")).expect("git add");
    index.write().expect("write index");
    let tree_id = index.write_tree().expect("write tree");
    {
        let tree = repo.find_tree(tree_id).expect("tree");
        let sig = git2::Signature::now("Test", "test@example.com").expect("signature");
        repo.commit(Some("HEAD"), &sig, &sig, "initial", &tree, &[])
            .expect("commit");
    }
    repo
}

fn last_logged(env: &TestEnv) -> Value {
    let log = env.tf_json(["log", "all", "--json"]);
    log.as_array()
        .and_then(|l| l.last().cloned())
        .unwrap_or_else(|| panic!("no heartbeats logged: {log}"))
}

#[test]
fn tf_heartbeat_detects_project_branch_and_language_from_git() {
    let env = TestEnv::new();
    let root = env.scratch().join("myproj");
    let repo = git_repo(&root);
    let head = repo.head().expect("HEAD").peel_to_commit().expect("commit");
    repo.branch("feature/login", &head, false).expect("branch");
    repo.set_head("refs/heads/feature/login").expect("checkout");

    let t = recent_hour();
    let file = root.join("src/main.rs");
    let time = t.to_string();
    env.tf_ok([
        OsStr::new("heartbeat"),
        OsStr::new("--entity"),
        file.as_os_str(),
        OsStr::new("--time"),
        OsStr::new(&time),
        OsStr::new("--write"),
        OsStr::new("--lineno"),
        OsStr::new("12"),
    ]);
    let h = last_logged(&env);
    assert_eq!(h["entity"], file.display().to_string(), "{h}");
    assert_eq!(h["project"], "myproj", "{h}");
    assert_eq!(h["branch"], "feature/login", "{h}");
    assert_eq!(h["language"], "Rust", "{h}");
    assert_eq!(h["is_write"], true, "{h}");
    assert_eq!(h["lineno"], 12, "{h}");
    assert_eq!(h["time"], t, "{h}");
    assert_eq!(h["source"], "manual", "{h}");

    // A relative path is made absolute against the working directory; a file that does not
    // exist yet still belongs to the repository.
    let mut cmd = env.tf_cmd([
        "heartbeat",
        "--entity",
        "src/tool.py",
        "--time",
        &(t + 60.0).to_string(),
    ]);
    let out = cmd.current_dir(&root).output().expect("run tf");
    assert!(out.status.success(), "{}", show(&out));
    let h = last_logged(&env);
    assert_eq!(
        h["entity"],
        root.join("src/tool.py").display().to_string(),
        "{h}"
    );
    assert_eq!(h["language"], "Python", "{h}");
    assert_eq!(h["project"], "myproj", "{h}");

    // Detached HEAD.
    repo.set_head_detached(head.id()).expect("detach");
    let short = head.id().to_string()[..7].to_string();
    env.tf_ok([
        OsStr::new("heartbeat"),
        OsStr::new("--entity"),
        file.as_os_str(),
        OsStr::new("--time"),
        OsStr::new(&(t + 120.0).to_string()),
    ]);
    let h = last_logged(&env);
    assert_eq!(h["branch"], format!("detached:{short}"), "{h}");

    // Explicit flags win over detection.
    env.tf_ok([
        OsStr::new("heartbeat"),
        OsStr::new("--entity"),
        file.as_os_str(),
        OsStr::new("--time"),
        OsStr::new(&(t + 180.0).to_string()),
        OsStr::new("--project"),
        OsStr::new("other"),
        OsStr::new("--branch"),
        OsStr::new("b2"),
        OsStr::new("--language"),
        OsStr::new("Haskell"),
    ]);
    let h = last_logged(&env);
    assert_eq!(
        (&h["project"], &h["branch"], &h["language"]),
        (&json!("other"), &json!("b2"), &json!("Haskell")),
        "{h}"
    );

    // Outside any repository: no project, but the language is still known.
    let loose = env.scratch().join("loose.go");
    env.tf_ok([
        OsStr::new("heartbeat"),
        OsStr::new("--entity"),
        loose.as_os_str(),
        OsStr::new("--time"),
        OsStr::new(&(t + 240.0).to_string()),
    ]);
    let h = last_logged(&env);
    assert!(h.get("project").is_none_or(Value::is_null), "{h}");
    assert!(h.get("branch").is_none_or(Value::is_null), "{h}");
    assert_eq!(h["language"], "Go", "{h}");

    let r = env.tf_json([
        "report",
        "--from",
        &rfc3339(t - 1.0),
        "--to",
        &rfc3339(t + 300.0),
        "--json",
        "--by",
        "branch",
    ]);
    assert_eq!(row_seconds(&r, "branch", "feature/login"), 120.0, "{r}");
}

#[test]
fn tf_heartbeat_in_a_linked_worktree_names_the_main_repository() {
    let env = TestEnv::new();
    let root = env.scratch().join("mainrepo");
    let repo = git_repo(&root);
    let wt_path = env.scratch().join("elsewhere-wt");
    repo.worktree("wt-branch", &wt_path, None)
        .expect("git worktree add");
    let file = wt_path.join("src/main.rs");
    env.tf_ok([
        OsStr::new("heartbeat"),
        OsStr::new("--entity"),
        file.as_os_str(),
        OsStr::new("--time"),
        OsStr::new(&recent_hour().to_string()),
    ]);
    let h = last_logged(&env);
    assert_eq!(h["project"], "mainrepo", "worktrees are one project: {h}");
    assert_eq!(h["branch"], "wt-branch", "{h}");
}

#[test]
fn manual_intervals_win_over_heartbeats_without_double_counting() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let t0 = recent_hour();
    let items: Vec<_> = (0..=30)
        .map(|i| hb(t0 + f64::from(i) * 60.0, "/w/a.rs", "alpha", "Rust"))
        .collect();
    env.connect().heartbeats(&items);
    let range = [
        "--from".to_string(),
        rfc3339(t0 - 60.0),
        "--to".to_string(),
        rfc3339(t0 + 7200.0),
    ];
    let report = |env: &TestEnv| {
        let mut args: Vec<String> = ["report", "--json", "--by", "project"]
            .into_iter()
            .map(String::from)
            .collect();
        args.extend(range.iter().cloned());
        env.tf_json(args)
    };
    assert_eq!(total(&report(&env)), 1800.0);

    let out = env.tf_ok([
        "add",
        "--project",
        "meeting",
        "--from",
        &rfc3339(t0 + 600.0),
        "--to",
        &rfc3339(t0 + 1200.0),
        "--note",
        "standup",
    ]);
    assert!(out.starts_with("added interval #"), "{out}");
    assert!(out.contains("meeting 0h 10m"), "{out}");
    let r = report(&env);
    assert_eq!(total(&r), 1800.0, "no double count: {r}");
    assert_eq!(row_seconds(&r, "project", "alpha"), 1200.0, "{r}");
    assert_eq!(row_seconds(&r, "project", "meeting"), 600.0, "{r}");

    // An interval where there are no heartbeats counts as given; one straddling the end of
    // the heartbeats counts whole, and the heartbeat time under it is not counted twice.
    env.tf_ok([
        "add",
        "--project",
        "review",
        "--from",
        &rfc3339(t0 + 1500.0),
        "--to",
        &rfc3339(t0 + 2400.0),
    ]);
    let r = report(&env);
    assert_eq!(row_seconds(&r, "project", "review"), 900.0, "{r}");
    assert_eq!(row_seconds(&r, "project", "alpha"), 900.0, "{r}");
    assert_eq!(total(&r), 2400.0, "{r}");

    // Adding the same interval again changes nothing.
    env.tf_ok([
        "add",
        "--project",
        "review",
        "--from",
        &rfc3339(t0 + 1500.0),
        "--to",
        &rfc3339(t0 + 2400.0),
    ]);
    assert_eq!(total(&report(&env)), 2400.0);

    let log = env.tf_ok(["log", "all"]);
    assert!(log.contains("meeting") && log.contains("standup"), "{log}");

    let out = env.tf([
        "add",
        "--project",
        "x",
        "--from",
        &rfc3339(t0 + 100.0),
        "--to",
        &rfc3339(t0),
    ]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("--to"), "{}", show(&out));
}

/// Heartbeats with every field set, over two days (yesterday 02:00–10:03 and today 02:00–02:25
/// local, in a zone where it is now 12:xx), plus an interval.
fn rich_data(env: &mut TestEnv, offset: i64) -> f64 {
    env.start_daemon();
    let t0 = local_midnight(now_secs(), offset) - 86_400.0 + 2.0 * 3600.0;
    let mut items = Vec::new();
    for i in 0..300 {
        let t = t0 + f64::from(i) * 97.0 + f64::from(i % 7) * 0.125;
        let project = ["alpha", "beta", "with,comma"][i as usize % 3];
        let mut h = hb(
            t,
            &format!("/w/{project}/f{}.rs", i % 5),
            project,
            ["Rust", "Go"][i as usize % 2],
        );
        h["branch"] = json!(["main", "dev"][i as usize % 2]);
        h["category"] = json!(["coding", "debugging", "writing tests"][i as usize % 3]);
        h["is_write"] = json!(i % 4 == 0);
        h["lines"] = json!(100 + i);
        h["lineno"] = json!(i);
        h["cursorpos"] = json!(i * 3);
        h["machine"] = json!("box");
        h["editor"] = json!("vim");
        h["os"] = json!("linux");
        h["user_agent"] = json!("wakatime/1.0 vim");
        h["dependencies"] = json!(["serde", "tokio"]);
        h["meta"] = json!({"ticket": format!("T-{i}")});
        items.push(h);
    }
    // Same time, another entity: both are kept (the dedup key includes the entity).
    items.push(hb(t0, "/w/other.md", "alpha", "Markdown"));
    // The day after, through a different source.
    let r = env.connect().request(json!({"v": 1, "type": "heartbeats", "source": "editor",
        "heartbeats": (0..50).map(|i| hb(t0 + 86_400.0 + f64::from(i) * 30.0, "/w/e.py", "beta", "Python")).collect::<Vec<_>>()}));
    assert_eq!(r["accepted"], 50, "{r}");
    let r = env.connect().heartbeats(&items);
    assert_eq!(r["accepted"], 301, "{r}");
    env.tf_ok([
        "add",
        "--project",
        "meeting",
        "--from",
        &rfc3339(t0 + 600.0),
        "--to",
        &rfc3339(t0 + 1800.0),
        "--note",
        "planning, \"Q3\"",
    ]);
    t0
}

fn report_args(from: &str, to: &str) -> Vec<String> {
    [
        "report", "--json", "--by", "project", "--by", "language", "--by", "day", "--by",
        "category", "--by", "source", "--from", from, "--to", to,
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

#[test]
fn export_then_import_into_a_fresh_instance_gives_identical_reports() {
    let (tz, offset) = noon_zone();
    let mut a = TestEnv::with_tz(&tz);
    let t0 = rich_data(&mut a, offset);
    let export = a.scratch().join("export.jsonl");
    a.tf_ok([
        OsStr::new("export"),
        OsStr::new("all"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("-o"),
        export.as_os_str(),
    ]);
    let stdout_export = a.tf_ok(["export", "all", "--format", "json"]);
    assert_eq!(
        std::fs::read_to_string(&export).expect("read the export"),
        stdout_export,
        "-o writes what stdout gets"
    );
    assert_eq!(
        stdout_export.lines().count(),
        351 + 1,
        "351 heartbeats and 1 interval"
    );

    let b = TestEnv::with_tz(&tz);
    let out = b.tf([OsStr::new("import"), export.as_os_str()]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out)
            .contains("imported 351 heartbeats (0 already present, 0 rejected), 1 intervals"),
        "{}",
        show(&out)
    );

    let from = local_date(t0 - 86_400.0, offset);
    let to = local_date(t0 + 3.0 * 86_400.0, offset);
    let ra = a.tf_ok(report_args(&from, &to));
    let rb = b.tf_ok(report_args(&from, &to));
    assert_eq!(ra, rb, "identical reports");
    let report: Value = serde_json::from_str(&ra).expect("JSON");
    assert!(total(&report) > 0.0, "{ra}");
    assert_eq!(rows(&report, "day").len(), 2, "{ra}");
    // 50 heartbeats 30 s apart sent with the request-level source "editor".
    assert_eq!(row_seconds(&report, "source", "editor"), 1470.0, "{ra}");
    assert_eq!(
        total(&report),
        row_seconds(&report, "source", "editor") + row_seconds(&report, "source", "manual"),
        "{ra}"
    );
    assert_eq!(
        a.tf_ok(["log", "all", "--json"]),
        b.tf_ok(["log", "all", "--json"]),
        "every field survives the round trip"
    );
    assert_eq!(
        a.tf_ok(["sessions", "all", "--json"]),
        b.tf_ok(["sessions", "all", "--json"])
    );

    // Importing again adds nothing.
    let out = b.tf([OsStr::new("import"), export.as_os_str()]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out).contains("imported 0 heartbeats (351 already present, 0 rejected)"),
        "{}",
        show(&out)
    );
    assert_eq!(
        b.tf_ok(report_args(&from, &to)),
        ra,
        "re-import changed the report"
    );
    let status = b.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 351, "{status}");
}

#[test]
fn export_csv_has_a_header_and_quotes_fields() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let t = recent_hour() + 0.5;
    let mut h = hb(t, "/w/a,\"b\".rs", "p,q", "Rust");
    h["branch"] = json!("main");
    h["is_write"] = json!(true);
    h["lines"] = json!(10);
    h["lineno"] = json!(3);
    h["machine"] = json!("box");
    h["editor"] = json!("vim");
    h["os"] = json!("linux");
    h["user_agent"] = json!("ua \"x\"");
    h["dependencies"] = json!(["d1", "d2"]);
    h["category"] = json!("writing tests");
    env.connect()
        .heartbeats(&[h, hb(t + 1.0, "/w/plain.rs", "plain", "Rust")]);
    let csv = env.tf_ok(["export", "all", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "time,entity,type,category,project,branch,language,is_write,lines,lineno,cursorpos,machine,editor,os,user_agent,source,dependencies,actor,ai_line_changes,human_line_changes,ai_session,ai_input_tokens,ai_output_tokens,ai_model"
    );
    assert_eq!(
        lines[1],
        format!(
            "{t:.3},\"/w/a,\"\"b\"\".rs\",file,writing tests,\"p,q\",main,Rust,true,10,3,,box,vim,linux,\"ua \"\"x\"\"\",manual,d1;d2,,,,,,,"
        )
    );
    assert!(
        lines[2].starts_with(&format!(
            "{:.3},/w/plain.rs,file,coding,plain,,Rust,false,",
            t + 1.0
        )),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
}

#[test]
fn import_accepts_a_json_array_json_lines_and_stdin() {
    let env = TestEnv::new();
    let t = recent_hour();
    let array = env.scratch().join("a.json");
    let items: Vec<Value> = (0..5)
        .map(|i| hb(t + f64::from(i) * 60.0, "/w/a.rs", "arr", "Rust"))
        .collect();
    std::fs::write(&array, serde_json::to_string(&items).expect("JSON")).expect("write");
    let out = env.tf([OsStr::new("import"), array.as_os_str()]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out).contains("imported 5 heartbeats"),
        "{}",
        show(&out)
    );

    let lines = env.scratch().join("b.jsonl");
    let text: String = (0..4)
        .map(|i| {
            hb(t + 3600.0 + f64::from(i) * 60.0, "/w/b.rs", "lines", "Rust").to_string() + "\r\n"
        })
        .collect();
    std::fs::write(&lines, text).expect("write");
    let out = env.tf([OsStr::new("import"), lines.as_os_str()]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out).contains("imported 4 heartbeats"),
        "{}",
        show(&out)
    );

    let mut child = env
        .tf_cmd(["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tf import -");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        for i in 0..3 {
            writeln!(
                stdin,
                "{}",
                hb(t + 7200.0 + f64::from(i) * 60.0, "/w/c.rs", "stdin", "Rust")
            )
            .expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("wait for tf import -");
    assert!(out.status.success(), "{}", show(&out));

    let r = env.tf_json(["report", "all", "--json", "--by", "project"]);
    assert_eq!(row_seconds(&r, "project", "arr"), 240.0, "{r}");
    assert_eq!(row_seconds(&r, "project", "lines"), 180.0, "{r}");
    assert_eq!(row_seconds(&r, "project", "stdin"), 120.0, "{r}");
    let log = env.tf_json(["log", "all", "--json"]);
    assert!(
        log.as_array()
            .expect("array")
            .iter()
            .all(|h| h["source"] == "import"),
        "imported heartbeats are marked source=import: {log}"
    );
}

#[test]
fn import_of_a_row_with_invalid_utf8_keeps_the_good_rows() {
    let env = TestEnv::new();
    let t = recent_hour();
    let file = env.scratch().join("latin1.jsonl");
    let mut bytes = Vec::new();
    bytes.extend(hb(t, "/w/a.rs", "utf", "Rust").to_string().as_bytes());
    bytes.extend(b"\n{\"time\": 1, \"entity\": \"/w/caf\xe9.rs\"}\n");
    bytes.extend(
        hb(t + 60.0, "/w/a.rs", "utf", "Rust")
            .to_string()
            .as_bytes(),
    );
    bytes.push(b'\n');
    std::fs::write(&file, bytes).expect("write");
    let out = env.tf([OsStr::new("import"), file.as_os_str()]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:2: ", file.display())),
        "{}",
        show(&out)
    );
    assert!(err.contains("UTF-8"), "{}", show(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad row, not a failed import: {}",
        show(&out)
    );
    assert!(err.contains("imported 2 heartbeats"), "{}", show(&out));
}

#[test]
fn config_show_and_path() {
    let mut env = TestEnv::new();
    let paths = env.tf_ok(["config", "path"]);
    let base = env.base.display().to_string();
    assert!(
        paths.contains(&format!("config    {base}/config.toml")),
        "{paths}"
    );
    assert!(
        paths.contains(&format!("database  {base}/timeforged.db")),
        "{paths}"
    );
    assert!(
        paths.contains(&format!("socket    {base}/tf.sock")),
        "{paths}"
    );
    assert!(
        paths.contains(&format!("log       {base}/timeforged.log")),
        "{paths}"
    );
    assert!(
        !env.socket().exists(),
        "config path does not start the daemon"
    );

    let shown = env.tf_ok(["config", "show"]);
    assert!(shown.contains("[durations]"), "{shown}");
    assert!(shown.contains("timeout_minutes = 15"), "{shown}");
    assert!(shown.contains("autostart = true"), "{shown}");

    // The file, then the environment on top.
    std::fs::create_dir_all(&env.base).expect("mkdir");
    std::fs::write(
        env.base.join("config.toml"),
        "[durations]\ntimeout_minutes = 20\n\n[report]\nweek_start = \"sunday\"\n",
    )
    .expect("write config.toml");
    let shown = env.tf_ok(["config", "show"]);
    assert!(shown.contains("timeout_minutes = 20"), "{shown}");
    assert!(shown.contains("week_start = \"sunday\""), "{shown}");
    env.set_env("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "30");
    let shown = env.tf_ok(["config", "show"]);
    assert!(shown.contains("timeout_minutes = 30"), "{shown}");
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(
        status["timeout_minutes"], 30.0,
        "the daemon uses it too: {status}"
    );
}

#[test]
fn an_invalid_config_file_names_the_line_and_key() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.base).expect("mkdir");
    let file = env.base.join("config.toml");
    std::fs::write(
        &file,
        "[daemon]\nautostart = true\n\n[durations]\ntimeout_minutes = \"soon\"\n",
    )
    .expect("write config.toml");
    let out = env.tf(["status"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&file.display().to_string()),
        "names the file: {}",
        show(&out)
    );
    assert!(err.contains('5'), "names the line: {}", show(&out));
    assert!(
        err.contains("timeout_minutes"),
        "names the key: {}",
        show(&out)
    );
    assert!(!env.socket().exists(), "no daemon started on a bad config");

    std::fs::write(&file, "[durations]\ntimeout_minutez = 3\n").expect("write config.toml");
    let out = env.tf(["config", "show"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("timeout_minutez"), "{}", show(&out));
}

#[test]
fn output_off_a_terminal_or_with_no_color_has_no_escape_codes() {
    let d = dataset();
    for args in [
        vec!["status"],
        vec!["report", "today", "--by", "project"],
        vec!["sessions", "today"],
        vec!["log", "today"],
    ] {
        let out = d.env.tf(&args);
        assert!(out.status.success(), "{args:?}: {}", show(&out));
        assert!(
            !out.stdout.contains(&0x1b),
            "{args:?} piped: {}",
            show(&out)
        );
        assert!(
            !out.stderr.contains(&0x1b),
            "{args:?} piped: {}",
            show(&out)
        );
    }

    // On a real terminal: colour, unless NO_COLOR is set.
    let Some(coloured) = run_on_pty(&d.env, &["report", "today"], None) else {
        skip("cannot open a pseudo-terminal here");
        return;
    };
    assert!(
        coloured.contains('\x1b'),
        "colour on a terminal: {coloured:?}"
    );
    let plain = run_on_pty(&d.env, &["report", "today"], Some("1")).expect("a pty");
    assert!(
        !plain.contains('\x1b'),
        "NO_COLOR=1 on a terminal: {plain:?}"
    );
    assert!(plain.contains("alpha"), "{plain:?}");
}

/// Runs `tf` with stdout on a pseudo-terminal and returns what it printed there.
fn run_on_pty(env: &TestEnv, args: &[&str], no_color: Option<&str>) -> Option<String> {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two fds into the given pointers; the other arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: openpty succeeded, so both are open fds that we now own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = env.tf_cmd(args);
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let status = cmd
        .stdout(std::fs::File::from(slave))
        .status()
        .expect("run tf on a pty");
    // The command still holds our copy of the slave side; without closing it, reading the
    // master would never see the end.
    drop(cmd);
    assert!(status.success(), "tf {args:?} on a pty: {status}");
    // The child has exited and no slave is open: reading ends with EIO.
    let mut text = Vec::new();
    let mut master = std::fs::File::from(master);
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + common::DEADLINE;
    loop {
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&master),
            events: libc::POLLIN,
            revents: 0,
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as libc::c_int) };
        assert!(
            ready != 0,
            "the pty never reached its end: {:?}",
            String::from_utf8_lossy(&text)
        );
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&text).into_owned())
}

#[test]
fn durations_split_at_local_midnight_including_dst_days() {
    if !Path::new("/usr/share/zoneinfo/Europe/Berlin").exists() {
        skip("no tz database entry for Europe/Berlin (/usr/share/zoneinfo)");
        return;
    }
    let mut env = TestEnv::with_tz("Europe/Berlin");
    env.start_daemon();
    let mut c = env.connect();
    // Every 10 minutes (timeout 15) from 22:00 the day before each DST change to 02:00 after.
    let at = |s: &str| s.parse::<jiff::Timestamp>().expect("RFC 3339").as_second() as f64;
    for (from, to) in [
        ("2026-03-28T22:00:00+01:00", "2026-03-30T02:00:00+02:00"),
        ("2026-10-24T22:00:00+02:00", "2026-10-26T02:00:00+01:00"),
    ] {
        let (a, b) = (at(from), at(to));
        let items: Vec<Value> = (0..)
            .map(|i| a + f64::from(i) * 600.0)
            .take_while(|t| *t <= b)
            .map(|t| hb(t, "/w/dst.rs", "dst", "Rust"))
            .collect();
        let r = c.heartbeats(&items);
        assert_eq!(r["accepted"], items.len(), "{r}");
    }
    let r = env.tf_json([
        "report",
        "--from",
        "2026-03-28",
        "--to",
        "2026-03-30",
        "--json",
        "--by",
        "day",
    ]);
    assert_eq!(
        rows(&r, "day"),
        owned(&[
            ("2026-03-28", 7200.0),
            ("2026-03-29", 82_800.0),
            ("2026-03-30", 7200.0)
        ]),
        "the spring-forward day has 23 hours: {r}"
    );
    assert_eq!(total(&r), 97_200.0);
    let r = env.tf_json([
        "report",
        "--from",
        "2026-10-24",
        "--to",
        "2026-10-26",
        "--json",
        "--by",
        "day",
    ]);
    assert_eq!(
        rows(&r, "day"),
        owned(&[
            ("2026-10-24", 7200.0),
            ("2026-10-25", 90_000.0),
            ("2026-10-26", 7200.0)
        ]),
        "the fall-back day has 25 hours: {r}"
    );
    let r = env.tf_json([
        "report",
        "--from",
        "2026-03-29",
        "--to",
        "2026-03-29",
        "--json",
    ]);
    assert_eq!(total(&r), 82_800.0, "one whole day");
}

#[test]
fn wakapi_preset_drops_gaps_across_midnight() {
    let day = "2026-06-10T23:55:30Z"
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_second() as f64;
    let items: Vec<Value> = (0..10)
        .map(|i| hb(day + f64::from(i) * 60.0, "/w/m.rs", "midnight", "Rust"))
        .collect();
    let report = |env: &TestEnv| {
        env.tf_json([
            "report",
            "--from",
            "2026-06-10",
            "--to",
            "2026-06-11",
            "--json",
            "--by",
            "day",
        ])
    };
    let mut split = TestEnv::new();
    split.start_daemon();
    split.connect().heartbeats(&items);
    let r = report(&split);
    assert_eq!(total(&r), 540.0, "{r}");
    assert_eq!(
        rows(&r, "day"),
        owned(&[("2026-06-10", 270.0), ("2026-06-11", 270.0)]),
        "split at midnight: {r}"
    );

    let mut wakapi = TestEnv::new();
    wakapi.set_env("TIMEFORGED_DURATIONS__PRESET", "wakapi");
    wakapi.start_daemon();
    wakapi.connect().heartbeats(&items);
    let r = report(&wakapi);
    assert_eq!(total(&r), 480.0, "the crossing gap is dropped: {r}");
    assert_eq!(
        rows(&r, "day"),
        owned(&[("2026-06-10", 240.0), ("2026-06-11", 240.0)]),
        "{r}"
    );
}

#[test]
fn status_shows_today_and_the_current_project() {
    let d = dataset();
    let s = d.env.tf_json(["status", "--json"]);
    assert_eq!(s["today_seconds"], TODAY_TOTAL, "{s}");
    assert_eq!(s["heartbeats"], 25, "{s}");
    assert_eq!(
        s["current"]["project"], "gamma",
        "the latest heartbeat: {s}"
    );
    assert_eq!(s["current"]["branch"], "main", "{s}");
    assert_eq!(s["current"]["active"], false, "two hours old: {s}");
    let text = d.env.tf_ok(["status"]);
    assert!(text.contains("today      0h 12m"), "{text}");
    assert!(text.contains("gamma"), "{text}");

    // A fresh heartbeat makes it active.
    let mut c: Conn = d.env.connect();
    c.heartbeats(&[hb(now_secs() - 5.0, "/w/now.rs", "now", "Rust")]);
    let s = d.env.tf_json(["status", "--json"]);
    assert_eq!(s["current"]["project"], "now", "{s}");
    assert_eq!(s["current"]["active"], true, "{s}");
}

#[test]
fn import_of_a_file_larger_than_a_request_line_is_sent_in_batches() {
    let env = TestEnv::new();
    let t = recent_hour() - 86_400.0;
    let file = env.scratch().join("big.jsonl");
    let mut text = String::new();
    for i in 0..3000 {
        // ~2 KB per row: 6 MB in all, well over the daemon's 4 MiB line limit.
        let entity = format!("/w/{i:05}/{}", "x".repeat(2000));
        text.push_str(&hb(t + f64::from(i), &entity, "big", "Rust").to_string());
        text.push('\n');
        if i == 1500 {
            // One row bigger than any batch may be: refused alone, by its line.
            let huge = format!("/w/{}", "h".repeat(3 * 1024 * 1024));
            text.push_str(&hb(t + 0.5, &huge, "big", "Rust").to_string());
            text.push('\n');
        }
    }
    assert!(text.len() > 6_000_000);
    std::fs::write(&file, &text).expect("write the import file");
    let out = env.tf([OsStr::new("import"), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:1502: ", file.display())),
        "the huge row is reported by its line: {err}"
    );
    assert!(err.contains("imported 3000 heartbeats"), "{err}");
    let status = env.tf_json(["status", "--json"]);
    assert_eq!(status["heartbeats"], 3000, "{status}");
}

#[test]
fn tf_heartbeat_for_non_file_entities_keeps_them_verbatim() {
    let env = TestEnv::new();
    let t = recent_hour();
    let cases = [
        ("domain", "github.com", "browsing"),
        ("url", "https://docs.rs/serde", "browsing"),
        ("command", "cargo build", "coding"),
        ("app", "Slack", "coding"),
    ];
    for (i, (kind, entity, category)) in cases.into_iter().enumerate() {
        let time = (t + i as f64).to_string();
        env.tf_ok([
            "heartbeat",
            "--type",
            kind,
            "--entity",
            entity,
            "--time",
            &time,
        ]);
        let h = last_logged(&env);
        assert_eq!(h["entity"], entity, "{h}");
        assert_eq!(h["type"], kind, "{h}");
        assert_eq!(h["category"], category, "{h}");
        assert!(h.get("project").is_none_or(Value::is_null), "{h}");
    }
    let out = env.tf(["heartbeat", "--type", "printer", "--entity", "x"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("--type"), "{}", show(&out));
}

#[test]
fn tf_log_into_a_closed_pipe_is_not_an_error() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let t = recent_hour() - 86_400.0;
    let items: Vec<Value> = (0..20_000)
        .map(|i| hb(t + f64::from(i), "/w/pipe.rs", "pipe", "Rust"))
        .collect();
    for chunk in items.chunks(5000) {
        env.connect().heartbeats(chunk);
    }
    let mut child = env
        .tf_cmd(["log", "all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tf log");
    {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let (mut header, mut first) = (String::new(), String::new());
        reader.read_line(&mut header).expect("read the header");
        reader.read_line(&mut first).expect("read a line");
        assert!(header.starts_with("time "), "{header}");
        assert!(first.contains("pipe"), "{first}");
        // Dropping the reader closes the pipe, like `tf log | head -1`.
    }
    let out = child.wait_with_output().expect("wait for tf log");
    assert!(
        out.status.success(),
        "broken pipe is success: {}",
        show(&out)
    );
    assert!(out.stderr.is_empty(), "and silent: {}", show(&out));
    assert_eq!(env.connect().count(), 20_000, "the daemon is still serving");
}

#[test]
fn manual_intervals_split_at_midnight_and_clip_to_the_range() {
    let env = TestEnv::new();
    let out = env.tf_ok([
        "add",
        "--project",
        "night",
        "--from",
        "2026-06-10T23:30:00Z",
        "--to",
        "2026-06-11T00:30:00Z",
    ]);
    assert!(out.contains("night 1h 00m"), "{out}");
    let r = env.tf_json([
        "report",
        "--from",
        "2026-06-10",
        "--to",
        "2026-06-11",
        "--json",
        "--by",
        "day",
    ]);
    assert_eq!(
        rows(&r, "day"),
        owned(&[("2026-06-10", 1800.0), ("2026-06-11", 1800.0)]),
        "{r}"
    );
    let r = env.tf_json([
        "report",
        "--from",
        "2026-06-11T00:00:00Z",
        "--to",
        "2026-06-11T00:10:00Z",
        "--json",
    ]);
    assert_eq!(total(&r), 600.0, "clipped to the range: {r}");
    let s = env.tf_json([
        "sessions",
        "--from",
        "2026-06-10",
        "--to",
        "2026-06-11",
        "--json",
    ]);
    assert_eq!(s.as_array().map(Vec::len), Some(1), "{s}");
    assert_eq!(s[0]["seconds"], 3600.0, "{s}");
    assert_eq!(s[0]["project"], "night", "{s}");
}

/// A command that must fail with exit status 2 and a message naming `names` (each).
fn fails_naming(env: &TestEnv, args: &[&str], names: &[&str]) -> String {
    let out = env.tf(args);
    assert_eq!(out.status.code(), Some(2), "tf {args:?}: {}", show(&out));
    let err = stderr(&out);
    for n in names {
        assert!(err.contains(n), "tf {args:?} names {n:?}: {err}");
    }
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", show(&out));
    err
}

#[test]
fn report_json_and_csv_group_by_project_by_default() {
    let d = dataset();
    let r = d.env.tf_json(["report", "today", "--json"]);
    assert_eq!(
        rows(&r, "project"),
        owned(&[("alpha", 360.0), ("gamma", 200.0), ("beta", 180.0)]),
        "README: --by defaults to project: {r}"
    );
    let keys: Vec<&String> = r["by"].as_object().expect("by").keys().collect();
    assert_eq!(keys, ["project"], "{r}");
    let csv = d.env.tf_ok(["report", "today", "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "dimension,name,seconds,percent",
            "total,,740,100",
            "project,alpha,360,48.65",
            "project,gamma,200,27.03",
            "project,beta,180,24.32"
        ],
        "{csv}"
    );
    // Comma-separated and repeated --by, in the order given, duplicates once.
    let text = d.env.tf_ok([
        "report",
        "today",
        "--json",
        "--by",
        "language,branch",
        "--by",
        "branch",
    ]);
    let r: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(r["by"].as_object().map(|o| o.len()), Some(2), "{text}");
    let at = |k: &str| text.find(&format!("\"{k}\": [")).expect(k);
    assert!(at("language") < at("branch"), "{text}");
}

#[test]
fn every_time_and_range_argument_takes_the_one_grammar() {
    let d = dataset();
    let total_of = |args: &[&str]| {
        let mut a = vec!["report", "--json"];
        a.extend_from_slice(args);
        total(&d.env.tf_json(a))
    };
    let today = d.today.as_str();
    // A bare date or month is a range.
    assert_eq!(total_of(&[today]), TODAY_TOTAL);
    assert_eq!(total_of(&[&d.yesterday]), YESTERDAY_TOTAL);
    let month = &today[..7];
    assert!(total_of(&[month]) >= TODAY_TOTAL, "{month}");
    // Wall-clock times, today and in full; `T` or a space.
    assert_eq!(total_of(&["--from", "08:00", "--to", "08:05"]), 300.0);
    assert_eq!(total_of(&["--from", "8:00:30", "--to", "08:05:00"]), 270.0);
    let (from, to) = (format!("{today} 08:00"), format!("{today}T08:05"));
    assert_eq!(total_of(&["--from", &from, "--to", &to]), 300.0);
    // Unix seconds.
    let t8 = d.today0 + 8.0 * 3600.0;
    let (a, b) = ((t8 as i64).to_string(), (t8 as i64 + 300).to_string());
    assert_eq!(total_of(&["--from", &a, "--to", &b]), 300.0);
    // Day words, relative times and now (it is 12:xx here; the data ends before 10:04).
    assert_eq!(
        total_of(&["--from", "yesterday", "--to", "yesterday"]),
        YESTERDAY_TOTAL
    );
    assert_eq!(total_of(&["--from", "today"]), TODAY_TOTAL);
    assert_eq!(total_of(&["--from", "5h ago", "--to", "now"]), TODAY_TOTAL);
    assert_eq!(total_of(&["--from", "-5h", "--to", "now"]), TODAY_TOTAL);
    assert_eq!(total_of(&["--from=-5h", "--to", "-1h"]), TODAY_TOTAL);
    assert_eq!(total_of(&["--to", "yesterday"]), YESTERDAY_TOTAL);
    // The other commands read the same forms.
    let s = d
        .env
        .tf_json(["sessions", "--from", "07:00", "--to", "09:00", "--json"]);
    assert_eq!(s.as_array().map(Vec::len), Some(1), "{s}");
    assert_eq!(s[0]["project"], "alpha", "{s}");
    let log = d
        .env
        .tf_json(["log", "--from", "10:00", "--to", "10:01", "--json"]);
    assert_eq!(
        log.as_array().map(Vec::len),
        Some(2),
        "10:00:00 and 10:00:10: {log}"
    );
    let exported = d.env.tf_ok(["export", today, "--format", "json"]);
    assert_eq!(exported.lines().count(), 14, "{exported}");
}

#[test]
fn bad_times_and_ranges_name_the_argument_and_show_the_grammar() {
    let env = TestEnv::new();
    let grammar = ["HH:MM[:SS]", "RFC 3339", "90m ago"];
    let cases: [(&[&str], &str); 12] = [
        (&["report", "--from", "25:00"], "--from"),
        (&["report", "--to", "half past nine"], "--to"),
        (&["report", "--from", "2026-02-30"], "not a valid date"),
        (&["report", "--from", "2026"], "too small for unix seconds"),
        (&["report", "--from", "2h"], "needs a minus or `ago`"),
        (&["sessions", "--from", "soon"], "--from"),
        (&["log", "--to", "12:99"], "--to"),
        (&["export", "--from", "x", "--format", "csv"], "--from"),
        (
            &["add", "--project", "p", "--from", "9.30", "--to", "10:00"],
            "--from",
        ),
        (
            &["add", "--project", "p", "--from", "09:30", "--to", "later"],
            "--to",
        ),
        (
            &["heartbeat", "--entity", "x", "--time", "noonish"],
            "--time",
        ),
        (&["branches", "--from", "then"], "--from"),
    ];
    for (args, name) in cases {
        let mut names = vec![name];
        names.extend(grammar);
        fails_naming(&env, args, &names);
    }
    for range in ["fortnight", "2026-13", "0d", "7days"] {
        fails_naming(
            &env,
            &["report", range],
            &["RANGE", range, "YYYY-MM-DD (that day)", "last-week"],
        );
    }
    fails_naming(
        &env,
        &["report", "2026-12-01", "--from", "09:00"],
        &["--from", "cannot be used with"],
    );
    fails_naming(
        &env,
        &["report", "--by", "mood"],
        &["--by", "mood", "project, language"],
    );
    fails_naming(&env, &["report", "--by", ","], &["--by", "empty"]);
    assert!(
        !env.socket().exists(),
        "bad arguments fail before the daemon is started"
    );
    // A range that is well formed but empty is the daemon's to refuse, naming both ends.
    let err = fails_naming(
        &env,
        &["report", "--from", "2026-11-05", "--to", "2026-11-01"],
        &["not before"],
    );
    assert!(err.contains("--to 2026-11-01"), "{err}");
}

/// A POSIX `TZ` for a fixed offset of `hours` east of UTC.
fn fixed_zone(hours: i64) -> String {
    match hours >= 0 {
        true => format!("<+{hours:02}>-{hours}"),
        false => format!("<-{:02}>{}", -hours, -hours),
    }
}

#[test]
fn tf_add_and_heartbeat_read_wall_clock_times_in_the_daemons_zone() {
    let (tz, offset) = noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    // The caller's zone is 5 hours off the daemon's: it must not matter.
    let other = fixed_zone((offset / 3600 + 5 + 12).rem_euclid(24) - 12);
    let tf = |args: &[&str]| {
        let out = env.tf_cmd(args).env("TZ", &other).output().expect("run tf");
        assert!(out.status.success(), "tf {args:?}: {}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let today0 = local_midnight(now_secs(), offset);

    let out = tf(&[
        "add",
        "--project",
        "standup",
        "--from",
        "09:30",
        "--to",
        "09:45",
    ]);
    let today = local_date(now_secs(), offset);
    assert!(
        out.contains(&format!("standup 0h 15m ({today} 09:30 → 09:45)")),
        "printed in the daemon's zone: {out}"
    );
    tf(&[
        "heartbeat",
        "--entity",
        "/w/z.rs",
        "--project",
        "zone",
        "--time",
        "10:00",
    ]);
    tf(&[
        "heartbeat",
        "--entity",
        "/w/z.rs",
        "--project",
        "zone",
        "--time",
        &format!("{today} 10:01"),
    ]);
    tf(&[
        "heartbeat",
        "--entity",
        "/w/z.rs",
        "--project",
        "zone",
        "--time",
        "-30s",
    ]);
    let log = env.tf_json(["log", "today", "--json"]);
    let times: Vec<f64> = log
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|h| h["time"].as_f64())
        .collect();
    assert_eq!(&times[..2], [today0 + 36_000.0, today0 + 36_060.0], "{log}");
    assert!((now_secs() - 30.0 - times[2]).abs() < 10.0, "{log}");

    // Reports agree, whoever asks.
    let r = env.tf_json(["report", "--from", "09:00", "--to", "11:00", "--json"]);
    assert_eq!(row_seconds(&r, "project", "standup"), 900.0, "{r}");
    assert_eq!(row_seconds(&r, "project", "zone"), 60.0, "{r}");

    // The times' own rules still apply, naming the argument.
    let out = env
        .tf_cmd(["add", "--project", "x", "--from", "10:00", "--to", "09:00"])
        .output()
        .expect("tf");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("--to"), "{}", show(&out));
    let out = env.tf(["heartbeat", "--entity", "x", "--time", "in 3 hours"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[test]
fn log_shows_intervals_in_json_and_aligned_text_and_says_when_empty() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let t0 = recent_hour();
    let mut items = vec![
        hb(t0, "/w/a.rs", "alpha", "Rust"),
        hb(
            t0 + 1200.0,
            "/w/some/much/longer/path.py",
            "a-longer-project",
            "Python",
        ),
    ];
    items[1]["branch"] = json!("feature/TF-12");
    env.connect().heartbeats(&items);
    env.tf_ok([
        "add",
        "--project",
        "standup",
        "--from",
        &rfc3339(t0 + 600.0),
        "--to",
        &rfc3339(t0 + 900.0),
        "--note",
        "daily",
    ]);
    let log = env.tf_json(["log", "all", "--json"]);
    let list = log.as_array().expect("an array");
    assert_eq!(list.len(), 3, "{log}");
    assert_eq!(list[0]["entity"], "/w/a.rs", "{log}");
    let iv = &list[1]["interval"];
    assert_eq!(iv["project"], "standup", "in time order: {log}");
    assert_eq!(iv["start"], t0 + 600.0, "{log}");
    assert_eq!(iv["end"], t0 + 900.0, "{log}");
    assert_eq!(iv["note"], "daily", "{log}");
    assert!(iv["id"].as_i64().is_some(), "{log}");
    assert_eq!(list[2]["project"], "a-longer-project", "{log}");

    let text = env.tf_ok(["log", "all"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("time ") && lines[0].ends_with("  entity"),
        "{text}"
    );
    for col in [
        "type", "category", "source", "project", "branch", "language",
    ] {
        let at = lines[0]
            .find(col)
            .unwrap_or_else(|| panic!("{col}: {text}"));
        for l in &lines[1..] {
            let before = l.get(..at).unwrap_or_default();
            assert!(
                before.ends_with("  ") && l.as_bytes().get(at) != Some(&b' '),
                "column {col} starts at {at} on every row:\n{text}"
            );
        }
    }
    assert!(
        lines[2].contains("interval") && lines[2].contains("standup"),
        "{text}"
    );
    assert!(lines[2].contains("(0h 05m) · daily"), "{text}");
    assert!(lines[3].contains("feature/TF-12"), "{text}");

    let empty = env.tf_ok(["log", "--from", "2001-01-01", "--to", "2001-01-02"]);
    assert_eq!(empty, "no heartbeats or intervals in this range\n");
    let empty = env.tf_json([
        "log",
        "--from",
        "2001-01-01",
        "--to",
        "2001-01-02",
        "--json",
    ]);
    assert_eq!(empty, json!([]));
}

#[test]
fn tf_dash_off_a_terminal_says_it_needs_one() {
    let env = TestEnv::new();
    let err = fails_naming(&env, &["dash"], &["tf dash needs a terminal"]);
    assert!(!err.contains('\x1b') && !err.contains("os error"), "{err}");
    assert!(!env.socket().exists(), "nothing started");
}

/// A WakaTime data dump with the User-Agents Wakapi's export writes into each heartbeat.
fn dump_with_user_agents(t: f64) -> Value {
    let beat = |dt: f64, ua: Value, editor: Option<&str>| {
        let mut h = hb(t + dt, "/w/dump/a.rs", "dump", "Rust");
        h["user_agent"] = ua;
        if let Some(e) = editor {
            h["editor"] = json!(e);
        }
        h
    };
    json!({
        "user": {"username": "ann"},
        "days": [{"date": "2026-01-01", "heartbeats": [
            beat(0.0, json!("wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2"), None),
            beat(60.0, json!("wakatime/13.1.0 (Darwin-23.1.0-arm64-arm-64bit) Python3.11.4.final.0 vim/9.0 vim-wakatime/9.0.1"), None),
            beat(120.0, json!("wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2"), Some("Cursor")),
            beat(180.0, Value::Null, None),
        ]}]
    })
}

#[test]
fn tf_import_of_a_wakatime_dump_says_to_use_import_wakatime() {
    let env = TestEnv::new();
    let dump = dump_with_user_agents(recent_hour());
    for (name, text) in [
        ("compact.json", dump.to_string()),
        (
            "pretty.json",
            serde_json::to_string_pretty(&dump).expect("JSON"),
        ),
        // Cut short: still recognised by its first keys.
        ("cut.json", dump.to_string()[..200].to_string()),
    ] {
        let file = env.scratch().join(name);
        std::fs::write(&file, text).expect("write the dump");
        let path = file.display().to_string();
        fails_naming(
            &env,
            &["import", &path],
            &[
                &path,
                "WakaTime data dump",
                &format!("tf import wakatime {path}"),
            ],
        );
    }
    let api = env.scratch().join("api.json");
    std::fs::write(
        &api,
        json!({"data": [hb(recent_hour(), "/w/a.rs", "p", "Rust")]}).to_string(),
    )
    .expect("write");
    fails_naming(
        &env,
        &["import", &api.display().to_string()],
        &["{\"data\": […]}", "jq"],
    );
    assert!(
        !env.socket().exists(),
        "refused before the daemon is started"
    );
}

#[test]
fn imported_wakatime_heartbeats_get_editor_and_os_from_their_user_agent() {
    let env = TestEnv::new();
    let t = recent_hour();
    let file = env.scratch().join("dump.json");
    std::fs::write(&file, dump_with_user_agents(t).to_string()).expect("write the dump");
    let out = env.tf([
        OsStr::new("import"),
        OsStr::new("wakatime"),
        file.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    let log = env.tf_json(["log", "all", "--json"]);
    let got: Vec<(Value, Value)> = log
        .as_array()
        .expect("array")
        .iter()
        .map(|h| (h["editor"].clone(), h["os"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("VS Code"), json!("Linux")),
            (json!("Vim"), json!("macOS")),
            (json!("Cursor"), json!("Linux")),
            (Value::Null, Value::Null),
        ],
        "the item's own editor wins; no user agent, nothing guessed: {log}"
    );
    let r = env.tf_json(["report", "all", "--json", "--by", "editor"]);
    assert_eq!(row_seconds(&r, "editor", "VS Code"), 60.0, "{r}");

    // Plain `tf import` does the same for foreign heartbeats, and keeps TimeForged's own
    // exports (they carry `source`) exactly as recorded.
    let other = TestEnv::new();
    let mut foreign = hb(t, "/w/f.rs", "f", "Rust");
    foreign["user_agent"] = json!(
        "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2"
    );
    let mut own = foreign.clone();
    own["time"] = json!(t + 60.0);
    own["source"] = json!("editor");
    let lines = env.scratch().join("mixed.jsonl");
    std::fs::write(&lines, format!("{foreign}\n{own}\n")).expect("write");
    let out = other.tf([OsStr::new("import"), lines.as_os_str()]);
    assert!(out.status.success(), "{}", show(&out));
    let log = other.tf_json(["log", "all", "--json"]);
    assert_eq!(log[0]["editor"], "VS Code", "{log}");
    assert!(log[1].get("editor").is_none_or(Value::is_null), "{log}");
}

#[test]
fn status_format_for_prompts() {
    // Daemon down: an empty line, success, and nothing started.
    let env = TestEnv::new();
    let out = env.tf(["status", "--format", "{today} {project}"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(out.stdout, b"\n", "{}", show(&out));
    assert!(out.stderr.is_empty(), "{}", show(&out));
    assert!(!env.socket().exists(), "never autostarts");
    // A typo is an error whether or not the daemon runs.
    fails_naming(
        &env,
        &["status", "--format", "{today} {proj} {brnch}"],
        &["unknown placeholders {proj}, {brnch}", "{today}, {project}"],
    );
    fails_naming(&env, &["status", "--format", "{today"], &["not closed"]);
    fails_naming(&env, &["status", "--format", "x", "--json"], &["--json"]);

    let d = dataset();
    let line = |fmt: &str| d.env.tf_ok(["status", "--format", fmt]);
    assert_eq!(line("{today}"), "0h 12m\n");
    assert_eq!(
        line("[{project}|{branch}|{language}|{running}] {{x}}"),
        "[|||] {x}\n",
        "the latest heartbeat is two hours old: no current project"
    );
    d.env
        .connect()
        .heartbeats(&[hb(now_secs() - 5.0, "/w/now.rs", "now", "Rust")]);
    assert_eq!(line("{project} {language} {today}"), "now Rust 0h 12m\n");
}

#[test]
fn man_install_writes_every_page() {
    let env = TestEnv::new();
    let dir = env.scratch().join("man");
    let out = env.tf_ok([
        OsStr::new("man"),
        OsStr::new("install"),
        OsStr::new("--dir"),
        dir.as_os_str(),
    ]);
    assert!(
        out.contains(&dir.join("man1").display().to_string()),
        "{out}"
    );
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut count = 0;
    for entry in std::fs::read_dir(&shipped).expect("man/") {
        let entry = entry.expect("entry");
        let installed = std::fs::read(dir.join("man1").join(entry.file_name()))
            .unwrap_or_else(|e| panic!("{:?} installed: {e}", entry.file_name()));
        assert_eq!(
            installed,
            std::fs::read(entry.path()).expect("read"),
            "{:?}",
            entry.file_name()
        );
        count += 1;
    }
    assert!(count > 20, "{count} pages");
    // Without --dir, a tf that is not in a `bin` directory uses ~/.local/share/man.
    let out = env.tf_ok(["man", "install"]);
    let home_man = env.scratch().join(".local/share/man/man1/tf-report.1");
    assert!(home_man.is_file(), "{out}");
    assert!(!env.socket().exists(), "no daemon needed");
}

#[test]
fn completions_offer_ranges_dimensions_and_project_names() {
    let d = dataset();
    let bin = Path::new(common::TF)
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let projects = d.env.tf_ok(["complete", "projects"]);
    assert_eq!(projects, "alpha\ngamma\nbeta\n");

    let bash = d.env.scratch().join("tf.bash");
    std::fs::write(&bash, d.env.tf_ok(["completions", "bash"])).expect("write");
    let run = |shell: &str, script: String| {
        let out = std::process::Command::new(shell)
            .args(["-c", &script])
            .env_clear()
            .env("PATH", &path)
            .env("HOME", d.env.scratch())
            .env("TIMEFORGED_DIR", &d.env.base)
            .output();
        out.ok().filter(|o| o.status.success())
    };
    let complete_bash = |words: &str| {
        let script = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); \
             _tf tf \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            bash.display()
        );
        run("bash", script).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    match complete_bash("tf report --project ''") {
        None => skip("bash is not installed"),
        Some(got) => {
            assert_eq!(got, "alpha\ngamma\nbeta\n", "bash --project");
            let ranges = complete_bash("tf report last").expect("bash");
            assert_eq!(ranges, "last-week\nlast-month\n", "bash RANGE");
            let dims = complete_bash("tf report --by ti").expect("bash");
            assert_eq!(dims, "ticket\n", "bash --by");
        }
    }

    let fish = d.env.scratch().join("tf.fish");
    std::fs::write(&fish, d.env.tf_ok(["completions", "fish"])).expect("write");
    let complete_fish = |line: &str| {
        let script = format!("source {}; complete -C '{line}'", fish.display());
        run("fish", script).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    match complete_fish("tf report --project ") {
        None => skip("fish is not installed"),
        Some(got) => {
            let mut names: Vec<&str> = got
                .lines()
                .map(|l| l.split('\t').next().unwrap_or(l))
                .collect();
            names.sort();
            assert_eq!(names, ["alpha", "beta", "gamma"], "fish --project: {got}");
            let ranges = complete_fish("tf sessions last").expect("fish");
            assert!(
                ranges.contains("last-week") && ranges.contains("last-month"),
                "{ranges}"
            );
        }
    }
}

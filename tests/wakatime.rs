//! WakaTime compatibility end to end (issue 3): the real legacy WakaTime client (online and
//! offline), `tf setup wakatime`, every ingest path, body form and auth form over real HTTP,
//! the read endpoints' shapes agreeing with `tf report`, `tf import wakatime`, and bad input
//! (invalid bodies, 1,000-item mixed batches, oversize bodies, foreign Host names, slow-loris).

mod common;
#[path = "common/http.rs"]
mod http;

use common::{
    TestEnv, hb, local_date, local_midnight, noon_zone, now_secs, recent_hour, rfc3339,
    row_seconds, show, skip, stderr, total,
};
use http::{Api, WakaClient, created, rejected, request, source_file};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

/// What wakatime-cli (Go) sends from VS Code.
const GO_UA: &str =
    "wakatime/v1.90.0 (linux-6.5.0-x86_64) go1.22.1 vscode/1.95.0 vscode-wakatime/24.9.2";
/// The `--plugin` a Vim plugin passes to the legacy client.
const VIM_PLUGIN: &str = "vim/9.0 vim-wakatime/9.0.1";

const BULK: &str = "/api/v1/users/current/heartbeats.bulk";

/// A daemon started in the foreground with its HTTP API on a free port.
fn daemon(mut env: TestEnv) -> (TestEnv, Api) {
    env.start_daemon();
    let api = Api::of(&env);
    (env, api)
}

/// Every stored heartbeat, oldest first, as `tf log all --json` prints it.
fn log_all(env: &TestEnv) -> Vec<Value> {
    match env.tf_json(["log", "all", "--json"]) {
        Value::Array(items) => items,
        other => panic!("tf log --json prints an array: {other}"),
    }
}

/// The one stored heartbeat whose entity is `entity`.
fn stored<'a>(log: &'a [Value], entity: &str) -> &'a Value {
    let found: Vec<&Value> = log.iter().filter(|h| h["entity"] == entity).collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one stored heartbeat for {entity}: {log:#?}"
    );
    found[0]
}

fn report(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.push("--json");
    env.tf_json(all)
}

fn assert_close(actual: &Value, expected: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {actual}"));
    assert!(
        (a - expected).abs() < 1e-6,
        "{what}: expected {expected}, got {a}"
    );
}

/// A WakaTime list (`categories`, `projects` …) as `(name, total_seconds)` pairs, in order.
fn names_and_seconds(list: &Value) -> Vec<(String, f64)> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list: {list}"))
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("item.name").to_string(),
                i["total_seconds"].as_f64().expect("item.total_seconds"),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, f64)]) -> Vec<(String, f64)> {
    list.iter().map(|(n, s)| (n.to_string(), *s)).collect()
}

// ---------------------------------------------------------------------------------------------
// 1–2. The real WakaTime client.

#[test]
fn real_client_heartbeats_land_with_their_fields_editor_os_and_totals() {
    let (tz, offset) = noon_zone();
    let env = TestEnv::with_tz(&tz);
    let Some(client) = WakaClient::find(&env) else {
        return;
    };
    let (env, api) = daemon(env);
    let out = env.tf_ok(["setup", "wakatime"]);
    assert!(out.contains(&api.url("/api/v1")), "{out}");

    // A git repository on an unborn branch: the client reads the branch from .git/HEAD.
    let src = env.scratch().join("src");
    let repo = git2::Repository::init(&src).expect("git init");
    repo.set_head("refs/heads/feature/wakatime")
        .expect("point HEAD at a branch");
    let main_rs = source_file(&src, "main.rs", "fn main() {\n    println!(\"hi\");\n}\n");
    let lib_rs = source_file(&src, "lib.rs", "pub fn f() {}\n");
    let entity = main_rs.to_str().expect("UTF-8 temp path");
    let lib_entity = lib_rs.to_str().expect("UTF-8 temp path");
    // Today (it is 12:xx in this zone), in the last quarter of an hour.
    let t0 = (now_secs() - 600.0).floor();
    assert_eq!(local_date(t0, offset), local_date(now_secs(), offset));
    let time = |dt: f64| format!("{}", t0 + dt);
    let base = |dt: f64| -> Vec<String> {
        [
            "--entity",
            entity,
            "--project",
            "Forge",
            "--language",
            "Rust",
            "--time",
            &time(dt),
            "--plugin",
            VIM_PLUGIN,
            "--hostname",
            "dév box",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |args: Vec<String>, stdin: Option<&str>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        client.run_expect(&args, stdin, 0);
    };

    run(base(0.0), None);
    let mut write = base(60.0);
    write.extend(["--write", "--lineno", "2", "--cursorpos", "5"].map(String::from));
    run(write, None);
    // A plugin's usual call: one heartbeat on the command line, more as JSON on stdin.
    let mut extra = base(120.0);
    extra.push("--extra-heartbeats".into());
    let stdin = json!([{
        "entity": lib_entity, "time": t0 + 180.0, "project": "Forge", "language": "Rust",
        "is_write": true, "lineno": "1", "cursorpos": "3", "type": "file", "category": "debugging",
    }])
    .to_string()
        + "\n";
    run(extra, Some(&stdin));

    let log = log_all(&env);
    assert_eq!(log.len(), 4, "{log:#?}\n{}", client.log_tail());
    let ua = log[0]["user_agent"].as_str().expect("user_agent stored");
    assert!(
        ua.starts_with("wakatime/13.1.0 (") && ua.ends_with(" vim/9.0 vim-wakatime/9.0.1"),
        "{ua}"
    );
    for (i, h) in log.iter().enumerate() {
        let expected_entity = if i == 3 { lib_entity } else { entity };
        assert_eq!(h["entity"], expected_entity, "{h}");
        assert_close(&h["time"], t0 + 60.0 * i as f64, "time");
        assert_eq!(h["type"], "file", "{h}");
        assert_eq!(h["project"], "Forge", "{h}");
        assert_eq!(h["language"], "Rust", "{h}");
        assert_eq!(h["editor"], "Vim", "{h}");
        assert_eq!(h["os"], "Linux", "{h}");
        assert_eq!(h["source"], "editor", "{h}");
        assert_eq!(h["machine"], "dév box", "{h}");
        assert_eq!(h["user_agent"], ua, "{h}");
        assert_eq!(h["branch"], "feature/wakatime", "{h}");
    }
    let (first, write, plain, extra) = (&log[0], &log[1], &log[2], &log[3]);
    assert_eq!(first["is_write"], false, "{first}");
    assert_eq!(first["category"], "coding", "{first}");
    assert_eq!(
        first["lines"], 3,
        "the client counts the file's lines: {first}"
    );
    assert!(first.get("lineno").is_none_or(Value::is_null), "{first}");
    // `--lineno 2 --cursorpos 5` travel as the strings "2" and "5".
    assert_eq!(write["is_write"], true, "{write}");
    assert_eq!(write["lineno"], 2, "{write}");
    assert_eq!(write["cursorpos"], 5, "{write}");
    assert_eq!(plain["is_write"], false, "{plain}");
    assert_eq!(extra["is_write"], true, "{extra}");
    assert_eq!(extra["category"], "debugging", "{extra}");
    assert_eq!(extra["lineno"], 1, "{extra}");
    assert_eq!(extra["cursorpos"], 3, "{extra}");
    assert_eq!(extra["lines"], 1, "{extra}");

    // Four heartbeats 60 s apart: 180 s, the same in `tf report` and the status bar.
    let today = report(&env, &["today", "--by", "project", "--by", "editor"]);
    assert_eq!(total(&today), 180.0, "{today}");
    assert_eq!(row_seconds(&today, "project", "Forge"), 180.0, "{today}");
    assert_eq!(row_seconds(&today, "editor", "Vim"), 180.0, "{today}");
    let bar = api.get_json("/api/v1/users/current/statusbar/today");
    assert_close(
        &bar["data"]["grand_total"]["total_seconds"],
        180.0,
        "grand_total",
    );
    assert_eq!(bar["data"]["grand_total"]["text"], "3 mins", "{bar}");
    assert_eq!(
        names_and_seconds(&bar["data"]["editors"]),
        pairs(&[("Vim", 180.0)])
    );

    // The client re-sending a heartbeat it already sent (a retry) never double counts.
    run(base(0.0), None);
    assert_eq!(log_all(&env).len(), 4);
    assert_eq!(total(&report(&env, &["today"])), 180.0);
}

#[test]
fn real_client_queues_while_the_daemon_is_down_and_syncs_each_heartbeat_once() {
    let (tz, _) = noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    let Some(client) = WakaClient::find(&env) else {
        return;
    };
    // Autostarted by `tf`, so that `tf daemon stop` and a later autostart manage it.
    let api = Api::of(&env);
    env.tf_ok(["setup", "wakatime"]);
    let file = source_file(&env.scratch().join("proj"), "app.py", "print('hi')\n");
    let entity = file.to_str().expect("UTF-8 temp path");
    let t0 = (now_secs() - 900.0).floor();
    let send = |dt: f64, code: i32| {
        let time = format!("{}", t0 + dt);
        client.run_expect(
            &[
                "--entity",
                entity,
                "--project",
                "Offline",
                "--language",
                "Python",
                "--time",
                &time,
                "--plugin",
                VIM_PLUGIN,
            ],
            None,
            code,
        );
    };
    send(0.0, 0);
    assert_eq!(client.queued(), 0, "{}", client.log_tail());

    let stopped = env.tf(["daemon", "stop"]);
    assert!(stopped.status.success(), "{}", show(&stopped));
    env.wait_until_stopped();
    // The client cannot connect: exit 102 (API error), heartbeats kept in ~/.wakatime.db.
    for dt in [30.0, 60.0, 90.0] {
        send(dt, 102);
    }
    assert_eq!(client.queued(), 3, "{}", client.log_tail());

    // Back on the same address (the one in ~/.wakatime.cfg).
    env.set_env("TIMEFORGED_HTTP__LISTEN", &api.addr.to_string());
    let again = http::http_addr(&env);
    assert_eq!(again, api.addr, "the daemon must come back on {}", api.addr);
    assert_eq!(log_all(&env).len(), 1, "only the online heartbeat so far");

    // Round 1 replays the queue as it was before round 0, as a client does when the reply to
    // a sync was lost: the same heartbeats arrive twice and are stored once.
    let db = client.home.join(".wakatime.db");
    let queue_before = std::fs::read(&db).expect("read the offline queue");
    for round in 0..2 {
        if round == 1 {
            std::fs::write(&db, &queue_before).expect("restore the offline queue");
            assert_eq!(client.queued(), 3);
        }
        client.run_expect(&["--sync-offline-activity", "1000"], None, 0);
        assert_eq!(client.queued(), 0, "round {round}: {}", client.log_tail());
        let log = log_all(&env);
        assert_eq!(log.len(), 4, "round {round}: {log:#?}");
        for (i, h) in log.iter().enumerate() {
            assert_close(&h["time"], t0 + 30.0 * i as f64, "time");
            assert_eq!(h["project"], "Offline", "{h}");
            assert_eq!(h["language"], "Python", "{h}");
            assert_eq!(h["editor"], "Vim", "{h}");
            assert_eq!(h["source"], "editor", "{h}");
        }
    }
    assert_eq!(total(&report(&env, &["today"])), 90.0);
}

// ---------------------------------------------------------------------------------------------
// 3. `tf setup wakatime`.

/// A user's config with other settings, a comment, another section, and no final newline,
/// so that byte-for-byte restoration is meaningful.
const USER_CFG: &str = "; my WakaTime settings\n[settings]\ndebug = false\napi_key = 11111111-2222-4333-8444-555555555555\nhide_file_names = true\nexclude =\n    ^/tmp/\n\n[projectmap]\n~/work/(.*) = work-\\1\n[git]\nsubmodules_disabled = true";

fn read(path: &std::path::Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

#[test]
fn setup_wakatime_backs_up_keeps_other_settings_dry_runs_and_undoes_byte_for_byte() {
    let (env, api) = daemon(TestEnv::new());
    let home = env.scratch();
    let cfg = home.join(".wakatime.cfg");
    let backup = home.join(".wakatime.cfg.timeforged-backup");
    std::fs::write(&cfg, USER_CFG).expect("write the user's config");

    // --dry-run shows the result and touches nothing.
    let dry = env.tf_ok(["setup", "wakatime", "--dry-run"]);
    let url = format!("api_url = {}", api.url("/api/v1"));
    let key = format!("api_key = {}", api.key);
    assert!(dry.contains(&url) && dry.contains(&key), "{dry}");
    assert_eq!(read(&cfg).as_deref(), Some(USER_CFG.as_bytes()));
    let entries = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list the home directory")
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n.starts_with(".wakatime"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(entries(home), [".wakatime.cfg"], "dry run wrote nothing");

    env.tf_ok(["setup", "wakatime"]);
    let written = String::from_utf8(read(&cfg).expect("config exists")).expect("UTF-8 config");
    let lines: Vec<&str> = written.lines().collect();
    assert!(lines.contains(&url.as_str()), "{written}");
    assert!(lines.contains(&key.as_str()), "{written}");
    assert!(
        !written.contains("11111111-2222-4333-8444-555555555555"),
        "the old key is replaced: {written}"
    );
    for kept in [
        "; my WakaTime settings",
        "debug = false",
        "hide_file_names = true",
        "exclude =",
        "    ^/tmp/",
        "[projectmap]",
        "~/work/(.*) = work-\\1",
        "[git]",
        "submodules_disabled = true",
    ] {
        assert!(lines.contains(&kept), "{kept:?} kept in:\n{written}");
    }
    // The settings land in [settings], not in a later section.
    let settings_at = lines.iter().position(|l| *l == "[settings]").unwrap();
    let projectmap_at = lines.iter().position(|l| *l == "[projectmap]").unwrap();
    let url_at = lines.iter().position(|l| *l == url).unwrap();
    assert!(settings_at < url_at && url_at < projectmap_at, "{written}");
    assert_eq!(read(&backup).as_deref(), Some(USER_CFG.as_bytes()));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the config holds the API key");
    }

    // Twice: the config is the same and the first backup (the user's original) is kept.
    env.tf_ok(["setup", "wakatime"]);
    assert_eq!(read(&cfg).as_deref(), Some(written.as_bytes()));
    assert_eq!(read(&backup).as_deref(), Some(USER_CFG.as_bytes()));

    let undo_dry = env.tf_ok(["setup", "wakatime", "--undo", "--dry-run"]);
    assert!(undo_dry.contains("would restore"), "{undo_dry}");
    assert_eq!(read(&cfg).as_deref(), Some(written.as_bytes()));

    env.tf_ok(["setup", "wakatime", "--undo"]);
    assert_eq!(
        read(&cfg).as_deref(),
        Some(USER_CFG.as_bytes()),
        "restored byte for byte"
    );
    assert_eq!(entries(home), [".wakatime.cfg"], "no backup left behind");

    let again = env.tf(["setup", "wakatime", "--undo"]);
    assert!(
        !again.status.success(),
        "nothing left to undo: {}",
        show(&again)
    );
    assert!(
        stderr(&again).contains("nothing to undo"),
        "{}",
        show(&again)
    );
    assert_eq!(read(&cfg).as_deref(), Some(USER_CFG.as_bytes()));
}

#[test]
fn setup_wakatime_without_a_config_creates_one_and_undo_removes_it() {
    let (mut env, api) = daemon(TestEnv::new());
    // WAKATIME_HOME wins over HOME, as in the WakaTime clients.
    let waka_home = env.scratch().join("waka-home");
    std::fs::create_dir(&waka_home).expect("create WAKATIME_HOME");
    env.set_env(
        "WAKATIME_HOME",
        waka_home.to_str().expect("UTF-8 temp path"),
    );
    let cfg = waka_home.join(".wakatime.cfg");

    env.tf_ok(["setup", "wakatime", "--dry-run"]);
    assert!(!cfg.exists(), "dry run created {}", cfg.display());

    env.tf_ok(["setup", "wakatime"]);
    let text = std::fs::read_to_string(&cfg).expect("setup created the config");
    assert_eq!(
        text,
        format!(
            "[settings]\napi_url = {}\napi_key = {}\n",
            api.url("/api/v1"),
            api.key
        )
    );
    assert!(
        !env.scratch().join(".wakatime.cfg").exists(),
        "HOME's config untouched"
    );
    env.tf_ok(["setup", "wakatime"]);

    env.tf_ok(["setup", "wakatime", "--undo"]);
    assert!(!cfg.exists(), "undo removes the config it created");
    let left: Vec<_> = std::fs::read_dir(&waka_home)
        .expect("list WAKATIME_HOME")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
}

#[test]
fn setup_wakatime_writes_a_config_the_real_client_reads() {
    let env = TestEnv::new();
    let Some(client) = WakaClient::find(&env) else {
        return;
    };
    let (env, api) = daemon(env);
    std::fs::write(env.scratch().join(".wakatime.cfg"), USER_CFG).expect("write the config");
    env.tf_ok(["setup", "wakatime"]);
    let read_key = |key: &str| {
        let out = client.run(&["--config-read", key], None);
        assert!(out.status.success(), "{}", show(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(read_key("api_url"), api.url("/api/v1"));
    assert_eq!(read_key("api_key"), api.key);
    assert_eq!(read_key("hide_file_names"), "true");
    assert_eq!(read_key("debug"), "false");
}

// ---------------------------------------------------------------------------------------------
// 4. Ingest over HTTP: every path, body form and field form.

const INGEST_PATHS: [&str; 10] = [
    "/api/v1/users/current/heartbeats.bulk",
    "/api/v1/users/current/heartbeats",
    "/api/heartbeat",
    "/api/heartbeats",
    "/api/v1",
    "/api/compat/wakatime/v1/users/current/heartbeats.bulk",
    "/api/compat/wakatime/v1/users/current/heartbeats",
    "/api/compat/wakatime/v1/heartbeat",
    "/api/compat/wakatime/v1/heartbeats",
    "/api/compat/wakatime/v1",
];

#[test]
fn every_ingest_path_takes_an_array_and_a_single_object() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    let mut expected = Vec::new();
    for (i, path) in INGEST_PATHS.iter().enumerate() {
        let t = t0 + 60.0 * i as f64;
        let array_entity = format!("/w/paths/{i}-array.rs");
        let mut item = hb(t, &array_entity, "paths", "Rust");
        item["user_agent"] = json!(GO_UA);
        let responses = api.post_bulk(path, &[item]);
        let data = created(&responses[0]);
        assert_eq!(data["entity"], array_entity.as_str(), "{path}: {data}");
        assert_eq!(data["project"], "paths", "{path}: {data}");
        assert_close(&data["time"], t, "time");
        assert!(
            data["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{data}"
        );
        expected.push(array_entity);

        // A single object (browser extensions) gets `{"data": …}` back, not `responses`.
        let single_entity = format!("/w/paths/{i}-single.rs");
        let mut one = hb(t + 30.0, &single_entity, "paths", "Rust");
        one["user_agent"] = json!(GO_UA);
        let r = api.post(path, &one);
        assert_eq!(r.status, 201, "{path}: {}", r.text());
        let body = r.json();
        assert_eq!(
            body["data"]["entity"],
            single_entity.as_str(),
            "{path}: {body}"
        );
        assert!(body.get("responses").is_none(), "{body}");
        expected.push(single_entity);
    }
    let log = log_all(&env);
    let mut entities: Vec<&str> = log.iter().map(|h| h["entity"].as_str().unwrap()).collect();
    entities.sort();
    expected.sort();
    assert_eq!(entities, expected);
    assert!(
        log.iter()
            .all(|h| h["source"] == "editor" && h["editor"] == "VS Code")
    );
    // 20 heartbeats 30 s apart: 19 gaps.
    assert_eq!(total(&report(&env, &["all"])), 570.0);
}

#[test]
fn optional_fields_may_be_null_or_missing_and_numbers_may_be_strings() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    let items = [
        json!({"time": t0, "entity": "/w/opt/minimal.rs"}),
        json!({
            "time": t0 + 1.0, "entity": "/w/opt/nulls.rs", "type": null, "category": null,
            "project": null, "branch": null, "language": null, "is_write": null, "lines": null,
            "lineno": null, "cursorpos": null, "dependencies": null, "user_agent": null,
            "machine_name": null,
        }),
        json!({
            "time": format!("{}", t0 + 2.5), "entity": "/w/opt/strings.rs", "type": "file",
            "project": "opt", "lines": "120", "lineno": "12", "cursorpos": "345",
            "is_write": "true", "dependencies": "serde, tokio",
        }),
        json!({
            "time": t0 + 3.0, "entity": "/w/opt/numbers.rs", "lines": 7, "lineno": 3.0,
            "cursorpos": 9, "is_write": false, "dependencies": ["a", "b"],
        }),
    ];
    let responses = api.post_bulk(BULK, &items);
    for r in &responses {
        created(r);
    }
    let strings_reply = created(&responses[2]);
    assert_close(&strings_reply["time"], t0 + 2.5, "time from a string");
    assert_eq!(strings_reply["lineno"], 12, "{strings_reply}");

    let log = log_all(&env);
    assert_eq!(log.len(), 4, "{log:#?}");
    for entity in ["/w/opt/minimal.rs", "/w/opt/nulls.rs"] {
        let h = stored(&log, entity);
        assert_eq!(h["type"], "file", "{h}");
        assert_eq!(h["category"], "coding", "{h}");
        assert_eq!(h["is_write"], false, "{h}");
        for absent in [
            "project",
            "branch",
            "language",
            "lines",
            "lineno",
            "cursorpos",
        ] {
            assert!(h.get(absent).is_none_or(Value::is_null), "{absent}: {h}");
        }
        assert_eq!(h["source"], "editor", "{h}");
    }
    let s = stored(&log, "/w/opt/strings.rs");
    assert_close(&s["time"], t0 + 2.5, "time");
    assert_eq!(
        (&s["lines"], &s["lineno"], &s["cursorpos"]),
        (&json!(120), &json!(12), &json!(345)),
        "{s}"
    );
    assert_eq!(s["is_write"], true, "{s}");
    assert_eq!(s["dependencies"], json!(["serde", "tokio"]), "{s}");
    let n = stored(&log, "/w/opt/numbers.rs");
    assert_eq!(
        (&n["lines"], &n["lineno"], &n["cursorpos"]),
        (&json!(7), &json!(3), &json!(9)),
        "{n}"
    );
    assert_eq!(n["dependencies"], json!(["a", "b"]), "{n}");
}

#[test]
fn category_defaults_to_coding_and_to_browsing_for_domains_and_urls() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    let items = [
        json!({"time": t0, "entity": "/w/cat/file.rs", "type": "file"}),
        json!({"time": t0 + 1.0, "entity": "github.com", "type": "domain"}),
        json!({"time": t0 + 2.0, "entity": "https://docs.rs/serde", "type": "url"}),
        json!({"time": t0 + 3.0, "entity": "Slack", "type": "app"}),
        json!({"time": t0 + 4.0, "entity": "/w/cat/empty.rs", "category": ""}),
        json!({"time": t0 + 5.0, "entity": "/w/cat/tests.rs", "category": "writing tests"}),
        json!({"time": t0 + 6.0, "entity": "meet.example", "type": "domain", "category": "meeting"}),
    ];
    for r in api.post_bulk(BULK, &items) {
        created(&r);
    }
    let log = log_all(&env);
    let expect = [
        ("/w/cat/file.rs", "file", "coding"),
        ("github.com", "domain", "browsing"),
        ("https://docs.rs/serde", "url", "browsing"),
        ("Slack", "app", "coding"),
        ("/w/cat/empty.rs", "file", "coding"),
        ("/w/cat/tests.rs", "file", "writing tests"),
        ("meet.example", "domain", "meeting"),
    ];
    for (entity, kind, category) in expect {
        let h = stored(&log, entity);
        assert_eq!(
            (&h["type"], &h["category"]),
            (&json!(kind), &json!(category)),
            "{h}"
        );
    }
}

#[test]
fn machine_header_is_url_decoded_and_the_user_agent_names_editor_and_os() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    // wakatime-cli sends the machine `url.QueryEscape`d and the User-Agent as a header and in
    // each item; here only the header carries it.
    let responses = api.post_bulk_with(
        BULK,
        &[
            ("X-Machine-Name", "Ann%27s+Mac%C3%A9+%231"),
            ("User-Agent", GO_UA),
        ],
        &[hb(t0, "/w/ua/a.rs", "ua", "Rust")],
    );
    created(&responses[0]);
    // The item's own User-Agent and machine win over the headers.
    let mut item = hb(t0 + 10.0, "/w/ua/b.py", "ua", "Python");
    item["user_agent"] = json!(
        "wakatime/13.1.0 (Linux-6.5.0-14-generic-x86_64-with-glibc2.35) Python3.11.4.final.0 vim/9.0 vim-wakatime/9.0.1"
    );
    item["machine"] = json!("buildbox");
    created(&api.post_bulk_with(BULK, &[("User-Agent", GO_UA)], &[item])[0]);

    let log = log_all(&env);
    let a = stored(&log, "/w/ua/a.rs");
    assert_eq!(a["machine"], "Ann's Macé #1", "{a}");
    assert_eq!(a["editor"], "VS Code", "{a}");
    assert_eq!(a["os"], "Linux", "{a}");
    assert_eq!(a["user_agent"], GO_UA, "{a}");
    let b = stored(&log, "/w/ua/b.py");
    assert_eq!(b["machine"], "buildbox", "{b}");
    assert_eq!(b["editor"], "Vim", "{b}");
    assert_eq!(b["os"], "Linux", "{b}");

    let by = report(
        &env,
        &["all", "--by", "editor", "--by", "os", "--by", "machine"],
    );
    assert_eq!(row_seconds(&by, "editor", "VS Code"), 10.0, "{by}");
    assert_eq!(row_seconds(&by, "os", "Linux"), 10.0, "{by}");
    assert_eq!(row_seconds(&by, "machine", "Ann's Macé #1"), 10.0, "{by}");
}

#[test]
fn placeholders_take_the_previous_heartbeats_project_branch_and_language() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    let mut first = hb(t0, "/w/ph/main.rs", "alpha", "Rust");
    first["branch"] = json!("feature/x");
    created(&api.post_bulk(BULK, &[first])[0]);

    // A later request (a browser extension's single object) refers back to it.
    let r = api.post(
        "/api/v1/users/current/heartbeats",
        &json!({
            "time": t0 + 20.0, "entity": "docs.rs", "type": "domain",
            "project": "<<LAST_PROJECT>>", "branch": "<<LAST_BRANCH>>",
            "language": "<<LAST_LANGUAGE>>",
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let data = r.json()["data"].clone();
    assert_eq!(
        (&data["project"], &data["branch"], &data["language"]),
        (&json!("alpha"), &json!("feature/x"), &json!("Rust")),
        "{data}"
    );

    // Within one batch, an item refers to the item before it.
    let mut beta = hb(t0 + 40.0, "/w/ph/app.py", "beta", "Python");
    beta["branch"] = json!("main");
    let follow = json!({
        "time": t0 + 60.0, "entity": "/w/ph/app_test.py",
        "project": "<<LAST_PROJECT>>", "branch": "<<LAST_BRANCH>>",
        "language": "<<LAST_LANGUAGE>>",
    });
    for r in api.post_bulk(BULK, &[beta, follow]) {
        created(&r);
    }

    let log = log_all(&env);
    let docs = stored(&log, "docs.rs");
    assert_eq!(
        (&docs["project"], &docs["branch"], &docs["language"]),
        (&json!("alpha"), &json!("feature/x"), &json!("Rust")),
        "{docs}"
    );
    let t = stored(&log, "/w/ph/app_test.py");
    assert_eq!(
        (&t["project"], &t["branch"], &t["language"]),
        (&json!("beta"), &json!("main"), &json!("Python")),
        "{t}"
    );
    assert!(
        log.iter().all(|h| !h.to_string().contains("<<LAST_")),
        "no placeholder stored: {log:#?}"
    );
}

#[test]
fn placeholders_survive_a_daemon_restart() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let api = Api::of(&env);
    let t0 = recent_hour();
    let mut first = hb(t0, "/w/ph/main.go", "gopher", "Go");
    first["branch"] = json!("trunk");
    created(&api.post_bulk(BULK, &[first])[0]);
    env.terminate_daemon();

    // After a restart the previous heartbeat is read back from the database.
    env.start_daemon();
    let api = Api::of(&env);
    let r = api.post_bulk(
        BULK,
        &[json!({
            "time": t0 + 30.0, "entity": "/w/ph/next.go",
            "project": "<<LAST_PROJECT>>", "branch": "<<LAST_BRANCH>>",
            "language": "<<LAST_LANGUAGE>>",
        })],
    );
    let data = created(&r[0]);
    assert_eq!(
        (&data["project"], &data["branch"], &data["language"]),
        (&json!("gopher"), &json!("trunk"), &json!("Go")),
        "{data}"
    );
}

#[test]
fn too_old_and_far_future_heartbeats_are_rejected_each_on_its_own() {
    let mut env = TestEnv::new();
    env.set_env("TIMEFORGED_HTTP__MAX_HEARTBEAT_AGE_DAYS", "1");
    let (env, api) = daemon(env);
    let now = now_secs().floor();
    let items = [
        hb(
            now - 2.0 * 86_400.0,
            "/w/age/two-days-old.rs",
            "age",
            "Rust",
        ),
        hb(now - 3600.0, "/w/age/an-hour-ago.rs", "age", "Rust"),
        hb(now + 2.0 * 3600.0, "/w/age/in-two-hours.rs", "age", "Rust"),
        hb(
            now - 3540.0,
            "/w/age/fifty-nine-minutes-ago.rs",
            "age",
            "Rust",
        ),
        hb(now + 1800.0, "/w/age/in-half-an-hour.rs", "age", "Rust"),
    ];
    let responses = api.post_bulk(BULK, &items);
    let old = rejected(&responses[0]);
    assert!(old.starts_with("time:") && old.contains("1 days"), "{old}");
    assert_eq!(created(&responses[1])["entity"], "/w/age/an-hour-ago.rs");
    let future = rejected(&responses[2]);
    assert!(
        future.starts_with("time:") && future.contains("future"),
        "{future}"
    );
    assert_eq!(
        created(&responses[3])["entity"],
        "/w/age/fifty-nine-minutes-ago.rs"
    );
    assert_eq!(
        created(&responses[4])["entity"],
        "/w/age/in-half-an-hour.rs"
    );

    let log = log_all(&env);
    let entities: Vec<&str> = log.iter().map(|h| h["entity"].as_str().unwrap()).collect();
    assert_eq!(
        entities,
        [
            "/w/age/an-hour-ago.rs",
            "/w/age/fifty-nine-minutes-ago.rs",
            "/w/age/in-half-an-hour.rs"
        ]
    );

    // A single object that is too old gets a 400 of its own.
    let r = api.post(
        "/api/heartbeat",
        &hb(now - 3.0 * 86_400.0, "/w/age/single.rs", "age", "Rust"),
    );
    assert!(r.expect_error(400).starts_with("time:"));
    assert_eq!(log_all(&env).len(), 3);
}

// ---------------------------------------------------------------------------------------------
// 5. Authentication.

/// A named way to send the key: extra headers and the request target.
type AuthCase = (&'static str, Vec<(&'static str, String)>, String);

#[test]
fn every_auth_form_is_accepted() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (env, api) = daemon(TestEnv::new());
    let key = api.key.clone();
    let forms: Vec<AuthCase> = vec![
        (
            "Basic base64(key)",
            vec![("Authorization", format!("Basic {}", b64(&key)))],
            BULK.into(),
        ),
        (
            "Basic base64(key:)",
            vec![(
                "Authorization",
                format!("Basic {}", b64(&format!("{key}:"))),
            )],
            BULK.into(),
        ),
        (
            "Bearer key",
            vec![("Authorization", format!("Bearer {key}"))],
            BULK.into(),
        ),
        (
            "Bearer base64(key)",
            vec![("Authorization", format!("Bearer {}", b64(&key)))],
            BULK.into(),
        ),
        ("?api_key=", vec![], format!("{BULK}?api_key={key}")),
    ];
    let t0 = recent_hour();
    for (i, (name, headers, target)) in forms.iter().enumerate() {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("Content-Type", "application/json"));
        let body = json!([hb(
            t0 + i as f64,
            &format!("/w/auth/{i}.rs"),
            "auth",
            "Rust"
        )]);
        let r = request(
            api.addr,
            "POST",
            target,
            &all,
            Some(body.to_string().as_bytes()),
        );
        assert_eq!(r.status, 201, "{name}: {}", r.text());
        created(&r.json()["responses"][0]);

        // The same form opens the read endpoints.
        let read_target = target.replace(BULK, "/api/v1/users/current/statusbar/today");
        let r = request(api.addr, "GET", &read_target, &all, None);
        assert_eq!(r.status, 200, "{name} on GET: {}", r.text());
    }
    assert_eq!(log_all(&env).len(), forms.len());
}

#[test]
fn a_missing_or_wrong_key_is_401_with_a_json_error_and_stores_nothing() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (env, api) = daemon(TestEnv::new());
    let body = json!([hb(recent_hour(), "/w/auth/no.rs", "auth", "Rust")]).to_string();
    // A well-formed key that is not this daemon's.
    let other = "3f2b6c1e-9a4d-4e8f-b1c2-7d6e5f4a3b2c";
    let cases: Vec<AuthCase> = vec![
        ("no key", vec![], BULK.into()),
        (
            "wrong Basic",
            vec![("Authorization", format!("Basic {}", b64(other)))],
            BULK.into(),
        ),
        (
            "wrong Bearer",
            vec![("Authorization", format!("Bearer {other}"))],
            BULK.into(),
        ),
        (
            "garbage Basic",
            vec![("Authorization", "Basic !!!not-base64".into())],
            BULK.into(),
        ),
        (
            "unknown scheme",
            vec![("Authorization", format!("Digest {}", api.key))],
            BULK.into(),
        ),
        ("wrong ?api_key=", vec![], format!("{BULK}?api_key={other}")),
        ("empty ?api_key=", vec![], format!("{BULK}?api_key=")),
        (
            "key in another case",
            vec![(
                "Authorization",
                format!("Bearer {}", api.key.to_uppercase()),
            )],
            BULK.into(),
        ),
    ];
    for (name, headers, target) in &cases {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("Content-Type", "application/json"));
        let r = request(api.addr, "POST", target, &all, Some(body.as_bytes()));
        let message = r.expect_error(401);
        assert!(message.contains("API key"), "{name}: {message}");
        let get_target = target.replace(BULK, "/api/v1/users/current/statusbar/today");
        request(api.addr, "GET", &get_target, &all, None).expect_error(401);
    }
    assert!(log_all(&env).is_empty());
}

#[test]
fn another_users_path_is_403_and_the_local_users_name_is_accepted() {
    let mut env = TestEnv::new();
    env.set_env("USER", "alice");
    let (env, api) = daemon(env);
    let t0 = recent_hour();
    let body = json!([hb(t0, "/w/user/x.rs", "user", "Rust")]);
    for path in [
        "/api/v1/users/someone-else/heartbeats.bulk",
        "/api/v1/users/someone-else/heartbeats",
        "/api/compat/wakatime/v1/users/someone-else/heartbeats.bulk",
    ] {
        let message = api.post(path, &body).expect_error(403);
        assert!(message.contains("someone-else"), "{message}");
    }
    for path in [
        "/api/v1/users/someone-else/statusbar/today",
        "/api/v1/users/someone-else/summaries?range=today",
        "/api/v1/users/someone-else/stats/last_7_days",
        "/api/v1/users/someone-else/all_time_since_today",
        "/api/v1/users/someone-else/projects",
        "/api/v1/users/someone-else",
        "/api/v1/users/someone-else/heartbeats?date=2024-01-01",
    ] {
        api.get(path).expect_error(403);
    }
    assert!(log_all(&env).is_empty());

    let r = api.post_bulk("/api/v1/users/alice/heartbeats.bulk", &[body[0].clone()]);
    created(&r[0]);
    let me = api.get_json("/api/v1/users/alice");
    assert_eq!(me["data"]["username"], "alice", "{me}");
    assert_eq!(log_all(&env).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 6. Read endpoints: WakaTime's shapes, with the same numbers as `tf report`.

/// Four days of editor activity in a zone where it is now 12:xx:
/// - today 08:00: alpha/main/Rust, coding, every 60 s for 10 min → 600 s
/// - today 09:00: beta/dev/Python, debugging, every 60 s for 3 min → 180 s
/// - yesterday 09:00: gamma/main, no language ("Other"), coding, every 60 s for 5 min → 300 s
/// - three days ago 10:00: alpha/main/Rust, coding, 2 min → 120 s
struct ReadData {
    env: TestEnv,
    api: Api,
    offset: i64,
    today: String,
    yesterday: String,
    three_days_ago: String,
    /// Unix seconds of local midnight today and three days ago.
    today0: f64,
    three0: f64,
    /// The newest heartbeat's time.
    last_time: f64,
}

fn read_data() -> ReadData {
    let (tz, offset) = noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.set_env("USER", "alice");
    let (env, api) = daemon(env);
    let now = now_secs();
    let today0 = local_midnight(now, offset);
    let three0 = today0 - 3.0 * 86_400.0;
    let run = |start: f64, n: usize, project: &str, branch: &str, language: Option<&str>| {
        (0..n)
            .map(|i| {
                let mut h = json!({
                    "time": start + 60.0 * i as f64,
                    "entity": format!("/w/{project}/file{}", i % 3),
                    "type": "file",
                    "project": project,
                    "branch": branch,
                    "language": language,
                    "user_agent": GO_UA,
                });
                if project == "beta" {
                    h["category"] = json!("debugging");
                }
                h
            })
            .collect::<Vec<_>>()
    };
    let mut items = Vec::new();
    items.extend(run(
        today0 + 8.0 * 3600.0,
        11,
        "alpha",
        "main",
        Some("Rust"),
    ));
    items.extend(run(today0 + 9.0 * 3600.0, 4, "beta", "dev", Some("Python")));
    items.extend(run(
        today0 - 86_400.0 + 9.0 * 3600.0,
        6,
        "gamma",
        "main",
        None,
    ));
    items.extend(run(
        three0 + 10.0 * 3600.0,
        3,
        "alpha",
        "main",
        Some("Rust"),
    ));
    for r in api.post_bulk_with(BULK, &[("X-Machine-Name", "devbox")], &items) {
        created(&r);
    }
    ReadData {
        today: local_date(now, offset),
        yesterday: local_date(today0 - 1.0, offset),
        three_days_ago: local_date(three0, offset),
        env,
        api,
        offset,
        today0,
        three0,
        last_time: today0 + 9.0 * 3600.0 + 180.0,
    }
}

/// Checks every field of a WakaTime list item (wakatime-cli's `summary.Category` & co.).
fn assert_item(item: &Value, name: &str, seconds: f64, text: &str, digital: &str, percent: f64) {
    assert_eq!(item["name"], name, "{item}");
    assert_close(&item["total_seconds"], seconds, "total_seconds");
    assert_eq!(item["text"], text, "{item}");
    assert_eq!(item["digital"], digital, "{item}");
    let s = seconds as u64;
    assert_eq!(
        (&item["hours"], &item["minutes"], &item["seconds"]),
        (&json!(s / 3600), &json!(s % 3600 / 60), &json!(s % 60)),
        "{item}"
    );
    let decimal = format!("{:.2}", (s / 3600) as f64 + (s % 3600 / 60) as f64 / 60.0);
    assert_eq!(item["decimal"], decimal.as_str(), "{item}");
    let p = item["percent"].as_f64().expect("percent");
    assert!(
        (p - percent).abs() < 0.01,
        "percent {p} vs {percent}: {item}"
    );
}

#[test]
fn statusbar_today_has_wakatimes_shape_and_agrees_with_tf_report() {
    let d = read_data();
    let bar = d.api.get_json("/api/v1/users/current/statusbar/today");
    let data = &bar["data"];
    assert_eq!(
        data["grand_total"],
        json!({
            "decimal": "0.22", "digital": "0:13", "hours": 0, "minutes": 13,
            "text": "13 mins", "total_seconds": 780.0,
        }),
        "{bar}"
    );
    let tf_today = report(&d.env, &["today"]);
    assert_eq!(total(&tf_today), 780.0, "{tf_today}");
    assert_close(
        &data["grand_total"]["total_seconds"],
        total(&tf_today),
        "statusbar vs tf report",
    );
    let cats = data["categories"].as_array().expect("categories");
    assert_eq!(cats.len(), 2, "{bar}");
    assert_item(&cats[0], "Coding", 600.0, "10 mins", "0:10:00", 600.0 / 7.8);
    assert_item(
        &cats[1],
        "Debugging",
        180.0,
        "3 mins",
        "0:03:00",
        180.0 / 7.8,
    );
    assert_eq!(
        names_and_seconds(&data["projects"]),
        pairs(&[("alpha", 600.0), ("beta", 180.0)])
    );
    assert_eq!(
        names_and_seconds(&data["languages"]),
        pairs(&[("Rust", 600.0), ("Python", 180.0)])
    );
    assert_eq!(
        names_and_seconds(&data["branches"]),
        pairs(&[("main", 600.0), ("dev", 180.0)])
    );
    assert_eq!(
        names_and_seconds(&data["editors"]),
        pairs(&[("VS Code", 780.0)])
    );
    assert_eq!(
        names_and_seconds(&data["operating_systems"]),
        pairs(&[("Linux", 780.0)])
    );
    assert_eq!(
        names_and_seconds(&data["machines"]),
        pairs(&[("devbox", 780.0)])
    );
    assert_eq!(data["machines"][0]["machine_name_id"], "devbox", "{bar}");
    assert_eq!(data["dependencies"], json!([]), "{bar}");
    let range = &data["range"];
    assert_eq!(range["date"], d.today.as_str(), "{range}");
    assert_eq!(range["start"], rfc3339(d.today0), "{range}");
    assert_eq!(range["end"], rfc3339(d.today0 + 86_399.0), "{range}");
    assert!(
        range["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{range}"
    );
    assert!(range["timezone"].is_string(), "{range}");
    assert!(bar["cached_at"].is_string(), "{bar}");
    assert_eq!(bar["has_team_features"], false, "{bar}");

    // The other spelling and the compat prefix answer the same.
    for path in [
        "/api/v1/users/current/status_bar/today",
        "/api/compat/wakatime/v1/users/current/statusbar/today",
        "/api/v1/users/alice/statusbar/today",
    ] {
        let other = d.api.get_json(path);
        assert_eq!(other["data"]["grand_total"], data["grand_total"], "{path}");
        assert_eq!(other["data"]["categories"], data["categories"], "{path}");
    }
}

#[test]
fn summaries_agree_with_tf_report_day_by_day() {
    let d = read_data();
    let path = format!(
        "/api/v1/users/current/summaries?start={}&end={}",
        d.three_days_ago, d.today
    );
    let s = d.api.get_json(&path);
    let days = s["data"].as_array().expect("summaries.data");
    assert_eq!(days.len(), 4, "{s}");
    let expected = [120.0, 0.0, 300.0, 780.0];
    for (i, day) in days.iter().enumerate() {
        let date = local_date(d.three0 + 86_400.0 * i as f64 + 3600.0, d.offset);
        assert_eq!(day["range"]["date"], date.as_str(), "{day}");
        assert_close(
            &day["grand_total"]["total_seconds"],
            expected[i],
            &format!("{date} grand total"),
        );
        let tf = report(&d.env, &["--from", &date, "--to", &date]);
        assert_eq!(total(&tf), expected[i], "tf report {date}: {tf}");
    }
    assert_eq!(days[3]["range"]["text"], "Today");
    assert_eq!(days[2]["range"]["text"], "Yesterday");
    assert_eq!(days[2]["range"]["date"], d.yesterday.as_str());
    assert_eq!(
        names_and_seconds(&days[2]["languages"]),
        pairs(&[("Other", 300.0)])
    );
    assert_eq!(
        names_and_seconds(&days[0]["projects"]),
        pairs(&[("alpha", 120.0)])
    );
    assert!(
        days[3]["entities"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "summaries list entities: {}",
        days[3]
    );
    assert_eq!(
        s["cumulative_total"],
        json!({"decimal": "0.33", "digital": "0:20", "seconds": 1200.0, "text": "20 mins"}),
        "{s}"
    );
    // "Other" language is left out of WakaTime's average and reported beside it.
    assert_eq!(
        s["daily_average"],
        json!({
            "days_including_holidays": 4, "days_minus_holidays": 3, "holidays": 1,
            "seconds": 300, "seconds_including_other_language": 400,
            "text": "5 mins", "text_including_other_language": "6 mins",
        }),
        "{s}"
    );
    assert_eq!(s["start"], rfc3339(d.three0), "{s}");
    assert_eq!(s["end"], rfc3339(d.today0 + 86_399.0), "{s}");

    // The legacy client's `--today` form, and a named range.
    let today = d
        .api
        .get_json("/api/v1/users/current/summaries?start=today&end=today");
    assert_eq!(today["data"].as_array().map(Vec::len), Some(1), "{today}");
    assert_close(
        &today["data"][0]["grand_total"]["total_seconds"],
        780.0,
        "today",
    );
    let week = d
        .api
        .get_json("/api/v1/users/current/summaries?range=last_7_days");
    assert_eq!(week["data"].as_array().map(Vec::len), Some(7), "{week}");
    assert_close(&week["cumulative_total"]["seconds"], 1200.0, "last 7 days");
    assert_eq!(total(&report(&d.env, &["7d"])), 1200.0);

    // A bad parameter is a 400 with a JSON error.
    d.api
        .get("/api/v1/users/current/summaries?range=fortnight")
        .expect_error(400);
    d.api
        .get("/api/v1/users/current/summaries")
        .expect_error(400);
}

#[test]
fn stats_all_time_projects_user_and_heartbeats_agree_with_tf_report() {
    let d = read_data();
    let stats = d.api.get_json("/api/v1/users/current/stats/last_7_days");
    let s = &stats["data"];
    let tf_week = report(&d.env, &["7d", "--by", "project", "--by", "language"]);
    assert_eq!(total(&tf_week), 1200.0, "{tf_week}");
    assert_close(
        &s["total_seconds_including_other_language"],
        total(&tf_week),
        "stats vs tf report",
    );
    assert_close(&s["total_seconds"], 900.0, "total without Other language");
    assert_eq!(s["human_readable_total"], "15 mins", "{s}");
    assert_eq!(
        s["human_readable_total_including_other_language"], "20 mins",
        "{s}"
    );
    assert_eq!(s["range"], "last_7_days", "{s}");
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["is_including_today"], true, "{s}");
    assert_eq!(
        (
            &s["days_including_holidays"],
            &s["days_minus_holidays"],
            &s["holidays"]
        ),
        (&json!(7), &json!(3), &json!(4)),
        "{s}"
    );
    assert_eq!(s["daily_average"], 300, "{s}");
    assert_eq!(s["daily_average_including_other_language"], 400, "{s}");
    assert_eq!(s["timeout"], 15, "{s}");
    assert_eq!(s["username"], "alice", "{s}");
    assert_eq!(
        s["best_day"],
        json!({"date": d.today, "text": "13 mins", "total_seconds": 780.0}),
        "{s}"
    );
    let projects = names_and_seconds(&s["projects"]);
    assert_eq!(
        projects,
        pairs(&[("alpha", 720.0), ("gamma", 300.0), ("beta", 180.0)])
    );
    for (name, seconds) in &projects {
        assert_eq!(row_seconds(&tf_week, "project", name), *seconds, "{name}");
    }
    assert_eq!(
        names_and_seconds(&s["languages"]),
        pairs(&[("Rust", 720.0), ("Other", 300.0), ("Python", 180.0)])
    );
    assert_eq!(
        names_and_seconds(&s["categories"]),
        pairs(&[("Coding", 1020.0), ("Debugging", 180.0)])
    );
    // `stats` without a range is the last 7 days.
    let default = d.api.get_json("/api/v1/users/current/stats");
    assert_eq!(default["data"]["range"], "last_7_days");
    assert_eq!(
        default["data"]["total_seconds_including_other_language"],
        s["total_seconds_including_other_language"]
    );
    d.api
        .get("/api/v1/users/current/stats/fortnight")
        .expect_error(400);

    let all = d.api.get_json("/api/v1/users/current/all_time_since_today");
    let a = &all["data"];
    assert_eq!(total(&report(&d.env, &["all"])), 1200.0);
    assert_close(&a["total_seconds"], 1200.0, "all time");
    assert_eq!(
        (&a["text"], &a["digital"], &a["decimal"]),
        (&json!("20 mins"), &json!("0:20"), &json!("0.33")),
        "{a}"
    );
    assert_close(&a["daily_average"], 300.0, "all-time daily average");
    assert_eq!(a["range"]["start_date"], d.three_days_ago.as_str(), "{a}");
    assert_eq!(a["range"]["end_date"], d.today.as_str(), "{a}");
    assert_eq!(a["range"]["start"], rfc3339(d.three0), "{a}");
    assert_eq!(a["is_up_to_date"], true, "{a}");

    let projects = d.api.get_json("/api/v1/users/current/projects");
    let mut names: Vec<&str> = projects["data"]
        .as_array()
        .expect("projects.data")
        .iter()
        .map(|p| p["name"].as_str().expect("project name"))
        .collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta", "gamma"], "{projects}");
    for p in projects["data"].as_array().unwrap() {
        assert_eq!(p["id"], p["name"], "{p}");
        assert_eq!(p["urlencoded_name"], p["name"], "{p}");
        assert!(p["last_heartbeat_at"].is_string(), "{p}");
        assert!(p["first_heartbeat_at"].is_string(), "{p}");
    }
    let found = d.api.get_json("/api/v1/users/current/projects?q=AMM");
    assert_eq!(names_of(&found["data"]), ["gamma"], "{found}");

    let me = d.api.get_json("/api/v1/users/current");
    let u = &me["data"];
    assert_eq!(u["username"], "alice", "{u}");
    assert_eq!(u["last_project"], "beta", "{u}");
    assert_eq!(u["last_plugin_name"], "VS Code", "{u}");
    assert_eq!(u["last_plugin"], GO_UA, "{u}");
    assert_eq!(u["last_heartbeat_at"], rfc3339(d.last_time), "{u}");
    assert_eq!(
        u["created_at"],
        rfc3339(d.three0 + 10.0 * 3600.0),
        "first heartbeat: {u}"
    );
    assert_eq!(u["timeout"], 15, "{u}");

    let beats = d.api.get_json(&format!(
        "/api/v1/users/current/heartbeats?date={}",
        d.today
    ));
    let list = beats["data"].as_array().expect("heartbeats.data");
    assert_eq!(list.len(), 15, "{beats}");
    let times: Vec<f64> = list.iter().map(|h| h["time"].as_f64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {times:?}"
    );
    assert_close(&list[0]["time"], d.today0 + 8.0 * 3600.0, "first of today");
    assert_eq!(list[0]["project"], "alpha");
    assert_eq!(list[0]["entity"], "/w/alpha/file0");
    assert_eq!(list[0]["machine_name_id"], "devbox");
    assert_eq!(list[0]["user_agent"], GO_UA);
    assert_eq!(list[14]["project"], "beta");
    assert_eq!(list[14]["category"], "debugging");
    assert_eq!(beats["start"], rfc3339(d.today0), "{beats}");
    let yesterday = d.api.get_json(&format!(
        "/api/v1/users/current/heartbeats?date={}",
        d.yesterday
    ));
    assert_eq!(yesterday["data"].as_array().map(Vec::len), Some(6));
    d.api
        .get("/api/v1/users/current/heartbeats?date=yesterday-ish")
        .expect_error(400);
    d.api
        .get("/api/v1/users/current/heartbeats")
        .expect_error(400);
}

#[test]

fn stats_of_a_range_without_activity_count_every_day_as_a_holiday() {
    let (_env, api) = daemon(TestEnv::new());
    // Activity ten days ago only: none in the last 7 days.
    let t = now_secs() - 10.0 * 86_400.0;
    for r in api.post_bulk(
        BULK,
        &[
            hb(t, "/w/old.rs", "old", "Rust"),
            hb(t + 60.0, "/w/old.rs", "old", "Rust"),
        ],
    ) {
        created(&r);
    }
    let s = api.get_json("/api/v1/users/current/stats/last_7_days");
    let d = &s["data"];
    assert_close(&d["total_seconds"], 0.0, "no time in the last 7 days");
    assert_eq!(
        (
            &d["days_including_holidays"],
            &d["days_minus_holidays"],
            &d["holidays"]
        ),
        (&json!(7), &json!(0), &json!(7)),
        "{d}"
    );
    assert!(d["best_day"].is_null(), "{d}");
}

fn names_of(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect()
}

#[test]

fn projects_give_the_times_of_the_first_and_last_heartbeat() {
    let d = read_data();
    let projects = d.api.get_json("/api/v1/users/current/projects");
    let beta = projects["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "beta")
        .expect("beta listed")
        .clone();
    assert_eq!(
        beta["first_heartbeat_at"],
        rfc3339(d.today0 + 9.0 * 3600.0),
        "{beta}"
    );
    assert_eq!(beta["last_heartbeat_at"], rfc3339(d.last_time), "{beta}");
}

// ---------------------------------------------------------------------------------------------
// 7. `tf import wakatime`.

/// A heartbeat as wakatime.com's data dump writes it.
fn dump_heartbeat(n: u32, time: f64, project: &str, entity: &str) -> Value {
    json!({
        "id": format!("4c3f5e1a-0b7d-4e2a-9f10-{n:012}"),
        "entity": entity,
        "type": "file",
        "category": "coding",
        "time": time,
        "project": project,
        "project_root_count": 4,
        "branch": "main",
        "language": "Rust",
        "dependencies": ["serde", "tokio"],
        "lines": 120 + n,
        "line_additions": null,
        "line_deletions": null,
        "lineno": 10 + n,
        "cursorpos": 200 + n,
        "is_write": n.is_multiple_of(2),
        "user_agent_id": "8d2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
        "machine_name_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "user_id": "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f",
        "created_at": rfc3339(time + 5.0),
    })
}

/// A two-day WakaTime data dump with one bad item (its `time` is text), and what it holds.
struct Dump {
    value: Value,
    date1: String,
    date2: String,
    t1: f64,
}

fn wakatime_dump() -> Dump {
    // Older than the HTTP API's max age: a dump is history.
    let day1 = ((now_secs() - 400.0 * 86_400.0) / 86_400.0).floor() * 86_400.0;
    let day2 = day1 + 86_400.0;
    let (date1, date2) = (local_date(day1, 0), local_date(day2, 0));
    let t1 = day1 + 10.0 * 3600.0 + 0.123;
    let t2 = day2 + 14.0 * 3600.0;
    let mut bad = dump_heartbeat(99, t2 + 10.0, "dump", "/w/dump/BAD-ITEM.rs");
    bad["time"] = json!("not a time");
    let value = json!({
        "user": {
            "id": "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f", "username": "ann",
            "display_name": "Ann", "timezone": "UTC", "created_at": "2019-01-01T00:00:00Z",
        },
        "range": {"start": day1 as i64, "end": (day2 + 86_399.0) as i64},
        "days": [
            {"date": date1, "heartbeats": [
                dump_heartbeat(0, t1, "dump", "/w/dump/a.rs"),
                dump_heartbeat(1, t1 + 60.0, "dump", "/w/dump/b.rs"),
                dump_heartbeat(2, t1 + 120.0, "dump", "/w/dump/a.rs"),
            ]},
            {"date": local_date(day1 - 86_400.0, 0), "heartbeats": []},
            {"date": date2, "heartbeats": [
                dump_heartbeat(3, t2, "other", "/w/other/c.rs"),
                bad,
                dump_heartbeat(4, t2 + 30.0, "other", "/w/other/c.rs"),
            ]},
        ],
    });
    Dump {
        value,
        date1,
        date2,
        t1,
    }
}

/// The dump with one heartbeat per line (each item compact), as WakaTime's export lays it out.
fn one_heartbeat_per_line(dump: &Value) -> String {
    let days: Vec<String> = dump["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|day| {
            let beats: Vec<String> = day["heartbeats"]
                .as_array()
                .expect("heartbeats")
                .iter()
                .map(Value::to_string)
                .collect();
            format!(
                "{{\"date\": {}, \"heartbeats\": [\n{}\n]}}",
                day["date"],
                beats.join(",\n")
            )
        })
        .collect();
    format!(
        "{{\"user\": {},\n\"range\": {},\n\"days\": [\n{}\n]}}\n",
        dump["user"],
        dump["range"],
        days.join(",\n")
    )
}

/// The line on which the item holding `marker` starts (its `{`).
fn line_of_item(text: &str, marker: &str) -> usize {
    let at = text.find(marker).expect("marker in the dump");
    let open = text[..at].rfind('{').expect("the item's brace");
    text[..open].matches('\n').count() + 1
}

/// Imports `text` as a dump and checks the outcome: five heartbeats stored with source
/// `import`, the bad item reported at its line, and a second import adding nothing.
fn check_wakatime_import(text: &str) {
    let (env, _api) = daemon(TestEnv::new());
    let dump = wakatime_dump();
    let bad_line = line_of_item(text, "BAD-ITEM");
    let file = env.scratch().join("wakatime-dump.json");
    std::fs::write(&file, text).expect("write the dump");
    let file_arg = file.to_str().expect("UTF-8 temp path");

    let out = env.tf(["import", "wakatime", file_arg]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a rejected item fails the import: {}",
        show(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{file_arg}:{bad_line}: time")),
        "the bad item is named by its line {bad_line}: {err}"
    );
    assert!(
        err.contains("imported 5 heartbeats (0 already present, 1 rejected)"),
        "{err}"
    );

    let log = log_all(&env);
    assert_eq!(log.len(), 5, "{log:#?}");
    for h in &log {
        assert_eq!(h["source"], "import", "{h}");
        assert_eq!(h["branch"], "main", "{h}");
        assert_eq!(h["language"], "Rust", "{h}");
        assert_eq!(h["category"], "coding", "{h}");
        assert_eq!(h["type"], "file", "{h}");
        assert_eq!(h["dependencies"], json!(["serde", "tokio"]), "{h}");
    }
    let first = &log[0];
    assert_eq!(first["entity"], "/w/dump/a.rs");
    assert_eq!(first["project"], "dump");
    assert_close(&first["time"], dump.t1, "time at ms precision");
    assert_eq!(
        (
            &first["lines"],
            &first["lineno"],
            &first["cursorpos"],
            &first["is_write"]
        ),
        (&json!(120), &json!(10), &json!(200), &json!(true)),
        "{first}"
    );
    assert_eq!(log[1]["is_write"], false);
    assert_eq!(log[3]["project"], "other");

    let (date1, date2) = (&dump.date1, &dump.date2);
    let r1 = report(&env, &["--from", date1, "--to", date1, "--by", "project"]);
    assert_eq!(total(&r1), 120.0, "{r1}");
    assert_eq!(row_seconds(&r1, "project", "dump"), 120.0, "{r1}");
    let r2 = report(&env, &["--from", date2, "--to", date2]);
    assert_eq!(total(&r2), 30.0, "{r2}");

    // Again: nothing new, the same bad line.
    let again = env.tf(["import", "wakatime", file_arg]);
    let err = stderr(&again);
    assert!(
        err.contains("imported 0 heartbeats (5 already present, 1 rejected)"),
        "{}",
        show(&again)
    );
    assert!(
        err.contains(&format!("{file_arg}:{bad_line}: time")),
        "{err}"
    );
    assert_eq!(log_all(&env).len(), 5);
    assert_eq!(total(&report(&env, &["all"])), 150.0);
}

#[test]
fn import_wakatime_dump_lands_once_as_import_and_reports_a_bad_item_with_its_line() {
    let text = one_heartbeat_per_line(&wakatime_dump().value);
    assert_eq!(line_of_item(&text, "BAD-ITEM"), 14, "{text}");
    check_wakatime_import(&text);
}

/// Each item's raw text used to be sent inside one protocol line, so an item spread over
/// several lines (`jq . dump.json > pretty.json`) broke the import.
#[test]
fn import_wakatime_accepts_a_pretty_printed_dump() {
    let text = serde_json::to_string_pretty(&wakatime_dump().value).expect("serialize the dump");
    check_wakatime_import(&text);
}

#[test]
fn import_wakatime_refuses_a_file_that_is_not_a_dump() {
    let (env, _api) = daemon(TestEnv::new());
    for (name, text) in [
        ("days-not-a-list.json", "{\"days\": 3}\n"),
        ("no-days.json", "{\"user\": {}}\n"),
        (
            "truncated.json",
            "{\"days\": [{\"date\": \"2024-01-01\", \"heartbeats\": [\n",
        ),
    ] {
        let file = env.scratch().join(name);
        std::fs::write(&file, text).expect("write a bad dump");
        let out = env.tf([
            "import",
            "wakatime",
            file.to_str().expect("UTF-8 temp path"),
        ]);
        assert!(!out.status.success(), "{name}: {}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{name}:")) && err.contains("not a WakaTime data dump"),
            "{name}: {err}"
        );
    }
    assert!(log_all(&env).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 8. Bad input.

#[test]
fn an_invalid_body_is_a_400_json_error_and_stores_nothing() {
    let (env, api) = daemon(TestEnv::new());
    for (body, needle) in [
        (&b"[{\"time\": 1, "[..], "not valid JSON"),
        (b"{\"time\": 1,}", "not valid JSON"),
        (b"heartbeat please", "not valid JSON"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"42", "number"),
        (b"\"text\"", "string"),
        (b"null", "null"),
    ] {
        for path in [BULK, "/api/heartbeat"] {
            let message = api.post_with(path, &[], body).expect_error(400);
            assert!(
                message.contains(needle),
                "{path} {:?}: {message}",
                String::from_utf8_lossy(body)
            );
        }
    }
    // An empty array is a valid, empty batch.
    let r = api.post_with(BULK, &[], b"[]");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!({"responses": []}));
    assert!(log_all(&env).is_empty());
}

#[test]
fn a_wrong_content_type_is_415_and_json_or_plain_text_are_accepted() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    let body =
        |i: usize| json!([hb(t0 + i as f64, &format!("/w/ct/{i}.rs"), "ct", "Rust")]).to_string();
    let auth = api.basic();
    for (i, ct) in [
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "image/png",
    ]
    .iter()
    .enumerate()
    {
        let r = request(
            api.addr,
            "POST",
            BULK,
            &[("Authorization", &auth), ("Content-Type", ct)],
            Some(body(i).as_bytes()),
        );
        let message = r.expect_error(415);
        assert!(message.contains("Content-Type"), "{ct}: {message}");
    }
    assert!(log_all(&env).is_empty());
    for (i, ct) in [
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("text/plain"),
        None,
    ]
    .iter()
    .enumerate()
    {
        let mut headers = vec![("Authorization", auth.as_str())];
        if let Some(ct) = ct {
            headers.push(("Content-Type", ct));
        }
        let r = request(
            api.addr,
            "POST",
            BULK,
            &headers,
            Some(body(10 + i).as_bytes()),
        );
        assert_eq!(r.status, 201, "{ct:?}: {}", r.text());
    }
    assert_eq!(log_all(&env).len(), 4);
}

#[test]
fn a_batch_of_1000_mixed_items_stores_the_good_and_rejects_each_bad_one_at_its_index() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    let now = now_secs();
    let long_entity = format!("/w/{}", "x".repeat(5000));
    let mut items = Vec::new();
    // (index, field the error must name)
    let mut bad: Vec<(usize, &str)> = Vec::new();
    for i in 0..1000usize {
        let t = t0 + i as f64;
        let good = hb(t, &format!("/w/mixed/{i}.rs"), "mixed", "Rust");
        let item = match i % 10 {
            3 => {
                let (item, field) = match (i / 10) % 8 {
                    0 => (json!({"time": t, "type": "file"}), "entity"),
                    1 => (json!({"time": "soon", "entity": "/w/x"}), "time"),
                    2 => (
                        json!({"time": t, "entity": "/w/x", "category": "sleeping"}),
                        "category",
                    ),
                    3 => (
                        json!({"time": t, "entity": "/w/x", "type": "spaceship"}),
                        "type",
                    ),
                    4 => (json!({"time": now + 7200.0, "entity": "/w/x"}), "time"),
                    5 => (json!({"time": t, "entity": long_entity}), "entity"),
                    6 => (
                        json!({"time": t, "entity": "/w/x", "lineno": "twelve"}),
                        "lineno",
                    ),
                    _ => (json!(42), "heartbeat"),
                };
                bad.push((i, field));
                item
            }
            _ => good,
        };
        items.push(item);
    }
    let responses = api.post_bulk(BULK, &items);
    let mut good_count = 0;
    let mut bad_iter = bad.iter().peekable();
    for (i, entry) in responses.iter().enumerate() {
        if bad_iter.peek().is_some_and(|(b, _)| *b == i) {
            let (_, field) = bad_iter.next().unwrap();
            let message = rejected(entry);
            assert!(
                message.starts_with(&format!("{field}:")),
                "item {i}: expected an error naming {field}: {message}"
            );
        } else {
            let data = created(entry);
            assert_eq!(data["entity"], format!("/w/mixed/{i}.rs"), "item {i}");
            good_count += 1;
        }
    }
    assert_eq!(good_count, 900);
    assert_eq!(bad.len(), 100);
    let log = log_all(&env);
    assert_eq!(log.len(), good_count, "every good item stored, no bad one");
    assert!(log.iter().all(|h| h["project"] == "mixed"));

    // Sent again: the good ones are duplicates, the count stays.
    let again = api.post_bulk(BULK, &items);
    assert_eq!(again.iter().filter(|r| r[1] == 201).count(), 900);
    assert_eq!(log_all(&env).len(), 900);
}

#[test]
fn a_ten_mib_body_is_413_with_a_json_error_and_the_daemon_keeps_serving() {
    let (env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    // Valid heartbeats, 10 MiB of them: refused for its size, not its content.
    let item = |i: usize| {
        format!(
            r#"{{"time":{},"entity":"/w/big/{i}.rs","type":"file","project":"big"}}"#,
            t0 + i as f64
        )
    };
    let mut body = String::with_capacity(10 * 1024 * 1024 + 200);
    body.push('[');
    let mut i = 0;
    while body.len() < 10 * 1024 * 1024 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&item(i));
        i += 1;
    }
    body.push(']');
    assert!(body.len() >= 10 * 1024 * 1024);

    // A client that sends everything at once, without `Expect: 100-continue`.
    let auth = api.basic();
    let head = format!(
        "POST {BULK} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        api.addr,
        body.len()
    );
    let mut stream = http::connect(api.addr);
    let mut writer = stream.try_clone().expect("clone the stream");
    let payload = [head.into_bytes(), body.clone().into_bytes()].concat();
    let sender = std::thread::spawn(move || {
        // The server may answer and close before reading it all; a broken pipe is expected.
        let _ = writer.write_all(&payload);
    });
    let reply = http::read_reply(&mut stream);
    let message = reply.expect_error(413);
    assert!(message.contains("larger than"), "{message}");
    sender.join().expect("the sender thread");

    // The same through curl, which asks first (`Expect: 100-continue`).
    if let Some(mut curl) = curl() {
        let file = env.scratch().join("big.json");
        std::fs::write(&file, &body).expect("write the big body");
        let out = curl
            .args([
                "-u",
                &format!("{}:", api.key),
                "-H",
                "Content-Type: application/json",
            ])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(api.url(BULK))
            .output()
            .expect("run curl");
        let (status, body) = curl_result(&out);
        assert_eq!(status, 413, "{}", show(&out));
        assert!(body["error"].is_string(), "{body}");
    }

    // Still serving, and nothing of the big body was stored.
    let ok = api.post_bulk(BULK, &[hb(t0, "/w/big/after.rs", "big", "Rust")]);
    created(&ok[0]);
    let log = log_all(&env);
    assert_eq!(log.len(), 1, "only the small request stored");
    assert_eq!(log[0]["entity"], "/w/big/after.rs");
}

#[test]
fn a_host_that_is_not_loopback_is_421_before_anything_else() {
    let (env, api) = daemon(TestEnv::new());
    let auth = api.basic();
    let body = json!([hb(recent_hour(), "/w/host/x.rs", "host", "Rust")]).to_string();
    for host in [
        "evil.example",
        "evil.example:80",
        &format!("evil.example:{}", api.addr.port()),
        "localhost.evil.example",
        "192.168.1.10",
    ] {
        let r = request(
            api.addr,
            "POST",
            BULK,
            &[
                ("Host", host),
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        );
        let message = r.expect_error(421);
        assert!(message.contains("loopback"), "{host}: {message}");
        // Without a key too: the Host check comes first and leaks nothing.
        let r = request(
            api.addr,
            "GET",
            "/api/v1/users/current/statusbar/today",
            &[("Host", host)],
            None,
        );
        r.expect_error(421);
    }
    assert!(log_all(&env).is_empty());
    let port = api.addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("[::1]:{port}"),
    ] {
        let r = request(
            api.addr,
            "GET",
            "/api/v1/users/current/statusbar/today",
            &[("Host", &host), ("Authorization", &auth)],
            None,
        );
        assert_eq!(r.status, 200, "{host}: {}", r.text());
    }
}

#[test]
fn a_slow_loris_connection_is_closed_while_other_clients_are_served() {
    let (_env, api) = daemon(TestEnv::new());
    let t0 = recent_hour();
    // Half a request line, then nothing; and one that stops in the middle of its headers.
    let mut stalled = Vec::new();
    for partial in [
        &b"POST /api/v1/users/current/heartbe"[..],
        b"GET /api/v1/users/current/statusbar/today HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor",
    ] {
        let mut s = http::connect(api.addr);
        s.write_all(partial).expect("send part of a request");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("set a short read timeout");
        stalled.push(s);
    }
    let started = Instant::now();
    let limit = Duration::from_secs(15);
    let mut closed_after: Vec<Option<Duration>> = vec![None; stalled.len()];
    let mut served = 0;
    while closed_after.iter().any(Option::is_none) {
        assert!(
            started.elapsed() < limit,
            "stalled connections still open after {limit:?}: {closed_after:?}"
        );
        // Another client is served normally meanwhile.
        let i = served as f64;
        let r = api.post_bulk(
            BULK,
            &[hb(t0 + i, &format!("/w/loris/{served}"), "l", "Go")],
        );
        created(&r[0]);
        served += 1;
        for (s, closed) in stalled.iter_mut().zip(closed_after.iter_mut()) {
            if closed.is_some() {
                continue;
            }
            let mut buf = [0u8; 1024];
            match s.read(&mut buf) {
                // Closed (a 408 before the close is fine too: read on to the end).
                Ok(0) => *closed = Some(started.elapsed()),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => *closed = Some(started.elapsed()),
            }
        }
    }
    assert!(
        served >= 5,
        "other clients were served meanwhile ({served} requests)"
    );
    eprintln!(
        "stalled connections closed after {closed_after:?}; {served} requests served meanwhile"
    );
}

#[test]

fn many_stalled_connections_do_not_starve_other_clients() {
    let (_env, api) = daemon(TestEnv::new());
    // More stalled connections than the server's connection limit (512).
    let stalled: Vec<std::net::TcpStream> = (0..520)
        .map(|_| {
            let mut s = http::connect(api.addr);
            s.write_all(b"GET /api/v1/us")
                .expect("send part of a request");
            s
        })
        .collect();
    let mut s = http::connect(api.addr);
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("set a read timeout");
    let auth = api.basic();
    write!(
        s,
        "GET /api/v1/users/current/statusbar/today HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        api.addr
    )
    .expect("send a request");
    let started = Instant::now();
    let mut raw = Vec::new();
    let result = s.read_to_end(&mut raw);
    assert!(
        !raw.is_empty(),
        "no answer within {:?} while {} connections stall ({result:?})",
        started.elapsed(),
        stalled.len()
    );
    assert_eq!(http::parse_reply(&raw).status, 200);
}

// ---------------------------------------------------------------------------------------------
// curl: a real HTTP client against the same endpoints.

fn curl() -> Option<Command> {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("curl is not installed");
        return None;
    }
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"]);
    Some(cmd)
}

/// curl's `-w "\n%{http_code}"` output: the status and the body as JSON.
fn curl_result(out: &std::process::Output) -> (u16, Value) {
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = code.trim().parse().unwrap_or(0);
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn curl_posts_heartbeats_and_reads_them_back() {
    let (tz, _) = noon_zone();
    let (env, api) = daemon(TestEnv::with_tz(&tz));
    if curl().is_none() {
        return;
    }
    let t0 = (now_secs() - 300.0).floor();
    let body = json!([
        {"time": t0, "entity": "/w/curl/a.ts", "type": "file", "project": "web", "language": "TypeScript"},
        {"time": t0 + 45.0, "entity": "/w/curl/b.ts", "type": "file", "project": "web", "language": "TypeScript", "is_write": true},
    ])
    .to_string();
    let out = curl()
        .unwrap()
        .args(["-u", &format!("{}:", api.key)])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", "X-Machine-Name: curl+box"])
        .args(["-A", GO_UA])
        .args(["--data", &body])
        .arg(api.url("/api/compat/wakatime/v1/users/current/heartbeats.bulk"))
        .output()
        .expect("run curl");
    let (status, reply) = curl_result(&out);
    assert_eq!(status, 201, "{}", show(&out));
    assert_eq!(reply["responses"][0][1], 201, "{reply}");
    assert_eq!(
        reply["responses"][1][0]["data"]["is_write"], true,
        "{reply}"
    );

    let out = curl()
        .unwrap()
        .arg(api.url(&format!(
            "/api/v1/users/current/statusbar/today?api_key={}",
            api.key
        )))
        .output()
        .expect("run curl");
    let (status, bar) = curl_result(&out);
    assert_eq!(status, 200, "{}", show(&out));
    assert_close(&bar["data"]["grand_total"]["total_seconds"], 45.0, "today");
    assert_eq!(bar["data"]["machines"][0]["name"], "curl box", "{bar}");
    assert_eq!(bar["data"]["editors"][0]["name"], "VS Code", "{bar}");
    assert_eq!(total(&report(&env, &["today"])), 45.0);

    let out = curl()
        .unwrap()
        .arg(api.url("/api/v1/users/current/statusbar/today"))
        .output()
        .expect("run curl");
    let (status, err) = curl_result(&out);
    assert_eq!(status, 401, "{}", show(&out));
    assert!(err["error"].is_string(), "{err}");
}

/// One rule for `<<LAST_PROJECT>>` & co., whatever path a heartbeat takes: the newest
/// heartbeat by time, including those the daemon makes itself (a shell command in a
/// repository) and those sent over the socket; an older heartbeat arriving late does not
/// change it.
#[test]
fn placeholders_follow_one_rule_for_http_socket_and_daemon_made_heartbeats() {
    let (env, api) = daemon(TestEnv::new());
    let mut conn = common::Conn::connect(&env.socket());
    let t0 = recent_hour();
    let placeholder = |t: f64, entity: &str| {
        json!({"time": t, "entity": entity, "project": "<<LAST_PROJECT>>",
               "language": "<<LAST_LANGUAGE>>"})
    };
    let r = conn.heartbeats(&[hb(t0, "/w/one/a.rs", "alpha", "Rust")]);
    assert_eq!(r["accepted"], 1, "{r}");
    // HTTP after socket.
    let d = created(&api.post_bulk(BULK, &[placeholder(t0 + 10.0, "/w/one/h1")])[0]).clone();
    assert_eq!(
        (&d["project"], &d["language"]),
        (&json!("alpha"), &json!("Rust"))
    );
    // A placeholder over the socket is resolved too (it used to be stored as typed).
    let r = conn.heartbeats(&[placeholder(t0 + 20.0, "/w/one/s1")]);
    assert_eq!(r["accepted"], 1, "{r}");
    // A command the shell hook reports, in a repository: a heartbeat the daemon makes.
    let repo = env.scratch().join("gamma");
    git2::Repository::init(&repo).expect("git init");
    let r = conn.request(
        json!({"v": 1, "type": "shell", "event": "end", "shell": "zsh",
        "pid": 4242, "cwd": repo.to_str().expect("UTF-8"), "command": "cargo build",
        "time": t0 + 40.0, "start": t0 + 30.0, "status": 0}),
    );
    assert_eq!(r["type"], "ok", "{r}");
    let d = created(&api.post_bulk(BULK, &[placeholder(t0 + 50.0, "/w/one/h2")])[0]).clone();
    assert_eq!(d["project"], "gamma", "daemon-made heartbeats count: {d}");
    // Older than the newest: stored as is, but not "last".
    let r = conn.heartbeats(&[hb(t0 + 5.0, "/w/one/late.rs", "late", "Go")]);
    assert_eq!(r["accepted"], 1, "{r}");
    let d = created(&api.post_bulk(BULK, &[placeholder(t0 + 60.0, "/w/one/h3")])[0]).clone();
    assert_eq!(d["project"], "gamma", "{d}");
    let log = log_all(&env);
    assert_eq!(stored(&log, "/w/one/s1")["project"], "alpha");
    assert!(
        log.iter().all(|h| !h.to_string().contains("<<LAST_")),
        "{log:#?}"
    );
}

/// `summaries?branches=a,b` counts every branch listed (it used to take the first only), and
/// `project=` may list several too.
#[test]
fn summaries_filter_by_several_branches_and_projects() {
    let (tz, offset) = noon_zone();
    let (_env, api) = daemon(TestEnv::with_tz(&tz));
    let t0 = (now_secs() - 1200.0).floor();
    let mut items = Vec::new();
    for (i, (project, branch)) in [("p", "a"), ("p", "b"), ("p", "c"), ("q", "a")]
        .iter()
        .enumerate()
    {
        for k in 0..2 {
            let mut h = hb(
                t0 + (i * 200 + k * 60) as f64,
                &format!("/w/f/{i}"),
                project,
                "Rust",
            );
            h["branch"] = json!(branch);
            items.push(h);
        }
    }
    api.post_bulk(BULK, &items);
    let today = local_date(now_secs(), offset);
    let seconds = |q: &str| {
        let v = api.get_json(&format!(
            "/api/v1/users/current/summaries?start={today}&end={today}&{q}"
        ));
        v["cumulative_total"]["seconds"].as_f64().unwrap_or(-1.0)
    };
    // Each pair is 60 s, plus the gap to the next pair (under the timeout) on the first's keys.
    let all = seconds("x=1");
    assert_eq!(all, 60.0 * 4.0 + 140.0 * 3.0, "all");
    assert_eq!(seconds("branches=a"), 200.0 + 60.0);
    assert_eq!(seconds("branches=a,b"), 200.0 * 2.0 + 60.0);
    assert_eq!(seconds("branches=a,b,c"), all);
    assert_eq!(seconds("project=p,q"), all);
    assert_eq!(seconds("project=q"), 60.0);
    assert_eq!(seconds("project=p&branches=a"), 200.0);
    assert_eq!(seconds("branches=nope"), 0.0);
}

/// Time per dependency: a file's time counts for each dependency its heartbeats listed that
/// day, in `summaries` per day and in `stats` over the range (they always answered `[]`).
#[test]
fn summaries_and_stats_give_time_per_dependency() {
    let (tz, offset) = noon_zone();
    let (_env, api) = daemon(TestEnv::with_tz(&tz));
    let t0 = (now_secs() - 1200.0).floor();
    let beat = |t: f64, entity: &str, deps: Value| {
        let mut h = hb(t0 + t, entity, "deps", "Rust");
        h["dependencies"] = deps;
        h
    };
    // a.rs: 0..300 s (300 s credited, its last gap ends at b.rs); b.rs: 300..420 (120 s).
    api.post_bulk(
        BULK,
        &[
            beat(0.0, "/w/a.rs", json!(["serde", "tokio"])),
            beat(200.0, "/w/a.rs", json!("serde")),
            beat(300.0, "/w/b.rs", json!(["serde"])),
            beat(420.0, "/w/b.rs", Value::Null),
        ],
    );
    let today = local_date(now_secs(), offset);
    let s = api.get_json(&format!(
        "/api/v1/users/current/summaries?start={today}&end={today}"
    ));
    let day = &s["data"][0];
    assert_eq!(
        names_and_seconds(&day["entities"]),
        pairs(&[("/w/a.rs", 300.0), ("/w/b.rs", 120.0)]),
        "{day}"
    );
    assert_eq!(
        names_and_seconds(&day["dependencies"]),
        pairs(&[("serde", 420.0), ("tokio", 300.0)]),
        "{day}"
    );
    assert_item(
        &day["dependencies"][1],
        "tokio",
        300.0,
        "5 mins",
        "0:05:00",
        71.43,
    );
    let stats = api.get_json("/api/v1/users/current/stats/last_7_days");
    assert_eq!(
        names_and_seconds(&stats["data"]["dependencies"]),
        pairs(&[("serde", 420.0), ("tokio", 300.0)]),
        "{stats}"
    );
    // Another day without dependencies lists none.
    let yesterday = api.get_json("/api/v1/users/current/summaries?start=yesterday&end=yesterday");
    assert_eq!(yesterday["data"][0]["dependencies"], json!([]));
}

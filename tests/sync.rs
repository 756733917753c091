//! Sync end to end (issue 11): real daemons, each in its own `TIMEFORGED_DIR`, syncing through
//! a real `timeforged serve` on loopback — heartbeats, intervals and git records of each
//! machine reach the others once; privacy options; forwarding to a WakaTime-compatible API;
//! a poisoned record, a revoked key, and a server that goes away.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use common::{Conn, TestEnv, hb, show, stderr, wait_for};
use serde_json::{Value, json};
use server::{Server, add_user, user_ok};

/// A past week, inside the default ingest window of every test server.
const DAY0: f64 = 1_762_041_600.0; // 2025-11-02 00:00:00 UTC

/// A daemon syncing with `url` as the owner of `key`, plus extra config.
fn machine(url: &str, key: &str, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    std::fs::create_dir_all(&env.base).expect("create the instance directory");
    std::fs::write(
        env.config_file(),
        format!("[sync]\nurl = {url:?}\napi_key = {key:?}\nauto = false\n{extra}"),
    )
    .expect("write config.toml");
    env.start_daemon();
    env
}

fn beat(t: f64, entity: &str, project: &str, machine: &str) -> Value {
    let mut h = hb(t, entity, project, "Rust");
    h["machine"] = json!(machine);
    h["branch"] = json!("main");
    h
}

/// `tf sync now --json` (asserting it succeeded).
fn sync_now(env: &TestEnv) -> Value {
    let out = env.tf(["sync", "now", "--json"]);
    assert!(out.status.success(), "tf sync now: {}", show(&out));
    serde_json::from_slice(&out.stdout).expect("sync JSON")
}

fn moved(v: &Value, what: &str) -> u64 {
    v[0]["moved"][what].as_u64().unwrap_or(0)
}

fn week_report(env: &TestEnv, by: &[&str]) -> Value {
    env.connect().report("2025-11-02", "2025-11-08", by, None)
}

fn total(report: &Value) -> f64 {
    report["total_seconds"].as_f64().unwrap_or(-1.0)
}

fn url(srv: &Server) -> String {
    format!("http://{}", srv.addr)
}

fn server_env() -> (TestEnv, String) {
    let env = TestEnv::new();
    let db = env.scratch().join("server.db").display().to_string();
    (env, db)
}

fn server_settings() -> Vec<(&'static str, &'static str)> {
    vec![("TIMEFORGED_HTTP__MAX_HEARTBEAT_AGE_DAYS", "3650")]
}

#[test]
fn each_machine_sees_every_machines_records_once() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "ada");
    let srv = Server::start(&senv, &db, &server_settings());
    let a = machine(&url(&srv), &key, "");
    let b = machine(&url(&srv), &key, "");
    let (mut ca, mut cb) = (Conn::connect(&a.socket()), Conn::connect(&b.socket()));
    let t = DAY0 + 9.0 * 3600.0;
    let on_a: Vec<Value> = (0..30)
        .map(|i| beat(t + i as f64 * 60.0, "/a/lib.rs", "forge", "laptop"))
        .collect();
    let on_b: Vec<Value> = (0..20)
        .map(|i| beat(t + 7200.0 + i as f64 * 60.0, "/b/ui.ts", "web", "desktop"))
        .collect();
    assert_eq!(ca.heartbeats(&on_a)["accepted"], 30);
    assert_eq!(cb.heartbeats(&on_b)["accepted"], 20);
    // An interval on A, and a commit on B (through the git event request, as a hook sends it).
    let iv = ca.request(json!({"v": 1, "type": "add_interval", "interval": {
        "start": t + 4.0 * 3600.0, "end": t + 5.0 * 3600.0, "project": "standup", "note": "daily"}}));
    assert_eq!(iv["type"], "interval_added", "{iv}");
    let repo = b.scratch().join("web");
    git2::Repository::init(&repo).expect("git init");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let commit = cb.request(
        json!({"v": 1, "type": "git", "kind": "commit", "time": t + 7300.0,
        "repo": repo.display().to_string(), "branch": "main", "head": sha, "summary": "Ship it"}),
    );
    assert_eq!(commit["type"], "ok", "{commit}");

    let pushed = sync_now(&a);
    assert_eq!(moved(&pushed, "pushed"), 31, "{pushed}");
    let both = sync_now(&b);
    // B's 20 heartbeats, its commit, its switch to main, and the git heartbeat that marks them.
    assert_eq!(moved(&both, "pushed"), 23, "{both}");
    assert_eq!(moved(&both, "pulled"), 31, "{both}");
    let back = sync_now(&a);
    assert_eq!(moved(&back, "pulled"), 23, "{back}");
    assert_eq!(moved(&back, "pushed"), 0, "nothing is sent twice: {back}");
    // Again: nothing moves.
    let again = sync_now(&b);
    assert_eq!(
        (moved(&again, "pushed"), moved(&again, "pulled")),
        (0, 0),
        "{again}"
    );

    let (ra, rb) = (
        week_report(&a, &["machine", "project"]),
        week_report(&b, &["machine", "project"]),
    );
    assert_eq!(ra, rb, "both machines report the same");
    assert_eq!(total(&ra), 29.0 * 60.0 + 19.0 * 60.0 + 3600.0);
    // The commit's own heartbeat (at +7300 s, on this host) takes 20 s of desktop's time.
    assert_eq!(
        common::row_seconds(&ra, "machine", "desktop"),
        19.0 * 60.0 - 20.0
    );
    assert_eq!(common::row_seconds(&ra, "project", "standup"), 3600.0);
    // Each heartbeat is stored once on each store.
    assert_eq!(ca.count(), 51);
    assert_eq!(cb.count(), 51);
    // The server has all of them, once, for ada.
    let api = srv.api(&key);
    let day = api.get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(day["data"].as_array().map_or(0, Vec::len), 51);
    // B's commit is A's too: `tf commits` covers every machine.
    let commits = a.tf_json([
        "commits",
        "--from",
        "2025-11-01",
        "--to",
        "2025-11-08",
        "--json",
    ]);
    assert!(
        commits.as_array().is_some_and(|l| l
            .iter()
            .any(|c| c["sha"] == sha && c["summary"] == "Ship it")),
        "{commits}"
    );
    // Status says where things stand.
    let status = a.tf_json(["sync", "status", "--json"]);
    assert_eq!(status[0]["pending"], 0, "{status}");
    assert!(status[0]["last_success"].is_number(), "{status}");
    let text = a.tf_ok(["status"]);
    assert!(
        text.contains("machine ") && text.contains("synced"),
        "{text}"
    );
}

/// With the privacy options, no hidden name reaches the server's database.
#[test]
fn hidden_names_never_reach_the_server() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "bo");
    let srv = Server::start(&senv, &db, &server_settings());
    let a = machine(
        &url(&srv),
        &key,
        "hide_file_names = true\nhide_branch_names = true\nhide_project_names = true\nexclude_projects = [\"client-*\"]\n",
    );
    let mut c = Conn::connect(&a.socket());
    let t = DAY0 + 10.0 * 3600.0;
    let mut items: Vec<Value> = (0..10)
        .map(|i| {
            beat(
                t + i as f64 * 60.0,
                "/home/bo/secret-plans/ledger.rs",
                "topsecret",
                "laptop",
            )
        })
        .collect();
    for h in &mut items {
        h["branch"] = json!("feature/hidden-branch");
    }
    items.push(beat(t + 3600.0, "/c/x.rs", "client-acme", "laptop"));
    assert_eq!(c.heartbeats(&items)["accepted"], 11);
    let r = sync_now(&a);
    assert_eq!(moved(&r, "pushed"), 10, "{r}");
    srv.stop();
    let raw = std::fs::read(senv.scratch().join("server.db")).expect("read the server database");
    let text = String::from_utf8_lossy(&raw);
    for secret in [
        "topsecret",
        "secret-plans",
        "ledger",
        "hidden-branch",
        "client-acme",
    ] {
        assert!(!text.contains(secret), "{secret} reached the server");
    }
    assert!(
        text.contains("HIDDEN.rs"),
        "file names are replaced, not dropped"
    );
}

/// A record the server refuses (here one written into the daemon's database behind its back,
/// two hours in the future) is logged and skipped; the rest still arrive.
#[test]
fn a_poisoned_record_does_not_stall_the_rest() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "cy");
    let srv = Server::start(&senv, &db, &server_settings());
    let a = machine(&url(&srv), &key, "");
    let t = DAY0 + 13.0 * 3600.0;
    let mut c = Conn::connect(&a.socket());
    assert_eq!(
        c.heartbeats(&[
            beat(t, "/x.rs", "p", "m"),
            beat(t + 60.0, "/x.rs", "p", "m")
        ])["accepted"],
        2
    );
    let r = sync_now(&a);
    assert_eq!(moved(&r, "pushed"), 2, "{r}");
    {
        let store = timeforged::store::open(a.database().to_str().unwrap()).expect("open");
        let mut w = store.writer().expect("writer");
        let scope = timeforged::store::Scope {
            user: 1,
            calendar: timeforged::calendar::Calendar::new(jiff::tz::TimeZone::UTC),
            rules: timeforged::timeline::Rules::timeforged(15 * 60_000),
        };
        let mut poisoned =
            timeforged::model::Heartbeat::new(common::now_secs() + 7200.0, "/poison.rs");
        poisoned.project = Some("p".into());
        let fine = timeforged::model::Heartbeat::new(t + 120.0, "/fine.rs");
        let from = timeforged::store::Provenance {
            origin: None,
            journal: true,
        };
        w.insert(&[timeforged::store::Batch {
            scope: &scope,
            beats: &[poisoned, fine],
            from: &from,
        }])
        .expect("insert behind the daemon's back");
    }
    let r = sync_now(&a);
    assert_eq!((moved(&r, "pushed"), moved(&r, "rejected")), (1, 1), "{r}");
    assert_eq!(
        r[0]["pending"], 0,
        "nothing waits behind the refused record: {r}"
    );
    let day = srv
        .api(&key)
        .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(day["data"].as_array().map_or(0, Vec::len), 3);
}

#[test]
fn a_revoked_key_shows_in_sync_status_and_a_new_key_resumes() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "dee");
    let srv = Server::start(&senv, &db, &server_settings());
    let mut a = machine(&url(&srv), &key, "");
    let mut c = Conn::connect(&a.socket());
    let t = DAY0 + 11.0 * 3600.0;
    assert_eq!(c.heartbeats(&[beat(t, "/k.rs", "k", "m")])["accepted"], 1);
    sync_now(&a);
    let new_key = user_ok(&senv, &db, &["key", "rotate", "dee"])
        .trim()
        .to_string();
    assert_eq!(
        c.heartbeats(&[beat(t + 60.0, "/k.rs", "k", "m")])["accepted"],
        1
    );
    let out = a.tf(["sync", "now"]);
    assert!(
        !out.status.success(),
        "a refused key is an error: {}",
        show(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused the API key"), "{text}");
    let status = a.tf_json(["sync", "status", "--json"]);
    assert!(
        status[0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("API key"),
        "{status}"
    );
    assert_eq!(status[0]["pending"], 1, "{status}");
    // Fix the key: the waiting record goes.
    a.terminate_daemon();
    std::fs::write(
        a.config_file(),
        format!(
            "[sync]\nurl = {:?}\napi_key = {new_key:?}\nauto = false\n",
            url(&srv)
        ),
    )
    .unwrap();
    a.start_daemon();
    let r = sync_now(&a);
    assert!(r[0]["last_error"].is_null(), "{r}");
    assert_eq!(moved(&r, "pushed"), 1, "{r}");
    assert_eq!(r[0]["pending"], 0, "{r}");
    let day = srv
        .api(&new_key)
        .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(day["data"].as_array().map_or(0, Vec::len), 2);
}

/// The daemon keeps recording while the server is down, and sends it all once it is back.
#[test]
fn records_made_while_the_server_is_down_arrive_later_once() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "eve");
    let srv = Server::start(&senv, &db, &server_settings());
    let addr = srv.addr;
    let a = machine(&url(&srv), &key, "");
    srv.stop();
    let mut c = Conn::connect(&a.socket());
    let t = DAY0 + 6.0 * 3600.0;
    // A "day" of heartbeats while the server is away.
    let items: Vec<Value> = (0..600)
        .map(|i| beat(t + i as f64 * 60.0, "/d.rs", "day", "m"))
        .collect();
    assert_eq!(c.heartbeats(&items)["accepted"], 600);
    let out = a.tf(["sync", "now"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cannot reach the server"),
        "{}",
        show(&out)
    );
    // Back on the same address.
    let srv = Server::start_on(&senv, &db, &server_settings(), addr);
    let r = wait_for("the daemon to reach the server again", || {
        let out = a.tf(["sync", "now", "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice::<Value>(&out.stdout).unwrap())
    });
    assert_eq!(moved(&r, "pushed"), 600, "{r}");
    let day = srv
        .api(&key)
        .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(day["data"].as_array().map_or(0, Vec::len), 600);
    let again = sync_now(&a);
    assert_eq!(moved(&again, "pushed"), 0);
}

/// Two users' machines never see each other's data.
#[test]
fn two_users_machines_stay_apart() {
    let (senv, db) = server_env();
    let k1 = add_user(&senv, &db, "fay");
    let k2 = add_user(&senv, &db, "gus");
    let srv = Server::start(&senv, &db, &server_settings());
    let a = machine(&url(&srv), &k1, "");
    let b = machine(&url(&srv), &k2, "");
    let t = DAY0 + 12.0 * 3600.0;
    assert_eq!(
        Conn::connect(&a.socket()).heartbeats(&[
            beat(t, "/f.rs", "fay-proj", "m"),
            beat(t + 60.0, "/f.rs", "fay-proj", "m")
        ])["accepted"],
        2
    );
    sync_now(&a);
    let r = sync_now(&b);
    assert_eq!(moved(&r, "pulled"), 0, "{r}");
    assert_eq!(Conn::connect(&b.socket()).count(), 0);
}

/// Forwarding to a WakaTime-compatible API (here another TimeForged daemon's) gives the same
/// totals there, in chunks of at most 25; pulled heartbeats are never forwarded.
#[test]
fn forwarding_to_a_wakatime_api_gives_the_same_totals() {
    let mut target = TestEnv::new();
    target.set_env("TIMEFORGED_HTTP__MAX_HEARTBEAT_AGE_DAYS", "3650");
    target.start_daemon();
    let api = http::Api::of(&target);
    let mut src = TestEnv::new();
    std::fs::create_dir_all(&src.base).unwrap();
    std::fs::write(
        src.config_file(),
        format!(
            "[[forward]]\nurl = {:?}\napi_key = {:?}\n",
            api.url("/api/v1"),
            api.key
        ),
    )
    .unwrap();
    src.start_daemon();
    let mut c = Conn::connect(&src.socket());
    let t = DAY0 + 8.0 * 3600.0;
    let items: Vec<Value> = (0..60)
        .map(|i| beat(t + i as f64 * 30.0, "/w.rs", "fwd", "m"))
        .collect();
    assert_eq!(c.heartbeats(&items)["accepted"], 60);
    let r = sync_now(&src);
    assert_eq!(moved(&r, "pushed"), 60, "{r}");
    assert_eq!(
        total(&week_report(&src, &["project"])),
        total(&week_report(&target, &["project"]))
    );
    assert_eq!(Conn::connect(&target.socket()).count(), 60);
    let again = sync_now(&src);
    assert_eq!(moved(&again, "pushed"), 0, "{again}");
}

#[test]
fn bad_sync_config_is_a_clear_error() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.base).unwrap();
    for (text, want) in [
        (
            "[sync]\nurl = \"tf.example.com\"\napi_key = \"k\"\n",
            "sync.url",
        ),
        (
            "[sync]\nurl = \"https://tf.example.com\"\napi_key = \"\"\n",
            "sync.api_key is empty",
        ),
        (
            "[[forward]]\nurl = \"https://w/api\"\napi_key = \"k\"\ncategories = [\"napping\"]\n",
            "not a category",
        ),
        (
            "[sync]\nurl = \"https://x\"\napi_key = \"k\"\nhide_everything = true\n",
            "hide_everything",
        ),
    ] {
        std::fs::write(env.config_file(), text).unwrap();
        let out = env.tf(["config", "show"]);
        assert!(!out.status.success(), "{text}");
        assert!(stderr(&out).contains(want), "{text}: {}", show(&out));
    }
    // Without targets, tf sync says what to add.
    std::fs::write(env.config_file(), "").unwrap();
    let out = env.tf(["sync", "status"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[sync]"), "{}", show(&out));
}

/// Through a proxy that cuts requests and answers, delays, answers 429, 500 and HTML: sync
/// retries until everything is there, and nothing is lost or doubled.
#[test]
fn faults_on_the_way_lose_and_double_nothing() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "hal");
    let srv = Server::start(&senv, &db, &server_settings());
    let proxy = server::FaultProxy::start(srv.addr);
    let a = machine(&format!("http://{}", proxy.addr), &key, "");
    let b = machine(&url(&srv), &key, "");
    let t = DAY0 + 14.0 * 3600.0;
    let items: Vec<Value> = (0..1200)
        .map(|i| beat(t + i as f64 * 10.0, "/f.rs", "faulty", "laptop"))
        .collect();
    assert_eq!(
        Conn::connect(&a.socket()).heartbeats(&items)["accepted"],
        1200
    );
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>".to_string();
    for fault in [
        server::Fault::CutRequest(100),
        server::Fault::DropAnswer,
        server::Fault::CutAnswer(40),
        server::Fault::Answer(500, vec![], r#"{"error":"boom"}"#.into()),
        server::Fault::Answer(500, vec![], "".into()),
        server::Fault::Answer(429, vec![("Retry-After".into(), "1".into())], "".into()),
        server::Fault::Answer(
            200,
            vec![("Content-Type".into(), "text/html".into())],
            html.clone(),
        ),
        server::Fault::Delay(std::time::Duration::from_millis(300)),
        server::Fault::DropAnswer,
    ] {
        proxy.then(Some("POST"), fault);
    }
    proxy.then(
        Some("GET"),
        server::Fault::Answer(200, vec![], "not json".into()),
    );
    proxy.then(Some("GET"), server::Fault::CutAnswer(10));
    let mut errors = Vec::new();
    let done = wait_for("sync to get through the faults", || {
        let out = a.tf(["sync", "now", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        if let Some(e) = v[0]["last_error"].as_str() {
            errors.push(e.to_string());
        }
        (out.status.success() && proxy.pending() == 0).then_some(v)
    });
    assert_eq!(done[0]["pending"], 0, "{done}");
    let text = errors.join("\n");
    for want in [
        "cannot reach the server",
        "500",
        "slow down",
        "not understood",
    ] {
        assert!(text.contains(want), "no {want:?} among the errors:\n{text}");
    }
    let day = srv
        .api(&key)
        .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(
        day["data"].as_array().map_or(0, Vec::len),
        1200,
        "each heartbeat once"
    );
    let r = sync_now(&b);
    assert_eq!(moved(&r, "pulled"), 1200, "{r}");
}

/// The server killed mid-push and started again: every heartbeat arrives exactly once.
#[test]
fn a_server_killed_mid_push_gets_everything_once() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "ian");
    let srv = Server::start(&senv, &db, &server_settings());
    let addr = srv.addr;
    let a = machine(&url(&srv), &key, "");
    let t = DAY0 + 15.0 * 3600.0;
    let items: Vec<Value> = (0..20_000)
        .map(|i| beat(t + i as f64, &format!("/k/{}.rs", i % 9), "kill", "laptop"))
        .collect();
    for chunk in items.chunks(5000) {
        assert_eq!(
            Conn::connect(&a.socket()).heartbeats(chunk)["accepted"],
            5000
        );
    }
    let syncing = {
        let cmd = a.tf_cmd(["sync", "now"]);
        let mut cmd = cmd;
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.spawn().expect("tf sync now")
    };
    let api = srv.api(&key);
    wait_for("the first pages to arrive", || {
        let day = api.get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
        (day["data"].as_array().map_or(0, Vec::len) > 0).then_some(())
    });
    srv.kill();
    let _ = syncing.wait_with_output();
    let srv = Server::start_on(&senv, &db, &server_settings(), addr);
    let r = wait_for("the rest to arrive", || {
        let v = sync_now(&a);
        (v[0]["pending"] == 0 && v[0]["last_error"].is_null()).then_some(v)
    });
    let day = srv
        .api(&key)
        .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(day["data"].as_array().map_or(0, Vec::len), 20_000, "{r}");
}

/// `kill -9` of a daemon while it syncs loses nothing: it resumes from what it saved.
#[test]
fn a_daemon_killed_while_syncing_loses_nothing() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "joy");
    let srv = Server::start(&senv, &db, &server_settings());
    let proxy = server::FaultProxy::start(srv.addr);
    let mut a = machine(&format!("http://{}", proxy.addr), &key, "");
    let t = DAY0 + 16.0 * 3600.0;
    let items: Vec<Value> = (0..5000)
        .map(|i| beat(t + i as f64, "/j.rs", "joy", "laptop"))
        .collect();
    assert_eq!(
        Conn::connect(&a.socket()).heartbeats(&items)["accepted"],
        5000
    );
    // Slow pushes, so the kill lands in the middle.
    for _ in 0..20 {
        proxy.then(
            Some("POST"),
            server::Fault::Delay(std::time::Duration::from_millis(150)),
        );
    }
    let syncing = a.tf_cmd(["sync", "now"]).spawn().expect("tf sync now");
    wait_for("a few pushes", || {
        (proxy.seen.lock().map(|s| s.len()).unwrap_or(0) >= 3).then_some(())
    });
    let pid = a.daemon.as_ref().expect("daemon").id();
    common::signal(pid, libc::SIGKILL);
    let _ = syncing.wait_with_output();
    let _ = a.daemon.take().map(|mut c| c.wait());
    a.start_daemon();
    let r = wait_for("everything to be sent", || {
        let v = sync_now(&a);
        (v[0]["pending"] == 0 && v[0]["last_error"].is_null()).then_some(v)
    });
    let day = srv
        .api(&key)
        .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    assert_eq!(day["data"].as_array().map_or(0, Vec::len), 5000, "{r}");
}

/// A server that takes its time holds up nothing: `tf status` and ingest answer while the
/// sync thread waits.
#[test]
fn a_slow_server_blocks_nothing_else() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "kai");
    let srv = Server::start(&senv, &db, &server_settings());
    let proxy = server::FaultProxy::start(srv.addr);
    let a = machine(&format!("http://{}", proxy.addr), &key, "");
    proxy.then(
        None,
        server::Fault::Delay(std::time::Duration::from_secs(4)),
    );
    let mut syncing = a.tf_cmd(["sync", "now"]).spawn().expect("tf sync now");
    wait_for("the slow request to start", || {
        (!proxy.seen.lock().map(|s| s.is_empty()).unwrap_or(true)).then_some(())
    });
    let st = a.tf(["status"]);
    assert!(st.status.success(), "{}", show(&st));
    let r = Conn::connect(&a.socket()).heartbeats(&[beat(DAY0 + 60.0, "/s.rs", "slow", "m")]);
    assert_eq!(r["accepted"], 1, "{r}");
    assert!(
        syncing.try_wait().expect("poll").is_none(),
        "status and ingest answered while sync still waited"
    );
    let _ = syncing.wait();
}

/// A pulled record of a schema this version does not know is skipped with a log line; the
/// others are stored.
#[test]
fn an_unknown_pulled_record_is_skipped_with_a_log_line() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "lou");
    let srv = Server::start(&senv, &db, &server_settings());
    let proxy = server::FaultProxy::start(srv.addr);
    let a = machine(&format!("http://{}", proxy.addr), &key, "");
    let good = beat(DAY0 + 3600.0, "/u.rs", "known", "desktop");
    let page = json!({"schema": 1, "next": 3, "more": false, "records": [
        {"seq": 1, "origin": "other-machine", "schema": 2, "record": {"kind": "heartbeat", "time": DAY0}},
        {"seq": 2, "origin": "other-machine", "schema": 1, "record": {"kind": "hologram", "x": 1}},
        {"seq": 3, "origin": "other-machine", "schema": 1, "record": {
            "kind": "heartbeat", "time": good["time"], "entity": "/u.rs", "project": "known", "machine": "desktop"}},
    ]});
    proxy.then(
        Some("GET"),
        server::Fault::Answer(200, vec![], page.to_string()),
    );
    let r = sync_now(&a);
    assert_eq!(moved(&r, "pulled"), 1, "{r}");
    let log = std::fs::read_to_string(a.log()).unwrap_or_default();
    assert!(log.contains("schema 2"), "{log}");
    assert!(log.contains("hologram"), "{log}");
}

/// Without `tf sync now`, new records reach the other machine by themselves.
#[test]
fn sync_runs_by_itself() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "max");
    let srv = Server::start(&senv, &db, &server_settings());
    let mut a = TestEnv::new();
    std::fs::create_dir_all(&a.base).unwrap();
    std::fs::write(
        a.config_file(),
        format!("[sync]\nurl = {:?}\napi_key = {key:?}\n", url(&srv)),
    )
    .unwrap();
    a.start_daemon();
    let t = DAY0 + 17.0 * 3600.0;
    assert_eq!(
        Conn::connect(&a.socket()).heartbeats(&[beat(t, "/m.rs", "auto", "m")])["accepted"],
        1
    );
    let api = srv.api(&key);
    wait_for("the heartbeat to reach the server on its own", || {
        let day = api.get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
        (day["data"].as_array().map_or(0, Vec::len) == 1).then_some(())
    });
}

/// A server whose clock is two hours off (as seen from a client whose clock is two hours
/// ahead) is reported by `tf sync status`.
#[test]
fn clock_skew_is_reported() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "ned");
    let srv = Server::start(&senv, &db, &server_settings());
    let proxy = server::FaultProxy::start(srv.addr);
    let a = machine(&format!("http://{}", proxy.addr), &key, "");
    let behind = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    let date = jiff::fmt::rfc2822::to_string(&behind.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .expect("an HTTP date")
        .replace("+0000", "GMT");
    let page = json!({"schema": 1, "next": 0, "more": false, "records": []});
    proxy.then(
        Some("GET"),
        server::Fault::Answer(200, vec![("Date".into(), date)], page.to_string()),
    );
    sync_now(&a);
    let status = a.tf_json(["sync", "status", "--json"]);
    let skew = status[0]["clock_skew_seconds"].as_i64().unwrap_or(0);
    assert!((-7300..=-7100).contains(&skew), "{status}");
    let text = a.tf_ok(["sync", "status"]);
    assert!(text.contains("clock") && text.contains("behind"), "{text}");
}

/// Corrections made on one machine (a forgotten project, an edited and a removed interval)
/// reach the server and the user's other machines.
#[test]
fn corrections_reach_the_server_and_the_other_machines() {
    let (senv, db) = server_env();
    let key = add_user(&senv, &db, "ada");
    let srv = Server::start(&senv, &db, &server_settings());
    let a = machine(&url(&srv), &key, "");
    let b = machine(&url(&srv), &key, "");
    let mut ca = Conn::connect(&a.socket());
    let t = DAY0 + 9.0 * 3600.0;
    let beats: Vec<Value> = (0..10)
        .flat_map(|i| {
            let at = t + i as f64 * 60.0;
            [
                beat(at, "/a/lib.rs", "forge", "laptop"),
                beat(at + 1.0, "/a/secret.rs", "private", "laptop"),
            ]
        })
        .collect();
    assert_eq!(ca.heartbeats(&beats)["accepted"], 20);
    let add = |start: f64, project: &str| {
        let r = Conn::connect(&a.socket()).request(json!({"v": 1, "type": "add_interval",
            "interval": {"start": start, "end": start + 1800.0, "project": project}}));
        assert_eq!(r["type"], "interval_added", "{r}");
        r["id"].as_i64().expect("interval id")
    };
    let kept = add(t + 3.0 * 3600.0, "standup");
    let removed = add(t + 5.0 * 3600.0, "retro");
    sync_now(&a);
    sync_now(&b);
    assert_eq!(
        total(&week_report(&b, &["project"])),
        total(&week_report(&a, &["project"]))
    );
    // Interleaved a second after each forge heartbeat, private takes 59 s of every minute.
    assert_eq!(
        common::row_seconds(&week_report(&b, &["project"]), "project", "private"),
        9.0 * 59.0
    );

    let forgot = a.tf_ok(["forget", "--project", "private", "--yes"]);
    assert!(
        forgot.contains("forgot 10 heartbeats of project private"),
        "{forgot}"
    );
    let edited = a.tf_ok([
        "intervals",
        "edit",
        &kept.to_string(),
        "--note",
        "moved",
        "--to",
        "2025-11-02 13:00",
    ]);
    assert!(
        edited.contains(&format!("changed interval #{kept}")),
        "{edited}"
    );
    a.tf_ok(["intervals", "rm", &removed.to_string()]);
    let pushed = sync_now(&a);
    assert_eq!(
        moved(&pushed, "pushed"),
        4,
        "forget, removal and new version, removal: {pushed}"
    );
    let pulled = sync_now(&b);
    assert_eq!(moved(&pulled, "pulled"), 4, "{pulled}");

    let (ra, rb) = (week_report(&a, &["project"]), week_report(&b, &["project"]));
    assert_eq!(
        ra, rb,
        "both machines report the same after the corrections"
    );
    assert_eq!(common::row_seconds(&rb, "project", "private"), 0.0);
    assert_eq!(common::row_seconds(&rb, "project", "forge"), 9.0 * 60.0);
    assert_eq!(common::row_seconds(&rb, "project", "retro"), 0.0);
    assert_eq!(common::row_seconds(&rb, "project", "standup"), 3600.0);
    let on_b = b.tf_json([
        "intervals",
        "--from",
        "2025-11-02",
        "--to",
        "2025-11-02",
        "--json",
    ]);
    let list = on_b.as_array().expect("intervals");
    assert_eq!(list.len(), 1, "{on_b}");
    assert_eq!(list[0]["note"], "moved", "{on_b}");
    // The server forgot them too.
    let api = srv.api(&key);
    let day = api.get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
    let projects: Vec<&str> = day["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|h| h["project"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(projects.len(), 10, "{day}");
    assert!(projects.iter().all(|p| *p == "forge"), "{projects:?}");
}

//! The team server end to end (issue 10): `timeforged serve` on SQLite and on a real
//! PostgreSQL server, users and keys from `timeforged user`, isolation between users on every
//! endpoint, the real WakaTime client with a user's key, identical reports from both backends,
//! restarts, a database outage (through a proxy that cuts it off), and bad input.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use common::{TestEnv, show, stderr, wait_for};
use http::{Api, WakaClient, request, source_file};
use serde_json::{Value, json};
use server::{PgDb, Proxy, Server, add_user, user_cmd, user_ok};

const BULK: &str = "/api/v1/users/current/heartbeats.bulk";

/// A fixed past week, inside the default 365-day ingest window.
const DAY0: f64 = 1_762_041_600.0; // 2025-11-02 00:00:00 UTC
const DAY: f64 = 86_400.0;

fn sqlite_db(env: &TestEnv) -> String {
    env.scratch().join("server.db").display().to_string()
}

fn beat(t: f64, entity: &str, project: &str, branch: &str) -> Value {
    json!({"time": t, "entity": entity, "type": "file", "project": project,
           "branch": branch, "language": "Rust", "category": "coding"})
}

/// Sets the ingest window wide enough for [`DAY0`] whatever today is.
fn settings() -> Vec<(&'static str, &'static str)> {
    vec![("TIMEFORGED_HTTP__MAX_HEARTBEAT_AGE_DAYS", "3650")]
}

#[test]
fn each_user_sees_only_their_own_data_on_every_endpoint() {
    // Noon here, so "today" holds the heartbeats of the last minutes.
    let (tz, offset) = common::noon_zone();
    let env = TestEnv::with_tz(&tz);
    let db = sqlite_db(&env);
    let alice = add_user(&env, &db, "alice");
    let bob = add_user(&env, &db, "bob");
    let srv = Server::start(&env, &db, &settings());
    let (a, b) = (srv.api(&alice), srv.api(&bob));
    let now = common::now_secs().floor() - 300.0;
    a.post_bulk(
        BULK,
        &[
            beat(now, "/a/secret.rs", "alice-proj", "a-branch"),
            beat(now + 60.0, "/a/secret.rs", "alice-proj", "a-branch"),
        ],
    );
    b.post_bulk(
        BULK,
        &[
            beat(now, "/b/x.rs", "bob-proj", "main"),
            beat(now + 120.0, "/b/x.rs", "bob-proj", "main"),
        ],
    );
    let today = common::local_date(now, offset);
    let reads = [
        "/api/v1/users/current/statusbar/today".to_string(),
        format!("/api/v1/users/current/summaries?start={today}&end={today}"),
        "/api/v1/users/current/stats/last_7_days".to_string(),
        "/api/v1/users/current/all_time_since_today".to_string(),
        "/api/v1/users/current/projects".to_string(),
        "/api/v1/users/current".to_string(),
        format!("/api/v1/users/current/heartbeats?date={today}"),
        "/api/compat/wakatime/v1/users/current/stats".to_string(),
    ];
    for path in &reads {
        let (ja, jb) = (a.get_json(path).to_string(), b.get_json(path).to_string());
        assert!(
            ja.contains("alice") || path.contains("statusbar") || path.contains("all_time"),
            "{path}: {ja}"
        );
        for secret in ["bob-proj", "/b/x.rs", "\"bob\""] {
            assert!(!ja.contains(secret), "alice sees {secret} at {path}: {ja}");
        }
        for secret in ["alice-proj", "/a/secret.rs", "a-branch", "\"alice\""] {
            assert!(!jb.contains(secret), "bob sees {secret} at {path}: {jb}");
        }
    }
    // Totals are each user's own: 60 s and 120 s.
    let total = |api: &Api| {
        api.get_json("/api/v1/users/current/statusbar/today")["data"]["grand_total"]["total_seconds"]
            .as_f64()
            .unwrap_or(-1.0)
    };
    assert_eq!((total(&a), total(&b)), (60.0, 120.0));
    // Another user's name in the path is refused, with a JSON error; one's own name works.
    for path in [
        "/api/v1/users/bob/statusbar/today",
        "/api/v1/users/bob/heartbeats.bulk",
        "/api/v1/users/bob",
    ] {
        let r = if path.ends_with(".bulk") {
            a.post(path, &json!([beat(now, "/x", "p", "m")]))
        } else {
            a.get(path)
        };
        let msg = r.expect_error(403);
        assert!(msg.contains("bob"), "{path}: {msg}");
    }
    assert_eq!(a.get("/api/v1/users/alice/statusbar/today").status, 200);
    srv.stop();
}

#[test]
fn keys_wrong_revoked_rotated_and_read_only() {
    let env = TestEnv::new();
    let db = sqlite_db(&env);
    let key = add_user(&env, &db, "carol");
    let srv = Server::start(&env, &db, &settings());
    let now = common::now_secs().floor() - 60.0;
    let item = json!([beat(now, "/c.rs", "c", "main")]);
    assert_eq!(srv.api(&key).post(BULK, &item).status, 201);

    let wrong = srv.api("8f14e45f-ceea-467f-a7c1-5e8c0c8f2b1d");
    assert!(
        wrong
            .post(BULK, &item)
            .expect_error(401)
            .contains("invalid API key")
    );
    let none = request(srv.addr, "GET", "/api/v1/users/current", &[], None);
    assert!(none.expect_error(401).contains("missing API key"));
    // A key in a form no client uses says what was wrong with the form.
    for (auth, want) in [
        (format!("Token {key}"), "scheme \"Token\" is not supported"),
        (key.clone(), "has no scheme"),
        (format!("Basic {key}"), "neither a key nor base64"),
    ] {
        let r = request(
            srv.addr,
            "GET",
            "/api/v1/users/current",
            &[("Authorization", &auth)],
            None,
        );
        let msg = r.expect_error(401);
        assert!(
            msg.contains(want) && msg.contains("Bearer"),
            "{auth}: {msg}"
        );
    }

    // A read-only key reads, and may not write.
    let ro = user_ok(
        &env,
        &db,
        &["key", "add", "carol", "--label", "dashboard", "--read-only"],
    );
    let ro = srv.api(ro.trim());
    assert_eq!(ro.get("/api/v1/users/current/statusbar/today").status, 200);
    let msg = ro.post(BULK, &item).expect_error(403);
    assert!(msg.contains("read-only"), "{msg}");

    // Revoked: stops at once (no restart), with the id from `key list`.
    let list: Value =
        serde_json::from_str(&user_ok(&env, &db, &["key", "list", "carol", "--json"]))
            .expect("key list --json");
    let ro_id = list
        .as_array()
        .and_then(|l| l.iter().find(|k| k["label"] == "dashboard"))
        .map(|k| k["id"].to_string())
        .expect("the dashboard key is listed");
    user_ok(&env, &db, &["key", "revoke", &ro_id]);
    ro.get("/api/v1/users/current/statusbar/today")
        .expect_error(401);
    let out = user_cmd(&env, &db, &["key", "revoke", &ro_id]);
    assert!(
        !out.status.success() && stderr(&out).contains("no API key with id"),
        "{}",
        show(&out)
    );

    // Rotated: every old key stops, the new one works.
    let new = user_ok(&env, &db, &["key", "rotate", "carol"]);
    srv.api(&key).post(BULK, &item).expect_error(401);
    assert_eq!(srv.api(new.trim()).get("/api/v1/users/current").status, 200);
    srv.stop();
}

#[test]
fn user_administration_and_its_bad_input() {
    let env = TestEnv::new();
    let db = sqlite_db(&env);
    add_user(&env, &db, "dave");
    let fail = |args: &[&str], want: &str| {
        let out = user_cmd(&env, &db, args);
        assert!(!out.status.success(), "{args:?} must fail: {}", show(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", show(&out));
    };
    fail(&["add", "dave"], "already exists");
    fail(&["add", "no spaces"], "invalid user name");
    fail(&["add", "current"], "invalid user name");
    fail(&["remove", "dave"], "--yes");
    fail(&["remove", "nobody", "--yes"], "no user named \"nobody\"");
    fail(
        &["set", "dave", "--timeout", "0"],
        "--timeout \"0\" is not valid",
    );
    fail(
        &["set", "dave", "--time-zone", "Mars/Olympus"],
        "IANA time zone",
    );
    fail(
        &["set", "dave", "--preset", "toggl"],
        "timeforged or wakapi",
    );
    fail(&["key", "list", "erin"], "no user named \"erin\"");
    user_ok(
        &env,
        &db,
        &[
            "set",
            "dave",
            "--time-zone",
            "Europe/Berlin",
            "--week-start",
            "sunday",
        ],
    );
    let list: Value = serde_json::from_str(&user_ok(&env, &db, &["list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "dave");
    assert_eq!(list[0]["settings"]["time_zone"], "Europe/Berlin");
    assert_eq!(list[0]["keys"], 1);
    user_ok(&env, &db, &["set", "dave", "--time-zone", "default"]);
    let list: Value = serde_json::from_str(&user_ok(&env, &db, &["list", "--json"])).unwrap();
    assert!(list[0]["settings"].get("time_zone").is_none(), "{list}");
    user_ok(&env, &db, &["remove", "dave", "--yes"]);
    assert!(user_ok(&env, &db, &["list"]).contains("(none)"));

    // A bad --db fails with a clear message, and never creates anything.
    for (url, want) in [
        ("mysql://x/y", "unknown database URL scheme"),
        ("postgres://u@127.0.0.1:1/db", "unavailable"),
        ("postgres://u@h:notaport/db", "bad database URL"),
    ] {
        let out = user_cmd(&env, url, &["list"]);
        assert!(!out.status.success(), "{url}: {}", show(&out));
        assert!(stderr(&out).contains(want), "{url}: {}", show(&out));
    }
    // Refused when not on loopback, unless plaintext is allowed.
    let out = server::admin_cmd(&env, &db)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("run serve");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("allow_plaintext"), "{}", show(&out));
}

/// The same heartbeats, intervals and users give byte-identical WakaTime bodies from a SQLite
/// server and a PostgreSQL server.
#[test]
fn sqlite_and_postgres_servers_give_identical_reports() {
    let Some(pg) = PgDb::new() else {
        return;
    };
    let env = TestEnv::with_tz("Europe/Berlin");
    let sqlite = sqlite_db(&env);
    let mut outputs = Vec::new();
    for db in [sqlite.as_str(), pg.url.as_str()] {
        let keys: Vec<String> = ["erin", "frank"]
            .iter()
            .map(|u| add_user(&env, db, u))
            .collect();
        add_intervals(db, &["erin"]);
        let srv = Server::start(&env, db, &settings());
        for (i, key) in keys.iter().enumerate() {
            let api = srv.api(key);
            for chunk in corpus(i).chunks(200) {
                api.post_bulk(BULK, chunk);
            }
        }
        let mut bodies = Vec::new();
        for key in &keys {
            let api = srv.api(key);
            for q in [
                "start=2025-11-01&end=2025-11-09",
                "start=2025-11-03&end=2025-11-03&project=tf",
                "start=2025-11-01&end=2025-11-09&branches=main,feat",
                "start=2025-11-01&end=2025-11-09&project=tf,web",
            ] {
                bodies.push(api.get_json(&format!("/api/v1/users/current/summaries?{q}")));
            }
            bodies.push(api.get_json("/api/v1/users/current/heartbeats?date=2025-11-03"));
        }
        srv.stop();
        outputs.push(bodies);
    }
    let total = outputs[0][0]["cumulative_total"]["seconds"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(total > 3600.0, "the corpus counts time: {}", outputs[0][0]);
    for (i, (a, b)) in outputs[0].iter().zip(&outputs[1]).enumerate() {
        // Byte for byte, as a client sees the bodies.
        let (a, b) = (a.to_string(), b.to_string());
        assert_eq!(a, b, "body {i} differs (sqlite, postgres)");
    }
}

/// Heartbeats that exercise every rule: gaps around the 15-minute timeout, midnight
/// crossings (in Berlin), ties at one millisecond, exact duplicates, two projects and branches.
fn corpus(user: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut t = DAY0 + 7.0 * 3600.0 + user as f64 * 17.0;
    let projects = ["tf", "web"];
    let branches = ["main", "feat", "fix/#42"];
    for i in 0..700usize {
        let gap = match i % 9 {
            0 => 14.0 * 60.0 + 59.999,
            1 => 15.0 * 60.0,
            2 => 15.0 * 60.0 + 0.001,
            3 => 0.0, // a tie at the same millisecond
            4 => 40.0,
            5 => 3.0 * 3600.0,
            _ => 61.5,
        };
        t += gap;
        let p = projects[i % 2];
        let b = branches[(i / 3) % 3];
        out.push(beat(t, &format!("/{p}/src/f{}.rs", i % 7), p, b));
        if i % 50 == 0 {
            out.push(beat(t, &format!("/{p}/src/f{}.rs", i % 7), p, b)); // duplicate
        }
    }
    out
}

/// Manual intervals for `users` (written with the library, as a sync would).
fn add_intervals(db: &str, users: &[&str]) {
    let db = timeforged::store::open(db).expect("open the server database");
    let mut w = db.writer().expect("writer");
    for name in users {
        let user = timeforged::store::read(&*db, |s| s.user_by_name(name))
            .expect("read")
            .expect("the user");
        let scope = timeforged::store::Scope {
            user: user.id,
            calendar: timeforged::calendar::Calendar::new(
                jiff::tz::TimeZone::get("Europe/Berlin").expect("zone"),
            ),
            rules: timeforged::timeline::Rules::timeforged(15 * 60_000),
        };
        for (start, end) in [
            (DAY0 + 8.0 * 3600.0, DAY0 + 9.5 * 3600.0),
            (DAY0 + DAY - 1800.0, DAY0 + DAY + 1800.0),
        ] {
            let iv = timeforged::model::Interval {
                start,
                end,
                project: "meetings".into(),
                branch: None,
                category: timeforged::model::Category::parse("meeting").expect("category"),
                note: Some("planning".into()),
            };
            w.add_interval(&scope, &iv, 0, &timeforged::store::UNSYNCED)
                .expect("add an interval");
        }
    }
}

#[test]
fn the_real_wakatime_client_posts_to_the_server_with_a_users_key() {
    let (tz, _) = common::noon_zone();
    let env = TestEnv::with_tz(&tz);
    let Some(client) = WakaClient::find(&env) else {
        return;
    };
    let db = sqlite_db(&env);
    let key = add_user(&env, &db, "gina");
    let other = add_user(&env, &db, "hank");
    let srv = Server::start(&env, &db, &settings());
    let api = srv.api(&key);
    std::fs::write(
        client.home.join(".wakatime.cfg"),
        format!(
            "[settings]\napi_url = {}\napi_key = {key}\n",
            api.url("/api/v1")
        ),
    )
    .expect("write .wakatime.cfg");
    let file = source_file(&env.scratch().join("src"), "main.rs", "fn main() {}\n");
    let entity = file.to_str().expect("UTF-8 path");
    let t0 = (common::now_secs() - 600.0).floor();
    for dt in [0.0, 60.0, 120.0] {
        let time = format!("{}", t0 + dt);
        client.run_expect(
            &[
                "--entity",
                entity,
                "--project",
                "Forge",
                "--time",
                &time,
                "--plugin",
                "vim/9.0 vim-wakatime/9.0.1",
            ],
            None,
            0,
        );
    }
    let bar = api.get_json("/api/v1/users/current/statusbar/today");
    assert_eq!(bar["data"]["grand_total"]["total_seconds"], 120.0, "{bar}");
    let theirs = srv
        .api(&other)
        .get_json("/api/v1/users/current/statusbar/today");
    assert_eq!(
        theirs["data"]["grand_total"]["total_seconds"], 0.0,
        "{theirs}"
    );
    srv.stop();
}

/// Everything acknowledged survives SIGKILL, on both backends.
#[test]
fn a_killed_server_loses_nothing_acknowledged() {
    let pg = PgDb::new();
    let env = TestEnv::new();
    let sqlite = sqlite_db(&env);
    let mut dbs = vec![sqlite];
    dbs.extend(pg.as_ref().map(|p| p.url.clone()));
    for db in dbs {
        let key = add_user(&env, &db, "ivy");
        let srv = Server::start(&env, &db, &settings());
        let api = srv.api(&key);
        let now = DAY0 + 10.0 * 3600.0;
        let mut acked = 0;
        for i in 0..40 {
            let items: Vec<Value> = (0..25)
                .map(|j| {
                    beat(
                        now + (i * 25 + j) as f64,
                        &format!("/k/{j}.rs"),
                        "kill",
                        "main",
                    )
                })
                .collect();
            acked += api.post_bulk(BULK, &items).len();
        }
        srv.kill();
        let srv = Server::start(&env, &db, &settings());
        let day = srv
            .api(&key)
            .get_json("/api/v1/users/current/heartbeats?date=2025-11-02");
        let stored = day["data"].as_array().map_or(0, Vec::len);
        assert_eq!(stored, acked, "{db}");
        srv.stop();
    }
}

/// While the database is unreachable, requests get 503 with a JSON error (and `/healthz`
/// says so); when it is back, the server recovers by itself.
#[test]
fn a_postgres_outage_gives_503_and_the_server_recovers() {
    let Some(pg) = PgDb::new() else {
        return;
    };
    let env = TestEnv::new();
    let proxy = Proxy::start(pg.server_addr());
    let url = pg.via(proxy.addr);
    let key = add_user(&env, &url, "jo");
    let srv = Server::start(&env, &url, &settings());
    let api = srv.api(&key);
    let now = DAY0 + 10.0 * 3600.0;
    assert_eq!(
        api.post(BULK, &json!([beat(now, "/j.rs", "j", "m")]))
            .status,
        201
    );
    assert_eq!(api.get("/healthz").status, 200);

    proxy.cut();
    let r = api.post(BULK, &json!([beat(now + 1.0, "/j.rs", "j", "m")]));
    let msg = r.expect_error(503);
    assert!(msg.contains("unavailable"), "{msg}");
    api.get("/api/v1/users/current/statusbar/today")
        .expect_error(503);
    let health = api.get("/healthz");
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["status"], "unavailable");

    proxy.restore();
    wait_for("the server to reach the database again", || {
        (api.post(BULK, &json!([beat(now + 2.0, "/j.rs", "j", "m")]))
            .status
            == 201)
            .then_some(())
    });
    let day = api.get_json("/api/v1/users/current/summaries?start=2025-11-02&end=2025-11-02");
    assert_eq!(day["cumulative_total"]["seconds"], 2.0, "{day}");
    srv.stop();
}

#[test]
fn a_postgres_server_that_cannot_be_reached_or_is_newer_is_a_clear_start_error() {
    let env = TestEnv::new();
    let out = server::admin_cmd(&env, "postgres://tf:secret@127.0.0.1:1/tf")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run serve");
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("127.0.0.1:1"),
        "{}",
        show(&out)
    );
    assert!(!err.contains("secret"), "the password is not shown: {err}");
    let Some(pg) = PgDb::new() else {
        return;
    };
    add_user(&env, &pg.url, "kim");
    let mut c = postgres::Client::connect(&pg.url, postgres::NoTls).expect("connect");
    c.batch_execute("UPDATE tf_meta SET value = '9' WHERE key = 'schema_version'")
        .expect("pretend a newer schema");
    let out = server::admin_cmd(&env, &pg.url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run serve");
    assert!(
        stderr(&out).contains("upgrade TimeForged"),
        "{}",
        show(&out)
    );
}

#[test]
fn huge_requests_health_and_metrics() {
    let env = TestEnv::new();
    let db = sqlite_db(&env);
    let key = add_user(&env, &db, "lee");
    let mut with_metrics = settings();
    with_metrics.push(("TIMEFORGED_SERVER__METRICS", "true"));
    let srv = Server::start(&env, &db, &with_metrics);
    let api = srv.api(&key);
    // 100,000 heartbeats in one request: refused before it is read into memory.
    let now = common::now_secs().floor() - 100.0;
    let one = beat(now, "/h.rs", "h", "main").to_string();
    let mut body = String::from("[");
    for i in 0..100_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&one);
    }
    body.push(']');
    let head = format!(
        "POST {BULK} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        srv.addr,
        api.basic(),
        body.len()
    );
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body.as_bytes());
    let msg = http::send_large(srv.addr, raw).expect_error(413);
    assert!(msg.contains("fewer heartbeats"), "{msg}");
    assert_eq!(
        api.post(BULK, &json!([beat(now, "/h.rs", "h", "main")]))
            .status,
        201
    );

    let health = request(srv.addr, "GET", "/healthz", &[], None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let metrics = request(srv.addr, "GET", "/metrics", &[], None);
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for want in [
        "timeforged_heartbeats_ingested_total 1\n",
        "timeforged_users 1\n",
        "timeforged_database_bytes ",
        "route=\"/api/v1/users/{user}/heartbeats.bulk\",status=\"413\"",
        "timeforged_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    srv.stop();
    // Off by default.
    let srv = Server::start(&env, &db, &settings());
    assert_eq!(request(srv.addr, "GET", "/metrics", &[], None).status, 404);
    srv.stop();
}

/// Each user's own time zone, timeout and preset decide their days and totals.
#[test]
fn each_user_counts_by_their_own_settings() {
    let env = TestEnv::new();
    let db = sqlite_db(&env);
    let utc = add_user(&env, &db, "uma");
    let berlin = add_user(&env, &db, "vic");
    let short = add_user(&env, &db, "wes");
    user_ok(&env, &db, &["set", "vic", "--time-zone", "Europe/Berlin"]);
    user_ok(&env, &db, &["set", "wes", "--timeout", "1"]);
    let srv = Server::start(&env, &db, &settings());
    // 22:50 → 23:10 UTC (23:50 → 00:10 in Berlin), a heartbeat every 2 minutes.
    let start = DAY0 + 22.0 * 3600.0 + 50.0 * 60.0;
    let items: Vec<Value> = (0..=10)
        .map(|i| beat(start + i as f64 * 120.0, "/s.rs", "s", "main"))
        .collect();
    for key in [&utc, &berlin, &short] {
        srv.api(key).post_bulk(BULK, &items);
    }
    let day = |key: &str, date: &str| {
        srv.api(key).get_json(&format!(
            "/api/v1/users/current/summaries?start={date}&end={date}"
        ))["cumulative_total"]["seconds"]
            .as_f64()
            .unwrap_or(-1.0)
    };
    assert_eq!(day(&utc, "2025-11-02"), 1200.0);
    assert_eq!(day(&utc, "2025-11-03"), 0.0);
    assert_eq!(
        day(&berlin, "2025-11-02"),
        600.0,
        "10 minutes before Berlin's midnight"
    );
    assert_eq!(day(&berlin, "2025-11-03"), 600.0);
    assert_eq!(
        day(&short, "2025-11-02"),
        0.0,
        "2-minute gaps are over a 1-minute timeout"
    );
    let me = srv.api(&short).get_json("/api/v1/users/current");
    assert_eq!(me["data"]["timeout"], 1, "{me}");
    // Changing a setting recomputes what was already rolled up.
    user_ok(&env, &db, &["set", "wes", "--timeout", "default"]);
    assert_eq!(day(&short, "2025-11-02"), 1200.0);
    srv.stop();
}

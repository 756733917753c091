//! The web dashboard end to end: a real daemon (and a real team server) answering raw HTTP
//! requests — every page and SVG against `tf report`, `tf sessions`, `tf branches` and `tf
//! commits` for the same range; sessions, one-time links, CSRF, sign-out; bad query
//! parameters and hostile names; live events; badges; one user never reaching another's
//! data — and then the real thing in headless Chromium (tests/web/e2e.mjs).

mod common;
#[path = "common/git.rs"]
mod git_cli;
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use common::{TestEnv, recent_hour, show};
use http::{Reply, request};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;

/// Names that would run script if any page, SVG title or attribute failed to escape them.
const EVIL_PROJECT: &str = "<script>alert(\"p\")</script>";
const EVIL_BRANCH: &str = "\"><img src=x onerror=alert(1)>";
const EVIL_FILE: &str = "/alpha/<svg onload=alert(2)>.rs";
/// What must never appear raw in a page.
const RAW: [&str; 3] = ["<script>alert", "<img src=x", "<svg onload"];

const OVERVIEW_DIMS: [&str; 7] = [
    "project", "language", "branch", "ticket", "category", "editor", "machine",
];

fn beat(t: f64, entity: &str, project: &str, branch: &str, language: &str) -> Value {
    json!({"time": t, "entity": entity, "type": "file", "project": project,
           "branch": branch, "language": language, "editor": "vim", "machine": "laptop"})
}

/// A browser's session with the dashboard: its cookie.
struct Browser {
    addr: SocketAddr,
    cookie: String,
}

impl Browser {
    fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[("Cookie", &self.cookie)], None)
    }

    /// GET, asserting 200, as text.
    fn page(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.text()
    }

    fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// POSTs a form as a page of this site would (Origin of this host).
    fn post(&self, path: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) -> Reply {
        let body = form(fields);
        let origin = format!("http://{}", self.addr);
        let mut headers = vec![
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", origin.as_str()),
        ];
        headers.extend_from_slice(extra);
        request(self.addr, "POST", path, &headers, Some(body.as_bytes()))
    }

    /// The session's CSRF token, from the sign-out form every page has.
    fn csrf(&self) -> String {
        attr_after(&self.page("/account"), "name=\"csrf\" value=\"")
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The text after `marker` up to the next `"`.
fn attr_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `name=value` of the session cookie a response sets.
fn set_cookie(r: &Reply) -> String {
    let set = r
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("tf_session"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no session cookie set: {:?}", r.headers));
    set.split(';').next().unwrap_or_default().to_string()
}

/// Opens a one-time link as a browser would; returns the signed-in browser.
fn open_link(url: &str) -> Browser {
    let rest = url.strip_prefix("http://").expect("an http:// link");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let addr: SocketAddr = host.parse().expect("the link's host is an address");
    let r = request(addr, "GET", path, &[], None);
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    assert!(r.text().contains("http-equiv=\"refresh\""), "{}", r.text());
    let cookie = set_cookie(&r);
    let set = r.header("set-cookie").unwrap_or_default();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(part), "{set}");
    }
    Browser { addr, cookie }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `(name, seconds)` of every element in `html` from `start` on that has both, in order.
fn named_seconds(html: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("data-name=\"") {
        rest = &rest[i + 11..];
        let name = rest.split('"').next().unwrap_or_default();
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        if let Some(j) = tag.find("data-seconds=\"") {
            let secs: f64 = tag[j + 14..]
                .split('"')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("data-seconds is a number");
            out.push((unescape(name), secs));
        }
    }
    out
}

/// The markup of the first element with `marker` up to `end`.
fn section<'a>(html: &'a str, marker: &str, end: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {html}"));
    let len = html[start..].find(end).unwrap_or(html.len() - start);
    &html[start..start + len]
}

/// The first `dd data-seconds` of a page (its total).
fn shown_total(html: &str) -> f64 {
    attr_after(html, "<dd data-seconds=\"")
        .parse()
        .expect("the total is a number")
}

fn rows(report: &Value, dim: &str) -> Vec<(String, f64)> {
    report["by"][dim]
        .as_array()
        .unwrap_or_else(|| panic!("no by.{dim} in {report}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["seconds"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

/// A daemon in a zone where it is now about noon, with a week of varied data: today, two
/// earlier days, hostile and very long names, and two commits on a real repository.
struct Local {
    env: TestEnv,
    now: f64,
    offset: i64,
}

fn local() -> Local {
    let (tz, offset) = common::noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    let mut c = env.connect();
    let long = "L".repeat(400);
    let t = recent_hour();
    let mut beats = Vec::new();
    for (day, n) in [(0.0, 40), (1.0, 25), (2.0, 10)] {
        let base = t - day * 86_400.0;
        for i in 0..n {
            let t = base + f64::from(i) * 60.0;
            let (project, branch) = match i % 4 {
                0 => (EVIL_PROJECT, "main"),
                1 => ("alpha", EVIL_BRANCH),
                2 => ("alpha", "feature/TF-7-web"),
                _ => (long.as_str(), "main"),
            };
            let file = if i % 5 == 0 {
                EVIL_FILE
            } else {
                "/alpha/src/lib.rs"
            };
            beats.push(beat(
                t,
                file,
                project,
                branch,
                if i % 2 == 0 { "Rust" } else { "Go" },
            ));
        }
    }
    let r = c.heartbeats(&beats);
    assert_eq!(r["rejected"], 0, "{r}");
    // Two commits on alpha's feature branch (a real repository names the project).
    if git_cli::have_git() {
        let repo = env.scratch().join("alpha");
        std::fs::create_dir_all(&repo).expect("create the repository");
        git_cli::git_ok(&env, &repo, &["init", "-q"]);
        for (n, at) in [(1u32, t + 600.0), (2, t + 1800.0)] {
            let ok = c.request(json!({"v": 1, "type": "git", "kind": "commit", "time": at,
                "repo": repo.display().to_string(), "branch": "feature/TF-7-web",
                "head": format!("{n:0>40x}"), "summary": format!("commit <b>{n}</b>")}));
            assert_eq!(ok["type"], "ok", "{ok}");
        }
    }
    Local {
        env,
        now: common::now_secs(),
        offset,
    }
}

impl Local {
    fn link(&self) -> String {
        self.env.tf_ok(["web", "--print"]).trim().to_string()
    }

    fn browser(&self) -> Browser {
        open_link(&self.link())
    }

    fn today(&self) -> String {
        common::local_date(self.now, self.offset)
    }
}

/// Every page the dashboard has, as a browser would ask for them.
fn pages(today: &str) -> Vec<String> {
    vec![
        "/".into(),
        "/?range=today".into(),
        "/?range=month&by=project&by=entity".into(),
        "/by/project?range=week".into(),
        "/by/entity?range=week".into(),
        format!("/day?date={today}"),
        "/calendar".into(),
        "/sessions?range=week".into(),
        "/project/alpha?range=week".into(),
        format!("/project/{}?range=week", encode(EVIL_PROJECT)),
        "/account".into(),
    ]
}

#[test]
fn every_page_and_data_endpoint_needs_a_session() {
    let l = local();
    let b = l.browser();
    let forged = Browser {
        addr: b.addr,
        cookie: format!(
            "{}={}",
            b.cookie.split('=').next().unwrap_or(""),
            "A".repeat(43)
        ),
    };
    let garbage = Browser {
        addr: b.addr,
        cookie: "tf_session=<script>".into(),
    };
    for path in pages(&l.today()) {
        for who in [None, Some(&forged), Some(&garbage)] {
            let r = match who {
                None => request(b.addr, "GET", &path, &[], None),
                Some(w) => w.get(&path),
            };
            assert_eq!(r.status, 303, "{path} without a session: {}", r.text());
            let to = r.header("location").unwrap_or_default();
            assert!(to.starts_with("/sign-in?next=%2F"), "{path}: {to}");
            if who.is_some_and(|w| w.cookie.contains('A')) {
                // A stale or forged cookie is cleared.
                assert!(
                    r.header("set-cookie")
                        .is_some_and(|c| c.contains("Max-Age=0")),
                    "{path}: {:?}",
                    r.headers
                );
            }
        }
        // Downloads and partial updates are data: 401, no redirect.
        let sep = if path.contains('?') { '&' } else { '?' };
        for data in [
            format!("{path}{sep}format=json"),
            format!("{path}{sep}format=csv"),
        ] {
            let r = request(b.addr, "GET", &data, &[], None);
            assert_eq!(r.status, 401, "{data}: {}", r.text());
        }
        let r = request(b.addr, "GET", &path, &[("X-TF-Partial", "1")], None);
        assert_eq!(r.status, 401, "{path} partial");
        assert_eq!(b.get(&path).status, 200, "{path} with the session");
    }
    for path in ["/events", "/account/badges", "/sign-out"] {
        let method = if path == "/events" { "GET" } else { "POST" };
        let r = request(b.addr, method, path, &[], Some(b"csrf=x"));
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text());
    }
    // The sign-in page and the assets are open; assets are embedded and versioned.
    let signin = request(b.addr, "GET", "/sign-in", &[], None);
    assert_eq!(signin.status, 200);
    assert!(signin.text().contains("tf web"), "{}", signin.text());
    let css = attr_after(&signin.text(), "rel=\"stylesheet\" href=\"");
    let r = request(b.addr, "GET", &css, &[], None);
    assert_eq!(r.status, 200);
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .contains("immutable")
    );
    // A used link does not work again; nor does a made-up one.
    let link = l.link();
    open_link(&link);
    let path = &link[link.find("/login").expect("a /login link")..];
    for p in [
        path.to_string(),
        format!("/login?token={}", "B".repeat(43)),
        "/login?token=%3Cx%3E".into(),
        "/login".into(),
    ] {
        let r = request(b.addr, "GET", &p, &[], None);
        assert_eq!(r.status, 401, "{p}: {}", r.text());
        assert!(r.text().contains("tf web"), "{p}: {}", r.text());
        assert!(r.header("set-cookie").is_none(), "{p}");
    }
    // Security headers on every page.
    let r = b.get("/");
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // The Host guard of the API covers the dashboard (DNS rebinding).
    let r = request(
        b.addr,
        "GET",
        "/",
        &[("Host", "evil.example"), ("Cookie", &b.cookie)],
        None,
    );
    assert_eq!(r.status, 421, "{}", r.text());
}

#[test]
fn pages_and_charts_show_what_tf_report_says() {
    let l = local();
    let b = l.browser();
    let env = &l.env;
    let mut by = Vec::new();
    for d in OVERVIEW_DIMS {
        by.extend(["--by", d]);
    }

    // Overview: its JSON is `tf report --json`, its CSV `tf report --csv`, and the page's
    // total, bars and per-day columns are the same numbers.
    let want = env.tf_json([&["report", "week", "--json"][..], &by].concat());
    assert_eq!(b.json("/?range=week&format=json"), want);
    let csv = env.tf_ok([&["report", "week", "--csv"][..], &by].concat());
    let r = b.get("/?range=week&format=csv");
    assert_eq!(r.text(), csv);
    assert!(
        r.header("content-disposition")
            .unwrap_or_default()
            .contains("attachment; filename=\"timeforged-overview-")
    );
    let html = b.page("/?range=week");
    assert_eq!(shown_total(&html), want["total_seconds"].as_f64().unwrap());
    for dim in OVERVIEW_DIMS {
        let chart = section(
            &html,
            &format!("data-chart=\"bars\" data-dim=\"{dim}\""),
            "</svg>",
        );
        let mut expected = rows(&want, dim);
        expected.truncate(10);
        assert_eq!(named_seconds(chart), expected, "bars of {dim}");
    }
    let per_day = env.tf_json(["report", "week", "--by", "day", "--json"]);
    let days = section(&html, "data-chart=\"days\"", "</svg>");
    let mut columns = Vec::new();
    let mut rest = days;
    while let Some(i) = rest.find("data-label=\"") {
        rest = &rest[i..];
        let secs: f64 = attr_after(rest, "data-seconds=\"").parse().unwrap();
        // Each column's parts add up to it.
        let end = rest.find("</a>").unwrap_or(rest.len());
        let parts: f64 = named_seconds(&rest[..end]).iter().map(|(_, s)| s).sum();
        assert!((parts - secs).abs() < 1e-6, "{parts} vs {secs}");
        columns.push(secs);
        rest = &rest[12..];
    }
    let day_rows: Vec<f64> = rows(&per_day, "day").iter().map(|r| r.1).collect();
    assert_eq!(
        columns
            .iter()
            .filter(|s| **s > 0.0)
            .copied()
            .collect::<Vec<_>>(),
        day_rows
    );

    // A dimension's page, in full.
    for dim in ["language", "entity", "branch"] {
        let want = env.tf_json(["report", "week", "--by", dim, "--json"]);
        assert_eq!(
            b.json(&format!("/by/{dim}?range=week&format=json")),
            want,
            "{dim}"
        );
        let html = b.page(&format!("/by/{dim}?range=week"));
        let table = section(&html, "<table", "</table>");
        assert_eq!(named_seconds(table), rows(&want, dim), "{dim} table");
    }

    // Filters are `tf report`'s, as query parameters.
    let want = env.tf_json([
        "report",
        "week",
        "--project",
        "alpha",
        "--by",
        "branch",
        "--json",
    ]);
    assert_eq!(
        b.json("/by/branch?range=week&project=alpha&format=json"),
        want
    );
    let want = env.tf_json([
        "report",
        "week",
        "--timeout",
        "1",
        "--by",
        "language",
        "--json",
    ]);
    assert_eq!(
        b.json("/by/language?range=week&timeout=1&format=json"),
        want
    );

    // The day: its report, its timeline (segments add up to the total) and sessions.
    let today = l.today();
    let want = env.tf_json([
        "report", "--from", &today, "--to", &today, "--by", "project", "--by", "language", "--by",
        "branch", "--json",
    ]);
    let day = b.json(&format!("/day?date={today}&format=json"));
    assert_eq!(day["report"], want);
    let html = b.page(&format!("/day?date={today}"));
    assert_eq!(shown_total(&html), want["total_seconds"].as_f64().unwrap());
    let timeline: f64 = attr_after(
        section(&html, "data-chart=\"timeline\"", ">"),
        "data-seconds=\"",
    )
    .parse()
    .unwrap();
    assert!((timeline - want["total_seconds"].as_f64().unwrap()).abs() < 1e-6);
    let sessions = env.tf_json(["sessions", "--from", &today, "--to", &today, "--json"]);
    assert_eq!(day["sessions"], sessions);

    // Sessions.
    assert_eq!(
        b.json("/sessions?range=week&format=json"),
        env.tf_json(["sessions", "week", "--json"])
    );

    // The calendar: each day of the year is `tf report --by day`.
    let year = &today[..4];
    let cal = b.json(&format!("/calendar?year={year}&format=json"));
    let want = env.tf_json([
        "report",
        "--from",
        &format!("{year}-01-01"),
        "--to",
        &format!("{year}-12-31"),
        "--by",
        "day",
        "--json",
    ]);
    assert_eq!(cal["total_seconds"], want["total_seconds"]);
    let active: Vec<(String, f64)> = cal["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["seconds"].as_f64().unwrap() > 0.0)
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["seconds"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(active, rows(&want, "day"));
    let html = b.page(&format!("/calendar?year={year}"));
    let heat = section(&html, "data-chart=\"calendar\"", "</svg>");
    assert!(heat.matches("<rect").count() >= 365, "a cell per day");
    assert!(heat.contains(&format!("data-date=\"{today}\"")));

    // The project: its report, branches and commits (time per commit) as the CLI gives them.
    let p = b.json("/project/alpha?range=week&format=json");
    let want = env.tf_json([
        "report",
        "week",
        "--project",
        "alpha",
        "--by",
        "branch",
        "--by",
        "language",
        "--by",
        "category",
        "--by",
        "entity",
        "--json",
    ]);
    assert_eq!(p["report"], want);
    assert_eq!(
        p["branches"],
        env.tf_json(["branches", "week", "--project", "alpha", "--json"])
    );
    let commits = env.tf_json(["commits", "week", "--project", "alpha", "--json"]);
    assert_eq!(p["commits"], commits);
    let html = b.page("/project/alpha?range=week");
    assert_eq!(shown_total(&html), want["total_seconds"].as_f64().unwrap());
    if git_cli::have_git() {
        assert_eq!(commits.as_array().map(Vec::len), Some(2), "{commits}");
        for c in commits.as_array().unwrap() {
            let sha = c["sha"].as_str().unwrap();
            let row = section(&html, &format!("data-sha=\"{sha}\""), ">");
            let shown: f64 = attr_after(row, "data-seconds=\"").parse().unwrap();
            assert_eq!(Some(shown), c["seconds"].as_f64(), "{sha}");
        }
        assert!(
            html.contains("commit &lt;b&gt;1&lt;/b&gt;"),
            "summaries are escaped"
        );
    }
}

/// `(lane, seconds)` of each `data-lane` element with seconds in `html`, in order.
fn lane_seconds(html: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("data-lane=\"") {
        rest = &rest[i + 11..];
        let lane = rest.split('"').next().unwrap_or_default().to_string();
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(j) = tag.find("data-seconds=\"") {
            let secs: f64 = tag[j + 14..]
                .split('"')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("data-seconds is a number");
            out.push((lane, secs));
        }
    }
    out
}

/// Issue 15: the overview and the day page show the human's lane and the agents' side by side
/// — the numbers of `tf report --ai --json` for the same range and filters (computed by hand
/// here too), the day's lanes drawn on its time axis, a row per agent — and nothing of agents
/// on a day without them.
///
/// Minutes from t0: the human edits at 0, 5, 10, 20 (lane 0–20 = 20m, 7 lines); Claude Code,
/// through `tf agent event` as its hook runs it, at 8, 12 (an edit, +4 lines), 25 (stop): 17m;
/// Codex at 40, 50: 10m. Agents 27m, overlap 8–20 = 12m, either 35m.
#[test]
fn the_human_and_agent_lanes_are_those_of_tf_report_ai() {
    const MIN: f64 = 60.0;
    let (tz, offset) = common::noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    let mut c = env.connect();
    let dir = env.scratch().join("work").join("app");
    std::fs::create_dir_all(dir.join("src")).expect("create the project");
    std::fs::write(dir.join(".wakatime-project"), "app\nmain\n").expect("name the project");
    let file = dir.join("src/lib.rs").display().to_string();
    let cwd = dir.display().to_string();
    // About 9:30 local time today.
    let t0 = (common::now_secs() / 60.0).floor() * 60.0 - 150.0 * MIN;
    let at = |m: f64| t0 + m * MIN;
    let mut human: Vec<Value> = [0.0, 5.0, 10.0, 20.0]
        .iter()
        .map(|&m| beat(at(m), &file, "app", "main", "Rust"))
        .collect();
    human[3]["human_line_changes"] = json!(7);
    let r = c.heartbeats(&human);
    assert_eq!(r["accepted"], 4, "{r}");
    for (agent, session, m, event, more) in [
        ("claude-code", "cc-1", 8.0, "UserPromptSubmit", vec![]),
        (
            "claude-code",
            "cc-1",
            12.0,
            "PostToolUse",
            vec!["--file", file.as_str(), "--line-changes", "4"],
        ),
        ("claude-code", "cc-1", 25.0, "Stop", vec![]),
        ("codex", "cx-1", 40.0, "prompt", vec![]),
        ("codex", "cx-1", 50.0, "stop", vec![]),
    ] {
        let time = at(m).to_string();
        let mut args = vec![
            "agent",
            "event",
            "--agent",
            agent,
            "--event",
            event,
            "--cwd",
            &cwd,
            "--session",
            session,
            "--time",
            &time,
        ];
        args.extend(more);
        let out = env.tf(&args);
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "{args:?}: {}",
            show(&out)
        );
    }
    common::wait_for("the agents' events to be stored", || {
        (c.count() == 9).then_some(())
    });

    let today = common::local_date(common::now_secs(), offset);
    let want = env.tf_json(["report", "--from", &today, "--to", &today, "--ai", "--json"]);
    let ai = &want["ai"];
    // By hand, so that the page and tf cannot agree on a wrong number.
    assert_eq!(ai["human"]["seconds"], 20.0 * MIN, "{ai}");
    assert_eq!(ai["agent"]["seconds"], 27.0 * MIN, "{ai}");
    assert_eq!(ai["overlap_seconds"], 12.0 * MIN, "{ai}");
    assert_eq!(ai["either_seconds"], 35.0 * MIN, "{ai}");
    let lanes = |ai: &Value| {
        vec![
            (
                "human".to_string(),
                ai["human"]["seconds"].as_f64().unwrap(),
            ),
            (
                "agent".to_string(),
                ai["agent"]["seconds"].as_f64().unwrap(),
            ),
            (
                "overlap".to_string(),
                ai["overlap_seconds"].as_f64().unwrap(),
            ),
            ("either".to_string(), ai["either_seconds"].as_f64().unwrap()),
        ]
    };
    let agent_rows = |ai: &Value| -> Vec<(String, f64)> {
        ai["agents"]
            .as_array()
            .unwrap_or_else(|| panic!("no agents in {ai}"))
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["seconds"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        agent_rows(ai),
        vec![
            ("claude-code".into(), 17.0 * MIN),
            ("codex".into(), 10.0 * MIN)
        ]
    );

    let l = Local {
        env,
        now: common::now_secs(),
        offset,
    };
    let b = l.browser();

    // The day: its JSON carries `ai` as tf prints it; the page shows the same numbers.
    let day = b.json(&format!("/day?date={today}&format=json"));
    assert_eq!(day["ai"], *ai);
    let html = b.page(&format!("/day?date={today}"));
    let shown = section(&html, "data-section=\"lanes\"", "</section>");
    let totals = section(shown, "<dl", "</dl>");
    assert_eq!(lane_seconds(totals), lanes(ai));
    let table = section(shown, "<table", "</table>");
    assert_eq!(named_seconds(table), agent_rows(ai));
    for (lane, lines) in [("human", 7), ("agent", 4)] {
        let row = section(table, &format!("<tr data-lane=\"{lane}\""), ">");
        assert_eq!(
            attr_after(row, "data-line-changes=\""),
            lines.to_string(),
            "{lane}: {row}"
        );
        assert_eq!(ai[lane]["line_changes"], lines, "{ai}");
    }
    assert!(table.contains("Claude Code"), "{table}");
    // The drawing: each lane's stretches add up to its time; the human's is one stretch.
    let chart = section(shown, "data-chart=\"lanes\"", "</svg>");
    let seconds_in = |markup: &str| -> Vec<f64> {
        markup
            .split("data-seconds=\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap().parse().expect("a number"))
            .collect()
    };
    for (lane, stretches) in [("human", 1), ("agent", 2)] {
        let g = section(chart, &format!("<g data-lane=\"{lane}\""), "</g>");
        let all = seconds_in(g);
        assert_eq!(all.len(), 1 + stretches, "{lane}: {g}");
        assert_eq!(all[0], ai[lane]["seconds"].as_f64().unwrap(), "{lane}");
        let parts: f64 = all[1..].iter().sum();
        assert!(
            (parts - all[0]).abs() < 1e-6,
            "{lane}: {parts} vs {}",
            all[0]
        );
    }

    // The overview of today draws them too; of the week, the numbers of `tf report week --ai`.
    let html = b.page("/?range=today");
    let shown = section(&html, "data-section=\"lanes\"", "</section>");
    assert_eq!(lane_seconds(section(shown, "<dl", "</dl>")), lanes(ai));
    assert!(shown.contains("data-chart=\"lanes\""));
    let week = l.env.tf_json(["report", "week", "--ai", "--json"]);
    let html = b.page("/?range=week");
    let shown = section(&html, "data-section=\"lanes\"", "</section>");
    assert_eq!(
        lane_seconds(section(shown, "<dl", "</dl>")),
        lanes(&week["ai"])
    );
    assert_eq!(
        named_seconds(section(shown, "<table", "</table>")),
        agent_rows(&week["ai"])
    );
    assert!(
        !shown.contains("data-chart=\"lanes\""),
        "a week has no day axis"
    );

    // Filters are tf's: a project with no agent time shows no lanes, nor does a day without
    // agents.
    let filtered = l.env.tf_json([
        "report",
        "--from",
        &today,
        "--to",
        &today,
        "--ai",
        "--json",
        "--project",
        "elsewhere",
    ]);
    assert_eq!(filtered["ai"]["either_seconds"], 0.0, "{filtered}");
    let html = b.page(&format!("/day?date={today}&project=elsewhere"));
    assert!(!html.contains("data-section=\"lanes\""));
    let yesterday = common::local_date(common::now_secs() - 86_400.0, offset);
    let html = b.page(&format!("/day?date={yesterday}"));
    assert!(!html.contains("data-section=\"lanes\""));
    assert_eq!(
        b.json(&format!("/day?date={yesterday}&format=json"))["ai"]["either_seconds"],
        0.0
    );
}

#[test]
fn bad_query_parameters_get_a_page_that_says_what_is_wrong() {
    let l = local();
    let b = l.browser();
    for (path, want) in [
        ("/?by=colour", "unknown dimension &quot;colour&quot;"),
        ("/?range=decade", "unknown range &quot;decade&quot;"),
        ("/?range=custom&from=2026-03-01&to=2026-01-01", "inverted"),
        (
            "/?range=custom&from=1926-01-01&to=2026-01-01",
            "at most 3660 days",
        ),
        ("/sessions?range=36500d", "at most 3660 days"),
        ("/?from=soon", "neither a date"),
        ("/?timeout=999", "timeout &quot;999&quot;"),
        ("/?format=pdf", "format &quot;pdf&quot;"),
        ("/day?date=2026-13-01", "not a date"),
        ("/calendar?year=-5", "not a year"),
        ("/by/entity?limit=100000", "limit"),
        ("/by/colour", "unknown dimension &quot;colour&quot;"),
        ("/project/alpha?range=decade", "unknown range"),
        ("/?projet=alpha", "unknown parameter &quot;projet&quot;"),
        ("/?range=%3Cscript%3E", "&lt;script&gt;"),
        ("/?%ZZ=1", "unknown parameter"),
    ] {
        let r = b.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let text = r.text();
        assert!(text.contains(want), "{path}: {text}");
        assert!(!text.contains("<script>"), "{path}: {text}");
        assert!(text.contains("Show this week instead"), "{path}");
    }
    // An unknown project is an empty page, not an error; an unknown path is the API's 404.
    let html = b.page("/project/nobody?range=week");
    assert_eq!(shown_total(&html), 0.0);
    assert_eq!(
        b.get("/nothing-here").status,
        401,
        "unknown paths are the API's (it wants a key)"
    );
}

#[test]
fn markup_in_names_is_escaped_everywhere_and_long_names_fit() {
    let l = local();
    let b = l.browser();
    let today = l.today();
    for path in pages(&today).into_iter().chain([
        "/by/branch?range=week".to_string(),
        format!("/by/branch?range=week&branch={}", encode(EVIL_BRANCH)),
        format!("/?range=week&project={}", encode(EVIL_PROJECT)),
    ]) {
        let html = b.page(&path);
        for raw in RAW {
            assert!(!html.contains(raw), "{path} holds {raw:?} unescaped");
        }
    }
    let html = b.page("/?range=week");
    assert!(
        html.contains("&lt;script&gt;alert(&quot;p&quot;)&lt;/script&gt;"),
        "shown escaped"
    );
    // In SVG titles too.
    let chart = section(&html, "data-dim=\"project\"", "</svg>");
    assert!(chart.contains("<title>&lt;script&gt;"), "{chart}");
    // A 400-character name is shortened on screen, whole in its title.
    let long = "L".repeat(400);
    assert!(
        chart.contains(&format!("<title>{long}:")),
        "full name in the title"
    );
    assert!(
        chart.contains(&format!("{}…", "L".repeat(35))),
        "shortened on screen"
    );
    // Downloads carry the names as data, quoted for CSV.
    let csv = b.get("/by/branch?range=week&format=csv").text();
    assert!(
        csv.contains("branch,\"\"\"><img src=x onerror=alert(1)>\","),
        "{csv}"
    );
}

#[test]
fn forms_need_this_session_and_this_site_and_sign_out_ends_it() {
    let l = local();
    let b = l.browser();
    let csrf = b.csrf();
    let other = l.browser();
    assert_ne!(other.csrf(), csrf, "each session has its own token");
    for (fields, extra, why) in [
        (vec![], vec![], "no token"),
        (vec![("csrf", "x".repeat(32))], vec![], "a wrong token"),
        (
            vec![("csrf", other.csrf())],
            vec![],
            "another session's token",
        ),
        (
            vec![("csrf", csrf.clone())],
            vec![("Origin", "http://evil.example")],
            "another origin",
        ),
        (
            vec![("csrf", csrf.clone())],
            vec![("Sec-Fetch-Site", "cross-site")],
            "a cross-site post",
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = if let Some((_, origin)) = extra.iter().find(|(k, _)| *k == "Origin") {
            let body = form(&fields);
            request(
                b.addr,
                "POST",
                "/sign-out",
                &[
                    ("Cookie", &b.cookie),
                    ("Origin", origin),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                Some(body.as_bytes()),
            )
        } else {
            b.post("/sign-out", &fields, &extra)
        };
        assert_eq!(r.status, 403, "{why}: {}", r.text());
        assert_eq!(b.get("/").status, 200, "still signed in after {why}");
    }
    let r = b.post("/sign-out", &[("csrf", &csrf)], &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/sign-in?signed_out=1"));
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    // The old cookie is dead (kept by a thief, say); the other browser is still in.
    assert_eq!(b.get("/").status, 303);
    assert_eq!(other.get("/").status, 200);
    // Badges are the server's: the local daemon has none.
    let r = other.post(
        "/account/badges",
        &[("csrf", &other.csrf()), ("project", ""), ("on", "1")],
        &[],
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        request(b.addr, "GET", "/badge/me.svg", &[], None).status,
        404
    );
}

/// Reads server-sent events until one named `name`; returns its data.
fn next_event(reader: &mut impl BufRead, name: &str) -> String {
    let (mut current, mut data) = (String::new(), String::new());
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read the event stream");
        assert!(n > 0, "the event stream ended before {name}");
        let line = line.trim_end();
        if line.is_empty() {
            // The end of an event (an empty one has no data line).
            if current == name {
                return data;
            }
            current.clear();
            data.clear();
        } else if let Some(e) = line.strip_prefix("event:") {
            current = e.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            data = d.trim_start().to_string();
        }
    }
}

fn open_events(b: &Browser) -> BufReader<std::net::TcpStream> {
    let mut s = http::connect(b.addr);
    write!(
        s,
        "GET /events HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
        b.addr, b.cookie
    )
    .expect("send the request");
    let mut reader = BufReader::new(s);
    let mut status = String::new();
    reader.read_line(&mut status).expect("status line");
    assert!(status.contains(" 200 "), "{status}");
    reader
}

#[test]
fn an_open_page_hears_of_new_heartbeats_at_once() {
    let l = local();
    let b = l.browser();
    let mut events = open_events(&b);
    next_event(&mut events, "hello");
    let t = common::now_secs() - 30.0;
    l.env
        .connect()
        .heartbeats(&[beat(t, "/alpha/x.rs", "alpha", "main", "Rust")]);
    let data = next_event(&mut events, "change");
    let e: Value = serde_json::from_str(&data).expect("the event is JSON");
    assert_eq!(e["event"], "heartbeats", "{e}");
    // The page's partial update is its <main> only.
    let r = request(
        b.addr,
        "GET",
        "/?range=today",
        &[("Cookie", &b.cookie), ("X-TF-Partial", "1")],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("<h1>Overview</h1>"), "{}", r.text());
    // Without a session: 401.
    let r = request(b.addr, "GET", "/events", &[], None);
    assert_eq!(r.status, 401);
}

#[test]
fn a_project_with_ten_thousand_files() {
    let (tz, _) = common::noon_zone();
    let mut env = TestEnv::with_tz(&tz);
    env.start_daemon();
    let mut c = env.connect();
    let t = recent_hour() - 86_400.0;
    let beats: Vec<Value> = (0..10_000)
        .map(|i| {
            beat(
                t + f64::from(i) * 0.5,
                &format!("/big/src/module_{i:05}.rs"),
                "big",
                "main",
                "Rust",
            )
        })
        .collect();
    for chunk in beats.chunks(2000) {
        c.heartbeats(chunk);
    }
    let b = open_link(env.tf_ok(["web", "--print"]).trim());
    for (path, rows) in [
        ("/project/big?range=7d", None),
        ("/by/entity?range=7d&project=big", Some(100)),
        ("/by/entity?range=7d&project=big&limit=10000", Some(9_999)),
    ] {
        let started = std::time::Instant::now();
        let html = b.page(path);
        eprintln!(
            "{path}: {} KB in {:?}",
            html.len() / 1024,
            started.elapsed()
        );
        if let Some(n) = rows {
            let table = section(&html, "<table", "</table>");
            assert_eq!(named_seconds(table).len(), n, "{path}");
        }
    }
    let html = b.page("/by/entity?range=7d&project=big");
    assert!(html.contains("9899 more rows"), "the rest is offered");
}

#[test]
fn tf_web_opens_the_browser_with_a_link_that_signs_in() {
    let mut env = TestEnv::new();
    // A "browser" that writes down what it was asked to open.
    let opened = env.scratch().join("opened.txt");
    let browser = env.scratch().join("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .expect("write the browser script");
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("make it executable");
    env.set_env("BROWSER", &browser.display().to_string());
    env.start_daemon();
    let out = env.tf(["web"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        common::stderr(&out).contains("opened the dashboard"),
        "{}",
        show(&out)
    );
    let link = std::fs::read_to_string(&opened).expect("the browser was run");
    let b = open_link(&link);
    assert_eq!(b.get("/").status, 200);
    // A browser that fails: the link is printed instead.
    env.env.retain(|(k, _)| k != "BROWSER");
    env.set_env("BROWSER", "false");
    env.set_env("PATH", "/nonexistent");
    let out = env.tf(["web"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/login?token="),
        "{}",
        show(&out)
    );
    assert!(
        common::stderr(&out).contains("could not open a browser"),
        "{}",
        show(&out)
    );
}

#[test]
fn tf_web_without_the_http_api_says_why() {
    let mut env = TestEnv::new();
    env.set_env("TIMEFORGED_HTTP__ENABLED", "false");
    env.start_daemon();
    let out = env.tf(["web", "--print"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(common::stderr(&out).contains("http"), "{}", show(&out));
}

// ---------------------------------------------------------------------------------------------
// The team server

fn sign_in_with_key(addr: SocketAddr, key: &str) -> Result<Browser, Reply> {
    let page = request(addr, "GET", "/sign-in?next=%2Fcalendar", &[], None);
    assert_eq!(page.status, 200);
    let pre = attr_after(&page.text(), "name=\"pre\" value=\"");
    let pre_cookie = page
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.contains("_pre="))
        .map(|(_, v)| v.split(';').next().unwrap_or_default().to_string())
        .expect("a pre-session cookie");
    let body = form(&[("pre", &pre), ("key", key), ("next", "/calendar")]);
    let origin = format!("http://{addr}");
    let r = request(
        addr,
        "POST",
        "/sign-in",
        &[
            ("Cookie", &pre_cookie),
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(body.as_bytes()),
    );
    if r.status != 200 {
        return Err(r);
    }
    assert!(r.text().contains("url=/calendar"), "{}", r.text());
    Ok(Browser {
        addr,
        cookie: set_cookie(&r),
    })
}

fn login_link(env: &TestEnv, db: &str, addr: SocketAddr, name: &str) -> String {
    server::user_ok(
        env,
        db,
        &["login-link", name, "--url", &format!("http://{addr}/")],
    )
    .trim()
    .to_string()
}

fn server_flow(env: &TestEnv, db: &str) {
    let alice = server::add_user(env, db, "alice");
    let bob = server::add_user(env, db, "bob");
    let srv = server::Server::start(env, db, &[]);
    let now = common::now_secs().floor() - 600.0;
    srv.api(&alice).post_bulk(
        "/api/v1/users/current/heartbeats.bulk",
        &[
            beat(now, "/a/secret.rs", "alice-proj", "a-branch", "Rust"),
            beat(now + 60.0, "/a/secret.rs", "alice-proj", "a-branch", "Rust"),
        ],
    );
    srv.api(&bob).post_bulk(
        "/api/v1/users/current/heartbeats.bulk",
        &[
            beat(now, "/b/x.rs", "bob-proj", "b-branch", "Go"),
            beat(now + 120.0, "/b/x.rs", "bob-proj", "b-branch", "Go"),
        ],
    );

    // Alice signs in with her key; a wrong key or a made-up one does not.
    let a = sign_in_with_key(srv.addr, &alice).unwrap_or_else(|r| panic!("{}", r.text()));
    for bad in ["8f14e45f-ceea-467f-a7c1-5e8c0c8f2b1d", "not a key", ""] {
        let r = sign_in_with_key(srv.addr, bad).err().expect("refused");
        assert_eq!(r.status, 401, "{bad}");
    }
    // A sign-in form posted without the pre-session cookie (login CSRF) is refused.
    let r = request(
        srv.addr,
        "POST",
        "/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form(&[("pre", "x"), ("key", &alice)]).as_bytes()),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // Bob uses a login link, once.
    let link = login_link(env, db, srv.addr, "bob");
    let b = open_link(&link);
    let path = &link[link.find("/login").unwrap()..];
    assert_eq!(
        request(srv.addr, "GET", path, &[], None).status,
        401,
        "a replayed link"
    );
    let out = server::user_cmd(env, db, &["login-link", "nobody"]);
    assert!(
        !out.status.success() && common::stderr(&out).contains("no user named"),
        "{}",
        show(&out)
    );

    // Each sees their own data, on every page and download; never the other's.
    let today = common::local_date(now, common::noon_zone().1);
    for path in pages(&today).into_iter().chain([
        "/project/bob-proj?range=week".into(),
        "/project/alice-proj?range=week".into(),
    ]) {
        let sep = if path.contains('?') { '&' } else { '?' };
        for p in [
            path.clone(),
            format!("{path}{sep}format=json"),
            format!("{path}{sep}format=csv"),
        ] {
            if p.starts_with("/account") && p.contains("format") {
                continue;
            }
            let (ta, tb) = (a.page(&p), b.page(&p));
            // A project's name in the address is on its page (as asked, not as data).
            for secret in ["bob-proj", "/b/x.rs", "b-branch"] {
                if !p.contains(secret) {
                    assert!(!ta.contains(secret), "alice sees {secret} at {p}");
                }
            }
            for secret in ["alice-proj", "/a/secret.rs", "a-branch"] {
                if !p.contains(secret) {
                    assert!(!tb.contains(secret), "bob sees {secret} at {p}");
                }
            }
        }
    }
    assert_eq!(shown_total(&a.page("/?range=today")), 60.0);
    assert_eq!(shown_total(&b.page("/?range=today")), 120.0);
    assert_eq!(shown_total(&a.page("/project/bob-proj?range=week")), 0.0);

    // Live: alice's stream hears of her heartbeat, not of bob's before it.
    let mut events = open_events(&a);
    next_event(&mut events, "hello");
    let t = common::now_secs().floor() - 30.0;
    srv.api(&bob).post_bulk(
        "/api/v1/users/current/heartbeats.bulk",
        &[beat(t - 5.0, "/b/x.rs", "bob-proj", "b-branch", "Go")],
    );
    srv.api(&alice).post_bulk(
        "/api/v1/users/current/heartbeats.bulk",
        &[beat(t, "/a/secret.rs", "alice-proj", "a-branch", "Rust")],
    );
    let e: Value = serde_json::from_str(&next_event(&mut events, "change")).unwrap();
    assert_eq!(
        e["latest_time"].as_f64(),
        Some(t),
        "the first change alice hears is hers: {e}"
    );

    // Badges: off until turned on; then an SVG and shields.io JSON; bob's stay off.
    for path in [
        "/badge/alice.svg",
        "/badge/alice.json",
        "/badge/alice/alice-proj.svg",
        "/badge/bob.svg",
        "/badge/nobody.svg",
        "/badge/alice.png",
    ] {
        let r = request(srv.addr, "GET", path, &[], None);
        assert_eq!(r.status, 404, "{path}");
    }
    for project in ["", "alice-proj"] {
        let r = a.post(
            "/account/badges",
            &[("csrf", &a.csrf()), ("project", project), ("on", "1")],
            &[],
        );
        assert_eq!(r.status, 303, "{}", r.text());
    }
    let r = a.post(
        "/account/badges",
        &[("csrf", "wrong"), ("project", "x"), ("on", "1")],
        &[],
    );
    assert_eq!(r.status, 403);
    let svg = request(srv.addr, "GET", "/badge/alice.svg", &[], None);
    assert_eq!(svg.status, 200, "{}", svg.text());
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text().contains("this week"), "{}", svg.text());
    let j = request(srv.addr, "GET", "/badge/alice/alice-proj.json", &[], None).json();
    assert_eq!(j["schemaVersion"], 1);
    assert_eq!(j["label"], "alice-proj");
    assert!(j["message"].as_str().unwrap().ends_with("this week"), "{j}");
    assert_eq!(
        request(srv.addr, "GET", "/badge/alice/bob-proj.svg", &[], None).status,
        404
    );
    assert!(a.page("/account").contains("/badge/alice/alice-proj.json"));
    let r = a.post(
        "/account/badges",
        &[("csrf", &a.csrf()), ("project", ""), ("on", "0")],
        &[],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        request(srv.addr, "GET", "/badge/alice.svg", &[], None).status,
        404
    );

    // A second server on the same database, and a restart: links and sessions live in the
    // database (hashed), so both work everywhere.
    let link = login_link(env, db, srv.addr, "alice");
    let srv2 = server::Server::start(env, db, &[]);
    let b2 = Browser {
        addr: srv2.addr,
        cookie: b.cookie.replace(
            &format!("_{}=", srv.addr.port()),
            &format!("_{}=", srv2.addr.port()),
        ),
    };
    assert_eq!(
        b2.get("/").status,
        200,
        "bob's session works on the second server"
    );
    let a2 = open_link(&link.replace(&srv.addr.to_string(), &srv2.addr.to_string()));
    assert_eq!(
        shown_total(&a2.page("/?range=today")),
        t - now,
        "alice's own total"
    );
    let port2 = srv2.addr.port();
    srv2.stop();
    // The session made on the second server, back on the first.
    let a2 = Browser {
        addr: srv.addr,
        cookie: a2
            .cookie
            .replace(&format!("_{port2}="), &format!("_{}=", srv.addr.port())),
    };

    // Revoking the key alice signed in with ends that session; removing bob ends his.
    let keys: Value = serde_json::from_str(&server::user_ok(
        env,
        db,
        &["key", "list", "alice", "--json"],
    ))
    .unwrap();
    let id = keys[0]["id"].to_string();
    server::user_ok(env, db, &["key", "revoke", &id]);
    assert_eq!(a.get("/").status, 303, "the revoked key's session is over");
    assert_eq!(
        a2.get("/").status,
        200,
        "a link's session is not bound to a key"
    );
    server::user_ok(env, db, &["remove", "bob", "--yes"]);
    assert_eq!(b.get("/").status, 303, "a removed user's session is over");
    srv.stop();
}

#[test]
fn server_users_sign_in_and_see_only_their_own_dashboard() {
    let env = TestEnv::with_tz(&common::noon_zone().0);
    let db = env.scratch().join("server.db").display().to_string();
    server_flow(&env, &db);
}

#[test]
fn server_dashboard_on_postgresql() {
    let Some(pg) = server::PgDb::new() else {
        return;
    };
    let env = TestEnv::with_tz(&common::noon_zone().0);
    server_flow(&env, &pg.url);
}

// ---------------------------------------------------------------------------------------------
// A real browser

/// Node, playwright-core (tests/web/node_modules, from `npm ci`) and Chromium, or why not.
fn browser_tools() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node is not installed (apt-get install nodejs npm)".into());
    }
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err(format!(
            "playwright-core is not installed: run `npm ci` in {}",
            dir.display()
        ));
    }
    let chromium =
        std::env::var("TIMEFORGED_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("{chromium} is missing (apt-get install chromium)"));
    }
    Ok(())
}

#[test]
fn the_dashboard_in_headless_chromium() {
    if let Err(why) = browser_tools() {
        common::skip(&why);
        return;
    }
    let l = local();
    let env = &l.env;
    let link = l.link();
    let base = link[..link.find("/login").unwrap()].to_string();
    let key = env.tf_ok(["apikey"]).trim().to_string();
    let total = |args: &[&str]| -> Value {
        let r = env.tf_json([&["report"][..], args, &["--json"]].concat());
        let s = r["total_seconds"].as_f64().unwrap();
        json!({"seconds": s, "text": duration(s)})
    };
    let today = l.today();
    let page = |name: &str, path: String, h1: &str, total: Option<Value>| json!({"name": name, "path": path, "h1": h1, "total": total});
    let pages = vec![
        page(
            "overview-week",
            "/?range=week".into(),
            "Overview",
            Some(total(&["week"])),
        ),
        page(
            "overview-today",
            "/?range=today".into(),
            "Overview",
            Some(total(&["today"])),
        ),
        page(
            "overview-month",
            "/?range=month".into(),
            "Overview",
            Some(total(&["month"])),
        ),
        page(
            "overview-year",
            "/?range=year".into(),
            "Overview",
            Some(total(&["year"])),
        ),
        page(
            "overview-custom",
            format!("/?range=custom&from={today}&to={today}"),
            "Overview",
            Some(total(&["--from", &today, "--to", &today])),
        ),
        page(
            "projects",
            "/by/project?range=week".into(),
            "Projects",
            Some(total(&["week"])),
        ),
        page(
            "files",
            "/by/entity?range=week".into(),
            "Files",
            Some(total(&["week"])),
        ),
        page(
            "day",
            format!("/day?date={today}"),
            "",
            Some(total(&["--from", &today, "--to", &today])),
        ),
        page(
            "calendar",
            "/calendar".into(),
            &today[..4],
            Some(total(&[
                "--from",
                &format!("{}-01-01", &today[..4]),
                "--to",
                &format!("{}-12-31", &today[..4]),
            ])),
        ),
        page("sessions", "/sessions?range=week".into(), "Sessions", None),
        page(
            "project",
            "/project/alpha?range=week".into(),
            "Project alpha",
            Some(total(&["week", "--project", "alpha"])),
        ),
        page("account", "/account".into(), "Account", None),
        json!({"name": "bad-request", "path": "/?range=decade", "status": 400}),
    ];
    // The live heartbeat: a minute after the last one of today, so it adds a minute.
    let last = env.tf_json(["log", "today", "--json"]);
    let last_time = last
        .as_array()
        .and_then(|a| a.last())
        .and_then(|h| h["time"].as_f64())
        .expect("a heartbeat today");
    let hb = last_time + 60.0;
    let before = total(&["today"]);
    let after = before["seconds"].as_f64().unwrap() + 60.0;
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
    let plan = json!({
        "base": base, "login": link, "screenshots": shots,
        "chromium": std::env::var("TIMEFORGED_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "pages": pages,
        "live": {
            "path": "/?range=today", "api_key": key,
            "heartbeats_url": format!("{base}/api/v1/users/current/heartbeats.bulk"),
            "heartbeats": [beat(hb, "/alpha/src/lib.rs", "alpha", "main", "Rust")],
            "total_after": {"seconds": after, "text": duration(after)},
        },
    });
    let plan_file = env.scratch().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).expect("write the plan");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    let out = std::process::Command::new("node")
        .arg("e2e.mjs")
        .arg(&plan_file)
        .current_dir(&dir)
        .output()
        .expect("run node");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the browser test failed: {}",
        show(&out)
    );
    let summary: Value =
        serde_json::from_str(text.lines().last().unwrap_or("{}")).expect("a JSON summary");
    assert_eq!(summary["failures"], json!([]));
    assert_eq!(summary["pages"], 26);
}

/// `3h 05m`, as the pages show durations (the CLI's format).
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    if s > 0 && s < 60 {
        return format!("{s}s");
    }
    format!("{}h {:02}m", s / 3600, s / 60 % 60)
}

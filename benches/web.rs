//! The web dashboard on a year of 1,000,000 heartbeats: the server's time to render each page
//! (its `Server-Timing` header) and the request end to end on loopback, the bytes a first visit
//! of the overview transfers (page and assets), and the time to first paint in headless
//! Chromium (tests/web/e2e.mjs in its paint mode; skipped without node and chromium).
//!
//! Run with `cargo bench --bench web` (needs `cargo build --release` for the binaries).

mod common;

use common::data::write_year;
use common::{Home, Row, Table, bins, fail, median, ms, percentile, run, thousands, time_run};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// Timed requests per page after a warm-up.
const RUNS: usize = 30;

struct Reply {
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn get(addr: SocketAddr, path: &str, cookie: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| fail(format!("connect {addr}: {e}")));
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .unwrap_or_else(|e| fail(format!("send: {e}")));
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .unwrap_or_else(|e| fail(format!("read: {e}")));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| fail("no end of headers"));
    Reply {
        head: String::from_utf8_lossy(&raw[..split]).into_owned(),
        body: raw[split + 4..].to_vec(),
    }
}

/// p50 / p95 of the server's render time and of the whole request.
fn time_page(addr: SocketAddr, path: &str, cookie: &str) -> (Duration, Duration, Duration, usize) {
    let first = get(addr, path, cookie);
    if !first.head.starts_with("HTTP/1.1 200") {
        fail(format!("GET {path}: {}", first.head));
    }
    let mut server = Vec::with_capacity(RUNS);
    let mut total = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let r = get(addr, path, cookie);
        total.push(t.elapsed());
        let dur = r
            .header("server-timing")
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|d| d.parse::<f64>().ok())
            .unwrap_or_else(|| fail(format!("GET {path}: no Server-Timing")));
        server.push(Duration::from_secs_f64(dur / 1000.0));
    }
    (
        median(&mut server),
        percentile(&mut server, 95.0),
        median(&mut total),
        first.body.len(),
    )
}

fn main() {
    let bins = bins();
    let home = Home::new(&bins);
    std::fs::write(
        home.path().join("config.toml"),
        "[http]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap_or_else(|e| fail(format!("writing the config: {e}")));
    let data = home.path().join("year.jsonl");
    let n = write_year(&data);
    let _daemon = home.start_daemon();
    let import = time_run(home.tf(&["import"]).arg(&data));
    eprintln!("  .. tf import: {}", ms(import));
    let mut table = Table::new(format!(
        "the web dashboard on {} heartbeats over 365 days (release build; p50 / p95 of {RUNS} \
         requests after a warm-up, on loopback)",
        thousands(n as u64)
    ));

    let link = String::from_utf8_lossy(&run(&mut home.tf(&["web", "--print"])).stdout)
        .trim()
        .to_string();
    let rest = link
        .strip_prefix("http://")
        .unwrap_or_else(|| fail(format!("link {link}")));
    let (host, login) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = host
        .parse()
        .unwrap_or_else(|e| fail(format!("{host}: {e}")));
    let signed = get(addr, login, "");
    let cookie = signed
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| fail("no session cookie"))
        .to_string();

    // The first report after an import refreshes every day's rollup.
    let t = Instant::now();
    get(addr, "/?range=year", &cookie);
    table.push(Row::new(
        "overview, year, first request (stale rollups)",
        ms(t.elapsed()),
    ));

    let top_project = {
        let r = get(addr, "/by/project?range=365d&format=json", &cookie);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        v["by"]["project"][0]["name"]
            .as_str()
            .unwrap_or("none")
            .to_string()
    };
    let pages = [
        ("overview, year to date", "/?range=year".to_string(), true),
        ("overview, 365 days", "/?range=365d".to_string(), false),
        ("overview, this week", "/?range=week".to_string(), false),
        ("overview, today", "/?range=today".to_string(), false),
        (
            "files, 365 days (100 of all rows)",
            "/by/entity?range=365d".to_string(),
            false,
        ),
        ("calendar", "/calendar".to_string(), false),
        ("day (today)", "/day".to_string(), false),
        (
            "sessions, 30 days",
            "/sessions?range=30d".to_string(),
            false,
        ),
        (
            "project page, 30 days",
            format!("/project/{top_project}?range=30d"),
            false,
        ),
    ];
    let mut overview_bytes = 0;
    for (name, path, goal) in &pages {
        let (p50, p95, total, bytes) = time_page(addr, path, &cookie);
        let row = Row::new(
            format!("render {name}"),
            format!(
                "{} / {} (request {}; {} KB)",
                ms(p50),
                ms(p95),
                ms(total),
                bytes / 1024
            ),
        );
        table.push(if *goal {
            overview_bytes = bytes;
            row.goal("< 30 ms", p95 < Duration::from_millis(30))
        } else {
            row
        });
    }

    // A first visit: the page, its stylesheet, script and icon (nothing else is loaded).
    let page = get(addr, "/?range=year", &cookie);
    let text = String::from_utf8_lossy(&page.body).into_owned();
    let mut assets = 0;
    for marker in [
        "rel=\"stylesheet\" href=\"",
        "script src=\"",
        "rel=\"icon\" href=\"",
    ] {
        if let Some(i) = text.find(marker) {
            let url = text[i + marker.len()..]
                .split('"')
                .next()
                .unwrap_or_default();
            assets += get(addr, url, "").body.len();
        }
    }
    let total = overview_bytes + assets;
    table.push(
        Row::new(
            "bytes of a first visit of the overview",
            format!(
                "{} KB (page {} KB + assets {} KB, uncompressed)",
                total / 1024,
                overview_bytes / 1024,
                assets / 1024
            ),
        )
        .goal("< 150 KB", total < 150 * 1024),
    );

    // First paint in headless Chromium.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    if dir.join("node_modules/playwright-core").is_dir() && Path::new("/usr/bin/chromium").exists()
    {
        let link = String::from_utf8_lossy(&run(&mut home.tf(&["web", "--print"])).stdout)
            .trim()
            .to_string();
        let plan = serde_json::json!({
            "base": format!("http://{addr}"), "login": link, "paint_only": true,
            "paint_path": "/?range=year", "paint_runs": 10, "pages": [],
        });
        let plan_file = home.path().join("paint.json");
        std::fs::write(&plan_file, plan.to_string()).unwrap_or_else(|e| fail(e));
        let out = std::process::Command::new("node")
            .arg("e2e.mjs")
            .arg(&plan_file)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| fail(format!("node: {e}")));
        let text = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap_or("{}")).unwrap_or_default();
        let mut runs: Vec<Duration> = v["paint_runs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_f64())
                    .map(|x| Duration::from_secs_f64(x / 1000.0))
                    .collect()
            })
            .unwrap_or_default();
        if runs.is_empty() {
            table.push(Row::new(
                "first contentful paint",
                format!("failed: {text}"),
            ));
        } else {
            table.push(Row::new(
                "first contentful paint, overview (year), headless Chromium",
                format!(
                    "{} / {}",
                    ms(median(&mut runs)),
                    ms(percentile(&mut runs, 95.0))
                ),
            ));
        }
    } else {
        table.push(Row::new(
            "first contentful paint",
            "skipped: needs node, tests/web/node_modules (npm ci) and /usr/bin/chromium",
        ));
    }
    table.print();
}

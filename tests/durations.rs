//! Totals checked against an independent oracle: pseudo-random heartbeats over several days
//! (gaps around the timeout, across midnights), reported by the real daemon by day and by
//! project, for whole days, partial ranges and other timeouts; plus concurrent writers.

mod common;

use common::{TestEnv, hb, now_secs, rfc3339};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (time in ms, project) with strictly increasing times.
fn generate(start_ms: i64, end_ms: i64, seed: u64) -> Vec<(i64, &'static str)> {
    let mut rng = Rng(seed);
    let projects = ["alpha", "beta", "gamma"];
    let mut t = start_ms;
    let mut project = projects[0];
    let mut out = Vec::new();
    while t < end_ms {
        out.push((t, project));
        if rng.below(10) == 0 {
            project = projects[rng.below(3) as usize];
        }
        // Mostly short gaps; some right at the 15-minute timeout (in or out by 1 ms); some
        // long pauses that end a session.
        let gap = match rng.below(20) {
            0 => 900_000,
            1 => 899_999,
            2 => 900_001,
            3 => 1_000_000 + rng.below(20_000_000) as i64,
            4 => 300_000 + rng.below(500_000) as i64,
            _ => 1 + rng.below(120_000) as i64,
        };
        t += gap;
    }
    out
}

/// The rules of DESIGN.md, written plainly: each gap strictly shorter than the timeout is
/// credited to the earlier heartbeat, clipped to `[from, to)`, split at UTC midnights.
fn oracle(
    beats: &[(i64, &str)],
    timeout_ms: i64,
    from: i64,
    to: i64,
) -> (i64, BTreeMap<i64, i64>, BTreeMap<String, i64>) {
    let (mut total, mut by_day, mut by_project) = (0, BTreeMap::new(), BTreeMap::new());
    for pair in beats.windows(2) {
        let ((a, project), (b, _)) = (pair[0], pair[1]);
        if b - a >= timeout_ms {
            continue;
        }
        let (mut s, e) = (a.max(from), b.min(to));
        while s < e {
            let day = s.div_euclid(DAY_MS);
            let piece_end = e.min((day + 1) * DAY_MS);
            let ms = piece_end - s;
            total += ms;
            *by_day.entry(day).or_insert(0) += ms;
            *by_project.entry(project.to_string()).or_insert(0) += ms;
            s = piece_end;
        }
    }
    (total, by_day, by_project)
}

fn date_of_day(day: i64) -> String {
    jiff::Timestamp::from_millisecond(day * DAY_MS)
        .expect("time")
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn rows(report: &Value, dim: &str) -> BTreeMap<String, f64> {
    report["by"][dim]
        .as_array()
        .unwrap_or_else(|| panic!("no by.{dim}: {report}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["seconds"].as_f64().expect("seconds"),
            )
        })
        .collect()
}

#[test]
fn reports_match_an_independent_oracle() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let now_ms = (now_secs() * 1000.0) as i64;
    // Four whole UTC days ending with yesterday, plus today up to an hour ago.
    let first_day = now_ms.div_euclid(DAY_MS) - 4;
    let start = first_day * DAY_MS;
    let beats = generate(start + 3_600_000, now_ms - 3_600_000, 0x5EED_1234_ABCD_0001);
    let items: Vec<Value> = beats
        .iter()
        .map(|(t, p)| hb(seconds(*t), &format!("/w/{p}.rs"), p, "Rust"))
        .collect();
    let mut c = env.connect();
    for chunk in items.chunks(1000) {
        let r = c.heartbeats(chunk);
        assert_eq!(r["accepted"], chunk.len(), "{r}");
    }
    assert_eq!(c.count(), beats.len() as i64);

    let whole_from = date_of_day(first_day);
    let whole_to = date_of_day(first_day + 3);
    let check = |from_arg: &str, to_arg: &str, from: i64, to: i64, timeout: Option<u32>| {
        let mut req = json!({
            "v": 1, "type": "report",
            "range": {"from": from_arg, "to": to_arg},
            "by": ["day", "project"],
        });
        if let Some(m) = timeout {
            req["timeout_minutes"] = json!(m);
        }
        let r = env.connect().request(req);
        assert_eq!(r["type"], "report", "{r}");
        let (total, by_day, by_project) =
            oracle(&beats, i64::from(timeout.unwrap_or(15)) * 60_000, from, to);
        let what = format!("{from_arg} .. {to_arg}, timeout {timeout:?}");
        assert_eq!(r["total_seconds"].as_f64(), Some(seconds(total)), "{what}");
        let want_days: BTreeMap<String, f64> = by_day
            .iter()
            .map(|(d, ms)| (date_of_day(*d), seconds(*ms)))
            .collect();
        assert_eq!(rows(&r, "day"), want_days, "{what}");
        let want_projects: BTreeMap<String, f64> = by_project
            .iter()
            .map(|(p, ms)| (p.clone(), seconds(*ms)))
            .collect();
        assert_eq!(rows(&r, "project"), want_projects, "{what}");
    };
    // Whole days (served from the daily rollups) …
    check(&whole_from, &whole_to, start, start + 4 * DAY_MS, None);
    // … instants inside days (computed from raw heartbeats), at millisecond precision …
    let (a, b) = (start + 37_123_456, start + 2 * DAY_MS + 11_654_321);
    check(&rfc3339(seconds(a)), &rfc3339(seconds(b)), a, b, None);
    // … other timeouts, and the default again afterwards.
    check(&whole_from, &whole_to, start, start + 4 * DAY_MS, Some(5));
    check(&whole_from, &whole_to, start, start + 4 * DAY_MS, Some(240));
    check(&rfc3339(seconds(a)), &rfc3339(seconds(b)), a, b, Some(1));
    check(&whole_from, &whole_to, start, start + 4 * DAY_MS, None);

    // New heartbeats in already-reported days update the totals (no stale rollups).
    let extra: Vec<(i64, &str)> = (0..30)
        .map(|i| (start + DAY_MS + 7 * 3_600_000 + 1 + i * 1000, "delta"))
        .collect();
    let extra_items: Vec<Value> = extra
        .iter()
        .map(|(t, p)| hb(seconds(*t), "/w/delta.rs", p, "Rust"))
        .collect();
    c.heartbeats(&extra_items);
    assert!(
        extra.iter().all(|e| beats.iter().all(|b| b.0 != e.0)),
        "no two heartbeats at the same instant, so credit is unambiguous"
    );
    let mut all = beats.clone();
    all.extend(extra);
    all.sort();
    let r = c.report(&whole_from, &whole_to, &["project"], None);
    let (total, _, by_project) = oracle(&all, 900_000, start, start + 4 * DAY_MS);
    assert_eq!(r["total_seconds"].as_f64(), Some(seconds(total)), "{r}");
    assert_eq!(
        rows(&r, "project").get("delta").copied(),
        by_project.get("delta").map(|ms| seconds(*ms)),
        "{r}"
    );
}

#[test]
fn concurrent_writers_neither_lose_nor_double_count() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let t0 = ((now_secs() as i64 - 6 * 3600) / 60 * 60) as f64;
    let socket = env.socket();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let mut c = common::Conn::connect(&socket);
                for batch in 0..10 {
                    // Writer w owns every 8th second: interleaved in time with the others.
                    let items: Vec<Value> = (0..50)
                        .map(|i| {
                            let n = (batch * 50 + i) * 8 + w;
                            hb(t0 + f64::from(n), "/w/c.rs", "conc", "Rust")
                        })
                        .collect();
                    let r = c.heartbeats(&items);
                    assert_eq!(r["accepted"], 50, "writer {w}: {r}");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer thread panicked");
    }
    let mut c = env.connect();
    assert_eq!(c.count(), 4000);
    // One heartbeat every second for 4000 s: 3999 s, whichever connection sent which.
    let r = c.report(&rfc3339(t0 - 60.0), &rfc3339(t0 + 7200.0), &[], None);
    assert_eq!(r["total_seconds"], 3999.0, "{r}");
}

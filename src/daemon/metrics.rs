//! `GET /metrics` for the team server, in Prometheus' text format: heartbeats ingested,
//! requests and their latency per route, users and database size. Counters are atomics and
//! one short-held lock per request; nothing is kept per user.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    heartbeats: AtomicU64,
    routes: Mutex<BTreeMap<(String, String), Route>>,
}

/// One route's counters (by method and matched path).
#[derive(Default, Clone)]
struct Route {
    /// Requests by status code.
    statuses: BTreeMap<u16, u64>,
    /// Requests at or under each bucket's bound (cumulative when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

/// Values read at scrape time.
pub struct Gauges {
    pub users: usize,
    pub database_bytes: u64,
    pub uptime_seconds: f64,
}

impl Metrics {
    pub fn heartbeats_ingested(&self, n: usize) {
        self.heartbeats.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let r = routes
            .entry((method.to_string(), route.to_string()))
            .or_default();
        let secs = took.as_secs_f64();
        *r.statuses.entry(status).or_default() += 1;
        r.count += 1;
        r.seconds += secs;
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            r.buckets[i] += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        metric(
            "timeforged_heartbeats_ingested_total",
            "counter",
            "Heartbeats stored (duplicates not counted).",
        );
        let _ = writeln!(
            out,
            "timeforged_heartbeats_ingested_total {}",
            self.heartbeats.load(Ordering::Relaxed)
        );
        let mut gauge = |name: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            "timeforged_users",
            "Users of this server.",
            g.users.to_string(),
        );
        gauge(
            "timeforged_database_bytes",
            "Size of the database on disk (SQLite: with its WAL).",
            g.database_bytes.to_string(),
        );
        gauge(
            "timeforged_uptime_seconds",
            "Seconds since the server started.",
            format!("{:.3}", g.uptime_seconds),
        );
        let routes = self.routes.lock().map(|r| r.clone()).unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP timeforged_http_requests_total HTTP requests by route and status.\n# TYPE timeforged_http_requests_total counter"
        );
        for ((method, route), r) in &routes {
            for (status, n) in &r.statuses {
                let _ = writeln!(
                    out,
                    "timeforged_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        let name = "timeforged_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to answer an HTTP request, by route.\n# TYPE {name} histogram"
        );
        for ((method, route), r) in &routes {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(r.buckets) {
                cumulative += n;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", r.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {:.6}", r.seconds);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", r.count);
        }
        out
    }
}

/// A label value in the exposition format.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.heartbeats_ingested(3);
        m.request(
            "POST",
            "/api/v1/users/{user}/heartbeats",
            201,
            Duration::from_micros(800),
        );
        m.request(
            "POST",
            "/api/v1/users/{user}/heartbeats",
            201,
            Duration::from_millis(20),
        );
        m.request(
            "POST",
            "/api/v1/users/{user}/heartbeats",
            401,
            Duration::from_millis(3),
        );
        let text = m.render(&Gauges {
            users: 2,
            database_bytes: 4096,
            uptime_seconds: 1.5,
        });
        assert!(
            text.contains("timeforged_heartbeats_ingested_total 3\n"),
            "{text}"
        );
        assert!(text.contains("timeforged_users 2\n"), "{text}");
        assert!(text.contains("timeforged_database_bytes 4096\n"), "{text}");
        assert!(text.contains(
            "timeforged_http_requests_total{method=\"POST\",route=\"/api/v1/users/{user}/heartbeats\",status=\"201\"} 2"
        ), "{text}");
        let labels = "method=\"POST\",route=\"/api/v1/users/{user}/heartbeats\"";
        assert!(
            text.contains(&format!("_bucket{{{labels},le=\"0.001\"}} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{labels},le=\"0.005\"}} 2\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("_bucket{{{labels},le=\"+Inf\"}} 3\n")),
            "{text}"
        );
        assert!(text.contains(&format!("_count{{{labels}}} 3\n")), "{text}");
    }
}

//! The data: a deterministic year of one developer's heartbeats, as WakaTime JSON lines.

use super::{fail, ms, thousands};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// The generator's seed: the same seed gives the same heartbeats (relative to the first day).
pub const SEED: u64 = 0x7f4a_7c15_9e37_79b9;
/// Heartbeats in the year of data the report and footprint benches load.
pub const YEAR_HEARTBEATS: usize = 1_000_000;
/// Days of data, ending at the last UTC midnight (so nothing is in the future).
pub const DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;

/// splitmix64: tiny, fast, and good enough to make data look varied.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// (WakaTime language name, file extension). The first eight are "code" languages.
const LANGUAGES: [(&str, &str); 10] = [
    ("Rust", "rs"),
    ("Go", "go"),
    ("Python", "py"),
    ("TypeScript", "ts"),
    ("JavaScript", "js"),
    ("Java", "java"),
    ("C++", "cpp"),
    ("SQL", "sql"),
    ("Markdown", "md"),
    ("YAML", "yaml"),
];
const CODE_LANGUAGES: usize = 8;

const PROJECTS: [&str; 20] = [
    "timeforged",
    "billing-service",
    "api-gateway",
    "mobile-backend",
    "data-pipeline",
    "auth-server",
    "web-dashboard",
    "search-indexer",
    "infra-tools",
    "notification-hub",
    "payments-sdk",
    "inventory-api",
    "ml-features",
    "docs-site",
    "cli-toolkit",
    "event-bus",
    "geo-service",
    "report-engine",
    "dotfiles",
    "advent-of-code",
];

const MODULES: [&str; 12] = [
    "core", "api", "store", "model", "handlers", "util", "config", "net", "auth", "jobs", "ui",
    "metrics",
];

const STEMS: [&str; 16] = [
    "main", "lib", "mod", "client", "server", "types", "errors", "parser", "cache", "queue",
    "schema", "routes", "service", "worker", "format", "helpers",
];

const BRANCH_WORDS: [&str; 12] = [
    "login", "retry", "export", "cache", "search", "perf", "billing", "ui", "docs", "deps",
    "rollout", "metrics",
];

/// (editor, user agent, weight).
const EDITORS: [(&str, &str, f64); 3] = [
    (
        "vscode",
        "wakatime/v1.102.1 (linux-6.8.0-49-generic-x86_64) go1.22.5 vscode/1.95.3 vscode-wakatime/24.6.2",
        0.55,
    ),
    (
        "neovim",
        "wakatime/v1.102.1 (linux-6.8.0-49-generic-x86_64) go1.22.5 neovim/0.10.2 vim-wakatime/11.1.1",
        0.35,
    ),
    (
        "intellij",
        "wakatime/v1.102.1 (linux-6.8.0-49-generic-x86_64) go1.22.5 IntelliJ/2024.3 intellij-wakatime/15.0.3",
        0.10,
    ),
];

const MACHINES: [&str; 2] = ["workstation", "laptop"];

/// (category, weight when a new burst of activity starts).
const CATEGORIES: [(&str, f64); 5] = [
    ("coding", 0.70),
    ("debugging", 0.10),
    ("running tests", 0.08),
    ("writing tests", 0.07),
    ("code reviewing", 0.05),
];

struct File {
    path: String,
    language: usize,
    lines: i64,
}

struct Project {
    name: &'static str,
    files: Vec<File>,
    branches: Vec<String>,
}

/// 20 projects × 100 files (2,000 files), 3 to 6 branches each.
fn universe(rng: &mut Rng) -> Vec<Project> {
    PROJECTS
        .iter()
        .enumerate()
        .map(|(p, &name)| {
            let primary = p % CODE_LANGUAGES;
            let secondary = (p + 3) % CODE_LANGUAGES;
            let files = (0..100)
                .map(|i| {
                    let language = match i {
                        0..72 => primary,
                        72..80 => secondary,
                        80..90 => 8,
                        _ => 9,
                    };
                    let dir = match language {
                        8 => "docs".to_string(),
                        9 => ".github/workflows".to_string(),
                        _ if i % 5 == 0 => "tests".to_string(),
                        _ => format!("src/{}", MODULES[rng.below(MODULES.len() as u64) as usize]),
                    };
                    let stem = STEMS[rng.below(STEMS.len() as u64) as usize];
                    File {
                        path: format!(
                            "/home/dev/src/{name}/{dir}/{stem}_{i}.{}",
                            LANGUAGES[language].1
                        ),
                        language,
                        lines: rng.range(20, 2000),
                    }
                })
                .collect();
            let mut branches = vec!["main".to_string()];
            for _ in 0..rng.range(2, 6) {
                let kind = ["feature", "fix", "chore"][rng.below(3) as usize];
                let word = BRANCH_WORDS[rng.below(BRANCH_WORDS.len() as u64) as usize];
                branches.push(format!("{kind}/{word}-{}", rng.range(100, 999)));
            }
            Project {
                name,
                files,
                branches,
            }
        })
        .collect()
}

/// Splits `n` into integers proportional to `weights` (largest remainders), summing to `n`.
fn distribute(n: usize, weights: &[f64]) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let missing = n - out.iter().sum::<usize>();
    for &i in order.iter().cycle().take(missing) {
        out[i] += 1;
    }
    out
}

/// The UTC midnight `DAYS` days before the last one: the data covers `[start, last midnight)`.
pub fn data_start_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    (now / DAY_MS - DAYS) * DAY_MS
}

/// What the developer is doing right now.
struct Session {
    project: usize,
    branch: usize,
    editor: usize,
    category: usize,
    /// Indexes into the project's files; the current file is `working[0]`.
    working: Vec<usize>,
}

/// Heartbeats of one developer over [`DAYS`] days: working hours on weekdays (some weekends,
/// a few holidays, the odd late night across midnight), a focus project per month, sessions
/// separated by breaks longer than the timeout, short pauses within them.
pub struct Generator {
    rng: Rng,
    projects: Vec<Project>,
    start_ms: i64,
    per_day: Vec<usize>,
    /// The next day to start.
    next_day: usize,
    /// The day being generated.
    day: usize,
    left_today: usize,
    time_ms: i64,
    /// Mean of the short gaps today, in ms.
    mean_gap_ms: f64,
    pause_p: f64,
    break_p: f64,
    lunch_at: usize,
    machine: usize,
    focus: usize,
    session: Session,
}

impl Generator {
    pub fn new(seed: u64, n: usize, start_ms: i64) -> Generator {
        let mut rng = Rng::new(seed);
        let projects = universe(&mut rng);
        let weights: Vec<f64> = (0..DAYS)
            .map(|d| match d % 7 {
                0..5 if rng.chance(0.04) => 0.0, // holiday
                0..5 => 0.6 + 0.8 * rng.unit(),
                _ if rng.chance(0.25) => 0.15 + 0.3 * rng.unit(),
                _ => 0.0,
            })
            .collect();
        let per_day = distribute(n, &weights);
        let focus = rng.below(PROJECTS.len() as u64) as usize;
        let session = Session {
            project: 0,
            branch: 0,
            editor: 0,
            category: 0,
            working: vec![0],
        };
        Generator {
            rng,
            projects,
            start_ms,
            per_day,
            next_day: 0,
            day: 0,
            left_today: 0,
            time_ms: start_ms,
            mean_gap_ms: 0.0,
            pause_p: 0.0,
            break_p: 0.0,
            lunch_at: 0,
            machine: 0,
            focus,
            session,
        }
    }

    /// Moves to the next day with heartbeats; false when there is none.
    fn start_day(&mut self) -> bool {
        while self.next_day < self.per_day.len() && self.per_day[self.next_day] == 0 {
            self.next_day += 1;
        }
        let Some(&count) = self.per_day.get(self.next_day) else {
            return false;
        };
        self.day = self.next_day;
        self.next_day += 1;
        let rng = &mut self.rng;
        let day = self.day as i64;
        let weekend = day % 7 >= 5;
        // Some evenings run past midnight (never on the last day: nothing may be in the future).
        let late = !weekend && day + 1 < DAYS && rng.chance(0.04);
        let start_minute = if late {
            rng.range(16 * 60, 17 * 60)
        } else {
            rng.range(8 * 60, 10 * 60)
        };
        let day_start = self.start_ms + day * DAY_MS + start_minute * 60_000;
        self.time_ms = self.time_ms.max(day_start);
        // Credited time aimed at for the day; short gaps share what pauses leave.
        let active_ms = if weekend {
            rng.range(60, 150) * 60_000
        } else {
            rng.range(270, 420) * 60_000
        };
        let (pauses, breaks) = if weekend { (4.0, 0.5) } else { (15.0, 2.0) };
        self.pause_p = pauses / count as f64;
        self.break_p = breaks / count as f64;
        self.mean_gap_ms = (active_ms as f64 / count as f64).max(400.0);
        self.lunch_at = if weekend { usize::MAX } else { count / 2 };
        self.machine = usize::from(weekend || rng.chance(0.25));
        if day % 30 == 0 {
            self.focus = rng.below(PROJECTS.len() as u64) as usize;
        }
        self.left_today = count;
        self.new_session(true);
        true
    }

    fn new_session(&mut self, new_project: bool) {
        let rng = &mut self.rng;
        if new_project {
            self.session.project = if rng.chance(0.6) {
                self.focus
            } else {
                // Zipf-like: a few projects get most of the rest.
                let w: Vec<f64> = (0..PROJECTS.len())
                    .map(|p| 1.0 / (1.0 + p as f64).powf(0.9))
                    .collect();
                rng.weighted(&w)
            };
        }
        let project = &self.projects[self.session.project];
        self.session.branch = if rng.chance(0.4) {
            0
        } else {
            rng.range(1, project.branches.len() as i64) as usize
        };
        let editor_w: Vec<f64> = EDITORS.iter().map(|e| e.2).collect();
        self.session.editor = rng.weighted(&editor_w);
        let cat_w: Vec<f64> = CATEGORIES.iter().map(|c| c.1).collect();
        self.session.category = rng.weighted(&cat_w);
        let size = rng.range(3, 7) as usize;
        self.session.working = (0..size).map(|_| self.pick_file()).collect();
    }

    /// A file of the current project, mostly code.
    fn pick_file(&mut self) -> usize {
        if self.rng.chance(0.85) {
            self.rng.below(80) as usize
        } else {
            self.rng.range(80, 100) as usize
        }
    }

    /// Advances the clock to the next heartbeat of today.
    fn step(&mut self) {
        let done = self.per_day[self.day] - self.left_today;
        if done == self.lunch_at {
            self.time_ms += self.rng.range(35, 70) * 60_000;
            let switch = self.rng.chance(0.5);
            self.new_session(switch);
            return;
        }
        if self.rng.chance(self.break_p) {
            // Longer than the 15 min timeout: a new session, often another project.
            self.time_ms += self.rng.range(16, 50) * 60_000;
            let switch = self.rng.chance(0.5);
            self.new_session(switch);
            return;
        }
        if self.rng.chance(self.pause_p) {
            self.time_ms += self.rng.range(60_000, 420_000);
        } else {
            let m = self.mean_gap_ms;
            self.time_ms += self.rng.range((0.2 * m) as i64, (1.8 * m) as i64).max(1);
        }
        if self.rng.chance(0.003) {
            self.new_session(true); // a context switch without a break
        } else if self.rng.chance(0.004) {
            let cat_w: Vec<f64> = CATEGORIES.iter().map(|c| c.1).collect();
            self.session.category = self.rng.weighted(&cat_w);
        }
        let r = self.rng.unit();
        if r < 0.09 {
            let i = self.rng.below(self.session.working.len() as u64) as usize;
            self.session.working.swap(0, i);
        } else if r < 0.10 {
            self.session.working[0] = self.pick_file();
        }
    }

    /// Appends the next heartbeat as one JSON line (no newline) to `out`; false when done.
    pub fn next_into(&mut self, out: &mut String) -> bool {
        if self.left_today == 0 {
            if !self.start_day() {
                return false;
            }
        } else {
            self.step();
        }
        self.left_today -= 1;
        let s = &self.session;
        let project = &self.projects[s.project];
        let file = &project.files[s.working[0]];
        let (editor, user_agent, _) = EDITORS[s.editor];
        let is_write = self.rng.chance(0.12);
        let lines = file.lines + self.rng.range(0, 8);
        let lineno = self.rng.range(1, lines + 1);
        let cursorpos = self.rng.range(1, 100);
        let t = self.time_ms;
        let _ = write!(
            out,
            r#"{{"time":{}.{:03},"entity":"{}","type":"file","category":"{}","project":"{}","branch":"{}","language":"{}","is_write":{is_write},"lines":{lines},"lineno":{lineno},"cursorpos":{cursorpos},"machine":"{}","editor":"{editor}","os":"Linux","user_agent":"{user_agent}"}}"#,
            t / 1000,
            t % 1000,
            file.path,
            CATEGORIES[s.category].0,
            project.name,
            project.branches[s.branch],
            LANGUAGES[file.language].0,
            MACHINES[self.machine],
        );
        true
    }

    /// The first `n` heartbeats as JSON lines.
    pub fn take_lines(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(n);
        let mut line = String::new();
        while out.len() < n && self.next_into(&mut line) {
            out.push(std::mem::take(&mut line));
        }
        out
    }

    /// Writes every heartbeat as JSON lines to `path`; returns (count, bytes).
    pub fn write_file(&mut self, path: &Path) -> (usize, u64) {
        let file = std::fs::File::create(path)
            .unwrap_or_else(|e| fail(format!("creating {}: {e}", path.display())));
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let (mut n, mut bytes) = (0usize, 0u64);
        let mut line = String::with_capacity(512);
        while self.next_into(&mut line) {
            line.push('\n');
            w.write_all(line.as_bytes())
                .unwrap_or_else(|e| fail(format!("writing {}: {e}", path.display())));
            n += 1;
            bytes += line.len() as u64;
            line.clear();
        }
        w.flush()
            .unwrap_or_else(|e| fail(format!("writing {}: {e}", path.display())));
        (n, bytes)
    }
}

/// Generates the year of data into `path`, printing what it made.
pub fn write_year(path: &Path) -> usize {
    let started = Instant::now();
    let start_ms = data_start_ms();
    let (n, bytes) = Generator::new(SEED, YEAR_HEARTBEATS, start_ms).write_file(path);
    eprintln!(
        "  .. generated {} heartbeats ({:.0} MB of JSON lines, {} days from {}) in {}",
        thousands(n as u64),
        bytes as f64 / 1e6,
        DAYS,
        utc_date(start_ms),
        ms(started.elapsed())
    );
    n
}

pub fn utc_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

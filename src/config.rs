//! Settings, layered: built-in defaults, then the config file (`config.toml`, or `config.yaml`
//! with the same keys), then `TIMEFORGED_<SECTION>__<KEY>` environment variables. Errors name the
//! file, line, column and key (or the variable) at fault.

mod yaml;

use std::io;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

/// Environment variables with this prefix (any case) and a `__` set config keys.
const ENV_PREFIX: &str = "TIMEFORGED_";
/// WakaTime's default, and what users compare against.
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 15;
pub const TIMEOUT_MINUTES_RANGE: RangeInclusive<u32> = 1..=240;
/// Wakapi's fixed heartbeat timeout, which its preset reproduces.
pub const WAKAPI_TIMEOUT_MINUTES: u32 = 10;

/// The effective settings. Every field has a default, so an empty or missing file is valid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub daemon: DaemonConfig,
    pub storage: StorageConfig,
    pub durations: DurationsConfig,
    pub report: ReportConfig,
    pub http: HttpConfig,
    pub shell: ShellConfig,
    pub watch: WatchConfig,
    pub server: ServerConfig,
    /// `[sync]`: the user's TimeForged server, pushed to and pulled from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<TargetConfig>,
    /// `[[forward]]`: WakaTime-compatible servers heartbeats are copied to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forward: Vec<TargetConfig>,
}

impl Config {
    /// Whether anything is sent elsewhere (so records made here are kept in the outbox).
    pub fn syncs(&self) -> bool {
        self.sync.is_some() || !self.forward.is_empty()
    }
}

/// A server heartbeats are sent to: `[sync]` (a TimeForged server, pushed and pulled) or a
/// `[[forward]]` entry (a WakaTime-compatible API, pushed only), with what to keep private.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `https://tf.example.com` (TimeForged), `https://wakapi.example.com/api` (WakaTime kind:
    /// the base that `/v1/users/current/heartbeats.bulk` is below, or the `/api/v1` itself).
    pub url: String,
    /// The key on that server (never shown by `tf config show`).
    pub api_key: String,
    /// `timeforged` (the default of `[sync]`) or `wakatime` (the default of `[[forward]]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TargetKind>,
    /// Send `HIDDEN.<ext>` instead of file names.
    #[serde(default)]
    pub hide_file_names: bool,
    /// Send a stable token instead of each branch name.
    #[serde(default)]
    pub hide_branch_names: bool,
    /// Send a stable token instead of each project name.
    #[serde(default)]
    pub hide_project_names: bool,
    /// Projects (globs) never sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_projects: Vec<String>,
    /// Only heartbeats of these categories are sent (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Sync by itself (soon after new data, and on a timer); false leaves it to `tf sync now`.
    #[serde(default = "yes")]
    pub auto: bool,
}

fn yes() -> bool {
    true
}

/// What protocol a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Timeforged,
    Wakatime,
}

/// `[daemon]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// `tf` starts the daemon when it is not running.
    pub autostart: bool,
    /// A `tracing` filter: `info`, `debug`, `timeforged=trace`, ….
    pub log_level: String,
    /// Overrides the socket path (a leading `~/` is the home directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            autostart: true,
            log_level: "info".to_owned(),
            socket: None,
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Overrides the database path (a leading `~/` is the home directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<PathBuf>,
    /// The team server's database (`timeforged serve`, `timeforged user`): a file path,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `[server]`: `timeforged serve`, the multi-user team server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`IP:PORT`).
    pub listen: String,
    /// Serve `GET /metrics` (Prometheus text format).
    pub metrics: bool,
    /// Allow a non-loopback address without TLS (TLS is then a reverse proxy's job).
    pub allow_plaintext: bool,
    /// Time zone of users who set none (IANA name); unset = the server's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_SERVER_LISTEN.to_owned(),
            metrics: false,
            allow_plaintext: false,
            time_zone: None,
        }
    }
}

/// Where `timeforged serve` listens unless configured otherwise.
pub const DEFAULT_SERVER_LISTEN: &str = "127.0.0.1:9114";

/// `[durations]`: how heartbeats become time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DurationsConfig {
    /// A gap between heartbeats shorter than this counts as work; unset = the preset's own
    /// (15 minutes, Wakapi's 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u32>,
    pub preset: Preset,
}

impl DurationsConfig {
    /// The timeout in force: the one set, else the preset's.
    pub fn timeout_minutes(&self) -> u32 {
        effective_timeout(self.timeout_minutes, self.preset)
    }
}

/// A timeout as set (or not) under a preset, in minutes.
pub fn effective_timeout(timeout_minutes: Option<u32>, preset: Preset) -> u32 {
    timeout_minutes.unwrap_or(match preset {
        Preset::Timeforged => DEFAULT_TIMEOUT_MINUTES,
        Preset::Wakapi => WAKAPI_TIMEOUT_MINUTES,
    })
}

/// The duration rules of a timeout (as set, or not) under a preset.
pub fn rules(timeout_minutes: Option<u32>, preset: Preset) -> crate::timeline::Rules {
    let timeout_ms = i64::from(effective_timeout(timeout_minutes, preset)) * 60_000;
    match preset {
        Preset::Timeforged => crate::timeline::Rules::timeforged(timeout_ms),
        Preset::Wakapi => crate::timeline::Rules::wakapi_with(timeout_ms),
    }
}

/// Which rules turn heartbeats into durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// WakaTime's rules with the configured timeout (15 minutes unless set); gaps across
    /// midnight are split.
    #[default]
    Timeforged,
    /// Wakapi's rules: its timeout (10 minutes unless set), gaps whose ends fall on different
    /// days dropped.
    Wakapi,
}

/// `[http]`: the WakaTime-compatible HTTP API that editor plugins report to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Serve the HTTP API at all.
    pub enabled: bool,
    /// Address to listen on; loopback by default (port 0 picks a free port).
    pub listen: String,
    /// Heartbeats older than this many days are rejected (WakaTime plugins replay old queues).
    pub max_heartbeat_age_days: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: DEFAULT_HTTP_LISTEN.to_owned(),
            max_heartbeat_age_days: 365,
        }
    }
}

/// Where the HTTP API listens unless configured otherwise.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9113";

/// `[shell]`: what the zsh/bash/fish hooks record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShellConfig {
    /// Store whole command lines (secrets redacted) instead of only the first word.
    pub record_args: bool,
    /// Category of commands no rule classifies.
    pub default_category: String,
    /// Commands (glob on the command line, e.g. `"ls*"`) or directories (absolute, `~/…`) to ignore.
    pub exclude: Vec<String>,
    /// A command counts for at most this long (a forgotten `tail -f` must not count all day).
    pub max_command_minutes: u32,
    /// The spool (events queued while the daemon is down) keeps at most this many bytes.
    pub spool_max_bytes: u64,
    /// Extra rules, checked first: glob on the command line → category,
    /// e.g. `"just test*" = "running tests"`.
    pub categories: std::collections::BTreeMap<String, String>,
}

impl Default for ShellConfig {
    fn default() -> Self {
        ShellConfig {
            record_args: false,
            default_category: "coding".to_owned(),
            exclude: Vec::new(),
            max_command_minutes: 240,
            spool_max_bytes: 10 * 1024 * 1024,
            categories: Default::default(),
        }
    }
}

/// `[watch]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Directories whose git repositories are tracked from file changes (`~/…` allowed);
    /// `tf watch add` adds more without editing this file.
    pub roots: Vec<PathBuf>,
    /// Directory names never watched, beside the built-in ones (`.git`, `target`,
    /// `node_modules`, …) and what `.gitignore` ignores.
    pub exclude: Vec<String>,
    /// A file counts at most once per this many seconds.
    pub debounce_seconds: u32,
    /// How often directories beyond the kernel's watch limit are polled.
    pub poll_seconds: u32,
    /// Most inotify watches to use (0 = as many as the kernel allows); past it, directories
    /// are polled.
    pub max_watches: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            roots: Vec::new(),
            exclude: Vec::new(),
            debounce_seconds: 30,
            poll_seconds: 10,
            max_watches: 0,
        }
    }
}

/// `[report]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    pub week_start: WeekStart,
}

/// The first day of a reported week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekStart {
    #[default]
    Monday,
    Sunday,
}

/// A 1-based line and column (in characters) in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Why the settings could not be loaded. Each message says where the bad value is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A problem in the file: `path:line:column: key: message`. `message` already names `key`.
    #[error("{}: {message}", file_location(.path, .position))]
    File {
        path: PathBuf,
        position: Option<Position>,
        key: Option<String>,
        message: String,
    },
    /// A problem with an environment variable: `VAR=value: message`.
    #[error("{var}={value}: {message}")]
    Env {
        var: String,
        value: String,
        message: String,
    },
    /// More than one config file (`config.toml` and `config.yaml`): which one is meant?
    #[error(
        "{} and {} both exist: TimeForged reads one config file; merge them into one and remove the other",
        .files[0].display(), .files[1].display()
    )]
    Ambiguous { files: Vec<PathBuf> },
    /// A value out of its accepted range, e.g. `durations.timeout_minutes = 0 is out of range
    /// (expected 1 to 240 minutes)`.
    #[error("{message}")]
    Invalid { key: &'static str, message: String },
}

fn file_location(path: &Path, position: &Option<Position>) -> String {
    match position {
        Some(Position { line, column }) => format!("{}:{line}:{column}", path.display()),
        None => path.display().to_string(),
    }
}

/// One `TIMEFORGED_SECTION__KEY=value` variable.
struct EnvOverride {
    var: String,
    raw: String,
    section: String,
    key: String,
    value: toml::Value,
}

impl EnvOverride {
    fn error(&self, message: String) -> ConfigError {
        ConfigError::Env {
            var: self.var.clone(),
            value: self.raw.clone(),
            message,
        }
    }

    fn as_table(&self) -> toml::Table {
        let mut inner = toml::Table::new();
        inner.insert(self.key.clone(), self.value.clone());
        let mut outer = toml::Table::new();
        outer.insert(self.section.clone(), toml::Value::Table(inner));
        outer
    }
}

impl Config {
    /// Loads `path` (a missing file means defaults), then applies the `TIMEFORGED_*` variables in
    /// `env` (pass [`env_vars`] in production, an explicit list in tests), then validates. The
    /// file is YAML when its name ends in `.yaml` or `.yml`, else TOML (see [`find_file`]).
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = read_file(path)?.unwrap_or_default();
        match Format::of(path) {
            Format::Toml => Self::from_toml_str(&text, path, env),
            Format::Yaml => Self::from_yaml_str(&text, path, env),
        }
    }

    /// [`Config::load`] with the file's text given; `origin` is the path used in messages.
    pub fn from_toml_str(
        text: &str,
        origin: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let file = FileText {
            text,
            origin,
            format: Format::Toml,
        };
        let table: toml::Table =
            toml::from_str(text).map_err(|err| file_error(text, origin, &err))?;
        Self::from_layers(table, &file, env)
    }

    /// [`Config::load`] of a YAML file's text: the same keys, the same layering and the same
    /// errors (file, line, column and key) as TOML.
    pub fn from_yaml_str(
        text: &str,
        origin: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let file = FileText {
            text,
            origin,
            format: Format::Yaml,
        };
        let table = yaml::to_table(text, origin)?;
        Self::from_layers(table, &file, env)
    }

    /// The file's table, the variables over it, then the checks.
    fn from_layers(
        mut table: toml::Table,
        file: &FileText<'_>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let overrides = env_overrides(env)?;
        for o in &overrides {
            let section = table
                .entry(o.section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            // If the file made the section something other than a table, deserializing reports it.
            if let toml::Value::Table(section) = section {
                section.insert(o.key.clone(), o.value.clone());
            }
        }
        let config: Config = table
            .try_into()
            .map_err(|err| diagnose(file, &overrides, &err))?;
        config
            .validate()
            .map_err(|err| locate_invalid(err, file, &overrides))?;
        Ok(config)
    }

    /// Checks the values the types cannot: ranges, empty strings, relative paths.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let minutes = self.durations.timeout_minutes();
        if !TIMEOUT_MINUTES_RANGE.contains(&minutes) {
            return Err(ConfigError::Invalid {
                key: "durations.timeout_minutes",
                message: format!(
                    "durations.timeout_minutes = {minutes} is out of range (expected {} to {} minutes)",
                    TIMEOUT_MINUTES_RANGE.start(),
                    TIMEOUT_MINUTES_RANGE.end()
                ),
            });
        }
        if self.daemon.log_level.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "daemon.log_level",
                message: format!(
                    "daemon.log_level = {:?} is empty (expected a tracing filter such as \
                     \"info\", \"debug\" or \"timeforged=trace\")",
                    self.daemon.log_level
                ),
            });
        }
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "http.listen",
                message: format!(
                    "http.listen = {:?} is not an address (expected IP:PORT such as \"127.0.0.1:9113\")",
                    self.http.listen
                ),
            });
        }
        if self.http.max_heartbeat_age_days == 0 {
            return Err(ConfigError::Invalid {
                key: "http.max_heartbeat_age_days",
                message:
                    "http.max_heartbeat_age_days = 0 is out of range (expected at least 1 day)"
                        .to_owned(),
            });
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "server.listen",
                message: format!(
                    "server.listen = {:?} is not an address (expected IP:PORT such as \"0.0.0.0:9114\")",
                    self.server.listen
                ),
            });
        }
        if let Some(tz) = &self.server.time_zone
            && jiff::tz::TimeZone::get(tz).is_err()
        {
            return Err(ConfigError::Invalid {
                key: "server.time_zone",
                message: format!(
                    "server.time_zone = {tz:?} is not a time zone (expected an IANA name such as \"Europe/Berlin\")"
                ),
            });
        }
        let targets = self
            .sync
            .iter()
            .map(|t| ("sync", t))
            .chain(self.forward.iter().map(|t| ("forward", t)));
        for (key, t) in targets {
            let fail = |message: String| ConfigError::Invalid {
                key: if key == "sync" { "sync" } else { "forward" },
                message,
            };
            let url_ok = (t.url.starts_with("http://") || t.url.starts_with("https://"))
                && t.url.split_once("://").is_some_and(|(_, rest)| {
                    !rest.is_empty()
                        && !rest.starts_with('/')
                        && !rest.contains(char::is_whitespace)
                });
            if !url_ok {
                return Err(fail(format!(
                    "{key}.url = {:?} is not a URL (expected http://HOST[:PORT][/PATH] or https://…)",
                    t.url
                )));
            }
            if t.api_key.trim().is_empty() {
                return Err(fail(format!(
                    "{key}.api_key is empty (the key on {})",
                    t.url
                )));
            }
            if let Some(c) = t
                .categories
                .iter()
                .find(|c| crate::model::Category::parse(c).is_none())
            {
                return Err(fail(format!(
                    "{key}.categories: {c:?} is not a category (expected one of: {})",
                    crate::model::CATEGORIES.join(", ")
                )));
            }
        }
        let known = |c: &str| crate::model::Category::parse(c).is_some();
        if !known(&self.shell.default_category) {
            return Err(ConfigError::Invalid {
                key: "shell.default_category",
                message: format!(
                    "shell.default_category = {:?} is not a category (expected one of: {})",
                    self.shell.default_category,
                    crate::model::CATEGORIES.join(", ")
                ),
            });
        }
        if let Some((pattern, category)) = self.shell.categories.iter().find(|(_, c)| !known(c)) {
            return Err(ConfigError::Invalid {
                key: "shell.categories",
                message: format!(
                    "shell.categories: {pattern:?} = {category:?} is not a category (expected one of: {})",
                    crate::model::CATEGORIES.join(", ")
                ),
            });
        }
        if self.shell.max_command_minutes == 0 {
            return Err(ConfigError::Invalid {
                key: "shell.max_command_minutes",
                message: "shell.max_command_minutes = 0 is out of range (expected at least 1)"
                    .to_owned(),
            });
        }
        for (key, value) in [
            ("watch.debounce_seconds", self.watch.debounce_seconds),
            ("watch.poll_seconds", self.watch.poll_seconds),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!("{key} = 0 is out of range (expected at least 1 second)"),
                });
            }
        }
        if let Some(root) = self
            .watch
            .roots
            .iter()
            .find(|p| !(p.is_absolute() || p.starts_with("~")))
        {
            return Err(ConfigError::Invalid {
                key: "watch.roots",
                message: format!(
                    "watch.roots: {:?} is not an absolute path (expected /… or ~/…)",
                    root.display().to_string()
                ),
            });
        }
        let overrides = [
            ("daemon.socket", &self.daemon.socket),
            ("storage.database", &self.storage.database),
        ];
        for (key, path) in overrides {
            // The daemon and `tf` run in different directories, so a relative path would not
            // name the same file for both.
            if let Some(path) = path
                && !(path.is_absolute() || path.starts_with("~"))
            {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!(
                        "{key} = {:?} is not an absolute path (expected /… or ~/…)",
                        path.display().to_string()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The effective settings as TOML, as `tf config show` prints them. Unset path overrides are
    /// left out.
    pub fn to_toml(&self) -> String {
        // Section by section, for a blank line between sections.
        [
            toml_section("daemon", &self.daemon),
            toml_section("storage", &self.storage),
            toml_section(
                "durations",
                &DurationsConfig {
                    timeout_minutes: Some(self.durations.timeout_minutes()),
                    ..self.durations.clone()
                },
            ),
            toml_section("report", &self.report),
            toml_section("http", &self.http),
            toml_section("shell", &self.shell),
            toml_section("watch", &self.watch),
            toml_section("server", &self.server),
        ]
        .join("\n")
            + &self.targets_toml()
    }
}

/// Keys a running daemon applies only when it starts again: where it listens and what it
/// opens, and what is set up once (its log filter, the spool's bound).
pub const RESTART_KEYS: [&str; 7] = [
    "daemon.socket",
    "daemon.log_level",
    "storage.database",
    "http.enabled",
    "http.listen",
    "http.max_heartbeat_age_days",
    "shell.spool_max_bytes",
];

impl Config {
    /// The settings as the daemon uses them: `tf`'s own (`daemon.autostart`) and the team
    /// server's (`storage.url`, `[server]`) at their defaults, so that they never count as a
    /// difference between `tf` and the daemon.
    pub fn daemon_view(&self) -> Config {
        let mut c = self.clone();
        c.daemon.autostart = DaemonConfig::default().autostart;
        c.storage.url = None;
        c.server = ServerConfig::default();
        // The timeout as in force, however it was set.
        c.durations.timeout_minutes = Some(c.durations.timeout_minutes());
        c
    }

    /// The daemon's view as JSON with API keys replaced by a short hash of them (a changed key
    /// still shows as a difference, and the key itself never leaves the daemon).
    pub fn daemon_json(&self) -> serde_json::Value {
        let mut c = self.daemon_view();
        let hide =
            |t: &mut TargetConfig| t.api_key = format!("(hidden #{})", short_hash(&t.api_key));
        c.sync.iter_mut().for_each(hide);
        c.forward.iter_mut().for_each(hide);
        serde_json::to_value(&c).unwrap_or_default()
    }

    /// A hash of [`Config::daemon_json`]: equal for `tf` and the daemon when they agree.
    pub fn fingerprint(&self) -> String {
        short_hash(&self.daemon_json().to_string())
    }

    /// These settings with the [`RESTART_KEYS`] of `running` (what a running daemon keeps), and
    /// the keys whose value that hides.
    pub fn keep_restart_keys(mut self, running: &Config) -> (Config, Vec<String>) {
        let mut changed = Vec::new();
        let mut keep = |key: &str, differs: bool| {
            if differs {
                changed.push(key.to_string());
            }
            differs
        };
        if keep("daemon.socket", self.daemon.socket != running.daemon.socket) {
            self.daemon.socket = running.daemon.socket.clone();
        }
        if keep(
            "daemon.log_level",
            self.daemon.log_level != running.daemon.log_level,
        ) {
            self.daemon.log_level = running.daemon.log_level.clone();
        }
        if keep(
            "storage.database",
            self.storage.database != running.storage.database,
        ) {
            self.storage.database = running.storage.database.clone();
        }
        if keep("http.enabled", self.http.enabled != running.http.enabled) {
            self.http.enabled = running.http.enabled;
        }
        if keep("http.listen", self.http.listen != running.http.listen) {
            self.http.listen = running.http.listen.clone();
        }
        if keep(
            "http.max_heartbeat_age_days",
            self.http.max_heartbeat_age_days != running.http.max_heartbeat_age_days,
        ) {
            self.http.max_heartbeat_age_days = running.http.max_heartbeat_age_days;
        }
        if keep(
            "shell.spool_max_bytes",
            self.shell.spool_max_bytes != running.shell.spool_max_bytes,
        ) {
            self.shell.spool_max_bytes = running.shell.spool_max_bytes;
        }
        (self, changed)
    }
}

/// The keys (`section.key`, or the section for a list such as `forward`) whose values differ
/// between two [`Config::daemon_json`]s, each with both values as JSON text.
pub fn differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<(String, String, String)> {
    fn flatten(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        if let Some(sections) = v.as_object() {
            for (section, body) in sections {
                match body.as_object() {
                    Some(keys) => {
                        for (key, value) in keys {
                            out.insert(format!("{section}.{key}"), value.to_string());
                        }
                    }
                    None => {
                        out.insert(section.clone(), body.to_string());
                    }
                }
            }
        }
        out
    }
    let (a, b) = (flatten(a), flatten(b));
    let unset = || "(unset)".to_string();
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            (
                k.clone(),
                a.get(k).cloned().unwrap_or_else(unset),
                b.get(k).cloned().unwrap_or_else(unset),
            )
        })
        .collect()
}

/// A short hash of `text` (hex), to compare settings and files without sending them.
pub fn short_hash(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Config {
    /// `[sync]` and `[[forward]]` as TOML with their API keys hidden.
    fn targets_toml(&self) -> String {
        let hide = |t: &TargetConfig| TargetConfig {
            api_key: "(hidden)".into(),
            ..t.clone()
        };
        let mut out = String::new();
        if let Some(t) = &self.sync {
            out.push('\n');
            out.push_str(&toml_section("sync", &hide(t)));
        }
        if !self.forward.is_empty() {
            let hidden: Vec<TargetConfig> = self.forward.iter().map(hide).collect();
            out.push('\n');
            out.push_str(&toml_section("forward", &hidden));
        }
        out
    }
}

fn toml_section(name: &str, section: &impl Serialize) -> String {
    // Cannot fail: every field is a string, bool, integer or UTF-8 path (paths come from TOML or
    // from UTF-8 environment values), but a panic is not worth it.
    // Serialized under its name, so that nested tables come out as `[name.sub]`.
    let mut table = toml::Table::new();
    match toml::Value::try_from(section) {
        Ok(value) => {
            table.insert(name.to_string(), value);
        }
        Err(err) => return format!("# [{name}] cannot be shown: {err}\n"),
    }
    match toml::to_string(&table) {
        Ok(body) => body,
        Err(err) => format!("# [{name}] cannot be shown: {err}\n"),
    }
}

/// What a config file is written in, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

impl Format {
    /// YAML for `*.yaml` and `*.yml`, else TOML.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") => {
                Format::Yaml
            }
            _ => Format::Toml,
        }
    }
}

/// A config file's text, where it came from and its format: what errors point into.
struct FileText<'a> {
    text: &'a str,
    origin: &'a Path,
    format: Format,
}

/// The names a config file may have, in the directory of `config.toml`.
const CONFIG_NAMES: [&str; 3] = ["config.toml", "config.yaml", "config.yml"];

/// The config file in use, given where `config.toml` would be: `config.toml`, `config.yaml` or
/// `config.yml` beside it, whichever exists (`default` itself when none does). Two of them is
/// an error naming both: reading one and silently ignoring the other would surprise.
pub fn find_file(default: &Path) -> Result<PathBuf, ConfigError> {
    let Some(dir) = default.parent() else {
        return Ok(default.to_path_buf());
    };
    // Only the standard names are looked around: an explicit other name is taken as it is.
    let standard = default
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| CONFIG_NAMES.contains(&n));
    if !standard {
        return Ok(default.to_path_buf());
    }
    let mut found = Vec::new();
    for name in CONFIG_NAMES {
        let path = dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => found.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(ConfigError::Read { path, source }),
        }
    }
    match found.len() {
        0 => Ok(dir.join(CONFIG_NAMES[0])),
        1 => Ok(found.remove(0)),
        _ => Err(ConfigError::Ambiguous { files: found }),
    }
}

/// [`find_file`], then [`Config::load`] of what it found: the settings and the file they came
/// from.
pub fn load_found(
    default: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(Config, PathBuf), ConfigError> {
    let file = find_file(default)?;
    Ok((Config::load(&file, env)?, file))
}

/// The file's text; `None` when there is no file (all defaults).
pub fn read_file(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The process's `TIMEFORGED_*` variables, for [`Config::load`]. Unlike `std::env::vars()` this
/// does not panic when some unrelated variable is not UTF-8; such variables are skipped.
pub fn env_vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| has_env_prefix(name))
        .collect()
}

fn has_env_prefix(name: &str) -> bool {
    name.get(..ENV_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(ENV_PREFIX))
}

fn env_overrides(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<EnvOverride>, ConfigError> {
    let mut overrides = Vec::new();
    for (var, raw) in env {
        if !has_env_prefix(&var) {
            continue;
        }
        // Variables without `__` (TIMEFORGED_DIR, TIMEFORGED_REQUIRE_ALL) are not config keys.
        let Some((section, key)) = var[ENV_PREFIX.len()..].split_once("__") else {
            continue;
        };
        if section.is_empty() || key.is_empty() {
            return Err(ConfigError::Env {
                var,
                value: raw,
                message: "expected TIMEFORGED_<SECTION>__<KEY>, e.g. \
                          TIMEFORGED_DURATIONS__TIMEOUT_MINUTES"
                    .to_owned(),
            });
        }
        // `10` and `false` are meant as an integer and a bool; `debug` or `/run/x.sock` are not
        // valid TOML values and are taken as they are, so users need not quote strings.
        let value = raw
            .parse::<toml::Value>()
            .unwrap_or_else(|_| toml::Value::String(raw.clone()));
        overrides.push(EnvOverride {
            section: section.to_ascii_lowercase(),
            key: key.to_ascii_lowercase(),
            var,
            raw,
            value,
        });
    }
    // The environment's order is arbitrary; sorting makes a key set twice (in two casings)
    // resolve the same way every time.
    overrides.sort_by(|a, b| a.var.cmp(&b.var));
    Ok(overrides)
}

/// Finds which layer made deserializing the merged table fail: a table carries no positions, so
/// the file is deserialized on its own for line and column, then each variable on its own.
fn diagnose(
    file: &FileText<'_>,
    overrides: &[EnvOverride],
    merged: &toml::de::Error,
) -> ConfigError {
    let (text, origin) = (file.text, file.origin);
    match file.format {
        Format::Toml => {
            if let Err(err) = toml::from_str::<Config>(text) {
                return file_error(text, origin, &err);
            }
        }
        Format::Yaml => {
            if let Err(err) = yaml::check(text, origin) {
                return err;
            }
        }
    }
    for o in overrides {
        if let Err(err) = o.as_table().try_into::<Config>() {
            return o.error(format!("{}.{}: {}", o.section, o.key, err.message()));
        }
    }
    ConfigError::File {
        path: origin.to_path_buf(),
        position: None,
        key: None,
        message: format!(
            "{} (with the TIMEFORGED_* environment variables applied)",
            merged.message()
        ),
    }
}

fn file_error(text: &str, origin: &Path, err: &toml::de::Error) -> ConfigError {
    let span = err.span();
    let key = span.as_ref().and_then(|span| key_at(text, span.start));
    let found = span.as_ref().and_then(|span| text.get(span.clone()));
    let message = match (&key, found) {
        // toml reads a bare word starting with `t` or `f` (say `trace`) as a misspelt boolean;
        // the likelier mistake is a string without quotes.
        (Some(key), Some(found))
            if is_unquoted_word(found) && !err.message().contains("quoted") =>
        {
            format!(
                "{key}: {} (if this is text, quote it: \"{found}\")",
                err.message()
            )
        }
        (Some(key), _) => format!("{key}: {}", err.message()),
        // Recovery drops some entries (the second of a duplicate key): show the text instead.
        (None, Some(found)) if !found.is_empty() && !found.contains('\n') => {
            format!("{} at `{found}`", err.message())
        }
        (None, _) => err.message().to_owned(),
    };
    ConfigError::File {
        path: origin.to_path_buf(),
        position: span.map(|span| position_of(text, span.start)),
        key,
        message,
    }
}

fn is_unquoted_word(found: &str) -> bool {
    found.starts_with(|c: char| c.is_ascii_alphabetic()) && found.parse::<toml::Value>().is_err()
}

/// Points a validation error at the layer that set the value: the last variable setting the key,
/// else the key in the file.
fn locate_invalid(err: ConfigError, file: &FileText<'_>, overrides: &[EnvOverride]) -> ConfigError {
    let (text, origin) = (file.text, file.origin);
    let ConfigError::Invalid { key, message } = err else {
        return err;
    };
    let Some((section, name)) = key.split_once('.') else {
        return ConfigError::Invalid { key, message };
    };
    if let Some(o) = overrides
        .iter()
        .rev()
        .find(|o| o.section == section && o.key == name)
    {
        return o.error(message);
    }
    let position = match file.format {
        Format::Toml => {
            span_of_key(text, &[section, name]).map(|span| position_of(text, span.start))
        }
        Format::Yaml => yaml::position_of_value(text, &[section, name]),
    };
    match position {
        Some(position) => ConfigError::File {
            path: origin.to_path_buf(),
            position: Some(position),
            key: Some(key.to_owned()),
            message,
        },
        None => ConfigError::Invalid { key, message },
    }
}

fn position_of(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// The dotted key whose key or value covers `offset`, e.g. `durations.timeout_minutes`. Parses
/// with recovery so that a syntax error inside a value still names its key.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let (root, _) = DeTable::parse_recoverable(text);
    let mut path = Vec::new();
    find_key(root.get_ref(), offset, &mut path).then(|| path.join("."))
}

fn find_key(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        if let DeValue::Table(child) = value.get_ref()
            && find_key(child, offset, path)
        {
            return true;
        }
        if covers(&key.span(), offset) || covers(&value.span(), offset) {
            return true;
        }
        path.pop();
    }
    false
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    // Errors at the end of input come with an empty span.
    span.start <= offset && (offset < span.end || span.is_empty() && offset == span.start)
}

fn span_of_key(text: &str, path: &[&str]) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let (last, sections) = path.split_last()?;
    for section in sections {
        let (_, value) = table.iter().find(|(key, _)| key.get_ref() == section)?;
        table = value.get_ref().as_table()?;
    }
    table
        .iter()
        .find(|(key, _)| key.get_ref() == last)
        .map(|(_, value)| value.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "/x/config.toml";

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn parse(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, Path::new(ORIGIN), env(vars))
    }

    #[test]
    fn defaults() {
        let config = parse("", &[]).unwrap();
        assert_eq!(config, Config::default());
        assert!(config.daemon.autostart);
        assert_eq!(config.daemon.log_level, "info");
        assert_eq!(config.daemon.socket, None);
        assert_eq!(config.storage.database, None);
        assert_eq!(config.durations.timeout_minutes(), 15);
        assert_eq!(config.durations.preset, Preset::Timeforged);
        assert_eq!(config.report.week_start, WeekStart::Monday);
        config.validate().unwrap();
    }

    #[test]
    fn layers() {
        struct Case {
            name: &'static str,
            file: &'static str,
            env: &'static [(&'static str, &'static str)],
            want: fn(&mut Config),
        }
        let cases = [
            Case {
                name: "file values",
                file: r#"
                    [daemon]
                    autostart = false
                    log_level = "timeforged=debug"
                    socket = "~/tf.sock"
                    [storage]
                    database = "/data/tf.db"
                    [durations]
                    timeout_minutes = 10
                    preset = "wakapi"
                    [report]
                    week_start = "sunday"
                "#,
                env: &[],
                want: |c| {
                    c.daemon.autostart = false;
                    c.daemon.log_level = "timeforged=debug".into();
                    c.daemon.socket = Some("~/tf.sock".into());
                    c.storage.database = Some("/data/tf.db".into());
                    c.durations.timeout_minutes = Some(10);
                    c.durations.preset = Preset::Wakapi;
                    c.report.week_start = WeekStart::Sunday;
                },
            },
            Case {
                name: "dotted keys and inline tables",
                file: "durations.timeout_minutes = 20\nreport = { week_start = \"sunday\" }\n",
                env: &[],
                want: |c| {
                    c.durations.timeout_minutes = Some(20);
                    c.report.week_start = WeekStart::Sunday;
                },
            },
            Case {
                name: "env overrides file",
                file: "[durations]\ntimeout_minutes = 10\npreset = \"wakapi\"\n",
                env: &[
                    ("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "30"),
                    ("TIMEFORGED_DAEMON__AUTOSTART", "false"),
                ],
                want: |c| {
                    c.durations.timeout_minutes = Some(30);
                    c.durations.preset = Preset::Wakapi;
                    c.daemon.autostart = false;
                },
            },
            Case {
                name: "env var casing",
                file: "",
                env: &[
                    ("timeforged_durations__timeout_minutes", "5"),
                    ("TimeForged_Daemon__AutoStart", "false"),
                    ("TIMEFORGED_report__WEEK_START", "sunday"),
                ],
                want: |c| {
                    c.durations.timeout_minutes = Some(5);
                    c.daemon.autostart = false;
                    c.report.week_start = WeekStart::Sunday;
                },
            },
            Case {
                name: "env strings need no quotes",
                file: "",
                env: &[
                    ("TIMEFORGED_DAEMON__LOG_LEVEL", "timeforged=trace,info"),
                    ("TIMEFORGED_DAEMON__SOCKET", "/run/tf.sock"),
                    ("TIMEFORGED_STORAGE__DATABASE", "\"~/quoted.db\""),
                    ("TIMEFORGED_DURATIONS__PRESET", "wakapi"),
                ],
                want: |c| {
                    c.daemon.log_level = "timeforged=trace,info".into();
                    c.daemon.socket = Some("/run/tf.sock".into());
                    c.storage.database = Some("~/quoted.db".into());
                    c.durations.preset = Preset::Wakapi;
                },
            },
            Case {
                name: "other variables are ignored",
                file: "",
                env: &[
                    ("TIMEFORGED_DIR", "/tmp/x"),
                    ("TIMEFORGED_REQUIRE_ALL", "1"),
                    ("OTHER_DURATIONS__TIMEOUT_MINUTES", "3"),
                    ("HOME", "/home/ann"),
                    ("TIMEFORGE", "x"),
                    ("TIMEFORGED_ÄÖ", "x"),
                ],
                want: |_| {},
            },
        ];
        for case in cases {
            let mut want = Config::default();
            (case.want)(&mut want);
            match parse(case.file, case.env) {
                Ok(got) => assert_eq!(got, want, "{}", case.name),
                Err(err) => panic!("{}: {err}", case.name),
            }
        }
    }

    #[test]
    fn errors() {
        /// name, file, env, substrings of the message
        type Case = (&'static str, &'static str, Vars, &'static [&'static str]);
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[Case] = &[
            (
                "zero debounce",
                "[watch]\ndebounce_seconds = 0\n",
                &[],
                &["watch.debounce_seconds = 0 is out of range (expected at least 1 second)"],
            ),
            (
                "relative watch root",
                "[watch]\nroots = [\"/ok\", \"code\"]\n",
                &[],
                &["watch.roots: \"code\" is not an absolute path (expected /… or ~/…)"],
            ),
            (
                "watch roots not a list",
                "[watch]\nroots = \"~/code\"\n",
                &[],
                &["watch.roots: invalid type: string \"~/code\", expected a sequence"],
            ),
            (
                "bad type in file",
                "[durations]\ntimeout_minutes = \"ten\"\n",
                &[],
                &[
                    "/x/config.toml:2:19: durations.timeout_minutes: invalid type: string \"ten\", expected u32",
                ],
            ),
            (
                "bad type in an inline table",
                "# settings\ndaemon = { autostart = 1 }\n",
                &[],
                &[
                    "/x/config.toml:2:24: daemon.autostart: invalid type: integer `1`, expected a boolean",
                ],
            ),
            (
                "negative timeout",
                "durations.timeout_minutes = -1",
                &[],
                &["/x/config.toml:1:29: durations.timeout_minutes: invalid value: integer `-1`"],
            ),
            (
                "unknown key",
                "[durations]\ntimout_minutes = 3\n",
                &[],
                &[
                    "/x/config.toml:2:1: durations.timout_minutes: unknown field `timout_minutes`, expected",
                ],
            ),
            (
                "unknown section",
                "\n[durashuns]\n",
                &[],
                &["/x/config.toml:2:2: durashuns: unknown field `durashuns`, expected one of"],
            ),
            (
                "unknown preset",
                "[durations]\npreset = \"waka\"\n",
                &[],
                &[
                    "/x/config.toml:2:10: durations.preset: unknown variant `waka`, expected `timeforged` or `wakapi`",
                ],
            ),
            (
                "section is not a table",
                "report = 5\n",
                &[("TIMEFORGED_REPORT__WEEK_START", "sunday")],
                &["/x/config.toml:1:10: report: invalid type: integer `5`"],
            ),
            (
                "invalid TOML syntax",
                "[durations]\ntimeout_minutes = 10\n[report\n",
                &[],
                &["/x/config.toml:3:8: ", "expected `]`"],
            ),
            (
                "unquoted string in file",
                "[daemon]\nlog_level = debug\n",
                &[],
                &["/x/config.toml:2:13: daemon.log_level: "],
            ),
            (
                "unquoted word read as a boolean",
                "[daemon]\nlog_level = trace\n",
                &[],
                &[
                    "/x/config.toml:2:13: daemon.log_level: invalid boolean, expected `true` (if this is text, quote it: \"trace\")",
                ],
            ),
            (
                "duplicate key",
                "[durations]\ntimeout_minutes = 1\ntimeout_minutes = 2\n",
                &[],
                &["/x/config.toml:3:1: duplicate key at `timeout_minutes`"],
            ),
            (
                "timeout 0 in file",
                "[durations]\ntimeout_minutes = 0\n",
                &[],
                &[
                    "/x/config.toml:2:19: durations.timeout_minutes = 0 is out of range (expected 1 to 240 minutes)",
                ],
            ),
            (
                "timeout too large from env",
                "[durations]\ntimeout_minutes = 0\n",
                &[("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "241")],
                &[
                    "TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=241: durations.timeout_minutes = 241 is out of range (expected 1 to 240 minutes)",
                ],
            ),
            (
                "bad type from env",
                "",
                &[("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "abc")],
                &[
                    "TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=abc: durations.timeout_minutes: invalid type: string \"abc\", expected u32",
                ],
            ),
            (
                "unknown key from env",
                "",
                &[("TIMEFORGED_DURATIONS__TIMOUT", "5")],
                &["TIMEFORGED_DURATIONS__TIMOUT=5: durations.timout: unknown field `timout`"],
            ),
            (
                "unknown section from env",
                "",
                &[("TIMEFORGED_DAEMONS__AUTOSTART", "true")],
                &["TIMEFORGED_DAEMONS__AUTOSTART=true: daemons.autostart: unknown field `daemons`"],
            ),
            (
                "empty section from env",
                "",
                &[("TIMEFORGED___AUTOSTART", "true")],
                &["TIMEFORGED___AUTOSTART=true: expected TIMEFORGED_<SECTION>__<KEY>"],
            ),
            (
                "empty log level",
                "[daemon]\nlog_level = \" \"\n",
                &[],
                &["/x/config.toml:2:13: daemon.log_level = \" \" is empty"],
            ),
            (
                "relative socket",
                "",
                &[("TIMEFORGED_DAEMON__SOCKET", "run/tf.sock")],
                &[
                    "TIMEFORGED_DAEMON__SOCKET=run/tf.sock: daemon.socket = \"run/tf.sock\" is not an absolute path",
                ],
            ),
            (
                "relative database",
                "[storage]\ndatabase = \"tf.db\"\n",
                &[],
                &["/x/config.toml:2:12: storage.database = \"tf.db\" is not an absolute path"],
            ),
        ];
        for (name, file, vars, want) in cases {
            let err = match parse(file, vars) {
                Ok(config) => panic!("{name}: expected an error, got {config:?}"),
                Err(err) => err.to_string(),
            };
            for want in *want {
                assert!(err.contains(want), "{name}:\n  got:  {err}\n  want: {want}");
            }
        }
    }

    #[test]
    fn error_fields_name_the_key() {
        let err = parse("[durations]\ntimeout_minutes = \"ten\"\n", &[]).unwrap_err();
        let ConfigError::File {
            path,
            position,
            key,
            ..
        } = err
        else {
            panic!("expected a file error, got {err:?}");
        };
        assert_eq!(path, Path::new(ORIGIN));
        assert_eq!(
            position,
            Some(Position {
                line: 2,
                column: 19
            })
        );
        assert_eq!(key.as_deref(), Some("durations.timeout_minutes"));
    }

    #[test]
    fn validate_alone() {
        let mut config = Config::default();
        config.durations.timeout_minutes = Some(0);
        let err = config.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "durations.timeout_minutes = 0 is out of range (expected 1 to 240 minutes)"
        );
        for minutes in [1, 15, 240] {
            config.durations.timeout_minutes = Some(minutes);
            config.validate().unwrap();
        }
    }

    #[test]
    fn load() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing.toml");
        assert_eq!(Config::load(&missing, env(&[])).unwrap(), Config::default());

        let file = tmp.path().join("config.toml");
        std::fs::write(&file, "[durations]\ntimeout_minutes = 7\n").unwrap();
        let config =
            Config::load(&file, env(&[("TIMEFORGED_DAEMON__AUTOSTART", "false")])).unwrap();
        assert_eq!(config.durations.timeout_minutes, Some(7));
        assert!(!config.daemon.autostart);

        std::fs::write(&file, "[durations]\ntimeout_minutes = true\n").unwrap();
        let err = Config::load(&file, env(&[])).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:2:19: ", file.display())),
            "{err}"
        );

        // A directory where the file should be is an error, not silently the defaults.
        let err = Config::load(tmp.path(), env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");
        assert!(
            err.to_string().contains(&tmp.path().display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn to_toml_round_trips() {
        let mut custom = Config::default();
        custom.daemon.autostart = false;
        custom.daemon.log_level = "timeforged=trace".into();
        custom.daemon.socket = Some("~/tf.sock".into());
        custom.storage.database = Some("/data/tf.db".into());
        custom.durations.timeout_minutes = Some(42);
        custom.durations.preset = Preset::Wakapi;
        custom.report.week_start = WeekStart::Sunday;
        custom.watch.roots = vec!["~/code".into(), "/srv/src".into()];
        custom.watch.exclude = vec!["vendor".into()];
        custom.watch.max_watches = 1000;
        custom.storage.url = Some("postgres://tf@db/tf".into());
        custom.server.metrics = true;
        custom.server.time_zone = Some("Europe/Berlin".into());
        for mut config in [Config::default(), custom] {
            let text = config.to_toml();
            let back = parse(&text, &[]).unwrap_or_else(|err| panic!("{err}\n{text}"));
            // The timeout is shown as it is in force.
            config.durations.timeout_minutes = Some(config.durations.timeout_minutes());
            assert_eq!(back, config, "{text}");
        }
        let text = Config::default().to_toml();
        let want = "[daemon]\nautostart = true\nlog_level = \"info\"\n\n[storage]\n\n\
                    [durations]\ntimeout_minutes = 15\npreset = \"timeforged\"\n\n\
                    [report]\nweek_start = \"monday\"\n\n\
                    [http]\nenabled = true\nlisten = \"127.0.0.1:9113\"\nmax_heartbeat_age_days = 365\n\n\
                    [shell]\nrecord_args = false\ndefault_category = \"coding\"\nexclude = []\n\
                    max_command_minutes = 240\nspool_max_bytes = 10485760\n\n[shell.categories]\n\n\
                    [watch]\nroots = []\nexclude = []\ndebounce_seconds = 30\npoll_seconds = 10\n\
                    max_watches = 0\n\n\
                    [server]\nlisten = \"127.0.0.1:9114\"\nmetrics = false\nallow_plaintext = false\n";
        assert_eq!(text, want);
    }

    #[test]
    fn timeouts_follow_the_preset_unless_set() {
        let cases = [
            (None, Preset::Timeforged, 15),
            (Some(1), Preset::Timeforged, 1),
            (Some(240), Preset::Timeforged, 240),
            (None, Preset::Wakapi, 10),
            (Some(15), Preset::Wakapi, 15),
        ];
        for (timeout_minutes, preset, want) in cases {
            let durations = DurationsConfig {
                timeout_minutes,
                preset,
            };
            assert_eq!(
                durations.timeout_minutes(),
                want,
                "{timeout_minutes:?} {preset:?}"
            );
            let rules = rules(timeout_minutes, preset);
            assert_eq!(rules.timeout_ms, i64::from(want) * 60_000);
        }
    }

    fn parse_yaml(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_yaml_str(text, Path::new("/x/config.yaml"), env(vars))
    }

    /// The same settings written in YAML and TOML give the same config.
    #[test]
    fn yaml_reads_the_same_keys_as_toml() {
        let cases = [
            ("", ""),
            ("# only a comment\n", ""),
            (
                "daemon:\n  autostart: false\n  log_level: timeforged=debug\n  socket: ~/tf.sock\n\
                 durations:\n  timeout_minutes: 10\n  preset: wakapi\nreport:\n  week_start: sunday\n",
                "[daemon]\nautostart = false\nlog_level = \"timeforged=debug\"\nsocket = \"~/tf.sock\"\n\
                 [durations]\ntimeout_minutes = 10\npreset = \"wakapi\"\n[report]\nweek_start = \"sunday\"\n",
            ),
            (
                "durations: {timeout_minutes: 20}\nwatch:\n  roots:\n    - /code\n    - ~/src\n  exclude: [vendor]\n",
                "durations.timeout_minutes = 20\nwatch.roots = [\"/code\", \"~/src\"]\nwatch.exclude = [\"vendor\"]\n",
            ),
            (
                "shell:\n  categories:\n    \"just test*\": running tests\n  exclude: []\n",
                "[shell.categories]\n\"just test*\" = \"running tests\"\n",
            ),
            (
                "sync:\n  url: https://tf.example.com\n  api_key: k\nforward:\n  - url: https://w/api\n    api_key: k2\n    hide_file_names: true\n",
                "[sync]\nurl = \"https://tf.example.com\"\napi_key = \"k\"\n[[forward]]\nurl = \"https://w/api\"\napi_key = \"k2\"\nhide_file_names = true\n",
            ),
            // `null` (and an empty section) means unset, as leaving the key out does.
            ("daemon:\n  socket: null\nreport:\n", ""),
            // Anchors and merges.
            (
                "base: &b\n  timeout_minutes: 7\ndurations:\n  <<: *b\n",
                "durations.timeout_minutes = 7\n",
            ),
        ];
        for (yaml, toml_text) in cases {
            // The anchor's holder is no section: drop it from the YAML side by merging only.
            let yaml_config = match parse_yaml(yaml, &[]) {
                Ok(c) => c,
                Err(e) if yaml.starts_with("base:") => {
                    assert!(e.to_string().contains("base"), "{e}");
                    continue;
                }
                Err(e) => panic!("{yaml}: {e}"),
            };
            let toml_config = parse(toml_text, &[]).unwrap_or_else(|e| panic!("{toml_text}: {e}"));
            assert_eq!(yaml_config, toml_config, "{yaml}");
        }
        // The variables layer over YAML as over TOML.
        let c = parse_yaml(
            "durations:\n  timeout_minutes: 10\n",
            &[("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "30")],
        )
        .unwrap();
        assert_eq!(c.durations.timeout_minutes, Some(30));
        // Anchors in a key of their own are fine once merged where they belong.
        let c = parse_yaml(
            "durations: &d\n  timeout_minutes: 9\nreport:\n  week_start: sunday\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.durations.timeout_minutes, Some(9));
    }

    /// Errors in YAML name the file, line, column and key as they do in TOML.
    #[test]
    fn yaml_errors_name_the_line_column_and_key() {
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(&str, &str, Vars, &[&str])] = &[
            (
                "bad type",
                "durations:\n  timeout_minutes: ten\n",
                &[],
                &[
                    "/x/config.yaml:2:20: durations.timeout_minutes: invalid type: string \"ten\", expected u32",
                ],
            ),
            (
                "unknown key",
                "durations:\n  timout_minutes: 3\n",
                &[],
                &["/x/config.yaml:2:3: durations: unknown field `timout_minutes`, expected"],
            ),
            (
                "unknown section",
                "\ndurashuns: {}\n",
                &[],
                &["/x/config.yaml:2:1: durashuns: unknown field `durashuns`, expected one of"],
            ),
            (
                "unknown preset",
                "durations:\n  preset: waka\n",
                &[],
                &[
                    "/x/config.yaml:2:11: durations.preset: unknown variant `waka`, expected `timeforged` or `wakapi`",
                ],
            ),
            (
                "negative timeout",
                "durations:\n  timeout_minutes: -1\n",
                &[],
                &[
                    "/x/config.yaml:2:20: durations.timeout_minutes: invalid type: integer `-1`, expected u32",
                ],
            ),
            (
                "out of range in the file",
                "durations:\n  x: 1\n",
                &[],
                &["/x/config.yaml:2:3: durations: unknown field `x`"],
            ),
            (
                "timeout 0",
                "report:\n  week_start: sunday\ndurations:\n  timeout_minutes: 0\n",
                &[],
                &[
                    "/x/config.yaml:4:20: durations.timeout_minutes = 0 is out of range (expected 1 to 240 minutes)",
                ],
            ),
            (
                "timeout 0 in a flow mapping",
                "durations: {preset: wakapi, timeout_minutes: 0}\n",
                &[],
                &["/x/config.yaml:1:46: durations.timeout_minutes = 0 is out of range"],
            ),
            (
                "relative watch root",
                "watch:\n  roots:\n    - /ok\n    - code\n",
                &[],
                &["/x/config.yaml:3:5: watch.roots: \"code\" is not an absolute path"],
            ),
            (
                "section is not a mapping",
                "report: 5\n",
                &[("TIMEFORGED_REPORT__WEEK_START", "sunday")],
                &["/x/config.yaml:1:9: report: invalid type: integer `5`"],
            ),
            (
                "syntax",
                "durations:\n  timeout_minutes: [1\n",
                &[],
                &["/x/config.yaml:3:1: "],
            ),
            (
                "not a mapping at the top",
                "- a\n- b\n",
                &[],
                &["/x/config.yaml:1:1: invalid type: sequence, expected struct Config"],
            ),
            (
                "a tag",
                "durations:\n  timeout_minutes: !minutes 5\n",
                &[],
                &["/x/config.yaml:2:20: durations.timeout_minutes: "],
            ),
            (
                "the variable is wrong, not the file",
                "durations:\n  timeout_minutes: 10\n",
                &[("TIMEFORGED_DURATIONS__TIMEOUT_MINUTES", "241")],
                &[
                    "TIMEFORGED_DURATIONS__TIMEOUT_MINUTES=241: durations.timeout_minutes = 241 is out of range",
                ],
            ),
        ];
        for (name, text, vars, want) in cases {
            let err = match parse_yaml(text, vars) {
                Ok(config) => panic!("{name}: expected an error, got {config:?}"),
                Err(err) => err.to_string(),
            };
            for want in *want {
                assert!(err.contains(want), "{name}:\n  got:  {err}\n  want: {want}");
            }
        }
        let err = parse_yaml("durations:\n  timeout_minutes: ten\n", &[]).unwrap_err();
        let ConfigError::File { key, position, .. } = err else {
            panic!("expected a file error, got {err:?}");
        };
        assert_eq!(key.as_deref(), Some("durations.timeout_minutes"));
        assert_eq!(
            position,
            Some(Position {
                line: 2,
                column: 20
            })
        );
    }

    #[test]
    fn find_file_picks_the_one_there_and_refuses_two() {
        let tmp = tempfile::tempdir().unwrap();
        let toml_path = tmp.path().join("config.toml");
        let yaml_path = tmp.path().join("config.yaml");
        let yml_path = tmp.path().join("config.yml");
        assert_eq!(
            find_file(&toml_path).unwrap(),
            toml_path,
            "none: the default"
        );
        std::fs::write(&yaml_path, "report:\n  week_start: sunday\n").unwrap();
        assert_eq!(find_file(&toml_path).unwrap(), yaml_path);
        let found = find_file(&toml_path).unwrap();
        let config = Config::load(&found, env(&[])).unwrap();
        assert_eq!(config.report.week_start, WeekStart::Sunday);
        std::fs::write(&toml_path, "").unwrap();
        let err = find_file(&toml_path).unwrap_err().to_string();
        assert!(
            err.contains(&toml_path.display().to_string())
                && err.contains(&yaml_path.display().to_string())
                && err.contains("remove the other"),
            "{err}"
        );
        std::fs::remove_file(&toml_path).unwrap();
        std::fs::write(&yml_path, "").unwrap();
        let err = find_file(&toml_path).unwrap_err().to_string();
        assert!(err.contains("config.yml"), "{err}");
        std::fs::remove_file(&yaml_path).unwrap();
        assert_eq!(find_file(&toml_path).unwrap(), yml_path);
        assert_eq!(Format::of(&yml_path), Format::Yaml);
        assert_eq!(Format::of(Path::new("/x/CONFIG.YAML")), Format::Yaml);
        assert_eq!(Format::of(&toml_path), Format::Toml);
    }

    #[test]
    fn positions() {
        let text = "ab\nçd\n\nx";
        let cases = [
            (0, 1, 1),
            (1, 1, 2),
            (3, 2, 1),
            (5, 2, 2), // after the two-byte `ç`
            (8, 4, 1),
            (9, 4, 2), // end of input
            (99, 4, 2),
        ];
        for (offset, line, column) in cases {
            assert_eq!(
                position_of(text, offset),
                Position { line, column },
                "{offset}"
            );
        }
    }
}

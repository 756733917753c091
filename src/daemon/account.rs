//! Whose data a request is about: a user with their settings resolved against the defaults
//! (time zone, timeout and preset, week start), so every report and every rollup of theirs
//! uses the same rules.

use crate::calendar::Calendar;
use crate::config::{Config, Preset, WeekStart};
use crate::store::{KeyHash, Scope, User, UserId};
use crate::timeline::Rules;
use std::collections::HashMap;
use std::sync::Arc;

/// What a user's unset settings fall back to: the config (and the system's time zone).
#[derive(Debug, Clone)]
pub struct Defaults {
    pub calendar: Calendar,
    pub timeout_minutes: Option<u32>,
    pub preset: Preset,
    pub week_start: WeekStart,
}

impl Defaults {
    pub fn from_config(config: &Config, calendar: Calendar) -> Defaults {
        Defaults {
            calendar,
            timeout_minutes: config.durations.timeout_minutes,
            preset: config.durations.preset,
            week_start: config.report.week_start,
        }
    }
}

/// A user as requests see them.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub scope: Scope,
    pub week_start: WeekStart,
    /// Authenticated with a read-only key: may read, not write.
    pub read_only: bool,
}

impl Account {
    pub fn id(&self) -> UserId {
        self.scope.user
    }

    pub fn calendar(&self) -> &Calendar {
        &self.scope.calendar
    }

    pub fn rules(&self) -> Rules {
        self.scope.rules
    }

    /// `user`'s settings over `defaults`. A time zone that no longer exists falls back to the
    /// default one (settings are checked when set, but the zone database can change).
    pub fn resolve(user: &User, defaults: &Defaults) -> Account {
        let s = &user.settings;
        let calendar = match s.time_zone.as_deref() {
            Some(name) => match jiff::tz::TimeZone::get(name) {
                Ok(tz) => Calendar::new(tz),
                Err(e) => {
                    tracing::warn!(user = %user.name, "time zone {name:?}: {e}; using the default");
                    defaults.calendar.clone()
                }
            },
            None => defaults.calendar.clone(),
        };
        let preset = s.preset.unwrap_or(defaults.preset);
        let timeout = s.timeout_minutes.or(defaults.timeout_minutes);
        Account {
            name: user.name.clone(),
            scope: Scope {
                user: user.id,
                calendar,
                rules: crate::config::rules(timeout, preset),
            },
            week_start: s.week_start.unwrap_or(defaults.week_start),
            read_only: false,
        }
    }
}

/// API keys already looked up, for a process that is its database's only writer (the local
/// daemon): a single-heartbeat POST then skips a read transaction. Entries are tagged with
/// [`crate::store::Database::accounts_version`], which every change to users and keys through
/// the database moves on, so a revoked key or a changed setting takes effect at once. Only
/// valid keys are kept, so a client guessing keys cannot fill it.
#[derive(Default)]
pub(crate) struct AccountCache {
    entries: std::sync::Mutex<(u64, HashMap<KeyHash, Arc<Account>>)>,
}

/// More keys than a local daemon has; past it the cache starts over.
const CACHED_KEYS: usize = 64;

impl AccountCache {
    /// The account of `hash`, if it was looked up at `version`.
    pub fn get(&self, hash: &KeyHash, version: u64) -> Option<Arc<Account>> {
        let entries = self.entries.lock().ok()?;
        (entries.0 == version)
            .then(|| entries.1.get(hash).cloned())
            .flatten()
    }

    /// Remembers `account` for `hash`, read from the database at `version` (taken before the
    /// read: a change that lands during it leaves the entry already stale).
    pub fn put(&self, hash: KeyHash, version: u64, account: Arc<Account>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.0 != version || entries.1.len() >= CACHED_KEYS {
            entries.1.clear();
            entries.0 = version;
        }
        entries.1.insert(hash, account);
    }
}

//! `timeforged serve` and `timeforged user …`: opening the team server's database and managing
//! its users and API keys. Keys are printed once, alone on stdout (so `KEY=$(timeforged user add
//! alice)` works); everything else a person needs to read goes to stderr.

use super::args::{DbArgs, KeyCommand, ServeArgs, UserArgs, UserCommand, UserSettingsArgs};
use super::format::print_table;
use crate::config::{Config, Preset, TIMEOUT_MINUTES_RANGE, WeekStart};
use crate::daemon::account::{Account, Defaults};
use crate::daemon::server::{self, ServeOptions};
use crate::paths::Paths;
use crate::store::{self, Database, KeySelector, Store, User, UserSettings};
use anyhow::{Context as _, Result, bail};
use std::io::Write;
use std::sync::Arc;

/// The database a server command uses: `--db`, else `[storage] url`, else `server.db` next to
/// the local daemon's database.
pub fn open_db(args: &DbArgs, config: &Config, paths: &Paths) -> Result<Arc<dyn Database>> {
    let url = match (&args.db, &config.storage.url) {
        (Some(url), _) | (None, Some(url)) => url.clone(),
        (None, None) => {
            paths.create_dirs()?;
            paths
                .database
                .with_file_name("server.db")
                .display()
                .to_string()
        }
    };
    store::open(&url).with_context(|| {
        format!(
            "cannot open the server database {}",
            store::postgres::redact(&url)
        )
    })
}

/// `timeforged serve`.
pub fn serve(args: ServeArgs, config: Config, paths: &Paths) -> Result<()> {
    let db = open_db(&args.db, &config, paths)?;
    let listen = args.listen.unwrap_or_else(|| config.server.listen.clone());
    server::run(ServeOptions {
        config,
        db,
        listen,
        on_listening: None,
    })?;
    Ok(())
}

/// `timeforged user …`.
pub fn user(args: UserArgs, config: &Config, paths: &Paths, out: &mut impl Write) -> Result<()> {
    let db = open_db(&args.db, config, paths)?;
    let mut w = db.writer()?;
    let defaults = Defaults::from_config(config, server::server_calendar(config));
    let now = crate::calendar::now_ms();
    match args.command {
        UserCommand::Add { name, settings } => {
            let settings = settings_from(&settings, UserSettings::default())?;
            let user = w.add_user(&name, &settings, now)?;
            ensure_rules(&mut *w, &user, &defaults)?;
            let key = new_key(&mut *w, &user, None, false, now)?;
            eprintln!(
                "added user {} (id {}); their API key is below: it is shown only now",
                user.name, user.id
            );
            writeln!(out, "{key}")?;
        }
        UserCommand::List { json } => {
            let users = read(&*db, |s| s.users())?;
            let mut rows = Vec::new();
            for u in users {
                let keys = read(&*db, |s| s.keys(u.id))?.len();
                rows.push((u, keys));
            }
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(u, keys)| {
                        serde_json::json!({"id": u.id, "name": u.name, "created_ms": u.created_ms,
                            "settings": u.settings, "keys": keys})
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|(u, keys)| {
                        vec![
                            u.name.clone(),
                            u.id.to_string(),
                            keys.to_string(),
                            created(u.created_ms, &defaults),
                            describe_settings(&u.settings),
                        ]
                    })
                    .collect();
                print_table(out, &["name", "id", "keys", "created", "settings"], &table)?;
            }
        }
        UserCommand::Remove { name, yes } => {
            let user = find(&*db, &name)?;
            if !yes {
                let count = read(&*db, |s| {
                    let mut n = 0usize;
                    s.heartbeats(user.id, i64::MIN, i64::MAX, &mut |_| {
                        n += 1;
                        true
                    })?;
                    Ok(n)
                })?;
                bail!(
                    "this deletes user {name} with their {count} heartbeats, intervals and keys; \
                     run again with --yes to do it"
                );
            }
            w.remove_user(user.id)?;
            eprintln!("removed user {name} and their data");
        }
        UserCommand::Set { name, settings } => {
            let user = find(&*db, &name)?;
            let settings = settings_from(&settings, user.settings.clone())?;
            w.set_settings(user.id, &settings)?;
            let user = User { settings, ..user };
            let reset = ensure_rules(&mut *w, &user, &defaults)?;
            eprintln!(
                "{name}: {}{}",
                describe_settings(&user.settings),
                if reset {
                    " (their daily totals are recomputed)"
                } else {
                    ""
                }
            );
        }
        UserCommand::Key { command } => key(command, &defaults, &*db, &mut *w, out, now)?,
        UserCommand::LoginLink { name, url, minutes } => {
            let user = find(&*db, &name)?;
            if !(1..=10_080).contains(&minutes) {
                bail!("--minutes {minutes} is out of range (1 to 10080, a week)");
            }
            let base = url.unwrap_or_else(|| format!("http://{}", config.server.listen));
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                bail!("--url {base:?} is not an http:// or https:// address");
            }
            let token = crate::web::auth::make_link(&mut *w, user.id, i64::from(minutes) * 60_000)?;
            eprintln!(
                "a sign-in link for {name} to the web dashboard; it works once, within {minutes} minutes:"
            );
            writeln!(
                out,
                "{}{}",
                base.trim_end_matches('/'),
                crate::web::auth::link_path(&token)
            )?;
        }
    }
    Ok(())
}

fn key(
    command: KeyCommand,
    defaults: &Defaults,
    db: &dyn Database,
    w: &mut dyn Store,
    out: &mut impl Write,
    now: i64,
) -> Result<()> {
    match command {
        KeyCommand::Add {
            name,
            label,
            read_only,
        } => {
            let user = find(db, &name)?;
            let key = new_key(w, &user, label.as_deref(), read_only, now)?;
            eprintln!(
                "new {}key for {name}; it is shown only now",
                if read_only { "read-only " } else { "" }
            );
            writeln!(out, "{key}")?;
        }
        KeyCommand::List { name, json } => {
            let user = find(db, &name)?;
            let keys = read(db, |s| s.keys(user.id))?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&keys)?)?;
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.id.to_string(),
                            k.label.clone().unwrap_or_default(),
                            if k.read_only {
                                "read-only"
                            } else {
                                "read-write"
                            }
                            .into(),
                            created(k.created_ms, defaults),
                        ]
                    })
                    .collect();
                print_table(out, &["id", "label", "access", "created"], &rows)?;
            }
        }
        KeyCommand::Revoke { id } => {
            if w.revoke_keys(KeySelector::Id(id))? == 0 {
                bail!("no API key with id {id} (see `timeforged user key list NAME`)");
            }
            eprintln!("revoked key {id}: it stops working now");
        }
        KeyCommand::Rotate { name } => {
            let user = find(db, &name)?;
            let revoked = w.revoke_keys(KeySelector::OfUser {
                user: user.id,
                label: None,
            })?;
            let key = new_key(w, &user, Some("rotated"), false, now)?;
            eprintln!("revoked {revoked} key(s) of {name}; their new key is below, shown only now");
            writeln!(out, "{key}")?;
        }
    }
    Ok(())
}

fn read<T>(
    db: &dyn Database,
    f: impl FnOnce(&dyn store::Snapshot) -> store::Result<T>,
) -> Result<T> {
    Ok(store::read(db, f)?)
}

fn find(db: &dyn Database, name: &str) -> Result<User> {
    read(db, |s| s.user_by_name(name))?
        .with_context(|| format!("no user named {name:?} (see `timeforged user list`)"))
}

fn new_key(
    w: &mut dyn Store,
    user: &User,
    label: Option<&str>,
    read_only: bool,
    now: i64,
) -> Result<String> {
    let key = crate::apikey::generate();
    w.add_key(user.id, &crate::apikey::hash(&key), label, read_only, now)?;
    Ok(key)
}

/// Recomputes the user's rollups if their rules or time zone changed.
fn ensure_rules(w: &mut dyn Store, user: &User, defaults: &Defaults) -> Result<bool> {
    let account = Account::resolve(user, defaults);
    Ok(crate::report::rollup::ensure_rules(w, &account.scope)?)
}

/// `settings` with the flags applied (`default` unsets), each checked.
fn settings_from(args: &UserSettingsArgs, mut settings: UserSettings) -> Result<UserSettings> {
    fn set<T>(
        flag: &str,
        value: &Option<String>,
        field: &mut Option<T>,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<()> {
        match value.as_deref() {
            None => {}
            Some("default") => *field = None,
            Some(v) => {
                *field = Some(parse(v).with_context(|| {
                    format!("--{flag} {v:?} is not valid (expected {expected}, or default)")
                })?)
            }
        }
        Ok(())
    }
    set(
        "time-zone",
        &args.time_zone,
        &mut settings.time_zone,
        |v| jiff::tz::TimeZone::get(v).ok().map(|_| v.to_string()),
        "an IANA time zone such as Europe/Berlin",
    )?;
    set(
        "timeout",
        &args.timeout,
        &mut settings.timeout_minutes,
        |v| v.parse().ok().filter(|m| TIMEOUT_MINUTES_RANGE.contains(m)),
        "minutes from 1 to 240",
    )?;
    set(
        "preset",
        &args.preset,
        &mut settings.preset,
        |v| match v {
            "timeforged" => Some(Preset::Timeforged),
            "wakapi" => Some(Preset::Wakapi),
            _ => None,
        },
        "timeforged or wakapi",
    )?;
    set(
        "week-start",
        &args.week_start,
        &mut settings.week_start,
        |v| match v {
            "monday" => Some(WeekStart::Monday),
            "sunday" => Some(WeekStart::Sunday),
            _ => None,
        },
        "monday or sunday",
    )?;
    Ok(settings)
}

fn describe_settings(s: &UserSettings) -> String {
    let mut parts = Vec::new();
    if let Some(tz) = &s.time_zone {
        parts.push(format!("time zone {tz}"));
    }
    if let Some(m) = s.timeout_minutes {
        parts.push(format!("timeout {m} min"));
    }
    if let Some(p) = s.preset {
        parts.push(format!(
            "preset {}",
            if p == Preset::Wakapi {
                "wakapi"
            } else {
                "timeforged"
            }
        ));
    }
    if let Some(w) = s.week_start {
        parts.push(format!(
            "weeks start {}",
            if w == WeekStart::Sunday {
                "sunday"
            } else {
                "monday"
            }
        ));
    }
    if parts.is_empty() {
        "server defaults".into()
    } else {
        parts.join(", ")
    }
}

fn created(ms: i64, defaults: &Defaults) -> String {
    defaults
        .calendar
        .zoned(ms)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

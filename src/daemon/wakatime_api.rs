//! The read side of the WakaTime-compatible API: each endpoint runs the same reports as `tf
//! report` (one timeline, so HTTP and the CLI always agree) and shapes them with
//! [`crate::wakatime::summary`].

use super::account::Account;
use super::http::Api;
use super::query::{self, Ask, now_ms};
use crate::calendar::date_of_num;
use crate::report::{Dim, Filters, RangeSpec, range};
use crate::store::StoreError;
use crate::wakatime::{self, WakaRange, summary};
use jiff::civil::Date;
use std::collections::HashMap;

pub(crate) enum ApiError {
    BadRequest(String),
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

/// A JSON body, serialized straight from the typed answer: going through a `serde_json::Value`
/// tree first cost more than the report itself for a year of `summaries` (megabytes of JSON,
/// and a heap left fragmented by millions of small allocations).
pub(crate) struct JsonBody(pub Vec<u8>);

type ApiResult = Result<JsonBody, ApiError>;

fn json(v: impl serde::Serialize) -> ApiResult {
    serde_json::to_vec(&v)
        .map(JsonBody)
        .map_err(|e| ApiError::Store(StoreError::Invalid(e.to_string())))
}

/// Dimensions WakaTime's per-day bodies list.
const DAY_DIMS: [Dim; 7] = [
    Dim::Category,
    Dim::Project,
    Dim::Language,
    Dim::Editor,
    Dim::Os,
    Dim::Machine,
    Dim::Branch,
];

/// Longest range `summaries` answers, in days.
const MAX_SUMMARY_DAYS: i64 = 400;

pub(crate) async fn statusbar_today(api: &Api, account: &Account) -> ApiResult {
    let cal = account.calendar();
    let now = now_ms();
    let (start, end) = cal.bounds(cal.date_of(now));
    let ask = Ask::new(account, start, end, DAY_DIMS.to_vec());
    let report = query::report(&api.db, account, ask).await?;
    json(summary::statusbar_today(&report, cal, now))
}

/// `summaries?start=&end=` (dates, `today`, `yesterday`) or `?range=last_7_days`, optionally
/// filtered by `project` or `branches`.
pub(crate) async fn summaries(
    api: &Api,
    account: &Account,
    q: &HashMap<String, String>,
) -> ApiResult {
    let cal = account.calendar();
    let now = now_ms();
    let today = cal.date_of(now);
    let spec = match (q.get("range"), q.get("start"), q.get("end")) {
        (Some(name), _, _) => wakatime::parse_range_name(name)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown range {name:?}")))?
            .range_spec(today),
        (None, Some(start), Some(end)) => RangeSpec {
            name: None,
            from: Some(relative_date(start, today).to_string()),
            to: Some(relative_date(end, today).to_string()),
        },
        _ => {
            return Err(ApiError::BadRequest(
                "give start and end (YYYY-MM-DD), or range".into(),
            ));
        }
    };
    let (start, end) = range::resolve(&spec, cal, now, account.week_start)
        .map_err(|e| ApiError::BadRequest(http_range_error(e)))?;
    let (first, last) = (cal.date_of(start), cal.date_of(end - 1));
    let span = last.duration_since(first).as_secs() / 86_400 + 1;
    if span > MAX_SUMMARY_DAYS {
        return Err(ApiError::BadRequest(format!(
            "range of {span} days is too long (at most {MAX_SUMMARY_DAYS})"
        )));
    }
    let list = |key: &str| -> Vec<String> {
        q.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let filters = Filters {
        project: list("project"),
        branch: list("branches"),
        language: Vec::new(),
    };
    let mut dims = DAY_DIMS.to_vec();
    dims.push(Dim::Entity);
    let ask = Ask::new(account, start, end, dims).filtered(filters);
    let mut days = query::per_day(&api.db, account, ask).await?;
    let listed = dependencies(api, account, start, end).await?;
    for day in &mut days {
        let date = cal.date_of(summary::report_bounds(day).0);
        listed.add_rows(day, Some(date));
    }
    summary::summaries_json(&days, cal, now)
        .map(JsonBody)
        .map_err(|e| ApiError::Store(StoreError::Invalid(e.to_string())))
}

/// The dependencies listed in `[start, end)`, by day and entity.
async fn dependencies(
    api: &Api,
    account: &Account,
    start: i64,
    end: i64,
) -> Result<wakatime::dependencies::Listed, ApiError> {
    let (user, cal) = (account.id(), account.calendar().clone());
    Ok(query::read(&api.db, move |snap| {
        let mut listed = wakatime::dependencies::Listed::default();
        snap.dependencies(user, start, end, &mut |t, entity, deps| {
            listed.add(&cal, t, entity, deps)
        })?;
        Ok(listed)
    })
    .await?)
}

/// Range errors in the HTTP parameters' names rather than the CLI's flags.
fn http_range_error(e: range::RangeError) -> String {
    match e {
        range::RangeError::BadBound { flag, value } => {
            let param = if flag == "from" { "start" } else { "end" };
            format!("{param} {value:?} is not a date (expected YYYY-MM-DD, today or yesterday)")
        }
        range::RangeError::Empty { .. } => "start must not be after end".to_string(),
        other => other.to_string(),
    }
}

/// `today`, `yesterday` or a date as given.
fn relative_date(value: &str, today: Date) -> String {
    match value {
        "today" => today.to_string(),
        "yesterday" => today.yesterday().unwrap_or(today).to_string(),
        other => other.to_string(),
    }
}

pub(crate) async fn stats(api: &Api, account: &Account, range_name: &str) -> ApiResult {
    let cal = account.calendar();
    let now = now_ms();
    let range = wakatime::parse_range_name(range_name)
        .ok_or_else(|| ApiError::BadRequest(format!("unknown range {range_name:?}")))?;
    let mut spec = range.range_spec(cal.date_of(now));
    if range == WakaRange::AllTime
        && let Some(first) = first_time(api, account).await?
    {
        spec = RangeSpec {
            name: None,
            from: Some(cal.date_of(first).to_string()),
            to: None,
        };
    }
    let (start, end) = range::resolve(&spec, cal, now, account.week_start)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let listed = dependencies(api, account, start, end).await?;
    let mut dims = DAY_DIMS.to_vec();
    dims.push(Dim::Day);
    if !listed.is_empty() {
        // Only then: the entity dimension reads every heartbeat of the range.
        dims.push(Dim::Entity);
    }
    let mut report = query::report(&api.db, account, Ask::new(account, start, end, dims)).await?;
    listed.add_rows(&mut report, None);
    json(summary::stats(&summary::StatsInput {
        range,
        report: &report,
        cal,
        now_ms: now,
        username: &account.name,
        timeout_minutes: (account.rules().timeout_ms / 60_000) as u32,
    }))
}

/// The oldest heartbeat's time.
async fn first_time(api: &Api, account: &Account) -> Result<Option<i64>, ApiError> {
    let user = account.id();
    Ok(query::read(&api.db, move |snap| snap.first_time(user)).await?)
}

pub(crate) async fn all_time_since_today(api: &Api, account: &Account) -> ApiResult {
    let cal = account.calendar();
    let now = now_ms();
    let tomorrow = cal.bounds(cal.date_of(now)).1;
    let start = match first_time(api, account).await? {
        Some(first) => cal.start_of(cal.date_of(first)),
        None => cal.start_of(cal.date_of(now)),
    };
    let report = query::report(
        &api.db,
        account,
        Ask::new(account, start, tomorrow, Vec::new()),
    )
    .await?;
    json(summary::all_time_since_today(
        report.total_seconds,
        start,
        tomorrow,
        cal,
    ))
}

pub(crate) async fn projects(api: &Api, account: &Account, search: Option<&str>) -> ApiResult {
    let cal = account.calendar().clone();
    let user = account.id();
    // The list comes from the rollups: bring them up to date first.
    api.writer
        .refresh(user, (i32::MIN, i32::MAX))
        .await
        .map_err(|e| match e {
            super::writer::WriteError::Store(e) => ApiError::Store(e),
            other => ApiError::Store(StoreError::Unavailable {
                path: String::new(),
                reason: other.to_string(),
            }),
        })?;
    let needle = search.map(str::to_lowercase);
    let list = query::read(&api.db, move |r| {
        let mut list = Vec::new();
        for (name, first, last) in r.projects(user)? {
            if needle
                .as_deref()
                .is_some_and(|n| !name.to_lowercase().contains(n))
            {
                continue;
            }
            // The rollups say which days; the heartbeats of those days give the times.
            let bounds = |day| date_of_num(day).map(|d| cal.bounds(d));
            let first_ms = match bounds(first) {
                Some((a, b)) => r.project_bounds_in(user, &name, a, b)?.0,
                None => None,
            };
            let last_ms = match bounds(last) {
                Some((a, b)) => r.project_bounds_in(user, &name, a, b)?.1,
                None => None,
            };
            let secs = |ms: Option<i64>| ms.map(crate::model::ms_to_seconds);
            list.push(summary::ProjectInfo {
                name,
                first_heartbeat: secs(first_ms),
                last_heartbeat: secs(last_ms),
            });
        }
        Ok(list)
    })
    .await?;
    json(summary::projects(&list, now_ms()))
}

pub(crate) async fn current_user(api: &Api, account: &Account) -> ApiResult {
    let user = account.id();
    let (first, latest) = query::read(&api.db, move |r| {
        Ok((r.first_time(user)?, r.latest(user, i64::MAX)?))
    })
    .await?;
    let info = summary::UserInfo {
        username: account.name.clone(),
        timeout_minutes: (account.rules().timeout_ms / 60_000) as u32,
        created_at: first.map(crate::model::ms_to_seconds),
        last_heartbeat_at: latest.as_ref().map(|h| h.time),
        last_plugin: latest.as_ref().and_then(|h| h.user_agent.clone()),
        last_project: latest.as_ref().and_then(|h| h.project.clone()),
        last_plugin_name: latest.as_ref().and_then(|h| h.editor.clone()),
    };
    json(summary::current_user(&info, account.calendar()))
}

pub(crate) async fn heartbeats_of_day(
    api: &Api,
    account: &Account,
    date: Option<&str>,
) -> ApiResult {
    let cal = account.calendar().clone();
    let user = account.id();
    let date: Date = date
        .ok_or_else(|| ApiError::BadRequest("missing date=YYYY-MM-DD".into()))?
        .parse()
        .map_err(|_| ApiError::BadRequest("date must be YYYY-MM-DD".into()))?;
    let (start, end) = cal.bounds(date);
    let beats = query::read(&api.db, move |r| {
        let mut out = Vec::new();
        r.heartbeats(user, start, end, &mut |h| {
            out.push(wakatime::ingest::created(&h));
            true
        })?;
        Ok(out)
    })
    .await?;
    json(summary::heartbeats_list(beats, date, &cal))
}

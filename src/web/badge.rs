//! Public badges of a team server: `/badge/USER.svg` (the user's total this week) and
//! `/badge/USER/PROJECT.svg`, plus `.json` in shields.io's endpoint format. Off until the user
//! turns one on (Account page); any badge that is off, or any user that does not exist,
//! answers the same 404, so badges reveal nothing else.

use super::charts::shorten;
use crate::calendar::now_ms;
use crate::cli::format::duration;
use crate::daemon::http::Shared;
use crate::daemon::query;
use crate::report::{self, Filters, Query, RangeSpec};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

pub async fn total(State(api): State<Shared>, Path(file): Path<String>) -> Response {
    badge(api, file, None).await
}

pub async fn project(
    State(api): State<Shared>,
    Path((user, file)): Path<(String, String)>,
) -> Response {
    badge(api, user, Some(file)).await
}

enum Kind {
    Svg,
    Json,
}

fn split(file: &str) -> Option<(&str, Kind)> {
    if let Some(name) = file.strip_suffix(".svg") {
        Some((name, Kind::Svg))
    } else {
        file.strip_suffix(".json").map(|name| (name, Kind::Json))
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such badge (badges are off until their owner turns them on)\n",
    )
        .into_response()
}

/// `first` is the user (with the suffix when `second` is None), `second` the project file.
async fn badge(api: Shared, first: String, second: Option<String>) -> Response {
    if api.local.is_some() {
        return not_found();
    }
    let (user, project, kind) = match &second {
        None => match split(&first) {
            Some((u, k)) => (u.to_string(), String::new(), k),
            None => return not_found(),
        },
        Some(file) => match split(file) {
            Some((p, k)) if !p.is_empty() => (first.clone(), p.to_string(), k),
            _ => return not_found(),
        },
    };
    let defaults = api.defaults.clone();
    let p = project.clone();
    let found = query::read(&api.db, move |snap| {
        let Some(u) = snap.user_by_name(&user)? else {
            return Ok(None);
        };
        if !snap.badges(u.id)?.contains(&p) {
            return Ok(None);
        }
        let account = crate::daemon::account::Account::resolve(&u, &defaults);
        let cal = account.calendar();
        let Ok((start, end)) =
            report::range::resolve(&RangeSpec::named("week"), cal, now_ms(), account.week_start)
        else {
            return Ok(None);
        };
        let filters = if p.is_empty() {
            Filters::default()
        } else {
            Filters::project(p.clone())
        };
        let r = report::report(
            snap,
            cal,
            &Query {
                start_ms: start,
                end_ms: end,
                by: &[],
                filters: &filters,
                rules: account.rules(),
                rollups_usable: true,
                user_id: account.id(),
            },
        )?;
        Ok(Some((u.name, r.total_seconds)))
    })
    .await;
    let (name, seconds) = match found {
        Ok(Some(x)) => x,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::warn!("badge: {e}");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let label = if project.is_empty() {
        name
    } else {
        shorten(&project, 40)
    };
    let message = format!("{} this week", duration(seconds));
    let common = [
        (header::CACHE_CONTROL, "public, max-age=300"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *",
        ),
    ];
    match kind {
        Kind::Json => {
            let body = serde_json::json!({
                "schemaVersion": 1,
                "label": label,
                "message": message,
                "color": "blue",
                "cacheSeconds": 300,
            });
            (
                StatusCode::OK,
                common,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Kind::Svg => (
            StatusCode::OK,
            common,
            [(header::CONTENT_TYPE, "image/svg+xml")],
            svg(&label, &message),
        )
            .into_response(),
    }
}

/// A flat badge in shields.io's look: label on grey, message on blue.
fn svg(label: &str, message: &str) -> String {
    // Verdana 11px averages about 7 px a character.
    let w = |s: &str| 10.0 + 7.0 * s.chars().count() as f64;
    let (lw, mw) = (w(label), w(message));
    let total = lw + mw;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(total) height="20" role="img"
            aria-label={ (label) ": " (message) } {
            title { (label) ": " (message) }
            rect width=(lw) height="20" fill="#555" {}
            rect x=(lw) width=(mw) height="20" fill="#2f6fde" {}
            g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle" {
                text x=(lw / 2.0) y="14" { (label) }
                text x=(lw + mw / 2.0) y="14" { (message) }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_text_is_escaped() {
        let s = svg("<b>&", "1h 00m this week");
        assert!(s.contains("&lt;b&gt;&amp;"), "{s}");
        assert!(!s.contains("<b>"), "{s}");
    }

    #[test]
    fn files_need_a_known_suffix() {
        assert!(split("alice.svg").is_some());
        assert!(split("alice.json").is_some());
        assert!(split("alice.png").is_none());
    }
}

//! `GET /events`: server-sent events for an open page. The daemon's event bus says that
//! heartbeats (or an interval, or a git event) were stored; the page is told `change` only
//! when they are the viewer's own — on a server, a check in the database, so nobody learns
//! when someone else works. The stream ends with the session, or when the server stops.

use super::auth::Viewer;
use crate::daemon::http::{Api, Shared};
use crate::daemon::query;
use crate::protocol::Event;
use crate::store::UserId;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

struct Stream {
    hello: bool,
    events: broadcast::Receiver<Event>,
    stop: watch::Receiver<bool>,
    ends: tokio::time::Instant,
}

pub async fn events(State(api): State<Shared>, viewer: Viewer) -> Response {
    let left = (viewer.expires_ms - crate::calendar::now_ms()).max(0) as u64;
    let start = Stream {
        hello: true,
        events: api.events.subscribe(),
        stop: api.shutdown.subscribe(),
        ends: tokio::time::Instant::now() + Duration::from_millis(left),
    };
    let user = viewer.account.id();
    let local = viewer.local;
    let stream = futures_util::stream::unfold(start, move |mut s| {
        let api = api.clone();
        async move {
            // Browsers drop an event without data: hello carries some.
            if s.hello {
                s.hello = false;
                return Some((
                    Ok::<_, Infallible>(SseEvent::default().event("hello").data("listening")),
                    s,
                ));
            }
            loop {
                if *s.stop.borrow() {
                    return None;
                }
                tokio::select! {
                    e = s.events.recv() => match e {
                        Ok(e) => {
                            if local || mine(&api, user, &e).await {
                                let data = serde_json::to_string(&e).unwrap_or_default();
                                return Some((Ok(SseEvent::default().event("change").data(data)), s));
                            }
                        }
                        // Missed some: the page re-reads anyway.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            return Some((Ok(SseEvent::default().event("change").data("{}")), s));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = s.stop.changed() => return None,
                    _ = tokio::time::sleep_until(s.ends) => return None,
                }
            }
        }
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response();
    // Proxies (nginx) must not buffer the stream.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    response
}

/// Whether an event on a shared server is about `user`'s data: a heartbeat of theirs at the
/// newest time announced, or an interval of theirs with the id announced.
async fn mine(api: &Api, user: UserId, e: &Event) -> bool {
    let e = e.clone();
    query::read(&api.db, move |snap| match e {
        Event::Heartbeats { latest_time, .. } => {
            let t = crate::model::seconds_to_ms(latest_time);
            let mut found = false;
            snap.heartbeats(user, t, t + 1, &mut |_| {
                found = true;
                false
            })?;
            Ok(found)
        }
        Event::IntervalAdded { id } => Ok(snap
            .intervals(user, i64::MIN / 2, i64::MAX / 2)?
            .iter()
            .any(|(i, _)| *i == id)),
        Event::Git { .. } => Ok(false),
        // Not said whose: an open page refreshes its own numbers, which shows nothing new
        // to anyone else.
        Event::Corrected => Ok(true),
    })
    .await
    .unwrap_or(false)
}

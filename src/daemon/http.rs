//! The WakaTime-compatible HTTP API: the listener (loopback by default, with timeouts against
//! slow clients), the guards every request passes (Host check, body limit, API key), and the
//! routes. Handlers share the daemon's [`State`] with the socket, so both see the same data.

use super::account::{Account, AccountCache, Defaults};
use super::query::now_ms;
use super::writer::{WriteError, WriterHandle};
use crate::apikey;
use crate::model::{MAX_MESSAGE_BYTES, ms_to_seconds};
use crate::protocol::Event;
use crate::store::{Database, StoreError};
use crate::wakatime;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

/// A client must send its request headers within this time (slow-loris guard).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// And finish the whole request within this time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait in the kernel's backlog. High enough that stalled
/// clients (cut off by the header timeout) cannot starve the others; the daemon raises its
/// open-file limit to match.
const MAX_CONNECTIONS: usize = 8192;

/// What the HTTP layer needs: the local daemon and the team server build one each.
#[derive(Clone)]
pub(crate) struct Api {
    pub db: Arc<dyn Database>,
    pub writer: WriterHandle,
    pub events: broadcast::Sender<Event>,
    pub shutdown: watch::Sender<bool>,
    /// What users' unset settings fall back to.
    pub defaults: Arc<Defaults>,
    pub max_heartbeat_age_days: u32,
    /// Only loopback Host names are accepted when bound to loopback (DNS rebinding).
    pub loopback_only: bool,
    /// The local daemon's user, who also answers to the login name in `/users/{user}/…`.
    pub local: Option<(crate::store::UserId, String)>,
    /// Request counts and latencies, when `/metrics` is served.
    pub metrics: Option<Arc<super::metrics::Metrics>>,
    /// Keys already looked up, when this process is the database's only writer (the local
    /// daemon; a team server's keys are also managed by `timeforged user` from outside).
    pub accounts: Option<Arc<AccountCache>>,
    pub started: Instant,
}

pub(crate) async fn bind(listen: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves until the daemon stops.
pub(crate) async fn serve(http: Api, listener: TcpListener) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = router(http.clone());
    let mut stopping = http.shutdown.subscribe();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stopping.changed() => return,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("http accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopping.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = http.shutdown.subscribe();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

/// The routes' shared state. Behind an `Arc`: every middleware and handler takes its own copy
/// of the state for each request, and copying `Api` itself (channels, a name) cost several
/// atomic operations and an allocation each time.
pub(crate) type Shared = Arc<Api>;

pub(crate) fn router(http: Api) -> Router {
    let http: Shared = Arc::new(http);
    // The same routes under both prefixes, registered with their full paths rather than
    // nested: a nested router costs every request a second route match, a prefix strip and
    // two more boxed services. `/api/v1` alone is the nested `/` (no trailing slash).
    let mut v1 = Router::new();
    for prefix in ["/api/v1", "/api/compat/wakatime/v1"] {
        let at = |path: &str| format!("{prefix}{path}");
        v1 = v1
            .route(prefix, post(ingest))
            .route(&at("/heartbeat"), post(ingest))
            .route(&at("/heartbeats"), post(ingest))
            .route(&at("/users/{user}/heartbeats.bulk"), post(ingest))
            .route(
                &at("/users/{user}/heartbeats"),
                post(ingest).get(heartbeats_of_day),
            )
            .route(&at("/users/{user}/statusbar/today"), get(statusbar_today))
            .route(&at("/users/{user}/status_bar/today"), get(statusbar_today))
            .route(&at("/users/{user}/summaries"), get(summaries))
            .route(&at("/users/{user}/stats"), get(stats_default))
            .route(&at("/users/{user}/stats/{range}"), get(stats))
            .route(
                &at("/users/{user}/all_time_since_today"),
                get(all_time_since_today),
            )
            .route(&at("/users/{user}/projects"), get(projects))
            .route(&at("/users/{user}"), get(current_user))
            .route(&at("/sync/push"), post(sync_push))
            .route(&at("/sync/pull"), get(sync_pull));
    }
    // One middleware does the guards and the key (each layer costs every request a boxed
    // future and a clone of the service behind it).
    let authenticated = v1
        .route("/api/heartbeat", post(ingest))
        .route("/api/heartbeats", post(ingest))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(http.clone(), authenticate));
    // Open to anyone who can connect: for load balancers and Prometheus; and the web
    // dashboard (its own sessions). The same guards cover them.
    let open = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::web::router())
        .layer(middleware::from_fn_with_state(http.clone(), guard));
    let app = authenticated
        .merge(open)
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES));
    // Each layer costs every request a boxed future: measuring only when metrics are served.
    let app = if http.metrics.is_some() {
        app.layer(middleware::from_fn_with_state(http.clone(), measure))
    } else {
        app
    };
    app.with_state(http)
}

async fn healthz(AxState(http): AxState<Shared>) -> Response {
    let (ok, body) = super::server::healthz(&http).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(AxState(http): AxState<Shared>) -> Response {
    let Some(m) = http.metrics.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "metrics are off: set [server] metrics = true",
        );
    };
    let body = super::server::metrics(&http, &m).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Counts each request and its latency by route, when metrics are on.
async fn measure(AxState(http): AxState<Shared>, req: Request, next: Next) -> Response {
    let Some(m) = http.metrics.clone() else {
        return next.run(req).await;
    };
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(unmatched)", |p| p.as_str())
        .to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    m.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// WakaTime's error body.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(wakatime::ingest::error_body(&message.into())),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}

/// The guards every request passes first: the Host check, then the time limit on the rest.
async fn guard(AxState(http): AxState<Shared>, req: Request, next: Next) -> Response {
    if let Some(refused) = refuse_host(&http, &req) {
        return refused;
    }
    within_time_limit(next.run(req)).await
}

async fn within_time_limit(response: impl Future<Output = Response>) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, response).await {
        Ok(r) => r,
        Err(_) => error(StatusCode::REQUEST_TIMEOUT, "request took too long"),
    }
}

/// When bound to loopback, a browser page on another site could still reach us through a DNS
/// name that resolves to 127.0.0.1; such requests carry that name in Host and are refused.
fn refuse_host(http: &Api, req: &Request) -> Option<Response> {
    if http.loopback_only
        && let Some(host) = req.headers().get(header::HOST)
    {
        let host = host.to_str().unwrap_or("");
        if !is_loopback_host(host) {
            return Some(error(
                StatusCode::MISDIRECTED_REQUEST,
                format!("Host {host:?} is not a loopback name; this API only answers localhost"),
            ));
        }
    }
    None
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        // An IPv6 literal without a port: `[::1]`.
        Some((name, port)) if !name.ends_with(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The guards ([`guard`]), then the request's user from its API key, handed to the handlers.
/// `/users/{user}/…` is only for `current`, the key's own user, or the local user's login name.
async fn authenticate(
    AxState(http): AxState<Shared>,
    params: Result<axum::extract::RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(refused) = refuse_host(&http, &req) {
        return refused;
    }
    within_time_limit(async move {
        let hash = match key_hash(&req) {
            Ok(hash) => hash,
            Err(why) => return error(StatusCode::UNAUTHORIZED, why),
        };
        let account = match account_of(&http, hash).await {
            Ok(account) => account,
            Err(refused) => return refused,
        };
        if let Some(refused) = not_their_user(&http, &account, params) {
            return refused;
        }
        req.extensions_mut().insert(account);
        next.run(req).await
    })
    .await
}

/// `/users/{user}/…` names someone else than the key's user.
fn not_their_user(
    http: &Api,
    account: &Account,
    params: Result<axum::extract::RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
) -> Option<Response> {
    if let Some((_, user)) = params
        .as_ref()
        .ok()
        .and_then(|p| p.iter().find(|(name, _)| *name == "user"))
        && user != "current"
        && user != account.name
        && !http
            .local
            .as_ref()
            .is_some_and(|(id, login)| *id == account.id() && login == user)
    {
        return Some(error(
            StatusCode::FORBIDDEN,
            format!("user {user:?} is not the owner of this API key"),
        ));
    }
    None
}

/// The hash of the request's API key (header or `?api_key=`).
fn key_hash(req: &Request) -> Result<apikey::KeyHash, String> {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let query_key = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "api_key")
            .map(|(_, v)| wakatime::url_decode(v))
    });
    let key = apikey::parse_request(auth, query_key.as_deref()).map_err(|e| e.to_string())?;
    Ok(apikey::hash(&key))
}

/// The account of an API key. The key is looked up on every request (or in the local
/// daemon's [`AccountCache`], which a change to keys empties), so a revoked or rotated key
/// stops working at once.
async fn account_of(http: &Api, hash: apikey::KeyHash) -> Result<Arc<Account>, Response> {
    let cache = http.accounts.as_ref().zip(http.db.accounts_version());
    if let Some((cache, version)) = cache
        && let Some(account) = cache.get(&hash, version)
    {
        return Ok(account);
    }
    let found = if http.db.quick_lookups() {
        // A primary-key lookup in a local file takes microseconds: sending it to a blocking
        // thread and back cost far more (two thread wake-ups per request).
        crate::store::read(&*http.db, |snap| snap.key_by_hash(&hash))
    } else {
        super::query::read(&http.db, move |snap| snap.key_by_hash(&hash)).await
    };
    match found {
        Ok(Some((key, user))) => {
            let mut account = Account::resolve(&user, &http.defaults);
            account.read_only = key.read_only;
            let account = Arc::new(account);
            if let Some((cache, version)) = cache {
                cache.put(hash, version, account.clone());
            }
            Ok(account)
        }
        Ok(None) => Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid API key (see `tf apikey`)",
        )),
        Err(e) => Err(store_error(e)),
    }
}

/// 503 when the database cannot be reached or the disk is full (clients retry), else 500.
fn store_error(e: StoreError) -> Response {
    let status = if e.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error(status, e.to_string())
}

fn write_error(e: WriteError) -> Response {
    match e {
        WriteError::ShuttingDown => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        WriteError::Store(e) => store_error(e),
    }
}

/// Stores heartbeats sent by a WakaTime client; each item is accepted or rejected on its own,
/// and the answer comes after the commit.
async fn ingest(
    AxState(http): AxState<Shared>,
    Extension(account): Who,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "request body larger than {MAX_MESSAGE_BYTES} bytes; send fewer heartbeats per request"
                )
            } else {
                rejection.body_text()
            };
            return error(status, message);
        }
    };
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !ct.starts_with("application/json") && !ct.starts_with("text/plain") {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type {ct:?} is not supported (expected application/json)"),
            );
        }
    }
    let (items, single) = match wakatime::ingest::parse_body(&body) {
        Ok(parsed) => parsed,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if account.read_only {
        return error(
            StatusCode::FORBIDDEN,
            "this API key is read-only: it cannot send heartbeats",
        );
    }
    let ctx = wakatime::IngestContext {
        now: ms_to_seconds(now_ms()),
        max_age_seconds: f64::from(http.max_heartbeat_age_days) * 86_400.0,
        machine: headers
            .get("x-machine-name")
            .map(|m| wakatime::url_decode(m.as_bytes())),
        user_agent: header("user-agent"),
    };
    let converted = wakatime::to_heartbeats(&items, &ctx);
    let mut good = Vec::with_capacity(converted.len());
    let outcomes: Vec<Result<usize, String>> = converted
        .into_iter()
        .map(|r| {
            r.map(|h| {
                good.push(h);
                good.len() - 1
            })
            .map_err(|e| e.to_string())
        })
        .collect();
    let written = if good.is_empty() {
        Default::default()
    } else {
        match http
            .writer
            .heartbeats_echoed(account.scope.clone(), good)
            .await
        {
            Ok(w) => w,
            Err(e) => return write_error(e),
        }
    };
    let new = super::announce(&http.events, &written);
    if let Some(m) = &http.metrics {
        m.heartbeats_ingested(new);
    }
    // The reply shows each heartbeat as stored (placeholders resolved).
    let results: Vec<Result<wakatime::HeartbeatData, String>> = outcomes
        .into_iter()
        .map(|o| o.map(|i| wakatime::ingest::created(&written.beats[i])))
        .collect();
    if single {
        return match results.into_iter().next() {
            Some(Ok(data)) => {
                // Serialized straight from the struct: `json!` built a map of values first.
                #[derive(serde::Serialize)]
                struct Created {
                    data: wakatime::HeartbeatData,
                }
                json_response(StatusCode::CREATED, &Created { data }, 1)
            }
            Some(Err(e)) => error(StatusCode::BAD_REQUEST, e),
            None => error(StatusCode::BAD_REQUEST, "no heartbeat in the request"),
        };
    }
    let items = results.len();
    json_response(
        StatusCode::CREATED,
        &wakatime::ingest::bulk_response(results),
        items,
    )
}

/// What [`axum::Json`] answers, serialized into a buffer sized for `items` heartbeats at once:
/// `Json` starts at 128 bytes and grew it several times for every reply.
fn json_response(status: StatusCode, value: &impl serde::Serialize, items: usize) -> Response {
    let mut body = Vec::with_capacity(64 + 512 * items.min(1024));
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            e.to_string(),
        )
            .into_response(),
    }
}

type Params = Query<HashMap<String, String>>;
/// The authenticated account; shared, as each extractor takes its own copy.
type Who = Extension<Arc<Account>>;

async fn statusbar_today(AxState(http): AxState<Shared>, Extension(a): Who) -> Response {
    read_response(super::wakatime_api::statusbar_today(&http, &a).await)
}

async fn summaries(
    AxState(http): AxState<Shared>,
    Extension(a): Who,
    Query(q): Params,
) -> Response {
    read_response(super::wakatime_api::summaries(&http, &a, &q).await)
}

async fn stats_default(AxState(http): AxState<Shared>, Extension(a): Who) -> Response {
    read_response(super::wakatime_api::stats(&http, &a, "last_7_days").await)
}

async fn stats(
    AxState(http): AxState<Shared>,
    Extension(a): Who,
    Path((_user, range)): Path<(String, String)>,
) -> Response {
    read_response(super::wakatime_api::stats(&http, &a, &range).await)
}

async fn all_time_since_today(AxState(http): AxState<Shared>, Extension(a): Who) -> Response {
    read_response(super::wakatime_api::all_time_since_today(&http, &a).await)
}

async fn projects(AxState(http): AxState<Shared>, Extension(a): Who, Query(q): Params) -> Response {
    let search = q.get("q").map(String::as_str);
    read_response(super::wakatime_api::projects(&http, &a, search).await)
}

async fn current_user(AxState(http): AxState<Shared>, Extension(a): Who) -> Response {
    read_response(super::wakatime_api::current_user(&http, &a).await)
}

async fn heartbeats_of_day(
    AxState(http): AxState<Shared>,
    Extension(a): Who,
    Query(q): Params,
) -> Response {
    let date = q.get("date").map(String::as_str);
    read_response(super::wakatime_api::heartbeats_of_day(&http, &a, date).await)
}

async fn sync_push(
    AxState(http): AxState<Shared>,
    Extension(a): Who,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            return error(status, rejection.body_text());
        }
    };
    sync_response(super::sync_api::push(&http, &a, &body).await)
}

async fn sync_pull(
    AxState(http): AxState<Shared>,
    Extension(a): Who,
    Query(q): Params,
) -> Response {
    sync_response(super::sync_api::pull(&http, &a, &q).await)
}

fn sync_response<T: serde::Serialize>(r: Result<T, super::sync_api::SyncError>) -> Response {
    use super::sync_api::SyncError;
    match r {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(SyncError::BadRequest(m)) => error(StatusCode::BAD_REQUEST, m),
        Err(SyncError::Forbidden(m)) => error(StatusCode::FORBIDDEN, m),
        Err(SyncError::Store(e)) => store_error(e),
        Err(SyncError::ShuttingDown) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        ),
    }
}

/// Read endpoints answer 200 with their body, 400 for a bad parameter, 503/500 for storage
/// errors.
fn read_response(
    r: Result<super::wakatime_api::JsonBody, super::wakatime_api::ApiError>,
) -> Response {
    match r {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.0,
        )
            .into_response(),
        Err(super::wakatime_api::ApiError::BadRequest(m)) => error(StatusCode::BAD_REQUEST, m),
        Err(super::wakatime_api::ApiError::Store(e)) => store_error(e),
    }
}

/// The address actually bound (the configured port may be 0).
pub(crate) fn local_addr(listener: &TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "localhost:9113",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:9113",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:9113",
            "192.168.1.5",
            "localhost.evil.example",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}

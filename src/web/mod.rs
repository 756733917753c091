//! The web dashboard: server-rendered HTML pages with SVG charts, computed by the same report
//! code as `tf report`, behind a cookie session on the local daemon and the team server alike.
//!
//! Templates are maud: markup checked at compile time, every interpolated value escaped unless
//! it is marked otherwise, rendered straight into a `String` — nothing to load at run time.

// Helpers hand a refused request's page back as the `Response` it is.
#![allow(clippy::result_large_err)]

mod assets;
pub(crate) mod auth;
mod badge;
mod charts;
mod data;
mod export;
mod live;
mod pages;
mod params;

use crate::daemon::http::Shared;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};

/// The dashboard's routes, for [`crate::daemon::http::router`] to merge; the Host guard, the
/// body limit and the request timeout around them are the API's.
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/by/{dim}", get(pages::dimension))
        .route("/day", get(pages::day))
        .route("/calendar", get(pages::calendar))
        .route("/sessions", get(pages::sessions))
        .route("/project/{name}", get(pages::project))
        .route("/account", get(pages::account))
        .route("/account/badges", post(pages::set_badge))
        .route("/events", get(live::events))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/login", get(auth::login))
        .route("/sign-out", post(auth::sign_out))
        .route("/assets/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/badge/{file}", get(badge::total))
        .route("/badge/{user}/{file}", get(badge::project))
        .layer(middleware::map_response(security_headers))
}

/// What every dashboard answer carries: nothing runs or loads but our own files (no inline
/// script, so injected markup cannot run even if escaping failed), no framing, no referrer to other sites.
/// Badges, meant to be embedded elsewhere, set their own.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`, not `no-referrer`: with the latter Chromium sends `Origin: null` on our own
    // form posts, which the CSRF check must refuse.
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CACHE_CONTROL, "no-store");
    response
}

//! The dashboard's own files, embedded in the binary: one stylesheet, one small script (live
//! updates), an icon. URLs carry a hash of the content, so browsers may keep them for good.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

const FILES: [(&str, &str, &str); 3] = [
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/live.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("assets/favicon.svg"),
    ),
];

/// `/assets/NAME?v=HASH`.
pub fn url(name: &str) -> &'static str {
    static URLS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        FILES
            .iter()
            .map(|(n, _, body)| {
                let hash = xxhash_rust::xxh3::xxh3_64(body.as_bytes());
                (*n, format!("/assets/{n}?v={:016x}", hash))
            })
            .collect()
    });
    urls.iter()
        .find(|(n, _)| *n == name)
        .map_or("/assets/missing", |(_, u)| u.as_str())
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == file) {
        Some((_, content_type, body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}

/// `/favicon.ico`, which browsers ask for on pages that name no icon (the sign-in steps).
pub async fn favicon() -> Response {
    serve(Path("favicon.svg".to_string())).await
}

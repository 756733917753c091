//! Who is looking: one-time sign-in links (made by the daemon for `tf web`, or by `timeforged
//! user login-link` on a server), sign-in with an API key, sessions in an HttpOnly,
//! SameSite=Strict cookie, CSRF tokens for forms, and sign-out. Tokens are 256 random bits;
//! only their SHA-256 is stored, so a copy of the database signs nobody in.

use super::pages;
use crate::apikey;
use crate::calendar::now_ms;
use crate::daemon::account::Account;
use crate::daemon::http::{Api, Shared};
use crate::daemon::query;
use crate::store::{KeyHash, Store, StoreError, User, UserId, WebToken, WebTokenKind};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;

/// How long a link made for `tf web` works: the browser opens it at once.
pub const LOCAL_LINK_MS: i64 = 5 * 60_000;
/// How long a signed-in browser stays signed in (then it signs in again).
pub const SESSION_MS: i64 = 7 * 86_400_000;
/// Characters of a token: 32 random bytes in unpadded base64url.
const TOKEN_LEN: usize = 43;

/// A new random token and its hash.
pub fn new_token() -> Result<(String, KeyHash), StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invalid(format!("no randomness for a token: {e}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = apikey::hash(&token);
    Ok((token, hash))
}

/// Whether `s` could be one of our tokens; anything else is not looked up.
fn well_formed(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Stores a one-time sign-in link for `user`, valid for `ttl_ms`, and returns its token.
pub fn make_link(store: &mut dyn Store, user: UserId, ttl_ms: i64) -> Result<String, StoreError> {
    let (token, hash) = new_token()?;
    let now = now_ms();
    store.add_web_token(&WebToken {
        hash,
        user,
        kind: WebTokenKind::Link,
        key_id: None,
        created_ms: now,
        expires_ms: now + ttl_ms,
    })?;
    Ok(token)
}

/// The path of a sign-in link.
pub fn link_path(token: &str) -> String {
    format!("/login?token={token}")
}

/// The socket's `web_login` (`tf web`): a one-time link for the daemon's own user — the
/// socket answers only that user (peer uid check), so only they can sign a browser in.
pub(crate) async fn web_login(state: &crate::daemon::State) -> crate::protocol::Response {
    use crate::protocol::{ErrorCode, Response as Answer};
    let Some(mut addr) = state.http_addr else {
        let why = match &state.http_error {
            Some(e) => {
                format!("the dashboard is served by the HTTP API, which is not listening: {e}")
            }
            None => {
                "the dashboard is served by the HTTP API, which is off: set [http] enabled = true"
                    .to_string()
            }
        };
        return Answer::error(ErrorCode::Invalid, why);
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let user = state.local().id();
    match state
        .writer
        .run(move |w| make_link(w, user, LOCAL_LINK_MS))
        .await
    {
        Ok(token) => Answer::WebLogin {
            url: format!("http://{addr}{}", link_path(&token)),
        },
        Err(crate::daemon::writer::WriteError::ShuttingDown) => {
            Answer::error(ErrorCode::ShuttingDown, "the daemon is shutting down")
        }
        Err(e) => Answer::error(ErrorCode::Storage, e.to_string()),
    }
}

/// The cookie's name: with the port, so that dashboards on two ports of one host (the daemon
/// and a server, or two test servers) do not sign each other out — cookies ignore ports.
fn cookie_name(headers: &HeaderMap) -> String {
    let port = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(p) => format!("tf_session_{p}"),
        None => "tf_session".to_string(),
    }
}

/// The value of cookie `name`, from any `Cookie` header.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// `Set-Cookie` for a session (or, with `token` None, one that clears it). `Secure` when the
/// request came through a TLS proxy.
fn session_cookie(headers: &HeaderMap, token: Option<&str>) -> HeaderValue {
    let name = cookie_name(headers);
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let (value, age) = match token {
        Some(t) => (t, SESSION_MS / 1000),
        None => ("", 0),
    };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("tf_session=; Max-Age=0"))
}

/// A signed-in browser: whose data it sees, and what its forms must carry.
#[derive(Clone)]
pub struct Viewer {
    pub account: Account,
    /// The form field every state-changing form sends back.
    pub csrf: String,
    pub expires_ms: i64,
    /// The local daemon's user (no badges, no API-key talk).
    pub local: bool,
    session: KeyHash,
}

/// The account a user reads as: the local daemon's user keeps the config file's settings
/// (its row's are not used), as on the socket.
pub(crate) fn account_of(api: &Api, mut user: User) -> Account {
    if let Some((id, login)) = &api.local
        && *id == user.id
    {
        user.settings = Default::default();
        user.name = login.clone();
    }
    Account::resolve(&user, &api.defaults)
}

/// The CSRF token of a session: derived from the session token (which only the cookie holds),
/// so it needs no storage and cannot be guessed from outside.
fn csrf_for(token: &str) -> String {
    let h = apikey::hash(&format!("csrf:{token}"));
    URL_SAFE_NO_PAD.encode(&h[..24])
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &Shared) -> Result<Self, Self::Rejection> {
        let name = cookie_name(&parts.headers);
        let token = cookie(&parts.headers, &name);
        let Some(token) = token.filter(|t| well_formed(t)) else {
            return Err(not_signed_in(parts, false));
        };
        let hash = apikey::hash(&token);
        let now = now_ms();
        let found = query::read(&api.db, move |snap| {
            let Some(t) = snap
                .web_token(&hash, now)?
                .filter(|t| t.kind == WebTokenKind::Session)
            else {
                return Ok(None);
            };
            Ok(snap.user_by_id(t.user)?.map(|u| (t, u)))
        })
        .await;
        match found {
            Ok(Some((t, user))) => Ok(Viewer {
                local: api.local.as_ref().is_some_and(|(id, _)| *id == user.id),
                account: account_of(api, user),
                csrf: csrf_for(&token),
                expires_ms: t.expires_ms,
                session: t.hash,
            }),
            // A stale, forged or signed-out cookie: cleared on the way to the sign-in page.
            Ok(None) => Err(not_signed_in(parts, true)),
            Err(e) => Err(pages::store_error(e)),
        }
    }
}

/// Pages send the browser to the sign-in page; data (downloads, live events, partial
/// updates) answer 401.
fn not_signed_in(parts: &Parts, clear: bool) -> Response {
    let query = parts.uri.query().unwrap_or("");
    let data = parts.uri.path() == "/events"
        || parts.headers.contains_key("x-tf-partial")
        || query
            .split('&')
            .any(|kv| kv == "format=json" || kv == "format=csv")
        || parts.method != axum::http::Method::GET;
    let mut response = if data {
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not signed in: open the dashboard with `tf web` (or sign in at /sign-in)\n",
        )
            .into_response()
    } else {
        let target = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let location = format!(
            "/sign-in?{}",
            serde_urlencoded::to_string([("next", target.as_str())]).unwrap_or_default()
        );
        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
    };
    if clear {
        response
            .headers_mut()
            .append(header::SET_COOKIE, session_cookie(&parts.headers, None));
    }
    response
}

/// Where to go after signing in: a path on this site, nothing else (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/sign-in")
                && !n.starts_with("/login")
                && n.len() <= 2000
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Refuses a form posted from another site: its Origin (which browsers send on every POST)
/// must be this host, and `csrf` must be the session's.
pub fn check_form(
    viewer: &Viewer,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), Response> {
    same_origin(headers)?;
    let ok = csrf.is_some_and(|c| {
        c.len() == viewer.csrf.len()
            && c.bytes()
                .zip(viewer.csrf.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
    });
    if ok {
        Ok(())
    } else {
        Err(pages::message(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This form did not carry this session's token (it may come from another site, or \
             from a page opened before you signed in again). Go back, reload the page and try again.",
        ))
    }
}

fn same_origin(headers: &HeaderMap) -> Result<(), Response> {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let foreign_origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| {
            let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
            Some(authority) != host
        });
    if cross_site || foreign_origin {
        return Err(pages::message(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This form was sent from another site.",
        ));
    }
    Ok(())
}

/// Form fields of a urlencoded body.
pub fn form(body: &Bytes) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// The query string's parameters (the last of repeated ones).
fn params(raw: Option<String>) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.as_deref().unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// `GET /sign-in`: the API-key form (and how to get a link).
pub async fn sign_in_page(
    State(api): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let q = params(q);
    let next = safe_next(q.get("next").map(String::as_str));
    let note = q
        .contains_key("signed_out")
        .then_some("You are signed out.");
    sign_in_form(&api, &headers, StatusCode::OK, &next, note)
}

/// The sign-in page with a fresh pre-session token: a double-submit cookie, so that another
/// site cannot sign a browser in to an account of its choosing.
fn sign_in_form(
    api: &Api,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    note: Option<&str>,
) -> Response {
    let pre = new_token().map(|(t, _)| t).unwrap_or_default();
    let mut response = pages::sign_in(status, api.local.is_some(), next, &pre, note);
    let cookie = format!(
        "{}_pre={pre}; Path=/sign-in; HttpOnly; SameSite=Strict; Max-Age=3600",
        cookie_name(headers)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /sign-in`: an API key for a session bound to that key (revoking it signs out).
pub async fn sign_in(State(api): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    let next = safe_next(f.get("next").map(String::as_str));
    if let Err(r) = same_origin(&headers) {
        return r;
    }
    let pre = cookie(&headers, &format!("{}_pre", cookie_name(&headers)));
    if pre.is_none() || pre.as_deref() != f.get("pre").map(String::as_str) {
        return sign_in_form(
            &api,
            &headers,
            StatusCode::FORBIDDEN,
            &next,
            Some("The sign-in form expired or came from another site; please try again."),
        );
    }
    let key = f.get("key").map(|k| k.trim()).unwrap_or("");
    if !apikey::is_valid(key) {
        return sign_in_form(
            &api,
            &headers,
            StatusCode::UNAUTHORIZED,
            &next,
            Some(
                "That is not an API key (a lowercase UUID such as 8f14e45f-ceea-467f-a7c1-5e8c0c8f2b1d).",
            ),
        );
    }
    let hash = apikey::hash(key);
    let found = query::read(&api.db, move |snap| snap.key_by_hash(&hash)).await;
    match found {
        Ok(Some((key, user))) => start_session(&api, &headers, user.id, Some(key.id), &next).await,
        Ok(None) => sign_in_form(
            &api,
            &headers,
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That API key is not valid (it may have been revoked)."),
        ),
        Err(e) => pages::store_error(e),
    }
}

/// `GET /login?token=…`: a one-time link. It is used up here, whatever happens next.
pub async fn login(
    State(api): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let q = params(q);
    let next = safe_next(q.get("next").map(String::as_str));
    let token = q.get("token").map(String::as_str).unwrap_or("");
    let taken = if well_formed(token) {
        let hash = apikey::hash(token);
        api.writer.run(move |w| w.take_web_token(&hash)).await
    } else {
        Ok(None)
    };
    let now = now_ms();
    let link = match taken {
        Ok(Some(t)) if t.kind == WebTokenKind::Link && t.expires_ms > now => t,
        Ok(_) => {
            let how = if api.local.is_some() {
                "Run `tf web` again for a new link."
            } else {
                "Ask for a new link (`timeforged user login-link NAME`), or sign in with your API key."
            };
            return pages::message(
                StatusCode::UNAUTHORIZED,
                "This sign-in link does not work",
                &format!("It was already used, has expired, or was never made. {how}"),
            );
        }
        Err(e) => return pages::write_error(e),
    };
    start_session(&api, &headers, link.user, None, &next).await
}

/// Stores a new session and answers with its cookie. The answer is a page that moves on by
/// itself rather than a redirect: a SameSite=Strict cookie is not sent on a redirect that
/// began on another site (a link clicked in a chat), but is on a navigation from our page.
async fn start_session(
    api: &Api,
    headers: &HeaderMap,
    user: UserId,
    key_id: Option<i64>,
    next: &str,
) -> Response {
    let (token, hash) = match new_token() {
        Ok(t) => t,
        Err(e) => return pages::store_error(e),
    };
    let now = now_ms();
    let session = WebToken {
        hash,
        user,
        kind: WebTokenKind::Session,
        key_id,
        created_ms: now,
        expires_ms: now + SESSION_MS,
    };
    if let Err(e) = api.writer.run(move |w| w.add_web_token(&session)).await {
        return pages::write_error(e);
    }
    let mut response = pages::signed_in(next);
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(headers, Some(&token)));
    response
}

/// `POST /sign-out`: ends the session here and in the database.
pub async fn sign_out(
    State(api): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = form(&body);
    if let Err(r) = check_form(&viewer, &headers, f.get("csrf").map(String::as_str)) {
        return r;
    }
    let hash = viewer.session;
    if let Err(e) = api.writer.run(move |w| w.take_web_token(&hash)).await {
        return pages::write_error(e);
    }
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/sign-in?signed_out=1")],
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&headers, None));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert_eq!(ha, apikey::hash(&a));
        for bad in [
            "",
            "short",
            &"x".repeat(44),
            &format!("{}=", &a[..42]),
            "<script>",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn next_stays_on_this_site() {
        for (given, want) in [
            (Some("/calendar?year=2025"), "/calendar?year=2025"),
            (Some("//evil.example/"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("/login?token=x"), "/"),
            (Some("/a\nb"), "/"),
            (None, "/"),
        ] {
            assert_eq!(safe_next(given), want, "{given:?}");
        }
    }

    #[test]
    fn cookies_are_per_port_and_parsed_from_any_header() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9113"));
        assert_eq!(cookie_name(&h), "tf_session_9113");
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tf_session_9114=x"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("tf_session_9113=mine"),
        );
        assert_eq!(cookie(&h, "tf_session_9113").as_deref(), Some("mine"));
        let set = session_cookie(&h, Some("tok"));
        let set = set.to_str().unwrap();
        for part in [
            "tf_session_9113=tok",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Secure"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(
            session_cookie(&h, None)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let mut proxied = HeaderMap::new();
        proxied.insert(header::HOST, HeaderValue::from_static("tf.example.com"));
        assert_eq!(cookie_name(&proxied), "tf_session");
    }

    /// Expiry, one-time use and key revocation, on the store every server process shares.
    #[test]
    fn tokens_expire_are_taken_once_and_end_with_their_key() {
        use crate::store::{Database, KeySelector, sqlite::SqliteDatabase};
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDatabase::open(&dir.path().join("t.db")).unwrap();
        let mut w = db.writer().unwrap();
        let user = w.add_user("ann", &Default::default(), 0).unwrap();
        let key = w
            .add_key(user.id, &apikey::hash("k"), None, false, 0)
            .unwrap();
        let token = |n: u8, kind, key_id, expires_ms| WebToken {
            hash: [n; 32],
            user: user.id,
            kind,
            key_id,
            created_ms: 1_000,
            expires_ms,
        };
        w.add_web_token(&token(1, WebTokenKind::Session, Some(key.id), 5_000))
            .unwrap();
        w.add_web_token(&token(2, WebTokenKind::Link, None, 5_000))
            .unwrap();
        let look = |n: u8, now| crate::store::read(&db, |s| s.web_token(&[n; 32], now)).unwrap();
        assert!(look(1, 4_999).is_some());
        assert!(look(1, 5_000).is_none(), "expired");
        assert!(look(9, 0).is_none(), "never made");
        // Taken once: the second time there is nothing.
        assert_eq!(
            w.take_web_token(&[2; 32]).unwrap().map(|t| t.kind),
            Some(WebTokenKind::Link)
        );
        assert!(w.take_web_token(&[2; 32]).unwrap().is_none());
        // Revoking the key ends the session.
        w.revoke_keys(KeySelector::Id(key.id)).unwrap();
        assert!(look(1, 2_000).is_none());
        // Adding a token drops the expired ones.
        w.add_web_token(&token(3, WebTokenKind::Session, None, 9_000))
            .unwrap();
        w.add_web_token(&WebToken {
            created_ms: 9_500,
            ..token(4, WebTokenKind::Session, None, 20_000)
        })
        .unwrap();
        assert!(w.take_web_token(&[3; 32]).unwrap().is_none(), "pruned");
        // A removed user's tokens go with them (ids can be reused).
        w.remove_user(user.id).unwrap();
        assert!(look(4, 10_000).is_none());
        assert!(w.take_web_token(&[4; 32]).unwrap().is_none());
    }

    #[test]
    fn csrf_depends_on_the_session() {
        assert_eq!(csrf_for("a"), csrf_for("a"));
        assert_ne!(csrf_for("a"), csrf_for("b"));
        assert_eq!(csrf_for("a").len(), 32);
    }
}

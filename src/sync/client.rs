//! Talking to a target over HTTP(S): push and pull against a TimeForged server, `heartbeats.bulk`
//! against a WakaTime-compatible one. Blocking (its own thread calls it), with timeouts, so a
//! slow or silent server can hold up nothing else; every failure says what kind it is, since
//! that decides what happens next (retry later, wait as asked, or a key to fix).

use super::wire::{PULL_PATH, PUSH_PATH, PullResponse, PushRequest, PushResponse};
use base64::Engine;
use serde_json::Value;
use std::time::Duration;

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// 401/403: the key is wrong or revoked; nothing moves until it is fixed.
    #[error("the server refused the API key ({0}); set a valid key and sync resumes")]
    Key(String),
    /// 429: the server asks to slow down (for this long, if it said).
    #[error("the server asks to slow down (429)")]
    RateLimited(Option<Duration>),
    /// Any other status that is not success.
    #[error("the server answered {status}: {message}")]
    Status { status: u16, message: String },
    /// No answer: connection refused, reset, timed out, DNS.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// An answer that is not what the protocol says (HTML from a proxy, truncated JSON …).
    #[error("the server's answer is not understood: {0}")]
    Garbled(String),
}

/// An answer and the server's clock (its `Date` header, unix seconds).
#[derive(Debug)]
pub struct Answer<T> {
    pub body: T,
    pub server_time: Option<i64>,
}

/// One target's HTTP endpoint.
pub struct Endpoint {
    agent: ureq::Agent,
    base: String,
    auth: String,
}

/// A request must be answered within this long.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read (a pull page is far smaller).
const MAX_ANSWER: u64 = 32 * 1024 * 1024;

impl Endpoint {
    pub fn new(base: &str, api_key: &str) -> Endpoint {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .user_agent(format!("timeforged/{}", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(2)
            .build()
            .into();
        Endpoint {
            agent,
            base: base.trim_end_matches('/').to_string(),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(api_key.trim())
            ),
        }
    }

    /// `POST /api/v1/sync/push`.
    pub fn push(&self, req: &PushRequest) -> Result<Answer<PushResponse>, Failure> {
        let body = serde_json::to_vec(req).map_err(|e| Failure::Garbled(e.to_string()))?;
        let url = format!("{}{PUSH_PATH}", self.base);
        let answer = self.send(self.agent.post(&url), Some(body))?;
        decode(answer)
    }

    /// `GET /api/v1/sync/pull`.
    pub fn pull(
        &self,
        after: i64,
        limit: usize,
        machine: &str,
    ) -> Result<Answer<PullResponse>, Failure> {
        let url = format!("{}{PULL_PATH}", self.base);
        let req = self
            .agent
            .get(&url)
            .query("after", after.to_string())
            .query("limit", limit.to_string())
            .query("machine", machine);
        let answer = self.send(req, None)?;
        decode(answer)
    }

    /// `POST {api_url}/users/current/heartbeats.bulk` (the `api_url` of `.wakatime.cfg`):
    /// the status of each item.
    pub fn wakatime_bulk(&self, items: &[Value]) -> Result<Answer<Vec<u16>>, Failure> {
        let body = serde_json::to_vec(items).map_err(|e| Failure::Garbled(e.to_string()))?;
        let url = format!("{}/users/current/heartbeats.bulk", self.base);
        let answer = self.send(self.agent.post(&url), Some(body))?;
        let server_time = answer.server_time;
        let v: Value = serde_json::from_str(&answer.body)
            .map_err(|e| Failure::Garbled(format!("{e}: {}", snippet(&answer.body))))?;
        // WakaTime: {"responses": [[body, status], …]}; some servers answer 201 with anything.
        let statuses = match v.get("responses").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .map(|r| r.get(1).and_then(Value::as_u64).unwrap_or(201) as u16)
                .collect(),
            None => vec![201; items.len()],
        };
        Ok(Answer {
            body: statuses,
            server_time,
        })
    }

    /// Sends a request with the key and JSON body, and classifies the outcome.
    fn send<B>(
        &self,
        req: ureq::RequestBuilder<B>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer<String>, Failure>
    where
        ureq::RequestBuilder<B>: Sendable,
    {
        let req = req
            .header("Authorization", &self.auth)
            .header("Accept", "application/json");
        let response = req.go(body).map_err(|e| Failure::Network(e.to_string()))?;
        let status = response.status().as_u16();
        let server_time = response
            .headers()
            .get("date")
            .and_then(|d| d.to_str().ok())
            .and_then(http_date);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|d| d.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut response = response;
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| Failure::Network(e.to_string()))?;
        match status {
            200..=299 => Ok(Answer {
                body: text,
                server_time,
            }),
            401 | 403 => Err(Failure::Key(error_message(&text, status))),
            429 => Err(Failure::RateLimited(retry_after)),
            _ => Err(Failure::Status {
                status,
                message: error_message(&text, status),
            }),
        }
    }
}

/// Sends a built request, with or without a body.
pub trait Sendable {
    fn go(self, body: Option<Vec<u8>>) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>;
}

impl Sendable for ureq::RequestBuilder<ureq::typestate::WithBody> {
    fn go(self, body: Option<Vec<u8>>) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.header("Content-Type", "application/json")
            .send(body.unwrap_or_default())
    }
}

impl Sendable for ureq::RequestBuilder<ureq::typestate::WithoutBody> {
    fn go(self, _: Option<Vec<u8>>) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.call()
    }
}

fn decode<T: serde::de::DeserializeOwned>(answer: Answer<String>) -> Result<Answer<T>, Failure> {
    let body = serde_json::from_str(&answer.body)
        .map_err(|e| Failure::Garbled(format!("{e}: {}", snippet(&answer.body))))?;
    Ok(Answer {
        body,
        server_time: answer.server_time,
    })
}

/// The `error` of a JSON error body, else the start of the body.
fn error_message(text: &str, status: u16) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let s = snippet(text);
            if s.is_empty() {
                format!("HTTP {status}")
            } else {
                s
            }
        })
}

fn snippet(text: &str) -> String {
    let t: String = text.trim().chars().take(160).collect();
    t.replace(['\n', '\r'], " ")
}

/// An HTTP date (`Thu, 03 Dec 2026 08:00:00 GMT`) as unix seconds.
fn http_date(s: &str) -> Option<i64> {
    jiff::fmt::rfc2822::parse(s)
        .ok()
        .map(|z| z.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date("Thu, 03 Dec 2026 08:00:00 GMT"),
            Some(1_796_284_800)
        );
        assert_eq!(http_date("yesterday"), None);
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(r#"{"error": "invalid API key"}"#, 401),
            "invalid API key"
        );
        assert_eq!(
            error_message("<html><body>Bad Gateway</body></html>", 502),
            "<html><body>Bad Gateway</body></html>"
        );
        assert_eq!(error_message("", 500), "HTTP 500");
    }
}

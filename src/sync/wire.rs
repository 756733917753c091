//! The sync protocol between a daemon and its TimeForged server, over HTTPS with the user's API
//! key: `POST /api/v1/sync/push` (records made on a machine; one result per record) and
//! `GET /api/v1/sync/pull?after=SEQ&limit=N&machine=ID` (the user's records from other
//! machines, in the server's arrival order).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped on an incompatible change of the bodies; a record carries the schema it was written
/// with, and a puller skips (and logs) those it does not know.
pub const SCHEMA: u32 = 1;

/// Most records per push or pull page.
pub const MAX_PAGE: usize = 1000;

pub const PUSH_PATH: &str = "/api/v1/sync/push";
pub const PULL_PATH: &str = "/api/v1/sync/pull";

/// Who pushes: the install's machine id and its host name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub schema: u32,
    pub machine: Machine,
    /// Each a [`crate::store::Record`] as JSON; kept raw so that one bad record is rejected on
    /// its own.
    pub records: Vec<Value>,
}

/// The outcome of one pushed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored now.
    Stored,
    /// Already there (sent before): nothing changed.
    Duplicate,
    /// Refused; the reason names the field.
    Rejected(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    pub schema: u32,
    /// One per record, in order.
    pub results: Vec<Outcome>,
}

/// One record of a pull page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pulled {
    pub seq: i64,
    /// The machine that pushed it (none: sent to the server's WakaTime API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub schema: u32,
    pub record: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullResponse {
    pub schema: u32,
    pub records: Vec<Pulled>,
    /// The cursor to ask from next.
    pub next: i64,
    /// More records wait after `next`.
    pub more: bool,
}

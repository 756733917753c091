//! Socket answers the request handlers share (the dispatcher in `handlers`, and the git,
//! shell and watcher handlers): errors as responses, and ranges in the local user's calendar.

use super::State;
use super::writer::WriteError;
use crate::calendar::now_ms;
use crate::protocol::{ErrorCode, Response};
use crate::report::{self, RangeSpec};

pub(crate) fn storage_error(e: String) -> Response {
    Response::error(ErrorCode::Storage, e)
}

/// A failed write: `shutting_down` when the daemon is stopping, else `storage`.
pub(crate) fn write_error(e: WriteError) -> Response {
    let code = match e {
        WriteError::ShuttingDown => ErrorCode::ShuttingDown,
        WriteError::Store(_) => ErrorCode::Storage,
    };
    Response::error(code, e.to_string())
}

/// `range` as `[start, end)` in the local user's calendar and week, or an `invalid` answer.
pub(crate) fn resolve(state: &State, range: &RangeSpec) -> Result<(i64, i64), Response> {
    let local = state.local();
    report::range::resolve(range, local.calendar(), now_ms(), local.week_start)
        .map_err(|e| Response::error(ErrorCode::Invalid, e.to_string()))
}

//! A small pool of PostgreSQL connections, each with its prepared statements. A connection
//! found closed (the server restarted, the network dropped) is replaced on the next checkout,
//! so the server recovers by itself when the database comes back.

use super::classify;
use crate::store::{Result, StoreError};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// One connection and the statements prepared on it (statements live as long as the session).
pub struct Conn {
    pub client: Client,
    pub statements: HashMap<&'static str, Statement>,
}

pub struct Pool {
    config: postgres::Config,
    /// Where, for messages (no password).
    pub shown: String,
    idle: Mutex<Idle>,
    freed: Condvar,
    max: usize,
}

struct Idle {
    conns: Vec<Conn>,
    /// Connections handed out or being opened.
    out: usize,
}

/// How long a checkout waits for a free connection, and a connect for the server.
const WAIT: Duration = Duration::from_secs(10);

impl Pool {
    pub fn new(config: postgres::Config, shown: String, max: usize) -> Pool {
        Pool {
            config,
            shown,
            idle: Mutex::new(Idle {
                conns: Vec::new(),
                out: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    /// Opens a new connection (not pooled).
    pub fn connect(&self) -> Result<Conn> {
        let mut config = self.config.clone();
        config.connect_timeout(WAIT);
        let client = config.connect(NoTls).map_err(|e| StoreError::Unavailable {
            path: self.shown.clone(),
            reason: e.to_string(),
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    /// Runs `f` with a pooled connection. A connection that `f` leaves closed is dropped.
    pub fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.checkout()?;
        let out = f(&mut conn);
        self.give_back(conn);
        out
    }

    fn checkout(&self) -> Result<Conn> {
        let deadline = std::time::Instant::now() + WAIT;
        let mut idle = self.lock();
        loop {
            while let Some(conn) = idle.conns.pop() {
                if !conn.client.is_closed() {
                    idle.out += 1;
                    return Ok(conn);
                }
            }
            if idle.out < self.max {
                idle.out += 1;
                drop(idle);
                return self.connect().inspect_err(|_| {
                    self.lock().out -= 1;
                    self.freed.notify_one();
                });
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable {
                    path: self.shown.clone(),
                    reason: format!("all {} connections busy for {WAIT:?}", self.max),
                });
            }
            idle = match self.freed.wait_timeout(idle, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn give_back(&self, conn: Conn) {
        let mut idle = self.lock();
        idle.out -= 1;
        if !conn.client.is_closed() {
            idle.conns.push(conn);
        }
        drop(idle);
        self.freed.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops idle connections (memory) — they are reopened on demand.
    pub fn shrink(&self) {
        self.lock().conns.clear();
    }

    pub fn error(&self, e: postgres::Error) -> StoreError {
        classify(&self.shown, e)
    }
}

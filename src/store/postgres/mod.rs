//! The PostgreSQL backend (being written).

use super::{Result, StoreError};

pub struct PgDatabase;

impl PgDatabase {
    pub fn open(url: &str) -> Result<std::sync::Arc<dyn super::Database>> {
        Err(StoreError::Invalid(format!("{url}: not yet")))
    }
}

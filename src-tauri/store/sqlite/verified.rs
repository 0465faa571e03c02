//! The verification rows a read connection has read, kept while the file has not changed.
//!
//! Other services verify a key for every request they serve, and most of a verification's
//! time in SQLite is its statement's B-tree descents (the secret's digest, the key, the
//! owner, the owner's roles and groups). So each read connection keeps the rows it has read,
//! tagged with its `PRAGMA data_version`: a number SQLite changes whenever another
//! connection commits to the file, in this process or in another (a second `keyward serve`
//! on the same file, `keyward` on the command line). Every look-up asks for that number
//! first, in a read transaction of its own that sees every commit acknowledged before it
//! began, and drops all rows when it changed. A row served from here is therefore the row
//! the statement would read at that moment: never stale, only cheaper. Any commit empties
//! it, the batches of `lastUsedTime` included; the verdict is computed from the row at every
//! verification, so expiry and grace periods take effect on time. A change found is also
//! told to the store's kept read transaction ([`super::hold`]), which then moves on to the
//! readers' newer snapshot.

use super::hold::Hold;
use crate::core::Result;
use crate::rules::storage::VerificationRow;
use rusqlite::Connection;
use std::collections::HashMap;

/// Rows kept per connection at most (digests of unknown keys included): beyond it the
/// connection starts again from none, so probing with random keys cannot grow memory.
const CAPACITY: usize = 50_000;

#[derive(Default)]
pub(super) struct Verified {
    /// The connection's `data_version` when the rows were read.
    version: Option<i64>,
    rows: HashMap<[u8; 32], VerificationRow>,
}

impl Verified {
    /// The row for `digest`: kept, when nothing was committed since it was read, or else
    /// read with `read` and kept. A change found is told to `hold`.
    pub(super) fn row(
        &mut self,
        conn: &Connection,
        hold: &Hold,
        digest: &[u8; 32],
        read: impl FnOnce() -> Result<VerificationRow>,
    ) -> Result<VerificationRow> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        if self.version != Some(version) {
            if self.version.is_some() {
                hold.file_changed();
            }
            self.rows.clear();
            self.version = Some(version);
        }
        if let Some(row) = self.rows.get(digest) {
            return Ok(row.clone());
        }
        // Read after the version: the row is at least as new as the version it is kept
        // under, and a commit in between changes the version the next look-up sees.
        let row = read()?;
        if self.rows.len() >= CAPACITY {
            self.rows.clear();
        }
        self.rows.insert(*digest, row.clone());
        Ok(row)
    }
}

//! `keyward copy`: a whole directory from one store into another, as it is stored: users with
//! their password hashes, roles, groups, memberships, key digests and metadata, sessions,
//! tokens, sign-in failures, settings and the whole audit log. Read in one snapshot, written
//! in one transaction into a target that holds no directory yet.

use crate::core::{Error, Result};
use crate::rules::storage::{End, Store, TABLES};

/// How many rows of each table were copied, in the order they were.
pub type Copied = Vec<(&'static str, usize)>;

pub fn copy<A: Store, B: Store>(from: &A, to: &B) -> Result<Copied> {
    let tables = from.read(|tx| {
        TABLES
            .iter()
            .map(|table| Ok((table, tx.rows_of(table)?)))
            .collect::<Result<Vec<_>>>()
    })?;
    to.write(End::Commit, |tx| {
        let target = TABLES
            .iter()
            .filter(|t| ["users", "audit_log", "directory_groups"].contains(&t.name))
            .map(|t| Ok((t.name, tx.count_rows(t)?)))
            .collect::<Result<Vec<_>>>()?;
        if let Some((name, rows)) = target.iter().find(|(_, rows)| *rows > 0) {
            return Err(Error::StateConflict(format!(
                "The target holds a directory already ({rows} rows in {name}); copy into an \
                 empty database or a new file."
            )));
        }
        tx.clear_new_directory()?;
        for (table, rows) in &tables {
            tx.insert_rows(table, rows)?;
        }
        tx.after_copy()?;
        Ok(tables
            .iter()
            .map(|(t, rows)| (t.name, rows.len()))
            .collect())
    })
}

//! Backups of a directory file: `keyward backup` (SQLite's online backup, safe while the app or
//! a server writes to the file), `keyward restore` and `keyward check`.

use super::exit;
use crate::store::SqliteDirectory;
use std::path::Path;
use std::process::ExitCode;

fn refused(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::REFUSED)
}

/// Opens an existing directory file (never creates one).
fn open_existing(path: &Path) -> Result<SqliteDirectory, ExitCode> {
    if !path.is_file() {
        return Err(refused(format!("{} does not exist", path.display())));
    }
    SqliteDirectory::open(path).map_err(refused)
}

pub fn backup(db: &Path, out: &Path) -> ExitCode {
    if out.exists() {
        return refused(format!(
            "{} exists already; choose a new name for the backup",
            out.display()
        ));
    }
    let directory = match open_existing(db) {
        Ok(directory) => directory,
        Err(code) => return code,
    };
    match directory.backup_to(out) {
        Ok(()) => {
            println!("Backed up {} to {}.", db.display(), out.display());
            ExitCode::from(exit::OK)
        }
        Err(error) => {
            let _ = std::fs::remove_file(out);
            refused(crate::core::ErrorBody::from(&error).message)
        }
    }
}

/// Replaces `db` with a checked copy of `input`: the backup is verified first and copied with
/// SQLite's backup (never a half-written file in place), and an existing `db` is only
/// overwritten with `force`. Stop the app or server on `db` first: they keep the old file open.
pub fn restore(db: &Path, input: &Path, force: bool) -> ExitCode {
    if db.exists() && !force {
        return refused(format!(
            "{} exists; add --force to replace it with {} (stop the app or server using it first)",
            db.display(),
            input.display()
        ));
    }
    let source = match open_existing(input) {
        Ok(source) => source,
        Err(code) => return code,
    };
    match source.check_integrity() {
        Ok(problems) if problems.is_empty() => {}
        Ok(problems) => {
            return refused(format!(
                "{} is damaged, not restored: {}",
                input.display(),
                problems.join("; ")
            ))
        }
        Err(error) => return refused(crate::core::ErrorBody::from(&error).message),
    }
    // Written beside the target, then moved over it in one rename.
    let staging = db.with_extension("restoring");
    let _ = std::fs::remove_file(&staging);
    if let Err(error) = source.backup_to(&staging) {
        return refused(crate::core::ErrorBody::from(&error).message);
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    if let Err(error) = std::fs::rename(&staging, db) {
        let _ = std::fs::remove_file(&staging);
        return refused(format!("cannot replace {}: {error}", db.display()));
    }
    println!("Restored {} from {}.", db.display(), input.display());
    ExitCode::from(exit::OK)
}

pub fn check(db: &Path) -> ExitCode {
    let directory = match open_existing(db) {
        Ok(directory) => directory,
        Err(code) => return code,
    };
    match directory.check_integrity() {
        Ok(problems) if problems.is_empty() => {
            println!("{}: no problems found.", db.display());
            ExitCode::from(exit::OK)
        }
        Ok(problems) => {
            eprintln!("error: {} is damaged:", db.display());
            for problem in problems {
                eprintln!("  {problem}");
            }
            ExitCode::from(exit::REFUSED)
        }
        Err(error) => refused(format!(
            "{} cannot be checked: {}",
            db.display(),
            crate::core::ErrorBody::from(&error).message
        )),
    }
}

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
    if !db.is_file() {
        return refused(format!("{} does not exist", db.display()));
    }
    match crate::store::backup(db, out) {
        Ok(()) => {
            println!("Backed up {} to {}.", db.display(), out.display());
            ExitCode::from(exit::OK)
        }
        Err(error) => {
            super::report(&error);
            ExitCode::from(exit::REFUSED)
        }
    }
}

/// Restores the checked backup `input` into `db` ([`crate::store::restore`]); an existing
/// `db` is only overwritten with `force`. A server or app that has `db` open carries on with
/// the restored directory (it is written through SQLite, never by replacing the file).
pub fn restore(db: &Path, input: &Path, force: bool) -> ExitCode {
    if db.exists() && !force {
        return refused(format!(
            "{} exists; add --force to replace what it holds with {} (a server or app using it \
             carries on with the restored directory; its sessions become those of the backup)",
            db.display(),
            input.display()
        ));
    }
    if let Err(error) = crate::store::restore(db, input) {
        super::report(&error);
        return ExitCode::from(exit::REFUSED);
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

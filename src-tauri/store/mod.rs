//! The stores: where a directory is kept. Each implements the rule layer's
//! [`Store`](crate::rules::Store) with SQL and nothing else; [`sqlite`] keeps a directory in one
//! local file, [`postgres`] in a database that many servers share.

pub mod copy;
pub mod postgres;
pub mod sqlite;

pub use postgres::{Access, PostgresDirectory, PostgresStore};
pub use sqlite::{backup, restore, schema_version, OpenError, SqliteDirectory, SqliteStore};

// What both stores write the same way.

use crate::core::sealing::Keyring;

/// The environment variable naming the file with the key that seals two-step secrets.
pub const SECRET_KEY_FILE_ENV: &str = "KEYWARD_SECRET_KEY_FILE";

/// The file named by [`SECRET_KEY_FILE_ENV`], when set.
fn key_file_from_env() -> Option<std::path::PathBuf> {
    std::env::var_os(SECRET_KEY_FILE_ENV)
        .filter(|value| !value.is_empty())
        .map(std::path::PathBuf::from)
}

/// The key of a directory file: [`SECRET_KEY_FILE_ENV`], else `<file>.key` beside it; created
/// the first time a secret is sealed (one machine holds the file and its key).
fn keyring_of_file(path: &std::path::Path) -> Keyring {
    let beside = || {
        let mut name = path.as_os_str().to_owned();
        name.push(".key");
        std::path::PathBuf::from(name)
    };
    Keyring::file(key_file_from_env().unwrap_or_else(beside), true)
}

/// The key of a directory in PostgreSQL: [`SECRET_KEY_FILE_ENV`] only, never created, so that
/// every server uses the one key its operator gave them all.
fn keyring_of_database() -> Keyring {
    match key_file_from_env() {
        Some(path) => Keyring::file(path, false),
        None => Keyring::unset(format!(
            "every server on this database needs the same key file, named by \
             {SECRET_KEY_FILE_ENV}; make one with `openssl rand -hex 32`"
        )),
    }
}

use crate::core::model::{KeyStatus, Time};
use crate::rules::storage::{ChallengeKind, TokenKind};
use chrono::DateTime;

/// Times are stored as whole milliseconds since the Unix epoch (UTC), in every store.
fn to_ms(time: Time) -> i64 {
    time.timestamp_millis()
}

fn from_ms(ms: i64) -> Time {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn from_ms_opt(ms: Option<i64>) -> Option<Time> {
    ms.map(from_ms)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern matching anywhere.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A key's status as a store keeps it (never EXPIRED); the tables admit only these three.
fn stored_key_status(text: &str) -> KeyStatus {
    match text {
        "REVOKED" => KeyStatus::Revoked,
        "PENDING" => KeyStatus::Pending,
        _ => KeyStatus::Enabled,
    }
}

/// How a store writes a token's kind.
fn token_kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Invite => "INVITE",
        TokenKind::Reset => "RESET",
    }
}

fn token_kind(name: &str) -> TokenKind {
    if name == "RESET" {
        TokenKind::Reset
    } else {
        TokenKind::Invite
    }
}

/// How a store writes a sign-in challenge's kind.
fn challenge_kind_name(kind: ChallengeKind) -> &'static str {
    match kind {
        ChallengeKind::Code => "CODE",
        ChallengeKind::Enroll => "ENROLL",
    }
}

fn challenge_kind(name: &str) -> ChallengeKind {
    if name == "ENROLL" {
        ChallengeKind::Enroll
    } else {
        ChallengeKind::Code
    }
}

//! The stores: where a directory is kept. Each implements the rule layer's
//! [`Store`](crate::rules::Store) with SQL and nothing else; [`sqlite`] keeps a directory in one
//! local file, [`postgres`] in a database that many servers share.

pub mod copy;
pub mod postgres;
pub mod sqlite;

pub use postgres::{Access, PostgresDirectory, PostgresStore};
pub use sqlite::{backup, restore, schema_version, OpenError, SqliteDirectory, SqliteStore};

// What both stores write the same way.

use crate::core::model::{KeyStatus, Time};
use crate::rules::storage::TokenKind;
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

//! The stores: where a directory is kept. Each implements the rule layer's
//! [`Store`](crate::rules::Store) with SQL and nothing else; [`sqlite`] keeps a directory in one
//! local file.

pub mod sqlite;

pub use sqlite::{backup, restore, schema_version, OpenError, SqliteDirectory, SqliteStore};

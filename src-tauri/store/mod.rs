//! The stores: where a directory is kept. Each implements the rule layer's
//! [`Store`](crate::rules::Store) with SQL and nothing else; [`sqlite`] keeps a directory in one
//! local file, [`postgres`] in a database that many servers share.

pub mod copy;
pub mod postgres;
pub mod sqlite;

pub use postgres::{Access, PostgresDirectory, PostgresStore};
pub use sqlite::{backup, restore, schema_version, OpenError, SqliteDirectory, SqliteStore};

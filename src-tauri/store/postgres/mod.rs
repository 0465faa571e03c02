//! The PostgreSQL store: a directory in a database that many `keyward serve` instances share.
//!
//! The sync `postgres` client with an `r2d2` pool, TLS through rustls when the server offers it
//! (`sslmode` in the URL as libpq reads it). Write transactions are SERIALIZABLE and run again
//! (a bounded number of times) when PostgreSQL reports a serialization failure, so that every
//! rule that reads and then writes holds with several instances writing at once; reads are
//! REPEATABLE READ snapshots, and one-statement look-ups run without a transaction. Each table
//! group's SQL lives in its module; this one holds connections, migrations, retries, and the
//! mapping of PostgreSQL's errors.

mod audit;
mod auth;
mod groups;
mod keys;
mod mail;
mod provider;
mod roles;
mod second_factor;
mod settings;
mod tables;
mod users;

use crate::core::clock::{Clock, SystemClock};
use crate::core::{Error, Result};
use crate::rules::storage::{End, Store, Tx, Unique};
use crate::rules::StoredDirectory;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::Statement;
use postgres::{Client, IsolationLevel, Row, Transaction};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The numbered migrations, applied in order; the database records how many it has.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_mail.sql"),
    include_str!("migrations/0003_second_factor.sql"),
    include_str!("migrations/0004_identity_provider.sql"),
    include_str!("migrations/0005_provider_groups.sql"),
];
/// Connections at most, per instance.
pub const CONNECTIONS: u32 = 16;
/// How long a caller waits for a connection before the database counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a write transaction runs again after a serialization failure.
const RETRIES: u32 = 12;

/// The schema version this binary writes.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Whether `db` names a PostgreSQL database rather than a file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The URL with its password, if any, replaced by `***`: the form that may be logged.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let masked_authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    // `password=` in the query string is a password too.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{masked_authority}{tail}")
}

/// Why a database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{url} is not a database URL Keyward can use: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the database at {url}: {reason}")]
    Unavailable { url: String, reason: String },
    #[error(
        "the database at {url} was written by a newer Keyward (schema {found}; this version \
         knows up to {known}). Update Keyward to use it."
    )]
    TooNew {
        url: String,
        found: usize,
        known: usize,
    },
    #[error("the database at {url} refused Keyward's schema: {reason}")]
    Migration { url: String, reason: String },
}

/// How to reach the database beyond what its URL says.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The password, when the URL has none.
    pub password: Option<String>,
    /// PEM certificates to trust for the database's TLS instead of the system's roots (a
    /// private CA, as databases often have).
    pub ca_file: Option<std::path::PathBuf>,
    /// Connections the pool keeps open at most (default [`CONNECTIONS`]): each instance's
    /// share of what the database server allows, with every other instance counted.
    pub connections: Option<u32>,
}

/// A connection with the statements it has prepared, by their SQL: each is parsed and planned
/// once per connection, and then costs one round trip a call instead of two.
pub struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Opens connections for the pool.
struct Manager {
    config: postgres::Config,
    tls: MakeRustlsConnect,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.config.connect(self.tls.clone())?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

/// A Keyward directory in a PostgreSQL database.
pub struct PostgresStore {
    /// Always present until dropped (see `Drop`).
    pool: Option<r2d2::Pool<Manager>>,
    /// The URL without its password.
    url: String,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing a sync client blocks on its own runtime, which panics on a thread that
        // drives async tasks (a server drops its directory there when it stops): close the
        // connections on a thread of their own.
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// The directory kept in PostgreSQL: the rules over the PostgreSQL store.
pub type PostgresDirectory = StoredDirectory<PostgresStore>;

impl StoredDirectory<PostgresStore> {
    /// Connects to the database at `url` (migrating it to this binary's schema) on the system
    /// clock. The password comes from the URL, else from `access`.
    pub fn connect(url: &str, access: &Access) -> Result<Self, OpenError> {
        Self::connect_with_clock(url, access, Arc::new(SystemClock))
    }

    pub fn connect_with_clock(
        url: &str,
        access: &Access,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OpenError> {
        let store = PostgresStore::connect(url, access)?;
        let masked = store.url.clone();
        let directory = StoredDirectory::new(store, clock).map_err(|e| OpenError::Unavailable {
            url: masked,
            reason: e.to_string(),
        })?;
        Ok(directory.with_keyring(super::keyring_of_database()))
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &str, access: &Access) -> Result<Self, OpenError> {
        let masked_url = masked(url);
        let mut config: postgres::Config =
            url.parse()
                .map_err(|e: postgres::Error| OpenError::BadUrl {
                    url: masked_url.clone(),
                    reason: e.to_string(),
                })?;
        if config.get_password().is_none() {
            if let Some(password) = &access.password {
                config.password(password);
            }
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("keyward");
        }
        let tls =
            MakeRustlsConnect::new(crate::trust::tls_config(access.ca_file.as_deref()).map_err(
                |reason| OpenError::BadUrl {
                    url: masked_url.clone(),
                    reason,
                },
            )?);
        let manager = Manager { config, tls };
        // One connection first, for an answer at once and in the database's words (the pool
        // would retry until its timeout and then say only that it timed out).
        r2d2::ManageConnection::connect(&manager).map_err(|e| OpenError::Unavailable {
            url: masked_url.clone(),
            reason: database_message(&e),
        })?;
        let pool = r2d2::Pool::builder()
            .max_size(access.connections.unwrap_or(CONNECTIONS).max(1))
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            // A connection is not tried before each use (a round trip every time): one that
            // broke fails its statement (503), is dropped, and the next use gets a new one.
            .test_on_check_out(false)
            .error_handler(Box::new(QuietErrors))
            .build(manager)
            .map_err(|e| OpenError::Unavailable {
                url: masked_url.clone(),
                reason: e.to_string(),
            })?;
        let store = PostgresStore {
            pool: Some(pool),
            url: masked_url,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies the migrations this database lacks, in one transaction that holds an advisory
    /// lock, so that instances starting together migrate once.
    fn migrate(&self) -> Result<(), OpenError> {
        let failed = |e: postgres::Error| OpenError::Migration {
            url: self.url.clone(),
            reason: database_message(&e),
        };
        let mut conn = self.pool().get().map_err(|e| OpenError::Unavailable {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let mut tx = conn.client.transaction().map_err(failed)?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7243501);
             CREATE TABLE IF NOT EXISTS keyward_schema (version integer NOT NULL);",
        )
        .map_err(failed)?;
        let found: Option<i32> = tx
            .query_opt("SELECT version FROM keyward_schema", &[])
            .map_err(failed)?
            .map(|row| row.get(0));
        let found = found.unwrap_or(0) as usize;
        if found > schema_version() {
            return Err(OpenError::TooNew {
                url: self.url.clone(),
                found,
                known: schema_version(),
            });
        }
        for migration in &MIGRATIONS[found..] {
            tx.batch_execute(migration).map_err(failed)?;
        }
        tx.execute("DELETE FROM keyward_schema", &[])
            .map_err(failed)?;
        tx.execute(
            "INSERT INTO keyward_schema (version) VALUES ($1)",
            &[&(schema_version() as i32)],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)
    }

    fn pool(&self) -> &r2d2::Pool<Manager> {
        // Taken only by Drop.
        self.pool
            .as_ref()
            .expect("the pool lives as long as the store")
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.pool().get().map_err(|e| {
            tracing::warn!(url = %self.url, error = %e, "no database connection");
            unavailable()
        })
    }

    /// Runs `change` in one SERIALIZABLE transaction, again after a serialization failure.
    fn transact<T>(
        &self,
        isolation: IsolationLevel,
        read_only: bool,
        end: End,
        mut change: impl FnMut(&dyn Tx) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.connection()?;
        let Connection { client, statements } = &mut *conn;
        let mut attempt = 0;
        loop {
            let tx = client
                .build_transaction()
                .isolation_level(isolation)
                .read_only(read_only)
                .start()
                .map_err(map_error)?;
            let pg = PgTx {
                target: RefCell::new(Target::Tx(tx)),
                statements: RefCell::new(&mut *statements),
                retry: Cell::new(false),
            };
            let result = change(&pg);
            let retry = pg.retry.get();
            let Target::Tx(tx) = pg.target.into_inner() else {
                unreachable!("a transaction's target stays a transaction")
            };
            // A refusal ends the transaction without a commit, so PostgreSQL does not vouch
            // for the reads it rested on; a refusal changes nothing, so at worst a caller is
            // refused in a race that would have let them through (and asks again).
            let finished = match result {
                Ok(value) => match end {
                    End::Commit => tx.commit().map(|()| value),
                    End::RollBack => tx.rollback().map(|()| value),
                },
                Err(error) if retry && attempt < RETRIES => {
                    drop(tx);
                    attempt += 1;
                    backoff(attempt);
                    tracing::debug!(attempt, %error, "serialization failure; running again");
                    continue;
                }
                Err(error) => return Err(error),
            };
            match finished {
                Ok(value) => return Ok(value),
                Err(error) if is_retryable(&error) && attempt < RETRIES => {
                    attempt += 1;
                    backoff(attempt);
                }
                Err(error) => return Err(map_error(error)),
            }
        }
    }
}

/// A short, growing, jittered pause before running a transaction again.
fn backoff(attempt: u32) {
    let base = 1u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % base.max(1);
    std::thread::sleep(Duration::from_millis(base + jitter));
}

impl Store for PostgresStore {
    fn read<T>(&self, query: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        self.transact(IsolationLevel::RepeatableRead, true, End::RollBack, query)
    }

    fn look_up<T>(&self, mut query: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.connection()?;
        let Connection { client, statements } = &mut *conn;
        let pg = PgTx {
            target: RefCell::new(Target::Plain(client)),
            statements: RefCell::new(statements),
            retry: Cell::new(false),
        };
        query(&pg)
    }

    fn write<T>(&self, end: End, change: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        self.transact(IsolationLevel::Serializable, false, end, change)
    }
}

/// What the statements of one [`PgTx`] run on.
enum Target<'a> {
    Tx(Transaction<'a>),
    /// A single statement needs no transaction.
    Plain(&'a mut Client),
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

/// One transaction (or one look-up) on one connection; the table modules implement the row
/// traits for it.
struct PgTx<'a> {
    target: RefCell<Target<'a>>,
    /// The connection's prepared statements.
    statements: RefCell<&'a mut HashMap<String, Statement>>,
    /// Set when a statement failed in a way that running the transaction again may cure.
    retry: Cell<bool>,
}

impl PgTx<'_> {
    fn failed(&self, error: postgres::Error) -> Error {
        if is_retryable(&error) {
            self.retry.set(true);
        }
        map_error(error)
    }

    /// The connection's statement for `sql`, prepared on first use.
    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let prepared = match &mut *self.target.borrow_mut() {
            Target::Tx(tx) => tx.prepare(sql),
            Target::Plain(client) => client.prepare(sql),
        }
        .map_err(|e| self.failed(e))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        match &mut *self.target.borrow_mut() {
            Target::Tx(tx) => tx.query(&statement, params),
            Target::Plain(client) => client.query(&statement, params),
        }
        .map_err(|e| self.failed(e))
    }

    fn query_opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        match &mut *self.target.borrow_mut() {
            Target::Tx(tx) => tx.query_opt(&statement, params),
            Target::Plain(client) => client.query_opt(&statement, params),
        }
        .map_err(|e| self.failed(e))
    }

    fn query_one(&self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let statement = self.statement(sql)?;
        match &mut *self.target.borrow_mut() {
            Target::Tx(tx) => tx.query_one(&statement, params),
            Target::Plain(client) => client.query_one(&statement, params),
        }
        .map_err(|e| self.failed(e))
    }

    fn execute(&self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        match &mut *self.target.borrow_mut() {
            Target::Tx(tx) => tx.execute(&statement, params),
            Target::Plain(client) => client.execute(&statement, params),
        }
        .map_err(|e| self.failed(e))
    }

    /// Replaces the rows of a link table (memberships, role grants) that have `key` in
    /// `key_column` with one row for each of `values` in `value_column`.
    fn replace_links(
        &self,
        table: &str,
        key_column: &str,
        key: &str,
        value_column: &str,
        values: &[String],
    ) -> Result<()> {
        self.execute(
            &format!("DELETE FROM {table} WHERE {key_column} = $1"),
            &[&key],
        )?;
        self.execute(
            &format!(
                "INSERT INTO {table} ({key_column}, {value_column})
                 SELECT $1, unnest($2::text[])"
            ),
            &[&key, &values],
        )?;
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<()> {
        let mut target = self.target.borrow_mut();
        match &mut *target {
            Target::Tx(tx) => tx.batch_execute(sql),
            Target::Plain(client) => client.batch_execute(sql),
        }
        .map_err(|e| self.failed(e))
    }
}

impl Tx for PgTx<'_> {
    fn savepoint(&self) -> Result<()> {
        self.batch("SAVEPOINT step")
    }

    fn release_savepoint(&self) -> Result<()> {
        self.batch("RELEASE SAVEPOINT step")
    }

    fn roll_back_savepoint(&self) -> Result<()> {
        self.batch("ROLLBACK TO SAVEPOINT step; RELEASE SAVEPOINT step")
    }
}

/// Serialization failures and deadlocks: running the transaction again may succeed.
fn is_retryable(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// The value a unique constraint of this schema keeps unique, by the constraint's name.
fn unique_violated(constraint: &str) -> Option<Unique> {
    Some(match constraint {
        "users_user_name_unique" => Unique::UserName,
        "users_email_unique" => Unique::Email,
        "roles_name_unique" => Unique::RoleName,
        "groups_name_unique" => Unique::GroupName,
        "api_keys_name_unique" => Unique::KeyName,
        _ => return None,
    })
}

fn unavailable() -> Error {
    Error::Unavailable("The directory's database cannot be reached; try again shortly.".to_owned())
}

/// PostgreSQL's own message, without the values of a statement (its detail lines can quote
/// them, and a value can be a password hash).
fn database_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            // The causes too ("error performing TLS handshake: invalid peer certificate: …").
            let mut message = error.to_string();
            let mut cause = std::error::Error::source(error);
            while let Some(inner) = cause {
                message.push_str(": ");
                message.push_str(&inner.to_string());
                cause = inner.source();
            }
            message
        }
    }
}

fn map_error(error: postgres::Error) -> Error {
    if is_retryable(&error) {
        // Expected when instances write at once: the transaction runs again. Only when it
        // kept failing does the caller hear of it, as "try again".
        tracing::debug!(error = %database_message(&error), "transaction to run again");
        return Error::Unavailable(
            "The directory is busy with other changes; try again.".to_owned(),
        );
    }
    if let Some(db) = error.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            if let Some(unique) = db.constraint().and_then(unique_violated) {
                return unique.error();
            }
        }
    }
    // The server shutting down or restarting (class 57P) or a lost connection (class 08)
    // reaches a client as an error of its own.
    let lost = error
        .code()
        .is_some_and(|code| code.code().starts_with("57P") || code.code().starts_with("08"));
    if lost || error.is_closed() || error.as_db_error().is_none() {
        // The connection is gone (the server stopped, the network failed): nothing was
        // committed, and the pool replaces the connection.
        tracing::warn!(error = %error, "the database connection failed");
        return unavailable();
    }
    // Library text stays in the log (the message and code, never a statement's values); the
    // caller gets a generic message.
    tracing::error!(error = %database_message(&error), "directory database error");
    Error::Internal("the directory database reported an error".to_owned())
}

/// r2d2 reports failed connection attempts through `log`; they reach the caller as
/// `Unavailable` and are logged there once, with the masked URL.
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<postgres::Error> for QuietErrors {
    fn handle_error(&self, error: postgres::Error) {
        tracing::debug!(error = %database_message(&error), "a database connection failed");
    }
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn a_logged_url_never_shows_its_password() {
        assert_eq!(
            masked("postgres://kw:s3cret@db.example.com:5433/keyward?sslmode=require"),
            "postgres://kw:***@db.example.com:5433/keyward?sslmode=require"
        );
        assert_eq!(
            masked("postgresql://kw@db/keyward?password=s3cret&sslmode=disable"),
            "postgresql://kw@db/keyward?password=***&sslmode=disable"
        );
        assert_eq!(masked("postgres://db/keyward"), "postgres://db/keyward");
    }
}

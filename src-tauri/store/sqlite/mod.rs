//! The SQLite store: a directory in one local file.
//!
//! WAL mode, foreign keys, a busy timeout; one write connection (every write transaction is
//! an immediate one, so writers queue instead of failing) and a small pool of read
//! connections, so reads never wait for a write. Each table's SQL lives in the module that
//! uses it; this module holds the connections, the pragmas, the migrations, backups, and the
//! mapping of SQLite's errors.

mod audit;
mod auth;
mod groups;
mod hold;
mod keys;
mod mail;
mod provider;
mod roles;
mod second_factor;
mod settings;
mod tables;
mod users;
mod verified;

use crate::core::clock::{Clock, SystemClock};
use crate::core::{Error, Result};
use crate::rules::storage::{End, Store, Tx, Unique};
use crate::rules::StoredDirectory;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use std::cell::RefCell;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("migrations/0001_initial.sql")),
    M::up(include_str!("migrations/0002_mail.sql")),
    M::up(include_str!("migrations/0003_second_factor.sql")),
    M::up(include_str!("migrations/0004_identity_provider.sql")),
    M::up(include_str!("migrations/0005_provider_groups.sql")),
];
/// Read connections at most: more callers than this wait for one to be free rather than
/// open their own (opening a connection costs far more than most reads).
pub const READERS: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Address space (not memory) for memory-mapped reads of the directory file.
const MMAP_BYTES: i64 = 1 << 30;

/// The schema version this binary writes.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Why a directory file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "{path} was written by a newer Keyward (schema {found}; this version knows up to {known}). \
         Update Keyward to open it."
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("{path} is not a Keyward directory file")]
    NotADirectory { path: PathBuf },
    #[error("cannot open {path}: {reason}")]
    Unavailable { path: PathBuf, reason: String },
}

/// Copies the directory file at `source` to the new file `out` with SQLite's online backup,
/// safe while an app or a server writes to `source`. Reads through a read-only connection: no
/// migration or set-up touches the live file. An existing `out` is refused; a failed copy is
/// removed.
pub fn backup(source: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        return Err(Error::invalid(
            "path",
            format!(
                "{} exists already; choose a new name for the backup.",
                out.display()
            ),
        ));
    }
    let conn = connect(source, true)
        .map_err(|e| Error::invalid("path", classify(source, e).to_string()))?;
    copy_database(&conn, out).inspect_err(|_| {
        let _ = std::fs::remove_file(out);
    })
}

fn copy_database(source: &Connection, out: &Path) -> Result<()> {
    let mut target = Connection::open(out).map_err(|e| {
        tracing::error!(error = %e, path = %out.display(), "cannot create backup file");
        Error::Internal(format!("cannot create {}", out.display()))
    })?;
    {
        let backup = rusqlite::backup::Backup::new(source, &mut target)?;
        backup.run_to_completion(256, Duration::from_millis(5), None)?;
    }
    // The copy carries the source's WAL mode in its header; a backup is one self-contained
    // file instead, which opening it read-only leaves without `-wal` or `-shm` beside it.
    target.pragma_update(None, "journal_mode", "DELETE")?;
    Ok(())
}

/// Replaces the directory in the file `target` with the one in `backup`, without ever
/// replacing the file itself.
///
/// A copy of the backup is made beside the target (the backup itself is never changed),
/// brought up to this version's schema and checked. Then every page of it is written into the
/// target *through SQLite* (its backup API, in one write transaction on the target; a target
/// that does not exist yet is created first): a server, the app or a command that has the file
/// open waits for that transaction like for any other write, then reads the restored
/// directory, and what it writes afterwards lands in the restored file. Replacing the file
/// instead would be refused on Windows (an open file cannot be renamed over) and, on Unix,
/// would leave such a program writing into the old, unlinked file, where every change it
/// acknowledged is lost.
pub fn restore(target: &Path, backup: &Path) -> Result<()> {
    if !backup.is_file() {
        return Err(Error::invalid(
            "path",
            format!("{} does not exist.", backup.display()),
        ));
    }
    let staging = target.with_extension("restoring");
    if same_file(&staging, backup) || same_file(target, backup) {
        return Err(Error::invalid(
            "path",
            format!(
                "{} is the directory file or its restore copy; restore from a backup elsewhere.",
                backup.display()
            ),
        ));
    }
    if let Some(folder) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| {
            tracing::error!(error = %e, path = %folder.display(), "cannot create the folder");
            Error::invalid(
                "db",
                format!("cannot create the folder {}: {e}", folder.display()),
            )
        })?;
    }
    if !target.exists() {
        // A `-wal` left by a file deleted earlier would be replayed onto the new one.
        remove_with_sides(target);
    }
    remove_with_sides(&staging);
    let restored = stage(backup, &staging).and_then(|source| overwrite(&source, target));
    remove_with_sides(&staging);
    restored
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A checked copy of `backup` at `staging`, at this version's schema.
fn stage(backup: &Path, staging: &Path) -> Result<SqliteStore> {
    let not_a_directory = || {
        Error::invalid(
            "path",
            OpenError::NotADirectory {
                path: backup.to_owned(),
            }
            .to_string(),
        )
    };
    let conn = connect(backup, true).map_err(|_| not_a_directory())?;
    // Reading the schema is where SQLite finds out that a file is no database.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    })
    .map_err(|_| not_a_directory())?;
    copy_database(&conn, staging)?;
    drop(conn);
    let source = SqliteStore::open(staging).map_err(|e| match e {
        // Name the file the administrator chose, not the staging copy.
        OpenError::TooNew { found, known, .. } => Error::invalid(
            "path",
            OpenError::TooNew {
                path: backup.to_owned(),
                found,
                known,
            }
            .to_string(),
        ),
        _ => not_a_directory(),
    })?;
    let problems = source.check_integrity()?;
    if !problems.is_empty() {
        return Err(Error::invalid(
            "path",
            format!(
                "{} is damaged, not restored: {}",
                backup.display(),
                problems.join("; ")
            ),
        ));
    }
    Ok(source)
}

/// Writes every page of `source` into the file `target` (created if missing) in one write
/// transaction.
fn overwrite(source: &SqliteStore, target: &Path) -> Result<()> {
    let mut conn = connect(target, false)
        .map_err(|e| Error::invalid("db", classify(target, e).to_string()))?;
    refuse_newer(&conn, target).map_err(|e| Error::invalid("db", e.to_string()))?;
    let reader = source.reader()?;
    // SQLite cannot change the page size of a file in WAL mode, as the target is.
    let page_size =
        |conn: &Connection| conn.pragma_query_value(None, "page_size", |row| row.get::<_, i64>(0));
    let (theirs, ours) = (page_size(&reader)?, page_size(&conn)?);
    if theirs != ours {
        return Err(Error::invalid(
            "path",
            format!(
                "the backup's pages are of {theirs} bytes and {}'s of {ours}: restore it into a \
                 new file instead",
                target.display()
            ),
        ));
    }
    let copy = rusqlite::backup::Backup::new(&reader, &mut conn)?;
    // All pages in one step: one write transaction, so nobody ever reads half a restore. The
    // connection's busy timeout waits for a transaction in progress; a long one is waited
    // out a few times before giving up.
    for _ in 0..6 {
        match copy.step(-1)? {
            rusqlite::backup::StepResult::Done => return Ok(()),
            // Busy or locked: another connection's transaction is still going.
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    Err(Error::StateConflict(format!(
        "{} stayed busy; nothing was restored. Try again.",
        target.display()
    )))
}

/// Removes `path` and the `-wal` and `-shm` files SQLite keeps beside it.
fn remove_with_sides(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
}

/// The directory kept in a local SQLite file: the rules over the SQLite store.
pub type SqliteDirectory = StoredDirectory<SqliteStore>;

impl StoredDirectory<SqliteStore> {
    /// Opens (or creates) the directory file at `path` on the system clock.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Opens (or creates) the directory file, taking time from `clock`.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, OpenError> {
        let store = SqliteStore::open(path)?;
        let directory = StoredDirectory::new(store, clock).map_err(|e| OpenError::Unavailable {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(directory.with_keyring(super::keyring_of_file(path)))
    }

    pub fn path(&self) -> &Path {
        self.store().path()
    }

    /// Copies the live directory to `out` with SQLite's online backup.
    pub fn backup_to(&self, out: &Path) -> Result<()> {
        self.store().backup_to(out)
    }

    /// Checks the file's integrity; the problems SQLite reports, empty when it is sound.
    pub fn check_integrity(&self) -> Result<Vec<String>> {
        self.store().check_integrity()
    }
}

/// One local SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    // Dropped in this order: the read-only connections first, so that the last connection
    // to close is the writer, which checkpoints the WAL and removes the `-wal` and `-shm`
    // files (a read-only connection closing last leaves them behind).
    hold: hold::Hold,
    readers: ReaderPool,
    writer: Mutex<Connection>,
}

/// The read connections: the idle ones, and how many exist in all.
struct ReaderPool {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Pooled>,
    open: usize,
    /// Callers waiting in [`SqliteStore::reader`]: a freed connection wakes one only when
    /// there is one (a wake-up is a system call even with nobody to wake, and every
    /// verification frees a connection).
    waiting: usize,
}

/// A read connection and the verification rows it has read while its file stayed unchanged.
struct Pooled {
    conn: Connection,
    verified: RefCell<verified::Verified>,
}

impl SqliteStore {
    /// Opens (or creates) the file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let unavailable = |reason: String| OpenError::Unavailable {
            path: path.to_owned(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| unavailable(e.to_string()))?;
        }
        let mut writer = connect(path, false).map_err(|e| classify(path, e))?;
        refuse_newer(&writer, path)?;
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut writer)
            .map_err(|e| unavailable(format!("schema migration failed: {e}")))?;
        Ok(SqliteStore {
            path: path.to_owned(),
            hold: hold::Hold::new(path),
            writer: Mutex::new(writer),
            readers: ReaderPool {
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                    waiting: 0,
                }),
                freed: Condvar::new(),
            },
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the live directory to `out` with SQLite's online backup, page by page, while
    /// other connections keep reading and writing.
    pub fn backup_to(&self, out: &Path) -> Result<()> {
        copy_database(&*self.reader()?, out)
    }

    /// Checks the file's integrity (`PRAGMA integrity_check` and foreign keys); the problems
    /// SQLite reports, empty when the file is sound.
    pub fn check_integrity(&self) -> Result<Vec<String>> {
        let conn = self.reader()?;
        let mut problems: Vec<String> = conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        problems.retain(|p| p != "ok");
        let orphans: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })?;
        if orphans > 0 {
            problems.push(format!("{orphans} rows refer to rows that do not exist"));
        }
        Ok(problems)
    }

    /// The `synchronous` setting of the connection that writes (2 = FULL: every commit
    /// reaches the disk before it is acknowledged).
    pub fn writer_synchronous(&self) -> Result<i64> {
        Ok(self
            .writer()
            .pragma_query_value(None, "synchronous", |row| row.get(0))?)
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction behind (it rolls back
        // on drop), so a poisoned lock is safe to take over.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A read connection: an idle one, a new one while fewer than [`READERS`] exist, or else
    /// the next one freed. Nothing holds a reader while asking for another.
    fn reader(&self) -> Result<Reader<'_>> {
        let pool = &self.readers;
        let mut state = pool.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(pooled) = state.idle.pop() {
                return Ok(Reader {
                    conn: Some(pooled),
                    pool,
                });
            }
            if state.open < READERS {
                state.open += 1;
                drop(state);
                return match connect(&self.path, true) {
                    Ok(conn) => Ok(Reader {
                        conn: Some(Pooled {
                            conn,
                            verified: RefCell::default(),
                        }),
                        pool,
                    }),
                    Err(error) => {
                        pool.forget_one();
                        Err(error.into())
                    }
                };
            }
            state.waiting += 1;
            state = pool.freed.wait(state).unwrap_or_else(|p| p.into_inner());
            state.waiting -= 1;
        }
    }
}

impl SqliteStore {
    /// An idle read connection, without waiting for one or opening one.
    fn idle_reader(&self) -> Option<Reader<'_>> {
        let pool = &self.readers;
        let pooled = pool
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .idle
            .pop()?;
        Some(Reader {
            conn: Some(pooled),
            pool,
        })
    }
}

impl Store for SqliteStore {
    fn read<T>(&self, mut query: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        let conn = self.reader()?;
        let tx = conn.unchecked_transaction()?;
        // Dropping the read transaction ends it: nothing was written.
        query(&SqliteTx(&tx, None))
    }

    fn look_up<T>(&self, query: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        self.look_up_on(self.reader()?, query)
    }

    fn look_up_now<T>(&self, query: impl FnMut(&dyn Tx) -> Result<T>) -> Option<Result<T>> {
        Some(self.look_up_on(self.idle_reader()?, query))
    }

    fn write<T>(&self, end: End, mut change: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = change(&SqliteTx(&tx, None))?;
        match end {
            End::Commit => tx.commit()?,
            End::RollBack => tx.rollback()?,
        }
        Ok(value)
    }
}

/// One transaction on one connection; the table modules implement the row traits for it.
/// A look-up outside a transaction on a read connection also brings that connection's
/// verification rows ([`verified`]).
struct SqliteTx<'a>(&'a Connection, Option<Kept<'a>>);

/// A read connection's verification rows, and the store's kept read transaction to tell of a
/// change found.
struct Kept<'a> {
    verified: &'a RefCell<verified::Verified>,
    hold: &'a hold::Hold,
}

impl SqliteStore {
    /// A look-up on `reader`, with its verification rows; then, with the reader returned,
    /// the kept read transaction renewed if the look-up found the file changed.
    fn look_up_on<T>(
        &self,
        reader: Reader<'_>,
        mut query: impl FnMut(&dyn Tx) -> Result<T>,
    ) -> Result<T> {
        let answer = {
            let pooled = reader.pooled();
            query(&SqliteTx(
                &pooled.conn,
                Some(Kept {
                    verified: &pooled.verified,
                    hold: &self.hold,
                }),
            ))
        };
        drop(reader);
        self.hold.renew_if_due();
        answer
    }
}

impl SqliteTx<'_> {
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
        self.0.execute(
            &format!("DELETE FROM {table} WHERE {key_column} = ?1"),
            [key],
        )?;
        let mut insert = self.0.prepare_cached(&format!(
            "INSERT INTO {table} ({key_column}, {value_column}) VALUES (?1, ?2)"
        ))?;
        for value in values {
            insert.execute([key, value])?;
        }
        Ok(())
    }
}

impl Tx for SqliteTx<'_> {
    fn savepoint(&self) -> Result<()> {
        Ok(self.0.execute_batch("SAVEPOINT step")?)
    }

    fn release_savepoint(&self) -> Result<()> {
        Ok(self.0.execute_batch("RELEASE step")?)
    }

    fn roll_back_savepoint(&self) -> Result<()> {
        Ok(self.0.execute_batch("ROLLBACK TO step; RELEASE step")?)
    }
}

impl ReaderPool {
    /// A connection that could not be opened (or was lost) no longer counts.
    fn forget_one(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.open -= 1;
        self.wake_one(&state);
    }

    /// Wakes one caller waiting for a connection, if any waits.
    fn wake_one(&self, state: &PoolState) {
        if state.waiting > 0 {
            self.freed.notify_one();
        }
    }
}

/// A pooled read connection, returned to the pool when dropped.
struct Reader<'a> {
    conn: Option<Pooled>,
    pool: &'a ReaderPool,
}

impl Reader<'_> {
    fn pooled(&self) -> &Pooled {
        // Present from construction until drop.
        self.conn
            .as_ref()
            .expect("reader connection present until drop")
    }
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.pooled().conn
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
            state.idle.push(conn);
            self.pool.wake_one(&state);
        }
    }
}

fn connect(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk before it is acknowledged, also in WAL mode, so that a
        // power cut cannot bring back a revoked key or a deactivated user (NORMAL may lose the
        // last commits then). It costs an fsync of the WAL per commit: BENCHMARKS.md.
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Memory-mapped reads share the OS page cache across the pooled connections and spare a
    // system call per page: key verification on a large file is mostly B-tree page reads.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Refuses the file at `path` (open on `conn`) if a newer Keyward wrote its schema.
fn refuse_newer(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let found = conn
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(|e| classify(path, e))? as usize;
    if found > schema_version() {
        return Err(OpenError::TooNew {
            path: path.to_owned(),
            found,
            known: schema_version(),
        });
    }
    Ok(())
}

fn classify(path: &Path, error: rusqlite::Error) -> OpenError {
    match &error {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::NotADatabase => {
            OpenError::NotADirectory {
                path: path.to_owned(),
            }
        }
        _ => OpenError::Unavailable {
            path: path.to_owned(),
            reason: error.to_string(),
        },
    }
}

/// The value a unique index of this schema keeps unique, from SQLite's message
/// ("UNIQUE constraint failed: users.user_name_key").
fn unique_violated(message: &str) -> Option<Unique> {
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    Some(match columns {
        "users.user_name_key" => Unique::UserName,
        "users.email_key" => Unique::Email,
        "roles.name_key" => Unique::RoleName,
        "directory_groups.name_key" => Unique::GroupName,
        "api_keys.owner_id, api_keys.name_key" => Unique::KeyName,
        _ => return None,
    })
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(failure, Some(message)) = &error {
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE {
                if let Some(unique) = unique_violated(message) {
                    return unique.error();
                }
            }
        }
        // Library text stays in the log; the caller gets a generic message. SQLite's messages
        // name tables and constraints, never bound values, so no secret reaches the log.
        tracing::error!(error = %error, "directory database error");
        Error::Internal("the directory database reported an error".to_owned())
    }
}

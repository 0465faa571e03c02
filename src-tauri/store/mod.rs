//! The local directory: [`Directory`] over one SQLite file.
//!
//! WAL mode, foreign keys, a busy timeout; one write connection (every change is one
//! immediate transaction) and a small pool of read connections, so reads never wait for a
//! password hash or a write. Each table's SQL lives in the module that uses it.

mod audit;
mod auth;
mod groups;
mod keys;
mod roles;
mod settings;
mod users;

use crate::core::access::Actor;
use crate::core::clock::{Clock, SystemClock};
use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::permission::Permission;
use crate::core::secret::Secret;
use crate::core::{Error, Result};
use chrono::DateTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

const MIGRATIONS: &[M<'static>] = &[M::up(include_str!("migrations/0001_initial.sql"))];
/// Read connections at most: more callers than this wait for one to be free rather than
/// open their own (opening a connection costs far more than most reads).
const READERS: usize = 8;
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
    let backup = rusqlite::backup::Backup::new(source, &mut target)?;
    backup.run_to_completion(256, Duration::from_millis(5), None)?;
    Ok(())
}

/// Replaces the directory file `target` with a copy of `backup`: the backup is opened and its
/// integrity checked first, copied with SQLite's backup beside the target, then moved over it
/// in one rename (never a half-written file in place). Whoever has `target` open keeps the old
/// file until they open it again.
pub fn restore(target: &Path, backup: &Path) -> Result<()> {
    if !backup.is_file() {
        return Err(Error::invalid(
            "path",
            format!("{} does not exist.", backup.display()),
        ));
    }
    let source =
        SqliteDirectory::open(backup).map_err(|e| Error::invalid("path", e.to_string()))?;
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
    let staging = target.with_extension("restoring");
    let _ = std::fs::remove_file(&staging);
    source.backup_to(&staging)?;
    drop(source);
    for suffix in ["-wal", "-shm"] {
        let mut side = target.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    std::fs::rename(&staging, target).map_err(|e| {
        let _ = std::fs::remove_file(&staging);
        tracing::error!(error = %e, path = %target.display(), "cannot replace the directory file");
        Error::StateConflict(format!("Cannot replace {}: {e}", target.display()))
    })
}

/// A directory kept in a local SQLite file.
pub struct SqliteDirectory {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: ReaderPool,
    clock: Arc<dyn Clock>,
}

/// The read connections: the idle ones, and how many exist in all.
struct ReaderPool {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
}

impl SqliteDirectory {
    /// Opens (or creates) the directory file at `path` on the system clock.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Opens (or creates) the directory file, taking time from `clock`.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, OpenError> {
        let unavailable = |reason: String| OpenError::Unavailable {
            path: path.to_owned(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| unavailable(e.to_string()))?;
        }
        let mut writer = connect(path, false).map_err(|e| classify(path, e))?;
        let found = writer
            .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
            .map_err(|e| classify(path, e))? as usize;
        if found > schema_version() {
            return Err(OpenError::TooNew {
                path: path.to_owned(),
                found,
                known: schema_version(),
            });
        }
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut writer)
            .map_err(|e| unavailable(format!("schema migration failed: {e}")))?;
        roles::ensure_builtin(&writer, clock.now()).map_err(|e| classify(path, e))?;
        Ok(SqliteDirectory {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: ReaderPool {
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            },
            clock,
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

    /// The user name of the file's first SuperAdmin still active (by creation time), whom the
    /// command line acts as on a local file unless told otherwise.
    pub fn first_super_admin(&self) -> Result<Option<String>> {
        let conn = self.reader()?;
        Ok(conn
            .query_row(
                "SELECT u.user_name FROM users u
                 JOIN user_roles ur ON ur.user_id = u.id AND ur.role_id = ?1
                 WHERE u.status = 'ACTIVE' ORDER BY u.created_time, u.id LIMIT 1",
                [crate::core::permission::BuiltinRole::SuperAdmin.id()],
                |row| row.get(0),
            )
            .optional()?)
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
            if let Some(conn) = state.idle.pop() {
                return Ok(Reader {
                    conn: Some(conn),
                    pool,
                });
            }
            if state.open < READERS {
                state.open += 1;
                drop(state);
                return match connect(&self.path, true) {
                    Ok(conn) => Ok(Reader {
                        conn: Some(conn),
                        pool,
                    }),
                    Err(error) => {
                        pool.forget_one();
                        Err(error.into())
                    }
                };
            }
            state = pool.freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn now(&self) -> Time {
        self.clock.now()
    }

    /// Runs a change in one immediate transaction, on behalf of the credential's user. A
    /// refusal for lack of permission rolls the change back and is itself audited.
    fn mutate<T>(
        &self,
        credential: &Credential,
        action: &'static str,
        target_id: Option<&str>,
        change: impl FnOnce(&Transaction<'_>, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        self.change(credential, action, target_id, true, change)
    }

    /// Runs a change like [`Self::mutate`] and then rolls it back whatever happened: a
    /// rehearsal (dry run) that checks everything a real change would.
    fn rehearse<T>(
        &self,
        credential: &Credential,
        action: &'static str,
        change: impl FnOnce(&Transaction<'_>, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        self.change(credential, action, None, false, change)
    }

    fn change<T>(
        &self,
        credential: &Credential,
        action: &'static str,
        target_id: Option<&str>,
        commit: bool,
        change: impl FnOnce(&Transaction<'_>, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let actor = auth::resolve(&tx, credential, now, true)?.actor;
        match change(&tx, &actor, now) {
            Ok(value) => {
                if commit {
                    tx.commit()?;
                }
                Ok(value)
            }
            Err(error) => {
                drop(tx);
                if let Error::Forbidden(reason) = &error {
                    audit::append(
                        &conn,
                        &audit::Record::by(&actor, now, action)
                            .target_id(target_id)
                            .outcome(Outcome::Denied)
                            .detail(reason.clone()),
                    )?;
                }
                Err(error)
            }
        }
    }

    /// Runs a change that acts for nobody yet (setup, sign-in, accepting a token).
    fn write<T>(&self, change: impl FnOnce(&Transaction<'_>, Time) -> Result<T>) -> Result<T> {
        let now = self.now();
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = change(&tx, now)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs a read on one consistent snapshot, on behalf of the credential's user.
    fn read<T>(
        &self,
        credential: &Credential,
        query: impl FnOnce(&Connection, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        let conn = self.reader()?;
        let tx = conn.unchecked_transaction()?;
        let resolved = auth::resolve(&tx, credential, now, false)?;
        let value = query(&tx, &resolved.actor, now);
        drop(tx);
        drop(conn);
        self.record_key_use(resolved.touch_key)?;
        value
    }

    /// Writes a key's lastUsedTime when a read found it due.
    fn record_key_use(&self, key_id: Option<String>) -> Result<()> {
        match key_id {
            Some(key_id) => self.write(|tx, now| keys::touch(tx, &key_id, now)),
            None => Ok(()),
        }
    }
}

impl ReaderPool {
    /// A connection that could not be opened (or was lost) no longer counts.
    fn forget_one(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.open -= 1;
        self.freed.notify_one();
    }
}

/// A pooled read connection, returned to the pool when dropped.
struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a ReaderPool,
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Present from construction until drop.
        self.conn
            .as_ref()
            .expect("reader connection present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
            state.idle.push(conn);
            self.pool.freed.notify_one();
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
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Memory-mapped reads share the OS page cache across the pooled connections and spare a
    // system call per page: key verification on a large file is mostly B-tree page reads.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
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

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        // Library text stays in the log; the caller gets a generic message. SQLite's messages
        // name tables and constraints, never bound values, so no secret reaches the log.
        tracing::error!(error = %error, "directory database error");
        Error::Internal("the directory database reported an error".to_owned())
    }
}

pub(crate) fn to_ms(time: Time) -> i64 {
    time.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Time {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn from_ms_opt(ms: Option<i64>) -> Option<Time> {
    ms.map(from_ms)
}

/// Ids from a request, trimmed, without blanks or repeats, in a stable order.
fn distinct_ids(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
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

impl Directory for SqliteDirectory {
    fn needs_setup(&self) -> Result<bool> {
        let conn = self.reader()?;
        Ok(conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?)
    }

    fn create_first_admin(&self, admin: FirstAdmin) -> Result<User> {
        auth::create_first_admin(self, admin)
    }

    fn sign_in(&self, user_name: &str, password: &Secret) -> Result<SignedIn> {
        auth::sign_in(self, user_name, password)
    }

    fn sign_out(&self, credential: &Credential) -> Result<()> {
        auth::sign_out(self, credential)
    }

    fn me(&self, credential: &Credential) -> Result<Me> {
        self.read(credential, |conn, actor, _| auth::me(conn, actor))
    }

    fn accept_invitation(&self, token: &Secret, password: &Secret) -> Result<User> {
        auth::redeem_token(self, auth::TokenKind::Invite, token, password)
    }

    fn complete_password_reset(&self, token: &Secret, password: &Secret) -> Result<User> {
        auth::redeem_token(self, auth::TokenKind::Reset, token, password)
    }

    fn list_users(&self, credential: &Credential, query: &UserQuery) -> Result<Page<User>> {
        self.read(credential, |conn, actor, _| users::list(conn, actor, query))
    }

    fn get_user(&self, credential: &Credential, id: &str) -> Result<User> {
        self.read(credential, |conn, actor, _| {
            if !actor.is(id) {
                actor.require(Permission::VIEW_USER)?;
            }
            users::load(conn, id)
        })
    }

    fn create_user(&self, credential: &Credential, user: NewUser) -> Result<CreatedUser> {
        users::create(self, credential, user)
    }

    fn import_users(
        &self,
        credential: &Credential,
        users: Vec<NewUser>,
        dry_run: bool,
    ) -> Result<ImportReport> {
        users::import(self, credential, users, dry_run)
    }

    fn update_user(&self, credential: &Credential, id: &str, update: UserUpdate) -> Result<User> {
        self.mutate(credential, "user.update", Some(id), |tx, actor, now| {
            users::update(tx, actor, now, id, update)
        })
    }

    fn delete_user(&self, credential: &Credential, id: &str) -> Result<()> {
        self.mutate(credential, "user.delete", Some(id), |tx, actor, now| {
            users::delete(tx, actor, now, id)
        })
    }

    fn change_password(
        &self,
        credential: &Credential,
        id: &str,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        auth::change_password(self, credential, id, old_password, new_password)
    }

    fn reset_password(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        self.mutate(
            credential,
            "user.reset_password",
            Some(id),
            |tx, actor, now| auth::issue_reset(tx, actor, now, id),
        )
    }

    fn send_invitation(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        self.mutate(credential, "user.invite", Some(id), |tx, actor, now| {
            auth::reissue_invitation(tx, actor, now, id)
        })
    }

    fn list_roles(&self, credential: &Credential) -> Result<Vec<Role>> {
        self.read(credential, |conn, actor, _| roles::list(conn, actor))
    }

    fn get_role(&self, credential: &Credential, id: &str) -> Result<Role> {
        self.read(credential, |conn, actor, _| roles::get(conn, actor, id))
    }

    fn create_role(&self, credential: &Credential, role: NewRole) -> Result<Role> {
        self.mutate(credential, "role.create", None, |tx, actor, now| {
            roles::create(tx, actor, now, role)
        })
    }

    fn update_role(&self, credential: &Credential, id: &str, update: RoleUpdate) -> Result<Role> {
        self.mutate(credential, "role.update", Some(id), |tx, actor, now| {
            roles::update(tx, actor, now, id, update)
        })
    }

    fn delete_role(&self, credential: &Credential, id: &str) -> Result<()> {
        self.mutate(credential, "role.delete", Some(id), |tx, actor, now| {
            roles::delete(tx, actor, now, id)
        })
    }

    fn list_groups(&self, credential: &Credential) -> Result<Vec<Group>> {
        self.read(credential, |conn, actor, _| groups::list(conn, actor))
    }

    fn get_group(&self, credential: &Credential, id: &str) -> Result<Group> {
        self.read(credential, |conn, actor, _| groups::get(conn, actor, id))
    }

    fn create_group(&self, credential: &Credential, group: NewGroup) -> Result<Group> {
        self.mutate(credential, "group.create", None, |tx, actor, now| {
            groups::create(tx, actor, now, group)
        })
    }

    fn update_group(
        &self,
        credential: &Credential,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Group> {
        self.mutate(credential, "group.update", Some(id), |tx, actor, now| {
            groups::update(tx, actor, now, id, update)
        })
    }

    fn delete_group(&self, credential: &Credential, id: &str) -> Result<()> {
        self.mutate(credential, "group.delete", Some(id), |tx, actor, now| {
            groups::delete(tx, actor, now, id)
        })
    }

    fn list_user_keys(&self, credential: &Credential, user_id: &str) -> Result<Vec<ApiKey>> {
        self.read(credential, |conn, actor, now| {
            keys::list_for_user(conn, actor, now, user_id)
        })
    }

    fn list_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        self.read(credential, |conn, actor, now| {
            keys::list(conn, actor, now, query)
        })
    }

    fn get_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.read(credential, |conn, actor, now| {
            keys::get(conn, actor, now, id)
        })
    }

    fn create_key(
        &self,
        credential: &Credential,
        owner_id: &str,
        key: NewKey,
    ) -> Result<IssuedKey> {
        self.mutate(
            credential,
            "key.create",
            Some(owner_id),
            |tx, actor, now| keys::create(tx, actor, now, owner_id, key),
        )
    }

    fn download_key(&self, credential: &Credential, id: &str) -> Result<IssuedKey> {
        self.mutate(credential, "key.download", Some(id), |tx, actor, now| {
            keys::download(tx, actor, now, id)
        })
    }

    fn revoke_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.mutate(credential, "key.revoke", Some(id), |tx, actor, now| {
            keys::revoke(tx, actor, now, id)
        })
    }

    fn regenerate_key(
        &self,
        credential: &Credential,
        id: &str,
        grace_seconds: u32,
    ) -> Result<IssuedKey> {
        self.mutate(credential, "key.regenerate", Some(id), |tx, actor, now| {
            keys::regenerate(tx, actor, now, id, grace_seconds)
        })
    }

    fn verify_key(&self, key: &str) -> Result<Verification> {
        let now = self.now();
        let (verification, touch) = {
            let conn = self.reader()?;
            keys::verify(&conn, key, now)?
        };
        self.record_key_use(touch)?;
        Ok(verification)
    }

    fn list_audit(&self, credential: &Credential, query: &AuditQuery) -> Result<Page<AuditEntry>> {
        self.read(credential, |conn, actor, _| audit::list(conn, actor, query))
    }

    fn get_settings(&self, credential: &Credential) -> Result<Settings> {
        self.read(credential, |conn, actor, _| {
            // Console users read them (the UI needs e.g. the clipboard delay); accounts that
            // only use API keys see nothing but their keys.
            if !actor.permissions.contains(Permission::MANAGE_SETTINGS) {
                actor.require(Permission::SIGN_IN)?;
            }
            settings::load(conn)
        })
    }

    fn update_settings(&self, credential: &Credential, update: SettingsUpdate) -> Result<Settings> {
        self.mutate(credential, "settings.update", None, |tx, actor, now| {
            settings::update(tx, actor, now, update)
        })
    }
}

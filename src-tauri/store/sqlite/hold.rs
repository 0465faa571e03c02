//! A read transaction kept open by a connection of its own, so that verifications take no
//! lock in the file system.
//!
//! Every read transaction in WAL mode takes a shared lock on one of the read marks of the
//! `-shm` file. SQLite counts the shared locks of one process's connections and asks the
//! operating system (`fcntl` on Unix) only when the first of them is taken or the last one let
//! go. With verifications answered one after the other, each took and let go of that lock:
//! two system calls per verification, under a mutex the server's workers contended for
//! (BENCHMARKS.md, issue #20). While this connection keeps a transaction open on the mark the
//! readers use, their locks are counted in memory only.
//!
//! It changes no answer: a reader's transaction still begins anew and sees every commit
//! acknowledged before it. What the kept transaction holds back is the checkpoint, which cannot
//! copy into the file the WAL frames committed after its snapshot, nor start the WAL over. So
//! it is renewed at the next look-up after a look-up found the file changed (the readers then
//! use a newer mark), and let go every [`LET_GO_EVERY`] by a thread of its own, so that a
//! process that stops verifying holds nothing back for longer than that.
//!
//! Nothing waits for it: a look-up that finds it being renewed or let go moves on.

use super::connect;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest a kept transaction lasts.
pub(super) const LET_GO_EVERY: Duration = Duration::from_secs(1);

pub(super) struct Hold {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    /// Whether the next look-up should (re)begin the kept transaction.
    due: AtomicBool,
    state: Mutex<State>,
    stop: Condvar,
}

#[derive(Default)]
struct State {
    conn: Option<Connection>,
    /// The thread that lets go, started with the connection.
    thread: Option<JoinHandle<()>>,
    stopping: bool,
}

impl Hold {
    pub(super) fn new(path: &Path) -> Self {
        Hold {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                due: AtomicBool::new(true),
                state: Mutex::new(State::default()),
                stop: Condvar::new(),
            }),
        }
    }

    /// A look-up found the file changed: the readers' next transactions use a newer mark.
    pub(super) fn file_changed(&self) {
        self.shared.due.store(true, Relaxed);
    }

    /// After a look-up: begins the kept transaction anew if it was let go or the file
    /// changed since it began. Never waits.
    pub(super) fn renew_if_due(&self) {
        if !self.shared.due.load(Relaxed) {
            return;
        }
        let Ok(mut state) = self.shared.state.try_lock() else {
            return;
        };
        if state.stopping || !self.shared.due.swap(false, Relaxed) {
            return;
        }
        if state.conn.is_none() {
            // Only a saving is lost when either fails; the look-ups themselves report a file
            // they cannot open. Tried again after the next change.
            let conn = match connect(&self.shared.path, true) {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::debug!(error = %error, "no read transaction kept");
                    return;
                }
            };
            // No transaction is kept without the thread that lets it go.
            let shared = Arc::clone(&self.shared);
            match std::thread::Builder::new()
                .name("keyward-read-hold".into())
                .spawn(move || let_go_regularly(&shared))
            {
                Ok(thread) => state.thread = Some(thread),
                Err(error) => {
                    tracing::debug!(error = %error, "no read transaction kept");
                    return;
                }
            }
            state.conn = Some(conn);
        }
        if let Some(conn) = &state.conn {
            if let Err(error) = begin_anew(conn) {
                tracing::debug!(error = %error, "no read transaction kept");
            }
        }
    }
}

/// Ends the connection's kept transaction, if any, and begins another on the newest snapshot:
/// a read transaction begins at its first read.
fn begin_anew(conn: &Connection) -> rusqlite::Result<()> {
    end(conn)?;
    conn.execute_batch("BEGIN")?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
}

fn end(conn: &Connection) -> rusqlite::Result<()> {
    if !conn.is_autocommit() {
        conn.execute_batch("COMMIT")?;
    }
    Ok(())
}

/// Every [`LET_GO_EVERY`], ends the kept transaction; the next look-up begins it again.
fn let_go_regularly(shared: &Shared) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    while !state.stopping {
        state = shared
            .stop
            .wait_timeout(state, LET_GO_EVERY)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if let Some(conn) = &state.conn {
            let _ = end(conn);
            shared.due.store(true, Relaxed);
        }
    }
}

impl Drop for Hold {
    /// Closes the connection at once (the store's writer must close last) and stops the thread.
    fn drop(&mut self) {
        let thread = {
            let mut state = self
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.stopping = true;
            state.conn = None;
            state.thread.take()
        };
        self.shared.stop.notify_all();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

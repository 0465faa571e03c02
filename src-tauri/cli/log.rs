//! The server's log writer: lines gathered in memory and written out by a thread of its own
//! every few milliseconds, so that the line each request logs costs it a copy into a buffer,
//! never a write to stderr nor a wake-up of another thread.
//!
//! A writer thread woken for every line (as `tracing-appender`'s is, when it is idle) costs a
//! request a system call and a context switch on a busy server (BENCHMARKS.md, issue #20).
//! Here the thread wakes on its own every [`PERIOD`], or once early when [`EARLY`] bytes wait.
//! No line is dropped and the order is kept: a writer that falls [`LIMIT`] behind makes the
//! requests wait for it. Dropping the [`Flusher`] writes what is
//! left; a crash may lose the lines of its last [`PERIOD`].

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::fmt::writer::{EitherWriter, MakeWriter};

/// How often the writer thread wakes to write what has gathered.
pub const PERIOD: Duration = Duration::from_millis(50);
/// Bytes waiting that wake the writer before its period ends.
const EARLY: usize = 256 * 1024;
/// Bytes waiting that make a caller wait until they are written.
const LIMIT: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer thread: bytes beyond [`EARLY`], or closing.
    gathered: Condvar,
    /// Wakes callers waiting for room.
    written: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while a line was copied leaves a buffer that is still whole lines or a
        // torn one: writing it is better than losing every later line.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where log lines go ([`LogTo::Gathered`]).
#[derive(Clone)]
pub struct Gathered {
    shared: Arc<Shared>,
}

/// Writes what is left and stops the writer thread when dropped.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer to `out` and the guard that flushes it. Fails only when no thread can be started.
pub fn gathered(
    mut out: impl Write + Send + 'static,
    period: Duration,
) -> std::io::Result<(Gathered, Flusher)> {
    let shared = Arc::new(Shared::default());
    let theirs = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("keyward-log".into())
        .spawn(move || {
            let mut spare = Vec::new();
            loop {
                let closing = {
                    let mut pending = theirs.lock();
                    if !pending.closing && pending.bytes.len() < EARLY {
                        pending = theirs
                            .gathered
                            .wait_timeout(pending, period)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    std::mem::swap(&mut pending.bytes, &mut spare);
                    pending.closing
                };
                theirs.written.notify_all();
                if !spare.is_empty() {
                    // Nowhere to report a failed write of the log: the next batch tries again.
                    let _ = out.write_all(&spare).and_then(|()| out.flush());
                    spare.clear();
                }
                if closing && theirs.lock().bytes.is_empty() {
                    return;
                }
            }
        })?;
    let flusher = Flusher {
        shared: Arc::clone(&shared),
        thread: Some(thread),
    };
    Ok((Gathered { shared }, flusher))
}

/// Where the log goes, for `tracing_subscriber`: gathered (a server), or straight to stderr.
/// Each line borrows the gathering writer, so it costs no allocation and no shared count.
pub enum LogTo {
    Gathered(Gathered),
    Stderr,
}

impl<'a> MakeWriter<'a> for LogTo {
    type Writer = EitherWriter<&'a Gathered, std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            LogTo::Gathered(gathered) => EitherWriter::A(gathered),
            LogTo::Stderr => EitherWriter::B(std::io::stderr()),
        }
    }
}

impl Write for Gathered {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        (&*self).write(line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self).flush()
    }
}

impl Write for &Gathered {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.lock();
        while pending.bytes.len() >= LIMIT && !pending.closing {
            self.shared.gathered.notify_one();
            pending = self
                .shared
                .written
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let before = pending.bytes.len();
        pending.bytes.extend_from_slice(line);
        // Once, when the line crosses the mark: a wake-up is a system call even when the
        // thread is already awake.
        if before < EARLY && pending.bytes.len() >= EARLY {
            self.shared.gathered.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Lines are written within a period; `Flusher` writes the rest.
        Ok(())
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.gathered.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read while the writer thread owns it.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<u8>>>);

    impl Write for Seen {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seen {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn lines_are_written_within_a_period_in_order_and_the_rest_when_the_flusher_drops() {
        let seen = Seen::default();
        // A long period: what is written before the drop was written by the period or the
        // early wake, not by chance.
        let (writer, flusher) = gathered(seen.clone(), Duration::from_millis(100)).unwrap();
        let mut a = writer.clone();
        a.write_all(b"one\n").unwrap();
        a.write_all(b"two\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while seen.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(seen.text(), "one\ntwo\n", "written by the period");

        // Many threads, many lines: all of them, each whole, each thread's in its order.
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        w.write_all(format!("t{t} line {i:05} {}\n", "x".repeat(40)).as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(flusher);
        let text = seen.text();
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(lines.len(), 80_000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|line| line.starts_with(&format!("t{t} ")))
                .collect();
            assert_eq!(mine.len(), 20_000);
            for (i, line) in mine.iter().enumerate() {
                assert_eq!(line, &format!("t{t} line {i:05} {}", "x".repeat(40)));
            }
        }
    }
}

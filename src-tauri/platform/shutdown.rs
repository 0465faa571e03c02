//! How `keyward serve` is asked to stop. [`requested`] resolves once one of these arrives, and
//! names it for the log:
//! - Unix: Ctrl+C (SIGINT) and SIGTERM (what `kill`, systemd and container runtimes send);
//! - Windows: Ctrl+C, Ctrl+Break, the console window being closed, the user signing out and
//!   the system shutting down. For the last three Windows ends the process once its handler
//!   returns; tokio's handler does not return, so the server has the few seconds Windows
//!   grants (5 s for a closed console) to answer requests in flight and let go of its file.
//!
//! A listener that cannot be installed is logged and never fires; the others still do.

use std::future::Future;

/// Waits for `listener`'s first event, or forever when it could not be installed.
async fn first<L, F>(
    what: &'static str,
    listener: std::io::Result<L>,
    recv: impl FnOnce(L) -> F,
) -> &'static str
where
    F: Future,
{
    match listener {
        Ok(listener) => {
            recv(listener).await;
            what
        }
        Err(error) => {
            tracing::error!(%error, "cannot listen for {what}");
            std::future::pending().await
        }
    }
}

/// Resolves when the server is asked to stop; what asked.
#[cfg(unix)]
pub async fn requested() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::select! {
        what = first("Ctrl+C", signal(SignalKind::interrupt()), |mut s| async move { s.recv().await }) => what,
        what = first("SIGTERM", signal(SignalKind::terminate()), |mut s| async move { s.recv().await }) => what,
    }
}

/// Resolves when the server is asked to stop; what asked.
#[cfg(windows)]
pub async fn requested() -> &'static str {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_logoff, ctrl_shutdown};
    tokio::select! {
        what = first("Ctrl+C", ctrl_c(), |mut s| async move { s.recv().await }) => what,
        what = first("Ctrl+Break", ctrl_break(), |mut s| async move { s.recv().await }) => what,
        what = first("the console window closing", ctrl_close(), |mut s| async move { s.recv().await }) => what,
        what = first("signing out", ctrl_logoff(), |mut s| async move { s.recv().await }) => what,
        what = first("system shutdown", ctrl_shutdown(), |mut s| async move { s.recv().await }) => what,
    }
}

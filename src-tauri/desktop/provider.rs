//! Sign-in through the server's identity provider (SPEC 11) from the app: the sign-in screen
//! lists the server's providers; a start listens on a loopback address, opens the system
//! browser at the server's start address, and a wait (which Cancel ends) turns the browser's
//! return into a session. The loopback side is `remote::loopback`; the rules are the server's.
//!
//! Each start is a trip with an id: waiting for it and cancelling it name that id, so a late
//! Cancel never ends a newer trip. A trip keeps the directory it began on: its code is
//! exchanged there and nowhere else, and its session is kept only while that directory is
//! still the open one.

use super::commands::{
    blocking, body, describe, start_session, ConnectionInfo, Reply, CONNECTED_ELSEWHERE,
};
use super::Desktop;
use crate::core::directory::Directory;
use crate::core::model::{ProviderEntry, PROVIDER_TRIP_MINUTES};
use crate::core::Error;
use crate::remote::loopback::LoopbackSignIn;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tauri::{State, WebviewWindow};
use tokio::sync::oneshot;

/// The one trip that may be under way.
#[derive(Default)]
pub struct Trips {
    current: Mutex<Option<Trip>>,
    last_id: AtomicU64,
}

struct Trip {
    id: u64,
    directory: Arc<dyn Directory>,
    provider: String,
    cancel: oneshot::Sender<()>,
    /// Until [`await_provider_sign_in`] takes it.
    waiting: Option<(LoopbackSignIn, oneshot::Receiver<()>)>,
}

impl Trips {
    /// Ends the trip under way, if any (another connection, another start): its wait returns
    /// at once and its loopback address closes.
    pub fn cancel(&self) {
        self.end(None);
    }

    /// Ends trip `id` (or, with `None`, whichever is under way).
    fn end(&self, id: Option<u64>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|t| id.is_none_or(|id| t.id == id))
        {
            if let Some(trip) = current.take() {
                let _ = trip.cancel.send(());
            }
        }
    }

    /// Makes `sign_in` the trip under way (ending any other): its id.
    fn hold(
        &self,
        directory: Arc<dyn Directory>,
        provider: String,
        sign_in: LoopbackSignIn,
    ) -> u64 {
        let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (cancel, cancelled) = oneshot::channel();
        let previous = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Trip {
                id,
                directory,
                provider,
                cancel,
                waiting: Some((sign_in, cancelled)),
            });
        if let Some(previous) = previous {
            let _ = previous.cancel.send(());
        }
        id
    }

    fn is_current(&self, id: u64) -> bool {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|t| t.id == id)
    }

    /// What the wait for trip `id` needs, once.
    fn take(&self, id: u64) -> Option<Waiting> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let trip = current.as_mut().filter(|t| t.id == id)?;
        let (sign_in, cancelled) = trip.waiting.take()?;
        Some(Waiting {
            directory: Arc::clone(&trip.directory),
            provider: trip.provider.clone(),
            sign_in,
            cancelled,
        })
    }
}

/// A trip's wait, taken out of [`Trips`].
struct Waiting {
    directory: Arc<dyn Directory>,
    provider: String,
    sign_in: LoopbackSignIn,
    cancelled: oneshot::Receiver<()>,
}

/// The identity providers of the open directory: a server's; none on a file.
#[tauri::command]
pub async fn sign_in_providers(state: State<'_, Desktop>) -> Reply<Vec<ProviderEntry>> {
    let (directory, _) = state.directory().map_err(body)?;
    blocking(move || directory.sign_in_providers()).await
}

/// A sign-in through a provider, begun: its id (to wait for it or cancel it), and where the
/// browser was sent (to show, and to copy when no browser opened).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTripView {
    id: u64,
    url: String,
    browser_opened: bool,
}

fn connection_changed() -> Error {
    Error::invalid("provider", CONNECTED_ELSEWHERE)
}

/// Listens on a loopback address and sends the system browser to the server's start
/// address for provider `id`; [`await_provider_sign_in`] then waits for it to come back.
#[tauri::command]
pub async fn start_provider_sign_in(
    state: State<'_, Desktop>,
    id: String,
) -> Reply<ProviderTripView> {
    let (directory, _) = state.directory().map_err(body)?;
    let sign_in = LoopbackSignIn::listen().await.map_err(body)?;
    let start = sign_in.start().clone();
    let asking = Arc::clone(&directory);
    let (name, url) = blocking(move || {
        let provider = asking
            .sign_in_providers()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| {
                Error::invalid("provider", "This server no longer signs in through it.")
            })?;
        let url = asking.provider_start_url(&provider.id, &start)?;
        Ok((provider.name, url))
    })
    .await?;
    if !state.is_open(&directory) {
        return Err(body(connection_changed()));
    }
    let trip = state.provider_trip.hold(directory, name, sign_in);
    // The browser only for a trip still under way (not cancelled while the server answered).
    let browser_opened = state.provider_trip.is_current(trip) && {
        let opening = url.clone();
        // Opening may wait for a helper program (xdg-open, ShellExecute): off the async worker.
        match blocking(move || Ok(webbrowser::open(&opening))).await? {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "no browser could be opened for the sign-in");
                false
            }
        }
    };
    Ok(ProviderTripView {
        id: trip,
        url,
        browser_opened,
    })
}

/// Waits for the browser of trip `id`, then opens the session the server's one-time code
/// gives, on the directory the trip began on. Ends early with Cancel, or when the server's
/// trip would have expired.
#[tauri::command]
pub async fn await_provider_sign_in(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    id: u64,
) -> Reply<ConnectionInfo> {
    let Waiting {
        directory,
        provider,
        sign_in,
        cancelled,
    } = state.provider_trip.take(id).ok_or_else(|| {
        body(Error::invalid(
            "provider",
            "This sign-in was cancelled or has ended: start again.",
        ))
    })?;
    let cancelled = async {
        // A dropped sender (the trip ended another way) cancels too.
        let _ = cancelled.await;
    };
    let within = Duration::from_secs(PROVIDER_TRIP_MINUTES as u64 * 60);
    let returned = sign_in
        .wait(&provider, cancelled, within)
        .await
        .map_err(|why| body(why.into()));
    state.provider_trip.end(Some(id));
    let returned = returned?;
    let exchanging = Arc::clone(&directory);
    let signed_in =
        blocking(move || exchanging.exchange_provider_code(&returned.code, &returned.verifier))
            .await?;
    start_session(&state, &window, &directory, signed_in).await?;
    // The person was in the browser: bring the window back to the front.
    if let Err(error) = window.set_focus() {
        tracing::debug!(%error, "could not focus the window");
    }
    describe(&state).await
}

/// Cancel: trip `id` ends, and its loopback address closes. Another trip is left alone.
#[tauri::command]
pub async fn cancel_provider_sign_in(state: State<'_, Desktop>, id: u64) -> Reply<()> {
    state.provider_trip.end(Some(id));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trip_parts() -> (Arc<dyn Directory>, LoopbackSignIn, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let directory: Arc<dyn Directory> =
            Arc::new(crate::store::SqliteDirectory::open(&dir.path().join("k.db")).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sign_in = runtime.block_on(LoopbackSignIn::listen()).unwrap();
        (directory, sign_in, dir)
    }

    #[test]
    fn a_cancel_ends_only_its_own_trip_and_a_wait_is_taken_once() {
        let trips = Trips::default();
        let (directory, sign_in, _dir) = trip_parts();
        let first = trips.hold(Arc::clone(&directory), "SSO".into(), sign_in);
        let (_, sign_in, _dir2) = trip_parts();
        // A new start ends the old trip: its wait is gone.
        let second = trips.hold(Arc::clone(&directory), "SSO".into(), sign_in);
        assert_ne!(first, second);
        assert!(trips.take(first).is_none());
        // A late Cancel of the first trip leaves the second alone.
        trips.end(Some(first));
        assert!(trips.is_current(second));
        let mut waiting = trips.take(second).expect("the second trip's wait");
        assert!(trips.take(second).is_none(), "taken once");
        assert!(waiting.cancelled.try_recv().is_err(), "not cancelled yet");
        // Its own Cancel reaches the wait that was taken.
        trips.end(Some(second));
        assert!(!trips.is_current(second));
        assert!(waiting.cancelled.try_recv().is_ok());
    }
}

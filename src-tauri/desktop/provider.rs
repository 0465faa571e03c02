//! Sign-in through the server's identity provider (SPEC 11) from the app: the sign-in screen
//! lists the server's providers; a start listens on a loopback address, opens the system
//! browser at the server's start address, and a wait (which Cancel ends) turns the browser's
//! return into a session. The loopback side is `remote::loopback`; the rules are the server's.

use super::commands::{blocking, body, describe, start_session, ConnectionInfo, Reply};
use super::Desktop;
use crate::core::model::{ProviderEntry, PROVIDER_TRIP_MINUTES};
use crate::core::Error;
use crate::remote::loopback::LoopbackSignIn;
use serde::Serialize;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tauri::{State, WebviewWindow};
use tokio::sync::oneshot;

/// The sign-in waiting for its browser (at most one), and the way to cancel it.
#[derive(Default)]
pub struct Trips {
    waiting: Mutex<Option<Waiting>>,
    cancel: Mutex<Option<oneshot::Sender<()>>>,
}

struct Waiting {
    sign_in: LoopbackSignIn,
    provider: String,
    cancelled: oneshot::Receiver<()>,
}

impl Trips {
    /// Ends the sign-in that waits, if any: its wait returns at once.
    pub fn cancel(&self) {
        let cancel = self
            .cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(cancel) = cancel {
            let _ = cancel.send(());
        }
        *self.waiting.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn hold(&self, sign_in: LoopbackSignIn, provider: String) {
        self.cancel();
        let (cancel, cancelled) = oneshot::channel();
        *self.cancel.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel);
        *self.waiting.lock().unwrap_or_else(PoisonError::into_inner) = Some(Waiting {
            sign_in,
            provider,
            cancelled,
        });
    }

    fn take(&self) -> Option<Waiting> {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The identity providers of the open directory: a server's; none on a file.
#[tauri::command]
pub async fn sign_in_providers(state: State<'_, Desktop>) -> Reply<Vec<ProviderEntry>> {
    let (directory, _) = state.directory().map_err(body)?;
    blocking(move || directory.sign_in_providers()).await
}

/// A sign-in through a provider, begun: where the browser was sent (to show, and to copy
/// when no browser opened).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTripView {
    url: String,
    browser_opened: bool,
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
    let (name, url) = blocking(move || {
        let provider = directory
            .sign_in_providers()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| {
                Error::invalid("provider", "This server no longer signs in through it.")
            })?;
        let url = directory.provider_start_url(&provider.id, &start)?;
        Ok((provider.name, url))
    })
    .await?;
    let browser_opened = match webbrowser::open(&url) {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "no browser could be opened for the sign-in");
            false
        }
    };
    state.provider_trip.hold(sign_in, name);
    Ok(ProviderTripView {
        url,
        browser_opened,
    })
}

/// Waits for the browser of the sign-in begun, then opens the session the server's one-time
/// code gives. Ends early with Cancel, or when the server's trip would have expired.
#[tauri::command]
pub async fn await_provider_sign_in(
    state: State<'_, Desktop>,
    window: WebviewWindow,
) -> Reply<ConnectionInfo> {
    let waiting = state.provider_trip.take().ok_or_else(|| {
        body(Error::invalid(
            "provider",
            "No sign-in is waiting for the browser: start again.",
        ))
    })?;
    let cancelled = async {
        // A dropped sender (another sign-in began, or the connection changed) cancels too.
        let _ = waiting.cancelled.await;
    };
    let within = Duration::from_secs(PROVIDER_TRIP_MINUTES as u64 * 60);
    let returned = waiting
        .sign_in
        .wait(&waiting.provider, cancelled, within)
        .await
        .map_err(|why| body(why.into()))?;
    let (directory, _) = state.directory().map_err(body)?;
    let signed_in =
        blocking(move || directory.exchange_provider_code(&returned.code, &returned.verifier))
            .await?;
    start_session(&state, &window, signed_in);
    // The person was in the browser: bring the window back to the front.
    if let Err(error) = window.set_focus() {
        tracing::debug!(%error, "could not focus the window");
    }
    describe(&state).await
}

/// Cancel: the waiting sign-in ends, and its loopback address closes.
#[tauri::command]
pub async fn cancel_provider_sign_in(state: State<'_, Desktop>) -> Reply<()> {
    state.provider_trip.cancel();
    Ok(())
}

//! Secrets on the system clipboard, the way a password manager handles them: marked as
//! excluded from clipboard history where the platform has such a mark, and cleared again after
//! a delay (and when the app quits), but only if the clipboard still holds what we put there.

use crate::core::secret::Secret;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[derive(Default)]
pub struct SecretClipboard {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Created on first use, so that starting the app needs no clipboard. On X11 the content
    /// lives as long as this handle does, so it is kept for the app's lifetime.
    clipboard: Option<arboard::Clipboard>,
    /// The last secret copied, with the number of the copy that put it there.
    copied: Option<(u64, Secret)>,
    copies: u64,
}

impl SecretClipboard {
    /// Puts `secret` on the clipboard; clears it after `clear_after_seconds` (0 = never).
    pub fn copy(self: &Arc<Self>, secret: Secret, clear_after_seconds: u32) -> Result<(), String> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *guard;
        let clipboard = match &mut inner.clipboard {
            Some(clipboard) => clipboard,
            empty => empty.insert(arboard::Clipboard::new().map_err(describe)?),
        };
        set_excluded_from_history(clipboard, secret.expose()).map_err(describe)?;
        inner.copies += 1;
        let copy = inner.copies;
        inner.copied = Some((copy, secret));
        drop(guard);
        if clear_after_seconds > 0 {
            let this = Arc::clone(self);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(clear_after_seconds.into()));
                this.clear_copy(copy);
            });
        }
        Ok(())
    }

    /// Clears the clipboard if it still holds the secret of copy number `copy`: a later copy
    /// restarts the delay, and whatever the user copied since is left alone.
    fn clear_copy(&self, copy: u64) {
        self.clear(Some(copy));
    }

    /// Clears the clipboard if it still holds the last secret copied.
    pub fn clear_if_ours(&self) {
        self.clear(None);
    }

    /// Clears the clipboard if it holds the last secret copied (and that was copy `only`).
    fn clear(&self, only: Option<u64>) {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *guard;
        if only.is_some_and(|copy| !matches!(&inner.copied, Some((n, _)) if *n == copy)) {
            return;
        }
        let (Some((_, secret)), Some(clipboard)) = (inner.copied.take(), &mut inner.clipboard)
        else {
            return;
        };
        let holds = clipboard
            .get_text()
            .map(Secret::new)
            .is_ok_and(|current| current == secret);
        if holds {
            if let Err(error) = clipboard.clear() {
                tracing::warn!(error = %describe(error), "could not clear the clipboard");
            }
        }
    }
}

fn describe(error: arboard::Error) -> String {
    // arboard's messages describe the clipboard, never its content.
    format!("The clipboard is not available: {error}")
}

#[cfg(target_os = "linux")]
fn set_excluded_from_history(c: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    use arboard::SetExtLinux;
    c.set().exclude_from_history().text(text)
}

#[cfg(target_os = "windows")]
fn set_excluded_from_history(c: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    use arboard::SetExtWindows;
    c.set()
        .exclude_from_history()
        .exclude_from_cloud()
        .exclude_from_monitoring()
        .text(text)
}

#[cfg(target_os = "macos")]
fn set_excluded_from_history(c: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    use arboard::SetExtApple;
    c.set().exclude_from_history().text(text)
}

#[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
fn set_excluded_from_history(c: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    c.set_text(text)
}

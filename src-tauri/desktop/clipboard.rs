//! Secrets on the system clipboard, the way a password manager handles them: marked as
//! excluded from clipboard history where the platform has such a mark
//! ([`crate::platform::clipboard`]), and cleared again after a delay (and when the app quits),
//! but only if the clipboard still holds what we put there.

use crate::core::secret::Secret;
use crate::platform::clipboard::{SecretSink, System};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The app's clipboard for secrets, over the system clipboard by default.
pub struct SecretClipboard<C: SecretSink = System> {
    open: fn() -> Result<C, String>,
    inner: Mutex<Inner<C>>,
}

struct Inner<C> {
    /// Opened on first use, so that starting the app needs no clipboard. On X11 the content
    /// lives as long as this handle does, so it is kept for the app's lifetime.
    clipboard: Option<C>,
    /// The last secret copied, with the number of the copy that put it there.
    copied: Option<(u64, Secret)>,
    copies: u64,
}

impl Default for SecretClipboard<System> {
    fn default() -> Self {
        SecretClipboard::over(System::open)
    }
}

impl<C: SecretSink> SecretClipboard<C> {
    /// A clipboard for secrets over the one `open` gives, opened on first use.
    pub fn over(open: fn() -> Result<C, String>) -> Self {
        SecretClipboard {
            open,
            inner: Mutex::new(Inner {
                clipboard: None,
                copied: None,
                copies: 0,
            }),
        }
    }

    /// Puts `secret` on the clipboard; clears it after `clear_after_seconds` (0 = never).
    pub fn copy(self: &Arc<Self>, secret: Secret, clear_after_seconds: u32) -> Result<(), String> {
        let delay =
            (clear_after_seconds > 0).then(|| Duration::from_secs(clear_after_seconds.into()));
        self.copy_for(secret, delay)
    }

    fn copy_for(
        self: &Arc<Self>,
        secret: Secret,
        clear_after: Option<Duration>,
    ) -> Result<(), String> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *guard;
        let clipboard = match &mut inner.clipboard {
            Some(clipboard) => clipboard,
            empty => empty.insert((self.open)()?),
        };
        clipboard.put_secret(secret.expose())?;
        inner.copies += 1;
        let copy = inner.copies;
        inner.copied = Some((copy, secret));
        drop(guard);
        if let Some(delay) = clear_after {
            let this = Arc::clone(self);
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                this.clear(Some(copy));
            });
        }
        Ok(())
    }

    /// Clears the clipboard if it still holds the last secret copied.
    pub fn clear_if_ours(&self) {
        self.clear(None);
    }

    /// Clears the clipboard if it holds the last secret copied (and that was copy `only`): a
    /// later copy restarts the delay, and whatever the user copied since is left alone.
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
            .text()
            .map(Secret::new)
            .is_some_and(|current| current == secret);
        if holds {
            if let Err(error) = clipboard.clear() {
                tracing::warn!(%error, "could not clear the clipboard");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clipboard in memory that anyone (the "user") may write to, shared with the test.
    static BOARD: Mutex<Vec<(String, Option<String>, bool)>> = Mutex::new(Vec::new());

    /// The clipboard of one test, by name: its text, and whether it was marked as secret.
    struct Board(&'static str);

    fn board(name: &str) -> (Option<String>, bool) {
        let all = BOARD.lock().unwrap();
        all.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, text, marked)| (text.clone(), *marked))
            .unwrap_or((None, false))
    }

    fn set(name: &str, text: Option<&str>, marked: bool) {
        let mut all = BOARD.lock().unwrap();
        all.retain(|(n, _, _)| n != name);
        all.push((name.to_owned(), text.map(str::to_owned), marked));
    }

    impl SecretSink for Board {
        fn put_secret(&mut self, text: &str) -> Result<(), String> {
            set(self.0, Some(text), true);
            Ok(())
        }
        fn text(&mut self) -> Option<String> {
            board(self.0).0
        }
        fn clear(&mut self) -> Result<(), String> {
            set(self.0, None, false);
            Ok(())
        }
    }

    const SHORT: Option<Duration> = Some(Duration::from_millis(150));

    fn settle() {
        std::thread::sleep(Duration::from_millis(400));
    }

    #[test]
    fn a_copied_secret_is_marked_and_cleared_after_the_delay() {
        let clipboard = Arc::new(SecretClipboard::over(|| Ok(Board("cleared"))));
        clipboard
            .copy_for(Secret::new("kw_one".into()), SHORT)
            .unwrap();
        assert_eq!(board("cleared"), (Some("kw_one".into()), true));
        settle();
        assert_eq!(board("cleared").0, None);
    }

    #[test]
    fn what_the_user_copied_since_is_left_alone() {
        let clipboard = Arc::new(SecretClipboard::over(|| Ok(Board("user"))));
        clipboard
            .copy_for(Secret::new("kw_one".into()), SHORT)
            .unwrap();
        set("user", Some("the user's own text"), false);
        settle();
        assert_eq!(board("user").0.as_deref(), Some("the user's own text"));
        clipboard.clear_if_ours();
        assert_eq!(board("user").0.as_deref(), Some("the user's own text"));
    }

    #[test]
    fn a_later_copy_restarts_the_delay() {
        let clipboard = Arc::new(SecretClipboard::over(|| Ok(Board("later"))));
        clipboard
            .copy_for(Secret::new("kw_one".into()), SHORT)
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        clipboard
            .copy_for(
                Secret::new("kw_two".into()),
                Some(Duration::from_millis(600)),
            )
            .unwrap();
        // The first copy's delay has passed: it does not clear the second secret.
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(board("later").0.as_deref(), Some("kw_two"));
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(board("later").0, None);
    }

    #[test]
    fn with_no_delay_only_quitting_clears() {
        let clipboard = Arc::new(SecretClipboard::over(|| Ok(Board("never"))));
        clipboard.copy(Secret::new("kw_one".into()), 0).unwrap();
        settle();
        assert_eq!(board("never").0.as_deref(), Some("kw_one"));
        clipboard.clear_if_ours();
        assert_eq!(board("never").0, None);
    }

    #[test]
    fn no_clipboard_is_an_error_for_the_copy_not_a_panic() {
        let clipboard: Arc<SecretClipboard<Board>> = Arc::new(SecretClipboard::over(|| {
            Err("The clipboard is not available".into())
        }));
        let refused = clipboard.copy(Secret::new("kw_one".into()), 30);
        assert_eq!(refused, Err("The clipboard is not available".into()));
        clipboard.clear_if_ours();
    }
}

//! The system clipboard (arboard), with each platform's mark that keeps a copied secret out of
//! clipboard history and sync: on Windows `ExcludeClipboardContentFromMonitorProcessing`,
//! `CanIncludeInClipboardHistory` = 0 and `CanUploadToCloudClipboard` = 0; on Linux
//! `x-kde-passwordManagerHint: secret`; on macOS the concealed type. The marks are hints that
//! clipboard managers may ignore, which is why `desktop::clipboard` also clears a secret again.

/// What `desktop::clipboard` needs of a clipboard; [`System`] is the real one.
pub trait SecretSink: Send + 'static {
    /// Puts `text` on the clipboard, marked as not for history or sync where the platform can.
    fn put_secret(&mut self, text: &str) -> Result<(), String>;
    /// The text on the clipboard now, if it holds text.
    fn text(&mut self) -> Option<String>;
    fn clear(&mut self) -> Result<(), String>;
}

/// The system clipboard. On X11 its content lives as long as this handle does.
pub struct System(arboard::Clipboard);

impl System {
    pub fn open() -> Result<System, String> {
        arboard::Clipboard::new().map(System).map_err(describe)
    }
}

impl SecretSink for System {
    fn put_secret(&mut self, text: &str) -> Result<(), String> {
        set_excluded_from_history(&mut self.0, text).map_err(describe)
    }

    fn text(&mut self) -> Option<String> {
        self.0.get_text().ok()
    }

    fn clear(&mut self) -> Result<(), String> {
        self.0.clear().map_err(describe)
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

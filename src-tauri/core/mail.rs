//! E-mail as the core sees it: what to send, and whether it was accepted. Sending itself is
//! an adapter's (the server's SMTP transport); the core never knows how.

/// A message to send: plain text and HTML with the same content.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// The server refused for good (5xx): sending again will not help.
    pub permanent: bool,
    /// What went wrong, as the SMTP server or the connection said it.
    pub reason: String,
}

/// Sends e-mail.
pub trait Mailer: Send + Sync {
    /// Where mail goes and from whom, as it may be shown (never a password).
    fn describe(&self) -> String;
    /// Sends `message`; the SMTP server's answer when it accepted it.
    fn send(&self, message: &Outgoing) -> Result<String, Undelivered>;
}

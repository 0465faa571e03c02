//! E-mail as the core sees it: what to send, and whether it was accepted. Sending itself is
//! an adapter's (the server's SMTP transport); the core never knows how.

use super::secret::Secret;

/// A message to send: plain text and HTML with the same content. Its text may carry a
/// one-time link, so it is never shown whole (`Debug` names the recipient and subject only).
#[derive(Clone)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Where the pages that take a one-time token are, as links in a message point to them:
/// each is the text a link starts with, to which the token is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub invitation: String,
    pub reset: String,
}

impl Links {
    pub fn invitation(&self, token: &Secret) -> Secret {
        Secret::new(format!("{}{}", self.invitation, token.expose()))
    }

    pub fn reset(&self, token: &Secret) -> Secret {
        Secret::new(format!("{}{}", self.reset, token.expose()))
    }
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// The server refused for good (5xx): sending again will not help.
    pub permanent: bool,
    /// What went wrong, as the SMTP server or the connection said it.
    pub reason: String,
}

/// The text with the token of every link in it taken out (`#token=[removed]`): an SMTP
/// server's answer may quote the message, and is kept and shown.
pub fn redact_links(text: &str) -> String {
    const MARK: &str = "#token=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at + MARK.len()]);
        out.push_str("[removed]");
        rest = &rest[at + MARK.len()..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '>' | '<' | ')'))
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Sends e-mail.
pub trait Mailer: Send + Sync {
    /// Where mail goes and from whom, as it may be shown (never a password).
    fn describe(&self) -> String;
    /// Sends `message`; the SMTP server's answer when it accepted it.
    fn send(&self, message: &Outgoing) -> Result<String, Undelivered>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_quoted_in_an_answer_lose_their_token() {
        assert_eq!(
            redact_links(
                "554 URL refused: https://kw.example.com/invite#token=abc_DEF-12 (policy)"
            ),
            "554 URL refused: https://kw.example.com/invite#token=[removed] (policy)"
        );
        assert_eq!(
            redact_links("<a href=\"x/reset#token=t1\">x/reset#token=t2</a>"),
            "<a href=\"x/reset#token=[removed]\">x/reset#token=[removed]</a>"
        );
        assert_eq!(redact_links("250 OK"), "250 OK");
        assert_eq!(redact_links("ends #token="), "ends #token=[removed]");
    }
}

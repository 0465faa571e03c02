//! E-mail from `keyward serve` (SPEC section 8): the SMTP server it sends through, from
//! `--smtp-url` and `--mail-from`. `smtps://host[:465]` speaks TLS from the start,
//! `smtp://host[:587]` must upgrade with STARTTLS (a server that does not offer it is refused,
//! never used in plain text), and `smtp+plain://host:port` has no TLS and is accepted only for
//! a loopback host. TLS goes through rustls; the SMTP password comes from
//! `KEYWARD_SMTP_PASSWORD` or the file `KEYWARD_SMTP_PASSWORD_FILE` names, never from an
//! argument, and is never shown.

use crate::core::mail::{Outgoing, Undelivered};
use crate::core::secret::Secret;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::SmtpTransport;
use reqwest::Url;
use std::path::Path;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// STARTTLS, required (`smtp://`).
    StartTls,
    /// None, on a loopback address only (`smtp+plain://`).
    Plain,
}

/// Where and as whom `keyward serve` sends e-mail.
#[derive(Clone)]
pub struct MailConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    pub from: Mailbox,
    transport: SmtpTransport,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password (the transport holds it).
        f.write_str(&self.describe())
    }
}

impl MailConfig {
    /// Reads the configuration; a refusal is one sentence saying what to change.
    pub fn parse(
        smtp_url: &str,
        mail_from: &str,
        password: Option<Secret>,
        ca_file: Option<&Path>,
    ) -> Result<MailConfig, String> {
        let url = Url::parse(smtp_url).map_err(|e| {
            format!("--smtp-url is not a URL ({e}); use e.g. smtp://mail.example.com")
        })?;
        let (security, default_port) = match url.scheme() {
            "smtps" => (Security::Tls, 465),
            "smtp" => (Security::StartTls, 587),
            "smtp+plain" => (Security::Plain, 25),
            other => {
                return Err(format!(
                    "--smtp-url: {other}:// is not a way to send mail; use smtps:// (TLS), \
                     smtp:// (STARTTLS) or smtp+plain:// (loopback only)"
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("--smtp-url names no host")?
            .to_owned();
        if security == Security::Plain && !super::is_loopback(&host) {
            return Err(format!(
                "--smtp-url: smtp+plain:// sends mail unencrypted and is only for a relay on this \
                 machine; {host} is not a loopback address (use smtp:// or smtps://)"
            ));
        }
        if url.password().is_some() {
            return Err(
                "--smtp-url holds a password: put it in KEYWARD_SMTP_PASSWORD or in the file \
                 KEYWARD_SMTP_PASSWORD_FILE names (arguments are visible to every user)"
                    .to_owned(),
            );
        }
        let user = Some(url.username())
            .filter(|u| !u.is_empty())
            .map(|u| {
                percent_decode(u)
                    .map_err(|_| "--smtp-url: the user name is not valid UTF-8".to_owned())
            })
            .transpose()?;
        let credentials = match (&user, password) {
            (Some(user), Some(password)) => {
                Some(Credentials::new(user.clone(), password.expose().to_owned()))
            }
            (Some(user), None) => {
                return Err(format!(
                    "the SMTP user {user} needs a password in KEYWARD_SMTP_PASSWORD or in the \
                     file KEYWARD_SMTP_PASSWORD_FILE names"
                ))
            }
            (None, Some(_)) => {
                return Err(
                    "an SMTP password is set but --smtp-url names no user (smtp://user@host)"
                        .to_owned(),
                )
            }
            (None, None) => None,
        };
        let from: Mailbox = mail_from.parse().map_err(|_| {
            format!("--mail-from: {mail_from:?} is not an e-mail address like keyward@example.com")
        })?;
        let port = url.port().unwrap_or(default_port);
        let tls = |host: &str| -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(host.to_owned());
            if let Some(ca_file) = ca_file {
                let pem = std::fs::read(ca_file)
                    .map_err(|e| format!("--smtp-ca-file {}: {e}", ca_file.display()))?;
                let certificate = Certificate::from_pem(&pem).map_err(|e| {
                    format!(
                        "--smtp-ca-file {}: not a PEM certificate ({e})",
                        ca_file.display()
                    )
                })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build_rustls()
                .map_err(|e| format!("TLS for {host}: {e}"))
        };
        let tls = match security {
            Security::Tls => Tls::Wrapper(tls(&host)?),
            Security::StartTls => Tls::Required(tls(&host)?),
            Security::Plain => Tls::None,
        };
        // Each step of the conversation waits this long at most: a send stays well inside the
        // sending server's heartbeat (rules/mail.rs), even against a server that stalls.
        let mut builder = SmtpTransport::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(std::time::Duration::from_secs(15)))
            .tls(tls);
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(MailConfig {
            host,
            port,
            security,
            user,
            from,
            transport: builder.build(),
        })
    }

    /// What may be shown and logged: the server, how it is reached, the user and the sender;
    /// never the password.
    pub fn describe(&self) -> String {
        let how = match self.security {
            Security::Tls => "TLS",
            Security::StartTls => "STARTTLS",
            Security::Plain => "no TLS, loopback",
        };
        let user = self
            .user
            .as_deref()
            .map(|u| format!(", user {u}"))
            .unwrap_or_default();
        format!(
            "{}:{} ({how}{user}), from {}",
            self.host, self.port, self.from
        )
    }

    /// The transport, for sending.
    pub fn transport(&self) -> &SmtpTransport {
        &self.transport
    }
}

impl crate::core::mail::Mailer for MailConfig {
    fn describe(&self) -> String {
        MailConfig::describe(self)
    }

    fn send(&self, message: &Outgoing) -> Result<String, Undelivered> {
        use lettre::message::MultiPart;
        use lettre::Transport;
        let refused = |reason: String| Undelivered {
            permanent: true,
            reason,
        };
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|_| refused(format!("{} is not an e-mail address", message.to)))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| refused(format!("cannot build the message: {e}")))?;
        match self.transport.send(&email) {
            Ok(response) => Ok(crate::core::mail::redact_links(&format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            ))),
            Err(error) => {
                let permanent = error.is_permanent();
                // lettre's text names the step and the server's reply, never the password; a
                // reply quoting the message's link has the token taken out.
                let reason = crate::core::mail::redact_links(&error.to_string());
                tracing::warn!(error = %reason, permanent, "an e-mail was not accepted");
                Err(Undelivered { permanent, reason })
            }
        }
    }
}

/// `%xx` escapes of a URL's user part, decoded.
fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) if hex.iter().all(u8::is_ascii_hexdigit) => {
                let digits = std::str::from_utf8(hex).unwrap_or("00");
                out.push(u8::from_str_radix(digits, 16).unwrap_or(b'?'));
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str, from: &str, password: Option<&str>) -> Result<MailConfig, String> {
        MailConfig::parse(url, from, password.map(|p| Secret::new(p.into())), None)
    }

    #[test]
    fn each_scheme_means_its_protection_and_port() {
        let tls = parse("smtps://mail.example.com", "kw@example.com", None).unwrap();
        assert_eq!((tls.security, tls.port), (Security::Tls, 465));
        let starttls = parse("smtp://ann@mail.example.com", "kw@example.com", Some("pw")).unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (Security::StartTls, 587)
        );
        assert_eq!(starttls.user.as_deref(), Some("ann"));
        let plain = parse(
            "smtp+plain://127.0.0.1:2525",
            "Keyward <kw@example.com>",
            None,
        )
        .unwrap();
        assert_eq!((plain.security, plain.port), (Security::Plain, 2525));
        assert!(plain.describe().contains("127.0.0.1:2525"));
    }

    #[test]
    fn refusals_say_what_to_change_and_never_echo_a_password() {
        for (url, from, password, says) in [
            (
                "http://mail.example.com",
                "kw@example.com",
                None,
                "smtps://",
            ),
            (
                "smtp+plain://mail.example.com:25",
                "kw@example.com",
                None,
                "loopback",
            ),
            (
                "smtp://ann:s3cret@mail.example.com",
                "kw@example.com",
                None,
                "KEYWARD_SMTP_PASSWORD",
            ),
            (
                "smtp://ann@mail.example.com",
                "kw@example.com",
                None,
                "needs a password",
            ),
            (
                "smtp://mail.example.com",
                "kw@example.com",
                Some("pw"),
                "names no user",
            ),
            (
                "smtp://mail.example.com",
                "not an address",
                None,
                "--mail-from",
            ),
            ("not a url", "kw@example.com", None, "--smtp-url"),
        ] {
            let refused = parse(url, from, password)
                .err()
                .unwrap_or_else(|| panic!("{url}"));
            assert!(refused.contains(says), "{url}: {refused}");
            assert!(!refused.contains("s3cret"), "{refused}");
        }
    }
}

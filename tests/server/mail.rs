//! E-mail through a real SMTP server: Debian's aiosmtpd, started by the test on a free port
//! with a handler that keeps each message as a file and refuses some recipients with 550.

use super::support::{free_port, wait_for, Server};
use keyward::server::mail::MailConfig;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A running aiosmtpd; stopped when dropped.
pub struct Smtp {
    child: Child,
    pub port: u16,
    pub maildir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    pub fn start() -> Smtp {
        Smtp::start_with(None)
    }

    /// An SMTP server offering STARTTLS with this PEM certificate and key.
    pub fn start_with_starttls(certificate: &str, key: &str) -> Smtp {
        Smtp::start_with(Some((certificate, key)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Smtp {
        let port = free_port();
        let maildir = tempfile::TempDir::new().unwrap();
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        // Debian's python3 sees Debian's python3-aiosmtpd; another python3 first on the PATH
        // may not (SERVICES-NOTES).
        let mut command = Command::new("/usr/bin/python3");
        command
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "smtp_keep.Keep"]);
        if let Some((certificate, key)) = tls {
            let (cert_file, key_file) = (
                maildir.path().join("cert.pem.tls"),
                maildir.path().join("key.pem.tls"),
            );
            std::fs::write(&cert_file, certificate).unwrap();
            std::fs::write(&key_file, key).unwrap();
            command
                .arg("--tlscert")
                .arg(&cert_file)
                .arg("--tlskey")
                .arg(&key_file);
        }
        let child = command
            .env("PYTHONPATH", &support)
            .env("KEYWARD_TEST_MAILDIR", maildir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts (the README's test command installs python3-aiosmtpd)");
        wait_for("aiosmtpd to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Smtp {
            child,
            port,
            maildir,
        }
    }

    /// The messages received so far, as their raw text.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.maildir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

#[test]
fn a_test_message_reaches_a_real_smtp_server_and_refusals_are_reported() {
    let smtp = Smtp::start();
    let mail = MailConfig::parse(
        &format!("smtp+plain://127.0.0.1:{}", smtp.port),
        "Keyward <keyward@example.com>",
        None,
        None,
    )
    .unwrap();
    let server = Server::with_mailer(Arc::new(mail));
    let root = server.root();
    server.user(
        &root,
        "vera",
        &[keyward::core::permission::BuiltinRole::Viewer.id()],
    );
    let vera = server.login("vera", crate::common::PASSWORD);

    // To the caller's own address by default.
    let sent = server
        .post("/api/settings/test-mail", &root, json!({}))
        .expect(200);
    assert_eq!(sent["to"], "root@example.com");
    assert_eq!(sent["delivered"], true, "{sent}");
    assert!(
        sent["answer"].as_str().unwrap().starts_with("250"),
        "{sent}"
    );
    wait_for("the message to arrive", Duration::from_secs(10), || {
        smtp.messages().len() == 1
    });
    let message = &smtp.messages()[0];
    assert!(message.contains("To: root@example.com"), "{message}");
    assert!(
        message.contains("From: Keyward <keyward@example.com>"),
        "{message}"
    );
    assert!(
        message.contains("Subject: Keyward test message"),
        "{message}"
    );
    assert!(
        message.contains("text/plain") && message.contains("text/html"),
        "{message}"
    );

    // A recipient the server refuses: reported, not retried.
    let refused = server
        .post(
            "/api/settings/test-mail",
            &root,
            json!({"to": "refuse@example.com"}),
        )
        .expect(200);
    assert_eq!(refused["delivered"], false);
    assert!(
        refused["answer"].as_str().unwrap().contains("550"),
        "{refused}"
    );
    assert_eq!(smtp.messages().len(), 1);
    // Bad input and the permission.
    let problem = server
        .post("/api/settings/test-mail", &root, json!({"to": "nobody"}))
        .problem(400, "INVALID_INPUT");
    assert!(problem["errors"]["to"].is_array(), "{problem}");
    server
        .post("/api/settings/test-mail", &vera, json!({}))
        .problem(403, "FORBIDDEN");
    // Each attempt audited with its recipient and outcome, never the message.
    let audit = server.get("/api/audit?action=mail", &root).expect(200);
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["outcome"] == "SUCCESS"
            && e["detail"].as_str().unwrap().contains("root@example.com")));
    assert!(entries.iter().any(|e| e["outcome"] == "FAILURE"
        && e["detail"].as_str().unwrap().contains("refuse@example.com")));
    assert!(!audit.to_string().contains("This is a test message"));

    // The SMTP server gone: reported as not delivered.
    drop(smtp);
    let down = server
        .post("/api/settings/test-mail", &root, json!({}))
        .expect(200);
    assert_eq!(down["delivered"], false, "{down}");
}

#[test]
fn without_e_mail_configured_a_test_message_is_refused_and_says_how() {
    let server = Server::start();
    let root = server.root();
    let problem = server
        .post("/api/settings/test-mail", &root, json!({}))
        .problem(409, "STATE_CONFLICT");
    assert!(
        problem["detail"].as_str().unwrap().contains("--smtp-url"),
        "{problem}"
    );
    // The directory in process says the same.
    let session = keyward::core::model::Credential::Session(
        server
            .h
            .dir
            .sign_in("root", &crate::common::secret(crate::common::PASSWORD))
            .unwrap()
            .access_token,
    );
    assert!(matches!(
        server.h.dir.send_test_mail(&session, None),
        Err(keyward::core::Error::StateConflict(_))
    ));
}

#[test]
fn starttls_is_required_and_the_servers_certificate_checked_through_a_ca_file() {
    let (ca_pem, certificate, key) = crate::common::private_ca();
    let smtp = Smtp::start_with_starttls(&certificate, &key);
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let folder = tempfile::TempDir::new().unwrap();
    let ca_file = folder.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let test_message = |ca: Option<&Path>| {
        let mail = MailConfig::parse(&url, "keyward@example.com", None, ca).unwrap();
        let server = Server::with_mailer(Arc::new(mail));
        let root = server.root();
        server
            .post("/api/settings/test-mail", &root, json!({}))
            .expect(200)
    };
    // The system's roots do not know the private CA: refused, and said why.
    let untrusted = test_message(None);
    assert_eq!(untrusted["delivered"], false, "{untrusted}");
    assert!(smtp.messages().is_empty());
    // Trusted through the CA file: the message goes out over TLS.
    let trusted = test_message(Some(&ca_file));
    assert_eq!(trusted["delivered"], true, "{trusted}");
    wait_for("the message to arrive", Duration::from_secs(10), || {
        smtp.messages().len() == 1
    });
    // smtp:// to a server without STARTTLS is refused, never sent in plain text.
    let plain = Smtp::start();
    let mail = MailConfig::parse(
        &format!("smtp://127.0.0.1:{}", plain.port),
        "keyward@example.com",
        None,
        None,
    )
    .unwrap();
    let server = Server::with_mailer(Arc::new(mail));
    let root = server.root();
    let refused = server
        .post("/api/settings/test-mail", &root, json!({}))
        .expect(200);
    assert_eq!(refused["delivered"], false, "{refused}");
    assert!(plain.messages().is_empty());
}

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
        Smtp::start_with(None, free_port())
    }

    /// A server on a port chosen before (one that was down, say).
    pub fn start_on(port: u16) -> Smtp {
        Smtp::start_with(None, port)
    }

    /// An SMTP server offering STARTTLS with this PEM certificate and key.
    pub fn start_with_starttls(certificate: &str, key: &str) -> Smtp {
        Smtp::start_with(Some((certificate, key)), free_port())
    }

    fn start_with(tls: Option<(&str, &str)>, port: u16) -> Smtp {
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

    /// The messages received so far, decoded: `to` (the envelope's), `from`, `subject`,
    /// `text` and `html`.
    pub fn decoded(&self) -> Vec<serde_json::Value> {
        let count = self.messages().len();
        (0..count)
            .map(|n| {
                let path = self.maildir.path().join(format!("{n:04}.json"));
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
            })
            .collect()
    }

    /// Waits until `count` messages arrived, and returns them decoded.
    #[track_caller]
    pub fn wait_for(&self, count: usize) -> Vec<serde_json::Value> {
        wait_for("the messages to arrive", Duration::from_secs(20), || {
            self.messages().len() >= count
        });
        self.decoded()
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

/// An SMTP server on 127.0.0.1 and a Keyward server mailing through it.
fn mailing_server(smtp_port: u16) -> Server {
    Server::mailing(crate::common::Harness::sqlite(), plain_mailer(smtp_port))
}

use crate::common::Harness;

/// Runs a test on SQLite and on PostgreSQL: the e-mail's rows are in every store.
macro_rules! on_every_store {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { super::$name(crate::common::Harness::sqlite()); } )+
        }
        mod on_postgres {
            $( #[test] fn $name() { super::$name(crate::common::Harness::postgres()); } )+
        }
    };
}

on_every_store!(
    two_servers_on_one_directory_warn_each_key_owner_once,
    a_crashed_servers_messages_are_taken_over_once_its_heartbeat_ends,
    with_the_smtp_server_down_the_link_is_offered_and_a_retry_delivers_once_it_is_back,
    a_message_unsent_when_the_server_stops_shows_as_not_delivered_after_the_restart,
    key_owners_are_warned_14_days_and_1_day_before_expiry_once_also_after_a_restart,
);

fn plain_mailer(smtp_port: u16) -> Arc<MailConfig> {
    Arc::new(
        MailConfig::parse(
            &format!("smtp+plain://127.0.0.1:{smtp_port}"),
            "Keyward <keyward@example.com>",
            None,
            None,
        )
        .unwrap(),
    )
}

/// Adds an invited user (display name: the user name) over HTTP: their id and the reply.
fn invite(server: &Server, token: &str, name: &str, email: &str) -> (String, serde_json::Value) {
    let created = server
        .post(
            "/api/users",
            token,
            json!({"userName": name, "displayName": name, "email": email}),
        )
        .expect(201);
    (created["id"].as_str().unwrap().to_owned(), created)
}

/// The link in a message's text.
fn link_in(text: &str) -> String {
    text.split_whitespace()
        .find(|word| word.contains("#token="))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_owned()
}

/// Waits until the user's last e-mail has this status, and returns the user.
#[track_caller]
fn wait_for_mail(server: &Server, token: &str, user_id: &str, status: &str) -> serde_json::Value {
    let path = format!("/api/users/{user_id}");
    let mut user = json!(null);
    wait_for(
        &format!("the e-mail to be {status}"),
        Duration::from_secs(20),
        || {
            user = server.get(&path, token).expect(200);
            user["mail"]["status"] == status
        },
    );
    user
}

#[test]
fn an_invitation_is_e_mailed_and_its_link_works_in_a_browser() {
    let _one_browser = super::browser::BROWSER_LOCK
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let smtp = Smtp::start();
    let server = mailing_server(smtp.port);
    let root = server.root();
    let created = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "nina", "displayName": "Nina Newcomer",
                   "email": "nina@example.com",
                   "roles": [keyward::core::permission::BuiltinRole::Viewer.id()]}),
        )
        .expect(201);
    // Queued as the request is answered; the link is offered all the same.
    assert_eq!(created["invitationMail"]["kind"], "INVITATION", "{created}");
    assert_eq!(created["invitationMail"]["to"], "nina@example.com");
    let offered = created["inviteLink"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    let messages = smtp.wait_for(1);
    let message = &messages[0];
    assert_eq!(message["to"], json!(["nina@example.com"]));
    assert_eq!(message["subject"], "You are invited to Keyward");
    let text = message["text"].as_str().unwrap();
    assert!(text.contains("Hello Nina Newcomer"), "{text}");
    assert!(text.contains("invited you to Keyward"), "{text}");
    assert!(text.contains("Your user name is nina"), "{text}");
    assert!(text.contains("until"), "{text}");
    let link = link_in(text);
    assert_eq!(
        link, offered,
        "the message carries the link the admin was shown"
    );
    let html = message["html"].as_str().unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");

    let user = wait_for_mail(&server, &root, &id, "SENT");
    // The link rests nowhere: not in the directory's file, nor in its write-ahead log.
    let token = link.rsplit_once("#token=").unwrap().1;
    for file in [
        server.h.path.clone(),
        server.h.path.with_extension("db-wal"),
    ] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is in {}",
            file.display()
        );
    }
    let mail = &user["mail"];
    assert_eq!(mail["to"], "nina@example.com");
    assert_eq!(mail["attempts"], 1);
    assert!(
        mail["reason"].as_str().unwrap().starts_with("250"),
        "{mail}"
    );
    assert!(mail.get("nextAttemptTime").is_none(), "{mail}");
    // Lists do not carry it.
    let listed = server.get("/api/users?search=nina", &root).expect(200);
    assert!(listed["users"][0].get("mail").is_none(), "{listed}");

    // The link from the message, in a real browser: the password is set, nina is ACTIVE.
    let browser = super::browser::Browser::start();
    browser.goto(&link);
    browser.wait_for_page();
    assert_eq!(browser.text("h1"), "Welcome to Keyward");
    browser.type_into("#password", crate::common::PASSWORD);
    browser.type_into("#confirm", crate::common::PASSWORD);
    browser.click("#submit");
    browser.wait_until("the success message", |b| b.displayed("#done"));
    assert_eq!(
        server.get(&format!("/api/users/{id}"), &root).expect(200)["status"],
        "ACTIVE"
    );
    server.login("nina", crate::common::PASSWORD);

    // Queued and sent, audited with the recipient; never the link or the text.
    let audit = server.get("/api/audit?action=mail", &root).expect(200);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"mail.queued") && actions.contains(&"mail.sent"),
        "{audit}"
    );
    let everything = server
        .get("/api/audit?pageSize=500", &root)
        .expect(200)
        .to_string();
    assert!(!everything.contains(token), "{everything}");
    assert!(!everything.contains("Choose your password"), "{everything}");
    assert!(
        everything.contains("invitation to nina@example.com"),
        "{everything}"
    );
}

#[test]
fn a_reset_mail_ends_the_old_sessions_when_its_link_is_used() {
    let smtp = Smtp::start();
    let server = mailing_server(smtp.port);
    let root = server.root();
    let ann = server.user(
        &root,
        "ann",
        &[keyward::core::permission::BuiltinRole::Viewer.id()],
    );
    let id = ann["id"].as_str().unwrap();
    let old_session = server.login("ann", crate::common::PASSWORD);
    let reset = server
        .post(&format!("/api/users/{id}/resetpassword"), &root, json!({}))
        .expect(200);
    assert_eq!(reset["mail"]["kind"], "PASSWORD_RESET", "{reset}");
    let message = &smtp.wait_for(1)[0];
    assert_eq!(message["subject"], "Reset your Keyward password");
    let link = link_in(message["text"].as_str().unwrap());
    assert!(link.contains("/reset#token="), "{link}");
    wait_for_mail(&server, &root, id, "SENT");
    let token = link.rsplit_once("#token=").unwrap().1;
    server
        .post(
            "/api/auth/complete-reset",
            "",
            json!({"token": token, "password": "quartz lantern meadow 58"}),
        )
        .expect(200);
    server
        .get("/api/me", &old_session)
        .problem(401, "UNAUTHENTICATED");
    server.login("ann", "quartz lantern meadow 58");
}

fn with_the_smtp_server_down_the_link_is_offered_and_a_retry_delivers_once_it_is_back(h: Harness) {
    let port = free_port();
    let server = Server::mailing(h, plain_mailer(port));
    let root = server.root();
    let (id, created) = invite(&server, &root, "olga", "olga@example.com");
    assert!(created["inviteLink"].as_str().unwrap().contains("#token="));
    let user = wait_for_mail(&server, &root, &id, "FAILED");
    let mail = &user["mail"];
    assert_eq!(mail["attempts"], 1, "{mail}");
    assert!(
        mail["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{mail}"
    );
    assert!(mail["nextAttemptTime"].is_string(), "tried again: {mail}");
    // A new invitation meanwhile is offered too, and mailed on its own.
    let again = server
        .post(&format!("/api/users/{id}/invite"), &root, json!({}))
        .expect(200);
    let link = again["inviteLink"].as_str().unwrap().to_owned();

    // Back: the next attempt (30 s later by the directory's clock) delivers it.
    let smtp = Smtp::start_on(port);
    server.h.clock.advance(chrono::TimeDelta::seconds(31));
    let user = wait_for_mail(&server, &root, &id, "SENT");
    assert_eq!(user["mail"]["attempts"], 2, "{user}");
    // Only the new link: the first message, replaced before it went out, is not sent.
    let messages = smtp.wait_for(1);
    assert_eq!(link_in(messages[0]["text"].as_str().unwrap()), link);
    // The audit has each step.
    let audit = server.get("/api/audit?action=mail", &root).expect(200);
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "mail.failed"
        && e["outcome"] == "FAILURE"
        && e["detail"].as_str().unwrap().contains("trying again")));
    assert!(entries.iter().any(|e| e["action"] == "mail.sent"));
    // Delivered once each: later scans send nothing more.
    server.h.clock.advance(chrono::TimeDelta::hours(2));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(smtp.messages().len(), 1);
    assert!(server
        .get("/api/audit?action=mail.not_sent", &root)
        .expect(200)
        .to_string()
        .contains("replaced by a newer invitation"));
}

#[test]
fn a_refusal_5xx_is_not_tried_again() {
    let smtp = Smtp::start();
    let server = mailing_server(smtp.port);
    let root = server.root();
    let (id, _) = invite(&server, &root, "rex", "refuse-rex@example.com");
    let user = wait_for_mail(&server, &root, &id, "FAILED");
    let mail = &user["mail"];
    assert!(mail["reason"].as_str().unwrap().contains("550"), "{mail}");
    assert!(mail.get("nextAttemptTime").is_none(), "{mail}");
    server.h.clock.advance(chrono::TimeDelta::hours(3));
    std::thread::sleep(Duration::from_secs(2));
    let user = server.get(&format!("/api/users/{id}"), &root).expect(200);
    assert_eq!(user["mail"]["attempts"], 1, "{user}");
    assert!(smtp.messages().is_empty());
    let audit = server
        .get("/api/audit?action=mail.failed", &root)
        .expect(200);
    assert!(
        audit["entries"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not tried again"),
        "{audit}"
    );
}

fn a_message_unsent_when_the_server_stops_shows_as_not_delivered_after_the_restart(h: Harness) {
    let port = free_port();
    let server = Server::mailing(h, plain_mailer(port));
    let root = server.root();
    let (id, _) = invite(&server, &root, "pia", "pia@example.com");
    wait_for_mail(&server, &root, &id, "FAILED");
    // Stopped while it waits for its next attempt; the SMTP server comes back meanwhile.
    let h = server.stop();
    let smtp = Smtp::start_on(port);
    let server = Server::mailing(h, plain_mailer(port));
    server.h.clock.advance(chrono::TimeDelta::minutes(10));
    std::thread::sleep(Duration::from_secs(2));
    let user = server.get(&format!("/api/users/{id}"), &root).expect(200);
    let mail = &user["mail"];
    assert_eq!(mail["status"], "FAILED", "{mail}");
    assert!(
        mail["reason"].as_str().unwrap().contains("stopped before"),
        "{mail}"
    );
    assert!(mail.get("nextAttemptTime").is_none(), "{mail}");
    // Its link was in memory only: nothing can send it now. A new invitation can.
    assert!(smtp.messages().is_empty());
    server
        .post(&format!("/api/users/{id}/invite"), &root, json!({}))
        .expect(200);
    smtp.wait_for(1);
    wait_for_mail(&server, &root, &id, "SENT");
}

fn key_owners_are_warned_14_days_and_1_day_before_expiry_once_also_after_a_restart(h: Harness) {
    let smtp = Smtp::start();
    let server = Server::mailing(h, plain_mailer(smtp.port));
    let root = server.root();
    let me = server.get("/api/me", &root).expect(200);
    let root_id = me["id"].as_str().unwrap().to_owned();
    let start = keyward::core::clock::Clock::now(&server.h.clock);
    let expires = |days: i64| (start + chrono::TimeDelta::days(days)).to_rfc3339();
    let key = |name: &str, days: i64| {
        server
            .post(
                &format!("/api/users/{root_id}/keys"),
                &root,
                json!({"name": name, "description": "", "expiresTime": expires(days)}),
            )
            .expect(201)
    };
    key("deploy", 30);
    // Made to live less than 14 days: only the 1-day warning.
    key("short", 10);
    // Revoked: no warning.
    let revoked = key("old", 20);
    server
        .post(
            &format!("/api/keys/{}/revoke", revoked["id"].as_str().unwrap()),
            &root,
            json!({}),
        )
        .expect(200);
    let settle = || std::thread::sleep(Duration::from_secs(2));
    settle();
    assert!(smtp.messages().is_empty(), "nothing due yet");

    // 9 days and an hour on: "short" expires within a day (and gets no 14-day warning).
    server
        .h
        .clock
        .advance(chrono::TimeDelta::days(9) + chrono::TimeDelta::hours(1));
    let messages = smtp.wait_for(1);
    assert_eq!(messages[0]["to"], json!(["root@example.com"]));
    assert_eq!(
        messages[0]["subject"],
        "Your Keyward API key \"short\" expires within a day"
    );
    // 16 days on: "deploy" expires in 14 days.
    server.h.clock.advance(chrono::TimeDelta::days(7));
    let messages = smtp.wait_for(2);
    assert_eq!(
        messages[1]["subject"],
        "Your Keyward API key \"deploy\" expires in 14 days"
    );
    let text = messages[1]["text"].as_str().unwrap();
    assert!(text.contains("create a new key"), "{text}");
    // Once: later looks, and a restart, never send it again.
    server.h.clock.advance(chrono::TimeDelta::minutes(5));
    settle();
    let h = server.stop();
    let server = Server::mailing(h, plain_mailer(smtp.port));
    server.h.clock.advance(chrono::TimeDelta::minutes(5));
    settle();
    assert_eq!(smtp.messages().len(), 2, "{:?}", smtp.decoded());

    // 29 days and an hour on: "deploy" expires within a day.
    server
        .h
        .clock
        .advance(chrono::TimeDelta::days(13) + chrono::TimeDelta::hours(1));
    let messages = smtp.wait_for(3);
    assert_eq!(
        messages[2]["subject"],
        "Your Keyward API key \"deploy\" expires within a day"
    );
    let h = server.stop();
    let server = Server::mailing(h, plain_mailer(smtp.port));
    server.h.clock.advance(chrono::TimeDelta::minutes(5));
    settle();
    assert_eq!(smtp.messages().len(), 3, "{:?}", smtp.decoded());
    // Each audited, queued by the directory itself.
    let root = server.login("root", crate::common::PASSWORD);
    let audit = server
        .get("/api/audit?action=mail.queued", &root)
        .expect(200);
    assert_eq!(audit["entries"].as_array().unwrap().len(), 3, "{audit}");
    drop(server);
}

/// What a server that crashed leaves behind: its heartbeat, and the rows it held (an
/// invitation waiting for its next attempt, a key warning being sent), written straight into
/// the store.
fn crashed_server_left(h: &Harness, rows: &[keyward::rules::storage::DeliveryRow]) {
    use keyward::rules::storage::{End, Store};
    let now = keyward::core::clock::Clock::now(&h.clock);
    let write = |tx: &dyn keyward::rules::storage::Tx| {
        tx.beat("crashed-server", now + chrono::TimeDelta::minutes(3))?;
        rows.iter().try_for_each(|row| tx.insert_delivery(row))
    };
    let clock = Arc::new(h.clock.clone());
    match &h.database {
        Some(url) => {
            keyward::store::PostgresDirectory::connect_with_clock(url, &Default::default(), clock)
                .unwrap()
                .store()
                .write(End::Commit, write)
                .unwrap()
        }
        None => keyward::store::SqliteDirectory::open_with_clock(&h.path, clock)
            .unwrap()
            .store()
            .write(End::Commit, write)
            .unwrap(),
    }
}

fn a_crashed_servers_messages_are_taken_over_once_its_heartbeat_ends(h: Harness) {
    use keyward::core::model::{MailKind, MailStatus};
    use keyward::rules::storage::DeliveryRow;
    let smtp = Smtp::start();
    let root = h.root();
    let quin = h
        .dir
        .create_user(
            &root,
            keyward::core::model::NewUser {
                user_name: "quin".into(),
                display_name: "Quin".into(),
                email: "quin@example.com".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .user;
    let root_id = h.dir.me(&root).unwrap().id;
    let now = keyward::core::clock::Clock::now(&h.clock);
    let key = h
        .dir
        .create_key(
            &root,
            &root_id,
            keyward::core::model::NewKey {
                name: "nightly".into(),
                description: String::new(),
                expires_time: Some(now + chrono::TimeDelta::hours(20)),
            },
        )
        .unwrap();
    let row = |id: &str, user_id: &str, key_id: Option<&str>, kind, to: &str, status| DeliveryRow {
        id: id.into(),
        user_id: user_id.into(),
        key_id: key_id.map(Into::into),
        kind,
        recipient: to.into(),
        status,
        reason: None,
        attempts: 1,
        created_time: now,
        updated_time: now,
        next_attempt_time: Some(now),
        sender_id: Some("crashed-server".into()),
    };
    crashed_server_left(
        &h,
        &[
            row(
                "d-invite",
                &quin.id,
                None,
                MailKind::Invitation,
                "quin@example.com",
                MailStatus::Failed,
            ),
            row(
                "d-warning",
                &root_id,
                Some(&key.key.id),
                MailKind::KeyExpiresIn1Day,
                "root@example.com",
                MailStatus::Sending,
            ),
        ],
    );
    let server = Server::mailing(h, plain_mailer(smtp.port));
    let root = server.login("root", crate::common::PASSWORD);
    // While its heartbeat lasts, the crashed server might still be sending: nothing is taken.
    std::thread::sleep(Duration::from_secs(2));
    assert!(smtp.messages().is_empty());
    let user = server
        .get(&format!("/api/users/{}", quin.id), &root)
        .expect(200);
    assert_eq!(user["mail"]["status"], "FAILED", "{user}");
    assert!(user["mail"]["nextAttemptTime"].is_string(), "{user}");

    // Its heartbeat over: the warning is rebuilt and sent, the link cannot be and says so.
    server.h.clock.advance(chrono::TimeDelta::minutes(4));
    let messages = smtp.wait_for(1);
    assert_eq!(
        messages[0]["subject"],
        "Your Keyward API key \"nightly\" expires within a day"
    );
    let user = wait_for_mail(&server, &root, &quin.id, "FAILED");
    let mut mail = user["mail"].clone();
    wait_for(
        "the invitation to be given up",
        Duration::from_secs(20),
        || {
            mail = server
                .get(&format!("/api/users/{}", quin.id), &root)
                .expect(200)["mail"]
                .clone();
            mail.get("nextAttemptTime").is_none()
        },
    );
    assert!(
        mail["reason"].as_str().unwrap().contains("stopped before"),
        "{mail}"
    );
    server.h.clock.advance(chrono::TimeDelta::minutes(5));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(smtp.messages().len(), 1, "each taken over once");
}

#[test]
fn an_invitation_accepted_before_its_e_mail_went_out_is_not_sent() {
    let port = free_port();
    let server = mailing_server(port);
    let root = server.root();
    let (id, created) = invite(&server, &root, "una", "una@example.com");
    wait_for_mail(&server, &root, &id, "FAILED");
    // The admin copied the link; Una uses it while the SMTP server is still down.
    let link = created["inviteLink"].as_str().unwrap();
    let token = link.rsplit_once("#token=").unwrap().1;
    server
        .post(
            "/api/auth/accept-invitation",
            "",
            json!({"token": token, "password": crate::common::PASSWORD}),
        )
        .expect(200);
    let smtp = Smtp::start_on(port);
    server.h.clock.advance(chrono::TimeDelta::seconds(31));
    let user = wait_for_mail(&server, &root, &id, "NOT_SENT");
    assert!(
        user["mail"]["reason"]
            .as_str()
            .unwrap()
            .contains("accepted meanwhile"),
        "{user}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(smtp.messages().is_empty());
}

fn two_servers_on_one_directory_warn_each_key_owner_once(h: Harness) {
    let smtp = Smtp::start();
    let root = h.root();
    let root_id = h.dir.me(&root).unwrap().id;
    let now = keyward::core::clock::Clock::now(&h.clock);
    for n in 0..20 {
        h.dir
            .create_key(
                &root,
                &root_id,
                keyward::core::model::NewKey {
                    name: format!("key-{n}"),
                    description: String::new(),
                    expires_time: Some(now + chrono::TimeDelta::days(30)),
                },
            )
            .unwrap();
    }
    // Two servers' directories on the same file or database, both mailing, one clock.
    let links = keyward::wire::mail_links("http://127.0.0.1:1");
    let first = h.reopen(Some((plain_mailer(smtp.port), links.clone())));
    let second = h.reopen(Some((plain_mailer(smtp.port), links)));
    h.clock.advance(chrono::TimeDelta::days(17));
    let messages = smtp.wait_for(20);
    std::thread::sleep(Duration::from_secs(3));
    h.clock.advance(chrono::TimeDelta::minutes(2));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        smtp.messages().len(),
        20,
        "one warning per key: {messages:?}"
    );
    drop((first, second));
}

#[test]
fn a_warning_for_a_key_revoked_while_it_waits_for_its_retry_is_not_sent() {
    let port = free_port();
    let server = mailing_server(port);
    let root = server.root();
    let root_id = server.get("/api/me", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = keyward::core::clock::Clock::now(&server.h.clock);
    let key = server
        .post(
            &format!("/api/users/{root_id}/keys"),
            &root,
            json!({"name": "ci", "description": "",
                   "expiresTime": (start + chrono::TimeDelta::days(20)).to_rfc3339()}),
        )
        .expect(201);
    server.h.clock.advance(chrono::TimeDelta::days(7));
    let root = server.login("root", crate::common::PASSWORD);
    let audit_has = |action: &str, text: &str| {
        server
            .get(&format!("/api/audit?action={action}"), &root)
            .expect(200)
            .to_string()
            .contains(text)
    };
    wait_for("the warning to fail", Duration::from_secs(20), || {
        audit_has("mail.failed", "trying again")
    });
    server
        .post(
            &format!("/api/keys/{}/revoke", key["id"].as_str().unwrap()),
            &root,
            json!({}),
        )
        .expect(200);
    let smtp = Smtp::start_on(port);
    server.h.clock.advance(chrono::TimeDelta::seconds(31));
    wait_for("the warning to be dropped", Duration::from_secs(20), || {
        audit_has("mail.not_sent", "the key is not in use any more")
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(smtp.messages().is_empty());
}

#[test]
fn a_stalling_smtp_server_holds_up_no_request() {
    // An SMTP server that takes connections and never says a word.
    let stalling = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stalling.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        while let Ok((connection, _)) = stalling.accept() {
            open.push(connection);
            if open.len() == 2 {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(20));
    });
    let server = mailing_server(port);
    let root = server.root();
    let (first, created) = invite(&server, &root, "sia", "sia@example.com");
    assert_eq!(created["invitationMail"]["status"], "SENDING", "{created}");
    // The worker is stuck in the conversation; requests are answered all the same.
    let (second, _) = invite(&server, &root, "tao", "tao@example.com");
    server
        .post(&format!("/api/users/{first}/invite"), &root, json!({}))
        .expect(200);
    for id in [&first, &second] {
        let user = server.get(&format!("/api/users/{id}"), &root).expect(200);
        assert_eq!(user["mail"]["status"], "SENDING", "{user}");
    }
    drop(server);
    drop(held);
}

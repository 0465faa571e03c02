//! The `keyward` binary, run as a real process.

use std::process::Command;

fn keyward() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .env_remove("KEYWARD_DB")
        .env_remove("KEYWARD_ADMIN_PASSWORD");
    command
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
}

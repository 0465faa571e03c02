//! The Linux package as an administrator installs it: `apt-get install ./dist/keyward_….deb`
//! (built by `scripts/package.sh deb`; `./scripts/test.sh` builds it before the tests), the
//! command on PATH, the desktop entry and its icon, the installed app opened under Xvfb to its
//! first screen, and `apt-get remove`. Needs root, as CI and `./scripts/test.sh` have.

use crate::common::{run, screenshot, window_titled, PASSWORD};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn apt_get(args: &[&str]) {
    let ran = run(
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "",
    );
    assert_eq!(
        ran.code,
        Some(0),
        "apt-get {args:?}: {}{}",
        ran.stdout,
        ran.stderr
    );
}

#[test]
fn the_deb_installs_keyward_on_path_with_a_desktop_entry_opens_the_app_and_removes_cleanly() {
    let deb =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("dist/keyward_{VERSION}_amd64.deb"));
    assert!(
        deb.is_file(),
        "{} is missing: run ./scripts/package.sh deb first (./scripts/test.sh does)",
        deb.display()
    );
    apt_get(&[
        "install",
        "-y",
        "--no-install-recommends",
        deb.to_str().unwrap(),
    ]);

    let version = run(Command::new("keyward").arg("--version"), "").ok();
    assert_eq!(version.stdout.trim(), format!("keyward {VERSION}"));
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("team.db");
    run(
        Command::new("keyward")
            .args([
                "init",
                "--admin-user",
                "root",
                "--admin-email",
                "root@example.com",
                "--db",
            ])
            .arg(&db)
            .env("KEYWARD_ADMIN_PASSWORD", PASSWORD),
        "",
    )
    .ok();
    let entry = std::fs::read_to_string("/usr/share/applications/keyward.desktop").unwrap();
    assert!(entry.lines().any(|l| l == "Exec=keyward"), "{entry}");
    assert!(entry.lines().any(|l| l == "Icon=keyward"), "{entry}");
    assert!(Path::new("/usr/share/icons/hicolor/128x128/apps/keyward.png").is_file());
    run(
        Command::new("desktop-file-validate").arg("/usr/share/applications/keyward.desktop"),
        "",
    )
    .ok();

    // The installed app, as the desktop entry starts it, to its first screen.
    let mut app = Command::new("keyward")
        .arg("--db")
        .arg(&db)
        .env("KEYWARD_CONFIG_DIR", tmp.path().join("config"))
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let title = format!("Keyward — {}", db.display());
    let window = window_titled(&title, Duration::from_secs(60));
    // The page needs a moment after the window maps.
    std::thread::sleep(Duration::from_secs(3));
    assert!(app.try_wait().unwrap().is_none(), "the app stays open");
    let shot = screenshot(&window, "deb", "installed-app-first-screen");
    eprintln!("screenshot: {}", shot.display());
    let _ = Command::new("kill")
        .args(["-TERM", &app.id().to_string()])
        .status();
    app.wait().unwrap();

    apt_get(&["remove", "-y", "keyward"]);
    assert!(!Path::new("/usr/bin/keyward").exists());
    assert!(!Path::new("/usr/share/applications/keyward.desktop").exists());
    assert!(
        db.is_file(),
        "removing the package leaves directory files alone"
    );
}

//! End-to-end tests: the real desktop binary in the real webview, driven over WebDriver
//! (tauri-driver in front of WebKitWebDriver) on the X display the test command provides.
//! Each test leaves a screenshot in `tests/output/e2e/`.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One desktop session at a time: tauri-driver listens on fixed ports.
static DRIVER_LOCK: Mutex<()> = Mutex::new(());
const DRIVER: &str = "http://127.0.0.1:4444";

fn tauri_driver() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tauri-driver"))
            .find(|candidate| candidate.is_file())
    });
    let in_cargo =
        std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo/bin/tauri-driver"));
    on_path
        .or(in_cargo.filter(|p| p.is_file()))
        .expect("tauri-driver is not installed: run ./scripts/test.sh, which installs it")
}

/// A running tauri-driver and one WebDriver session on the Keyward window.
pub struct App {
    driver: Child,
    http: reqwest::blocking::Client,
    session: String,
}

impl App {
    pub fn open(db: &Path) -> App {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "end-to-end tests need an X display: run them through ./scripts/test.sh (xvfb-run)"
        );
        let driver = Command::new(tauri_driver())
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("KEYWARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": env!("CARGO_BIN_EXE_keyward"),
            "args": ["--db", db.to_str().unwrap()],
        }}}});
        let deadline = Instant::now() + Duration::from_secs(30);
        let session = loop {
            match http
                .post(format!("{DRIVER}/session"))
                .json(&capabilities)
                .send()
            {
                Ok(response) => {
                    let body: Value = response.json().expect("session reply");
                    let id = body["value"]["sessionId"].as_str().map(str::to_owned);
                    break id.unwrap_or_else(|| panic!("no session: {body}"));
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(error) => panic!("tauri-driver did not answer: {error}"),
            }
        };
        App {
            driver,
            http,
            session,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{DRIVER}/session/{}/{path}", self.session)
    }

    pub fn script(&self, script: &str) -> Value {
        let reply: Value = self
            .http
            .post(self.url("execute/sync"))
            .json(&json!({"script": script, "args": []}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        reply["value"].clone()
    }

    /// Polls until the element's text satisfies `accept`; the UI fills in asynchronously.
    pub fn wait_for_text(&self, selector: &str, accept: impl Fn(&str) -> bool) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            serde_json::to_string(selector).unwrap()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.script(&script).as_str().unwrap_or_default().to_owned();
            if accept(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{selector} never matched; last text: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Captures the virtual screen the window is on. (WebKitWebDriver's own screenshot
    /// endpoint hangs under Xvfb without compositing, so the X server is asked instead.)
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/e2e");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-window", "root"])
            .arg(&path)
            .status()
            .expect("ImageMagick's import (installed by ./scripts/test.sh)");
        assert!(status.success(), "screenshot failed");
        path
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{DRIVER}/session/{}", self.session))
            .send();
        // SIGTERM lets tauri-driver stop WebKitWebDriver too.
        let _ = Command::new("kill")
            .arg(self.driver.id().to_string())
            .status();
        let _ = self.driver.wait();
    }
}

#[test]
fn the_app_opens_a_window_on_a_new_directory_file() {
    let _one_at_a_time = DRIVER_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("first-run.db");
    let app = App::open(&db);
    let status = app.wait_for_text("#status", |t| t.contains("SuperAdmin"));
    assert_eq!(status, "This directory is new: it has no SuperAdmin yet.");
    let place = app.wait_for_text("#where", |t| t.ends_with(".db"));
    assert_eq!(place, db.display().to_string());
    let shot = app.screenshot("first-run");
    assert!(std::fs::metadata(shot).unwrap().len() > 1000);
    assert!(db.exists(), "the app created the directory file");
}

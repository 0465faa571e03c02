//! A WebDriver client for the desktop app: tauri-driver in front of WebKitWebDriver, on the
//! X display the caller provides. Used by the end-to-end tests and the desktop benchmark.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One desktop session at a time: tauri-driver listens on fixed ports.
pub static DRIVER_LOCK: Mutex<()> = Mutex::new(());
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
    /// When the app was asked to start.
    pub started: Instant,
}

impl App {
    /// Opens the app on `db`; its list of recent files lives beside `db`, not in the home folder.
    pub fn open(db: &Path) -> App {
        App::launch(
            &["--db", db.to_str().unwrap()],
            &db.with_extension("config"),
        )
    }

    /// Starts the app with these arguments; its profiles and recent files live in `config`.
    pub fn launch(args: &[&str], config: &Path) -> App {
        App::launch_with(args, config, &[])
    }

    /// [`App::launch`], with these environment variables for the app as well.
    pub fn launch_with(args: &[&str], config: &Path, env: &[(&str, &str)]) -> App {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "end-to-end tests need an X display: run them through ./scripts/test.sh (xvfb-run)"
        );
        let driver = Command::new(tauri_driver())
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("KEYWARD_LOG", "warn")
            .env("KEYWARD_CONFIG_DIR", config)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver");
        keyward::trust::ensure_crypto_provider();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{DRIVER}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": env!("CARGO_BIN_EXE_keyward"),
            "args": args,
        }}}});
        let started = Instant::now();
        let body: Value = http
            .post(format!("{DRIVER}/session"))
            .json(&capabilities)
            .send()
            .and_then(|r| r.json())
            .expect("a session from tauri-driver");
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {body}"))
            .to_owned();
        App {
            driver,
            http,
            session,
            started,
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

    /// Runs `script` with `args` (available as `arguments[i]`).
    pub fn script_with(&self, script: &str, args: Value) -> Value {
        let reply: Value = self
            .http
            .post(self.url("execute/sync"))
            .json(&json!({"script": script, "args": args}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        reply["value"].clone()
    }

    /// Polls `script` until it returns something other than null/false/"" (the UI answers
    /// asynchronously), and returns that.
    pub fn wait_for(&self, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.script(script);
            let empty = matches!(&value, Value::Null | Value::Bool(false))
                || value.as_str() == Some("")
                || value.get("error").is_some();
            if !empty {
                return value;
            }
            if Instant::now() > deadline {
                let page = self.script("return document.body.innerText");
                panic!("never true: {script}\npage: {page}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for_element(&self, selector: &str) {
        self.wait_for(&format!(
            "return document.querySelector({}) !== null",
            serde_json::to_string(selector).unwrap()
        ));
    }

    pub fn exists(&self, selector: &str) -> bool {
        self.script(&format!(
            "return document.querySelector({}) !== null",
            serde_json::to_string(selector).unwrap()
        ))
        .as_bool()
        .unwrap()
    }

    pub fn click(&self, selector: &str) {
        self.wait_for_element(selector);
        self.script(&format!(
            "document.querySelector({}).click(); return true",
            serde_json::to_string(selector).unwrap()
        ));
    }

    pub fn text(&self, selector: &str) -> String {
        self.wait_for_element(selector);
        let script = format!(
            "return document.querySelector({}).textContent",
            serde_json::to_string(selector).unwrap()
        );
        self.script(&script).as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the element shows some text (error slots exist empty before an answer).
    pub fn wait_text(&self, selector: &str) -> String {
        let script = format!(
            "return document.querySelector({})?.textContent.trim()",
            serde_json::to_string(selector).unwrap()
        );
        self.wait_for(&script).as_str().unwrap().to_owned()
    }

    /// Fills the named controls of `form` (checkboxes take booleans) and submits it.
    pub fn fill(&self, form: &str, values: Value) {
        self.wait_for_element(form);
        self.script_with(
            r#"const [selector, values] = arguments;
               const form = document.querySelector(selector);
               for (const [name, value] of Object.entries(values)) {
                 const control = form.querySelector(`[name="${name}"]`);
                 if (!control) throw new Error(`no control ${name}`);
                 if (control.type === "checkbox" || control.type === "radio") control.checked = value;
                 else control.value = value;
                 control.dispatchEvent(new Event("input", {bubbles: true}));
                 control.dispatchEvent(new Event("change", {bubbles: true}));
               }
               form.requestSubmit();
               return true;"#,
            json!([form, values]),
        );
    }

    /// Goes to a screen of the app, e.g. `#/keys`.
    pub fn go(&self, hash: &str) {
        self.script(&format!(
            "location.hash = {}; return true",
            serde_json::to_string(hash).unwrap()
        ));
    }

    /// Presses keys as a user would (WebDriver actions), e.g. `&["\u{E009}", "n"]` for Ctrl+N.
    pub fn press(&self, keys: &[&str]) {
        let mut actions: Vec<Value> = keys
            .iter()
            .map(|k| json!({"type": "keyDown", "value": k}))
            .collect();
        actions.extend(
            keys.iter()
                .rev()
                .map(|k| json!({"type": "keyUp", "value": k})),
        );
        let reply: Value = self
            .http
            .post(self.url("actions"))
            .json(&json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(reply["value"].is_null(), "key actions refused: {reply}");
        let _ = self.http.delete(self.url("actions")).send();
    }

    pub fn sign_in(&self, user_name: &str, password: &str) {
        self.fill(
            "#sign-in-form",
            json!({"userName": user_name, "password": password}),
        );
    }

    pub fn sign_out(&self) {
        self.click("#sign-out");
        self.wait_for_element("#sign-in-form");
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

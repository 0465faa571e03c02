//! A headless Chromium driven by chromedriver over the W3C WebDriver HTTP API, for the
//! invitation and reset pages. Debian: `apt-get install chromium chromium-driver`
//! (scripts/test.sh installs them).

use super::support::free_port;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One browser at a time: two Chromiums on a two-core machine make each other slow.
pub static BROWSER_LOCK: Mutex<()> = Mutex::new(());

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

pub struct Browser {
    driver: Child,
    http: reqwest::blocking::Client,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn start() -> Browser {
        let chromedriver = on_path("chromedriver").expect(
            "chromedriver is not installed: apt-get install chromium chromium-driver \
             (./scripts/test.sh installs them)",
        );
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| on_path(name))
            .expect("chromium is not installed: apt-get install chromium chromium-driver");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = super::support::client_with_timeout(Duration::from_secs(60));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|status| status["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
        let profile = tempfile::TempDir::new().unwrap();
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=720,760".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut browser = Browser {
            driver,
            http,
            base,
            _profile: profile,
        };
        let session = browser.command(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }}}),
        );
        let id = session["sessionId"].as_str().expect("a session").to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser.command(
            "POST",
            "/timeouts",
            json!({"implicit": 0, "pageLoad": 20000, "script": 10000}),
        );
        browser
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let reply: Value = response.json().unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {reply}"
        );
        reply["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    pub fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found[ELEMENT].as_str().expect("an element").to_owned()
    }

    /// Replaces the text of an input with `text`, typed as keystrokes.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/clear"), json!({}));
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), json!({}));
    }

    /// The rendered text of an element (empty when it is hidden).
    pub fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.command("GET", &format!("/element/{id}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn displayed(&self, css: &str) -> bool {
        let id = self.element(css);
        self.command("GET", &format!("/element/{id}/displayed"), Value::Null) == json!(true)
    }

    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let id = self.element(css);
        self.command(
            "GET",
            &format!("/element/{id}/attribute/{name}"),
            Value::Null,
        )
        .as_str()
        .map(str::to_owned)
    }

    pub fn current_url(&self) -> String {
        self.command("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Polls until `done` holds (the page answers asynchronously), at most five seconds.
    #[track_caller]
    pub fn wait_until(&self, what: &str, done: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(self) {
            assert!(Instant::now() < deadline, "the page never showed: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the page has run its script (the form is ready for input).
    pub fn wait_for_page(&self) {
        self.wait_until("the page to load", |b| {
            b.script("return document.readyState", json!([])) == json!("complete")
        });
    }

    /// Saves a PNG screenshot of the window.
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.command("GET", "/screenshot", Value::Null);
        let png = decode_base64(encoded.as_str().expect("base64"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.base.contains("/session/") {
            let _ = self.http.delete(&self.base).send();
        }
        // The chromedriver this browser started, and only it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, c)| acc | value(*c) << (18 - 6 * i));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_decodes_as_webdriver_encodes_it() {
    assert_eq!(decode_base64("aGVsbG8="), b"hello");
    assert_eq!(decode_base64("aGVsbG8h"), b"hello!");
    assert_eq!(decode_base64("aGk="), b"hi");
}

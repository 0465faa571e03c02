//! The desktop app at scale: a release build in the real webview under Xvfb, on a directory of
//! 100 000 users and 300 000 keys. Reports start to sign-in screen, sign-in to the first user
//! list, search-to-rows and page-to-rows times (measured inside the page, from the input
//! event to the rows on screen), and the memory of the app and its WebKit processes.
//!
//! Run: `xvfb-run -a --server-args="-screen 0 1280x860x24" cargo bench --features
//! custom-protocol --bench desktop`. Sizes: KEYWARD_BENCH_USERS, KEYWARD_BENCH_KEYS;
//! KEYWARD_BENCH_DB keeps the fixture file, KEYWARD_BENCH_REUSE=1 uses a kept one again.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "support/fixture.rs"]
mod fixture;
#[path = "../tests/webdriver.rs"]
mod webdriver;

use fixture::{env_size, fresh_directory, seed, PASSWORD};
use webdriver::App;

fn fixture(users: usize, keys: usize, tmp: &tempfile::TempDir) -> PathBuf {
    let path = std::env::var_os("KEYWARD_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("desktop-bench.db"));
    if std::env::var_os("KEYWARD_BENCH_REUSE").is_some() && path.exists() {
        return path;
    }
    let started = Instant::now();
    drop(fresh_directory(&path));
    seed(&path, users, keys);
    eprintln!(
        "fixture: {users} users, {keys} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    path
}

/// Polls `script` every 5 ms until it is true; returns when that was.
fn until(app: &App, script: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if app.script(script) == json!(true) {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "never true: {script}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn loads(app: &App) -> Vec<Value> {
    app.script("return window.keywardMetrics.loads")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Sets the search box as a paste would (one input event) and waits for that query's rows.
fn search(app: &App, q: &str) -> f64 {
    let before = loads(app).len();
    app.script_with(
        "const s = document.getElementById('user-search'); s.value = arguments[0];
         s.dispatchEvent(new Event('input', {bubbles: true})); return true",
        json!([q]),
    );
    until(
        app,
        &format!("return window.keywardMetrics.loads.length > {before}"),
    );
    loads(app)[before]["ms"].as_f64().unwrap()
}

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * q).round() as usize]
}

/// RSS and PSS (kB) of every process whose name starts with one of `names`.
fn memory(names: &[&str]) -> Vec<(String, u64, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let dir = entry.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let comm = comm.trim().to_owned();
        if !names.iter().any(|n| comm.starts_with(n)) {
            continue;
        }
        let field = |file: &str, key: &str| {
            std::fs::read_to_string(dir.join(file))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0)
        };
        found.push((
            comm,
            field("status", "VmRSS:"),
            field("smaps_rollup", "Pss:"),
        ));
    }
    found
}

fn main() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "run under xvfb-run (see the header of benches/desktop.rs)"
    );
    let users = env_size("KEYWARD_BENCH_USERS", 100_000);
    let keys = env_size("KEYWARD_BENCH_KEYS", 300_000);
    let tmp = tempfile::TempDir::new().unwrap();
    let db = fixture(users, keys, &tmp);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "\nDesktop app (release, Xvfb): {users} users, {keys} keys, file {:.0} MB\n",
        size as f64 / 1e6
    );

    let app = App::open(&db);
    let sign_in_ready = until(&app, "return !!document.querySelector('#sign-in-form')");
    let start_ms = (sign_in_ready - app.started).as_secs_f64() * 1e3;
    app.sign_in("root", PASSWORD);
    let submitted = Instant::now();
    let listed = until(
        &app,
        "return document.querySelectorAll('#users-table tr[data-user]').length === 50",
    );
    let list_ms = (listed - submitted).as_secs_f64() * 1e3;
    println!("| step | time |\n|---|---|");
    println!("| start → sign-in screen ready | {start_ms:.0} ms |");
    println!("| sign-in (argon2id) → first 50 users on screen | {list_ms:.0} ms |");
    println!(
        "| start → first interactive user list (sum) | {:.0} ms |\n",
        start_ms + list_ms
    );

    println!("| search (input → rows on screen), 15 runs | p50 | p95 | max | matches |");
    println!("|---|---|---|---|---|");
    for q in [
        "nadia.berg",
        "kowalski",
        "zoe",
        "zo",
        "x",
        "nobody-matches-this",
    ] {
        let mut samples: Vec<f64> = (0..15)
            .map(|_| {
                search(&app, "");
                search(&app, q)
            })
            .collect();
        let matches = app.text("#users-summary");
        println!(
            "| `{q}` | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.95),
            percentile(&mut samples, 1.0),
            matches.split(" of ").nth(1).unwrap_or("?")
        );
    }

    // Typing, key by key, as WebDriver key events: the last keystroke to its rows.
    search(&app, "");
    app.click("#user-search");
    let before = loads(&app).len();
    for c in "kowalski".chars() {
        app.press(&[&c.to_string()]);
    }
    until(
        &app,
        "return window.keywardMetrics.loads.at(-1)?.q === 'kowalski'",
    );
    let typed = loads(&app);
    let last = typed.last().unwrap()["ms"].as_f64().unwrap();
    println!(
        "\nTyping `kowalski` key by key: {} queries for 8 keystrokes (the rest coalesced), last keystroke → rows {last:.1} ms\n",
        typed.len() - before
    );

    search(&app, "");
    let mut pages = Vec::new();
    for _ in 0..20 {
        let before = loads(&app).len();
        app.click("#next-page");
        until(
            &app,
            &format!("return window.keywardMetrics.loads.length > {before}"),
        );
        pages.push(loads(&app)[before]["ms"].as_f64().unwrap());
    }
    println!(
        "Next page (click → 50 rows on screen), 20 pages: p50 {:.1} ms, max {:.1} ms\n",
        percentile(&mut pages, 0.5),
        percentile(&mut pages, 1.0)
    );

    println!("| process | RSS | PSS |\n|---|---|---|");
    let mut rss_total = 0;
    let mut pss_total = 0;
    for (name, rss, pss) in memory(&["keyward", "WebKitWebProces", "WebKitNetworkPr"]) {
        println!("| {name} | {} MB | {} MB |", rss / 1024, pss / 1024);
        rss_total += rss;
        pss_total += pss;
    }
    println!(
        "| all | {} MB | {} MB |",
        rss_total / 1024,
        pss_total / 1024
    );
    app.screenshot("bench-users-100k");
}

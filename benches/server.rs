//! Load benchmark of `keyward serve` (issue #4): key verifications per second under load, user
//! list latency, and 32 clients editing the same users without losing an update.
//!
//! Run: `cargo bench --no-default-features --features server --bench server` (release build;
//! needs `wrk` on the PATH: `apt-get install wrk`). Sizes can be lowered for a quick look:
//! `KEYWARD_BENCH_USERS=10000 KEYWARD_BENCH_KEYS=100000 KEYWARD_BENCH_EDIT_SECONDS=10`.
//! `KEYWARD_BENCH_POSTGRES=1` adds PostgreSQL: the fixture moved into a durable throwaway
//! server with `keyward copy`, served by one instance and by two at once;
//! `KEYWARD_BENCH_DB_CONNECTIONS=8,32` also measures one instance with each of these pool sizes
//! (`--db-connections`), at 64 and at 8 connections.
//! `KEYWARD_BENCH_DB` keeps the fixture (and its sample of keys) and `KEYWARD_BENCH_REUSE=1`
//! reuses a kept one, as in `benches/directory.rs`. Load settings: `KEYWARD_BENCH_CONNECTIONS`
//! (64), `KEYWARD_BENCH_WRK_THREADS` (2), `KEYWARD_BENCH_SECONDS` (10), `KEYWARD_BENCH_WARMUP`
//! (5).
//!
//! What runs where: the fixture is written and closed by this process; the server is the
//! release binary `keyward serve` (built by cargo for benchmarks), started as its own process
//! on the file, as after a restart; the load comes from `wrk`, a third process, over loopback.
//! The ceiling is a bare axum server (this binary again, in a child process) answering a
//! constant JSON reply, loaded the same way. All of them share the machine's cores.
//!
//! Diagnosis rows change one thing each: 8 connections (the store keeps 8 read connections),
//! and a copy of the file with `sqlite_stat4` emptied (the fixture's ANALYZE writes it; its
//! samples make SQLite re-prepare the verification statement for every new key). The core's
//! `verify_key` alone, without HTTP, is measured in a new process on both files.
//!
//! Exits non-zero when an update was lost, a reply was 5xx (or anything but 200/409 while
//! editing), the server logged a failed request, or a verification under load was not
//! answered 200.

use keyward::core::directory::Directory;
use keyward::core::secret::{generate_key, Secret};
use keyward::store::SqliteDirectory;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod pg;
use fixture::{env_size, fresh_directory, seed, stats, Stats, PASSWORD};

/// Which part this process plays: the benchmark itself, or a child it starts.
const ROLE: &str = "KEYWARD_BENCH_ROLE";

/// The wrk script: POST /api/keys/verify, each connection's thread rotating over the real keys
/// in the file given after the URL; the requests are formatted once, in `init`.
const VERIFY_LUA: &str = r#"
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local requests = {}
local next_index = 1

function init(args)
  for line in io.lines(args[#args]) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format(nil, nil, nil, '{"key":"' .. line .. '"}')
    end
  end
  next_index = ((id or 0) * 7919) % #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %f %f %f %f %f %f %f %f %f %f %f %f %f\n",
    summary.requests, summary.duration, latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
"#;

/// The bare server's reply: the shape and size of a real verification reply.
const BARE_REPLY: &str = r#"{"valid":true,"code":"VALID","keyId":"019ab2c4-7d5e-7f00-8a1b-2c3d4e5f6a7b","userId":"019ab2c4-1a2b-7c3d-9e4f-5a6b7c8d9e0f","userName":"alice.smith0","permissions":["SIGN_IN","VIEW_USER","VIEW_ROLE","VIEW_GROUP","VIEW_KEY","VIEW_AUDIT","USE_API_KEYS"],"expiresTime":null}"#;

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("bare") => return bare_server(),
        Ok("core") => return core_throughput(),
        _ => {}
    }
    let failures = run();
    if !failures.is_empty() {
        eprintln!("\nFAILED:");
        for failure in &failures {
            eprintln!("- {failure}");
        }
        std::process::exit(1);
    }
}

#[derive(Clone, Copy)]
struct LoadSettings {
    connections: usize,
    threads: usize,
    seconds: u64,
    warmup: u64,
}

fn run() -> Vec<String> {
    let mut failures = Vec::new();
    let users = env_size("KEYWARD_BENCH_USERS", 100_000);
    let keys = env_size("KEYWARD_BENCH_KEYS", 1_000_000);
    let edit_seconds = env_size("KEYWARD_BENCH_EDIT_SECONDS", 60) as u64;
    let load = LoadSettings {
        connections: env_size("KEYWARD_BENCH_CONNECTIONS", 64),
        threads: env_size("KEYWARD_BENCH_WRK_THREADS", 2),
        seconds: env_size("KEYWARD_BENCH_SECONDS", 10) as u64,
        warmup: env_size("KEYWARD_BENCH_WARMUP", 5) as u64,
    };
    let wrk_version = Command::new("wrk")
        .arg("-v")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_else(|_| {
            eprintln!("error: wrk is not installed (apt-get install wrk)");
            std::process::exit(2);
        });

    let tmp = tempfile::TempDir::new().unwrap();
    let path = std::env::var_os("KEYWARD_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("bench.db"));
    let reuse = std::env::var_os("KEYWARD_BENCH_REUSE").is_some() && path.exists();
    let sample_file = path.with_extension("sample");
    let started = Instant::now();
    if reuse {
        assert!(
            sample_file.exists(),
            "the kept fixture's sample of keys: {}",
            sample_file.display()
        );
    } else {
        // Closed at once: the server opens the file anew, as after a restart.
        drop(fresh_directory(&path));
        let sample = seed(&path, users, keys);
        let lines: Vec<&str> = sample.iter().map(Secret::expose).collect();
        std::fs::write(&sample_file, lines.join("\n")).unwrap();
    }
    let sample: Vec<String> = std::fs::read_to_string(&sample_file)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "fixture: {users} users, {keys} keys, file {:.0} MB, {} ({:.1} s); {} sample keys",
        size as f64 / 1e6,
        if reuse { "reused" } else { "written" },
        started.elapsed().as_secs_f64(),
        sample.len()
    );
    let script = tmp.path().join("verify.lua");
    std::fs::write(&script, VERIFY_LUA).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = Vec::new();
    report.push(format!(
        "Machine: {cores} cores; {wrk_version}; wrk -t{} -c{}, {} s warm-up then {} s measured.",
        load.threads, load.connections, load.warmup, load.seconds
    ));
    report.push(format!(
        "Directory: {users} users, {keys} keys (file {:.0} MB); {} real keys rotated.",
        size as f64 / 1e6,
        sample.len()
    ));

    // 1. The ceiling: a bare axum server with one constant handler, loaded the same way.
    let bare = Server::bare();
    let ceiling = measure(&bare, "/api/keys/verify", &script, &sample_file, &load);
    let bare_blocking = measure(&bare, "/blocking", &script, &sample_file, &load);
    bare.stop();

    // 2. The real server on the re-opened file, with its default logging (one line a request).
    let log = tmp.path().join("serve.log");
    let server = Server::keyward(&path, &log, None);
    let mut http = Http::connect(&server.address);
    for key in sample.iter().take(20) {
        let (status, reply) = http
            .call(
                "POST",
                "/api/keys/verify",
                None,
                Some(&json!({ "key": key })),
            )
            .unwrap();
        assert_eq!(status, 200, "verify: {reply}");
        assert_eq!(reply["code"], "VALID", "a sample key verifies: {reply}");
    }
    let unknown = generate_key();
    let (_, reply) = http
        .call(
            "POST",
            "/api/keys/verify",
            None,
            Some(&json!({ "key": unknown.expose() })),
        )
        .unwrap();
    assert_eq!(reply["code"], "NOT_FOUND", "an unknown key: {reply}");
    let verify = measure(&server, "/api/keys/verify", &script, &sample_file, &load);
    let status = proc_status(server.pid());

    // 3. GET /api/users latency, one client at a time, signed in as root.
    let token = sign_in(&mut http);
    let lists = list_latencies(&mut http, &token);

    // 4. 32 clients editing the same 4 users.
    let edit = edit_contention(&server.address, &token, 32, 4, edit_seconds);
    failures.extend(edit.failures.iter().cloned());
    drop(http);
    // Diagnosis: as many connections as the store keeps reader connections (8).
    let few = LoadSettings {
        connections: 8,
        ..load
    };
    let verify_few = measure(&server, "/api/keys/verify", &script, &sample_file, &few);
    let server_errors = server.stop();

    // 5. The same server without the per-request log line (KEYWARD_LOG=warn).
    let quiet = Server::keyward(&path, &log, Some("warn"));
    let verify_quiet = measure(&quiet, "/api/keys/verify", &script, &sample_file, &load);
    quiet.stop();

    // 6. Diagnosis: a copy of the file without the planner's samples (sqlite_stat4, written by
    // the fixture's ANALYZE), which make SQLite re-prepare the verification statement at each
    // new key it is bound to.
    let copy = tmp.path().join("no-stat4.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    std::fs::copy(&path, &copy).unwrap();
    {
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.execute_batch("DELETE FROM sqlite_stat4 WHERE 1; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap_or_else(|e| eprintln!("no sqlite_stat4 to empty: {e}"));
    }
    let plain = Server::keyward(&copy, &log, None);
    let verify_plain = measure(&plain, "/api/keys/verify", &script, &sample_file, &load);
    let verify_plain_few = measure(&plain, "/api/keys/verify", &script, &sample_file, &few);
    let mut plain_http = Http::connect(&plain.address);
    let plain_token = sign_in(&mut plain_http);
    let plain_lists = list_latencies(&mut plain_http, &plain_token);
    drop(plain_http);
    let plain_status = proc_status(plain.pid());
    let plain_errors = plain.stop();
    for (errors, name) in [(server_errors, "keyward serve"), (plain_errors, "the copy")] {
        if errors > 0 {
            failures.push(format!("{name} logged {errors} failed request(s)"));
        }
    }

    // 7. With KEYWARD_BENCH_POSTGRES: the same directory moved into PostgreSQL (a durable
    // throwaway server on this machine) with `keyward copy`, served by one instance and by
    // two instances at once (a wrk for each, half the connections each).
    let postgres = std::env::var_os("KEYWARD_BENCH_POSTGRES").map(|_| {
        let database = pg::PgServer::start_durable();
        let url = database.new_database();
        let copy_started = Instant::now();
        let copied = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["copy", "--from"])
            .arg(&path)
            .args(["--to", &url])
            .output()
            .unwrap();
        assert!(copied.status.success(), "{copied:?}");
        let copy_seconds = copy_started.elapsed().as_secs_f64();
        let db = PathBuf::from(&url);
        let one = Server::keyward(&db, &log, None);
        let one_many = measure(&one, "/api/keys/verify", &script, &sample_file, &load);
        let one_few = measure(&one, "/api/keys/verify", &script, &sample_file, &few);
        let mut http = Http::connect(&one.address);
        let token = sign_in(&mut http);
        let lists = list_latencies(&mut http, &token);
        drop(http);
        let other = Server::keyward(&db, &tmp.path().join("serve-2.log"), None);
        let half = |settings: &LoadSettings| LoadSettings {
            connections: settings.connections / 2,
            threads: (settings.threads / 2).max(1),
            ..*settings
        };
        let two_many = measure_pair(&one, &other, &script, &sample_file, &half(&load));
        let two_few = measure_pair(&one, &other, &script, &sample_file, &half(&few));
        let mut errors = one.stop() + other.stop();
        // One instance again with each pool size asked for.
        let mut pools = Vec::new();
        for size in std::env::var("KEYWARD_BENCH_DB_CONNECTIONS")
            .unwrap_or_default()
            .split(',')
            .filter_map(|n| n.trim().parse::<u32>().ok())
        {
            let size_text = size.to_string();
            let sized = Server::keyward_with(
                &db,
                &tmp.path().join(format!("serve-pool-{size}.log")),
                None,
                &["--db-connections", &size_text],
            );
            let many = measure(&sized, "/api/keys/verify", &script, &sample_file, &load);
            let few_sized = measure(&sized, "/api/keys/verify", &script, &sample_file, &few);
            errors += sized.stop();
            pools.push((
                format!("keyward serve on PostgreSQL, one instance, --db-connections {size}"),
                many,
            ));
            pools.push((
                format!(
                    "keyward serve on PostgreSQL, one instance, --db-connections {size}, 8 connections"
                ),
                few_sized,
            ));
        }
        (
            database,
            copy_seconds,
            one_many,
            one_few,
            two_many,
            two_few,
            lists,
            errors,
            pools,
        )
    });

    // 8. The core alone: verify_key in this many threads, no HTTP, on the re-opened files.
    let core = core_child(&path, &sample_file, cores, load.seconds);
    let core_plain = core_child(&copy, &sample_file, cores, load.seconds);

    let rows = [
        ("bare axum, constant JSON (ceiling)", &ceiling),
        (
            "bare axum, constant JSON via spawn_blocking",
            &bare_blocking,
        ),
        ("**keyward serve**", &verify),
        ("keyward serve, KEYWARD_LOG=warn", &verify_quiet),
        ("keyward serve, 8 connections", &verify_few),
        ("keyward serve, file without sqlite_stat4", &verify_plain),
        (
            "keyward serve, file without sqlite_stat4, 8 connections",
            &verify_plain_few,
        ),
    ];
    let mut rows: Vec<(&str, &Measured)> = rows.to_vec();
    if let Some((_, _, one_many, one_few, two_many, two_few, _, errors, pools)) = &postgres {
        rows.push(("**keyward serve on PostgreSQL**, one instance", one_many));
        rows.push((
            "keyward serve on PostgreSQL, one instance, 8 connections",
            one_few,
        ));
        rows.push(("**keyward serve on PostgreSQL, two instances**", two_many));
        rows.push((
            "keyward serve on PostgreSQL, two instances, 8 connections",
            two_few,
        ));
        for (name, measured) in pools {
            rows.push((name.as_str(), measured));
        }
        if *errors > 0 {
            failures.push(format!(
                "the PostgreSQL instances logged {errors} failed request(s)"
            ));
        }
    }
    for &(name, result) in &rows {
        if result.wrk.non_2xx > 0 || result.wrk.socket_errors > 0 {
            failures.push(format!(
                "{name}: {} non-2xx replies, {} socket errors under load",
                result.wrk.non_2xx, result.wrk.socket_errors
            ));
        }
    }

    // The report.
    println!("\n## HTTP server\n");
    for line in &report {
        println!("{line}");
    }
    println!("\n### POST /api/keys/verify under load\n");
    println!(
        "| server | connections | requests/s | p50 | p90 | p99 | p99.9 | max | server CPU per request | machine busy | non-2xx | socket errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &(name, result) in &rows {
        println!(
            "| {name} | {} | {:.0} | {} | {} | {} | {} | {} | {:.1} µs | {:.0} % | {} | {} |",
            result.connections,
            result.wrk.rps,
            ms_us(result.wrk.p50_us),
            ms_us(result.wrk.p90_us),
            ms_us(result.wrk.p99_us),
            ms_us(result.wrk.p999_us),
            ms_us(result.wrk.max_us),
            result.server_cpu_us_per_request,
            result.machine_busy * 100.0,
            result.wrk.non_2xx,
            result.wrk.socket_errors
        );
    }
    println!(
        "\nkeyward serve ÷ bare ceiling (requests/s): {:.1} % (with KEYWARD_LOG=warn: {:.1} %)",
        100.0 * verify.wrk.rps / ceiling.wrk.rps,
        100.0 * verify_quiet.wrk.rps / ceiling.wrk.rps
    );
    println!(
        "Target ≥ 10 000 verifications/s: {}; p99 < 5 ms: {}",
        if verify.wrk.rps >= 10_000.0 {
            "met"
        } else {
            "NOT met"
        },
        if verify.wrk.p99_us < 5_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("keyward serve after the load: {status}; the copy after its load: {plain_status}");
    println!(
        "The core alone (verify_key, no HTTP, {} threads, new process), the fixture as written: {:.0} verifications/s; single thread p50 {:.1} µs, p99 {:.1} µs",
        core.threads, core.per_second, core.p50_us, core.p99_us
    );
    println!(
        "The core alone (verify_key, no HTTP, {} threads, new process), file without sqlite_stat4: {:.0} verifications/s; single thread p50 {:.1} µs, p99 {:.1} µs",
        core_plain.threads, core_plain.per_second, core_plain.p50_us, core_plain.p99_us
    );
    println!("\n### GET /api/users (one client, sequential, signed in as root)\n");
    println!("| request | matches | p50 | p99 | mean | without sqlite_stat4: p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    for (list, plain) in lists.iter().zip(&plain_lists) {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            list.0,
            list.1,
            ms(list.2.p50),
            ms(list.2.p99),
            ms(list.2.mean),
            ms(plain.2.p50),
            ms(plain.2.p99)
        );
    }
    if let Some((_, copy_seconds, _, _, _, _, pg_lists, _, _)) = &postgres {
        println!(
            "\n`keyward copy` of the fixture into PostgreSQL: {copy_seconds:.1} s. `GET /api/users` on PostgreSQL, through one instance:\n"
        );
        println!("| request | matches | p50 | p99 | mean |");
        println!("|---|---|---|---|---|");
        for list in pg_lists {
            println!(
                "| {} | {} | {} | {} | {} |",
                list.0,
                list.1,
                ms(list.2.p50),
                ms(list.2.p99),
                ms(list.2.mean)
            );
        }
    }
    println!(
        "\n### 32 clients editing 4 users for {edit_seconds} s (GET, then PUT displayName with the updateVersion read)\n"
    );
    for line in &edit.report {
        println!("{line}");
    }
    failures
}

fn sign_in(http: &mut Http) -> String {
    let (status, signed_in) = http
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(&json!({ "userName": "root", "password": PASSWORD })),
        )
        .unwrap();
    assert_eq!(status, 200, "sign-in: {signed_in}");
    signed_in["accessToken"].as_str().unwrap().to_owned()
}

/// User pages and searches, one request at a time: (what, matches, latency).
fn list_latencies(http: &mut Http, token: &str) -> Vec<(String, u64, Stats)> {
    let mut rows = Vec::new();
    for (name, query, runs) in [
        ("page 1 of 50, sorted by name", "", 200),
        ("page 1000 of 50, sorted by name", "?page=1000", 200),
        ("page 1, sorted by -createdTime", "?sort=-createdTime", 200),
        ("search q=nadia.berg", "?q=nadia.berg", 200),
        ("search q=kowalski", "?q=kowalski", 200),
        ("search q=zo (2 characters: scan)", "?q=zo", 100),
    ] {
        let target = format!("/api/users{query}");
        let mut times = Vec::with_capacity(runs);
        let mut matches = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let (status, reply) = http.call("GET", &target, Some(token), None).unwrap();
            times.push(start.elapsed());
            assert_eq!(status, 200, "GET {target}: {reply}");
            matches = reply["pageInfo"]["totalElements"].as_u64().unwrap_or(0);
        }
        rows.push((format!("`GET {target}`: {name}"), matches, stats(times)));
    }
    rows
}

// --- Load with wrk ----------------------------------------------------------------------------

#[derive(Debug, Default)]
struct WrkResult {
    rps: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    non_2xx: u64,
    socket_errors: u64,
}

struct Measured {
    connections: usize,
    wrk: WrkResult,
    server_cpu_us_per_request: f64,
    machine_busy: f64,
}

/// A warm-up run (discarded, it also records every sample key's lastUsedTime), then the
/// measured run, with the server's CPU time and the machine's busy share over it.
fn measure(
    server: &Server,
    path: &str,
    script: &Path,
    keys: &Path,
    load: &LoadSettings,
) -> Measured {
    let url = format!("http://{}{path}", server.address);
    if load.warmup > 0 {
        wrk(&url, script, keys, load, load.warmup);
    }
    let cpu_before = process_cpu(server.pid());
    let machine_before = machine_cpu();
    let result = wrk(&url, script, keys, load, load.seconds);
    let cpu = process_cpu(server.pid()) - cpu_before;
    let machine_after = machine_cpu();
    let busy = (machine_after.0 - machine_before.0) / (machine_after.1 - machine_before.1);
    let requests = result.rps * load.seconds as f64;
    eprintln!(
        "{url}: {:.0} requests/s, p50 {:.0} µs, p99 {:.0} µs, server CPU {:.1} µs/request",
        result.rps,
        result.p50_us,
        result.p99_us,
        cpu * 1e6 / requests
    );
    Measured {
        connections: load.connections,
        server_cpu_us_per_request: cpu * 1e6 / requests,
        machine_busy: busy,
        wrk: result,
    }
}

/// Two servers loaded at once, a wrk for each: requests per second summed, latencies the worse
/// of the two, the servers' CPU summed.
fn measure_pair(
    a: &Server,
    b: &Server,
    script: &Path,
    keys: &Path,
    load: &LoadSettings,
) -> Measured {
    let urls = [a, b].map(|s| format!("http://{}/api/keys/verify", s.address));
    let run_both = |seconds: u64| {
        std::thread::scope(|scope| {
            let runs: Vec<_> = urls
                .iter()
                .map(|url| scope.spawn(move || wrk(url, script, keys, load, seconds)))
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap())
                .collect::<Vec<_>>()
        })
    };
    if load.warmup > 0 {
        run_both(load.warmup);
    }
    let cpu_before = process_cpu(a.pid()) + process_cpu(b.pid());
    let machine_before = machine_cpu();
    let results = run_both(load.seconds);
    let cpu = process_cpu(a.pid()) + process_cpu(b.pid()) - cpu_before;
    let machine_after = machine_cpu();
    let worse = |f: fn(&WrkResult) -> f64| results.iter().map(f).fold(0.0, f64::max);
    let wrk = WrkResult {
        rps: results.iter().map(|r| r.rps).sum(),
        p50_us: worse(|r| r.p50_us),
        p90_us: worse(|r| r.p90_us),
        p99_us: worse(|r| r.p99_us),
        p999_us: worse(|r| r.p999_us),
        max_us: worse(|r| r.max_us),
        non_2xx: results.iter().map(|r| r.non_2xx).sum(),
        socket_errors: results.iter().map(|r| r.socket_errors).sum(),
    };
    let requests = wrk.rps * load.seconds as f64;
    Measured {
        connections: load.connections * 2,
        server_cpu_us_per_request: cpu * 1e6 / requests,
        machine_busy: (machine_after.0 - machine_before.0) / (machine_after.1 - machine_before.1),
        wrk,
    }
}

fn wrk(url: &str, script: &Path, keys: &Path, load: &LoadSettings, seconds: u64) -> WrkResult {
    let output = Command::new("wrk")
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(url)
        .arg(keys)
        .output()
        .expect("run wrk");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "wrk gave no result:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    WrkResult {
        rps: v[0] / (v[1] / 1e6),
        p50_us: v[3],
        p90_us: v[4],
        p99_us: v[5],
        p999_us: v[6],
        max_us: v[7],
        non_2xx: v[8] as u64,
        socket_errors: (v[9] + v[10] + v[11] + v[12]) as u64,
    }
}

// --- Servers ------------------------------------------------------------------------------------

struct Server {
    child: Child,
    address: String,
    log: Option<PathBuf>,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// The release `keyward serve` on the file, as its own process.
    fn keyward(db: &Path, log: &Path, level: Option<&str>) -> Server {
        Server::keyward_with(db, log, level, &[])
    }

    /// [`Server::keyward`] with more options for `serve`.
    fn keyward_with(db: &Path, log: &Path, level: Option<&str>, extra: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .arg("--db")
            .arg(db)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra);
        match level {
            Some(level) => command.env("KEYWARD_LOG", level),
            None => command.env_remove("KEYWARD_LOG"),
        };
        let log_file = std::fs::File::create(log).unwrap();
        command.stderr(log_file);
        Server::start(command, Some(log.to_owned()), " on http://")
    }

    /// This binary as a bare axum server.
    fn bare() -> Server {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.env(ROLE, "bare").stderr(Stdio::inherit());
        Server::start(command, None, "listening on ")
    }

    fn start(mut command: Command, log: Option<PathBuf>, marker: &str) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("start the server");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let address = line
            .trim()
            .rsplit_once(marker)
            .unwrap_or_else(|| panic!("the server did not say where it listens: {line:?}"))
            .1
            .to_owned();
        Server {
            child,
            address,
            log,
            _stdout: stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops with SIGTERM (graceful) and returns how many failed requests (5xx) it logged.
    fn stop(mut self) -> usize {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let Some(log) = &self.log else { return 0 };
        let file = std::fs::File::open(log).unwrap();
        BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains("request failed") || l.contains("internal error"))
            .count()
    }
}

/// A bare axum server: the ceiling of HTTP on this machine (child process, same runtime
/// defaults as `keyward serve`: one worker thread per CPU).
fn bare_server() {
    use axum::body::Bytes;
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::post;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/api/keys/verify",
                post(|_body: Bytes| async { ([(CONTENT_TYPE, "application/json")], BARE_REPLY) }),
            )
            .route(
                "/blocking",
                post(|_body: Bytes| async {
                    let reply = tokio::task::spawn_blocking(|| BARE_REPLY).await.unwrap();
                    ([(CONTENT_TYPE, "application/json")], reply)
                }),
            );
        axum::serve(listener, app).await.unwrap();
    });
}

// --- The core alone -----------------------------------------------------------------------------

struct CoreResult {
    threads: usize,
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
}

fn core_child(db: &Path, keys: &Path, threads: usize, seconds: u64) -> CoreResult {
    let output = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "core")
        .env("KEYWARD_BENCH_CORE_DB", db)
        .env("KEYWARD_BENCH_CORE_KEYS", keys)
        .env("KEYWARD_BENCH_CORE_THREADS", threads.to_string())
        .env("KEYWARD_BENCH_CORE_SECONDS", seconds.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("run the core measurement");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let v: Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no core result: {stdout}"));
    CoreResult {
        threads,
        per_second: v["perSecond"].as_f64().unwrap(),
        p50_us: v["p50Us"].as_f64().unwrap(),
        p99_us: v["p99Us"].as_f64().unwrap(),
    }
}

/// In a new process: `Directory::verify_key` on the re-opened file, single-threaded latency,
/// then throughput in N threads; prints one JSON line.
fn core_throughput() {
    let db = PathBuf::from(std::env::var_os("KEYWARD_BENCH_CORE_DB").unwrap());
    let keys: Vec<String> =
        std::fs::read_to_string(std::env::var_os("KEYWARD_BENCH_CORE_KEYS").unwrap())
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
    let threads = env_size("KEYWARD_BENCH_CORE_THREADS", 2);
    let seconds = env_size("KEYWARD_BENCH_CORE_SECONDS", 10) as u64;
    let dir = Arc::new(SqliteDirectory::open(&db).unwrap());
    // A first pass records lastUsedTime where due; then the steady state is measured.
    for key in &keys {
        assert!(dir.verify_key(key).unwrap().valid);
    }
    let times: Vec<Duration> = keys
        .iter()
        .map(|key| {
            let start = Instant::now();
            std::hint::black_box(dir.verify_key(key).unwrap());
            start.elapsed()
        })
        .collect();
    let single = stats(times);
    let keys = Arc::new(keys);
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (dir, keys, count) = (Arc::clone(&dir), Arc::clone(&keys), Arc::clone(&count));
            std::thread::spawn(move || {
                let mut i = t * 7919;
                while Instant::now() < deadline {
                    std::hint::black_box(dir.verify_key(&keys[i % keys.len()]).unwrap());
                    i += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let per_second = count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "perSecond": per_second,
            "p50Us": single.p50.as_secs_f64() * 1e6,
            "p99Us": single.p99.as_secs_f64() * 1e6,
        })
    );
}

// --- 32 clients editing the same users ------------------------------------------------------

struct EditOutcome {
    report: Vec<String>,
    failures: Vec<String>,
}

#[derive(Default)]
struct EditCounts {
    ok: Vec<u64>,
    conflicts: Vec<u64>,
    /// Anything else: "GET 500", "PUT io error" …
    other: BTreeMap<String, u64>,
    /// A 200 whose updateVersion is not the one sent plus one.
    wrong_version: u64,
    put_times: Vec<Duration>,
}

fn edit_contention(
    address: &str,
    token: &str,
    clients: usize,
    user_count: usize,
    seconds: u64,
) -> EditOutcome {
    let mut http = Http::connect(address);
    let (_, list) = http
        .call(
            "GET",
            &format!("/api/users?pageSize={user_count}"),
            Some(token),
            None,
        )
        .unwrap();
    let users: Vec<(String, String, i64)> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["userName"].as_str().unwrap().to_owned(),
                u["updateVersion"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(users.len(), user_count);
    let audit_count = |http: &mut Http| {
        let (status, page) = http
            .call(
                "GET",
                "/api/audit?action=user.update&pageSize=1",
                Some(token),
                None,
            )
            .unwrap();
        assert_eq!(status, 200, "audit: {page}");
        page["pageInfo"]["totalElements"].as_u64().unwrap()
    };
    let audit_before = audit_count(&mut http);
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    let ids: Arc<Vec<String>> = Arc::new(users.iter().map(|u| u.0.clone()).collect());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|client| {
            let (ids, address, token) = (Arc::clone(&ids), address.to_owned(), token.to_owned());
            std::thread::spawn(move || edit_client(client, &address, &token, &ids, deadline))
        })
        .collect();
    let mut total = EditCounts {
        ok: vec![0; user_count],
        conflicts: vec![0; user_count],
        ..Default::default()
    };
    for worker in workers {
        let counts = worker.join().unwrap();
        for u in 0..user_count {
            total.ok[u] += counts.ok[u];
            total.conflicts[u] += counts.conflicts[u];
        }
        for (what, n) in counts.other {
            *total.other.entry(what).or_default() += n;
        }
        total.wrong_version += counts.wrong_version;
        total.put_times.extend(counts.put_times);
    }
    let mut report = Vec::new();
    let mut failures = Vec::new();
    // Per user: the versions gained must be the 200s seen, and so must the audit's successes.
    let mut audited: BTreeMap<String, u64> = BTreeMap::new();
    let mut audit_other = 0u64;
    let mut page = 1;
    loop {
        let target = format!(
            "/api/audit?action=user.update&pageSize=500&page={page}&since={}",
            since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        let (status, reply) = http.call("GET", &target, Some(token), None).unwrap();
        assert_eq!(status, 200, "audit: {reply}");
        let entries = reply["entries"].as_array().unwrap();
        for entry in entries {
            if entry["outcome"] == "SUCCESS" && entry["action"] == "user.update" {
                let target = entry["targetId"].as_str().unwrap_or_default().to_owned();
                *audited.entry(target).or_default() += 1;
            } else {
                audit_other += 1;
            }
        }
        if entries.is_empty() || page as u64 >= reply["pageInfo"]["totalPages"].as_u64().unwrap() {
            break;
        }
        page += 1;
    }
    let audit_after = audit_count(&mut http);
    report.push(
        "| user | initial version | final version | gained | PUT 200 | PUT 409 | audited user.update | lost |"
            .to_owned(),
    );
    report.push("|---|---|---|---|---|---|---|---|".to_owned());
    for (u, (id, name, initial)) in users.iter().enumerate() {
        let (status, user) = http
            .call("GET", &format!("/api/users/{id}"), Some(token), None)
            .unwrap();
        assert_eq!(status, 200, "user: {user}");
        let last = user["updateVersion"].as_i64().unwrap();
        let gained = (last - initial) as u64;
        let audit = audited.get(id).copied().unwrap_or(0);
        let lost = gained != total.ok[u] || audit != total.ok[u];
        report.push(format!(
            "| {name} | {initial} | {last} | {gained} | {} | {} | {audit} | {} |",
            total.ok[u],
            total.conflicts[u],
            if lost { "**YES**" } else { "no" }
        ));
        if gained != total.ok[u] {
            failures.push(format!(
                "{name}: updateVersion gained {gained}, but {} PUTs were answered 200",
                total.ok[u]
            ));
        }
        if audit != total.ok[u] {
            failures.push(format!(
                "{name}: {audit} user.update successes audited, but {} PUTs were answered 200",
                total.ok[u]
            ));
        }
    }
    let ok: u64 = total.ok.iter().sum();
    let conflicts: u64 = total.conflicts.iter().sum();
    let other: u64 = total.other.values().sum();
    let put = stats(std::mem::take(&mut total.put_times));
    report.push(String::new());
    report.push(format!(
        "PUT replies: {ok} × 200, {conflicts} × 409, {other} other ({:.0} successful updates/s, {:.0} PUTs/s); PUT p50 {}, p99 {}",
        ok as f64 / seconds as f64,
        (ok + conflicts) as f64 / seconds as f64,
        ms(put.p50),
        ms(put.p99)
    ));
    report.push(format!(
        "Audit: user.update entries {audit_before} → {audit_after} (+{}); other outcomes since the start: {audit_other}; 200 replies whose updateVersion was not the one sent + 1: {}",
        audit_after - audit_before,
        total.wrong_version
    ));
    if !total.other.is_empty() {
        report.push(format!("Other replies: {:?}", total.other));
        failures.push(format!("replies other than 200/409: {:?}", total.other));
    }
    if total.wrong_version > 0 {
        failures.push(format!(
            "{} PUT replies carried an unexpected updateVersion",
            total.wrong_version
        ));
    }
    if audit_after - audit_before != ok {
        failures.push(format!(
            "the audit log gained {} user.update entries for {ok} successful PUTs",
            audit_after - audit_before
        ));
    }
    let no_lost = failures.is_empty();
    report.push(format!(
        "No update lost: {}",
        if no_lost { "yes" } else { "**NO**" }
    ));
    EditOutcome { report, failures }
}

fn edit_client(
    client: usize,
    address: &str,
    token: &str,
    ids: &[String],
    deadline: Instant,
) -> EditCounts {
    let mut counts = EditCounts {
        ok: vec![0; ids.len()],
        conflicts: vec![0; ids.len()],
        ..Default::default()
    };
    let mut http = Http::connect(address);
    let mut n = 0usize;
    while Instant::now() < deadline {
        let u = (client + n) % ids.len();
        n += 1;
        let path = format!("/api/users/{}", ids[u]);
        let version = match http.call("GET", &path, Some(token), None) {
            Ok((200, user)) => user["updateVersion"].as_i64().unwrap(),
            Ok((status, _)) => {
                *counts.other.entry(format!("GET {status}")).or_default() += 1;
                continue;
            }
            Err(error) => {
                *counts.other.entry(format!("GET {error}")).or_default() += 1;
                http = Http::connect(address);
                continue;
            }
        };
        let body = json!({
            "displayName": format!("Edited by client {client} #{n}"),
            "updateVersion": version,
        });
        let start = Instant::now();
        let reply = http.call("PUT", &path, Some(token), Some(&body));
        counts.put_times.push(start.elapsed());
        match reply {
            Ok((200, user)) => {
                counts.ok[u] += 1;
                if user["updateVersion"].as_i64() != Some(version + 1) {
                    counts.wrong_version += 1;
                }
            }
            Ok((409, _)) => counts.conflicts[u] += 1,
            Ok((status, _)) => *counts.other.entry(format!("PUT {status}")).or_default() += 1,
            Err(error) => {
                *counts.other.entry(format!("PUT {error}")).or_default() += 1;
                http = Http::connect(address);
            }
        }
    }
    counts
}

// --- A minimal HTTP/1.1 client (keep-alive, no TLS) ------------------------------------------

struct Http {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Http {
    fn connect(address: &str) -> Http {
        let stream = TcpStream::connect(address).expect("connect to the server");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Http {
            reader: BufReader::new(stream),
            host: address.to_owned(),
        }
    }

    fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n{body}",
            self.host,
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut bytes = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                bytes.extend_from_slice(&chunk[..size]);
            }
        } else {
            bytes.resize(length, 0);
            self.reader.read_exact(&mut bytes)?;
        }
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

// --- Figures --------------------------------------------------------------------------------

fn ms(d: Duration) -> String {
    ms_us(d.as_secs_f64() * 1e6)
}

fn ms_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// CPU seconds (user + system) a process has used so far.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / clock_ticks()
}

/// The machine's (busy, total) CPU seconds so far, over all cores.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return (0.0, 1.0);
    }
    let idle = v[3] + v[4];
    let total: f64 = v[..8].iter().sum();
    ((total - idle) / clock_ticks(), total / clock_ticks())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Threads and memory of a process, from /proc: RSS counts the file's pages once per
/// memory map (each SQLite reader maps the file), PSS shares them out, and the anonymous
/// memory is the process's own (heaps, caches).
fn proc_status(pid: u32) -> String {
    let read =
        |file: &str| std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    let (status, rollup) = (read("status"), read("smaps_rollup"));
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{} threads, RSS {}, PSS {}, anonymous {}",
        field(&status, "Threads:"),
        field(&status, "VmRSS:"),
        field(&rollup, "Pss:"),
        field(&rollup, "Anonymous:")
    )
}

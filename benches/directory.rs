//! Directory benchmarks at realistic sizes: key verification among 1 000 000 keys, user pages
//! and search among 100 000 users, and the per-item cost of creating users and keys.
//!
//! Run: `cargo bench --no-default-features --bench directory` (release build). Sizes can be
//! lowered for a quick look: `KEYWARD_BENCH_USERS=10000 KEYWARD_BENCH_KEYS=100000`.
//!
//! The large fixture is written with plain SQL in one transaction (the API would spend minutes
//! on a million audited transactions); what is measured goes through the `Directory` API.

use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::secret::{generate_key, Secret};
use keyward::store::SqliteDirectory;
use rusqlite::Connection;
use std::time::{Duration, Instant};

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{env_size, fresh_directory, seed, stats, Stats, PASSWORD};

fn time<T>(mut run: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    std::hint::black_box(run());
    start.elapsed()
}

fn report(name: &str, s: &Stats) {
    println!(
        "| {name} | {:.1} µs | {:.1} µs | {:.1} µs |",
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        s.mean.as_secs_f64() * 1e6
    );
}

fn main() {
    let users = env_size("KEYWARD_BENCH_USERS", 100_000);
    let keys = env_size("KEYWARD_BENCH_KEYS", 1_000_000);
    let tmp = tempfile::TempDir::new().unwrap();
    // KEYWARD_BENCH_DB keeps the fixture for a closer look afterwards.
    let path = std::env::var_os("KEYWARD_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("bench.db"));
    // KEYWARD_BENCH_REUSE skips writing the fixture when KEYWARD_BENCH_DB already holds one.
    let reuse = std::env::var_os("KEYWARD_BENCH_REUSE").is_some() && path.exists();
    let sample_file = path.with_extension("sample");
    let dir = if reuse {
        SqliteDirectory::open(&path).unwrap()
    } else {
        fresh_directory(&path)
    };
    let root = Credential::Session(
        dir.sign_in("root", &Secret::new(PASSWORD.into()))
            .unwrap()
            .access_token,
    );
    let started = Instant::now();
    let sample = if reuse {
        std::fs::read_to_string(&sample_file)
            .expect("the kept fixture's sample of keys")
            .lines()
            .map(|line| Secret::new(line.to_owned()))
            .collect()
    } else {
        let sample = seed(&path, users, keys);
        if std::env::var_os("KEYWARD_BENCH_DB").is_some() {
            let lines: Vec<&str> = sample.iter().map(Secret::expose).collect();
            std::fs::write(&sample_file, lines.join("\n")).unwrap();
        }
        sample
    };
    eprintln!(
        "fixture: {users} users, {keys} keys written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "\nDirectory: {users} users, {keys} keys, file {:.0} MB\n",
        size as f64 / 1e6
    );
    println!("| operation | p50 | p99 | mean |\n|---|---|---|---|");

    // Key verification. The first pass records lastUsedTime (a write per key); the second
    // finds it fresh and stays a read, which is the steady state of a busy key.
    let first: Vec<Duration> = sample
        .iter()
        .map(|k| time(|| dir.verify_key(k.expose()).unwrap()))
        .collect();
    let steady: Vec<Duration> = sample
        .iter()
        .map(|k| time(|| dir.verify_key(k.expose()).unwrap()))
        .collect();
    assert!(sample
        .iter()
        .take(10)
        .all(|k| dir.verify_key(k.expose()).unwrap().valid));
    let bare_conn = Connection::open(&path).unwrap();
    let mut bare = bare_conn
        .prepare("SELECT key_id FROM key_secrets WHERE hash = ?1")
        .unwrap();
    let digests: Vec<[u8; 32]> = sample.iter().map(Secret::digest).collect();
    let bare_times: Vec<Duration> = digests
        .iter()
        .map(|d| time(|| bare.query_row([&d[..]], |r| r.get::<_, String>(0)).unwrap()))
        .collect();
    let unknown: Vec<Secret> = (0..sample.len()).map(|_| generate_key()).collect();
    let not_found: Vec<Duration> = unknown
        .iter()
        .map(|k| time(|| dir.verify_key(k.expose()).unwrap()))
        .collect();
    let steady_stats = stats(steady);
    let bare_stats = stats(bare_times);
    report("verify key, steady state (read only)", &steady_stats);
    report(
        "verify key, first use in a minute (records lastUsedTime)",
        &stats(first),
    );
    report("verify key, unknown key", &stats(not_found));
    report("bare indexed SELECT on key_secrets.hash", &bare_stats);
    println!(
        "| verify p50 ÷ bare SELECT p50 | {:.2}× | | |",
        steady_stats.p50.as_secs_f64() / bare_stats.p50.as_secs_f64()
    );

    // User pages and search, through the API with a signed-in SuperAdmin.
    let page = |query: UserQuery| {
        let runs: Vec<Duration> = (0..200)
            .map(|_| time(|| dir.list_users(&root, &query).unwrap()))
            .collect();
        stats(runs)
    };
    report(
        "users page 1 of 50 sorted by name",
        &page(UserQuery::default()),
    );
    report(
        "users page 1000 of 50 sorted by name",
        &page(UserQuery {
            page: Some(1000),
            ..Default::default()
        }),
    );
    report(
        "users page 1 sorted by -createdTime",
        &page(UserQuery {
            sort: Some("-createdTime".into()),
            ..Default::default()
        }),
    );
    let found = dir
        .list_users(
            &root,
            &UserQuery {
                q: Some("nadia.berg".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .page_info
        .total_elements;
    report(
        &format!("search q=nadia.berg ({found} matches)"),
        &page(UserQuery {
            q: Some("nadia.berg".into()),
            ..Default::default()
        }),
    );
    let found = dir
        .list_users(
            &root,
            &UserQuery {
                q: Some("kowalski".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .page_info
        .total_elements;
    report(
        &format!("search q=kowalski ({found} matches)"),
        &page(UserQuery {
            q: Some("kowalski".into()),
            ..Default::default()
        }),
    );
    report(
        "search q=zo (2 characters: scan)",
        &page(UserQuery {
            q: Some("zo".into()),
            ..Default::default()
        }),
    );

    if reuse {
        return;
    }
    // Creation through the API, each its own audited transaction.
    println!("\n| creation through the API | items | total | per item |\n|---|---|---|---|");
    let per_item = |name: &str, n: usize, total: Duration| {
        println!(
            "| {name} | {n} | {:.2} s | {:.0} µs |",
            total.as_secs_f64(),
            total.as_secs_f64() * 1e6 / n as f64
        );
    };
    let n = 10_000;
    let mut created = Vec::with_capacity(n);
    let total = time(|| {
        for i in 0..n {
            let user = dir
                .create_user(
                    &root,
                    NewUser {
                        user_name: format!("invitee{i}"),
                        display_name: format!("Invitee {i}"),
                        email: format!("invitee{i}@example.com"),
                        status: Some(UserStatus::Active),
                        roles: vec!["api-user".into()],
                        ..Default::default()
                    },
                )
                .unwrap();
            created.push(user.user.id);
        }
    });
    per_item("create user (no password)", n, total);
    let total = time(|| {
        for (i, owner) in created.iter().enumerate() {
            dir.create_key(
                &root,
                owner,
                NewKey {
                    name: format!("k{i}"),
                    ..Default::default()
                },
            )
            .unwrap();
        }
    });
    per_item("create key for another user (PENDING)", n, total);
    let me = dir.me(&root).unwrap();
    let total = time(|| {
        for i in 0..n {
            dir.create_key(
                &root,
                &me.id,
                NewKey {
                    name: format!("own{i}"),
                    ..Default::default()
                },
            )
            .unwrap();
        }
    });
    per_item("create own key (ENABLED, secret generated)", n, total);
    let m = 50;
    let total = time(|| {
        for i in 0..m {
            dir.create_user(
                &root,
                NewUser {
                    user_name: format!("pw{i}"),
                    display_name: format!("With Password {i}"),
                    email: format!("pw{i}@example.com"),
                    password: Some(Secret::new(PASSWORD.into())),
                    ..Default::default()
                },
            )
            .unwrap();
        }
    });
    per_item(
        "create user with password (argon2id m=19 MiB, t=2)",
        m,
        total,
    );
}

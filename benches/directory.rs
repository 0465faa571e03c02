//! Directory benchmarks at realistic sizes: key verification among 1 000 000 keys, user pages
//! and search among 100 000 users, and the per-item cost of creating users and keys.
//!
//! Run: `cargo bench --no-default-features --bench directory` (release build). Sizes can be
//! lowered for a quick look: `KEYWARD_BENCH_USERS=10000 KEYWARD_BENCH_KEYS=100000`.
//! `KEYWARD_BENCH_POSTGRES=1` also copies the fixture into a new PostgreSQL database (a
//! throwaway server this binary starts, with durable commits, as the tests do) with
//! `keyward copy`'s code, times the copy, and measures the same reads and writes there, side
//! by side with SQLite in the same run.
//!
//! The large fixture is written with plain SQL in one transaction (the API would spend minutes
//! on a million audited transactions); what is measured goes through the `Directory` API.

use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::secret::{generate_key, Secret};
use keyward::store::{PostgresDirectory, SqliteDirectory};
use rusqlite::Connection;
use std::time::{Duration, Instant};

#[path = "support/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod pg;
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
    let sqlite_reads = reads(&dir, &root, &sample, |digests| {
        let bare_conn = Connection::open(&path).unwrap();
        let mut bare = bare_conn
            .prepare("SELECT key_id FROM key_secrets WHERE hash = ?1")
            .unwrap();
        digests
            .iter()
            .map(|d| time(|| bare.query_row([&d[..]], |r| r.get::<_, String>(0)).unwrap()))
            .collect()
    });
    println!("| operation | p50 | p99 | mean |\n|---|---|---|---|");
    for (name, s) in &sqlite_reads {
        report(name, s);
    }
    ratio(&sqlite_reads);

    let postgres = std::env::var_os("KEYWARD_BENCH_POSTGRES").is_some();
    let on_postgres = postgres.then(|| {
        let server = pg::PgServer::start_durable();
        let url = server.new_database();
        let target = PostgresDirectory::connect(&url, &Default::default()).unwrap();
        let copy_started = Instant::now();
        let copied = keyward::store::copy::copy(dir.store(), target.store()).unwrap();
        let copy_time = copy_started.elapsed();
        let rows: usize = copied.iter().map(|(_, n)| n).sum();
        let root = Credential::Session(
            target
                .sign_in("root", &Secret::new(PASSWORD.into()))
                .unwrap()
                .access_token,
        );
        let mut bare_client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let statement = bare_client
            .prepare("SELECT key_id FROM key_secrets WHERE hash = $1")
            .unwrap();
        let reads = reads(&target, &root, &sample, |digests| {
            digests
                .iter()
                .map(|d| {
                    time(|| {
                        let row = bare_client.query_one(&statement, &[&&d[..]]).unwrap();
                        row.get::<_, String>(0)
                    })
                })
                .collect()
        });
        (server, target, root, reads, copy_time, rows, url)
    });
    if let Some((_, _, _, pg_reads, copy_time, rows, _)) = &on_postgres {
        println!(
            "\n`keyward copy` of the directory into PostgreSQL: {rows} rows in {:.1} s\n",
            copy_time.as_secs_f64()
        );
        println!(
            "| operation | SQLite p50 | SQLite p99 | PostgreSQL p50 | PostgreSQL p99 |\n|---|---|---|---|---|"
        );
        for ((name, a), (_, b)) in sqlite_reads.iter().zip(pg_reads) {
            println!(
                "| {name} | {} | {} | {} | {} |",
                micros(a.p50),
                micros(a.p99),
                micros(b.p50),
                micros(b.p99)
            );
        }
        ratio(pg_reads);
    }

    let sqlite_look = {
        let conn = Connection::open(&path).unwrap();
        mail_look(dir.store(), &SQLITE_MAIL_LOOK, sqlite_sql(&conn))
    };
    let postgres_look = on_postgres.as_ref().map(|(_, target, _, _, _, _, url)| {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        mail_look(
            target.store(),
            &POSTGRES_MAIL_LOOK,
            postgres_sql(&mut client),
        )
    });
    print_mail_look(&sqlite_look, postgres_look.as_deref());

    if reuse {
        return;
    }
    println!("\n| creation through the API | items | total | per item |\n|---|---|---|---|");
    creation(&dir, &root);
    if let Some((_server, target, root, ..)) = &on_postgres {
        println!("\nOn PostgreSQL:\n\n| creation through the API | items | total | per item |\n|---|---|---|---|");
        creation(target, root);
    }
}

/// What the e-mail worker's look costs among 1 000 000 keys: the queries it runs (abandoned
/// deliveries, keys due for each expiry warning) on one read snapshot of `store`. `sql` runs a
/// statement of the store's own dialect with (now, one day in ms, and a kind, lead and start
/// in days where the statement has them) and returns the first column of its first row, if
/// any. The keys get expiry dates spread over the next 365 days (about 36 000 within 14 days);
/// measured with no warning sent yet (each query stops at its batch of 500), in the steady
/// state where every key in a window has had its warning (the hourly look through the whole
/// windows), and the look of every minute at the keys new in a window.
fn mail_look<S: keyward::rules::storage::Store>(
    store: &S,
    statements: &MailLookSql,
    mut sql: impl FnMut(&str, &[i64], Option<&str>) -> Option<i64>,
) -> Vec<(String, Stats)> {
    use chrono::TimeDelta;
    use keyward::rules::storage::ExpiringKeys;
    let day = TimeDelta::days(1).num_milliseconds();
    let now = chrono::Utc::now();
    let now_ms = now.timestamp_millis();
    sql("DELETE FROM mail_deliveries", &[], None);
    sql(statements.expire, &[now_ms, day], None);
    sql(statements.analyze, &[], None);
    let window = sql(statements.window, &[now_ms, day], None).unwrap_or(0);
    // The worker's look (rules/mail.rs): abandoned deliveries, then each warning's keys,
    // those that entered its window since `since` (every minute) or all in it (hourly).
    let look = |since: Option<chrono::DateTime<chrono::Utc>>| {
        store
            .read(|tx| {
                let mut found = tx.abandoned_deliveries(now, 500)?.len();
                for (kind, lead, after) in [
                    (MailKind::KeyExpiresIn1Day, 1, 0),
                    (MailKind::KeyExpiresIn14Days, 14, 1),
                ] {
                    let window_starts = now + TimeDelta::days(after);
                    let expires_after = since.map_or(window_starts, |since| {
                        window_starts.max(since + TimeDelta::days(lead))
                    });
                    found += tx
                        .expiring_keys(&ExpiringKeys {
                            key_status: KeyStatus::Enabled,
                            owner_status: UserStatus::Active,
                            kind,
                            expires_after,
                            expires_by: now + TimeDelta::days(lead),
                            lifetime_over_ms: lead * day,
                            limit: 500,
                        })?
                        .len();
                }
                Ok(found)
            })
            .unwrap()
    };
    let mut found = 0;
    let first = stats((0..30).map(|_| time(|| found = look(None))).collect());
    for (kind, lead, after) in [
        ("KEY_EXPIRES_IN_1_DAY", 1, 0),
        ("KEY_EXPIRES_IN_14_DAYS", 14, 1),
    ] {
        sql(statements.warned, &[now_ms, lead, after, day], Some(kind));
    }
    sql(statements.analyze, &[], None);
    let mut nothing = usize::MAX;
    let whole = stats((0..30).map(|_| time(|| nothing = look(None))).collect());
    assert_eq!(nothing, 0, "every warning was recorded as sent");
    let minute_ago = Some(now - TimeDelta::minutes(1));
    let mut new = 0;
    let steady = stats((0..300).map(|_| time(|| new = look(minute_ago))).collect());
    vec![
        (
            format!("whole windows, nothing sent yet ({found} of {window} found)"),
            first,
        ),
        (
            "whole windows, every warning sent (hourly, and at start)".to_owned(),
            whole,
        ),
        (
            format!("keys new in the windows since a minute ago (every minute; {new} found)"),
            steady,
        ),
    ]
}

/// The statements `mail_look` needs, in a store's dialect.
struct MailLookSql {
    /// Expiry dates over the next 365 days (now, day).
    expire: &'static str,
    analyze: &'static str,
    /// Keys expiring within 14 days (now, day).
    window: &'static str,
    /// Every key in a warning's window warned (now, lead, start, day; the kind).
    warned: &'static str,
}

const SQLITE_MAIL_LOOK: MailLookSql = MailLookSql {
    expire: "UPDATE api_keys SET created_time = ?1 - 180 * ?2,
                 expires_time = ?1 + ?2 + (abs(random()) % (364 * ?2))",
    analyze: "ANALYZE",
    window: "SELECT count(*) FROM api_keys WHERE expires_time <= ?1 + 14 * ?2",
    warned: "INSERT INTO mail_deliveries (id, user_id, key_id, kind, recipient, status, reason,
                 attempts, created_time, updated_time, next_attempt_time, sender_id)
             SELECT ?5 || id, owner_id, id, ?5, 'owner@example.com', 'SENT', '250 OK', 1, ?1, ?1,
                    NULL, NULL
             FROM api_keys WHERE expires_time > ?1 + ?3 * ?4 AND expires_time <= ?1 + ?2 * ?4",
};

const POSTGRES_MAIL_LOOK: MailLookSql = MailLookSql {
    expire: "UPDATE api_keys SET created_time = $1::bigint - 180 * $2::bigint,
                 expires_time = $1::bigint + $2::bigint
                     + floor(random() * 364 * $2::bigint)::bigint",
    analyze: "ANALYZE",
    window: "SELECT count(*) FROM api_keys WHERE expires_time <= $1::bigint + 14 * $2::bigint",
    warned: "INSERT INTO mail_deliveries (id, user_id, key_id, kind, recipient, status, reason,
                 attempts, created_time, updated_time, next_attempt_time, sender_id)
             SELECT $5::text || id, owner_id, id, $5::text, 'owner@example.com', 'SENT',
                    '250 OK', 1, $1::bigint, $1::bigint, NULL, NULL
             FROM api_keys
             WHERE expires_time > $1::bigint + $3::bigint * $4::bigint
               AND expires_time <= $1::bigint + $2::bigint * $4::bigint",
};

/// Runs a statement on a SQLite file for `mail_look`.
fn sqlite_sql(conn: &Connection) -> impl FnMut(&str, &[i64], Option<&str>) -> Option<i64> + '_ {
    move |statement, numbers, text| {
        let mut values: Vec<rusqlite::types::Value> = numbers.iter().map(|n| (*n).into()).collect();
        values.extend(text.map(|t| t.to_owned().into()));
        let mut prepared = conn.prepare(statement).unwrap();
        if prepared.column_count() == 0 {
            prepared
                .execute(rusqlite::params_from_iter(values))
                .unwrap();
            None
        } else {
            prepared
                .query_row(rusqlite::params_from_iter(values), |r| r.get(0))
                .ok()
        }
    }
}

/// Runs a statement on a PostgreSQL database for `mail_look`.
fn postgres_sql(
    client: &mut postgres::Client,
) -> impl FnMut(&str, &[i64], Option<&str>) -> Option<i64> + '_ {
    move |statement, numbers, text| {
        let mut values: Vec<&(dyn postgres::types::ToSql + Sync)> =
            numbers.iter().map(|n| n as _).collect();
        let text = text.map(str::to_owned);
        if let Some(text) = &text {
            values.push(text);
        }
        let rows = client.query(statement, &values).unwrap();
        rows.first().and_then(|r| r.try_get::<_, i64>(0).ok())
    }
}

fn print_mail_look(sqlite: &[(String, Stats)], postgres: Option<&[(String, Stats)]>) {
    println!("\nThe e-mail look:\n");
    match postgres {
        None => {
            println!("| operation | p50 | p99 | mean |\n|---|---|---|---|");
            for (name, s) in sqlite {
                report(name, s);
            }
        }
        Some(pg) => {
            println!(
                "| operation | SQLite p50 | SQLite p99 | PostgreSQL p50 | PostgreSQL p99 |\n|---|---|---|---|---|"
            );
            for ((name, a), (_, b)) in sqlite.iter().zip(pg) {
                println!(
                    "| {name} | {} | {} | {} | {} |",
                    micros(a.p50),
                    micros(a.p99),
                    micros(b.p50),
                    micros(b.p99)
                );
            }
        }
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ratio(reads: &[(String, Stats)]) {
    let find = |prefix: &str| {
        reads
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .map(|(_, s)| s.p50)
    };
    if let (Some(verify), Some(bare)) = (find("verify key, steady"), find("bare indexed")) {
        println!(
            "| verify p50 ÷ bare SELECT p50 | {:.2}× | | |",
            verify.as_secs_f64() / bare.as_secs_f64()
        );
    }
}

/// Key verification, pages and searches through the `Directory` API; `bare` times the plain
/// indexed look-up of each digest on the same store.
fn reads(
    dir: &dyn Directory,
    root: &Credential,
    sample: &[Secret],
    bare: impl FnOnce(&[[u8; 32]]) -> Vec<Duration>,
) -> Vec<(String, Stats)> {
    let mut out = Vec::new();
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
    let digests: Vec<[u8; 32]> = sample.iter().map(Secret::digest).collect();
    let bare_times = bare(&digests);
    let unknown: Vec<Secret> = (0..sample.len()).map(|_| generate_key()).collect();
    let not_found: Vec<Duration> = unknown
        .iter()
        .map(|k| time(|| dir.verify_key(k.expose()).unwrap()))
        .collect();
    out.push((
        "verify key, steady state (read only)".to_owned(),
        stats(steady),
    ));
    out.push((
        "verify key, first use in a minute (records lastUsedTime)".to_owned(),
        stats(first),
    ));
    out.push(("verify key, unknown key".to_owned(), stats(not_found)));
    out.push((
        "bare indexed SELECT on key_secrets.hash".to_owned(),
        stats(bare_times),
    ));

    // User pages and search, through the API with a signed-in SuperAdmin.
    let page = |query: UserQuery| {
        let runs: Vec<Duration> = (0..200)
            .map(|_| time(|| dir.list_users(root, &query).unwrap()))
            .collect();
        stats(runs)
    };
    let search = |q: &str| UserQuery {
        q: Some(q.into()),
        ..Default::default()
    };
    out.push((
        "users page 1 of 50 sorted by name".to_owned(),
        page(UserQuery::default()),
    ));
    out.push((
        "users page 1000 of 50 sorted by name".to_owned(),
        page(UserQuery {
            page: Some(1000),
            ..Default::default()
        }),
    ));
    out.push((
        "users page 1 sorted by -createdTime".to_owned(),
        page(UserQuery {
            sort: Some("-createdTime".into()),
            ..Default::default()
        }),
    ));
    for q in ["nadia.berg", "kowalski"] {
        let found = dir
            .list_users(root, &search(q))
            .unwrap()
            .page_info
            .total_elements;
        out.push((format!("search q={q} ({found} matches)"), page(search(q))));
    }
    out.push((
        "search q=zo (2 characters: scan)".to_owned(),
        page(search("zo")),
    ));
    out
}

/// Creation through the API, each its own audited transaction.
fn creation(dir: &dyn Directory, root: &Credential) {
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
                    root,
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
                root,
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
    let me = dir.me(root).unwrap();
    let total = time(|| {
        for i in 0..n {
            dir.create_key(
                root,
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
                root,
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

//! The benchmarks' fixture: a directory with many users (cycling through common first and
//! last names, so that searches hit realistic numbers of rows) and many enabled keys, written
//! with plain SQL in one transaction (the API would spend minutes on a million audited
//! transactions). Included by each bench binary with `#[path]`.

#![allow(dead_code)]

use keyward::core::directory::Directory;
use keyward::core::model::FirstAdmin;
use keyward::core::secret::{generate_key, key_prefix, Secret};
use keyward::store::SqliteDirectory;
use rusqlite::{params, Connection};
use std::time::Duration;

/// A size from the environment (KEYWARD_BENCH_USERS …), else `default`.
pub fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub const PASSWORD: &str = "tangerine orbit wallpaper 42";

/// A new directory at `path` (any older file and its WAL removed) with the SuperAdmin `root`.
pub fn fresh_directory(path: &std::path::Path) -> SqliteDirectory {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.to_path_buf().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    let dir = SqliteDirectory::open(path).unwrap();
    dir.create_first_admin(FirstAdmin {
        user_name: "root".into(),
        display_name: "Root".into(),
        email: "root@example.com".into(),
        password: Secret::new(PASSWORD.into()),
    })
    .unwrap();
    dir
}

pub struct Stats {
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
}

/// Median, 99th percentile and mean of `samples` (all zero when there are none).
pub fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    if samples.is_empty() {
        return Stats {
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            mean: Duration::ZERO,
        };
    }
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Stats {
        p50: at(0.5),
        p99: at(0.99),
        mean: total / samples.len() as u32,
    }
}
pub const FIRST: &[&str] = &[
    "alice", "bruno", "chloe", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas",
    "kemal", "lena", "mateo", "nadia", "oskar", "priya", "quentin", "rosa", "samir", "tessa",
    "ugo", "vera", "wim", "xenia", "yusuf", "zoe",
];
pub const LAST: &[&str] = &[
    "smith",
    "garcia",
    "muller",
    "rossi",
    "dubois",
    "kowalski",
    "nakamura",
    "silva",
    "jensen",
    "novak",
    "okafor",
    "lindqvist",
    "haddad",
    "ivanova",
    "costa",
    "berg",
    "moreau",
    "fischer",
];

/// Writes `users` users and `keys` enabled keys in one transaction; returns a sample of key
/// secrets to verify.
pub fn seed(path: &std::path::Path, users: usize, keys: usize) -> Vec<Secret> {
    let mut conn = Connection::open(path).expect("open fixture connection");
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    let tx = conn.transaction().unwrap();
    let phc = keyward::core::password::hash(PASSWORD);
    let now = chrono::Utc::now().timestamp_millis();
    let mut ids = Vec::with_capacity(users);
    {
        let mut user = tx
            .prepare(
                "INSERT INTO users (id, user_name, user_name_key, display_name, display_name_key,
                     email, email_key, status, type, password_hash, created_time,
                     last_updated_time, update_version)
                 VALUES (?1, ?2, ?2, ?3, lower(?3), ?4, ?4, 'ACTIVE', 'NATIVE', ?5, ?6, ?6, 1)",
            )
            .unwrap();
        let mut role = tx
            .prepare("INSERT INTO user_roles (user_id, role_id) VALUES (?1, 'operator')")
            .unwrap();
        for i in 0..users {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let n = i / (FIRST.len() * LAST.len());
            let id = uuid::Uuid::now_v7().to_string();
            let name = format!("{first}.{last}{n}");
            let display = format!("{} {} {n}", capitalise(first), capitalise(last));
            user.execute(params![
                id,
                name,
                display,
                format!("{name}@example.com"),
                phc,
                now + i as i64
            ])
            .unwrap();
            role.execute([&id]).unwrap();
            ids.push(id);
        }
    }
    let mut sample = Vec::new();
    {
        let mut key = tx
            .prepare(
                "INSERT INTO api_keys (id, owner_id, name, name_key, description, prefix, status,
                     created_time, created_by)
                 VALUES (?1, ?2, ?3, ?3, '', ?4, 'ENABLED', ?5, ?2)",
            )
            .unwrap();
        let mut secret = tx
            .prepare("INSERT INTO key_secrets (hash, key_id, not_after) VALUES (?1, ?2, NULL)")
            .unwrap();
        let every = (keys / 10_000).max(1);
        for i in 0..keys {
            let id = uuid::Uuid::now_v7().to_string();
            let value = generate_key();
            key.execute(params![
                id,
                ids[i % ids.len()],
                format!("key-{i}"),
                key_prefix(&value),
                now
            ])
            .unwrap();
            secret.execute(params![&value.digest()[..], id]).unwrap();
            if i % every == 0 {
                sample.push(value);
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    sample
}

pub fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

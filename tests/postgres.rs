//! What only the PostgreSQL store can show: the database itself (no secret in a dump, an
//! append-only audit table, a numbered schema), and rules holding while several instances
//! write to one database at once.

use crate::common::postgres::server;
use crate::common::*;
use chrono::{TimeZone, Utc};
use keyward::core::clock::ManualClock;
use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::Error;
use keyward::store::postgres::OpenError;
use keyward::store::PostgresDirectory;
use std::sync::{Arc, Barrier};

/// A new database and `instances` directories on it, as that many servers would hold.
fn instances(count: usize) -> (String, ManualClock, Vec<Arc<dyn Directory>>) {
    let url = server().new_database();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap());
    let dirs = (0..count)
        .map(|_| {
            Arc::new(
                PostgresDirectory::connect_with_clock(
                    &url,
                    &Default::default(),
                    Arc::new(clock.clone()),
                )
                .unwrap(),
            ) as Arc<dyn Directory>
        })
        .collect();
    (url, clock, dirs)
}

fn first_admin(dir: &dyn Directory) -> Credential {
    dir.create_first_admin(FirstAdmin {
        user_name: "root".into(),
        display_name: "Root".into(),
        email: "root@example.com".into(),
        password: secret(PASSWORD),
    })
    .unwrap();
    Credential::Session(dir.sign_in("root", &secret(PASSWORD)).unwrap().access_token)
}

fn psql(url: &str, sql: &str) -> std::process::Output {
    std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql])
        .output()
        .expect("psql runs")
}

#[test]
fn the_database_holds_no_password_key_token_or_link() {
    let (url, _, dirs) = instances(1);
    let dir = &dirs[0];
    let root = first_admin(dir.as_ref());
    let ann = dir
        .create_user(
            &root,
            NewUser {
                user_name: "ann".into(),
                display_name: "Ann".into(),
                email: "ann@example.com".into(),
                password: Some(secret(OTHER_PASSWORD)),
                roles: vec![BuiltinRole::Operator.id().into()],
                ..Default::default()
            },
        )
        .unwrap()
        .user;
    let session = dir
        .sign_in("ann", &secret(OTHER_PASSWORD))
        .unwrap()
        .access_token;
    let key = dir
        .create_key(
            &Credential::Session(session.clone()),
            &ann.id,
            key_named("k"),
        )
        .unwrap()
        .secret
        .unwrap();
    let reset = dir.reset_password(&root, &ann.id).unwrap().token;
    let invite = dir
        .create_user(
            &root,
            NewUser {
                user_name: "ivy".into(),
                display_name: "Ivy".into(),
                email: "ivy@example.com".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .invitation
        .unwrap()
        .token;
    let dump = std::process::Command::new(server().bin().join("pg_dump"))
        .args(["--data-only", &url])
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("ann@example.com"), "the dump holds the data");
    for secret in [
        PASSWORD,
        OTHER_PASSWORD,
        key.expose(),
        session.expose(),
        reset.expose(),
        invite.expose(),
    ] {
        assert!(!text.contains(secret), "a secret is stored in clear");
    }
    assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
}

#[test]
fn the_audit_table_refuses_update_delete_and_truncate_in_sql() {
    let (url, _, dirs) = instances(1);
    first_admin(dirs[0].as_ref());
    for sql in [
        "UPDATE audit_log SET detail = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let out = psql(&url, sql);
        assert!(!out.status.success(), "{sql} was allowed");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("append-only"),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = psql(&url, "SELECT count(*) FROM audit_log");
    assert!(out.status.success());
}

#[test]
fn a_database_from_a_newer_keyward_is_refused_with_a_clear_message() {
    let (url, _, dirs) = instances(1);
    drop(dirs);
    assert!(psql(&url, "UPDATE keyward_schema SET version = 99")
        .status
        .success());
    let error = PostgresDirectory::connect(&url, &Default::default())
        .err()
        .expect("refused");
    assert!(
        matches!(error, OpenError::TooNew { found: 99, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("newer Keyward"), "{error}");
    let nowhere = format!("postgres://keyward@127.0.0.1:{}/nowhere", server().port);
    let error = PostgresDirectory::connect(&nowhere, &Default::default())
        .err()
        .expect("refused");
    assert!(matches!(error, OpenError::Unavailable { .. }), "{error}");
}

#[test]
fn a_logged_url_never_shows_the_password_it_was_given() {
    let url = format!(
        "postgres://keyward:not-the-password@127.0.0.1:{}/nowhere",
        server().port
    );
    let error = PostgresDirectory::connect(&url, &Default::default())
        .err()
        .expect("refused");
    let text = error.to_string();
    assert!(!text.contains("not-the-password"), "{text}");
    assert!(text.contains("keyward:***@127.0.0.1"), "{text}");
}

#[test]
fn two_instances_racing_for_one_user_name_make_one_user_and_one_duplicate() {
    let (_, _, dirs) = instances(2);
    let root = first_admin(dirs[0].as_ref());
    for refused in race_for_one_user_name([Arc::clone(&dirs[0]), Arc::clone(&dirs[1])], &root) {
        assert!(matches!(refused, Error::Duplicate(_)), "{refused:?}");
    }
}

#[test]
fn two_super_admins_demoting_each_other_at_once_never_leave_none() {
    let (_, _, dirs) = instances(2);
    let root = first_admin(dirs[0].as_ref());
    let super_admin = [BuiltinRole::SuperAdmin.id().to_owned()];
    let other = dirs[0]
        .create_user(
            &root,
            NewUser {
                user_name: "sam".into(),
                display_name: "Sam".into(),
                email: "sam@example.com".into(),
                password: Some(secret(PASSWORD)),
                roles: super_admin.to_vec(),
                ..Default::default()
            },
        )
        .unwrap()
        .user;
    let sam = Credential::Session(
        dirs[1]
            .sign_in("sam", &secret(PASSWORD))
            .unwrap()
            .access_token,
    );
    let root_id = dirs[0].me(&root).unwrap().id;
    for round in 0..20 {
        let demote = |dir: &Arc<dyn Directory>, who: &Credential, target: &str| {
            let version = dir.get_user(who, target).unwrap().update_version;
            let (dir, who, target) = (Arc::clone(dir), who.clone(), target.to_owned());
            move || {
                dir.update_user(
                    &who,
                    &target,
                    UserUpdate {
                        roles: Some(vec![BuiltinRole::Administrator.id().into()]),
                        update_version: version,
                        ..Default::default()
                    },
                )
            }
        };
        let barrier = Arc::new(Barrier::new(2));
        let jobs = [
            demote(&dirs[0], &root, &other.id),
            demote(&dirs[1], &sam, &root_id),
        ];
        let racers: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    job()
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let demoted = results.iter().filter(|r| r.is_ok()).count();
        assert!(demoted <= 1, "round {round}: both demoted: {results:?}");
        let holders = dirs[0]
            .list_users(
                &Credential::Session(
                    dirs[0]
                        .sign_in(
                            if results[0].is_ok() { "root" } else { "sam" },
                            &secret(PASSWORD),
                        )
                        .map(|s| s.access_token)
                        .unwrap_or_else(|_| secret("none")),
                ),
                &UserQuery {
                    role: Some(BuiltinRole::SuperAdmin.id().into()),
                    ..Default::default()
                },
            )
            .map(|page| page.page_info.total_elements);
        assert!(holders.is_ok_and(|n| n >= 1), "round {round}: {results:?}");
        // Restore both as SuperAdmins for the next round, through whoever still is one.
        let (acting, dir) = if results[0].is_ok() {
            (&root, &dirs[0])
        } else {
            (&sam, &dirs[1])
        };
        for target in [&root_id, &other.id] {
            let current = dir.get_user(acting, target).unwrap();
            if current.roles != super_admin {
                dir.update_user(
                    acting,
                    target,
                    UserUpdate {
                        roles: Some(super_admin.to_vec()),
                        update_version: current.update_version,
                        ..Default::default()
                    },
                )
                .unwrap();
            }
        }
    }
}

#[test]
fn the_database_is_reached_over_tls_and_only_with_a_certificate_it_trusts() {
    use keyward::store::Access;
    // A private CA and the database server's certificate signed by it.
    let (ca_pem, server_cert, server_key) = crate::common::private_ca();
    let pg = crate::common::postgres::PgServer::start_with_tls(&server_cert, &server_key);
    let url = format!("{}?sslmode=require", pg.new_database());
    // The system's roots do not know the private CA: refused, and said so.
    let refused = PostgresDirectory::connect(&url, &Access::default())
        .err()
        .expect("an untrusted certificate is refused");
    assert!(
        matches!(refused, OpenError::Unavailable { .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );
    let tmp = tempfile::TempDir::new().unwrap();
    let ca_file = tmp.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let access = Access {
        ca_file: Some(ca_file),
        ..Default::default()
    };
    let dir = PostgresDirectory::connect(&url, &access).expect("trusted through the CA file");
    first_admin(&dir);
    // The server sees Keyward's connections encrypted.
    let admin = url.replace("?sslmode=require", "");
    let out = psql(
        &admin,
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE s.ssl AND a.application_name = 'keyward'",
    );
    let count: i64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next()
        .unwrap_or(0);
    assert!(count >= 1, "{}", String::from_utf8_lossy(&out.stdout));
}

//! What only the SQLite backend can show: the file itself, its schema, its pragmas, backup.

use crate::common::*;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::store::{schema_version, OpenError, SqliteDirectory};
use keyward::transfer::Format;
use rusqlite::Connection;

#[test]
fn the_database_file_holds_no_password_key_or_token() {
    let h = Harness::sqlite();
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("ann");
    let key = h
        .dir
        .create_key(&session, &ann.id, key_named("k"))
        .unwrap()
        .secret
        .unwrap();
    let reset = h.dir.reset_password(&root, &ann.id).unwrap().token;
    let mut secrets = vec![
        PASSWORD.to_owned(),
        key.expose().to_owned(),
        reset.expose().to_owned(),
    ];
    if let Credential::Session(token) = &session {
        secrets.push(token.expose().to_owned());
    }
    // Fold the WAL into the main file so that every byte is in one place.
    Connection::open(&h.path)
        .unwrap()
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let mut bytes = std::fs::read(&h.path).unwrap();
    bytes.extend(std::fs::read(h.path.with_extension("db-wal")).unwrap_or_default());
    let text = String::from_utf8_lossy(&bytes);
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "secret stored in clear");
    }
    assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
}

/// The bytes of `path` and of its `-wal` beside it.
fn file_and_wal(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    bytes
}

fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_two_step_secret_is_sealed_in_the_file_its_wal_and_a_backup_and_opens_only_with_its_key() {
    let h = Harness::sqlite();
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    assert!(!h.key.exists(), "no key until a secret is sealed");
    let (setup, recovery) = turn_on_second_factor(h.dir.as_ref(), "ann", h.clock_now());
    let raw = totp_rs::Secret::try_from_base32(setup.secret.expose())
        .unwrap()
        .as_bytes()
        .to_vec();
    let backup = h.path.with_file_name("backup.db");
    SqliteDirectory::open(&h.path)
        .unwrap()
        .backup_to(&backup)
        .unwrap();
    let exports = [Format::Csv, Format::Json]
        .map(|format| keyward::transfer::export(h.dir.as_ref(), &root, format, |_, _| {}).unwrap());
    for bytes in [file_and_wal(&h.path), std::fs::read(&backup).unwrap()]
        .into_iter()
        .chain(exports)
    {
        assert!(holds(&bytes, b"ann@example.com"), "the data is there");
        // A recovery code is kept as an HMAC under the key, not as a bare SHA-256 that a
        // copy of the database could be searched against.
        let plain_digest = keyward::core::secret::sha256(&recovery[0].expose().replace('-', ""));
        for needle in [
            raw.as_slice(),
            setup.secret.expose().as_bytes(),
            setup.otpauth_uri.expose().as_bytes(),
            recovery[0].expose().as_bytes(),
            plain_digest.as_slice(),
        ] {
            assert!(
                !holds(&bytes, needle),
                "a two-step secret is stored in clear"
            );
        }
    }
    // The key is a file of its own beside the directory, for its owner alone.
    let key = std::fs::read_to_string(&h.key).unwrap();
    assert_eq!(key.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&h.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Without it, nobody with a second step signs in, and says why; the others still do.
    let aside = h.key.with_extension("aside");
    std::fs::rename(&h.key, &aside).unwrap();
    let dir = h.reopen(None);
    let refused = dir.start_sign_in("ann", &secret(PASSWORD)).unwrap_err();
    assert!(
        matches!(refused, keyward::core::Error::StateConflict(_)),
        "{refused:?}"
    );
    let message = refused.to_string();
    assert!(
        message.contains("directory.db.key is missing") && message.contains("Nobody with two-step"),
        "{message}"
    );
    dir.sign_in("root", &secret(PASSWORD)).unwrap();
    // Nor does another key open it, or get made in its place.
    std::fs::write(&h.key, format!("{}\n", "ab".repeat(32))).unwrap();
    let dir = h.reopen(None);
    let other = dir.start_sign_in("ann", &secret(PASSWORD)).unwrap();
    let SignInStep::SecondFactor(challenge) = other else {
        panic!("{other:?}")
    };
    let wrong = dir
        .finish_sign_in(
            &challenge.challenge_token,
            &totp_code(setup.secret.expose(), h.clock_now()),
        )
        .unwrap_err();
    assert!(wrong.to_string().contains("is not the key"), "{wrong}");
    // Back in place, the code signs in.
    std::fs::rename(&aside, &h.key).unwrap();
    let dir = h.reopen(None);
    let SignInStep::SecondFactor(challenge) = dir.start_sign_in("ann", &secret(PASSWORD)).unwrap()
    else {
        panic!("a second step")
    };
    dir.finish_sign_in(&challenge.challenge_token, &recovery[0])
        .unwrap();
}

#[test]
fn the_file_uses_wal_foreign_keys_and_a_numbered_schema() {
    let h = Harness::sqlite();
    h.root();
    let conn = Connection::open(&h.path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, schema_version());
    // Foreign keys are on in the directory's own connections: deleting a user removed keys.
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM api_keys WHERE owner_id NOT IN (SELECT id FROM users)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}

#[test]
fn every_commit_is_durable_before_it_is_acknowledged() {
    let h = Harness::sqlite();
    h.root();
    let dir = SqliteDirectory::open(&h.path).unwrap();
    // FULL (2): in WAL mode the WAL is synced at every commit, so a power cut cannot undo an
    // acknowledged change; NORMAL (1) would sync only at checkpoints.
    assert_eq!(dir.store().writer_synchronous().unwrap(), 2);
}

/// The store keeps a read transaction open so that verifications take no lock in the file
/// system (issue #20). It must let go of it within about a second, or a process that verified
/// once would hold back every checkpoint of the file, and the WAL would grow without end.
#[test]
fn a_directory_that_verified_holds_back_a_checkpoint_for_a_moment_only() {
    let h = Harness::sqlite();
    let root = h.root();
    let roles = [BuiltinRole::Operator.id(), BuiltinRole::ApiUser.id()];
    let ann = h.user(&root, "ann", &roles);
    let key = h
        .dir
        .create_key(&h.sign_in("ann"), &ann.id, key_named("k"))
        .unwrap()
        .secret
        .unwrap();
    let other = Connection::open(&h.path).unwrap();
    // Whether a checkpoint that must start the WAL over was kept from it by a reader, when
    // it waits `wait` for readers at most.
    let busy = |wait: std::time::Duration| -> bool {
        other.busy_timeout(wait).unwrap();
        let busy: i64 = other
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .unwrap();
        busy == 1
    };
    // A change from elsewhere, then a verification, which finds it and keeps a transaction
    // on the newest snapshot: the checkpoint is busy at once. Tried a few times, in case one
    // try falls on the moment the transaction is let go.
    let held = (0..5).any(|i| {
        other
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        other
            .execute(
                "UPDATE settings SET update_version = update_version + ?1",
                [i],
            )
            .unwrap();
        let verified = h.dir.verify_key(key.expose()).unwrap();
        assert_eq!(verified.code, VerifyCode::Valid);
        busy(std::time::Duration::ZERO)
    });
    assert!(held, "verifications keep a read transaction");
    // Waiting for readers, as a checkpoint with a busy timeout does, it completes.
    assert!(
        !busy(std::time::Duration::from_secs(10)),
        "the kept transaction was let go"
    );
    let wal = h.path.with_extension("db-wal");
    assert_eq!(std::fs::metadata(wal).unwrap().len(), 0);
}

#[test]
fn a_file_from_a_newer_keyward_is_refused_with_a_clear_message() {
    let tmp = tempfile::TempDir::new().unwrap();
    let path = tmp.path().join("future.db");
    SqliteDirectory::open(&path).unwrap();
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = SqliteDirectory::open(&path).err().expect("refused");
    assert!(matches!(error, OpenError::TooNew { found: 99, .. }));
    assert!(error.to_string().contains("newer Keyward"));
    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database, just some text long enough ...........................................................................................").unwrap();
    assert!(matches!(
        SqliteDirectory::open(&junk),
        Err(OpenError::NotADirectory { .. })
    ));
}

#[test]
fn the_audit_log_refuses_updates_and_deletes_even_in_sql() {
    let h = Harness::sqlite();
    h.root();
    let conn = Connection::open(&h.path).unwrap();
    assert!(conn
        .execute("UPDATE audit_log SET actor_name = 'someone'", [])
        .is_err());
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
}

#[test]
fn a_weaker_password_hash_is_upgraded_on_sign_in() {
    let h = Harness::sqlite();
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let weak = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(4096, 1, 1, None).unwrap();
        let hasher =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        hasher
            .hash_password(PASSWORD.as_bytes(), &salt)
            .unwrap()
            .to_string()
    };
    let conn = Connection::open(&h.path).unwrap();
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        (&ann.id, &weak),
    )
    .unwrap();
    h.sign_in("ann");
    let stored: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE id = ?1",
            [&ann.id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    h.sign_in("ann");
}

#[test]
fn an_online_backup_copies_a_live_directory() {
    let h = Harness::sqlite();
    let root = h.root();
    for i in 0..20 {
        h.dir
            .create_user(
                &root,
                NewUser {
                    user_name: format!("u{i}"),
                    display_name: format!("User {i}"),
                    email: format!("u{i}@example.com"),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let dir = SqliteDirectory::open(&h.path).unwrap();
    let out = h.path.with_file_name("backup.db");
    // Writes go on in another thread while the backup runs.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 20..40 {
                h.dir
                    .create_user(
                        &root,
                        NewUser {
                            user_name: format!("u{i}"),
                            display_name: format!("User {i}"),
                            email: format!("u{i}@example.com"),
                            ..Default::default()
                        },
                    )
                    .unwrap();
            }
        });
        dir.backup_to(&out).unwrap();
    });
    let copy = Connection::open(&out).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let users: i64 = copy
        .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert!((21..=41).contains(&users), "{users}");
    drop(copy);
    let restored = SqliteDirectory::open(&out).unwrap();
    use keyward::core::directory::Directory;
    let session = restored.sign_in("root", &secret(PASSWORD)).unwrap();
    assert_eq!(session.user.user_name, "root");
}

/// With STAT4 statistics SQLite re-prepares cached statements whenever a bound value changes
/// (every key verified); `.cargo/config.toml` builds the bundled SQLite without them.
#[test]
fn sqlite_is_built_without_stat4_so_cached_statements_stay_prepared() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let options: Vec<String> = conn
        .prepare("PRAGMA compile_options")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        options.iter().any(|o| o.starts_with("THREADSAFE")),
        "{options:?}"
    );
    assert!(!options.iter().any(|o| o.contains("STAT4")), "{options:?}");
}

#[test]
fn a_unique_index_violation_is_a_duplicate_on_its_field_whatever_the_path() {
    use keyward::core::names::{DisplayName, Email, Name, UserName};
    use keyward::core::Error;
    use keyward::rules::storage::{End, GroupRow, NewUserRow, RoleRow, Store, Tx};
    use keyward::store::SqliteStore;
    let tmp = tempfile::TempDir::new().unwrap();
    let store = SqliteStore::open(&tmp.path().join("unique.db")).unwrap();
    let now = chrono::Utc::now();
    let name = |text: &str| UserName::parse(text).unwrap();
    let email = |text: &str| Email::parse(text).unwrap();
    let display = DisplayName::parse("Ann").unwrap();
    let insert = |tx: &dyn Tx, id: &str, user_name: &str, mail: &str| {
        tx.insert_user(&NewUserRow {
            id,
            user_name: &name(user_name),
            display_name: &display,
            email: &email(mail),
            status: UserStatus::Active,
            user_type: UserType::Native,
            password_hash: None,
            created_time: now,
        })
    };
    // The rows go straight to the store, past every check of the rule layer: the index
    // itself refuses them, and says which field.
    let duplicate_on = |result: keyward::core::Result<()>| match result {
        Err(Error::Duplicate(fields)) => fields.fields().map(str::to_owned).collect::<Vec<_>>(),
        other => panic!("expected a duplicate, got {other:?}"),
    };
    store
        .write(End::Commit, |tx| insert(tx, "u1", "ann", "ann@example.com"))
        .unwrap();
    assert_eq!(
        duplicate_on(store.write(End::Commit, |tx| insert(tx, "u2", "ANN", "x@example.com"))),
        ["userName"]
    );
    assert_eq!(
        duplicate_on(store.write(End::Commit, |tx| insert(tx, "u3", "bob", "Ann@Example.com"))),
        ["email"]
    );
    let role = |id: &'static str| {
        let role_name = Name::parse("Auditors").unwrap();
        move |tx: &dyn Tx| {
            tx.insert_role(&RoleRow {
                id,
                name: &role_name,
                description: "",
                permissions: keyward::core::permission::PermissionSet::EMPTY,
                update_version: 1,
                time: now,
            })
        }
    };
    store.write(End::Commit, role("r1")).unwrap();
    assert_eq!(duplicate_on(store.write(End::Commit, role("r2"))), ["name"]);
    let group = |id: &'static str| {
        let name = Name::parse("Ops").unwrap();
        move |tx: &dyn Tx| {
            tx.insert_group(&GroupRow {
                id,
                name: &name,
                description: "",
                update_version: 1,
                time: now,
            })
        }
    };
    store.write(End::Commit, group("g1")).unwrap();
    assert_eq!(
        duplicate_on(store.write(End::Commit, group("g2"))),
        ["name"]
    );
    // Nothing of the refused rows was kept.
    let users = store
        .read(|tx| Ok((tx.user_exists("u2")?, tx.user_exists("u3")?)))
        .unwrap();
    assert_eq!(users, (false, false));
}

#[test]
fn two_writers_racing_for_one_user_name_make_one_user_and_one_duplicate() {
    use keyward::core::directory::Directory;
    use keyward::core::Error;
    use std::sync::Arc;
    let h = Harness::sqlite();
    let root = h.root();
    // A second directory on the same file: another process, as far as SQLite can tell.
    let other =
        Arc::new(SqliteDirectory::open_with_clock(&h.path, Arc::new(h.clock.clone())).unwrap());
    for refused in race_for_one_user_name([Arc::clone(&h.dir), other as Arc<dyn Directory>], &root)
    {
        match refused {
            Error::Duplicate(fields) => {
                assert_eq!(fields.fields().collect::<Vec<_>>(), ["email", "userName"])
            }
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }
}

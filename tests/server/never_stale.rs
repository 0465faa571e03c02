//! Key verification is never answered from before a change (issue #20): two real
//! `keyward serve` processes on one directory, on a file and on PostgreSQL. Loops on
//! instance B verify five keys without pause while instance A revokes one, deactivates the
//! owner of another, takes `USE_API_KEYS` from the owner of a third, regenerates a fourth
//! without grace and finally turns key authentication off; a sixth key expires meanwhile.
//! No verification sent after A acknowledged a change (or after the expiry) may answer
//! VALID for the key it concerns, and every key answered VALID before its change, so the
//! loops were hot and whatever B keeps between verifications was in use.

use super::instances::{initialised_database, Instance};
use super::support::client;
use crate::common::PASSWORD;
use keyward::core::permission::BuiltinRole;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn no_verification_after_a_change_answers_valid_two_servers_on_one_file() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("directory.db");
    let db = db.to_str().unwrap();
    crate::common::keyward_init(db, None);
    changes_under_load(db);
}

#[test]
fn no_verification_after_a_change_answers_valid_two_instances_on_postgresql() {
    changes_under_load(&initialised_database());
}

/// One verification: when it was sent and what it answered.
struct Answered {
    sent: Instant,
    code: String,
}

/// Verifies `key` on `url` over and over until `stop`.
fn verify_until(url: String, key: String, stop: Arc<AtomicBool>) -> Vec<Answered> {
    let http = client();
    let mut answers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let reply: Value = http
            .post(format!("{url}/api/keys/verify"))
            .json(&json!({"key": key}))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("a verification is answered 200");
        answers.push(Answered {
            sent,
            code: reply["code"].as_str().unwrap_or_default().to_owned(),
        });
    }
    answers
}

fn changes_under_load(db: &str) {
    let (a, b) = (Instance::start(db), Instance::start(db));
    let root = a.login("root", PASSWORD);
    let user = |name: &str| a.add_user(&root, name, &[BuiltinRole::ApiUser.id()]);
    let key = |owner: &str, name: &str, expires: Option<String>| {
        let issued = a.post(
            &format!("/api/users/{owner}/keys"),
            &root,
            json!({"name": name, "expiresTime": expires}),
        );
        assert_eq!(issued.status, 201, "{}", issued.body);
        // A key made for someone else waits for its download (SPEC 2).
        let id = issued.body["id"].as_str().unwrap().to_owned();
        let downloaded = a.post(&format!("/api/keys/{id}/download"), &root, json!({}));
        assert_eq!(downloaded.status, 200, "{}", downloaded.body);
        (id, downloaded.body["key"].as_str().unwrap().to_owned())
    };
    let (revoked_owner, deactivated, demoted, regenerated_owner, expiring_owner, last) = (
        user("revoked.owner"),
        user("deactivated"),
        user("demoted"),
        user("regenerated.owner"),
        user("expiring.owner"),
        user("last"),
    );
    let (revoked_id, revoked_key) = key(&revoked_owner, "revoked", None);
    let (_, deactivated_key) = key(&deactivated, "deactivated", None);
    let (_, demoted_key) = key(&demoted, "demoted", None);
    let (regenerated_id, regenerated_key) = key(&regenerated_owner, "regenerated", None);
    let expiry = chrono::Utc::now() + chrono::TimeDelta::seconds(6);
    let (_, expiring_key) = key(&expiring_owner, "expiring", Some(expiry.to_rfc3339()));
    let (_, last_key) = key(&last, "last", None);
    let keys = [
        &revoked_key,
        &deactivated_key,
        &demoted_key,
        &regenerated_key,
        &expiring_key,
        &last_key,
    ];
    // Every key verifies on B before anything changes.
    for key in keys {
        let answer = b.post("/api/keys/verify", "", json!({"key": key}));
        assert_eq!(answer.body["code"], "VALID", "{}", answer.body);
    }
    let expired_at = Instant::now()
        + (expiry - chrono::Utc::now())
            .to_std()
            .expect("the expiry is ahead");
    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = keys
        .iter()
        .map(|key| {
            let (url, key, stop) = (b.url.clone(), key.to_string(), Arc::clone(&stop));
            std::thread::spawn(move || verify_until(url, key, stop))
        })
        .collect();
    let settle = || std::thread::sleep(Duration::from_millis(400));
    std::thread::sleep(Duration::from_secs(1));
    // Each change on A, and the moment A acknowledged it.
    let change = |what: &str, answer: super::instances::Answer| {
        assert_eq!(answer.status, 200, "{what}: {}", answer.body);
        let acknowledged = Instant::now();
        settle();
        acknowledged
    };
    let revoked = change(
        "revoke",
        a.post(&format!("/api/keys/{revoked_id}/revoke"), &root, json!({})),
    );
    let version =
        |id: &str| a.get(&format!("/api/users/{id}"), &root).body["updateVersion"].clone();
    let deactivation = change(
        "deactivate",
        a.put(
            &format!("/api/users/{deactivated}"),
            &root,
            json!({"status": "INACTIVE", "updateVersion": version(&deactivated)}),
        ),
    );
    let demotion = change(
        "demote",
        a.put(
            &format!("/api/users/{demoted}"),
            &root,
            json!({"roles": [BuiltinRole::Viewer.id()], "updateVersion": version(&demoted)}),
        ),
    );
    let regeneration = change(
        "regenerate",
        a.post(
            &format!("/api/keys/{regenerated_id}/regenerate"),
            &root,
            json!({"graceSeconds": 0}),
        ),
    );
    // The expiring key's moment has come by now or comes while the loops run on.
    std::thread::sleep(expired_at.saturating_duration_since(Instant::now()));
    settle();
    let settings = a.get("/api/settings", &root).body;
    let disabled = change(
        "turn key authentication off",
        a.put(
            "/api/settings",
            &root,
            json!({"apiKeyAuthEnabled": false, "updateVersion": settings["updateVersion"]}),
        ),
    );
    stop.store(true, Ordering::SeqCst);
    let answers: Vec<Vec<Answered>> = loops.into_iter().map(|l| l.join().unwrap()).collect();
    let cases = [
        ("revoked", revoked, "REVOKED"),
        ("owner deactivated", deactivation, "USER_INACTIVE"),
        ("owner demoted", demotion, "USER_INACTIVE"),
        ("regenerated without grace", regeneration, "NOT_FOUND"),
        // The expiry is exact on both sides: a verification sent after it never says VALID.
        ("expired", expired_at, "EXPIRED"),
        ("key authentication off", disabled, "AUTH_DISABLED"),
    ];
    for ((what, changed, refused), answers) in cases.iter().zip(&answers) {
        let before = answers.iter().filter(|a| a.sent < *changed).count();
        let valid_before = answers
            .iter()
            .filter(|a| a.sent < *changed && a.code == "VALID")
            .count();
        let after: Vec<&Answered> = answers.iter().filter(|a| a.sent >= *changed).collect();
        let valid_after = after.iter().filter(|a| a.code == "VALID").count();
        eprintln!(
            "{what}: {before} verifications before ({valid_before} VALID), {} after",
            after.len()
        );
        assert!(
            valid_before > 10,
            "{what}: the loop was not running before the change"
        );
        assert!(
            !after.is_empty(),
            "{what}: no verification after the change"
        );
        assert_eq!(
            valid_after,
            0,
            "{what}: {valid_after} of {} verifications sent after the change answered VALID",
            after.len()
        );
        assert!(
            after
                .iter()
                .all(|a| a.code == *refused || a.code == "AUTH_DISABLED"),
            "{what}: answered {:?} after the change, expected {refused}",
            after
                .iter()
                .map(|a| a.code.as_str())
                .collect::<std::collections::BTreeSet<_>>()
        );
    }
}

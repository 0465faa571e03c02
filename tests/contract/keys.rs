use crate::common::*;
use chrono::TimeDelta;
use keyward::core::model::*;
use keyward::core::permission::{BuiltinRole, Permission};
use keyward::core::secret::key_is_well_formed;
use keyward::core::Error;

pub fn a_key_for_oneself_is_enabled_and_its_secret_shown_once(h: &Harness) {
    let root = h.root();
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("op");
    let issued = h
        .dir
        .create_key(
            &session,
            &op.id,
            NewKey {
                name: "deploy".into(),
                description: "CI deploys".into(),
                expires_time: Some(h.clock_now() + TimeDelta::days(90)),
            },
        )
        .unwrap();
    let secret_key = issued.secret.expect("secret shown at creation");
    assert!(key_is_well_formed(secret_key.expose()));
    assert_eq!(issued.key.status, KeyStatus::Enabled);
    let prefix = issued.key.prefix.clone().unwrap();
    assert!(secret_key.expose().starts_with(&prefix));
    assert_eq!(prefix.len(), 11);
    // Listing and reading show the prefix only.
    let listed = h.dir.list_user_keys(&session, &op.id).unwrap();
    assert_eq!(listed, vec![issued.key.clone()]);
    let json = serde_json::to_string(&listed).unwrap();
    assert!(!json.contains(secret_key.expose()));
    let verification = h.dir.verify_key(secret_key.expose()).unwrap();
    assert_eq!(
        verification,
        Verification {
            valid: true,
            code: VerifyCode::Valid,
            key_id: Some(issued.key.id.clone()),
            user_id: Some(op.id.clone()),
            user_name: Some("op".into()),
            permissions: BuiltinRole::Operator.permissions(),
            expires_time: issued.key.expires_time,
        }
    );
    // No second reveal of an enabled key.
    assert!(matches!(
        h.dir.download_key(&session, &issued.key.id),
        Err(Error::StateConflict(_))
    ));
}

pub fn a_key_for_someone_else_is_pending_until_its_owner_downloads_it(h: &Harness) {
    let root = h.root();
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    let created = h
        .dir
        .create_key(&root, &op.id, key_named("for-op"))
        .unwrap();
    assert!(created.secret.is_none());
    assert_eq!(created.key.status, KeyStatus::Pending);
    assert_eq!(created.key.prefix, None);
    assert_eq!(created.key.created_by, Some(h.dir.me(&root).unwrap().id));
    let session = h.sign_in("op");
    let downloaded = h.dir.download_key(&session, &created.key.id).unwrap();
    assert_eq!(downloaded.key.status, KeyStatus::Enabled);
    let secret_key = downloaded.secret.unwrap();
    assert_eq!(
        h.dir.verify_key(secret_key.expose()).unwrap().code,
        VerifyCode::Valid
    );
    let again = h.dir.download_key(&session, &created.key.id).unwrap_err();
    assert!(matches!(again, Error::StateConflict(_)));
    assert_eq!(again.status(), 409);
}

pub fn an_admin_downloads_only_for_accounts_that_cannot_sign_in(h: &Harness) {
    let root = h.root();
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    let for_op = h
        .dir
        .create_key(&root, &op.id, key_named("for-op"))
        .unwrap();
    assert_forbidden(h.dir.download_key(&root, &for_op.key.id));
    // Operators see keys but cannot manage other people's.
    h.user(&root, "op2", &[BuiltinRole::Operator.id()]);
    let op2 = h.sign_in("op2");
    assert_forbidden(h.dir.create_key(&op2, &op.id, key_named("x")));
    assert_forbidden(h.dir.revoke_key(&op2, &for_op.key.id));
    h.dir.get_key(&op2, &for_op.key.id).unwrap();
    let (robot, _) = h.api_user(&root, "robot");
    let for_robot = h
        .dir
        .create_key(&root, &robot.id, key_named("second"))
        .unwrap();
    let issued = h.dir.download_key(&root, &for_robot.key.id).unwrap();
    assert!(issued.secret.is_some());
}

pub fn a_revoked_key_no_longer_verifies(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    let issued = h.dir.create_key(&root, &me.id, key_named("mine")).unwrap();
    let secret_key = issued.secret.unwrap();
    let revoked = h.dir.revoke_key(&root, &issued.key.id).unwrap();
    assert_eq!(revoked.status, KeyStatus::Revoked);
    assert_eq!(revoked.revoked_by, Some(me.id.clone()));
    assert!(revoked.revoked_time.is_some());
    let verification = h.dir.verify_key(secret_key.expose()).unwrap();
    assert_eq!(verification.code, VerifyCode::Revoked);
    assert!(!verification.valid);
    assert!(verification.permissions.iter().next().is_none());
    assert_eq!(
        h.dir.list_user_keys(&root, &me.id).unwrap()[0].status,
        KeyStatus::Revoked
    );
    assert!(matches!(
        h.dir.revoke_key(&root, &issued.key.id),
        Err(Error::StateConflict(_))
    ));
    assert!(matches!(
        h.dir.regenerate_key(&root, &issued.key.id, 0),
        Err(Error::StateConflict(_))
    ));
}

pub fn regenerating_keeps_the_old_secret_for_the_grace_period(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    let issued = h
        .dir
        .create_key(&root, &me.id, key_named("rotating"))
        .unwrap();
    let first = issued.secret.unwrap();
    let second = h
        .dir
        .regenerate_key(&root, &issued.key.id, 3600)
        .unwrap()
        .secret
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        h.dir.verify_key(first.expose()).unwrap().code,
        VerifyCode::Valid
    );
    assert_eq!(
        h.dir.verify_key(second.expose()).unwrap().code,
        VerifyCode::Valid
    );
    h.clock.advance(TimeDelta::hours(1));
    assert_eq!(
        h.dir.verify_key(first.expose()).unwrap().code,
        VerifyCode::NotFound
    );
    assert_eq!(
        h.dir.verify_key(second.expose()).unwrap().code,
        VerifyCode::Valid
    );
    let third = h
        .dir
        .regenerate_key(&root, &issued.key.id, 0)
        .unwrap()
        .secret
        .unwrap();
    assert_eq!(
        h.dir.verify_key(second.expose()).unwrap().code,
        VerifyCode::NotFound
    );
    assert_eq!(
        h.dir.verify_key(third.expose()).unwrap().code,
        VerifyCode::Valid
    );
    assert_invalid(
        h.dir.regenerate_key(&root, &issued.key.id, 8 * 24 * 3600),
        &["graceSeconds"],
    );
    // Revoking ends a grace period too.
    let fourth = h
        .dir
        .regenerate_key(&root, &issued.key.id, 86_400)
        .unwrap()
        .secret
        .unwrap();
    h.dir.revoke_key(&root, &issued.key.id).unwrap();
    assert_ne!(
        h.dir.verify_key(third.expose()).unwrap().code,
        VerifyCode::Valid
    );
    assert_eq!(
        h.dir.verify_key(fourth.expose()).unwrap().code,
        VerifyCode::Revoked
    );
}

pub fn keys_expire(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    let issued = h
        .dir
        .create_key(
            &root,
            &me.id,
            NewKey {
                name: "short-lived".into(),
                description: String::new(),
                expires_time: Some(h.clock_now() + TimeDelta::days(30)),
            },
        )
        .unwrap();
    let secret_key = issued.secret.unwrap();
    h.clock.advance(TimeDelta::days(30) - TimeDelta::seconds(1));
    assert_eq!(
        h.dir.verify_key(secret_key.expose()).unwrap().code,
        VerifyCode::Valid
    );
    h.clock.advance(TimeDelta::seconds(1));
    assert_eq!(
        h.dir.verify_key(secret_key.expose()).unwrap().code,
        VerifyCode::Expired
    );
    // The session of 30 days ago has ended as well.
    let root = h.sign_in("root");
    assert_eq!(
        h.dir.get_key(&root, &issued.key.id).unwrap().status,
        KeyStatus::Expired
    );
    let expired = h
        .dir
        .list_keys(
            &root,
            &KeyQuery {
                status: Some(KeyStatus::Expired),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(expired.items.len(), 1);
    assert_invalid(
        h.dir.create_key(
            &root,
            &me.id,
            NewKey {
                name: "past".into(),
                description: String::new(),
                expires_time: Some(h.clock_now() - TimeDelta::seconds(1)),
            },
        ),
        &["expiresTime"],
    );
}

pub fn verification_codes_cover_every_refusal(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    let secret_key = h
        .dir
        .create_key(&root, &me.id, key_named("k"))
        .unwrap()
        .secret
        .unwrap();
    let code = |key: &str| h.dir.verify_key(key).unwrap().code;
    assert_eq!(code(""), VerifyCode::Malformed);
    assert_eq!(code("kw_short"), VerifyCode::Malformed);
    let mut typo = secret_key.expose().to_owned();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(code(&typo), VerifyCode::Malformed);
    let unknown = keyward::core::secret::generate_key();
    assert_eq!(code(unknown.expose()), VerifyCode::NotFound);
    h.change_settings(
        &root,
        SettingsUpdate {
            api_key_auth_enabled: Some(false),
            ..Default::default()
        },
    );
    assert_eq!(code(secret_key.expose()), VerifyCode::AuthDisabled);
    h.change_settings(
        &root,
        SettingsUpdate {
            api_key_auth_enabled: Some(true),
            ..Default::default()
        },
    );
    // An owner who loses USE_API_KEYS can no longer use their keys.
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("op");
    let op_key = h
        .dir
        .create_key(&session, &op.id, key_named("k"))
        .unwrap()
        .secret
        .unwrap();
    assert_eq!(code(op_key.expose()), VerifyCode::Valid);
    h.dir
        .update_user(
            &root,
            &op.id,
            UserUpdate {
                roles: Some(vec![BuiltinRole::Viewer.id().into()]),
                update_version: op.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(code(op_key.expose()), VerifyCode::UserInactive);
    h.change_settings(
        &root,
        SettingsUpdate {
            api_key_auth_enabled: Some(false),
            ..Default::default()
        },
    );
    assert_eq!(code(secret_key.expose()), VerifyCode::AuthDisabled);
    assert_eq!(code(unknown.expose()), VerifyCode::AuthDisabled);
    assert!(!h.dir.verify_key(secret_key.expose()).unwrap().valid);
}

pub fn last_used_time_is_recorded_at_most_once_a_minute(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    let issued = h.dir.create_key(&root, &me.id, key_named("k")).unwrap();
    let secret_key = issued.secret.unwrap();
    assert_eq!(issued.key.last_used_time, None);
    let start = h.clock_now();
    // A use is written by the directory's background writer, off the verification's path:
    // it shows within a few of its (test-short) intervals.
    let used = |h: &Harness| h.dir.get_key(&root, &issued.key.id).unwrap().last_used_time;
    let shows = |h: &Harness, expected: Option<Time>| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while used(h) != expected {
            assert!(
                std::time::Instant::now() < deadline,
                "lastUsedTime {:?}, expected {expected:?}",
                used(h)
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    let settled = |h: &Harness| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        used(h)
    };
    h.dir.verify_key(secret_key.expose()).unwrap();
    shows(h, Some(start));
    h.clock.advance(TimeDelta::seconds(59));
    h.dir.verify_key(secret_key.expose()).unwrap();
    assert_eq!(settled(h), Some(start));
    h.clock.advance(TimeDelta::seconds(1));
    h.dir.verify_key(secret_key.expose()).unwrap();
    shows(h, Some(start + TimeDelta::seconds(60)));
    // Many verifications before a write: one use, the first.
    h.clock.advance(TimeDelta::minutes(2));
    let first = h.clock_now();
    for _ in 0..5 {
        h.dir.verify_key(secret_key.expose()).unwrap();
        h.clock.advance(TimeDelta::milliseconds(1));
    }
    shows(h, Some(first));
    // Authenticating with the key counts as a use as well.
    h.clock.advance(TimeDelta::minutes(5));
    h.dir.me(&Credential::ApiKey(secret_key.clone())).unwrap();
    shows(h, Some(h.clock_now()));
}

pub fn settings_can_cap_key_lifetimes(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    h.change_settings(
        &root,
        SettingsUpdate {
            max_key_lifetime_days: Some(Some(90)),
            ..Default::default()
        },
    );
    assert_invalid(
        h.dir.create_key(&root, &me.id, key_named("forever")),
        &["expiresTime"],
    );
    let too_long = NewKey {
        name: "long".into(),
        description: String::new(),
        expires_time: Some(h.clock_now() + TimeDelta::days(91)),
    };
    assert_invalid(h.dir.create_key(&root, &me.id, too_long), &["expiresTime"]);
    let fine = NewKey {
        name: "fine".into(),
        description: String::new(),
        expires_time: Some(h.clock_now() + TimeDelta::days(90)),
    };
    h.dir.create_key(&root, &me.id, fine).unwrap();
}

pub fn key_names_are_unique_per_owner_and_validated(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    h.dir
        .create_key(&root, &me.id, key_named("Deploy"))
        .unwrap();
    assert!(matches!(
        h.dir.create_key(&root, &me.id, key_named("deploy")),
        Err(Error::Duplicate(_))
    ));
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    h.dir
        .create_key(&root, &op.id, key_named("deploy"))
        .unwrap();
    assert_invalid(h.dir.create_key(&root, &me.id, key_named("")), &["name"]);
    // Viewers hold no USE_API_KEYS, so no key can be made for them.
    let viewer = h.user(&root, "vi", &[BuiltinRole::Viewer.id()]);
    assert!(matches!(
        h.dir.create_key(&root, &viewer.id, key_named("x")),
        Err(Error::StateConflict(_))
    ));
    assert!(matches!(
        h.dir.create_key(&root, "no-such-user", key_named("x")),
        Err(Error::NotFound(_))
    ));
}

pub fn keys_are_listed_for_those_allowed(h: &Harness) {
    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    h.dir
        .create_key(&root, &me.id, key_named("root-key"))
        .unwrap();
    h.dir
        .create_key(&root, &op.id, key_named("op-key"))
        .unwrap();
    let (robot, robot_key) = h.api_user(&root, "robot");
    let all = h.dir.list_keys(&root, &KeyQuery::default()).unwrap();
    assert_eq!(all.page_info.total_elements, 3);
    let only_op = h
        .dir
        .list_keys(
            &root,
            &KeyQuery {
                owner: Some(op.id.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(only_op.items[0].name, "op-key");
    let pending = h
        .dir
        .list_keys(
            &root,
            &KeyQuery {
                status: Some(KeyStatus::Pending),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(pending.items.len(), 1);
    let found = h
        .dir
        .list_keys(
            &root,
            &KeyQuery {
                q: Some("ROOT-".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(found.items.len(), 1);
    // An API User sees its own keys and nothing else.
    assert_eq!(
        h.dir.list_user_keys(&robot_key, &robot.id).unwrap().len(),
        1
    );
    assert_forbidden(h.dir.list_user_keys(&robot_key, &op.id));
    assert_forbidden(h.dir.list_keys(&robot_key, &KeyQuery::default()));
    assert!(h
        .dir
        .me(&robot_key)
        .unwrap()
        .permissions
        .contains(Permission::USE_API_KEYS));
}

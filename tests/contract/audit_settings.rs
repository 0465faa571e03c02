use crate::common::*;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::Error;

pub fn every_change_and_every_denial_is_audited(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("ann");
    let group = h
        .dir
        .create_group(
            &root,
            NewGroup {
                name: "Ops".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let key = h.dir.create_key(&session, &ann.id, key_named("k")).unwrap();
    h.dir.revoke_key(&session, &key.key.id).unwrap();
    let _ = h.dir.delete_user(&session, &ann.id);
    let entries = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                page_size: Some(500),
                ..Default::default()
            },
        )
        .unwrap();
    let seen: Vec<(String, Option<String>, Outcome)> = entries
        .items
        .iter()
        .rev()
        .map(|e| (e.action.clone(), e.actor_name.clone(), e.outcome))
        .collect();
    let expect = |action: &str, actor: &str, outcome: Outcome| {
        assert!(
            seen.contains(&(action.to_owned(), Some(actor.to_owned()), outcome)),
            "{action} by {actor} ({outcome:?}) missing from {seen:#?}"
        );
    };
    expect("directory.setup", "root", Outcome::Success);
    expect("auth.sign_in", "root", Outcome::Success);
    expect("user.create", "root", Outcome::Success);
    expect("group.create", "root", Outcome::Success);
    expect("key.create", "ann", Outcome::Success);
    expect("key.revoke", "ann", Outcome::Success);
    expect("user.delete", "ann", Outcome::Denied);
    let created = entries
        .items
        .iter()
        .find(|e| e.action == "user.create")
        .unwrap();
    assert_eq!(created.target_id.as_deref(), Some(ann.id.as_str()));
    assert_eq!(created.target_name.as_deref(), Some("ann"));
    let group_entry = entries
        .items
        .iter()
        .find(|e| e.action == "group.create")
        .unwrap();
    assert_eq!(group_entry.target_id.as_deref(), Some(group.id.as_str()));
}

pub fn the_audit_log_is_filtered_and_paged(h: &Harness) {
    let root = h.root();
    for name in ["a1", "a2", "a3"] {
        h.user(&root, name, &[]);
    }
    let page = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                action: Some("user".into()),
                page_size: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.page_info.total_elements, 3);
    assert_eq!(page.page_info.total_pages, 2);
    assert_eq!(page.items[0].target_name.as_deref(), Some("a3"));
    let exact = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                action: Some("user.create".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(exact.page_info.total_elements, 3);
    let by_root = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                actor: Some("ROOT".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(by_root.page_info.total_elements, 5);
    h.clock.advance(chrono::TimeDelta::minutes(1));
    let since = h.clock_now();
    h.user(&root, "a4", &[]);
    let recent = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                since: Some(since),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(recent.items.len(), 1);
    assert_invalid(
        h.dir.list_audit(
            &root,
            &AuditQuery {
                page_size: Some(0),
                ..Default::default()
            },
        ),
        &["pageSize"],
    );
}

pub fn settings_are_validated_versioned_and_need_manage_settings(h: &Harness) {
    let root = h.root();
    let defaults = h.dir.get_settings(&root).unwrap();
    assert_eq!(
        defaults,
        Settings {
            api_key_auth_enabled: true,
            max_key_lifetime_days: None,
            password_min_length: 15,
            clipboard_clear_seconds: 30,
            session_lifetime_minutes: 720,
            lockout_threshold: 5,
            second_factor: SecondFactorPolicy::Optional,
            provider_groups: Vec::new(),
            update_version: 1,
        }
    );
    assert_invalid(
        h.dir.update_settings(
            &root,
            SettingsUpdate {
                password_min_length: Some(7),
                lockout_threshold: Some(0),
                update_version: 1,
                ..Default::default()
            },
        ),
        &["lockoutThreshold", "passwordMinLength"],
    );
    assert_eq!(h.dir.get_settings(&root).unwrap(), defaults);
    let changed = h
        .dir
        .update_settings(
            &root,
            SettingsUpdate {
                clipboard_clear_seconds: Some(10),
                update_version: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(changed.clipboard_clear_seconds, 10);
    assert_eq!(changed.update_version, 2);
    assert!(matches!(
        h.dir.update_settings(
            &root,
            SettingsUpdate {
                clipboard_clear_seconds: Some(20),
                update_version: 1,
                ..Default::default()
            },
        ),
        Err(Error::VersionConflict(_))
    ));
    h.user(&root, "admin", &[BuiltinRole::Administrator.id()]);
    let admin = h.sign_in("admin");
    assert_eq!(
        h.dir.get_settings(&admin).unwrap().clipboard_clear_seconds,
        10
    );
    assert_forbidden(h.dir.update_settings(
        &admin,
        SettingsUpdate {
            clipboard_clear_seconds: Some(0),
            update_version: 2,
            ..Default::default()
        },
    ));
}

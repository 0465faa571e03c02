//! Operations whose rule once lived in an adapter (the HTTP handler, the desktop command, the
//! CLI) and now lives in the rule layer, so that every caller and every backend gets it.

use crate::common::*;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::Error;

pub fn signing_out_with_an_api_key_needs_a_valid_key(h: &Harness) {
    let root = h.root();
    let (_, robot) = h.api_user(&root, "robot");
    h.dir.sign_out(&robot).expect("a valid key signs out");
    // A key has no session: it goes on working.
    h.dir.me(&robot).expect("the key still works");
    let bogus = Credential::ApiKey(secret("kw_not-a-real-key"));
    assert_eq!(h.dir.sign_out(&bogus).unwrap_err(), Error::Unauthenticated);
    let key_id = h.dir.verify_key(match &robot {
        Credential::ApiKey(k) => k.expose(),
        Credential::Session(_) => unreachable!(),
    });
    let key_id = key_id.unwrap().key_id.unwrap();
    h.dir.revoke_key(&root, &key_id).unwrap();
    assert_eq!(h.dir.sign_out(&robot).unwrap_err(), Error::Unauthenticated);
}

pub fn one_code_redeems_an_invitation_or_a_reset_whichever_it_is(h: &Harness) {
    let root = h.root();
    let invited = h.invite(&root, "ivy", &[BuiltinRole::Viewer.id()]);
    let code = invited.invitation.expect("invitation").token;
    let ivy = h.dir.redeem_code(&code, &secret(PASSWORD)).unwrap();
    assert_eq!(ivy.status, UserStatus::Active);
    h.sign_in("ivy");
    assert_invalid(h.dir.redeem_code(&code, &secret(PASSWORD)), &["token"]);

    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let reset = h.dir.reset_password(&root, &ann.id).unwrap().token;
    let session = h.sign_in("ann");
    assert_invalid(h.dir.redeem_code(&reset, &secret("short")), &["password"]);
    h.dir.redeem_code(&reset, &secret(OTHER_PASSWORD)).unwrap();
    assert_eq!(h.dir.me(&session).unwrap_err(), Error::Unauthenticated);
    h.dir.sign_in("ann", &secret(OTHER_PASSWORD)).unwrap();
    assert_invalid(
        h.dir
            .redeem_code(&secret("not a code at all"), &secret(PASSWORD)),
        &["token"],
    );
}

pub fn one_changes_ones_own_password_without_naming_oneself(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let ann = h.sign_in("ann");
    let other_session = h.sign_in("ann");
    let wrong = h
        .dir
        .change_own_password(&ann, &secret("not the password"), &secret(OTHER_PASSWORD))
        .unwrap();
    assert!(!wrong.succeeded);
    assert_eq!(wrong.errors[0].code, "PASSWORD_MISMATCH");
    let done = h
        .dir
        .change_own_password(&ann, &secret(PASSWORD), &secret(OTHER_PASSWORD))
        .unwrap();
    assert!(done.succeeded, "{:?}", done.errors);
    h.dir.me(&ann).expect("the session that changed it goes on");
    assert_eq!(
        h.dir.me(&other_session).unwrap_err(),
        Error::Unauthenticated
    );
    assert_eq!(
        h.dir.sign_in("ann", &secret(PASSWORD)).unwrap_err(),
        Error::SignInFailed
    );
    h.dir.sign_in("ann", &secret(OTHER_PASSWORD)).unwrap();
    // An account without a password of its own has none to change.
    let (_, robot) = h.api_user(&root, "robot");
    assert!(matches!(
        h.dir
            .change_own_password(&robot, &secret(PASSWORD), &secret(OTHER_PASSWORD)),
        Err(Error::StateConflict(_))
    ));
    let nobody = Credential::Session(secret("no such session"));
    assert_eq!(
        h.dir
            .change_own_password(&nobody, &secret(PASSWORD), &secret(OTHER_PASSWORD))
            .unwrap_err(),
        Error::Unauthenticated
    );
}

pub fn visible_keys_are_everyones_with_view_keys_and_else_ones_own(h: &Harness) {
    let root = h.root();
    let (robot_user, robot) = h.api_user(&root, "robot");
    let (_, other_robot) = h.api_user(&root, "other-robot");
    let root_id = h.dir.me(&root).unwrap().id;
    h.dir
        .create_key(&root, &root_id, key_named("root's"))
        .unwrap();
    for name in ["second", "third"] {
        h.dir
            .create_key(&robot, &robot_user.id, key_named(name))
            .unwrap();
    }
    let all = h
        .dir
        .list_visible_keys(&root, &KeyQuery::default())
        .unwrap();
    assert_eq!(all.page_info.total_elements, 5);
    let mine = h
        .dir
        .list_visible_keys(
            &robot,
            &KeyQuery {
                page_size: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(mine.page_info.total_elements, 3, "the robot's three keys");
    assert_eq!(mine.page_info.total_pages, 2);
    assert_eq!(mine.items.len(), 2);
    assert!(mine.items.iter().all(|k| k.owner_id == robot_user.id));
    let searched = h
        .dir
        .list_visible_keys(
            &robot,
            &KeyQuery {
                q: Some("thi".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(searched.items.len(), 1);
    let others = h
        .dir
        .list_visible_keys(
            &robot,
            &KeyQuery {
                owner: Some(root_id),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(others.page_info.total_elements, 0);
    assert_eq!(
        h.dir
            .list_visible_keys(&other_robot, &KeyQuery::default())
            .unwrap()
            .page_info
            .total_elements,
        1
    );
    assert_invalid(
        h.dir.list_visible_keys(
            &robot,
            &KeyQuery {
                page_size: Some(501),
                ..Default::default()
            },
        ),
        &["pageSize"],
    );
}

pub fn a_user_is_found_by_id_or_exact_user_name_among_many_similar_ones(h: &Harness) {
    let root = h.root();
    // More users whose names contain "zed", and sort before it, than any page holds.
    let similar: Vec<NewUser> = (0..520)
        .map(|n| NewUser {
            user_name: format!("azed{n:03}"),
            display_name: format!("Zed look-alike {n}"),
            email: format!("azed{n}@example.com"),
            ..Default::default()
        })
        .collect();
    h.dir.import_users(&root, similar, false).unwrap();
    let zed = h.user(&root, "Zed", &[BuiltinRole::Viewer.id()]);
    assert_eq!(h.dir.find_user(&root, "zed").unwrap().id, zed.id);
    assert_eq!(h.dir.find_user(&root, " ZED ").unwrap().id, zed.id);
    assert_eq!(h.dir.find_user(&root, &zed.id).unwrap().user_name, "Zed");
    assert_eq!(
        h.dir.find_user(&root, "ze").unwrap_err(),
        Error::NotFound("user"),
        "no substring matches"
    );
    // Without VIEW_USER one finds oneself, and learns nothing of others.
    let (robot_user, robot) = h.api_user(&root, "robot");
    assert_eq!(h.dir.find_user(&robot, "robot").unwrap().id, robot_user.id);
    assert_forbidden(h.dir.find_user(&robot, "zed"));
    assert_forbidden(h.dir.find_user(&robot, "nobody"));
}

pub fn authorize_answers_as_the_operation_would_before_its_input(h: &Harness) {
    let root = h.root();
    let root_id = h.dir.me(&root).unwrap().id;
    let (viewer_user, viewer) = h.acting_as(&root, BuiltinRole::Viewer, "vera");
    let (operator_user, operator) = h.acting_as(&root, BuiltinRole::Operator, "otto");
    let (robot_user, robot) = h.api_user(&root, "robot");
    let role = h
        .dir
        .create_role(
            &root,
            NewRole {
                name: "Auditor".into(),
                description: String::new(),
                permissions: BuiltinRole::Viewer.permissions(),
            },
        )
        .unwrap();
    let may = |who: &Credential, operation: Operation, target: Option<&str>| {
        h.dir.authorize(who, operation, target)
    };
    for operation in [
        Operation::CreateUser,
        Operation::ImportUsers,
        Operation::CreateRole,
        Operation::CreateGroup,
        Operation::UpdateSettings,
    ] {
        may(&root, operation, None).unwrap();
        assert_forbidden(may(&viewer, operation, None));
    }
    // A refusal is audited as the operation's would be.
    let denied = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                action: Some("settings.update".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        denied
            .items
            .iter()
            .any(|e| e.outcome == Outcome::Denied && e.actor_name.as_deref() == Some("vera")),
        "{:?}",
        denied.items
    );
    may(&root, Operation::UpdateUser, Some(&viewer_user.id)).unwrap();
    assert_forbidden(may(&operator, Operation::UpdateUser, Some(&viewer_user.id)));
    assert_eq!(
        may(&root, Operation::UpdateUser, Some("no-such-user")).unwrap_err(),
        Error::NotFound("user")
    );
    may(&root, Operation::UpdateRole, Some(&role.id)).unwrap();
    assert!(matches!(
        may(&root, Operation::UpdateRole, Some(BuiltinRole::Viewer.id())),
        Err(Error::StateConflict(_))
    ));
    // Passwords: one's own only.
    may(&viewer, Operation::ChangePassword, None).unwrap();
    may(&viewer, Operation::ChangePassword, Some(&viewer_user.id)).unwrap();
    assert_forbidden(may(&viewer, Operation::ChangePassword, Some(&root_id)));
    // Keys: one's own with USE_API_KEYS, others' with MANAGE_KEYS.
    may(&operator, Operation::CreateKey, Some(&operator_user.id)).unwrap();
    assert_forbidden(may(&viewer, Operation::CreateKey, Some(&viewer_user.id)));
    assert_forbidden(may(&operator, Operation::CreateKey, Some(&robot_user.id)));
    may(&root, Operation::CreateKey, Some(&robot_user.id)).unwrap();
    let robot_key = h
        .dir
        .list_user_keys(&root, &robot_user.id)
        .unwrap()
        .remove(0)
        .id;
    may(&robot, Operation::RegenerateKey, Some(&robot_key)).unwrap();
    may(&root, Operation::RegenerateKey, Some(&robot_key)).unwrap();
    assert_forbidden(may(&operator, Operation::RegenerateKey, Some(&robot_key)));
    assert_eq!(
        may(&viewer, Operation::RegenerateKey, Some(&robot_key)).unwrap_err(),
        Error::NotFound("API key"),
        "a key one may not see does not exist for them"
    );
    let nobody = Credential::Session(secret("no such session"));
    assert_eq!(
        may(&nobody, Operation::CreateUser, None).unwrap_err(),
        Error::Unauthenticated
    );
}

pub fn a_membership_change_is_one_change_to_each_group_it_touches(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let group = |name: &str, members: Vec<String>| {
        h.dir
            .create_group(
                &root,
                NewGroup {
                    name: name.into(),
                    members,
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let (kept, left, joined) = (
        group("Kept", vec![ann.id.clone()]),
        group("Left", vec![ann.id.clone()]),
        group("Joined", Vec::new()),
    );
    let version = h.fresh_version(&root, &ann.id);
    h.dir
        .update_user(
            &root,
            &ann.id,
            UserUpdate {
                groups: Some(vec![kept.id.clone(), joined.id.clone()]),
                update_version: version,
                ..Default::default()
            },
        )
        .unwrap();
    for (before, what) in [
        (&kept, "a group kept"),
        (&left, "a group left"),
        (&joined, "a group joined"),
    ] {
        let after = h.dir.get_group(&root, &before.id).unwrap();
        assert_eq!(
            after.update_version,
            before.update_version + 1,
            "{what}: one change, one version"
        );
    }
}

pub fn a_test_message_needs_manage_settings_and_e_mail_configured(h: &Harness) {
    let root = h.root();
    let (_, viewer) = h.acting_as(&root, BuiltinRole::Viewer, "vera");
    assert_forbidden(h.dir.send_test_mail(&viewer, None));
    assert!(matches!(
        h.dir.send_test_mail(&root, None),
        Err(Error::StateConflict(m)) if m.contains("--smtp-url")
    ));
    assert_invalid(h.dir.send_test_mail(&root, Some("not an address")), &["to"]);
}

use crate::common::*;
use chrono::TimeDelta;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::Error;

pub fn a_new_directory_needs_setup_until_the_first_admin_exists(h: &Harness) {
    assert!(h.dir.needs_setup().unwrap());
    h.root();
    assert!(!h.dir.needs_setup().unwrap());
}

pub fn the_first_admin_is_created_once_and_can_sign_in(h: &Harness) {
    let weak = h.dir.create_first_admin(FirstAdmin {
        user_name: "root".into(),
        display_name: String::new(),
        email: "root@example.com".into(),
        password: secret("short"),
    });
    assert_invalid(weak, &["password"]);
    assert!(h.dir.needs_setup().unwrap());

    let root = h.root();
    let me = h.dir.me(&root).unwrap();
    assert_eq!(me.user_name, "root");
    assert_eq!(me.roles, vec![BuiltinRole::SuperAdmin.id().to_string()]);
    assert_eq!(me.permissions, BuiltinRole::SuperAdmin.permissions());

    let again = h.dir.create_first_admin(FirstAdmin {
        user_name: "other".into(),
        display_name: String::new(),
        email: "other@example.com".into(),
        password: secret(PASSWORD),
    });
    assert!(matches!(again, Err(Error::StateConflict(_))));
}

pub fn bad_input_names_every_field_and_changes_nothing(h: &Harness) {
    let root = h.root();
    let users = h.user_count(&root);
    let audit = h.audit_count(&root);
    let result = h.dir.create_user(
        &root,
        NewUser {
            user_name: "has space".into(),
            display_name: " ".into(),
            email: "not-an-address".into(),
            password: Some(secret("password")),
            ..Default::default()
        },
    );
    assert_invalid(result, &["displayName", "email", "userName"]);
    let unknown_role = h.dir.create_user(
        &root,
        NewUser {
            user_name: "ann".into(),
            display_name: "Ann".into(),
            email: "ann@example.com".into(),
            roles: vec!["no-such-role".into()],
            ..Default::default()
        },
    );
    assert_invalid(unknown_role, &["roles"]);
    let weak = h.dir.create_user(
        &root,
        NewUser {
            user_name: "ann".into(),
            display_name: "Ann".into(),
            email: "ann@example.com".into(),
            password: Some(secret("ann-password-123")),
            ..Default::default()
        },
    );
    assert_invalid(weak, &["password"]);
    assert_eq!(h.user_count(&root), users);
    assert_eq!(h.audit_count(&root), audit);

    let ann = h.user(&root, "ann", &[]);
    let bad_update = h.dir.update_user(
        &root,
        &ann.id,
        UserUpdate {
            email: Some("nope".into()),
            display_name: Some("Still Fine".into()),
            update_version: ann.update_version,
            ..Default::default()
        },
    );
    assert_invalid(bad_update, &["email"]);
    assert_eq!(h.dir.get_user(&root, &ann.id).unwrap(), ann);
}

pub fn user_names_and_emails_are_unique_regardless_of_case(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[]);
    let duplicate = h.dir.create_user(
        &root,
        NewUser {
            user_name: "ANN".into(),
            display_name: "Ann Again".into(),
            email: "Ann@Example.com".into(),
            ..Default::default()
        },
    );
    match duplicate {
        Err(Error::Duplicate(errors)) => {
            assert_eq!(errors.fields().collect::<Vec<_>>(), ["email", "userName"])
        }
        other => panic!("expected duplicate, got {other:?}"),
    }
    let bob = h.user(&root, "bob", &[]);
    let rename = h.dir.update_user(
        &root,
        &bob.id,
        UserUpdate {
            user_name: Some("Ann".into()),
            update_version: bob.update_version,
            ..Default::default()
        },
    );
    assert!(matches!(rename, Err(Error::Duplicate(_))));
    assert_eq!(h.dir.get_user(&root, &bob.id).unwrap().user_name, "bob");
}

pub fn a_user_without_password_is_invited_with_a_one_time_link(h: &Harness) {
    let root = h.root();
    let created = h.invite(&root, "ivy", &[BuiltinRole::Viewer.id()]);
    assert_eq!(created.user.status, UserStatus::Invited);
    let invitation = created.invitation.expect("invitation");
    assert_eq!(invitation.expires_time, h.clock_now() + TimeDelta::days(7));
    assert!(matches!(
        h.dir.sign_in("ivy", &secret(PASSWORD)),
        Err(Error::SignInFailed)
    ));
    assert_invalid(
        h.dir.accept_invitation(&invitation.token, &secret("ivy")),
        &["password"],
    );
    let accepted = h
        .dir
        .accept_invitation(&invitation.token, &secret(PASSWORD))
        .unwrap();
    assert_eq!(accepted.status, UserStatus::Active);
    h.sign_in("ivy");
    assert_invalid(
        h.dir
            .accept_invitation(&invitation.token, &secret(OTHER_PASSWORD)),
        &["token"],
    );
    // Only invited users get new invitations.
    assert!(matches!(
        h.dir.send_invitation(&root, &accepted.id),
        Err(Error::StateConflict(_))
    ));
}

pub fn a_new_invitation_replaces_the_old_link(h: &Harness) {
    let root = h.root();
    let created = h.invite(&root, "ivy", &[BuiltinRole::Viewer.id()]);
    let old = created.invitation.unwrap();
    let new = h.dir.send_invitation(&root, &created.user.id).unwrap();
    assert_ne!(old.token, new.token);
    assert_invalid(
        h.dir.accept_invitation(&old.token, &secret(PASSWORD)),
        &["token"],
    );
    h.dir
        .accept_invitation(&new.token, &secret(PASSWORD))
        .unwrap();
}

pub fn an_invitation_expires_after_seven_days(h: &Harness) {
    let root = h.root();
    let created = h.invite(&root, "ivy", &[]);
    h.clock.advance(TimeDelta::days(7) + TimeDelta::seconds(1));
    assert_invalid(
        h.dir
            .accept_invitation(&created.invitation.unwrap().token, &secret(PASSWORD)),
        &["token"],
    );
}

pub fn every_change_increments_update_version(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[]);
    assert_eq!(ann.update_version, 1);
    let renamed = h
        .dir
        .update_user(
            &root,
            &ann.id,
            UserUpdate {
                display_name: Some("Ann Other".into()),
                update_version: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(renamed.update_version, 2);
    assert_eq!(renamed.display_name, "Ann Other");
    let with_role = h
        .dir
        .update_user(
            &root,
            &ann.id,
            UserUpdate {
                roles: Some(vec![BuiltinRole::Viewer.id().into()]),
                update_version: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(with_role.update_version, 3);
    // Joining a group through the group is a change to the user as well.
    let group = h
        .dir
        .create_group(
            &root,
            NewGroup {
                name: "Ops".into(),
                members: vec![ann.id.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    let ann_now = h.dir.get_user(&root, &ann.id).unwrap();
    assert_eq!(ann_now.update_version, 4);
    assert_eq!(ann_now.groups, vec![group.id]);
}

pub fn a_stale_update_version_is_a_conflict_and_changes_nothing(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[]);
    h.dir
        .update_user(
            &root,
            &ann.id,
            UserUpdate {
                display_name: Some("First Writer".into()),
                update_version: ann.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    let stale = h.dir.update_user(
        &root,
        &ann.id,
        UserUpdate {
            display_name: Some("Second Writer".into()),
            update_version: ann.update_version,
            ..Default::default()
        },
    );
    assert!(matches!(stale, Err(Error::VersionConflict(_))));
    assert_eq!(stale.unwrap_err().status(), 409);
    let now = h.dir.get_user(&root, &ann.id).unwrap();
    assert_eq!(now.display_name, "First Writer");
    assert_eq!(now.update_version, 2);
}

pub fn deactivation_ends_sessions_and_stops_keys(h: &Harness) {
    let root = h.root();
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("op");
    let key = h.dir.create_key(&session, &op.id, key_named("ci")).unwrap();
    let secret_key = key.secret.unwrap();
    assert_eq!(
        h.dir.verify_key(secret_key.expose()).unwrap().code,
        VerifyCode::Valid
    );
    let inactive = h
        .dir
        .update_user(
            &root,
            &op.id,
            UserUpdate {
                status: Some(UserStatus::Inactive),
                update_version: op.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(h.dir.me(&session), Err(Error::Unauthenticated)));
    assert_eq!(
        h.dir.verify_key(secret_key.expose()).unwrap().code,
        VerifyCode::UserInactive
    );
    assert!(matches!(
        h.dir.me(&Credential::ApiKey(secret_key.clone())),
        Err(Error::Unauthenticated)
    ));
    // Reactivated, the key works again; the old session stays ended.
    h.dir
        .update_user(
            &root,
            &op.id,
            UserUpdate {
                status: Some(UserStatus::Active),
                update_version: inactive.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        h.dir.verify_key(secret_key.expose()).unwrap().code,
        VerifyCode::Valid
    );
    assert!(matches!(h.dir.me(&session), Err(Error::Unauthenticated)));
}

pub fn deleting_a_user_removes_keys_and_sessions_but_not_history(h: &Harness) {
    let root = h.root();
    let op = h.user(&root, "op", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("op");
    let key = h.dir.create_key(&session, &op.id, key_named("ci")).unwrap();
    h.dir.delete_user(&root, &op.id).unwrap();
    assert!(matches!(
        h.dir.get_user(&root, &op.id),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(h.dir.me(&session), Err(Error::Unauthenticated)));
    assert_eq!(
        h.dir.verify_key(key.secret.unwrap().expose()).unwrap().code,
        VerifyCode::NotFound
    );
    assert!(matches!(
        h.dir.get_key(&root, &key.key.id),
        Err(Error::NotFound(_))
    ));
    let history = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                actor: Some("op".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(history.items.iter().any(|e| e.action == "key.create"));
    assert!(matches!(
        h.dir.delete_user(&root, &h.dir.me(&root).unwrap().id),
        Err(Error::StateConflict(_))
    ));
}

pub fn the_last_active_super_admin_cannot_be_removed(h: &Harness) {
    let root = h.root();
    let root_id = h.dir.me(&root).unwrap().id;
    let version = h.fresh_version(&root, &root_id);
    let refuse = |update: UserUpdate| {
        let result = h.dir.update_user(&root, &root_id, update);
        assert!(matches!(result, Err(Error::StateConflict(_))), "{result:?}");
    };
    refuse(UserUpdate {
        status: Some(UserStatus::Inactive),
        update_version: version,
        ..Default::default()
    });
    refuse(UserUpdate {
        roles: Some(vec![BuiltinRole::Administrator.id().into()]),
        update_version: version,
        ..Default::default()
    });
    // A second SuperAdmin deleting the first would leave one: allowed only while one remains.
    let second = h.user(&root, "second", &[BuiltinRole::SuperAdmin.id()]);
    let second_session = h.sign_in("second");
    h.dir.delete_user(&second_session, &root_id).unwrap();
    assert!(matches!(h.dir.me(&root), Err(Error::Unauthenticated)));
    // Holding SuperAdmin through a group counts; removing that group then is refused.
    let group = h
        .dir
        .create_group(
            &second_session,
            NewGroup {
                name: "Owners".into(),
                members: vec![second.id.clone()],
                roles: vec![BuiltinRole::SuperAdmin.id().into()],
                ..Default::default()
            },
        )
        .unwrap();
    let version = h.fresh_version(&second_session, &second.id);
    h.dir
        .update_user(
            &second_session,
            &second.id,
            UserUpdate {
                roles: Some(vec![]),
                update_version: version,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(
        h.dir.delete_group(&second_session, &group.id),
        Err(Error::StateConflict(_))
    ));
    assert!(
        h.dir.me(&second_session).unwrap().permissions == BuiltinRole::SuperAdmin.permissions()
    );
}

pub fn administrator_cannot_touch_super_admin(h: &Harness) {
    let root = h.root();
    let root_id = h.dir.me(&root).unwrap().id;
    h.user(&root, "sa2", &[BuiltinRole::SuperAdmin.id()]);
    let admin = h.user(&root, "admin", &[BuiltinRole::Administrator.id()]);
    let session = h.sign_in("admin");
    let version = h.fresh_version(&root, &root_id);
    assert_forbidden(h.dir.update_user(
        &session,
        &root_id,
        UserUpdate {
            display_name: Some("Hijacked".into()),
            update_version: version,
            ..Default::default()
        },
    ));
    assert_forbidden(h.dir.delete_user(&session, &root_id));
    assert_forbidden(h.dir.reset_password(&session, &root_id));
    assert_forbidden(h.dir.update_user(
        &session,
        &admin.id,
        UserUpdate {
            roles: Some(vec![BuiltinRole::SuperAdmin.id().into()]),
            update_version: admin.update_version,
            ..Default::default()
        },
    ));
    assert_forbidden(h.dir.create_user(
        &session,
        NewUser {
            user_name: "boss".into(),
            display_name: "Boss".into(),
            email: "boss@example.com".into(),
            roles: vec![BuiltinRole::SuperAdmin.id().into()],
            ..Default::default()
        },
    ));
    // …but manages everyone else.
    let editor = h.user(&session, "ed", &[BuiltinRole::Editor.id()]);
    h.dir.reset_password(&session, &editor.id).unwrap();
}

pub fn external_users_have_no_password_and_fixed_roles(h: &Harness) {
    let root = h.root();
    let with_password = h.dir.create_user(
        &root,
        NewUser {
            user_name: "ext".into(),
            display_name: "Ext".into(),
            email: "ext@example.com".into(),
            password: Some(secret(PASSWORD)),
            user_type: Some(UserType::External),
            ..Default::default()
        },
    );
    assert_invalid(with_password, &["password"]);
    let ext = h
        .dir
        .create_user(
            &root,
            NewUser {
                user_name: "ext".into(),
                display_name: "Ext".into(),
                email: "ext@example.com".into(),
                user_type: Some(UserType::External),
                roles: vec![BuiltinRole::Viewer.id().into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ext.user.status, UserStatus::Active);
    assert!(ext.invitation.is_none());
    assert!(matches!(
        h.dir.reset_password(&root, &ext.user.id),
        Err(Error::StateConflict(_))
    ));
    assert_invalid(
        h.dir.update_user(
            &root,
            &ext.user.id,
            UserUpdate {
                roles: Some(vec![BuiltinRole::Editor.id().into()]),
                update_version: 1,
                ..Default::default()
            },
        ),
        &["roles"],
    );
    assert!(matches!(
        h.dir.sign_in("ext", &secret(PASSWORD)),
        Err(Error::SignInFailed)
    ));
}

pub fn users_are_searched_filtered_sorted_and_paged(h: &Harness) {
    let root = h.root();
    let names = ["carol", "alice", "bob", "dave", "gus"];
    for name in names {
        h.user(&root, name, &[BuiltinRole::Viewer.id()]);
    }
    let group = h
        .dir
        .create_group(
            &root,
            NewGroup {
                name: "Night shift".into(),
                roles: vec![BuiltinRole::Operator.id().into()],
                ..Default::default()
            },
        )
        .unwrap();
    let dave = h
        .dir
        .list_users(
            &root,
            &UserQuery {
                q: Some("dave".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .remove(0);
    h.dir
        .update_group(
            &root,
            &group.id,
            GroupUpdate {
                members: Some(vec![dave.id.clone()]),
                update_version: group.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    let list = |query: UserQuery| -> Vec<String> {
        h.dir
            .list_users(&root, &query)
            .unwrap()
            .items
            .into_iter()
            .map(|u| u.user_name)
            .collect()
    };
    assert_eq!(
        list(UserQuery::default()),
        ["alice", "bob", "carol", "dave", "gus", "root"]
    );
    assert_eq!(
        list(UserQuery {
            sort: Some("-userName".into()),
            ..Default::default()
        }),
        ["root", "gus", "dave", "carol", "bob", "alice"]
    );
    // Substring of user name, display name or e-mail, any case, short or long.
    assert_eq!(
        list(UserQuery {
            q: Some("ROL".into()),
            ..Default::default()
        }),
        ["carol"]
    );
    assert_eq!(
        list(UserQuery {
            q: Some("ce".into()),
            ..Default::default()
        }),
        ["alice"]
    );
    assert_eq!(
        list(UserQuery {
            q: Some("b Exam".into()),
            ..Default::default()
        }),
        ["bob"]
    );
    assert_eq!(
        list(UserQuery {
            q: Some("%".into()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        list(UserQuery {
            role: Some(BuiltinRole::Operator.id().into()),
            ..Default::default()
        }),
        ["dave"]
    );
    assert_eq!(
        list(UserQuery {
            group: Some(group.id.clone()),
            ..Default::default()
        }),
        ["dave"]
    );
    assert_eq!(
        list(UserQuery {
            role: Some(BuiltinRole::SuperAdmin.id().into()),
            ..Default::default()
        }),
        ["root"]
    );
    let page = h
        .dir
        .list_users(
            &root,
            &UserQuery {
                page: Some(2),
                page_size: Some(4),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        page.page_info,
        PageInfo {
            page: 2,
            page_size: 4,
            total_elements: 6,
            total_pages: 2
        }
    );
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        list(UserQuery {
            status: Some(UserStatus::Invited),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
    // The search follows renames and deletions.
    h.dir
        .update_user(
            &root,
            &dave.id,
            UserUpdate {
                user_name: Some("david".into()),
                update_version: h.fresh_version(&root, &dave.id),
                ..Default::default()
            },
        )
        .unwrap();
    let q = |text: &str| UserQuery {
        q: Some(text.into()),
        ..Default::default()
    };
    assert_eq!(list(q("davi")), ["david"]);
    assert_eq!(list(q("dave@")), ["david"]);
    assert_eq!(
        list(UserQuery {
            status: Some(UserStatus::Active),
            ..q("dave")
        }),
        ["david"]
    );
    h.dir.delete_user(&root, &dave.id).unwrap();
    assert_eq!(list(q("dav")), Vec::<String>::new());
    assert_eq!(list(q("da")), Vec::<String>::new());
    let counted = h.dir.list_users(&root, &q("example")).unwrap();
    assert_eq!(counted.page_info.total_elements, 5);
    assert_eq!(
        h.dir
            .list_users(&root, &q("ex"))
            .unwrap()
            .page_info
            .total_elements,
        5
    );
}

pub fn paging_and_sorting_input_is_validated(h: &Harness) {
    let root = h.root();
    assert_invalid(
        h.dir.list_users(
            &root,
            &UserQuery {
                page: Some(0),
                ..Default::default()
            },
        ),
        &["page"],
    );
    assert_invalid(
        h.dir.list_users(
            &root,
            &UserQuery {
                page_size: Some(501),
                ..Default::default()
            },
        ),
        &["pageSize"],
    );
    assert_invalid(
        h.dir.list_users(
            &root,
            &UserQuery {
                sort: Some("password".into()),
                ..Default::default()
            },
        ),
        &["sort"],
    );
}

pub fn passwordless_users_can_be_reactivated_or_invited_again(h: &Harness) {
    let root = h.root();
    let (svc, _) = h.api_user(&root, "svc");
    let off = |user: &User| {
        h.dir
            .update_user(
                &root,
                &user.id,
                UserUpdate {
                    status: Some(UserStatus::Inactive),
                    update_version: h.fresh_version(&root, &user.id),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let set = |user: &User, status| {
        h.dir.update_user(
            &root,
            &user.id,
            UserUpdate {
                status: Some(status),
                update_version: h.fresh_version(&root, &user.id),
                ..Default::default()
            },
        )
    };
    off(&svc);
    assert_eq!(
        set(&svc, UserStatus::Active).unwrap().status,
        UserStatus::Active
    );
    let ivy = h.invite(&root, "ivy", &[BuiltinRole::Viewer.id()]).user;
    off(&ivy);
    assert_invalid(set(&ivy, UserStatus::Active), &["status"]);
    assert_eq!(
        set(&ivy, UserStatus::Invited).unwrap().status,
        UserStatus::Invited
    );
    let link = h.dir.send_invitation(&root, &ivy.id).unwrap();
    h.dir
        .accept_invitation(&link.token, &secret(PASSWORD))
        .unwrap();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    off(&ann);
    assert_invalid(set(&ann, UserStatus::Invited), &["status"]);
}

pub fn a_service_account_may_be_active_without_password_only_if_it_cannot_sign_in(h: &Harness) {
    let root = h.root();
    let console = h.dir.create_user(
        &root,
        NewUser {
            user_name: "svc".into(),
            display_name: "Service".into(),
            email: "svc@example.com".into(),
            status: Some(UserStatus::Active),
            roles: vec![BuiltinRole::Viewer.id().into()],
            ..Default::default()
        },
    );
    assert_invalid(console, &["password"]);
    let (svc, _) = h.api_user(&root, "svc");
    assert_eq!(svc.status, UserStatus::Active);
}

impl Harness {
    pub fn clock_now(&self) -> Time {
        use keyward::core::clock::Clock;
        self.clock.now()
    }
}

pub fn an_import_is_all_or_nothing_and_a_dry_run_changes_nothing(h: &Harness) {
    let root = h.root();
    let row = |name: &str, email: &str| NewUser {
        user_name: name.into(),
        display_name: format!("{name} Imported"),
        email: email.into(),
        roles: vec![BuiltinRole::Viewer.id().into()],
        ..Default::default()
    };
    let before = h.user_count(&root);
    let audit_before = h.audit_count(&root);

    // Every refused row is reported (by index), and nothing is created.
    let refused = h.dir.import_users(
        &root,
        vec![
            row("amy", "amy@example.com"),
            row("bad name", "not-an-address"),
            row("AMY", "amy2@example.com"),
        ],
        false,
    );
    match refused {
        Err(Error::Invalid(errors)) => {
            let fields: Vec<&str> = errors.fields().collect();
            assert_eq!(
                fields,
                ["rows.1.email", "rows.1.userName", "rows.2.userName"],
                "{errors:?}"
            );
        }
        other => panic!("expected invalid rows, got {other:?}"),
    }
    assert_eq!(h.user_count(&root), before);

    // A dry run of good rows checks them and changes nothing.
    let rows = vec![row("amy", "amy@example.com"), row("bob", "bob@example.com")];
    let rehearsed = h.dir.import_users(&root, rows.clone(), true).unwrap();
    assert!(rehearsed.dry_run && rehearsed.count == 2 && rehearsed.users.is_empty());
    assert_eq!(h.user_count(&root), before);
    assert_eq!(h.audit_count(&root), audit_before);

    // The import: invited users with their one-time invitations, each audited.
    let imported = h.dir.import_users(&root, rows, false).unwrap();
    assert_eq!(imported.users.len(), 2);
    for created in &imported.users {
        assert_eq!(created.user.status, UserStatus::Invited);
        assert_eq!(created.user.roles, [BuiltinRole::Viewer.id()]);
        let invitation = created.invitation.as_ref().expect("an invitation");
        h.dir
            .accept_invitation(&invitation.token, &secret(PASSWORD))
            .unwrap();
    }
    assert_eq!(h.user_count(&root), before + 2);
    assert_eq!(h.audit_count(&root), audit_before + 2 + 2);

    // Only who may create users may import them.
    let (_, viewer) = h.acting_as(&root, BuiltinRole::Viewer, "vic");
    assert_forbidden(
        h.dir
            .import_users(&viewer, vec![row("cat", "cat@example.com")], true),
    );
}

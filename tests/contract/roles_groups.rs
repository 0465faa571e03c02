use crate::common::*;
use keyward::core::model::*;
use keyward::core::permission::{BuiltinRole, Permission, PermissionSet};
use keyward::core::Error;
use Permission::*;

fn set(permissions: &[Permission]) -> PermissionSet {
    permissions.iter().collect()
}

pub fn builtin_roles_match_the_spec_and_are_read_only(h: &Harness) {
    let root = h.root();
    let roles = h.dir.list_roles(&root).unwrap();
    let table: Vec<(&str, PermissionSet)> = roles
        .iter()
        .filter(|r| r.builtin)
        .map(|r| (r.name.as_str(), r.permissions))
        .collect();
    let all = PermissionSet::all();
    assert_eq!(
        table,
        vec![
            ("SuperAdmin", all),
            ("Administrator", all.without(MANAGE_SETTINGS)),
            (
                "Editor",
                set(&[
                    SIGN_IN,
                    VIEW_USER,
                    VIEW_ROLE,
                    VIEW_GROUP,
                    MANAGE_GROUP,
                    USE_API_KEYS,
                    VIEW_KEYS,
                    VIEW_AUDIT
                ])
            ),
            (
                "Operator",
                set(&[
                    SIGN_IN,
                    VIEW_USER,
                    VIEW_ROLE,
                    VIEW_GROUP,
                    USE_API_KEYS,
                    VIEW_KEYS,
                    VIEW_AUDIT
                ])
            ),
            (
                "Viewer",
                set(&[SIGN_IN, VIEW_USER, VIEW_ROLE, VIEW_GROUP, VIEW_AUDIT])
            ),
            ("API User", set(&[USE_API_KEYS])),
        ]
    );
    let viewer = h.dir.get_role(&root, BuiltinRole::Viewer.id()).unwrap();
    assert!(matches!(
        h.dir.update_role(
            &root,
            &viewer.id,
            RoleUpdate {
                permissions: Some(PermissionSet::all()),
                update_version: viewer.update_version,
                ..Default::default()
            }
        ),
        Err(Error::StateConflict(_))
    ));
    assert!(matches!(
        h.dir.delete_role(&root, BuiltinRole::SuperAdmin.id()),
        Err(Error::StateConflict(_))
    ));
}

pub fn custom_roles_are_created_versioned_and_deleted(h: &Harness) {
    let root = h.root();
    assert_invalid(
        h.dir.create_role(
            &root,
            NewRole {
                name: " ".into(),
                ..Default::default()
            },
        ),
        &["name"],
    );
    let auditor = h
        .dir
        .create_role(
            &root,
            NewRole {
                name: "Auditor".into(),
                description: "Reads the audit log".into(),
                permissions: set(&[SIGN_IN, VIEW_AUDIT]),
            },
        )
        .unwrap();
    assert!(!auditor.builtin);
    assert!(matches!(
        h.dir.create_role(
            &root,
            NewRole {
                name: "auditor".into(),
                ..Default::default()
            }
        ),
        Err(Error::Duplicate(_))
    ));
    let ann = h.user(&root, "ann", &[&auditor.id]);
    let session = h.sign_in("ann");
    assert_eq!(
        h.dir.me(&session).unwrap().permissions,
        set(&[SIGN_IN, VIEW_AUDIT])
    );
    let updated = h
        .dir
        .update_role(
            &root,
            &auditor.id,
            RoleUpdate {
                permissions: Some(set(&[SIGN_IN, VIEW_AUDIT, VIEW_USER])),
                update_version: auditor.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(updated.update_version, 2);
    assert!(h.dir.me(&session).unwrap().permissions.contains(VIEW_USER));
    assert!(matches!(
        h.dir.update_role(
            &root,
            &auditor.id,
            RoleUpdate {
                name: Some("Stale".into()),
                update_version: auditor.update_version,
                ..Default::default()
            }
        ),
        Err(Error::VersionConflict(_))
    ));
    let carrier = h
        .dir
        .create_group(
            &root,
            NewGroup {
                name: "Carriers".into(),
                roles: vec![auditor.id.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    h.dir.delete_role(&root, &auditor.id).unwrap();
    let carrier_now = h.dir.get_group(&root, &carrier.id).unwrap();
    assert!(carrier_now.roles.is_empty());
    assert_eq!(carrier_now.update_version, carrier.update_version + 1);
    let ann_now = h.dir.get_user(&root, &ann.id).unwrap();
    assert!(ann_now.roles.is_empty());
    assert_eq!(ann_now.update_version, ann.update_version + 1);
    assert!(matches!(
        h.dir.get_role(&root, &auditor.id),
        Err(Error::NotFound(_))
    ));
}

pub fn nobody_grants_a_permission_they_do_not_hold(h: &Harness) {
    let root = h.root();
    h.user(&root, "admin", &[BuiltinRole::Administrator.id()]);
    let admin = h.sign_in("admin");
    // A custom role with MANAGE_SETTINGS cannot be made, assigned or carried by an admin.
    assert_forbidden(h.dir.create_role(
        &admin,
        NewRole {
            name: "Settings".into(),
            permissions: set(&[MANAGE_SETTINGS]),
            ..Default::default()
        },
    ));
    let settings_role = h
        .dir
        .create_role(
            &root,
            NewRole {
                name: "Settings".into(),
                permissions: set(&[MANAGE_SETTINGS]),
                ..Default::default()
            },
        )
        .unwrap();
    assert_forbidden(h.dir.create_user(
        &admin,
        NewUser {
            user_name: "x".into(),
            display_name: "X".into(),
            email: "x@example.com".into(),
            roles: vec![settings_role.id.clone()],
            ..Default::default()
        },
    ));
    assert_forbidden(h.dir.create_group(
        &admin,
        NewGroup {
            name: "Sneaky".into(),
            roles: vec![settings_role.id.clone()],
            ..Default::default()
        },
    ));
    assert_forbidden(h.dir.update_role(
        &admin,
        &settings_role.id,
        RoleUpdate {
            permissions: Some(set(&[VIEW_USER])),
            update_version: 1,
            ..Default::default()
        },
    ));
    // An editor manages groups but cannot put user-management roles on one.
    h.user(&root, "ed", &[BuiltinRole::Editor.id()]);
    let editor = h.sign_in("ed");
    assert_forbidden(h.dir.create_group(
        &editor,
        NewGroup {
            name: "Admins".into(),
            roles: vec![BuiltinRole::Administrator.id().into()],
            ..Default::default()
        },
    ));
    h.dir
        .create_group(
            &editor,
            NewGroup {
                name: "Readers".into(),
                roles: vec![BuiltinRole::Viewer.id().into()],
                ..Default::default()
            },
        )
        .unwrap();
}

pub fn group_members_hold_the_groups_roles(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let session = h.sign_in("ann");
    assert!(!h.dir.me(&session).unwrap().permissions.contains(VIEW_KEYS));
    let group = h
        .dir
        .create_group(
            &root,
            NewGroup {
                name: "Operators".into(),
                description: "Night shift".into(),
                members: vec![ann.id.clone()],
                roles: vec![BuiltinRole::Operator.id().into()],
            },
        )
        .unwrap();
    assert_eq!(group.members, vec![ann.id.clone()]);
    let me = h.dir.me(&session).unwrap();
    assert!(me.permissions.contains(VIEW_KEYS));
    assert!(me.roles.contains(&BuiltinRole::Operator.id().to_string()));
    h.dir
        .update_group(
            &root,
            &group.id,
            GroupUpdate {
                members: Some(vec![]),
                update_version: group.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!h.dir.me(&session).unwrap().permissions.contains(VIEW_KEYS));
    assert_invalid(
        h.dir.create_group(
            &root,
            NewGroup {
                name: "Ghosts".into(),
                members: vec!["no-such-user".into()],
                ..Default::default()
            },
        ),
        &["members"],
    );
}

pub fn groups_are_versioned_and_names_unique(h: &Harness) {
    let root = h.root();
    // Uniqueness ignores case beyond ASCII, also after an update.
    let doctors = h
        .dir
        .create_role(
            &root,
            NewRole {
                name: "Ärzte".into(),
                ..Default::default()
            },
        )
        .unwrap();
    h.dir
        .update_role(
            &root,
            &doctors.id,
            RoleUpdate {
                description: Some("Clinic".into()),
                update_version: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(
        h.dir.create_role(
            &root,
            NewRole {
                name: "äRZTE".into(),
                ..Default::default()
            }
        ),
        Err(Error::Duplicate(_))
    ));
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
    assert!(matches!(
        h.dir.create_group(
            &root,
            NewGroup {
                name: "OPS".into(),
                ..Default::default()
            }
        ),
        Err(Error::Duplicate(_))
    ));
    let renamed = h
        .dir
        .update_group(
            &root,
            &group.id,
            GroupUpdate {
                name: Some("Operations".into()),
                update_version: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(renamed.update_version, 2);
    assert!(matches!(
        h.dir.update_group(
            &root,
            &group.id,
            GroupUpdate {
                description: Some("late".into()),
                update_version: 1,
                ..Default::default()
            }
        ),
        Err(Error::VersionConflict(_))
    ));
    assert_eq!(h.dir.list_groups(&root).unwrap()[0].name, "Operations");
    h.dir.delete_group(&root, &group.id).unwrap();
    assert!(h.dir.list_groups(&root).unwrap().is_empty());
}

//! The role × operation matrix: for each of the six built-in roles, every guarded operation
//! succeeds exactly when the role holds its permission, and is refused as forbidden otherwise.

use crate::common::*;
use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::permission::{BuiltinRole, Permission};
use keyward::core::Error;

/// What an operation needs: the target user it may act on is made fresh by root each time.
struct Operation {
    name: &'static str,
    needs: Permission,
    run: fn(&dyn Directory, &Credential, &User, &User) -> keyward::core::Result<()>,
}

const OPERATIONS: &[Operation] = &[
    Operation {
        name: "list users",
        needs: Permission::VIEW_USER,
        run: |d, c, _, _| d.list_users(c, &UserQuery::default()).map(drop),
    },
    Operation {
        name: "read a user",
        needs: Permission::VIEW_USER,
        run: |d, c, _, t| d.get_user(c, &t.id).map(drop),
    },
    Operation {
        name: "create a user",
        needs: Permission::CREATE_USER,
        run: |d, c, _, t| {
            d.create_user(
                c,
                NewUser {
                    user_name: format!("new-{}", t.user_name),
                    display_name: "New".into(),
                    email: format!("new-{}", t.email),
                    ..Default::default()
                },
            )
            .map(drop)
        },
    },
    Operation {
        name: "edit a user",
        needs: Permission::EDIT_USER,
        run: |d, c, _, t| {
            d.update_user(
                c,
                &t.id,
                UserUpdate {
                    display_name: Some("Edited".into()),
                    update_version: t.update_version,
                    ..Default::default()
                },
            )
            .map(drop)
        },
    },
    Operation {
        name: "delete a user",
        needs: Permission::DELETE_USER,
        run: |d, c, _, t| d.delete_user(c, &t.id),
    },
    Operation {
        name: "reset a password",
        needs: Permission::RESET_PASSWORD,
        run: |d, c, _, t| d.reset_password(c, &t.id).map(drop),
    },
    Operation {
        name: "list roles",
        needs: Permission::VIEW_ROLE,
        run: |d, c, _, _| d.list_roles(c).map(drop),
    },
    Operation {
        name: "create a role",
        needs: Permission::MANAGE_ROLE,
        run: |d, c, _, t| {
            d.create_role(
                c,
                NewRole {
                    name: format!("role-{}", t.user_name),
                    ..Default::default()
                },
            )
            .map(drop)
        },
    },
    Operation {
        name: "list groups",
        needs: Permission::VIEW_GROUP,
        run: |d, c, _, _| d.list_groups(c).map(drop),
    },
    Operation {
        name: "create a group",
        needs: Permission::MANAGE_GROUP,
        run: |d, c, _, t| {
            d.create_group(
                c,
                NewGroup {
                    name: format!("group-{}", t.user_name),
                    ..Default::default()
                },
            )
            .map(drop)
        },
    },
    Operation {
        name: "create an own key",
        needs: Permission::USE_API_KEYS,
        run: |d, c, me, t| {
            d.create_key(c, &me.id, key_named(&format!("own-{}", t.user_name)))
                .map(drop)
        },
    },
    Operation {
        name: "list everyone's keys",
        needs: Permission::VIEW_KEYS,
        run: |d, c, _, _| d.list_keys(c, &KeyQuery::default()).map(drop),
    },
    Operation {
        name: "see another user's keys",
        needs: Permission::VIEW_KEYS,
        run: |d, c, _, t| d.list_user_keys(c, &t.id).map(drop),
    },
    Operation {
        name: "create a key for another user",
        needs: Permission::MANAGE_KEYS,
        run: |d, c, _, t| d.create_key(c, &t.id, key_named("issued")).map(drop),
    },
    Operation {
        name: "read the audit log",
        needs: Permission::VIEW_AUDIT,
        run: |d, c, _, _| d.list_audit(c, &AuditQuery::default()).map(drop),
    },
    Operation {
        name: "change settings",
        needs: Permission::MANAGE_SETTINGS,
        run: |d, c, _, _| {
            let version = d.get_settings(c)?.update_version;
            d.update_settings(
                c,
                SettingsUpdate {
                    clipboard_clear_seconds: Some(45),
                    update_version: version,
                    ..Default::default()
                },
            )
            .map(drop)
        },
    },
];

pub fn every_builtin_role_can_do_exactly_what_its_permissions_say(h: &Harness) {
    let root = h.root();
    let mut mismatches = Vec::new();
    for (r, role) in BuiltinRole::ALL.into_iter().enumerate() {
        let (me, credential) = h.acting_as(&root, role, &format!("actor{r}"));
        for (o, operation) in OPERATIONS.iter().enumerate() {
            // A plain target that any role with the permission may manage.
            let target = h
                .dir
                .create_user(
                    &root,
                    NewUser {
                        user_name: format!("t{r}x{o}"),
                        display_name: "Target".into(),
                        email: format!("t{r}x{o}@example.com"),
                        status: Some(UserStatus::Active),
                        roles: vec![BuiltinRole::ApiUser.id().into()],
                        ..Default::default()
                    },
                )
                .expect("target")
                .user;
            let result = (operation.run)(h.dir.as_ref(), &credential, &me, &target);
            let expected = role.permissions().contains(operation.needs);
            let ok = matches!(
                (&result, expected),
                (Ok(()), true) | (Err(Error::Forbidden(_)), false)
            );
            if !ok {
                mismatches.push(format!("{} / {}: {result:?}", role.name(), operation.name));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

//! The permission rules of SPEC section 2, as pure functions over who acts and what is touched.
//! Every backend calls these; none decides on its own.

use super::error::{Error, Result};
use super::permission::{BuiltinRole, Permission, PermissionSet};

/// The user an operation is performed by, with their effective permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub user_name: String,
    pub permissions: PermissionSet,
    /// Holds the SuperAdmin role, directly or through a group.
    pub is_super_admin: bool,
}

/// What is known about a user who is the target of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub id: String,
    pub permissions: PermissionSet,
    pub is_super_admin: bool,
}

impl Actor {
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "You need the {permission} permission for this."
            )))
        }
    }

    /// Checks that the actor holds every permission they are about to give someone, through a
    /// role, a group's roles or a custom role's definition. Granting SuperAdmin itself takes a
    /// SuperAdmin.
    pub fn may_grant(&self, permissions: PermissionSet, grants_super_admin: bool) -> Result<()> {
        if grants_super_admin && !self.is_super_admin {
            return Err(Error::forbidden(
                "Only a SuperAdmin can grant the SuperAdmin role.",
            ));
        }
        let missing: Vec<&str> = permissions
            .iter()
            .filter(|p| !self.permissions.contains(*p))
            .map(Permission::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "You cannot grant permissions you do not hold: {}.",
                missing.join(", ")
            )))
        }
    }

    /// Checks that the actor may change another user: only a SuperAdmin touches a SuperAdmin,
    /// and nobody manages a user who holds permissions they do not hold themselves (which would
    /// let a password reset or a key take over a stronger account).
    pub fn may_manage(&self, subject: &Subject) -> Result<()> {
        if subject.is_super_admin && !self.is_super_admin {
            return Err(Error::forbidden(
                "Only a SuperAdmin can change a SuperAdmin.",
            ));
        }
        if !subject.permissions.is_subset_of(self.permissions) {
            return Err(Error::forbidden(
                "This user holds permissions you do not hold, so you cannot manage them.",
            ));
        }
        Ok(())
    }

    pub fn is(&self, user_id: &str) -> bool {
        self.id == user_id
    }

    /// The actor as the target of their own operation.
    pub fn as_subject(&self) -> Subject {
        Subject {
            id: self.id.clone(),
            permissions: self.permissions,
            is_super_admin: self.is_super_admin,
        }
    }

    /// May the actor see this owner's keys? Their own, or anyone's with VIEW_KEYS.
    pub fn may_view_keys_of(&self, owner_id: &str) -> Result<()> {
        if self.is(owner_id) {
            Ok(())
        } else {
            self.require(Permission::VIEW_KEYS)
        }
    }

    /// May the actor create or revoke this owner's keys? Their own with USE_API_KEYS;
    /// another's with MANAGE_KEYS, if they may manage that user.
    pub fn may_change_keys_of(&self, owner: &Subject) -> Result<()> {
        if self.is(&owner.id) {
            return self.require(Permission::USE_API_KEYS);
        }
        self.require(Permission::MANAGE_KEYS)?;
        self.may_manage(owner)
    }

    /// May the actor receive a secret of this owner's key (download, regenerate)? The owner
    /// may; an administrator only for accounts that cannot sign in to fetch it themselves.
    pub fn may_reveal_key_of(&self, owner: &Subject) -> Result<()> {
        if self.is(&owner.id) {
            return self.require(Permission::USE_API_KEYS);
        }
        self.require(Permission::MANAGE_KEYS)?;
        if owner.permissions.contains(Permission::SIGN_IN) {
            return Err(Error::forbidden(
                "Only the owner can receive this key's secret: they sign in and download it themselves.",
            ));
        }
        self.may_manage(owner)
    }
}

/// The permissions and SuperAdmin-ness of a set of role ids with their permission masks.
pub fn effective<'a>(
    roles: impl IntoIterator<Item = (&'a str, PermissionSet)>,
) -> (PermissionSet, bool) {
    roles
        .into_iter()
        .fold((PermissionSet::EMPTY, false), |(set, sa), (id, perms)| {
            (set.union(perms), sa || id == BuiltinRole::SuperAdmin.id())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: BuiltinRole) -> Actor {
        Actor {
            id: "a".into(),
            user_name: "a".into(),
            permissions: role.permissions(),
            is_super_admin: role == BuiltinRole::SuperAdmin,
        }
    }

    fn subject(role: BuiltinRole) -> Subject {
        Subject {
            id: "s".into(),
            permissions: role.permissions(),
            is_super_admin: role == BuiltinRole::SuperAdmin,
        }
    }

    #[test]
    fn administrator_cannot_touch_or_grant_super_admin() {
        let admin = actor(BuiltinRole::Administrator);
        assert!(admin.may_manage(&subject(BuiltinRole::SuperAdmin)).is_err());
        assert!(admin.may_manage(&subject(BuiltinRole::Editor)).is_ok());
        assert!(admin
            .may_grant(BuiltinRole::SuperAdmin.permissions(), true)
            .is_err());
        assert!(actor(BuiltinRole::SuperAdmin)
            .may_grant(BuiltinRole::SuperAdmin.permissions(), true)
            .is_ok());
    }

    #[test]
    fn holding_every_permission_is_not_being_super_admin() {
        let almighty = Actor {
            is_super_admin: false,
            permissions: PermissionSet::all(),
            ..actor(BuiltinRole::Administrator)
        };
        assert!(almighty
            .may_manage(&subject(BuiltinRole::SuperAdmin))
            .is_err());
        assert!(almighty.may_grant(PermissionSet::all(), true).is_err());
        assert!(almighty.may_grant(PermissionSet::all(), false).is_ok());
    }

    #[test]
    fn keys_are_seen_changed_and_revealed_within_the_grant_scope() {
        let admin = actor(BuiltinRole::Administrator);
        let operator = actor(BuiltinRole::Operator);
        let api_user = subject(BuiltinRole::ApiUser);
        let editor = subject(BuiltinRole::Editor);
        // Own keys: seen always, changed and revealed with USE_API_KEYS.
        let viewer = actor(BuiltinRole::Viewer);
        assert!(viewer.may_view_keys_of("a").is_ok());
        assert!(viewer.may_change_keys_of(&viewer.as_subject()).is_err());
        assert!(operator.may_change_keys_of(&operator.as_subject()).is_ok());
        assert!(operator.may_reveal_key_of(&operator.as_subject()).is_ok());
        // Others' keys: seen with VIEW_KEYS, changed with MANAGE_KEYS.
        assert!(operator.may_view_keys_of("s").is_ok());
        assert!(viewer.may_view_keys_of("s").is_err());
        assert!(operator.may_change_keys_of(&api_user).is_err());
        assert!(admin.may_change_keys_of(&editor).is_ok());
        assert!(admin
            .may_change_keys_of(&subject(BuiltinRole::SuperAdmin))
            .is_err());
        // Secrets of others: only of accounts that cannot sign in.
        assert!(admin.may_reveal_key_of(&api_user).is_ok());
        assert!(admin.may_reveal_key_of(&editor).is_err());
        assert!(operator.may_reveal_key_of(&api_user).is_err());
    }

    #[test]
    fn nobody_grants_what_they_do_not_hold() {
        let editor = actor(BuiltinRole::Editor);
        let error = editor
            .may_grant(BuiltinRole::Administrator.permissions(), false)
            .unwrap_err();
        assert!(error.to_string().contains("CREATE_USER"));
        assert!(editor
            .may_grant(BuiltinRole::Viewer.permissions(), false)
            .is_ok());
    }
}

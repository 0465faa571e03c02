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

//! What a set of roles or groups grants, and the one rule about SuperAdmins that every change
//! of roles, groups or statuses must keep: there is always an active one.

use super::storage::Tx;
use crate::core::permission::{BuiltinRole, PermissionSet};
use crate::core::{Error, FieldErrors, Result};

/// Ids from a request, trimmed, without blanks or repeats, in a stable order.
pub(super) fn distinct_ids(ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The union of the permissions of the given role ids and whether SuperAdmin is among them;
/// an unknown id is bad input on `field`.
pub(super) fn of_roles(tx: &dyn Tx, ids: &[String], field: &str) -> Result<(PermissionSet, bool)> {
    let mut set = PermissionSet::EMPTY;
    let mut errors = FieldErrors::new();
    for id in ids {
        match tx.find_role(id)? {
            Some(role) => set = set.union(role.permissions),
            None => errors.add(field, format!("There is no role with the id {id}.")),
        }
    }
    errors.into_result()?;
    Ok((set, ids.iter().any(|id| id == BuiltinRole::SuperAdmin.id())))
}

/// The permissions members receive through the given groups, and whether SuperAdmin is among
/// their roles; an unknown id is bad input on `field`.
pub(super) fn of_groups(tx: &dyn Tx, ids: &[String], field: &str) -> Result<(PermissionSet, bool)> {
    let mut errors = FieldErrors::new();
    let mut role_ids = Vec::new();
    for id in ids {
        match tx.group_roles(id)? {
            Some(roles) => role_ids.extend(roles),
            None => errors.add(field, format!("There is no group with the id {id}.")),
        }
    }
    errors.into_result()?;
    of_roles(tx, &role_ids, "roles")
}

/// Refuses a change that would leave the directory without an active SuperAdmin.
pub(super) fn ensure_super_admin_remains(tx: &dyn Tx) -> Result<()> {
    if tx.active_holders(BuiltinRole::SuperAdmin.id())? == 0 {
        return Err(Error::StateConflict(
            "This is the last active SuperAdmin: they cannot be deactivated, deleted or demoted."
                .to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::distinct_ids;

    #[test]
    fn ids_are_trimmed_deduplicated_and_sorted() {
        let ids: Vec<String> = [" b", "a", "", "b ", "  "].map(String::from).to_vec();
        assert_eq!(distinct_ids(&ids), ["a", "b"]);
    }
}

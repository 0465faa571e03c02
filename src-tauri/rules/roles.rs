//! Roles: the six built-in ones (fixed, read-only) and custom roles with any permissions.
//! Changing a role changes what its holders may do, so it takes someone who holds all of it.

use super::audit::Record;
use super::storage::{RoleRow, Tx, Unique};
use crate::core::access::Actor;
use crate::core::lifecycle::same_version;
use crate::core::model::new_id;
use crate::core::model::{NewRole, Role, RoleUpdate, Time};
use crate::core::names::{parse_description, Name};
use crate::core::permission::{BuiltinRole, Permission};
use crate::core::{Error, FieldErrors, Result};

pub(super) fn list(tx: &dyn Tx, actor: &Actor) -> Result<Vec<Role>> {
    actor.require(Permission::VIEW_ROLE)?;
    let mut roles = tx.list_roles()?;
    // Built-in roles in the SPEC's order, from the strongest; custom ones by creation.
    roles.sort_by_key(|role| {
        BuiltinRole::from_id(&role.id)
            .and_then(|b| BuiltinRole::ALL.iter().position(|x| *x == b))
            .unwrap_or(BuiltinRole::ALL.len())
    });
    Ok(roles)
}

pub(super) fn get(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<Role> {
    actor.require(Permission::VIEW_ROLE)?;
    load(tx, id)
}

fn load(tx: &dyn Tx, id: &str) -> Result<Role> {
    tx.find_role(id)?.ok_or(Error::NotFound("role"))
}

fn parse_fields(
    name: Option<&str>,
    description: Option<&str>,
) -> Result<(Option<Name>, Option<String>)> {
    let mut errors = FieldErrors::new();
    let name = name.and_then(|n| errors.check("name", Name::parse(n)));
    let description = description.and_then(|d| errors.check("description", parse_description(d)));
    errors.into_result()?;
    Ok((name, description))
}

fn name_free(tx: &dyn Tx, name: &Name, except_id: &str) -> Result<()> {
    if tx.role_name_in_use(name, except_id)? {
        return Err(Unique::RoleName.error());
    }
    Ok(())
}

/// May the actor create roles?
pub(super) fn may_create(actor: &Actor) -> Result<()> {
    actor.require(Permission::MANAGE_ROLE)
}

/// May the actor change (or delete) this role? The role as it is.
pub(super) fn may_change(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<Role> {
    actor.require(Permission::MANAGE_ROLE)?;
    let current = load(tx, id)?;
    editable(actor, &current)?;
    Ok(current)
}

pub(super) fn create(tx: &dyn Tx, actor: &Actor, now: Time, role: &NewRole) -> Result<Role> {
    may_create(actor)?;
    let (name, description) = parse_fields(Some(&role.name), Some(&role.description))?;
    let (Some(name), Some(description)) = (name, description) else {
        return Err(Error::invalid("name", "Enter a name."));
    };
    actor.may_grant(role.permissions, false)?;
    let id = new_id();
    name_free(tx, &name, &id)?;
    tx.insert_role(&RoleRow {
        id: &id,
        name: &name,
        description: &description,
        permissions: role.permissions,
        update_version: 1,
        time: now,
    })?;
    Record::by(actor, now, "role.create")
        .target("role", &id, name.as_str())
        .detail(format!(
            "permissions: {}",
            role.permissions
                .iter()
                .map(Permission::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        ))
        .append(tx)?;
    load(tx, &id)
}

fn editable(actor: &Actor, role: &Role) -> Result<()> {
    if role.builtin {
        return Err(Error::StateConflict(format!(
            "{} is a built-in role and cannot be changed or deleted.",
            role.name
        )));
    }
    // Changing a role changes what its holders may do: only someone who holds all of it.
    actor.may_grant(role.permissions, false)
}

pub(super) fn update(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    id: &str,
    update: &RoleUpdate,
) -> Result<Role> {
    let current = may_change(tx, actor, id)?;
    same_version(update.update_version, current.update_version, "role")?;
    let (name, description) = parse_fields(update.name.as_deref(), update.description.as_deref())?;
    if let Some(permissions) = update.permissions {
        actor.may_grant(permissions, false)?;
    }
    if let Some(name) = &name {
        name_free(tx, name, id)?;
    }
    let mut changed = Vec::new();
    if name.as_ref().is_some_and(|n| n.as_str() != current.name) {
        changed.push("name");
    }
    if description
        .as_ref()
        .is_some_and(|d| *d != current.description)
    {
        changed.push("description");
    }
    if update.permissions.is_some_and(|p| p != current.permissions) {
        changed.push("permissions");
    }
    // A stored name passed Name::parse when it was written.
    let name = match name {
        Some(name) => name,
        None => Name::parse(&current.name).map_err(|m| Error::invalid("name", m))?,
    };
    tx.update_role(&RoleRow {
        id,
        name: &name,
        description: description.as_deref().unwrap_or(&current.description),
        permissions: update.permissions.unwrap_or(current.permissions),
        update_version: current.update_version + 1,
        time: now,
    })?;
    Record::by(actor, now, "role.update")
        .target("role", id, name.as_str())
        .detail(format!("changed: {}", changed.join(", ")))
        .append(tx)?;
    load(tx, id)
}

pub(super) fn delete(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<()> {
    let current = may_change(tx, actor, id)?;
    // The role disappears from its holders' role lists: that is a change to each of them.
    tx.touch_users(&tx.direct_holders(id)?, now)?;
    tx.touch_groups(&tx.groups_with_role(id)?, now)?;
    tx.delete_role(id)?;
    Record::by(actor, now, "role.delete")
        .target("role", id, &current.name)
        .append(tx)?;
    Ok(())
}

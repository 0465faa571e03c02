//! Groups: named sets of users that may carry roles, which their members then hold too.
//! Changing a group's members or roles grants or removes those roles, so it takes someone who
//! holds every permission involved.

use super::audit::Record;
use super::grants::{self, distinct_ids};
use super::storage::{GroupRow, Tx, Unique};
use crate::core::access::Actor;
use crate::core::lifecycle::same_version;
use crate::core::model::new_id;
use crate::core::model::{Group, GroupUpdate, NewGroup, Time, UserType};
use crate::core::names::{parse_description, Name};
use crate::core::permission::Permission;
use crate::core::{Error, FieldErrors, Result};

fn load(tx: &dyn Tx, id: &str) -> Result<Group> {
    tx.find_group(id)?.ok_or(Error::NotFound("group"))
}

pub(super) fn list(tx: &dyn Tx, actor: &Actor) -> Result<Vec<Group>> {
    actor.require(Permission::VIEW_GROUP)?;
    tx.list_groups()
}

pub(super) fn get(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<Group> {
    actor.require(Permission::VIEW_GROUP)?;
    load(tx, id)
}

fn check_members(tx: &dyn Tx, members: &[String]) -> Result<()> {
    let mut errors = FieldErrors::new();
    for id in members {
        if !tx.user_exists(id)? {
            errors.add("members", format!("There is no user with the id {id}."));
        }
    }
    errors.into_result()
}

fn name_free(tx: &dyn Tx, name: &Name, except_id: &str) -> Result<()> {
    if tx.group_name_in_use(name, except_id)? {
        return Err(Unique::GroupName.error());
    }
    Ok(())
}

/// May the actor create groups?
pub(super) fn may_create(actor: &Actor) -> Result<()> {
    actor.require(Permission::MANAGE_GROUP)
}

/// May the actor change (or delete) this group? Only someone who holds every role it
/// carries. The group as it is.
pub(super) fn may_change(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<Group> {
    actor.require(Permission::MANAGE_GROUP)?;
    let current = load(tx, id)?;
    let (held, held_super_admin) = grants::of_roles(tx, &current.roles, "roles")?;
    actor.may_grant(held, held_super_admin)?;
    Ok(current)
}

pub(super) fn create(tx: &dyn Tx, actor: &Actor, now: Time, group: &NewGroup) -> Result<Group> {
    may_create(actor)?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", Name::parse(&group.name));
    let description = errors.check("description", parse_description(&group.description));
    errors.into_result()?;
    let (Some(name), Some(description)) = (name, description) else {
        return Err(Error::invalid("name", "Enter a name."));
    };
    let members = distinct_ids(&group.members);
    let role_ids = distinct_ids(&group.roles);
    check_members(tx, &members)?;
    let (permissions, super_admin) = grants::of_roles(tx, &role_ids, "roles")?;
    actor.may_grant(permissions, super_admin)?;
    let id = new_id();
    name_free(tx, &name, &id)?;
    tx.insert_group(&GroupRow {
        id: &id,
        name: &name,
        description: &description,
        update_version: 1,
        time: now,
    })?;
    tx.set_group_members(&id, &members)?;
    tx.set_group_roles(&id, &role_ids)?;
    tx.touch_users(&members, now)?;
    Record::by(actor, now, "group.create")
        .target("group", &id, name.as_str())
        .detail(format!(
            "members: {}, roles: [{}]",
            members.len(),
            role_ids.join(", ")
        ))
        .append(tx)?;
    load(tx, &id)
}

/// Refuses adding or removing an external user by hand where the group mapping sets the
/// membership (SPEC 11): it comes from the identity provider at each sign-in.
fn mapped_membership_unchanged(
    tx: &dyn Tx,
    group_id: &str,
    before: &[String],
    after: &[String],
) -> Result<()> {
    let mapped = tx
        .settings()?
        .provider_groups
        .iter()
        .any(|line| line.group_id == group_id);
    if !mapped {
        return Ok(());
    }
    let changed = after
        .iter()
        .filter(|id| !before.contains(id))
        .chain(before.iter().filter(|id| !after.contains(id)));
    for id in changed {
        if let Some(user) = tx.find_user(id)? {
            if user.user_type == UserType::External {
                return Err(Error::invalid(
                    "members",
                    format!(
                        "{} is an external user: membership of this group comes from the \
                         identity provider at each sign-in.",
                        user.user_name
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn update(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    id: &str,
    update: &GroupUpdate,
) -> Result<Group> {
    let current = may_change(tx, actor, id)?;
    same_version(update.update_version, current.update_version, "group")?;
    let mut errors = FieldErrors::new();
    let name = update
        .name
        .as_deref()
        .and_then(|n| errors.check("name", Name::parse(n)));
    let description = update
        .description
        .as_deref()
        .and_then(|d| errors.check("description", parse_description(d)));
    errors.into_result()?;
    let members = update.members.as_deref().map(distinct_ids);
    let role_ids = update.roles.as_deref().map(distinct_ids);
    if let Some(members) = &members {
        check_members(tx, members)?;
        mapped_membership_unchanged(tx, id, &current.members, members)?;
    }
    if let Some(role_ids) = &role_ids {
        let (permissions, super_admin) = grants::of_roles(tx, role_ids, "roles")?;
        actor.may_grant(permissions, super_admin)?;
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
    let members = members.filter(|m| *m != current.members);
    let role_ids = role_ids.filter(|r| *r != current.roles);
    if members.is_some() {
        changed.push("members");
    }
    if role_ids.is_some() {
        changed.push("roles");
    }
    if changed.is_empty() {
        return Ok(current);
    }
    // A stored name passed Name::parse when it was written.
    let name = match name {
        Some(name) => name,
        None => Name::parse(&current.name).map_err(|m| Error::invalid("name", m))?,
    };
    tx.update_group(&GroupRow {
        id,
        name: &name,
        description: description.as_deref().unwrap_or(&current.description),
        update_version: current.update_version + 1,
        time: now,
    })?;
    if let Some(members) = &members {
        tx.set_group_members(id, members)?;
        let moved: Vec<String> = members
            .iter()
            .filter(|m| !current.members.contains(m))
            .chain(current.members.iter().filter(|m| !members.contains(m)))
            .cloned()
            .collect();
        tx.touch_users(&moved, now)?;
    }
    if let Some(role_ids) = &role_ids {
        tx.set_group_roles(id, role_ids)?;
    }
    grants::ensure_super_admin_remains(tx)?;
    Record::by(actor, now, "group.update")
        .target("group", id, name.as_str())
        .detail(format!("changed: {}", changed.join(", ")))
        .append(tx)?;
    load(tx, id)
}

pub(super) fn delete(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<()> {
    let current = may_change(tx, actor, id)?;
    tx.touch_users(&current.members, now)?;
    tx.delete_group(id)?;
    grants::ensure_super_admin_remains(tx)?;
    Record::by(actor, now, "group.delete")
        .target("group", id, &current.name)
        .append(tx)?;
    Ok(())
}

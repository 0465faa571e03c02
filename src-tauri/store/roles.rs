//! Roles: the six built-in ones (fixed, read-only) and custom roles with any permissions.

use super::audit::Record;
use super::{from_ms, new_id, to_ms};
use crate::core::access::Actor;
use crate::core::model::{NewRole, Role, RoleUpdate, Time};
use crate::core::names::{parse_description, Name};
use crate::core::permission::{BuiltinRole, Permission, PermissionSet};
use crate::core::{Error, FieldErrors, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str =
    "id, name, description, permissions, builtin, created_time, last_updated_time, update_version";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        permissions: PermissionSet::from_bits(r.get(3)?),
        builtin: r.get(4)?,
        created_time: from_ms(r.get(5)?),
        last_updated_time: from_ms(r.get(6)?),
        update_version: r.get(7)?,
    })
}

/// Writes the built-in roles as this binary defines them.
pub(super) fn ensure_builtin(conn: &Connection, now: Time) -> rusqlite::Result<()> {
    for role in BuiltinRole::ALL {
        conn.execute(
            "INSERT INTO roles (id, name, name_key, description, permissions, builtin,
                                created_time, last_updated_time)
             VALUES (?1, ?2, lower(?2), ?3, ?4, 1, ?5, ?5)
             ON CONFLICT (id) DO UPDATE SET permissions = excluded.permissions
             WHERE permissions <> excluded.permissions",
            params![
                role.id(),
                role.name(),
                role.description(),
                role.permissions().bits(),
                to_ms(now)
            ],
        )?;
    }
    Ok(())
}

pub(super) fn list(conn: &Connection, actor: &Actor) -> Result<Vec<Role>> {
    actor.require(Permission::VIEW_ROLE)?;
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM roles ORDER BY builtin DESC, created_time, name_key"
    ))?;
    let mut roles = statement
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // Built-in roles in the SPEC's order, from the strongest; custom ones by creation.
    roles.sort_by_key(|role| {
        BuiltinRole::from_id(&role.id)
            .and_then(|b| BuiltinRole::ALL.iter().position(|x| *x == b))
            .unwrap_or(BuiltinRole::ALL.len())
    });
    Ok(roles)
}

pub(super) fn get(conn: &Connection, actor: &Actor, id: &str) -> Result<Role> {
    actor.require(Permission::VIEW_ROLE)?;
    load(conn, id)
}

fn load(conn: &Connection, id: &str) -> Result<Role> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM roles WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound("role"))
}

/// The union of the permissions of the given role ids and whether SuperAdmin is among them;
/// an unknown id is bad input on `field`.
pub(super) fn permissions_of(
    conn: &Connection,
    ids: &[String],
    field: &str,
) -> Result<(PermissionSet, bool)> {
    let mut statement = conn.prepare_cached("SELECT permissions FROM roles WHERE id = ?1")?;
    let mut set = PermissionSet::EMPTY;
    let mut errors = FieldErrors::new();
    for id in ids {
        match statement
            .query_row([id], |r| r.get::<_, u32>(0))
            .optional()?
        {
            Some(bits) => set = set.union(PermissionSet::from_bits(bits)),
            None => errors.add(field, format!("There is no role with the id {id}.")),
        }
    }
    errors.into_result()?;
    Ok((set, ids.iter().any(|id| id == BuiltinRole::SuperAdmin.id())))
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

fn name_taken(conn: &Connection, name: &Name, except_id: &str) -> Result<()> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM roles WHERE name_key = ?1 AND id <> ?2)",
        params![name.key(), except_id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::duplicate(
            "name",
            "A role with this name exists already.",
        ));
    }
    Ok(())
}

pub(super) fn create(conn: &Connection, actor: &Actor, now: Time, role: NewRole) -> Result<Role> {
    actor.require(Permission::MANAGE_ROLE)?;
    let (name, description) = parse_fields(Some(&role.name), Some(&role.description))?;
    let (Some(name), Some(description)) = (name, description) else {
        return Err(Error::invalid("name", "Enter a name."));
    };
    actor.may_grant(role.permissions, false)?;
    let id = new_id();
    name_taken(conn, &name, &id)?;
    conn.execute(
        "INSERT INTO roles (id, name, name_key, description, permissions, builtin, created_time,
                            last_updated_time)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)",
        params![
            id,
            name.as_str(),
            name.key(),
            description,
            role.permissions.bits(),
            to_ms(now)
        ],
    )?;
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
        .append(conn)?;
    load(conn, &id)
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
    conn: &Connection,
    actor: &Actor,
    now: Time,
    id: &str,
    update: RoleUpdate,
) -> Result<Role> {
    actor.require(Permission::MANAGE_ROLE)?;
    let current = load(conn, id)?;
    editable(actor, &current)?;
    if update.update_version != current.update_version {
        return Err(Error::VersionConflict("role"));
    }
    let (name, description) = parse_fields(update.name.as_deref(), update.description.as_deref())?;
    if let Some(permissions) = update.permissions {
        actor.may_grant(permissions, false)?;
    }
    if let Some(name) = &name {
        name_taken(conn, name, id)?;
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
    let name = name.map(Name::into_string).unwrap_or(current.name);
    conn.execute(
        "UPDATE roles SET name = ?2, name_key = ?6, description = ?3, permissions = ?4,
                last_updated_time = ?5, update_version = update_version + 1
         WHERE id = ?1",
        params![
            id,
            name,
            description.unwrap_or(current.description),
            update.permissions.unwrap_or(current.permissions).bits(),
            to_ms(now),
            name.to_lowercase()
        ],
    )?;
    Record::by(actor, now, "role.update")
        .target("role", id, &name)
        .detail(format!("changed: {}", changed.join(", ")))
        .append(conn)?;
    load(conn, id)
}

pub(super) fn delete(conn: &Connection, actor: &Actor, now: Time, id: &str) -> Result<()> {
    actor.require(Permission::MANAGE_ROLE)?;
    let current = load(conn, id)?;
    editable(actor, &current)?;
    // The role disappears from its holders' role lists: that is a change to each of them.
    conn.execute(
        "UPDATE users SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id IN (SELECT user_id FROM user_roles WHERE role_id = ?1)",
        params![id, to_ms(now)],
    )?;
    conn.execute(
        "UPDATE directory_groups SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id IN (SELECT group_id FROM group_roles WHERE role_id = ?1)",
        params![id, to_ms(now)],
    )?;
    conn.execute("DELETE FROM roles WHERE id = ?1", [id])?;
    Record::by(actor, now, "role.delete")
        .target("role", id, &current.name)
        .append(conn)?;
    Ok(())
}

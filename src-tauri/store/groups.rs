//! Groups: named sets of users that may carry roles, which their members then hold too.
//! Changing a group's members or roles grants or removes those roles, so it takes someone who
//! holds every permission involved.

use super::audit::Record;
use super::distinct_ids;
use super::{from_ms, new_id, roles, to_ms, users};
use crate::core::access::Actor;
use crate::core::model::{Group, GroupUpdate, NewGroup, Time};
use crate::core::names::{parse_description, Name};
use crate::core::permission::{Permission, PermissionSet};
use crate::core::{Error, FieldErrors, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, name, description, created_time, last_updated_time, update_version";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        members: Vec::new(),
        roles: Vec::new(),
        created_time: from_ms(r.get(3)?),
        last_updated_time: from_ms(r.get(4)?),
        update_version: r.get(5)?,
    })
}

fn with_relations(conn: &Connection, mut group: Group) -> Result<Group> {
    group.members = conn
        .prepare_cached("SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY user_id")?
        .query_map([&group.id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    group.roles = conn
        .prepare_cached("SELECT role_id FROM group_roles WHERE group_id = ?1 ORDER BY role_id")?
        .query_map([&group.id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(group)
}

fn load(conn: &Connection, id: &str) -> Result<Group> {
    let group = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM directory_groups WHERE id = ?1"
        ))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound("group"))?;
    with_relations(conn, group)
}

pub(super) fn list(conn: &Connection, actor: &Actor) -> Result<Vec<Group>> {
    actor.require(Permission::VIEW_GROUP)?;
    let groups = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM directory_groups ORDER BY name_key"
        ))?
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    groups
        .into_iter()
        .map(|g| with_relations(conn, g))
        .collect()
}

pub(super) fn get(conn: &Connection, actor: &Actor, id: &str) -> Result<Group> {
    actor.require(Permission::VIEW_GROUP)?;
    load(conn, id)
}

/// The permissions members receive through the given groups, and whether SuperAdmin is among
/// their roles; an unknown id is bad input on `field`.
pub(super) fn permissions_of(
    conn: &Connection,
    ids: &[String],
    field: &str,
) -> Result<(PermissionSet, bool)> {
    let mut errors = FieldErrors::new();
    let mut exists = conn.prepare_cached("SELECT 1 FROM directory_groups WHERE id = ?1")?;
    let mut carried = conn.prepare_cached("SELECT role_id FROM group_roles WHERE group_id = ?1")?;
    let mut role_ids = Vec::new();
    for id in ids {
        if exists.query_row([id], |_| Ok(())).optional()?.is_none() {
            errors.add(field, format!("There is no group with the id {id}."));
            continue;
        }
        for role in carried.query_map([id], |r| r.get::<_, String>(0))? {
            role_ids.push(role?);
        }
    }
    errors.into_result()?;
    roles::permissions_of(conn, &role_ids, "roles")
}

fn check_members(conn: &Connection, members: &[String]) -> Result<()> {
    let mut errors = FieldErrors::new();
    let mut exists = conn.prepare_cached("SELECT 1 FROM users WHERE id = ?1")?;
    for id in members {
        if exists.query_row([id], |_| Ok(())).optional()?.is_none() {
            errors.add("members", format!("There is no user with the id {id}."));
        }
    }
    errors.into_result()
}

fn name_taken(conn: &Connection, name: &Name, except_id: &str) -> Result<()> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM directory_groups WHERE name_key = ?1 AND id <> ?2)",
        params![name.key(), except_id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::duplicate(
            "name",
            "A group with this name exists already.",
        ));
    }
    Ok(())
}

/// Bumps the version of users whose group list changed.
fn touch_users(conn: &Connection, ids: &[String], now: Time) -> Result<()> {
    let mut statement = conn.prepare_cached(
        "UPDATE users SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id = ?1",
    )?;
    for id in ids {
        statement.execute(params![id, to_ms(now)])?;
    }
    Ok(())
}

fn replace(
    conn: &Connection,
    id: &str,
    members: Option<&[String]>,
    roles: Option<&[String]>,
) -> Result<()> {
    if let Some(members) = members {
        conn.execute("DELETE FROM group_members WHERE group_id = ?1", [id])?;
        let mut insert =
            conn.prepare_cached("INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)")?;
        for member in members {
            insert.execute([id, member])?;
        }
    }
    if let Some(roles) = roles {
        conn.execute("DELETE FROM group_roles WHERE group_id = ?1", [id])?;
        let mut insert =
            conn.prepare_cached("INSERT INTO group_roles (group_id, role_id) VALUES (?1, ?2)")?;
        for role in roles {
            insert.execute([id, role])?;
        }
    }
    Ok(())
}

pub(super) fn create(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    group: NewGroup,
) -> Result<Group> {
    actor.require(Permission::MANAGE_GROUP)?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", Name::parse(&group.name));
    let description = errors.check("description", parse_description(&group.description));
    errors.into_result()?;
    let (Some(name), Some(description)) = (name, description) else {
        return Err(Error::invalid("name", "Enter a name."));
    };
    let members = distinct_ids(&group.members);
    let role_ids = distinct_ids(&group.roles);
    check_members(conn, &members)?;
    let (permissions, super_admin) = roles::permissions_of(conn, &role_ids, "roles")?;
    actor.may_grant(permissions, super_admin)?;
    let id = new_id();
    name_taken(conn, &name, &id)?;
    conn.execute(
        "INSERT INTO directory_groups (id, name, name_key, description, created_time,
                                       last_updated_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![id, name.as_str(), name.key(), description, to_ms(now)],
    )?;
    replace(conn, &id, Some(&members), Some(&role_ids))?;
    touch_users(conn, &members, now)?;
    Record::by(actor, now, "group.create")
        .target("group", &id, name.as_str())
        .detail(format!(
            "members: {}, roles: [{}]",
            members.len(),
            role_ids.join(", ")
        ))
        .append(conn)?;
    load(conn, &id)
}

pub(super) fn update(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    id: &str,
    update: GroupUpdate,
) -> Result<Group> {
    actor.require(Permission::MANAGE_GROUP)?;
    let current = load(conn, id)?;
    let (held, held_super_admin) = roles::permissions_of(conn, &current.roles, "roles")?;
    actor.may_grant(held, held_super_admin)?;
    if update.update_version != current.update_version {
        return Err(Error::VersionConflict("group"));
    }
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
        check_members(conn, members)?;
    }
    if let Some(role_ids) = &role_ids {
        let (permissions, super_admin) = roles::permissions_of(conn, role_ids, "roles")?;
        actor.may_grant(permissions, super_admin)?;
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
    let new_name = name.map(Name::into_string).unwrap_or(current.name.clone());
    conn.execute(
        "UPDATE directory_groups SET name = ?2, name_key = ?5, description = ?3,
                last_updated_time = ?4, update_version = update_version + 1
         WHERE id = ?1",
        params![
            id,
            new_name,
            description.unwrap_or(current.description.clone()),
            to_ms(now),
            new_name.to_lowercase()
        ],
    )?;
    replace(conn, id, members.as_deref(), role_ids.as_deref())?;
    if let Some(members) = &members {
        let moved: Vec<String> = members
            .iter()
            .filter(|m| !current.members.contains(m))
            .chain(current.members.iter().filter(|m| !members.contains(m)))
            .cloned()
            .collect();
        touch_users(conn, &moved, now)?;
    }
    users::ensure_super_admin_remains(conn)?;
    Record::by(actor, now, "group.update")
        .target("group", id, &new_name)
        .detail(format!("changed: {}", changed.join(", ")))
        .append(conn)?;
    load(conn, id)
}

pub(super) fn delete(conn: &Connection, actor: &Actor, now: Time, id: &str) -> Result<()> {
    actor.require(Permission::MANAGE_GROUP)?;
    let current = load(conn, id)?;
    let (held, held_super_admin) = roles::permissions_of(conn, &current.roles, "roles")?;
    actor.may_grant(held, held_super_admin)?;
    touch_users(conn, &current.members, now)?;
    conn.execute("DELETE FROM directory_groups WHERE id = ?1", [id])?;
    users::ensure_super_admin_remains(conn)?;
    Record::by(actor, now, "group.delete")
        .target("group", id, &current.name)
        .append(conn)?;
    Ok(())
}

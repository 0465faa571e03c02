//! The `directory_groups` table with its members (`group_members`) and roles (`group_roles`).

use super::SqliteTx;
use crate::core::model::{Group, Time};
use crate::core::names::Name;
use crate::core::Result;
use crate::rules::storage::{GroupRow, GroupRows};
use crate::store::{from_ms, to_ms};
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

fn ids(conn: &Connection, sql: &str, id: &str) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn with_relations(conn: &Connection, mut group: Group) -> Result<Group> {
    group.members = ids(
        conn,
        "SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY user_id",
        &group.id,
    )?;
    group.roles = ids(
        conn,
        "SELECT role_id FROM group_roles WHERE group_id = ?1 ORDER BY role_id",
        &group.id,
    )?;
    Ok(group)
}

impl GroupRows for SqliteTx<'_> {
    fn list_groups(&self) -> Result<Vec<Group>> {
        let groups = self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM directory_groups ORDER BY name_key"
            ))?
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        groups
            .into_iter()
            .map(|g| with_relations(self.0, g))
            .collect()
    }

    fn find_group(&self, id: &str) -> Result<Option<Group>> {
        let group = self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM directory_groups WHERE id = ?1"
            ))?
            .query_row([id], from_row)
            .optional()?;
        group.map(|g| with_relations(self.0, g)).transpose()
    }

    fn group_roles(&self, id: &str) -> Result<Option<Vec<String>>> {
        let exists = self
            .0
            .prepare_cached("SELECT 1 FROM directory_groups WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        ids(
            self.0,
            "SELECT role_id FROM group_roles WHERE group_id = ?1",
            id,
        )
        .map(Some)
    }

    fn group_name_in_use(&self, name: &Name, except_id: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM directory_groups WHERE name_key = ?1 AND id <> ?2)",
            )?
            .query_row(params![name.key(), except_id], |r| r.get(0))?)
    }

    fn insert_group(&self, group: &GroupRow<'_>) -> Result<()> {
        self.0.execute(
            "INSERT INTO directory_groups (id, name, name_key, description, created_time,
                                           last_updated_time, update_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            params![
                group.id,
                group.name.as_str(),
                group.name.key(),
                group.description,
                to_ms(group.time),
                group.update_version
            ],
        )?;
        Ok(())
    }

    fn update_group(&self, group: &GroupRow<'_>) -> Result<()> {
        self.0.execute(
            "UPDATE directory_groups SET name = ?2, name_key = ?3, description = ?4,
                    last_updated_time = ?5, update_version = ?6
             WHERE id = ?1",
            params![
                group.id,
                group.name.as_str(),
                group.name.key(),
                group.description,
                to_ms(group.time),
                group.update_version
            ],
        )?;
        Ok(())
    }

    fn delete_group(&self, id: &str) -> Result<()> {
        self.0
            .execute("DELETE FROM directory_groups WHERE id = ?1", [id])?;
        Ok(())
    }

    fn set_group_members(&self, id: &str, user_ids: &[String]) -> Result<()> {
        self.replace_links("group_members", "group_id", id, "user_id", user_ids)
    }

    fn set_group_roles(&self, id: &str, role_ids: &[String]) -> Result<()> {
        self.replace_links("group_roles", "group_id", id, "role_id", role_ids)
    }

    fn touch_groups(&self, ids: &[String], now: Time) -> Result<()> {
        let mut statement = self.0.prepare_cached(
            "UPDATE directory_groups
             SET update_version = update_version + 1, last_updated_time = ?2
             WHERE id = ?1",
        )?;
        for id in ids {
            statement.execute(params![id, to_ms(now)])?;
        }
        Ok(())
    }

    fn groups_with_role(&self, role_id: &str) -> Result<Vec<String>> {
        ids(
            self.0,
            "SELECT group_id FROM group_roles WHERE role_id = ?1",
            role_id,
        )
    }
}

//! The `directory_groups` table with its members (`group_members`) and roles (`group_roles`).

use super::PgTx;
use crate::core::model::{Group, Time};
use crate::core::names::Name;
use crate::core::Result;
use crate::rules::storage::{GroupRow, GroupRows};
use crate::store::{from_ms, to_ms};
use postgres::Row;

const COLUMNS: &str = "id, name, description, created_time, last_updated_time, update_version";

fn from_row(r: &Row) -> Group {
    Group {
        id: r.get(0),
        name: r.get(1),
        description: r.get(2),
        members: Vec::new(),
        roles: Vec::new(),
        created_time: from_ms(r.get(3)),
        last_updated_time: from_ms(r.get(4)),
        update_version: r.get(5),
    }
}

fn ids(tx: &PgTx<'_>, sql: &str, id: &str) -> Result<Vec<String>> {
    Ok(tx.query(sql, &[&id])?.iter().map(|r| r.get(0)).collect())
}

fn with_relations(tx: &PgTx<'_>, mut group: Group) -> Result<Group> {
    group.members = ids(
        tx,
        "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id",
        &group.id,
    )?;
    group.roles = ids(
        tx,
        "SELECT role_id FROM group_roles WHERE group_id = $1 ORDER BY role_id",
        &group.id,
    )?;
    Ok(group)
}

impl GroupRows for PgTx<'_> {
    fn list_groups(&self) -> Result<Vec<Group>> {
        let groups: Vec<Group> = self
            .query(
                &format!("SELECT {COLUMNS} FROM directory_groups ORDER BY name_key"),
                &[],
            )?
            .iter()
            .map(from_row)
            .collect();
        groups
            .into_iter()
            .map(|g| with_relations(self, g))
            .collect()
    }

    fn find_group(&self, id: &str) -> Result<Option<Group>> {
        self.query_opt(
            &format!("SELECT {COLUMNS} FROM directory_groups WHERE id = $1"),
            &[&id],
        )?
        .map(|r| with_relations(self, from_row(&r)))
        .transpose()
    }

    fn group_roles(&self, id: &str) -> Result<Option<Vec<String>>> {
        let exists: bool = self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM directory_groups WHERE id = $1)",
                &[&id],
            )?
            .get(0);
        if !exists {
            return Ok(None);
        }
        ids(
            self,
            "SELECT role_id FROM group_roles WHERE group_id = $1",
            id,
        )
        .map(Some)
    }

    fn group_name_in_use(&self, name: &Name, except_id: &str) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM directory_groups WHERE name_key = $1 AND id <> $2)",
                &[&name.key(), &except_id],
            )?
            .get(0))
    }

    fn insert_group(&self, group: &GroupRow<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO directory_groups (id, name, name_key, description, created_time,
                                           last_updated_time, update_version)
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
            &[
                &group.id,
                &group.name.as_str(),
                &group.name.key(),
                &group.description,
                &to_ms(group.time),
                &group.update_version,
            ],
        )?;
        Ok(())
    }

    fn update_group(&self, group: &GroupRow<'_>) -> Result<()> {
        self.execute(
            "UPDATE directory_groups SET name = $2, name_key = $3, description = $4,
                    last_updated_time = $5, update_version = $6
             WHERE id = $1",
            &[
                &group.id,
                &group.name.as_str(),
                &group.name.key(),
                &group.description,
                &to_ms(group.time),
                &group.update_version,
            ],
        )?;
        Ok(())
    }

    fn delete_group(&self, id: &str) -> Result<()> {
        self.execute("DELETE FROM directory_groups WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn set_group_members(&self, id: &str, user_ids: &[String]) -> Result<()> {
        self.replace_links("group_members", "group_id", id, "user_id", user_ids)
    }

    fn set_group_roles(&self, id: &str, role_ids: &[String]) -> Result<()> {
        self.replace_links("group_roles", "group_id", id, "role_id", role_ids)
    }

    fn touch_groups(&self, ids: &[String], now: Time) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.execute(
            "UPDATE directory_groups
             SET update_version = update_version + 1, last_updated_time = $2
             WHERE id = ANY($1)",
            &[&ids, &to_ms(now)],
        )?;
        Ok(())
    }

    fn groups_with_role(&self, role_id: &str) -> Result<Vec<String>> {
        ids(
            self,
            "SELECT group_id FROM group_roles WHERE role_id = $1",
            role_id,
        )
    }
}

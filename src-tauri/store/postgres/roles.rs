//! The `roles` table.

use super::PgTx;
use crate::core::model::{Role, Time};
use crate::core::names::Name;
use crate::core::permission::{BuiltinRole, PermissionSet};
use crate::core::Result;
use crate::rules::storage::{RoleRow, RoleRows};
use crate::store::{from_ms, to_ms};
use postgres::Row;

const COLUMNS: &str =
    "id, name, description, permissions, builtin, created_time, last_updated_time, update_version";

/// A stored permission mask (a bigint holding the u32 bits).
pub(super) fn permissions(bits: i64) -> PermissionSet {
    PermissionSet::from_bits(u32::try_from(bits).unwrap_or(0))
}

fn from_row(r: &Row) -> Role {
    Role {
        id: r.get(0),
        name: r.get(1),
        description: r.get(2),
        permissions: permissions(r.get(3)),
        builtin: r.get(4),
        created_time: from_ms(r.get(5)),
        last_updated_time: from_ms(r.get(6)),
        update_version: r.get(7),
    }
}

impl RoleRows for PgTx<'_> {
    fn ensure_builtin_role(&self, role: BuiltinRole, now: Time) -> Result<()> {
        self.execute(
            "INSERT INTO roles (id, name, name_key, description, permissions, builtin,
                                created_time, last_updated_time)
             VALUES ($1, $2, lower($2), $3, $4, true, $5, $5)
             ON CONFLICT (id) DO UPDATE SET permissions = excluded.permissions
             WHERE roles.permissions <> excluded.permissions",
            &[
                &role.id(),
                &role.name(),
                &role.description(),
                &i64::from(role.permissions().bits()),
                &to_ms(now),
            ],
        )?;
        Ok(())
    }

    fn list_roles(&self) -> Result<Vec<Role>> {
        Ok(self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM roles ORDER BY builtin DESC, created_time, name_key"
                ),
                &[],
            )?
            .iter()
            .map(from_row)
            .collect())
    }

    fn find_role(&self, id: &str) -> Result<Option<Role>> {
        Ok(self
            .query_opt(
                &format!("SELECT {COLUMNS} FROM roles WHERE id = $1"),
                &[&id],
            )?
            .map(|r| from_row(&r)))
    }

    fn role_name_in_use(&self, name: &Name, except_id: &str) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM roles WHERE name_key = $1 AND id <> $2)",
                &[&name.key(), &except_id],
            )?
            .get(0))
    }

    fn insert_role(&self, role: &RoleRow<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO roles (id, name, name_key, description, permissions, builtin,
                                created_time, last_updated_time, update_version)
             VALUES ($1, $2, $3, $4, $5, false, $6, $6, $7)",
            &[
                &role.id,
                &role.name.as_str(),
                &role.name.key(),
                &role.description,
                &i64::from(role.permissions.bits()),
                &to_ms(role.time),
                &role.update_version,
            ],
        )?;
        Ok(())
    }

    fn update_role(&self, role: &RoleRow<'_>) -> Result<()> {
        self.execute(
            "UPDATE roles SET name = $2, name_key = $3, description = $4, permissions = $5,
                    last_updated_time = $6, update_version = $7
             WHERE id = $1",
            &[
                &role.id,
                &role.name.as_str(),
                &role.name.key(),
                &role.description,
                &i64::from(role.permissions.bits()),
                &to_ms(role.time),
                &role.update_version,
            ],
        )?;
        Ok(())
    }

    fn delete_role(&self, id: &str) -> Result<()> {
        // Holders and groups lose the role with it (foreign keys cascade).
        self.execute("DELETE FROM roles WHERE id = $1", &[&id])?;
        Ok(())
    }
}

//! The `users` table, its memberships (`user_roles`, `group_members`) and its search tables.

use super::SqliteTx;
use crate::core::model::*;
use crate::core::names::{Email, UserName};
use crate::core::permission::PermissionSet;
use crate::core::Result;
use crate::rules::storage::{SignInRow, UserChange, UserListing, UserRows};
use crate::store::{from_ms, from_ms_opt, to_ms};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

const COLUMNS: &str = "u.id, u.user_name, u.display_name, u.email, u.status, u.type,
    u.created_time, u.last_updated_time, u.last_login_time, u.update_version,
    EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id AND f.confirmed)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let status: String = r.get(4)?;
    let user_type: String = r.get(5)?;
    Ok(User {
        id: r.get(0)?,
        user_name: r.get(1)?,
        display_name: r.get(2)?,
        email: r.get(3)?,
        // The table's CHECK constraints admit only these values.
        status: UserStatus::parse(&status).unwrap_or(UserStatus::Inactive),
        user_type: UserType::parse(&user_type).unwrap_or_default(),
        roles: Vec::new(),
        groups: Vec::new(),
        created_time: from_ms(r.get(6)?),
        last_updated_time: from_ms(r.get(7)?),
        last_login_time: from_ms_opt(r.get(8)?),
        update_version: r.get(9)?,
        second_factor: r.get(10)?,
        mail: None,
    })
}

/// Fills in the role and group ids of a page of users with two queries.
fn add_memberships(conn: &Connection, users: &mut [User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["?"; users.len()].join(", ");
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let position = |id: &str| ids.iter().position(|candidate| *candidate == id);
    let mut roles: Vec<Vec<String>> = vec![Vec::new(); users.len()];
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); users.len()];
    for (table, column, target) in [
        ("user_roles", "role_id", &mut roles),
        ("group_members", "group_id", &mut groups),
    ] {
        let sql = format!(
            "SELECT user_id, {column} FROM {table} WHERE user_id IN ({placeholders})
             ORDER BY user_id, {column}"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(ids.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (user_id, value) = row?;
            if let Some(index) = position(&user_id) {
                target[index].push(value);
            }
        }
    }
    for ((user, roles), groups) in users.iter_mut().zip(roles).zip(groups) {
        user.roles = roles;
        user.groups = groups;
    }
    Ok(())
}

fn exists(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
    Ok(conn.prepare_cached(sql)?.query_row(params, |r| r.get(0))?)
}

/// Quotes text as one FTS5 phrase.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

impl UserRows for SqliteTx<'_> {
    fn has_users(&self) -> Result<bool> {
        exists(self.0, "SELECT EXISTS (SELECT 1 FROM users)", [])
    }

    fn find_user(&self, id: &str) -> Result<Option<User>> {
        let user = self
            .0
            .prepare_cached(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?1"))?
            .query_row([id], from_row)
            .optional()?;
        let Some(user) = user else { return Ok(None) };
        let mut users = [user];
        add_memberships(self.0, &mut users)?;
        let [user] = users;
        Ok(Some(user))
    }

    fn find_user_id_by_name(&self, name_key: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT id FROM users WHERE user_name_key = ?1")?
            .query_row([name_key], |r| r.get(0))
            .optional()?)
    }

    fn sign_in_row(&self, name_key: &str) -> Result<Option<SignInRow>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, user_name, password_hash FROM users WHERE user_name_key = ?1",
            )?
            .query_row([name_key], |r| {
                Ok(SignInRow {
                    id: r.get(0)?,
                    user_name: r.get(1)?,
                    password_hash: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn password_hash(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT password_hash FROM users WHERE id = ?1")?
            .query_row([id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    fn user_exists(&self, id: &str) -> Result<bool> {
        exists(
            self.0,
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
            [id],
        )
    }

    fn user_name_in_use(&self, name: &UserName, except_id: &str) -> Result<bool> {
        exists(
            self.0,
            "SELECT EXISTS (SELECT 1 FROM users WHERE user_name_key = ?1 AND id <> ?2)",
            params![name.key(), except_id],
        )
    }

    fn email_in_use(&self, email: &Email, except_id: &str) -> Result<bool> {
        exists(
            self.0,
            "SELECT EXISTS (SELECT 1 FROM users WHERE email_key = ?1 AND id <> ?2)",
            params![email.key(), except_id],
        )
    }

    fn insert_user(&self, user: &crate::rules::storage::NewUserRow<'_>) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO users (id, user_name, user_name_key, display_name, display_name_key,
                                    email, email_key, status, type, password_hash, created_time,
                                    last_updated_time, update_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 1)",
            )?
            .execute(params![
                user.id,
                user.user_name.as_str(),
                user.user_name.key(),
                user.display_name.as_str(),
                user.display_name.key(),
                user.email.as_str(),
                user.email.key(),
                user.status.as_str(),
                user.user_type.as_str(),
                user.password_hash,
                to_ms(user.created_time),
            ])?;
        Ok(())
    }

    fn change_user(&self, id: &str, change: &UserChange<'_>) -> Result<()> {
        let conn = self.0;
        if let Some(name) = change.user_name {
            conn.execute(
                "UPDATE users SET user_name = ?2, user_name_key = ?3 WHERE id = ?1",
                params![id, name.as_str(), name.key()],
            )?;
        }
        if let Some(name) = change.display_name {
            conn.execute(
                "UPDATE users SET display_name = ?2, display_name_key = ?3 WHERE id = ?1",
                params![id, name.as_str(), name.key()],
            )?;
        }
        if let Some(email) = change.email {
            conn.execute(
                "UPDATE users SET email = ?2, email_key = ?3 WHERE id = ?1",
                params![id, email.as_str(), email.key()],
            )?;
        }
        if let Some(status) = change.status {
            conn.execute(
                "UPDATE users SET status = ?2 WHERE id = ?1",
                params![id, status.as_str()],
            )?;
        }
        if let Some(hash) = change.password_hash {
            conn.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![id, hash],
            )?;
        }
        Ok(())
    }

    fn touch_users(&self, ids: &[String], now: Time) -> Result<()> {
        let mut statement = self.0.prepare_cached(
            "UPDATE users SET update_version = update_version + 1, last_updated_time = ?2
             WHERE id = ?1",
        )?;
        for id in ids {
            statement.execute(params![id, to_ms(now)])?;
        }
        Ok(())
    }

    fn set_last_login(&self, id: &str, now: Time) -> Result<()> {
        self.0.execute(
            "UPDATE users SET last_login_time = ?2 WHERE id = ?1",
            params![id, to_ms(now)],
        )?;
        Ok(())
    }

    fn delete_user(&self, id: &str) -> Result<()> {
        // Keys, sessions, tokens and memberships go with the user (foreign keys cascade).
        self.0.execute("DELETE FROM users WHERE id = ?1", [id])?;
        Ok(())
    }

    fn set_user_roles(&self, id: &str, role_ids: &[String]) -> Result<()> {
        self.replace_links("user_roles", "user_id", id, "role_id", role_ids)
    }

    fn set_user_groups(&self, id: &str, group_ids: &[String]) -> Result<()> {
        self.replace_links("group_members", "user_id", id, "group_id", group_ids)
    }

    fn role_grants(&self, user_id: &str) -> Result<Vec<(String, PermissionSet)>> {
        // UNION ALL with plain joins: a role held twice is harmless to OR, and avoids the
        // temporary table a de-duplicating UNION builds on every call (this is on the hot path
        // of every request).
        let mut statement = self.0.prepare_cached(
            "SELECT r.id, r.permissions FROM user_roles ur JOIN roles r ON r.id = ur.role_id
             WHERE ur.user_id = ?1
             UNION ALL
             SELECT r.id, r.permissions FROM group_members gm
             JOIN group_roles gr ON gr.group_id = gm.group_id
             JOIN roles r ON r.id = gr.role_id
             WHERE gm.user_id = ?1",
        )?;
        let rows = statement
            .query_map([user_id], |r| {
                Ok((r.get::<_, String>(0)?, PermissionSet::from_bits(r.get(1)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn active_holders(&self, role_id: &str) -> Result<u64> {
        let count: i64 = self
            .0
            .prepare_cached(
                "SELECT COUNT(*) FROM users WHERE status = 'ACTIVE' AND id IN (
                     SELECT user_id FROM user_roles WHERE role_id = ?1
                     UNION
                     SELECT gm.user_id FROM group_members gm
                     JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id = ?1)",
            )?
            .query_row([role_id], |r| r.get(0))?;
        Ok(count as u64)
    }

    fn first_active_holder(&self, role_id: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .query_row(
                "SELECT u.user_name FROM users u
                 JOIN user_roles ur ON ur.user_id = u.id AND ur.role_id = ?1
                 WHERE u.status = 'ACTIVE' ORDER BY u.created_time, u.id LIMIT 1",
                [role_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn direct_holders(&self, role_id: &str) -> Result<Vec<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT user_id FROM user_roles WHERE role_id = ?1")?
            .query_map([role_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn list_users(&self, listing: &UserListing<'_>) -> Result<(Vec<User>, u64)> {
        let conn = self.0;
        let mut filters: Vec<String> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        // The search alone can be counted on the search tables, without touching user rows.
        let mut search_count: Option<String> = None;
        if let Some(q) = listing.search {
            let (key, matching) = if q.chars().count() >= 3 {
                values.push(Value::Text(fts_phrase(q)));
                (
                    "rowid",
                    format!(
                        "FROM users_search WHERE users_search MATCH ?{}",
                        values.len()
                    ),
                )
            } else {
                // The trigram index needs three characters; shorter queries scan the narrow
                // search table.
                values.push(Value::Text(q.to_owned()));
                (
                    "user_seq",
                    format!("FROM user_search WHERE instr(text, ?{}) > 0", values.len()),
                )
            };
            filters.push(format!("u.seq IN (SELECT {key} {matching})"));
            search_count = Some(format!("SELECT COUNT(*) {matching}"));
        }
        if let Some(status) = listing.status {
            values.push(Value::Text(status.as_str().to_owned()));
            filters.push(format!("u.status = ?{}", values.len()));
        }
        if let Some(role) = listing.role {
            values.push(Value::Text(role.to_owned()));
            filters.push(format!(
                "u.id IN (SELECT user_id FROM user_roles WHERE role_id = ?{n}
                          UNION SELECT gm.user_id FROM group_members gm
                          JOIN group_roles gr ON gr.group_id = gm.group_id
                          WHERE gr.role_id = ?{n})",
                n = values.len()
            ));
        }
        if let Some(group) = listing.group {
            values.push(Value::Text(group.to_owned()));
            filters.push(format!(
                "u.id IN (SELECT user_id FROM group_members WHERE group_id = ?{})",
                values.len()
            ));
        }
        let condition = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let count_sql = match search_count {
            Some(sql) if filters.len() == 1 => sql,
            _ => format!("SELECT COUNT(*) FROM users u {condition}"),
        };
        let total: i64 = conn
            .prepare_cached(&count_sql)?
            .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
        let column = match listing.sort {
            UserSort::UserName => "u.user_name_key",
            UserSort::DisplayName => "u.display_name_key",
            UserSort::Email => "u.email_key",
            UserSort::Status => "u.status",
            UserSort::CreatedTime => "u.created_time",
            UserSort::LastLoginTime => "u.last_login_time",
        };
        let direction = if listing.descending { "DESC" } else { "ASC" };
        values.push(Value::Integer(i64::from(listing.page.page_size)));
        values.push(Value::Integer(listing.page.offset() as i64));
        let sql = format!(
            "SELECT {COLUMNS} FROM users u {condition}
             ORDER BY {column} {direction}, u.id {direction} LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        );
        let mut items = conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(values.iter()), from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        add_memberships(conn, &mut items)?;
        Ok((items, total as u64))
    }
}

//! The `users` table and its memberships (`user_roles`, `group_members`).

use super::{Params, PgTx};
use crate::core::model::*;
use crate::core::names::{Email, UserName};
use crate::core::permission::PermissionSet;
use crate::core::Result;
use crate::rules::storage::{NewUserRow, SignInRow, UserChange, UserListing, UserRows};
use crate::store::{from_ms, from_ms_opt, like_pattern, to_ms};
use postgres::types::ToSql;
use postgres::Row;

const COLUMNS: &str = "u.id, u.user_name, u.display_name, u.email, u.status, u.type,
    u.created_time, u.last_updated_time, u.last_login_time, u.update_version,
    EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id AND f.confirmed)";

fn from_row(r: &Row) -> User {
    let status: String = r.get(4);
    let user_type: String = r.get(5);
    User {
        id: r.get(0),
        user_name: r.get(1),
        display_name: r.get(2),
        email: r.get(3),
        // The table's CHECK constraints admit only these values.
        status: UserStatus::parse(&status).unwrap_or(UserStatus::Inactive),
        user_type: UserType::parse(&user_type).unwrap_or_default(),
        roles: Vec::new(),
        groups: Vec::new(),
        created_time: from_ms(r.get(6)),
        last_updated_time: from_ms(r.get(7)),
        last_login_time: from_ms_opt(r.get(8)),
        update_version: r.get(9),
        second_factor: r.get(10),
        mail: None,
    }
}

/// Fills in the role and group ids of a page of users with two queries.
fn add_memberships(tx: &PgTx<'_>, users: &mut [User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    for (table, column) in [("user_roles", "role_id"), ("group_members", "group_id")] {
        let rows = tx.query(
            &format!(
                "SELECT user_id, {column} FROM {table} WHERE user_id = ANY($1)
                 ORDER BY user_id, {column}"
            ),
            &[&ids],
        )?;
        for row in rows {
            let user_id: &str = row.get(0);
            if let Some(user) = users.iter_mut().find(|u| u.id == user_id) {
                let value: String = row.get(1);
                if column == "role_id" {
                    user.roles.push(value);
                } else {
                    user.groups.push(value);
                }
            }
        }
    }
    Ok(())
}

fn strings(rows: Vec<Row>) -> Vec<String> {
    rows.iter().map(|r| r.get(0)).collect()
}

impl UserRows for PgTx<'_> {
    fn has_users(&self) -> Result<bool> {
        Ok(self
            .query_one("SELECT EXISTS (SELECT 1 FROM users)", &[])?
            .get(0))
    }

    fn find_user(&self, id: &str) -> Result<Option<User>> {
        let Some(row) = self.query_opt(
            &format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1"),
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let mut users = [from_row(&row)];
        add_memberships(self, &mut users)?;
        let [user] = users;
        Ok(Some(user))
    }

    fn find_user_id_by_name(&self, name_key: &str) -> Result<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT id FROM users WHERE user_name_key = $1",
                &[&name_key],
            )?
            .map(|r| r.get(0)))
    }

    fn sign_in_row(&self, name_key: &str) -> Result<Option<SignInRow>> {
        Ok(self
            .query_opt(
                "SELECT id, user_name, password_hash FROM users WHERE user_name_key = $1",
                &[&name_key],
            )?
            .map(|r| SignInRow {
                id: r.get(0),
                user_name: r.get(1),
                password_hash: r.get(2),
            }))
    }

    fn password_hash(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .query_opt("SELECT password_hash FROM users WHERE id = $1", &[&id])?
            .and_then(|r| r.get(0)))
    }

    fn user_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .query_one("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", &[&id])?
            .get(0))
    }

    fn user_name_in_use(&self, name: &UserName, except_id: &str) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM users WHERE user_name_key = $1 AND id <> $2)",
                &[&name.key(), &except_id],
            )?
            .get(0))
    }

    fn email_in_use(&self, email: &Email, except_id: &str) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM users WHERE email_key = $1 AND id <> $2)",
                &[&email.key(), &except_id],
            )?
            .get(0))
    }

    fn insert_user(&self, user: &NewUserRow<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO users (id, user_name, user_name_key, display_name, display_name_key,
                                email, email_key, status, type, password_hash, created_time,
                                last_updated_time, update_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)",
            &[
                &user.id,
                &user.user_name.as_str(),
                &user.user_name.key(),
                &user.display_name.as_str(),
                &user.display_name.key(),
                &user.email.as_str(),
                &user.email.key(),
                &user.status.as_str(),
                &user.user_type.as_str(),
                &user.password_hash,
                &to_ms(user.created_time),
            ],
        )?;
        Ok(())
    }

    fn change_user(&self, id: &str, change: &UserChange<'_>) -> Result<()> {
        if let Some(name) = change.user_name {
            self.execute(
                "UPDATE users SET user_name = $2, user_name_key = $3 WHERE id = $1",
                &[&id, &name.as_str(), &name.key()],
            )?;
        }
        if let Some(name) = change.display_name {
            self.execute(
                "UPDATE users SET display_name = $2, display_name_key = $3 WHERE id = $1",
                &[&id, &name.as_str(), &name.key()],
            )?;
        }
        if let Some(email) = change.email {
            self.execute(
                "UPDATE users SET email = $2, email_key = $3 WHERE id = $1",
                &[&id, &email.as_str(), &email.key()],
            )?;
        }
        if let Some(status) = change.status {
            self.execute(
                "UPDATE users SET status = $2 WHERE id = $1",
                &[&id, &status.as_str()],
            )?;
        }
        if let Some(hash) = change.password_hash {
            self.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&id, &hash],
            )?;
        }
        Ok(())
    }

    fn touch_users(&self, ids: &[String], now: Time) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.execute(
            "UPDATE users SET update_version = update_version + 1, last_updated_time = $2
             WHERE id = ANY($1)",
            &[&ids, &to_ms(now)],
        )?;
        Ok(())
    }

    fn set_last_login(&self, id: &str, now: Time) -> Result<()> {
        self.execute(
            "UPDATE users SET last_login_time = $2 WHERE id = $1",
            &[&id, &to_ms(now)],
        )?;
        Ok(())
    }

    fn delete_user(&self, id: &str) -> Result<()> {
        // Keys, sessions, tokens and memberships go with the user (foreign keys cascade).
        self.execute("DELETE FROM users WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn set_user_roles(&self, id: &str, role_ids: &[String]) -> Result<()> {
        self.replace_links("user_roles", "user_id", id, "role_id", role_ids)
    }

    fn set_user_groups(&self, id: &str, group_ids: &[String]) -> Result<()> {
        self.replace_links("group_members", "user_id", id, "group_id", group_ids)
    }

    fn role_grants(&self, user_id: &str) -> Result<Vec<(String, PermissionSet)>> {
        let rows = self.query(
            "SELECT r.id, r.permissions FROM user_roles ur JOIN roles r ON r.id = ur.role_id
             WHERE ur.user_id = $1
             UNION ALL
             SELECT r.id, r.permissions FROM group_members gm
             JOIN group_roles gr ON gr.group_id = gm.group_id
             JOIN roles r ON r.id = gr.role_id
             WHERE gm.user_id = $1",
            &[&user_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), super::roles::permissions(r.get(1))))
            .collect())
    }

    fn active_holders(&self, role_id: &str) -> Result<u64> {
        let count: i64 = self
            .query_one(
                "SELECT COUNT(*) FROM users WHERE status = 'ACTIVE' AND id IN (
                     SELECT user_id FROM user_roles WHERE role_id = $1
                     UNION
                     SELECT gm.user_id FROM group_members gm
                     JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id = $1)",
                &[&role_id],
            )?
            .get(0);
        Ok(count as u64)
    }

    fn first_active_holder(&self, role_id: &str) -> Result<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT u.user_name FROM users u
                 JOIN user_roles ur ON ur.user_id = u.id AND ur.role_id = $1
                 WHERE u.status = 'ACTIVE' ORDER BY u.created_time, u.id LIMIT 1",
                &[&role_id],
            )?
            .map(|r| r.get(0)))
    }

    fn direct_holders(&self, role_id: &str) -> Result<Vec<String>> {
        Ok(strings(self.query(
            "SELECT user_id FROM user_roles WHERE role_id = $1",
            &[&role_id],
        )?))
    }

    fn list_users(&self, listing: &UserListing<'_>) -> Result<(Vec<User>, u64)> {
        let mut filters: Vec<String> = Vec::new();
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(q) = listing.search {
            // The trigram index serves LIKE for three characters or more; shorter ones scan.
            values.push(Box::new(like_pattern(q)));
            filters.push(format!("u.search LIKE ${} ESCAPE '\\'", values.len()));
        }
        if let Some(status) = listing.status {
            values.push(Box::new(status.as_str()));
            filters.push(format!("u.status = ${}", values.len()));
        }
        if let Some(role) = listing.role {
            values.push(Box::new(role.to_owned()));
            filters.push(format!(
                "u.id IN (SELECT user_id FROM user_roles WHERE role_id = ${n}
                          UNION SELECT gm.user_id FROM group_members gm
                          JOIN group_roles gr ON gr.group_id = gm.group_id
                          WHERE gr.role_id = ${n})",
                n = values.len()
            ));
        }
        if let Some(group) = listing.group {
            values.push(Box::new(group.to_owned()));
            filters.push(format!(
                "u.id IN (SELECT user_id FROM group_members WHERE group_id = ${})",
                values.len()
            ));
        }
        let condition = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        let total: i64 = self
            .query_one(
                &format!("SELECT COUNT(*) FROM users u {condition}"),
                &params[..] as &Params<'_>,
            )?
            .get(0);
        let column = match listing.sort {
            UserSort::UserName => "u.user_name_key",
            UserSort::DisplayName => "u.display_name_key",
            UserSort::Email => "u.email_key",
            UserSort::Status => "u.status",
            UserSort::CreatedTime => "u.created_time",
            UserSort::LastLoginTime => "u.last_login_time",
        };
        let direction = if listing.descending { "DESC" } else { "ASC" };
        // SQLite puts NULLs first in ascending order and last in descending; so does this, for
        // the one column that has them (said only there: it keeps the others on their index).
        let nulls = match (listing.sort, listing.descending) {
            (UserSort::LastLoginTime, false) => "NULLS FIRST",
            (UserSort::LastLoginTime, true) => "NULLS LAST",
            _ => "",
        };
        // A unique column orders by itself; the others end with the id, as their indexes do.
        let then_id = if matches!(listing.sort, UserSort::UserName | UserSort::Email) {
            String::new()
        } else {
            format!(", u.id {direction}")
        };
        let limit = i64::from(listing.page.page_size);
        let offset = listing.page.offset() as i64;
        let mut params = params;
        params.push(&limit);
        params.push(&offset);
        // The page is chosen first and its columns computed after: PostgreSQL evaluates the
        // select list (the two-step subquery of COLUMNS) for every row it skips on the way to
        // the OFFSET, which doubled the time of a deep page.
        let order = format!("ORDER BY {column} {direction} {nulls}{then_id}");
        let sql = format!(
            "SELECT {COLUMNS} FROM (SELECT * FROM users u {condition} {order}
             LIMIT ${} OFFSET ${}) u {order}",
            params.len() - 1,
            params.len()
        );
        let mut items: Vec<User> = self.query(&sql, &params)?.iter().map(from_row).collect();
        add_memberships(self, &mut items)?;
        Ok((items, total as u64))
    }
}

//! The `api_keys` table and the SHA-256 digests of their secrets (`key_secrets`).

use super::SqliteTx;
use crate::core::model::*;
use crate::core::names::Name;
use crate::core::permission::PermissionSet;
use crate::core::Result;
use crate::rules::storage::{KeyListing, KeyRows, NewKeyRow, VerificationRow, VerifiedKeyRow};
use crate::store::{from_ms, from_ms_opt, like_pattern, to_ms};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

const COLUMNS: &str = "k.id, k.owner_id, u.user_name, k.name, k.description, k.prefix, k.status,
    k.created_time, k.created_by, k.expires_time, k.last_used_time, k.revoked_time, k.revoked_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let stored: String = r.get(6)?;
    Ok(ApiKey {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        owner_user_name: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        prefix: r.get(5)?,
        status: crate::store::stored_key_status(&stored),
        created_time: from_ms(r.get(7)?),
        created_by: r.get(8)?,
        expires_time: from_ms_opt(r.get(9)?),
        last_used_time: from_ms_opt(r.get(10)?),
        revoked_time: from_ms_opt(r.get(11)?),
        revoked_by: r.get(12)?,
    })
}

impl KeyRows for SqliteTx<'_> {
    fn find_key(&self, id: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM api_keys k JOIN users u ON u.id = k.owner_id
                 WHERE k.id = ?1"
            ))?
            .query_row([id], from_row)
            .optional()?)
    }

    fn keys_of(&self, owner_id: &str) -> Result<Vec<ApiKey>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM api_keys k JOIN users u ON u.id = k.owner_id
                 WHERE k.owner_id = ?1 ORDER BY k.created_time DESC, k.id DESC"
            ))?
            .query_map([owner_id], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn list_keys(&self, listing: &KeyListing<'_>) -> Result<(Vec<ApiKey>, u64)> {
        let mut filters = Vec::new();
        let mut values: Vec<Value> = vec![Value::Integer(to_ms(listing.at))];
        if let Some(q) = listing.search {
            values.push(Value::Text(like_pattern(q)));
            filters.push(format!(
                "(k.name_key LIKE ?{n} ESCAPE '\\' OR lower(k.prefix) LIKE ?{n} ESCAPE '\\'
                  OR u.user_name_key LIKE ?{n} ESCAPE '\\')",
                n = values.len()
            ));
        }
        if !listing.stored.is_empty() {
            let mut names = Vec::new();
            for status in listing.stored {
                values.push(Value::Text(status.as_str().to_owned()));
                names.push(format!("?{}", values.len()));
            }
            filters.push(format!("k.status IN ({})", names.join(", ")));
        }
        match listing.expired {
            Some(true) => filters.push("k.expires_time <= ?1".to_owned()),
            Some(false) => {
                filters.push("(k.expires_time IS NULL OR k.expires_time > ?1)".to_owned())
            }
            None => {}
        }
        if let Some(owner) = listing.owner {
            values.push(Value::Text(owner.to_owned()));
            filters.push(format!("k.owner_id = ?{}", values.len()));
        }
        // ?1 (the time) is bound even when no filter names it; keep the numbering valid.
        let condition = format!(
            "WHERE ?1 IS NOT NULL {}",
            filters
                .iter()
                .map(|f| format!("AND ({f})"))
                .collect::<String>()
        );
        let total: i64 = self
            .0
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM api_keys k JOIN users u ON u.id = k.owner_id {condition}"
            ))?
            .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
        values.push(Value::Integer(i64::from(listing.page.page_size)));
        values.push(Value::Integer(listing.page.offset() as i64));
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys k JOIN users u ON u.id = k.owner_id {condition}
             ORDER BY k.created_time DESC, k.id DESC LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        );
        let items = self
            .0
            .prepare_cached(&sql)?
            .query_map(params_from_iter(values.iter()), from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((items, total as u64))
    }

    fn key_name_in_use(&self, owner_id: &str, name: &Name) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE owner_id = ?1 AND name_key = ?2)",
            )?
            .query_row(params![owner_id, name.key()], |r| r.get(0))?)
    }

    fn insert_key(&self, key: &NewKeyRow<'_>) -> Result<()> {
        self.0.execute(
            "INSERT INTO api_keys (id, owner_id, name, name_key, description, status,
                                   created_time, created_by, expires_time)
             VALUES (?1, ?2, ?3, ?4, ?5, 'PENDING', ?6, ?7, ?8)",
            params![
                key.id,
                key.owner_id,
                key.name.as_str(),
                key.name.key(),
                key.description,
                to_ms(key.created_time),
                key.created_by,
                key.expires_time.map(to_ms)
            ],
        )?;
        Ok(())
    }

    fn add_key_secret(
        &self,
        key_id: &str,
        digest: &[u8; 32],
        not_after: Option<Time>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO key_secrets (hash, key_id, not_after) VALUES (?1, ?2, ?3)",
            params![&digest[..], key_id, not_after.map(to_ms)],
        )?;
        Ok(())
    }

    fn delete_key_secrets(&self, key_id: &str, only_in_grace: bool) -> Result<()> {
        let sql = if only_in_grace {
            "DELETE FROM key_secrets WHERE key_id = ?1 AND not_after IS NOT NULL"
        } else {
            "DELETE FROM key_secrets WHERE key_id = ?1"
        };
        self.0.execute(sql, [key_id])?;
        Ok(())
    }

    fn end_key_secrets_at(&self, key_id: &str, until: Time) -> Result<()> {
        self.0.execute(
            "UPDATE key_secrets SET not_after = ?2 WHERE key_id = ?1",
            params![key_id, to_ms(until)],
        )?;
        Ok(())
    }

    fn set_key_enabled(&self, key_id: &str, prefix: &str) -> Result<()> {
        self.0.execute(
            "UPDATE api_keys SET status = 'ENABLED', prefix = ?2 WHERE id = ?1",
            params![key_id, prefix],
        )?;
        Ok(())
    }

    fn set_key_revoked(&self, key_id: &str, at: Time, by: &str) -> Result<()> {
        self.0.execute(
            "UPDATE api_keys SET status = 'REVOKED', revoked_time = ?2, revoked_by = ?3
             WHERE id = ?1",
            params![key_id, to_ms(at), by],
        )?;
        Ok(())
    }

    fn verification(&self, digest: &[u8; 32]) -> Result<VerificationRow> {
        match &self.1 {
            Some(kept) => kept
                .verified
                .borrow_mut()
                .row(self.0, kept.hold, digest, || {
                    read_verification(self.0, digest)
                }),
            None => read_verification(self.0, digest),
        }
    }

    fn record_key_use(&self, key_id: &str, now: Time, unless_after: Time) -> Result<()> {
        self.0
            .prepare_cached(
                "UPDATE api_keys SET last_used_time = ?2
                 WHERE id = ?1 AND (last_used_time IS NULL OR last_used_time <= ?3)",
            )?
            .execute(params![key_id, to_ms(now), to_ms(unless_after)])?;
        Ok(())
    }
}

/// The row of [`KeyRows::verification`], read by its one statement.
fn read_verification(conn: &rusqlite::Connection, digest: &[u8; 32]) -> Result<VerificationRow> {
    // One statement: the setting, the secret, its key, the owner and the owner's role
    // masks, so that a verification is a single round of look-ups.
    let (auth_enabled, key) = conn
        .prepare_cached(
            "SELECT s.api_key_auth_enabled, ks.key_id, ks.not_after, k.status,
                    k.expires_time, k.last_used_time, k.owner_id, u.user_name, u.status,
                    (SELECT group_concat(masks.permissions) FROM (
                         SELECT r.permissions FROM user_roles ur
                         JOIN roles r ON r.id = ur.role_id
                         WHERE ur.user_id = k.owner_id
                         UNION ALL
                         SELECT r.permissions FROM group_members gm
                         JOIN group_roles gr ON gr.group_id = gm.group_id
                         JOIN roles r ON r.id = gr.role_id
                         WHERE gm.user_id = k.owner_id) AS masks)
             FROM settings s
             LEFT JOIN key_secrets ks ON ks.hash = ?1
             LEFT JOIN api_keys k ON k.id = ks.key_id
             LEFT JOIN users u ON u.id = k.owner_id
             WHERE s.id = 1",
        )?
        .query_row([&digest[..]], |r| {
            let enabled: bool = r.get(0)?;
            let key_id: Option<String> = r.get(1)?;
            let stored: Option<String> = r.get(3)?;
            let owner_id: Option<String> = r.get(6)?;
            let (Some(key_id), Some(stored), Some(owner_id)) = (key_id, stored, owner_id) else {
                return Ok((enabled, None));
            };
            let owner_status: Option<String> = r.get(8)?;
            let masks: Option<String> = r.get(9)?;
            Ok((
                enabled,
                Some(VerifiedKeyRow {
                    key_id,
                    secret_not_after: from_ms_opt(r.get(2)?),
                    stored: crate::store::stored_key_status(&stored),
                    expires_time: from_ms_opt(r.get(4)?),
                    last_used_time: from_ms_opt(r.get(5)?),
                    owner_id,
                    owner_user_name: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                    owner_status: owner_status
                        .as_deref()
                        .and_then(UserStatus::parse)
                        .unwrap_or(UserStatus::Inactive),
                    owner_grants: masks
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|mask| mask.parse::<u32>().ok())
                        .map(PermissionSet::from_bits)
                        .collect(),
                }),
            ))
        })?;
    Ok(VerificationRow { auth_enabled, key })
}

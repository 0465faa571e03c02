//! The `mail_deliveries` table, and the keys due for an expiry warning.

use super::SqliteTx;
use crate::core::model::{MailKind, MailStatus, Time};
use crate::core::Result;
use crate::rules::storage::{DeliveryRow, ExpiringKeyRow, ExpiringKeys, MailRows};
use crate::store::{from_ms, from_ms_opt, to_ms};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

const COLUMNS: &str = "id, user_id, key_id, kind, recipient, status, reason, attempts,
    created_time, updated_time, next_attempt_time, sender_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    let kind: String = r.get(3)?;
    let status: String = r.get(5)?;
    Ok(DeliveryRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        key_id: r.get(2)?,
        // The table's CHECK constraints admit only these values.
        kind: MailKind::parse(&kind).unwrap_or(MailKind::Invitation),
        recipient: r.get(4)?,
        status: MailStatus::parse(&status).unwrap_or(MailStatus::Failed),
        reason: r.get(6)?,
        attempts: r.get(7)?,
        created_time: from_ms(r.get(8)?),
        updated_time: from_ms(r.get(9)?),
        next_attempt_time: from_ms_opt(r.get(10)?),
        sender_id: r.get(11)?,
    })
}

impl MailRows for SqliteTx<'_> {
    fn insert_delivery(&self, d: &DeliveryRow) -> Result<()> {
        self.0
            .prepare_cached(&format!(
                "INSERT INTO mail_deliveries ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))?
            .execute(params![
                d.id,
                d.user_id,
                d.key_id,
                d.kind.as_str(),
                d.recipient,
                d.status.as_str(),
                d.reason,
                d.attempts,
                to_ms(d.created_time),
                to_ms(d.updated_time),
                d.next_attempt_time.map(to_ms),
                d.sender_id,
            ])?;
        Ok(())
    }

    fn find_delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM mail_deliveries WHERE id = ?1"
            ))?
            .query_row([id], from_row)
            .optional()?)
    }

    fn update_delivery(&self, d: &DeliveryRow) -> Result<()> {
        self.0
            .prepare_cached(
                "UPDATE mail_deliveries SET status = ?2, reason = ?3, attempts = ?4,
                    updated_time = ?5, next_attempt_time = ?6, sender_id = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                d.id,
                d.status.as_str(),
                d.reason,
                d.attempts,
                to_ms(d.updated_time),
                d.next_attempt_time.map(to_ms),
                d.sender_id,
            ])?;
        Ok(())
    }

    fn latest_delivery(&self, user_id: &str, kinds: &[MailKind]) -> Result<Option<DeliveryRow>> {
        let mut values = vec![Value::Text(user_id.to_owned())];
        let mut names = Vec::new();
        for kind in kinds {
            values.push(Value::Text(kind.as_str().to_owned()));
            names.push(format!("?{}", values.len()));
        }
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM mail_deliveries
                 WHERE user_id = ?1 AND kind IN ({})
                 ORDER BY created_time DESC, id DESC LIMIT 1",
                names.join(", ")
            ))?
            .query_row(params_from_iter(values), from_row)
            .optional()?)
    }

    fn beat(&self, sender_id: &str, alive_until: Time) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO mail_senders (id, alive_until) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
            )?
            .execute(params![sender_id, to_ms(alive_until)])?;
        Ok(())
    }

    fn forget_senders(&self, sender_id: Option<&str>, now: Time) -> Result<()> {
        self.0
            .prepare_cached("DELETE FROM mail_senders WHERE id = ?1 OR alive_until < ?2")?
            .execute(params![sender_id, to_ms(now)])?;
        Ok(())
    }

    fn abandoned_deliveries(&self, now: Time, limit: u32) -> Result<Vec<DeliveryRow>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM mail_deliveries d
                 WHERE d.next_attempt_time IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM mail_senders s
                                   WHERE s.id = d.sender_id AND s.alive_until >= ?1)
                 ORDER BY d.next_attempt_time, d.id LIMIT ?2"
            ))?
            .query_map(params![to_ms(now), limit], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn expiring_keys(&self, q: &ExpiringKeys) -> Result<Vec<ExpiringKeyRow>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT k.id, k.name, k.prefix, k.expires_time, u.id, u.user_name,
                        u.display_name, u.email
                 FROM api_keys k JOIN users u ON u.id = k.owner_id
                 WHERE k.status = ?6 AND k.expires_time IS NOT NULL
                   AND k.expires_time > ?1 AND k.expires_time <= ?2
                   AND k.expires_time - k.created_time > ?3
                   AND u.status = ?7
                   AND NOT EXISTS (SELECT 1 FROM mail_deliveries d
                                   WHERE d.key_id = k.id AND d.kind = ?4)
                 ORDER BY k.expires_time, k.id LIMIT ?5",
            )?
            .query_map(
                params![
                    to_ms(q.expires_after),
                    to_ms(q.expires_by),
                    q.lifetime_over_ms,
                    q.kind.as_str(),
                    q.limit,
                    q.key_status.as_str(),
                    q.owner_status.as_str(),
                ],
                |r| {
                    Ok(ExpiringKeyRow {
                        key_id: r.get(0)?,
                        key_name: r.get(1)?,
                        prefix: r.get(2)?,
                        expires_time: from_ms(r.get(3)?),
                        owner_id: r.get(4)?,
                        owner_user_name: r.get(5)?,
                        owner_display_name: r.get(6)?,
                        owner_email: r.get(7)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

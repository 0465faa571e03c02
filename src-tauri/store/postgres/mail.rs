//! The `mail_deliveries` table, and the keys due for an expiry warning.

use super::PgTx;
use crate::core::model::{MailKind, MailStatus, Time};
use crate::core::Result;
use crate::rules::storage::{DeliveryRow, ExpiringKeyRow, ExpiringKeys, MailRows};
use crate::store::{from_ms, from_ms_opt, to_ms};
use postgres::Row;

const COLUMNS: &str = "id, user_id, key_id, kind, recipient, status, reason, attempts,
    created_time, updated_time, next_attempt_time, sender_id";

fn count(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn from_row(r: &Row) -> DeliveryRow {
    DeliveryRow {
        id: r.get(0),
        user_id: r.get(1),
        key_id: r.get(2),
        // The table's CHECK constraints admit only these values.
        kind: MailKind::parse(r.get(3)).unwrap_or(MailKind::Invitation),
        recipient: r.get(4),
        status: MailStatus::parse(r.get(5)).unwrap_or(MailStatus::Failed),
        reason: r.get(6),
        attempts: u32::try_from(r.get::<_, i32>(7)).unwrap_or(0),
        created_time: from_ms(r.get(8)),
        updated_time: from_ms(r.get(9)),
        next_attempt_time: from_ms_opt(r.get(10)),
        sender_id: r.get(11),
    }
}

impl MailRows for PgTx<'_> {
    fn insert_delivery(&self, d: &DeliveryRow) -> Result<()> {
        self.execute(
            &format!(
                "INSERT INTO mail_deliveries ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &[
                &d.id,
                &d.user_id,
                &d.key_id,
                &d.kind.as_str(),
                &d.recipient,
                &d.status.as_str(),
                &d.reason,
                &count(d.attempts),
                &to_ms(d.created_time),
                &to_ms(d.updated_time),
                &d.next_attempt_time.map(to_ms),
                &d.sender_id,
            ],
        )?;
        Ok(())
    }

    fn find_delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        Ok(self
            .query_opt(
                &format!("SELECT {COLUMNS} FROM mail_deliveries WHERE id = $1"),
                &[&id],
            )?
            .map(|r| from_row(&r)))
    }

    fn update_delivery(&self, d: &DeliveryRow) -> Result<()> {
        self.execute(
            "UPDATE mail_deliveries SET status = $2, reason = $3, attempts = $4,
                updated_time = $5, next_attempt_time = $6, sender_id = $7
             WHERE id = $1",
            &[
                &d.id,
                &d.status.as_str(),
                &d.reason,
                &count(d.attempts),
                &to_ms(d.updated_time),
                &d.next_attempt_time.map(to_ms),
                &d.sender_id,
            ],
        )?;
        Ok(())
    }

    fn latest_delivery(&self, user_id: &str, kinds: &[MailKind]) -> Result<Option<DeliveryRow>> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Ok(self
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM mail_deliveries
                     WHERE user_id = $1 AND kind = ANY($2)
                     ORDER BY created_time DESC, id DESC LIMIT 1"
                ),
                &[&user_id, &kinds],
            )?
            .map(|r| from_row(&r)))
    }

    fn beat(&self, sender_id: &str, alive_until: Time) -> Result<()> {
        self.execute(
            "INSERT INTO mail_senders (id, alive_until) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
            &[&sender_id, &to_ms(alive_until)],
        )?;
        Ok(())
    }

    fn forget_senders(&self, sender_id: Option<&str>, now: Time) -> Result<()> {
        self.execute(
            "DELETE FROM mail_senders WHERE id = $1 OR alive_until < $2",
            &[&sender_id, &to_ms(now)],
        )?;
        Ok(())
    }

    fn abandoned_deliveries(&self, now: Time, limit: u32) -> Result<Vec<DeliveryRow>> {
        Ok(self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM mail_deliveries d
                     WHERE d.next_attempt_time IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM mail_senders s
                                       WHERE s.id = d.sender_id AND s.alive_until >= $1)
                     ORDER BY d.next_attempt_time, d.id LIMIT $2"
                ),
                &[&to_ms(now), &i64::from(limit)],
            )?
            .iter()
            .map(from_row)
            .collect())
    }

    fn expiring_keys(&self, q: &ExpiringKeys) -> Result<Vec<ExpiringKeyRow>> {
        Ok(self
            .query(
                "SELECT k.id, k.name, k.prefix, k.expires_time, u.id, u.user_name,
                        u.display_name, u.email
                 FROM api_keys k JOIN users u ON u.id = k.owner_id
                 WHERE k.status = $6 AND k.expires_time IS NOT NULL
                   AND k.expires_time > $1 AND k.expires_time <= $2
                   AND k.expires_time - k.created_time > $3
                   AND u.status = $7
                   AND NOT EXISTS (SELECT 1 FROM mail_deliveries d
                                   WHERE d.key_id = k.id AND d.kind = $4)
                 ORDER BY k.expires_time, k.id LIMIT $5",
                &[
                    &to_ms(q.expires_after),
                    &to_ms(q.expires_by),
                    &q.lifetime_over_ms,
                    &q.kind.as_str(),
                    &i64::from(q.limit),
                    &q.key_status.as_str(),
                    &q.owner_status.as_str(),
                ],
            )?
            .iter()
            .map(|r| ExpiringKeyRow {
                key_id: r.get(0),
                key_name: r.get(1),
                prefix: r.get(2),
                expires_time: from_ms(r.get(3)),
                owner_id: r.get(4),
                owner_user_name: r.get(5),
                owner_display_name: r.get(6),
                owner_email: r.get(7),
            })
            .collect())
    }
}

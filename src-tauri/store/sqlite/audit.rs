//! The append-only `audit_log` table: it refuses UPDATE and DELETE by trigger.

use super::SqliteTx;
use crate::core::model::{AuditEntry, Outcome};
use crate::core::Result;
use crate::rules::storage::{AuditListing, AuditRecord, AuditRows};
use crate::store::{from_ms, to_ms};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};

impl AuditRows for SqliteTx<'_> {
    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        let conn = self.0;
        let outcome = match record.outcome {
            Outcome::Success => "SUCCESS",
            Outcome::Denied => "DENIED",
            Outcome::Failure => "FAILURE",
        };
        conn.prepare_cached(
            "INSERT INTO audit_log (time, actor_id, actor_name, action, target_type, target_id,
                                target_name, outcome, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            to_ms(record.time),
            record.actor_id,
            record.actor_name,
            record.action,
            record.target_type,
            record.target_id,
            record.target_name,
            outcome,
            record.detail,
        ])?;
        Ok(())
    }

    fn list_audit(&self, listing: &AuditListing<'_>) -> Result<(Vec<AuditEntry>, u64)> {
        let conn = self.0;
        let mut filters = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(who) = listing.actor {
            values.push(Value::Text(who.to_owned()));
            filters.push(format!(
                "(actor_name = ?{n} COLLATE NOCASE OR actor_id = ?{n})",
                n = values.len()
            ));
        }
        if let Some(action) = listing.action {
            values.push(Value::Text(action.to_owned()));
            let exact = values.len();
            values.push(Value::Text(format!("{action}.")));
            filters.push(format!(
                "(action = ?{exact} OR substr(action, 1, length(?{prefix})) = ?{prefix})",
                prefix = values.len()
            ));
        }
        if let Some(since) = listing.since {
            values.push(Value::Integer(to_ms(since)));
            filters.push(format!("time >= ?{}", values.len()));
        }
        let condition = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let total: u64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM audit_log {condition}"),
            params_from_iter(values.iter()),
            |r| r.get::<_, i64>(0),
        )? as u64;
        values.push(Value::Integer(i64::from(listing.page.page_size)));
        values.push(Value::Integer(listing.page.offset() as i64));
        let sql = format!(
            "SELECT id, time, actor_id, actor_name, action, target_type, target_id, target_name,
                outcome, detail
         FROM audit_log {condition} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let items = statement
            .query_map(params_from_iter(values.iter()), |r| {
                let outcome: String = r.get(8)?;
                Ok(AuditEntry {
                    id: r.get(0)?,
                    time: from_ms(r.get(1)?),
                    actor_id: r.get(2)?,
                    actor_name: r.get(3)?,
                    action: r.get(4)?,
                    target_type: r.get(5)?,
                    target_id: r.get(6)?,
                    target_name: r.get(7)?,
                    outcome: match outcome.as_str() {
                        "SUCCESS" => Outcome::Success,
                        "DENIED" => Outcome::Denied,
                        _ => Outcome::Failure,
                    },
                    detail: r.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((items, total))
    }
}

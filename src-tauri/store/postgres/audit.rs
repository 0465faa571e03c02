//! The append-only `audit_log` table: it refuses UPDATE, DELETE and TRUNCATE by trigger.

use super::PgTx;
use crate::core::model::{AuditEntry, Outcome};
use crate::core::Result;
use crate::rules::storage::{AuditListing, AuditRecord, AuditRows};
use crate::store::{from_ms, to_ms};
use postgres::types::ToSql;

impl AuditRows for PgTx<'_> {
    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        let outcome = match record.outcome {
            Outcome::Success => "SUCCESS",
            Outcome::Denied => "DENIED",
            Outcome::Failure => "FAILURE",
        };
        self.execute(
            "INSERT INTO audit_log (time, actor_id, actor_name, action, target_type, target_id,
                                    target_name, outcome, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &to_ms(record.time),
                &record.actor_id,
                &record.actor_name,
                &record.action,
                &record.target_type,
                &record.target_id,
                &record.target_name,
                &outcome,
                &record.detail,
            ],
        )?;
        Ok(())
    }

    fn list_audit(&self, listing: &AuditListing<'_>) -> Result<(Vec<AuditEntry>, u64)> {
        let mut filters = Vec::new();
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(who) = listing.actor {
            values.push(Box::new(who.to_owned()));
            filters.push(format!(
                // ASCII case only, as SQLite's NOCASE: both stores find the same entries.
                "(lower(actor_name COLLATE \"C\") = lower(${n} COLLATE \"C\") OR actor_id = ${n})",
                n = values.len()
            ));
        }
        if let Some(action) = listing.action {
            values.push(Box::new(action.to_owned()));
            let exact = values.len();
            values.push(Box::new(format!("{action}.")));
            filters.push(format!(
                "(action = ${exact} OR starts_with(action, ${prefix}))",
                prefix = values.len()
            ));
        }
        if let Some(since) = listing.since {
            values.push(Box::new(to_ms(since)));
            filters.push(format!("time >= ${}", values.len()));
        }
        let condition = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let mut params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        let total: i64 = self
            .query_one(
                &format!("SELECT COUNT(*) FROM audit_log {condition}"),
                &params,
            )?
            .get(0);
        let limit = i64::from(listing.page.page_size);
        let offset = listing.page.offset() as i64;
        params.push(&limit);
        params.push(&offset);
        let sql = format!(
            "SELECT id, time, actor_id, actor_name, action, target_type, target_id, target_name,
                    outcome, detail
             FROM audit_log {condition} ORDER BY id DESC LIMIT ${} OFFSET ${}",
            params.len() - 1,
            params.len()
        );
        let items = self
            .query(&sql, &params)?
            .iter()
            .map(|r| {
                let outcome: &str = r.get(8);
                AuditEntry {
                    id: r.get(0),
                    time: from_ms(r.get(1)),
                    actor_id: r.get(2),
                    actor_name: r.get(3),
                    action: r.get(4),
                    target_type: r.get(5),
                    target_id: r.get(6),
                    target_name: r.get(7),
                    outcome: match outcome {
                        "SUCCESS" => Outcome::Success,
                        "DENIED" => Outcome::Denied,
                        _ => Outcome::Failure,
                    },
                    detail: r.get(9),
                }
            })
            .collect();
        Ok((items, total as u64))
    }
}

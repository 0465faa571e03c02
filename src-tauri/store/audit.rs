//! The append-only audit log: who did what to which target, when, and how it ended. The table
//! refuses UPDATE and DELETE by trigger; nothing here writes a secret, only names and ids.

use super::{from_ms, to_ms};
use crate::core::access::Actor;
use crate::core::model::{AuditEntry, AuditQuery, Outcome, Page, PageRequest, Time};
use crate::core::permission::Permission;
use crate::core::Result;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

/// One entry to append.
pub(super) struct Record {
    time: Time,
    actor_id: Option<String>,
    actor_name: Option<String>,
    action: &'static str,
    target_type: Option<&'static str>,
    target_id: Option<String>,
    target_name: Option<String>,
    outcome: Outcome,
    detail: Option<String>,
}

impl Record {
    pub fn by(actor: &Actor, time: Time, action: &'static str) -> Record {
        Record::by_user(&actor.id, &actor.user_name, time, action)
    }

    pub fn by_user(id: &str, name: &str, time: Time, action: &'static str) -> Record {
        Record {
            time,
            actor_id: Some(id.to_owned()),
            actor_name: Some(name.to_owned()),
            action,
            target_type: None,
            target_id: None,
            target_name: None,
            outcome: Outcome::Success,
            detail: None,
        }
    }

    pub fn target(mut self, kind: &'static str, id: &str, name: &str) -> Record {
        self.target_type = Some(kind);
        self.target_id = Some(id.to_owned());
        self.target_name = Some(name.to_owned());
        self
    }

    pub fn target_id(mut self, id: Option<&str>) -> Record {
        self.target_id = id.map(str::to_owned);
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Record {
        self.outcome = outcome;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Record {
        self.detail = Some(detail.into());
        self
    }

    pub fn append(self, conn: &Connection) -> Result<()> {
        append(conn, &self)
    }
}

pub(super) fn append(conn: &Connection, record: &Record) -> Result<()> {
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

pub(super) fn list(
    conn: &Connection,
    actor: &Actor,
    query: &AuditQuery,
) -> Result<Page<AuditEntry>> {
    actor.require(Permission::VIEW_AUDIT)?;
    let paging = PageRequest::parse(query.page, query.page_size)?;
    let mut filters = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(who) = query
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        values.push(Value::Text(who.to_owned()));
        filters.push(format!(
            "(actor_name = ?{n} COLLATE NOCASE OR actor_id = ?{n})",
            n = values.len()
        ));
    }
    if let Some(action) = query
        .action
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        values.push(Value::Text(action.to_owned()));
        let exact = values.len();
        values.push(Value::Text(format!("{action}.")));
        filters.push(format!(
            "(action = ?{exact} OR substr(action, 1, length(?{prefix})) = ?{prefix})",
            prefix = values.len()
        ));
    }
    if let Some(since) = query.since {
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
    values.push(Value::Integer(i64::from(paging.page_size)));
    values.push(Value::Integer(paging.offset() as i64));
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
    Ok(Page {
        items,
        page_info: paging.info(total),
    })
}

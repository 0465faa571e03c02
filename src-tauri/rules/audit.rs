//! The audit log: who did what to which target, when, and how it ended. Entries are built
//! here, from names and ids only (never a secret), and appended in the transaction of the
//! change they record.

use super::storage::{AuditListing, AuditRecord, Tx};
use crate::core::access::Actor;
use crate::core::model::{AuditEntry, AuditQuery, Outcome, Page, PageRequest, Time};
use crate::core::permission::Permission;
use crate::core::Result;

/// One entry to append.
pub(super) struct Record(AuditRecord);

impl Record {
    pub fn by(actor: &Actor, time: Time, action: &'static str) -> Record {
        Record::by_user(&actor.id, &actor.user_name, time, action)
    }

    fn by_user(id: &str, name: &str, time: Time, action: &'static str) -> Record {
        Record::new(Some((id, name)), time, action)
    }

    /// An entry of a user about their own account (signing in, setting a password, a second
    /// step): they are both the actor and the target.
    pub fn about_oneself(id: &str, name: &str, time: Time, action: &'static str) -> Record {
        Record::by_user(id, name, time, action).target("user", id, name)
    }

    /// An entry for what the directory does by itself (sending e-mail), acting for nobody.
    pub fn by_system(time: Time, action: &'static str) -> Record {
        Record::new(None, time, action)
    }

    fn new(actor: Option<(&str, &str)>, time: Time, action: &'static str) -> Record {
        Record(AuditRecord {
            time,
            actor_id: actor.map(|(id, _)| id.to_owned()),
            actor_name: actor.map(|(_, name)| name.to_owned()),
            action,
            target_type: None,
            target_id: None,
            target_name: None,
            outcome: Outcome::Success,
            detail: None,
        })
    }

    pub fn target(mut self, kind: &'static str, id: &str, name: &str) -> Record {
        self.0.target_type = Some(kind);
        self.0.target_id = Some(id.to_owned());
        self.0.target_name = Some(name.to_owned());
        self
    }

    pub fn target_id(mut self, id: Option<&str>) -> Record {
        self.0.target_id = id.map(str::to_owned);
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Record {
        self.0.outcome = outcome;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Record {
        self.0.detail = Some(detail.into());
        self
    }

    pub fn append(self, tx: &dyn Tx) -> Result<()> {
        tx.append_audit(&self.0)
    }
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn list(tx: &dyn Tx, actor: &Actor, query: &AuditQuery) -> Result<Page<AuditEntry>> {
    actor.require(Permission::VIEW_AUDIT)?;
    let page = PageRequest::parse(query.page, query.page_size)?;
    let (items, total) = tx.list_audit(&AuditListing {
        actor: non_blank(query.actor.as_deref()),
        action: non_blank(query.action.as_deref()),
        since: query.since,
        page,
    })?;
    Ok(Page {
        items,
        page_info: page.info(total),
    })
}

//! The one settings object: readable by console users and MANAGE_SETTINGS, changed only with
//! MANAGE_SETTINGS, each value within its range (`core::settings`).

use super::audit::Record;
use super::grants;
use super::storage::Tx;
use crate::core::access::Actor;
use crate::core::lifecycle::same_version;
use crate::core::mail::Outgoing;
use crate::core::model::{
    Credential, MailSetup, MailTest, Outcome, Settings, SettingsUpdate, Time,
};
use crate::core::names::Email;
use crate::core::permission::Permission;
use crate::core::Error;
use crate::core::Result;

pub(super) fn get(tx: &dyn Tx, actor: &Actor) -> Result<Settings> {
    // Console users read them (the UI needs e.g. the clipboard delay); accounts that only use
    // API keys see nothing but their keys.
    if !actor.permissions.contains(Permission::MANAGE_SETTINGS) {
        actor.require(Permission::SIGN_IN)?;
    }
    tx.settings()
}

/// May the actor change the settings?
pub(super) fn may_update(actor: &Actor) -> Result<()> {
    actor.require(Permission::MANAGE_SETTINGS)
}

pub(super) fn update(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    update: &SettingsUpdate,
) -> Result<Settings> {
    may_update(actor)?;
    let current = tx.settings()?;
    same_version(update.update_version, current.update_version, "settings")?;
    let next = current.updated(update)?;
    // A mapped group's roles go to whoever the provider says is in it: mapping a group takes
    // what adding a member to it takes.
    let added: Vec<String> = next
        .provider_groups
        .iter()
        .filter(|line| !current.provider_groups.contains(line))
        .map(|line| line.group_id.clone())
        .collect();
    let (permissions, super_admin) = grants::of_groups(tx, &added, "providerGroups")?;
    actor.may_grant(permissions, super_admin)?;
    tx.save_settings(&next)?;
    Record::by(actor, now, "settings.update")
        .detail(format!(
            "changed: {}",
            current.changed_fields(&next).join(", ")
        ))
        .append(tx)?;
    Ok(next)
}

/// Whether e-mail is configured, for those who may read the settings.
pub(super) fn mail_setup<S: crate::rules::Store>(
    dir: &super::StoredDirectory<S>,
    credential: &Credential,
) -> Result<MailSetup> {
    dir.read(credential, |tx, actor, _| get(tx, actor).map(drop))?;
    Ok(MailSetup {
        configured: dir.mailer().is_some(),
        description: dir.mailer().map(|m| m.describe()),
    })
}

/// A test message to `to` (else the actor's own address), sent outside any transaction; the
/// attempt is audited with its recipient and outcome, never its text.
pub(super) fn send_test_mail<S: crate::rules::Store>(
    dir: &super::StoredDirectory<S>,
    credential: &Credential,
    to: Option<&str>,
) -> Result<MailTest> {
    let (actor, to) = dir.read(credential, |tx, actor, _| {
        may_update(actor)?;
        let to = match to.map(str::trim).filter(|t| !t.is_empty()) {
            Some(to) => Email::parse(to)
                .map_err(|m| Error::invalid("to", m))?
                .into_string(),
            None => super::users::load(tx, &actor.id)?.email,
        };
        Ok((actor.clone(), to))
    })?;
    let mailer = dir.mailer().ok_or_else(|| {
        Error::StateConflict(
            "E-mail is not configured on this server: start keyward serve with --smtp-url and \
             --mail-from."
                .to_owned(),
        )
    })?;
    let sent = mailer.send(&Outgoing {
        to: to.clone(),
        subject: "Keyward test message".to_owned(),
        text: format!(
            "This is a test message from Keyward, sent by {} to check that e-mail works.\n",
            actor.user_name
        ),
        html: format!(
            "<p>This is a test message from Keyward, sent by {} to check that e-mail works.</p>",
            actor.user_name
        ),
    });
    let (delivered, answer) = match sent {
        Ok(answer) => (true, answer),
        Err(undelivered) => (false, undelivered.reason),
    };
    dir.write(|tx, now| {
        Record::by(&actor, now, "mail.test")
            .outcome(if delivered {
                Outcome::Success
            } else {
                Outcome::Failure
            })
            .detail(format!("to: {to}, via {}", mailer.describe()))
            .append(tx)
    })?;
    Ok(MailTest {
        to,
        delivered,
        answer,
    })
}

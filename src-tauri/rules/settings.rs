//! The one settings object: readable by console users and MANAGE_SETTINGS, changed only with
//! MANAGE_SETTINGS, each value within its range (`core::settings`).

use super::audit::Record;
use super::storage::Tx;
use crate::core::access::Actor;
use crate::core::lifecycle::same_version;
use crate::core::model::{Settings, SettingsUpdate, Time};
use crate::core::permission::Permission;
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
    tx.save_settings(&next)?;
    Record::by(actor, now, "settings.update")
        .detail(format!(
            "changed: {}",
            current.changed_fields(&next).join(", ")
        ))
        .append(tx)?;
    Ok(next)
}

//! The one settings row: defaults from SPEC section 2, changed only with MANAGE_SETTINGS.

use super::audit::Record;
use crate::core::access::Actor;
use crate::core::model::{Settings, SettingsUpdate, Time};
use crate::core::password::{MAX_LENGTH, MIN_LENGTH_FLOOR};
use crate::core::permission::Permission;
use crate::core::{Error, FieldErrors, Result};
use rusqlite::{params, Connection};

pub(super) fn load(conn: &Connection) -> Result<Settings> {
    Ok(conn
        .prepare_cached(
            "SELECT api_key_auth_enabled, max_key_lifetime_days, password_min_length,
                    clipboard_clear_seconds, session_lifetime_minutes, lockout_threshold,
                    update_version
             FROM settings WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok(Settings {
                api_key_auth_enabled: r.get(0)?,
                max_key_lifetime_days: r.get(1)?,
                password_min_length: r.get(2)?,
                clipboard_clear_seconds: r.get(3)?,
                session_lifetime_minutes: r.get(4)?,
                lockout_threshold: r.get(5)?,
                update_version: r.get(6)?,
            })
        })?)
}

fn within(errors: &mut FieldErrors, field: &str, value: u32, min: u32, max: u32) {
    if !(min..=max).contains(&value) {
        errors.add(field, format!("Choose a value from {min} to {max}."));
    }
}

pub(super) fn update(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    update: SettingsUpdate,
) -> Result<Settings> {
    actor.require(Permission::MANAGE_SETTINGS)?;
    let current = load(conn)?;
    if update.update_version != current.update_version {
        return Err(Error::VersionConflict("settings"));
    }
    let next = Settings {
        api_key_auth_enabled: update
            .api_key_auth_enabled
            .unwrap_or(current.api_key_auth_enabled),
        max_key_lifetime_days: update
            .max_key_lifetime_days
            .unwrap_or(current.max_key_lifetime_days),
        password_min_length: update
            .password_min_length
            .unwrap_or(current.password_min_length),
        clipboard_clear_seconds: update
            .clipboard_clear_seconds
            .unwrap_or(current.clipboard_clear_seconds),
        session_lifetime_minutes: update
            .session_lifetime_minutes
            .unwrap_or(current.session_lifetime_minutes),
        lockout_threshold: update
            .lockout_threshold
            .unwrap_or(current.lockout_threshold),
        update_version: current.update_version + 1,
    };
    let mut errors = FieldErrors::new();
    if let Some(days) = next.max_key_lifetime_days {
        within(&mut errors, "maxKeyLifetimeDays", days, 1, 3650);
    }
    within(
        &mut errors,
        "passwordMinLength",
        next.password_min_length,
        MIN_LENGTH_FLOOR,
        MAX_LENGTH as u32,
    );
    within(
        &mut errors,
        "clipboardClearSeconds",
        next.clipboard_clear_seconds,
        0,
        3600,
    );
    within(
        &mut errors,
        "sessionLifetimeMinutes",
        next.session_lifetime_minutes,
        5,
        43_200,
    );
    within(
        &mut errors,
        "lockoutThreshold",
        next.lockout_threshold,
        1,
        100,
    );
    errors.into_result()?;
    conn.execute(
        "UPDATE settings SET api_key_auth_enabled = ?1, max_key_lifetime_days = ?2,
                password_min_length = ?3, clipboard_clear_seconds = ?4,
                session_lifetime_minutes = ?5, lockout_threshold = ?6, update_version = ?7
         WHERE id = 1",
        params![
            next.api_key_auth_enabled,
            next.max_key_lifetime_days,
            next.password_min_length,
            next.clipboard_clear_seconds,
            next.session_lifetime_minutes,
            next.lockout_threshold,
            next.update_version,
        ],
    )?;
    let changed = changed_fields(&current, &next);
    Record::by(actor, now, "settings.update")
        .detail(format!("changed: {}", changed.join(", ")))
        .append(conn)?;
    Ok(next)
}

fn changed_fields(a: &Settings, b: &Settings) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            changed.push(name)
        }
    };
    check(
        "apiKeyAuthEnabled",
        a.api_key_auth_enabled != b.api_key_auth_enabled,
    );
    check(
        "maxKeyLifetimeDays",
        a.max_key_lifetime_days != b.max_key_lifetime_days,
    );
    check(
        "passwordMinLength",
        a.password_min_length != b.password_min_length,
    );
    check(
        "clipboardClearSeconds",
        a.clipboard_clear_seconds != b.clipboard_clear_seconds,
    );
    check(
        "sessionLifetimeMinutes",
        a.session_lifetime_minutes != b.session_lifetime_minutes,
    );
    check(
        "lockoutThreshold",
        a.lockout_threshold != b.lockout_threshold,
    );
    changed
}

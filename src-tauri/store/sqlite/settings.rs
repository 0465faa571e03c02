//! The one settings row (its defaults are in the first migration).

use super::SqliteTx;
use crate::core::model::{ProviderGroup, SecondFactorPolicy, Settings};
use crate::core::Result;
use crate::rules::storage::SettingsRows;
use rusqlite::params;

impl SettingsRows for SqliteTx<'_> {
    fn settings(&self) -> Result<Settings> {
        let mut settings = self
            .0
            .prepare_cached(
                "SELECT api_key_auth_enabled, max_key_lifetime_days, password_min_length,
                    clipboard_clear_seconds, session_lifetime_minutes, lockout_threshold,
                    update_version, second_factor
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
                    second_factor: SecondFactorPolicy::parse(&r.get::<_, String>(7)?)
                        .unwrap_or_default(),
                    provider_groups: Vec::new(),
                })
            })?;
        settings.provider_groups = self
            .0
            .prepare_cached("SELECT claim, group_id FROM provider_groups ORDER BY claim, group_id")?
            .query_map([], |r| {
                Ok(ProviderGroup {
                    claim: r.get(0)?,
                    group_id: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(settings)
    }

    fn save_settings(&self, next: &Settings) -> Result<()> {
        self.0.execute(
            "UPDATE settings SET api_key_auth_enabled = ?1, max_key_lifetime_days = ?2,
                    password_min_length = ?3, clipboard_clear_seconds = ?4,
                    session_lifetime_minutes = ?5, lockout_threshold = ?6, update_version = ?7,
                    second_factor = ?8
             WHERE id = 1",
            params![
                next.api_key_auth_enabled,
                next.max_key_lifetime_days,
                next.password_min_length,
                next.clipboard_clear_seconds,
                next.session_lifetime_minutes,
                next.lockout_threshold,
                next.update_version,
                next.second_factor.as_str(),
            ],
        )?;
        self.0.execute("DELETE FROM provider_groups", [])?;
        let mut insert = self
            .0
            .prepare_cached("INSERT INTO provider_groups (claim, group_id) VALUES (?1, ?2)")?;
        for line in &next.provider_groups {
            insert.execute(params![line.claim, line.group_id])?;
        }
        Ok(())
    }
}

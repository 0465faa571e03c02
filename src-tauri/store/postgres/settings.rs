//! The one settings row (its defaults are in the first migration).

use super::PgTx;
use crate::core::model::{ProviderGroup, SecondFactorPolicy, Settings};
use crate::core::Result;
use crate::rules::storage::SettingsRows;

fn unsigned(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn signed(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl SettingsRows for PgTx<'_> {
    fn settings(&self) -> Result<Settings> {
        let r = self.query_one(
            "SELECT api_key_auth_enabled, max_key_lifetime_days, password_min_length,
                    clipboard_clear_seconds, session_lifetime_minutes, lockout_threshold,
                    update_version, second_factor
             FROM settings WHERE id = 1",
            &[],
        )?;
        Ok(Settings {
            api_key_auth_enabled: r.get(0),
            max_key_lifetime_days: r.get::<_, Option<i32>>(1).map(unsigned),
            password_min_length: unsigned(r.get(2)),
            clipboard_clear_seconds: unsigned(r.get(3)),
            session_lifetime_minutes: unsigned(r.get(4)),
            lockout_threshold: unsigned(r.get(5)),
            update_version: r.get(6),
            second_factor: SecondFactorPolicy::parse(r.get(7)).unwrap_or_default(),
            provider_groups: self
                .query(
                    "SELECT claim, group_id FROM provider_groups ORDER BY claim, group_id",
                    &[],
                )?
                .iter()
                .map(|r| ProviderGroup {
                    claim: r.get(0),
                    group_id: r.get(1),
                })
                .collect(),
        })
    }

    fn save_settings(&self, next: &Settings) -> Result<()> {
        self.execute(
            "UPDATE settings SET api_key_auth_enabled = $1, max_key_lifetime_days = $2,
                    password_min_length = $3, clipboard_clear_seconds = $4,
                    session_lifetime_minutes = $5, lockout_threshold = $6, update_version = $7,
                    second_factor = $8
             WHERE id = 1",
            &[
                &next.api_key_auth_enabled,
                &next.max_key_lifetime_days.map(signed),
                &signed(next.password_min_length),
                &signed(next.clipboard_clear_seconds),
                &signed(next.session_lifetime_minutes),
                &signed(next.lockout_threshold),
                &next.update_version,
                &next.second_factor.as_str(),
            ],
        )?;
        self.execute("DELETE FROM provider_groups", &[])?;
        for line in &next.provider_groups {
            self.execute(
                "INSERT INTO provider_groups (claim, group_id) VALUES ($1, $2)",
                &[&line.claim, &line.group_id],
            )?;
        }
        Ok(())
    }
}

//! The settings of SPEC section 2: how a change applies to the current settings, and the
//! range each value must stay in.

use super::error::{FieldErrors, Result};
use super::model::{ProviderGroup, Settings, SettingsUpdate};
use super::password::{MAX_LENGTH, MIN_LENGTH_FLOOR};

/// The mapping's lines trimmed, sorted, without repeats.
fn normalized(lines: &[ProviderGroup]) -> Vec<ProviderGroup> {
    lines
        .iter()
        .map(|line| ProviderGroup {
            claim: line.claim.trim().to_owned(),
            group_id: line.group_id.trim().to_owned(),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

impl Settings {
    /// The settings after `update` (only the fields given change), with the next version;
    /// every value out of its range is refused on its field. The version check is the
    /// caller's: it needs the stored version.
    pub fn updated(&self, update: &SettingsUpdate) -> Result<Settings> {
        let next = Settings {
            api_key_auth_enabled: update
                .api_key_auth_enabled
                .unwrap_or(self.api_key_auth_enabled),
            max_key_lifetime_days: update
                .max_key_lifetime_days
                .unwrap_or(self.max_key_lifetime_days),
            password_min_length: update
                .password_min_length
                .unwrap_or(self.password_min_length),
            clipboard_clear_seconds: update
                .clipboard_clear_seconds
                .unwrap_or(self.clipboard_clear_seconds),
            session_lifetime_minutes: update
                .session_lifetime_minutes
                .unwrap_or(self.session_lifetime_minutes),
            lockout_threshold: update.lockout_threshold.unwrap_or(self.lockout_threshold),
            second_factor: update.second_factor.unwrap_or(self.second_factor),
            provider_groups: match &update.provider_groups {
                Some(lines) => normalized(lines),
                None => self.provider_groups.clone(),
            },
            update_version: self.update_version + 1,
        };
        let mut errors = FieldErrors::new();
        for line in &next.provider_groups {
            if line.claim.is_empty() || line.claim.chars().count() > 256 {
                errors.add(
                    "providerGroups",
                    "Each line needs the provider's group (1 to 256 characters).",
                );
            }
            if line.group_id.is_empty() {
                errors.add("providerGroups", "Each line needs a Keyward group.");
            }
        }
        for (field, value, (min, max)) in next.ranged() {
            let Some(value) = value else { continue };
            if !(min..=max).contains(&value) {
                errors.add(field, format!("Choose a value from {min} to {max}."));
            }
        }
        errors.into_result()?;
        Ok(next)
    }

    /// The JSON names of the settings that differ between `self` and `other`.
    pub fn changed_fields(&self, other: &Settings) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.api_key_auth_enabled != other.api_key_auth_enabled {
            changed.push("apiKeyAuthEnabled");
        }
        if self.second_factor != other.second_factor {
            changed.push("secondFactor");
        }
        if self.provider_groups != other.provider_groups {
            changed.push("providerGroups");
        }
        for ((field, a, _), (_, b, _)) in self.ranged().into_iter().zip(other.ranged()) {
            if a != b {
                changed.push(field);
            }
        }
        changed
    }

    /// The settings that have a range: JSON name, value (`None`: no cap on key lifetimes)
    /// and the allowed range.
    fn ranged(&self) -> [(&'static str, Option<u32>, (u32, u32)); 5] {
        [
            ("maxKeyLifetimeDays", self.max_key_lifetime_days, (1, 3650)),
            (
                "passwordMinLength",
                Some(self.password_min_length),
                (MIN_LENGTH_FLOOR, MAX_LENGTH as u32),
            ),
            (
                "clipboardClearSeconds",
                Some(self.clipboard_clear_seconds),
                (0, 3600),
            ),
            (
                "sessionLifetimeMinutes",
                Some(self.session_lifetime_minutes),
                (5, 43_200),
            ),
            ("lockoutThreshold", Some(self.lockout_threshold), (1, 100)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Error;

    fn defaults() -> Settings {
        Settings {
            api_key_auth_enabled: true,
            max_key_lifetime_days: None,
            password_min_length: 15,
            clipboard_clear_seconds: 30,
            session_lifetime_minutes: 720,
            lockout_threshold: 5,
            second_factor: Default::default(),
            provider_groups: Vec::new(),
            update_version: 3,
        }
    }

    fn refused_fields(update: SettingsUpdate) -> Vec<String> {
        match defaults().updated(&update) {
            Err(Error::Invalid(errors)) => errors.fields().map(str::to_owned).collect(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_the_given_fields_change_and_the_version_moves_on() {
        let next = defaults()
            .updated(&SettingsUpdate {
                clipboard_clear_seconds: Some(0),
                max_key_lifetime_days: Some(Some(90)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next.clipboard_clear_seconds, 0);
        assert_eq!(next.max_key_lifetime_days, Some(90));
        assert_eq!(next.password_min_length, 15);
        assert_eq!(next.update_version, 4);
        assert_eq!(
            defaults().changed_fields(&next),
            ["maxKeyLifetimeDays", "clipboardClearSeconds"]
        );
        let uncapped = next
            .updated(&SettingsUpdate {
                max_key_lifetime_days: Some(None),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(uncapped.max_key_lifetime_days, None);
    }

    #[test]
    fn each_range_is_enforced_at_both_ends() {
        let ok = |update: SettingsUpdate| defaults().updated(&update).is_ok();
        assert!(ok(SettingsUpdate {
            password_min_length: Some(8),
            ..Default::default()
        }));
        assert!(ok(SettingsUpdate {
            password_min_length: Some(256),
            ..Default::default()
        }));
        assert!(ok(SettingsUpdate {
            session_lifetime_minutes: Some(5),
            ..Default::default()
        }));
        assert!(ok(SettingsUpdate {
            lockout_threshold: Some(100),
            ..Default::default()
        }));
        assert!(ok(SettingsUpdate {
            max_key_lifetime_days: Some(Some(3650)),
            ..Default::default()
        }));
        assert_eq!(
            refused_fields(SettingsUpdate {
                password_min_length: Some(7),
                clipboard_clear_seconds: Some(3601),
                session_lifetime_minutes: Some(4),
                lockout_threshold: Some(0),
                max_key_lifetime_days: Some(Some(0)),
                ..Default::default()
            }),
            [
                "clipboardClearSeconds",
                "lockoutThreshold",
                "maxKeyLifetimeDays",
                "passwordMinLength",
                "sessionLifetimeMinutes"
            ]
        );
        assert_eq!(
            refused_fields(SettingsUpdate {
                password_min_length: Some(257),
                ..Default::default()
            }),
            ["passwordMinLength"]
        );
    }
}

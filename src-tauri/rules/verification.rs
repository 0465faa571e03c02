//! Verifying a presented API key, for services and for every request made with a key: the
//! checksum first (a malformed key costs no look-up), then one read of the secret's digest,
//! its key, the owner and the owner's roles, and the verdict over that row.

use super::storage::{Tx, VerificationRow};
use crate::core::model::{KeyStatus, Time, UserStatus, Verification, VerifyCode};
use crate::core::permission::{Permission, PermissionSet};
use crate::core::secret::{key_is_well_formed, sha256};
use crate::core::Result;
use chrono::TimeDelta;

/// lastUsedTime is recorded at most this often per key, to keep verification a read.
pub(super) const TOUCH_INTERVAL: TimeDelta = TimeDelta::minutes(1);

/// Checks a presented key. Returns the verdict and, when the key's lastUsedTime is due for
/// an update, the key id to record it on (the caller writes it).
pub(super) fn verify(tx: &dyn Tx, key: &str, now: Time) -> Result<(Verification, Option<String>)> {
    if !key_is_well_formed(key) {
        return Ok((Verification::refused(VerifyCode::Malformed), None));
    }
    Ok(verdict(tx.verification(&sha256(key))?, now))
}

/// Records that a key was used now, unless that was recorded within the last minute.
pub(super) fn record_use(tx: &dyn Tx, key_id: &str, now: Time) -> Result<()> {
    tx.record_key_use(key_id, now, now - TOUCH_INTERVAL)
}

/// The verdict on a key from its row at `now`, and the key id when its use is due to be
/// recorded.
fn verdict(row: VerificationRow, now: Time) -> (Verification, Option<String>) {
    if !row.auth_enabled {
        return (Verification::refused(VerifyCode::AuthDisabled), None);
    }
    let Some(key) = row.key else {
        return (Verification::refused(VerifyCode::NotFound), None);
    };
    // A replaced secret past its grace period is as good as unknown.
    if key.secret_not_after.is_some_and(|end| end <= now) {
        return (Verification::refused(VerifyCode::NotFound), None);
    }
    let held = key
        .owner_grants
        .iter()
        .fold(PermissionSet::EMPTY, |set, grant| set.union(*grant));
    let code = match KeyStatus::at(key.stored, key.expires_time, now) {
        KeyStatus::Revoked => VerifyCode::Revoked,
        KeyStatus::Expired => VerifyCode::Expired,
        KeyStatus::Pending => VerifyCode::Pending,
        KeyStatus::Enabled if key.owner_status != UserStatus::Active => VerifyCode::UserInactive,
        // An owner whose roles no longer include USE_API_KEYS may not use their keys: the
        // key answers as for an owner who may not act.
        KeyStatus::Enabled if !held.contains(Permission::USE_API_KEYS) => VerifyCode::UserInactive,
        KeyStatus::Enabled => VerifyCode::Valid,
    };
    let valid = code == VerifyCode::Valid;
    let due = valid
        && key
            .last_used_time
            .is_none_or(|used| now - used >= TOUCH_INTERVAL);
    (
        Verification {
            valid,
            code,
            key_id: Some(key.key_id.clone()),
            user_id: Some(key.owner_id),
            user_name: Some(key.owner_user_name),
            permissions: if valid { held } else { PermissionSet::EMPTY },
            expires_time: key.expires_time,
        },
        due.then_some(key.key_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::permission::BuiltinRole;
    use crate::rules::storage::VerifiedKeyRow;
    use chrono::{TimeZone, Utc};

    fn now() -> Time {
        Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
    }

    fn row(change: impl FnOnce(&mut VerifiedKeyRow)) -> VerificationRow {
        let mut key = VerifiedKeyRow {
            key_id: "k".into(),
            secret_not_after: None,
            stored: KeyStatus::Enabled,
            expires_time: None,
            last_used_time: Some(now() - TimeDelta::seconds(5)),
            owner_id: "u".into(),
            owner_user_name: "ann".into(),
            owner_status: UserStatus::Active,
            owner_grants: vec![BuiltinRole::Operator.permissions()],
        };
        change(&mut key);
        VerificationRow {
            auth_enabled: true,
            key: Some(key),
        }
    }

    fn code(row: VerificationRow) -> VerifyCode {
        verdict(row, now()).0.code
    }

    #[test]
    fn an_enabled_key_of_an_active_owner_is_valid_with_their_permissions() {
        let (verification, due) = verdict(row(|_| {}), now());
        assert!(verification.valid);
        assert_eq!(
            verification.permissions,
            BuiltinRole::Operator.permissions()
        );
        assert_eq!(due, None, "used five seconds ago: not due");
    }

    #[test]
    fn each_refusal_has_its_code_and_no_permissions() {
        assert_eq!(
            code(row(|k| k.stored = KeyStatus::Revoked)),
            VerifyCode::Revoked
        );
        assert_eq!(
            code(row(|k| k.stored = KeyStatus::Pending)),
            VerifyCode::Pending
        );
        assert_eq!(
            code(row(|k| k.expires_time = Some(now()))),
            VerifyCode::Expired
        );
        assert_eq!(
            code(row(|k| k.owner_status = UserStatus::Inactive)),
            VerifyCode::UserInactive
        );
        assert_eq!(
            code(row(
                |k| k.owner_grants = vec![BuiltinRole::Viewer.permissions()]
            )),
            VerifyCode::UserInactive
        );
        assert_eq!(
            code(row(|k| k.secret_not_after = Some(now()))),
            VerifyCode::NotFound
        );
        assert_eq!(
            code(VerificationRow {
                auth_enabled: true,
                key: None
            }),
            VerifyCode::NotFound
        );
        let disabled = VerificationRow {
            auth_enabled: false,
            ..row(|_| {})
        };
        let (verification, _) = verdict(disabled, now());
        assert_eq!(verification.code, VerifyCode::AuthDisabled);
        assert_eq!(verification.permissions, PermissionSet::EMPTY);
    }

    #[test]
    fn a_grace_secret_verifies_until_its_end() {
        let row = row(|k| k.secret_not_after = Some(now() + TimeDelta::seconds(1)));
        assert_eq!(code(row), VerifyCode::Valid);
    }

    #[test]
    fn use_is_recorded_at_most_once_a_minute() {
        let never = verdict(row(|k| k.last_used_time = None), now()).1;
        assert_eq!(never.as_deref(), Some("k"));
        let minute = verdict(
            row(|k| k.last_used_time = Some(now() - TOUCH_INTERVAL)),
            now(),
        )
        .1;
        assert_eq!(minute.as_deref(), Some("k"));
        let revoked = verdict(
            row(|k| {
                k.last_used_time = None;
                k.stored = KeyStatus::Revoked;
            }),
            now(),
        )
        .1;
        assert_eq!(revoked, None, "only valid uses are recorded");
    }
}

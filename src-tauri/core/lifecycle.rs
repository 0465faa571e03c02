//! The lifecycles of SPEC section 2 as pure functions: which status a new user starts in,
//! which status changes are allowed, what a key's status is at a given time, and which key
//! operations each status allows. The rule layer asks these; no store decides them.

use super::error::{Error, Result};
use super::model::{KeyStatus, Time, UserStatus, UserType};

/// Refuses a change that carries another version than the one stored: someone else changed
/// the thing since it was read (SPEC: updateVersion, 409).
pub fn same_version(given: i64, stored: i64, what: &'static str) -> Result<()> {
    if given == stored {
        Ok(())
    } else {
        Err(Error::VersionConflict(what))
    }
}

/// The status a new user starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub status: UserStatus,
    /// Active without a password: an account that only uses API keys and cannot sign in
    /// (the rule layer checks, once the roles are known, that it indeed cannot).
    pub service_account: bool,
}

/// Refused input on one field, with the reason.
pub type Refusal = (&'static str, &'static str);

/// The status a new user starts in, from its type, whether a password was given and the
/// status asked for.
pub fn start(
    user_type: UserType,
    has_password: bool,
    requested: Option<UserStatus>,
) -> std::result::Result<Start, Refusal> {
    use UserStatus::*;
    let plain = |status| {
        Ok(Start {
            status,
            service_account: false,
        })
    };
    match (user_type, has_password, requested) {
        (UserType::External, true, _) => Err((
            "password",
            "External users have no password here: their identity is managed elsewhere.",
        )),
        (UserType::External, false, Some(Invited)) => Err((
            "status",
            "External users are not invited; create them active.",
        )),
        (UserType::External, false, status) => plain(status.unwrap_or(Active)),
        (UserType::Native, true, Some(Invited)) => Err((
            "status",
            "A user with a password is not invited; leave the password empty to invite.",
        )),
        (UserType::Native, true, status) => plain(status.unwrap_or(Active)),
        (UserType::Native, false, None | Some(Invited)) => plain(Invited),
        (UserType::Native, false, Some(Active)) => Ok(Start {
            status: Active,
            service_account: true,
        }),
        (UserType::Native, false, Some(Inactive)) => plain(Inactive),
    }
}

/// Why a user may not move from `current` to `requested`, if they may not. `passwordless`: a
/// NATIVE user who never set a password; `can_sign_in`: their roles include SIGN_IN.
pub fn status_change(
    current: UserStatus,
    requested: UserStatus,
    passwordless: bool,
    can_sign_in: bool,
) -> Option<&'static str> {
    use UserStatus::*;
    match (current, requested) {
        (from, to) if from == to => None,
        // A deactivated user who never set a password may be invited again.
        (Inactive, Invited) if passwordless => None,
        (_, Invited) => Some(
            "Only a user who never set a password can be invited again; activate them instead.",
        ),
        // Without a password only a service account (no SIGN_IN) can be active.
        (_, Active) if passwordless && can_sign_in => {
            Some("This user has no password yet: they become active by accepting an invitation.")
        }
        _ => None,
    }
}

impl KeyStatus {
    /// A key's status at `now`, from the status stored (PENDING, ENABLED or REVOKED) and its
    /// expiry: a key that is not revoked is EXPIRED from its expiry time on.
    pub fn at(stored: KeyStatus, expires: Option<Time>, now: Time) -> KeyStatus {
        match stored {
            KeyStatus::Revoked => KeyStatus::Revoked,
            _ if expires.is_some_and(|e| e <= now) => KeyStatus::Expired,
            other => other,
        }
    }
}

/// What can be done to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    /// Generate the secret of a PENDING key, once.
    Download,
    /// Replace the secret of an ENABLED key.
    Regenerate,
    /// Stop the key verifying, for good.
    Revoke,
}

/// Refuses a change the key's current status does not allow.
pub fn key_change(status: KeyStatus, change: KeyChange) -> Result<()> {
    use KeyChange::*;
    use KeyStatus::*;
    let refusal = match (change, status) {
        (Download, Pending) | (Regenerate, Enabled) => return Ok(()),
        (Revoke, Revoked) => "This key is revoked already.",
        (Revoke, _) => return Ok(()),
        (Download, Expired) => "This key has expired.",
        (Download, Revoked) => "This key was revoked.",
        (Download, Enabled) => {
            "This key was downloaded already: its secret is shown only once. \
             Regenerate it for a new secret."
        }
        (Regenerate, Pending) => "This key has no secret yet: download it instead.",
        (Regenerate, Revoked | Expired) => {
            "Only an enabled key can be regenerated; create a new key instead."
        }
    };
    Err(Error::StateConflict(refusal.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};
    use UserStatus::*;

    #[test]
    fn new_users_start_as_the_matrix_says() {
        let n = UserType::Native;
        let e = UserType::External;
        let status = |t, pw, req| start(t, pw, req).map(|s| (s.status, s.service_account));
        assert_eq!(status(n, true, None), Ok((Active, false)));
        assert_eq!(status(n, true, Some(Inactive)), Ok((Inactive, false)));
        assert_eq!(status(n, true, Some(Invited)).unwrap_err().0, "status");
        assert_eq!(status(n, false, None), Ok((Invited, false)));
        assert_eq!(status(n, false, Some(Invited)), Ok((Invited, false)));
        assert_eq!(status(n, false, Some(Active)), Ok((Active, true)));
        assert_eq!(status(n, false, Some(Inactive)), Ok((Inactive, false)));
        assert_eq!(status(e, true, None).unwrap_err().0, "password");
        assert_eq!(status(e, false, None), Ok((Active, false)));
        assert_eq!(status(e, false, Some(Inactive)), Ok((Inactive, false)));
        assert_eq!(status(e, false, Some(Invited)).unwrap_err().0, "status");
    }

    #[test]
    fn status_changes_follow_the_matrix() {
        let all = [Active, Inactive, Invited];
        for from in all {
            for to in all {
                for passwordless in [false, true] {
                    for can_sign_in in [false, true] {
                        let allowed = status_change(from, to, passwordless, can_sign_in).is_none();
                        let expected = from == to
                            || match to {
                                Invited => from == Inactive && passwordless,
                                Active => !(passwordless && can_sign_in),
                                Inactive => true,
                            };
                        assert_eq!(
                            allowed, expected,
                            "{from:?} → {to:?}, passwordless {passwordless}, sign-in {can_sign_in}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_key_expires_at_its_expiry_time_unless_revoked() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let before = Some(now - TimeDelta::milliseconds(1));
        let after = Some(now + TimeDelta::milliseconds(1));
        assert_eq!(
            KeyStatus::at(KeyStatus::Enabled, None, now),
            KeyStatus::Enabled
        );
        assert_eq!(
            KeyStatus::at(KeyStatus::Enabled, after, now),
            KeyStatus::Enabled
        );
        assert_eq!(
            KeyStatus::at(KeyStatus::Enabled, Some(now), now),
            KeyStatus::Expired
        );
        assert_eq!(
            KeyStatus::at(KeyStatus::Pending, before, now),
            KeyStatus::Expired
        );
        assert_eq!(
            KeyStatus::at(KeyStatus::Pending, after, now),
            KeyStatus::Pending
        );
        assert_eq!(
            KeyStatus::at(KeyStatus::Revoked, before, now),
            KeyStatus::Revoked
        );
    }

    #[test]
    fn each_key_status_allows_only_its_changes() {
        use KeyChange::*;
        use KeyStatus::*;
        let allowed = |status, change| key_change(status, change).is_ok();
        assert!(allowed(Pending, Download));
        assert!(!allowed(Enabled, Download));
        assert!(!allowed(Revoked, Download));
        assert!(!allowed(Expired, Download));
        assert!(allowed(Enabled, Regenerate));
        assert!(!allowed(Pending, Regenerate));
        assert!(!allowed(Revoked, Regenerate));
        assert!(!allowed(Expired, Regenerate));
        for status in [Pending, Enabled, Expired] {
            assert!(allowed(status, Revoke));
        }
        assert!(!allowed(Revoked, Revoke));
        assert!(matches!(
            key_change(Enabled, Download),
            Err(Error::StateConflict(m)) if m.contains("only once")
        ));
    }
}

//! Two-step sign-in's arithmetic (SPEC 10): time-based codes of RFC 6238, computed by
//! `totp-rs` (SHA-1, 6 digits, 30-second steps, one step of drift either way), the
//! `otpauth://` URI an authenticator app reads, one-time recovery codes, and whom the
//! `secondFactor` setting requires to have a second step. Nothing here is stored or audited.

use super::error::Error;
use super::model::{SecondFactorPolicy, Time};
use super::permission::{Permission, PermissionSet};
use super::secret::Secret;
use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};
use totp_rs::{Algorithm, Builder, Totp};

/// Random bytes of a new TOTP secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// How many recovery codes a user holds after enrolling or asking for new ones.
pub const RECOVERY_CODES: usize = 10;
/// How long a sign-in challenge (a password accepted, the second step to come) lives.
pub const CHALLENGE_MINUTES: i64 = 5;
const STEP_SECONDS: u64 = 30;
const ISSUER: &str = "Keyward";
/// Recovery codes use letters and digits that cannot be mistaken for one another.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The authenticator's view of a secret for `account`; the account name is only shown.
fn totp(secret: &[u8], account: &str) -> Totp {
    // An otpauth account name cannot hold ':'; the rest of a user name is kept.
    let account = account.replace(':', "_");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build_noncompliant()
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0; SECRET_BYTES];
    OsRng.unwrap_err().fill(&mut bytes[..]);
    bytes
}

/// What an authenticator app needs: the secret in base32 and the `otpauth://` URI (a QR code
/// of it), both shown to their user only.
pub fn setup(secret: &[u8], account: &str) -> Result<(Secret, Secret), Error> {
    let totp = totp(secret, account);
    let uri = totp
        .to_url()
        .map_err(|e| Error::Internal(format!("cannot write the otpauth URI: {e}")))?;
    Ok((Secret::new(totp.secret().to_base32()), Secret::new(uri)))
}

/// The time step of `code` when it is the code of `secret` at `now` or one step either side;
/// a code is accepted once, so the caller keeps the last step used.
pub fn check(secret: &[u8], code: &str, now: Time) -> Option<u64> {
    let time = u64::try_from(now.timestamp()).ok()?;
    totp(secret, "").check(code, time)
}

/// What a person typed as their second step.
#[derive(Debug, PartialEq, Eq)]
pub enum Entered {
    /// Six digits: a code from the authenticator.
    Code(String),
    /// Anything else: a recovery code, as its digest is taken.
    Recovery(Secret),
}

/// Reads a second step as typed: spaces and dashes do not matter, nor does case.
pub fn entered(text: &str) -> Entered {
    let plain: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_lowercase();
    if plain.len() == 6 && plain.bytes().all(|b| b.is_ascii_digit()) {
        Entered::Code(plain)
    } else {
        Entered::Recovery(Secret::new(plain))
    }
}

/// New recovery codes, each `xxxxx-xxxxx` (50 bits). They are kept as tags under the
/// directory's sealing key (`SealingKey::tag` of [`recovery_text`]), never as they are.
pub fn new_recovery_codes() -> Vec<Secret> {
    let mut rng = OsRng.unwrap_err();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut pick = || {
                (0..5)
                    .map(|_| {
                        char::from(RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())])
                    })
                    .collect::<String>()
            };
            Secret::new(format!("{}-{}", pick(), pick()))
        })
        .collect()
}

/// A recovery code as its tag is taken, however it was typed.
pub fn recovery_text(code: &str) -> Secret {
    match entered(code) {
        Entered::Recovery(plain) => plain,
        Entered::Code(digits) => Secret::new(digits),
    }
}

/// The permissions that make someone an administrator for `REQUIRED_FOR_ADMINS`: any that
/// changes users, roles, groups, keys of others or settings.
pub const ADMIN_PERMISSIONS: [Permission; 8] = [
    Permission::CREATE_USER,
    Permission::EDIT_USER,
    Permission::DELETE_USER,
    Permission::RESET_PASSWORD,
    Permission::MANAGE_ROLE,
    Permission::MANAGE_GROUP,
    Permission::MANAGE_KEYS,
    Permission::MANAGE_SETTINGS,
];

/// Whether the policy requires a second step of someone holding `permissions`.
pub fn required(policy: SecondFactorPolicy, permissions: PermissionSet) -> bool {
    match policy {
        SecondFactorPolicy::Optional => false,
        SecondFactorPolicy::Required => true,
        SecondFactorPolicy::RequiredForAdmins => ADMIN_PERMISSIONS
            .iter()
            .any(|&permission| permissions.contains(permission)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn codes_follow_rfc_6238_with_one_step_of_drift() {
        // RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" at 59 s is 94287082;
        // its last six digits are the 6-digit code.
        let secret = b"12345678901234567890";
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert_eq!(check(secret, "287082", at(59)), Some(1));
        assert_eq!(check(secret, "287082", at(89)), Some(1), "one step late");
        assert_eq!(check(secret, "287082", at(0)), Some(1), "one step early");
        assert_eq!(check(secret, "287082", at(90)), None, "two steps late");
        assert_eq!(check(secret, "287083", at(59)), None);
        let (base32, uri) = setup(secret, "ann:x").unwrap();
        let decoded = totp_rs::Secret::try_from_base32(base32.expose()).unwrap();
        assert_eq!(decoded.as_bytes(), secret);
        assert!(
            uri.expose().starts_with("otpauth://totp/Keyward:ann_x?"),
            "{}",
            uri.expose()
        );
        assert!(uri
            .expose()
            .contains(&format!("secret={}", base32.expose())));
    }

    #[test]
    fn what_is_typed_is_a_code_or_a_recovery_code() {
        assert_eq!(entered(" 123 456 "), Entered::Code("123456".into()));
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let typed = codes[0].expose().to_uppercase().replace('-', " ");
        assert_eq!(recovery_text(&typed), recovery_text(codes[0].expose()));
        assert_ne!(codes[0], codes[1]);
        assert!(matches!(entered(codes[0].expose()), Entered::Recovery(_)));
    }

    #[test]
    fn the_policy_requires_a_second_step_of_whom_it_names() {
        let viewer = PermissionSet::from_iter([Permission::SIGN_IN, Permission::VIEW_USER]);
        let admin = PermissionSet::from_iter([Permission::SIGN_IN, Permission::RESET_PASSWORD]);
        assert!(!required(SecondFactorPolicy::Optional, admin));
        assert!(!required(SecondFactorPolicy::RequiredForAdmins, viewer));
        assert!(required(SecondFactorPolicy::RequiredForAdmins, admin));
        assert!(required(SecondFactorPolicy::Required, viewer));
    }
}

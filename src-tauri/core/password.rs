//! Passwords: argon2id hashing as PHC strings, re-hash of weaker hashes, and the policy of
//! NIST SP 800-63B-4 (length, a strength estimate, no user name or e-mail inside).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// OWASP's minimum for argon2id: 19 MiB of memory, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;
/// The longest password accepted: longer ones only cost hashing time.
pub const MAX_LENGTH: usize = 256;
/// The policy's minimum length can be configured, never below this.
pub const MIN_LENGTH_FLOOR: u32 = 8;

fn hasher() -> Argon2<'static> {
    // The parameters are constants inside argon2's accepted ranges.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        // Hashing fails only for parameters or salts outside argon2's ranges, fixed above.
        .expect("argon2 hashing with fixed parameters")
        .to_string()
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but the stored hash is weaker than today's parameters: store a new one.
    YesRehash,
}

/// Checks a password against a stored PHC string, with the parameters stored in it.
pub fn verify(password: &str, phc: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Verified::No;
    };
    if Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verified::No;
    }
    if is_current(&parsed) {
        Verified::Yes
    } else {
        Verified::YesRehash
    }
}

fn is_current(parsed: &PasswordHash<'_>) -> bool {
    let Ok(params) = Params::try_from(parsed) else {
        return false;
    };
    parsed.algorithm.as_str() == "argon2id"
        && params.m_cost() >= MEMORY_KIB
        && params.t_cost() >= PASSES
        && params.p_cost() >= LANES
}

/// The hash an unknown user name's password is checked against.
static UNKNOWN_USER_HASH: OnceLock<String> = OnceLock::new();

fn unknown_user_hash() -> &'static str {
    UNKNOWN_USER_HASH.get_or_init(|| hash("keyward-no-such-user-placeholder"))
}

/// Prepares the hash that passwords given for unknown user names are checked against (one
/// argon2 hash), so that even the first sign-in with an unknown name costs exactly one
/// verification, like any other. Servers and the desktop app call it as they start.
pub fn prepare_unknown_user_check() {
    unknown_user_hash();
}

/// Whether [`prepare_unknown_user_check`] has run (or a sign-in did it).
pub fn unknown_user_check_is_ready() -> bool {
    UNKNOWN_USER_HASH.get().is_some()
}

/// Spends the same time as checking a real password, for a user name that does not exist, so
/// that timing does not tell whether a user exists.
pub fn verify_against_nothing(password: &str) {
    let _ = verify(password, unknown_user_hash());
}

/// One reason a password was refused, in the `{code, description}` shape of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PolicyError {
    pub code: String,
    pub description: String,
}

impl PolicyError {
    fn new(code: &str, description: impl Into<String>) -> Self {
        PolicyError {
            code: code.to_owned(),
            description: description.into(),
        }
    }
}

/// Who the password is for, so that it may not contain their names.
pub struct PolicyContext<'a> {
    pub min_length: u32,
    pub user_name: &'a str,
    pub email: &'a str,
}

/// Checks a new password against the policy. Empty when it is acceptable.
pub fn check_policy(password: &str, context: &PolicyContext<'_>) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    let length = password.chars().count();
    let min = context.min_length.max(MIN_LENGTH_FLOOR) as usize;
    if length < min {
        errors.push(PolicyError::new(
            "PASSWORD_TOO_SHORT",
            format!("Use at least {min} characters."),
        ));
    }
    if length > MAX_LENGTH {
        errors.push(PolicyError::new(
            "PASSWORD_TOO_LONG",
            format!("Use at most {MAX_LENGTH} characters."),
        ));
        return errors;
    }
    let lower = password.to_lowercase();
    let user_name = context.user_name.to_lowercase();
    if !user_name.is_empty() && lower.contains(&user_name) {
        errors.push(PolicyError::new(
            "PASSWORD_CONTAINS_USER_NAME",
            "The password must not contain the user name.",
        ));
    }
    let email = context.email.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    if local_part.chars().count() >= 3 && lower.contains(local_part) {
        errors.push(PolicyError::new(
            "PASSWORD_CONTAINS_EMAIL",
            "The password must not contain the e-mail address.",
        ));
    }
    if errors.is_empty() {
        let inputs = [context.user_name, context.email];
        let estimate = zxcvbn::zxcvbn(password, &inputs);
        if u8::from(estimate.score()) < 3 {
            errors.push(PolicyError::new(
                "PASSWORD_TOO_WEAK",
                "This password is common or easy to guess; a few unrelated words work well.",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> PolicyContext<'static> {
        PolicyContext {
            min_length: 15,
            user_name: "alice",
            email: "alice.smith@example.com",
        }
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let phc = hash("correct horse battery staple");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify("correct horse battery staple", &phc), Verified::Yes);
        assert_eq!(verify("wrong", &phc), Verified::No);
        assert_eq!(verify("x", "not a phc string"), Verified::No);
    }

    #[test]
    fn weaker_hashes_verify_and_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let phc = weak.hash_password(b"pw", &salt).unwrap().to_string();
        assert_eq!(verify("pw", &phc), Verified::YesRehash);
    }

    #[test]
    fn policy_refuses_short_common_and_personal_passwords() {
        let codes = |pw: &str| -> Vec<String> {
            check_policy(pw, &context())
                .into_iter()
                .map(|e| e.code)
                .collect()
        };
        assert_eq!(codes("short"), ["PASSWORD_TOO_SHORT"]);
        assert_eq!(codes("passwordpassword"), ["PASSWORD_TOO_WEAK"]);
        assert_eq!(
            codes("my name is alice and i sing"),
            ["PASSWORD_CONTAINS_USER_NAME"]
        );
        assert!(codes("Alice.Smith and eleven foxes").contains(&"PASSWORD_CONTAINS_EMAIL".into()));
        assert_eq!(codes(&"x".repeat(300)), ["PASSWORD_TOO_LONG"]);
        assert!(codes("tangerine orbit wallpaper 42").is_empty());
    }
}

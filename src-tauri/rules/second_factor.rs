//! Two-step sign-in (SPEC 10): enrolling a TOTP secret (signed in, or held at sign-in by the
//! `secondFactor` setting), the code step of a sign-in, recovery codes, turning it off, and an
//! administrator removing a lost one.
//!
//! The secret is sealed with the directory's key ([`crate::core::sealing`]) before it reaches
//! the store and opened only to check a code. A code is accepted once: the time step of the
//! last one accepted is kept, and only later steps pass, in the same write transaction (so two
//! servers on one file or one database cannot both accept it). Every code checked counts
//! towards the sign-in lockout until it is right, like a password. The audit log records each
//! step, never a code or a secret.

use super::audit::Record;
use super::auth::{self, may_sign_in, open_session, reserve_attempt};
use super::run::StoredDirectory;
use super::storage::{ChallengeKind, SecondFactorRow, Store, Tx};
use super::users;
use crate::core::access::Actor;
use crate::core::model::*;
use crate::core::permission::Permission;
use crate::core::sealing::SealingKey;
use crate::core::secret::Secret;
use crate::core::totp::{self, Entered};
use crate::core::{Error, Result};
use std::sync::Arc;

fn stale_challenge() -> Error {
    Error::invalid(
        "challengeToken",
        "This sign-in has expired or was finished already: sign in again.",
    )
}

fn wrong_code() -> Error {
    Error::invalid(
        "code",
        "This code is not right, or was used already. Enter the current code from your \
         authenticator app, or one of your recovery codes.",
    )
}

/// The user a live challenge of `kind` stands for.
fn challenged(tx: &dyn Tx, digest: &[u8; 32], kind: ChallengeKind, now: Time) -> Result<User> {
    let found = tx
        .find_challenge(digest)?
        .filter(|c| c.kind == kind && c.expires_time > now)
        .ok_or_else(stale_challenge)?;
    users::load(tx, &found.user_id)
}

/// The directory's sealing key, and where it came from (for messages).
struct Opener {
    key: Arc<SealingKey>,
    place: String,
}

impl Opener {
    fn of<S: Store>(dir: &StoredDirectory<S>) -> Result<Opener> {
        Ok(Opener {
            key: dir.keyring().key(false)?,
            place: dir.keyring().describe(),
        })
    }

    /// The plain TOTP secret of a sealed one, or why it cannot be opened.
    fn open(&self, user_id: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        if !self.key.sealed_it(sealed) {
            return Err(wrong_key(&self.place));
        }
        self.key
            .open(user_id, sealed)
            .ok_or_else(|| Error::Internal("a sealed two-step secret does not open".to_owned()))
    }

    /// The tag a recovery code is kept as, however it was typed.
    fn tag(&self, code: &str) -> [u8; 32] {
        self.key.tag(totp::recovery_text(code).expose())
    }

    /// New recovery codes and the tags to keep of them.
    fn new_recovery_codes(&self) -> (Vec<Secret>, Vec<[u8; 32]>) {
        let codes = totp::new_recovery_codes();
        let tags = codes.iter().map(|code| self.tag(code.expose())).collect();
        (codes, tags)
    }
}

/// The refusal while the key at `place` is not the one the directory's secrets were sealed
/// with.
fn wrong_key(place: &str) -> Error {
    Error::StateConflict(format!(
        "Two-step sign-in is unavailable: the key {place} is not the key this directory's \
         secrets were sealed with. Put the right key file back; nobody with two-step sign-in \
         can sign in until then."
    ))
}

/// Only a signed-in session changes its own second step: an API key is a machine's
/// credential, and must not let whoever holds it take over its owner's console account.
fn in_session(credential: &Credential) -> Result<()> {
    match credential {
        Credential::Session(_) => Ok(()),
        Credential::ApiKey(_) => Err(Error::forbidden(
            "Two-step sign-in is changed in a signed-in session, not with an API key.",
        )),
    }
}

/// How a code entered was accepted.
enum Accepted {
    /// An authenticator's code, of this time step.
    Code(i64),
    /// A recovery code, used up; this many are left.
    Recovery(u64),
}

impl Accepted {
    fn detail(&self, what: &str) -> String {
        match self {
            Accepted::Code(_) => format!("{what} with a code"),
            Accepted::Recovery(left) => {
                format!("{what} with a recovery code ({left} left)")
            }
        }
    }
}

/// Checks `code` against the user's second step (an authenticator's code of a step not used
/// yet, or, when `recovery` allows, an unused recovery code) and records its use; `None` when
/// it is wrong.
fn accept(
    tx: &dyn Tx,
    opener: &Opener,
    user_id: &str,
    factor: &SecondFactorRow,
    code: &Secret,
    now: Time,
    recovery: bool,
) -> Result<Option<Accepted>> {
    // The secret is opened whichever way in: with the key missing or another key, nothing
    // (a recovery code neither) lets someone with a second step in.
    let secret = opener.open(user_id, &factor.secret)?;
    match totp::entered(code.expose()) {
        Entered::Code(digits) => {
            let step = totp::check(&secret, &digits, now).and_then(|s| i64::try_from(s).ok());
            match step {
                Some(step) if factor.last_step.is_none_or(|last| step > last) => {
                    tx.set_second_factor_step(user_id, step)?;
                    Ok(Some(Accepted::Code(step)))
                }
                _ => Ok(None),
            }
        }
        Entered::Recovery(plain) if recovery => {
            if tx.use_recovery_code(user_id, &opener.tag(plain.expose()))? {
                Ok(Some(Accepted::Recovery(tx.recovery_codes_left(user_id)?)))
            } else {
                Ok(None)
            }
        }
        Entered::Recovery(_) => Ok(None),
    }
}

/// A refused code, audited as a failure of `action` (the change is otherwise rolled back).
fn refuse<S: Store>(dir: &StoredDirectory<S>, user: &User, action: &'static str) -> Error {
    let recorded = dir.write(|tx, now| {
        Record::about_oneself(&user.id, &user.user_name, now, action)
            .outcome(Outcome::Failure)
            .detail("wrong code")
            .append(tx)
    });
    recorded.err().unwrap_or_else(wrong_code)
}

/// The second step of a sign-in: the challenge of a right password and a code (or a recovery
/// code) give a session.
pub(super) fn finish_sign_in<S: Store>(
    dir: &StoredDirectory<S>,
    challenge_token: &Secret,
    code: &Secret,
) -> Result<SignedIn> {
    let digest = challenge_token.digest();
    let user = dir.look(|tx, now| challenged(tx, &digest, ChallengeKind::Code, now))?;
    let settings = reserve_attempt(dir, &user.user_name.to_lowercase())?;
    let opener = Opener::of(dir)?;
    let signed_in = dir.write(|tx, now| {
        let user = challenged(tx, &digest, ChallengeKind::Code, now)?;
        may_sign_in(tx, &user)?;
        let Some(factor) = tx.second_factor(&user.id)?.filter(|f| f.confirmed) else {
            return Err(stale_challenge());
        };
        let Some(accepted) = accept(tx, &opener, &user.id, &factor, code, now, true)? else {
            return Ok(None);
        };
        if !tx.delete_challenge(&digest)? {
            return Err(stale_challenge());
        }
        open_session(tx, &user, &settings, now, &accepted.detail("signed in")).map(Some)
    })?;
    signed_in.ok_or_else(|| refuse(dir, &user, "auth.sign_in"))
}

/// The user enrolling and the key to seal with: the signed-in user (a console account, not
/// external), or the one a live enrolment challenge stands for.
fn enrolling(tx: &dyn Tx, who: &Enrolling<'_>, actor: Option<&Actor>, now: Time) -> Result<User> {
    let user = match (who, actor) {
        (Enrolling::AtSignIn(token), _) => {
            challenged(tx, &token.digest(), ChallengeKind::Enroll, now)?
        }
        (Enrolling::Signed(credential), Some(actor)) => {
            in_session(credential)?;
            actor.require(Permission::SIGN_IN)?;
            users::load(tx, &actor.id)?
        }
        (Enrolling::Signed(_), None) => return Err(Error::Unauthenticated),
    };
    if user.user_type == UserType::External {
        return Err(Error::StateConflict(
            "An external user's second step is their identity provider's.".to_owned(),
        ));
    }
    Ok(user)
}

/// Starts enrolling: a new secret, sealed and kept unconfirmed until a code from it is
/// entered. Starting again replaces the secret being enrolled.
fn begin(
    tx: &dyn Tx,
    keyring: &crate::core::sealing::Keyring,
    user: &User,
    now: Time,
) -> Result<TotpSetup> {
    if tx.second_factor(&user.id)?.is_some_and(|f| f.confirmed) {
        return Err(Error::StateConflict(
            "Two-step sign-in is on already. Turn it off first to set up another authenticator."
                .to_owned(),
        ));
    }
    let existing = tx.any_sealed_secret()?;
    let key = keyring.key(existing.is_none())?;
    // Never two keys in one directory: a secret sealed with another key stays unopenable.
    if existing.is_some_and(|other| !key.sealed_it(&other)) {
        return Err(wrong_key(&keyring.describe()));
    }
    let secret = totp::new_secret();
    tx.put_second_factor(
        &user.id,
        &SecondFactorRow {
            secret: key.seal(&user.id, &secret),
            confirmed: false,
            last_step: None,
        },
        now,
    )?;
    Record::about_oneself(&user.id, &user.user_name, now, "auth.second_factor_enroll")
        .detail("set-up of two-step sign-in started")
        .append(tx)?;
    let (secret, otpauth_uri) = totp::setup(&secret, &user.user_name)?;
    Ok(TotpSetup {
        secret,
        otpauth_uri,
    })
}

pub(super) fn enroll<S: Store>(dir: &StoredDirectory<S>, who: Enrolling<'_>) -> Result<TotpSetup> {
    match who {
        Enrolling::Signed(credential) => dir.mutate(
            credential,
            "auth.second_factor_enroll",
            None,
            |tx, actor, now| {
                let user = enrolling(tx, &who, Some(actor), now)?;
                begin(tx, dir.keyring(), &user, now)
            },
        ),
        Enrolling::AtSignIn(_) => dir.write(|tx, now| {
            let user = enrolling(tx, &who, None, now)?;
            may_sign_in(tx, &user)?;
            begin(tx, dir.keyring(), &user, now)
        }),
    }
}

/// Confirms the secret being enrolled with a code from it: the second step is on, with new
/// recovery codes; at sign-in, the session follows.
pub(super) fn confirm<S: Store>(
    dir: &StoredDirectory<S>,
    who: Enrolling<'_>,
    code: &Secret,
) -> Result<Enrolled> {
    let user = match who {
        Enrolling::Signed(credential) => dir.read(credential, |tx, actor, now| {
            enrolling(tx, &who, Some(actor), now)
        })?,
        Enrolling::AtSignIn(_) => dir.look(|tx, now| enrolling(tx, &who, None, now))?,
    };
    let settings = reserve_attempt(dir, &user.user_name.to_lowercase())?;
    let opener = Opener::of(dir)?;
    let confirm_in = |tx: &dyn Tx, now: Time| -> Result<Option<Enrolled>> {
        let user = users::load(tx, &user.id)?;
        let factor = match tx.second_factor(&user.id)? {
            Some(factor) if !factor.confirmed => factor,
            Some(_) => {
                return Err(Error::StateConflict(
                    "Two-step sign-in is on already.".to_owned(),
                ))
            }
            None => {
                return Err(Error::StateConflict(
                    "Start setting up two-step sign-in first: there is no code to confirm yet."
                        .to_owned(),
                ))
            }
        };
        let Some(Accepted::Code(step)) = accept(tx, &opener, &user.id, &factor, code, now, false)?
        else {
            return Ok(None);
        };
        tx.put_second_factor(
            &user.id,
            &SecondFactorRow {
                secret: factor.secret,
                confirmed: true,
                last_step: Some(step),
            },
            now,
        )?;
        let (codes, tags) = opener.new_recovery_codes();
        tx.replace_recovery_codes(&user.id, &tags)?;
        tx.touch_users(std::slice::from_ref(&user.id), now)?;
        Record::about_oneself(&user.id, &user.user_name, now, "auth.second_factor_enable")
            .detail("two-step sign-in turned on; 10 recovery codes issued")
            .append(tx)?;
        let signed_in = match who {
            Enrolling::Signed(_) => {
                tx.clear_sign_in_failures(&user.user_name.to_lowercase())?;
                None
            }
            Enrolling::AtSignIn(token) => {
                may_sign_in(tx, &user)?;
                if !tx.delete_challenge(&token.digest())? {
                    return Err(stale_challenge());
                }
                Some(open_session(
                    tx,
                    &user,
                    &settings,
                    now,
                    "signed in after setting up two-step sign-in",
                )?)
            }
        };
        Ok(Some(Enrolled {
            recovery_codes: codes,
            signed_in,
        }))
    };
    let enrolled = match who {
        Enrolling::Signed(credential) => dir.mutate(
            credential,
            "auth.second_factor_enable",
            None,
            |tx, _, now| confirm_in(tx, now),
        )?,
        Enrolling::AtSignIn(token) => dir.write(|tx, now| {
            challenged(tx, &token.digest(), ChallengeKind::Enroll, now)?;
            confirm_in(tx, now)
        })?,
    };
    enrolled.ok_or_else(|| refuse(dir, &user, "auth.second_factor_enable"))
}

/// A change of one's own second step that a current code (or a recovery code) must prove:
/// `change` runs once the code is accepted, in the same transaction.
fn with_code<S: Store, T>(
    dir: &StoredDirectory<S>,
    credential: &Credential,
    action: &'static str,
    code: &Secret,
    mut change: impl FnMut(&dyn Tx, &Actor, &User, &Opener, Time) -> Result<T>,
) -> Result<T> {
    let user = dir.read(credential, |tx, actor, _| {
        in_session(credential)?;
        actor.require(Permission::SIGN_IN)?;
        users::load(tx, &actor.id)
    })?;
    reserve_attempt(dir, &user.user_name.to_lowercase())?;
    let opener = Opener::of(dir)?;
    let done = dir.mutate(credential, action, None, |tx, actor, now| {
        let user = users::load(tx, &actor.id)?;
        let Some(factor) = tx.second_factor(&user.id)?.filter(|f| f.confirmed) else {
            return Err(Error::StateConflict(
                "Two-step sign-in is not on for your account.".to_owned(),
            ));
        };
        if accept(tx, &opener, &user.id, &factor, code, now, true)?.is_none() {
            return Ok(None);
        }
        tx.clear_sign_in_failures(&user.user_name.to_lowercase())?;
        change(tx, actor, &user, &opener, now).map(Some)
    })?;
    done.ok_or_else(|| refuse(dir, &user, action))
}

pub(super) fn new_recovery_codes<S: Store>(
    dir: &StoredDirectory<S>,
    credential: &Credential,
    code: &Secret,
) -> Result<RecoveryCodes> {
    let action = "auth.second_factor_recovery_codes";
    with_code(dir, credential, action, code, |tx, _, user, opener, now| {
        let (codes, tags) = opener.new_recovery_codes();
        tx.replace_recovery_codes(&user.id, &tags)?;
        Record::about_oneself(&user.id, &user.user_name, now, action)
            .detail("10 new recovery codes issued; the earlier ones stopped working")
            .append(tx)?;
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    })
}

pub(super) fn turn_off<S: Store>(
    dir: &StoredDirectory<S>,
    credential: &Credential,
    code: &Secret,
) -> Result<()> {
    let action = "auth.second_factor_disable";
    with_code(dir, credential, action, code, |tx, actor, user, _, now| {
        if totp::required(tx.settings()?.second_factor, actor.permissions) {
            return Err(Error::StateConflict(
                "Your directory requires two-step sign-in for your account: it cannot be \
                 turned off."
                    .to_owned(),
            ));
        }
        tx.delete_second_factor(&user.id)?;
        tx.touch_users(std::slice::from_ref(&user.id), now)?;
        Record::about_oneself(&user.id, &user.user_name, now, action)
            .detail("two-step sign-in turned off")
            .append(tx)
    })
}

/// An administrator removes a user's lost second step (RESET_PASSWORD, and the user one they
/// may manage). Where the setting requires one, the user sets up a new one at next sign-in.
pub(super) fn remove(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<User> {
    actor.require(Permission::RESET_PASSWORD)?;
    if actor.is(id) {
        // One's own goes off with a current code, and only where the setting allows.
        return Err(Error::forbidden(
            "Turn off your own two-step sign-in under Two-step sign-in: it asks for a current \
             code.",
        ));
    }
    let user = auth::managed_user(tx, actor, id)?;
    if tx.second_factor(id)?.is_none() {
        return Err(Error::StateConflict(
            "This user has no two-step sign-in to remove.".to_owned(),
        ));
    }
    tx.delete_second_factor(id)?;
    tx.touch_users(&[id.to_owned()], now)?;
    Record::by(actor, now, "user.remove_second_factor")
        .target("user", id, &user.user_name)
        .detail("two-step sign-in removed; the user sets it up again if required")
        .append(tx)?;
    users::load(tx, id)
}

//! Signing up and in: the first SuperAdmin, sign-in with lockout, sessions, invitation and
//! reset tokens, and password changes. The slow part of each (argon2) runs outside any
//! write transaction.

use super::actors;
use super::audit::Record;
use super::run::StoredDirectory;
use super::storage::{ChallengeKind, NewUserRow, Store, TokenKind, Tx, UserChange};
use super::tokens;
use super::users;
use crate::core::access::Actor;
use crate::core::lockout::Failures;
use crate::core::model::*;
use crate::core::names::{DisplayName, Email, UserName};
use crate::core::password::{self, PolicyContext, PolicyError, Verified};
use crate::core::permission::{BuiltinRole, Permission, PermissionSet};
use crate::core::secret::{generate_token, Secret};
use crate::core::totp;
use crate::core::{Error, FieldErrors, Result};
use chrono::TimeDelta;

fn policy_errors(
    password: &Secret,
    min_length: u32,
    user_name: &str,
    email: &str,
) -> Vec<PolicyError> {
    password::check_policy(
        password.expose(),
        &PolicyContext {
            min_length,
            user_name,
            email,
        },
    )
}

fn as_field_errors(field: &str, problems: Vec<PolicyError>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for problem in problems {
        errors.add(field, problem.description);
    }
    errors
}

pub(super) fn create_first_admin<S: Store>(
    dir: &StoredDirectory<S>,
    admin: &FirstAdmin,
) -> Result<User> {
    let min_length = dir.look(|tx, _| Ok(tx.settings()?.password_min_length))?;
    let mut errors = FieldErrors::new();
    let user_name = errors.check("userName", UserName::parse(&admin.user_name));
    let display = if admin.display_name.trim().is_empty() {
        admin.user_name.as_str()
    } else {
        admin.display_name.as_str()
    };
    let display_name = errors.check("displayName", DisplayName::parse(display));
    let email = errors.check("email", Email::parse(&admin.email));
    if let (Some(name), Some(email)) = (&user_name, &email) {
        for problem in policy_errors(&admin.password, min_length, name.as_str(), email.as_str()) {
            errors.add("password", problem.description);
        }
    }
    errors.into_result()?;
    let (Some(user_name), Some(display_name), Some(email)) = (user_name, display_name, email)
    else {
        return Err(Error::invalid("userName", "Enter a user name."));
    };
    let hash = password::hash(admin.password.expose());
    dir.write(|tx, now| {
        if tx.has_users()? {
            return Err(Error::StateConflict(
                "This directory already has users: sign in instead.".to_owned(),
            ));
        }
        let id = new_id();
        users::insert_row(
            tx,
            &NewUserRow {
                id: &id,
                user_name: &user_name,
                display_name: &display_name,
                email: &email,
                status: UserStatus::Active,
                user_type: UserType::Native,
                password_hash: Some(&hash),
                created_time: now,
            },
        )?;
        tx.set_user_roles(&id, &[BuiltinRole::SuperAdmin.id().to_owned()])?;
        Record::about_oneself(&id, user_name.as_str(), now, "directory.setup")
            .detail("first SuperAdmin created")
            .append(tx)?;
        users::load(tx, &id)
    })
}

/// Refuses the attempt while the name is locked out; otherwise counts it as a failure until
/// it succeeds. Returns the settings read in the same transaction.
pub(super) fn reserve_attempt<S: Store>(
    dir: &StoredDirectory<S>,
    name_key: &str,
) -> Result<Settings> {
    dir.write(|tx, now| {
        let settings = tx.settings()?;
        let previous = tx.sign_in_failures(name_key)?;
        if let Some(wait) = previous.and_then(|f| f.wait(settings.lockout_threshold, now)) {
            return Err(Error::RateLimited(wait));
        }
        tx.set_sign_in_failures(name_key, &Failures::after_failure(previous, now))?;
        Ok(settings)
    })
}

/// A password sign-in: a session, or the second step still to take (SPEC 10). Failures are
/// cleared only when a session is opened, so wrong codes after a right password count
/// towards the same lockout.
pub(super) fn sign_in<S: Store>(
    dir: &StoredDirectory<S>,
    user_name: &str,
    password: &Secret,
) -> Result<SignInStep> {
    let name_key = user_name.trim().to_lowercase();
    // The lockout is checked and the attempt counted as a failure in one transaction before
    // the password is checked, so parallel attempts cannot all slip past one check; success
    // clears the count.
    let settings = reserve_attempt(dir, &name_key)?;
    let candidate = dir.look(|tx, _| tx.sign_in_row(&name_key))?;
    // Exactly one argon2 verification on every path, so that timing tells nothing.
    let verified = match candidate.as_ref().and_then(|c| c.password_hash.as_deref()) {
        Some(hash) => password::verify(password.expose(), hash),
        None => {
            password::verify_against_nothing(password.expose());
            Verified::No
        }
    };
    let candidate = match (verified, candidate) {
        (Verified::Yes | Verified::YesRehash, Some(candidate)) => candidate,
        (_, candidate) => {
            if let Some(c) = &candidate {
                dir.write(|tx, now| {
                    Record::about_oneself(&c.id, &c.user_name, now, "auth.sign_in")
                        .outcome(Outcome::Failure)
                        .detail("wrong password")
                        .append(tx)
                })?;
            }
            return Err(Error::SignInFailed);
        }
    };
    let rehash = (verified == Verified::YesRehash).then(|| password::hash(password.expose()));
    dir.write(|tx, now| {
        let user = users::load(tx, &candidate.id)?;
        let permissions = may_sign_in(tx, &user)?;
        if let Some(hash) = &rehash {
            tx.change_user(
                &user.id,
                &UserChange {
                    password_hash: Some(hash),
                    ..Default::default()
                },
            )?;
        }
        let has_second_factor = tx
            .second_factor(&user.id)?
            .is_some_and(|factor| factor.confirmed);
        let upgraded = if rehash.is_some() {
            "; password hash upgraded"
        } else {
            ""
        };
        let second = if has_second_factor {
            // Nobody with a second step gets past the password while its key is missing.
            dir.keyring().key(false)?;
            Some((ChallengeKind::Code, "a code asked"))
        } else if totp::required(settings.second_factor, permissions) {
            Some((ChallengeKind::Enroll, "two-step sign-in to be set up first"))
        } else {
            None
        };
        if let Some((kind, asked)) = second {
            Record::about_oneself(&user.id, &user.user_name, now, "auth.sign_in")
                .detail(format!("password accepted, {asked}{upgraded}"))
                .append(tx)?;
            let challenge = tokens::challenge(tx, &user.id, kind, now)?;
            return Ok(match kind {
                ChallengeKind::Code => SignInStep::SecondFactor(challenge),
                ChallengeKind::Enroll => SignInStep::Enrollment(challenge),
            });
        }
        let detail = if rehash.is_some() {
            "password hash upgraded"
        } else {
            "signed in"
        };
        open_session(tx, &user, &settings, now, detail)
            .map(|signed_in| SignInStep::SignedIn(Box::new(signed_in)))
    })
}

/// Whether `user` may sign in at all (active, with SIGN_IN); their permissions when so.
pub(super) fn may_sign_in(tx: &dyn Tx, user: &User) -> Result<PermissionSet> {
    if user.status != UserStatus::Active {
        return Err(Error::forbidden(
            "This account is deactivated. Ask an administrator to activate it.",
        ));
    }
    let (permissions, _) = actors::effective_permissions(tx, &user.id)?;
    if !permissions.contains(Permission::SIGN_IN) {
        return Err(Error::forbidden(
            "This account cannot sign in to the console; it works with API keys only.",
        ));
    }
    Ok(permissions)
}

/// Opens a session for `user`, whose sign-in is complete: failures cleared, last sign-in
/// recorded, audited with `detail`.
pub(super) fn open_session(
    tx: &dyn Tx,
    user: &User,
    settings: &Settings,
    now: Time,
    detail: &str,
) -> Result<SignedIn> {
    tx.clear_sign_in_failures(&user.user_name.to_lowercase())?;
    tx.set_last_login(&user.id, now)?;
    // Sessions and challenges past their expiry are of no use to anyone: sweep them.
    tx.delete_sessions_expired_by(now)?;
    tx.delete_challenges_expired_by(now)?;
    let token = generate_token();
    let expires_time = now + TimeDelta::minutes(i64::from(settings.session_lifetime_minutes));
    tx.insert_session(&token.digest(), &user.id, now, expires_time)?;
    Record::about_oneself(&user.id, &user.user_name, now, "auth.sign_in")
        .detail(detail)
        .append(tx)?;
    Ok(SignedIn {
        access_token: token,
        expires_time,
        user: users::load(tx, &user.id)?,
    })
}

pub(super) fn sign_out<S: Store>(dir: &StoredDirectory<S>, credential: &Credential) -> Result<()> {
    let Credential::Session(token) = credential else {
        // A key has no session to end; like any credential it must still be valid.
        return dir.read(credential, |_, _, _| Ok(()));
    };
    dir.write(|tx, now| {
        let user = actors::resolve(tx, credential, now, true)?.actor;
        tx.delete_session(&token.digest())?;
        Record::by(&user, now, "auth.sign_out").append(tx)
    })
}

pub(super) fn me(tx: &dyn Tx, actor: &Actor) -> Result<Me> {
    let user = users::load(tx, &actor.id)?;
    let mut roles: Vec<String> = tx
        .role_grants(&actor.id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    roles.sort();
    roles.dedup();
    Ok(Me {
        id: user.id,
        user_name: user.user_name,
        display_name: user.display_name,
        email: user.email,
        user_type: user.user_type,
        roles,
        permissions: actor.permissions,
        second_factor: user.second_factor,
    })
}

fn invalid_token() -> Error {
    Error::invalid(
        "token",
        "This link is not valid any more: it was used, replaced or has expired. Ask for a new one.",
    )
}

/// Sets a password from an invitation or reset token, once. `kind`: the kind the token
/// must be; `None` takes either.
pub(super) fn redeem_token<S: Store>(
    dir: &StoredDirectory<S>,
    kind: Option<TokenKind>,
    token: &Secret,
    new_password: &Secret,
) -> Result<User> {
    let digest = token.digest();
    let (user, kind, min_length) = dir.look(|tx, now| {
        let found = tx
            .find_token(&digest)?
            .filter(|t| kind.is_none_or(|k| k == t.kind) && t.expires_time > now)
            .ok_or_else(invalid_token)?;
        Ok((
            users::load(tx, &found.user_id)?,
            found.kind,
            tx.settings()?.password_min_length,
        ))
    })?;
    let problems = policy_errors(new_password, min_length, &user.user_name, &user.email);
    if !problems.is_empty() {
        return Err(Error::Invalid(as_field_errors("password", problems)));
    }
    let hash = password::hash(new_password.expose());
    dir.write(|tx, now| {
        // The token is spent here, once: a second use finds nothing.
        let token = tx
            .find_token(&digest)?
            .filter(|t| t.kind == kind && t.expires_time > now && t.user_id == user.id)
            .ok_or_else(invalid_token)?;
        if !tx.delete_token(&digest)? {
            return Err(invalid_token());
        }
        let current = users::load(tx, &token.user_id)?;
        let activate = kind == TokenKind::Invite && current.status == UserStatus::Invited;
        tx.change_user(
            &user.id,
            &UserChange {
                password_hash: Some(&hash),
                status: activate.then_some(UserStatus::Active),
                ..Default::default()
            },
        )?;
        tx.touch_users(std::slice::from_ref(&user.id), now)?;
        tx.delete_sessions_of(&user.id, None)?;
        tx.clear_sign_in_failures(&current.user_name.to_lowercase())?;
        let action = match kind {
            TokenKind::Invite => "user.accept_invitation",
            TokenKind::Reset => "user.complete_reset",
        };
        Record::about_oneself(&user.id, &current.user_name, now, action).append(tx)?;
        users::load(tx, &user.id)
    })
}

/// May the actor change the password of user `id` (their own when `None`)? Only their own.
pub(super) fn may_change_password(actor: &Actor, id: Option<&str>) -> Result<()> {
    if id.is_some_and(|id| !actor.is(id)) {
        return Err(Error::forbidden(
            "You can change only your own password; use Reset password for others.",
        ));
    }
    Ok(())
}

/// Changes the password of the user `id` (the credential's own user when `None`), who must
/// be the one acting.
pub(super) fn change_password<S: Store>(
    dir: &StoredDirectory<S>,
    credential: &Credential,
    id: Option<&str>,
    old_password: &Secret,
    new_password: &Secret,
) -> Result<ChangePasswordResult> {
    let (user, hash, min_length) = dir.read(credential, |tx, actor, _| {
        let id = id.unwrap_or(actor.id.as_str());
        may_change_password(actor, Some(id))?;
        Ok((
            users::load(tx, id)?,
            tx.password_hash(id)?,
            tx.settings()?.password_min_length,
        ))
    })?;
    let Some(hash) = hash.filter(|_| user.user_type == UserType::Native) else {
        return Err(Error::StateConflict(
            "This account's password is not managed by Keyward.".to_owned(),
        ));
    };
    // Guessing the old password is limited like signing in.
    let name_key = user.user_name.to_lowercase();
    reserve_attempt(dir, &name_key)?;
    if password::verify(old_password.expose(), &hash) == Verified::No {
        dir.write(|tx, now| {
            Record::about_oneself(&user.id, &user.user_name, now, "user.change_password")
                .outcome(Outcome::Failure)
                .detail("wrong current password")
                .append(tx)
        })?;
        return Ok(ChangePasswordResult {
            succeeded: false,
            errors: vec![PolicyError {
                code: "PASSWORD_MISMATCH".to_owned(),
                description: "The current password is not correct.".to_owned(),
            }],
        });
    }
    let errors = policy_errors(new_password, min_length, &user.user_name, &user.email);
    if !errors.is_empty() {
        return Ok(ChangePasswordResult {
            succeeded: false,
            errors,
        });
    }
    let new_hash = password::hash(new_password.expose());
    let id = user.id.as_str();
    // Other sessions end; the one that made the change goes on.
    let keep = match credential {
        Credential::Session(token) => Some(token.digest()),
        Credential::ApiKey(_) => None,
    };
    dir.mutate(
        credential,
        "user.change_password",
        Some(id),
        |tx, actor, now| {
            tx.change_user(
                id,
                &UserChange {
                    password_hash: Some(&new_hash),
                    ..Default::default()
                },
            )?;
            tx.touch_users(&[id.to_owned()], now)?;
            tx.clear_sign_in_failures(&name_key)?;
            tx.delete_sessions_of(id, keep.as_ref())?;
            Record::by(actor, now, "user.change_password")
                .target("user", id, &actor.user_name)
                .append(tx)?;
            Ok(ChangePasswordResult {
                succeeded: true,
                errors: Vec::new(),
            })
        },
    )
}

pub(super) fn managed_user(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<User> {
    let user = users::load(tx, id)?;
    actor.may_manage(&actors::subject(tx, id)?)?;
    Ok(user)
}

pub(super) fn issue_reset(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<IssuedToken> {
    actor.require(Permission::RESET_PASSWORD)?;
    let user = managed_user(tx, actor, id)?;
    let refusal = match (user.user_type, user.status) {
        (UserType::External, _) => Some("The password of an external user is managed elsewhere."),
        (_, UserStatus::Invited) => {
            Some("This user has not accepted their invitation yet: send a new invite instead.")
        }
        (_, UserStatus::Inactive) => Some("This user is deactivated: activate them first."),
        _ => None,
    };
    if let Some(reason) = refusal {
        return Err(Error::StateConflict(reason.to_owned()));
    }
    let issued = tokens::issue(tx, id, TokenKind::Reset, now)?;
    Record::by(actor, now, "user.reset_password")
        .target("user", id, &user.user_name)
        .detail("one-time reset link issued, valid 1 hour")
        .append(tx)?;
    Ok(issued)
}

pub(super) fn reissue_invitation(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    id: &str,
) -> Result<IssuedToken> {
    actor.require(Permission::CREATE_USER)?;
    let user = managed_user(tx, actor, id)?;
    if user.status != UserStatus::Invited {
        return Err(Error::StateConflict(
            "Only a user who is still invited can be sent a new invitation.".to_owned(),
        ));
    }
    let issued = tokens::issue(tx, id, TokenKind::Invite, now)?;
    Record::by(actor, now, "user.invite")
        .target("user", id, &user.user_name)
        .detail("new invitation link issued, valid 7 days; the previous one stopped working")
        .append(tx)?;
    Ok(issued)
}

//! Who is acting: the first SuperAdmin, sign-in with lockout, sessions, invitation and reset
//! tokens, password changes, and resolving a credential to an [`Actor`].

use super::audit::Record;
use super::{keys, settings, to_ms, users, SqliteDirectory};
use crate::core::access::Actor;
use crate::core::model::*;
use crate::core::names::{DisplayName, Email, UserName};
use crate::core::password::{self, PolicyContext, PolicyError, Verified};
use crate::core::permission::Permission;
use crate::core::secret::{generate_token, Secret};
use crate::core::{Error, FieldErrors, Result};
use chrono::TimeDelta;
use rusqlite::{params, Connection, OptionalExtension};

/// The longest a sign-in lockout lasts, however many failures there were.
const MAX_LOCKOUT_SECONDS: i64 = 15 * 60;
/// Failures older than this are forgotten.
const FAILURE_MEMORY: TimeDelta = TimeDelta::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    Invite,
    Reset,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Invite => "INVITE",
            TokenKind::Reset => "RESET",
        }
    }

    fn lifetime(self) -> TimeDelta {
        match self {
            TokenKind::Invite => TimeDelta::days(7),
            TokenKind::Reset => TimeDelta::hours(1),
        }
    }
}

/// Issues a one-time token for a user, replacing any earlier one of the same kind.
pub(super) fn issue_token(
    conn: &Connection,
    user_id: &str,
    kind: TokenKind,
    now: Time,
) -> Result<IssuedToken> {
    conn.execute(
        "DELETE FROM user_tokens WHERE user_id = ?1 AND kind = ?2",
        params![user_id, kind.as_str()],
    )?;
    let token = generate_token();
    let expires_time = now + kind.lifetime();
    conn.execute(
        "INSERT INTO user_tokens (hash, user_id, kind, expires_time) VALUES (?1, ?2, ?3, ?4)",
        params![
            &token.digest()[..],
            user_id,
            kind.as_str(),
            to_ms(expires_time)
        ],
    )?;
    Ok(IssuedToken {
        token,
        expires_time,
        link: None,
    })
}

pub(super) struct Resolved {
    pub actor: Actor,
    /// A key whose lastUsedTime is due for an update, left to the caller on a read connection.
    pub touch_key: Option<String>,
}

fn actor_for(conn: &Connection, id: String, user_name: String) -> Result<Actor> {
    let (permissions, is_super_admin) = users::effective_permissions(conn, &id)?;
    Ok(Actor {
        id,
        user_name,
        permissions,
        is_super_admin,
    })
}

/// Resolves a credential to the user acting with it. Sessions need an active user who may
/// still sign in; keys must verify as VALID.
pub(super) fn resolve(
    conn: &Connection,
    credential: &Credential,
    now: Time,
    writable: bool,
) -> Result<Resolved> {
    match credential {
        Credential::Session(token) => {
            let found = conn
                .prepare_cached(
                    "SELECT u.id, u.user_name FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.hash = ?1 AND s.expires_time > ?2 AND u.status = 'ACTIVE'",
                )?
                .query_row(params![&token.digest()[..], to_ms(now)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()?;
            let (id, user_name) = found.ok_or(Error::Unauthenticated)?;
            let actor = actor_for(conn, id, user_name)?;
            if !actor.permissions.contains(Permission::SIGN_IN) {
                return Err(Error::Unauthenticated);
            }
            Ok(Resolved {
                actor,
                touch_key: None,
            })
        }
        Credential::ApiKey(key) => {
            let (verification, touch) = keys::verify(conn, key.expose(), now)?;
            let (Some(id), Some(user_name), true) = (
                verification.user_id,
                verification.user_name,
                verification.valid,
            ) else {
                return Err(Error::Unauthenticated);
            };
            let mut touch_key = touch;
            if writable {
                if let Some(key_id) = touch_key.take() {
                    keys::touch(conn, &key_id, now)?;
                }
            }
            Ok(Resolved {
                actor: actor_for(conn, id, user_name)?,
                touch_key,
            })
        }
    }
}

pub(super) fn me(conn: &Connection, actor: &Actor) -> Result<Me> {
    let user = users::load(conn, &actor.id)?;
    let mut roles: Vec<String> = conn
        .prepare_cached(
            "SELECT role_id FROM user_roles WHERE user_id = ?1
             UNION
             SELECT gr.role_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id
             WHERE gm.user_id = ?1",
        )?
        .query_map([&actor.id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    roles.sort();
    Ok(Me {
        id: user.id,
        user_name: user.user_name,
        display_name: user.display_name,
        email: user.email,
        roles,
        permissions: actor.permissions,
    })
}

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

pub(super) fn create_first_admin(dir: &SqliteDirectory, admin: FirstAdmin) -> Result<User> {
    let min_length = {
        let conn = dir.reader()?;
        settings::load(&conn)?.password_min_length
    };
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
        let empty: bool =
            tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
        if !empty {
            return Err(Error::StateConflict(
                "This directory already has users: sign in instead.".to_owned(),
            ));
        }
        let id = users::insert_row(
            tx,
            &users::NewRow {
                user_name: &user_name,
                display_name: &display_name,
                email: &email,
                status: UserStatus::Active,
                user_type: UserType::Native,
                password_hash: Some(&hash),
            },
            now,
        )?;
        tx.execute(
            "INSERT INTO user_roles (user_id, role_id) VALUES (?1, ?2)",
            params![id, crate::core::permission::BuiltinRole::SuperAdmin.id()],
        )?;
        Record::by_user(&id, user_name.as_str(), now, "directory.setup")
            .target("user", &id, user_name.as_str())
            .detail("first SuperAdmin created")
            .append(tx)?;
        users::load(tx, &id)
    })
}

struct Candidate {
    id: String,
    user_name: String,
    password_hash: Option<String>,
}

fn lockout_seconds_left(
    conn: &Connection,
    name_key: &str,
    threshold: u32,
    now: Time,
) -> Result<Option<u64>> {
    let row = conn
        .prepare_cached(
            "SELECT failures, last_failure_time FROM sign_in_failures WHERE user_name_key = ?1",
        )?
        .query_row([name_key], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?;
    let Some((failures, last)) = row else {
        return Ok(None);
    };
    if failures < i64::from(threshold) || to_ms(now) - last > FAILURE_MEMORY.num_milliseconds() {
        return Ok(None);
    }
    // Doubles with every failure past the threshold: 2 s, 4 s, 8 s, … up to 15 minutes.
    let exponent = (failures - i64::from(threshold) + 1).min(20) as u32;
    let delay_ms = 2_i64.pow(exponent).min(MAX_LOCKOUT_SECONDS) * 1000;
    let left = last + delay_ms - to_ms(now);
    Ok((left > 0).then(|| (left as u64).div_ceil(1000)))
}

fn record_failure(conn: &Connection, name_key: &str, now: Time) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sign_in_failures (user_name_key, failures, last_failure_time)
         VALUES (?1, 1, ?2)
         ON CONFLICT (user_name_key) DO UPDATE SET
             failures = CASE WHEN ?2 - last_failure_time > ?3 THEN 1 ELSE failures + 1 END,
             last_failure_time = ?2",
    )?
    .execute(params![
        name_key,
        to_ms(now),
        FAILURE_MEMORY.num_milliseconds()
    ])?;
    Ok(())
}

/// Refuses the attempt while the name is locked out; otherwise counts it as a failure until
/// it succeeds. Returns the settings read in the same transaction.
fn reserve_attempt(dir: &SqliteDirectory, name_key: &str) -> Result<Settings> {
    dir.write(|tx, now| {
        let settings = settings::load(tx)?;
        if let Some(wait) = lockout_seconds_left(tx, name_key, settings.lockout_threshold, now)? {
            return Err(Error::RateLimited(wait));
        }
        record_failure(tx, name_key, now)?;
        Ok(settings)
    })
}

pub(super) fn sign_in(
    dir: &SqliteDirectory,
    user_name: &str,
    password: &Secret,
) -> Result<SignedIn> {
    let name_key = user_name.trim().to_lowercase();
    // The lockout is checked and the attempt counted as a failure in one transaction before
    // the password is checked, so parallel attempts cannot all slip past one check; success
    // clears the count.
    let settings = reserve_attempt(dir, &name_key)?;
    let candidate = {
        let conn = dir.reader()?;
        let found = conn
            .prepare_cached(
                "SELECT id, user_name, password_hash FROM users WHERE user_name_key = ?1",
            )?
            .query_row([&name_key], |r| {
                Ok(Candidate {
                    id: r.get(0)?,
                    user_name: r.get(1)?,
                    password_hash: r.get(2)?,
                })
            })
            .optional()?;
        found
    };
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
            dir.write(|tx, now| {
                if let Some(c) = &candidate {
                    Record::by_user(&c.id, &c.user_name, now, "auth.sign_in")
                        .target("user", &c.id, &c.user_name)
                        .outcome(Outcome::Failure)
                        .detail("wrong password")
                        .append(tx)?;
                }
                Ok(())
            })?;
            return Err(Error::SignInFailed);
        }
    };
    let rehash = (verified == Verified::YesRehash).then(|| password::hash(password.expose()));
    dir.write(|tx, now| {
        let user = users::load(tx, &candidate.id)?;
        if user.status != UserStatus::Active {
            return Err(Error::forbidden(
                "This account is deactivated. Ask an administrator to activate it.",
            ));
        }
        let (permissions, _) = users::effective_permissions(tx, &user.id)?;
        if !permissions.contains(Permission::SIGN_IN) {
            return Err(Error::forbidden(
                "This account cannot sign in to the console; it works with API keys only.",
            ));
        }
        tx.execute("DELETE FROM sign_in_failures WHERE user_name_key = ?1", [&name_key])?;
        if let Some(hash) = &rehash {
            tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![user.id, hash],
            )?;
        }
        tx.execute(
            "UPDATE users SET last_login_time = ?2 WHERE id = ?1",
            params![user.id, to_ms(now)],
        )?;
        // Sessions past their expiry are of no use to anyone: sweep them while here.
        tx.execute("DELETE FROM sessions WHERE expires_time <= ?1", [to_ms(now)])?;
        let token = generate_token();
        let expires_time = now + TimeDelta::minutes(i64::from(settings.session_lifetime_minutes));
        tx.execute(
            "INSERT INTO sessions (hash, user_id, created_time, expires_time) VALUES (?1, ?2, ?3, ?4)",
            params![&token.digest()[..], user.id, to_ms(now), to_ms(expires_time)],
        )?;
        Record::by_user(&user.id, &user.user_name, now, "auth.sign_in")
            .target("user", &user.id, &user.user_name)
            .detail(if rehash.is_some() { "password hash upgraded" } else { "signed in" })
            .append(tx)?;
        Ok(SignedIn {
            access_token: token,
            expires_time,
            user: users::load(tx, &user.id)?,
        })
    })
}

pub(super) fn sign_out(dir: &SqliteDirectory, credential: &Credential) -> Result<()> {
    let Credential::Session(token) = credential else {
        return Ok(());
    };
    dir.write(|tx, now| {
        let user = resolve(tx, credential, now, true)?.actor;
        tx.execute(
            "DELETE FROM sessions WHERE hash = ?1",
            [&token.digest()[..]],
        )?;
        Record::by(&user, now, "auth.sign_out").append(tx)
    })
}

fn token_owner(
    conn: &Connection,
    kind: TokenKind,
    token: &Secret,
    now: Time,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id FROM user_tokens WHERE hash = ?1 AND kind = ?2 AND expires_time > ?3",
        )?
        .query_row(
            params![&token.digest()[..], kind.as_str(), to_ms(now)],
            |r| r.get(0),
        )
        .optional()?)
}

fn invalid_token() -> Error {
    Error::invalid(
        "token",
        "This link is not valid any more: it was used, replaced or has expired. Ask for a new one.",
    )
}

/// Sets a password from an invitation or reset token, once.
pub(super) fn redeem_token(
    dir: &SqliteDirectory,
    kind: TokenKind,
    token: &Secret,
    new_password: &Secret,
) -> Result<User> {
    let now = dir.now();
    let (user, min_length) = {
        let conn = dir.reader()?;
        let user_id = token_owner(&conn, kind, token, now)?.ok_or_else(invalid_token)?;
        (
            users::load(&conn, &user_id)?,
            settings::load(&conn)?.password_min_length,
        )
    };
    let problems = policy_errors(new_password, min_length, &user.user_name, &user.email);
    if !problems.is_empty() {
        return Err(Error::Invalid(as_field_errors("password", problems)));
    }
    let hash = password::hash(new_password.expose());
    dir.write(|tx, now| {
        // The token is spent by this statement; a second use finds nothing.
        let spent = tx.execute(
            "DELETE FROM user_tokens WHERE hash = ?1 AND kind = ?2 AND expires_time > ?3 AND user_id = ?4",
            params![&token.digest()[..], kind.as_str(), to_ms(now), user.id],
        )?;
        if spent == 0 {
            return Err(invalid_token());
        }
        tx.execute(
            "UPDATE users SET password_hash = ?2, last_updated_time = ?3,
                    update_version = update_version + 1,
                    status = CASE WHEN ?4 AND status = 'INVITED' THEN 'ACTIVE' ELSE status END
             WHERE id = ?1",
            params![user.id, hash, to_ms(now), kind == TokenKind::Invite],
        )?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&user.id])?;
        tx.execute(
            "DELETE FROM sign_in_failures WHERE user_name_key = ?1",
            [user.user_name.to_lowercase()],
        )?;
        let action = match kind {
            TokenKind::Invite => "user.accept_invitation",
            TokenKind::Reset => "user.complete_reset",
        };
        Record::by_user(&user.id, &user.user_name, now, action)
            .target("user", &user.id, &user.user_name)
            .append(tx)?;
        users::load(tx, &user.id)
    })
}

pub(super) fn change_password(
    dir: &SqliteDirectory,
    credential: &Credential,
    id: &str,
    old_password: &Secret,
    new_password: &Secret,
) -> Result<ChangePasswordResult> {
    let (user, hash, min_length) = dir.read(credential, |conn, actor, _| {
        if !actor.is(id) {
            return Err(Error::forbidden(
                "You can change only your own password; use Reset password for others.",
            ));
        }
        let user = users::load(conn, id)?;
        let hash: Option<String> =
            conn.query_row("SELECT password_hash FROM users WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
        Ok((user, hash, settings::load(conn)?.password_min_length))
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
            Record::by_user(&user.id, &user.user_name, now, "user.change_password")
                .target("user", &user.id, &user.user_name)
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
    dir.mutate(
        credential,
        "user.change_password",
        Some(id),
        |tx, actor, now| {
            tx.execute(
                "UPDATE users SET password_hash = ?2, last_updated_time = ?3,
                        update_version = update_version + 1
                 WHERE id = ?1",
                params![id, new_hash, to_ms(now)],
            )?;
            tx.execute(
                "DELETE FROM sign_in_failures WHERE user_name_key = ?1",
                [&name_key],
            )?;
            // Other sessions end; the one that made the change goes on.
            let keep: Vec<u8> = match credential {
                Credential::Session(token) => token.digest().to_vec(),
                Credential::ApiKey(_) => Vec::new(),
            };
            tx.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND hash <> ?2",
                params![id, keep],
            )?;
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

fn managed_user(conn: &Connection, actor: &Actor, id: &str) -> Result<User> {
    let user = users::load(conn, id)?;
    actor.may_manage(&users::subject(conn, id)?)?;
    Ok(user)
}

pub(super) fn issue_reset(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    id: &str,
) -> Result<IssuedToken> {
    actor.require(Permission::RESET_PASSWORD)?;
    let user = managed_user(conn, actor, id)?;
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
    let issued = issue_token(conn, id, TokenKind::Reset, now)?;
    Record::by(actor, now, "user.reset_password")
        .target("user", id, &user.user_name)
        .detail("one-time reset link issued, valid 1 hour")
        .append(conn)?;
    Ok(issued)
}

pub(super) fn reissue_invitation(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    id: &str,
) -> Result<IssuedToken> {
    actor.require(Permission::CREATE_USER)?;
    let user = managed_user(conn, actor, id)?;
    if user.status != UserStatus::Invited {
        return Err(Error::StateConflict(
            "Only a user who is still invited can be sent a new invitation.".to_owned(),
        ));
    }
    let issued = issue_token(conn, id, TokenKind::Invite, now)?;
    Record::by(actor, now, "user.invite")
        .target("user", id, &user.user_name)
        .detail("new invitation link issued, valid 7 days; the previous one stopped working")
        .append(conn)?;
    Ok(issued)
}

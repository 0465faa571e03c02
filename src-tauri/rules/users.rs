//! Users: listing (search, filters, sorting, paging), creation with a password or an
//! invitation, imports, changes with optimistic concurrency, deactivation and deletion.

use super::actors;
use super::audit::Record;
use super::grants::{self, distinct_ids};
use super::mail::{self, Letter, Mail};
use super::run::StoredDirectory;
use super::storage::{NewUserRow, Store, TokenKind, Tx, Unique, UserChange, UserListing};
use super::tokens;
use crate::core::access::{Actor, Subject};
use crate::core::lifecycle::{self, same_version};
use crate::core::model::*;
use crate::core::names::{DisplayName, Email, UserName};
use crate::core::password::{self, PolicyContext};
use crate::core::permission::Permission;
use crate::core::{Error, FieldErrors, Result};

pub(super) fn load(tx: &dyn Tx, id: &str) -> Result<User> {
    tx.find_user(id)?.ok_or(Error::NotFound("user"))
}

pub(super) fn get(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<User> {
    if !actor.is(id) {
        actor.require(Permission::VIEW_USER)?;
    }
    with_mail(tx, load(tx, id)?)
}

/// The user with the last invitation or reset e-mailed to them.
fn with_mail(tx: &dyn Tx, mut user: User) -> Result<User> {
    user.mail = mail::last_link_mail(tx, &user.id)?;
    Ok(user)
}

/// The user with this id, or else the one with exactly this user name (any case). Without
/// VIEW_USER only oneself is found, and nobody learns whether another user exists.
pub(super) fn find(tx: &dyn Tx, actor: &Actor, name_or_id: &str) -> Result<User> {
    let wanted = name_or_id.trim();
    let id = if tx.user_exists(wanted)? {
        Some(wanted.to_owned())
    } else {
        tx.find_user_id_by_name(&wanted.to_lowercase())?
    };
    match id {
        Some(id) if actor.is(&id) => with_mail(tx, load(tx, &id)?),
        id => {
            actor.require(Permission::VIEW_USER)?;
            with_mail(tx, load(tx, &id.ok_or(Error::NotFound("user"))?)?)
        }
    }
}

/// Refuses a user name or e-mail that another user has, on each field that is taken.
fn check_unique(
    tx: &dyn Tx,
    user_name: Option<&UserName>,
    email: Option<&Email>,
    except_id: &str,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    let mut taken = |unique: Unique| errors.add(unique.field(), unique.message());
    if let Some(name) = user_name {
        if tx.user_name_in_use(name, except_id)? {
            taken(Unique::UserName);
        }
    }
    if let Some(email) = email {
        if tx.email_in_use(email, except_id)? {
            taken(Unique::Email);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Duplicate(errors))
    }
}

/// A user row about to be inserted, after checking that its name and e-mail are free.
pub(super) fn insert_row(tx: &dyn Tx, user: &NewUserRow<'_>) -> Result<()> {
    check_unique(tx, Some(user.user_name), Some(user.email), user.id)?;
    tx.insert_user(user)
}

/// Input of a new user after parsing.
#[derive(Clone)]
struct Parsed {
    user_name: UserName,
    display_name: DisplayName,
    email: Email,
    user_type: UserType,
    start: lifecycle::Start,
    roles: Vec<String>,
    groups: Vec<String>,
}

fn parse_new(user: &NewUser, min_length: u32) -> Result<Parsed> {
    let mut errors = FieldErrors::new();
    let user_name = errors.check("userName", UserName::parse(&user.user_name));
    let display_name = errors.check("displayName", DisplayName::parse(&user.display_name));
    let email = errors.check("email", Email::parse(&user.email));
    let user_type = user.user_type.unwrap_or_default();
    let start = lifecycle::start(user_type, user.password.is_some(), user.status)
        .map_err(|(field, message)| errors.add(field, message))
        .ok();
    if let (Some(password), Some(name), Some(email)) = (&user.password, &user_name, &email) {
        let context = PolicyContext {
            min_length,
            user_name: name.as_str(),
            email: email.as_str(),
        };
        for problem in password::check_policy(password.expose(), &context) {
            errors.add("password", problem.description);
        }
    }
    errors.into_result()?;
    match (user_name, display_name, email, start) {
        (Some(user_name), Some(display_name), Some(email), Some(start)) => Ok(Parsed {
            user_name,
            display_name,
            email,
            user_type,
            start,
            roles: distinct_ids(&user.roles),
            groups: distinct_ids(&user.groups),
        }),
        // Each None above added a field error, so into_result returned.
        _ => Err(Error::invalid("userName", "Enter a user name.")),
    }
}

/// May the actor create users (one, or by import)?
pub(super) fn may_create(actor: &Actor) -> Result<()> {
    actor.require(Permission::CREATE_USER)
}

/// May the actor change this user? The user as they are, and as the target of the change.
pub(super) fn may_update(tx: &dyn Tx, actor: &Actor, id: &str) -> Result<(User, Subject)> {
    actor.require(Permission::EDIT_USER)?;
    let current = load(tx, id)?;
    let target = actors::subject(tx, id)?;
    actor.may_manage(&target)?;
    Ok((current, target))
}

/// The password policy's minimum length, read by a caller who may create users.
fn creation_policy<S: Store>(dir: &StoredDirectory<S>, credential: &Credential) -> Result<u32> {
    dir.read(credential, |tx, actor, _| {
        may_create(actor)?;
        Ok(tx.settings()?.password_min_length)
    })
}

pub(super) fn create<S: Store>(
    dir: &StoredDirectory<S>,
    credential: &Credential,
    user: &NewUser,
) -> Result<CreatedUser> {
    let parsed = parse_new(user, creation_policy(dir, credential)?)?;
    // Hash before the write transaction: it is the slow part.
    let password_hash = user.password.as_ref().map(|p| password::hash(p.expose()));
    dir.mutate_mailing(
        credential,
        "user.create",
        None,
        |tx, actor, now, letters| {
            let mut created = insert(tx, actor, now, &parsed, password_hash.as_deref())?;
            mail_invitation(tx, dir.mail(), actor, now, &mut created, letters)?;
            Ok(created)
        },
    )
}

/// Adds many users in one transaction: all of them, or none when any row is refused. Every
/// refused row is reported, its field errors named `rows.INDEX.FIELD` (INDEX from 0). A dry
/// run checks everything the same way, then rolls back.
pub(super) fn import<S: Store>(
    dir: &StoredDirectory<S>,
    credential: &Credential,
    rows: &[NewUser],
    dry_run: bool,
) -> Result<ImportReport> {
    let min_length = creation_policy(dir, credential)?;
    let mut parse_errors = FieldErrors::new();
    let parsed: Vec<Option<Parsed>> = rows
        .iter()
        .enumerate()
        .map(|(row, user)| match parse_new(user, min_length) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                add_row_errors(&mut parse_errors, row, &error);
                None
            }
        })
        .collect();
    // Hashing is slow: only for an import that can still succeed, before the transaction.
    let hashes: Vec<Option<String>> = if parse_errors.is_empty() && !dry_run {
        rows.iter()
            .map(|u| u.password.as_ref().map(|p| password::hash(p.expose())))
            .collect()
    } else {
        vec![None; rows.len()]
    };
    let change = |tx: &dyn Tx, actor: &Actor, now: Time, letters: &mut Vec<Letter>| {
        let mut errors = parse_errors.clone();
        let mut created = Vec::new();
        for (row, (user, hash)) in parsed.iter().zip(&hashes).enumerate() {
            let Some(user) = user else { continue };
            tx.savepoint()?;
            match insert(tx, actor, now, user, hash.as_deref()) {
                Ok(user) => {
                    tx.release_savepoint()?;
                    created.push(user);
                }
                Err(error @ (Error::Invalid(_) | Error::Duplicate(_))) => {
                    tx.roll_back_savepoint()?;
                    add_row_errors(&mut errors, row, &error);
                }
                Err(other) => return Err(other),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        if !dry_run {
            for user in &mut created {
                mail_invitation(tx, dir.mail(), actor, now, user, letters)?;
            }
        }
        Ok(ImportReport {
            dry_run,
            count: rows.len(),
            users: if dry_run { Vec::new() } else { created },
        })
    };
    if dry_run {
        let mut letters = Vec::new();
        dir.rehearse(credential, "user.import", |tx, actor, now| {
            change(tx, actor, now, &mut letters)
        })
    } else {
        dir.mutate_mailing(credential, "user.import", None, change)
    }
}

/// The e-mail taking a created user's invitation to them, where the directory sends e-mail.
fn mail_invitation(
    tx: &dyn Tx,
    mail: Option<&Mail>,
    actor: &Actor,
    now: Time,
    created: &mut CreatedUser,
    letters: &mut Vec<Letter>,
) -> Result<()> {
    match created.invitation.as_mut() {
        Some(invitation) => mail::queue_link(
            tx,
            mail,
            actor,
            now,
            &created.user,
            MailKind::Invitation,
            invitation,
            letters,
        ),
        None => Ok(()),
    }
}

fn add_row_errors(errors: &mut FieldErrors, row: usize, error: &Error) {
    match error.field_errors() {
        Some(fields) => {
            for (field, messages) in &fields.0 {
                for message in messages {
                    errors.add(&format!("rows.{row}.{field}"), message.clone());
                }
            }
        }
        None => errors.add(&format!("rows.{row}"), error.to_string()),
    }
}

/// Adds a parsed user, with the checks that need the directory, in the caller's transaction.
fn insert(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    user: &Parsed,
    password_hash: Option<&str>,
) -> Result<CreatedUser> {
    may_create(actor)?;
    let (role_permissions, grants_super_admin) = grants::of_roles(tx, &user.roles, "roles")?;
    let (group_permissions, group_super_admin) = grants::of_groups(tx, &user.groups, "groups")?;
    let granted = role_permissions.union(group_permissions);
    actor.may_grant(granted, grants_super_admin || group_super_admin)?;
    if user.start.service_account && granted.contains(Permission::SIGN_IN) {
        return Err(Error::invalid(
            "password",
            "Enter a password, or leave it empty to invite the user. \
             Only accounts that cannot sign in may be active without one.",
        ));
    }
    let id = new_id();
    let status = user.start.status;
    insert_row(
        tx,
        &NewUserRow {
            id: &id,
            user_name: &user.user_name,
            display_name: &user.display_name,
            email: &user.email,
            status,
            user_type: user.user_type,
            password_hash,
            created_time: now,
        },
    )?;
    tx.set_user_roles(&id, &user.roles)?;
    if !user.groups.is_empty() {
        tx.set_user_groups(&id, &user.groups)?;
        // Groups gaining a member change too.
        tx.touch_groups(&user.groups, now)?;
    }
    let invitation = if status == UserStatus::Invited {
        Some(tokens::issue(tx, &id, TokenKind::Invite, now)?)
    } else {
        None
    };
    Record::by(actor, now, "user.create")
        .target("user", &id, user.user_name.as_str())
        .detail(format!(
            "status: {}, type: {}, roles: [{}], groups: [{}]",
            status.as_str(),
            user.user_type.as_str(),
            user.roles.join(", "),
            user.groups.join(", ")
        ))
        .append(tx)?;
    Ok(CreatedUser {
        user: load(tx, &id)?,
        invitation,
    })
}

pub(super) fn update(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    id: &str,
    update: &UserUpdate,
) -> Result<User> {
    let (current, target) = may_update(tx, actor, id)?;
    same_version(update.update_version, current.update_version, "user")?;
    let mut errors = FieldErrors::new();
    let user_name = update
        .user_name
        .as_deref()
        .and_then(|v| errors.check("userName", UserName::parse(v)));
    let display_name = update
        .display_name
        .as_deref()
        .and_then(|v| errors.check("displayName", DisplayName::parse(v)));
    let email = update
        .email
        .as_deref()
        .and_then(|v| errors.check("email", Email::parse(v)));
    let passwordless = current.user_type == UserType::Native && tx.password_hash(id)?.is_none();
    if let Some(requested) = update.status {
        let can_sign_in = target.permissions.contains(Permission::SIGN_IN);
        if let Some(refusal) =
            lifecycle::status_change(current.status, requested, passwordless, can_sign_in)
        {
            errors.add("status", refusal);
        }
    }
    let roles = update.roles.as_deref().map(distinct_ids);
    if let Some(roles) = &roles {
        if current.user_type == UserType::External && *roles != current.roles {
            errors.add(
                "roles",
                "The roles of an external user are managed where the identity lives.",
            );
        }
    }
    let groups = update.groups.as_deref().map(distinct_ids);
    if let Some(groups) = &groups {
        if current.user_type == UserType::External {
            // The group mapping sets these at each sign-in through the provider (SPEC 11).
            let settings = tx.settings()?;
            let changed = groups
                .iter()
                .filter(|g| !current.groups.contains(g))
                .chain(current.groups.iter().filter(|g| !groups.contains(g)));
            for group in changed {
                if settings
                    .provider_groups
                    .iter()
                    .any(|l| &l.group_id == group)
                {
                    let name = tx
                        .find_group(group)?
                        .map_or_else(|| group.clone(), |g| g.name);
                    errors.add(
                        "groups",
                        format!(
                            "Membership of {name} comes from the identity provider: it is set \
                             at each sign-in."
                        ),
                    );
                }
            }
        }
    }
    errors.into_result()?;

    // Whatever is added is granted, and needs the actor to hold it.
    if let Some(roles) = &roles {
        let added: Vec<String> = roles
            .iter()
            .filter(|r| !current.roles.contains(r))
            .cloned()
            .collect();
        let (permissions, super_admin) = grants::of_roles(tx, &added, "roles")?;
        actor.may_grant(permissions, super_admin)?;
    }
    if let Some(groups) = &groups {
        let added: Vec<String> = groups
            .iter()
            .filter(|g| !current.groups.contains(g))
            .cloned()
            .collect();
        let (permissions, super_admin) = grants::of_groups(tx, &added, "groups")?;
        actor.may_grant(permissions, super_admin)?;
    }
    check_unique(tx, user_name.as_ref(), email.as_ref(), id)?;

    let mut changed = Vec::new();
    if user_name
        .as_ref()
        .is_some_and(|n| n.as_str() != current.user_name)
    {
        changed.push("userName");
    }
    if display_name
        .as_ref()
        .is_some_and(|n| n.as_str() != current.display_name)
    {
        changed.push("displayName");
    }
    if email.as_ref().is_some_and(|e| e.as_str() != current.email) {
        changed.push("email");
    }
    let status = update.status.filter(|s| *s != current.status);
    if status.is_some() {
        changed.push("status");
    }
    let roles = roles.filter(|r| *r != current.roles);
    if roles.is_some() {
        changed.push("roles");
    }
    let groups = groups.filter(|g| *g != current.groups);
    if groups.is_some() {
        changed.push("groups");
    }
    if changed.is_empty() {
        return Ok(current);
    }
    tx.change_user(
        id,
        &UserChange {
            user_name: user_name.as_ref(),
            display_name: display_name.as_ref(),
            email: email.as_ref(),
            status,
            password_hash: None,
        },
    )?;
    if status == Some(UserStatus::Inactive) {
        // Deactivation ends every session at once; keys stop verifying by the status.
        tx.delete_sessions_of(id, None)?;
        tx.delete_tokens_of(id, None)?;
    }
    if let Some(roles) = &roles {
        tx.set_user_roles(id, roles)?;
    }
    if let Some(groups) = &groups {
        tx.set_user_groups(id, groups)?;
        // Groups gaining or losing this member change too.
        let mut touched: Vec<String> = current.groups.iter().chain(groups).cloned().collect();
        touched.sort();
        touched.dedup();
        tx.touch_groups(&touched, now)?;
    }
    tx.touch_users(&[id.to_owned()], now)?;
    grants::ensure_super_admin_remains(tx)?;
    let updated = load(tx, id)?;
    Record::by(actor, now, "user.update")
        .target("user", id, &updated.user_name)
        .detail(format!("changed: {}", changed.join(", ")))
        .append(tx)?;
    Ok(updated)
}

pub(super) fn delete(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<()> {
    actor.require(Permission::DELETE_USER)?;
    let current = load(tx, id)?;
    actor.may_manage(&actors::subject(tx, id)?)?;
    if actor.is(id) {
        return Err(Error::StateConflict(
            "You cannot delete your own account; ask another administrator.".to_owned(),
        ));
    }
    // Groups losing a member change too.
    tx.touch_groups(&current.groups, now)?;
    tx.delete_user(id)?;
    grants::ensure_super_admin_remains(tx)?;
    Record::by(actor, now, "user.delete")
        .target("user", id, &current.user_name)
        .append(tx)?;
    Ok(())
}

fn parse_sort(sort: Option<&str>) -> Result<(UserSort, bool)> {
    let Some(sort) = sort.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok((UserSort::UserName, false));
    };
    let (name, descending) = match sort.strip_prefix('-') {
        Some(name) => (name, true),
        None => (sort.strip_prefix('+').unwrap_or(sort), false),
    };
    UserSort::ALL
        .into_iter()
        .find(|s| s.as_str() == name)
        .map(|s| (s, descending))
        .ok_or_else(|| {
            let known: Vec<&str> = UserSort::ALL.iter().map(|s| s.as_str()).collect();
            Error::invalid(
                "sort",
                format!(
                    "Sort by one of {}, with - for descending.",
                    known.join(", ")
                ),
            )
        })
}

pub(super) fn list(tx: &dyn Tx, actor: &Actor, query: &UserQuery) -> Result<Page<User>> {
    actor.require(Permission::VIEW_USER)?;
    let page = PageRequest::parse(query.page, query.page_size)?;
    let (sort, descending) = parse_sort(query.sort.as_deref())?;
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let (items, total) = tx.list_users(&UserListing {
        search: search.as_deref(),
        status: query.status,
        role: query.role.as_deref().filter(|r| !r.is_empty()),
        group: query.group.as_deref().filter(|g| !g.is_empty()),
        sort,
        descending,
        page,
    })?;
    Ok(Page {
        items,
        page_info: page.info(total),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_sort;
    use crate::core::model::UserSort;

    #[test]
    fn sorting_names_a_known_column_with_an_optional_direction() {
        assert_eq!(parse_sort(None).unwrap(), (UserSort::UserName, false));
        assert_eq!(
            parse_sort(Some("-createdTime")).unwrap(),
            (UserSort::CreatedTime, true)
        );
        assert_eq!(
            parse_sort(Some("+email")).unwrap(),
            (UserSort::Email, false)
        );
        assert!(parse_sort(Some("password")).is_err());
    }
}

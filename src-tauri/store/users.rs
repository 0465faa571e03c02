//! Users: listing (search, filters, sorting, paging), creation with a password or an
//! invitation, changes with optimistic concurrency, deactivation and deletion.

use super::audit::Record;
use super::distinct_ids;
use super::{auth, groups, new_id, roles, settings, to_ms, SqliteDirectory};
use super::{from_ms, from_ms_opt};
use crate::core::access::{effective, Actor, Subject};
use crate::core::model::*;
use crate::core::names::{DisplayName, Email, UserName};
use crate::core::password::{self, PolicyContext};
use crate::core::permission::{BuiltinRole, Permission, PermissionSet};
use crate::core::{Error, FieldErrors, Result};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

const COLUMNS: &str = "u.id, u.user_name, u.display_name, u.email, u.status, u.type,
    u.created_time, u.last_updated_time, u.last_login_time, u.update_version";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let status: String = r.get(4)?;
    let user_type: String = r.get(5)?;
    Ok(User {
        id: r.get(0)?,
        user_name: r.get(1)?,
        display_name: r.get(2)?,
        email: r.get(3)?,
        // The table's CHECK constraints admit only these values.
        status: UserStatus::parse(&status).unwrap_or(UserStatus::Inactive),
        user_type: UserType::parse(&user_type).unwrap_or_default(),
        roles: Vec::new(),
        groups: Vec::new(),
        created_time: from_ms(r.get(6)?),
        last_updated_time: from_ms(r.get(7)?),
        last_login_time: from_ms_opt(r.get(8)?),
        update_version: r.get(9)?,
    })
}

fn with_memberships(conn: &Connection, user: User) -> Result<User> {
    let mut users = [user];
    add_memberships(conn, &mut users)?;
    let [user] = users;
    Ok(user)
}

/// Fills in the role and group ids of a page of users with two queries.
fn add_memberships(conn: &Connection, users: &mut [User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["?"; users.len()].join(", ");
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let position = |id: &str| ids.iter().position(|candidate| *candidate == id);
    let mut roles: Vec<Vec<String>> = vec![Vec::new(); users.len()];
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); users.len()];
    for (table, column, target) in [
        ("user_roles", "role_id", &mut roles),
        ("group_members", "group_id", &mut groups),
    ] {
        let sql = format!(
            "SELECT user_id, {column} FROM {table} WHERE user_id IN ({placeholders})
             ORDER BY user_id, {column}"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(ids.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (user_id, value) = row?;
            if let Some(index) = position(&user_id) {
                target[index].push(value);
            }
        }
    }
    for ((user, roles), groups) in users.iter_mut().zip(roles).zip(groups) {
        user.roles = roles;
        user.groups = groups;
    }
    Ok(())
}

pub(super) fn find(conn: &Connection, id: &str) -> Result<Option<User>> {
    let user = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?1"))?
        .query_row([id], from_row)
        .optional()?;
    user.map(|u| with_memberships(conn, u)).transpose()
}

pub(super) fn load(conn: &Connection, id: &str) -> Result<User> {
    find(conn, id)?.ok_or(Error::NotFound("user"))
}

/// The permissions a user holds through their roles and their groups' roles.
pub(super) fn effective_permissions(
    conn: &Connection,
    user_id: &str,
) -> Result<(PermissionSet, bool)> {
    // UNION ALL with plain joins: a role held twice is harmless to OR, and avoids the
    // temporary table a de-duplicating UNION builds on every call (this is on the hot path of
    // every request and every key verification).
    let mut statement = conn.prepare_cached(
        "SELECT r.id, r.permissions FROM user_roles ur JOIN roles r ON r.id = ur.role_id
         WHERE ur.user_id = ?1
         UNION ALL
         SELECT r.id, r.permissions FROM group_members gm
         JOIN group_roles gr ON gr.group_id = gm.group_id
         JOIN roles r ON r.id = gr.role_id
         WHERE gm.user_id = ?1",
    )?;
    let rows = statement
        .query_map([user_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(effective(rows.iter().map(|(id, bits)| {
        (id.as_str(), PermissionSet::from_bits(*bits))
    })))
}

pub(super) fn subject(conn: &Connection, user_id: &str) -> Result<Subject> {
    let (permissions, is_super_admin) = effective_permissions(conn, user_id)?;
    Ok(Subject {
        id: user_id.to_owned(),
        permissions,
        is_super_admin,
    })
}

/// Refuses a change that would leave the directory without an active SuperAdmin.
pub(super) fn ensure_super_admin_remains(conn: &Connection) -> Result<()> {
    let remaining: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM users WHERE status = 'ACTIVE' AND id IN (
                 SELECT user_id FROM user_roles WHERE role_id = ?1
                 UNION
                 SELECT gm.user_id FROM group_members gm
                 JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id = ?1)",
        )?
        .query_row([BuiltinRole::SuperAdmin.id()], |r| r.get(0))?;
    if remaining == 0 {
        return Err(Error::StateConflict(
            "This is the last active SuperAdmin: they cannot be deactivated, deleted or demoted."
                .to_owned(),
        ));
    }
    Ok(())
}

fn check_unique(
    conn: &Connection,
    user_name: Option<&UserName>,
    email: Option<&Email>,
    except_id: &str,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    if let Some(name) = user_name {
        let taken: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE user_name_key = ?1 AND id <> ?2)",
            params![name.key(), except_id],
            |r| r.get(0),
        )?;
        if taken {
            errors.add("userName", "This user name is taken.");
        }
    }
    if let Some(email) = email {
        let taken: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE email_key = ?1 AND id <> ?2)",
            params![email.key(), except_id],
            |r| r.get(0),
        )?;
        if taken {
            errors.add("email", "Another user has this e-mail address.");
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Duplicate(errors))
    }
}

fn set_roles(conn: &Connection, user_id: &str, role_ids: &[String]) -> Result<()> {
    conn.execute("DELETE FROM user_roles WHERE user_id = ?1", [user_id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO user_roles (user_id, role_id) VALUES (?1, ?2)")?;
    for role in role_ids {
        insert.execute([user_id, role])?;
    }
    Ok(())
}

fn set_groups(conn: &Connection, user_id: &str, group_ids: &[String], now: Time) -> Result<()> {
    // Groups gaining or losing this member change too.
    conn.execute(
        "UPDATE directory_groups SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?1)",
        params![user_id, to_ms(now)],
    )?;
    conn.execute("DELETE FROM group_members WHERE user_id = ?1", [user_id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)")?;
    let mut touch = conn.prepare_cached(
        "UPDATE directory_groups SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id = ?1",
    )?;
    for group in group_ids {
        insert.execute([group, user_id])?;
        touch.execute(params![group, to_ms(now)])?;
    }
    Ok(())
}

/// The columns of a new user row.
pub(super) struct NewRow<'a> {
    pub user_name: &'a UserName,
    pub display_name: &'a DisplayName,
    pub email: &'a Email,
    pub status: UserStatus,
    pub user_type: UserType,
    pub password_hash: Option<&'a str>,
}

/// Inserts a user row after checking that its name and e-mail are free; returns its id.
pub(super) fn insert_row(conn: &Connection, user: &NewRow<'_>, now: Time) -> Result<String> {
    let id = new_id();
    check_unique(conn, Some(user.user_name), Some(user.email), &id)?;
    conn.prepare_cached(
        "INSERT INTO users (id, user_name, user_name_key, display_name, display_name_key, email,
                            email_key, status, type, password_hash, created_time,
                            last_updated_time, update_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 1)",
    )?
    .execute(params![
        id,
        user.user_name.as_str(),
        user.user_name.key(),
        user.display_name.as_str(),
        user.display_name.key(),
        user.email.as_str(),
        user.email.key(),
        user.status.as_str(),
        user.user_type.as_str(),
        user.password_hash,
        to_ms(now),
    ])?;
    Ok(id)
}

/// Input of a new user after parsing.
struct Parsed {
    user_name: UserName,
    display_name: DisplayName,
    email: Email,
    user_type: UserType,
    status: UserStatus,
    roles: Vec<String>,
    groups: Vec<String>,
    /// Active without a password: an account that only uses API keys and cannot sign in.
    service_account: bool,
}

fn parse_new(user: &NewUser, min_length: u32) -> Result<Parsed> {
    let mut errors = FieldErrors::new();
    let user_name = errors.check("userName", UserName::parse(&user.user_name));
    let display_name = errors.check("displayName", DisplayName::parse(&user.display_name));
    let email = errors.check("email", Email::parse(&user.email));
    let user_type = user.user_type.unwrap_or_default();
    let mut service_account = false;
    let status = match (user_type, &user.password, user.status) {
        (UserType::External, Some(_), _) => {
            errors.add(
                "password",
                "External users have no password here: their identity is managed elsewhere.",
            );
            UserStatus::Active
        }
        (UserType::External, None, Some(UserStatus::Invited)) => {
            errors.add(
                "status",
                "External users are not invited; create them active.",
            );
            UserStatus::Invited
        }
        (UserType::External, None, status) => status.unwrap_or(UserStatus::Active),
        (UserType::Native, Some(_), Some(UserStatus::Invited)) => {
            errors.add(
                "status",
                "A user with a password is not invited; leave the password empty to invite.",
            );
            UserStatus::Invited
        }
        (UserType::Native, Some(_), status) => status.unwrap_or(UserStatus::Active),
        (UserType::Native, None, None | Some(UserStatus::Invited)) => UserStatus::Invited,
        (UserType::Native, None, Some(UserStatus::Active)) => {
            service_account = true;
            UserStatus::Active
        }
        (UserType::Native, None, Some(UserStatus::Inactive)) => UserStatus::Inactive,
    };
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
    match (user_name, display_name, email) {
        (Some(user_name), Some(display_name), Some(email)) => Ok(Parsed {
            user_name,
            display_name,
            email,
            user_type,
            status,
            roles: distinct_ids(&user.roles),
            groups: distinct_ids(&user.groups),
            service_account,
        }),
        // Each None above added a field error, so into_result returned.
        _ => Err(Error::invalid("userName", "Enter a user name.")),
    }
}

pub(super) fn create(
    dir: &SqliteDirectory,
    credential: &Credential,
    user: NewUser,
) -> Result<CreatedUser> {
    let policy = dir.read(credential, |conn, actor, _| {
        actor.require(Permission::CREATE_USER)?;
        settings::load(conn)
    })?;
    let parsed = parse_new(&user, policy.password_min_length)?;
    // Hash before taking the write lock: it is the slow part.
    let password_hash = user.password.as_ref().map(|p| password::hash(p.expose()));
    dir.mutate(credential, "user.create", None, |tx, actor, now| {
        insert(tx, actor, now, parsed, password_hash)
    })
}

/// Adds many users in one transaction: all of them, or none when any row is refused. Every
/// refused row is reported, its field errors named `rows.INDEX.FIELD` (INDEX from 0). A dry
/// run checks everything the same way, then rolls back.
pub(super) fn import(
    dir: &SqliteDirectory,
    credential: &Credential,
    rows: Vec<NewUser>,
    dry_run: bool,
) -> Result<ImportReport> {
    let policy = dir.read(credential, |conn, actor, _| {
        actor.require(Permission::CREATE_USER)?;
        settings::load(conn)
    })?;
    let mut errors = FieldErrors::new();
    let parsed: Vec<Option<Parsed>> = rows
        .iter()
        .enumerate()
        .map(
            |(row, user)| match parse_new(user, policy.password_min_length) {
                Ok(parsed) => Some(parsed),
                Err(error) => {
                    add_row_errors(&mut errors, row, &error);
                    None
                }
            },
        )
        .collect();
    // Hashing is slow: only for an import that can still succeed, before the write lock.
    let hashes: Vec<Option<String>> = if errors.is_empty() && !dry_run {
        rows.iter()
            .map(|u| u.password.as_ref().map(|p| password::hash(p.expose())))
            .collect()
    } else {
        vec![None; rows.len()]
    };
    let total = rows.len();
    let change = |tx: &rusqlite::Transaction<'_>, actor: &Actor, now: Time| {
        let mut created = Vec::new();
        for (row, (user, hash)) in parsed.into_iter().zip(hashes).enumerate() {
            let Some(user) = user else { continue };
            tx.execute_batch("SAVEPOINT import_row")?;
            match insert(tx, actor, now, user, hash) {
                Ok(user) => {
                    tx.execute_batch("RELEASE import_row")?;
                    created.push(user);
                }
                Err(error @ (Error::Invalid(_) | Error::Duplicate(_))) => {
                    tx.execute_batch("ROLLBACK TO import_row; RELEASE import_row")?;
                    add_row_errors(&mut errors, row, &error);
                }
                Err(other) => return Err(other),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(std::mem::take(&mut errors)));
        }
        Ok(ImportReport {
            dry_run,
            count: total,
            users: if dry_run { Vec::new() } else { created },
        })
    };
    if dry_run {
        dir.rehearse(credential, "user.import", change)
    } else {
        dir.mutate(credential, "user.import", None, change)
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

/// Adds a parsed user, with the checks that need the database, in the caller's transaction.
fn insert(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    user: Parsed,
    password_hash: Option<String>,
) -> Result<CreatedUser> {
    actor.require(Permission::CREATE_USER)?;
    let (role_permissions, grants_super_admin) = roles::permissions_of(conn, &user.roles, "roles")?;
    let (group_permissions, group_super_admin) =
        groups::permissions_of(conn, &user.groups, "groups")?;
    let granted = role_permissions.union(group_permissions);
    actor.may_grant(granted, grants_super_admin || group_super_admin)?;
    if user.service_account && granted.contains(Permission::SIGN_IN) {
        return Err(Error::invalid(
            "password",
            "Enter a password, or leave it empty to invite the user. \
             Only accounts that cannot sign in may be active without one.",
        ));
    }
    let id = insert_row(
        conn,
        &NewRow {
            user_name: &user.user_name,
            display_name: &user.display_name,
            email: &user.email,
            status: user.status,
            user_type: user.user_type,
            password_hash: password_hash.as_deref(),
        },
        now,
    )?;
    set_roles(conn, &id, &user.roles)?;
    if !user.groups.is_empty() {
        set_groups(conn, &id, &user.groups, now)?;
    }
    let invitation = if user.status == UserStatus::Invited {
        Some(auth::issue_token(conn, &id, auth::TokenKind::Invite, now)?)
    } else {
        None
    };
    Record::by(actor, now, "user.create")
        .target("user", &id, user.user_name.as_str())
        .detail(format!(
            "status: {}, type: {}, roles: [{}], groups: [{}]",
            user.status.as_str(),
            user.user_type.as_str(),
            user.roles.join(", "),
            user.groups.join(", ")
        ))
        .append(conn)?;
    Ok(CreatedUser {
        user: load(conn, &id)?,
        invitation,
    })
}

pub(super) fn update(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    id: &str,
    update: UserUpdate,
) -> Result<User> {
    actor.require(Permission::EDIT_USER)?;
    let current = load(conn, id)?;
    let target = subject(conn, id)?;
    actor.may_manage(&target)?;
    if update.update_version != current.update_version {
        return Err(Error::VersionConflict("user"));
    }
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
    let has_password: bool = conn.query_row(
        "SELECT password_hash IS NOT NULL FROM users WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let passwordless = current.user_type == UserType::Native && !has_password;
    match update.status {
        // A deactivated user who never set a password may be invited again.
        Some(UserStatus::Invited)
            if current.status != UserStatus::Invited
                && !(current.status == UserStatus::Inactive && passwordless) =>
        {
            errors.add(
                "status",
                "Only a user who never set a password can be invited again; activate them instead.",
            )
        }
        // Without a password only a service account (no SIGN_IN) can be active.
        Some(UserStatus::Active)
            if current.status != UserStatus::Active
                && passwordless
                && target.permissions.contains(Permission::SIGN_IN) =>
        {
            errors.add(
                "status",
                "This user has no password yet: they become active by accepting an invitation.",
            )
        }
        _ => {}
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
    errors.into_result()?;

    // Whatever is added is granted, and needs the actor to hold it.
    if let Some(roles) = &roles {
        let added: Vec<String> = roles
            .iter()
            .filter(|r| !current.roles.contains(r))
            .cloned()
            .collect();
        let (permissions, super_admin) = roles::permissions_of(conn, &added, "roles")?;
        actor.may_grant(permissions, super_admin)?;
    }
    if let Some(groups) = &groups {
        let added: Vec<String> = groups
            .iter()
            .filter(|g| !current.groups.contains(g))
            .cloned()
            .collect();
        let (permissions, super_admin) = groups::permissions_of(conn, &added, "groups")?;
        actor.may_grant(permissions, super_admin)?;
    }
    check_unique(conn, user_name.as_ref(), email.as_ref(), id)?;

    let mut changed = Vec::new();
    if let Some(name) = &user_name {
        if name.as_str() != current.user_name {
            changed.push("userName");
        }
        conn.execute(
            "UPDATE users SET user_name = ?2, user_name_key = ?3 WHERE id = ?1",
            params![id, name.as_str(), name.key()],
        )?;
    }
    if let Some(name) = &display_name {
        if name.as_str() != current.display_name {
            changed.push("displayName");
        }
        conn.execute(
            "UPDATE users SET display_name = ?2, display_name_key = ?3 WHERE id = ?1",
            params![id, name.as_str(), name.key()],
        )?;
    }
    if let Some(email) = &email {
        if email.as_str() != current.email {
            changed.push("email");
        }
        conn.execute(
            "UPDATE users SET email = ?2, email_key = ?3 WHERE id = ?1",
            params![id, email.as_str(), email.key()],
        )?;
    }
    if let Some(status) = update.status.filter(|s| *s != current.status) {
        changed.push("status");
        conn.execute(
            "UPDATE users SET status = ?2 WHERE id = ?1",
            params![id, status.as_str()],
        )?;
        if status == UserStatus::Inactive {
            // Deactivation ends every session at once; keys stop verifying by the status.
            conn.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            conn.execute("DELETE FROM user_tokens WHERE user_id = ?1", [id])?;
        }
    }
    if let Some(roles) = roles.filter(|r| *r != current.roles) {
        changed.push("roles");
        set_roles(conn, id, &roles)?;
    }
    if let Some(groups) = groups.filter(|g| *g != current.groups) {
        changed.push("groups");
        set_groups(conn, id, &groups, now)?;
    }
    if changed.is_empty() {
        return Ok(current);
    }
    conn.execute(
        "UPDATE users SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id = ?1",
        params![id, to_ms(now)],
    )?;
    ensure_super_admin_remains(conn)?;
    let updated = load(conn, id)?;
    Record::by(actor, now, "user.update")
        .target("user", id, &updated.user_name)
        .detail(format!("changed: {}", changed.join(", ")))
        .append(conn)?;
    Ok(updated)
}

pub(super) fn delete(conn: &Connection, actor: &Actor, now: Time, id: &str) -> Result<()> {
    actor.require(Permission::DELETE_USER)?;
    let current = load(conn, id)?;
    actor.may_manage(&subject(conn, id)?)?;
    if actor.is(id) {
        return Err(Error::StateConflict(
            "You cannot delete your own account; ask another administrator.".to_owned(),
        ));
    }
    conn.execute(
        "UPDATE directory_groups SET update_version = update_version + 1, last_updated_time = ?2
         WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?1)",
        params![id, to_ms(now)],
    )?;
    // Keys, sessions, tokens and memberships go with the user (foreign keys cascade).
    conn.execute("DELETE FROM users WHERE id = ?1", [id])?;
    ensure_super_admin_remains(conn)?;
    Record::by(actor, now, "user.delete")
        .target("user", id, &current.user_name)
        .append(conn)?;
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

/// Quotes text as one FTS5 phrase.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

pub(super) fn list(conn: &Connection, actor: &Actor, query: &UserQuery) -> Result<Page<User>> {
    actor.require(Permission::VIEW_USER)?;
    let paging = PageRequest::parse(query.page, query.page_size)?;
    let (sort, descending) = parse_sort(query.sort.as_deref())?;
    let mut filters: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    // The search alone can be counted on the search tables, without touching user rows.
    let mut search_count: Option<String> = None;
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let q = q.to_lowercase();
        let (key, matching) = if q.chars().count() >= 3 {
            values.push(Value::Text(fts_phrase(&q)));
            (
                "rowid",
                format!(
                    "FROM users_search WHERE users_search MATCH ?{}",
                    values.len()
                ),
            )
        } else {
            // The trigram index needs three characters; shorter queries scan the narrow
            // search table.
            values.push(Value::Text(q));
            (
                "user_seq",
                format!("FROM user_search WHERE instr(text, ?{}) > 0", values.len()),
            )
        };
        filters.push(format!("u.seq IN (SELECT {key} {matching})"));
        search_count = Some(format!("SELECT COUNT(*) {matching}"));
    }
    if let Some(status) = query.status {
        values.push(Value::Text(status.as_str().to_owned()));
        filters.push(format!("u.status = ?{}", values.len()));
    }
    if let Some(role) = query.role.as_deref().filter(|r| !r.is_empty()) {
        values.push(Value::Text(role.to_owned()));
        filters.push(format!(
            "u.id IN (SELECT user_id FROM user_roles WHERE role_id = ?{n}
                      UNION SELECT gm.user_id FROM group_members gm
                      JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id = ?{n})",
            n = values.len()
        ));
    }
    if let Some(group) = query.group.as_deref().filter(|g| !g.is_empty()) {
        values.push(Value::Text(group.to_owned()));
        filters.push(format!(
            "u.id IN (SELECT user_id FROM group_members WHERE group_id = ?{})",
            values.len()
        ));
    }
    let condition = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let count_sql = match search_count {
        Some(sql) if filters.len() == 1 => sql,
        _ => format!("SELECT COUNT(*) FROM users u {condition}"),
    };
    let total: u64 =
        conn.prepare_cached(&count_sql)?
            .query_row(params_from_iter(values.iter()), |r| r.get::<_, i64>(0))? as u64;
    let column = match sort {
        UserSort::UserName => "u.user_name_key",
        UserSort::DisplayName => "u.display_name_key",
        UserSort::Email => "u.email_key",
        UserSort::Status => "u.status",
        UserSort::CreatedTime => "u.created_time",
        UserSort::LastLoginTime => "u.last_login_time",
    };
    let direction = if descending { "DESC" } else { "ASC" };
    values.push(Value::Integer(i64::from(paging.page_size)));
    values.push(Value::Integer(paging.offset() as i64));
    let sql = format!(
        "SELECT {COLUMNS} FROM users u {condition}
         ORDER BY {column} {direction}, u.id {direction} LIMIT ?{} OFFSET ?{}",
        values.len() - 1,
        values.len()
    );
    let mut items = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values.iter()), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    add_memberships(conn, &mut items)?;
    Ok(Page {
        items,
        page_info: paging.info(total),
    })
}

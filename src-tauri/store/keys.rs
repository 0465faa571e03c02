//! API keys: creation (ENABLED for oneself, PENDING for others), the one-time download,
//! revocation, regeneration with a grace period, expiry, and verification for services.
//! Only SHA-256 digests of secrets are stored, in `key_secrets`.

use super::audit::Record;
use super::{from_ms, from_ms_opt, like_pattern, new_id, settings, to_ms, users};
use crate::core::access::Actor;
use crate::core::model::*;
use crate::core::names::{parse_description, Name};
use crate::core::permission::{Permission, PermissionSet};
use crate::core::secret::{generate_key, key_is_well_formed, key_prefix, sha256};
use crate::core::{Error, FieldErrors, Result};
use chrono::TimeDelta;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

/// lastUsedTime is recorded at most this often per key, to keep verification a read.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::minutes(1);
/// The longest grace period a replaced secret may keep verifying.
pub const MAX_GRACE_SECONDS: u32 = 7 * 24 * 3600;

const COLUMNS: &str = "k.id, k.owner_id, u.user_name, k.name, k.description, k.prefix, k.status,
    k.created_time, k.created_by, k.expires_time, k.last_used_time, k.revoked_time, k.revoked_by";

fn status_at(stored: &str, expires: Option<i64>, now: Time) -> KeyStatus {
    match stored {
        "REVOKED" => KeyStatus::Revoked,
        _ if expires.is_some_and(|e| e <= to_ms(now)) => KeyStatus::Expired,
        "PENDING" => KeyStatus::Pending,
        _ => KeyStatus::Enabled,
    }
}

fn from_row(r: &Row<'_>, now: Time) -> rusqlite::Result<ApiKey> {
    let stored: String = r.get(6)?;
    let expires: Option<i64> = r.get(9)?;
    Ok(ApiKey {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        owner_user_name: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        prefix: r.get(5)?,
        status: status_at(&stored, expires, now),
        created_time: from_ms(r.get(7)?),
        created_by: r.get(8)?,
        expires_time: from_ms_opt(expires),
        last_used_time: from_ms_opt(r.get(10)?),
        revoked_time: from_ms_opt(r.get(11)?),
        revoked_by: r.get(12)?,
    })
}

fn load(conn: &Connection, id: &str, now: Time) -> Result<ApiKey> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM api_keys k JOIN users u ON u.id = k.owner_id WHERE k.id = ?1"
    ))?
    .query_row([id], |r| from_row(r, now))
    .optional()?
    .ok_or(Error::NotFound("API key"))
}

/// May the actor see this owner's keys?
fn may_view(actor: &Actor, owner_id: &str) -> Result<()> {
    if actor.is(owner_id) {
        Ok(())
    } else {
        actor.require(Permission::VIEW_KEYS)
    }
}

/// May the actor change this owner's keys (create, revoke)?
fn may_change(conn: &Connection, actor: &Actor, owner_id: &str) -> Result<()> {
    if actor.is(owner_id) {
        return actor.require(Permission::USE_API_KEYS);
    }
    actor.require(Permission::MANAGE_KEYS)?;
    actor.may_manage(&users::subject(conn, owner_id)?)
}

/// May the actor receive a secret of this owner's key (download, regenerate)? The owner may;
/// an administrator may only for accounts that cannot sign in to fetch it themselves.
fn may_reveal(conn: &Connection, actor: &Actor, owner_id: &str) -> Result<()> {
    if actor.is(owner_id) {
        return actor.require(Permission::USE_API_KEYS);
    }
    actor.require(Permission::MANAGE_KEYS)?;
    let owner = users::subject(conn, owner_id)?;
    if owner.permissions.contains(Permission::SIGN_IN) {
        return Err(Error::forbidden(
            "Only the owner can receive this key's secret: they sign in and download it themselves.",
        ));
    }
    actor.may_manage(&owner)
}

pub(super) fn get(conn: &Connection, actor: &Actor, now: Time, id: &str) -> Result<ApiKey> {
    let key = load(conn, id, now)?;
    may_view(actor, &key.owner_id)?;
    Ok(key)
}

pub(super) fn list_for_user(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    user_id: &str,
) -> Result<Vec<ApiKey>> {
    may_view(actor, user_id)?;
    users::load(conn, user_id)?;
    let keys = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_keys k JOIN users u ON u.id = k.owner_id
             WHERE k.owner_id = ?1 ORDER BY k.created_time DESC, k.id DESC"
        ))?
        .query_map([user_id], |r| from_row(r, now))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(keys)
}

pub(super) fn list(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    query: &KeyQuery,
) -> Result<Page<ApiKey>> {
    actor.require(Permission::VIEW_KEYS)?;
    let paging = PageRequest::parse(query.page, query.page_size)?;
    let mut filters = Vec::new();
    let mut values: Vec<Value> = vec![Value::Integer(to_ms(now))];
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        values.push(Value::Text(like_pattern(&q.to_lowercase())));
        filters.push(format!(
            "(k.name_key LIKE ?{n} ESCAPE '\\' OR lower(k.prefix) LIKE ?{n} ESCAPE '\\'
              OR u.user_name_key LIKE ?{n} ESCAPE '\\')",
            n = values.len()
        ));
    }
    if let Some(status) = query.status {
        filters.push(
            match status {
                KeyStatus::Revoked => "k.status = 'REVOKED'",
                KeyStatus::Expired => "k.status <> 'REVOKED' AND k.expires_time <= ?1",
                KeyStatus::Pending => {
                    "k.status = 'PENDING' AND (k.expires_time IS NULL OR k.expires_time > ?1)"
                }
                KeyStatus::Enabled => {
                    "k.status = 'ENABLED' AND (k.expires_time IS NULL OR k.expires_time > ?1)"
                }
            }
            .to_owned(),
        );
    }
    if let Some(owner) = query.owner.as_deref().filter(|o| !o.is_empty()) {
        values.push(Value::Text(owner.to_owned()));
        filters.push(format!("k.owner_id = ?{}", values.len()));
    }
    // ?1 (now) is bound even when no filter names it; keep the numbering valid.
    let condition = format!(
        "WHERE ?1 IS NOT NULL {}",
        filters
            .iter()
            .map(|f| format!("AND ({f})"))
            .collect::<String>()
    );
    let total: u64 =
        conn.prepare_cached(&format!(
            "SELECT COUNT(*) FROM api_keys k JOIN users u ON u.id = k.owner_id {condition}"
        ))?
        .query_row(params_from_iter(values.iter()), |r| r.get::<_, i64>(0))? as u64;
    values.push(Value::Integer(i64::from(paging.page_size)));
    values.push(Value::Integer(paging.offset() as i64));
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys k JOIN users u ON u.id = k.owner_id {condition}
         ORDER BY k.created_time DESC, k.id DESC LIMIT ?{} OFFSET ?{}",
        values.len() - 1,
        values.len()
    );
    let items = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values.iter()), |r| from_row(r, now))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page {
        items,
        page_info: paging.info(total),
    })
}

pub(super) fn create(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    owner_id: &str,
    key: NewKey,
) -> Result<IssuedKey> {
    let owner = users::load(conn, owner_id)?;
    may_change(conn, actor, owner_id)?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", Name::parse(&key.name));
    let description = errors.check("description", parse_description(&key.description));
    let cap = settings::load(conn)?.max_key_lifetime_days;
    match (key.expires_time, cap) {
        (Some(expires), _) if expires <= now => {
            errors.add("expiresTime", "Choose an expiry in the future.")
        }
        (None, Some(days)) => errors.add(
            "expiresTime",
            format!("Keys may live at most {days} days here: choose an expiry."),
        ),
        (Some(expires), Some(days)) if expires > now + TimeDelta::days(i64::from(days)) => errors
            .add(
                "expiresTime",
                format!("Keys may live at most {days} days here: choose an earlier expiry."),
            ),
        _ => {}
    }
    errors.into_result()?;
    let (Some(name), Some(description)) = (name, description) else {
        return Err(Error::invalid("name", "Enter a name."));
    };
    if owner.status == UserStatus::Inactive {
        return Err(Error::StateConflict(
            "This user is deactivated: activate them before issuing keys.".to_owned(),
        ));
    }
    let (owner_permissions, _) = users::effective_permissions(conn, owner_id)?;
    if !owner_permissions.contains(Permission::USE_API_KEYS) {
        return Err(Error::StateConflict(format!(
            "{}'s roles do not include USE_API_KEYS, so they cannot have API keys.",
            owner.user_name
        )));
    }
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE owner_id = ?1 AND name_key = ?2)",
        params![owner_id, name.key()],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::duplicate(
            "name",
            "This user already has a key with this name.",
        ));
    }
    let id = new_id();
    let for_self = actor.is(owner_id);
    conn.execute(
        "INSERT INTO api_keys (id, owner_id, name, name_key, description, status, created_time,
                               created_by, expires_time)
         VALUES (?1, ?2, ?3, ?4, ?5, 'PENDING', ?6, ?7, ?8)",
        params![
            id,
            owner_id,
            name.as_str(),
            name.key(),
            description,
            to_ms(now),
            actor.id,
            key.expires_time.map(to_ms)
        ],
    )?;
    let secret = if for_self {
        Some(enable_with_new_secret(conn, &id)?)
    } else {
        None
    };
    Record::by(actor, now, "key.create")
        .target("key", &id, name.as_str())
        .detail(format!(
            "owner: {}, status: {}, expires: {}",
            owner.user_name,
            if for_self { "ENABLED" } else { "PENDING" },
            key.expires_time
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".to_owned())
        ))
        .append(conn)?;
    Ok(IssuedKey {
        key: load(conn, &id, now)?,
        secret,
    })
}

/// Generates a key's secret, stores its digest and prefix, and enables the key.
fn enable_with_new_secret(conn: &Connection, id: &str) -> Result<crate::core::secret::Secret> {
    let secret = generate_key();
    conn.execute(
        "INSERT INTO key_secrets (hash, key_id, not_after) VALUES (?1, ?2, NULL)",
        params![&secret.digest()[..], id],
    )?;
    conn.execute(
        "UPDATE api_keys SET status = 'ENABLED', prefix = ?2 WHERE id = ?1",
        params![id, key_prefix(&secret)],
    )?;
    Ok(secret)
}

pub(super) fn download(conn: &Connection, actor: &Actor, now: Time, id: &str) -> Result<IssuedKey> {
    let key = load(conn, id, now)?;
    may_view(actor, &key.owner_id).map_err(|_| Error::NotFound("API key"))?;
    may_reveal(conn, actor, &key.owner_id)?;
    match key.status {
        KeyStatus::Pending => {}
        KeyStatus::Expired => return Err(Error::StateConflict("This key has expired.".to_owned())),
        KeyStatus::Revoked => return Err(Error::StateConflict("This key was revoked.".to_owned())),
        KeyStatus::Enabled => {
            return Err(Error::StateConflict(
                "This key was downloaded already: its secret is shown only once. \
                 Regenerate it for a new secret."
                    .to_owned(),
            ))
        }
    }
    let secret = enable_with_new_secret(conn, id)?;
    Record::by(actor, now, "key.download")
        .target("key", id, &key.name)
        .detail(format!("owner: {}, PENDING → ENABLED", key.owner_user_name))
        .append(conn)?;
    Ok(IssuedKey {
        key: load(conn, id, now)?,
        secret: Some(secret),
    })
}

pub(super) fn revoke(conn: &Connection, actor: &Actor, now: Time, id: &str) -> Result<ApiKey> {
    let key = load(conn, id, now)?;
    may_view(actor, &key.owner_id).map_err(|_| Error::NotFound("API key"))?;
    may_change(conn, actor, &key.owner_id)?;
    if key.status == KeyStatus::Revoked {
        return Err(Error::StateConflict(
            "This key is revoked already.".to_owned(),
        ));
    }
    conn.execute(
        "UPDATE api_keys SET status = 'REVOKED', revoked_time = ?2, revoked_by = ?3 WHERE id = ?1",
        params![id, to_ms(now), actor.id],
    )?;
    // Secrets in a grace period end with the key.
    conn.execute(
        "DELETE FROM key_secrets WHERE key_id = ?1 AND not_after IS NOT NULL",
        [id],
    )?;
    Record::by(actor, now, "key.revoke")
        .target("key", id, &key.name)
        .detail(format!("owner: {}", key.owner_user_name))
        .append(conn)?;
    load(conn, id, now)
}

pub(super) fn regenerate(
    conn: &Connection,
    actor: &Actor,
    now: Time,
    id: &str,
    grace_seconds: u32,
) -> Result<IssuedKey> {
    let key = load(conn, id, now)?;
    may_view(actor, &key.owner_id).map_err(|_| Error::NotFound("API key"))?;
    may_reveal(conn, actor, &key.owner_id)?;
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(Error::invalid(
            "graceSeconds",
            "Choose a grace period of at most 7 days.",
        ));
    }
    match key.status {
        KeyStatus::Enabled => {}
        KeyStatus::Pending => {
            return Err(Error::StateConflict(
                "This key has no secret yet: download it instead.".to_owned(),
            ))
        }
        KeyStatus::Revoked | KeyStatus::Expired => {
            return Err(Error::StateConflict(
                "Only an enabled key can be regenerated; create a new key instead.".to_owned(),
            ))
        }
    }
    // Only the secret being replaced keeps a grace period; older ones end now.
    conn.execute(
        "DELETE FROM key_secrets WHERE key_id = ?1 AND not_after IS NOT NULL",
        [id],
    )?;
    if grace_seconds == 0 {
        conn.execute("DELETE FROM key_secrets WHERE key_id = ?1", [id])?;
    } else {
        let until = now + TimeDelta::seconds(i64::from(grace_seconds));
        conn.execute(
            "UPDATE key_secrets SET not_after = ?2 WHERE key_id = ?1",
            params![id, to_ms(until)],
        )?;
    }
    let secret = enable_with_new_secret(conn, id)?;
    Record::by(actor, now, "key.regenerate")
        .target("key", id, &key.name)
        .detail(format!(
            "owner: {}, old secret grace period: {grace_seconds} s",
            key.owner_user_name
        ))
        .append(conn)?;
    Ok(IssuedKey {
        key: load(conn, id, now)?,
        secret: Some(secret),
    })
}

struct VerifyRow {
    enabled: bool,
    key_id: Option<String>,
    not_after: Option<i64>,
    stored: Option<String>,
    expires: Option<i64>,
    last_used: Option<i64>,
    owner_id: Option<String>,
    user_name: Option<String>,
    user_status: Option<String>,
    masks: Option<String>,
}

/// Checks a presented key. Returns the verdict and, when the key's lastUsedTime is due for
/// an update, the key id to record it on (the caller writes it).
pub(super) fn verify(
    conn: &Connection,
    key: &str,
    now: Time,
) -> Result<(Verification, Option<String>)> {
    if !key_is_well_formed(key) {
        return Ok((Verification::refused(VerifyCode::Malformed), None));
    }
    // One statement: the setting, the secret, its key, the owner and the owner's permissions
    // (as the role masks, OR-ed below), so that a verification is a single round of look-ups.
    let row = conn
        .prepare_cached(
            "SELECT s.api_key_auth_enabled, ks.key_id, ks.not_after, k.status, k.expires_time,
                    k.last_used_time, k.owner_id, u.user_name, u.status,
                    (SELECT group_concat(masks.permissions) FROM (
                         SELECT r.permissions FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                         WHERE ur.user_id = k.owner_id
                         UNION ALL
                         SELECT r.permissions FROM group_members gm
                         JOIN group_roles gr ON gr.group_id = gm.group_id
                         JOIN roles r ON r.id = gr.role_id
                         WHERE gm.user_id = k.owner_id) AS masks)
             FROM settings s
             LEFT JOIN key_secrets ks ON ks.hash = ?1
             LEFT JOIN api_keys k ON k.id = ks.key_id
             LEFT JOIN users u ON u.id = k.owner_id
             WHERE s.id = 1",
        )?
        .query_row([&sha256(key)[..]], |r| {
            Ok(VerifyRow {
                enabled: r.get(0)?,
                key_id: r.get(1)?,
                not_after: r.get(2)?,
                stored: r.get(3)?,
                expires: r.get(4)?,
                last_used: r.get(5)?,
                owner_id: r.get(6)?,
                user_name: r.get(7)?,
                user_status: r.get(8)?,
                masks: r.get(9)?,
            })
        })?;
    if !row.enabled {
        return Ok((Verification::refused(VerifyCode::AuthDisabled), None));
    }
    let now_ms = to_ms(now);
    let (Some(key_id), Some(stored), Some(owner_id)) = (row.key_id, row.stored, row.owner_id)
    else {
        return Ok((Verification::refused(VerifyCode::NotFound), None));
    };
    if row.not_after.is_some_and(|end| end <= now_ms) {
        return Ok((Verification::refused(VerifyCode::NotFound), None));
    }
    let code = match status_at(&stored, row.expires, now) {
        KeyStatus::Revoked => VerifyCode::Revoked,
        KeyStatus::Expired => VerifyCode::Expired,
        KeyStatus::Pending => VerifyCode::Pending,
        KeyStatus::Enabled if row.user_status.as_deref() != Some("ACTIVE") => {
            VerifyCode::UserInactive
        }
        KeyStatus::Enabled => VerifyCode::Valid,
    };
    let held = row
        .masks
        .unwrap_or_default()
        .split(',')
        .filter_map(|mask| mask.parse::<u32>().ok())
        .fold(PermissionSet::EMPTY, |set, bits| {
            set.union(PermissionSet::from_bits(bits))
        });
    // An owner whose roles no longer include USE_API_KEYS may not use their keys: the key
    // answers as for an owner who may not act.
    let code = if code == VerifyCode::Valid && !held.contains(Permission::USE_API_KEYS) {
        VerifyCode::UserInactive
    } else {
        code
    };
    let valid = code == VerifyCode::Valid;
    let permissions = if valid { held } else { PermissionSet::EMPTY };
    let due = valid
        && row
            .last_used
            .is_none_or(|used| now_ms - used >= TOUCH_INTERVAL.num_milliseconds());
    let expires_time = from_ms_opt(row.expires);
    let user_name = row.user_name;
    Ok((
        Verification {
            valid,
            code,
            key_id: Some(key_id.clone()),
            user_id: Some(owner_id),
            user_name,
            permissions,
            expires_time,
        },
        due.then_some(key_id),
    ))
}

/// Records that a key was used now, unless that was recorded within the last minute.
pub(super) fn touch(conn: &Connection, key_id: &str, now: Time) -> Result<()> {
    conn.prepare_cached(
        "UPDATE api_keys SET last_used_time = ?2
         WHERE id = ?1 AND (last_used_time IS NULL OR last_used_time <= ?2 - ?3)",
    )?
    .execute(params![
        key_id,
        to_ms(now),
        TOUCH_INTERVAL.num_milliseconds()
    ])?;
    Ok(())
}

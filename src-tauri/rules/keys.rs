//! API keys: creation (ENABLED for oneself, PENDING for others), the one-time download,
//! revocation, regeneration with a grace period, and expiry. Only SHA-256 digests of secrets
//! are stored; a secret leaves here once, in the [`IssuedKey`] of the call that made it.

use super::actors;
use super::audit::Record;
use super::storage::{KeyListing, NewKeyRow, Tx, Unique};
use crate::core::access::{Actor, Subject};
use crate::core::lifecycle::{key_change, KeyChange};
use crate::core::model::*;
use crate::core::names::{parse_description, Name};
use crate::core::permission::Permission;
use crate::core::secret::{generate_key, key_prefix, Secret};
use crate::core::{Error, FieldErrors, Result};
use chrono::TimeDelta;

/// The longest grace period a replaced secret may keep verifying.
pub const MAX_GRACE_SECONDS: u32 = 7 * 24 * 3600;

/// A key as it reads at `now`: EXPIRED from its expiry on.
fn as_of(mut key: ApiKey, now: Time) -> ApiKey {
    key.status = KeyStatus::at(key.status, key.expires_time, now);
    key
}

fn load(tx: &dyn Tx, id: &str, now: Time) -> Result<ApiKey> {
    let key = tx.find_key(id)?.ok_or(Error::NotFound("API key"))?;
    Ok(as_of(key, now))
}

/// The key's owner as the target of the actor's operation.
fn owner(tx: &dyn Tx, actor: &Actor, owner_id: &str) -> Result<Subject> {
    if actor.is(owner_id) {
        Ok(actor.as_subject())
    } else {
        actors::subject(tx, owner_id)
    }
}

/// A key the actor may see, or NotFound: nobody learns of keys they may not see.
fn visible(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<ApiKey> {
    let key = load(tx, id, now)?;
    actor
        .may_view_keys_of(&key.owner_id)
        .map_err(|_| Error::NotFound("API key"))?;
    Ok(key)
}

pub(super) fn get(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<ApiKey> {
    let key = load(tx, id, now)?;
    actor.may_view_keys_of(&key.owner_id)?;
    Ok(key)
}

pub(super) fn list_for_user(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    user_id: &str,
) -> Result<Vec<ApiKey>> {
    actor.may_view_keys_of(user_id)?;
    if !tx.user_exists(user_id)? {
        return Err(Error::NotFound("user"));
    }
    Ok(tx
        .keys_of(user_id)?
        .into_iter()
        .map(|key| as_of(key, now))
        .collect())
}

/// Every key in the directory, paged (VIEW_KEYS).
pub(super) fn list(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    query: &KeyQuery,
) -> Result<Page<ApiKey>> {
    actor.require(Permission::VIEW_KEYS)?;
    page_of(tx, now, query, query.owner.as_deref())
}

/// The keys the actor may see, paged: every key with VIEW_KEYS, else their own.
pub(super) fn list_visible(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    query: &KeyQuery,
) -> Result<Page<ApiKey>> {
    if actor.permissions.contains(Permission::VIEW_KEYS) {
        return list(tx, actor, now, query);
    }
    match query.owner.as_deref().filter(|o| !o.is_empty()) {
        // Someone else's keys are none of the visible ones.
        Some(other) if !actor.is(other) => Ok(Page {
            items: Vec::new(),
            page_info: PageRequest::parse(query.page, query.page_size)?.info(0),
        }),
        _ => page_of(tx, now, query, Some(&actor.id)),
    }
}

fn page_of(
    tx: &dyn Tx,
    now: Time,
    query: &KeyQuery,
    owner_id: Option<&str>,
) -> Result<Page<ApiKey>> {
    let page = PageRequest::parse(query.page, query.page_size)?;
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    // The status at `now`, in terms of the status stored and the expiry.
    let (stored, expired): (&[KeyStatus], Option<bool>) = match query.status {
        None => (&[], None),
        Some(KeyStatus::Revoked) => (&[KeyStatus::Revoked], None),
        Some(KeyStatus::Expired) => (&[KeyStatus::Pending, KeyStatus::Enabled], Some(true)),
        Some(KeyStatus::Pending) => (&[KeyStatus::Pending], Some(false)),
        Some(KeyStatus::Enabled) => (&[KeyStatus::Enabled], Some(false)),
    };
    let (items, total) = tx.list_keys(&KeyListing {
        search: search.as_deref(),
        stored,
        expired,
        at: now,
        owner: owner_id.filter(|o| !o.is_empty()),
        page,
    })?;
    Ok(Page {
        items: items.into_iter().map(|key| as_of(key, now)).collect(),
        page_info: page.info(total),
    })
}

/// May the actor create keys for this owner? The owner, as a user and as the target.
pub(super) fn may_create(tx: &dyn Tx, actor: &Actor, owner_id: &str) -> Result<(User, Subject)> {
    let owner_user = tx.find_user(owner_id)?.ok_or(Error::NotFound("user"))?;
    let owner = owner(tx, actor, owner_id)?;
    actor.may_change_keys_of(&owner)?;
    Ok((owner_user, owner))
}

/// May the actor regenerate this key? The key as it reads now.
pub(super) fn may_regenerate(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<ApiKey> {
    let key = visible(tx, actor, now, id)?;
    actor.may_reveal_key_of(&owner(tx, actor, &key.owner_id)?)?;
    Ok(key)
}

pub(super) fn create(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    owner_id: &str,
    key: &NewKey,
) -> Result<IssuedKey> {
    let (owner_user, owner) = may_create(tx, actor, owner_id)?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", Name::parse(&key.name));
    let description = errors.check("description", parse_description(&key.description));
    let cap = tx.settings()?.max_key_lifetime_days;
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
    if owner_user.status == UserStatus::Inactive {
        return Err(Error::StateConflict(
            "This user is deactivated: activate them before issuing keys.".to_owned(),
        ));
    }
    if !owner.permissions.contains(Permission::USE_API_KEYS) {
        return Err(Error::StateConflict(format!(
            "{}'s roles do not include USE_API_KEYS, so they cannot have API keys.",
            owner_user.user_name
        )));
    }
    if tx.key_name_in_use(owner_id, &name)? {
        return Err(Unique::KeyName.error());
    }
    let id = new_id();
    let for_self = actor.is(owner_id);
    tx.insert_key(&NewKeyRow {
        id: &id,
        owner_id,
        name: &name,
        description: &description,
        created_time: now,
        created_by: &actor.id,
        expires_time: key.expires_time,
    })?;
    let secret = if for_self {
        Some(enable_with_new_secret(tx, &id)?)
    } else {
        None
    };
    Record::by(actor, now, "key.create")
        .target("key", &id, name.as_str())
        .detail(format!(
            "owner: {}, status: {}, expires: {}",
            owner_user.user_name,
            if for_self { "ENABLED" } else { "PENDING" },
            key.expires_time
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".to_owned())
        ))
        .append(tx)?;
    Ok(IssuedKey {
        key: load(tx, &id, now)?,
        secret,
    })
}

/// Generates a key's secret, stores its digest and prefix, and enables the key.
fn enable_with_new_secret(tx: &dyn Tx, id: &str) -> Result<Secret> {
    let secret = generate_key();
    tx.add_key_secret(id, &secret.digest(), None)?;
    tx.set_key_enabled(id, &key_prefix(&secret))?;
    Ok(secret)
}

pub(super) fn download(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<IssuedKey> {
    let key = visible(tx, actor, now, id)?;
    actor.may_reveal_key_of(&owner(tx, actor, &key.owner_id)?)?;
    key_change(key.status, KeyChange::Download)?;
    let secret = enable_with_new_secret(tx, id)?;
    Record::by(actor, now, "key.download")
        .target("key", id, &key.name)
        .detail(format!("owner: {}, PENDING → ENABLED", key.owner_user_name))
        .append(tx)?;
    Ok(IssuedKey {
        key: load(tx, id, now)?,
        secret: Some(secret),
    })
}

pub(super) fn revoke(tx: &dyn Tx, actor: &Actor, now: Time, id: &str) -> Result<ApiKey> {
    let key = visible(tx, actor, now, id)?;
    actor.may_change_keys_of(&owner(tx, actor, &key.owner_id)?)?;
    key_change(key.status, KeyChange::Revoke)?;
    tx.set_key_revoked(id, now, &actor.id)?;
    // Secrets in a grace period end with the key.
    tx.delete_key_secrets(id, true)?;
    Record::by(actor, now, "key.revoke")
        .target("key", id, &key.name)
        .detail(format!("owner: {}", key.owner_user_name))
        .append(tx)?;
    load(tx, id, now)
}

pub(super) fn regenerate(
    tx: &dyn Tx,
    actor: &Actor,
    now: Time,
    id: &str,
    grace_seconds: u32,
) -> Result<IssuedKey> {
    let key = may_regenerate(tx, actor, now, id)?;
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(Error::invalid(
            "graceSeconds",
            "Choose a grace period of at most 7 days.",
        ));
    }
    key_change(key.status, KeyChange::Regenerate)?;
    // Only the secret being replaced keeps a grace period; older ones end now.
    tx.delete_key_secrets(id, true)?;
    if grace_seconds == 0 {
        tx.delete_key_secrets(id, false)?;
    } else {
        tx.end_key_secrets_at(id, now + TimeDelta::seconds(i64::from(grace_seconds)))?;
    }
    let secret = enable_with_new_secret(tx, id)?;
    Record::by(actor, now, "key.regenerate")
        .target("key", id, &key.name)
        .detail(format!(
            "owner: {}, old secret grace period: {grace_seconds} s",
            key.owner_user_name
        ))
        .append(tx)?;
    Ok(IssuedKey {
        key: load(tx, id, now)?,
        secret: Some(secret),
    })
}

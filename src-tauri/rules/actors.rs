//! Who is acting: a credential resolved to an [`Actor`] with their effective permissions, and
//! the [`Subject`] an operation targets.

use super::storage::Tx;
use super::verification;
use crate::core::access::{effective, Actor, Subject};
use crate::core::model::{Credential, Time, UserStatus};
use crate::core::permission::{Permission, PermissionSet};
use crate::core::{Error, Result};

pub(super) struct Resolved {
    pub actor: Actor,
    /// A key whose lastUsedTime is due for an update, left to the caller on a read.
    pub touch_key: Option<String>,
}

/// The permissions a user holds through their roles and their groups' roles, and whether
/// SuperAdmin is among those roles.
pub(super) fn effective_permissions(tx: &dyn Tx, user_id: &str) -> Result<(PermissionSet, bool)> {
    let grants = tx.role_grants(user_id)?;
    Ok(effective(
        grants.iter().map(|(id, set)| (id.as_str(), *set)),
    ))
}

pub(super) fn subject(tx: &dyn Tx, user_id: &str) -> Result<Subject> {
    let (permissions, is_super_admin) = effective_permissions(tx, user_id)?;
    Ok(Subject {
        id: user_id.to_owned(),
        permissions,
        is_super_admin,
    })
}

fn actor_for(tx: &dyn Tx, id: String, user_name: String) -> Result<Actor> {
    let (permissions, is_super_admin) = effective_permissions(tx, &id)?;
    Ok(Actor {
        id,
        user_name,
        permissions,
        is_super_admin,
    })
}

/// Resolves a credential to the user acting with it. Sessions need an unexpired session of
/// an active user who may still sign in; keys must verify as VALID. In a write transaction
/// (`writable`) a key's due lastUsedTime is recorded at once.
pub(super) fn resolve(
    tx: &dyn Tx,
    credential: &Credential,
    now: Time,
    writable: bool,
) -> Result<Resolved> {
    match credential {
        Credential::Session(token) => {
            let session = tx
                .find_session(&token.digest())?
                .filter(|s| s.expires_time > now && s.user_status == UserStatus::Active)
                .ok_or(Error::Unauthenticated)?;
            let actor = actor_for(tx, session.user_id, session.user_name)?;
            if !actor.permissions.contains(Permission::SIGN_IN) {
                return Err(Error::Unauthenticated);
            }
            Ok(Resolved {
                actor,
                touch_key: None,
            })
        }
        Credential::ApiKey(key) => {
            let (verification, touch) = verification::verify(tx, key.expose(), now)?;
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
                    verification::record_use(tx, &key_id, now)?;
                }
            }
            Ok(Resolved {
                actor: actor_for(tx, id, user_name)?,
                touch_key,
            })
        }
    }
}

//! [`StoredDirectory`]: the directory kept in a [`Store`], and how its operations run. Each
//! operation is one transaction of the store on behalf of the credential's user; a refusal
//! for lack of permission rolls the change back and is itself audited as DENIED.

use super::actors;
use super::audit::Record;
use super::storage::{End, Store, Tx};
use super::verification;
use crate::core::access::Actor;
use crate::core::clock::Clock;
use crate::core::mail::Mailer;
use crate::core::model::{Credential, Outcome, Time};
use crate::core::permission::BuiltinRole;
use crate::core::{Error, Result};
use std::sync::Arc;

/// The directory: every rule of the product, over any [`Store`].
pub struct StoredDirectory<S> {
    store: S,
    clock: Arc<dyn Clock>,
    /// Where e-mail goes, when the directory's server has it configured.
    mailer: Option<Arc<dyn Mailer>>,
}

impl<S: Store> StoredDirectory<S> {
    /// The directory kept in `store`, taking time from `clock`. Writes the built-in roles as
    /// this binary defines them.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Result<Self> {
        let now = clock.now();
        store.write(End::Commit, |tx| {
            BuiltinRole::ALL
                .into_iter()
                .try_for_each(|role| tx.ensure_builtin_role(role, now))
        })?;
        Ok(StoredDirectory {
            store,
            clock,
            mailer: None,
        })
    }

    /// The directory sending its e-mail through `mailer`.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub(super) fn mailer(&self) -> Option<&dyn Mailer> {
        self.mailer.as_deref()
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The user name of the first SuperAdmin still active (by creation time), whom the
    /// command line acts as on a local file unless told otherwise.
    pub fn first_super_admin(&self) -> Result<Option<String>> {
        self.store
            .read(|tx| tx.first_active_holder(BuiltinRole::SuperAdmin.id()))
    }

    pub(super) fn now(&self) -> Time {
        self.clock.now()
    }

    /// Runs a read on one consistent snapshot, on behalf of the credential's user.
    pub(super) fn read<T>(
        &self,
        credential: &Credential,
        mut query: impl FnMut(&dyn Tx, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        // A read snapshot is never refused for serialization (only SERIALIZABLE writes are),
        // so the query's own result can ride along in the closure's success.
        let (touch_key, value) = self.store.read(|tx| {
            let resolved = actors::resolve(tx, credential, now, false)?;
            Ok((resolved.touch_key, query(tx, &resolved.actor, now)))
        })?;
        self.record_key_use(touch_key)?;
        value
    }

    /// Runs a read that acts for nobody (set-up state, sign-in look-ups, tokens).
    pub(super) fn look<T>(&self, mut query: impl FnMut(&dyn Tx, Time) -> Result<T>) -> Result<T> {
        let now = self.now();
        self.store.read(|tx| query(tx, now))
    }

    /// Runs a read of one statement, acting for nobody: [`Store::look_up`].
    pub(super) fn look_up<T>(
        &self,
        mut query: impl FnMut(&dyn Tx, Time) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        self.store.look_up(|tx| query(tx, now))
    }

    /// Runs a change in one write transaction, on behalf of the credential's user.
    pub(super) fn mutate<T>(
        &self,
        credential: &Credential,
        action: &'static str,
        target_id: Option<&str>,
        change: impl FnMut(&dyn Tx, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        self.change(End::Commit, credential, action, target_id, change)
    }

    /// Runs a change like [`Self::mutate`] and then rolls it back whatever happened: a
    /// rehearsal (dry run) that checks everything a real change would.
    pub(super) fn rehearse<T>(
        &self,
        credential: &Credential,
        action: &'static str,
        change: impl FnMut(&dyn Tx, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        self.change(End::RollBack, credential, action, None, change)
    }

    fn change<T>(
        &self,
        end: End,
        credential: &Credential,
        action: &'static str,
        target_id: Option<&str>,
        mut change: impl FnMut(&dyn Tx, &Actor, Time) -> Result<T>,
    ) -> Result<T> {
        let mut acting: Option<Actor> = None;
        let result = self.store.write(end, |tx| {
            // Read the clock in the transaction: a store may run it again, later.
            let now = self.now();
            let actor = actors::resolve(tx, credential, now, true)?.actor;
            let result = change(tx, &actor, now);
            acting = Some(actor);
            result
        });
        self.audit_denial(&result, acting.as_ref(), action, target_id)?;
        result
    }

    /// Records a refusal for lack of permission as DENIED, after the refused transaction.
    fn audit_denial<T>(
        &self,
        result: &Result<T>,
        actor: Option<&Actor>,
        action: &'static str,
        target_id: Option<&str>,
    ) -> Result<()> {
        match (result, actor) {
            (Err(Error::Forbidden(reason)), Some(actor)) => self.write(|tx, now| {
                Record::by(actor, now, action)
                    .target_id(target_id)
                    .outcome(Outcome::Denied)
                    .detail(reason.clone())
                    .append(tx)
            }),
            _ => Ok(()),
        }
    }

    /// Runs a check on one snapshot on behalf of the credential's user; a refusal for lack
    /// of permission is audited as DENIED, as the operation checked would have been.
    pub(super) fn check(
        &self,
        credential: &Credential,
        action: &'static str,
        target_id: Option<&str>,
        mut check: impl FnMut(&dyn Tx, &Actor, Time) -> Result<()>,
    ) -> Result<()> {
        let mut acting: Option<Actor> = None;
        let result = self.read(credential, |tx, actor, now| {
            acting = Some(actor.clone());
            check(tx, actor, now)
        });
        self.audit_denial(&result, acting.as_ref(), action, target_id)?;
        result
    }

    /// Runs a change that acts for nobody yet (set-up, sign-in, accepting a token).
    pub(super) fn write<T>(&self, mut change: impl FnMut(&dyn Tx, Time) -> Result<T>) -> Result<T> {
        self.store.write(End::Commit, |tx| change(tx, self.now()))
    }

    /// Records a key's use when a read found it due (reads cannot write).
    pub(super) fn record_key_use(&self, key_id: Option<String>) -> Result<()> {
        match key_id {
            Some(key_id) => self.write(|tx, now| verification::record_use(tx, &key_id, now)),
            None => Ok(()),
        }
    }
}

//! [`StoredDirectory`]: the directory kept in a [`Store`], and how its operations run. Each
//! operation is one transaction of the store on behalf of the credential's user; a refusal
//! for lack of permission rolls the change back and is itself audited as DENIED.

use super::actors;
use super::audit::Record;
use super::key_uses::{self, KeyUses};
use super::mail::{self, Letter, Mail};
use super::storage::{End, Store, Tx};
use crate::core::access::Actor;
use crate::core::clock::Clock;
use crate::core::mail::{Links, Mailer};
use crate::core::model::{Credential, Outcome, Time};
use crate::core::permission::BuiltinRole;
use crate::core::sealing::Keyring;
use crate::core::{Error, Result};
use std::sync::Arc;

/// The directory: every rule of the product, over any [`Store`].
pub struct StoredDirectory<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    /// Where e-mail goes, when the directory's server has it configured.
    mail: Option<Arc<Mail>>,
    /// The thread sending it.
    mail_worker: Option<std::thread::JoinHandle<()>>,
    /// The key that seals two-step secrets, kept outside the store.
    keyring: Keyring,
    /// Key uses noted by verifications, and the thread that writes them in batches.
    key_uses: Arc<KeyUses>,
    key_use_writer: Option<std::thread::JoinHandle<()>>,
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
        let store = Arc::new(store);
        let key_uses = Arc::new(KeyUses::default());
        let key_use_writer = Some(start_key_use_writer(
            &key_uses,
            &store,
            key_uses::FLUSH_EVERY,
        )?);
        Ok(StoredDirectory {
            store,
            clock,
            key_uses,
            key_use_writer,
            mail: None,
            mail_worker: None,
            keyring: Keyring::unset(
                "name a key file with KEYWARD_SECRET_KEY_FILE, the same file on every server",
            ),
        })
    }

    /// The directory writing the key uses its verifications note every `every` (tests use a
    /// short interval; the default is [`key_uses::FLUSH_EVERY`]).
    pub fn with_key_uses_written_every(mut self, every: std::time::Duration) -> Result<Self> {
        self.stop_key_use_writer();
        self.key_uses = Arc::new(KeyUses::default());
        self.key_use_writer = Some(start_key_use_writer(&self.key_uses, &self.store, every)?);
        Ok(self)
    }

    /// The directory sealing two-step secrets with the key `keyring` finds.
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    pub(super) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The directory sending its e-mail through `mailer`, with links to the pages `links`
    /// names; a worker thread sends it until the directory is dropped.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>, links: Links) -> Result<Self> {
        self.stop_mail();
        let mail = Arc::new(Mail::new(mailer, links));
        let worker = {
            let (mail, store, clock) = (
                Arc::clone(&mail),
                Arc::clone(&self.store),
                Arc::clone(&self.clock),
            );
            std::thread::Builder::new()
                .name("keyward-mail".into())
                .spawn(move || mail::work(mail, store, clock))
                .map_err(|e| Error::Internal(format!("cannot start sending e-mail: {e}")))?
        };
        self.mail = Some(mail);
        self.mail_worker = Some(worker);
        Ok(self)
    }

    pub(super) fn mailer(&self) -> Option<&dyn Mailer> {
        self.mail.as_deref().map(|m| m.mailer.as_ref())
    }

    pub(super) fn mail(&self) -> Option<&Mail> {
        self.mail.as_deref()
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

    /// [`Self::look_up`] only when the store can answer without waiting.
    pub(super) fn look_up_now<T>(
        &self,
        mut query: impl FnMut(&dyn Tx, Time) -> Result<T>,
    ) -> Option<Result<T>> {
        let now = self.now();
        self.store.look_up_now(|tx| query(tx, now))
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

    /// Runs a change like [`Self::mutate`] that may write letters (e-mail to send); they go
    /// to the outbox once the change is committed, never before.
    pub(super) fn mutate_mailing<T>(
        &self,
        credential: &Credential,
        action: &'static str,
        target_id: Option<&str>,
        mut change: impl FnMut(&dyn Tx, &Actor, Time, &mut Vec<Letter>) -> Result<T>,
    ) -> Result<T> {
        let mut letters = Vec::new();
        let result = self.mutate(credential, action, target_id, |tx, actor, now| {
            // A store may run the change again: only the last run's letters count.
            letters.clear();
            change(tx, actor, now, &mut letters)
        })?;
        if let Some(mail) = self.mail() {
            mail.post(letters);
        }
        Ok(result)
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

    /// Notes a key's use when a read found it due; the writer records it within
    /// [`key_uses::FLUSH_EVERY`], off the caller's path (no disk sync waits for it).
    pub(super) fn record_key_use(&self, key_id: Option<String>) -> Result<()> {
        if let Some(key_id) = key_id {
            self.key_uses.note(key_id, self.now());
        }
        Ok(())
    }
}

/// Starts the thread that writes noted key uses into `store` every `every`.
fn start_key_use_writer<S: Store>(
    uses: &Arc<KeyUses>,
    store: &Arc<S>,
    every: std::time::Duration,
) -> Result<std::thread::JoinHandle<()>> {
    let (uses, store) = (Arc::clone(uses), Arc::clone(store));
    std::thread::Builder::new()
        .name("keyward-key-uses".into())
        .spawn(move || key_uses::work(uses, store, every))
        .map_err(|e| Error::Internal(format!("cannot start recording key uses: {e}")))
}

impl<S> StoredDirectory<S> {
    /// Writes the key uses noted so far and stops their writer.
    fn stop_key_use_writer(&mut self) {
        self.key_uses.stop();
        if let Some(writer) = self.key_use_writer.take() {
            let _ = writer.join();
        }
    }

    /// Stops the e-mail worker after the message it is sending; what is left unsent is
    /// recorded as such.
    fn stop_mail(&mut self) {
        if let Some(mail) = self.mail.take() {
            mail.stop();
        }
        if let Some(worker) = self.mail_worker.take() {
            let _ = worker.join();
        }
    }
}

impl<S> Drop for StoredDirectory<S> {
    fn drop(&mut self) {
        self.stop_mail();
        // A clean stop writes the last key uses noted.
        self.stop_key_use_writer();
    }
}

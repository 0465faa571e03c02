//! `lastUsedTime` off the verification path (issue #20). A verification (or a request made with
//! a key) that finds the key's use due notes it here, in memory, and answers at once; a
//! background thread writes what was noted in one transaction every [`FLUSH_EVERY`], and once
//! more when the directory is dropped (a clean stop). Nothing else is deferred: a crash loses at
//! most the uses noted since the last write, never a change.
//!
//! "At most once a minute per key" still holds: a use is due only when the stored time is a
//! minute old, the store's update keeps that guard, and a key noted twice before a write is
//! written once (its first use).

use super::storage::{End, Store};
use super::verification;
use crate::core::model::Time;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// How often noted uses are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Noted {
    uses: HashMap<String, Time>,
    stopping: bool,
}

/// The uses noted since the last write, and the signal that wakes the writer.
#[derive(Default)]
pub(super) struct KeyUses {
    noted: Mutex<Noted>,
    wake: Condvar,
}

impl KeyUses {
    /// Notes that `key_id` was used at `at`. Its first use since the last write stays, unless
    /// this one is a whole interval later: a use noted just after a write took its batch (and
    /// that the store's guard will refuse as too soon) must not hold back a later one.
    pub(super) fn note(&self, key_id: String, at: Time) {
        self.lock()
            .uses
            .entry(key_id)
            .and_modify(|noted| {
                if at - *noted >= verification::TOUCH_INTERVAL {
                    *noted = at;
                }
            })
            .or_insert(at);
    }

    /// Asks the writer to write what is noted and stop.
    pub(super) fn stop(&self) {
        self.lock().stopping = true;
        self.wake.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Noted> {
        self.noted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer: every `every` (and when asked to stop), the noted uses in one transaction.
pub(super) fn work<S: Store>(uses: Arc<KeyUses>, store: Arc<S>, every: Duration) {
    loop {
        let (batch, stopping) = {
            let mut noted = uses.lock();
            if !noted.stopping {
                noted = uses
                    .wake
                    .wait_timeout(noted, every)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            (std::mem::take(&mut noted.uses), noted.stopping)
        };
        if !batch.is_empty() {
            let written = store.write(End::Commit, |tx| {
                batch
                    .iter()
                    .try_for_each(|(key_id, at)| verification::record_use(tx, key_id, *at))
            });
            if let Err(error) = written {
                // The uses of this batch are lost; every verification answered already.
                tracing::warn!(%error, keys = batch.len(), "could not record when keys were last used");
            }
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    #[test]
    fn a_key_keeps_its_first_use_unless_a_later_one_is_a_whole_interval_on() {
        let uses = KeyUses::default();
        let at = Utc.with_ymd_and_hms(2026, 1, 5, 9, 3, 0).unwrap();
        uses.note("k".into(), at);
        uses.note("k".into(), at + TimeDelta::milliseconds(3));
        assert_eq!(uses.lock().uses["k"], at, "uses close together: the first");
        let later = at + verification::TOUCH_INTERVAL;
        uses.note("k".into(), later);
        assert_eq!(
            uses.lock().uses["k"],
            later,
            "a use an interval on is not held back"
        );
    }
}

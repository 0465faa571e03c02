//! E-mail the directory sends (SPEC section 8): invitations, new invitations and password
//! resets with their one-time link, and warnings to key owners 14 days and 1 day before a key
//! expires.
//!
//! How nothing is lost while no link rests in the database: the change that issues a link
//! also records a delivery (recipient, kind, status; never the text) in its transaction, and
//! after it commits the message goes to an outbox in memory. One worker thread sends from
//! there, outside any transaction, so a slow SMTP server never holds a request or a lock. Each
//! attempt is recorded and audited; a transient failure is tried again with backoff, a
//! permanent one (5xx) is not. A delivery names the sending server holding it, and each
//! sending server keeps a heartbeat; a delivery whose server stopped beating (it stopped or
//! crashed) is taken over by whichever server looks next: a warning is rebuilt from the key
//! and sent, a message with a link cannot be and shows as not delivered, the admin copying
//! the link (or issuing a new one) instead.

use super::audit::Record;
use super::storage::{DeliveryRow, End, ExpiringKeyRow, ExpiringKeys, Store, Tx};
use crate::core::access::Actor;
use crate::core::clock::Clock;
use crate::core::mail::{Links, Mailer, Outgoing};
use crate::core::model::*;
use crate::core::Result;
use chrono::TimeDelta;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How often (by the directory's clock) the worker beats and looks for due warnings and
/// abandoned deliveries.
const SCAN_EVERY: TimeDelta = TimeDelta::minutes(1);
/// How long a heartbeat says a sending server is alive: a few looks, so that a late look or
/// a slow send (the SMTP transport waits 15 s per step at most) does not make it look gone.
/// Sending servers' clocks are taken to agree within a minute, as for sessions.
const ALIVE_FOR: TimeDelta = TimeDelta::minutes(5);
/// How often a look goes through every key in the warning windows, not only those that
/// entered one since the last look: keys enabled or owners activated meanwhile are found then.
const WHOLE_WINDOW_EVERY: TimeDelta = TimeDelta::hours(1);
/// Attempts at most, transient failures included: about 1½ hours of trying.
const MAX_ATTEMPTS: u32 = 8;
/// Deliveries taken up per look, at most.
const BATCH: u32 = 500;
/// How often the worker wakes to see whether something is due, at most.
const TICK: Duration = Duration::from_millis(500);

/// The wait after the `attempts`-th failed attempt: 30 s, doubling, at most 30 minutes.
pub(super) fn backoff(attempts: u32) -> TimeDelta {
    let doubling = 2_i64.saturating_pow(attempts.saturating_sub(1).min(16));
    (TimeDelta::seconds(30) * i32::try_from(doubling).unwrap_or(i32::MAX))
        .min(TimeDelta::minutes(30))
}

/// The expiry warnings: the kind, and how long before the expiry.
const WARNINGS: [(MailKind, TimeDelta); 2] = [
    (MailKind::KeyExpiresIn1Day, TimeDelta::days(1)),
    (MailKind::KeyExpiresIn14Days, TimeDelta::days(14)),
];

/// The directory's e-mail: where it goes, the links it carries, and the outbox.
pub(super) struct Mail {
    pub mailer: Arc<dyn Mailer>,
    links: Links,
    /// This sending server, as deliveries and heartbeats name it.
    sender_id: String,
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    letters: Vec<Letter>,
    stopping: bool,
}

/// A message waiting to be sent. Only memory holds its text: it may carry a link.
pub(super) struct Letter {
    delivery_id: String,
    kind: MailKind,
    user_id: String,
    user_name: String,
    message: Outgoing,
    /// When to try, by the directory's clock.
    due: Time,
    /// When its link stops working: sending after that is pointless.
    until: Option<Time>,
}

impl Letter {
    /// The recipient's user id and user name, as the audit names them.
    fn user(&self) -> (&str, &str) {
        (&self.user_id, &self.user_name)
    }
}

impl Mail {
    pub fn new(mailer: Arc<dyn Mailer>, links: Links) -> Mail {
        Mail {
            mailer,
            links,
            sender_id: new_id(),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands committed letters to the worker.
    pub fn post(&self, letters: Vec<Letter>) {
        if letters.is_empty() {
            return;
        }
        self.queue().letters.extend(letters);
        self.wake.notify_all();
    }

    /// Tells the worker to stop after what it is sending now.
    pub fn stop(&self) {
        self.queue().stopping = true;
        self.wake.notify_all();
    }
}

/// The delivery as an administrator sees it.
pub(super) fn view(row: &DeliveryRow) -> MailDelivery {
    MailDelivery {
        kind: row.kind,
        to: row.recipient.clone(),
        status: row.status,
        reason: row.reason.clone(),
        queued_time: row.created_time,
        time: row.updated_time,
        attempts: row.attempts,
        next_attempt_time: row
            .next_attempt_time
            .filter(|_| row.status == MailStatus::Failed),
    }
}

/// The user's last invitation or reset e-mail, if any.
pub(super) fn last_link_mail(tx: &dyn Tx, user_id: &str) -> Result<Option<MailDelivery>> {
    Ok(tx
        .latest_delivery(user_id, &[MailKind::Invitation, MailKind::PasswordReset])?
        .as_ref()
        .map(view))
}

fn new_delivery(
    sender_id: &str,
    user_id: &str,
    key_id: Option<&str>,
    kind: MailKind,
    to: &str,
    now: Time,
) -> DeliveryRow {
    DeliveryRow {
        id: new_id(),
        user_id: user_id.to_owned(),
        key_id: key_id.map(str::to_owned),
        kind,
        recipient: to.to_owned(),
        status: MailStatus::Sending,
        reason: None,
        attempts: 0,
        created_time: now,
        updated_time: now,
        next_attempt_time: Some(now),
        sender_id: Some(sender_id.to_owned()),
    }
}

/// Where the directory sends e-mail: records the message taking `issued`'s link to `user`,
/// in the transaction that issued it, and adds the letter to `letters` for after the commit.
#[allow(clippy::too_many_arguments)]
pub(super) fn queue_link(
    tx: &dyn Tx,
    mail: Option<&Mail>,
    actor: &Actor,
    now: Time,
    user: &User,
    kind: MailKind,
    issued: &mut IssuedToken,
    letters: &mut Vec<Letter>,
) -> Result<()> {
    let Some(mail) = mail else {
        return Ok(());
    };
    let sender = tx
        .find_user(&actor.id)?
        .map_or_else(|| actor.user_name.clone(), |u| u.display_name);
    let message = match kind {
        MailKind::PasswordReset => reset_message(
            user,
            &sender,
            mail.links.reset(&issued.token).expose(),
            issued.expires_time,
        ),
        _ => invitation_message(
            user,
            &sender,
            mail.links.invitation(&issued.token).expose(),
            issued.expires_time,
        ),
    };
    // A new link replaces the old one: an earlier message still to be sent would carry a
    // link that no longer works.
    if let Some(earlier) = tx
        .latest_delivery(&user.id, &[kind])?
        .filter(|d| d.next_attempt_time.is_some())
    {
        let reason = format!("replaced by a newer {}", kind.describe());
        let user_ref = (user.id.as_str(), user.user_name.as_str());
        finish(tx, &earlier.id, user_ref, now, Ended::NotSent(reason), None)?;
    }
    let delivery = new_delivery(&mail.sender_id, &user.id, None, kind, &user.email, now);
    tx.insert_delivery(&delivery)?;
    Record::by(actor, now, "mail.queued")
        .target("user", &user.id, &user.user_name)
        .detail(format!("{} to {}", kind.describe(), user.email))
        .append(tx)?;
    issued.mail = Some(view(&delivery));
    letters.push(Letter {
        delivery_id: delivery.id,
        kind,
        user_id: user.id.clone(),
        user_name: user.user_name.clone(),
        message,
        due: now,
        until: Some(issued.expires_time),
    });
    Ok(())
}

// --- The messages -------------------------------------------------------------------------------

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

fn day(time: Time) -> String {
    time.format("%A, %-d %B %Y, %H:%M UTC").to_string()
}

/// Plain text and HTML with the same paragraphs; `link` is the one paragraph that is a link.
fn message(to: &str, subject: String, paragraphs: &[String], link: Option<&str>) -> Outgoing {
    let mut text = String::new();
    let mut html = String::from("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">");
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(paragraph)));
        if paragraph.ends_with(':') {
            if let Some(link) = link {
                text.push_str(link);
                text.push_str("\n\n");
                html.push_str(&format!(
                    "<p><a href=\"{0}\">{0}</a></p>",
                    html_escape::encode_double_quoted_attribute(link)
                ));
            }
        }
    }
    text.push_str("-- \nKeyward\n");
    html.push_str("<p style=\"color:#666\">Keyward</p></body></html>");
    Outgoing {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

fn invitation_message(user: &User, sender: &str, link: &str, until: Time) -> Outgoing {
    message(
        &user.email,
        "You are invited to Keyward".to_owned(),
        &[
            format!("Hello {},", user.display_name),
            format!(
                "{sender} invited you to Keyward, where your team manages its users and API \
                 keys. Your user name is {}. Choose your password here:",
                user.user_name
            ),
            format!(
                "The link works once, until {}. If it has expired, ask {sender} for a new one.",
                day(until)
            ),
            "If you did not expect this invitation, you can ignore this message.".to_owned(),
        ],
        Some(link),
    )
}

fn reset_message(user: &User, sender: &str, link: &str, until: Time) -> Outgoing {
    message(
        &user.email,
        "Reset your Keyward password".to_owned(),
        &[
            format!("Hello {},", user.display_name),
            format!(
                "{sender} started a password reset for your Keyward account {}. Choose a new \
                 password here:",
                user.user_name
            ),
            format!(
                "The link works once, until {}. When you set the new password, every session \
                 of yours ends and you sign in again.",
                day(until)
            ),
            "If you did not ask for this, tell your administrator; your password stays as it \
             is until the link is used."
                .to_owned(),
        ],
        Some(link),
    )
}

fn warning_message(key: &ExpiringKeyRow, now: Time) -> Outgoing {
    let left = key.expires_time - now;
    let days = (left.num_hours() + 23) / 24;
    let when = if days <= 1 {
        "within a day".to_owned()
    } else {
        format!("in {days} days")
    };
    let prefix = key
        .prefix
        .as_deref()
        .map(|p| format!(" ({p}…)"))
        .unwrap_or_default();
    message(
        &key.owner_email,
        format!("Your Keyward API key \"{}\" expires {when}", key.key_name),
        &[
            format!("Hello {},", key.owner_display_name),
            format!(
                "your API key \"{}\"{prefix} expires {when}, on {}. After that, services \
                 refuse it.",
                key.key_name,
                day(key.expires_time)
            ),
            "To keep them working, create a new key in Keyward (or ask your administrator to) \
             and put it in place of this one before then."
                .to_owned(),
        ],
        None,
    )
}

// --- The worker -------------------------------------------------------------------------------

/// Sends the outbox, takes up due warnings and abandoned deliveries, until told to stop.
pub(super) fn work<S: Store>(mail: Arc<Mail>, store: Arc<S>, clock: Arc<dyn Clock>) {
    let mut looks = Looks::default();
    let look = |looks: &mut Looks| {
        let now = clock.now();
        // Due, or the clock went back (the look must not wait for it to catch up).
        if looks
            .next
            .is_none_or(|next| now >= next || next - now > SCAN_EVERY)
        {
            let since = looks.since(now);
            let looked = scan(&mail, store.as_ref(), now, since);
            looks.after(now, since, looked);
        }
    };
    loop {
        look(&mut looks);
        let due = {
            let mut queue = mail.queue();
            if queue.stopping {
                break;
            }
            let now = clock.now();
            let (due, waiting): (Vec<Letter>, Vec<Letter>) = std::mem::take(&mut queue.letters)
                .into_iter()
                .partition(|l| l.due <= now);
            queue.letters = waiting;
            if due.is_empty() {
                let (queue, _) = mail
                    .wake
                    .wait_timeout(queue, TICK)
                    .unwrap_or_else(|p| p.into_inner());
                if queue.stopping {
                    break;
                }
                continue;
            }
            due
        };
        // Links first: a person waits for them; warnings can wait a little.
        let mut due = due;
        due.sort_by_key(|l| !l.kind.carries_link());
        let mut due = due.into_iter();
        for letter in due.by_ref() {
            if let Some(letter) = attempt(&mail, store.as_ref(), clock.as_ref(), letter) {
                mail.queue().letters.push(letter);
            }
            if mail.queue().stopping {
                break;
            }
            // A long outbox still beats: other servers must not think this one gone.
            look(&mut looks);
        }
        // Stopping: what was not tried goes back, for `stopped` to record.
        mail.queue().letters.extend(due);
    }
    stopped(&mail, store.as_ref(), clock.now());
}

/// When the worker looks next, and from when.
#[derive(Default)]
struct Looks {
    /// None: at once.
    next: Option<Time>,
    /// When the next look goes through the whole warning windows; none: at once.
    next_whole: Option<Time>,
    /// When the last look that finished (with less than a batch) was.
    last: Option<Time>,
}

impl Looks {
    /// Since when the look at `now` needs keys to have entered a warning window; none for
    /// the whole windows.
    fn since(&self, now: Time) -> Option<Time> {
        match self.next_whole {
            Some(whole) if now < whole => self.last,
            _ => None,
        }
    }

    /// After a look at `now` (since `since`): `Some(true)` when it found a whole batch, so
    /// there may be more; `None` when it failed.
    fn after(&mut self, now: Time, since: Option<Time>, looked: Option<bool>) {
        match looked {
            Some(false) => {
                self.last = Some(now);
                if since.is_none() {
                    self.next_whole = Some(now + WHOLE_WINDOW_EVERY);
                }
                self.next = Some(now + SCAN_EVERY);
            }
            // More than a batch: look again at once, from the same time.
            Some(true) => self.next = Some(now),
            None => self.next = Some(now + SCAN_EVERY),
        }
    }
}

/// A stopping server: a link in memory is lost with the process, so its message is recorded
/// as not delivered at once (rather than "sending…"); warnings are left to whoever looks next.
fn stopped<S: Store>(mail: &Mail, store: &S, now: Time) {
    let letters = std::mem::take(&mut mail.queue().letters);
    let result = store.write(End::Commit, |tx| {
        for letter in letters.iter().filter(|l| l.kind.carries_link()) {
            let reason = "Keyward stopped before it could be sent".to_owned();
            let ended = Ended::Failed(reason, None);
            finish(
                tx,
                &letter.delivery_id,
                letter.user(),
                now,
                ended,
                Some(&mail.sender_id),
            )?;
        }
        tx.forget_senders(Some(&mail.sender_id), now)
    });
    if let Err(error) = result {
        tracing::warn!(%error, "could not record the messages left unsent");
    }
}

/// Tries a letter once; it comes back when it is to be tried again.
fn attempt<S: Store>(mail: &Mail, store: &S, clock: &dyn Clock, letter: Letter) -> Option<Letter> {
    let now = clock.now();
    let held = store.write(End::Commit, |tx| {
        let Some(mut row) = tx.find_delivery(&letter.delivery_id)? else {
            return Ok(None); // the user was deleted meanwhile
        };
        if row.next_attempt_time.is_none() || row.sender_id.as_deref() != Some(&mail.sender_id) {
            return Ok(None); // replaced by a newer message, or taken over meanwhile
        }
        let no_longer = if row.kind.carries_link() {
            let accepted = row.kind == MailKind::Invitation
                && tx
                    .find_user(&row.user_id)?
                    .is_some_and(|u| u.status != UserStatus::Invited);
            accepted.then_some("the invitation was accepted meanwhile")
        } else {
            warning_still_due(tx, &row, now)?
                .is_none()
                .then_some("the key is not in use any more")
        };
        if let Some(reason) = no_longer {
            let ended = Ended::NotSent(reason.to_owned());
            finish(tx, &letter.delivery_id, letter.user(), now, ended, None)?;
            return Ok(None);
        }
        row.status = MailStatus::Sending;
        row.attempts += 1;
        row.updated_time = now;
        tx.update_delivery(&row)?;
        Ok(Some(row.attempts))
    });
    let attempts = match held {
        Ok(Some(attempts)) => attempts,
        Ok(None) => return None,
        Err(error) => {
            tracing::warn!(%error, "cannot record a message's attempt; trying again later");
            return Some(Letter {
                due: now + TimeDelta::seconds(30),
                ..letter
            });
        }
    };
    let ended = if letter.until.is_some_and(|until| until <= now) {
        let reason = "its link expired before it could be sent".to_owned();
        Ended::Failed(reason, None)
    } else {
        match mail.mailer.send(&letter.message) {
            Ok(answer) => Ended::Sent(answer),
            Err(undelivered) => {
                let now = clock.now();
                let next = (!undelivered.permanent && attempts < MAX_ATTEMPTS)
                    .then(|| now + backoff(attempts))
                    .filter(|next| letter.until.is_none_or(|until| *next < until));
                Ended::Failed(undelivered.reason, next)
            }
        }
    };
    let next = match &ended {
        Ended::Failed(_, next) => *next,
        _ => None,
    };
    let now = clock.now();
    let held_by = Some(mail.sender_id.as_str());
    let record = || {
        store.write(End::Commit, |tx| {
            finish(
                tx,
                &letter.delivery_id,
                letter.user(),
                now,
                ended.clone(),
                held_by,
            )
        })
    };
    // The store may be away for a moment: a message sent but recorded as "sending" would be
    // taken for abandoned once this server stops, so try a few times.
    let mut recorded = record();
    for wait in [1, 5, 30] {
        if recorded.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_secs(wait));
        recorded = record();
    }
    if let Err(error) = recorded {
        tracing::warn!(%error, "cannot record how a message went");
    }
    next.map(|due| Letter { due, ..letter })
}

/// How a delivery ended, or its last attempt.
#[derive(Debug, Clone)]
enum Ended {
    /// Accepted by the SMTP server, with its answer.
    Sent(String),
    /// Not accepted (why), to be tried again at the time given, or never.
    Failed(String, Option<Time>),
    /// Not to be sent after all (why): replaced, accepted meanwhile, no longer needed.
    NotSent(String),
}

/// Records how the delivery `delivery_id` to the user `(id, user name)` ended (or its last
/// attempt), and audits it. With `held_by`, only while that server still holds it (not
/// replaced or taken over meanwhile); a message that was sent is recorded as sent whoever
/// holds it.
fn finish(
    tx: &dyn Tx,
    delivery_id: &str,
    (user_id, user_name): (&str, &str),
    now: Time,
    ended: Ended,
    held_by: Option<&str>,
) -> Result<()> {
    let Some(mut row) = tx.find_delivery(delivery_id)? else {
        return Ok(());
    };
    let held = |id: &str| row.next_attempt_time.is_some() && row.sender_id.as_deref() == Some(id);
    if !matches!(ended, Ended::Sent(_)) && held_by.is_some_and(|id| !held(id)) {
        return Ok(());
    }
    let (status, reason, next, action) = match ended.clone() {
        Ended::Sent(answer) => (MailStatus::Sent, answer, None, "mail.sent"),
        Ended::Failed(reason, next) => (MailStatus::Failed, reason, next, "mail.failed"),
        Ended::NotSent(reason) => (MailStatus::NotSent, reason, None, "mail.not_sent"),
    };
    row.status = status;
    row.reason = Some(reason.clone());
    row.updated_time = now;
    row.next_attempt_time = next;
    if next.is_none() {
        row.sender_id = None;
    }
    tx.update_delivery(&row)?;
    let what = format!("{} to {}", row.kind.describe(), row.recipient);
    let record = Record::by_system(now, action).target("user", user_id, user_name);
    match ended {
        Ended::Sent(_) | Ended::NotSent(_) => record.detail(format!("{what}: {reason}")),
        Ended::Failed(_, Some(next)) => record.outcome(Outcome::Failure).detail(format!(
            "{what}: {reason}; attempt {}, trying again at {}",
            row.attempts,
            next.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        Ended::Failed(_, None) => record
            .outcome(Outcome::Failure)
            .detail(format!("{what}: {reason}; not tried again")),
    }
    .append(tx)
}

/// What one look finds to do.
struct Found {
    abandoned: Vec<DeliveryRow>,
    warnings: Vec<(MailKind, ExpiringKeyRow)>,
}

/// What is to do at `now`: abandoned deliveries, and keys due for a warning (those that
/// entered a warning's window after `since`, or all in it).
fn find(tx: &dyn Tx, now: Time, since: Option<Time>) -> Result<Found> {
    let abandoned = tx.abandoned_deliveries(now, BATCH)?;
    let mut warnings = Vec::new();
    for (kind, lead) in WARNINGS {
        let window_starts = match kind {
            // A key about to expire gets the 1-day warning, not both.
            MailKind::KeyExpiresIn14Days => now + TimeDelta::days(1),
            _ => now,
        };
        // A key enters the window when its expiry is `lead` away: since the last look,
        // only the keys whose expiry was beyond the window then are new in it.
        let expires_after = since.map_or(window_starts, |since| window_starts.max(since + lead));
        let keys = tx.expiring_keys(&ExpiringKeys {
            key_status: KeyStatus::Enabled,
            owner_status: UserStatus::Active,
            kind,
            expires_after,
            expires_by: now + lead,
            // A key made to live less than the lead is not warned: its maker knew.
            lifetime_over_ms: lead.num_milliseconds(),
            limit: BATCH,
        })?;
        warnings.extend(keys.into_iter().map(|key| (kind, key)));
    }
    Ok(Found {
        abandoned,
        warnings,
    })
}

/// Beats, then takes up due key warnings and deliveries whose server is gone: whether there
/// may be more than one batch of them, none when the store failed.
fn scan<S: Store>(mail: &Mail, store: &S, now: Time, since: Option<Time>) -> Option<bool> {
    let taken = store.write(End::Commit, |tx| {
        tx.beat(&mail.sender_id, now + ALIVE_FOR)?;
        tx.forget_senders(None, now)?;
        Ok(())
    });
    // Looking needs no write, and mostly finds nothing: only a find is written, and then
    // looked for again in the writing transaction.
    let taken = taken
        .and_then(|()| store.read(|tx| find(tx, now, since)))
        .and_then(|found| {
            if found.abandoned.is_empty() && found.warnings.is_empty() {
                return Ok((Vec::new(), false));
            }
            store.write(End::Commit, |tx| {
                let found = find(tx, now, since)?;
                let full = found.abandoned.len() >= BATCH as usize
                    || found.warnings.len() >= BATCH as usize;
                let mut letters = Vec::new();
                for row in found.abandoned {
                    take_over(tx, mail, row, now, &mut letters)?;
                }
                for (kind, key) in &found.warnings {
                    letters.push(queue_warning(tx, mail, key, *kind, now)?);
                }
                Ok((letters, full))
            })
        });
    match taken {
        Ok((letters, full)) => {
            mail.post(letters);
            Some(full)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot look for e-mail to send");
            None
        }
    }
}

fn queue_warning(
    tx: &dyn Tx,
    mail: &Mail,
    key: &ExpiringKeyRow,
    kind: MailKind,
    now: Time,
) -> Result<Letter> {
    let delivery = new_delivery(
        &mail.sender_id,
        &key.owner_id,
        Some(&key.key_id),
        kind,
        &key.owner_email,
        now,
    );
    tx.insert_delivery(&delivery)?;
    Record::by_system(now, "mail.queued")
        .target("user", &key.owner_id, &key.owner_user_name)
        .detail(format!(
            "{} to {} for key {} ({})",
            kind.describe(),
            key.owner_email,
            key.key_name,
            key.key_id
        ))
        .append(tx)?;
    Ok(Letter {
        delivery_id: delivery.id,
        kind,
        user_id: key.owner_id.clone(),
        user_name: key.owner_user_name.clone(),
        message: warning_message(key, now),
        due: now,
        until: None,
    })
}

/// The key a warning delivery is about, with its owner, while the warning still applies: the
/// key ENABLED and not expired, its owner ACTIVE.
fn warning_still_due(tx: &dyn Tx, row: &DeliveryRow, now: Time) -> Result<Option<ExpiringKeyRow>> {
    let (Some(key), Some(owner)) = (
        match &row.key_id {
            Some(id) => tx.find_key(id)?,
            None => None,
        },
        tx.find_user(&row.user_id)?,
    ) else {
        return Ok(None);
    };
    let due = owner.status == UserStatus::Active
        && key.status == KeyStatus::Enabled
        && key.expires_time.is_some_and(|t| t > now);
    Ok(due.then(|| ExpiringKeyRow {
        key_id: key.id,
        key_name: key.name,
        prefix: key.prefix,
        expires_time: key.expires_time.unwrap_or(now),
        owner_id: owner.id,
        owner_user_name: owner.user_name,
        owner_display_name: owner.display_name,
        owner_email: owner.email,
    }))
}

/// A delivery whose server is gone: a warning is rebuilt and sent from here; a message with a
/// link cannot be, and is recorded as not delivered.
fn take_over(
    tx: &dyn Tx,
    mail: &Mail,
    mut row: DeliveryRow,
    now: Time,
    letters: &mut Vec<Letter>,
) -> Result<()> {
    let still_due = if row.kind.carries_link() {
        None
    } else {
        warning_still_due(tx, &row, now)?
    };
    match still_due {
        Some(key) => {
            row.sender_id = Some(mail.sender_id.clone());
            row.next_attempt_time = Some(now);
            row.updated_time = now;
            tx.update_delivery(&row)?;
            letters.push(Letter {
                delivery_id: row.id,
                kind: row.kind,
                message: warning_message(&key, now),
                user_id: key.owner_id,
                user_name: key.owner_user_name,
                due: now,
                until: None,
            });
            Ok(())
        }
        None => {
            let ended = if row.kind.carries_link() {
                let reason = "the server stopped before it could be sent".to_owned();
                Ended::Failed(reason, None)
            } else {
                Ended::NotSent("the key is not in use any more".to_owned())
            };
            let user_name = tx
                .find_user(&row.user_id)?
                .map(|u| u.user_name)
                .unwrap_or_default();
            finish(tx, &row.id, (&row.user_id, &user_name), now, ended, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_go_through_the_whole_windows_at_first_and_hourly_else_since_the_last() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut looks = Looks::default();
        assert_eq!(
            looks.since(t0),
            None,
            "the first look takes the whole windows"
        );
        looks.after(t0, None, Some(false));
        assert_eq!(looks.next, Some(t0 + SCAN_EVERY));
        let t1 = t0 + SCAN_EVERY;
        assert_eq!(looks.since(t1), Some(t0));
        // A whole batch: again at once, from the same time.
        looks.after(t1, Some(t0), Some(true));
        assert_eq!((looks.next, looks.since(t1)), (Some(t1), Some(t0)));
        // A failed look is no look: the next starts from the last that finished.
        looks.after(t1, Some(t0), None);
        assert_eq!(looks.since(t1 + SCAN_EVERY), Some(t0));
        looks.after(t1, Some(t0), Some(false));
        assert_eq!(looks.since(t1 + SCAN_EVERY), Some(t1));
        assert_eq!(
            looks.since(t0 + WHOLE_WINDOW_EVERY),
            None,
            "hourly, the whole windows"
        );
    }

    #[test]
    fn backoff_doubles_from_30_seconds_to_at_most_30_minutes() {
        let waits: Vec<i64> = (1..=9).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
    }
}

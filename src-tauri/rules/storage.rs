//! The storage interface: what the rule layer asks of a store, and nothing more. Rows in, rows
//! out, inside transactions. A store decides nothing: it does not check a permission, a
//! status, a version or an expiry, and it writes no audit entry of its own. It answers the
//! questions asked and applies the changes given, in the transaction it was handed.
//!
//! One exception is in the nature of storage: a unique index refuses a second row with the
//! same key, whatever path wrote it (two writers racing each other, too). A store reports it
//! as [`Error::Duplicate`] on the field of that key, through [`Unique::error`].

use crate::core::lockout::Failures;
use crate::core::model::*;
use crate::core::names::{DisplayName, Email, Name, UserName};
use crate::core::permission::{BuiltinRole, PermissionSet};
use crate::core::{Error, Result};

/// Where a directory is kept. A transaction runs a closure over [`Tx`]; the store begins it,
/// and commits it when the closure succeeds (rolls it back when it fails). A store may run
/// the closure again when the database asks for a retry (a serialization failure), so a
/// closure must not assume it runs once.
pub trait Store: Send + Sync + 'static {
    /// Runs `query` on one consistent snapshot. A read transaction refuses writes.
    fn read<T>(&self, query: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T>;
    /// Runs a read of one statement, which is consistent by itself, without a transaction
    /// around it: a transaction would cost statements (on a server, round trips) of its own.
    /// The hot path of key verification; anything reading twice uses [`Store::read`].
    fn look_up<T>(&self, query: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T>;
    /// Runs a read like [`Store::look_up`] only when it cannot wait: the store is on this
    /// machine (no round trip) and one of its connections is idle. `None` when it would wait
    /// or open a connection; the caller then uses `look_up` on a thread that may block. The
    /// server's key verification runs on its async workers through this.
    fn look_up_now<T>(&self, query: impl FnMut(&dyn Tx) -> Result<T>) -> Option<Result<T>> {
        let _ = query;
        None
    }
    /// Runs `change` in one write transaction, serialized with every other write; `end`
    /// says whether a success is committed or rolled back (a rehearsal).
    fn write<T>(&self, end: End, change: impl FnMut(&dyn Tx) -> Result<T>) -> Result<T>;
}

/// How a write transaction that succeeded ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Commit,
    /// Everything was checked as for real, and nothing is kept: a dry run.
    RollBack,
}

/// One transaction of a store: every aggregate's rows, and savepoints.
pub trait Tx:
    UserRows
    + RoleRows
    + GroupRows
    + KeyRows
    + AuthRows
    + SecondFactorRows
    + ProviderRows
    + AuditRows
    + SettingsRows
    + MailRows
    + Tables
{
    /// Starts a savepoint: changes after it can be undone alone.
    fn savepoint(&self) -> Result<()>;
    /// Keeps the changes since the last savepoint and ends it.
    fn release_savepoint(&self) -> Result<()>;
    /// Undoes the changes since the last savepoint and ends it.
    fn roll_back_savepoint(&self) -> Result<()>;
}

/// A value that a unique index keeps from appearing twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    UserName,
    Email,
    RoleName,
    GroupName,
    /// A key's name, per owner.
    KeyName,
}

impl Unique {
    /// The input field that carries the value.
    pub fn field(self) -> &'static str {
        match self {
            Unique::UserName => "userName",
            Unique::Email => "email",
            Unique::RoleName | Unique::GroupName | Unique::KeyName => "name",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Unique::UserName => "This user name is taken.",
            Unique::Email => "Another user has this e-mail address.",
            Unique::RoleName => "A role with this name exists already.",
            Unique::GroupName => "A group with this name exists already.",
            Unique::KeyName => "This user already has a key with this name.",
        }
    }

    /// The refusal of a second row with this value: [`Error::Duplicate`] on its field.
    pub fn error(self) -> Error {
        Error::duplicate(self.field(), self.message())
    }
}

// --- Users ------------------------------------------------------------------------------------

/// A new user row.
pub struct NewUserRow<'a> {
    pub id: &'a str,
    pub user_name: &'a UserName,
    pub display_name: &'a DisplayName,
    pub email: &'a Email,
    pub status: UserStatus,
    pub user_type: UserType,
    pub password_hash: Option<&'a str>,
    pub created_time: Time,
}

/// The columns of a user row to change; `None` leaves a column as it is.
#[derive(Default)]
pub struct UserChange<'a> {
    pub user_name: Option<&'a UserName>,
    pub display_name: Option<&'a DisplayName>,
    pub email: Option<&'a Email>,
    pub status: Option<UserStatus>,
    pub password_hash: Option<&'a str>,
}

/// The user whose name a sign-in gave, with what checking the password needs.
pub struct SignInRow {
    pub id: String,
    pub user_name: String,
    pub password_hash: Option<String>,
}

/// A page of users, as the rule layer validated it.
pub struct UserListing<'a> {
    /// Case-folded text that the user name, display name or e-mail contains.
    pub search: Option<&'a str>,
    pub status: Option<UserStatus>,
    /// Users holding this role, directly or through a group.
    pub role: Option<&'a str>,
    pub group: Option<&'a str>,
    pub sort: UserSort,
    pub descending: bool,
    pub page: PageRequest,
}

pub trait UserRows {
    fn has_users(&self) -> Result<bool>;
    /// The user with this id, with their role and group ids (sorted).
    fn find_user(&self, id: &str) -> Result<Option<User>>;
    /// The user whose case-folded user name is `name_key`.
    fn find_user_id_by_name(&self, name_key: &str) -> Result<Option<String>>;
    fn sign_in_row(&self, name_key: &str) -> Result<Option<SignInRow>>;
    fn password_hash(&self, id: &str) -> Result<Option<String>>;
    fn user_exists(&self, id: &str) -> Result<bool>;
    /// Is the user name taken by a user other than `except_id`?
    fn user_name_in_use(&self, name: &UserName, except_id: &str) -> Result<bool>;
    fn email_in_use(&self, email: &Email, except_id: &str) -> Result<bool>;
    fn insert_user(&self, user: &NewUserRow<'_>) -> Result<()>;
    fn change_user(&self, id: &str, change: &UserChange<'_>) -> Result<()>;
    /// Records a change to each of these users: updateVersion + 1, lastUpdatedTime = `now`.
    /// The ids are distinct.
    fn touch_users(&self, ids: &[String], now: Time) -> Result<()>;
    fn set_last_login(&self, id: &str, now: Time) -> Result<()>;
    /// Deletes the user with everything that is theirs: keys and their secrets, sessions,
    /// tokens and memberships (the audit log keeps its entries).
    fn delete_user(&self, id: &str) -> Result<()>;
    fn set_user_roles(&self, id: &str, role_ids: &[String]) -> Result<()>;
    fn set_user_groups(&self, id: &str, group_ids: &[String]) -> Result<()>;
    /// Every role the user holds, directly or through a group, with its permissions; a role
    /// held both ways may appear twice.
    fn role_grants(&self, user_id: &str) -> Result<Vec<(String, PermissionSet)>>;
    /// How many ACTIVE users hold the role, directly or through a group.
    fn active_holders(&self, role_id: &str) -> Result<u64>;
    /// The user name of the earliest created ACTIVE user holding the role directly.
    fn first_active_holder(&self, role_id: &str) -> Result<Option<String>>;
    /// The users holding the role directly.
    fn direct_holders(&self, role_id: &str) -> Result<Vec<String>>;
    /// A page of users and the number of all that match.
    fn list_users(&self, listing: &UserListing<'_>) -> Result<(Vec<User>, u64)>;
}

// --- Roles and groups ------------------------------------------------------------------------

/// A role row to write: a new custom role, or a role's new state.
pub struct RoleRow<'a> {
    pub id: &'a str,
    pub name: &'a Name,
    pub description: &'a str,
    pub permissions: PermissionSet,
    pub update_version: i64,
    pub time: Time,
}

pub trait RoleRows {
    /// Writes a built-in role as this binary defines it (its permissions included).
    fn ensure_builtin_role(&self, role: BuiltinRole, now: Time) -> Result<()>;
    fn list_roles(&self) -> Result<Vec<Role>>;
    fn find_role(&self, id: &str) -> Result<Option<Role>>;
    fn role_name_in_use(&self, name: &Name, except_id: &str) -> Result<bool>;
    /// Adds a custom role; `time` is its creation time.
    fn insert_role(&self, role: &RoleRow<'_>) -> Result<()>;
    /// Writes a role's name, description, permissions and version; `time` is the change's.
    fn update_role(&self, role: &RoleRow<'_>) -> Result<()>;
    /// Deletes the role; its holders and the groups carrying it lose it.
    fn delete_role(&self, id: &str) -> Result<()>;
}

/// A group row to write.
pub struct GroupRow<'a> {
    pub id: &'a str,
    pub name: &'a Name,
    pub description: &'a str,
    pub update_version: i64,
    pub time: Time,
}

pub trait GroupRows {
    /// Every group with its members and roles, by name.
    fn list_groups(&self) -> Result<Vec<Group>>;
    fn find_group(&self, id: &str) -> Result<Option<Group>>;
    /// The roles a group carries, or `None` when there is no such group.
    fn group_roles(&self, id: &str) -> Result<Option<Vec<String>>>;
    fn group_name_in_use(&self, name: &Name, except_id: &str) -> Result<bool>;
    fn insert_group(&self, group: &GroupRow<'_>) -> Result<()>;
    fn update_group(&self, group: &GroupRow<'_>) -> Result<()>;
    fn delete_group(&self, id: &str) -> Result<()>;
    fn set_group_members(&self, id: &str, user_ids: &[String]) -> Result<()>;
    fn set_group_roles(&self, id: &str, role_ids: &[String]) -> Result<()>;
    /// Records a change to each of these groups: updateVersion + 1, lastUpdatedTime = `now`.
    /// The ids are distinct.
    fn touch_groups(&self, ids: &[String], now: Time) -> Result<()>;
    /// The groups carrying the role.
    fn groups_with_role(&self, role_id: &str) -> Result<Vec<String>>;
}

// --- API keys --------------------------------------------------------------------------------

/// A new key row, PENDING until a secret is added.
pub struct NewKeyRow<'a> {
    pub id: &'a str,
    pub owner_id: &'a str,
    pub name: &'a Name,
    pub description: &'a str,
    pub created_time: Time,
    pub created_by: &'a str,
    pub expires_time: Option<Time>,
}

/// A page of keys. Statuses are the stored ones (PENDING, ENABLED, REVOKED).
pub struct KeyListing<'a> {
    /// Case-folded text that the key's name, its prefix or its owner's user name contains.
    pub search: Option<&'a str>,
    /// Keys stored with one of these statuses; empty: any.
    pub stored: &'a [KeyStatus],
    /// `Some(true)`: keys whose expiry is at or before `at`; `Some(false)`: the others.
    pub expired: Option<bool>,
    pub at: Time,
    pub owner: Option<&'a str>,
    pub page: PageRequest,
}

/// What verifying a presented key needs, read in one look-up.
#[derive(Debug, Clone)]
pub struct VerificationRow {
    pub auth_enabled: bool,
    /// The key the secret's digest belongs to; `None` when no key has it.
    pub key: Option<VerifiedKeyRow>,
}

#[derive(Debug, Clone)]
pub struct VerifiedKeyRow {
    pub key_id: String,
    /// Set for a replaced secret that still verifies until then (a grace period).
    pub secret_not_after: Option<Time>,
    pub stored: KeyStatus,
    pub expires_time: Option<Time>,
    pub last_used_time: Option<Time>,
    pub owner_id: String,
    pub owner_user_name: String,
    pub owner_status: UserStatus,
    /// The permissions of each role the owner holds, directly or through a group.
    pub owner_grants: Vec<PermissionSet>,
}

pub trait KeyRows {
    /// The key with its owner's user name; its status as stored (never EXPIRED).
    fn find_key(&self, id: &str) -> Result<Option<ApiKey>>;
    /// The owner's keys, newest first; statuses as stored.
    fn keys_of(&self, owner_id: &str) -> Result<Vec<ApiKey>>;
    fn list_keys(&self, listing: &KeyListing<'_>) -> Result<(Vec<ApiKey>, u64)>;
    fn key_name_in_use(&self, owner_id: &str, name: &Name) -> Result<bool>;
    fn insert_key(&self, key: &NewKeyRow<'_>) -> Result<()>;
    /// Stores the digest of a secret of the key; `not_after` is set for a grace period.
    fn add_key_secret(
        &self,
        key_id: &str,
        digest: &[u8; 32],
        not_after: Option<Time>,
    ) -> Result<()>;
    /// Ends the key's secrets: all of them, or only those in a grace period.
    fn delete_key_secrets(&self, key_id: &str, only_in_grace: bool) -> Result<()>;
    /// Lets the key's secrets verify until `until` (the start of a grace period).
    fn end_key_secrets_at(&self, key_id: &str, until: Time) -> Result<()>;
    fn set_key_enabled(&self, key_id: &str, prefix: &str) -> Result<()>;
    fn set_key_revoked(&self, key_id: &str, at: Time, by: &str) -> Result<()>;
    /// Reads what verifying a secret with this SHA-256 digest needs.
    fn verification(&self, digest: &[u8; 32]) -> Result<VerificationRow>;
    /// Sets the key's lastUsedTime to `now` unless it is later than `unless_after` (another
    /// request recorded the use already).
    fn record_key_use(&self, key_id: &str, now: Time, unless_after: Time) -> Result<()>;
}

// --- Sessions, tokens, sign-in failures ---------------------------------------------------------

/// A session and its user.
pub struct SessionRow {
    pub user_id: String,
    pub user_name: String,
    pub user_status: UserStatus,
    pub expires_time: Time,
}

/// The kind of a one-time token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Invite,
    Reset,
}

pub struct TokenRow {
    pub user_id: String,
    pub kind: TokenKind,
    pub expires_time: Time,
}

pub trait AuthRows {
    fn find_session(&self, digest: &[u8; 32]) -> Result<Option<SessionRow>>;
    fn insert_session(
        &self,
        digest: &[u8; 32],
        user_id: &str,
        created: Time,
        expires: Time,
    ) -> Result<()>;
    fn delete_session(&self, digest: &[u8; 32]) -> Result<()>;
    /// Ends the user's sessions, but the one with digest `keep`.
    fn delete_sessions_of(&self, user_id: &str, keep: Option<&[u8; 32]>) -> Result<()>;
    /// Sweeps sessions that expired at or before `now`.
    fn delete_sessions_expired_by(&self, now: Time) -> Result<()>;

    fn find_token(&self, digest: &[u8; 32]) -> Result<Option<TokenRow>>;
    fn insert_token(&self, digest: &[u8; 32], token: &TokenRow) -> Result<()>;
    /// Deletes the token; false when it was not there (spent by someone else).
    fn delete_token(&self, digest: &[u8; 32]) -> Result<bool>;
    /// Deletes the user's tokens of this kind, or of every kind.
    fn delete_tokens_of(&self, user_id: &str, kind: Option<TokenKind>) -> Result<()>;

    fn sign_in_failures(&self, name_key: &str) -> Result<Option<Failures>>;
    fn set_sign_in_failures(&self, name_key: &str, failures: &Failures) -> Result<()>;
    fn clear_sign_in_failures(&self, name_key: &str) -> Result<()>;
}

// --- Two-step sign-in -------------------------------------------------------------------------

/// A user's second step: the sealed TOTP secret (never plain), whether it is confirmed (or
/// still being enrolled), and the time step of the last code accepted.
pub struct SecondFactorRow {
    pub secret: Vec<u8>,
    pub confirmed: bool,
    pub last_step: Option<i64>,
}

/// What a sign-in challenge stands for: a code to enter, or enrolment first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    Code,
    Enroll,
}

pub struct ChallengeRow {
    pub user_id: String,
    pub kind: ChallengeKind,
    pub expires_time: Time,
}

pub trait SecondFactorRows {
    fn second_factor(&self, user_id: &str) -> Result<Option<SecondFactorRow>>;
    /// Writes the user's second step, replacing the one they had (or were enrolling).
    fn put_second_factor(&self, user_id: &str, row: &SecondFactorRow, now: Time) -> Result<()>;
    /// Records the time step of the code just accepted.
    fn set_second_factor_step(&self, user_id: &str, step: i64) -> Result<()>;
    /// Removes the user's second step, recovery codes and challenges.
    fn delete_second_factor(&self, user_id: &str) -> Result<()>;
    /// One sealed secret of the directory, if any (to tell which key sealed them).
    fn any_sealed_secret(&self) -> Result<Option<Vec<u8>>>;
    /// Replaces the user's recovery codes with these tags (HMAC under the sealing key).
    fn replace_recovery_codes(&self, user_id: &str, digests: &[[u8; 32]]) -> Result<()>;
    /// Deletes the user's recovery code with this tag; false when there is none.
    fn use_recovery_code(&self, user_id: &str, digest: &[u8; 32]) -> Result<bool>;
    fn recovery_codes_left(&self, user_id: &str) -> Result<u64>;
    fn insert_challenge(&self, digest: &[u8; 32], challenge: &ChallengeRow) -> Result<()>;
    fn find_challenge(&self, digest: &[u8; 32]) -> Result<Option<ChallengeRow>>;
    /// Deletes the challenge; false when it was not there (used by someone else).
    fn delete_challenge(&self, digest: &[u8; 32]) -> Result<bool>;
    /// Sweeps challenges that expired at or before `now`.
    fn delete_challenges_expired_by(&self, now: Time) -> Result<()>;
}

// --- Sign-in through the identity provider (SPEC 11) -----------------------------------------

/// The two steps of a sign-in through the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStep {
    /// The browser is at the provider; kept by the digest of the `state` sent there.
    Pending,
    /// The provider vouched for a user; kept by the digest of the one-time code for the app.
    Code,
}

impl ProviderStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStep::Pending => "PENDING",
            ProviderStep::Code => "CODE",
        }
    }

    pub fn parse(text: &str) -> ProviderStep {
        if text == "CODE" {
            ProviderStep::Code
        } else {
            ProviderStep::Pending
        }
    }
}

pub struct ProviderSignInRow {
    pub step: ProviderStep,
    pub provider: String,
    pub nonce: Option<String>,
    pub redirect_uri: String,
    pub client_state: String,
    pub code_challenge: String,
    pub user_id: Option<String>,
    pub expires_time: Time,
}

pub trait ProviderRows {
    /// The user linked to the provider's `(issuer, sub)`.
    fn linked_user(&self, issuer: &str, subject: &str) -> Result<Option<String>>;
    fn link_identity(&self, issuer: &str, subject: &str, user_id: &str, now: Time) -> Result<()>;
    /// The user with this e-mail address (lower case).
    fn user_id_by_email(&self, email_key: &str) -> Result<Option<String>>;
    fn insert_provider_sign_in(&self, digest: &[u8; 32], row: &ProviderSignInRow) -> Result<()>;
    /// Deletes the row and returns it: of callers racing for it, one gets it.
    fn take_provider_sign_in(&self, digest: &[u8; 32]) -> Result<Option<ProviderSignInRow>>;
    /// Sweeps rows that expired at or before `now`.
    fn delete_provider_sign_ins_expired_by(&self, now: Time) -> Result<()>;
}

// --- Audit and settings ------------------------------------------------------------------------

/// One audit entry to append.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub time: Time,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: &'static str,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

/// A page of the audit log, newest first.
pub struct AuditListing<'a> {
    /// An actor's user name (any case) or id.
    pub actor: Option<&'a str>,
    /// An action, or its first part (`key` matches `key.revoke`).
    pub action: Option<&'a str>,
    pub since: Option<Time>,
    pub page: PageRequest,
}

pub trait AuditRows {
    fn append_audit(&self, record: &AuditRecord) -> Result<()>;
    fn list_audit(&self, listing: &AuditListing<'_>) -> Result<(Vec<AuditEntry>, u64)>;
}

pub trait SettingsRows {
    fn settings(&self) -> Result<Settings>;
    fn save_settings(&self, settings: &Settings) -> Result<()>;
}

// --- E-mail deliveries -----------------------------------------------------------------------

/// One message the directory sends and how it stands; never its text or link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub user_id: String,
    /// The key a warning is about.
    pub key_id: Option<String>,
    pub kind: MailKind,
    pub recipient: String,
    pub status: MailStatus,
    pub reason: Option<String>,
    pub attempts: u32,
    pub created_time: Time,
    pub updated_time: Time,
    /// When a sender means to try (again): set while one holds it; none when nobody will.
    pub next_attempt_time: Option<Time>,
    /// The sending server holding it (see [`MailRows::beat`]).
    pub sender_id: Option<String>,
}

/// An ENABLED key due for an expiry warning of some kind, with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringKeyRow {
    pub key_id: String,
    pub key_name: String,
    pub prefix: Option<String>,
    pub expires_time: Time,
    pub owner_id: String,
    pub owner_user_name: String,
    pub owner_display_name: String,
    pub owner_email: String,
}

/// Which keys a warning of `kind` is due for.
pub struct ExpiringKeys {
    /// Keys stored with this status, of owners with this one...
    pub key_status: KeyStatus,
    pub owner_status: UserStatus,
    /// ...with no delivery of this kind yet...
    pub kind: MailKind,
    /// ...expiring after this time...
    pub expires_after: Time,
    /// ...and at or before this one...
    pub expires_by: Time,
    /// ...that were made to live longer than this (in milliseconds).
    pub lifetime_over_ms: i64,
    /// At most this many.
    pub limit: u32,
}

pub trait MailRows {
    fn insert_delivery(&self, delivery: &DeliveryRow) -> Result<()>;
    fn find_delivery(&self, id: &str) -> Result<Option<DeliveryRow>>;
    /// Writes the delivery's status, reason, attempts, updated and next attempt time.
    fn update_delivery(&self, delivery: &DeliveryRow) -> Result<()>;
    /// The user's latest delivery of one of these kinds.
    fn latest_delivery(&self, user_id: &str, kinds: &[MailKind]) -> Result<Option<DeliveryRow>>;
    /// Records that the sending server `sender_id` is alive until `alive_until`.
    fn beat(&self, sender_id: &str, alive_until: Time) -> Result<()>;
    /// Forgets a sending server (it stopped), and those whose heartbeat ended before `now`.
    fn forget_senders(&self, sender_id: Option<&str>, now: Time) -> Result<()>;
    /// Deliveries someone meant to try (again) whose sending server is not alive at `now`:
    /// gone without a heartbeat, or none (at most `limit`, by next attempt).
    fn abandoned_deliveries(&self, now: Time, limit: u32) -> Result<Vec<DeliveryRow>>;
    fn expiring_keys(&self, query: &ExpiringKeys) -> Result<Vec<ExpiringKeyRow>>;
}

// --- Whole tables, for moving a directory between stores -------------------------------------

/// The kind of a column's values, as every store holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// 64 bits: times in milliseconds, versions, masks, ids of the audit log.
    BigInt,
    /// 32 bits: settings and counts.
    Int,
    Bool,
    Bytes,
}

/// One stored value; any column may be null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
}

/// A table every store has, with the columns a copy moves, in the order rows refer to each
/// other (a row's references are copied before it).
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// The order rows are read in (a stable one, for comparing copies).
    pub order_by: &'static str,
}

use Kind::{BigInt, Bool, Bytes, Int, Text};

/// Every table of a directory, referenced tables first.
pub const TABLES: &[Table] = &[
    Table {
        name: "roles",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("name_key", Text),
            ("description", Text),
            ("permissions", BigInt),
            ("builtin", Bool),
            ("created_time", BigInt),
            ("last_updated_time", BigInt),
            ("update_version", BigInt),
        ],
        order_by: "id",
    },
    Table {
        name: "users",
        columns: &[
            ("id", Text),
            ("user_name", Text),
            ("user_name_key", Text),
            ("display_name", Text),
            ("display_name_key", Text),
            ("email", Text),
            ("email_key", Text),
            ("status", Text),
            ("type", Text),
            ("password_hash", Text),
            ("created_time", BigInt),
            ("last_updated_time", BigInt),
            ("last_login_time", BigInt),
            ("update_version", BigInt),
        ],
        order_by: "created_time, id",
    },
    Table {
        name: "user_roles",
        columns: &[("user_id", Text), ("role_id", Text)],
        order_by: "user_id, role_id",
    },
    Table {
        name: "directory_groups",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("name_key", Text),
            ("description", Text),
            ("created_time", BigInt),
            ("last_updated_time", BigInt),
            ("update_version", BigInt),
        ],
        order_by: "id",
    },
    Table {
        name: "provider_groups",
        columns: &[("claim", Text), ("group_id", Text)],
        order_by: "claim, group_id",
    },
    Table {
        name: "group_members",
        columns: &[("group_id", Text), ("user_id", Text)],
        order_by: "group_id, user_id",
    },
    Table {
        name: "group_roles",
        columns: &[("group_id", Text), ("role_id", Text)],
        order_by: "group_id, role_id",
    },
    Table {
        name: "api_keys",
        columns: &[
            ("id", Text),
            ("owner_id", Text),
            ("name", Text),
            ("name_key", Text),
            ("description", Text),
            ("prefix", Text),
            ("status", Text),
            ("created_time", BigInt),
            ("created_by", Text),
            ("expires_time", BigInt),
            ("last_used_time", BigInt),
            ("revoked_time", BigInt),
            ("revoked_by", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "mail_deliveries",
        columns: &[
            ("id", Text),
            ("user_id", Text),
            ("key_id", Text),
            ("kind", Text),
            ("recipient", Text),
            ("status", Text),
            ("reason", Text),
            ("attempts", Int),
            ("created_time", BigInt),
            ("updated_time", BigInt),
            ("next_attempt_time", BigInt),
            ("sender_id", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "mail_senders",
        columns: &[("id", Text), ("alive_until", BigInt)],
        order_by: "id",
    },
    Table {
        name: "key_secrets",
        columns: &[("hash", Bytes), ("key_id", Text), ("not_after", BigInt)],
        order_by: "hash",
    },
    Table {
        name: "sessions",
        columns: &[
            ("hash", Bytes),
            ("user_id", Text),
            ("created_time", BigInt),
            ("expires_time", BigInt),
        ],
        order_by: "hash",
    },
    Table {
        name: "user_tokens",
        columns: &[
            ("hash", Bytes),
            ("user_id", Text),
            ("kind", Text),
            ("expires_time", BigInt),
        ],
        order_by: "hash",
    },
    Table {
        name: "second_factors",
        columns: &[
            ("user_id", Text),
            ("secret", Bytes),
            ("confirmed", Bool),
            ("last_step", BigInt),
            ("created_time", BigInt),
        ],
        order_by: "user_id",
    },
    Table {
        name: "recovery_codes",
        columns: &[("hash", Bytes), ("user_id", Text)],
        order_by: "hash",
    },
    Table {
        name: "sign_in_challenges",
        columns: &[
            ("hash", Bytes),
            ("user_id", Text),
            ("kind", Text),
            ("expires_time", BigInt),
        ],
        order_by: "hash",
    },
    Table {
        name: "user_identities",
        columns: &[
            ("issuer", Text),
            ("subject", Text),
            ("user_id", Text),
            ("linked_time", BigInt),
        ],
        order_by: "issuer, subject",
    },
    Table {
        name: "provider_sign_ins",
        columns: &[
            ("hash", Bytes),
            ("kind", Text),
            ("provider", Text),
            ("nonce", Text),
            ("redirect_uri", Text),
            ("client_state", Text),
            ("code_challenge", Text),
            ("user_id", Text),
            ("expires_time", BigInt),
        ],
        order_by: "hash",
    },
    Table {
        name: "sign_in_failures",
        columns: &[
            ("user_name_key", Text),
            ("failures", Int),
            ("last_failure_time", BigInt),
        ],
        order_by: "user_name_key",
    },
    Table {
        name: "settings",
        columns: &[
            ("id", Int),
            ("api_key_auth_enabled", Bool),
            ("max_key_lifetime_days", Int),
            ("password_min_length", Int),
            ("clipboard_clear_seconds", Int),
            ("session_lifetime_minutes", Int),
            ("lockout_threshold", Int),
            ("update_version", BigInt),
            ("second_factor", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", BigInt),
            ("time", BigInt),
            ("actor_id", Text),
            ("actor_name", Text),
            ("action", Text),
            ("target_type", Text),
            ("target_id", Text),
            ("target_name", Text),
            ("outcome", Text),
            ("detail", Text),
        ],
        order_by: "id",
    },
];

pub trait Tables {
    /// Every row of the table, its cells in the order of [`Table::columns`].
    fn rows_of(&self, table: &Table) -> Result<Vec<Vec<Cell>>>;
    /// How many rows the table has.
    fn count_rows(&self, table: &Table) -> Result<u64>;
    /// Adds rows to the table as they are (their ids, times, digests and hashes too).
    fn insert_rows(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<()>;
    /// Removes what a new directory starts with (the built-in roles, the default settings),
    /// so that a copy brings its own.
    fn clear_new_directory(&self) -> Result<()>;
    /// After rows with their own ids were added: the ids the store generates next follow them.
    fn after_copy(&self) -> Result<()>;
}

//! The domain's values, which are also the wire types: the HTTP server writes them, the remote
//! client and the desktop UI read them (camelCase JSON, RFC 3339 UTC times).

use super::password::PolicyError;
use super::permission::PermissionSet;
use super::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type Time = DateTime<Utc>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum UserStatus {
    Active,
    Inactive,
    Invited,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "ACTIVE",
            UserStatus::Inactive => "INACTIVE",
            UserStatus::Invited => "INVITED",
        }
    }

    pub fn parse(value: &str) -> Option<UserStatus> {
        [
            UserStatus::Active,
            UserStatus::Inactive,
            UserStatus::Invited,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(value))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum UserType {
    /// The password is managed here.
    #[default]
    Native,
    /// The identity is managed elsewhere: no password here, roles are not changed here.
    External,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Native => "NATIVE",
            UserType::External => "EXTERNAL",
        }
    }

    pub fn parse(value: &str) -> Option<UserType> {
        [UserType::Native, UserType::External]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub display_name: String,
    pub email: String,
    pub status: UserStatus,
    #[serde(rename = "type")]
    pub user_type: UserType,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub created_time: DateTime<Utc>,
    pub last_updated_time: DateTime<Utc>,
    pub last_login_time: Option<DateTime<Utc>>,
    pub update_version: i64,
    /// Whether the user signs in with a second step (a TOTP code); never the secret.
    #[serde(default)]
    pub second_factor: bool,
    /// The last invitation or reset e-mailed to the user, where the directory's server sends
    /// e-mail: on a single user as read by id (never in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailDelivery>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    #[cfg_attr(
        feature = "server",
        schema(min_length = 1, max_length = 64, pattern = r"^\S+$")
    )]
    pub user_name: String,
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 128))]
    pub display_name: String,
    #[cfg_attr(feature = "server", schema(format = Email, max_length = 254))]
    pub email: String,
    /// Without a password the user is invited, unless `status` is ACTIVE for an account that
    /// cannot sign in (a service account that only uses API keys).
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>, format = Password, min_length = 8, max_length = 256))]
    pub password: Option<Secret>,
    #[serde(default)]
    pub status: Option<UserStatus>,
    #[serde(default, rename = "type")]
    pub user_type: Option<UserType>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A change to a user: only the fields given change. `update_version` is the version read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "server",
        schema(min_length = 1, max_length = 64, pattern = r"^\S+$")
    )]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 128))]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(format = Email, max_length = 254))]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    pub update_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versioned {
    pub id: String,
    pub update_version: i64,
}

/// A one-time token (invitation or password reset), shown once to the administrator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub token: Secret,
    pub expires_time: DateTime<Utc>,
    /// The link to hand to the person, where a server makes one (the page that takes the
    /// token); a local directory has none, and the token is entered in the app as a code.
    /// It carries the token, so it is a secret too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub link: Option<Secret>,
    /// The message taking the link to the user, where the directory's server sends e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailDelivery>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    pub user: User,
    /// Present when the user was invited.
    pub invitation: Option<IssuedToken>,
}

/// The outcome of an import: how many rows, and the users created (with their invitations),
/// none for a dry run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub dry_run: bool,
    pub count: usize,
    pub users: Vec<CreatedUser>,
}

impl ImportReport {
    /// How many of the users were invited (and have an invitation to hand over).
    pub fn invited(&self) -> usize {
        self.users.iter().filter(|u| u.invitation.is_some()).count()
    }
}

/// The sort orders of the user list; a leading `-` in the wire form means descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    UserName,
    DisplayName,
    Email,
    Status,
    CreatedTime,
    LastLoginTime,
}

impl UserSort {
    pub const ALL: [UserSort; 6] = [
        UserSort::UserName,
        UserSort::DisplayName,
        UserSort::Email,
        UserSort::Status,
        UserSort::CreatedTime,
        UserSort::LastLoginTime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::UserName => "userName",
            UserSort::DisplayName => "displayName",
            UserSort::Email => "email",
            UserSort::Status => "status",
            UserSort::CreatedTime => "createdTime",
            UserSort::LastLoginTime => "lastLoginTime",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct UserQuery {
    #[serde(default)]
    #[cfg_attr(feature = "server", param(minimum = 1))]
    pub page: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "server", param(minimum = 1, maximum = 500))]
    pub page_size: Option<u32>,
    /// Substring of the user name, display name or e-mail, regardless of case.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// A role id: users holding it directly or through a group.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    /// `userName`, `-createdTime`, …
    #[serde(default)]
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub page: u32,
    pub page_size: u32,
    pub total_elements: u64,
    pub total_pages: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
    pub builtin: bool,
    pub created_time: DateTime<Utc>,
    pub last_updated_time: DateTime<Utc>,
    pub update_version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewRole {
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 64))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(max_length = 1024))]
    pub description: String,
    #[serde(default)]
    pub permissions: PermissionSet,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoleUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 64))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(max_length = 1024))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionSet>,
    pub update_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    /// User ids.
    pub members: Vec<String>,
    /// Role ids its members hold through it.
    pub roles: Vec<String>,
    pub created_time: DateTime<Utc>,
    pub last_updated_time: DateTime<Utc>,
    pub update_version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 64))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(max_length = 1024))]
    pub description: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 64))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(max_length = 1024))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    pub update_version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyStatus {
    /// Created for someone else: no secret exists until the owner downloads it.
    Pending,
    Enabled,
    Revoked,
    /// Past its expiry time; derived, never stored.
    Expired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Pending => "PENDING",
            KeyStatus::Enabled => "ENABLED",
            KeyStatus::Revoked => "REVOKED",
            KeyStatus::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub owner_id: String,
    pub owner_user_name: String,
    pub name: String,
    pub description: String,
    /// The visible start of the key (`kw_7Hq2Lx9a`); none while PENDING.
    pub prefix: Option<String>,
    pub status: KeyStatus,
    pub created_time: DateTime<Utc>,
    pub created_by: Option<String>,
    pub expires_time: Option<DateTime<Utc>>,
    pub last_used_time: Option<DateTime<Utc>>,
    pub revoked_time: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    #[cfg_attr(feature = "server", schema(min_length = 1, max_length = 64))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(max_length = 1024))]
    pub description: String,
    /// None: never expires (refused when settings cap key lifetimes).
    #[serde(default)]
    pub expires_time: Option<DateTime<Utc>>,
}

/// A key and, when it was generated now, its secret: shown once, never again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IssuedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "key")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub secret: Option<Secret>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct KeyQuery {
    #[serde(default)]
    #[cfg_attr(feature = "server", param(minimum = 1))]
    pub page: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "server", param(minimum = 1, maximum = 500))]
    pub page_size: Option<u32>,
    /// Substring of the key's name or prefix, or the owner's user name.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub status: Option<KeyStatus>,
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    Malformed,
    NotFound,
    /// Part of the contract's vocabulary; a pending key has no secret yet, so no presented
    /// key can match one.
    Pending,
    Revoked,
    Expired,
    UserInactive,
    AuthDisabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub valid: bool,
    pub code: VerifyCode,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub permissions: PermissionSet,
    pub expires_time: Option<DateTime<Utc>>,
}

impl Verification {
    pub fn refused(code: VerifyCode) -> Verification {
        Verification {
            valid: false,
            code,
            key_id: None,
            user_id: None,
            user_name: None,
            permissions: PermissionSet::EMPTY,
            expires_time: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub time: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// `user.create`, `key.revoke`, …
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub outcome: Outcome,
    /// What changed, in words (field names, never values of secrets).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    #[serde(default)]
    #[cfg_attr(feature = "server", param(minimum = 1))]
    pub page: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "server", param(minimum = 1, maximum = 500))]
    pub page_size: Option<u32>,
    /// A user name or user id.
    #[serde(default)]
    pub actor: Option<String>,
    /// An action, or its first part (`key` matches `key.revoke`).
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub api_key_auth_enabled: bool,
    pub max_key_lifetime_days: Option<u32>,
    pub password_min_length: u32,
    pub clipboard_clear_seconds: u32,
    pub session_lifetime_minutes: u32,
    pub lockout_threshold: u32,
    /// Who must sign in with a second step (SPEC 10).
    #[serde(default)]
    pub second_factor: SecondFactorPolicy,
    /// The group mapping of sign-in through the identity provider (SPEC 11), sorted.
    #[serde(default)]
    pub provider_groups: Vec<ProviderGroup>,
    pub update_version: i64,
}

/// One line of the group mapping (SPEC 11): who is in `claim` at the identity provider (a
/// value of its groups claim) is a member of the Keyward group `groupId`, set at every sign-in
/// through the provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderGroup {
    pub claim: String,
    pub group_id: String,
}

/// Who must sign in with a second step: the `secondFactor` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecondFactorPolicy {
    /// Everyone chooses.
    #[default]
    Optional,
    /// Anyone holding a permission that changes users, roles, groups, keys of others or
    /// settings.
    RequiredForAdmins,
    /// Every console account.
    Required,
}

impl SecondFactorPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorPolicy::Optional => "OPTIONAL",
            SecondFactorPolicy::RequiredForAdmins => "REQUIRED_FOR_ADMINS",
            SecondFactorPolicy::Required => "REQUIRED",
        }
    }

    pub fn parse(value: &str) -> Option<SecondFactorPolicy> {
        [
            SecondFactorPolicy::Optional,
            SecondFactorPolicy::RequiredForAdmins,
            SecondFactorPolicy::Required,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(value))
    }
}

/// A change to the settings: only the fields given change. `maxKeyLifetimeDays: null` removes
/// the cap, so that field is doubly optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SettingsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_auth_enabled: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "server", schema(value_type = Option<u32>))]
    pub max_key_lifetime_days: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clipboard_clear_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_lifetime_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactorPolicy>,
    /// The whole group mapping, replacing the one there is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_groups: Option<Vec<ProviderGroup>>,
    pub update_version: i64,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Option<u32>>, s: S) -> Result<S::Ok, S::Error> {
        value.flatten().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
        Option::<u32>::deserialize(d).map(Some)
    }
}

/// Who is signed in, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub user_name: String,
    pub display_name: String,
    pub email: String,
    /// An `EXTERNAL` user's password and second step are the identity provider's.
    #[serde(default, rename = "type")]
    pub user_type: UserType,
    pub roles: Vec<String>,
    pub permissions: PermissionSet,
    /// Whether one signs in with a second step.
    #[serde(default)]
    pub second_factor: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub access_token: Secret,
    pub expires_time: DateTime<Utc>,
    pub user: User,
}

/// What a password sign-in came to (SPEC 10): a session, or a second step still to take with
/// the challenge (a code, or enrolment first where the `secondFactor` setting requires it).
#[derive(Debug, Clone)]
pub enum SignInStep {
    SignedIn(Box<SignedIn>),
    SecondFactor(Challenge),
    Enrollment(Challenge),
}

/// A password accepted, the second step still to come: the token that stands for it, used
/// once, valid [`crate::core::totp::CHALLENGE_MINUTES`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub challenge_token: Secret,
    pub expires_time: DateTime<Utc>,
}

// --- Sign-in through the identity provider (SPEC 11) ---------------------------------------

/// One identity provider a server signs in through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderEntry {
    /// What `/auth/oidc/{id}/start` takes.
    pub id: String,
    /// The name for the button: "Sign in with <name>".
    pub name: String,
}

/// What an app asks of a sign-in through the provider: where its loopback listener waits
/// (RFC 8252), its own `state`, and its PKCE challenge (S256).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderStart {
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

/// The server's side of the trip to the provider: the `state` it sends there (a secret,
/// kept only as its digest) and the `nonce` the ID token must carry.
#[derive(Debug, Clone)]
pub struct ProviderTrip {
    pub provider: String,
    pub state: Secret,
    pub nonce: String,
}

/// A sign-in through the provider whose browser came back: what the app asked, and the
/// nonce the ID token must carry.
#[derive(Debug, Clone)]
pub struct PendingProviderSignIn {
    pub provider: String,
    pub nonce: String,
    pub redirect_uri: String,
    pub client_state: String,
    pub code_challenge: String,
}

/// Who the provider says signed in, from a validated ID token.
#[derive(Debug, Clone, Default)]
pub struct ProviderIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub groups: Vec<String>,
}

/// What the server allows of its provider's users (`--oidc-create-users`).
#[derive(Debug, Clone)]
pub struct ProviderPolicy {
    /// The provider's name, as on the button and in the audit log.
    pub name: String,
    pub create_users: bool,
}

/// The provider's sign-in, accepted: the one-time code for the app (valid
/// [`PROVIDER_CODE_SECONDS`]), and where to hand it.
#[derive(Debug, Clone)]
pub struct ProviderCode {
    pub code: Secret,
    pub redirect_uri: String,
    pub client_state: String,
}

/// How long the app has to exchange the one-time code of a provider's sign-in.
pub const PROVIDER_CODE_SECONDS: i64 = 60;
/// How long a browser may stay at the provider before the sign-in must start again.
pub const PROVIDER_TRIP_MINUTES: i64 = 10;

/// Who is enrolling a second step: a signed-in user, or one whose sign-in the policy holds
/// until they have one.
#[derive(Debug, Clone, Copy)]
pub enum Enrolling<'a> {
    Signed(&'a Credential),
    AtSignIn(&'a Secret),
}

/// What an authenticator app needs, shown once to the user enrolling: the secret as base32
/// text and as an `otpauth://` URI (for a QR code).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpSetup {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub secret: Secret,
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub otpauth_uri: Secret,
}

/// Recovery codes, shown once: each signs in once in place of a code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    #[cfg_attr(feature = "server", schema(value_type = Vec<String>))]
    pub recovery_codes: Vec<Secret>,
}

/// A second step confirmed: the recovery codes, and the session when it was enrolled at
/// sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Enrolled {
    #[cfg_attr(feature = "server", schema(value_type = Vec<String>))]
    pub recovery_codes: Vec<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in: Option<SignedIn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordResult {
    pub succeeded: bool,
    pub errors: Vec<PolicyError>,
}

/// The first SuperAdmin of an empty directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FirstAdmin {
    #[cfg_attr(
        feature = "server",
        schema(min_length = 1, max_length = 64, pattern = r"^\S+$")
    )]
    pub user_name: String,
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(max_length = 128))]
    pub display_name: String,
    #[cfg_attr(feature = "server", schema(format = Email, max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "server", schema(value_type = String, format = Password, min_length = 8, max_length = 256))]
    pub password: Secret,
}

/// A new stable id for a user, role, group or key: a UUID v7 (time-ordered, so ids created
/// together sort together).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether the directory's server sends e-mail, and through what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MailSetup {
    pub configured: bool,
    /// The SMTP server, how it is reached, and the sender (never a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a message sent by the directory is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MailKind {
    /// An invitation, first or new, with its link.
    Invitation,
    /// A password reset link.
    PasswordReset,
    /// A key of the recipient's expires in 14 days.
    KeyExpiresIn14Days,
    /// A key of the recipient's expires within a day.
    KeyExpiresIn1Day,
}

impl MailKind {
    pub const ALL: [MailKind; 4] = [
        MailKind::Invitation,
        MailKind::PasswordReset,
        MailKind::KeyExpiresIn14Days,
        MailKind::KeyExpiresIn1Day,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "INVITATION",
            MailKind::PasswordReset => "PASSWORD_RESET",
            MailKind::KeyExpiresIn14Days => "KEY_EXPIRES_IN_14_DAYS",
            MailKind::KeyExpiresIn1Day => "KEY_EXPIRES_IN_1_DAY",
        }
    }

    pub fn parse(value: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Does the message carry a one-time link (which only memory holds until it is sent)?
    pub fn carries_link(self) -> bool {
        matches!(self, MailKind::Invitation | MailKind::PasswordReset)
    }

    /// How it is named to an administrator.
    pub fn describe(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::PasswordReset => "password reset",
            MailKind::KeyExpiresIn14Days => "key expiry warning (14 days)",
            MailKind::KeyExpiresIn1Day => "key expiry warning (1 day)",
        }
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum MailStatus {
    /// Queued or being handed to the SMTP server.
    Sending,
    /// The SMTP server accepted it.
    Sent,
    /// Not delivered (yet): `reason` says why; a `nextAttemptTime` says when it is tried
    /// again, none that it will not be.
    Failed,
    /// Not to be sent after all: `reason` says why (replaced by a newer one, the invitation
    /// accepted meanwhile, the key no longer in use).
    #[serde(rename = "NOT_SENT")]
    NotSent,
}

impl MailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Sending => "SENDING",
            MailStatus::Sent => "SENT",
            MailStatus::Failed => "FAILED",
            MailStatus::NotSent => "NOT_SENT",
        }
    }

    pub fn parse(value: &str) -> Option<MailStatus> {
        [
            MailStatus::Sending,
            MailStatus::Sent,
            MailStatus::Failed,
            MailStatus::NotSent,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One message the directory sends, as an administrator may see it: to whom, about what,
/// and how it went; never its text or link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MailDelivery {
    pub kind: MailKind,
    pub to: String,
    pub status: MailStatus,
    /// Why the last attempt failed (FAILED), or what the SMTP server answered (SENT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was queued.
    pub queued_time: DateTime<Utc>,
    /// When its status last changed (sent, failed).
    pub time: DateTime<Utc>,
    /// How often it was handed to the SMTP server.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<DateTime<Utc>>,
}

impl MailDelivery {
    /// One line for an administrator: what happened, and what to do when it failed.
    pub fn summary(&self) -> String {
        let what = match self.kind {
            MailKind::Invitation => "Invitation",
            MailKind::PasswordReset => "Password reset",
            MailKind::KeyExpiresIn14Days | MailKind::KeyExpiresIn1Day => "Key expiry warning",
        };
        let when = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        match self.status {
            MailStatus::Sent => format!("{what} e-mailed to {} at {}", self.to, when(&self.time)),
            MailStatus::Sending => format!("{what} to {}: sending…", self.to),
            MailStatus::NotSent => format!(
                "{what} to {} not sent: {}.",
                self.to,
                self.reason.as_deref().unwrap_or("no longer needed")
            ),
            MailStatus::Failed => {
                let reason = self.reason.as_deref().unwrap_or("unknown reason");
                let retry = self
                    .next_attempt_time
                    .map(|t| format!(" Trying again at {}.", when(&t)))
                    .unwrap_or_default();
                let instead = if self.kind.carries_link() {
                    " — copy the link instead"
                } else {
                    ""
                };
                format!(
                    "{what} to {} could not be delivered: {reason}{instead}.{retry}",
                    self.to
                )
            }
        }
    }
}

/// What a test message came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MailTest {
    /// The address it was sent to.
    pub to: String,
    /// Whether the SMTP server accepted it.
    pub delivered: bool,
    /// The SMTP server's answer, or why it could not be delivered.
    pub answer: String,
}

/// An operation that takes input, as a caller attempts it before the input is read: the
/// server asks whether the caller may attempt it at all before it looks at the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    CreateUser,
    ImportUsers,
    /// Target: the user.
    UpdateUser,
    /// Target: the user (oneself), or none for one's own.
    ChangePassword,
    CreateRole,
    /// Target: the role.
    UpdateRole,
    CreateGroup,
    /// Target: the group.
    UpdateGroup,
    /// Target: the key's owner.
    CreateKey,
    /// Target: the key.
    RegenerateKey,
    UpdateSettings,
    /// One's own second step (a console account's).
    OwnSecondFactor,
}

/// How a caller proves who it is: a session from sign-in, or an API key.
#[derive(Debug, Clone)]
pub enum Credential {
    Session(Secret),
    ApiKey(Secret),
}

/// The largest page any list returns.
pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A validated page request: `page` starts at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl PageRequest {
    pub fn parse(page: Option<u32>, page_size: Option<u32>) -> super::Result<PageRequest> {
        let mut errors = super::FieldErrors::new();
        let page = page.unwrap_or(1);
        if page == 0 {
            errors.add("page", "Pages start at 1.");
        }
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            errors.add(
                "pageSize",
                format!("Choose a page size from 1 to {MAX_PAGE_SIZE}."),
            );
        }
        errors.into_result()?;
        Ok(PageRequest { page, page_size })
    }

    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }

    pub fn info(self, total_elements: u64) -> PageInfo {
        PageInfo {
            page: self.page,
            page_size: self.page_size,
            total_elements,
            total_pages: total_elements.div_ceil(u64::from(self.page_size)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(kind: MailKind, status: MailStatus, reason: Option<&str>) -> MailDelivery {
        let time = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        MailDelivery {
            kind,
            to: "ann@example.com".into(),
            status,
            reason: reason.map(Into::into),
            queued_time: time,
            time,
            attempts: 1,
            next_attempt_time: None,
        }
    }

    #[test]
    fn a_delivery_is_summed_up_in_one_line_saying_what_to_do() {
        use MailKind::*;
        use MailStatus::*;
        assert_eq!(
            delivery(Invitation, Sent, Some("250 OK")).summary(),
            "Invitation e-mailed to ann@example.com at 2027-01-15 08:00 UTC"
        );
        assert_eq!(
            delivery(PasswordReset, Sending, None).summary(),
            "Password reset to ann@example.com: sending…"
        );
        let mut failed = delivery(Invitation, Failed, Some("Connection refused"));
        assert_eq!(
            failed.summary(),
            "Invitation to ann@example.com could not be delivered: Connection refused — copy \
             the link instead."
        );
        failed.next_attempt_time = Some(failed.time + chrono::TimeDelta::minutes(1));
        assert!(failed
            .summary()
            .ends_with("Trying again at 2027-01-15 08:01 UTC."));
        assert_eq!(
            delivery(KeyExpiresIn1Day, Failed, Some("550 no")).summary(),
            "Key expiry warning to ann@example.com could not be delivered: 550 no."
        );
        assert_eq!(
            delivery(
                Invitation,
                NotSent,
                Some("the invitation was accepted meanwhile")
            )
            .summary(),
            "Invitation to ann@example.com not sent: the invitation was accepted meanwhile."
        );
    }

    #[test]
    fn mail_kinds_and_statuses_read_back_as_written() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        for status in [
            MailStatus::Sending,
            MailStatus::Sent,
            MailStatus::Failed,
            MailStatus::NotSent,
        ] {
            assert_eq!(MailStatus::parse(status.as_str()), Some(status));
            let wire = serde_json::to_value(status).unwrap();
            assert_eq!(wire, status.as_str());
        }
    }
}

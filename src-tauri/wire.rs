//! The HTTP API's own shapes, in one place: the server writes them and the remote client reads
//! them. The domain values themselves (users, keys, …) are the core's model types; this module
//! adds only what exists because of HTTP: list envelopes, links, request bodies and the
//! `application/problem+json` error.

use crate::core::model::*;
use crate::core::secret::Secret;
use crate::core::{Error, ErrorBody, FieldErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "server")]
use utoipa::ToSchema;

/// The media type of every error reply.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Paths of the pages where an invitation or a reset is completed. The token travels in the
/// link's fragment (`#token=…`): browsers never send a fragment, so it stays out of server and
/// proxy logs.
pub const INVITE_PAGE: &str = "/invite";
pub const RESET_PAGE: &str = "/reset";

/// A link to one of the pages above, carrying its token.
pub fn token_link(base_url: &str, page: &str, token: &Secret) -> String {
    format!(
        "{}{page}#token={}",
        base_url.trim_end_matches('/'),
        token.expose()
    )
}

/// Where the pages taking a token are, for messages that carry links to them.
pub fn mail_links(base_url: &str) -> crate::core::mail::Links {
    let empty = Secret::new(String::new());
    crate::core::mail::Links {
        invitation: token_link(base_url, INVITE_PAGE, &empty),
        reset: token_link(base_url, RESET_PAGE, &empty),
    }
}

/// The token of a link made by [`token_link`] (or the text itself when it is a bare token).
pub fn token_from_link(link: &str) -> Secret {
    let token = link.rsplit_once("#token=").map_or(link, |(_, token)| token);
    Secret::new(token.trim().to_owned())
}

/// An error as RFC 9457 describes it, with Keyward's extensions: a stable `code`, the field
/// errors, a `traceId` to find the request in the server's log and, where it applies, the
/// kind of thing not found or in conflict and the seconds to wait.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field name → messages.
    #[serde(default)]
    #[cfg_attr(feature = "server", schema(value_type = std::collections::BTreeMap<String, Vec<String>>))]
    pub errors: FieldErrors,
    pub trace_id: String,
    /// `INVALID_INPUT`, `UNAUTHENTICATED`, `VERSION_CONFLICT`, …
    pub code: String,
    /// What was not found or changed by someone else (`user`, `API key`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// For 429: seconds until another attempt is accepted (also in `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

impl Problem {
    pub fn from_error(error: &Error, trace_id: &str) -> Problem {
        let body = ErrorBody::from(error);
        Problem {
            errors: body.errors,
            resource: match error {
                Error::NotFound(what) | Error::VersionConflict(what) => Some((*what).to_owned()),
                _ => None,
            },
            retry_after: match error {
                Error::RateLimited(seconds) => Some(*seconds),
                _ => None,
            },
            ..Problem::plain(error.status(), &body.code, body.message, trace_id)
        }
    }

    /// A problem the server raises itself, outside the core (limits, malformed requests).
    pub fn plain(status: u16, code: &str, detail: impl Into<String>, trace_id: &str) -> Problem {
        Problem {
            problem_type: format!(
                "urn:keyward:problem:{}",
                code.to_lowercase().replace('_', "-")
            ),
            title: title(status).to_owned(),
            status,
            detail: detail.into(),
            errors: FieldErrors::new(),
            trace_id: trace_id.to_owned(),
            code: code.to_owned(),
            resource: None,
            retry_after: None,
        }
    }

    /// The core error this problem stands for, as the remote client hands it to its caller.
    pub fn into_error(self) -> Error {
        let resource = resource_name(self.resource.as_deref());
        match self.code.as_str() {
            "INVALID_INPUT" => Error::Invalid(self.errors),
            "UNAUTHENTICATED" => Error::Unauthenticated,
            "SIGN_IN_FAILED" => Error::SignInFailed,
            "FORBIDDEN" => Error::Forbidden(self.detail),
            "NOT_FOUND" => Error::NotFound(resource),
            "VERSION_CONFLICT" => Error::VersionConflict(resource),
            "DUPLICATE" => Error::Duplicate(self.errors),
            "STATE_CONFLICT" => Error::StateConflict(self.detail),
            "RATE_LIMITED" => Error::RateLimited(self.retry_after.unwrap_or(1)),
            "UNAVAILABLE" => Error::Unavailable(self.detail),
            _ if self.status == 400 && !self.errors.is_empty() => Error::Invalid(self.errors),
            _ if self.status == 401 => Error::Unauthenticated,
            _ if self.status == 403 => Error::Forbidden(self.detail),
            _ => Error::Internal(format!("server said {} {}", self.status, self.detail)),
        }
    }
}

/// The core names the kind of thing in its not-found and conflict errors with static text.
fn resource_name(name: Option<&str>) -> &'static str {
    const KNOWN: [&str; 8] = [
        "user",
        "role",
        "group",
        "API key",
        "settings",
        "invitation",
        "reset",
        "session",
    ];
    name.and_then(|name| KNOWN.iter().find(|known| **known == name).copied())
        .unwrap_or("resource")
}

// --- Request bodies ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub user_name: String,
    #[cfg_attr(feature = "server", schema(value_type = String, format = Password))]
    pub password: Secret,
}

/// A code from an authenticator app (six digits) or, where one is taken, a recovery code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CodeRequest {
    #[cfg_attr(feature = "server", schema(value_type = String, example = "123456"))]
    pub code: Secret,
}

/// The second step of a sign-in, or of an enrolment the setting requires at sign-in.
/// `POST /api/auth/oidc/exchange`: the one-time code a provider's sign-in handed to the
/// app's loopback address, and the verifier of the app's PKCE challenge (SPEC 11).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderExchange {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub code: Secret,
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub code_verifier: Secret,
}

/// `GET /api/auth/providers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderList {
    pub providers: Vec<ProviderEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRequest {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub challenge_token: Secret,
    /// The code (absent when only starting an enrolment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub code: Option<Secret>,
}

/// What `POST /api/auth/login` answers (SPEC 10): a session (`accessToken`, `expiresTime`,
/// `user`), or `secondFactorRequired` / `enrollmentRequired` with a `challengeToken`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginReply {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_factor_required: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enrollment_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub challenge_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub access_token: Option<Secret>,
    pub expires_time: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

impl From<SignInStep> for LoginReply {
    fn from(step: SignInStep) -> LoginReply {
        match step {
            SignInStep::SignedIn(signed_in) => LoginReply {
                access_token: Some(signed_in.access_token),
                expires_time: signed_in.expires_time,
                user: Some(signed_in.user),
                ..Default::default()
            },
            SignInStep::SecondFactor(challenge) => LoginReply {
                second_factor_required: true,
                challenge_token: Some(challenge.challenge_token),
                expires_time: challenge.expires_time,
                ..Default::default()
            },
            SignInStep::Enrollment(challenge) => LoginReply {
                enrollment_required: true,
                challenge_token: Some(challenge.challenge_token),
                expires_time: challenge.expires_time,
                ..Default::default()
            },
        }
    }
}

impl LoginReply {
    /// The step a server's reply stands for; `None` for a reply that is none of them.
    pub fn into_step(self) -> Option<SignInStep> {
        match (self.challenge_token, self.access_token, self.user) {
            (Some(challenge_token), _, _) => {
                let challenge = Challenge {
                    challenge_token,
                    expires_time: self.expires_time,
                };
                if self.enrollment_required {
                    Some(SignInStep::Enrollment(challenge))
                } else if self.second_factor_required {
                    Some(SignInStep::SecondFactor(challenge))
                } else {
                    None
                }
            }
            (None, Some(access_token), Some(user)) => {
                Some(SignInStep::SignedIn(Box::new(SignedIn {
                    access_token,
                    expires_time: self.expires_time,
                    user,
                })))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    #[cfg_attr(feature = "server", schema(value_type = String, format = Password))]
    pub old_password: Secret,
    #[cfg_attr(
        feature = "server",
        schema(value_type = String, format = Password, min_length = 8, max_length = 256)
    )]
    pub new_password: Secret,
}

/// Sends a test message; to the caller's own address when `to` is left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestMailRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(format = Email))]
    pub to: Option<String>,
}

/// Asks whether the caller may attempt an operation on a target at all.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    pub operation: Operation,
    /// The user, role, group or key the operation's path names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Completes an invitation or a password reset: the token from the link and the new password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SetPasswordRequest {
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub token: Secret,
    #[cfg_attr(feature = "server", schema(value_type = String, format = Password, min_length = 8, max_length = 256))]
    pub password: Secret,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RegenerateRequest {
    /// How long the old secret keeps verifying: 0 (default), 3600, 86400 or 604800.
    #[serde(default)]
    pub grace_seconds: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
pub struct VerifyRequest {
    pub key: String,
}

/// Users to import, in the shape of the export (`{"users": [...]}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
pub struct ImportRequest {
    pub users: Vec<NewUser>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct ImportQuery {
    /// Check every row and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

// --- Replies ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    pub needs_setup: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub users: Vec<User>,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
pub struct RoleList {
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
pub struct GroupList {
    pub groups: Vec<Group>,
}

/// The keys of one user (`pageInfo` absent) or a page of every key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyList {
    pub keys: Vec<ApiKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_info: Option<PageInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
    pub page_info: PageInfo,
}

/// A created user: the user itself (so `id` and `updateVersion` are at the top) and, for an
/// invited user, the link to send them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedUserReply {
    #[serde(flatten)]
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_time: Option<DateTime<Utc>>,
    /// The e-mail taking the invitation to the user, where the server sends e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_mail: Option<MailDelivery>,
}

/// An import's outcome: the users created, each with its invitation link when invited.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportReply {
    pub dry_run: bool,
    pub count: usize,
    pub users: Vec<CreatedUserReply>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InviteReply {
    pub invite_link: String,
    pub expires_time: DateTime<Utc>,
    /// The e-mail taking the link to the user, where the server sends e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailDelivery>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResetReply {
    pub reset_link: String,
    pub expires_time: DateTime<Utc>,
    /// The e-mail taking the link to the user, where the server sends e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailDelivery>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(ToSchema))]
pub struct Health {
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_carries_its_token_in_the_fragment() {
        let token = Secret::new("abc123".into());
        let link = token_link("https://kw.example.com/", INVITE_PAGE, &token);
        assert_eq!(link, "https://kw.example.com/invite#token=abc123");
        assert_eq!(token_from_link(&link).expose(), "abc123");
        assert_eq!(token_from_link("abc123").expose(), "abc123");
    }

    #[test]
    fn every_core_error_survives_the_trip_through_a_problem() {
        let errors = [
            Error::invalid("email", "Enter a valid e-mail address."),
            Error::Unauthenticated,
            Error::SignInFailed,
            Error::forbidden("You may not."),
            Error::NotFound("API key"),
            Error::VersionConflict("user"),
            Error::duplicate("userName", "That user name is taken."),
            Error::StateConflict("already downloaded".into()),
            Error::RateLimited(4),
        ];
        for error in errors {
            let problem = Problem::from_error(&error, "t-1");
            let json = serde_json::to_string(&problem).unwrap();
            let back: Problem = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_error(), error, "{json}");
        }
    }
}

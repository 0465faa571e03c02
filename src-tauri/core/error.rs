//! The core's error type: what went wrong, in a shape every caller can show or map to HTTP.
//!
//! Internal causes (SQLite, I/O) are logged where they happen and leave the core as
//! [`Error::Internal`] with a generic message: library text never reaches a user.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Field name → messages, for input that was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn one(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records the error of a parse, keeping the value when it succeeded.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// `Ok(())` when no field was refused, else the invalid-input error.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self))
        }
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Why an operation was refused. Each variant maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad input (400): the fields that caused it, each with its messages.
    #[error("invalid input: {}", summary(.0))]
    Invalid(FieldErrors),
    /// No valid credential (401).
    #[error("not signed in")]
    Unauthenticated,
    /// Sign-in refused; deliberately says nothing about whether the user exists (401).
    #[error("user name or password is incorrect")]
    SignInFailed,
    /// The credential is valid but lacks the permission (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the actor may not know that it does (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The update carried a stale updateVersion (409).
    #[error("this {0} was changed by someone else; reload it and try again")]
    VersionConflict(&'static str),
    /// A unique value is already taken (409), on the field that caused it.
    #[error("already taken: {}", summary(.0))]
    Duplicate(FieldErrors),
    /// The operation contradicts the current state (409), e.g. a second download of a key.
    #[error("{0}")]
    StateConflict(String),
    /// Too many attempts (429): try again after the given number of seconds.
    #[error("too many attempts; try again in {0} s")]
    RateLimited(u64),
    /// The directory cannot be reached (a remote server is down or the network is gone).
    /// Nothing was changed that the caller knows of; trying again later may work (503).
    #[error("{0}")]
    Unavailable(String),
    /// Something failed inside; the cause has been logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summary(errors: &FieldErrors) -> String {
    errors
        .0
        .iter()
        .map(|(field, messages)| format!("{field}: {}", messages.join("; ")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid(FieldErrors::one(field, message))
    }

    pub fn duplicate(field: &str, message: impl Into<String>) -> Error {
        Error::Duplicate(FieldErrors::one(field, message))
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::Forbidden(message.into())
    }

    /// A stable, machine-readable code for callers that branch on the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "INVALID_INPUT",
            Error::Unauthenticated => "UNAUTHENTICATED",
            Error::SignInFailed => "SIGN_IN_FAILED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound(_) => "NOT_FOUND",
            Error::VersionConflict(_) => "VERSION_CONFLICT",
            Error::Duplicate(_) => "DUPLICATE",
            Error::StateConflict(_) => "STATE_CONFLICT",
            Error::RateLimited(_) => "RATE_LIMITED",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid(_) => 400,
            Error::Unauthenticated | Error::SignInFailed => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::VersionConflict(_) | Error::Duplicate(_) | Error::StateConflict(_) => 409,
            Error::RateLimited(_) => 429,
            Error::Unavailable(_) => 503,
            Error::Internal(_) => 500,
        }
    }

    /// The field errors carried by this error, if any.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Error::Invalid(errors) | Error::Duplicate(errors) => Some(errors),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The shape an error takes when it crosses to the UI or a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "FieldErrors::is_empty")]
    pub errors: FieldErrors,
}

impl From<&Error> for ErrorBody {
    fn from(error: &Error) -> Self {
        let message = match error {
            Error::Invalid(_) => "Some fields need attention.".to_owned(),
            Error::Duplicate(_) => "A value is already taken.".to_owned(),
            Error::Internal(_) => {
                "Something went wrong inside Keyward; the details are in its log.".to_owned()
            }
            other => other.to_string(),
        };
        ErrorBody {
            code: error.code().to_owned(),
            message,
            errors: error.field_errors().cloned().unwrap_or_default(),
        }
    }
}

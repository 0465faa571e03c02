//! What handlers take from a request: the caller's credential, and JSON bodies and query
//! strings whose refusals are problems naming the cause.

use super::problem::{plain, ApiError};
use crate::core::model::Credential;
use crate::core::secret::{Secret, KEY_MARKER};
use crate::core::{Error, FieldErrors};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// The credential in `Authorization`: `Bearer <session token or API key>` or
/// `Token <API key>`. Missing or unreadable → 401. Whether it is valid is the core's call.
pub struct Caller(pub Credential);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(ApiError(Error::Unauthenticated))?;
        let (scheme, token) = value
            .trim()
            .split_once(' ')
            .ok_or(ApiError(Error::Unauthenticated))?;
        let token = token.trim();
        if token.is_empty() {
            return Err(ApiError(Error::Unauthenticated));
        }
        let secret = Secret::new(token.to_owned());
        if scheme.eq_ignore_ascii_case("token") {
            Ok(Caller(Credential::ApiKey(secret)))
        } else if scheme.eq_ignore_ascii_case("bearer") {
            // Keys carry their marker; session tokens never start with it.
            if token.starts_with(KEY_MARKER) {
                Ok(Caller(Credential::ApiKey(secret)))
            } else {
                Ok(Caller(Credential::Session(secret)))
            }
        } else {
            Err(ApiError(Error::Unauthenticated))
        }
    }
}

/// A JSON body; a malformed one is a 400 problem on the field `body`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// The JSON body of an operation that needs a permission: read, but not yet judged. A
/// malformed one is answered only once the caller is known to be allowed the operation
/// (`AppState::admit`), so that a caller without the permission hears 403 whatever the body.
pub struct Input<T>(pub Result<T, Response>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Input<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Input(match Body::<T>::from_request(request, state).await {
            Ok(Body(value)) => Ok(value),
            Err(refusal) => Err(refusal),
        }))
    }
}

/// Like [`Input`], for a body that may be left out entirely (then `T::default()`).
pub struct OptionalInput<T>(pub Result<T, Response>);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalInput<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(OptionalInput(
            match OptionalBody::<T>::from_request(request, state).await {
                Ok(OptionalBody(value)) => Ok(value),
                Err(refusal) => Err(refusal),
            },
        ))
    }
}

/// A JSON body that may be left out entirely (then `T::default()`).
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalBody)
            .map_err(|error| invalid("body", &serde_message(&error.to_string())))
    }
}

/// A query string; an unreadable one is a 400 problem on the field `query`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => {
                Err(invalid("query", &serde_message(&error.body_text())))
            }
            Err(other) => Err(invalid("query", &other.body_text())),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection {
        JsonRejection::JsonDataError(error) => invalid("body", &serde_message(&error.body_text())),
        JsonRejection::JsonSyntaxError(_) => invalid("body", "The body is not valid JSON."),
        JsonRejection::MissingJsonContentType(_) => plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send JSON with Content-Type: application/json.",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "The request body is too large.",
        ),
        other => invalid("body", &other.body_text()),
    }
}

fn invalid(field: &str, message: &str) -> Response {
    ApiError(Error::Invalid(FieldErrors::one(field, message))).into_response()
}

/// serde's message without the echo of the value it refused (which could be a password typed
/// into the wrong field): keeps "missing field `email`", drops "invalid type: string \"…\"".
fn serde_message(text: &str) -> String {
    let text = text
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        .trim_start_matches("Failed to deserialize query string: ");
    if text.contains("invalid type") || text.contains("invalid value") {
        let at = text.find(" at line").map_or("", |i| &text[i..]);
        let field = text.split_once(':').map_or("", |(field, _)| field);
        if field.is_empty() || field.starts_with("invalid") {
            format!("A value has the wrong type{at}.")
        } else {
            format!("{field}: this value has the wrong type{at}.")
        }
    } else {
        text.to_owned()
    }
}

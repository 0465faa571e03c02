//! Errors as `application/problem+json`, and what every request gets: a trace id, a time
//! limit, the reply headers and one log line.

use crate::core::Error;
use crate::wire::{Problem, PROBLEM_JSON};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::task::Poll;
use std::time::{Duration, Instant};

tokio::task_local! {
    static TRACE_ID: String;
}

/// The trace id of the request being answered.
pub fn trace_id() -> String {
    TRACE_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "none".to_owned())
}

/// A core error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl From<ApiError> for Response {
    fn from(error: ApiError) -> Self {
        error.into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self.0 {
            // The cause is for the log only; the client gets the generic message and the id.
            tracing::error!(trace_id = %trace_id(), %cause, "internal error");
        }
        let problem = Problem::from_error(&self.0, &trace_id());
        problem_response(problem)
    }
}

pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = problem.retry_after;
    let mut response = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        serde_json::to_string(&problem).unwrap_or_default(),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"keyward\""),
        );
    }
    response
}

/// A problem the server raises itself (malformed request, limits).
pub fn plain(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    problem_response(Problem::plain(status.as_u16(), code, detail, &trace_id()))
}

/// Gives each request a trace id (in the `X-Trace-Id` header and every problem) and a time
/// limit (408 after `limit`), turns the bare error answers of the framework (unknown route,
/// body too large) into problems, and logs one line per request: method, path, status,
/// time. Never headers, bodies or query strings, which may carry credentials or personal
/// data.
pub async fn trace_requests(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let mut response = TRACE_ID
        .scope(id.clone(), async move {
            let response = within(limit, next.run(request)).await;
            // Problems, and the server's own pages (which say why to a person), are kept.
            let answered = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|value| {
                    let value = value.as_bytes();
                    value.starts_with(PROBLEM_JSON.as_bytes()) || value.starts_with(b"text/html")
                });
            if response.status().is_client_error() && !answered {
                bare_error(response.status())
            } else {
                response
            }
        })
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-trace-id", value);
    }
    set_reply_headers(&path, &mut response);
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::error!(trace_id = %id, %method, %path, status, micros, "request failed");
    } else {
        tracing::info!(trace_id = %id, %method, %path, status, micros, "request");
    }
    response
}

/// The answer, or 408 once it took longer than `limit`. The timer starts only for a request
/// that is not answered at its first poll. Most key verifications are answered there, and a
/// timer started and stopped for each of them cost two locks of the runtime's timer and,
/// whenever no other request was in flight, a wake-up of a parked worker thread (BENCHMARKS.md,
/// issue #20).
async fn within(limit: Duration, answer: impl Future<Output = Response>) -> Response {
    let mut answer = std::pin::pin!(answer);
    let first = std::future::poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx))).await;
    if let Poll::Ready(response) = first {
        return response;
    }
    tokio::time::timeout(limit, answer)
        .await
        .unwrap_or_else(|_| StatusCode::REQUEST_TIMEOUT.into_response())
}

/// The headers every reply carries: no content sniffing; and no caching of anything the API
/// answers (sign-ins, keys, links and tokens are secrets, and the rest is personal data of an
/// admin console), except the OpenAPI document.
fn set_reply_headers(path: &str, response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.starts_with("/api/") && path != "/api/openapi.json" {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
}

fn bare_error(status: StatusCode) -> Response {
    let problem = |code: &str, detail: &str| {
        problem_response(Problem::plain(status.as_u16(), code, detail, &trace_id()))
    };
    match status {
        StatusCode::NOT_FOUND => problem("NOT_FOUND", "There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => problem(
            "METHOD_NOT_ALLOWED",
            "This address does not take that method.",
        ),
        StatusCode::REQUEST_TIMEOUT => problem("TIMEOUT", "The request took too long."),
        StatusCode::PAYLOAD_TOO_LARGE => {
            problem("PAYLOAD_TOO_LARGE", "The request body is too large.")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => problem(
            "UNSUPPORTED_MEDIA_TYPE",
            "Send JSON with Content-Type: application/json.",
        ),
        other => problem(
            "BAD_REQUEST",
            other.canonical_reason().unwrap_or("Bad request."),
        ),
    }
}

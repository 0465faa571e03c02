//! The small pages the server's links open: accept an invitation, complete a password reset.
//! Static HTML, CSS and one module script; the token stays in the link's fragment and the
//! script posts it with the new password to the API, which enforces the policy.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const PAGE: &str = include_str!("pages/set-password.html");
const SCRIPT: &str = include_str!("pages/set-password.js");
const STYLE: &str = include_str!("pages/page.css");

/// Nothing but the page's own files may load or be posted to; the page may not be framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router() -> Router {
    Router::new()
        .route(
            crate::wire::INVITE_PAGE,
            get(|| async { invitation_page() }),
        )
        .route(crate::wire::RESET_PAGE, get(|| async { reset_page() }))
        .route(
            "/pages/set-password.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route(
            "/pages/page.css",
            get(|| async { asset("text/css", STYLE) }),
        )
}

fn invitation_page() -> Response {
    page(
        "invite",
        "Welcome to Keyward",
        "You have been invited. Choose a password to activate your account.",
    )
}

fn reset_page() -> Response {
    page(
        "reset",
        "Set a new password",
        "Choose a new password for your Keyward account. Signing in elsewhere ends when you do.",
    )
}

fn page(purpose: &str, title: &str, intro: &str) -> Response {
    let html = PAGE
        .replace("{{purpose}}", purpose)
        .replace("{{title}}", title)
        .replace("{{intro}}", intro);
    html_page(axum::http::StatusCode::OK, html)
}

/// An HTML page of the server's: nothing but its own files may load, never cached.
fn html_page(status: axum::http::StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// A page that only says something: why a sign-in through the identity provider cannot go
/// on, for instance.
pub fn message(status: axum::http::StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – Keyward</title><link rel=\"stylesheet\" href=\"/pages/page.css\">\
         </head><body><main class=\"card\"><h1>{title}</h1><p>{text}</p></main></body></html>\n",
        title = html_escape::encode_text(title),
        text = html_escape::encode_text(text),
    );
    html_page(status, html)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

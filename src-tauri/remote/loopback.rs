//! The app's side of a sign-in through an identity provider (SPEC 11, RFC 8252): a listener
//! on 127.0.0.1 at a port the system picks, for the browser to come back to, with a `state`
//! and a PKCE pair made for this one sign-in. The caller opens the system browser at the
//! server's start address; [`LoopbackSignIn::wait`] answers the browser's return with a page
//! saying the tab may be closed, and hands back the one-time code with the verifier that
//! redeems it. Neither is logged; the provider's own tokens never come here.
//!
//! HTTP is hyper's (already in the build through reqwest); nothing of it is parsed by hand.

use crate::core::model::ProviderStart;
use crate::core::secret::{generate_pkce_verifier, generate_token, pkce_challenge, Secret};
use crate::core::{Error, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Where on the loopback address the browser comes back.
pub const CALLBACK_PATH: &str = "/callback";

/// One sign-in through a provider, waiting for the browser to come back.
pub struct LoopbackSignIn {
    listener: TcpListener,
    start: ProviderStart,
    verifier: Secret,
}

/// What the browser brought back: the server's one-time code, and the verifier of this
/// sign-in's challenge, which together open a session (`Directory::exchange_provider_code`).
pub struct Returned {
    pub code: Secret,
    pub verifier: Secret,
}

/// How a wait for the browser ended without a code.
#[derive(Debug)]
pub enum NotReturned {
    /// The person cancelled in the app.
    Cancelled,
    /// The browser did not come back in time.
    TimedOut,
    /// The server refused the sign-in and said why (never a secret).
    Refused(String),
}

impl From<NotReturned> for Error {
    fn from(why: NotReturned) -> Error {
        let message = match why {
            NotReturned::Cancelled => "The sign-in was cancelled.".to_owned(),
            NotReturned::TimedOut => {
                "The browser did not come back in time: sign in again.".to_owned()
            }
            NotReturned::Refused(reason) => format!("You are not signed in: {reason}"),
        };
        Error::invalid("provider", message)
    }
}

impl LoopbackSignIn {
    /// Listens on 127.0.0.1 (RFC 8252 prefers the IP literal to `localhost`, which a
    /// system may resolve elsewhere) and makes this sign-in's `state` and PKCE pair.
    pub async fn listen() -> Result<LoopbackSignIn> {
        let cannot = |e: std::io::Error| {
            Error::Internal(format!("cannot listen on a loopback address: {e}"))
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(cannot)?;
        let port = listener.local_addr().map_err(cannot)?.port();
        let verifier = generate_pkce_verifier();
        let start = ProviderStart {
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
            state: generate_token().expose().to_owned(),
            code_challenge: pkce_challenge(verifier.expose()),
            code_challenge_method: "S256".to_owned(),
        };
        Ok(LoopbackSignIn {
            listener,
            start,
            verifier,
        })
    }

    /// What the server's start address needs: the redirect, `state` and challenge.
    pub fn start(&self) -> &ProviderStart {
        &self.start
    }

    /// Waits for the browser to come back with this sign-in's `state`, until `cancelled`
    /// completes or `within` has passed. A request for anything else (another path, another
    /// `state`) is answered with a page and changes nothing: the wait goes on.
    pub async fn wait(
        self,
        provider: &str,
        cancelled: impl Future<Output = ()>,
        within: Duration,
    ) -> std::result::Result<Returned, NotReturned> {
        let (outcome_tx, mut outcome) = mpsc::channel(1);
        let expected = Arc::new(Expected {
            state: self.start.state.clone(),
            provider: provider.to_owned(),
        });
        let listener = self.listener;
        let serve = async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file handles, or a connection reset before it was taken:
                        // breathe rather than spin, and go on listening.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let expected = Arc::clone(&expected);
                let outcome_tx = outcome_tx.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let (response, result) = answer(&request, &expected);
                        if let Some(result) = result {
                            let _ = outcome_tx.try_send(result);
                        }
                        async move { Ok::<_, Infallible>(response) }
                    });
                    // Answered even after the wait is over: the connection finishes on its own.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        };
        let returned = tokio::select! {
            () = serve => unreachable!("the listener loops until the wait ends"),
            result = outcome.recv() => result.unwrap_or(Err(NotReturned::Cancelled)),
            () = cancelled => Err(NotReturned::Cancelled),
            () = tokio::time::sleep(within) => Err(NotReturned::TimedOut),
        };
        returned.map(|code| Returned {
            code,
            verifier: self.verifier,
        })
    }
}

struct Expected {
    state: String,
    provider: String,
}

/// The page for one request to the loopback address, and what it brought, if it was the
/// return this sign-in waits for.
fn answer(
    request: &Request<Incoming>,
    expected: &Expected,
) -> (
    Response<Full<Bytes>>,
    Option<std::result::Result<Secret, NotReturned>>,
) {
    if request.method() != hyper::Method::GET || request.uri().path() != CALLBACK_PATH {
        return (
            page(StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
            None,
        );
    }
    let query = request.uri().query().unwrap_or_default();
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "code" => code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    if state.as_deref() != Some(expected.state.as_str()) {
        return (
            page(
                StatusCode::BAD_REQUEST,
                "Not this sign-in",
                "Keyward is not waiting for this sign-in: start again from the app.",
            ),
            None,
        );
    }
    match (code, error) {
        (Some(code), None) => (
            page(
                StatusCode::OK,
                "Back to Keyward",
                &format!(
                    "{} has confirmed who you are. You can close this tab: Keyward finishes \
                     signing you in.",
                    expected.provider
                ),
            ),
            Some(Ok(Secret::new(code))),
        ),
        (_, Some(error)) => {
            let reason = description.unwrap_or(error);
            (
                page(
                    StatusCode::OK,
                    "Not signed in",
                    &format!(
                        "Keyward did not sign you in: {reason} You can close this tab; the app \
                         says the same."
                    ),
                ),
                Some(Err(NotReturned::Refused(reason))),
            )
        }
        (None, None) => (
            page(
                StatusCode::BAD_REQUEST,
                "Not this sign-in",
                "This address brought neither a sign-in nor a reason: start again from the app.",
            ),
            None,
        ),
    }
}

/// A small page of text: no script, nothing loaded from elsewhere, never cached.
fn page(status: StatusCode, title: &str, text: &str) -> Response<Full<Bytes>> {
    let title = html_escape::encode_text(title);
    let text = html_escape::encode_text(text);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title} · Keyward</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}}\
         main{{max-width:30rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;\
         box-shadow:0 1px 3px #0002}}h1{{font-size:1.3rem;margin:0 0 .8rem}}\
         .brand{{color:#3a55c8;font-weight:600;margin:0 0 1rem}}</style></head>\
         <body><main><p class=\"brand\">Keyward</p><h1 id=\"title\">{title}</h1>\
         <p id=\"message\">{text}</p></main></body></html>"
    );
    let mut response = Response::new(Full::new(Bytes::from(html)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("connection", "close"),
    ] {
        headers.insert(name, hyper::header::HeaderValue::from_static(value));
    }
    response
}

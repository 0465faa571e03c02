//! `keyward serve`: the HTTP API of SPEC section 4 over any [`Directory`], with axum.
//!
//! Handlers are adapters: they take the caller's credential and the request, call the one core
//! function on the blocking pool and map its result. Every rule (permissions, validation,
//! audit, lockout) is the core's. What lives here is what only HTTP has: credentials from the
//! `Authorization` header, `application/problem+json` errors with a trace id, a per-address
//! limit on sign-in attempts, request size and time limits, the invitation and reset pages,
//! the OpenAPI document and graceful shutdown.

mod extract;
pub mod mail;
pub mod oidc;
mod pages;
mod problem;
mod routes;
mod tls;

use crate::core::directory::Directory;
use crate::core::model::{Credential, Operation};
use axum::extract::DefaultBodyLimit;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub use routes::openapi;
pub use tls::load as load_tls;

/// How a server behaves; the defaults are those of `keyward serve`.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The address clients reach the server at, for the links it hands out
    /// (default: `http://` + the bound address).
    pub public_url: Option<String>,
    /// Sign-in attempts (and password set-ups from links) one client address may make per
    /// minute, on top of the core's per-user lockout.
    pub sign_ins_per_minute: u32,
    /// How many of those may come at once.
    pub sign_in_burst: u32,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Serve HTTPS with this certificate (see [`load_tls`]); plain HTTP without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where e-mail goes out; none without `--smtp-url`.
    pub mail: Option<Arc<mail::MailConfig>>,
    /// The identity provider external users sign in through; none without `--oidc-issuer`.
    pub oidc: Option<oidc::OidcOptions>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            public_url: None,
            sign_ins_per_minute: 30,
            sign_in_burst: 10,
            body_limit: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            tls: None,
            mail: None,
            oidc: None,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    directory: Arc<dyn Directory>,
    public_url: Arc<str>,
    sign_in_limit: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    oidc: Option<Arc<oidc::Oidc>>,
}

impl AppState {
    /// Fails only on `--oidc-*` options that cannot work (the provider is not asked yet).
    pub fn new(
        directory: Arc<dyn Directory>,
        public_url: &str,
        options: &ServerOptions,
    ) -> Result<Self, String> {
        let oidc = match &options.oidc {
            Some(oidc) => Some(Arc::new(oidc::Oidc::new(oidc.clone(), public_url)?)),
            None => None,
        };
        let per_minute =
            NonZeroU32::new(options.sign_ins_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(options.sign_in_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(AppState {
            directory,
            public_url: public_url.trim_end_matches('/').into(),
            sign_in_limit: Arc::new(RateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            )),
            oidc,
        })
    }

    /// The input of an operation that needs a permission. A body that could not be read is
    /// answered (400, 413, 415) only when the caller may attempt the operation at all;
    /// otherwise the refusal is the core's (401, 403, 404), whatever the body held. A body
    /// that was read goes on to the operation, which checks the permission itself.
    async fn admit<T>(
        &self,
        caller: &Credential,
        operation: Operation,
        target: Option<&str>,
        input: Result<T, axum::response::Response>,
    ) -> Result<T, axum::response::Response> {
        let refusal = match input {
            Ok(value) => return Ok(value),
            Err(refusal) => refusal,
        };
        let caller = caller.clone();
        let target = target.map(str::to_owned);
        self.call(move |d| d.authorize(&caller, operation, target.as_deref()))
            .await?;
        Err(refusal)
    }

    /// Runs a core call on the blocking pool: the core is synchronous (SQLite, argon2).
    async fn call<T, F>(&self, work: F) -> Result<T, problem::ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Directory) -> crate::core::Result<T> + Send + 'static,
    {
        let directory = Arc::clone(&self.directory);
        match tokio::task::spawn_blocking(move || work(directory.as_ref())).await {
            Ok(result) => result.map_err(problem::ApiError),
            Err(panic) => {
                tracing::error!(%panic, "a core call panicked");
                Err(problem::ApiError(crate::core::Error::Internal(
                    "core call panicked".into(),
                )))
            }
        }
    }
}

/// Whether `host` (a name, an IP address, or an IPv6 one in brackets) is this machine: where
/// the server accepts what it would refuse elsewhere (plain SMTP, an `http://` provider).
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The whole application: API routes, pages, the OpenAPI document and the layers around them.
pub fn app(state: AppState, options: &ServerOptions) -> axum::Router {
    routes::router(state)
        .merge(pages::router())
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            options.request_timeout,
            problem::trace_requests,
        ))
}

/// The address links point to: `--public-url`, or else the address served.
pub fn public_url(options: &ServerOptions, address: SocketAddr) -> String {
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{address}"))
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    directory: Arc<dyn Directory>,
    options: ServerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let public_url = public_url(&options, address);
    let state = AppState::new(directory, &public_url, &options).map_err(std::io::Error::other)?;
    let provider = state.oidc.clone();
    let app = app(state, &options).into_make_service_with_connect_info::<tls::Peer>();
    // Before the first request: a sign-in with an unknown name costs what every other does.
    tokio::task::spawn_blocking(crate::core::password::prepare_unknown_user_check).await?;
    tracing::info!("sign-in timing: the check for unknown user names is prepared");
    if let Some(oidc) = &provider {
        // A provider that is down now is asked again at the first sign-in: key verification
        // and everything else must not wait for it.
        match oidc.discover(false).await {
            Ok(_) => tracing::info!(
                issuer = %oidc.options().issuer, redirect_uri = %oidc.callback(),
                "external users sign in through {}", oidc.name()
            ),
            Err(why) => tracing::warn!(
                redirect_uri = %oidc.callback(),
                "{why}; sign-ins through {} will ask it again", oidc.name()
            ),
        }
    }
    match &options.mail {
        Some(mail) => tracing::info!(mail = %mail.describe(), "e-mail goes out through"),
        None => tracing::info!("e-mail is not configured (--smtp-url): links are handed out"),
    }
    tracing::info!(%address, %public_url, "keyward serve is listening");
    match options.tls.clone() {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await?
        }
    }
    tracing::info!("keyward serve stopped");
    Ok(())
}

/// Resolves when the server is asked to stop ([`crate::platform::shutdown`]).
pub async fn shutdown_signal() {
    let what = crate::platform::shutdown::requested().await;
    tracing::info!(signal = what, "shutting down: finishing requests in flight");
}

/// A server running on its own thread, for tests, benchmarks and embedding: dropped or
/// [`RunningServer::stop`]ped, it shuts down gracefully.
pub struct RunningServer {
    pub address: SocketAddr,
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Binds `bind` (port 0 picks a free one) and serves `directory` on a new thread.
    pub fn start(
        directory: Arc<dyn Directory>,
        bind: SocketAddr,
        options: ServerOptions,
        worker_threads: usize,
    ) -> std::io::Result<RunningServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(bind))?;
        let address = listener.local_addr()?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("keyward-serve".into())
            .spawn(move || {
                runtime.block_on(serve(listener, directory, options, async {
                    let _ = stopped.await;
                }))
            })?;
        Ok(RunningServer {
            address,
            scheme,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    /// Asks the server to stop and waits until requests in flight are answered.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

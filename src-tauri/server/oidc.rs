//! `keyward serve` as an OpenID Connect client of one provider (SPEC 11). The protocol is the
//! `openidconnect` crate's: discovery, the authorization code flow with PKCE, `state` and
//! `nonce`, and the ID token's validation (signature against the provider's keys, `iss`,
//! `aud`, `exp`, `nonce`). Its HTTP requests go through reqwest, with no redirects followed.
//! Who the identity is, and whether it may sign in, is the rules' (`rules/provider.rs`).
//!
//! The trip through the browser: the app opens `/auth/oidc/{id}/start` with its loopback
//! address, state and PKCE challenge; the server keeps them in the directory under the
//! digest of a `state` of its own, sets a cookie holding its own PKCE verifier for the
//! provider, and sends the browser to the provider. The provider returns the browser to
//! `/auth/oidc/callback`, perhaps on another instance: the directory gives the sign-in back
//! once, the cookie the verifier; the code is exchanged, the ID token validated, and the
//! browser sent on to the app's loopback address with a one-time code of Keyward's.

use crate::core::model::ProviderIdentity;
use crate::core::secret::Secret;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// The one provider's id in `/auth/oidc/{id}/start`.
pub const PROVIDER_ID: &str = "default";
/// Where the provider sends the browser back: the redirect URI an administrator registers.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// `--oidc-*`: the provider and what this server allows of its users.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// For the button: "Sign in with <name>".
    pub name: String,
    /// Trust only this PEM CA for the provider's TLS (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Create an `EXTERNAL` user at the first sign-in of someone with no account.
    pub create_users: bool,
    /// The ID token claim that lists the user's groups at the provider.
    pub groups_claim: String,
}

impl OidcOptions {
    /// Checks what can be checked before the provider is asked anything.
    pub fn check(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.issuer)
            .map_err(|e| format!("--oidc-issuer {:?} is not a URL: {e}", self.issuer))?;
        match url.scheme() {
            "https" => {}
            "http" if url.host_str().is_some_and(super::is_loopback) => {}
            _ => {
                return Err(format!(
                    "--oidc-issuer {}: use https:// (http:// only on a loopback address)",
                    self.issuer
                ))
            }
        }
        if self.client_id.trim().is_empty() {
            return Err("--oidc-client-id is empty".to_owned());
        }
        if self.client_secret.expose().is_empty() {
            return Err(
                "the client secret is empty: set KEYWARD_OIDC_CLIENT_SECRET or \
                        KEYWARD_OIDC_CLIENT_SECRET_FILE"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// The claims beyond the standard ones: the groups claim is read from here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdFields, CoreTokenType>;
type OidcClient = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider, as this server talks to it.
pub struct Oidc {
    options: OidcOptions,
    http: Http,
    callback: RedirectUrl,
    /// The provider's metadata and keys, from discovery; asked again when missing (the
    /// provider was down) or when an ID token is signed by a key not among them (rotation).
    metadata: tokio::sync::RwLock<Option<CoreProviderMetadata>>,
}

/// A failure of the HTTP underneath the protocol.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The protocol's HTTP, through reqwest.
struct Http(reqwest::Client);

type Sending<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>>
            + Send
            + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Sending<'c>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| HttpError(chain(&e)))?;
            let mut reply = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                reply = reply.header(name, value);
            }
            let body = response.bytes().await.map_err(|e| HttpError(chain(&e)))?;
            reply
                .body(body.to_vec())
                .map_err(|e| HttpError(e.to_string()))
        })
    }
}

impl Oidc {
    pub fn new(options: OidcOptions, public_url: &str) -> Result<Oidc, String> {
        options.check()?;
        let callback = RedirectUrl::new(format!(
            "{}{CALLBACK_PATH}",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| format!("--public-url: {e}"))?;
        let tls = crate::trust::tls_config(options.ca_file.as_deref())
            .map_err(|e| format!("TLS for the identity provider: {e}"))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // Never follow a redirect: the provider's answers are read where they are.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Oidc {
            options,
            http: Http(http),
            callback,
            metadata: tokio::sync::RwLock::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.options.name
    }

    pub fn options(&self) -> &OidcOptions {
        &self.options
    }

    /// The redirect URI to register at the provider.
    pub fn callback(&self) -> &str {
        self.callback.as_str()
    }

    /// The provider's metadata and keys: discovered once, again when `again`.
    pub async fn discover(&self, again: bool) -> Result<CoreProviderMetadata, String> {
        if !again {
            if let Some(metadata) = self.metadata.read().await.as_ref() {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.options.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                format!(
                    "the identity provider at {} cannot be reached or answered wrongly: {}",
                    self.options.issuer,
                    chain(&e)
                )
            })?;
        *self.metadata.write().await = Some(metadata.clone());
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> OidcClient {
        OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.options.client_id.clone()),
            Some(ClientSecret::new(
                self.options.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(self.callback.clone())
    }

    /// Where to send the browser, and the PKCE verifier the code will need.
    pub async fn authorization(
        &self,
        state: &Secret,
        nonce: &str,
    ) -> Result<(url::Url, Secret), String> {
        let client = self.client(self.discover(false).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.expose().to_owned();
        let nonce = nonce.to_owned();
        let (url, _, _) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state.clone()),
                move || Nonce::new(nonce.clone()),
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok((url, Secret::new(verifier.secret().to_owned())))
    }

    /// Exchanges the provider's code and validates the ID token: who signed in, or why the
    /// answer is not accepted (never with a token or secret in it).
    pub async fn identity(
        &self,
        code: &str,
        verifier: &Secret,
        nonce: &str,
    ) -> Result<ProviderIdentity, String> {
        let client = self.client(self.discover(false).await?);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| format!("the provider has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| format!("the provider refused the sign-in's code: {}", chain(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or("the provider's answer holds no ID token")?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                // The provider may have rotated its keys since they were fetched.
                let again = self.client(self.discover(true).await?);
                let verifier = again.id_token_verifier();
                let checked = id_token
                    .claims(&verifier, &nonce)
                    .cloned()
                    .map_err(|e| format!("the ID token is not valid: {e}"));
                checked?
            }
            Err(e) => return Err(format!("the ID token is not valid: {e}")),
        };
        let groups = match claims.additional_claims().0.get(&self.options.groups_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Ok(ProviderIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|email| email.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned()),
            preferred_username: claims
                .preferred_username()
                .map(|name| name.as_str().to_owned()),
            groups,
        })
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

// --- The browser's trip ------------------------------------------------------------------------

use super::{pages, AppState};
use crate::core::model::{ProviderPolicy, ProviderStart, ProviderTrip};
use crate::core::secret::generate_token;
use crate::core::Error;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// `/auth/oidc/{id}/start` and the callback: pages for a browser, not the JSON API.
pub fn browser_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/auth/oidc/{id}/start", get(start))
        .route(CALLBACK_PATH, get(callback))
}

/// What the app puts in the start address (RFC 8252 and 7636 names).
#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// What the provider puts in the callback address.
#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// How long the browser keeps the provider's PKCE verifier: as long as the trip may take.
const COOKIE_SECONDS: i64 = crate::core::model::PROVIDER_TRIP_MINUTES * 60;

/// The cookie that carries this trip's PKCE verifier for the provider: named after the
/// trip's state, so that two sign-ins in one browser do not overwrite each other's.
fn cookie_name(state: &Secret) -> String {
    let digest = state.digest();
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("keyward_oidc_{tag}")
}

fn refusal(error: &Error) -> String {
    match error {
        Error::Invalid(fields) => fields
            .0
            .values()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

async fn start(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    let Some(oidc) = state.oidc.clone().filter(|_| id == PROVIDER_ID) else {
        return pages::message(
            StatusCode::NOT_FOUND,
            "No such identity provider",
            "This server signs in through no identity provider by that name.",
        );
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let start = ProviderStart {
        redirect_uri: query.redirect_uri.unwrap_or_default(),
        state: query.state.unwrap_or_default(),
        code_challenge: query.code_challenge.unwrap_or_default(),
        code_challenge_method: query.code_challenge_method.unwrap_or_default(),
    };
    let trip = ProviderTrip {
        provider: oidc.name().to_owned(),
        state: generate_token(),
        nonce: generate_token().expose().to_owned(),
    };
    let (kept, trip_kept) = (start.clone(), trip.clone());
    if let Err(error) = state
        .call(move |d| d.begin_provider_sign_in(&kept, &trip_kept))
        .await
    {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot start",
            &refusal(&error.0),
        );
    }
    let (url, verifier) = match oidc.authorization(&trip.state, &trip.nonce).await {
        Ok(found) => found,
        Err(why) => {
            tracing::warn!("{why}");
            return pages::message(
                StatusCode::BAD_GATEWAY,
                "The identity provider cannot be reached",
                &format!("{why}. Try again in a moment, or ask an administrator."),
            );
        }
    };
    let secure = if state.public_url.starts_with("https:") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={}; Path={CALLBACK_PATH}; Max-Age={COOKIE_SECONDS}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(&trip.state),
        verifier.expose()
    );
    let mut response = redirect(url.as_str());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return pages::message(
            StatusCode::NOT_FOUND,
            "No identity provider",
            "This server signs in through no identity provider.",
        );
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let Some(trip_state) = query.state.filter(|s| !s.is_empty()).map(Secret::new) else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be finished",
            "The identity provider sent the browser back without the sign-in's state. Start \
             again from the app.",
        );
    };
    let verifier = cookie(&headers, &cookie_name(&trip_state)).map(Secret::new);
    let taken = trip_state.clone();
    let pending = match state.call(move |d| d.resume_provider_sign_in(&taken)).await {
        Ok(pending) => pending,
        Err(error) => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                "This sign-in cannot be finished",
                &refusal(&error.0),
            )
        }
    };
    // From here on the app hears the outcome, at its loopback address.
    let identity = match (query.error, query.code, verifier) {
        (Some(error), _, _) => Err(format!(
            "the identity provider refused the sign-in ({error}{})",
            query
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )),
        (None, None, _) => Err("the identity provider sent no code".to_owned()),
        (None, Some(_), None) => Err(
            "the browser did not bring back this sign-in's cookie: finish the sign-in in the \
             browser it started in"
                .to_owned(),
        ),
        (None, Some(code), Some(verifier)) => oidc.identity(&code, &verifier, &pending.nonce).await,
    };
    if let Err(why) = &identity {
        tracing::warn!(reason = %why, "a sign-in through {} was refused", oidc.name());
    }
    let policy = ProviderPolicy {
        name: oidc.name().to_owned(),
        create_users: oidc.options().create_users,
    };
    let asked = pending.clone();
    let outcome = state
        .call(move |d| d.finish_provider_sign_in(&policy, &asked, identity))
        .await;
    let answer: Vec<(&str, String)> = match outcome {
        Ok(code) => vec![
            ("code", code.code.expose().to_owned()),
            ("state", code.client_state),
        ],
        Err(error) => vec![
            ("error", "access_denied".to_owned()),
            ("error_description", refusal(&error.0)),
            ("state", pending.client_state.clone()),
        ],
    };
    let Ok(mut target) = url::Url::parse(&pending.redirect_uri) else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be finished",
            "The app's address is not valid.",
        );
    };
    target.query_pairs_mut().extend_pairs(answer);
    let mut response = redirect(target.as_str());
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}=; Path={CALLBACK_PATH}; Max-Age=0; HttpOnly; SameSite=Lax",
        cookie_name(&trip_state)
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

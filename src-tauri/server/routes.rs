//! The endpoints of SPEC section 4. Each handler: credential and input in, one core call,
//! the reply shape out. The `#[utoipa::path]` beside each handler is where the OpenAPI
//! document comes from, and `routes!` registers the handler and its document together, so
//! the two cannot drift.

use super::extract::{Body, Caller, Input, OptionalInput, Query};
use super::problem::ApiError;
use super::tls::Peer;
use super::AppState;
use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::secret::Secret;
use crate::core::Error;
use crate::wire::*;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::openapi::security::SecurityScheme;
use utoipa::openapi::security::{ApiKey as ApiKeyScheme, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A handler's answer: a reply, or a refusal (a problem).
type Reply<T> = Result<T, Response>;

/// Largest import body: some 50 000 users.
const IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward",
        description = "Users, roles, groups and API keys. Authenticate with \
            `Authorization: Bearer <session token or API key>` or `Token <API key>`. \
            Errors are application/problem+json.",
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    security(("bearer" = []), ("token" = [])),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKeyScheme::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <API key>`",
            ))),
        );
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(setup_status, set_up))
        .routes(routes!(login))
        .routes(routes!(login_second_factor))
        .routes(routes!(login_enroll))
        .routes(routes!(login_enroll_confirm))
        .routes(routes!(list_providers))
        .routes(routes!(exchange_provider_code))
        .routes(routes!(enroll_second_factor, turn_off_second_factor))
        .routes(routes!(confirm_second_factor))
        .routes(routes!(new_recovery_codes))
        .routes(routes!(logout))
        .routes(routes!(accept_invitation))
        .routes(routes!(complete_reset))
        .routes(routes!(redeem_code))
        .routes(routes!(me))
        .routes(routes!(change_own_password))
        .routes(routes!(authorize))
        .routes(routes!(list_users, create_user))
        .merge(
            // Imports carry thousands of users: a larger body than any other request.
            OpenApiRouter::new()
                .routes(routes!(import_users))
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(find_user))
        .routes(routes!(change_password))
        .routes(routes!(reset_password))
        .routes(routes!(send_invitation))
        .routes(routes!(remove_second_factor))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(get_role, update_role, delete_role))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(list_user_keys, create_key))
        .routes(routes!(list_keys))
        .routes(routes!(list_visible_keys))
        .routes(routes!(get_key))
        .routes(routes!(download_key))
        .routes(routes!(revoke_key))
        .routes(routes!(regenerate_key))
        .routes(routes!(verify_key))
        .routes(routes!(list_audit))
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(send_test_mail))
        .routes(routes!(mail_setup))
}

/// The OpenAPI 3 document of the API, generated from the handlers and the core's types, with
/// the links between operations.
pub fn openapi() -> serde_json::Value {
    document(api().into_openapi())
}

fn document(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    link_created_ids(&mut doc);
    doc
}

/// OpenAPI links from each operation that creates something to the operations that take its
/// id, so that generated clients and fuzzers can follow them with a real id. (Written into
/// the JSON: utoipa 5.5 serializes its `Link` with snake_case field names.)
fn link_created_ids(doc: &mut serde_json::Value) {
    let created: [(&str, &[&str]); 4] = [
        (
            "/api/users",
            &[
                "get_user",
                "update_user",
                "delete_user",
                "list_user_keys",
                "create_key",
            ],
        ),
        (
            "/api/users/{id}/keys",
            &["get_key", "download_key", "revoke_key", "regenerate_key"],
        ),
        ("/api/roles", &["get_role", "update_role", "delete_role"]),
        (
            "/api/groups",
            &["get_group", "update_group", "delete_group"],
        ),
    ];
    for (path, targets) in created {
        let Some(response) = doc
            .pointer_mut(&format!(
                "/paths/{}/post/responses/201",
                path.replace('/', "~1")
            ))
            .and_then(serde_json::Value::as_object_mut)
        else {
            continue;
        };
        let links: serde_json::Map<String, serde_json::Value> = targets
            .iter()
            .map(|target| {
                let link = serde_json::json!({
                    "operationId": target,
                    "parameters": {"id": "$response.body#/id"},
                });
                ((*target).to_owned(), link)
            })
            .collect();
        response.insert("links".to_owned(), links.into());
    }
}

pub fn router(state: AppState) -> axum::Router {
    let (router, doc) = api().split_for_parts();
    let doc: Arc<str> = document(doc).to_string().into();
    router
        .merge(super::oidc::browser_routes())
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = Arc::clone(&doc);
                async move { ([("content-type", "application/json")], doc.to_string()) }
            }),
        )
        .with_state(state)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn created<T: serde::Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

// --- Health, set-up, sign-in ---------------------------------------------------------------

/// Liveness: the server answers (and its directory can be read).
#[utoipa::path(get, path = "/healthz", tag = "server", security(()),
    responses((status = 200, body = Health),
        (status = 500, body = Problem, content_type = PROBLEM_JSON)))]
async fn health(State(state): State<AppState>) -> Reply<Json<Health>> {
    state.call(|d| d.needs_setup()).await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

/// Whether the directory still needs its first SuperAdmin. `keyward serve` refuses to start
/// on such a directory, so on a running server this is false.
#[utoipa::path(get, path = "/api/setup", tag = "auth", security(()),
    responses((status = 200, body = SetupStatus)))]
async fn setup_status(State(state): State<AppState>) -> Reply<Json<SetupStatus>> {
    let needs_setup = state.call(|d| d.needs_setup()).await?;
    Ok(Json(SetupStatus { needs_setup }))
}

/// Creates the first SuperAdmin of an empty directory; refused (409) once any user exists.
#[utoipa::path(post, path = "/api/setup", tag = "auth", security(()), request_body = FirstAdmin,
    responses((status = 201, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn set_up(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(admin): Body<FirstAdmin>,
) -> Reply<Response> {
    state.limit_sign_ins(peer)?;
    let user = state.call(move |d| d.create_first_admin(admin)).await?;
    Ok(created(user))
}

/// Signs in. Refusals never tell whether the user name exists, nor whether the account has a
/// second step; repeated failures are delayed per user name (the core) and per client address
/// (here). An account with a second step gets `secondFactorRequired` and a challenge instead
/// of a session; one the `secondFactor` setting requires to set one up, `enrollmentRequired`.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses((status = 200, body = LoginReply),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<LoginRequest>,
) -> Reply<Json<LoginReply>> {
    state.limit_sign_ins(peer)?;
    let step = state
        .call(move |d| d.start_sign_in(&request.user_name, &request.password))
        .await?;
    Ok(Json(LoginReply::from(step)))
}

/// The identity providers users can sign in through (SPEC 11); none without `--oidc-issuer`.
#[utoipa::path(get, path = "/api/auth/providers", tag = "auth", security(()),
    responses((status = 200, body = ProviderList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_providers(State(state): State<AppState>) -> Json<ProviderList> {
    Json(ProviderList {
        providers: state
            .oidc
            .iter()
            .map(|oidc| ProviderEntry {
                id: super::oidc::PROVIDER_ID.to_owned(),
                name: oidc.name().to_owned(),
            })
            .collect(),
    })
}

/// Ends a sign-in through the identity provider: the one-time code the server handed to the
/// app's loopback address and the verifier of the app's PKCE challenge give the same answer
/// as a password sign-in. A code works once, right verifier or not. Limited per client
/// address like the password.
#[utoipa::path(post, path = "/api/auth/oidc/exchange", tag = "auth", security(()),
    request_body = ProviderExchange,
    responses((status = 200, body = SignedIn),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn exchange_provider_code(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<ProviderExchange>,
) -> Reply<Json<SignedIn>> {
    state.limit_sign_ins(peer)?;
    let signed_in = state
        .call(move |d| d.exchange_provider_code(&request.code, &request.code_verifier))
        .await?;
    Ok(Json(signed_in))
}

/// The code of a challenge's request, which these endpoints need.
fn code_of(request: &ChallengeRequest) -> Result<Secret, ApiError> {
    request
        .code
        .clone()
        .filter(|code| !code.expose().trim().is_empty())
        .ok_or_else(|| {
            ApiError(Error::invalid(
                "code",
                "Enter the code from your authenticator app, or a recovery code.",
            ))
        })
}

/// The second step of a sign-in: the challenge and a code from the authenticator (or a
/// recovery code, used up). Limited per client address like the password; wrong codes count
/// towards the user's lockout.
#[utoipa::path(post, path = "/api/auth/login/totp", tag = "auth", security(()),
    request_body = ChallengeRequest,
    responses((status = 200, body = SignedIn),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn login_second_factor(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<ChallengeRequest>,
) -> Reply<Json<SignedIn>> {
    state.limit_sign_ins(peer)?;
    let code = code_of(&request)?;
    let signed_in = state
        .call(move |d| d.finish_sign_in(&request.challenge_token, &code))
        .await?;
    Ok(Json(signed_in))
}

/// Starts the set-up the `secondFactor` setting requires at sign-in: the secret for the
/// authenticator, shown once.
#[utoipa::path(post, path = "/api/auth/login/enroll", tag = "auth", security(()),
    request_body = ChallengeRequest,
    responses((status = 200, body = TotpSetup),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn login_enroll(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<ChallengeRequest>,
) -> Reply<Json<TotpSetup>> {
    state.limit_sign_ins(peer)?;
    let setup = state
        .call(move |d| d.enroll_second_factor(Enrolling::AtSignIn(&request.challenge_token)))
        .await?;
    Ok(Json(setup))
}

/// Confirms the set-up begun at sign-in with a code: the recovery codes (shown once) and the
/// session.
#[utoipa::path(post, path = "/api/auth/login/enroll/confirm", tag = "auth", security(()),
    request_body = ChallengeRequest,
    responses((status = 200, body = Enrolled),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn login_enroll_confirm(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<ChallengeRequest>,
) -> Reply<Json<Enrolled>> {
    state.limit_sign_ins(peer)?;
    let code = code_of(&request)?;
    let enrolled = state
        .call(move |d| {
            d.confirm_second_factor(Enrolling::AtSignIn(&request.challenge_token), &code)
        })
        .await?;
    Ok(Json(enrolled))
}

/// Starts setting up one's second step: the secret for the authenticator (as text and as an
/// `otpauth://` URI), shown once; it is on only once a code from it is confirmed.
#[utoipa::path(post, path = "/api/me/totp", tag = "auth",
    responses((status = 200, body = TotpSetup),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn enroll_second_factor(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Reply<Json<TotpSetup>> {
    let setup = state
        .call(move |d| d.enroll_second_factor(Enrolling::Signed(&caller)))
        .await?;
    Ok(Json(setup))
}

/// Turns one's second step off, given a current code; refused (409) where the setting requires
/// it.
#[utoipa::path(delete, path = "/api/me/totp", tag = "auth", request_body = CodeRequest,
    responses((status = 204), (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn turn_off_second_factor(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(request): Input<CodeRequest>,
) -> Reply<Response> {
    let request = state
        .admit(&caller, Operation::OwnSecondFactor, None, request)
        .await?;
    state
        .call(move |d| d.turn_off_second_factor(&caller, &request.code))
        .await?;
    Ok(no_content())
}

/// Confirms one's set-up with a code from the authenticator: the second step is on, and the
/// ten recovery codes are shown this once.
#[utoipa::path(post, path = "/api/me/totp/confirm", tag = "auth", request_body = CodeRequest,
    responses((status = 200, body = Enrolled),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn confirm_second_factor(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(request): Input<CodeRequest>,
) -> Reply<Json<Enrolled>> {
    let request = state
        .admit(&caller, Operation::OwnSecondFactor, None, request)
        .await?;
    let enrolled = state
        .call(move |d| d.confirm_second_factor(Enrolling::Signed(&caller), &request.code))
        .await?;
    Ok(Json(enrolled))
}

/// Ten new recovery codes, given a current code; the earlier ones stop working.
#[utoipa::path(post, path = "/api/me/totp/recovery-codes", tag = "auth",
    request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodes),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn new_recovery_codes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(request): Input<CodeRequest>,
) -> Reply<Json<RecoveryCodes>> {
    let request = state
        .admit(&caller, Operation::OwnSecondFactor, None, request)
        .await?;
    let codes = state
        .call(move |d| d.new_recovery_codes(&caller, &request.code))
        .await?;
    Ok(Json(codes))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204), (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn logout(State(state): State<AppState>, Caller(caller): Caller) -> Reply<Response> {
    state.call(move |d| d.sign_out(&caller)).await?;
    Ok(no_content())
}

/// Sets the password of an invited user from the token of their link; they become ACTIVE.
#[utoipa::path(post, path = "/api/auth/accept-invitation", tag = "auth", security(()),
    request_body = SetPasswordRequest,
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn accept_invitation(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<SetPasswordRequest>,
) -> Reply<Json<User>> {
    set_password_with(state, peer, request, |d, token, password| {
        d.accept_invitation(token, password)
    })
    .await
}

/// Sets a password with the one-time token of a link or code, limited per client address
/// like signing in (a token is a secret to guess, too).
async fn set_password_with(
    state: AppState,
    peer: SocketAddr,
    request: SetPasswordRequest,
    redeem: fn(&dyn Directory, &Secret, &Secret) -> crate::core::Result<User>,
) -> Reply<Json<User>> {
    state.limit_sign_ins(peer)?;
    let user = state
        .call(move |d| redeem(d, &request.token, &request.password))
        .await?;
    Ok(Json(user))
}

/// Sets a new password from the token of a reset link; ends all of the user's sessions.
#[utoipa::path(post, path = "/api/auth/complete-reset", tag = "auth", security(()),
    request_body = SetPasswordRequest,
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn complete_reset(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<SetPasswordRequest>,
) -> Reply<Json<User>> {
    set_password_with(state, peer, request, |d, token, password| {
        d.complete_password_reset(token, password)
    })
    .await
}

/// Sets a password from a one-time code that is an invitation or a reset token, whichever it
/// is: the code a local directory hands out, or the token of either kind of link.
#[utoipa::path(post, path = "/api/auth/redeem", tag = "auth", security(()),
    request_body = SetPasswordRequest,
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn redeem_code(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(request): Body<SetPasswordRequest>,
) -> Reply<Json<User>> {
    set_password_with(state, peer, request, |d, code, password| {
        d.redeem_code(code, password)
    })
    .await
}

/// The caller's own password, as `POST /api/users/{id}/changepassword` with their own id.
#[utoipa::path(post, path = "/api/me/changepassword", tag = "auth",
    request_body = ChangePasswordRequest,
    responses((status = 200, body = ChangePasswordResult),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn change_own_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(request): Input<ChangePasswordRequest>,
) -> Reply<Json<ChangePasswordResult>> {
    let request = state
        .admit(&caller, Operation::ChangePassword, None, request)
        .await?;
    Ok(Json(
        state
            .call(move |d| {
                d.change_own_password(&caller, &request.old_password, &request.new_password)
            })
            .await?,
    ))
}

/// Whether the caller may attempt an operation on a target at all (its input aside): 204, or
/// the problem the operation itself would answer first (403; 404 for what the caller may not
/// see).
#[utoipa::path(post, path = "/api/authorize", tag = "auth", request_body = AuthorizeRequest,
    responses((status = 204),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn authorize(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Body(request): Body<AuthorizeRequest>,
) -> Reply<Response> {
    state
        .call(move |d| d.authorize(&caller, request.operation, request.target.as_deref()))
        .await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/api/me", tag = "auth",
    responses((status = 200, body = Me),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn me(State(state): State<AppState>, Caller(caller): Caller) -> Reply<Json<Me>> {
    Ok(Json(state.call(move |d| d.me(&caller)).await?))
}

// --- Users ---------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/users", tag = "users", params(UserQuery),
    responses((status = 200, body = UserList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<UserQuery>,
) -> Reply<Json<UserList>> {
    let page = state.call(move |d| d.list_users(&caller, &query)).await?;
    Ok(Json(UserList {
        users: page.items,
        page_info: page.page_info,
    }))
}

/// Without a password (and without `status: ACTIVE` for an account that cannot sign in) the
/// user is INVITED and the reply carries the invitation link, shown this once.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUserReply),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(user): Input<NewUser>,
) -> Reply<Response> {
    let user = state
        .admit(&caller, Operation::CreateUser, None, user)
        .await?;
    let new = state.call(move |d| d.create_user(&caller, user)).await?;
    Ok(created(state.created_reply(new)))
}

/// Adds many users, all or none: a refused row refuses the import, each row's field errors
/// named `rows.INDEX.FIELD` (from 0). Users without a password are invited; the reply carries
/// their links. `dryRun=true` checks every row and changes nothing.
#[utoipa::path(post, path = "/api/users/import", tag = "users", params(ImportQuery),
    request_body = ImportRequest,
    responses((status = 200, body = ImportReply), (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn import_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ImportQuery>,
    Input(request): Input<ImportRequest>,
) -> Reply<Json<ImportReply>> {
    let request = state
        .admit(&caller, Operation::ImportUsers, None, request)
        .await?;
    let report = state
        .call(move |d| d.import_users(&caller, request.users, query.dry_run))
        .await?;
    Ok(Json(ImportReply {
        dry_run: report.dry_run,
        count: report.count,
        users: report
            .users
            .into_iter()
            .map(|created| state.created_reply(created))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn get_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<User>> {
    Ok(Json(state.call(move |d| d.get_user(&caller, &id)).await?))
}

/// The user with this id, or else the one with exactly this user name (any case).
#[utoipa::path(get, path = "/api/users/lookup/{nameOrId}", tag = "users",
    params(("nameOrId" = String, Path)),
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn find_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name_or_id): Path<String>,
) -> Reply<Json<User>> {
    Ok(Json(
        state
            .call(move |d| d.find_user(&caller, &name_or_id))
            .await?,
    ))
}

/// Changes the fields given. `updateVersion` must be the version read, else 409 and nothing
/// changes. The reply is the user as it now is (with its new `updateVersion`).
#[utoipa::path(put, path = "/api/users/{id}", tag = "users", params(("id" = String, Path)),
    request_body = UserUpdate,
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn update_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Input(update): Input<UserUpdate>,
) -> Reply<Json<User>> {
    let update = state
        .admit(&caller, Operation::UpdateUser, Some(&id), update)
        .await?;
    Ok(Json(
        state
            .call(move |d| d.update_user(&caller, &id, update))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn delete_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Response> {
    state.call(move |d| d.delete_user(&caller, &id)).await?;
    Ok(no_content())
}

/// The signed-in user's own password. A wrong old password (`PASSWORD_MISMATCH`) or a refused
/// new one is `succeeded: false` with the reasons; guesses of the old one are limited like
/// sign-ins (429).
#[utoipa::path(post, path = "/api/users/{id}/changepassword", tag = "users",
    params(("id" = String, Path)), request_body = ChangePasswordRequest,
    responses((status = 200, body = ChangePasswordResult),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Input(request): Input<ChangePasswordRequest>,
) -> Reply<Json<ChangePasswordResult>> {
    let request = state
        .admit(&caller, Operation::ChangePassword, Some(&id), request)
        .await?;
    Ok(Json(
        state
            .call(move |d| {
                d.change_password(&caller, &id, &request.old_password, &request.new_password)
            })
            .await?,
    ))
}

/// Issues a one-time reset link, valid one hour.
#[utoipa::path(post, path = "/api/users/{id}/resetpassword", tag = "users",
    params(("id" = String, Path)),
    responses((status = 200, body = ResetReply),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn reset_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<ResetReply>> {
    let issued = state.call(move |d| d.reset_password(&caller, &id)).await?;
    Ok(Json(ResetReply {
        reset_link: state.link(RESET_PAGE, &issued.token),
        expires_time: issued.expires_time,
        mail: issued.mail,
    }))
}

/// Removes a user's lost second step (RESET_PASSWORD, for a user the caller may manage); where
/// the setting requires one, they set up a new one at their next sign-in.
#[utoipa::path(delete, path = "/api/users/{id}/totp", tag = "users",
    params(("id" = String, Path)),
    responses((status = 200, body = User),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn remove_second_factor(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<User>> {
    Ok(Json(
        state
            .call(move |d| d.remove_second_factor(&caller, &id))
            .await?,
    ))
}

/// Replaces an invited user's invitation link; the old one stops working.
#[utoipa::path(post, path = "/api/users/{id}/invite", tag = "users",
    params(("id" = String, Path)),
    responses((status = 200, body = InviteReply),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn send_invitation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<InviteReply>> {
    let issued = state.call(move |d| d.send_invitation(&caller, &id)).await?;
    Ok(Json(InviteReply {
        invite_link: state.link(INVITE_PAGE, &issued.token),
        expires_time: issued.expires_time,
        mail: issued.mail,
    }))
}

// --- Roles ---------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/roles", tag = "roles",
    responses((status = 200, body = RoleList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_roles(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Reply<Json<RoleList>> {
    let roles = state.call(move |d| d.list_roles(&caller)).await?;
    Ok(Json(RoleList { roles }))
}

#[utoipa::path(post, path = "/api/roles", tag = "roles", request_body = NewRole,
    responses((status = 201, body = Role),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn create_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(role): Input<NewRole>,
) -> Reply<Response> {
    let role = state
        .admit(&caller, Operation::CreateRole, None, role)
        .await?;
    Ok(created(
        state.call(move |d| d.create_role(&caller, role)).await?,
    ))
}

#[utoipa::path(get, path = "/api/roles/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 200, body = Role),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn get_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<Role>> {
    Ok(Json(state.call(move |d| d.get_role(&caller, &id)).await?))
}

#[utoipa::path(put, path = "/api/roles/{id}", tag = "roles", params(("id" = String, Path)),
    request_body = RoleUpdate,
    responses((status = 200, body = Role),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn update_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Input(update): Input<RoleUpdate>,
) -> Reply<Json<Role>> {
    let update = state
        .admit(&caller, Operation::UpdateRole, Some(&id), update)
        .await?;
    Ok(Json(
        state
            .call(move |d| d.update_role(&caller, &id, update))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/roles/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 204), (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn delete_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Response> {
    state.call(move |d| d.delete_role(&caller, &id)).await?;
    Ok(no_content())
}

// --- Groups --------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/groups", tag = "groups",
    responses((status = 200, body = GroupList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_groups(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Reply<Json<GroupList>> {
    let groups = state.call(move |d| d.list_groups(&caller)).await?;
    Ok(Json(GroupList { groups }))
}

#[utoipa::path(post, path = "/api/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, body = Group),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn create_group(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(group): Input<NewGroup>,
) -> Reply<Response> {
    let group = state
        .admit(&caller, Operation::CreateGroup, None, group)
        .await?;
    Ok(created(
        state.call(move |d| d.create_group(&caller, group)).await?,
    ))
}

#[utoipa::path(get, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, body = Group),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn get_group(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<Group>> {
    Ok(Json(state.call(move |d| d.get_group(&caller, &id)).await?))
}

#[utoipa::path(put, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path)),
    request_body = GroupUpdate,
    responses((status = 200, body = Group),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn update_group(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Input(update): Input<GroupUpdate>,
) -> Reply<Json<Group>> {
    let update = state
        .admit(&caller, Operation::UpdateGroup, Some(&id), update)
        .await?;
    Ok(Json(
        state
            .call(move |d| d.update_group(&caller, &id, update))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 204), (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn delete_group(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Response> {
    state.call(move |d| d.delete_group(&caller, &id)).await?;
    Ok(no_content())
}

// --- API keys ------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/users/{id}/keys", tag = "keys", params(("id" = String, Path)),
    responses((status = 200, body = KeyList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_user_keys(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<KeyList>> {
    let keys = state.call(move |d| d.list_user_keys(&caller, &id)).await?;
    Ok(Json(KeyList {
        keys,
        page_info: None,
    }))
}

/// For oneself the key is ENABLED and the reply carries `key`, this once; for another user
/// (MANAGE_KEYS) it is PENDING until downloaded.
#[utoipa::path(post, path = "/api/users/{id}/keys", tag = "keys", params(("id" = String, Path)),
    request_body = NewKey,
    responses((status = 201, body = IssuedKey),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn create_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(owner): Path<String>,
    Input(key): Input<NewKey>,
) -> Reply<Response> {
    let key = state
        .admit(&caller, Operation::CreateKey, Some(&owner), key)
        .await?;
    Ok(created(
        state
            .call(move |d| d.create_key(&caller, &owner, key))
            .await?,
    ))
}

/// Every key in the directory, paged (VIEW_KEYS).
#[utoipa::path(get, path = "/api/keys", tag = "keys", params(KeyQuery),
    responses((status = 200, body = KeyList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_keys(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<KeyQuery>,
) -> Reply<Json<KeyList>> {
    let page = state.call(move |d| d.list_keys(&caller, &query)).await?;
    Ok(Json(KeyList {
        keys: page.items,
        page_info: Some(page.page_info),
    }))
}

/// The keys the caller may see, paged: every key with VIEW_KEYS, else their own.
#[utoipa::path(get, path = "/api/keys/visible", tag = "keys", params(KeyQuery),
    responses((status = 200, body = KeyList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_visible_keys(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<KeyQuery>,
) -> Reply<Json<KeyList>> {
    let page = state
        .call(move |d| d.list_visible_keys(&caller, &query))
        .await?;
    Ok(Json(KeyList {
        keys: page.items,
        page_info: Some(page.page_info),
    }))
}

#[utoipa::path(get, path = "/api/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 200, body = ApiKey),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn get_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<ApiKey>> {
    Ok(Json(state.call(move |d| d.get_key(&caller, &id)).await?))
}

/// Generates the secret of a PENDING key, shown this once; a second call is 409.
#[utoipa::path(post, path = "/api/keys/{id}/download", tag = "keys",
    params(("id" = String, Path)),
    responses((status = 200, body = IssuedKey),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn download_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<IssuedKey>> {
    Ok(Json(
        state.call(move |d| d.download_key(&caller, &id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/keys/{id}/revoke", tag = "keys", params(("id" = String, Path)),
    responses((status = 200, body = ApiKey),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn revoke_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Reply<Json<ApiKey>> {
    Ok(Json(state.call(move |d| d.revoke_key(&caller, &id)).await?))
}

/// Issues a new secret, shown this once; the old one stops at once or after `graceSeconds`.
#[utoipa::path(post, path = "/api/keys/{id}/regenerate", tag = "keys",
    params(("id" = String, Path)), request_body(content = RegenerateRequest),
    responses((status = 200, body = IssuedKey),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn regenerate_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    OptionalInput(request): OptionalInput<RegenerateRequest>,
) -> Reply<Json<IssuedKey>> {
    let request = state
        .admit(&caller, Operation::RegenerateKey, Some(&id), request)
        .await?;
    let grace = request.grace_seconds.unwrap_or(0);
    Ok(Json(
        state
            .call(move |d| d.regenerate_key(&caller, &id, grace))
            .await?,
    ))
}

/// For services that accept Keyward keys: always 200 for a well-formed request, with `code`
/// saying why a key is refused. Needs no credential: the key is what is being checked.
#[utoipa::path(post, path = "/api/keys/verify", tag = "keys", security(()),
    request_body = VerifyRequest,
    responses((status = 200, body = Verification),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn verify_key(
    State(state): State<AppState>,
    Body(request): Body<VerifyRequest>,
) -> Reply<Json<Verification>> {
    // The hottest request: answered on this worker when the directory can do so without
    // waiting (a local file with an idle reader), sparing it the hand-off to the blocking pool.
    if let Some(answer) = state.directory.verify_key_now(&request.key) {
        return Ok(Json(answer.map_err(ApiError)?));
    }
    Ok(Json(state.call(move |d| d.verify_key(&request.key)).await?))
}

// --- Audit and settings --------------------------------------------------------------------

#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn list_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AuditQuery>,
) -> Reply<Json<AuditList>> {
    let page = state.call(move |d| d.list_audit(&caller, &query)).await?;
    Ok(Json(AuditList {
        entries: page.items,
        page_info: page.page_info,
    }))
}

#[utoipa::path(get, path = "/api/settings", tag = "settings",
    responses((status = 200, body = Settings),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn get_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Reply<Json<Settings>> {
    Ok(Json(state.call(move |d| d.get_settings(&caller)).await?))
}

#[utoipa::path(put, path = "/api/settings", tag = "settings", request_body = SettingsUpdate,
    responses((status = 200, body = Settings),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn update_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(update): Input<SettingsUpdate>,
) -> Reply<Json<Settings>> {
    let update = state
        .admit(&caller, Operation::UpdateSettings, None, update)
        .await?;
    Ok(Json(
        state
            .call(move |d| d.update_settings(&caller, update))
            .await?,
    ))
}

impl AppState {
    fn link(&self, page: &str, token: &crate::core::secret::Secret) -> String {
        token_link(&self.public_url, page, token)
    }

    /// A created user as the API shows it: an invitation becomes a link to this server.
    fn created_reply(&self, created: CreatedUser) -> CreatedUserReply {
        let (invite_link, expires_time, invitation_mail) = match created.invitation {
            Some(invitation) => (
                Some(self.link(INVITE_PAGE, &invitation.token)),
                Some(invitation.expires_time),
                invitation.mail,
            ),
            None => (None, None, None),
        };
        CreatedUserReply {
            user: created.user,
            invite_link,
            expires_time,
            invitation_mail,
        }
    }

    /// The per-address limit on password attempts, before the core's per-user lockout.
    fn limit_sign_ins(&self, peer: SocketAddr) -> Result<(), ApiError> {
        match self.sign_in_limit.check_key(&peer.ip()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let now = governor::clock::Clock::now(self.sign_in_limit.clock());
                let wait = not_until.wait_time_from(now);
                Err(ApiError(Error::RateLimited(wait.as_secs().max(1))))
            }
        }
    }
}

/// Whether this server sends e-mail, and through which SMTP server (never its password).
#[utoipa::path(get, path = "/api/settings/mail", tag = "settings",
    responses((status = 200, body = MailSetup),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn mail_setup(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Reply<Json<MailSetup>> {
    Ok(Json(state.call(move |d| d.mail_setup(&caller)).await?))
}

/// Sends a test message through the server's SMTP server (MANAGE_SETTINGS), to `to` or to the
/// caller's own address, and reports the SMTP server's answer; 409 where e-mail is not
/// configured.
#[utoipa::path(post, path = "/api/settings/test-mail", tag = "settings",
    request_body = TestMailRequest,
    responses((status = 200, body = MailTest),
        (status = "4XX", body = Problem, content_type = PROBLEM_JSON)))]
async fn send_test_mail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Input(request): Input<TestMailRequest>,
) -> Reply<Json<MailTest>> {
    let request = state
        .admit(&caller, Operation::UpdateSettings, None, request)
        .await?;
    Ok(Json(
        state
            .call(move |d| d.send_test_mail(&caller, request.to.as_deref()))
            .await?,
    ))
}

//! Tauri commands: each takes the app state and its arguments, calls the core as the signed-in
//! user, and hands back the result or one error shape ({code, message, errors}). No rule is
//! decided here; the core checks every permission whatever the UI shows.
//!
//! Commands are async and run the core on the blocking pool: a sync command would run on the
//! main thread and freeze the window while SQLite (or argon2) works.

use super::profiles::{Profile, ProfileInput, Target};
use super::{open_file, open_server, Desktop, SignedInAs};
use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::secret::Secret;
use crate::core::{Error, ErrorBody, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{State, WebviewWindow};
use tauri_plugin_dialog::DialogExt;

pub(super) type Reply<T> = std::result::Result<T, ErrorBody>;

pub(super) fn body(error: Error) -> ErrorBody {
    ErrorBody::from(&error)
}

/// Runs `work` on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Reply<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| body(Error::Internal(e.to_string())))?
        .map_err(body)
}

/// Runs `work` against the open directory, as whoever is signed in.
async fn as_signed_in<T: Send + 'static>(
    state: &Desktop,
    work: impl FnOnce(&dyn Directory, &Credential) -> Result<T> + Send + 'static,
) -> Reply<T> {
    let (directory, credential) = state.directory().map_err(body)?;
    let credential = credential.ok_or_else(|| body(Error::Unauthenticated))?;
    blocking(move || work(&*directory, &credential)).await
}

fn retitle(state: &Desktop, window: &WebviewWindow) {
    if let Err(error) = window.set_title(&state.title()) {
        tracing::warn!(%error, "could not set the window title");
    }
}

// --- The connection, setting up and signing in -----------------------------------------------

/// Where the window is connected, and who is signed in there.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// The file path; none when no directory could be opened.
    place: Option<String>,
    /// Why the directory could not be opened, or cannot be reached now.
    problem: Option<String>,
    /// The directory is on a server.
    remote: bool,
    /// The server cannot be reached right now; the session (if any) is kept for when it can.
    unreachable: bool,
    needs_setup: bool,
    me: Option<Me>,
    /// Signed in with an API key (which never changes its owner's two-step sign-in).
    with_key: bool,
    settings: Option<Settings>,
    recent: Vec<String>,
    profiles: Vec<Profile>,
}

pub(super) async fn describe(state: &Desktop) -> Reply<ConnectionInfo> {
    let recent = state.recent.list();
    let profiles = state.profiles.list();
    let (place, remote) = state
        .lock()
        .as_ref()
        .ok()
        .map_or((None, false), |c| (Some(c.place.clone()), c.remote));
    let (directory, credential) = match state.directory() {
        Ok(open) => open,
        Err(problem) => {
            return Ok(ConnectionInfo {
                place: None,
                problem: Some(problem.to_string()),
                remote,
                unreachable: false,
                needs_setup: false,
                me: None,
                with_key: false,
                settings: None,
                recent,
                profiles,
            })
        }
    };
    let with_key = matches!(credential, Some(Credential::ApiKey(_)));
    let described = blocking(move || {
        let needs_setup = directory.needs_setup()?;
        let signed_in = match credential {
            Some(credential) => match directory.me(&credential) {
                Ok(me) => Some((me, directory.get_settings(&credential)?)),
                Err(Error::Unauthenticated) => None,
                Err(other) => return Err(other),
            },
            None => None,
        };
        Ok((needs_setup, signed_in))
    })
    .await;
    let (needs_setup, signed_in) = match described {
        Ok(described) => described,
        // The server is away: say so, and keep the session for when it is back.
        Err(error) if error.code == "UNAVAILABLE" => {
            return Ok(ConnectionInfo {
                place,
                problem: Some(error.message),
                remote,
                unreachable: true,
                needs_setup: false,
                me: None,
                with_key: false,
                settings: None,
                recent,
                profiles,
            })
        }
        Err(error) => return Err(error),
    };
    if signed_in.is_none() {
        state.set_signed_in(None);
    }
    let (me, settings) = signed_in.unzip();
    Ok(ConnectionInfo {
        place,
        problem: None,
        remote,
        unreachable: false,
        needs_setup,
        me,
        with_key,
        settings,
        recent,
        profiles,
    })
}

#[tauri::command]
pub async fn connection(state: State<'_, Desktop>) -> Reply<ConnectionInfo> {
    describe(&state).await
}

/// Opens another directory file, or creates a new one (`create`), and signs out of the old.
#[tauri::command]
pub async fn open_directory(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    path: String,
    create: bool,
) -> Reply<ConnectionInfo> {
    open_local(&state, PathBuf::from(path.trim()), create).await?;
    retitle(&state, &window);
    describe(&state).await
}

/// Opens (or, with `create`, creates) the directory file at `path` for the window, and
/// remembers it among the recent files.
async fn open_local(state: &Desktop, path: PathBuf, create: bool) -> Reply<()> {
    if path.as_os_str().is_empty() {
        return Err(body(Error::invalid("path", "Enter the path of a file.")));
    }
    if create && path.exists() {
        return Err(body(Error::invalid(
            "path",
            "A file already exists there: open it, or choose another name.",
        )));
    }
    if !create && !path.is_file() {
        return Err(body(Error::invalid(
            "path",
            "There is no file at this path.",
        )));
    }
    let opening = path.clone();
    let directory =
        blocking(move || open_file(&opening).map_err(|m| Error::invalid("path", m))).await?;
    state.recent.remember(&path);
    state.connect(path.display().to_string(), false, Ok(directory));
    Ok(())
}

/// Adds a connection profile, or changes one (same id).
#[tauri::command]
pub async fn save_profile(state: State<'_, Desktop>, profile: ProfileInput) -> Reply<Profile> {
    state.profiles.save(profile).map_err(body)
}

#[tauri::command]
pub async fn delete_profile(state: State<'_, Desktop>, id: String) -> Reply<Vec<Profile>> {
    state.profiles.remove(&id).map_err(body)?;
    Ok(state.profiles.list())
}

/// Connects to a profile's file or server (signing out of the current directory). A server
/// that cannot be reached, or whose certificate is not trusted, is refused with the reason.
#[tauri::command]
pub async fn open_profile(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    id: String,
) -> Reply<ConnectionInfo> {
    let profile = state.profiles.get(&id).map_err(body)?;
    match &profile.target {
        Target::Local { path } => open_local(&state, PathBuf::from(path), false).await?,
        Target::Remote { url, .. } => {
            let trust = profile.target.trust().map_err(body)?;
            let url = url.clone();
            let (place, directory) = blocking(move || {
                let (place, directory) = open_server(&url, &trust)?;
                // Reach it now, so that a wrong address or certificate is said at once.
                directory.needs_setup()?;
                Ok((place, directory))
            })
            .await?;
            state.connect(place, true, Ok(directory));
        }
    }
    retitle(&state, &window);
    describe(&state).await
}

/// The certificate a server presents, for the administrator to compare and trust explicitly.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateInfo {
    fingerprint: String,
    trusted_by_system: bool,
}

#[tauri::command]
pub async fn server_certificate(url: String) -> Reply<CertificateInfo> {
    let presented = blocking(move || crate::remote::fetch_certificate(&url)).await?;
    Ok(CertificateInfo {
        fingerprint: presented.fingerprint.to_string(),
        trusted_by_system: presented.trusted_by_system,
    })
}

/// Asks for a file with the system's Open (or, with `create`, Save) dialog: a directory file,
/// or (`users`) a CSV/JSON file of users, or (`invitations`) a CSV for invitation links.
#[tauri::command]
pub async fn choose_file(
    app: tauri::AppHandle,
    create: bool,
    kind: Option<String>,
) -> Reply<Option<String>> {
    blocking(move || {
        let (filter, extensions, title, name): (&str, &[&str], &str, &str) =
            match (kind.as_deref(), create) {
                // `.txt`: Excel's "Unicode Text" (tab-separated UTF-16).
                (Some("users"), false) => (
                    "Users (CSV, text or JSON)",
                    &["csv", "txt", "json"],
                    "Import users",
                    "",
                ),
                (Some("users"), true) => (
                    "Users (CSV or JSON)",
                    &["csv", "json"],
                    "Export users",
                    "users.csv",
                ),
                (Some("invitations"), _) => {
                    ("CSV", &["csv"], "Save the invitations", "invitations.csv")
                }
                (Some("recovery"), _) => (
                    "Text",
                    &["txt"],
                    "Save the recovery codes",
                    "keyward-recovery-codes.txt",
                ),
                (Some("backup"), true) => (
                    "Keyward directory",
                    &["db"],
                    "Back up to",
                    "keyward-backup.db",
                ),
                (_, true) => (
                    "Keyward directory",
                    &["db", "sqlite", "keyward"],
                    "Create a directory file",
                    "keyward.db",
                ),
                (_, false) => (
                    "Keyward directory",
                    &["db", "sqlite", "keyward"],
                    "Open a directory file",
                    "",
                ),
            };
        let dialog = app
            .dialog()
            .file()
            .add_filter(filter, extensions)
            .set_title(title);
        let chosen = if create {
            dialog.set_file_name(name).blocking_save_file()
        } else {
            dialog.blocking_pick_file()
        };
        Ok(chosen
            .and_then(|p| p.into_path().ok())
            .map(|p| p.display().to_string()))
    })
    .await
}

/// Creates the first SuperAdmin of a new directory and signs them in.
#[tauri::command]
pub async fn set_up(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    admin: FirstAdmin,
) -> Reply<ConnectionInfo> {
    let (directory, _) = state.directory().map_err(body)?;
    let opened = Arc::clone(&directory);
    let password = admin.password.clone();
    let signed_in = blocking(move || {
        let user = directory.create_first_admin(admin)?;
        directory.sign_in(&user.user_name, &password)
    })
    .await?;
    start_session(&state, &window, &opened, signed_in).await?;
    describe(&state).await
}

/// What a sign-in answered after the window connected to another directory says.
pub(super) const CONNECTED_ELSEWHERE: &str =
    "The window connected elsewhere meanwhile: sign in again.";

/// Keeps the session a sign-in on `directory` opened, if that directory is still the open one
/// (the window may have connected elsewhere meanwhile); else signs it out again and says so.
pub(super) async fn start_session(
    state: &Desktop,
    window: &WebviewWindow,
    directory: &Arc<dyn Directory>,
    signed_in: SignedIn,
) -> Reply<()> {
    let credential = Credential::Session(signed_in.access_token);
    let kept = state.set_signed_in_on(
        directory,
        SignedInAs {
            credential: credential.clone(),
            user_name: signed_in.user.user_name,
        },
    );
    if !kept {
        // Not left open on a directory the window no longer shows.
        let directory = Arc::clone(directory);
        let _ = blocking(move || directory.sign_out(&credential)).await;
        return Err(body(Error::StateConflict(CONNECTED_ELSEWHERE.to_owned())));
    }
    retitle(state, window);
    Ok(())
}

/// What a password sign-in came to: signed in (with the connection as it now is), or a
/// second step to take (`SECOND_FACTOR`: a code; `ENROLLMENT`: set one up first), whose
/// challenge this side keeps.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInReply {
    step: &'static str,
    connection: Option<ConnectionInfo>,
}

#[tauri::command]
pub async fn sign_in(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    user_name: String,
    password: Secret,
) -> Reply<SignInReply> {
    let (directory, _) = state.directory().map_err(body)?;
    let opened = Arc::clone(&directory);
    let step = blocking(move || directory.start_sign_in(user_name.trim(), &password)).await?;
    let (step, challenge) = match step {
        SignInStep::SignedIn(signed_in) => {
            start_session(&state, &window, &opened, *signed_in).await?;
            return Ok(SignInReply {
                step: "SIGNED_IN",
                connection: Some(describe(&state).await?),
            });
        }
        SignInStep::SecondFactor(challenge) => ("SECOND_FACTOR", challenge),
        SignInStep::Enrollment(challenge) => ("ENROLLMENT", challenge),
    };
    state.hold_challenge(Some(challenge.challenge_token));
    Ok(SignInReply {
        step,
        connection: None,
    })
}

/// The second step of the sign-in begun with the password: a code, or a recovery code.
#[tauri::command]
pub async fn finish_sign_in(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    code: Secret,
) -> Reply<ConnectionInfo> {
    let (directory, _) = state.directory().map_err(body)?;
    let opened = Arc::clone(&directory);
    let challenge = state.challenge().map_err(body)?;
    let signed_in = blocking(move || directory.finish_sign_in(&challenge, &code)).await?;
    start_session(&state, &window, &opened, signed_in).await?;
    describe(&state).await
}

/// What the window shows to set up an authenticator: the secret as text and the QR code of
/// its `otpauth://` URI. (No `Debug`: the QR code's path spells the secret.)
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpView {
    secret: Secret,
    qr: super::qr::QrImage,
}

fn totp_view(setup: TotpSetup) -> Result<TotpView> {
    Ok(TotpView {
        qr: super::qr::draw(setup.otpauth_uri.expose())?,
        secret: setup.secret,
    })
}

/// Starts the set-up the directory requires at sign-in.
#[tauri::command]
pub async fn enroll_at_sign_in(state: State<'_, Desktop>) -> Reply<TotpView> {
    let (directory, _) = state.directory().map_err(body)?;
    let challenge = state.challenge().map_err(body)?;
    blocking(move || totp_view(directory.enroll_second_factor(Enrolling::AtSignIn(&challenge))?))
        .await
}

/// A set-up at sign-in confirmed: the recovery codes (shown once) and the session.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledAtSignIn {
    recovery_codes: Vec<Secret>,
    connection: ConnectionInfo,
}

#[tauri::command]
pub async fn confirm_at_sign_in(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    code: Secret,
) -> Reply<EnrolledAtSignIn> {
    let (directory, _) = state.directory().map_err(body)?;
    let opened = Arc::clone(&directory);
    let challenge = state.challenge().map_err(body)?;
    let enrolled =
        blocking(move || directory.confirm_second_factor(Enrolling::AtSignIn(&challenge), &code))
            .await?;
    let signed_in = enrolled
        .signed_in
        .ok_or_else(|| body(Error::Internal("no session after the set-up".into())))?;
    start_session(&state, &window, &opened, signed_in).await?;
    Ok(EnrolledAtSignIn {
        recovery_codes: enrolled.recovery_codes,
        connection: describe(&state).await?,
    })
}

/// Starts setting up one's own second step.
#[tauri::command]
pub async fn enroll_second_factor(state: State<'_, Desktop>) -> Reply<TotpView> {
    as_signed_in(&state, |d, c| {
        totp_view(d.enroll_second_factor(Enrolling::Signed(c))?)
    })
    .await
}

/// Confirms one's set-up with a code: the recovery codes, shown once.
#[tauri::command]
pub async fn confirm_second_factor(state: State<'_, Desktop>, code: Secret) -> Reply<Vec<Secret>> {
    as_signed_in(&state, move |d, c| {
        Ok(d.confirm_second_factor(Enrolling::Signed(c), &code)?
            .recovery_codes)
    })
    .await
}

#[tauri::command]
pub async fn new_recovery_codes(state: State<'_, Desktop>, code: Secret) -> Reply<Vec<Secret>> {
    as_signed_in(&state, move |d, c| {
        Ok(d.new_recovery_codes(c, &code)?.recovery_codes)
    })
    .await
}

#[tauri::command]
pub async fn turn_off_second_factor(state: State<'_, Desktop>, code: Secret) -> Reply<()> {
    as_signed_in(&state, move |d, c| d.turn_off_second_factor(c, &code)).await
}

/// An administrator removes a user's lost second step.
#[tauri::command]
pub async fn remove_second_factor(state: State<'_, Desktop>, id: String) -> Reply<User> {
    as_signed_in(&state, move |d, c| d.remove_second_factor(c, &id)).await
}

/// Writes recovery codes to a new text file the person chose (never over an existing one,
/// readable by its owner only).
#[tauri::command]
pub async fn save_recovery_codes(path: String, codes: Vec<Secret>) -> Reply<()> {
    blocking(move || {
        let path = PathBuf::from(path.trim());
        let mut text = String::from(
            "Keyward recovery codes. Each signs in once in place of a code from your \
             authenticator app. Keep them somewhere safe.\n\n",
        );
        for code in &codes {
            text.push_str(code.expose());
            text.push('\n');
        }
        // Readable by its owner only, like the key beside a directory file.
        let written = crate::platform::files::create_private(&path, text.as_bytes());
        written.map_err(|e| {
            let reason = if e.kind() == std::io::ErrorKind::AlreadyExists {
                "it exists already; choose a new file".to_owned()
            } else {
                e.to_string()
            };
            Error::invalid("path", format!("Cannot write {}: {reason}", path.display()))
        })
    })
    .await
}

/// Works as the owner of an API key (pasted instead of a password).
#[tauri::command]
pub async fn sign_in_with_key(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    key: Secret,
) -> Reply<ConnectionInfo> {
    let (directory, _) = state.directory().map_err(body)?;
    let credential = Credential::ApiKey(Secret::new(key.expose().trim().to_owned()));
    let (checking, checker) = (credential.clone(), Arc::clone(&directory));
    let me = blocking(move || {
        checker.me(&checking).map_err(|error| match error {
            Error::Unauthenticated => Error::invalid(
                "key",
                "This key is not valid here (revoked, expired, or from another directory).",
            ),
            other => other,
        })
    })
    .await?;
    // Kept only on the directory that checked it: the window may have connected elsewhere
    // while a server answered (a key, unlike a session, has nothing to end there).
    let kept = state.set_signed_in_on(
        &directory,
        SignedInAs {
            credential,
            user_name: me.user_name,
        },
    );
    if !kept {
        return Err(body(Error::StateConflict(CONNECTED_ELSEWHERE.to_owned())));
    }
    retitle(&state, &window);
    describe(&state).await
}

#[tauri::command]
pub async fn sign_out(state: State<'_, Desktop>, window: WebviewWindow) -> Reply<ConnectionInfo> {
    // The session ends in the directory too; a session that already expired is no obstacle.
    let ended = as_signed_in(&state, |d, c| d.sign_out(c)).await;
    if let Err(error) = ended {
        tracing::info!(code = %error.code, "signing out of a session the directory no longer had");
    }
    state.set_signed_in(None);
    state.clipboard.clear_if_ours();
    retitle(&state, &window);
    describe(&state).await
}

/// Sets a password with an invitation or a password-reset code, whichever it is.
#[tauri::command]
pub async fn redeem_code(state: State<'_, Desktop>, code: Secret, password: Secret) -> Reply<User> {
    let (directory, _) = state.directory().map_err(body)?;
    blocking(move || {
        // A server's link carries the code after "#token="; a pasted link works as well.
        let code = crate::wire::token_from_link(code.expose());
        directory.redeem_code(&code, &password)
    })
    .await
}

#[tauri::command]
pub async fn change_password(
    state: State<'_, Desktop>,
    old_password: Secret,
    new_password: Secret,
) -> Reply<ChangePasswordResult> {
    as_signed_in(&state, move |d, c| {
        d.change_own_password(c, &old_password, &new_password)
    })
    .await
}

// --- Users ------------------------------------------------------------------------------------

#[tauri::command]
pub async fn list_users(state: State<'_, Desktop>, query: UserQuery) -> Reply<Page<User>> {
    as_signed_in(&state, move |d, c| d.list_users(c, &query)).await
}

#[tauri::command]
pub async fn get_user(state: State<'_, Desktop>, id: String) -> Reply<User> {
    as_signed_in(&state, move |d, c| d.get_user(c, &id)).await
}

#[tauri::command]
pub async fn create_user(state: State<'_, Desktop>, user: NewUser) -> Reply<CreatedUser> {
    as_signed_in(&state, move |d, c| d.create_user(c, user)).await
}

#[tauri::command]
pub async fn update_user(state: State<'_, Desktop>, id: String, update: UserUpdate) -> Reply<User> {
    as_signed_in(&state, move |d, c| d.update_user(c, &id, update)).await
}

#[tauri::command]
pub async fn delete_user(state: State<'_, Desktop>, id: String) -> Reply<()> {
    as_signed_in(&state, move |d, c| d.delete_user(c, &id)).await
}

#[tauri::command]
pub async fn reset_password(state: State<'_, Desktop>, id: String) -> Reply<IssuedToken> {
    as_signed_in(&state, move |d, c| d.reset_password(c, &id)).await
}

#[tauri::command]
pub async fn send_invitation(state: State<'_, Desktop>, id: String) -> Reply<IssuedToken> {
    as_signed_in(&state, move |d, c| d.send_invitation(c, &id)).await
}

// --- Roles and groups -------------------------------------------------------------------------

#[tauri::command]
pub async fn list_roles(state: State<'_, Desktop>) -> Reply<Vec<Role>> {
    as_signed_in(&state, |d, c| d.list_roles(c)).await
}

#[tauri::command]
pub async fn create_role(state: State<'_, Desktop>, role: NewRole) -> Reply<Role> {
    as_signed_in(&state, move |d, c| d.create_role(c, role)).await
}

#[tauri::command]
pub async fn update_role(state: State<'_, Desktop>, id: String, update: RoleUpdate) -> Reply<Role> {
    as_signed_in(&state, move |d, c| d.update_role(c, &id, update)).await
}

#[tauri::command]
pub async fn delete_role(state: State<'_, Desktop>, id: String) -> Reply<()> {
    as_signed_in(&state, move |d, c| d.delete_role(c, &id)).await
}

#[tauri::command]
pub async fn list_groups(state: State<'_, Desktop>) -> Reply<Vec<Group>> {
    as_signed_in(&state, |d, c| d.list_groups(c)).await
}

#[tauri::command]
pub async fn create_group(state: State<'_, Desktop>, group: NewGroup) -> Reply<Group> {
    as_signed_in(&state, move |d, c| d.create_group(c, group)).await
}

#[tauri::command]
pub async fn update_group(
    state: State<'_, Desktop>,
    id: String,
    update: GroupUpdate,
) -> Reply<Group> {
    as_signed_in(&state, move |d, c| d.update_group(c, &id, update)).await
}

#[tauri::command]
pub async fn delete_group(state: State<'_, Desktop>, id: String) -> Reply<()> {
    as_signed_in(&state, move |d, c| d.delete_group(c, &id)).await
}

// --- API keys ---------------------------------------------------------------------------------

#[tauri::command]
pub async fn list_user_keys(state: State<'_, Desktop>, user_id: String) -> Reply<Vec<ApiKey>> {
    as_signed_in(&state, move |d, c| d.list_user_keys(c, &user_id)).await
}

#[tauri::command]
pub async fn list_keys(state: State<'_, Desktop>, query: KeyQuery) -> Reply<Page<ApiKey>> {
    as_signed_in(&state, move |d, c| d.list_keys(c, &query)).await
}

#[tauri::command]
pub async fn create_key(
    state: State<'_, Desktop>,
    owner_id: String,
    key: NewKey,
) -> Reply<IssuedKey> {
    as_signed_in(&state, move |d, c| d.create_key(c, &owner_id, key)).await
}

#[tauri::command]
pub async fn download_key(state: State<'_, Desktop>, id: String) -> Reply<IssuedKey> {
    as_signed_in(&state, move |d, c| d.download_key(c, &id)).await
}

#[tauri::command]
pub async fn revoke_key(state: State<'_, Desktop>, id: String) -> Reply<ApiKey> {
    as_signed_in(&state, move |d, c| d.revoke_key(c, &id)).await
}

#[tauri::command]
pub async fn regenerate_key(
    state: State<'_, Desktop>,
    id: String,
    grace_seconds: u32,
) -> Reply<IssuedKey> {
    as_signed_in(&state, move |d, c| d.regenerate_key(c, &id, grace_seconds)).await
}

// --- Audit, settings and the clipboard --------------------------------------------------------

#[tauri::command]
pub async fn list_audit(state: State<'_, Desktop>, query: AuditQuery) -> Reply<Page<AuditEntry>> {
    as_signed_in(&state, move |d, c| d.list_audit(c, &query)).await
}

/// Whether the open directory's server sends e-mail.
#[tauri::command]
pub async fn mail_setup(state: State<'_, Desktop>) -> Reply<MailSetup> {
    as_signed_in(&state, |d, c| d.mail_setup(c)).await
}

/// Sends a test message through the server's SMTP server (to the signed-in user).
#[tauri::command]
pub async fn send_test_mail(state: State<'_, Desktop>, to: Option<String>) -> Reply<MailTest> {
    as_signed_in(&state, move |d, c| d.send_test_mail(c, to.as_deref())).await
}

#[tauri::command]
pub async fn get_settings(state: State<'_, Desktop>) -> Reply<Settings> {
    as_signed_in(&state, |d, c| d.get_settings(c)).await
}

#[tauri::command]
pub async fn update_settings(state: State<'_, Desktop>, update: SettingsUpdate) -> Reply<Settings> {
    as_signed_in(&state, move |d, c| d.update_settings(c, update)).await
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Copied {
    /// Seconds until the clipboard is cleared; 0 = it is not cleared.
    clears_in_seconds: u32,
}

/// Copies a secret that is being revealed to the system clipboard, to be cleared after the
/// directory's `clipboardClearSeconds`.
#[tauri::command]
pub async fn copy_secret(state: State<'_, Desktop>, secret: Secret) -> Reply<Copied> {
    let settings = as_signed_in(&state, |d, c| d.get_settings(c)).await?;
    let delay = settings.clipboard_clear_seconds;
    let clipboard = state.clipboard.clone();
    blocking(move || clipboard.copy(secret, delay).map_err(Error::StateConflict)).await?;
    Ok(Copied {
        clears_in_seconds: delay,
    })
}

// --- Import, export, backup -------------------------------------------------------------------

/// What an import (or its dry run) came to, for the dialog.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    dry_run: bool,
    count: usize,
    invited: usize,
    /// Every refused line, `line N: field: message`; nothing was imported when not empty.
    problems: Vec<String>,
    /// How the file was read when that is worth saying (not UTF-8).
    note: Option<String>,
}

/// Imports users from a CSV or JSON file, all or nothing; invitations go to `invites_out`.
#[tauri::command]
pub async fn import_users_file(
    state: State<'_, Desktop>,
    path: String,
    dry_run: bool,
    invites_out: Option<String>,
) -> Reply<ImportResult> {
    let invites_out = invites_out
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from);
    as_signed_in(&state, move |d, c| {
        let request = crate::transfer::ImportFile {
            path: std::path::Path::new(&path),
            format: None,
            dry_run,
            invites_out: invites_out.as_deref(),
        };
        let imported = crate::transfer::import_file(d, c, &request, &mut ())?;
        let count = imported.count;
        let note = imported.note(request.path);
        Ok(match imported.outcome {
            crate::transfer::Outcome::Refused(problems) => ImportResult {
                dry_run,
                count,
                invited: 0,
                problems,
                note,
            },
            crate::transfer::Outcome::Done(report) => ImportResult {
                dry_run: report.dry_run,
                count,
                invited: report.invited(),
                problems: Vec::new(),
                note,
            },
        })
    })
    .await
}

/// Writes every user (no hashes, no secrets) to a CSV or JSON file, by its extension.
#[tauri::command]
pub async fn export_users_file(state: State<'_, Desktop>, path: String) -> Reply<u64> {
    as_signed_in(&state, move |d, c| {
        let path = PathBuf::from(path);
        let format = crate::transfer::Format::of(&path, None);
        let mut count = 0;
        let bytes = crate::transfer::export(d, c, format, |done, _| count = done)?;
        std::fs::write(&path, bytes)
            .map_err(|e| Error::invalid("path", format!("Cannot write {}: {e}", path.display())))?;
        Ok(count)
    })
    .await
}

/// The open directory file, when the window works on one (not on a server).
fn open_file_path(state: &Desktop) -> Result<PathBuf> {
    match &*state.lock() {
        Ok(c) if !c.remote => Ok(PathBuf::from(&c.place)),
        _ => Err(Error::StateConflict(
            "Backups are made of a local directory file; a server is backed up where it runs."
                .into(),
        )),
    }
}

/// Copies the open directory file safely (SQLite online backup) while it is in use.
#[tauri::command]
pub async fn backup_directory(state: State<'_, Desktop>, path: String) -> Reply<()> {
    let source = open_file_path(&state).map_err(body)?;
    blocking(move || crate::store::backup(&source, std::path::Path::new(path.trim()))).await
}

/// Restores a checked backup into the open directory file (through SQLite: a server or
/// another app on the same file sees the restored directory at once), then opens it again,
/// signed out: the sessions are now those of the backup.
#[tauri::command]
pub async fn restore_directory(
    state: State<'_, Desktop>,
    window: WebviewWindow,
    path: String,
) -> Reply<ConnectionInfo> {
    let target = open_file_path(&state).map_err(body)?;
    let restoring = target.clone();
    blocking(move || crate::store::restore(&restoring, std::path::Path::new(&path))).await?;
    let reopened = open_file(&target);
    state.connect(target.display().to_string(), false, reopened);
    retitle(&state, &window);
    describe(&state).await
}

//! The Tauri desktop app: a window over the same core as the server and the CLI. Commands are
//! thin adapters in [`commands`]; no rule lives here.
//!
//! The session token stays on the Rust side: the webview asks for work to be done and never
//! holds a credential. Secrets reach the webview only in the one-time reveal, and go to the
//! system clipboard through [`clipboard`], never through the webview's own clipboard.

mod clipboard;
mod commands;
mod profiles;
mod provider;
mod qr;
mod recent;

use crate::core::directory::Directory;
use crate::core::model::Credential;
use crate::core::secret::Secret;
use crate::core::Error;
use crate::store::SqliteDirectory;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use tauri::{Manager, RunEvent};

/// What the window works on: one directory and, once signed in, the session on it.
pub struct Connection {
    /// Shown to the administrator: the file path or the server URL.
    pub place: String,
    /// Whether the directory is on a server (reached over the network).
    pub remote: bool,
    pub directory: Arc<dyn Directory>,
    pub signed_in: Option<SignedInAs>,
}

pub struct SignedInAs {
    pub credential: Credential,
    pub user_name: String,
}

/// The app's state, shared by every command.
pub struct Desktop {
    connection: Mutex<Result<Connection, String>>,
    /// A sign-in whose password was accepted and whose second step (a code, or setting one
    /// up) is still to come: the challenge stays here, never in the webview.
    challenge: Mutex<Option<Secret>>,
    clipboard: Arc<clipboard::SecretClipboard>,
    recent: recent::RecentFiles,
    profiles: profiles::Profiles,
    /// A sign-in through an identity provider whose browser has not come back yet.
    provider_trip: provider::Trips,
}

impl Desktop {
    fn lock(&self) -> std::sync::MutexGuard<'_, Result<Connection, String>> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The open directory, or why there is none.
    fn directory(&self) -> Result<(Arc<dyn Directory>, Option<Credential>), Error> {
        match &*self.lock() {
            Ok(c) => Ok((
                c.directory.clone(),
                c.signed_in.as_ref().map(|s| s.credential.clone()),
            )),
            Err(reason) => Err(Error::StateConflict(reason.clone())),
        }
    }

    /// Replaces the open directory (the previous session is simply dropped with it).
    fn connect(&self, place: String, remote: bool, opened: Result<Arc<dyn Directory>, String>) {
        self.hold_challenge(None);
        self.provider_trip.cancel();
        *self.lock() = opened.map(|directory| Connection {
            place,
            remote,
            directory,
            signed_in: None,
        });
    }

    /// Keeps (or, with `None`, forgets) the challenge of a sign-in half done.
    fn hold_challenge(&self, challenge: Option<Secret>) {
        *self
            .challenge
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = challenge;
    }

    /// The challenge of the sign-in half done, or why there is none.
    fn challenge(&self) -> Result<Secret, Error> {
        self.challenge
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                Error::invalid(
                    "challengeToken",
                    "This sign-in has expired or was finished already: sign in again.",
                )
            })
    }

    fn set_signed_in(&self, signed_in: Option<SignedInAs>) {
        self.hold_challenge(None);
        if let Ok(connection) = &mut *self.lock() {
            connection.signed_in = signed_in;
        }
    }

    /// Keeps the session only if `directory` is still the open one (the window may have
    /// connected elsewhere while it was obtained): whether it was kept.
    fn set_signed_in_on(&self, directory: &Arc<dyn Directory>, signed_in: SignedInAs) -> bool {
        let mut connection = self.lock();
        match &mut *connection {
            Ok(c) if Arc::ptr_eq(&c.directory, directory) => {
                c.signed_in = Some(signed_in);
                drop(connection);
                self.hold_challenge(None);
                true
            }
            _ => false,
        }
    }

    /// Whether `directory` is the open one.
    fn is_open(&self, directory: &Arc<dyn Directory>) -> bool {
        matches!(&*self.lock(), Ok(c) if Arc::ptr_eq(&c.directory, directory))
    }

    /// "Keyward — /path/to/file.db — alice": the connection and who is signed in.
    fn title(&self) -> String {
        match &*self.lock() {
            Ok(c) => match &c.signed_in {
                Some(s) => format!("Keyward — {} — {}", c.place, s.user_name),
                None => format!("Keyward — {}", c.place),
            },
            Err(_) => "Keyward".to_owned(),
        }
    }
}

fn open_file(path: &std::path::Path) -> Result<Arc<dyn Directory>, String> {
    SqliteDirectory::open(path)
        .map(|d| Arc::new(d) as Arc<dyn Directory>)
        .map_err(|e| e.to_string())
}

fn open_server(
    url: &str,
    trust: &crate::remote::Trust,
) -> crate::core::Result<(String, Arc<dyn Directory>)> {
    let remote = crate::remote::RemoteDirectory::new(url, trust)?;
    Ok((remote.url().to_owned(), Arc::new(remote)))
}

/// Where the app starts: a directory file (created if needed) or a server.
pub enum Start {
    File(PathBuf),
    Server(String),
}

/// Opens the desktop app on a directory file or a server; the exit code when it closes.
pub fn run(start: Start) -> ExitCode {
    if let Err(error) = tauri::webview_version() {
        return no_webview(&error.to_string());
    }
    // While the window opens: the first sign-in with an unknown user name on a local file
    // then costs one argon2 verification, like any other.
    std::thread::spawn(crate::core::password::prepare_unknown_user_check);
    let desktop = Desktop {
        connection: Mutex::new(Err(String::new())),
        challenge: Mutex::new(None),
        clipboard: Arc::new(clipboard::SecretClipboard::default()),
        recent: recent::RecentFiles::load(),
        profiles: profiles::Profiles::load(),
        provider_trip: provider::Trips::default(),
    };
    match start {
        Start::File(db) => {
            let opened = open_file(&db);
            match &opened {
                Ok(_) => desktop.recent.remember(&db),
                Err(reason) => tracing::error!(%reason, "cannot open the directory"),
            }
            desktop.connect(db.display().to_string(), false, opened);
        }
        Start::Server(url) => match open_server(&url, &crate::remote::Trust::System) {
            Ok((place, directory)) => desktop.connect(place, true, Ok(directory)),
            Err(error) => desktop.connect(url, true, Err(error.to_string())),
        },
    }
    let title = desktop.title();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(desktop)
        .invoke_handler(handler())
        .setup(move |app| {
            if let Some(window) = app.get_webview_window("main") {
                window.set_title(&title)?;
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            // The window program has no console on Windows: say it in a dialog as well.
            let text = format!("Keyward could not start its window: {error}");
            eprintln!("error: {text}");
            show_error("Keyward cannot open its window", &text);
            return ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // A copied secret does not outlive the app.
            handle.state::<Desktop>().clipboard.clear_if_ours();
        }
    });
    ExitCode::SUCCESS
}

/// Every command the window may call.
fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::connection,
        commands::open_directory,
        commands::save_profile,
        commands::delete_profile,
        commands::open_profile,
        commands::server_certificate,
        commands::sign_in_with_key,
        commands::import_users_file,
        commands::export_users_file,
        commands::backup_directory,
        commands::restore_directory,
        commands::choose_file,
        commands::set_up,
        commands::sign_in,
        commands::finish_sign_in,
        commands::enroll_at_sign_in,
        commands::confirm_at_sign_in,
        commands::enroll_second_factor,
        commands::confirm_second_factor,
        commands::new_recovery_codes,
        commands::turn_off_second_factor,
        commands::remove_second_factor,
        commands::save_recovery_codes,
        commands::sign_out,
        commands::redeem_code,
        commands::change_password,
        commands::list_users,
        commands::get_user,
        commands::create_user,
        commands::update_user,
        commands::delete_user,
        commands::reset_password,
        commands::send_invitation,
        commands::list_roles,
        commands::create_role,
        commands::update_role,
        commands::delete_role,
        commands::list_groups,
        commands::create_group,
        commands::update_group,
        commands::delete_group,
        commands::list_user_keys,
        commands::list_keys,
        commands::create_key,
        commands::download_key,
        commands::revoke_key,
        commands::regenerate_key,
        commands::list_audit,
        commands::get_settings,
        commands::update_settings,
        commands::mail_setup,
        commands::send_test_mail,
        commands::copy_secret,
        provider::sign_in_providers,
        provider::start_provider_sign_in,
        provider::await_provider_sign_in,
        provider::cancel_provider_sign_in,
    ]
}

/// What a Windows user sees where the WebView2 Runtime is missing (Windows 10 and 11 ship it,
/// but it can be removed, or be installed for another account only): one dialog saying what
/// is missing and where Microsoft offers it, the same text on standard error, and exit code
/// [`crate::cli::exit::NO_WEBVIEW`]; never a crash or a silent exit.
fn no_webview(reason: &str) -> ExitCode {
    tracing::error!(%reason, "no webview runtime");
    eprintln!("error: {NO_WEBVIEW_TEXT}");
    show_error(NO_WEBVIEW_TITLE, NO_WEBVIEW_TEXT);
    ExitCode::from(crate::cli::exit::NO_WEBVIEW)
}

/// A dialog for a failure that leaves the app without a window to say it in.
fn show_error(title: &str, text: &str) {
    rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title(title)
        .set_description(text)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
}

const NO_WEBVIEW_TITLE: &str = "Keyward cannot open its window";
// Without a window manager (or on a small screen) the title may not show: the text says it all.
const NO_WEBVIEW_TEXT: &str = "Keyward cannot open its window: the Microsoft Edge WebView2 \
    Runtime is not installed for this account. Install it from Microsoft \
    (https://go.microsoft.com/fwlink/p/?LinkId=2124703, the Evergreen Bootstrapper) or ask your \
    IT department, then start Keyward again. The keyward command in cmd or PowerShell works \
    without it.";

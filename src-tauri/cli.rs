//! The `keyward` command line: with no subcommand it opens the desktop app; `init` creates a
//! directory and its first SuperAdmin. Every subcommand calls the same core functions as the
//! app and the server.

use crate::core::directory::Directory;
use crate::core::model::FirstAdmin;
use crate::core::secret::Secret;
use crate::core::Error;
use crate::store::SqliteDirectory;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "keyward",
    version,
    about = "Administration of users, roles, groups and API keys.",
    long_about = "Administration of users, roles, groups and API keys.\n\n\
        Without a subcommand, opens the desktop app on the directory file given by --db \
        (default: keyward.db in your data directory)."
)]
pub struct Cli {
    /// The directory file (SQLite). Default: keyward.db in the user's data directory.
    #[arg(long, global = true, env = "KEYWARD_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a directory file and its first SuperAdmin.
    ///
    /// The password comes from KEYWARD_ADMIN_PASSWORD, else from a prompt that does not echo.
    Init {
        /// User name of the first SuperAdmin.
        #[arg(long, value_name = "NAME")]
        admin_user: String,
        /// E-mail address of the first SuperAdmin.
        #[arg(long, value_name = "EMAIL")]
        admin_email: String,
        /// Display name (default: the user name).
        #[arg(long, value_name = "NAME", default_value = "")]
        admin_display_name: String,
    },
}

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    pub const REFUSED: u8 = 1;
    pub const USAGE: u8 = 2;
}

/// The default directory file: `keyward.db` in the platform's data directory.
pub fn default_db_path() -> PathBuf {
    directories::ProjectDirs::from("app", "Keyward", "Keyward")
        .map(|dirs| dirs.data_dir().join("keyward.db"))
        .unwrap_or_else(|| PathBuf::from("keyward.db"))
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let db = cli.db.clone().unwrap_or_else(default_db_path);
    match cli.command {
        None => open_app(db),
        Some(Command::Init {
            admin_user,
            admin_email,
            admin_display_name,
        }) => init(db, admin_user, admin_email, admin_display_name),
    }
}

#[cfg(feature = "desktop")]
fn open_app(db: PathBuf) -> ExitCode {
    crate::desktop::run(db);
    ExitCode::from(exit::OK)
}

#[cfg(not(feature = "desktop"))]
fn open_app(_db: PathBuf) -> ExitCode {
    eprintln!(
        "This keyward was built without the desktop app (feature \"desktop\"). \
         Run `keyward --help` for the commands it has."
    );
    ExitCode::from(exit::USAGE)
}

fn read_password(env: &str, prompt: &str) -> Result<Secret, String> {
    if let Ok(password) = std::env::var(env) {
        return Ok(Secret::new(password));
    }
    rpassword::prompt_password(prompt)
        .map(Secret::new)
        .map_err(|e| format!("cannot read a password ({e}); set {env} instead"))
}

/// Prints a core error for a person: the message, then each field's problems.
pub fn report(error: &Error) {
    eprintln!("error: {}", crate::core::ErrorBody::from(error).message);
    if let Some(fields) = error.field_errors() {
        for (field, messages) in &fields.0 {
            for message in messages {
                eprintln!("  {field}: {message}");
            }
        }
    }
}

fn init(db: PathBuf, user_name: String, email: String, display_name: String) -> ExitCode {
    let directory = match SqliteDirectory::open(&db) {
        Ok(directory) => directory,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(exit::REFUSED);
        }
    };
    match directory.needs_setup() {
        Ok(true) => {}
        Ok(false) => {
            eprintln!(
                "error: {} already has users; sign in as one of them instead.",
                db.display()
            );
            return ExitCode::from(exit::REFUSED);
        }
        Err(error) => {
            report(&error);
            return ExitCode::from(exit::REFUSED);
        }
    }
    let password = match read_password("KEYWARD_ADMIN_PASSWORD", "Password for the SuperAdmin: ") {
        Ok(password) => password,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let admin = FirstAdmin {
        user_name,
        display_name,
        email,
        password,
    };
    match directory.create_first_admin(admin) {
        Ok(user) => {
            println!(
                "Created {} with the SuperAdmin {} ({}).",
                db.display(),
                user.user_name,
                user.id
            );
            ExitCode::from(exit::OK)
        }
        Err(error) => {
            report(&error);
            ExitCode::from(exit::REFUSED)
        }
    }
}

//! The `keyward` command line: with no subcommand it opens the desktop app; `init` creates a
//! directory and its first SuperAdmin; `serve` runs the HTTP server. Every subcommand calls the same core functions as the
//! app and the server.

mod admin;
mod data;
mod log;
mod output;
mod session;
mod transfer;

use crate::core::directory::Directory;
use crate::core::model::FirstAdmin;
use crate::core::secret::Secret;
use crate::core::Error;
use crate::store::{postgres, PostgresDirectory, SqliteDirectory};
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
    /// The directory: a file (SQLite), or a PostgreSQL database as a URL
    /// (postgres://user@host/database?sslmode=require; its password from the URL, PGPASSWORD
    /// or the file named by KEYWARD_DB_PASSWORD_FILE; a private CA for its TLS in
    /// KEYWARD_DB_CA_FILE). Default: keyward.db in the user's data directory.
    #[arg(long, global = true, env = "KEYWARD_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// A Keyward server to work on instead of a file, e.g. https://keyward.example.com.
    #[arg(
        long,
        global = true,
        env = "KEYWARD_SERVER",
        value_name = "URL",
        conflicts_with = "db"
    )]
    pub server: Option<String>,
    #[command(flatten)]
    pub global: admin::Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per run: the size of the largest variant (`serve` and its options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Users: list, show, add, edit, deactivate, activate, delete, reset-password, invite,
    /// remove-2fa, import, export.
    #[command(subcommand)]
    Users(admin::UsersCommand),
    /// Roles: list, show, add, edit, delete.
    #[command(subcommand)]
    Roles(admin::RolesCommand),
    /// Groups: list, show, add, edit, delete.
    #[command(subcommand)]
    Groups(admin::GroupsCommand),
    /// API keys: list, create, download, revoke, regenerate, verify.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// The audit log, newest first, a page at a time.
    Audit(admin::AuditArgs),
    /// Show or change the settings.
    Settings {
        #[command(subcommand)]
        command: Option<admin::SettingsCommand>,
    },
    /// Copy a directory file safely while the app or a server is using it (SQLite online
    /// backup).
    Backup {
        /// The copy to write; an existing file is refused.
        #[arg(value_name = "OUT")]
        out: PathBuf,
    },
    /// Restore a backup into the directory file (--db); refuses to overwrite an existing file
    /// without --force. Safe while a server or the app has the file open: they see the
    /// restored directory at once.
    Restore {
        /// The backup to restore.
        #[arg(value_name = "IN")]
        input: PathBuf,
        /// Overwrite the existing directory file.
        #[arg(long)]
        force: bool,
    },
    /// Check the directory file's integrity; exit 1 when it is damaged.
    Check,
    /// Copy a whole directory into a new file or an empty PostgreSQL database, either way:
    /// users with their password hashes, roles, groups, memberships, API keys (their
    /// digests), sessions, settings and the whole audit log, in one transaction.
    Copy {
        /// The directory to copy: a file or a postgres:// URL.
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// Where to: a new file, or a database without a directory yet.
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
    },
    /// Write a new key for sealing two-step sign-in secrets to a new file (64 hexadecimal
    /// digits, readable by its owner only). Give the same file to every `keyward serve` on a
    /// PostgreSQL directory with KEYWARD_SECRET_KEY_FILE; a directory file makes its own
    /// (`<file>.key`) when first needed.
    SecretKey {
        /// The key file to write; an existing file is refused.
        out: PathBuf,
    },
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
    /// Serve the directory over HTTP (the API of SPEC section 4, the invitation and reset
    /// pages, and /api/openapi.json) until Ctrl+C or SIGTERM.
    ///
    /// The directory must have its first SuperAdmin already (`keyward init`). Put a TLS
    /// proxy in front, or give --tls-cert and --tls-key, when clients are not on this machine.
    #[cfg(feature = "server")]
    Serve {
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// The address clients use, for the invitation and reset links (default: the
        /// bound address).
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Sign-in attempts one client address may make per minute (the per-user lockout
        /// applies as well).
        #[arg(long, value_name = "N", default_value_t = 30)]
        sign_ins_per_minute: u32,
        /// Worker threads (default: one per CPU).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Connections to a PostgreSQL database this server keeps open at most (default
        /// 16): size it so that all instances together stay under the database's
        /// max_connections. A directory file always has one writer and 8 readers.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
        db_connections: Option<u32>,
        /// Serve HTTPS with this PEM certificate (chain); needs --tls-key.
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Send e-mail through this SMTP server: smtps://host[:465] (TLS),
        /// smtp://[user@]host[:587] (STARTTLS, required) or smtp+plain://host:port (no TLS,
        /// loopback only). The password comes from KEYWARD_SMTP_PASSWORD or the file
        /// KEYWARD_SMTP_PASSWORD_FILE names.
        #[arg(long, value_name = "URL", requires = "mail_from")]
        smtp_url: Option<String>,
        /// The sender of Keyward's e-mail, e.g. "Keyward <keyward@example.com>".
        #[arg(long, value_name = "ADDRESS", requires = "smtp_url")]
        mail_from: Option<String>,
        /// Trust this PEM certificate (a CA) for the SMTP server's TLS, besides the system's.
        #[arg(long, value_name = "PEM", requires = "smtp_url")]
        smtp_ca_file: Option<PathBuf>,
        /// Sign external users in through this OpenID Connect provider (its issuer URL, e.g.
        /// https://login.microsoftonline.com/TENANT/v2.0). The client secret comes from
        /// KEYWARD_OIDC_CLIENT_SECRET or the file KEYWARD_OIDC_CLIENT_SECRET_FILE names. The
        /// redirect URI to register there is --public-url + /auth/oidc/callback.
        #[arg(long, value_name = "URL", requires = "oidc_client_id")]
        oidc_issuer: Option<String>,
        /// This server's client id at the provider.
        #[arg(long, value_name = "ID", requires = "oidc_issuer")]
        oidc_client_id: Option<String>,
        /// The provider's name on the sign-in button: "Sign in with NAME".
        #[arg(long, value_name = "NAME", default_value = "single sign-on")]
        oidc_name: String,
        /// Trust only this PEM CA for the provider's TLS (a private CA).
        #[arg(long, value_name = "PEM", requires = "oidc_issuer")]
        oidc_ca_file: Option<PathBuf>,
        /// Create an external user at the first sign-in of someone the provider vouches for
        /// who has no account here (default: only users an administrator added sign in).
        #[arg(long, requires = "oidc_issuer")]
        oidc_create_users: bool,
        /// The ID token claim that lists the user's groups at the provider.
        #[arg(long, value_name = "CLAIM", default_value = "groups")]
        oidc_groups_claim: String,
    },
}

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    pub const REFUSED: u8 = 1;
    pub const USAGE: u8 = 2;
    /// The desktop app cannot run on this system (no webview: on Windows, no WebView2
    /// Runtime); the command line still works.
    pub const NO_WEBVIEW: u8 = 3;
}

/// The default directory file: `keyward.db` in the platform's local data folder
/// ([`crate::platform::folders`]).
pub fn default_db_path() -> PathBuf {
    crate::platform::folders::default_directory_file()
}

/// `keyward`: the command line, which opens the desktop app when given no subcommand (on
/// Windows by starting the window program beside it: [`crate::platform::launch`]).
pub fn main() -> ExitCode {
    run(Program::CommandLine)
}

/// `keyward-app`, the window program Windows needs for the desktop app (the Start menu opens
/// it): without a subcommand it opens the app in its own process; with one it does what
/// `keyward` does, with nowhere to print on Windows.
pub fn app_main() -> ExitCode {
    run(Program::Window)
}

#[derive(Clone, Copy, PartialEq)]
enum Program {
    CommandLine,
    Window,
}

fn run(program: Program) -> ExitCode {
    let cli = Cli::parse();
    // A server logs each request (never a secret) by default; other commands only problems.
    #[cfg(feature = "server")]
    let serving = matches!(cli.command, Some(Command::Serve { .. }));
    #[cfg(not(feature = "server"))]
    let serving = false;
    let default_level = if serving { "info" } else { "warn" };
    // A server gathers its log lines in memory and writes them from a thread of its own
    // every few milliseconds (`log.rs`): a line a request would otherwise cost every request
    // a write to stderr or a wake-up of that thread. The lines keep their order, none is
    // dropped, and what is left is written out when this function returns; a crash may lose
    // the lines of its last moments.
    let gathered = serving
        .then(|| log::gathered(std::io::stderr(), log::PERIOD).ok())
        .flatten();
    let (log_writer, _log_written_on_return) = match gathered {
        Some((writer, flusher)) => (log::LogTo::Gathered(writer), Some(flusher)),
        None => (log::LogTo::Stderr, None),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(log_writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let db = cli.db.clone().unwrap_or_else(default_db_path);
    let file_only = |what: &str| {
        eprintln!(
            "error: `keyward {what}` works on directory files; a PostgreSQL database is backed \
             up and checked with PostgreSQL's own tools (pg_dump, pg_restore)."
        );
        ExitCode::from(exit::USAGE)
    };
    let on_database = Local::is_database(&db);
    match cli.command {
        None if on_database => {
            eprintln!(
                "error: the desktop app opens directory files and servers; run `keyward serve \
                 --db URL` on the database and connect the app to that server."
            );
            ExitCode::from(exit::USAGE)
        }
        None if program == Program::Window => open_app(db, cli.server),
        None => crate::platform::launch::open_app(|| open_app(db, cli.server)),
        Some(Command::Backup { .. }) if on_database => file_only("backup"),
        Some(Command::Restore { .. }) if on_database => file_only("restore"),
        Some(Command::Check) if on_database => file_only("check"),
        Some(Command::Backup { out }) => data::backup(&db, &out),
        Some(Command::Restore { input, force }) => data::restore(&db, &input, force),
        Some(Command::Check) => data::check(&db),
        Some(Command::Copy { from, to }) => copy(&from, &to),
        Some(Command::SecretKey { out }) => match crate::core::sealing::write_new_key(&out) {
            Ok(()) => {
                println!(
                    "Wrote a new key to {}. Keep a copy where you keep the database's \
                     backups, apart from them; give every server the same file with \
                     KEYWARD_SECRET_KEY_FILE.",
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                let reason = if error.kind() == std::io::ErrorKind::AlreadyExists {
                    "it exists already; a key is never overwritten".to_owned()
                } else {
                    error.to_string()
                };
                eprintln!("error: cannot write {}: {reason}", out.display());
                ExitCode::from(exit::REFUSED)
            }
        },
        Some(Command::Users(command)) => {
            administer(&cli.global, &db, cli.server, |s| admin::users(s, command))
        }
        Some(Command::Roles(command)) => {
            administer(&cli.global, &db, cli.server, |s| admin::roles(s, command))
        }
        Some(Command::Groups(command)) => {
            administer(&cli.global, &db, cli.server, |s| admin::groups(s, command))
        }
        Some(Command::Keys(command)) => {
            administer(&cli.global, &db, cli.server, |s| admin::keys(s, command))
        }
        Some(Command::Audit(args)) => {
            administer(&cli.global, &db, cli.server, |s| admin::audit(s, args))
        }
        Some(Command::Settings { command }) => administer(&cli.global, &db, cli.server, |s| {
            admin::settings(s, command)
        }),
        Some(Command::Init {
            admin_user,
            admin_email,
            admin_display_name,
        }) => init(db, admin_user, admin_email, admin_display_name),
        #[cfg(feature = "server")]
        Some(Command::Serve {
            bind,
            public_url,
            sign_ins_per_minute,
            threads,
            db_connections,
            tls_cert,
            tls_key,
            smtp_url,
            mail_from,
            smtp_ca_file,
            oidc_issuer,
            oidc_client_id,
            oidc_name,
            oidc_ca_file,
            oidc_create_users,
            oidc_groups_claim,
        }) => {
            let oidc = match (oidc_issuer, oidc_client_id) {
                (Some(issuer), Some(client_id)) => {
                    let secret = password_from_environment(
                        "KEYWARD_OIDC_CLIENT_SECRET",
                        "KEYWARD_OIDC_CLIENT_SECRET_FILE",
                        "identity provider's client secret",
                    );
                    let options = secret.and_then(|secret| {
                        let options = crate::server::oidc::OidcOptions {
                            issuer,
                            client_id,
                            client_secret: Secret::new(secret.unwrap_or_default()),
                            name: oidc_name,
                            ca_file: oidc_ca_file,
                            create_users: oidc_create_users,
                            groups_claim: oidc_groups_claim,
                        };
                        options.check().map(|()| options)
                    });
                    match options {
                        Ok(options) => Some(options),
                        Err(message) => {
                            eprintln!("error: {message}");
                            return ExitCode::from(exit::USAGE);
                        }
                    }
                }
                _ => None,
            };
            let mail = match (smtp_url, mail_from) {
                (Some(url), Some(from)) => {
                    let parsed = password_from_environment(
                        "KEYWARD_SMTP_PASSWORD",
                        "KEYWARD_SMTP_PASSWORD_FILE",
                        "SMTP password",
                    )
                    .map(|password| password.map(Secret::new))
                    .and_then(|password| {
                        crate::server::mail::MailConfig::parse(
                            &url,
                            &from,
                            password,
                            smtp_ca_file.as_deref(),
                        )
                    });
                    match parsed {
                        Ok(config) => Some(std::sync::Arc::new(config)),
                        Err(message) => {
                            eprintln!("error: {message}");
                            return ExitCode::from(exit::USAGE);
                        }
                    }
                }
                _ => None,
            };
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => match crate::server::load_tls(&cert, &key) {
                    Ok(config) => Some(config),
                    Err(message) => {
                        eprintln!("error: {message}");
                        return ExitCode::from(exit::REFUSED);
                    }
                },
                _ => None,
            };
            let options = crate::server::ServerOptions {
                public_url,
                sign_ins_per_minute,
                tls,
                mail,
                oidc,
                ..Default::default()
            };
            serve(db, bind, options, threads, db_connections)
        }
    }
}

#[cfg(feature = "server")]
fn serve(
    db: PathBuf,
    bind: std::net::SocketAddr,
    options: crate::server::ServerOptions,
    threads: Option<usize>,
    db_connections: Option<u32>,
) -> ExitCode {
    if db_connections.is_some() && !Local::is_database(&db) {
        eprintln!(
            "error: --db-connections sizes the connections to a PostgreSQL database; a \
             directory file always has one writer and 8 readers."
        );
        return ExitCode::from(exit::USAGE);
    }
    let directory = match open_set_up(&db, false, db_connections) {
        Ok(directory) => directory,
        Err(code) => return code,
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        runtime.worker_threads(threads.max(1));
    }
    // Core calls wait on the blocking pool for a database connection; threads beyond twice
    // the connections would only wait longer (tokio's default allows 512).
    let connections = match directory {
        Local::File(_) => crate::store::sqlite::READERS as u32 + 1,
        Local::Database(_) => db_connections.unwrap_or(crate::store::postgres::CONNECTIONS),
    };
    runtime.max_blocking_threads(blocking_threads(connections));
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the server: {error}");
            return ExitCode::from(exit::REFUSED);
        }
    };
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        println!(
            "Keyward is serving {} on {scheme}://{}",
            directory.place(),
            listener.local_addr()?
        );
        let directory = match options.mail.clone() {
            Some(mail) => {
                let public_url = crate::server::public_url(&options, listener.local_addr()?);
                directory
                    .with_mailer(mail, crate::wire::mail_links(&public_url))
                    .map_err(std::io::Error::other)?
            }
            None => directory,
        };
        crate::server::serve(
            listener,
            directory.into_directory(),
            options,
            crate::server::shutdown_signal(),
        )
        .await
    });
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            eprintln!("error: cannot serve on {bind}: {error}");
            ExitCode::from(exit::REFUSED)
        }
    }
}

/// The blocking pool's size for a server with `connections` database connections: twice
/// that, at least 16 (sign-ins hash passwords there too, without a connection).
#[cfg(feature = "server")]
fn blocking_threads(connections: u32) -> usize {
    (2 * connections as usize).max(16)
}

#[cfg(feature = "desktop")]
fn open_app(db: PathBuf, server: Option<String>) -> ExitCode {
    crate::desktop::run(match server {
        Some(url) => crate::desktop::Start::Server(url),
        None => crate::desktop::Start::File(db),
    })
}

#[cfg(not(feature = "desktop"))]
fn open_app(_db: PathBuf, _server: Option<String>) -> ExitCode {
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

/// Runs one scripting command on the file or the server, as the acting user; a session the
/// command opened is closed again.
fn administer(
    global: &admin::Global,
    db: &std::path::Path,
    server: Option<String>,
    work: impl FnOnce(&admin::Session) -> crate::core::Result<()>,
) -> ExitCode {
    // On a directory of its own (a file or a database) the command may act as its first
    // SuperAdmin; on a server it must say who it is.
    let (directory, first_super_admin): (std::sync::Arc<dyn Directory>, Option<_>) = match server {
        Some(url) => match crate::remote::connect(&url, &crate::remote::Trust::System) {
            Ok(remote) => (remote, None),
            Err(error) => {
                report(&error);
                return ExitCode::from(exit::USAGE);
            }
        },
        None => {
            let local = match open_set_up(db, false, None) {
                Ok(local) => local,
                Err(code) => return code,
            };
            let first = local.first_super_admin();
            (local.into_directory(), Some(first))
        }
    };
    let (who, signed_in) = match admin::credential(
        directory.as_ref(),
        global.as_user.as_deref(),
        first_super_admin,
    ) {
        Ok(credential) => credential,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(exit::REFUSED);
        }
    };
    let session = admin::Session {
        dir: directory.as_ref(),
        who,
        json: global.json,
    };
    let result = work(&session);
    if signed_in {
        let _ = directory.sign_out(&session.who);
    }
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            report(&error);
            ExitCode::from(exit::REFUSED)
        }
    }
}

/// A directory this command holds itself: a file, or a PostgreSQL database.
enum Local {
    File(SqliteDirectory),
    Database(PostgresDirectory),
}

impl Local {
    fn is_database(db: &std::path::Path) -> bool {
        db.to_str().is_some_and(postgres::is_url)
    }

    /// Opens the file (creating it) or connects to the database (migrating it).
    fn open(db: &std::path::Path) -> Result<Local, String> {
        Self::open_with(db, None)
    }

    /// [`Local::open`], keeping at most `connections` to a database (default: the pool's).
    fn open_with(db: &std::path::Path, connections: Option<u32>) -> Result<Local, String> {
        match db.to_str().filter(|db| postgres::is_url(db)) {
            Some(url) => PostgresDirectory::connect(
                url,
                &crate::store::Access {
                    connections,
                    ..database_access()?
                },
            )
            .map(Local::Database)
            .map_err(|e| e.to_string()),
            None => SqliteDirectory::open(db)
                .map(Local::File)
                .map_err(|e| e.to_string()),
        }
    }

    /// Where it is, as it may be shown: the path, or the URL without its password.
    fn place(&self) -> String {
        match self {
            Local::File(file) => file.path().display().to_string(),
            Local::Database(database) => database.store().url().to_owned(),
        }
    }

    fn directory(&self) -> &dyn Directory {
        match self {
            Local::File(file) => file,
            Local::Database(database) => database,
        }
    }

    fn first_super_admin(&self) -> crate::core::Result<Option<String>> {
        match self {
            Local::File(file) => file.first_super_admin(),
            Local::Database(database) => database.first_super_admin(),
        }
    }

    /// The directory sending its e-mail through `mailer`.
    #[cfg(feature = "server")]
    fn with_mailer(
        self,
        mailer: std::sync::Arc<dyn crate::core::mail::Mailer>,
        links: crate::core::mail::Links,
    ) -> crate::core::Result<Local> {
        Ok(match self {
            Local::File(file) => Local::File(file.with_mailer(mailer, links)?),
            Local::Database(database) => Local::Database(database.with_mailer(mailer, links)?),
        })
    }

    fn into_directory(self) -> std::sync::Arc<dyn Directory> {
        match self {
            Local::File(file) => std::sync::Arc::new(file),
            Local::Database(database) => std::sync::Arc::new(database),
        }
    }
}

/// How to reach a database beyond its URL: its password ([`database_password`]) and the
/// certificates to trust for its TLS (`KEYWARD_DB_CA_FILE`, PEM; else the system's roots).
fn database_access() -> Result<crate::store::Access, String> {
    Ok(crate::store::Access {
        password: database_password()?,
        ca_file: std::env::var_os("KEYWARD_DB_CA_FILE").map(PathBuf::from),
        connections: None,
    })
}

/// The database's password when the URL has none: `PGPASSWORD`, else the first line of the
/// file `KEYWARD_DB_PASSWORD_FILE` names. Never an argument (arguments show in `ps`).
fn database_password() -> Result<Option<String>, String> {
    password_from_environment(
        "PGPASSWORD",
        "KEYWARD_DB_PASSWORD_FILE",
        "database password",
    )
}

/// A password from the variable `value`, else from the first line of the file the variable
/// `file` names; none when neither is set. Never an argument (arguments show in `ps`).
fn password_from_environment(
    value: &str,
    file: &str,
    what: &str,
) -> Result<Option<String>, String> {
    if let Ok(password) = std::env::var(value) {
        return Ok(Some(password));
    }
    match std::env::var_os(file) {
        Some(path) => std::fs::read_to_string(&path)
            .map(|text| Some(text.lines().next().unwrap_or_default().to_owned()))
            .map_err(|e| {
                format!(
                    "cannot read the {what} from {}: {e}",
                    std::path::Path::new(&path).display()
                )
            }),
        None => Ok(None),
    }
}

/// Opens the directory at `db` (a file or a database) when it is in the state the command
/// needs: still to be set up (`init`) or with its first SuperAdmin (everything else); else
/// says what to do instead.
fn open_set_up(
    db: &std::path::Path,
    needs_setup: bool,
    connections: Option<u32>,
) -> Result<Local, ExitCode> {
    let refused = || ExitCode::from(exit::REFUSED);
    if !needs_setup && !Local::is_database(db) && !db.is_file() {
        eprintln!(
            "error: {} does not exist. Create it with `keyward init --db {}`.",
            db.display(),
            db.display()
        );
        return Err(refused());
    }
    let local = Local::open_with(db, connections).map_err(|error| {
        eprintln!("error: {error}");
        refused()
    })?;
    let place = local.place();
    match local.directory().needs_setup() {
        Ok(state) if state == needs_setup => Ok(local),
        Ok(true) => {
            eprintln!(
                "error: {place} has no SuperAdmin yet. Run `keyward init --db {place} \
                 --admin-user NAME --admin-email EMAIL` first."
            );
            Err(refused())
        }
        Ok(false) => {
            eprintln!("error: {place} already has users; sign in as one of them instead.");
            Err(refused())
        }
        Err(error) => {
            report(&error);
            Err(refused())
        }
    }
}

/// `keyward copy`: the whole directory at `from` into the new file or empty database `to`.
fn copy(from: &std::path::Path, to: &std::path::Path) -> ExitCode {
    let refused = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(exit::REFUSED)
    };
    if !Local::is_database(from) && !from.is_file() {
        return refused(format!("{} does not exist", from.display()));
    }
    let new_file = !Local::is_database(to);
    if new_file && to.exists() {
        return refused(format!(
            "{} exists already; copy into a new file (or an empty database)",
            to.display()
        ));
    }
    let source = match Local::open(from) {
        Ok(source) => source,
        Err(message) => return refused(message),
    };
    let target = match Local::open(to) {
        Ok(target) => target,
        Err(message) => return refused(message),
    };
    use crate::store::copy::copy as copy_all;
    let copied = match (&source, &target) {
        (Local::File(a), Local::File(b)) => copy_all(a.store(), b.store()),
        (Local::File(a), Local::Database(b)) => copy_all(a.store(), b.store()),
        (Local::Database(a), Local::File(b)) => copy_all(a.store(), b.store()),
        (Local::Database(a), Local::Database(b)) => copy_all(a.store(), b.store()),
    };
    let (from_place, to_place) = (source.place(), target.place());
    drop(target);
    match copied {
        Ok(copied) => {
            let counts: Vec<String> = copied
                .iter()
                .map(|(table, rows)| format!("{rows} {}", table_words(table)))
                .collect();
            println!("Copied {from_place} to {to_place}: {}.", counts.join(", "));
            ExitCode::from(exit::OK)
        }
        Err(error) => {
            if new_file {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = to.as_os_str().to_owned();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            report(&error);
            ExitCode::from(exit::REFUSED)
        }
    }
}

/// What a table's rows are, for a person.
fn table_words(table: &str) -> &str {
    match table {
        "user_roles" => "role assignments",
        "directory_groups" => "groups",
        "group_members" => "group memberships",
        "group_roles" => "group roles",
        "api_keys" => "API keys",
        "key_secrets" => "key digests",
        "user_tokens" => "invitation and reset tokens",
        "second_factors" => "two-step sign-ins (sealed)",
        "recovery_codes" => "recovery code digests",
        "sign_in_challenges" => "sign-in challenges",
        "mail_deliveries" => "e-mail deliveries",
        "mail_senders" => "e-mail senders",
        "sign_in_failures" => "sign-in failure counts",
        "settings" => "settings",
        "audit_log" => "audit entries",
        other => other,
    }
}

fn init(db: PathBuf, user_name: String, email: String, display_name: String) -> ExitCode {
    let directory = match open_set_up(&db, true, None) {
        Ok(directory) => directory,
        Err(code) => return code,
    };
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
    match directory.directory().create_first_admin(admin) {
        Ok(user) => {
            println!(
                "Created {} with the SuperAdmin {} ({}).",
                directory.place(),
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

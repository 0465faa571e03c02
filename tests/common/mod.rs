//! The test harness: a directory backend on a temporary file with a manual clock, and
//! helpers that make users, sign them in and issue keys through the public contract only.

use chrono::{TimeZone, Utc};
use keyward::core::clock::ManualClock;
use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::sealing::Keyring;
use keyward::core::secret::Secret;
use keyward::store::SqliteDirectory;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

pub mod postgres;

/// A password the policy accepts for any of the harness's users.
pub const PASSWORD: &str = "tangerine orbit wallpaper 42";
pub const OTHER_PASSWORD: &str = "violet harbour segment 1987";

pub fn secret(text: &str) -> Secret {
    Secret::new(text.to_owned())
}

/// How often a harness's directory writes the key uses it noted (the product: every 2 s).
pub const KEY_USES_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

pub struct Harness {
    pub dir: Arc<dyn Directory>,
    pub clock: ManualClock,
    /// The SQLite file, for tests that look inside it.
    pub path: PathBuf,
    /// The PostgreSQL database's URL, when the directory is there.
    pub database: Option<String>,
    /// The file with the key that seals two-step secrets (beside a SQLite file).
    pub key: PathBuf,
    /// The server the remote backend talks to; stopped before the file goes away.
    #[cfg(feature = "server")]
    pub server: Option<keyward::server::RunningServer>,
    _tmp: TempDir,
}

impl Harness {
    pub fn sqlite() -> Harness {
        let tmp = TempDir::new().expect("temp dir");
        let path = tmp.path().join("directory.db");
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap());
        let dir = SqliteDirectory::open_with_clock(&path, Arc::new(clock.clone()))
            .expect("open")
            .with_key_uses_written_every(KEY_USES_EVERY)
            .expect("key use writer");
        Harness {
            dir: Arc::new(dir),
            clock,
            key: tmp.path().join("directory.db.key"),
            path,
            database: None,
            #[cfg(feature = "server")]
            server: None,
            _tmp: tmp,
        }
    }

    /// A directory in a new database of the run's PostgreSQL server.
    pub fn postgres() -> Harness {
        use keyward::store::PostgresDirectory;
        let tmp = TempDir::new().expect("temp dir");
        let url = postgres::server().new_database();
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap());
        let dir = PostgresDirectory::connect_with_clock(
            &url,
            &Default::default(),
            Arc::new(clock.clone()),
        )
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        let key = tmp.path().join("keyward.key");
        let dir = dir
            .with_keyring(Keyring::file(&key, true))
            .with_key_uses_written_every(KEY_USES_EVERY)
            .expect("key use writer");
        Harness {
            dir: Arc::new(dir),
            clock,
            key,
            path: tmp.path().join("no-file-on-postgres"),
            database: Some(url),
            #[cfg(feature = "server")]
            server: None,
            _tmp: tmp,
        }
    }

    /// The same directory behind a real `keyward serve` on 127.0.0.1, reached by the remote
    /// backend over HTTP. The server's sign-in limit per address is lifted: every test
    /// client shares 127.0.0.1, and the core's per-user lockout is what the suite checks.
    #[cfg(feature = "server")]
    pub fn remote() -> Harness {
        Harness::served(Harness::sqlite())
    }

    /// The remote backend against a real `keyward serve` whose directory is in PostgreSQL.
    #[cfg(feature = "server")]
    pub fn remote_postgres() -> Harness {
        Harness::served(Harness::postgres())
    }

    /// `harness`'s directory behind a real `keyward serve`, reached over HTTP.
    #[cfg(feature = "server")]
    fn served(mut harness: Harness) -> Harness {
        use keyward::remote::{RemoteDirectory, Trust};
        use keyward::server::{RunningServer, ServerOptions};
        let options = ServerOptions {
            sign_ins_per_minute: 1_000_000,
            sign_in_burst: 1_000_000,
            ..ServerOptions::default()
        };
        let server = RunningServer::start(
            Arc::clone(&harness.dir),
            "127.0.0.1:0".parse().expect("address"),
            options,
            2,
        )
        .expect("start server");
        let remote = RemoteDirectory::new(&server.url(), &Trust::System).expect("client");
        harness.dir = Arc::new(remote);
        harness.server = Some(server);
        harness
    }

    /// The harness's directory opened again (its file or database, its clock), sending e-mail
    /// through `mail` when given.
    pub fn reopen(
        &self,
        mail: Option<(
            Arc<dyn keyward::core::mail::Mailer>,
            keyward::core::mail::Links,
        )>,
    ) -> Arc<dyn Directory> {
        let clock = Arc::new(self.clock.clone());
        match &self.database {
            Some(url) => {
                let dir = keyward::store::PostgresDirectory::connect_with_clock(
                    url,
                    &Default::default(),
                    clock,
                )
                .expect("connect")
                .with_keyring(Keyring::file(&self.key, true));
                match mail {
                    Some((mailer, links)) => {
                        Arc::new(dir.with_mailer(mailer, links).expect("mail"))
                    }
                    None => Arc::new(dir),
                }
            }
            None => {
                let dir = SqliteDirectory::open_with_clock(&self.path, clock).expect("open");
                match mail {
                    Some((mailer, links)) => {
                        Arc::new(dir.with_mailer(mailer, links).expect("mail"))
                    }
                    None => Arc::new(dir),
                }
            }
        }
    }

    /// Creates the first SuperAdmin `root` and signs in.
    pub fn root(&self) -> Credential {
        self.dir
            .create_first_admin(FirstAdmin {
                user_name: "root".into(),
                display_name: "Root Admin".into(),
                email: "root@example.com".into(),
                password: secret(PASSWORD),
            })
            .expect("first admin");
        self.sign_in("root")
    }

    pub fn sign_in(&self, user_name: &str) -> Credential {
        let signed = self
            .dir
            .sign_in(user_name, &secret(PASSWORD))
            .unwrap_or_else(|e| panic!("sign in as {user_name}: {e}"));
        Credential::Session(signed.access_token)
    }

    /// Creates an active user with the harness password and the given role ids.
    pub fn user(&self, by: &Credential, name: &str, roles: &[&str]) -> User {
        self.dir
            .create_user(
                by,
                NewUser {
                    user_name: name.into(),
                    display_name: format!("{name} Example"),
                    email: format!("{name}@example.com"),
                    password: Some(secret(PASSWORD)),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("create {name}: {e}"))
            .user
    }

    /// Invites a user (no password) holding the given role ids.
    pub fn invite(&self, by: &Credential, name: &str, roles: &[&str]) -> CreatedUser {
        self.dir
            .create_user(
                by,
                NewUser {
                    user_name: name.into(),
                    display_name: name.into(),
                    email: format!("{name}@example.com"),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("invite {name}: {e}"))
    }

    /// An API User service account (active, no password) and a key credential for it.
    pub fn api_user(&self, by: &Credential, name: &str) -> (User, Credential) {
        let user = self
            .dir
            .create_user(
                by,
                NewUser {
                    user_name: name.into(),
                    display_name: name.into(),
                    email: format!("{name}@example.com"),
                    status: Some(UserStatus::Active),
                    roles: vec![BuiltinRole::ApiUser.id().into()],
                    ..Default::default()
                },
            )
            .expect("api user")
            .user;
        let pending = self
            .dir
            .create_key(by, &user.id, key_named("service"))
            .expect("key for api user");
        let issued = self
            .dir
            .download_key(by, &pending.key.id)
            .expect("download");
        (user, Credential::ApiKey(issued.secret.expect("secret")))
    }

    /// A signed-in user holding one built-in role; API Users get a key credential.
    pub fn acting_as(
        &self,
        root: &Credential,
        role: BuiltinRole,
        name: &str,
    ) -> (User, Credential) {
        if role == BuiltinRole::ApiUser {
            return self.api_user(root, name);
        }
        let user = self.user(root, name, &[role.id()]);
        let credential = self.sign_in(name);
        (user, credential)
    }

    pub fn user_count(&self, by: &Credential) -> u64 {
        self.dir
            .list_users(by, &UserQuery::default())
            .expect("list users")
            .page_info
            .total_elements
    }

    pub fn audit_count(&self, by: &Credential) -> u64 {
        self.dir
            .list_audit(by, &AuditQuery::default())
            .expect("audit")
            .page_info
            .total_elements
    }

    /// Applies a settings change on top of the current version.
    pub fn change_settings(&self, by: &Credential, mut update: SettingsUpdate) -> Settings {
        update.update_version = self.dir.get_settings(by).expect("settings").update_version;
        self.dir
            .update_settings(by, update)
            .expect("change settings")
    }

    pub fn fresh_version(&self, by: &Credential, id: &str) -> i64 {
        self.dir.get_user(by, id).expect("get user").update_version
    }
}

/// The code an authenticator app shows at `at` for a base32 TOTP secret (computed with
/// totp-rs, as any authenticator would: SHA-1, 6 digits, 30 s).
pub fn totp_code(secret_base32: &str, at: Time) -> Secret {
    let bytes = totp_rs::Secret::try_from_base32(secret_base32).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .build_noncompliant();
    Secret::new(totp.generate(at.timestamp() as u64).to_string())
}

/// `name` (signed in with the harness password) turns a second step on at `now`: the secret
/// shown to them and their recovery codes.
pub fn turn_on_second_factor(
    dir: &dyn Directory,
    name: &str,
    now: Time,
) -> (TotpSetup, Vec<Secret>) {
    let session = Credential::Session(
        dir.sign_in(name, &secret(PASSWORD))
            .expect("sign in")
            .access_token,
    );
    let setup = dir
        .enroll_second_factor(Enrolling::Signed(&session))
        .expect("enroll");
    let code = totp_code(setup.secret.expose(), now);
    let enrolled = dir
        .confirm_second_factor(Enrolling::Signed(&session), &code)
        .expect("confirm");
    (setup, enrolled.recovery_codes)
}

pub fn key_named(name: &str) -> NewKey {
    NewKey {
        name: name.into(),
        description: String::new(),
        expires_time: None,
    }
}

/// Asserts a refusal for bad input on exactly these fields.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: keyward::core::Result<T>, fields: &[&str]) {
    match result {
        Err(keyward::core::Error::Invalid(errors)) => {
            let got: Vec<&str> = errors.fields().collect();
            assert_eq!(got, fields, "field errors: {errors:?}");
        }
        other => panic!("expected invalid input on {fields:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(result: keyward::core::Result<T>) {
    match result {
        Err(keyward::core::Error::Forbidden(_)) => {}
        other => panic!("expected forbidden, got {other:?}"),
    }
}

/// A private CA and a server certificate for 127.0.0.1 signed by it, as PEM: (CA
/// certificate, server certificate, server key).
pub fn private_ca() -> (String, String, String) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Keyward test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    (ca.pem(), server_cert.pem(), server_key.serialize_pem())
}

/// `keyward init --db DB` with the first SuperAdmin `root` (root@example.com, the harness
/// password, and `display_name` when given), run as the real binary; its standard output.
pub fn keyward_init(db: &str, display_name: Option<&str>) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .args(["init", "--db", db])
        .args(["--admin-user", "root", "--admin-email", "root@example.com"])
        .env("KEYWARD_ADMIN_PASSWORD", PASSWORD)
        .env_remove("KEYWARD_DB")
        .env_remove("KEYWARD_SERVER")
        .env_remove("KEYWARD_TOKEN");
    if let Some(name) = display_name {
        command.args(["--admin-display-name", name]);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "keyward init --db {db}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ten rounds of two threads, one on each directory, creating the same user at the same
/// moment: exactly one of the two is created each round. The refusal of each round.
pub fn race_for_one_user_name(
    dirs: [Arc<dyn Directory>; 2],
    root: &Credential,
) -> Vec<keyward::core::Error> {
    (0..10)
        .map(|round| {
            let barrier = Arc::new(std::sync::Barrier::new(2));
            let racers: Vec<_> = dirs
                .iter()
                .map(|dir| {
                    let (dir, barrier, root) =
                        (Arc::clone(dir), Arc::clone(&barrier), root.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        dir.create_user(
                            &root,
                            NewUser {
                                user_name: format!("racer{round}"),
                                display_name: "Racer".into(),
                                email: format!("racer{round}@example.com"),
                                ..Default::default()
                            },
                        )
                    })
                })
                .collect();
            let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                1,
                "round {round}: {results:?}"
            );
            results.into_iter().find_map(Result::err).unwrap()
        })
        .collect()
}

/// What a process run by [`run`] came to.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    #[track_caller]
    pub fn ok(self) -> Ran {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `command` to its end with `stdin` as its input.
pub fn run(command: &mut std::process::Command, stdin: &str) -> Ran {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The window whose title is `title` on the tests' X screen, once it is shown (xdotool); its id.
pub fn window_titled(title: &str, timeout: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let out = std::process::Command::new("xdotool")
            .args(["search", "--name", title])
            .output()
            .unwrap();
        if let Some(id) = String::from_utf8_lossy(&out.stdout).lines().next() {
            return id.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no window titled {title}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A screenshot of one window (an X window id) into `tests/output/FOLDER/NAME.png`.
pub fn screenshot(window: &str, folder: &str, name: &str) -> std::path::PathBuf {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(folder);
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join(format!("{name}.png"));
    let taken = std::process::Command::new("import")
        .args(["-window", window])
        .arg(&file)
        .status()
        .unwrap();
    assert!(taken.success(), "import -window {window}");
    file
}

/// A program a test started: killed if the test ends, or fails, before the program does.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Running {
    /// Waits for the program to exit, at most `timeout` ([`wait_exit`]).
    pub fn wait(&mut self, timeout: std::time::Duration) -> std::process::ExitStatus {
        wait_exit(&mut self.0, timeout)
    }

    /// All it wrote to its (piped) standard error.
    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut self.0.stderr.take().unwrap(), &mut text).unwrap();
        text
    }
}

/// Waits for a child to exit, at most `timeout`; kills it (the child we started) and fails the
/// test if it does not.
pub fn wait_exit(
    child: &mut std::process::Child,
    timeout: std::time::Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{child:?} did not exit within {timeout:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

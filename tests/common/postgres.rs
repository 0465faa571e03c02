//! A throwaway PostgreSQL server for one run of the test binary, and a new database on it for
//! each test (CREATE DATABASE takes milliseconds). `initdb` and `postgres` run as the
//! `postgres` system user when the tests run as root (PostgreSQL refuses root, and CI runs as
//! root), in a folder of their own, on a free port, with durability off for speed. The server
//! dies with the test process (a parent-death signal set through `setpriv`), and a watcher
//! removes its folder when the test process is gone: nothing is left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser `initdb` makes, who owns the tests' databases.
const ADMIN_ROLE: &str = "keyward";
/// The role that must give a password, and its password.
pub const PASSWORD_ROLE: &str = "keyward_pw";
pub const ROLE_PASSWORD: &str = "db-pass-Zq81";

pub struct PgServer {
    pub port: u16,
    pub folder: PathBuf,
    bin: PathBuf,
    next: AtomicUsize,
    /// The running postgres.
    pid: Mutex<u32>,
    /// Commits reach the disk (for benchmarks); tests run without fsync.
    durable: bool,
    /// Serves TLS with the certificate written into its data folder.
    tls: bool,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();

/// The run's server, started on first use.
pub fn server() -> &'static PgServer {
    SERVER.get_or_init(PgServer::start)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest installed PostgreSQL's programs (Debian keeps them off the PATH).
fn bin_folder() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (the README's test command installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL with its bin folder")
}

/// A command run as the `postgres` user when we are root, as ourselves otherwise.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--pdeathsig",
            "INT",
            "--",
        ]);
        command.arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgServer {
    fn start() -> PgServer {
        PgServer::start_with(false, None)
    }

    /// A server of the caller's own that also speaks TLS, with this PEM certificate and key.
    #[allow(dead_code)]
    pub fn start_with_tls(certificate: &str, key: &str) -> PgServer {
        PgServer::start_with(false, Some((certificate, key)))
    }

    /// A server of the caller's own that commits durably (`fsync` on), for the benchmarks
    /// (which include this file).
    #[allow(dead_code)]
    pub fn start_durable() -> PgServer {
        PgServer::start_with(true, None)
    }

    fn start_with(durable: bool, tls: Option<(&str, &str)>) -> PgServer {
        let bin = bin_folder();
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let folder = std::env::temp_dir().join(format!(
            "keyward-pg-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres", folder.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success(), "chown of the test database folder");
        }
        let data = folder.join("data");
        let init = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", ADMIN_ROLE, "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        if let Some((certificate, key)) = tls {
            for (name, pem) in [("server.crt", certificate), ("server.key", key)] {
                let file = data.join(name);
                std::fs::write(&file, pem).unwrap();
                let _ = Command::new("chmod").arg("600").arg(&file).status();
                if is_root() {
                    let _ = Command::new("chown")
                        .arg("postgres:postgres")
                        .arg(&file)
                        .status();
                }
            }
        }
        // One role signs in with a password (SCRAM), for the tests of where Keyward takes it
        // from; everyone else is trusted, as a throwaway server may.
        let hba = data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!("host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n{rules}"),
        )
        .unwrap();
        // The folder goes when this process does, whichever way it ends.
        let _ = Command::new("setsid")
            .args([
                "sh",
                "-c",
                &format!(
                    "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; sleep 2; rm -rf '{dir}'",
                    pid = std::process::id(),
                    dir = folder.display()
                ),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let server = PgServer {
            port: free_port(),
            folder,
            bin,
            next: AtomicUsize::new(0),
            pid: Mutex::new(0),
            durable,
            tls: tls.is_some(),
        };
        server.spawn();
        server.wait_until_ready();
        server
    }

    /// Starts `postgres` on the server's folder and port.
    fn spawn(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.folder.join("server.log"))
            .unwrap();
        let mut command = as_postgres(&self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(self.folder.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.folder)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=400",
            ])
            .args(if self.tls {
                &["-c", "ssl=on"][..]
            } else {
                &[][..]
            })
            .args(if self.durable {
                &["-c", "shared_buffers=1GB"][..]
            } else {
                &[
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ][..]
            })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // The parent-death signal follows the thread that started the server: start it from
        // one that lives as long as the process.
        let (started, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let child = command.spawn();
            let failed = child.is_err();
            started.send(child.map(|c| c.id())).unwrap();
            if !failed {
                loop {
                    std::thread::park();
                }
            }
        });
        *self.pid.lock().unwrap() = ready.recv().unwrap().expect("postgres starts");
    }

    /// A server of the caller's own (for tests that stop and start it), with its own folder
    /// and port.
    pub fn start_own() -> PgServer {
        PgServer::start()
    }

    /// Stops the server (a fast shutdown: clients are cut off), and waits until it is gone.
    pub fn stop(&self) {
        let pid = *self.pid.lock().unwrap();
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        let started = Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "postgres did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the stopped server again, on the same data, folder and port.
    pub fn start_again(&self) {
        self.spawn();
        self.wait_until_ready();
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://{ADMIN_ROLE}@127.0.0.1:{}/postgres", self.port)
    }

    fn wait_until_ready(&self) {
        let started = Instant::now();
        loop {
            match postgres::Client::connect(&self.admin_url(), postgres::NoTls) {
                Ok(_) => return,
                Err(error) if started.elapsed() > Duration::from_secs(30) => {
                    let log =
                        std::fs::read_to_string(self.folder.join("server.log")).unwrap_or_default();
                    panic!("PostgreSQL did not start: {error}\n{log}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A new, empty database, as the URL Keyward is given.
    pub fn new_database(&self) -> String {
        self.database_of(ADMIN_ROLE, None)
    }

    /// A new database owned by [`PASSWORD_ROLE`], as a URL without the password.
    pub fn password_database(&self) -> String {
        let role = format!(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{PASSWORD_ROLE}') THEN
                     CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{ROLE_PASSWORD}';
                 END IF;
             END $$;"
        );
        self.database_of(PASSWORD_ROLE, Some(&role))
    }

    /// A new database owned by `owner`, after running `prepare` (which makes the owner),
    /// as the URL Keyward is given.
    fn database_of(&self, owner: &str, prepare: Option<&str>) -> String {
        let name = format!("t{}", self.next.fetch_add(1, Ordering::SeqCst));
        let mut client = postgres::Client::connect(&self.admin_url(), postgres::NoTls)
            .expect("connect to the test server");
        if let Some(prepare) = prepare {
            client
                .batch_execute(prepare)
                .expect("make the database's owner");
        }
        client
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {owner}"))
            .expect("create a database");
        format!("postgres://{owner}@127.0.0.1:{}/{name}", self.port)
    }

    /// The folder of PostgreSQL's programs (`pg_dump`, `pg_ctl`).
    pub fn bin(&self) -> &Path {
        &self.bin
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Only servers of a test's own are ever dropped (the run's lives in a static).
        self.stop();
    }
}

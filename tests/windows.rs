//! The Windows build as an administrator gets it, run under Wine (Debian's wine64) in a
//! throwaway prefix: the setup from `scripts/package.sh windows` installed silently, the
//! installed command line found through PATH, `keyward serve` answering over 127.0.0.1 and
//! stopped with Ctrl+C while a restore writes into its file, the app's message where the
//! WebView2 Runtime is missing, the silent uninstall that keeps the data; the per-machine
//! install, the .msi and the portable zip.
//!
//! `./scripts/test.sh` builds the Windows files once, before the tests; to run these alone,
//! run `./scripts/package.sh windows` first.
//!
//! What Wine cannot show: the app's window (no WebView2 Runtime can be had here), and whether a
//! program is a console or a window program (Wine passes a window program's output through as
//! well), which is why the PE header of each installed program is read instead.

use crate::common::{run, screenshot, window_titled, Ran, Running, PASSWORD};
use crate::server::support::{
    add_user, client, free_port, my_id, sign_in_as_root, users_named, wait_for,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn dist(file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(file);
    assert!(
        path.is_file(),
        "{} is missing: run ./scripts/package.sh windows first (./scripts/test.sh does)",
        path.display()
    );
    path
}

fn setup_exe() -> PathBuf {
    dist(&format!("Keyward-{VERSION}-x64-setup.exe"))
}

/// A Wine prefix of its own (a fresh "Windows" for one test), stopped and removed on drop.
struct Prefix {
    dir: tempfile::TempDir,
}

impl Prefix {
    fn new() -> Prefix {
        let prefix = Prefix {
            dir: tempfile::TempDir::new().unwrap(),
        };
        let booted = prefix.command("wineboot").arg("-i").output().unwrap();
        assert!(booted.status.success(), "wineboot: {booted:?}");
        prefix.wait_idle();
        // Wine 8 lacks bcryptprimitives.dll, which every Rust program imports on Windows
        // (tests/support/processprng.c says why the stand-in exists and that it is never shipped).
        let system32 = prefix.c_drive().join("windows/system32");
        let built = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-Wl,--kill-at", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/processprng.c"))
            .arg("-ladvapi32")
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "the ProcessPrng stand-in: {built:?}"
        );
        prefix
    }

    /// A Wine tool (`wine`, `wineboot`, `wineserver`, `winepath`) for this prefix, quiet and
    /// offline, with none of the test's own Keyward variables.
    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(tool);
        command
            .env("WINEPREFIX", self.dir.path())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("KEYWARD_DB")
            .env_remove("KEYWARD_SERVER")
            .env_remove("KEYWARD_TOKEN")
            .env_remove("KEYWARD_ADMIN_PASSWORD")
            .env_remove("KEYWARD_CONFIG_DIR")
            .env_remove("KEYWARD_LOG");
        command
    }

    fn wine(&self) -> Command {
        self.command("wine")
    }

    /// `cmd /c LINE`, as an administrator types it: the program is found through PATH.
    fn cmd(&self, line: &str, stdin: &str) -> Ran {
        run(self.wine().args(["cmd", "/c", line]), stdin)
    }

    fn c_drive(&self) -> PathBuf {
        self.dir.path().join("drive_c")
    }

    /// The Unix path of a Windows one in this prefix.
    fn unix(&self, windows: &str) -> PathBuf {
        let out = self
            .command("winepath")
            .args(["-u", windows])
            .output()
            .unwrap();
        assert!(out.status.success(), "winepath {windows}: {out:?}");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    /// A variable of the Windows environment, e.g. `LOCALAPPDATA`.
    fn env(&self, name: &str) -> String {
        let ran = self.cmd(&format!("echo %{name}%"), "").ok();
        ran.stdout.trim().to_owned()
    }

    /// A registry value (`reg query KEY /v NAME`), or None when it does not exist.
    fn reg(&self, key: &str, name: &str) -> Option<String> {
        let ran = run(self.wine().args(["reg", "query", key, "/v", name]), "");
        (ran.code == Some(0)).then(|| {
            let line = ran
                .stdout
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("{key} {name}: {}", ran.stdout))
                .trim()
                .to_owned();
            // "NAME    REG_SZ    VALUE"
            let (_kind, value) = line[name.len()..]
                .trim_start()
                .split_once(char::is_whitespace)
                .unwrap_or((line.as_str(), ""));
            value.trim().to_owned()
        })
    }

    /// What `PROGRAM --version` says, less the program's name.
    fn version_of(&self, program: &Path) -> String {
        let ran = run(self.wine().arg(program).arg("--version"), "").ok();
        ran.stdout.trim().trim_start_matches("keyward ").to_owned()
    }

    /// Waits until every program in the prefix has ended (NSIS uninstallers run again from
    /// TEMP and return at once).
    fn wait_idle(&self) {
        let _ = self.command("wineserver").arg("-w").status();
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = self.command("wineserver").arg("-k").status();
    }
}

/// The subsystem in a program's PE header: 2 a window program (Windows GUI), 3 a console
/// program (Windows CUI).
fn pe_subsystem(program: &Path) -> u16 {
    let bytes = std::fs::read(program).unwrap();
    let pe = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    assert_eq!(&bytes[pe..pe + 4], b"PE\0\0", "{}", program.display());
    // The optional header follows the 4-byte signature and the 20-byte file header; its
    // Subsystem field is at offset 68 in both PE32 and PE32+.
    let at = pe + 4 + 20 + 68;
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

const WINDOW_PROGRAM: u16 = 2;
const CONSOLE_PROGRAM: u16 = 3;

fn post(url: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn verify(url: &str, key: &str) -> String {
    let (status, verdict) = post(url, "", "/api/keys/verify", json!({"key": key}));
    assert_eq!(status, 200, "{verdict}");
    verdict["code"].as_str().unwrap().to_owned()
}

const UNINSTALL_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Uninstall\Keyward";

#[test]
fn the_windows_setup_installs_for_the_user_runs_the_command_line_and_server_and_uninstalls_keeping_the_data(
) {
    let wine = Prefix::new();
    let setup = setup_exe();
    let started = Instant::now();
    run(wine.wine().arg(&setup).arg("/S"), "").ok();
    wine.wait_idle();
    eprintln!("silent install: {:?}", started.elapsed());

    // Where a per-user install goes, and what "Apps & features" shows.
    let local = wine.env("LOCALAPPDATA");
    let folder = format!(r"{local}\Programs\Keyward");
    let installed = wine.unix(&folder);
    for file in [
        "keyward.exe",
        "keyward-app.exe",
        "WebView2Loader.dll",
        "uninstall.exe",
    ] {
        assert!(installed.join(file).is_file(), "{file} in {folder}");
    }
    assert_eq!(
        pe_subsystem(&installed.join("keyward.exe")),
        CONSOLE_PROGRAM
    );
    assert_eq!(
        pe_subsystem(&installed.join("keyward-app.exe")),
        WINDOW_PROGRAM
    );
    let shortcut = wine.unix(&format!(
        r"{}\Microsoft\Windows\Start Menu\Programs\Keyward.lnk",
        wine.env("APPDATA")
    ));
    assert!(shortcut.is_file(), "{}", shortcut.display());
    let key = format!(r"HKCU\{UNINSTALL_KEY}");
    assert_eq!(wine.reg(&key, "DisplayName").as_deref(), Some("Keyward"));
    assert_eq!(wine.reg(&key, "DisplayVersion").as_deref(), Some(VERSION));
    assert_eq!(wine.reg(&key, "Publisher").as_deref(), Some("Keyward"));
    let quiet = wine.reg(&key, "QuietUninstallString").unwrap();
    assert!(quiet.ends_with("/S"), "{quiet}");
    let path = wine.reg(r"HKCU\Environment", "Path").unwrap();
    assert!(
        path.split(';').any(|p| p.eq_ignore_ascii_case(&folder)),
        "{path}"
    );
    assert!(
        !path.split(';').any(str::is_empty),
        "no empty element: {path}"
    );

    // The command line, found through PATH by cmd, on the default directory file.
    let version = wine.cmd("keyward --version", "").ok();
    assert_eq!(version.stdout.trim(), format!("keyward {VERSION}"));
    let init = wine.cmd(
        &format!("set KEYWARD_ADMIN_PASSWORD={PASSWORD}&& keyward init --admin-user root --admin-email root@example.com"),
        "",
    );
    let init = init.ok();
    assert!(init.stdout.contains("root"), "{}", init.stdout);
    let db = wine.unix(&format!(r"{local}\Keyward\keyward.db"));
    assert!(
        db.is_file(),
        "the default file is in the local (not roaming) folder"
    );
    let as_root = |line: &str, stdin: &str| {
        wine.cmd(
            &format!("set KEYWARD_ADMIN_PASSWORD={PASSWORD}&& keyward {line}"),
            stdin,
        )
    };
    as_root(
        "users add --user-name ann --email ann@example.com --role Viewer",
        "",
    )
    .ok();
    let created = as_root("keys create --name deploy --expires-in-days 90", "").ok();
    let secret = created.stdout.trim().to_owned();
    assert!(
        secret.starts_with("kw_") && secret.len() == 49,
        "{}",
        created.stdout
    );
    let verified = as_root("keys verify", &secret).ok();
    assert!(
        verified.stdout.starts_with("VALID root"),
        "{}",
        verified.stdout
    );
    let refused = as_root("keys verify", "kw_not_a_key");
    assert_eq!(refused.code, Some(1), "the exit code reaches cmd");
    let work = wine.unix(r"C:\keyward-test");
    std::fs::create_dir_all(&work).unwrap();
    // A file as Excel saves "CSV" here (Windows-1252, ';'), and an export Excel opens right.
    std::fs::write(
        work.join("excel.csv"),
        b"userName;displayName;email\r\ncarl;Carl M\xFCller;carl@example.com\r\n",
    )
    .unwrap();
    let imported = as_root(r"users import C:\keyward-test\excel.csv", "").ok();
    assert!(
        imported.stderr.contains("it was read as Windows-1252"),
        "{}",
        imported.stderr
    );
    as_root(r"users export --format csv C:\keyward-test\users.csv", "").ok();
    let csv = std::fs::read_to_string(work.join("users.csv")).unwrap();
    assert!(
        csv.starts_with('\u{FEFF}')
            && csv.contains("ann@example.com")
            && csv.contains("carl,Carl Müller,carl@example.com,INVITED,NATIVE,,\r\n")
            && !csv.contains("argon2"),
        "{csv}"
    );
    wine.cmd(r"keyward backup C:\keyward-test\monday.db", "")
        .ok();
    assert!(work.join("monday.db").is_file());

    // `keyward serve` on the same default file, a real scenario over 127.0.0.1.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut served = Running(
        wine.wine()
            .arg(installed.join("keyward.exe"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--threads",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("keyward serve under Wine", Duration::from_secs(60), || {
        assert!(
            served.0.try_wait().unwrap().is_none(),
            "keyward serve exited"
        );
        client().get(format!("{url}/healthz")).send().is_ok()
    });
    let token = sign_in_as_root(&url);
    let root_id = my_id(&url, &token);
    add_user(&url, &token, "bea");
    assert_eq!(
        users_named(&url, &token, "ann"),
        1,
        "the command line's user"
    );
    let (status, issued) = post(
        &url,
        &token,
        &format!("/api/users/{root_id}/keys"),
        json!({"name": "ci", "description": ""}),
    );
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap().to_owned();
    assert_eq!(verify(&url, &key), "VALID");
    let key_id = issued["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &url,
        &token,
        &format!("/api/keys/{key_id}/revoke"),
        json!({}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        verify(&url, &key),
        "REVOKED",
        "seen at the very next request"
    );

    // Two-step sign-in on Windows: the key file is made beside the directory file in
    // %LOCALAPPDATA% at the first set-up, and the command line takes the code. (The restore
    // below brings back a backup from before it.)
    let (status, totp) = post(&url, &token, "/api/me/totp", json!({}));
    assert_eq!(status, 200, "{totp}");
    let code = crate::common::totp_code(totp["secret"].as_str().unwrap(), chrono::Utc::now());
    let (status, enrolled) = post(
        &url,
        &token,
        "/api/me/totp/confirm",
        json!({"code": code.expose()}),
    );
    assert_eq!(status, 200, "{enrolled}");
    let key_file = wine.unix(&format!(r"{local}\Keyward\keyward.db.key"));
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key_text.trim().len(), 64, "{key_text}");
    let recovery = enrolled["recoveryCodes"][0].as_str().unwrap();
    let listed = wine
        .cmd(
            &format!(
                "set KEYWARD_ADMIN_PASSWORD={PASSWORD}&& set KEYWARD_TOTP_CODE={recovery}&& \
                 keyward users show root"
            ),
            "",
        )
        .ok();
    assert!(listed.stdout.contains("twoStepSignIn"), "{}", listed.stdout);
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.contains("twoStepSignIn") && l.contains("on")),
        "{}",
        listed.stdout
    );

    // Installing again while the server runs cannot replace its program: a silent setup
    // fails with exit code 6 instead of leaving a mix of versions.
    let before = std::fs::read(installed.join("keyward.exe")).unwrap();
    let again = run(wine.wine().arg(&setup).arg("/S"), "");
    assert_eq!(again.code, Some(6), "{}", again.stderr);
    assert_eq!(
        std::fs::read(installed.join("keyward.exe")).unwrap(),
        before
    );

    // A restore while the server holds the file: written through SQLite, seen at once, and
    // what the server acknowledges afterwards stays.
    let restored = wine.cmd(r"keyward restore --force C:\keyward-test\monday.db", "");
    let restored = restored.ok();
    assert!(restored.stdout.contains("Restored"), "{}", restored.stdout);
    let token = sign_in_as_root(&url);
    assert_eq!(users_named(&url, &token, "bea"), 0, "the backup has no bea");
    assert_eq!(users_named(&url, &token, "ann"), 1);
    add_user(&url, &token, "later");

    // Ctrl+C (Wine turns SIGINT into the console's CTRL_C_EVENT): requests finish, the file
    // is let go, the exit is clean.
    let killed = Command::new("kill")
        .args(["-INT", &served.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = served.wait(Duration::from_secs(30));
    let log = served.stderr();
    assert!(status.success(), "{status}: {log}");
    assert!(
        log.contains("Ctrl+C") && log.contains("keyward serve stopped"),
        "{log}"
    );
    wine.cmd("keyward check", "").ok();
    as_root("users show later", "").ok();
    assert_eq!(as_root("users show bea", "").code, Some(1));

    // The app, where no WebView2 Runtime is: one clear dialog, the same words on standard
    // error, exit code 3 — started from the console program, which hands over and returns.
    // (Not through pipes: under Wine every program of the prefix holds the Unix ones.)
    let handed_over = wine
        .wine()
        .args(["cmd", "/c", "keyward"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(handed_over.success(), "{handed_over}");
    let dialog = window_titled("Keyward cannot open its window", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    let shot = screenshot(&dialog, "windows", "webview2-missing");
    eprintln!("screenshot: {}", shot.display());
    press_return_in(&dialog);
    wine.wait_idle();
    let mut app = Running(
        wine.wine()
            .arg(installed.join("keyward-app.exe"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let dialog = window_titled("Keyward cannot open its window", Duration::from_secs(60));
    press_return_in(&dialog);
    let status = app.wait(Duration::from_secs(30));
    let said = app.stderr();
    assert_eq!(status.code(), Some(3), "{said}");
    assert!(
        said.contains("WebView2 Runtime is not installed") && said.contains("LinkId=2124703"),
        "{said}"
    );

    // The silent uninstall, as "Apps & features" would run it: the program goes, the data stays.
    let uninstaller = quiet
        .trim_end_matches("/S")
        .trim()
        .trim_matches('"')
        .to_owned();
    run(wine.wine().arg(&uninstaller).arg("/S"), "").ok();
    wine.wait_idle();
    wait_for("the uninstaller", Duration::from_secs(30), || {
        !installed.join("keyward.exe").exists()
    });
    assert!(!installed.exists(), "the program folder is removed");
    assert!(!shortcut.exists());
    assert_eq!(wine.reg(&key, "DisplayName"), None);
    let path = wine.reg(r"HKCU\Environment", "Path").unwrap_or_default();
    assert!(
        !path.split(';').any(|p| p.eq_ignore_ascii_case(&folder)),
        "{path}"
    );
    assert!(db.is_file(), "the directory file stays");
    assert!(work.join("monday.db").is_file());
}

#[test]
fn the_windows_setup_installs_for_everyone_and_the_msi_and_zip_hold_the_same_programs() {
    let wine = Prefix::new();
    let zip = dist(&format!("Keyward-{VERSION}-x64.zip"));
    let unpacked = tempfile::TempDir::new().unwrap();
    let out = Command::new("/usr/bin/python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(unpacked.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Per machine, as a deployment tool runs it (elevated): Program Files, the system PATH,
    // the uninstaller under HKLM.
    run(wine.wine().arg(setup_exe()).args(["/ALLUSERS", "/S"]), "").ok();
    wine.wait_idle();
    let folder = format!(r"{}\Keyward", wine.env("ProgramW6432"));
    let installed = wine.unix(&folder);
    assert!(installed.join("keyward.exe").is_file(), "{folder}");
    let key = format!(r"HKLM\{UNINSTALL_KEY}");
    assert_eq!(wine.reg(&key, "DisplayVersion").as_deref(), Some(VERSION));
    let machine_env = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment";
    let path = wine.reg(machine_env, "Path").unwrap();
    assert!(
        path.split(';').any(|p| p.eq_ignore_ascii_case(&folder)),
        "{path}"
    );
    let version = wine.cmd("keyward --version", "").ok();
    assert_eq!(version.stdout.trim(), format!("keyward {VERSION}"));
    // The portable zip holds the very files the setup installs.
    for file in [
        "keyward.exe",
        "keyward-app.exe",
        "WebView2Loader.dll",
        "README.txt",
    ] {
        let zipped = std::fs::read(unpacked.path().join("Keyward").join(file)).unwrap();
        assert!(
            zipped == std::fs::read(installed.join(file)).unwrap(),
            "{file}"
        );
    }

    // A directory file where Keyward 0.1 kept the default (the roaming folder) is found, and
    // moved to the local folder since nothing has it open.
    let roaming = wine.env("APPDATA");
    let earlier = format!(r"{roaming}\Keyward\Keyward\data\keyward.db");
    wine.cmd(
        &format!("set KEYWARD_ADMIN_PASSWORD={PASSWORD}&& keyward init --db {earlier} --admin-user root --admin-email root@example.com"),
        "",
    )
    .ok();
    let listed = wine
        .cmd(
            &format!("set KEYWARD_ADMIN_PASSWORD={PASSWORD}&& keyward users list --json"),
            "",
        )
        .ok();
    assert_eq!(
        listed.json()["pageInfo"]["totalElements"],
        1,
        "{}",
        listed.stderr
    );
    assert!(
        listed.stderr.contains("moved the directory file"),
        "{}",
        listed.stderr
    );
    let local = wine.env("LOCALAPPDATA");
    assert!(wine.unix(&format!(r"{local}\Keyward\keyward.db")).is_file());
    assert!(!wine.unix(&earlier).exists());

    let quiet = wine.reg(&key, "QuietUninstallString").unwrap();
    let line = quiet.replace('"', "");
    let (program, switches) = line.split_once(".exe").unwrap();
    run(
        wine.wine()
            .arg(format!("{program}.exe"))
            .args(switches.split_whitespace()),
        "",
    )
    .ok();
    wine.wait_idle();
    wait_for("the uninstaller", Duration::from_secs(30), || {
        !installed.join("keyward.exe").exists()
    });
    assert_eq!(wine.reg(&key, "DisplayName"), None);
    let path = wine.reg(machine_env, "Path").unwrap();
    assert!(
        !path.split(';').any(|p| p.eq_ignore_ascii_case(&folder)),
        "{path}"
    );

    // The .msi, silently in and out, as Intune or Group Policy would.
    let msi = dist(&format!("Keyward-{VERSION}-x64.msi"));
    run(wine.wine().args(["msiexec", "/i"]).arg(&msi).arg("/qn"), "").ok();
    wine.wait_idle();
    for file in ["keyward.exe", "keyward-app.exe", "WebView2Loader.dll"] {
        assert!(installed.join(file).is_file(), "{file} from the msi");
    }
    // ALLUSERS=1 puts it in ProgramData's Start menu on Windows; Wine's msiexec uses the
    // user's Start menu instead.
    let shortcuts = ["ProgramData", "APPDATA"].map(|folder| {
        wine.unix(&format!(
            r"{}\Microsoft\Windows\Start Menu\Programs\Keyward.lnk",
            wine.env(folder)
        ))
    });
    assert!(shortcuts.iter().any(|s| s.is_file()), "{shortcuts:?}");
    assert_eq!(wine.version_of(&installed.join("keyward.exe")), VERSION);
    run(wine.wine().args(["msiexec", "/x"]).arg(&msi).arg("/qn"), "").ok();
    wine.wait_idle();
    assert!(
        !installed.join("keyward.exe").exists(),
        "the msi removes its files"
    );

    // A system Path longer than the setup can hold whole is left exactly as it is, on install
    // and uninstall (a cut or emptied system Path breaks the whole machine).
    let long: String = (0..60).fold(path.clone(), |p, i| format!(r"{p};C:\Tools\padding{i}"));
    run(
        wine.wine().args([
            "reg",
            "add",
            machine_env,
            "/v",
            "Path",
            "/t",
            "REG_EXPAND_SZ",
            "/d",
            &long,
            "/f",
        ]),
        "",
    )
    .ok();
    run(wine.wine().arg(setup_exe()).args(["/ALLUSERS", "/S"]), "").ok();
    wine.wait_idle();
    assert!(installed.join("keyward.exe").is_file());
    assert_eq!(
        wine.reg(machine_env, "Path").as_deref(),
        Some(long.as_str())
    );
    assert_eq!(wine.version_of(&installed.join("keyward.exe")), VERSION);
    run(
        wine.wine().arg(installed.join("uninstall.exe")).arg("/S"),
        "",
    )
    .ok();
    wine.wait_idle();
    wait_for("the uninstaller", Duration::from_secs(30), || {
        !installed.join("keyward.exe").exists()
    });
    assert_eq!(
        wine.reg(machine_env, "Path").as_deref(),
        Some(long.as_str())
    );
    assert_eq!(
        wine.reg(&key, "DisplayName"),
        None,
        "found as per-machine without /ALLUSERS"
    );
    assert_eq!(
        pe_subsystem(&unpacked.path().join("Keyward/keyward.exe")),
        CONSOLE_PROGRAM
    );
}

/// Answers a dialog with Return. Focusing a window Wine has only just mapped can fail
/// (X_SetInputFocus: BadMatch, seen while another Wine test ran beside it): tried again.
fn press_return_in(window: &str) {
    for _ in 0..40 {
        let pressed = Command::new("xdotool")
            .args(["windowfocus", "--sync", window, "key", "Return"])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if pressed.success() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("the window {window} never took the focus");
}

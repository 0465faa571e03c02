//! How `keyward` without a subcommand opens the desktop app.
//!
//! A Windows program is either a console program or a window program, fixed in its file.
//! A window program started from cmd or PowerShell detaches: it prints nothing, returns no exit
//! code and cannot prompt. So on Windows the command line `keyward.exe` is a console program
//! and the app is the window program `keyward-app.exe` beside it (the Start menu opens that
//! one); `keyward` without a subcommand starts `keyward-app.exe` with the same arguments and
//! returns at once, leaving no console window behind the app. Elsewhere one program is both,
//! and the app runs in it.

use std::process::ExitCode;

/// The file name of the window program on Windows.
pub const WINDOW_PROGRAM: &str = "keyward-app.exe";

/// Opens the desktop app for the command line: on Windows hands over to [`WINDOW_PROGRAM`],
/// elsewhere calls `run_here`.
#[cfg(windows)]
pub fn open_app(_run_here: impl FnOnce() -> ExitCode) -> ExitCode {
    use std::os::windows::process::CommandExt;
    // The app gets no console of its own and outlives this one.
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    let program = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(WINDOW_PROGRAM),
        Err(error) => {
            eprintln!("error: cannot find where keyward is installed: {error}");
            return ExitCode::FAILURE;
        }
    };
    if !program.is_file() {
        eprintln!(
            "error: the desktop app {} is missing; reinstall Keyward. Commands (keyward --help) work without it.",
            program.display()
        );
        return ExitCode::FAILURE;
    }
    match std::process::Command::new(&program)
        .args(std::env::args_os().skip(1))
        // Holding this console's handles would keep a caller reading our output waiting.
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP)
        .spawn()
    {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot start {}: {error}", program.display());
            ExitCode::FAILURE
        }
    }
}

/// Opens the desktop app for the command line: on Windows hands over to [`WINDOW_PROGRAM`],
/// elsewhere calls `run_here`.
#[cfg(not(windows))]
pub fn open_app(run_here: impl FnOnce() -> ExitCode) -> ExitCode {
    run_here()
}

// Keyward's window program: on Windows a program with no console (the Start menu entry opens
// it); `keyward.exe` is the console program of the command line. See `platform::launch`.
#![windows_subsystem = "windows"]

fn main() -> std::process::ExitCode {
    keyward::cli::app_main()
}

// The command line, a console program on Windows so that it prints, returns exit codes and
// prompts in cmd and PowerShell; without a subcommand it opens the desktop app
// (`keyward-app` on Windows, see `platform::launch`).
fn main() -> std::process::ExitCode {
    keyward::cli::main()
}

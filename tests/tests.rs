//! Keyward's integration tests, in one binary (one link on a 2-core machine).
//!
//! `contract` runs against the `Directory` trait, for every backend the `contract!` macro
//! lists; `store` checks what only the SQLite file can show; `cli` runs the real binary; `e2e` drives the desktop app in its real webview; `windows` installs and runs the Windows
//! build under Wine; `deb` installs the Debian package.

mod cli;
mod common;
mod contract;
#[cfg(feature = "desktop")]
mod deb;
#[cfg(feature = "desktop")]
mod e2e;
mod layers;
mod postgres;
#[cfg(feature = "server")]
mod server;
mod store;
#[cfg(feature = "desktop")]
mod webdriver;
#[cfg(feature = "server")]
mod windows;

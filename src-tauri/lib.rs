//! Keyward: administration of users, roles, groups and API keys.
//!
//! [`core`] holds every rule and knows no caller; [`store`] keeps a directory in SQLite;
//! [`cli`] is the command line; `desktop` (feature `desktop`) is the Tauri app.

pub mod cli;
pub mod core;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod store;

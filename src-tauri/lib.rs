//! Keyward: administration of users, roles, groups and API keys.
//!
//! [`core`] is the domain and its pure rules, and knows no caller; [`rules`] holds every rule
//! of an operation once, over the storage interface that [`store`] implements in SQLite;
//! [`cli`] is the command line; `desktop` (feature `desktop`) is the Tauri app; `server`
//! (feature `server`) is `keyward serve`; [`remote`] is the directory on a server, over HTTP;
//! [`wire`] holds the HTTP shapes the server and the remote client share; [`platform`] holds
//! what differs between Windows, Linux and macOS, one small module each; [`trust`] is the TLS
//! trust for the servers Keyward calls (PostgreSQL, an identity provider).

pub mod cli;
pub mod core;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod platform;
pub mod remote;
pub mod rules;
#[cfg(feature = "server")]
pub mod server;
pub mod store;
pub mod transfer;
pub mod trust;
pub mod wire;

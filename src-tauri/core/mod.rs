//! The Keyward core: the domain, its rules and the contract every directory backend fulfils.
//! Nothing here knows of Tauri, axum or reqwest.

pub mod access;
pub mod clock;
pub mod directory;
pub mod error;
pub mod lifecycle;
pub mod lockout;
pub mod mail;
pub mod model;
pub mod names;
pub mod password;
pub mod permission;
pub mod sealing;
pub mod secret;
pub mod settings;
pub mod totp;

pub use error::{Error, ErrorBody, FieldErrors, Result};

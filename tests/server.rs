//! `keyward serve` over real HTTP on 127.0.0.1: a raw client (reqwest, not the
//! `RemoteDirectory`) checks status codes, headers and JSON shapes; the real binary is run as a
//! process; HTTPS with a self-signed certificate; the invitation and reset pages in a headless
//! Chromium.

mod binary;
pub(crate) mod browser;
mod endpoints;
mod https;
mod instances;
pub(crate) mod mail;
mod never_stale;
pub(crate) mod oidc;
mod openapi;
mod pages;
mod problems;
mod security;
mod shutdown;
pub(crate) mod support;

//! Secrets: API keys in the `kw_` format, one-time tokens, and their SHA-256 digests.
//!
//! A secret leaves the core exactly once, inside a [`Secret`], whose `Debug` never shows it.
//! Only digests are stored.

use rand::distr::Alphanumeric;
use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroize;

/// The text every Keyward API key starts with.
pub const KEY_MARKER: &str = "kw_";
const KEY_RANDOM_LEN: usize = 40;
const KEY_CHECKSUM_LEN: usize = 6;
/// Length of a whole key: marker, random part and checksum.
pub const KEY_LEN: usize = KEY_MARKER.len() + KEY_RANDOM_LEN + KEY_CHECKSUM_LEN;
/// Characters of a key kept as its visible prefix, e.g. `kw_7Hq2Lx9a`.
pub const KEY_PREFIX_LEN: usize = KEY_MARKER.len() + 8;
const TOKEN_LEN: usize = 43;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A secret value shown once: an API key, a session token, a reset or invitation token.
/// Its `Debug` and `Display` print a placeholder; the memory is wiped on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself. Call only where it is handed to its one recipient.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// 32 bytes written as 64 hexadecimal digits (either case): a SHA-256 fingerprint, a sealing
/// key. `None` for anything else (non-ASCII text included, which is never sliced).
pub fn bytes_from_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

pub fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn random_base62(len: usize) -> String {
    let mut rng = OsRng.unwrap_err();
    (0..len)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect()
}

fn checksum(random: &str) -> String {
    let mut value = crc32fast::hash(random.as_bytes()) as u64;
    let mut digits = [b'0'; KEY_CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// A new API key: `kw_`, 40 random base62 characters (~238 bits from the OS), 6 of CRC32.
pub fn generate_key() -> Secret {
    let random = random_base62(KEY_RANDOM_LEN);
    let check = checksum(&random);
    Secret(format!("{KEY_MARKER}{random}{check}"))
}

/// True when the text has the shape of a Keyward key and its checksum matches, so that
/// a mistyped or truncated key is refused without a database look-up.
pub fn key_is_well_formed(key: &str) -> bool {
    if key.len() != KEY_LEN || !key.starts_with(KEY_MARKER) {
        return false;
    }
    let body = &key[KEY_MARKER.len()..];
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = body.split_at(KEY_RANDOM_LEN);
    checksum(random) == check
}

/// The visible part of a key that identifies it in lists.
pub fn key_prefix(key: &Secret) -> String {
    key.expose()[..KEY_PREFIX_LEN].to_owned()
}

/// A new random token for sessions, invitations and password resets.
pub fn generate_token() -> Secret {
    Secret(random_base62(TOKEN_LEN))
}

/// A PKCE code verifier for a native client's sign-in (RFC 7636 4.1: 43 to 128 unreserved
/// characters): 64 random base62 characters.
pub fn generate_pkce_verifier() -> Secret {
    Secret(random_base62(64))
}

/// RFC 7636's S256: the challenge a verifier answers.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), KEY_LEN);
        assert!(key_is_well_formed(a.expose()));
        assert!(key_prefix(&a).starts_with("kw_"));
        assert_eq!(key_prefix(&a).len(), 11);
    }

    #[test]
    fn a_mistyped_key_fails_its_checksum() {
        let key = generate_key();
        let mut chars: Vec<char> = key.expose().chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(!key_is_well_formed(&typo));
        assert!(!key_is_well_formed(&key.expose()[..KEY_LEN - 1]));
        assert!(!key_is_well_formed(&key.expose().replacen("kw_", "xx_", 1)));
    }

    #[test]
    fn hex_is_64_ascii_digits_or_nothing() {
        let hex = "00ff".repeat(16);
        assert_eq!(bytes_from_hex(&hex).unwrap()[..2], [0x00, 0xff]);
        assert_eq!(bytes_from_hex(&hex.to_uppercase()), bytes_from_hex(&hex));
        for bad in [
            "00ff".repeat(15),
            format!("+f{}", "0".repeat(62)),
            format!("a{}", "é".repeat(31)) + "b",
        ] {
            assert_eq!(bytes_from_hex(&bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let key = generate_key();
        assert!(!format!("{key:?}").contains(&key.expose()[3..]));
    }
}

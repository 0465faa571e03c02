//! Sealing the one kind of secret that must be read back: a user's TOTP secret (SPEC 10). It is
//! encrypted with AES-256-GCM (`ring`) under a key that is never in the database, and bound to
//! its user (the user id is the associated data), so a dump, a backup or a copy of the
//! database alone never reveals it and a sealed secret moved to another user does not open.
//!
//! The key is 32 random bytes kept as 64 hex digits in a file of its own ([`Keyring`]). A
//! sealed secret starts with the first 8 bytes of the SHA-256 of its key, so that a missing or
//! different key is told apart from damage, and is named in the refusal.

use super::error::{Error, Result};
use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const KEY_ID_LEN: usize = 8;

/// A key that seals and opens secrets, and tags (HMAC-SHA256) what is kept as a digest but
/// must not be guessable from a copy of the database (recovery codes).
pub struct SealingKey {
    key: LessSafeKey,
    tags: hmac::Key,
    id: [u8; KEY_ID_LEN],
}

impl SealingKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> SealingKey {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key");
        let digest = Sha256::digest(bytes);
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        // The tagging key is derived, so that one key is never used for two algorithms.
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, bytes),
            b"keyward recovery codes v1",
        );
        SealingKey {
            key: LessSafeKey::new(unbound),
            tags: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            id,
        }
    }

    /// The HMAC-SHA256 of `text` under this directory's key: a digest that a copy of the
    /// database alone cannot be searched against.
    pub fn tag(&self, text: &str) -> [u8; 32] {
        let mut tag = [0; 32];
        tag.copy_from_slice(hmac::sign(&self.tags, text.as_bytes()).as_ref());
        tag
    }

    /// `plain`, sealed for the record `owner` (e.g. a user id): key id, nonce, ciphertext.
    pub fn seal(&self, owner: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        OsRng.unwrap_err().fill(&mut nonce);
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut body,
            )
            .expect("AES-GCM seals any length a TOTP secret has");
        [&self.id[..], &nonce[..], &body[..]].concat()
    }

    /// What [`Self::seal`] sealed for `owner`; `None` when it was sealed with another key,
    /// for another owner, or damaged.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if !self.sealed_it(sealed) || sealed.len() < KEY_ID_LEN + NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed[KEY_ID_LEN..].split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut body)
            .ok()?;
        Some(plain.to_vec())
    }

    /// Whether `sealed` names this key as the one that sealed it.
    pub fn sealed_it(&self, sealed: &[u8]) -> bool {
        sealed.get(..KEY_ID_LEN) == Some(&self.id[..])
    }
}

/// Where a directory's sealing key lives, loaded when first needed.
pub struct Keyring {
    place: Place,
    loaded: Mutex<Option<Arc<SealingKey>>>,
}

enum Place {
    /// A key file; `create`: written with a new key when absent and nothing is sealed yet.
    File { path: PathBuf, create: bool },
    /// No key was configured; the text says how to give one.
    Unset(String),
}

impl Keyring {
    /// The key in the file at `path`; with `create`, a new key is written there the first
    /// time one is needed (never while something sealed with another key exists).
    pub fn file(path: impl Into<PathBuf>, create: bool) -> Keyring {
        Keyring::at(Place::File {
            path: path.into(),
            create,
        })
    }

    /// No key: sealing is refused with `how` (what to configure), and so is opening.
    pub fn unset(how: impl Into<String>) -> Keyring {
        Keyring::at(Place::Unset(how.into()))
    }

    fn at(place: Place) -> Keyring {
        Keyring {
            place,
            loaded: Mutex::new(None),
        }
    }

    /// The key, loaded from its file (and, when the keyring may and `nothing_sealed`, created
    /// there first).
    pub fn key(&self, nothing_sealed: bool) -> Result<Arc<SealingKey>> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = loaded.as_ref() {
            return Ok(Arc::clone(key));
        }
        let (path, create) = match &self.place {
            Place::File { path, create } => (path, *create),
            Place::Unset(how) => return Err(missing(how)),
        };
        let key = match std::fs::read_to_string(path) {
            Ok(text) => parse(path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create && nothing_sealed => {
                create_key_file(path)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(missing(&format!(
                    "its key file {} is missing; put it back (from where you keep a copy) or \
                     name it with KEYWARD_SECRET_KEY_FILE",
                    path.display()
                )))
            }
            Err(e) => {
                return Err(missing(&format!(
                    "its key file {} cannot be read: {e}",
                    path.display()
                )))
            }
        };
        let key = Arc::new(key);
        *loaded = Some(Arc::clone(&key));
        Ok(key)
    }

    /// Where the key is, for messages.
    pub fn describe(&self) -> String {
        match &self.place {
            Place::File { path, .. } => path.display().to_string(),
            Place::Unset(_) => "not configured".to_owned(),
        }
    }
}

/// The refusal while the key is missing: nothing with a second step works until it is back.
fn missing(why: &str) -> Error {
    Error::StateConflict(format!(
        "Two-step sign-in is unavailable: this directory's key for sealed secrets is not here \
         ({why}). Nobody with two-step sign-in can sign in until it is back."
    ))
}

fn parse(path: &Path, text: &str) -> Result<SealingKey> {
    match super::secret::bytes_from_hex(text.trim()) {
        Some(bytes) => Ok(SealingKey::from_bytes(&bytes)),
        None => Err(missing(&format!(
            "{} does not hold a key: it must be 64 hexadecimal digits, e.g. from \
             `openssl rand -hex 32`",
            path.display()
        ))),
    }
}

/// Writes a new random key to a new file at `path` (64 hexadecimal digits and a line end,
/// readable by its owner only); `AlreadyExists` when there is a file.
pub fn write_new_key(path: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; 32];
    OsRng.unwrap_err().fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    crate::platform::files::create_private(path, format!("{hex}\n").as_bytes())
}

fn create_key_file(path: &Path) -> Result<SealingKey> {
    match write_new_key(path) {
        Ok(()) => {}
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(cannot_write(path, &e)),
    }
    std::fs::read_to_string(path)
        .map_err(|e| cannot_write(path, &e))
        .and_then(|text| parse(path, &text))
}

fn cannot_write(path: &Path, error: &std::io::Error) -> Error {
    Error::StateConflict(format!(
        "Two-step sign-in cannot be set up: the key file {} cannot be written ({error}).",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_for_its_owner() {
        let key = SealingKey::from_bytes(&[7; 32]);
        let other = SealingKey::from_bytes(&[8; 32]);
        let sealed = key.seal("user-1", b"JBSWY3DPEHPK3PXP");
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(key.open("user-1", &sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(key.open("user-2", &sealed), None, "moved to another user");
        assert_eq!(other.open("user-1", &sealed), None);
        assert!(!other.sealed_it(&sealed));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(key.open("user-1", &damaged), None);
        assert_ne!(
            key.seal("user-1", b"x"),
            key.seal("user-1", b"x"),
            "fresh nonces"
        );
    }

    #[test]
    fn a_key_file_is_created_once_and_a_missing_one_is_named() {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("d.db.key");
        let refused = Keyring::file(&path, true).key(false).err().unwrap();
        assert!(
            refused.to_string().contains("d.db.key is missing"),
            "{refused}"
        );
        let key = Keyring::file(&path, true).key(true).unwrap();
        let sealed = key.seal("u", b"s");
        let again = Keyring::file(&path, false).key(false).unwrap();
        assert_eq!(again.open("u", &sealed).unwrap(), b"s");
        for bad in [
            "not hex".to_owned(),
            "é".repeat(32),
            format!("+f{}", "0".repeat(62)),
        ] {
            std::fs::write(&path, bad).unwrap();
            let refused = Keyring::file(&path, true).key(true).err().unwrap();
            assert!(
                refused.to_string().contains("64 hexadecimal digits"),
                "{refused}"
            );
        }
        assert_ne!(key.tag("abc"), SealingKey::from_bytes(&[1; 32]).tag("abc"));
        assert_eq!(key.tag("abc"), again.tag("abc"));
        let unset = Keyring::unset("set KEYWARD_SECRET_KEY_FILE")
            .key(true)
            .err()
            .unwrap();
        assert!(matches!(unset, Error::StateConflict(_)));
    }
}

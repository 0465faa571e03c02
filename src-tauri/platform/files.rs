//! Files only their owner may read: the key that seals two-step secrets. On Unix the file is
//! created with mode 0600; on Windows it inherits the folder's access list, which for the
//! default places (`%LOCALAPPDATA%`, a directory file's own folder) is the user's.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a new file at `path`; `AlreadyExists` when there is one.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_private_file_is_new_and_its_owners_alone() {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("secret.key");
        super::create_private(&path, b"k").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"k");
        let again = super::create_private(&path, b"x").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

//! Files only their owner may read: the key that seals two-step secrets, recovery codes. On Unix the file is
//! created with mode 0600; on Windows it inherits the folder's access list, which for the
//! default places (`%LOCALAPPDATA%`, a directory file's own folder) is the user's.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a new file at `path`, whole or not at all (written beside it first, then
/// linked into place, so nobody reads it half-written and a crash leaves no empty file);
/// `AlreadyExists` when there is one.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
    let staged = std::path::PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&staged).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    // A hard link never replaces a file that is there: the first writer wins.
    let linked = written.and_then(|()| std::fs::hard_link(&staged, path));
    let _ = std::fs::remove_file(&staged);
    linked
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

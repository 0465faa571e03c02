//! Where Keyward keeps its files.
//!
//! | | Windows | Linux | macOS |
//! |---|---|---|---|
//! | default directory file | `%LOCALAPPDATA%\Keyward\keyward.db` | `$XDG_DATA_HOME/keyward/keyward.db` | `~/Library/Application Support/app.Keyward.Keyward/keyward.db` |
//! | profiles, recent files | `%APPDATA%\Keyward\` | `$XDG_CONFIG_HOME/keyward/` | `~/Library/Application Support/app.Keyward.Keyward/` |
//!
//! On Windows the directory file lives in the *local* application data folder: a roaming
//! profile copies the roaming folder at sign-in and sign-out, also while a SQLite file in it is
//! open, which can tear it. The small JSON files of connection profiles and recent files are
//! preferences and do roam with the user. Keyward 0.1 kept the default file in the roaming
//! folder (`%APPDATA%\Keyward\Keyward\data\keyward.db`); [`default_directory_file`] still finds
//! it there and moves it when nothing has it open (see [`settle`]).

use std::path::{Path, PathBuf};

const FILE_NAME: &str = "keyward.db";

/// The default directory file of this user on this system.
pub fn default_directory_file() -> PathBuf {
    match places() {
        Some(places) => settle(&places.directory_file, places.earlier_file.as_deref()),
        None => PathBuf::from(FILE_NAME),
    }
}

/// The folder of the app's own small files (connection profiles, recent files), if the
/// system has a home for them.
pub fn config_folder() -> Option<PathBuf> {
    places().map(|places| places.config)
}

/// Where the files of this system go.
struct Places {
    directory_file: PathBuf,
    /// Where an earlier version kept the default file, when that is somewhere else.
    earlier_file: Option<PathBuf>,
    config: PathBuf,
}

#[cfg(windows)]
fn places() -> Option<Places> {
    let base = directories::BaseDirs::new()?;
    let earlier = directories::ProjectDirs::from("app", "Keyward", "Keyward")
        .map(|dirs| dirs.data_dir().join(FILE_NAME));
    Some(Places {
        directory_file: base.data_local_dir().join("Keyward").join(FILE_NAME),
        earlier_file: earlier,
        config: base.config_dir().join("Keyward"),
    })
}

#[cfg(not(windows))]
fn places() -> Option<Places> {
    let dirs = directories::ProjectDirs::from("app", "Keyward", "Keyward")?;
    Some(Places {
        directory_file: dirs.data_local_dir().join(FILE_NAME),
        earlier_file: None,
        config: dirs.config_dir().to_path_buf(),
    })
}

/// Where the default file is: `preferred`, unless it does not exist and `earlier` does. Then
/// the earlier file is moved to `preferred` if nothing has it open: no `-wal` or `-shm` file
/// beside it (SQLite keeps them while a connection is open, or after a crash) and the rename
/// succeeds (Windows refuses to rename a file another program holds). Otherwise it is opened
/// where it is, and moved on a later start. Both are logged.
pub fn settle(preferred: &Path, earlier: Option<&Path>) -> PathBuf {
    let Some(earlier) = earlier.filter(|e| *e != preferred) else {
        return preferred.to_owned();
    };
    if preferred.exists() || !earlier.is_file() {
        return preferred.to_owned();
    }
    let in_use = ["-wal", "-shm"].iter().any(|suffix| {
        let mut side = earlier.as_os_str().to_owned();
        side.push(suffix);
        Path::new(&side).exists()
    });
    let moved = !in_use
        && preferred
            .parent()
            .is_none_or(|folder| std::fs::create_dir_all(folder).is_ok())
        && std::fs::rename(earlier, preferred).is_ok();
    if !moved && preferred.exists() {
        // Another Keyward starting at the same moment moved it first.
        return preferred.to_owned();
    }
    if moved {
        tracing::warn!(
            from = %earlier.display(),
            to = %preferred.display(),
            "moved the directory file to the local (not roaming) data folder"
        );
        preferred.to_owned()
    } else {
        tracing::warn!(
            path = %earlier.display(),
            "the directory file is in use at its earlier place; opened there, moved on a later start"
        );
        earlier.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preferred_file_wins_and_nothing_moves() {
        let tmp = tempfile::TempDir::new().unwrap();
        let (preferred, earlier) = (tmp.path().join("new/k.db"), tmp.path().join("old/k.db"));
        std::fs::create_dir_all(preferred.parent().unwrap()).unwrap();
        std::fs::create_dir_all(earlier.parent().unwrap()).unwrap();
        std::fs::write(&preferred, "new").unwrap();
        std::fs::write(&earlier, "old").unwrap();
        assert_eq!(settle(&preferred, Some(&earlier)), preferred);
        assert_eq!(std::fs::read_to_string(&earlier).unwrap(), "old");
        assert_eq!(settle(&preferred, None), preferred);
    }

    #[test]
    fn an_earlier_file_alone_is_moved_into_the_preferred_folder() {
        let tmp = tempfile::TempDir::new().unwrap();
        let (preferred, earlier) = (tmp.path().join("new/k.db"), tmp.path().join("old/k.db"));
        std::fs::create_dir_all(earlier.parent().unwrap()).unwrap();
        std::fs::write(&earlier, "old").unwrap();
        assert_eq!(settle(&preferred, Some(&earlier)), preferred);
        assert_eq!(std::fs::read_to_string(&preferred).unwrap(), "old");
        assert!(!earlier.exists());
    }

    #[test]
    fn an_earlier_file_in_use_is_opened_where_it_is() {
        let tmp = tempfile::TempDir::new().unwrap();
        let (preferred, earlier) = (tmp.path().join("new/k.db"), tmp.path().join("old/k.db"));
        std::fs::create_dir_all(earlier.parent().unwrap()).unwrap();
        std::fs::write(&earlier, "old").unwrap();
        std::fs::write(tmp.path().join("old/k.db-wal"), "").unwrap();
        assert_eq!(settle(&preferred, Some(&earlier)), earlier);
        assert!(!preferred.exists());
    }

    #[test]
    fn with_no_file_anywhere_the_preferred_place_is_used() {
        let tmp = tempfile::TempDir::new().unwrap();
        let (preferred, earlier) = (tmp.path().join("new/k.db"), tmp.path().join("old/k.db"));
        assert_eq!(settle(&preferred, Some(&earlier)), preferred);
    }
}

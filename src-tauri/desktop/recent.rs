//! The app's small JSON files in its configuration folder (`KEYWARD_CONFIG_DIR` overrides it,
//! which the tests use), and the first of them: the directory files opened lately, newest
//! first, in `recent.json`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

const KEEP: usize = 8;

pub struct RecentFiles {
    file: Option<PathBuf>,
    paths: Mutex<Vec<String>>,
}

fn config_dir() -> Option<PathBuf> {
    std::env::var_os("KEYWARD_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(crate::platform::folders::config_folder)
}

/// A JSON file of the configuration folder, and its contents (default when missing or
/// unreadable: a lost list of conveniences is no reason to stop).
pub(super) fn load_config<T: serde::de::DeserializeOwned + Default>(
    name: &str,
) -> (Option<PathBuf>, T) {
    let file = config_dir().map(|dir| dir.join(name));
    let value = file
        .as_ref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    (file, value)
}

/// Writes `value` to a file of the configuration folder, creating the folder when needed.
pub(super) fn save_config(file: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    file.parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(file, serde_json::to_vec_pretty(value)?))
}

impl RecentFiles {
    pub fn load() -> RecentFiles {
        let (file, paths) = load_config("recent.json");
        RecentFiles {
            file,
            paths: Mutex::new(paths),
        }
    }

    pub fn list(&self) -> Vec<String> {
        self.paths
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `path` first; a list that cannot be saved is only a convenience lost, not an error.
    pub fn remember(&self, path: &Path) {
        let path = std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        let mut paths = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        paths.retain(|p| *p != path);
        paths.insert(0, path);
        paths.truncate(KEEP);
        if let Some(file) = &self.file {
            if let Err(error) = save_config(file, &*paths) {
                tracing::warn!(%error, file = %file.display(), "could not save the recent files");
            }
        }
    }
}

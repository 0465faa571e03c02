//! The directory files opened lately, newest first, kept in `recent.json` in the app's
//! configuration folder (`KEYWARD_CONFIG_DIR` overrides it, which the tests use).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

const KEEP: usize = 8;

pub struct RecentFiles {
    file: Option<PathBuf>,
    paths: Mutex<Vec<String>>,
}

pub(super) fn config_dir() -> Option<PathBuf> {
    std::env::var_os("KEYWARD_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("app", "Keyward", "Keyward")
                .map(|dirs| dirs.config_dir().to_path_buf())
        })
}

impl RecentFiles {
    pub fn load() -> RecentFiles {
        let file = config_dir().map(|dir| dir.join("recent.json"));
        let paths = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
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
            let saved = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(file, serde_json::to_vec_pretty(&*paths)?));
            if let Err(error) = saved {
                tracing::warn!(%error, file = %file.display(), "could not save the recent files");
            }
        }
    }
}

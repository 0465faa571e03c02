//! Tauri commands: each takes the app state and its arguments, calls the core, maps the error.

use super::Desktop;
use crate::core::directory::Directory;
use crate::core::ErrorBody;
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryStatus {
    pub path: String,
    pub schema_version: usize,
    pub needs_setup: bool,
}

fn unavailable(reason: &str) -> ErrorBody {
    ErrorBody {
        code: "UNAVAILABLE".to_owned(),
        message: reason.to_owned(),
        errors: Default::default(),
    }
}

/// Which directory file is open and whether it still needs its first SuperAdmin.
#[tauri::command]
pub async fn directory_status(
    state: tauri::State<'_, Desktop>,
) -> Result<DirectoryStatus, ErrorBody> {
    let directory = state.directory.clone().map_err(|r| unavailable(&r))?;
    let path = state.path.display().to_string();
    let needs_setup = tauri::async_runtime::spawn_blocking(move || directory.needs_setup())
        .await
        .map_err(|e| unavailable(&e.to_string()))?
        .map_err(|e| ErrorBody::from(&e))?;
    Ok(DirectoryStatus {
        path,
        schema_version: crate::store::schema_version(),
        needs_setup,
    })
}

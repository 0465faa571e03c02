//! The Tauri desktop app: a window over the same core as the server and the CLI. Commands are
//! thin adapters in [`commands`]; no rule lives here.

mod commands;

use crate::store::SqliteDirectory;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

/// What the window works on: the open directory, or why it could not be opened.
pub struct Desktop {
    pub path: PathBuf,
    pub directory: Result<Arc<SqliteDirectory>, String>,
}

/// Opens the desktop app on the directory file at `db`, creating it if needed.
pub fn run(db: PathBuf) {
    let directory = SqliteDirectory::open(&db)
        .map(Arc::new)
        .map_err(|e| e.to_string());
    if let Err(reason) = &directory {
        tracing::error!(%reason, "cannot open the directory");
    }
    let title = format!("Keyward — {}", db.display());
    let result = tauri::Builder::default()
        .manage(Desktop {
            path: db,
            directory,
        })
        .invoke_handler(tauri::generate_handler![commands::directory_status])
        .setup(move |app| {
            if let Some(window) = app.get_webview_window("main") {
                window.set_title(&title)?;
            }
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("error: Keyward could not start its window: {error}");
        std::process::exit(1);
    }
}

//! Where to save an export: the native save dialog, asked from Rust so the
//! web view needs no file-system permission. `COSTCARVE_SAVE_DIR` answers
//! it without a dialog (the end-to-end tests drive the real window, but a
//! GTK file chooser is not a web page WebDriver can reach).

use tauri_plugin_dialog::DialogExt;

pub async fn ask(app: &tauri::AppHandle, suggested: &str, extension: &str) -> Option<String> {
    let suggested: String = suggested
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Some(dir) = std::env::var_os("COSTCARVE_SAVE_DIR") {
        return Some(
            std::path::Path::new(&dir)
                .join(suggested)
                .display()
                .to_string(),
        );
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(&suggested)
        .add_filter(extension.to_uppercase(), &[extension])
        .save_file(move |path| {
            let _ = tx.send(path.map(|p| p.to_string()));
        });
    rx.await.ok().flatten()
}

/// A folder to write several files into (a review pack): the native folder
/// picker, or `COSTCARVE_SAVE_DIR` itself.
pub async fn ask_folder(app: &tauri::AppHandle) -> Option<String> {
    if let Some(dir) = std::env::var_os("COSTCARVE_SAVE_DIR") {
        return Some(std::path::Path::new(&dir).display().to_string());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog().file().pick_folder(move |path| {
        let _ = tx.send(path.map(|p| p.to_string()));
    });
    rx.await.ok().flatten()
}

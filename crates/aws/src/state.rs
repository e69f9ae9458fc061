//! What a desktop keeps about one connection, in its app data dir: the
//! organization cache, the integrations as last seen in the payer, the
//! intent journal, the Cost Explorer cache and request count. All of it
//! can be rebuilt from the payer; none of it holds a secret. Files are
//! replaced atomically (write, fsync, rename), so a crash leaves the old
//! or the new file, never half of one.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why local state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// What failed.
    pub reason: String,
}

/// One connection's folder in the app data dir.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The folder of `connection` under `data_dir`.
    pub fn new(data_dir: &Path, connection: &str) -> Self {
        Self {
            root: data_dir.join("connections").join(connection),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Reads a JSON file; `None` if it does not exist. A damaged file is an
    /// error that says which file, so nothing is silently forgotten.
    pub fn read<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        let path = self.file(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StateError {
                    reason: format!(
                        "damaged ({e}); remove it and the app rebuilds it from the payer"
                    ),
                    path,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Replaces a JSON file atomically.
    pub fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StateError> {
        let path = self.file(name);
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| StateError {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        costcarve_core::files::write_atomic(&path, &bytes).map_err(|e| StateError {
            path,
            reason: e.to_string(),
        })
    }

    /// Removes a file; fine if it is not there.
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let path = self.file(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError {
                path,
                reason: e.to_string(),
            }),
        }
    }
}

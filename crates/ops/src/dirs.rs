//! Where the app keeps its files.

use std::path::PathBuf;

use crate::OpsError;

/// Where the app keeps connections (config) and workspaces and caches (data).
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Config folder (connections).
    pub config: PathBuf,
    /// Data folder (the demo workspace, per-connection caches and journal).
    pub data: PathBuf,
}

impl Dirs {
    /// The folders given, else `COSTCARVE_CONFIG_DIR` / `COSTCARVE_DATA_DIR`,
    /// else the OS folders.
    pub fn resolve(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<Self, OpsError> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let config = config
            .or_else(|| var("COSTCARVE_CONFIG_DIR"))
            .or_else(|| ::dirs::config_dir().map(|d| d.join("costcarve")))
            .ok_or_else(|| OpsError::invalid("no config folder: set COSTCARVE_CONFIG_DIR"))?;
        let data = data
            .or_else(|| var("COSTCARVE_DATA_DIR"))
            .or_else(|| ::dirs::data_dir().map(|d| d.join("costcarve")))
            .ok_or_else(|| OpsError::invalid("no data folder: set COSTCARVE_DATA_DIR"))?;
        Ok(Self { config, data })
    }

    /// `COSTCARVE_CONFIG_DIR` / `COSTCARVE_DATA_DIR`, else the OS folders.
    pub fn from_env() -> Result<Self, OpsError> {
        Self::resolve(None, None)
    }

    /// The demo workspace's folder.
    pub fn demo(&self) -> PathBuf {
        self.data.join("demo")
    }
}

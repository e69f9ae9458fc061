//! The local workspace: CostCarve's embedded default. It generates a
//! deterministic demo organization with 13 months of CUR 2.0-shaped Parquet,
//! opens real CUR exports copied from S3, and answers the product's
//! operations (virtual integrations, cost queries, confined SQL) with an
//! embedded Apache DataFusion engine.
#![deny(missing_docs)]

pub mod demo;
pub mod engine;
pub mod workspace;

mod confined;
mod local_workspace;
mod rollup;

use std::path::{Path, PathBuf};

use costcarve_core::account::AccountIdError;
use costcarve_core::cost::CostQueryError;
use costcarve_core::error::{Coded, ErrorCode};
use costcarve_core::guard::GuardError;
use costcarve_core::integration::IntegrationError;

pub use engine::{view_ddl, QueryResult, RollupStatus, SqlEngine};
pub use local_workspace::{LocalWorkspace, DEFAULT_SQL_TIMEOUT, LOCAL_DATABASE};

/// Everything that can go wrong in a local workspace.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A rule of virtual integrations.
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    /// A bad cost query.
    #[error(transparent)]
    CostQuery(#[from] CostQueryError),
    /// The guard refused a query.
    #[error("query rejected: {0}")]
    Guard(#[from] GuardError),
    /// A bad account id.
    #[error(transparent)]
    AccountId(#[from] AccountIdError),
    /// The folder is not a workspace.
    #[error("{} cannot be opened as a workspace: {reason}", .path.display())]
    NotAWorkspace {
        /// The folder.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// `demo` into a folder that already holds one.
    #[error("{} already holds a workspace; choose an empty folder for the demo", .0.display())]
    AlreadyAWorkspace(PathBuf),
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A saved file does not parse.
    #[error("{} is damaged ({reason}); restore it from a backup or remove it", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// The query engine failed.
    #[error("query engine: {0}")]
    Engine(String),
    /// The CUR lacks a column a question needs.
    #[error("this workspace's Cost and Usage Report has no {column} column, which {needed_for} are read from; export CUR 2.0 with its pricing columns (the demo has them)")]
    MissingColumn {
        /// The column.
        column: &'static str,
        /// What needs it.
        needed_for: &'static str,
    },
    /// The saved integrations changed since this workspace read them
    /// (another window or the CLI): the change was not applied.
    #[error("the integrations in {} were changed elsewhere since this workspace read them; your change was not applied. They are shown as saved now: review them and apply your change again", .0.display())]
    ChangedElsewhere(PathBuf),
    /// A user's query failed while running; the message names the problem
    /// and holds no value of the data.
    #[error("the query failed: {0}")]
    QueryFailed(String),
    /// A user's query ran past its time limit and was stopped.
    #[error("the query ran longer than its time limit of {0} s and was stopped; filter or aggregate earlier, or allow it more time")]
    Timeout(u64),
}

impl LocalError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<datafusion::error::DataFusionError> for LocalError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Self::Engine(e.to_string())
    }
}

impl From<datafusion::arrow::error::ArrowError> for LocalError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        Self::Engine(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for LocalError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Self::Engine(e.to_string())
    }
}

impl Coded for LocalError {
    fn code(&self) -> ErrorCode {
        match self {
            LocalError::Integration(e) => e.code(),
            LocalError::CostQuery(e) => e.code(),
            LocalError::Guard(e) => e.code(),
            LocalError::AccountId(e) => e.code(),
            LocalError::NotAWorkspace { .. } => ErrorCode::NotAWorkspace,
            LocalError::AlreadyAWorkspace(_) | LocalError::MissingColumn { .. } => {
                ErrorCode::InvalidInput
            }
            LocalError::Io { .. } => ErrorCode::Io,
            LocalError::Corrupt { .. } => ErrorCode::Io,
            LocalError::ChangedElsewhere(_) => ErrorCode::Conflict,
            LocalError::Engine(_) | LocalError::QueryFailed(_) | LocalError::Timeout(_) => {
                ErrorCode::Engine
            }
        }
    }

    fn remedy(&self) -> Option<costcarve_core::error::Remedy> {
        match self {
            LocalError::Integration(e) => e.remedy(),
            _ => None,
        }
    }
}

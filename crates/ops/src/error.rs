//! An operation's failure: the code callers act on and a message that says
//! what happened and what to do, in words that fit the CLI and the desktop
//! alike (each adds its own hint from the code). Nothing secret is ever in
//! a message.

use costcarve_core::error::{Coded, ErrorCode, Remedy};
use serde::Serialize;

/// An operation's failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OpsError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened and what to do.
    pub message: String,
    /// A way forward the caller can offer in its own words.
    pub remedy: Option<Remedy>,
}

impl OpsError {
    /// An error of this code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            remedy: None,
        }
    }

    /// Invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// The user stopped it.
    pub fn cancelled() -> Self {
        Self::new(ErrorCode::Cancelled, "the query was cancelled")
    }

    /// A file could not be written.
    pub fn write(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::Io,
            format!("could not write {}: {e}", path.display()),
        )
    }
}

/// Every error type of the product says its code once (`Coded`, beside the
/// type); this is the only conversion.
impl<E: Coded + std::fmt::Display> From<E> for OpsError {
    fn from(e: E) -> Self {
        Self {
            remedy: e.remedy(),
            ..Self::new(e.code(), e.to_string())
        }
    }
}

/// The wire shape of an error: `{code, message}`; `code` crosses to
/// TypeScript as a union of the codes' names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct IpcError {
    /// What kind of failure: the front end branches on it.
    pub code: ErrorCode,
    /// What happened and what to do next.
    pub message: String,
}

impl From<OpsError> for IpcError {
    fn from(e: OpsError) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}

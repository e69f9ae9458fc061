//! Error codes: what a caller (the CLI's exit code, the front end) acts on.
//! Every error type of the product says which code it is.

use serde::Serialize;

use crate::account::AccountIdError;
use crate::cost::CostQueryError;
use crate::guard::GuardError;
use crate::integration::IntegrationError;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The user's input breaks a rule; the message says which.
    InvalidInput,
    /// Something named does not exist.
    NotFound,
    /// The guard refused a query.
    QueryRejected,
    /// A directory is not a workspace or not a CUR export.
    NotAWorkspace,
    /// Saved state was changed by someone else meanwhile.
    Conflict,
    /// The query engine failed.
    Engine,
    /// AWS refused or failed; the message says what to do.
    Aws,
    /// Reading or writing files failed.
    Io,
}

impl ErrorCode {
    /// The process exit code the CLI uses: 2 invalid input, 3 query
    /// rejected, 1 anything else.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::InvalidInput | ErrorCode::NotFound | ErrorCode::NotAWorkspace => 2,
            ErrorCode::QueryRejected => 3,
            ErrorCode::Conflict | ErrorCode::Engine | ErrorCode::Aws | ErrorCode::Io => 1,
        }
    }
}

/// An error that knows its code.
pub trait Coded {
    /// The code.
    fn code(&self) -> ErrorCode;
}

impl Coded for IntegrationError {
    fn code(&self) -> ErrorCode {
        match self {
            IntegrationError::NotFound { .. } => ErrorCode::NotFound,
            _ => ErrorCode::InvalidInput,
        }
    }
}

impl Coded for CostQueryError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

impl Coded for AccountIdError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

impl Coded for GuardError {
    fn code(&self) -> ErrorCode {
        ErrorCode::QueryRejected
    }
}

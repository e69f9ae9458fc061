//! Error codes: what a caller (the CLI's exit code, the front end) acts on.
//! Every error type of the product says which code it is.

use serde::Serialize;

use crate::account::AccountIdError;
use crate::cost::CostQueryError;
use crate::guard::GuardError;
use crate::integration::IntegrationError;

/// What kind of failure an error is: chosen once per error type by what
/// went wrong, never by where it was caught. The CLI maps it to an exit code
/// and a hint; the front end branches on it (it crosses to TypeScript as a
/// union of these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
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
    /// An integration is not healthy (drift, half-made, unhealthy billing
    /// view): repairing it is the way forward.
    NotHealthy,
    /// The user stopped the operation.
    Cancelled,
    /// The OS keyring refused or is unavailable.
    Keyring,
    /// The query engine failed.
    Engine,
    /// AWS refused or failed; the message says what to do.
    Aws,
    /// Reading or writing files failed.
    Io,
    /// `vi verify` ran and a check failed (the report says which).
    NotVerified,
}

impl ErrorCode {
    /// Its wire name (`invalid_input`, `not_healthy`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::QueryRejected => "query_rejected",
            ErrorCode::NotAWorkspace => "not_a_workspace",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NotHealthy => "not_healthy",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Keyring => "keyring",
            ErrorCode::Engine => "engine",
            ErrorCode::Aws => "aws",
            ErrorCode::Io => "io",
            ErrorCode::NotVerified => "not_verified",
        }
    }

    /// The process exit code the CLI uses: 2 invalid input, 3 query
    /// rejected, 4 a verification failed, 1 anything else.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::InvalidInput | ErrorCode::NotFound | ErrorCode::NotAWorkspace => 2,
            ErrorCode::QueryRejected => 3,
            ErrorCode::NotVerified => 4,
            ErrorCode::Conflict
            | ErrorCode::NotHealthy
            | ErrorCode::Cancelled
            | ErrorCode::Keyring
            | ErrorCode::Engine
            | ErrorCode::Aws
            | ErrorCode::Io => 1,
        }
    }
}

/// A way forward that a caller can offer in its own words: the CLI names a
/// flag, the desktop a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// Some accounts are already in another integration: allowing shared
    /// accounts lets them be in both.
    AllowShared,
    /// Some accounts are not in the organization: its list shows which are.
    ListAccounts,
}

/// An error that knows its code.
pub trait Coded {
    /// The code.
    fn code(&self) -> ErrorCode;

    /// A way forward a caller can offer, if there is one.
    fn remedy(&self) -> Option<Remedy> {
        None
    }
}

impl Coded for IntegrationError {
    fn code(&self) -> ErrorCode {
        match self {
            IntegrationError::NotFound { .. } => ErrorCode::NotFound,
            _ => ErrorCode::InvalidInput,
        }
    }

    fn remedy(&self) -> Option<Remedy> {
        match self {
            IntegrationError::AccountsShared(_) | IntegrationError::AllLeftOut(_) => {
                Some(Remedy::AllowShared)
            }
            IntegrationError::UnknownAccounts(_) => Some(Remedy::ListAccounts),
            _ => None,
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

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn the_wire_name_is_the_serialized_name() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::NotFound,
            ErrorCode::QueryRejected,
            ErrorCode::NotAWorkspace,
            ErrorCode::Conflict,
            ErrorCode::NotHealthy,
            ErrorCode::Cancelled,
            ErrorCode::Keyring,
            ErrorCode::Engine,
            ErrorCode::Aws,
            ErrorCode::Io,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
    }
}

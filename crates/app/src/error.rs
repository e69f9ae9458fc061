//! Errors as the front end sees them: `{code, message}`, the message saying
//! what to do next. Nothing secret is ever in a message.

use costcarve_core::error::{Coded, ErrorCode};
use serde::Serialize;

/// An operation's failure, with the code the front end acts on.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened and what to do.
    pub message: String,
}

impl AppError {
    /// An error of this code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// From any coded error.
    pub fn from_coded<E: Coded + std::fmt::Display>(e: E) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

macro_rules! coded {
    ($($t:ty),*) => {$(
        impl From<$t> for AppError {
            fn from(e: $t) -> Self {
                Self::from_coded(e)
            }
        }
    )*};
}

coded!(
    costcarve_local::LocalError,
    costcarve_aws::WorkspaceError,
    costcarve_aws::AwsError,
    costcarve_core::integration::IntegrationError,
    costcarve_core::cost::CostQueryError,
    costcarve_core::guard::GuardError,
    costcarve_core::account::AccountIdError
);

impl From<costcarve_aws::connection::ConnectionError> for AppError {
    fn from(e: costcarve_aws::connection::ConnectionError) -> Self {
        use costcarve_aws::connection::ConnectionError as C;
        let code = match &e {
            C::Invalid(_) => ErrorCode::InvalidInput,
            C::NotFound { .. } => ErrorCode::NotFound,
            C::Io { .. } | C::Secret(_) => ErrorCode::Io,
        };
        Self::new(code, e.to_string())
    }
}

impl From<costcarve_aws::secrets::SecretError> for AppError {
    fn from(e: costcarve_aws::secrets::SecretError) -> Self {
        Self::new(ErrorCode::Io, e.to_string())
    }
}

impl From<costcarve_charts::ChartError> for AppError {
    fn from(e: costcarve_charts::ChartError) -> Self {
        Self::new(ErrorCode::InvalidInput, e.to_string())
    }
}

/// The wire shape of an error: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct IpcError {
    /// `invalid_input`, `not_found`, `query_rejected`, `not_a_workspace`,
    /// `conflict`, `engine`, `aws` or `io`.
    pub code: String,
    /// What happened and what to do next.
    pub message: String,
}

impl From<AppError> for IpcError {
    fn from(e: AppError) -> Self {
        let code = serde_json::to_value(e.code)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| "engine".into());
        Self {
            code,
            message: e.message,
        }
    }
}

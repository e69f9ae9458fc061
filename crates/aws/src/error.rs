//! AWS errors, classified into what the product acts on.

use aws_sdk_billing::error::{ProvideErrorMetadata, SdkError};
use costcarve_core::error::{Coded, ErrorCode};

/// What went wrong talking to AWS. Messages never carry credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    /// The thing does not exist (or no longer does).
    #[error("{what} was not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// AWS refused the request's content.
    #[error("AWS refused the request: {0}")]
    Invalid(String),
    /// The caller lacks a permission.
    #[error("access denied: {0}; grant the permission to the connection's role")]
    AccessDenied(String),
    /// An account quota was reached.
    #[error("AWS quota reached: {0}; delete unused billing views or ask AWS for a higher quota")]
    Quota(String),
    /// Too many requests; retried already.
    #[error("AWS is throttling requests: {0}; try again in a minute")]
    Throttled(String),
    /// The resource changed meanwhile, or is busy.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The billing view is not healthy.
    #[error("the billing view is not healthy: {0}")]
    Unhealthy(String),
    /// Waiting for a state took too long.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
    },
    /// A user's query failed on Athena; the message holds no value of the
    /// data.
    #[error("{0}")]
    QueryFailed(String),
    /// The user stopped it.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// The service could not be reached, or answered something else.
    #[error("AWS could not be reached or failed: {0}")]
    Service(String),
}

impl Coded for AwsError {
    fn code(&self) -> ErrorCode {
        match self {
            AwsError::NotFound { .. } => ErrorCode::NotFound,
            AwsError::Invalid(_) => ErrorCode::InvalidInput,
            AwsError::Conflict(_) => ErrorCode::Conflict,
            AwsError::Unhealthy(_) => ErrorCode::NotHealthy,
            AwsError::Cancelled(_) => ErrorCode::Cancelled,
            AwsError::QueryFailed(_) => ErrorCode::Engine,
            AwsError::AccessDenied(_)
            | AwsError::Quota(_)
            | AwsError::Throttled(_)
            | AwsError::Timeout { .. }
            | AwsError::Service(_) => ErrorCode::Aws,
        }
    }
}

/// Classifies an SDK error by its AWS error code.
pub(crate) fn classify<E, R>(what: &str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err
        .message()
        .map(String::from)
        .unwrap_or_else(|| match &err {
            SdkError::DispatchFailure(_) => "the endpoint could not be reached".into(),
            SdkError::TimeoutError(_) => "the request timed out".into(),
            _ => "no message".into(),
        });
    match code.as_str() {
        "ResourceNotFoundException"
        | "EntityNotFoundException"
        | "NoSuchKey"
        | "NoSuchBucket"
        | "UnknownResourceException" => AwsError::NotFound { what: what.into() },
        "ValidationException" | "InvalidRequestException" | "InvalidInputException" => {
            AwsError::Invalid(format!("{what}: {message}"))
        }
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            AwsError::AccessDenied(format!("{what}: {message}"))
        }
        "ServiceQuotaExceededException" => AwsError::Quota(message),
        "ThrottlingException" | "TooManyRequestsException" | "Throttling" | "SlowDown" => {
            AwsError::Throttled(message)
        }
        "ConflictException" => AwsError::Conflict(message),
        "BillingViewHealthStatusException" => AwsError::Unhealthy(message),
        "" => AwsError::Service(format!("{what}: {message}")),
        other => AwsError::Service(format!("{what}: {other}: {message}")),
    }
}

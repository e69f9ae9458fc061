//! The AWS workspace's error: what went wrong, mapped to a code once.

use costcarve_core::cost::CostQueryError;
use costcarve_core::error::{Coded, ErrorCode, Remedy};
use costcarve_core::guard::GuardError;
use costcarve_core::integration::IntegrationError;

use crate::connection::ConnectionError;
use crate::error::AwsError;
use crate::provision::ProvisionError;
use crate::secrets::SecretError;
use crate::state::StateError;

/// Why an operation on the AWS workspace failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The connection is unusable.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// Local state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The keyring failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// AWS failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The change breaks an integration rule.
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    /// The query was refused by the guard.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The cost query breaks a rule.
    #[error(transparent)]
    CostQuery(#[from] CostQueryError),
    /// Provisioning failed (and was rolled back, or needs repair).
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// The payer is not ready for CostCarve.
    #[error(
        "the connection's prerequisites are not met: {0}; test the connection for the full report"
    )]
    Prerequisites(String),
    /// Someone else changed the integration since this desktop last saw it.
    #[error("'{name}' was changed from another desktop since you last looked (revision {seen} here, {now} in AWS, now {accounts} accounts); your change was not applied: review the integration as it is now and apply your change again")]
    ConcurrentEdit {
        /// The integration.
        name: String,
        /// The revision this desktop had.
        seen: u64,
        /// The revision in AWS.
        now: u64,
        /// Its accounts in AWS.
        accounts: usize,
    },
    /// The integration is not in a state this operation can start from.
    #[error("'{name}' {reason}; repair it first")]
    NotHealthy {
        /// The integration.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An update failed and the previous state could not be restored.
    #[error("updating '{name}' failed ({cause}) and restoring its previous accounts failed too ({restore}); it needs repair")]
    NeedsRepair {
        /// The integration.
        name: String,
        /// Why the update failed.
        cause: String,
        /// Why the restore failed.
        restore: String,
    },
    /// A change of sharing failed; the previous sharing was put back.
    #[error("sharing '{name}' failed ({cause}); it is shared as before")]
    ShareRestored {
        /// The integration.
        name: String,
        /// Why.
        cause: String,
    },
    /// An update failed; the previous state was restored.
    #[error(
        "updating '{name}' failed ({cause}); its previous accounts were restored in both views"
    )]
    Restored {
        /// The integration.
        name: String,
        /// Why the update failed.
        cause: String,
    },
}

impl Coded for WorkspaceError {
    fn code(&self) -> ErrorCode {
        match self {
            WorkspaceError::Connection(e) => e.code(),
            WorkspaceError::Secret(e) => e.code(),
            WorkspaceError::Integration(e) => e.code(),
            WorkspaceError::Guard(e) => e.code(),
            WorkspaceError::CostQuery(e) => e.code(),
            WorkspaceError::Aws(e) => e.code(),
            WorkspaceError::Provision(e) => e.code(),
            WorkspaceError::ConcurrentEdit { .. } => ErrorCode::Conflict,
            WorkspaceError::State(_) => ErrorCode::Io,
            WorkspaceError::NotHealthy { .. } | WorkspaceError::NeedsRepair { .. } => {
                ErrorCode::NotHealthy
            }
            WorkspaceError::Prerequisites(_)
            | WorkspaceError::Restored { .. }
            | WorkspaceError::ShareRestored { .. } => ErrorCode::Aws,
        }
    }

    fn remedy(&self) -> Option<Remedy> {
        match self {
            WorkspaceError::Integration(e) => e.remedy(),
            _ => None,
        }
    }
}

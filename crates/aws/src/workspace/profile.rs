//! An integration's presentation profile on AWS: recorded as tags on its
//! billing view (beside its rules), so a second desktop on the same payer
//! reads it back with the view. Writing it changes no filter, no view and
//! no share, so there is nothing to journal: the tags are written whole or
//! the call fails and the earlier profile stands.

use costcarve_core::presentation::PresentationProfile;

use super::{AwsWorkspace, ManagedIntegration, Status, WorkspaceError};

impl AwsWorkspace {
    /// Sets (or, with the default profile, clears) how `name` is shown to
    /// its customer.
    pub async fn set_profile(
        &self,
        name: &str,
        profile: PresentationProfile,
    ) -> Result<ManagedIntegration, WorkspaceError> {
        let _turn = self.saga.lock().await;
        self.sync().await?;
        let m = self.integration(name).await?;
        if let Status::NeedsRepair { reason } = &m.status {
            return Err(WorkspaceError::NotHealthy {
                name: m.integration.name.to_string(),
                reason: format!("needs repair ({reason})"),
            });
        }
        let mut set = self.integration_set();
        let next = set.set_profile(name, profile, self.clock.now())?;
        self.billing.put_profile(&m.billing_view_arn, &next).await?;
        self.sync().await?;
        self.integration(name).await
    }
}

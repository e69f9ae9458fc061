//! A user's SQL on Athena, confined by the guard to the integration's view.

use tokio_util::sync::CancellationToken;

use costcarve_core::guard::{self, Target};

use super::{AwsWorkspace, ManagedIntegration, WorkspaceError};
use crate::athena::QueryAnswer;

impl AwsWorkspace {
    /// What a query on `m` is confined to: its view.
    pub(super) fn target(&self, m: &ManagedIntegration) -> Result<Target, WorkspaceError> {
        Ok(Target::new([
            self.connection.views_database.clone(),
            m.integration.view_name(),
        ])?)
    }

    /// The Athena text a user's query would run as, after the guard.
    pub async fn explain(&self, name: &str, sql: &str) -> Result<String, WorkspaceError> {
        let m = self.integration(name).await?;
        Ok(guard::confine(sql, &self.target(&m)?)?.text().to_string())
    }

    /// Runs a user's query on Athena, confined to the integration's view,
    /// in the connection's workgroup; `cancel` stops it, and so does
    /// `timeout` (default [`crate::athena::QUERY_TIMEOUT`]).
    pub async fn sql(
        &self,
        name: &str,
        sql: &str,
        max_rows: usize,
        timeout: Option<std::time::Duration>,
        cancel: &CancellationToken,
    ) -> Result<QueryAnswer, WorkspaceError> {
        let m = self.healthy(name).await?;
        let confined = guard::confine(sql, &self.target(&m)?)?;
        let timeout = timeout.unwrap_or(crate::athena::QUERY_TIMEOUT);
        Ok(self
            .athena
            .query(confined.text(), max_rows, &self.s3, cancel, timeout)
            .await?)
    }
}

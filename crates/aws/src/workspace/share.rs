//! Sharing an integration's billing view with the customer's own accounts
//! through RAM, so they open Cost Explorer on it in their own account. Only
//! the integration's members may receive its view; the accounts it is shared
//! with are recorded on the billing view (what drift is judged by), and the
//! share follows the integration: members removed are unshared first, a new
//! billing view ARN is shared instead of the old, and the share goes before
//! the view on delete. Each change is journaled like the other sagas.

use std::collections::BTreeSet;

use costcarve_core::account::AccountId;
use costcarve_core::integration::{IntegrationError, VirtualIntegration};

use super::saga::Intent;
use super::status::strs;
use super::{AwsWorkspace, ManagedIntegration, Status, WorkspaceError};
use crate::billing::MAX_SHARED;
use crate::error::AwsError;
use crate::ram::ResourceShare;

/// How an integration's share differs from what CostCarve recorded, in
/// words; `None` when it is exactly that.
pub(super) fn share_drift(
    recorded: &BTreeSet<AccountId>,
    share: Option<&ResourceShare>,
    view_arn: &str,
) -> Option<String> {
    let want = strs(recorded);
    match share {
        None if want.is_empty() => None,
        None => Some(format!(
            "its resource share was deleted outside CostCarve (it shared the view with {})",
            list(&want)
        )),
        Some(s) if s.principals != want => Some(format!(
            "its resource share was changed outside CostCarve: it shares the view with {} instead of {}",
            list(&s.principals),
            list(&want)
        )),
        Some(s) if !want.is_empty() && s.resources != BTreeSet::from([view_arn.to_string()]) => {
            Some(format!(
                "its resource share was changed outside CostCarve: it holds {} instead of the billing view",
                list(&s.resources)
            ))
        }
        Some(_) => None,
    }
}

fn list(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "no one".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

impl AwsWorkspace {
    /// Shares the integration's billing view with `accounts` (`add`), or
    /// stops sharing it with them. Only the integration's own members may
    /// receive it: anything else is refused before any change.
    pub async fn share(
        &self,
        name: &str,
        accounts: BTreeSet<AccountId>,
        add: bool,
    ) -> Result<ManagedIntegration, WorkspaceError> {
        let _turn = self.saga.lock().await;
        self.sync().await?;
        let m = self.integration(name).await?;
        let vi = &m.integration;
        if let Status::NeedsRepair { reason } = &m.status {
            return Err(WorkspaceError::NotHealthy {
                name: vi.name.to_string(),
                reason: format!("needs repair ({reason})"),
            });
        }
        let before = m.shared_with.clone();
        let after: BTreeSet<AccountId> = if add {
            let outside: Vec<String> = accounts
                .iter()
                .filter(|a| !vi.accounts.contains(*a))
                .map(ToString::to_string)
                .collect();
            if !outside.is_empty() {
                return Err(IntegrationError::ShareOutside {
                    accounts: outside,
                    integration: vi.name.to_string(),
                }
                .into());
            }
            before.union(&accounts).cloned().collect()
        } else {
            let not: Vec<String> = accounts
                .iter()
                .filter(|a| !before.contains(*a))
                .map(ToString::to_string)
                .collect();
            if !not.is_empty() {
                return Err(IntegrationError::NotShared {
                    accounts: not,
                    integration: vi.name.to_string(),
                }
                .into());
            }
            before.difference(&accounts).cloned().collect()
        };
        if after.len() > MAX_SHARED {
            return Err(IntegrationError::TooManyShared(after.len()).into());
        }
        self.change_share(vi, &m.billing_view_arn, &before, &after)
            .await?;
        self.sync().await?;
        self.integration(name).await
    }

    /// Takes the integration's share from `before` to `after`, journaled;
    /// on failure `before` is put back.
    pub(super) async fn change_share(
        &self,
        vi: &VirtualIntegration,
        arn: &str,
        before: &BTreeSet<AccountId>,
        after: &BTreeSet<AccountId>,
    ) -> Result<(), WorkspaceError> {
        self.journal(&Intent::Share {
            integration: vi.clone(),
            billing_view_arn: arn.to_string(),
            before: before.clone(),
            after: after.clone(),
        })?;
        let result = match self.put_share(vi, arn, after).await {
            Ok(()) => Ok(()),
            Err(cause) => match self.put_share(vi, arn, before).await {
                Ok(()) => Err(WorkspaceError::ShareRestored {
                    name: vi.name.to_string(),
                    cause: cause.to_string(),
                }),
                Err(restore) => Err(WorkspaceError::NeedsRepair {
                    name: vi.name.to_string(),
                    cause: cause.to_string(),
                    restore: restore.to_string(),
                }),
            },
        };
        self.journal_done()?;
        result
    }

    /// Makes the integration's share exactly `want` (none when empty) over
    /// the billing view at `arn`, records it on the view, and reads it back.
    pub(super) async fn put_share(
        &self,
        vi: &VirtualIntegration,
        arn: &str,
        want: &BTreeSet<AccountId>,
    ) -> Result<(), AwsError> {
        let id = vi.id.to_string();
        let principals = strs(want);
        let current = self.shares.of(&id).await?;
        match (&current, want.is_empty()) {
            (None, true) => {}
            (Some(s), true) => self.shares.delete(&s.arn).await?,
            (None, false) => {
                let token = format!("costcarve-{id}-{}", uuid::Uuid::new_v4().simple());
                self.shares.create(vi, arn, &principals, &token).await?;
            }
            (Some(s), false) => {
                // Principals that go, go first; then the view is the only
                // resource; then the new principals come.
                let gone: Vec<String> = s.principals.difference(&principals).cloned().collect();
                let stale: Vec<String> =
                    s.resources.iter().filter(|r| *r != arn).cloned().collect();
                self.shares.disassociate(&s.arn, gone, stale).await?;
                let new: Vec<String> = principals.difference(&s.principals).cloned().collect();
                let missing: Vec<String> = if s.resources.contains(arn) {
                    vec![]
                } else {
                    vec![arn.to_string()]
                };
                self.shares.associate(&s.arn, new, missing).await?;
            }
        }
        self.billing.put_shared(arn, want).await?;
        let now = self.shares.of(&id).await?;
        if let Some(problem) = share_drift(want, now.as_ref(), arn) {
            return Err(AwsError::Conflict(format!("read back, {problem}")));
        }
        Ok(())
    }
}

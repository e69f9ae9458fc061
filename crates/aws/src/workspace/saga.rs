//! The mutations — create, update, repair, delete — as sagas: each writes
//! its intent to the journal before touching AWS, checks what it made by
//! reading it back, and undoes or finishes itself on failure; what a crash
//! interrupted is finished or undone by [`AwsWorkspace::recover`] on the
//! next open. Mutations take turns (one journal).

use std::collections::BTreeSet;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use costcarve_core::account::AccountId;
use costcarve_core::integration::{
    AccountDiff, IntegrationChange, IntegrationError, NewIntegration, VirtualIntegration,
};
use costcarve_core::membership::LeftOut;

use super::share::share_drift;
use super::status::strs;
use super::{AwsWorkspace, ManagedIntegration, Status, WorkspaceError, JOURNAL};
use crate::billing::{self, account_digest, TAG_INTEGRATION_ID};
use crate::error::AwsError;
use crate::provision::ProvisionError;
use crate::secrets::{Secret, SecretKey};

/// An AWS mutation under way, written before it starts.
// One is made per change and written to the journal at once; boxing the
// integrations would only add noise to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Intent {
    Create {
        integration: VirtualIntegration,
    },
    Update {
        before: VirtualIntegration,
        after: VirtualIntegration,
        billing_view_arn: String,
    },
    Delete {
        integration: VirtualIntegration,
        billing_view_arn: Option<String>,
    },
    /// An import: the integrations not yet made (or half-made).
    CreateMany {
        integrations: Vec<VirtualIntegration>,
    },
    /// Sharing the billing view: from `before` to `after`.
    Share {
        integration: VirtualIntegration,
        billing_view_arn: String,
        before: BTreeSet<AccountId>,
        after: BTreeSet<AccountId>,
    },
}

/// A create that failed, and whether what it made is gone again.
struct Unmade {
    error: WorkspaceError,
    clean: bool,
}

impl AwsWorkspace {
    pub(super) fn journal(&self, intent: &Intent) -> Result<(), WorkspaceError> {
        Ok(self.state.write(JOURNAL, intent)?)
    }

    pub(super) fn journal_done(&self) -> Result<(), WorkspaceError> {
        Ok(self.state.remove(JOURNAL)?)
    }

    /// Creates an integration: both views at once, validated, then its
    /// secret in the keyring; on any failure what was made is removed.
    pub async fn create(&self, new: NewIntegration) -> Result<ManagedIntegration, WorkspaceError> {
        Ok(self.create_reporting(new).await?.0)
    }

    /// [`Self::create`], saying which accounts the rules name but leave out.
    pub async fn create_reporting(
        &self,
        new: NewIntegration,
    ) -> Result<(ManagedIntegration, Vec<LeftOut>), WorkspaceError> {
        // The rules that need nothing from AWS are checked before any call.
        new.check_alone()?;
        let _turn = self.saga.lock().await;
        self.sync().await?;
        let org = self.organization(false, &|_| {}).await?.organization;
        let mut set = self.integration_set();
        let (vi, left_out) = set.create_reporting(&org, new, self.clock.now())?;
        self.require_prerequisites().await?;
        self.journal(&Intent::Create {
            integration: vi.clone(),
        })?;
        match self.provision(&vi).await {
            Ok(managed) => {
                self.journal_done()?;
                Ok((managed, left_out))
            }
            Err(Unmade { error, clean }) => {
                if clean {
                    self.journal_done()?;
                }
                Err(error)
            }
        }
    }

    /// Creates many integrations, `concurrency` at a time: all are checked
    /// against the rules (and each other) before anything is made; each is
    /// then made as [`Self::create`] makes one, and `done` hears of each
    /// outcome as it comes (by its index in `news`). One that fails leaves
    /// nothing behind and does not stop the others. A crash meanwhile is
    /// undone on the next open for those not finished.
    pub async fn create_many(
        &self,
        news: Vec<NewIntegration>,
        concurrency: usize,
        done: &(dyn Fn(usize, &Result<ManagedIntegration, WorkspaceError>) + Send + Sync),
    ) -> Result<Vec<Result<ManagedIntegration, WorkspaceError>>, WorkspaceError> {
        for new in &news {
            new.check_alone()?;
        }
        let _turn = self.saga.lock().await;
        self.sync().await?;
        let org = self.organization(false, &|_| {}).await?.organization;
        let mut set = self.integration_set();
        let now = self.clock.now();
        let made: Vec<VirtualIntegration> = news
            .into_iter()
            .map(|n| set.create(&org, n, now))
            .collect::<Result<_, _>>()?;
        self.require_prerequisites().await?;
        self.journal(&Intent::CreateMany {
            integrations: made.clone(),
        })?;
        // Those not finished yet (or half-made): what recovery would undo.
        let open = std::sync::Mutex::new(made.clone());
        let one = |(i, vi): (usize, VirtualIntegration)| {
            let open = &open;
            async move {
                let outcome = self.provision(&vi).await;
                let finished = match &outcome {
                    Ok(_) => true,
                    Err(unmade) => unmade.clean,
                };
                let mut outcome = outcome.map_err(|u| u.error);
                if finished {
                    let mut left = super::lock(open);
                    let rest: Vec<VirtualIntegration> =
                        left.iter().filter(|x| x.id != vi.id).cloned().collect();
                    // Should this fail, the journal still names it and the
                    // next open removes it: said here, not hidden.
                    match self.journal(&Intent::CreateMany {
                        integrations: rest.clone(),
                    }) {
                        Ok(()) => *left = rest,
                        Err(e) => outcome = Err(e),
                    }
                }
                done(i, &outcome);
                (i, outcome)
            }
        };
        let mut outcomes: Vec<(usize, Result<ManagedIntegration, WorkspaceError>)> =
            futures::stream::iter(made.into_iter().enumerate())
                .map(one)
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        if super::lock(&open).is_empty() {
            self.journal_done()?;
        }
        outcomes.sort_by_key(|(i, _)| *i);
        Ok(outcomes.into_iter().map(|(_, o)| o).collect())
    }

    /// Makes one checked integration in AWS (both views, then its secret)
    /// and remembers it; on failure removes what it made.
    async fn provision(&self, vi: &VirtualIntegration) -> Result<ManagedIntegration, Unmade> {
        let made = match self.provisioner.create(vi).await {
            Ok(made) => made,
            Err(e) => {
                return Err(Unmade {
                    clean: matches!(e, ProvisionError::RolledBack { .. }),
                    error: e.into(),
                })
            }
        };
        let key = SecretKey::integration(self.payer.as_str(), &vi.id.to_string());
        if let Err(e) = self.secrets.set(&key, &Secret::random()) {
            return Err(
                match self
                    .provisioner
                    .delete(vi, Some(&made.billing_view_arn))
                    .await
                {
                    Ok(()) => Unmade {
                        error: e.into(),
                        clean: true,
                    },
                    Err(cleanup) => Unmade {
                        error: ProvisionError::NeedsRepair {
                            step: "storing the integration secret",
                            source: AwsError::Service(e.to_string()),
                            cleanup: cleanup.to_string(),
                        }
                        .into(),
                        clean: false,
                    },
                },
            );
        }
        let managed = ManagedIntegration {
            athena_accounts: Some(vi.accounts.clone()),
            integration: vi.clone(),
            billing_view_arn: made.billing_view_arn,
            status: Status::Healthy,
            shared_with: BTreeSet::new(),
        };
        self.remember(|k| {
            k.integrations.push(managed.clone());
            k.integrations
                .sort_by(|a, b| a.integration.name.cmp(&b.integration.name));
        })
        .map_err(|error| Unmade { error, clean: true })?;
        Ok(managed)
    }

    /// Changes an integration's accounts (or name) in both views, validated
    /// by reading them back; on failure the previous state is restored.
    /// Refused when the payer holds a newer revision than this desktop saw.
    pub async fn update(
        &self,
        name: &str,
        change: IntegrationChange,
    ) -> Result<(ManagedIntegration, AccountDiff), WorkspaceError> {
        let _turn = self.saga.lock().await;
        let seen = self.integration(name).await?;
        let current = self
            .billing
            .integration_view(&seen.billing_view_arn, &self.expected()?.primary)
            .await?
            .ok_or_else(|| IntegrationError::NotFound {
                name: name.into(),
                known: vec![],
            })?;
        let now_rev = billing::recorded(&current.description)
            .map(|r| r.revision)
            .unwrap_or(0);
        if now_rev != seen.integration.revision
            || current.accounts != strs(&seen.integration.accounts)
        {
            // Bring this desktop up to date, so `vi show` tells the truth.
            self.sync().await?;
            return Err(WorkspaceError::ConcurrentEdit {
                name: seen.integration.name.to_string(),
                seen: seen.integration.revision,
                now: now_rev,
                accounts: current.accounts.len(),
            });
        }
        if seen.status != Status::Healthy {
            return Err(WorkspaceError::NotHealthy {
                name: seen.integration.name.to_string(),
                reason: format!("is {}", seen.status.label()),
            });
        }
        let org = self.organization(false, &|_| {}).await?.organization;
        let mut set = self.integration_set();
        let (after, diff) = set.update(&org, name, change, self.clock.now())?;
        let before = seen.integration.clone();
        let arn = seen.billing_view_arn.clone();
        // An account leaving the integration loses its view before anything
        // else changes (the share only ever grants members).
        let shared = seen.shared_with.clone();
        let kept: BTreeSet<AccountId> = shared.intersection(&after.accounts).cloned().collect();
        if kept != shared {
            self.change_share(&before, &arn, &shared, &kept).await?;
        }
        self.journal(&Intent::Update {
            before: before.clone(),
            after: after.clone(),
            billing_view_arn: arn.clone(),
        })?;
        let outcome = self.apply(&before, &after, &arn).await;
        let result = match outcome {
            Ok(new_arn) => Ok(new_arn),
            Err(cause) => match self.apply(&after, &before, &arn).await {
                Ok(_) => Err(WorkspaceError::Restored {
                    name: after.name.to_string(),
                    cause: cause.to_string(),
                }),
                Err(restore) => Err(WorkspaceError::NeedsRepair {
                    name: after.name.to_string(),
                    cause: cause.to_string(),
                    restore: restore.to_string(),
                }),
            },
        };
        self.journal_done()?;
        self.forget_costs(&arn)?;
        let new_arn = match result {
            Ok(new_arn) => new_arn,
            Err(e) => {
                self.sync().await?;
                return Err(e);
            }
        };
        if new_arn != arn && !kept.is_empty() {
            // A new billing view (one view <-> an aggregate): the share
            // holds it instead of the old one.
            self.change_share(&after, &new_arn, &kept, &kept).await?;
        }
        let managed = ManagedIntegration {
            athena_accounts: Some(after.accounts.clone()),
            integration: after,
            billing_view_arn: new_arn,
            status: Status::Healthy,
            shared_with: kept,
        };
        self.remember(|k| {
            for m in &mut k.integrations {
                if m.integration.id == managed.integration.id {
                    *m = managed.clone();
                }
            }
        })?;
        Ok((managed, diff))
    }

    /// Writes `to` into both views (concurrently), waits for the billing
    /// view, drops the old Athena view after a rename, and validates both
    /// by reading them back. Returns the billing view's ARN afterwards: the
    /// same, unless `to` crosses between one view and an aggregate (more
    /// than 200 accounts), when the new layout is made and checked first
    /// and the old one deleted only once everything else succeeded.
    async fn apply(
        &self,
        from: &VirtualIntegration,
        to: &VirtualIntegration,
        arn: &str,
    ) -> Result<String, AwsError> {
        let current = self
            .billing
            .get(arn)
            .await?
            .ok_or_else(|| AwsError::NotFound {
                what: format!("billing view {arn}"),
            })?;
        let reshape = (current.filter_extras == ["no filter"]) != billing::is_aggregate(to);
        let billing_branch = async {
            if reshape {
                let new_arn = self.provisioner.create_billing(to).await?;
                let view = self.provisioner.wait_healthy(&new_arn).await;
                return Ok::<_, AwsError>((new_arn, view));
            }
            self.provisioner.update_billing(arn, to).await?;
            if from.effective_rules() != to.effective_rules() {
                self.billing.put_rules(arn, to).await?;
            }
            Ok((arn.to_string(), self.provisioner.wait_healthy(arn).await))
        };
        let athena_branch = async {
            let run = self.athena.put_view(to).await?;
            if from.view_name() != to.view_name() {
                self.athena.drop_view(&from.view_name()).await?;
            }
            Ok::<_, AwsError>(run)
        };
        let (made, run) = tokio::join!(billing_branch, athena_branch);
        let (new_arn, view) = made?;
        let checked = self.check_applied(to, view, run).await;
        if reshape {
            // The old layout goes only when the new one is all there; else
            // the new one goes and the old one stands as it was.
            let cleanup = match &checked {
                Ok(()) => self.provisioner.delete_billing(arn).await,
                Err(_) => self.provisioner.delete_billing(&new_arn).await,
            };
            checked?;
            cleanup?;
        } else {
            checked?;
        }
        Ok(new_arn)
    }

    /// Whether both views, read back, are exactly `to`.
    async fn check_applied(
        &self,
        to: &VirtualIntegration,
        view: Result<billing::BillingView, AwsError>,
        run: Result<crate::athena::Execution, AwsError>,
    ) -> Result<(), AwsError> {
        let want = strs(&to.accounts);
        let (view, run) = (view?, run?);
        if view.accounts != want {
            return Err(AwsError::Conflict(format!(
                "read back, the billing view filters {} accounts, not the {} intended",
                view.accounts.len(),
                want.len()
            )));
        }
        crate::provision::ran_as_made(self.athena.place(), &run.query, to)
            .map_err(AwsError::Conflict)?;
        let stored = self
            .catalog
            .view_definition(&self.connection.views_database, &to.view_name())
            .await?;
        let problem = match stored {
            None => Some("does not exist".to_string()),
            Some(Err(not_ours)) => Some(format!("is not CostCarve's view: {not_ours}")),
            Some(Ok(def)) => crate::provision::defines(self.athena.place(), &def, to).err(),
        };
        if let Some(problem) = problem {
            return Err(AwsError::Conflict(format!(
                "read back, the Athena view {} {problem}",
                to.view_name()
            )));
        }
        Ok(())
    }

    /// Makes both views agree again: with the accounts CostCarve last wrote
    /// (the set whose digest the billing view records), else with the
    /// billing view's; recreates a missing Athena view.
    pub async fn repair(&self, name: &str) -> Result<ManagedIntegration, WorkspaceError> {
        let _turn = self.saga.lock().await;
        self.sync().await?;
        let m = self.integration(name).await?;
        if !self.secret_present(&m.integration)? {
            let key = SecretKey::integration(self.payer.as_str(), &m.integration.id.to_string());
            self.secrets.set(&key, &Secret::random())?;
        }
        let share = match self.shares.of(&m.integration.id.to_string()).await {
            Ok(share) => share,
            Err(AwsError::AccessDenied(_)) if m.shared_with.is_empty() => None,
            Err(e) => return Err(e.into()),
        };
        if share_drift(&m.shared_with, share.as_ref(), &m.billing_view_arn).is_some() {
            // Shared again exactly as CostCarve recorded it.
            self.change_share(
                &m.integration,
                &m.billing_view_arn,
                &m.shared_with,
                &m.shared_with,
            )
            .await?;
        }
        if self.views_now(&m).await? == Status::Healthy {
            // Only the secret was missing: the views stay as they are.
            self.sync().await?;
            return self.integration(name).await;
        }
        let view = self
            .billing
            .integration_view(&m.billing_view_arn, &self.expected()?.primary)
            .await?
            .ok_or_else(|| IntegrationError::NotFound {
                name: name.into(),
                known: vec![],
            })?;
        let recorded = billing::recorded(&view.description);
        let digest = recorded.as_ref().map(|r| r.digest.clone());
        let athena = m.athena_accounts.clone().map(|s| strs(&s));
        let target: BTreeSet<String> = match (&digest, &athena) {
            (Some(d), Some(a))
                if account_digest(view.accounts.iter().map(String::as_str)) != *d
                    && account_digest(a.iter().map(String::as_str)) == *d =>
            {
                a.clone()
            }
            _ => view.accounts.clone(),
        };
        let mut after = m.integration.clone();
        after.accounts = target.iter().filter_map(|a| a.parse().ok()).collect();
        after.revision = recorded.map(|r| r.revision).unwrap_or(0) + 1;
        after.updated_at = self.clock.now();
        let before = m.integration.clone();
        self.journal(&Intent::Update {
            before: before.clone(),
            after: after.clone(),
            billing_view_arn: m.billing_view_arn.clone(),
        })?;
        let result = self.apply(&before, &after, &m.billing_view_arn).await;
        if result.is_ok() {
            self.journal_done()?;
        }
        result?;
        self.forget_costs(&m.billing_view_arn)?;
        self.sync().await?;
        self.integration(name).await
    }

    /// Deletes an integration: its Athena view, its billing view and its
    /// secret. Whatever is already gone is fine.
    pub async fn delete(&self, name: &str) -> Result<VirtualIntegration, WorkspaceError> {
        let _turn = self.saga.lock().await;
        let m = self.integration(name).await?;
        self.journal(&Intent::Delete {
            integration: m.integration.clone(),
            billing_view_arn: Some(m.billing_view_arn.clone()),
        })?;
        self.remove_everything(&m.integration, Some(&m.billing_view_arn))
            .await?;
        self.journal_done()?;
        self.remember(|k| {
            k.integrations
                .retain(|x| x.integration.id != m.integration.id)
        })?;
        self.forget_costs(&m.billing_view_arn)?;
        Ok(m.integration)
    }

    /// Removes an Athena view no integration owns (found by [`Self::sync`]).
    pub async fn drop_orphan_view(&self, view: &str) -> Result<(), WorkspaceError> {
        let _turn = self.saga.lock().await;
        let orphans = self.orphan_views();
        if !orphans.iter().any(|v| v == view) {
            return Err(AwsError::NotFound {
                what: format!(
                    "an orphan view {view} (orphans now: {})",
                    if orphans.is_empty() {
                        "none".to_string()
                    } else {
                        orphans.join(", ")
                    }
                ),
            }
            .into());
        }
        self.athena.drop_view(view).await?;
        self.sync().await?;
        Ok(())
    }

    async fn remove_everything(
        &self,
        vi: &VirtualIntegration,
        arn: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        // The share goes before the view it shares. An identity that may
        // not read shares has none to remove (it could not have made one).
        match self.shares.of(&vi.id.to_string()).await {
            Ok(Some(share)) => self.shares.delete(&share.arn).await?,
            Ok(None) | Err(AwsError::AccessDenied(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.provisioner.delete(vi, arn).await?;
        self.secrets.delete(&SecretKey::integration(
            self.payer.as_str(),
            &vi.id.to_string(),
        ))?;
        Ok(())
    }

    /// Finishes an update a crash interrupted. A change of layout (one view
    /// ↔ an aggregate) may have left a second billing side for the
    /// integration: everything but the one at `arn` goes before the update
    /// is made again (when `arn` itself is gone, the newer one is kept).
    async fn finish_update(
        &self,
        before: &VirtualIntegration,
        after: &VirtualIntegration,
        arn: &str,
    ) -> Result<String, AwsError> {
        let id = after.id.to_string();
        let mains: Vec<String> = self
            .billing
            .list_managed()
            .await?
            .into_iter()
            .filter(|v| {
                v.tags.get(TAG_INTEGRATION_ID) == Some(&id)
                    && !v.tags.contains_key(billing::TAG_ROLE)
            })
            .map(|v| v.arn)
            .collect();
        let keep = if mains.iter().any(|m| m == arn) {
            arn.to_string()
        } else {
            mains.last().cloned().unwrap_or_else(|| arn.to_string())
        };
        for other in mains.iter().filter(|m| **m != keep) {
            self.provisioner.delete_billing(other).await?;
        }
        self.apply(before, after, &keep).await
    }

    /// Removes whatever a create interrupted had made. The billing view may
    /// exist without its ARN having reached us: it is found by the
    /// integration id it is tagged with.
    async fn undo_create(&self, integration: &VirtualIntegration) -> Result<(), WorkspaceError> {
        let mut views: Vec<(bool, String)> = self
            .billing
            .list_managed()
            .await?
            .into_iter()
            .filter(|v| v.tags.get(TAG_INTEGRATION_ID) == Some(&integration.id.to_string()))
            .map(|v| (v.tags.contains_key(billing::TAG_ROLE), v.arn))
            .collect();
        // An aggregate view before its source views (a source view cannot
        // go while a view is derived from it).
        views.sort();
        self.remove_everything(integration, None).await?;
        for (_, arn) in &views {
            self.billing.delete(arn).await?;
        }
        self.remember(|k| {
            k.integrations
                .retain(|m| m.integration.id != integration.id)
        })?;
        Ok(())
    }

    /// Finishes (update, delete) or undoes (create) an operation a crash
    /// interrupted, as its journal entry says; what it did, in a line.
    pub(super) async fn recover(&self) -> Result<Option<String>, WorkspaceError> {
        let _turn = self.saga.lock().await;
        let Some(intent) = self.state.read::<Intent>(JOURNAL)? else {
            return Ok(None);
        };
        let message = match &intent {
            Intent::Create { integration } => {
                self.undo_create(integration).await?;
                format!(
                    "creating '{}' was interrupted; what it had made was removed: create it again",
                    integration.name
                )
            }
            Intent::CreateMany { integrations } => {
                for integration in integrations {
                    self.undo_create(integration).await?;
                }
                let names: Vec<String> =
                    integrations.iter().map(|v| format!("'{}'", v.name)).collect();
                format!(
                    "an import was interrupted; what it had begun of {} was removed: import again to make {}",
                    names.join(", "),
                    if names.len() == 1 { "it" } else { "them" }
                )
            }
            Intent::Update {
                before,
                after,
                billing_view_arn,
            } => match self.finish_update(before, after, billing_view_arn).await {
                Ok(_) => format!(
                    "updating '{}' was interrupted and has now been finished ({} accounts)",
                    after.name,
                    after.accounts.len()
                ),
                Err(e) => format!(
                    "updating '{}' was interrupted and could not be finished ({e}); it needs repair",
                    after.name
                ),
            },
            Intent::Share {
                integration,
                billing_view_arn,
                after,
                ..
            } => match self.put_share(integration, billing_view_arn, after).await {
                Ok(()) => format!(
                    "sharing '{}' was interrupted and has now been finished (shared with {})",
                    integration.name,
                    after.len()
                ),
                Err(e) => format!(
                    "sharing '{}' was interrupted and could not be finished ({e}); it needs repair",
                    integration.name
                ),
            },
            Intent::Delete {
                integration,
                billing_view_arn,
            } => {
                self.remove_everything(integration, billing_view_arn.as_deref()).await?;
                format!("deleting '{}' was interrupted and has now been finished", integration.name)
            }
        };
        self.journal_done()?;
        self.sync().await?;
        Ok(Some(message))
    }
}

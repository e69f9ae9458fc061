//! The AWS workspace: one payer reached through a connection. The payer is
//! the source of truth — integrations are rebuilt from the billing views
//! CostCarve tagged and the Athena views beside them — and this desktop
//! keeps only a cache of that, an organization cache, the Cost Explorer
//! cache and an intent journal. Every AWS mutation is preceded by its
//! intent on disk, so an operation a crash interrupted is finished (update,
//! delete) or undone (create) the next time the workspace is opened.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use costcarve_core::account::{AccountId, Organization};
use costcarve_core::cost::{
    first_of_month, CostQuery, CostQueryError, CostSeries, Granularity, Metric,
};
use costcarve_core::error::{Coded, ErrorCode};
use costcarve_core::guard::{self, GuardError, Target};
use costcarve_core::integration::{
    AccountDiff, IntegrationChange, IntegrationError, IntegrationName, IntegrationSet,
    NewIntegration, VirtualIntegration,
};
use costcarve_core::ports::Clock;

use crate::athena::{accounts_in_ddl, Athena, QueryAnswer};
use crate::billing::{self, account_digest, BillingView, BillingViews, Health, TAG_INTEGRATION_ID};
use crate::catalog::Catalog;
use crate::connection::{Connection, ConnectionError};
use crate::cost_cache::{self, CostCache};
use crate::cost_explorer::{BillingViewArn, CostExplorer, Forecast};
use crate::error::AwsError;
use crate::org::{Organizations, Progress};
use crate::prereqs::{self, Report};
use crate::provision::{ProvisionError, Provisioner};
use crate::secrets::{Secret, SecretError, SecretKey, SecretStore};
use crate::state::{StateDir, StateError};

const KNOWN: &str = "integrations.json";
const JOURNAL: &str = "journal.json";
const ORG: &str = "organization.json";

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
            WorkspaceError::Prerequisites(_) | WorkspaceError::Restored { .. } => ErrorCode::Aws,
        }
    }

    fn remedy(&self) -> Option<costcarve_core::error::Remedy> {
        match self {
            WorkspaceError::Integration(e) => e.remedy(),
            _ => None,
        }
    }
}

/// Where an integration stands in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Both views exist and agree; Cost Explorer can answer.
    Healthy,
    /// The billing view is being created or updated.
    Provisioning,
    /// The billing view and the Athena view disagree (or were changed
    /// outside CostCarve); `vi repair` makes them agree again.
    Drift {
        /// How they differ.
        detail: String,
    },
    /// Something is missing or broken; `vi repair` fixes it.
    NeedsRepair {
        /// What.
        reason: String,
    },
}

impl Status {
    /// A word for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Provisioning => "provisioning",
            Status::Drift { .. } => "drift",
            Status::NeedsRepair { .. } => "needs repair",
        }
    }
}

/// An integration as it exists in the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedIntegration {
    /// The integration (accounts as the billing view filters them).
    pub integration: VirtualIntegration,
    /// Its billing view.
    pub billing_view_arn: String,
    /// The accounts its Athena view filters on; `None` if it is missing.
    pub athena_accounts: Option<BTreeSet<AccountId>>,
    /// Where it stands.
    pub status: Status,
}

/// What this desktop last saw in the payer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Known {
    version: u32,
    payer: Option<AccountId>,
    prerequisites_passed_at: Option<DateTime<Utc>>,
    synced_at: Option<DateTime<Utc>>,
    integrations: Vec<ManagedIntegration>,
    /// Athena views named like an integration's with no billing view.
    orphan_views: Vec<String>,
}

/// An AWS mutation under way, written before it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Intent {
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
}

/// The organization as last discovered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgSnapshot {
    /// When it was read from AWS.
    pub fetched_at: DateTime<Utc>,
    /// Organizations API calls the discovery took.
    pub calls: u64,
    /// How long it took, in milliseconds.
    pub millis: u64,
    /// The organization.
    pub organization: Organization,
}

/// What a cost query cost, and how fresh its answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CostUsage {
    /// Cost Explorer requests this answer made (USD 0.01 each).
    pub requests: u64,
    /// Requests made through this connection, ever.
    pub requests_total: u64,
    /// When the oldest part of the answer was read from Cost Explorer.
    pub fetched_at: DateTime<Utc>,
}

/// What opening the workspace found and did about interrupted operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// One line per operation finished or undone.
    pub messages: Vec<String>,
}

/// One payer, through one connection.
pub struct AwsWorkspace {
    connection: Connection,
    config: aws_config::SdkConfig,
    state: StateDir,
    secrets: Arc<dyn SecretStore>,
    clock: Arc<dyn Clock>,
    payer: AccountId,
    athena: Athena,
    billing: BillingViews,
    catalog: Catalog,
    s3: aws_sdk_s3::Client,
    ce: CostExplorer,
    orgs: Organizations,
    provisioner: Provisioner,
    known: Known,
    recovery: Recovery,
}

fn accounts_of(view: &BillingView) -> Result<BTreeSet<AccountId>, AwsError> {
    view.accounts
        .iter()
        .map(|a| {
            a.parse().map_err(|_| {
                AwsError::Service(format!(
                    "billing view {} filters on '{a}', not an account id",
                    view.arn
                ))
            })
        })
        .collect()
}

fn strs(accounts: &BTreeSet<AccountId>) -> BTreeSet<String> {
    accounts.iter().map(ToString::to_string).collect()
}

fn describe_difference(billing: &BTreeSet<String>, athena: &BTreeSet<String>) -> String {
    let only_billing: Vec<&str> = billing.difference(athena).map(String::as_str).collect();
    let only_athena: Vec<&str> = athena.difference(billing).map(String::as_str).collect();
    format!(
        "the billing view has {} accounts, the Athena view {}; only in the billing view: [{}]; only in the Athena view: [{}]",
        billing.len(),
        athena.len(),
        only_billing.join(", "),
        only_athena.join(", ")
    )
}

impl AwsWorkspace {
    /// Opens the payer behind `connection`, keeping this desktop's state
    /// under `data_dir`, and finishes or undoes any operation a crash
    /// interrupted (see [`Self::recovery`]).
    pub async fn open(
        connection: Connection,
        data_dir: &std::path::Path,
        secrets: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, WorkspaceError> {
        let config = connection.sdk_config(secrets.as_ref()).await?;
        let state = StateDir::new(data_dir, &connection.name);
        let mut known: Known = state.read(KNOWN)?.unwrap_or_default();
        let payer = match &known.payer {
            Some(p) => p.clone(),
            None => {
                let out = aws_sdk_sts::Client::new(&config)
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| crate::error::classify("sts:GetCallerIdentity", e))?;
                let payer: AccountId = out.account().unwrap_or_default().parse().map_err(|_| {
                    AwsError::Service("GetCallerIdentity returned no account id".into())
                })?;
                known.payer = Some(payer.clone());
                known.version = 1;
                state.write(KNOWN, &known)?;
                payer
            }
        };
        let athena = Athena::new(&config, connection.athena_place());
        let billing = BillingViews::new(&config);
        let provisioner = Provisioner::new(athena.clone(), billing.clone(), payer.clone());
        let mut ws = Self {
            catalog: Catalog::new(&config),
            s3: aws_sdk_s3::Client::new(&config),
            ce: CostExplorer::new(&config),
            orgs: Organizations::new(&config),
            connection,
            config,
            state,
            secrets,
            clock,
            payer,
            athena,
            billing,
            provisioner,
            known,
            recovery: Recovery { messages: vec![] },
        };
        ws.recover().await?;
        Ok(ws)
    }

    /// Shortens billing-view health polling (tests against emulators).
    pub fn with_health_polling(mut self, first_poll: Duration, timeout: Duration) -> Self {
        self.provisioner = self.provisioner.with_health_polling(first_poll, timeout);
        self
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The payer account.
    pub fn payer(&self) -> &AccountId {
        &self.payer
    }

    /// What opening did about interrupted operations.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The integrations as last seen in the payer (see [`Self::sync`]).
    pub fn integrations(&self) -> &[ManagedIntegration] {
        &self.known.integrations
    }

    /// Athena views named like an integration's that have no billing view.
    pub fn orphan_views(&self) -> &[String] {
        &self.known.orphan_views
    }

    /// When the integrations were last read from the payer.
    pub fn synced_at(&self) -> Option<DateTime<Utc>> {
        self.known.synced_at
    }

    fn save_known(&mut self) -> Result<(), WorkspaceError> {
        self.known.version = 1;
        self.state.write(KNOWN, &self.known)?;
        Ok(())
    }

    fn journal(&self, intent: &Intent) -> Result<(), WorkspaceError> {
        Ok(self.state.write(JOURNAL, intent)?)
    }

    fn journal_done(&self) -> Result<(), WorkspaceError> {
        Ok(self.state.remove(JOURNAL)?)
    }

    /// The prerequisites report for this connection.
    pub async fn check_prerequisites(&mut self) -> Result<Report, WorkspaceError> {
        let report = prereqs::check(&self.config, &self.connection).await;
        if report.ok() {
            self.known.prerequisites_passed_at = Some(self.clock.now());
            self.save_known()?;
        }
        Ok(report)
    }

    /// The organization: from the cache unless `refresh` or there is none.
    pub async fn organization(
        &mut self,
        refresh: bool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<OrgSnapshot, WorkspaceError> {
        if !refresh {
            if let Some(snapshot) = self.state.read::<OrgSnapshot>(ORG)? {
                return Ok(snapshot);
            }
        }
        let started = std::time::Instant::now();
        let found = self.orgs.discover(progress).await?;
        let snapshot = OrgSnapshot {
            fetched_at: self.clock.now(),
            calls: found.calls,
            millis: started.elapsed().as_millis() as u64,
            organization: found.organization,
        };
        self.state.write(ORG, &snapshot)?;
        Ok(snapshot)
    }

    /// Reads every managed integration back from the payer: billing views
    /// tagged as CostCarve's, and the Athena views beside them.
    pub async fn sync(&mut self) -> Result<&[ManagedIntegration], WorkspaceError> {
        let (views, athena) = tokio::join!(
            self.billing.list_managed(),
            self.catalog
                .integration_views(&self.connection.views_database)
        );
        let (views, mut athena) = (views?, athena?);
        let mut out = Vec::new();
        for view in views {
            let Some(id) = view
                .tags
                .get(TAG_INTEGRATION_ID)
                .and_then(|t| t.parse::<uuid::Uuid>().ok())
            else {
                continue;
            };
            let Some(name) = view
                .name
                .strip_prefix(billing::NAME_PREFIX)
                .and_then(|n| IntegrationName::parse(n).ok())
            else {
                continue;
            };
            let recorded = billing::recorded(&view.description);
            let earlier = self
                .known
                .integrations
                .iter()
                .find(|m| m.integration.id == id);
            let now = self.clock.now();
            let integration = VirtualIntegration {
                id,
                accounts: accounts_of(&view)?,
                created_at: earlier.map(|m| m.integration.created_at).unwrap_or(now),
                updated_at: earlier
                    .filter(|m| {
                        Some(m.integration.revision) == recorded.as_ref().map(|r| r.revision)
                    })
                    .map(|m| m.integration.updated_at)
                    .unwrap_or(now),
                revision: recorded.as_ref().map(|r| r.revision).unwrap_or(0),
                name,
            };
            let athena_accounts = athena.remove(&integration.view_name());
            let status = status_of(
                &view,
                athena_accounts.as_ref(),
                recorded.as_ref().map(|r| r.digest.as_str()),
            );
            out.push(ManagedIntegration {
                athena_accounts: athena_accounts
                    .map(|set| set.iter().filter_map(|a| a.parse().ok()).collect()),
                integration,
                billing_view_arn: view.arn,
                status,
            });
        }
        out.sort_by(|a, b| a.integration.name.cmp(&b.integration.name));
        self.known.integrations = out;
        self.known.orphan_views = athena.into_keys().collect();
        self.known.synced_at = Some(self.clock.now());
        self.save_known()?;
        Ok(&self.known.integrations)
    }

    fn find(&self, name: &str) -> Result<&ManagedIntegration, IntegrationError> {
        let id = self.integration_set().require(name)?.id;
        self.known
            .integrations
            .iter()
            .find(|m| m.integration.id == id)
            .ok_or_else(|| IntegrationError::NotFound {
                name: name.into(),
                known: vec![],
            })
    }

    /// The integration named so, from what this desktop last saw, reading
    /// the payer first if it has never seen it.
    pub async fn integration(&mut self, name: &str) -> Result<ManagedIntegration, WorkspaceError> {
        if self.find(name).is_err() {
            self.sync().await?;
        }
        Ok(self.find(name)?.clone())
    }

    fn integration_set(&self) -> IntegrationSet {
        IntegrationSet {
            version: 1,
            integrations: self
                .known
                .integrations
                .iter()
                .map(|m| m.integration.clone())
                .collect(),
        }
    }

    async fn require_prerequisites(&mut self) -> Result<(), WorkspaceError> {
        if self.known.prerequisites_passed_at.is_some() {
            return Ok(());
        }
        let report = self.check_prerequisites().await?;
        if report.ok() {
            Ok(())
        } else {
            Err(WorkspaceError::Prerequisites(report.failures()))
        }
    }

    /// Creates an integration: both views at once, validated, then its
    /// secret in the keyring; on any failure what was made is removed.
    pub async fn create(
        &mut self,
        new: NewIntegration,
    ) -> Result<ManagedIntegration, WorkspaceError> {
        // The rules that need nothing from AWS are checked before any call.
        new.draft(self.clock.now())?;
        self.sync().await?;
        let org = self.organization(false, &|_| {}).await?.organization;
        let mut set = self.integration_set();
        let vi = set.create(&org, new, self.clock.now())?;
        self.require_prerequisites().await?;
        self.journal(&Intent::Create {
            integration: vi.clone(),
        })?;
        let made = match self.provisioner.create(&vi).await {
            Ok(made) => made,
            Err(e) => {
                if matches!(e, ProvisionError::RolledBack { .. }) {
                    self.journal_done()?;
                }
                return Err(e.into());
            }
        };
        let key = SecretKey::integration(self.payer.as_str(), &vi.id.to_string());
        if let Err(e) = self.secrets.set(&key, &Secret::random()) {
            self.provisioner
                .delete(&vi, Some(&made.billing_view_arn))
                .await
                .map_err(|cleanup| ProvisionError::NeedsRepair {
                    step: "storing the integration secret",
                    source: AwsError::Service(e.to_string()),
                    cleanup: cleanup.to_string(),
                })?;
            self.journal_done()?;
            return Err(e.into());
        }
        self.journal_done()?;
        let managed = ManagedIntegration {
            athena_accounts: Some(vi.accounts.clone()),
            integration: vi,
            billing_view_arn: made.billing_view_arn,
            status: Status::Healthy,
        };
        self.known.integrations.push(managed.clone());
        self.known
            .integrations
            .sort_by(|a, b| a.integration.name.cmp(&b.integration.name));
        self.save_known()?;
        Ok(managed)
    }

    /// Changes an integration's accounts (or name) in both views, validated
    /// by reading them back; on failure the previous state is restored.
    /// Refused when the payer holds a newer revision than this desktop saw.
    pub async fn update(
        &mut self,
        name: &str,
        change: IntegrationChange,
    ) -> Result<(ManagedIntegration, AccountDiff), WorkspaceError> {
        let seen = self.integration(name).await?;
        let current = self
            .billing
            .get(&seen.billing_view_arn)
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
        self.journal(&Intent::Update {
            before: before.clone(),
            after: after.clone(),
            billing_view_arn: arn.clone(),
        })?;
        let outcome = self.apply(&before, &after, &arn).await;
        let result = match outcome {
            Ok(()) => Ok(()),
            Err(cause) => match self.apply(&after, &before, &arn).await {
                Ok(()) => Err(WorkspaceError::Restored {
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
        if let Err(e) = result {
            self.sync().await?;
            return Err(e);
        }
        let managed = ManagedIntegration {
            athena_accounts: Some(after.accounts.clone()),
            integration: after,
            billing_view_arn: arn,
            status: Status::Healthy,
        };
        for m in &mut self.known.integrations {
            if m.integration.id == managed.integration.id {
                *m = managed.clone();
            }
        }
        self.save_known()?;
        Ok((managed, diff))
    }

    /// Writes `to` into both views (concurrently), waits for the billing
    /// view, drops the old Athena view after a rename, and validates both
    /// by reading them back.
    async fn apply(
        &self,
        from: &VirtualIntegration,
        to: &VirtualIntegration,
        arn: &str,
    ) -> Result<(), AwsError> {
        let want = strs(&to.accounts);
        let billing_branch = async {
            self.billing.update(arn, to).await?;
            self.provisioner.wait_healthy(arn).await
        };
        let athena_branch = async {
            let run = self.athena.put_view(to).await?;
            if from.view_name() != to.view_name() {
                self.athena.drop_view(&from.view_name()).await?;
            }
            Ok::<_, AwsError>(run)
        };
        let (view, run) = tokio::join!(billing_branch, athena_branch);
        let (view, run) = (view?, run?);
        if view.accounts != want {
            return Err(AwsError::Conflict(format!(
                "read back, the billing view filters {} accounts, not the {} intended",
                view.accounts.len(),
                want.len()
            )));
        }
        if accounts_in_ddl(&run.query) != want {
            return Err(AwsError::Conflict(
                "the Athena DDL that ran names other accounts than intended".into(),
            ));
        }
        let stored = self
            .catalog
            .view_accounts(&self.connection.views_database, &to.view_name())
            .await?;
        if stored.as_ref() != Some(&want) {
            return Err(AwsError::Conflict(format!(
                "read back, the Athena view {} {}",
                to.view_name(),
                match stored {
                    None => "does not exist".to_string(),
                    Some(s) => format!(
                        "filters {} accounts, not the {} intended",
                        s.len(),
                        want.len()
                    ),
                }
            )));
        }
        Ok(())
    }

    /// Makes both views agree again: with the accounts CostCarve last wrote
    /// (the set whose digest the billing view records), else with the
    /// billing view's; recreates a missing Athena view.
    pub async fn repair(&mut self, name: &str) -> Result<ManagedIntegration, WorkspaceError> {
        self.sync().await?;
        let m = self.integration(name).await?;
        let view = self
            .billing
            .get(&m.billing_view_arn)
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
    pub async fn delete(&mut self, name: &str) -> Result<VirtualIntegration, WorkspaceError> {
        let m = self.integration(name).await?;
        self.journal(&Intent::Delete {
            integration: m.integration.clone(),
            billing_view_arn: Some(m.billing_view_arn.clone()),
        })?;
        self.remove_everything(&m.integration, Some(&m.billing_view_arn))
            .await?;
        self.journal_done()?;
        self.known
            .integrations
            .retain(|x| x.integration.id != m.integration.id);
        self.save_known()?;
        self.forget_costs(&m.billing_view_arn)?;
        Ok(m.integration)
    }

    /// Removes an Athena view no integration owns (found by [`Self::sync`]).
    pub async fn drop_orphan_view(&mut self, view: &str) -> Result<(), WorkspaceError> {
        if !self.known.orphan_views.iter().any(|v| v == view) {
            return Err(AwsError::NotFound {
                what: format!(
                    "an orphan view {view} (orphans now: {})",
                    if self.known.orphan_views.is_empty() {
                        "none".to_string()
                    } else {
                        self.known.orphan_views.join(", ")
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
        self.provisioner.delete(vi, arn).await?;
        self.secrets.delete(&SecretKey::integration(
            self.payer.as_str(),
            &vi.id.to_string(),
        ))?;
        Ok(())
    }

    /// Finishes (update, delete) or undoes (create) an operation a crash
    /// interrupted, as its journal entry says.
    async fn recover(&mut self) -> Result<(), WorkspaceError> {
        let Some(intent) = self.state.read::<Intent>(JOURNAL)? else {
            return Ok(());
        };
        let message = match &intent {
            Intent::Create { integration } => {
                // The billing view may exist without its ARN having reached
                // us: find it by the integration id it is tagged with.
                let arns: Vec<String> = self
                    .billing
                    .list_managed()
                    .await?
                    .into_iter()
                    .filter(|v| v.tags.get(TAG_INTEGRATION_ID) == Some(&integration.id.to_string()))
                    .map(|v| v.arn)
                    .collect();
                self.remove_everything(integration, None).await?;
                for arn in &arns {
                    self.billing.delete(arn).await?;
                }
                format!(
                    "creating '{}' was interrupted; what it had made was removed: create it again",
                    integration.name
                )
            }
            Intent::Update {
                before,
                after,
                billing_view_arn,
            } => match self.apply(before, after, billing_view_arn).await {
                Ok(()) => format!(
                    "updating '{}' was interrupted and has now been finished ({} accounts)",
                    after.name,
                    after.accounts.len()
                ),
                Err(e) => format!(
                    "updating '{}' was interrupted and could not be finished ({e}); it needs repair",
                    after.name
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
        self.recovery.messages.push(message);
        Ok(())
    }

    fn forget_costs(&self, arn: &str) -> Result<(), WorkspaceError> {
        let mut cache: CostCache = self.state.read(cost_cache::FILE)?.unwrap_or_default();
        cache.forget_view(arn);
        self.state.write(cost_cache::FILE, &cache)?;
        Ok(())
    }

    fn scope(&self, m: &ManagedIntegration) -> Result<BillingViewArn, WorkspaceError> {
        Ok(m.billing_view_arn.parse()?)
    }

    /// Answers a cost query with Cost Explorer through the integration's
    /// billing view; closed months come from the cache once asked.
    pub async fn cost(&mut self, q: &CostQuery) -> Result<(CostSeries, CostUsage), WorkspaceError> {
        q.validate()?;
        let m = self.integration(&q.integration).await?;
        let arn = self.scope(&m)?;
        let scope = format!("{}#{}", arn.as_str(), m.integration.revision);
        let now = self.clock.now();
        let open_month = first_of_month(now.date_naive());
        let mut cache: CostCache = self.state.read(cost_cache::FILE)?.unwrap_or_default();
        let before = self.ce.requests();
        let (closed, open) = cost_cache::split(q, open_month);
        let mut parts = Vec::new();
        let mut fetched_at = now;
        for (part, is_closed) in [(closed, true), (open, false)] {
            let Some(part) = part else { continue };
            let series = match cache.get(&scope, &part, is_closed, now) {
                Some((hit, at)) => {
                    fetched_at = fetched_at.min(at);
                    hit
                }
                None => {
                    let fresh = self.ce.cost(&arn, &part).await?;
                    cache.put(&scope, &part, fresh.clone(), now);
                    fresh
                }
            };
            parts.push(series);
        }
        let requests = self.ce.requests() - before;
        cache.requests_total += requests;
        self.state.write(cost_cache::FILE, &cache)?;
        Ok((
            cost_cache::join(q, parts),
            CostUsage {
                requests,
                requests_total: cache.requests_total,
                fetched_at,
            },
        ))
    }

    /// Forecasts an integration's costs from today to `to`.
    pub async fn forecast(
        &mut self,
        name: &str,
        to: chrono::NaiveDate,
        granularity: Granularity,
        metric: Metric,
    ) -> Result<(Forecast, CostUsage), WorkspaceError> {
        let m = self.integration(name).await?;
        let arn = self.scope(&m)?;
        let from = self.clock.now().date_naive();
        let before = self.ce.requests();
        let forecast = self
            .ce
            .forecast(&arn, from, to, granularity, metric)
            .await?;
        let requests = self.ce.requests() - before;
        let mut cache: CostCache = self.state.read(cost_cache::FILE)?.unwrap_or_default();
        cache.requests_total += requests;
        self.state.write(cost_cache::FILE, &cache)?;
        Ok((
            forecast,
            CostUsage {
                requests,
                requests_total: cache.requests_total,
                fetched_at: self.clock.now(),
            },
        ))
    }

    fn target(&self, m: &ManagedIntegration) -> Result<Target, WorkspaceError> {
        Ok(Target::new([
            self.connection.views_database.clone(),
            m.integration.view_name(),
        ])?)
    }

    /// The Athena text a user's query would run as, after the guard.
    pub async fn explain(&mut self, name: &str, sql: &str) -> Result<String, WorkspaceError> {
        let m = self.integration(name).await?;
        Ok(guard::confine(sql, &self.target(&m)?)?.text().to_string())
    }

    /// Runs a user's query on Athena, confined to the integration's view,
    /// in the connection's workgroup; `cancel` stops it.
    pub async fn sql(
        &mut self,
        name: &str,
        sql: &str,
        max_rows: usize,
        cancel: &CancellationToken,
    ) -> Result<QueryAnswer, WorkspaceError> {
        let m = self.integration(name).await?;
        let confined = guard::confine(sql, &self.target(&m)?)?;
        Ok(self
            .athena
            .query(confined.text(), max_rows, &self.s3, cancel)
            .await?)
    }
}

fn status_of(
    view: &BillingView,
    athena: Option<&BTreeSet<String>>,
    digest: Option<&str>,
) -> Status {
    match &view.health {
        Health::Creating | Health::Updating => return Status::Provisioning,
        Health::Unhealthy(reasons) => {
            return Status::NeedsRepair {
                reason: format!("the billing view is unhealthy: {}", reasons.join(", ")),
            }
        }
        _ => {}
    }
    let Some(athena) = athena else {
        return Status::NeedsRepair {
            reason: "its Athena view is missing".into(),
        };
    };
    if *athena != view.accounts {
        return Status::Drift {
            detail: describe_difference(&view.accounts, athena),
        };
    }
    if digest.is_some_and(|d| d != account_digest(view.accounts.iter().map(String::as_str))) {
        return Status::Drift {
            detail: "both views were changed outside CostCarve (their accounts are not the ones CostCarve last wrote)".into(),
        };
    }
    Status::Healthy
}

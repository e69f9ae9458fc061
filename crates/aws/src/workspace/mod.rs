//! The AWS workspace: one payer reached through a connection. The payer is
//! the source of truth — integrations are rebuilt from the billing views
//! CostCarve tagged and the Athena views beside them — and this desktop
//! keeps only a cache of that, an organization cache, the Cost Explorer
//! cache and an intent journal. Every AWS mutation is preceded by its
//! intent on disk, so an operation a crash interrupted is finished (update,
//! delete) or undone (create) the next time the workspace is opened.
//!
//! The workspace is used through `&self`, so one desktop can run a long
//! Athena query, draw a chart and sync at the same time. Its locks are
//! narrow: what it last saw of the payer is behind a plain mutex held for
//! no longer than a copy; mutations (create, update, repair, delete) take
//! turns, because each keeps its intent in the one journal; the Cost
//! Explorer cache is read and written under its own short lock.
//!
//! - [`status`]: reading the payer back (sync, drift, the organization).
//! - [`saga`]: the mutations, their journal and crash recovery.
//! - [`costs`]: Cost Explorer through the billing view, and its cache.
//! - [`sql`]: user SQL on Athena, confined to the integration's view.

mod costs;
mod cur_costs;
mod error;
mod profile;
mod saga;
mod share;
mod sql;
mod status;
mod verify;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use costcarve_core::account::{AccountId, Organization};
use costcarve_core::integration::VirtualIntegration;
use costcarve_core::ports::Clock;

use crate::athena::Athena;
use crate::billing::BillingViews;
use crate::catalog::Catalog;
use crate::connection::Connection;
use crate::cost_explorer::CostExplorer;
use crate::error::AwsError;
use crate::org::Organizations;
use crate::provision::Provisioner;
use crate::ram::ResourceShares;
use crate::secrets::SecretStore;
use crate::state::StateDir;

pub use costs::{CostEstimate, CostUsage};
pub use error::WorkspaceError;
pub use verify::VERIFY_REQUESTS;

const KNOWN: &str = "integrations.json";
const JOURNAL: &str = "journal.json";
const ORG: &str = "organization.json";

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
    /// The accounts its billing view is shared with (as CostCarve recorded
    /// it; a share that differs is drift).
    #[serde(default)]
    pub shared_with: BTreeSet<AccountId>,
}

/// What this desktop last saw in the payer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Known {
    version: u32,
    payer: Option<AccountId>,
    prerequisites_passed_at: Option<DateTime<Utc>>,
    synced_at: Option<DateTime<Utc>>,
    integrations: Vec<ManagedIntegration>,
    /// Athena views named like an integration's with no billing view.
    orphan_views: Vec<String>,
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
    shares: ResourceShares,
    /// What this desktop last saw; never held across an await.
    known: Mutex<Known>,
    /// Taken by each mutation for its whole saga (one journal at a time).
    saga: tokio::sync::Mutex<()>,
    /// Taken to read-modify-write the Cost Explorer cache file.
    cost_cache: Mutex<()>,
    recovery: Recovery,
}

/// A lock whose holder panicked still guards valid data here (every
/// change under these locks is a single assignment), so it is taken anyway.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
            shares: ResourceShares::new(&config),
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
            known: Mutex::new(known),
            saga: tokio::sync::Mutex::new(()),
            cost_cache: Mutex::new(()),
            recovery: Recovery { messages: vec![] },
        };
        if let Some(message) = ws.recover().await? {
            ws.recovery.messages.push(message);
        }
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

    /// The connection's own folder (caches, journal).
    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
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
    pub fn integrations(&self) -> Vec<ManagedIntegration> {
        lock(&self.known).integrations.clone()
    }

    /// Athena views named like an integration's that have no billing view.
    pub fn orphan_views(&self) -> Vec<String> {
        lock(&self.known).orphan_views.clone()
    }

    /// When the integrations were last read from the payer.
    pub fn synced_at(&self) -> Option<DateTime<Utc>> {
        lock(&self.known).synced_at
    }

    /// Changes what this desktop knows and saves it, under the lock (the
    /// write is a small file; no await happens while it is held).
    fn remember<R>(&self, change: impl FnOnce(&mut Known) -> R) -> Result<R, WorkspaceError> {
        let mut known = lock(&self.known);
        let out = change(&mut known);
        known.version = 1;
        self.state.write(KNOWN, &*known)?;
        Ok(out)
    }
}

//! [`Workspace`]: the one place that knows whether a workspace is a local
//! folder or a payer on AWS. Every operation is dispatched here, once; the
//! CLI and the desktop only format what comes back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use costcarve_aws::athena::ResultSource;
use costcarve_aws::connection::ConnectionStore;
use costcarve_aws::cost_explorer::Forecast;
use costcarve_aws::secrets::SecretStore;
pub use costcarve_aws::workspace::CostEstimate;
pub use costcarve_aws::workspace::{ManagedIntegration, Status};
use costcarve_aws::AwsWorkspace;
use costcarve_core::account::{AccountId, Organization};
use costcarve_core::cost::{CostQuery, CostSeries, Granularity, Metric};
use costcarve_core::integration::{
    AccountDiff, IntegrationChange, IntegrationSet, NewIntegration, VirtualIntegration,
};
use costcarve_core::ports::Clock;
use costcarve_core::presentation::PresentationProfile;
use costcarve_core::query::QueryResult;
use costcarve_core::verification::Verification;
use costcarve_local::LocalWorkspace;

pub use costcarve_aws::org::Progress;

use crate::error::OpsError;
use crate::Dirs;

type Result<T> = std::result::Result<T, OpsError>;

/// The most closed months `verify` reconciles (Cost Explorer keeps 13
/// months unless multi-year data is on).
pub const MAX_VERIFY_MONTHS: u32 = 12;

/// Cost Explorer's price per request, in US dollars.
pub const CE_REQUEST_USD: f64 = 0.01;

/// The folder (in a workspace's records) holding each integration's last
/// verification.
const VERIFICATIONS_DIR: &str = "verifications";

/// A verification, with the integration as it was verified.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct SavedVerification {
    revision: u64,
    accounts: BTreeSet<AccountId>,
    verification: Verification,
}

/// Where a workspace's data comes from.
enum Kind {
    Local { ws: Box<LocalWorkspace>, demo: bool },
    Aws(Box<AwsWorkspace>),
}

/// An open workspace: a local folder (the demo, or CUR files copied from
/// S3) or a payer through a connection.
pub struct Workspace {
    kind: Kind,
}

/// An integration as the workspace holds it: saved locally, or managed in a
/// payer with a billing view and a status. Serializes as it always has (the
/// integration alone, or the managed integration with its status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum IntegrationState {
    /// In a local workspace.
    Local(VirtualIntegration),
    /// In a payer.
    Aws(ManagedIntegration),
}

impl IntegrationState {
    /// The integration.
    pub fn integration(&self) -> &VirtualIntegration {
        match self {
            IntegrationState::Local(vi) => vi,
            IntegrationState::Aws(m) => &m.integration,
        }
    }

    /// Where it stands in the payer; `None` locally.
    pub fn status(&self) -> Option<&Status> {
        match self {
            IntegrationState::Local(_) => None,
            IntegrationState::Aws(m) => Some(&m.status),
        }
    }

    /// The accounts its billing view is shared with (none locally).
    pub fn shared_with(&self) -> Vec<String> {
        match self {
            IntegrationState::Local(_) => vec![],
            IntegrationState::Aws(m) => m.shared_with.iter().map(ToString::to_string).collect(),
        }
    }

    /// Its billing view; `None` locally.
    pub fn billing_view_arn(&self) -> Option<&str> {
        match self {
            IntegrationState::Local(_) => None,
            IntegrationState::Aws(m) => Some(&m.billing_view_arn),
        }
    }
}

/// What a deletion removed.
#[derive(Debug, Clone)]
pub struct Removed {
    /// The integration as it was.
    pub integration: VirtualIntegration,
    /// Whether it lived in a payer (its billing view and secret went too).
    pub in_payer: bool,
}

/// The organization with, per account, the integrations holding it.
#[derive(Debug, Clone)]
pub struct OrgListing {
    /// The organization.
    pub organization: Organization,
    /// Account → names of its integrations.
    pub memberships: BTreeMap<AccountId, Vec<String>>,
    /// How it was read from AWS, for an AWS workspace.
    pub discovery: Option<Discovery>,
}

/// How the organization was read from AWS.
#[derive(Debug, Clone, Copy)]
pub struct Discovery {
    /// When.
    pub fetched_at: DateTime<Utc>,
    /// Organizations calls it took.
    pub calls: u64,
    /// How long, in milliseconds.
    pub millis: u64,
}

/// What Cost Explorer requests an answer cost (AWS only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requests {
    /// This answer's requests.
    pub made: u64,
    /// All requests through this connection.
    pub total: u64,
}

impl Requests {
    /// `made` in US dollars.
    pub fn made_usd(&self) -> f64 {
        self.made as f64 * CE_REQUEST_USD
    }

    /// `total` in US dollars.
    pub fn total_usd(&self) -> f64 {
        self.total as f64 * CE_REQUEST_USD
    }
}

/// A cost series and where its numbers come from.
#[derive(Debug, Clone)]
pub struct CostAnswer {
    /// The series.
    pub series: CostSeries,
    /// Cost Explorer requests (AWS only).
    pub requests: Option<Requests>,
    /// When the data was written (local: the newest CUR file) or read from
    /// Cost Explorer (AWS).
    pub data_as_of: Option<DateTime<Utc>>,
    /// Bytes Athena scanned for it (AWS, public on-demand costs).
    pub athena_bytes: Option<u64>,
}

/// How a query ran on Athena.
#[derive(Debug, Clone)]
pub struct AthenaRun {
    /// The query execution id.
    pub id: String,
    /// Bytes scanned (billed).
    pub scanned_bytes: i64,
    /// The result file, when the rows were read from it.
    pub result_file: Option<String>,
}

/// A confined query's answer.
#[derive(Debug, Clone)]
pub struct SqlAnswer {
    /// The rows.
    pub result: QueryResult,
    /// How it ran on Athena (AWS only).
    pub athena: Option<AthenaRun>,
}

/// What creating or changing an integration will send: the view DDL and
/// the billing view filter, from the functions provisioning runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The integration as it will be.
    pub integration: VirtualIntegration,
    /// Its accounts today (empty for a new one).
    pub current: BTreeSet<AccountId>,
    /// The DDL of its view, exactly as it will be executed.
    pub view_sql: String,
    /// The billing view's filter as JSON; `None` in a local workspace.
    pub billing_filter: Option<String>,
}

impl Workspace {
    /// Opens a local folder (a demo or CUR Parquet copied from S3).
    pub async fn open_local(dir: &Path, clock: Arc<dyn Clock>, demo: bool) -> Result<Self> {
        let ws = LocalWorkspace::open(dir, clock).await?;
        Ok(Self {
            kind: Kind::Local {
                ws: Box::new(ws),
                demo,
            },
        })
    }

    /// Opens a payer through a saved connection; finishes or undoes what a
    /// crash interrupted first (see [`Self::recovery`]).
    pub async fn open_connection(
        dirs: &Dirs,
        name: &str,
        secrets: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let connection = ConnectionStore::new(&dirs.config).get(name)?;
        let ws = AwsWorkspace::open(connection, &dirs.data, secrets, clock).await?;
        Ok(Self {
            kind: Kind::Aws(Box::new(ws)),
        })
    }

    /// The payer, for operations only it has a way to do at scale.
    pub(crate) fn payer_workspace(&self) -> Option<&AwsWorkspace> {
        match &self.kind {
            Kind::Local { .. } => None,
            Kind::Aws(ws) => Some(ws),
        }
    }

    /// `demo`, `local` or `aws`.
    pub fn kind(&self) -> &'static str {
        match &self.kind {
            Kind::Local { demo: true, .. } => "demo",
            Kind::Local { .. } => "local",
            Kind::Aws(_) => "aws",
        }
    }

    /// Whether this is a payer (integrations have billing views, statuses
    /// and Cost Explorer costs).
    pub fn is_payer(&self) -> bool {
        matches!(self.kind, Kind::Aws(_))
    }

    /// The folder, or the connection's name.
    pub fn label(&self) -> String {
        match &self.kind {
            Kind::Local { ws, .. } => ws.dir().display().to_string(),
            Kind::Aws(ws) => ws.connection().name.clone(),
        }
    }

    /// The payer account (AWS).
    pub fn payer(&self) -> Option<String> {
        match &self.kind {
            Kind::Local { .. } => None,
            Kind::Aws(ws) => Some(ws.payer().to_string()),
        }
    }

    /// When the integrations were last read from the payer (AWS).
    pub fn synced_at(&self) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Local { .. } => None,
            Kind::Aws(ws) => ws.synced_at(),
        }
    }

    /// The database the integrations' views live in.
    pub fn views_database(&self) -> String {
        match &self.kind {
            Kind::Local { .. } => costcarve_local::LOCAL_DATABASE.to_string(),
            Kind::Aws(ws) => ws.connection().views_database.clone(),
        }
    }

    /// What opening did about operations a crash interrupted, one line each.
    pub fn recovery(&self) -> Vec<String> {
        match &self.kind {
            Kind::Local { .. } => vec![],
            Kind::Aws(ws) => ws.recovery().messages.clone(),
        }
    }

    /// Views named like an integration's that no integration owns (AWS).
    pub fn orphan_views(&self) -> Vec<String> {
        match &self.kind {
            Kind::Local { .. } => vec![],
            Kind::Aws(ws) => ws.orphan_views(),
        }
    }

    /// The organization and who is in which integration; on AWS from the
    /// cache unless `refresh` (then `progress` hears about it).
    pub async fn organization(
        &self,
        refresh: bool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<OrgListing> {
        match &self.kind {
            Kind::Local { ws, .. } => Ok(OrgListing {
                organization: if refresh {
                    ws.reload_organization()?
                } else {
                    ws.organization()
                },
                memberships: ws.integrations().memberships(),
                discovery: None,
            }),
            Kind::Aws(ws) => {
                let snapshot = ws.organization(refresh, progress).await?;
                // Memberships as the payer holds them now (the billing API
                // is free; Organizations is read from the cache).
                let set = IntegrationSet {
                    version: 1,
                    integrations: ws
                        .sync()
                        .await?
                        .into_iter()
                        .map(|m| m.integration)
                        .collect(),
                };
                Ok(OrgListing {
                    organization: snapshot.organization,
                    memberships: set.memberships(),
                    discovery: Some(Discovery {
                        fetched_at: snapshot.fetched_at,
                        calls: snapshot.calls,
                        millis: snapshot.millis,
                    }),
                })
            }
        }
    }

    /// The integrations (read again from the payer on AWS).
    pub async fn integrations(&self) -> Result<Vec<IntegrationState>> {
        match &self.kind {
            Kind::Local { ws, .. } => Ok(ws
                .integrations()
                .integrations
                .iter()
                .cloned()
                .map(IntegrationState::Local)
                .collect()),
            Kind::Aws(ws) => Ok(ws
                .sync()
                .await?
                .into_iter()
                .map(IntegrationState::Aws)
                .collect()),
        }
    }

    /// One integration by name (matched as the rules match names).
    pub async fn integration(&self, name: &str) -> Result<IntegrationState> {
        match &self.kind {
            Kind::Local { ws, .. } => Ok(IntegrationState::Local(ws.integration(name)?)),
            Kind::Aws(ws) => Ok(IntegrationState::Aws(ws.integration(name).await?)),
        }
    }

    /// One integration, read again from the payer first (AWS).
    pub async fn integration_fresh(&self, name: &str) -> Result<IntegrationState> {
        if let Kind::Aws(ws) = &self.kind {
            ws.sync().await?;
        }
        self.integration(name).await
    }

    /// What creating `name` over `accounts`, or changing the integration
    /// `existing` to them, will send — produced by the functions that send it.
    pub async fn plan(
        &self,
        name: &str,
        accounts: Vec<AccountId>,
        existing: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Plan> {
        let current = match existing {
            Some(e) => self.integration(e).await?.integration().accounts.clone(),
            None => BTreeSet::new(),
        };
        let integration = NewIntegration {
            name: name.to_string(),
            accounts,
            allow_shared: true,
            ..Default::default()
        }
        .draft(now)?;
        let (view_sql, billing_filter) = match &self.kind {
            Kind::Local { .. } => (costcarve_local::view_ddl(&integration), None),
            Kind::Aws(ws) => (
                costcarve_aws::athena::view_ddl(&ws.connection().athena_place(), &integration)?,
                Some(costcarve_aws::billing::filter_json(&integration.accounts)?),
            ),
        };
        Ok(Plan {
            integration,
            current,
            view_sql,
            billing_filter,
        })
    }

    /// Creates an integration (on AWS: both views, validated, and its secret).
    pub async fn create(&self, new: NewIntegration) -> Result<IntegrationState> {
        match &self.kind {
            Kind::Local { ws, .. } => {
                Ok(IntegrationState::Local(ws.create_integration(new).await?))
            }
            Kind::Aws(ws) => Ok(IntegrationState::Aws(ws.create(new).await?)),
        }
    }

    /// Changes an integration's accounts or name.
    pub async fn update(
        &self,
        name: &str,
        change: IntegrationChange,
    ) -> Result<(IntegrationState, AccountDiff)> {
        match &self.kind {
            Kind::Local { ws, .. } => {
                let (vi, diff) = ws.update_integration(name, change).await?;
                Ok((IntegrationState::Local(vi), diff))
            }
            Kind::Aws(ws) => {
                let (m, diff) = ws.update(name, change).await?;
                Ok((IntegrationState::Aws(m), diff))
            }
        }
    }

    /// Sets an integration's accounts to exactly `accounts` (and renames it).
    pub async fn set_accounts(
        &self,
        name: &str,
        accounts: BTreeSet<AccountId>,
        rename: Option<String>,
        allow_shared: bool,
    ) -> Result<(IntegrationState, AccountDiff)> {
        let current = self.integration(name).await?.integration().accounts.clone();
        let change = IntegrationChange {
            add: accounts.difference(&current).cloned().collect(),
            remove: current.difference(&accounts).cloned().collect(),
            rename: rename.filter(|r| !r.trim().is_empty() && r != name),
            allow_shared,
            ..Default::default()
        };
        self.update(name, change).await
    }

    /// Deletes an integration (on AWS: its views and secret).
    pub async fn delete(&self, name: &str) -> Result<Removed> {
        match &self.kind {
            Kind::Local { ws, .. } => Ok(Removed {
                integration: ws.delete_integration(name).await?,
                in_payer: false,
            }),
            Kind::Aws(ws) => Ok(Removed {
                integration: ws.delete(name).await?,
                in_payer: true,
            }),
        }
    }

    /// Shares an integration's billing view with some of its own accounts
    /// (`add`), or stops sharing it with them (AWS).
    pub async fn share(
        &self,
        name: &str,
        accounts: BTreeSet<AccountId>,
        add: bool,
    ) -> Result<IntegrationState> {
        match &self.kind {
            Kind::Local { .. } => Err(OpsError::invalid(
                "sharing gives a customer's own AWS account its billing view: open a payer through a connection",
            )),
            Kind::Aws(ws) => Ok(IntegrationState::Aws(ws.share(name, accounts, add).await?)),
        }
    }

    /// Makes an integration's views agree again (AWS).
    pub async fn repair(&self, name: &str) -> Result<IntegrationState> {
        match &self.kind {
            Kind::Local { .. } => Err(OpsError::invalid(
                "a local workspace has nothing to repair: repair is for integrations in a payer",
            )),
            Kind::Aws(ws) => Ok(IntegrationState::Aws(ws.repair(name).await?)),
        }
    }

    /// Cost Explorer requests [`Self::verify`] will make when no answer is
    /// paged (USD 0.01 each); `None` in a local workspace (it makes none).
    pub fn verify_requests(&self) -> Option<u32> {
        match &self.kind {
            Kind::Local { .. } => None,
            Kind::Aws(_) => Some(costcarve_aws::workspace::VERIFY_REQUESTS),
        }
    }

    /// Verifies an integration: its parts exactly as made, the accounts
    /// seen through each path, and `months` closed months reconciled.
    pub async fn verify(&self, name: &str, months: u32) -> Result<Verification> {
        if months > MAX_VERIFY_MONTHS {
            return Err(OpsError::invalid(format!(
                "--months {months} is too many: verify reconciles at most {MAX_VERIFY_MONTHS} closed months (what Cost Explorer keeps)"
            )));
        }
        let v = match &self.kind {
            Kind::Local { ws, .. } => ws.verify(name, months).await?,
            Kind::Aws(ws) => ws.verify(name, months).await?,
        };
        // Recorded for the review pack's "how these figures are checked"
        // page; a verification that cannot be recorded is still returned.
        if let Ok(state) = self.integration(name).await {
            let _ = self.record_verification(state.integration(), &v);
        }
        Ok(v)
    }

    /// Drops an Athena view named like an integration's that no billing
    /// view owns (AWS).
    pub async fn drop_orphan(&self, view: &str) -> Result<()> {
        match &self.kind {
            Kind::Local { .. } => Err(OpsError::invalid(
                "a local workspace has no orphan views: they are Athena views in a payer",
            )),
            Kind::Aws(ws) => {
                ws.sync().await?;
                Ok(ws.drop_orphan_view(view).await?)
            }
        }
    }

    /// The canonical name of an integration (as typed, matched loosely).
    pub async fn canonical_name(&self, name: &str) -> Result<String> {
        Ok(self.integration(name).await?.integration().name.to_string())
    }

    /// Answers a cost query.
    pub async fn cost(&self, q: &CostQuery) -> Result<CostAnswer> {
        match &self.kind {
            Kind::Local { ws, .. } => {
                let newest = ws
                    .engine()
                    .cur()
                    .files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
                    .max()
                    .map(DateTime::<Utc>::from);
                Ok(CostAnswer {
                    series: ws.cost(q).await?,
                    requests: None,
                    data_as_of: newest,
                    athena_bytes: None,
                })
            }
            Kind::Aws(ws) => {
                let (series, usage) = ws.cost(q).await?;
                Ok(CostAnswer {
                    series,
                    requests: Some(Requests {
                        made: usage.requests,
                        total: usage.requests_total,
                    }),
                    data_as_of: Some(usage.fetched_at),
                    athena_bytes: Some(usage.athena_bytes),
                })
            }
        }
    }

    /// What answering `q` will spend (AWS: from what the cache holds now);
    /// nothing in a local workspace.
    pub async fn cost_estimate(&self, q: &CostQuery) -> Result<CostEstimate> {
        match &self.kind {
            Kind::Local { .. } => Ok(CostEstimate::default()),
            Kind::Aws(ws) => Ok(ws.cost_estimate(q).await?),
        }
    }

    /// Sets (or, with the default profile, clears) how an integration is
    /// shown to its customer. Saved with the integration: locally in the
    /// workspace's integrations file, on AWS as tags on its billing view
    /// (a second desktop on the payer reads it back).
    pub async fn set_profile(
        &self,
        name: &str,
        profile: PresentationProfile,
    ) -> Result<IntegrationState> {
        match &self.kind {
            Kind::Local { ws, .. } => Ok(IntegrationState::Local(
                ws.set_profile(name, profile).await?,
            )),
            Kind::Aws(ws) => Ok(IntegrationState::Aws(ws.set_profile(name, profile).await?)),
        }
    }

    /// The folder this workspace keeps its own records in (the local
    /// workspace's folder, or the connection's state folder).
    fn records_dir(&self) -> &Path {
        match &self.kind {
            Kind::Local { ws, .. } => ws.dir(),
            Kind::Aws(ws) => ws.state_dir(),
        }
    }

    fn verification_file(&self, vi: &VirtualIntegration) -> std::path::PathBuf {
        self.records_dir()
            .join(VERIFICATIONS_DIR)
            .join(format!("{}.json", vi.id))
    }

    /// The last verification of an integration that passed or failed, if
    /// `verify` ran since it last changed.
    pub async fn last_verification(&self, name: &str) -> Result<Option<Verification>> {
        let state = self.integration(name).await?;
        let vi = state.integration();
        let path = self.verification_file(vi);
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(None);
        };
        let Ok(saved) = serde_json::from_slice::<SavedVerification>(&bytes) else {
            return Ok(None);
        };
        Ok(
            (saved.revision == vi.revision && saved.accounts == vi.accounts)
                .then_some(saved.verification),
        )
    }

    fn record_verification(&self, vi: &VirtualIntegration, v: &Verification) -> Result<()> {
        let path = self.verification_file(vi);
        let saved = SavedVerification {
            revision: vi.revision,
            accounts: vi.accounts.clone(),
            verification: v.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&saved)
            .map_err(|e| OpsError::invalid(format!("cannot record the verification: {e}")))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| OpsError::write(parent, e))?;
        }
        costcarve_core::files::write_atomic(&path, &bytes).map_err(|e| OpsError::write(&path, e))
    }

    /// Forecasts an integration's costs from today to `to` (Cost Explorer).
    pub async fn forecast(
        &self,
        name: &str,
        to: NaiveDate,
        granularity: Granularity,
        metric: Metric,
    ) -> Result<(Forecast, Requests)> {
        match &self.kind {
            Kind::Local { .. } => Err(OpsError::invalid(
                "forecasts come from Cost Explorer: open a payer through a connection",
            )),
            Kind::Aws(ws) => {
                let (forecast, usage) = ws.forecast(name, to, granularity, metric).await?;
                Ok((
                    forecast,
                    Requests {
                        made: usage.requests,
                        total: usage.requests_total,
                    },
                ))
            }
        }
    }

    /// The text a user's query runs as, after the guard (Athena's dialect).
    pub async fn explain(&self, name: &str, sql: &str) -> Result<String> {
        match &self.kind {
            Kind::Local { ws, .. } => Ok(ws.explain(name, sql)?),
            Kind::Aws(ws) => Ok(ws.explain(name, sql).await?),
        }
    }

    /// Runs a user's SQL confined to one integration; `cancel` stops it,
    /// and so does `timeout` (default: 60 s locally, 30 min on Athena).
    pub async fn sql(
        &self,
        name: &str,
        sql: &str,
        max_rows: usize,
        timeout: Option<Duration>,
        cancel: &CancellationToken,
    ) -> Result<SqlAnswer> {
        match &self.kind {
            Kind::Local { ws, .. } => {
                let timeout = timeout.unwrap_or(costcarve_local::DEFAULT_SQL_TIMEOUT);
                let result = tokio::select! {
                    r = ws.sql_within(name, sql, max_rows, timeout) => r?,
                    _ = cancel.cancelled() => return Err(OpsError::cancelled()),
                };
                Ok(SqlAnswer {
                    result,
                    athena: None,
                })
            }
            Kind::Aws(ws) => {
                let answer = ws.sql(name, sql, max_rows, timeout, cancel).await?;
                Ok(SqlAnswer {
                    result: answer.result,
                    athena: Some(AthenaRun {
                        id: answer.id,
                        scanned_bytes: answer.scanned_bytes,
                        result_file: match answer.source {
                            ResultSource::Csv(loc) => Some(loc),
                            ResultSource::Pages => None,
                        },
                    }),
                })
            }
        }
    }

    /// The DDL that made an integration's view in the local engine, as it
    /// ran (on AWS, Athena keeps each query's text instead).
    pub fn executed_view_ddl(&self, view_name: &str) -> Option<String> {
        match &self.kind {
            Kind::Local { ws, .. } => ws.engine().executed_view_ddl(view_name),
            Kind::Aws(_) => None,
        }
    }
}

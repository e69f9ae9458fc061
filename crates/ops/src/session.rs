//! The desktop's state — one open workspace — and the operation each screen
//! calls, answered with IPC types. Each method is a thin adapter over
//! [`Workspace`], [`chart`](crate::chart) or [`Connections`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

use costcarve_aws::secrets::{Keyring, SecretStore};
use costcarve_charts::{ChartKind, ChartOptions};
use costcarve_core::account::{parse_account_list, AccountId, Organization};
use costcarve_core::cost::{first_of_month, CostQuery, CostSeries, Dimension, Metric};
use costcarve_core::error::ErrorCode;
use costcarve_core::integration::{IntegrationChange, IntegrationError, NewIntegration};
use costcarve_core::membership::{LeftOut, MembershipRules};
use costcarve_core::ports::Clock;
use costcarve_core::presentation::{
    basis_words, line_item_words, money, service_name, PresentationProfile, LINE_ITEM_TYPES,
};
use costcarve_core::verification::Verification;

use crate::chart::{self, ChartSpec};
use crate::connections::{self, Connections, NewConnection};
use crate::demo::{self, FirstStart};
use crate::ipc::*;
use crate::onboarding::{parse_import_csv, ImportRow, RowAction, RowOutcome};
use crate::review;
use crate::workspace::{CostAnswer, IntegrationState, Workspace};
use crate::{Dirs, OpsError};

type Result<T> = std::result::Result<T, OpsError>;

/// The app's state: one open workspace at a time.
///
/// No lock is held while an operation runs: each takes its own handle on
/// the open workspace, so a long query, a chart and a sync run side by side
/// (the workspace orders its own changes). Opening another workspace swaps
/// the handle; operations already running finish on the one they began on.
pub struct Session {
    dirs: Dirs,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretStore>,
    demo_rows: u64,
    first_start: FirstStart,
    open: RwLock<Option<Arc<Workspace>>>,
    /// Taken while the demo is generated and opened, so two first calls
    /// make it once.
    opening: tokio::sync::Mutex<()>,
    /// Queries running now, by a number of their own.
    running: Mutex<BTreeMap<u64, CancellationToken>>,
    /// The import under way, or the last one.
    import: Mutex<ImportProgress>,
    next_query: AtomicU64,
}

/// A lock whose holder panicked still guards whole values here.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ids(list: &[String]) -> Result<Vec<AccountId>> {
    parse_account_list(&list.join(",")).map_err(OpsError::from)
}

fn date(s: &Option<String>, what: &str) -> Result<Option<NaiveDate>> {
    s.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<NaiveDate>().map_err(|_| {
                OpsError::invalid(format!("{what} '{s}' is not a date: use YYYY-MM-DD"))
            })
        })
        .transpose()
}

fn blank(o: Option<String>) -> Option<String> {
    o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn row(state: &IntegrationState) -> IntegrationRow {
    use costcarve_aws::workspace::Status;
    let vi = state.integration();
    let (status, status_detail) = match state.status() {
        None => ("local", None),
        Some(Status::Healthy) => ("healthy", None),
        Some(Status::Provisioning) => ("provisioning", None),
        Some(Status::Drift { detail }) => ("drift", Some(detail.clone())),
        Some(Status::NeedsRepair { reason }) => ("needs_repair", Some(reason.clone())),
    };
    IntegrationRow {
        id: vi.id.to_string(),
        name: vi.name.to_string(),
        accounts: vi.accounts.iter().map(ToString::to_string).collect(),
        status: status.into(),
        status_detail,
        revision: vi.revision.min(u64::from(u32::MAX)) as u32,
        view_name: vi.view_name(),
        billing_view_arn: state.billing_view_arn().map(String::from),
        updated_at: iso(vi.updated_at),
        rules: rules_form(&vi.effective_rules()),
        rules_text: vi.effective_rules().describe(),
        shared_with: state.shared_with(),
        profile: profile_form(vi.shown_profile()),
        display_name: vi.display_name(),
        basis_words: vi.shown_profile().basis_words(),
    }
}

fn profile_form(p: PresentationProfile) -> ProfileForm {
    ProfileForm {
        display_name: p.display_name,
        basis: p.basis.name().into(),
        exclude: p.exclude.into_iter().collect(),
    }
}

fn rules_form(rules: &MembershipRules) -> RulesForm {
    RulesForm {
        units: rules.units.clone(),
        tags: rules.tags.iter().map(ToString::to_string).collect(),
        accounts: rules.accounts.iter().map(ToString::to_string).collect(),
        exclude: rules.exclude.iter().map(ToString::to_string).collect(),
        allow_shared: rules.allow_shared,
    }
}

/// The form's rules, checked for their own form (ids, tags).
fn rules_of(form: &RulesForm) -> Result<MembershipRules> {
    let new = new_integration("", form)?;
    Ok(new.rules()?)
}

fn new_integration(name: &str, form: &RulesForm) -> Result<NewIntegration> {
    Ok(NewIntegration {
        name: name.to_string(),
        accounts: ids(&form.accounts)?,
        allow_shared: form.allow_shared,
        units: form.units.clone(),
        tags: form.tags.clone(),
        exclude: ids(&form.exclude)?,
    })
}

fn left_out_rows(org: &Organization, left_out: &[LeftOut]) -> Vec<LeftOutRow> {
    left_out
        .iter()
        .map(|l| LeftOutRow {
            account: l.account.to_string(),
            name: org
                .account(&l.account)
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            reason: l.reason.to_string(),
        })
        .collect()
}

fn outcome_row(o: &RowOutcome) -> ImportOutcomeRow {
    ImportOutcomeRow {
        line: u32::try_from(o.line).unwrap_or(u32::MAX),
        name: o.name.clone(),
        outcome: o.outcome.to_string(),
        accounts: u32::try_from(o.accounts).unwrap_or(u32::MAX),
        error: o.error.clone(),
    }
}

fn org_view(
    org: &Organization,
    members: &BTreeMap<AccountId, Vec<String>>,
    fetched_at: Option<String>,
) -> OrgView {
    // Each unit's path once (10,000 accounts share a few hundred units).
    let paths: BTreeMap<&str, String> = org
        .units
        .iter()
        .map(|u| (u.id.as_str(), org.unit_path(&u.id)))
        .collect();
    let path = |id: &str| paths.get(id).cloned().unwrap_or_default();
    OrgView {
        units: org
            .units
            .iter()
            .map(|u| UnitRow {
                id: u.id.clone(),
                name: u.name.clone(),
                parent_id: u.parent_id.clone(),
                path: path(&u.id),
            })
            .collect(),
        accounts: org
            .accounts
            .iter()
            .map(|a| AccountRow {
                id: a.id.to_string(),
                name: a.name.clone(),
                status: a.status.clone(),
                unit_id: a.parent_id.clone(),
                unit_path: path(&a.parent_id),
                tags: a.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                integrations: members.get(&a.id).cloned().unwrap_or_default(),
            })
            .collect(),
        fetched_at,
    }
}

/// The series as a chart draws it: services by the names customers know.
fn drawn(series: &CostSeries) -> CostSeries {
    if series.query.group_by.first() == Some(&Dimension::Service) {
        review::with_service_names(series, 0)
    } else {
        series.clone()
    }
}

fn points(series: &CostSeries) -> Vec<PointRow> {
    series
        .points
        .iter()
        .map(|p| PointRow {
            period: p.period.to_string(),
            keys: p.keys.clone(),
            labels: p
                .keys
                .iter()
                .zip(&series.query.group_by)
                .map(|(k, d)| match d {
                    Dimension::Service => service_name(k),
                    _ => k.clone(),
                })
                .collect(),
            amount: p.amount.round_dp(2).to_string(),
        })
        .collect()
}

fn csv_error(e: impl std::fmt::Display) -> OpsError {
    OpsError::new(ErrorCode::Io, format!("could not write the CSV: {e}"))
}

/// The CSV of a series: period, keys, amount.
fn series_csv(series: &CostSeries) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["period".to_string()];
    header.extend(series.query.group_by.iter().map(Dimension::label));
    header.push(format!("amount_{}", series.currency.to_lowercase()));
    w.write_record(&header).map_err(csv_error)?;
    for p in &series.points {
        let mut r = vec![p.period.to_string()];
        r.extend(p.keys.iter().cloned());
        r.push(p.amount.to_string());
        w.write_record(&r).map_err(csv_error)?;
    }
    w.into_inner().map_err(csv_error)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    costcarve_core::files::write_atomic(path, bytes).map_err(|e| OpsError::write(path, e))
}

impl Session {
    /// A session with nothing open yet; secrets in the OS keyring.
    pub fn new(dirs: Dirs, clock: Arc<dyn Clock>) -> Self {
        let demo_rows = std::env::var("COSTCARVE_DEMO_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(demo::DEFAULT_ROWS);
        Self {
            dirs,
            clock,
            secrets: Arc::new(Keyring),
            demo_rows,
            first_start: FirstStart::InProcess,
            open: RwLock::new(None),
            opening: tokio::sync::Mutex::new(()),
            running: Mutex::new(BTreeMap::new()),
            import: Mutex::new(ImportProgress::default()),
            next_query: AtomicU64::new(0),
        }
    }

    /// Sets the size of a demo made on first start (smaller is faster).
    pub fn with_demo_rows(mut self, rows: u64) -> Self {
        self.demo_rows = rows;
        self
    }

    /// Makes the first-start demo in a child process running `program`
    /// (the desktop passes its own executable; see [`demo::run_worker`]).
    pub fn with_demo_worker(mut self, program: std::path::PathBuf) -> Self {
        self.first_start = FirstStart::Worker(program);
        self
    }

    /// Keeps secrets in `secrets` instead of the OS keyring (tests).
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretStore>) -> Self {
        self.secrets = secrets;
        self
    }

    /// The folders in use.
    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    fn info(ws: &Workspace) -> WorkspaceInfo {
        WorkspaceInfo {
            kind: ws.kind().into(),
            label: ws.label(),
            payer: ws.payer(),
            data_as_of: ws.synced_at().map(iso),
            recovery: ws.recovery(),
        }
    }

    fn current(&self) -> Option<Arc<Workspace>> {
        self.open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The open workspace; the demo (made on first use) when none is.
    pub async fn workspace(&self) -> Result<WorkspaceInfo> {
        Ok(Self::info(&*self.ensure_open().await?))
    }

    /// Opens the demo workspace, generating it first if it does not exist.
    pub async fn open_demo(&self) -> Result<WorkspaceInfo> {
        let _turn = self.opening.lock().await;
        self.open_demo_now().await
    }

    async fn open_demo_now(&self) -> Result<WorkspaceInfo> {
        let dir = self.dirs.demo();
        let today = self.clock.now().date_naive();
        demo::ensure_first_start(&dir, self.demo_rows, today, &self.first_start).await?;
        self.put(Workspace::open_local(&dir, self.clock.clone(), true).await?)
            .await
    }

    /// Opens a local folder (a demo or CUR Parquet copied from S3).
    pub async fn open_folder(&self, path: &str) -> Result<WorkspaceInfo> {
        self.put(Workspace::open_local(Path::new(path), self.clock.clone(), false).await?)
            .await
    }

    /// Opens a payer through a saved connection.
    pub async fn open_connection(&self, name: &str) -> Result<WorkspaceInfo> {
        let ws =
            Workspace::open_connection(&self.dirs, name, self.secrets.clone(), self.clock.clone())
                .await?;
        self.put(ws).await
    }

    async fn put(&self, ws: Workspace) -> Result<WorkspaceInfo> {
        let info = Self::info(&ws);
        *self.open.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(ws));
        Ok(info)
    }

    /// The open workspace, opening the demo first when none is.
    async fn ensure_open(&self) -> Result<Arc<Workspace>> {
        if let Some(ws) = self.current() {
            return Ok(ws);
        }
        let _turn = self.opening.lock().await;
        // Another call may have opened it while this one waited.
        if self.current().is_none() {
            self.open_demo_now().await?;
        }
        self.current()
            .ok_or_else(|| OpsError::invalid("no workspace is open"))
    }

    /// The organization with each account's integrations.
    pub async fn organization(&self, refresh: bool) -> Result<OrgView> {
        let listing = self
            .ensure_open()
            .await?
            .organization(refresh, &|_| {})
            .await?;
        Ok(org_view(
            &listing.organization,
            &listing.memberships,
            listing.discovery.map(|d| iso(d.fetched_at)),
        ))
    }

    /// The integrations, with status (read from the payer in AWS).
    pub async fn integrations(&self) -> Result<Vec<IntegrationRow>> {
        Ok(self
            .ensure_open()
            .await?
            .integrations()
            .await?
            .iter()
            .map(row)
            .collect())
    }

    /// Athena views named like an integration's that no billing view owns
    /// (AWS; as of the last [`Self::integrations`]): the trace of a billing
    /// view deleted outside CostCarve. Empty locally.
    pub async fn orphan_views(&self) -> Result<Vec<String>> {
        Ok(self.ensure_open().await?.orphan_views())
    }

    /// Drops one of [`Self::orphan_views`].
    pub async fn drop_orphan_view(&self, view: &str) -> Result<()> {
        self.ensure_open().await?.drop_orphan(view).await
    }

    /// What creating `name` over `accounts` (or changing the integration
    /// `existing` to them) will send: the view DDL and the billing filter.
    pub async fn plan(
        &self,
        name: &str,
        accounts: &[String],
        existing: Option<&str>,
    ) -> Result<IntegrationPlan> {
        let wanted = ids(accounts)?;
        let plan = self
            .ensure_open()
            .await?
            .plan(name, wanted, existing, self.clock.now())
            .await?;
        let after = &plan.integration.accounts;
        Ok(IntegrationPlan {
            name: plan.integration.name.to_string(),
            accounts: after.iter().map(ToString::to_string).collect(),
            added: after
                .difference(&plan.current)
                .map(ToString::to_string)
                .collect(),
            removed: plan
                .current
                .difference(after)
                .map(ToString::to_string)
                .collect(),
            view_sql: plan.view_sql,
            billing_filter: plan.billing_filter.unwrap_or_else(|| {
                "none: a local workspace has no billing view (the view above is the whole scope)"
                    .into()
            }),
        })
    }

    /// Creates an integration.
    pub async fn create_integration(
        &self,
        name: &str,
        accounts: &[String],
        allow_shared: bool,
    ) -> Result<IntegrationRow> {
        let new = NewIntegration {
            name: name.to_string(),
            accounts: ids(accounts)?,
            allow_shared,
            ..Default::default()
        };
        Ok(row(&self.ensure_open().await?.create(new).await?))
    }

    /// Sets an integration's accounts to exactly `accounts` (and renames it).
    pub async fn update_integration(
        &self,
        name: &str,
        accounts: &[String],
        rename: Option<String>,
        allow_shared: bool,
    ) -> Result<IntegrationRow> {
        let wanted = ids(accounts)?.into_iter().collect();
        let (state, _) = self
            .ensure_open()
            .await?
            .set_accounts(name, wanted, rename, allow_shared)
            .await?;
        Ok(row(&state))
    }

    /// What `rules` resolve to now for an integration named `name` (new,
    /// or the existing one `existing` with its rules replaced); makes
    /// nothing. Refused as creating or saving would refuse it.
    pub async fn resolve_rules(
        &self,
        name: &str,
        rules: &RulesForm,
        existing: Option<&str>,
    ) -> Result<RulesPreview> {
        let ws = self.ensure_open().await?;
        let org = ws.organization_now(false, &|_| {}).await?;
        let (vi, left_out) = match existing {
            None => ws.preview_create(new_integration(name, rules)?).await?,
            Some(current) => {
                let change = IntegrationChange {
                    set_rules: Some(rules_of(rules)?),
                    rename: Some(name.to_string()).filter(|n| !n.is_empty() && n != current),
                    allow_shared: rules.allow_shared,
                    ..Default::default()
                };
                let mut set = ws.integration_set().await?;
                let (vi, diff) = match set.update(&org, current, change, self.clock.now()) {
                    Err(IntegrationError::NothingToChange) => {
                        let vi = set.require(current)?.clone();
                        (vi, Default::default())
                    }
                    other => other?,
                };
                (vi, diff.left_out)
            }
        };
        Ok(RulesPreview {
            accounts: vi.accounts.iter().map(ToString::to_string).collect(),
            left_out: left_out_rows(&org, &left_out),
            rules_text: vi.effective_rules().describe(),
        })
    }

    /// Creates an integration from rules.
    pub async fn create_integration_rules(
        &self,
        name: &str,
        rules: &RulesForm,
    ) -> Result<IntegrationRow> {
        let new = new_integration(name, rules)?;
        let (state, _) = self.ensure_open().await?.create_reporting(new).await?;
        Ok(row(&state))
    }

    /// Replaces an integration's rules (and renames it).
    pub async fn update_integration_rules(
        &self,
        name: &str,
        rules: &RulesForm,
        rename: Option<String>,
    ) -> Result<IntegrationRow> {
        let change = IntegrationChange {
            set_rules: Some(rules_of(rules)?),
            rename: blank(rename).filter(|r| r != name),
            allow_shared: rules.allow_shared,
            ..Default::default()
        };
        let (state, _) = self.ensure_open().await?.update(name, change).await?;
        Ok(row(&state))
    }

    /// Reads the organization again and says which integrations its rules
    /// would change (nothing is changed).
    pub async fn sync_plan(&self) -> Result<SyncPlanView> {
        let ws = self.ensure_open().await?;
        let plan = ws.sync_plan(None, &|_| {}).await?;
        let org = ws.organization_now(false, &|_| {}).await?;
        Ok(SyncPlanView {
            out_of_date: u32::try_from(plan.iter().filter(|c| c.changes()).count())
                .unwrap_or(u32::MAX),
            changes: plan
                .iter()
                .filter(|c| c.changes() || c.problem.is_some())
                .map(|c| SyncRow {
                    name: c.name.clone(),
                    added: c.diff.added.iter().map(ToString::to_string).collect(),
                    removed: c.diff.removed.iter().map(ToString::to_string).collect(),
                    left_out: left_out_rows(&org, &c.diff.left_out),
                    problem: c.problem.clone(),
                })
                .collect(),
        })
    }

    /// Brings every out-of-date integration up to date (a fresh plan, as
    /// `vi sync`), each as an update.
    pub async fn apply_sync(&self) -> Result<Vec<SyncOutcomeRow>> {
        let ws = self.ensure_open().await?;
        let plan = ws.sync_plan(None, &|_| {}).await?;
        Ok(ws
            .apply_sync(&plan, &|_| {})
            .await
            .into_iter()
            .map(|o| SyncOutcomeRow {
                name: o.name,
                applied: o.applied,
                error: o.error,
            })
            .collect())
    }

    async fn import_rows(&self, source: &ImportSource) -> Result<Vec<ImportRow>> {
        if let Some(csv) = source.csv.as_deref() {
            return parse_import_csv(csv);
        }
        match source
            .from_ou
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(ou) => self.ensure_open().await?.import_rows_from_ou(ou).await,
            None => Err(OpsError::invalid(
                "choose a CSV file or the OU whose children are your customers",
            )),
        }
    }

    /// Checks every row of an import; makes nothing.
    pub async fn import_preview(&self, source: &ImportSource) -> Result<Vec<ImportPlanRow>> {
        let rows = self.import_rows(source).await?;
        let ws = self.ensure_open().await?;
        let plan = ws.import_plan(&rows).await?;
        let org = ws.organization_now(false, &|_| {}).await?;
        Ok(plan
            .iter()
            .map(|p| ImportPlanRow {
                line: u32::try_from(p.line).unwrap_or(u32::MAX),
                name: p.name.clone(),
                rules_text: p.rules.clone(),
                accounts: u32::try_from(p.accounts).unwrap_or(u32::MAX),
                left_out: left_out_rows(&org, &p.left_out),
                action: match p.action {
                    RowAction::Create => "create",
                    RowAction::Unchanged => "unchanged",
                }
                .into(),
            })
            .collect())
    }

    /// Runs an import (checked again first; one bad row and nothing is
    /// made); [`Self::import_progress`] tells how far it is meanwhile.
    pub async fn run_import(&self, source: &ImportSource) -> Result<Vec<ImportOutcomeRow>> {
        let rows = self.import_rows(source).await?;
        let ws = self.ensure_open().await?;
        let plan = ws.import_plan(&rows).await?;
        *lock(&self.import) = ImportProgress {
            running: true,
            total: u32::try_from(plan.len()).unwrap_or(u32::MAX),
            outcomes: vec![],
        };
        let outcomes = ws
            .import(&rows, &plan, &|o| {
                lock(&self.import).outcomes.push(outcome_row(o))
            })
            .await;
        lock(&self.import).running = false;
        Ok(outcomes?.iter().map(outcome_row).collect())
    }

    /// The import under way (or the last one).
    pub fn import_progress(&self) -> ImportProgress {
        lock(&self.import).clone()
    }

    /// Shares the integration's billing view with some of its own accounts
    /// (`add`), or stops sharing it with them (AWS).
    pub async fn share_integration(
        &self,
        name: &str,
        accounts: &[String],
        add: bool,
    ) -> Result<IntegrationRow> {
        let accounts = ids(accounts)?.into_iter().collect();
        Ok(row(&self
            .ensure_open()
            .await?
            .share(name, accounts, add)
            .await?))
    }

    /// Deletes an integration (and, in AWS, its views and secret).
    pub async fn delete_integration(&self, name: &str) -> Result<()> {
        self.ensure_open().await?.delete(name).await.map(|_| ())
    }

    /// Makes an integration's two views agree again (AWS).
    pub async fn repair_integration(&self, name: &str) -> Result<IntegrationRow> {
        Ok(row(&self.ensure_open().await?.repair(name).await?))
    }

    /// Cost Explorer requests verifying will make (AWS), to say before.
    pub async fn verify_requests(&self) -> Result<Option<u32>> {
        Ok(self.ensure_open().await?.verify_requests())
    }

    /// Verifies an integration (see [`Workspace::verify`]).
    pub async fn verify(&self, name: &str, months: u32) -> Result<Verification> {
        self.ensure_open().await?.verify(name, months).await
    }

    async fn chart_parts(&self, req: &ChartRequest) -> Result<(ChartOptions, CostAnswer)> {
        let ws = self.ensure_open().await?;
        let name = ws.canonical_name(&req.integration).await?;
        let kind: ChartKind = req.kind.parse()?;
        let spec = ChartSpec {
            kind,
            from: date(&req.from, "from")?,
            to: date(&req.to, "to")?,
            group_by: req
                .group_by
                .as_deref()
                .filter(|g| !g.is_empty())
                .map(str::parse)
                .transpose()?,
            exclude: None,
        };
        let mut q = spec.query(name.clone(), self.clock.now().date_naive())?;
        // The integration's presentation profile decides what its customer
        // sees; without one, the chart's own defaults stand.
        if let Some(profile) = &ws.integration(&name).await?.integration().profile {
            profile.apply(&mut q);
        }
        let answer = ws.cost(&q).await?;
        let (w, h) = (req.width.unwrap_or(1100), req.height.unwrap_or(560));
        let opts = ChartOptions::new(kind, chart::title(kind, &q))
            .with_size(w, h)
            .with_large_type(req.large)
            .with_caption(basis_words(q.metric, &q.exclude_line_item_types));
        Ok((opts, answer))
    }

    /// A chart of an integration's costs and the numbers behind it.
    pub async fn chart(&self, req: &ChartRequest) -> Result<ChartView> {
        let (opts, answer) = self.chart_parts(req).await?;
        let series = &answer.series;
        let svg = costcarve_charts::render_svg(&drawn(series), &opts)?;
        let count = |n: u64| n.min(u64::from(u32::MAX)) as u32;
        Ok(ChartView {
            svg,
            points: points(series),
            total: series.total.round_dp(2).to_string(),
            currency: series.currency.clone(),
            from: series.query.from.to_string(),
            to: series.query.to.to_string(),
            data_as_of: answer.data_as_of.map(iso),
            ce_requests: answer.requests.map(|r| count(r.made)),
            ce_requests_total: answer.requests.map(|r| count(r.total)),
            basis_words: basis_words(series.query.metric, &series.query.exclude_line_item_types),
            total_text: money(series.total, &series.currency),
        })
    }

    /// The cost bases and line item types the profile form offers.
    pub fn profile_options(&self) -> ProfileOptions {
        ProfileOptions {
            bases: Metric::ALL
                .iter()
                .map(|m| Choice {
                    key: m.name().into(),
                    words: m.words().into(),
                })
                .collect(),
            line_item_types: LINE_ITEM_TYPES
                .iter()
                .map(|t| Choice {
                    key: (*t).into(),
                    words: line_item_words(t),
                })
                .collect(),
        }
    }

    /// Sets how an integration is shown to its customer (see
    /// [`Workspace::set_profile`]).
    pub async fn set_profile(&self, name: &str, form: &ProfileForm) -> Result<IntegrationRow> {
        let profile = PresentationProfile {
            display_name: form
                .display_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from),
            basis: form.basis.parse()?,
            exclude: form.exclude.iter().cloned().collect(),
        };
        Ok(row(&self
            .ensure_open()
            .await?
            .set_profile(name, profile)
            .await?))
    }

    fn review_month(&self, month: Option<&str>) -> Result<NaiveDate> {
        match month.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => review::parse_month(m),
            None => Ok(review::default_month(self.clock.now().date_naive())),
        }
    }

    /// What a review pack of `month` (default: the last closed month) will
    /// spend, to say before it is made.
    pub async fn review_estimate(
        &self,
        name: &str,
        month: Option<String>,
    ) -> Result<ReviewEstimateView> {
        let month = self.review_month(month.as_deref())?;
        let ws = self.ensure_open().await?;
        let e = ws
            .review_estimate(name, month, self.clock.now().date_naive())
            .await?;
        let count = |n: u64| n.min(u64::from(u32::MAX)) as u32;
        Ok(ReviewEstimateView {
            month: month.format("%Y-%m").to_string(),
            month_label: costcarve_core::presentation::month(month),
            ce_requests: count(e.ce_requests),
            athena_queries: count(e.athena_queries),
            athena_bytes: e.athena_bytes.to_string(),
            words: e.words(ws.is_payer()),
        })
    }

    /// The review pack of `month` (default: the last closed month), to
    /// present.
    pub async fn review_pack(
        &self,
        name: &str,
        month: Option<String>,
    ) -> Result<costcarve_review::ReviewPack> {
        let month = self.review_month(month.as_deref())?;
        let ws = self.ensure_open().await?;
        Ok(ws.review(name, month, self.clock.now()).await?.pack)
    }

    /// Makes the review pack of `month` and writes its files into `dir`.
    pub async fn write_review_pack(
        &self,
        name: &str,
        month: Option<String>,
        dir: &str,
    ) -> Result<ReviewFiles> {
        let month = self.review_month(month.as_deref())?;
        let ws = self.ensure_open().await?;
        let (review, written) = ws
            .write_review(name, month, self.clock.now(), Path::new(dir))
            .await?;
        let text = |p: &Path| p.display().to_string();
        Ok(ReviewFiles {
            dir: dir.to_string(),
            pdf: text(&written.pdf),
            pngs: written.pngs.iter().map(|p| text(p)).collect(),
            csvs: written.csvs.iter().map(|p| text(p)).collect(),
            spent: review.spent.words(ws.is_payer()),
        })
    }

    /// Writes a chart as `svg`, `png` or `csv` to `path`.
    pub async fn export_chart(&self, req: &ChartRequest, format: &str, path: &str) -> Result<()> {
        let (opts, answer) = self.chart_parts(req).await?;
        let series = &answer.series;
        let bytes = match format {
            "svg" => costcarve_charts::render_svg(&drawn(series), &opts)?.into_bytes(),
            "png" => costcarve_charts::render_png(&drawn(series), &opts)?,
            "csv" => series_csv(series)?,
            other => {
                return Err(OpsError::invalid(format!(
                    "cannot export as '{other}': use svg, png or csv"
                )))
            }
        };
        write_file(Path::new(path), &bytes)
    }

    /// The services whose monthly cost changed most between the last two
    /// full months.
    pub async fn movers(&self, integration: &str) -> Result<MoversView> {
        let this_month = first_of_month(self.clock.now().date_naive());
        let current = first_of_month(this_month - Duration::days(1));
        let previous = first_of_month(current - Duration::days(1));
        let series = {
            let ws = self.ensure_open().await?;
            let name = ws.canonical_name(integration).await?;
            let mut q = CostQuery::new(name, previous, this_month);
            q.group_by = vec![Dimension::Service];
            ws.cost(&q).await?.series
        };
        let mut by: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for p in &series.points {
            let e = by
                .entry(p.keys.first().cloned().unwrap_or_default())
                .or_default();
            if p.period < current {
                e.0 += p.amount;
            } else {
                e.1 += p.amount;
            }
        }
        let mut movers: Vec<(Decimal, Mover)> = by
            .into_iter()
            .map(|(service, (a, b))| {
                (
                    (b - a).abs(),
                    Mover {
                        label: service_name(&service),
                        service,
                        previous: a.round_dp(2).to_string(),
                        current: b.round_dp(2).to_string(),
                        change: (b - a).round_dp(2).to_string(),
                    },
                )
            })
            .collect();
        movers.sort_by_key(|m| std::cmp::Reverse(m.0));
        movers.truncate(10);
        Ok(MoversView {
            previous_month: previous.format("%Y-%m").to_string(),
            current_month: current.format("%Y-%m").to_string(),
            movers: movers.into_iter().map(|(_, m)| m).collect(),
            currency: series.currency.clone(),
        })
    }

    /// Runs a user's SQL confined to one integration; [`Self::cancel_query`]
    /// stops it.
    pub async fn query(&self, integration: &str, sql: &str, max_rows: u32) -> Result<QueryRows> {
        self.query_within(integration, sql, max_rows, None).await
    }

    /// [`Self::query`] with the user's time limit in seconds (1 to 86,400;
    /// `None`: the engine's default).
    pub async fn query_within(
        &self,
        integration: &str,
        sql: &str,
        max_rows: u32,
        timeout_seconds: Option<u32>,
    ) -> Result<QueryRows> {
        let timeout = match timeout_seconds {
            None => None,
            Some(s @ 1..=86_400) => Some(std::time::Duration::from_secs(s.into())),
            Some(_) => {
                return Err(OpsError::invalid(
                    "the query time limit must be 1 to 86400 seconds",
                ))
            }
        };
        let cancel = CancellationToken::new();
        let number = self.next_query.fetch_add(1, Ordering::Relaxed);
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(number, cancel.clone());
        let result = async {
            let ws = self.ensure_open().await?;
            let executed = ws.explain(integration, sql).await?;
            let answer = ws
                .sql(integration, sql, max_rows as usize, timeout, &cancel)
                .await?;
            Ok(QueryRows {
                columns: answer.result.columns,
                rows: answer.result.rows,
                truncated: answer.result.truncated,
                executed_sql: executed,
            })
        }
        .await;
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&number);
        result
    }

    /// Stops the running queries; whether there was one.
    pub fn cancel_query(&self) -> bool {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        for token in running.values() {
            token.cancel();
        }
        !running.is_empty()
    }

    /// Runs a query and writes all its rows (up to 1,000,000) as CSV.
    pub async fn export_query_csv(&self, integration: &str, sql: &str, path: &str) -> Result<u32> {
        let rows = self.query(integration, sql, 1_000_000).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&rows.columns).map_err(csv_error)?;
        for r in &rows.rows {
            w.write_record(r.iter().map(|c| c.as_deref().unwrap_or("")))
                .map_err(csv_error)?;
        }
        let bytes = w.into_inner().map_err(csv_error)?;
        write_file(Path::new(path), &bytes)?;
        Ok(rows.rows.len() as u32)
    }

    fn connections_store(&self) -> Connections {
        Connections::new(&self.dirs, self.secrets.clone())
    }

    /// Saved connections.
    pub fn connections(&self) -> Result<Vec<ConnectionRow>> {
        Ok(self
            .connections_store()
            .list()?
            .into_iter()
            .map(|c| ConnectionRow {
                credentials: connections::credentials_label(&c),
                cur_table: format!("{}.{}", c.cur_database, c.cur_table),
                results: c.results.uri(),
                name: c.name,
                region: c.region,
                role_arn: c.role_arn,
                workgroup: c.workgroup,
                views_database: c.views_database,
            })
            .collect())
    }

    /// Saves a connection; its secret key goes to the OS keyring only.
    pub fn add_connection(&self, form: ConnectionForm) -> Result<()> {
        let access_keys = match blank(form.access_key_id) {
            Some(id) => {
                let secret = blank(form.secret_access_key).ok_or_else(|| {
                    OpsError::invalid("an access key id needs its secret access key")
                })?;
                Some(connections::access_keys(id, secret, None))
            }
            None => None,
        };
        self.connections_store().add(NewConnection {
            name: form.name,
            profile: blank(form.profile),
            access_keys,
            region: blank(form.region),
            role_arn: blank(form.role_arn),
            external_id: blank(form.external_id),
            cur_table: form.cur_table,
            workgroup: form.workgroup,
            results: form.results,
            views_database: blank(form.views_database).unwrap_or_else(|| "costcarve_views".into()),
        })?;
        Ok(())
    }

    /// Runs the prerequisites check of a connection.
    pub async fn test_connection(&self, name: &str) -> Result<Vec<CheckRow>> {
        let report = self.connections_store().test(name).await?;
        Ok(report
            .checks
            .into_iter()
            .map(|c| CheckRow {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
                fix: c.fix,
                optional: c.optional,
            })
            .collect())
    }

    /// Removes a connection and its keyring entry.
    pub fn remove_connection(&self, name: &str) -> Result<()> {
        self.connections_store().remove(name)
    }
}

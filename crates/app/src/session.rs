//! The open workspace and the operations each screen calls.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use costcarve_aws::connection::{Connection, ConnectionStore, CredentialSource, S3Location};
use costcarve_aws::secrets::{self, AccessKeys, Keyring, Secret, SecretStore};
use costcarve_aws::workspace::{ManagedIntegration, Status};
use costcarve_aws::AwsWorkspace;
use costcarve_charts::{ChartKind, ChartOptions};
use costcarve_core::account::{parse_account_list, AccountId, Organization};
use costcarve_core::cost::{
    first_of_month, CostQuery, CostSeries, Dimension, Granularity, NON_USAGE_LINE_ITEM_TYPES,
};
use costcarve_core::error::ErrorCode;
use costcarve_core::integration::{IntegrationChange, NewIntegration, VirtualIntegration};
use costcarve_core::ports::Clock;
use costcarve_core::query::QueryResult;
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::LocalWorkspace;

use crate::error::AppError;
use crate::ipc::*;

type Result<T> = std::result::Result<T, AppError>;

/// Where the app keeps connections (config) and workspaces and caches (data).
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Config folder (connections).
    pub config: PathBuf,
    /// Data folder (the demo workspace, per-connection caches).
    pub data: PathBuf,
}

impl Dirs {
    /// `COSTCARVE_CONFIG_DIR` / `COSTCARVE_DATA_DIR`, else the OS folders.
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let config = var("COSTCARVE_CONFIG_DIR")
            .or_else(|| dirs::config_dir().map(|d| d.join("costcarve")))
            .ok_or_else(|| AppError::invalid("no config folder: set COSTCARVE_CONFIG_DIR"))?;
        let data = var("COSTCARVE_DATA_DIR")
            .or_else(|| dirs::data_dir().map(|d| d.join("costcarve")))
            .ok_or_else(|| AppError::invalid("no data folder: set COSTCARVE_DATA_DIR"))?;
        Ok(Self { config, data })
    }

    /// The demo workspace's folder.
    pub fn demo(&self) -> PathBuf {
        self.data.join("demo")
    }
}

enum Open {
    Local { ws: Box<LocalWorkspace>, demo: bool },
    Aws(Box<AwsWorkspace>),
}

/// The app's state: one open workspace at a time.
pub struct Session {
    dirs: Dirs,
    clock: Arc<dyn Clock>,
    demo_rows: u64,
    open: Mutex<Option<Open>>,
    running: std::sync::Mutex<Option<CancellationToken>>,
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ids(list: &[String]) -> Result<Vec<AccountId>> {
    parse_account_list(&list.join(",")).map_err(AppError::from)
}

fn date(s: &Option<String>, what: &str) -> Result<Option<NaiveDate>> {
    s.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<NaiveDate>().map_err(|_| {
                AppError::invalid(format!("{what} '{s}' is not a date: use YYYY-MM-DD"))
            })
        })
        .transpose()
}

fn local_row(vi: &VirtualIntegration) -> IntegrationRow {
    IntegrationRow {
        id: vi.id.to_string(),
        name: vi.name.to_string(),
        accounts: vi.accounts.iter().map(ToString::to_string).collect(),
        status: "local".into(),
        status_detail: None,
        revision: vi.revision.min(u64::from(u32::MAX)) as u32,
        view_name: vi.view_name(),
        billing_view_arn: None,
        updated_at: iso(vi.updated_at),
    }
}

fn aws_row(m: &ManagedIntegration) -> IntegrationRow {
    let mut row = local_row(&m.integration);
    let (status, detail) = match &m.status {
        Status::Healthy => ("healthy", None),
        Status::Provisioning => ("provisioning", None),
        Status::Drift { detail } => ("drift", Some(detail.clone())),
        Status::NeedsRepair { reason } => ("needs_repair", Some(reason.clone())),
    };
    row.status = status.into();
    row.status_detail = detail;
    row.billing_view_arn = Some(m.billing_view_arn.clone());
    row
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

fn memberships<'a>(
    vis: impl Iterator<Item = &'a VirtualIntegration>,
) -> BTreeMap<AccountId, Vec<String>> {
    let mut map: BTreeMap<AccountId, Vec<String>> = BTreeMap::new();
    for v in vis {
        for a in &v.accounts {
            map.entry(a.clone()).or_default().push(v.name.to_string());
        }
    }
    map
}

fn points(series: &CostSeries) -> Vec<PointRow> {
    series
        .points
        .iter()
        .map(|p| PointRow {
            period: p.period.to_string(),
            keys: p.keys.clone(),
            amount: p.amount.round_dp(2).to_string(),
        })
        .collect()
}

/// The CSV of a series: period, keys, amount.
fn series_csv(series: &CostSeries) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["period".to_string()];
    header.extend(series.query.group_by.iter().map(Dimension::label));
    header.push(format!("amount_{}", series.currency.to_lowercase()));
    let io = |e: csv::Error| AppError::new(ErrorCode::Io, e.to_string());
    w.write_record(&header).map_err(io)?;
    for p in &series.points {
        let mut r = vec![p.period.to_string()];
        r.extend(p.keys.iter().cloned());
        r.push(p.amount.to_string());
        w.write_record(&r).map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| AppError::new(ErrorCode::Io, e.to_string()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| {
        AppError::new(
            ErrorCode::Io,
            format!("could not write {}: {e}", path.display()),
        )
    })
}

impl Session {
    /// A session with nothing open yet.
    pub fn new(dirs: Dirs, clock: Arc<dyn Clock>) -> Self {
        let demo_rows = std::env::var("COSTCARVE_DEMO_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(demo::DEFAULT_ROWS);
        Self {
            dirs,
            clock,
            demo_rows,
            open: Mutex::new(None),
            running: std::sync::Mutex::new(None),
        }
    }

    /// Sets the size of a demo made on first start (smaller is faster).
    pub fn with_demo_rows(mut self, rows: u64) -> Self {
        self.demo_rows = rows;
        self
    }

    /// The folders in use.
    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    fn info(&self, open: &Open) -> WorkspaceInfo {
        match open {
            Open::Local { ws, demo } => WorkspaceInfo {
                kind: if *demo { "demo" } else { "local" }.into(),
                label: ws.dir().display().to_string(),
                payer: None,
                data_as_of: None,
            },
            Open::Aws(ws) => WorkspaceInfo {
                kind: "aws".into(),
                label: ws.connection().name.clone(),
                payer: Some(ws.payer().to_string()),
                data_as_of: ws.synced_at().map(iso),
            },
        }
    }

    /// The open workspace; the demo (made on first use) when none is.
    pub async fn workspace(&self) -> Result<WorkspaceInfo> {
        {
            let open = self.open.lock().await;
            if let Some(o) = open.as_ref() {
                return Ok(self.info(o));
            }
        }
        self.open_demo().await
    }

    /// Opens the demo workspace, generating it first if it does not exist.
    pub async fn open_demo(&self) -> Result<WorkspaceInfo> {
        let dir = self.dirs.demo();
        if !dir.join("costcarve-workspace.json").exists() {
            let today = self.clock.now().date_naive();
            let mut spec = DemoSpec::new(self.demo_rows, 42, today);
            spec.data_until = Some(today);
            let target = dir.clone();
            tokio::task::spawn_blocking(move || demo::generate(&target, &spec, |_| {}))
                .await
                .map_err(|e| AppError::new(ErrorCode::Io, e.to_string()))??;
        }
        self.open_local(&dir, true).await
    }

    /// Opens a local folder (a demo or CUR Parquet copied from S3).
    pub async fn open_folder(&self, path: &str) -> Result<WorkspaceInfo> {
        self.open_local(Path::new(path), false).await
    }

    async fn open_local(&self, dir: &Path, demo: bool) -> Result<WorkspaceInfo> {
        let ws = LocalWorkspace::open(dir, self.clock.clone()).await?;
        let open = Open::Local {
            ws: Box::new(ws),
            demo,
        };
        let info = self.info(&open);
        *self.open.lock().await = Some(open);
        Ok(info)
    }

    /// Opens a payer through a saved connection.
    pub async fn open_connection(&self, name: &str) -> Result<WorkspaceInfo> {
        let connection = ConnectionStore::new(&self.dirs.config).get(name)?;
        let ws = AwsWorkspace::open(
            connection,
            &self.dirs.data,
            Arc::new(Keyring),
            self.clock.clone(),
        )
        .await?;
        let open = Open::Aws(Box::new(ws));
        let info = self.info(&open);
        *self.open.lock().await = Some(open);
        Ok(info)
    }

    async fn ensure_open(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Open>>> {
        if self.open.lock().await.is_none() {
            self.open_demo().await?;
        }
        Ok(self.open.lock().await)
    }

    /// The organization with each account's integrations.
    pub async fn organization(&self, refresh: bool) -> Result<OrgView> {
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => Ok(org_view(
                ws.organization(),
                &ws.integrations().memberships(),
                None,
            )),
            Some(Open::Aws(ws)) => {
                let snapshot = ws.organization(refresh, &|_| {}).await?;
                if ws.synced_at().is_none() || refresh {
                    ws.sync().await?;
                }
                let members = memberships(ws.integrations().iter().map(|m| &m.integration));
                Ok(org_view(
                    &snapshot.organization,
                    &members,
                    Some(iso(snapshot.fetched_at)),
                ))
            }
            None => Err(AppError::invalid("no workspace is open")),
        }
    }

    /// The integrations, with status (read from the payer in AWS).
    pub async fn integrations(&self) -> Result<Vec<IntegrationRow>> {
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => Ok(ws
                .integrations()
                .integrations
                .iter()
                .map(local_row)
                .collect()),
            Some(Open::Aws(ws)) => Ok(ws.sync().await?.iter().map(aws_row).collect()),
            None => Err(AppError::invalid("no workspace is open")),
        }
    }

    /// What creating `name` over `accounts` (or changing the integration
    /// `existing` to them) will make: the view DDL and the billing filter.
    pub async fn plan(
        &self,
        name: &str,
        accounts: &[String],
        existing: Option<&str>,
    ) -> Result<IntegrationPlan> {
        let wanted = ids(accounts)?;
        let guard = self.ensure_open().await?;
        let (current, cur_source, is_aws) = match guard.as_ref() {
            Some(Open::Local { ws, .. }) => (
                existing
                    .map(|e| ws.integration(e).map(|v| v.accounts.clone()))
                    .transpose()?,
                "cur".to_string(),
                false,
            ),
            Some(Open::Aws(ws)) => (
                existing
                    .and_then(|e| {
                        ws.integrations()
                            .iter()
                            .find(|m| m.integration.name.as_str().eq_ignore_ascii_case(e))
                    })
                    .map(|m| m.integration.accounts.clone()),
                format!(
                    "\"{}\".\"{}\"",
                    ws.connection().cur_database,
                    ws.connection().cur_table
                ),
                true,
            ),
            None => return Err(AppError::invalid("no workspace is open")),
        };
        let vi = NewIntegration {
            name: name.to_string(),
            accounts: wanted.clone(),
            allow_shared: true,
        }
        .draft(self.clock.now())?;
        let before = current.unwrap_or_default();
        let after: BTreeSet<AccountId> = wanted.into_iter().collect();
        let views_db = match guard.as_ref() {
            Some(Open::Aws(ws)) => ws.connection().views_database.clone(),
            _ => "costcarve".into(),
        };
        Ok(IntegrationPlan {
            name: vi.name.to_string(),
            accounts: after.iter().map(ToString::to_string).collect(),
            added: after.difference(&before).map(ToString::to_string).collect(),
            removed: before.difference(&after).map(ToString::to_string).collect(),
            view_sql: format!(
                "CREATE OR REPLACE VIEW \"{views_db}\".\"{}\" AS {}",
                vi.view_name(),
                vi.view_select(&cur_source)
            ),
            billing_filter: if is_aws {
                serde_json::json!({"dimensions": {"key": "LINKED_ACCOUNT", "values": vi.accounts.iter().map(ToString::to_string).collect::<Vec<_>>()}})
                    .to_string()
            } else {
                "none: a local workspace has no billing view (the view above is the whole scope)"
                    .into()
            },
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
        };
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => Ok(local_row(&ws.create_integration(new).await?)),
            Some(Open::Aws(ws)) => Ok(aws_row(&ws.create(new).await?)),
            None => Err(AppError::invalid("no workspace is open")),
        }
    }

    /// Sets an integration's accounts to exactly `accounts` (and renames it).
    pub async fn update_integration(
        &self,
        name: &str,
        accounts: &[String],
        rename: Option<String>,
        allow_shared: bool,
    ) -> Result<IntegrationRow> {
        let wanted: BTreeSet<AccountId> = ids(accounts)?.into_iter().collect();
        let mut guard = self.ensure_open().await?;
        let current = match guard.as_mut() {
            Some(Open::Local { ws, .. }) => ws.integration(name)?.accounts.clone(),
            Some(Open::Aws(ws)) => ws.integration(name).await?.integration.accounts,
            None => return Err(AppError::invalid("no workspace is open")),
        };
        let change = IntegrationChange {
            add: wanted.difference(&current).cloned().collect(),
            remove: current.difference(&wanted).cloned().collect(),
            rename: rename.filter(|r| !r.trim().is_empty() && r != name),
            allow_shared,
        };
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => {
                Ok(local_row(&ws.update_integration(name, change).await?.0))
            }
            Some(Open::Aws(ws)) => Ok(aws_row(&ws.update(name, change).await?.0)),
            None => Err(AppError::invalid("no workspace is open")),
        }
    }

    /// Deletes an integration (and, in AWS, its views and secret).
    pub async fn delete_integration(&self, name: &str) -> Result<()> {
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => ws.delete_integration(name).await.map(|_| ())?,
            Some(Open::Aws(ws)) => ws.delete(name).await.map(|_| ())?,
            None => return Err(AppError::invalid("no workspace is open")),
        }
        Ok(())
    }

    /// Makes an integration's two views agree again (AWS).
    pub async fn repair_integration(&self, name: &str) -> Result<IntegrationRow> {
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Aws(ws)) => Ok(aws_row(&ws.repair(name).await?)),
            _ => Err(AppError::invalid("a local workspace has nothing to repair")),
        }
    }

    fn chart_query(&self, req: &ChartRequest, name: String) -> Result<(ChartKind, CostQuery)> {
        let kind = match req.kind.as_str() {
            "stacked" => ChartKind::StackedByService,
            "daily" => ChartKind::DailyLine,
            "account" => ChartKind::ByAccount,
            other => {
                return Err(AppError::invalid(format!(
                    "unknown chart '{other}': use stacked, daily or account"
                )))
            }
        };
        let today = self.clock.now().date_naive();
        let to = date(&req.to, "to")?.unwrap_or(today + Duration::days(1));
        let from = match date(&req.from, "from")? {
            Some(f) => f,
            None if kind == ChartKind::DailyLine => to - Duration::days(30),
            None => {
                let mut m = first_of_month(today);
                for _ in 0..12 {
                    m = first_of_month(m - Duration::days(1));
                }
                m
            }
        };
        let mut q = CostQuery::new(name, from, to);
        let default_group = match kind {
            ChartKind::ByAccount => Dimension::Account,
            _ => Dimension::Service,
        };
        q.group_by = vec![match req.group_by.as_deref().filter(|g| !g.is_empty()) {
            Some(g) => g.parse()?,
            None => default_group,
        }];
        if kind == ChartKind::DailyLine {
            q.granularity = Granularity::Daily;
            q.exclude_line_item_types = NON_USAGE_LINE_ITEM_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect();
        }
        q.validate()?;
        Ok((kind, q))
    }

    /// A series, with (requests, requests in total) in AWS and when its
    /// data was written (local: the newest CUR file) or fetched (AWS).
    #[allow(clippy::type_complexity)]
    async fn series(
        &self,
        q: &CostQuery,
    ) -> Result<(CostSeries, Option<(u64, u64)>, Option<String>)> {
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => {
                let newest = ws
                    .engine()
                    .cur()
                    .files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
                    .max()
                    .map(|t| iso(chrono::DateTime::<chrono::Utc>::from(t)));
                Ok((ws.cost(q).await?, None, newest))
            }
            Some(Open::Aws(ws)) => {
                let (s, usage) = ws.cost(q).await?;
                Ok((
                    s,
                    Some((usage.requests, usage.requests_total)),
                    Some(iso(usage.fetched_at)),
                ))
            }
            None => Err(AppError::invalid("no workspace is open")),
        }
    }

    async fn canonical_name(&self, name: &str) -> Result<String> {
        let mut guard = self.ensure_open().await?;
        match guard.as_mut() {
            Some(Open::Local { ws, .. }) => Ok(ws.integration(name)?.name.to_string()),
            Some(Open::Aws(ws)) => Ok(ws.integration(name).await?.integration.name.to_string()),
            None => Err(AppError::invalid("no workspace is open")),
        }
    }

    #[allow(clippy::type_complexity)]
    async fn chart_parts(
        &self,
        req: &ChartRequest,
    ) -> Result<(ChartOptions, CostSeries, Option<(u64, u64)>, Option<String>)> {
        let name = self.canonical_name(&req.integration).await?;
        let (kind, q) = self.chart_query(req, name.clone())?;
        let (series, usage, as_of) = self.series(&q).await?;
        let title = match kind {
            ChartKind::StackedByService => {
                format!("{name}: monthly cost by {}", q.group_by[0].label())
            }
            ChartKind::DailyLine => format!("{name}: daily cost"),
            ChartKind::ByAccount => format!("{name}: cost by account"),
        };
        let opts = ChartOptions::new(kind, title)
            .with_size(1100, 560)
            .with_large_type(req.large);
        Ok((opts, series, usage, as_of))
    }

    /// A chart of an integration's costs and the numbers behind it.
    pub async fn chart(&self, req: &ChartRequest) -> Result<ChartView> {
        let (opts, series, usage, data_as_of) = self.chart_parts(req).await?;
        let svg = costcarve_charts::render_svg(&series, &opts)?;
        Ok(ChartView {
            svg,
            points: points(&series),
            total: series.total.round_dp(2).to_string(),
            currency: series.currency.clone(),
            from: series.query.from.to_string(),
            to: series.query.to.to_string(),
            data_as_of,
            ce_requests: usage.map(|u| u.0.min(u32::MAX as u64) as u32),
            ce_requests_total: usage.map(|u| u.1.min(u32::MAX as u64) as u32),
        })
    }

    /// Writes a chart as `svg`, `png` or `csv` to `path`.
    pub async fn export_chart(&self, req: &ChartRequest, format: &str, path: &str) -> Result<()> {
        let (opts, series, _, _) = self.chart_parts(req).await?;
        let bytes = match format {
            "svg" => costcarve_charts::render_svg(&series, &opts)?.into_bytes(),
            "png" => costcarve_charts::render_png(&series, &opts)?,
            "csv" => series_csv(&series)?,
            other => {
                return Err(AppError::invalid(format!(
                    "cannot export as '{other}': use svg, png or csv"
                )))
            }
        };
        write_file(Path::new(path), &bytes)
    }

    /// The services whose monthly cost changed most between the last two
    /// full months.
    pub async fn movers(&self, integration: &str) -> Result<MoversView> {
        let name = self.canonical_name(integration).await?;
        let this_month = first_of_month(self.clock.now().date_naive());
        let current = first_of_month(this_month - Duration::days(1));
        let previous = first_of_month(current - Duration::days(1));
        let mut q = CostQuery::new(name, previous, this_month);
        q.group_by = vec![Dimension::Service];
        let (series, _, _) = self.series(&q).await?;
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
        let mut movers: Vec<Mover> = by
            .into_iter()
            .map(|(service, (a, b))| Mover {
                service,
                previous: a.round_dp(2).to_string(),
                current: b.round_dp(2).to_string(),
                change: (b - a).round_dp(2).to_string(),
            })
            .collect();
        movers.sort_by(|x, y| {
            let d = |m: &Mover| m.change.parse::<Decimal>().unwrap_or_default().abs();
            d(y).cmp(&d(x))
        });
        movers.truncate(10);
        Ok(MoversView {
            previous_month: previous.format("%Y-%m").to_string(),
            current_month: current.format("%Y-%m").to_string(),
            movers,
        })
    }

    /// Runs a user's SQL confined to one integration; [`Self::cancel_query`]
    /// stops it.
    pub async fn query(&self, integration: &str, sql: &str, max_rows: u32) -> Result<QueryRows> {
        let cancel = CancellationToken::new();
        if let Ok(mut r) = self.running.lock() {
            *r = Some(cancel.clone());
        }
        let result = self
            .run_query(integration, sql, max_rows as usize, &cancel)
            .await;
        if let Ok(mut r) = self.running.lock() {
            *r = None;
        }
        result
    }

    async fn run_query(
        &self,
        integration: &str,
        sql: &str,
        max_rows: usize,
        cancel: &CancellationToken,
    ) -> Result<QueryRows> {
        let mut guard = self.ensure_open().await?;
        let (result, executed): (QueryResult, String) = match guard.as_mut() {
            Some(Open::Local { ws, .. }) => {
                let executed = ws.explain(integration, sql)?;
                let result = tokio::select! {
                    r = ws.sql(integration, sql, max_rows) => r?,
                    _ = cancel.cancelled() => return Err(AppError::new(ErrorCode::Engine, "the query was cancelled")),
                };
                (result, executed)
            }
            Some(Open::Aws(ws)) => {
                let executed = ws.explain(integration, sql).await?;
                (
                    ws.sql(integration, sql, max_rows, cancel).await?.result,
                    executed,
                )
            }
            None => return Err(AppError::invalid("no workspace is open")),
        };
        Ok(QueryRows {
            columns: result.columns,
            rows: result.rows,
            truncated: result.truncated,
            executed_sql: executed,
        })
    }

    /// Stops the running query, if any.
    pub fn cancel_query(&self) -> bool {
        match self.running.lock().ok().and_then(|r| r.clone()) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Runs a query and writes all its rows (up to 1,000,000) as CSV.
    pub async fn export_query_csv(&self, integration: &str, sql: &str, path: &str) -> Result<u32> {
        let rows = self.query(integration, sql, 1_000_000).await?;
        let io = |e: csv::Error| AppError::new(ErrorCode::Io, e.to_string());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&rows.columns).map_err(io)?;
        for r in &rows.rows {
            w.write_record(r.iter().map(|c| c.as_deref().unwrap_or("")))
                .map_err(io)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| AppError::new(ErrorCode::Io, e.to_string()))?;
        write_file(Path::new(path), &bytes)?;
        Ok(rows.rows.len() as u32)
    }

    /// Saved connections.
    pub fn connections(&self) -> Result<Vec<ConnectionRow>> {
        Ok(ConnectionStore::new(&self.dirs.config)
            .list()?
            .into_iter()
            .map(|c| ConnectionRow {
                credentials: match &c.credentials {
                    CredentialSource::Profile { profile: Some(p) } => format!("profile {p}"),
                    CredentialSource::Profile { profile: None } => "default credentials".into(),
                    CredentialSource::Keyring => "access keys in the OS keyring".into(),
                },
                name: c.name,
                region: c.region,
                role_arn: c.role_arn,
                cur_table: format!("{}.{}", c.cur_database, c.cur_table),
                workgroup: c.workgroup,
                results: c.results.uri(),
                views_database: c.views_database,
            })
            .collect())
    }

    /// Saves a connection; its secret key goes to the OS keyring only.
    pub fn add_connection(&self, form: ConnectionForm) -> Result<()> {
        let (db, table) = form.cur_table.split_once('.').ok_or_else(|| {
            AppError::invalid(format!(
                "CUR table '{}' needs the database too: DB.TABLE",
                form.cur_table
            ))
        })?;
        let blank = |o: Option<String>| o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let key_id = blank(form.access_key_id);
        let connection = Connection {
            name: form.name.trim().to_string(),
            credentials: if key_id.is_some() {
                CredentialSource::Keyring
            } else {
                CredentialSource::Profile {
                    profile: blank(form.profile),
                }
            },
            region: blank(form.region),
            role_arn: blank(form.role_arn),
            external_id: blank(form.external_id),
            cur_database: db.to_string(),
            cur_table: table.to_string(),
            workgroup: form.workgroup.trim().to_string(),
            results: S3Location::parse(form.results.trim())?,
            views_database: blank(form.views_database).unwrap_or_else(|| "costcarve_views".into()),
        };
        connection.validate()?;
        match key_id {
            Some(id) => {
                let secret = blank(form.secret_access_key).ok_or_else(|| {
                    AppError::invalid("an access key id needs its secret access key")
                })?;
                secrets::set_access_keys(
                    &Keyring,
                    &connection.name,
                    &AccessKeys {
                        access_key_id: id,
                        secret_access_key: Secret::new(secret),
                        session_token: None,
                    },
                )?;
            }
            None => {
                Keyring.delete(&secrets::SecretKey::connection(&connection.name))?;
            }
        }
        ConnectionStore::new(&self.dirs.config).put(connection)?;
        Ok(())
    }

    /// Runs the prerequisites check of a connection.
    pub async fn test_connection(&self, name: &str) -> Result<Vec<CheckRow>> {
        let connection = ConnectionStore::new(&self.dirs.config).get(name)?;
        let config = connection.sdk_config(&Keyring).await?;
        let report = costcarve_aws::prereqs::check(&config, &connection).await;
        Ok(report
            .checks
            .into_iter()
            .map(|c| CheckRow {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
                fix: c.fix,
            })
            .collect())
    }

    /// Removes a connection and its keyring entry.
    pub fn remove_connection(&self, name: &str) -> Result<()> {
        if ConnectionStore::new(&self.dirs.config).remove(name, &Keyring)? {
            Ok(())
        } else {
            Err(AppError::new(
                ErrorCode::NotFound,
                format!("no connection named '{name}'"),
            ))
        }
    }
}

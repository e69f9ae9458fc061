//! The embedded engine: the CUR registered in Apache DataFusion, one view per
//! virtual integration, cost queries as SQL over those views, and confined
//! user SQL planned from the guard's checked AST.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;

use costcarve_core::cost::{
    first_of_month, CostPoint, CostQuery, CostSeries, Dimension, Granularity, Metric,
};
use costcarve_core::engine_error::datafusion_failure;
use costcarve_core::guard::{confine, ConfinedQuery, Target};
use costcarve_core::integration::VirtualIntegration;

use crate::confined::ConfinedCur;
use crate::workspace::{CurFlavor, CurLocation, Partitioning};
use crate::LocalError;

/// Name of the whole CUR inside the engine. Never reachable from user SQL:
/// confined queries are planned in a context that holds only one view.
const CUR_TABLE: &str = "cur_all";

/// The DDL that makes an integration's view in the local engine: what
/// [`SqlEngine::register_integration`] executes, and what a review shows.
pub fn view_ddl(vi: &VirtualIntegration) -> String {
    format!(
        "CREATE OR REPLACE VIEW {} AS {}",
        vi.view_name(),
        vi.view_select(CUR_TABLE)
    )
}
/// Name of the daily rollup inside the engine.
const ROLLUP_TABLE: &str = "cur_rollup";
/// CUR 2.0's cost of the usage at public on-demand (list) prices.
const PUBLIC_ON_DEMAND: &str = "pricing_public_on_demand_cost";
/// Suffix of an integration's view over the rollup.
const ROLLUP_VIEW_SUFFIX: &str = "__rollup";
/// Memory the engine may use for query state before spilling or failing.
const MEMORY_LIMIT: usize = 192 * 1024 * 1024;

pub use crate::rollup::RollupStatus;
pub use costcarve_core::query::QueryResult;

/// Runs SQL against the CUR.
pub struct SqlEngine {
    ctx: SessionContext,
    runtime: Arc<RuntimeEnv>,
    config: SessionConfig,
    cur: CurLocation,
    columns: BTreeSet<String>,
    rollup: bool,
    /// View name → the DDL that made it, as executed.
    executed: std::sync::Mutex<BTreeMap<String, String>>,
}

async fn listing_table(
    ctx: &SessionContext,
    url: ListingTableUrl,
    partition_cols: Vec<(String, DataType)>,
) -> Result<ListingTable, LocalError> {
    let state = ctx.state();
    // The format takes the session's Parquet options (pushdown, no bloom
    // filters), not the library defaults.
    let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
    let options = ListingOptions::new(Arc::new(format))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partition_cols);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .infer_schema(&state)
        .await?;
    Ok(ListingTable::try_new(config)?)
}

fn session_config() -> SessionConfig {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let mut config = SessionConfig::new()
        .with_target_partitions(threads)
        .with_information_schema(false)
        .with_batch_size(8192);
    let opts = config.options_mut();
    // Evaluate the integration's account filter while decoding, so other
    // accounts' rows are never materialised.
    opts.execution.parquet.pushdown_filters = true;
    opts.execution.parquet.reorder_filters = true;
    // CUR exports carry no bloom filters; looking for them costs time.
    opts.execution.parquet.bloom_filter_on_read = false;
    opts.execution.collect_statistics = true;
    config
}

impl SqlEngine {
    /// Registers the CUR found at `cur`.
    pub async fn open(cur: CurLocation) -> Result<Self, LocalError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(MEMORY_LIMIT)))
            .build_arc()?;
        let config = session_config();
        let ctx = SessionContext::new_with_config_rt(config.clone(), runtime.clone());
        let url = ListingTableUrl::parse(format!("{}/", cur.root.display()))?;
        let partition_cols = match &cur.partitioning {
            Partitioning::BillingPeriod(name) => vec![(name.clone(), DataType::Utf8)],
            Partitioning::YearMonth => vec![
                ("year".to_string(), DataType::Utf8),
                ("month".to_string(), DataType::Utf8),
            ],
            Partitioning::None => vec![],
        };
        let table = listing_table(&ctx, url, partition_cols).await?;
        let columns = table
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        ctx.register_table(CUR_TABLE, Arc::new(table))?;
        Ok(Self {
            ctx,
            runtime,
            config,
            cur,
            columns,
            rollup: false,
            executed: Default::default(),
        })
    }

    /// Makes cost queries read the daily rollup kept in `cache_dir` (built
    /// now if it is missing or the CUR files changed). Only for CUR
    /// partitioned by billing period; other layouts keep the raw path.
    pub async fn prepare_rollup(&mut self, cache_dir: &Path) -> Result<RollupStatus, LocalError> {
        let Partitioning::BillingPeriod(col) = self.cur.partitioning.clone() else {
            return Ok(RollupStatus::default());
        };
        let (root, files) = (self.cur.root.clone(), self.cur.files.clone());
        let this = &*self;
        let summarize = |period: String| {
            let sql = this.rollup_select(&col, &period);
            async move { this.run_internal(&sql).await }
        };
        let status = crate::rollup::ensure(&root, &files, &col, cache_dir, summarize).await?;
        let url = ListingTableUrl::parse(format!("{}/", status.dir.display()))?;
        let table = listing_table(&self.ctx, url, vec![(col, DataType::Utf8)]).await?;
        self.ctx.deregister_table(ROLLUP_TABLE)?;
        self.ctx.register_table(ROLLUP_TABLE, Arc::new(table))?;
        self.rollup = true;
        Ok(status)
    }

    /// Turns the rollup off (cost queries then scan the raw CUR), or back
    /// on if it was prepared.
    pub fn use_rollup(&mut self, on: bool) {
        self.rollup = on && self.ctx.table_exist(ROLLUP_TABLE).unwrap_or(false);
    }

    /// Runs trusted SQL (built by this crate) on the engine.
    pub(crate) async fn run_internal(&self, sql: &str) -> Result<Vec<RecordBatch>, LocalError> {
        Ok(self.ctx.sql(sql).await?.collect().await?)
    }

    /// The CUR's location.
    pub fn cur(&self) -> &CurLocation {
        &self.cur
    }

    /// The per-row expressions the rollup sums, by output column.
    pub(crate) fn rollup_select(&self, col: &str, period: &str) -> String {
        format!(
            "SELECT CAST(date_trunc('day', line_item_usage_start_date) AS DATE) AS usage_day, \
             line_item_usage_account_id, line_item_product_code, line_item_usage_type, \
             {region} AS product_region_code, line_item_line_item_type, \
             SUM({unblended}) AS unblended_cost, SUM({net}) AS net_unblended_cost, \
             SUM({amortized}) AS amortized_cost, SUM({public}) AS public_on_demand_cost \
             FROM {CUR_TABLE} WHERE \"{col}\" = '{period}' \
             GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 2, 1, 3, 4",
            region = self.dimension_expr(&Dimension::Region),
            unblended = self.metric_expr(Metric::UnblendedCost),
            net = self.metric_expr(Metric::NetUnblendedCost),
            amortized = self.metric_expr(Metric::AmortizedCost),
            public = self.metric_expr(Metric::PublicOnDemandCost),
        )
    }

    /// CUR 2.0 or legacy.
    pub fn flavor(&self) -> CurFlavor {
        self.cur.flavor
    }

    fn has(&self, column: &str) -> bool {
        self.columns.contains(column)
    }

    /// Creates (or replaces) the view of an integration.
    pub async fn register_integration(&self, vi: &VirtualIntegration) -> Result<(), LocalError> {
        let view = vi.view_name();
        let ddl = view_ddl(vi);
        self.ctx.sql(&ddl).await?.collect().await?;
        if let Ok(mut executed) = self.executed.lock() {
            executed.insert(view.clone(), ddl);
        }
        if self.ctx.table_exist(ROLLUP_TABLE)? {
            let sql = format!(
                "CREATE OR REPLACE VIEW {view}{ROLLUP_VIEW_SUFFIX} AS {}",
                vi.view_select(ROLLUP_TABLE)
            );
            self.ctx.sql(&sql).await?.collect().await?;
        }
        Ok(())
    }

    /// The DDL that made an integration's view, exactly as it was executed.
    pub fn executed_view_ddl(&self, view_name: &str) -> Option<String> {
        self.executed.lock().ok()?.get(view_name).cloned()
    }

    /// Drops an integration's views.
    pub fn deregister_integration(&self, view_name: &str) -> Result<(), LocalError> {
        if let Ok(mut executed) = self.executed.lock() {
            executed.remove(view_name);
        }
        self.ctx.deregister_table(view_name)?;
        self.ctx
            .deregister_table(format!("{view_name}{ROLLUP_VIEW_SUFFIX}").as_str())?;
        Ok(())
    }

    /// The distinct accounts (id, name) and the payer seen in the data.
    pub async fn accounts_in_data(
        &self,
    ) -> Result<(Option<String>, Vec<(String, String)>), LocalError> {
        let name = if self.has("line_item_usage_account_name") {
            "MAX(CAST(line_item_usage_account_name AS VARCHAR))"
        } else {
            "''"
        };
        let payer = if self.has("bill_payer_account_id") {
            "MAX(CAST(bill_payer_account_id AS VARCHAR))"
        } else {
            "''"
        };
        let sql = format!(
            "SELECT CAST(line_item_usage_account_id AS VARCHAR), {name}, {payer} FROM {CUR_TABLE} GROUP BY 1 ORDER BY 1"
        );
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let mut accounts = Vec::new();
        let mut payer_id = None;
        for b in &batches {
            let cols = strings(b)?;
            let [ids, names, payers] = cols.as_slice() else {
                return Err(LocalError::Engine(
                    "unexpected account listing shape".into(),
                ));
            };
            for ((id, name), payer) in ids.iter().zip(names).zip(payers) {
                if let Some(p) = payer.clone().filter(|p| !p.is_empty()) {
                    payer_id = Some(p);
                }
                accounts.push((
                    id.clone().unwrap_or_default(),
                    name.clone().unwrap_or_default(),
                ));
            }
        }
        Ok((payer_id, accounts))
    }

    fn dimension_expr(&self, d: &Dimension) -> String {
        match d {
            Dimension::Service => "line_item_product_code".into(),
            Dimension::Account => "line_item_usage_account_id".into(),
            Dimension::Region => {
                if self.has("product_region_code") {
                    "product_region_code".into()
                } else if self.has("product_region") {
                    "product_region".into()
                } else {
                    "NULL".into()
                }
            }
            Dimension::UsageType => "line_item_usage_type".into(),
            Dimension::LineItemType => "line_item_line_item_type".into(),
            Dimension::Tag(key) => {
                // Keys were validated to the AWS tag alphabet (no quotes).
                let column = format!(
                    "resource_tags_{}",
                    key.chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect::<String>()
                );
                if self.flavor() == CurFlavor::Cur2 && self.has("resource_tags") {
                    format!("resource_tags['{key}']")
                } else if self.has(&column) {
                    column
                } else {
                    "NULL".into()
                }
            }
        }
    }

    fn metric_expr(&self, m: Metric) -> String {
        let unblended = "line_item_unblended_cost";
        match m {
            // Without the column the query is refused first (see `cost`);
            // the rollup then sums NULLs it never serves.
            Metric::PublicOnDemandCost if self.has(PUBLIC_ON_DEMAND) => {
                format!("COALESCE({PUBLIC_ON_DEMAND}, 0)")
            }
            Metric::PublicOnDemandCost => "CAST(NULL AS DOUBLE)".into(),
            Metric::UnblendedCost => unblended.into(),
            Metric::NetUnblendedCost if self.has("line_item_net_unblended_cost") => {
                format!("COALESCE(line_item_net_unblended_cost, {unblended})")
            }
            Metric::NetUnblendedCost => unblended.into(),
            Metric::AmortizedCost => {
                let sp = if self.has("savings_plan_savings_plan_effective_cost") {
                    "COALESCE(savings_plan_savings_plan_effective_cost, 0)"
                } else {
                    unblended
                };
                let ri = if self.has("reservation_effective_cost") {
                    "COALESCE(reservation_effective_cost, 0)"
                } else {
                    unblended
                };
                format!(
                    "CASE line_item_line_item_type \
                     WHEN 'SavingsPlanCoveredUsage' THEN {sp} \
                     WHEN 'DiscountedUsage' THEN {ri} \
                     WHEN 'SavingsPlanNegation' THEN 0 \
                     WHEN 'SavingsPlanUpfrontFee' THEN 0 \
                     WHEN 'RIFee' THEN 0 \
                     ELSE {unblended} END"
                )
            }
        }
    }

    fn partition_filter(&self, q: &CostQuery) -> Option<String> {
        let periods = q.billing_periods();
        match &self.cur.partitioning {
            Partitioning::BillingPeriod(col) => Some(format!(
                "\"{col}\" IN ({})",
                periods
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Partitioning::YearMonth => Some(format!(
                "({})",
                periods
                    .iter()
                    .map(|p| {
                        let (y, m) = p.split_once('-').unwrap_or((p, "1"));
                        let m = m.trim_start_matches('0');
                        format!("(year = '{y}' AND month = '{m}')")
                    })
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )),
            Partitioning::None => None,
        }
    }

    /// The SQL a cost query runs over an integration's view.
    ///
    /// Two choices keep it cheap: every query names the billing periods it
    /// touches (partition pruning), and when the CUR is partitioned by
    /// billing period, monthly buckets are the partition value itself and a
    /// range of whole months needs no per-row date filter, so the usage
    /// dates are not even read.
    pub fn cost_sql(&self, vi: &VirtualIntegration, q: &CostQuery) -> String {
        let by_tag = q.group_by.iter().any(|d| matches!(d, Dimension::Tag(_)));
        if self.rollup && !by_tag {
            return self.rollup_cost_sql(vi, q);
        }
        let partition_col = match &self.cur.partitioning {
            Partitioning::BillingPeriod(col) => Some(col.as_str()),
            _ => None,
        };
        // Group on the raw columns (dictionary-encoded, cheap to hash) and
        // turn them into dates and strings on the few aggregated rows.
        let (period_key, period_out) = match (q.granularity, partition_col) {
            (Granularity::Monthly, Some(col)) => (
                format!("\"{col}\""),
                "CAST(CONCAT(p, '-01') AS DATE)".to_string(),
            ),
            (Granularity::Monthly, None) => (
                "date_trunc('month', line_item_usage_start_date)".into(),
                "CAST(p AS DATE)".into(),
            ),
            (Granularity::Daily, _) => (
                "date_trunc('day', line_item_usage_start_date)".into(),
                "CAST(p AS DATE)".into(),
            ),
        };
        let keys: Vec<String> = q.group_by.iter().map(|d| self.dimension_expr(d)).collect();
        let whole_months = q.from == first_of_month(q.from) && q.to == first_of_month(q.to);
        let mut filters = Vec::new();
        if partition_col.is_none() || !whole_months {
            filters.push(format!(
                "line_item_usage_start_date >= TIMESTAMP '{} 00:00:00'",
                q.from
            ));
            filters.push(format!(
                "line_item_usage_start_date < TIMESTAMP '{} 00:00:00'",
                q.to
            ));
        }
        filters.extend(self.common_filters(q));
        grouped_sql(
            &vi.view_name(),
            (&period_key, &period_out),
            &keys,
            &format!("SUM({})", self.metric_expr(q.metric)),
            &filters,
        )
    }

    /// The filters every cost query has: its billing periods and the line
    /// item types it leaves out.
    fn common_filters(&self, q: &CostQuery) -> Vec<String> {
        let mut filters: Vec<String> = self.partition_filter(q).into_iter().collect();
        if !q.exclude_line_item_types.is_empty() {
            filters.push(format!(
                "line_item_line_item_type NOT IN ({})",
                q.exclude_line_item_types
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        filters
    }

    /// A cost query over the daily rollup: the same answer as the raw path
    /// (the rollup keeps every dimension but tags, and the per-row metric
    /// expressions summed per day).
    fn rollup_cost_sql(&self, vi: &VirtualIntegration, q: &CostQuery) -> String {
        let col = match &self.cur.partitioning {
            Partitioning::BillingPeriod(col) => col.as_str(),
            _ => "billing_period",
        };
        let (period_key, period_out) = match q.granularity {
            Granularity::Monthly => (format!("\"{col}\""), "CAST(CONCAT(p, '-01') AS DATE)"),
            Granularity::Daily => ("usage_day".to_string(), "p"),
        };
        let keys: Vec<String> = q
            .group_by
            .iter()
            .map(|d| {
                match d {
                    Dimension::Service => "line_item_product_code",
                    Dimension::Account => "line_item_usage_account_id",
                    Dimension::Region => "product_region_code",
                    Dimension::UsageType => "line_item_usage_type",
                    Dimension::LineItemType => "line_item_line_item_type",
                    Dimension::Tag(_) => "NULL",
                }
                .to_string()
            })
            .collect();
        let metric = match q.metric {
            Metric::UnblendedCost => "unblended_cost",
            Metric::NetUnblendedCost => "net_unblended_cost",
            Metric::AmortizedCost => "amortized_cost",
            Metric::PublicOnDemandCost => "public_on_demand_cost",
        };
        let mut filters = Vec::new();
        let whole_months = q.from == first_of_month(q.from) && q.to == first_of_month(q.to);
        if !whole_months {
            filters.push(format!("usage_day >= DATE '{}'", q.from));
            filters.push(format!("usage_day < DATE '{}'", q.to));
        }
        filters.extend(self.common_filters(q));
        grouped_sql(
            &format!("{}{ROLLUP_VIEW_SUFFIX}", vi.view_name()),
            (&period_key, period_out),
            &keys,
            &format!("SUM({metric})"),
            &filters,
        )
    }

    /// The physical plan of a cost query, as text (which files it reads).
    pub async fn explain_cost(
        &self,
        vi: &VirtualIntegration,
        q: &CostQuery,
    ) -> Result<String, LocalError> {
        let df = self.ctx.sql(&self.cost_sql(vi, q)).await?;
        let plan = df.create_physical_plan().await?;
        let text = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        Ok(text)
    }

    /// The plan of a cost query with the metrics of one execution (rows,
    /// time and bytes per operator), for tuning.
    pub async fn explain_analyze_cost(
        &self,
        vi: &VirtualIntegration,
        q: &CostQuery,
    ) -> Result<String, LocalError> {
        let sql = format!("EXPLAIN ANALYZE {}", self.cost_sql(vi, q));
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let mut out = String::new();
        for b in &batches {
            for row in strings(b)?.last().into_iter().flatten() {
                out.push_str(row.as_deref().unwrap_or(""));
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// Answers a cost query for an integration.
    pub async fn cost(
        &self,
        vi: &VirtualIntegration,
        q: &CostQuery,
    ) -> Result<CostSeries, LocalError> {
        q.validate()?;
        if q.metric == Metric::PublicOnDemandCost && !self.has(PUBLIC_ON_DEMAND) {
            return Err(LocalError::MissingColumn {
                column: PUBLIC_ON_DEMAND,
                needed_for: "public on-demand costs",
            });
        }
        let sql = self.cost_sql(vi, q);
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let mut points = Vec::new();
        let nkeys = q.group_by.len();
        for b in &batches {
            let periods = cast(b.column(0), &DataType::Utf8)?;
            let periods = strings_of(&periods)?;
            let keys: Vec<Vec<Option<String>>> = (0..nkeys)
                .map(|i| strings_of(b.column(i + 1)))
                .collect::<Result<_, _>>()?;
            let amount = amounts(b.column(nkeys + 1))?;
            for row in 0..b.num_rows() {
                let Some(period) = periods[row]
                    .as_deref()
                    .and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                let value = amount[row];
                points.push(CostPoint {
                    period,
                    keys: keys
                        .iter()
                        .map(|k| k[row].clone().unwrap_or_default())
                        .collect(),
                    amount: Decimal::from_f64(value)
                        .unwrap_or_default()
                        .round_dp(6)
                        .normalize(),
                });
            }
        }
        Ok(CostSeries::new(q.clone(), points))
    }

    /// What `vi verify` checks the local figures with: the accounts the
    /// charts' relation holds for an integration (its view over the daily
    /// rollup, or its raw view without one) and its unblended cost per
    /// month of usage between `from` and `to` summed over the raw line items.
    pub async fn verification_facts(
        &self,
        vi: &VirtualIntegration,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<VerificationFacts, LocalError> {
        let view = vi.view_name();
        let (charts, through) = if self.rollup {
            (
                format!("{view}{ROLLUP_VIEW_SUFFIX}"),
                "the daily rollup the charts read",
            )
        } else {
            (view.clone(), "the integration's view the charts read")
        };
        let accounts = self
            .run_internal(&format!(
                "SELECT DISTINCT CAST(line_item_usage_account_id AS VARCHAR) FROM {charts}"
            ))
            .await?;
        let mut charts_accounts = std::collections::BTreeSet::new();
        for b in &accounts {
            charts_accounts.extend(strings_of(b.column(0))?.into_iter().flatten());
        }
        let totals = self
            .run_internal(&format!(
                "SELECT CAST(CAST(date_trunc('month', line_item_usage_start_date) AS DATE) AS VARCHAR), \
                 CAST(SUM({metric}) AS DOUBLE) FROM {view} \
                 WHERE line_item_usage_start_date >= TIMESTAMP '{from} 00:00:00' \
                 AND line_item_usage_start_date < TIMESTAMP '{to} 00:00:00' GROUP BY 1",
                metric = self.metric_expr(Metric::UnblendedCost),
            ))
            .await?;
        let mut raw_monthly = std::collections::BTreeMap::new();
        for b in &totals {
            let months = strings_of(b.column(0))?;
            let amounts = amounts(b.column(1))?;
            for (month, value) in months.into_iter().zip(amounts) {
                if let Some(month) =
                    month.and_then(|m| NaiveDate::parse_from_str(&m, "%Y-%m-%d").ok())
                {
                    raw_monthly.insert(
                        month,
                        Decimal::from_f64(value).unwrap_or_default().round_dp(6),
                    );
                }
            }
        }
        Ok(VerificationFacts {
            charts_through: through,
            charts_accounts,
            raw_monthly,
        })
    }

    /// The relation an integration's view reads inside the engine.
    pub fn view_source(&self) -> &'static str {
        CUR_TABLE
    }

    /// The guard's verdict on `sql` for an integration: the confined query
    /// the local engine runs.
    pub fn confine_local(
        &self,
        vi: &VirtualIntegration,
        sql: &str,
    ) -> Result<ConfinedQuery, LocalError> {
        let target = Target::new([vi.view_name()])?;
        Ok(confine(sql, &target)?)
    }

    /// Runs a user's SQL on one integration's data only, for at most
    /// `timeout`. The statement is planned from the guard's checked AST in a
    /// fresh context whose catalog holds nothing but this integration's rows
    /// ([`ConfinedCur`]: filtered at the scan, before anything the user
    /// wrote runs). Dropping the returned future stops the query.
    pub async fn sql(
        &self,
        vi: &VirtualIntegration,
        sql: &str,
        max_rows: usize,
        timeout: Duration,
    ) -> Result<QueryResult, LocalError> {
        let confined = self.confine_local(vi, sql)?;
        let view = vi.view_name();
        let cur = self.ctx.table_provider(CUR_TABLE).await?;
        let accounts = vi.accounts.iter().map(ToString::to_string).collect();
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(self.config.clone())
            .with_runtime_env(self.runtime.clone())
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(crate::confined::YieldEverywhere))
            .build();
        let scoped = SessionContext::new_with_state(state);
        scoped.register_table(view.as_str(), Arc::new(ConfinedCur::new(cur, accounts)))?;
        let statement = confined.into_statement();
        quiet_query_panics();
        // DataFusion plans recursively; a query at the guard's limits needs
        // more stack than a runtime worker has. Plan and run it on a thread
        // of its own with a large stack, so no accepted query can abort the
        // process; a panic there ends the query, not the app.
        let (tx, rx) = futures::channel::oneshot::channel();
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(SQL_THREAD.into())
            .stack_size(SQL_THREAD_STACK)
            .spawn(move || {
                let run = || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| LocalError::Engine(e.to_string()))?;
                    rt.block_on(async move {
                        tokio::select! {
                            r = run_scoped(scoped, statement, max_rows) => r,
                            // The caller is gone (timeout, cancel): stop.
                            _ = stopped => Err(LocalError::Engine("the query was stopped".into())),
                        }
                    })
                };
                let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
                    Ok(result) => result,
                    Err(_) => Err(LocalError::QueryFailed(
                        "the engine failed on this query (an internal error); nothing else was affected"
                            .into(),
                    )),
                };
                let _ = tx.send(result);
            })
            .map_err(|e| LocalError::Engine(format!("cannot start the query thread: {e}")))?;
        // Dropped on return (answer, timeout) or when this future is dropped
        // (cancel): the query thread then stops.
        let _stop = stop;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LocalError::QueryFailed(
                "the engine stopped without an answer (an internal error)".into(),
            )),
            Err(_) => Err(LocalError::Timeout(timeout.as_secs())),
        }
    }
}

/// What [`SqlEngine::verification_facts`] found.
#[derive(Debug, Clone)]
pub struct VerificationFacts {
    /// The relation the charts read, in words.
    pub charts_through: &'static str,
    /// The accounts in it.
    pub charts_accounts: std::collections::BTreeSet<String>,
    /// Unblended cost per month of usage, over the raw line items.
    pub raw_monthly: std::collections::BTreeMap<NaiveDate, Decimal>,
}

/// Name of the threads confined queries run on.
const SQL_THREAD: &str = "costcarve-sql";

/// A panic on a query thread prints one line without the panic's message
/// (it can hold values of the data); other threads keep the usual report.
fn quiet_query_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(SQL_THREAD) {
                eprintln!(
                    "the query engine failed on a query (internal error); the query was stopped"
                );
            } else {
                previous(info);
            }
        }));
    });
}

/// A cost query's SQL: group on the raw key expressions (cheap to hash) in
/// an inner query, and turn the period and keys into dates and strings on the
/// few aggregated rows outside. `period` is (key expression, how to make a
/// date of `p`).
fn grouped_sql(
    relation: &str,
    period: (&str, &str),
    keys: &[String],
    amount: &str,
    filters: &[String],
) -> String {
    let mut inner = vec![format!("{} AS p", period.0)];
    let mut outer = vec![format!("{} AS period", period.1)];
    let mut group = vec!["1".to_string()];
    for (i, key) in keys.iter().enumerate() {
        inner.push(format!("{key} AS k{i}"));
        outer.push(format!("COALESCE(CAST(k{i} AS VARCHAR), '') AS k{i}"));
        group.push((i + 2).to_string());
    }
    inner.push(format!("{amount} AS amount"));
    outer.push("amount".into());
    format!(
        "SELECT {} FROM (SELECT {} FROM {relation} WHERE {} GROUP BY {}) AS g",
        outer.join(", "),
        inner.join(", "),
        filters.join(" AND "),
        group.join(", ")
    )
}

/// Stack of the thread confined queries run on.
const SQL_THREAD_STACK: usize = 256 * 1024 * 1024;

async fn run_scoped(
    scoped: SessionContext,
    statement: datafusion::sql::sqlparser::ast::Statement,
    max_rows: usize,
) -> Result<QueryResult, LocalError> {
    let state = scoped.state();
    let plan = state
        .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
            statement,
        )))
        .await?;
    let df = scoped.execute_logical_plan(plan).await?;
    let schema = df.schema().clone();
    // Planning reads the query and the schema only; its errors are kept.
    // Running reads the data: its errors are told without their values.
    let physical = df
        .limit(0, Some(max_rows + 1))?
        .create_physical_plan()
        .await?;
    let batches = datafusion::physical_plan::collect(physical, scoped.task_ctx())
        .await
        .map_err(|e| LocalError::QueryFailed(datafusion_failure(&e.to_string())))?;
    let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for b in &batches {
        let cols = strings(b)?;
        for r in 0..b.num_rows() {
            rows.push(cols.iter().map(|c| c[r].clone()).collect());
        }
    }
    let truncated = rows.len() > max_rows;
    rows.truncate(max_rows);
    Ok(QueryResult {
        columns,
        rows,
        truncated,
    })
}

fn strings_of(array: &dyn Array) -> Result<Vec<Option<String>>, LocalError> {
    let opts = FormatOptions::default();
    let f = ArrayFormatter::try_new(array, &opts)?;
    Ok((0..array.len())
        .map(|i| {
            if array.is_null(i) {
                None
            } else {
                Some(f.value(i).to_string())
            }
        })
        .collect())
}

/// A column of amounts as numbers, NULL as 0.
fn amounts(array: &dyn Array) -> Result<Vec<f64>, LocalError> {
    let array = cast(array, &DataType::Float64)?;
    let numbers = array
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| LocalError::Engine("amount is not a number".into()))?;
    Ok((0..numbers.len())
        .map(|i| {
            if numbers.is_null(i) {
                0.0
            } else {
                numbers.value(i)
            }
        })
        .collect())
}

fn strings(b: &RecordBatch) -> Result<Vec<Vec<Option<String>>>, LocalError> {
    b.columns().iter().map(|c| strings_of(c.as_ref())).collect()
}

//! The table a confined query reads as `cur`: one integration's rows of the
//! CUR, with nothing of the other rows left for the query to evaluate.
//!
//! A view (`SELECT * FROM cur_all WHERE account IN (...)`) is not enough in
//! DataFusion: the optimizer pushes the user's predicates into the Parquet
//! scan next to the view's filter and may run them first (cheapest first),
//! so a predicate that fails on one row of another customer answers a
//! yes/no question about that row; and a filtered dictionary column keeps
//! its whole dictionary, so a cast over it reads (and quotes, in its error)
//! values of other customers. Here:
//! - the scan is given the account filter and nothing else, and is applied
//!   exactly (a `FilterExec` over the Parquet scan);
//! - the table takes no pushed-down filters, limits or statistics, and the
//!   node above the scan ([`ConfinedExec`]) lets no filter through, so every
//!   expression the user wrote runs on member rows only;
//! - dictionary columns are turned into plain columns after filtering, so
//!   only member values exist in what the query sees.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{col, lit, Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;

/// The column that says whose a row is.
pub(crate) const ACCOUNT_COLUMN: &str = "line_item_usage_account_id";

/// The CUR seen through one integration's accounts.
#[derive(Debug)]
pub(crate) struct ConfinedCur {
    inner: Arc<dyn TableProvider>,
    accounts: BTreeSet<String>,
    schema: SchemaRef,
}

impl ConfinedCur {
    /// `inner` (the whole CUR) confined to `accounts`.
    pub(crate) fn new(inner: Arc<dyn TableProvider>, accounts: BTreeSet<String>) -> Self {
        let schema = unpacked_schema(&inner.schema());
        Self {
            inner,
            accounts,
            schema,
        }
    }

    fn account_filter(&self) -> Expr {
        // An integration always has accounts; an empty list matches nothing.
        let list: Vec<Expr> = self.accounts.iter().map(|a| lit(a.as_str())).collect();
        if list.is_empty() {
            lit(false)
        } else {
            col(ACCOUNT_COLUMN).in_list(list, false)
        }
    }
}

/// The schema with every dictionary column as its value type.
fn unpacked_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => f.as_ref().clone().with_data_type((**value).clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

#[async_trait]
impl TableProvider for ConfinedCur {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![
            TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let full = self.inner.schema();
        let account = full.index_of(ACCOUNT_COLUMN)?;
        // Read what the query wants plus the account column; keep only the
        // wanted columns, in the wanted order, after filtering.
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..full.fields().len()).collect(),
        };
        let mut read = wanted.clone();
        if !read.contains(&account) {
            read.push(account);
        }
        let filter = self.account_filter();
        let scan = self
            .inner
            .scan(state, Some(&read), std::slice::from_ref(&filter), None)
            .await?;
        let scanned = scan.schema();
        let df_schema = DFSchema::try_from(scanned.as_ref().clone())?;
        let predicate = state.create_physical_expr(filter, &df_schema)?;
        let filtered: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::try_new(predicate, scan)?);
        let keep: Vec<usize> = wanted
            .iter()
            .map(|i| scanned.index_of(full.field(*i).name()))
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(ConfinedExec::new(filtered, keep)))
    }
}

/// Above the filtered scan: keeps the wanted columns, turns dictionary
/// columns into plain ones, and passes nothing down (no filter, limit or
/// projection pushdown, no statistics).
#[derive(Debug)]
pub(crate) struct ConfinedExec {
    input: Arc<dyn ExecutionPlan>,
    keep: Vec<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl ConfinedExec {
    fn new(input: Arc<dyn ExecutionPlan>, keep: Vec<usize>) -> Self {
        let input_schema = input.schema();
        let projected = Schema::new(
            keep.iter()
                .map(|i| input_schema.field(*i).clone())
                .collect::<Vec<_>>(),
        );
        let schema = unpacked_schema(&projected);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            input.properties().partitioning.clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            input,
            keep,
            schema,
            properties,
        }
    }
}

impl DisplayAs for ConfinedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ConfinedExec")
    }
}

fn unpack(batch: RecordBatch, keep: &[usize], schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = keep
        .iter()
        .zip(schema.fields())
        .map(|(i, field)| {
            let column = batch.column(*i);
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                cast(column, field.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    // `count(*)` reads no column: keep the row count.
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}

impl ExecutionPlan for ConfinedExec {
    fn name(&self) -> &str {
        "ConfinedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.swap_remove(0);
        Ok(Arc::new(ConfinedExec::new(input, self.keep.clone())))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = self.schema.clone();
        let keep = self.keep.clone();
        let out = schema.clone();
        let stream = input.map(move |batch| batch.and_then(|b| unpack(b, &keep, &out)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// Makes every operator of a confined query yield to the runtime now and
/// then (DataFusion's `CooperativeExec` above each node, not only above the
/// scans as its own `EnsureCooperative` does). An operator fed from memory —
/// a cross join multiplying buffered batches — otherwise returns batch after
/// batch without ever giving its thread back, and a cancelled or timed-out
/// query would keep computing until it ended by itself.
#[derive(Debug, Default)]
pub(crate) struct YieldEverywhere;

impl datafusion::physical_optimizer::PhysicalOptimizerRule for YieldEverywhere {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &datafusion::config::ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::physical_plan::coop::CooperativeExec;
        plan.transform_up(|node| {
            if node.is::<CooperativeExec>() {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(
                Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "YieldEverywhere"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

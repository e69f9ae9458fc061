//! Costs Cost Explorer cannot give, answered from the CUR with Athena
//! through the integration's own view: public on-demand (list-price) cost,
//! `pricing_public_on_demand_cost`. The SQL is CostCarve's, and still goes
//! through the guard, confined to the integration's view like a user's.
//! What a query may scan is bounded beforehand by the size of the CUR
//! partitions (billing periods) it reads.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

use costcarve_core::cost::{CostQuery, CostSeries, Dimension, Granularity, Metric};
use costcarve_core::guard;

use super::{AwsWorkspace, ManagedIntegration, WorkspaceError};
use crate::error::AwsError;

/// The CUR column public on-demand costs are summed from.
const PUBLIC_ON_DEMAND: &str = "pricing_public_on_demand_cost";

/// Most rows a cost answer from Athena may have (a 13-month series by
/// service and usage type stays far below).
const MAX_ROWS: usize = 200_000;

/// A cost query as Athena SQL over the relation `view` (`cur`, which the
/// guard then confines to the integration's view), partitioned by
/// `partition` (`billing_period`, `YYYY-MM`).
pub(super) fn cost_sql(view: &str, partition: &str, q: &CostQuery) -> Result<String, AwsError> {
    let metric = match q.metric {
        Metric::PublicOnDemandCost => format!("COALESCE({PUBLIC_ON_DEMAND}, 0)"),
        other => {
            return Err(AwsError::Invalid(format!(
                "{} is answered by Cost Explorer, not from the CUR",
                other.name()
            )))
        }
    };
    let period = match q.granularity {
        Granularity::Monthly => "date_trunc('month', line_item_usage_start_date)",
        Granularity::Daily => "date_trunc('day', line_item_usage_start_date)",
    };
    let keys: Vec<String> = q.group_by.iter().map(dimension).collect();
    let mut select = vec![format!("CAST({period} AS date) AS period")];
    for (i, k) in keys.iter().enumerate() {
        select.push(format!("{k} AS k{i}"));
    }
    select.push(format!("SUM({metric}) AS amount"));
    let periods: Vec<String> = q
        .billing_periods()
        .iter()
        .map(|p| format!("'{p}'"))
        .collect();
    let mut filters = vec![
        format!("{partition} IN ({})", periods.join(", ")),
        format!(
            "line_item_usage_start_date >= TIMESTAMP '{} 00:00:00'",
            q.from
        ),
        format!("line_item_usage_start_date < TIMESTAMP '{} 00:00:00'", q.to),
    ];
    if !q.exclude_line_item_types.is_empty() {
        // Validated to letters and digits (CostQuery::validate).
        let types: Vec<String> = q
            .exclude_line_item_types
            .iter()
            .map(|t| format!("'{t}'"))
            .collect();
        filters.push(format!(
            "line_item_line_item_type NOT IN ({})",
            types.join(", ")
        ));
    }
    let group: Vec<String> = (1..=keys.len() + 1).map(|i| i.to_string()).collect();
    Ok(format!(
        "SELECT {} FROM {view} WHERE {} GROUP BY {}",
        select.join(", "),
        filters.join(" AND "),
        group.join(", ")
    ))
}

fn dimension(d: &Dimension) -> String {
    match d {
        Dimension::Service => "line_item_product_code".into(),
        Dimension::Account => "line_item_usage_account_id".into(),
        Dimension::Region => "product_region_code".into(),
        Dimension::UsageType => "line_item_usage_type".into(),
        Dimension::LineItemType => "line_item_line_item_type".into(),
        // Tag keys were validated to the AWS tag alphabet (no quotes); CUR
        // 2.0 writes `user:team` as `user_team`.
        Dimension::Tag(key) => format!(
            "resource_tags['{}']",
            key.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        ),
    }
}

impl AwsWorkspace {
    /// The CUR table's partition key (the billing period).
    async fn partition_key(&self) -> Result<String, WorkspaceError> {
        let table = self
            .catalog
            .cur_table(&self.connection.cur_database, &self.connection.cur_table)
            .await?;
        table.partition_keys.into_iter().next().ok_or_else(|| {
            AwsError::Invalid(format!(
                "the CUR table {}.{} is not partitioned by billing period; public on-demand costs read whole billing periods",
                self.connection.cur_database, self.connection.cur_table
            ))
            .into()
        })
    }

    /// Answers `q` (a metric Cost Explorer lacks) with Athena over the
    /// integration's view; the series and the bytes Athena scanned.
    pub(super) async fn cost_from_cur(
        &self,
        m: &ManagedIntegration,
        q: &CostQuery,
    ) -> Result<(CostSeries, u64), WorkspaceError> {
        let partition = self.partition_key().await?;
        // Written over `cur`, as a user's query is: the guard confines it
        // to the integration's view.
        let sql = cost_sql("cur", &partition, q)?;
        let confined = guard::confine(&sql, &self.target(m)?)?;
        let answer = self
            .athena
            .query(
                confined.text(),
                MAX_ROWS,
                &self.s3,
                &CancellationToken::new(),
                crate::athena::QUERY_TIMEOUT,
            )
            .await?;
        if answer.result.truncated {
            return Err(AwsError::Invalid(format!(
                "the answer has more than {MAX_ROWS} rows; group by fewer dimensions or ask a shorter range"
            ))
            .into());
        }
        let nkeys = q.group_by.len();
        let mut sums: BTreeMap<(NaiveDate, Vec<String>), Decimal> = BTreeMap::new();
        for row in &answer.result.rows {
            let cell = |i: usize| row.get(i).cloned().flatten();
            let Some(period) = cell(0).and_then(|p| {
                NaiveDate::parse_from_str(p.get(..10).unwrap_or(&p), "%Y-%m-%d").ok()
            }) else {
                continue;
            };
            let keys: Vec<String> = (0..nkeys)
                .map(|i| cell(i + 1).unwrap_or_default())
                .collect();
            let amount = cell(nkeys + 1)
                .and_then(|a| Decimal::from_scientific(&a).or_else(|_| a.parse()).ok())
                .unwrap_or_default();
            *sums.entry((period, keys)).or_default() += amount;
        }
        let scanned = u64::try_from(answer.scanned_bytes).unwrap_or(0);
        Ok((CostSeries::from_sums(q.clone(), sums), scanned))
    }

    /// The most bytes a query over `periods` can scan: the size of those
    /// CUR partitions' files (Athena reads only some columns, so it scans
    /// less).
    pub(super) async fn partition_bytes(&self, periods: &[String]) -> Result<u64, WorkspaceError> {
        let locations = self
            .catalog
            .partition_locations(&self.connection.cur_database, &self.connection.cur_table)
            .await?;
        let mut total = 0u64;
        for p in periods {
            let Some(location) = locations.get(p) else {
                continue;
            };
            total += crate::catalog::prefix_bytes(&self.s3, location).await?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_price_costs_read_whole_partitions_of_the_view_only() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut q = CostQuery::new("acme", d("2026-10-01"), d("2026-12-01"));
        q.metric = Metric::PublicOnDemandCost;
        q.group_by = vec![Dimension::Service];
        q.exclude_line_item_types = ["Credit".to_string()].into();
        let sql = cost_sql("\"v\".\"vi_acme\"", "billing_period", &q).unwrap();
        assert_eq!(
            sql,
            "SELECT CAST(date_trunc('month', line_item_usage_start_date) AS date) AS period, \
             line_item_product_code AS k0, SUM(COALESCE(pricing_public_on_demand_cost, 0)) AS amount \
             FROM \"v\".\"vi_acme\" WHERE billing_period IN ('2026-10', '2026-11') \
             AND line_item_usage_start_date >= TIMESTAMP '2026-10-01 00:00:00' \
             AND line_item_usage_start_date < TIMESTAMP '2026-12-01 00:00:00' \
             AND line_item_line_item_type NOT IN ('Credit') GROUP BY 1, 2"
        );
        q.metric = Metric::UnblendedCost;
        assert!(cost_sql("\"v\".\"vi_acme\"", "billing_period", &q).is_err());
    }
}

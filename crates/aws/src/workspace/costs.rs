//! Costs from Cost Explorer through an integration's billing view, and the
//! cache that keeps closed months once asked (Cost Explorer charges per
//! request). Each answer counts its own paid requests.

use chrono::{DateTime, Utc};
use serde::Serialize;

use costcarve_core::cost::{first_of_month, CostQuery, CostSeries, Granularity, Metric};

use super::{lock, AwsWorkspace, ManagedIntegration, WorkspaceError};
use crate::cost_cache::{self, CostCache};
use crate::cost_explorer::{BillingViewArn, Forecast};

/// What a cost query cost, and how fresh its answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CostUsage {
    /// Cost Explorer requests this answer made (USD 0.01 each).
    pub requests: u64,
    /// Requests made through this connection, ever.
    pub requests_total: u64,
    /// When the oldest part of the answer was read from Cost Explorer.
    pub fetched_at: DateTime<Utc>,
    /// Bytes Athena scanned for it (public on-demand costs, from the CUR).
    pub athena_bytes: u64,
}

/// What answering a cost query will spend, judged before asking: the parts
/// the cache cannot give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CostEstimate {
    /// Cost Explorer requests, at least (one per part; a long answer is
    /// paged and costs more).
    pub requests: u64,
    /// Athena queries (public on-demand costs).
    pub athena_queries: u64,
    /// Bytes those queries scan at most: the size of the CUR partitions
    /// they read.
    pub athena_bytes: u64,
}

impl AwsWorkspace {
    /// Reads the cache, changes it and writes it back, under its lock.
    fn with_cost_cache<R>(
        &self,
        change: impl FnOnce(&mut CostCache) -> R,
    ) -> Result<R, WorkspaceError> {
        let _held = lock(&self.cost_cache);
        let mut cache: CostCache = self.state.read(cost_cache::FILE)?.unwrap_or_default();
        let out = change(&mut cache);
        self.state.write(cost_cache::FILE, &cache)?;
        Ok(out)
    }

    pub(super) fn forget_costs(&self, arn: &str) -> Result<(), WorkspaceError> {
        self.with_cost_cache(|cache| cache.forget_view(arn))
    }

    /// Adds paid requests to the connection's total; the new total.
    pub(super) fn count_requests(&self, requests: u64) -> Result<u64, WorkspaceError> {
        self.with_cost_cache(|cache| {
            cache.requests_total += requests;
            cache.requests_total
        })
    }

    pub(super) fn scope(&self, m: &ManagedIntegration) -> Result<BillingViewArn, WorkspaceError> {
        Ok(m.billing_view_arn.parse()?)
    }

    /// Answers a cost query with Cost Explorer through the integration's
    /// billing view; closed months come from the cache once asked. The
    /// cache is not locked while Cost Explorer answers, so other queries
    /// run meanwhile.
    pub async fn cost(&self, q: &CostQuery) -> Result<(CostSeries, CostUsage), WorkspaceError> {
        q.validate()?;
        let m = self.healthy(&q.integration).await?;
        let arn = self.scope(&m)?;
        let scope = cost_cache::scope(arn.as_str(), m.integration.revision);
        let now = self.clock.now();
        let open_month = first_of_month(now.date_naive());
        let (closed, open) = cost_cache::split(q, open_month);
        let parts: Vec<(CostQuery, bool)> = [(closed, true), (open, false)]
            .into_iter()
            .filter_map(|(part, is_closed)| part.map(|p| (p, is_closed)))
            .collect();
        let cached: Vec<Option<(CostSeries, DateTime<Utc>)>> = {
            let _held = lock(&self.cost_cache);
            let cache: CostCache = self.state.read(cost_cache::FILE)?.unwrap_or_default();
            parts
                .iter()
                .map(|(part, is_closed)| cache.get(&scope, part, *is_closed, now))
                .collect()
        };
        let ce = self.ce.metered();
        let mut series = Vec::new();
        let mut fresh = Vec::new();
        let mut fetched_at = now;
        let mut failed: Option<WorkspaceError> = None;
        let mut athena_bytes = 0u64;
        for ((part, is_closed), hit) in parts.iter().zip(cached) {
            match hit {
                Some((hit, at)) => {
                    fetched_at = fetched_at.min(at);
                    series.push(hit);
                }
                // Public on-demand costs come from the CUR; a closed
                // month's line items are final once the month is closed.
                None if !q.metric.in_cost_explorer() => match self.cost_from_cur(&m, part).await {
                    Ok((answer, scanned)) => {
                        athena_bytes += scanned;
                        fresh.push((part.clone(), answer.clone(), *is_closed));
                        series.push(answer);
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                },
                None => match ce.answer(&arn, part).await {
                    Ok(answer) => {
                        let is_final = !answer.is_estimated();
                        fresh.push((part.clone(), answer.series.clone(), is_final));
                        series.push(answer.series);
                    }
                    Err(e) => {
                        failed = Some(e.into());
                        break;
                    }
                },
            }
        }
        // Requests are paid for even when a later part failed: count them.
        let requests = ce.requests();
        let requests_total = self.with_cost_cache(|cache| {
            for (part, answer, is_final) in fresh {
                cache.put(&scope, &part, answer, is_final, now);
            }
            cache.requests_total += requests;
            cache.requests_total
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok((
            cost_cache::join(q, series),
            CostUsage {
                requests,
                requests_total,
                fetched_at,
                athena_bytes,
            },
        ))
    }

    /// What [`Self::cost`] of `q` will spend, from what the cache holds
    /// now: nothing for parts it can give.
    pub async fn cost_estimate(&self, q: &CostQuery) -> Result<CostEstimate, WorkspaceError> {
        q.validate()?;
        let m = self.healthy(&q.integration).await?;
        let arn = self.scope(&m)?;
        let scope = cost_cache::scope(arn.as_str(), m.integration.revision);
        let now = self.clock.now();
        let (closed, open) = cost_cache::split(q, first_of_month(now.date_naive()));
        let missing: Vec<CostQuery> = {
            let _held = lock(&self.cost_cache);
            let cache: CostCache = self.state.read(cost_cache::FILE)?.unwrap_or_default();
            [(closed, true), (open, false)]
                .into_iter()
                .filter_map(|(part, is_closed)| part.map(|p| (p, is_closed)))
                .filter(|(part, is_closed)| cache.get(&scope, part, *is_closed, now).is_none())
                .map(|(part, _)| part)
                .collect()
        };
        let mut estimate = CostEstimate::default();
        for part in &missing {
            if q.metric.in_cost_explorer() {
                estimate.requests += 1;
            } else {
                estimate.athena_queries += 1;
                estimate.athena_bytes += self.partition_bytes(&part.billing_periods()).await?;
            }
        }
        Ok(estimate)
    }

    /// Forecasts an integration's costs from today to `to`.
    pub async fn forecast(
        &self,
        name: &str,
        to: chrono::NaiveDate,
        granularity: Granularity,
        metric: Metric,
    ) -> Result<(Forecast, CostUsage), WorkspaceError> {
        let m = self.healthy(name).await?;
        let arn = self.scope(&m)?;
        let from = self.clock.now().date_naive();
        let ce = self.ce.metered();
        let forecast = ce.forecast(&arn, from, to, granularity, metric).await;
        let requests = ce.requests();
        let requests_total = self.count_requests(requests)?;
        Ok((
            forecast?,
            CostUsage {
                requests,
                requests_total,
                fetched_at: self.clock.now(),
                athena_bytes: 0,
            },
        ))
    }
}

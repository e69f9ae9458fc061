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
        let mut failed = None;
        for ((part, _), hit) in parts.iter().zip(cached) {
            match hit {
                Some((hit, at)) => {
                    fetched_at = fetched_at.min(at);
                    series.push(hit);
                }
                None => match ce.answer(&arn, part).await {
                    Ok(answer) => {
                        fresh.push((part.clone(), answer.clone()));
                        series.push(answer.series);
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                },
            }
        }
        // Requests are paid for even when a later part failed: count them.
        let requests = ce.requests();
        let requests_total = self.with_cost_cache(|cache| {
            for (part, answer) in fresh {
                let is_final = !answer.is_estimated();
                cache.put(&scope, &part, answer.series, is_final, now);
            }
            cache.requests_total += requests;
            cache.requests_total
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        Ok((
            cost_cache::join(q, series),
            CostUsage {
                requests,
                requests_total,
                fetched_at,
            },
        ))
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
            },
        ))
    }
}

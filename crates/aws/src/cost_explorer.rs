//! Cost Explorer, always through an integration's billing view: a
//! [`CostQuery`] answered by `GetCostAndUsage` with the view's ARN. The only
//! way to ask is with a [`BillingViewArn`], which refuses the payer's primary
//! view (that one shows every customer).

use std::collections::BTreeMap;
use std::str::FromStr;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension as CeDimension, DimensionValues, Expression, GroupDefinition,
    GroupDefinitionType,
};
use aws_sdk_costexplorer::Client;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use costcarve_core::cost::{CostPoint, CostQuery, CostSeries, Dimension, Granularity, Metric};

use crate::error::{classify, AwsError};

/// The ARN of a custom billing view: the scope of one integration's costs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BillingViewArn(String);

impl BillingViewArn {
    /// The ARN, as AWS spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BillingViewArn {
    type Err = AwsError;
    /// Accepts `arn:aws:billing::<12 digits>:billingview/custom-<id>` only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("arn:aws:billing::");
        let ok = rest
            .and_then(|r| r.split_once(":billingview/"))
            .is_some_and(|(account, view)| {
                account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && view.strip_prefix("custom-").is_some_and(|id| {
                        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
            });
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(AwsError::Invalid(format!(
                "'{s}' is not a custom billing view ARN; costs are only ever asked through an integration's own view, never the payer's primary view"
            )))
        }
    }
}

/// Cost Explorer's `[start, end)` period.
fn interval(start: NaiveDate, end: NaiveDate) -> Result<DateInterval, AwsError> {
    DateInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .map_err(|e| AwsError::Invalid(e.to_string()))
}

fn metric_name(m: Metric) -> Result<&'static str, AwsError> {
    match m {
        Metric::UnblendedCost => Ok("UnblendedCost"),
        Metric::NetUnblendedCost => Ok("NetUnblendedCost"),
        Metric::AmortizedCost => Ok("AmortizedCost"),
        Metric::PublicOnDemandCost => Err(not_in_cost_explorer()),
    }
}

fn not_in_cost_explorer() -> AwsError {
    AwsError::Invalid(
        "Cost Explorer has no public on-demand cost: it is answered from the CUR with Athena"
            .into(),
    )
}

fn group(d: &Dimension) -> GroupDefinition {
    let (kind, key) = match d {
        Dimension::Service => (GroupDefinitionType::Dimension, "SERVICE".to_string()),
        Dimension::Account => (GroupDefinitionType::Dimension, "LINKED_ACCOUNT".into()),
        Dimension::Region => (GroupDefinitionType::Dimension, "REGION".into()),
        Dimension::UsageType => (GroupDefinitionType::Dimension, "USAGE_TYPE".into()),
        Dimension::LineItemType => (GroupDefinitionType::Dimension, "RECORD_TYPE".into()),
        Dimension::Tag(k) => (GroupDefinitionType::Tag, cost_explorer_tag(k).to_string()),
    };
    GroupDefinition::builder().r#type(kind).key(key).build()
}

/// A tag as Cost Explorer names it, from its CUR 2.0 name: user tags are
/// `user_<key>` in the CUR and `<key>` in Cost Explorer; AWS-generated tags
/// `aws_<key>` and `aws:<key>`.
fn cost_explorer_tag(cur_key: &str) -> std::borrow::Cow<'_, str> {
    if let Some(user) = cur_key.strip_prefix("user_") {
        user.into()
    } else if let Some(generated) = cur_key.strip_prefix("aws_") {
        format!("aws:{generated}").into()
    } else {
        cur_key.into()
    }
}

/// A group's key as the app shows it: Cost Explorer answers tag groups as
/// `<key>$<value>` (`<key>$` for costs without the tag); the app shows the
/// value, as the local engine does.
fn shown_key(d: &Dimension, key: &str) -> String {
    match d {
        Dimension::Tag(_) => key
            .split_once('$')
            .map(|(_, value)| value)
            .unwrap_or(key)
            .to_string(),
        _ => key.to_string(),
    }
}

/// Cost Explorer for one connection; counts the paid requests it makes.
#[derive(Debug)]
pub struct CostExplorer {
    client: Client,
    requests: std::sync::atomic::AtomicU64,
}

impl CostExplorer {
    /// Cost Explorer reached with this SDK configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
            requests: Default::default(),
        }
    }

    /// The same client with its own request count starting at zero, so
    /// that one answer's paid requests are counted exactly while others
    /// run at the same time.
    pub fn metered(&self) -> Self {
        Self {
            client: self.client.clone(),
            requests: Default::default(),
        }
    }

    /// Requests made so far (USD 0.01 each).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Answers a cost query through the integration's billing view, page by page.
    pub async fn cost(&self, view: &BillingViewArn, q: &CostQuery) -> Result<CostSeries, AwsError> {
        Ok(self.answer(view, q).await?.series)
    }

    /// [`Self::cost`], with whether Cost Explorer still marks any of the
    /// answer's buckets as estimated (a month it may still restate).
    pub async fn answer(&self, view: &BillingViewArn, q: &CostQuery) -> Result<Answer, AwsError> {
        q.validate().map_err(|e| AwsError::Invalid(e.to_string()))?;
        let metric = metric_name(q.metric)?;
        let mut points = Vec::new();
        let mut token: Option<String> = None;
        let mut estimated = std::collections::BTreeSet::new();
        loop {
            let mut req = self
                .client
                .get_cost_and_usage()
                .billing_view_arn(view.as_str())
                .time_period(interval(q.from, q.to)?)
                .granularity(match q.granularity {
                    Granularity::Daily => aws_sdk_costexplorer::types::Granularity::Daily,
                    Granularity::Monthly => aws_sdk_costexplorer::types::Granularity::Monthly,
                })
                .metrics(metric);
            for d in &q.group_by {
                req = req.group_by(group(d));
            }
            if !q.exclude_line_item_types.is_empty() {
                let types = DimensionValues::builder()
                    .key(CeDimension::RecordType)
                    .set_values(Some(q.exclude_line_item_types.iter().cloned().collect()))
                    .build();
                req = req.filter(
                    Expression::builder()
                        .not(Expression::builder().dimensions(types).build())
                        .build(),
                );
            }
            if let Some(t) = &token {
                req = req.next_page_token(t);
            }
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let out = req.send().await.map_err(|e| classify("Cost Explorer", e))?;
            for r in out.results_by_time() {
                let Some(period) = r
                    .time_period()
                    .and_then(|t| NaiveDate::parse_from_str(t.start(), "%Y-%m-%d").ok())
                else {
                    continue;
                };
                if r.estimated() {
                    estimated.insert(period);
                }
                let amount = |m: Option<&std::collections::HashMap<String, _>>| -> Decimal {
                    m.and_then(
                        |m: &std::collections::HashMap<
                            String,
                            aws_sdk_costexplorer::types::MetricValue,
                        >| m.get(metric),
                    )
                    .and_then(|v| v.amount())
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_default()
                };
                if q.group_by.is_empty() {
                    points.push(CostPoint {
                        period,
                        keys: vec![],
                        amount: amount(r.total()),
                    });
                }
                for g in r.groups() {
                    points.push(CostPoint {
                        period,
                        keys: g
                            .keys()
                            .iter()
                            .zip(&q.group_by)
                            .map(|(k, d)| shown_key(d, k))
                            .collect(),
                        amount: amount(g.metrics()),
                    });
                }
            }
            match out.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        // Merge points a page boundary split in two.
        let mut merged: BTreeMap<(NaiveDate, Vec<String>), Decimal> = BTreeMap::new();
        for p in points {
            *merged.entry((p.period, p.keys)).or_default() += p.amount;
        }
        let series = CostSeries::new(
            q.clone(),
            merged
                .into_iter()
                .map(|((period, keys), amount)| CostPoint {
                    period,
                    keys,
                    amount,
                })
                .collect(),
        );
        Ok(Answer {
            series,
            estimated_periods: estimated,
        })
    }

    /// The member accounts with cost data through the billing view between
    /// `from` and `to` (GetDimensionValues for LINKED_ACCOUNT, page by page).
    pub async fn linked_accounts(
        &self,
        view: &BillingViewArn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<std::collections::BTreeSet<String>, AwsError> {
        let mut out = std::collections::BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let page = self
                .client
                .get_dimension_values()
                .billing_view_arn(view.as_str())
                .time_period(interval(from, to)?)
                .dimension(CeDimension::LinkedAccount)
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| classify("Cost Explorer dimension values", e))?;
            out.extend(
                page.dimension_values()
                    .iter()
                    .filter_map(|v| v.value().map(String::from)),
            );
            match page.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

/// What Cost Explorer answered to a cost query.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The costs.
    pub series: CostSeries,
    /// The buckets (by first day) Cost Explorer still marks as estimates
    /// (`ResultByTime.Estimated`): their months may still change.
    pub estimated_periods: std::collections::BTreeSet<NaiveDate>,
}

impl Answer {
    /// Whether any bucket is still an estimate.
    pub fn is_estimated(&self) -> bool {
        !self.estimated_periods.is_empty()
    }
}

/// A forecast of an integration's costs (GetCostForecast through its view).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forecast {
    /// First day forecast.
    pub from: NaiveDate,
    /// First day not forecast.
    pub to: NaiveDate,
    /// The metric.
    pub metric: Metric,
    /// The forecast total.
    pub total: Decimal,
    /// Per bucket: first day, mean, and the 80 % prediction interval.
    pub points: Vec<ForecastPoint>,
}

/// One bucket of a forecast.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForecastPoint {
    /// First day of the bucket.
    pub period: NaiveDate,
    /// Expected amount.
    pub mean: Decimal,
    /// Lower bound of the prediction interval.
    pub lower: Option<Decimal>,
    /// Upper bound of the prediction interval.
    pub upper: Option<Decimal>,
}

fn forecast_metric(m: Metric) -> Result<aws_sdk_costexplorer::types::Metric, AwsError> {
    use aws_sdk_costexplorer::types::Metric as M;
    match m {
        Metric::UnblendedCost => Ok(M::UnblendedCost),
        Metric::NetUnblendedCost => Ok(M::NetUnblendedCost),
        Metric::AmortizedCost => Ok(M::AmortizedCost),
        Metric::PublicOnDemandCost => Err(not_in_cost_explorer()),
    }
}

impl CostExplorer {
    /// Forecasts costs from `from` (today or later) to `to` through the
    /// integration's billing view.
    pub async fn forecast(
        &self,
        view: &BillingViewArn,
        from: NaiveDate,
        to: NaiveDate,
        granularity: Granularity,
        metric: Metric,
    ) -> Result<Forecast, AwsError> {
        if to <= from {
            return Err(AwsError::Invalid(format!(
                "a forecast needs its end ({to}) after its start ({from})"
            )));
        }
        let ce_metric = forecast_metric(metric)?;
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = self
            .client
            .get_cost_forecast()
            .billing_view_arn(view.as_str())
            .time_period(interval(from, to)?)
            .granularity(match granularity {
                Granularity::Daily => aws_sdk_costexplorer::types::Granularity::Daily,
                Granularity::Monthly => aws_sdk_costexplorer::types::Granularity::Monthly,
            })
            .metric(ce_metric)
            .send()
            .await
            .map_err(|e| classify("Cost Explorer forecast", e))?;
        let dec = |s: Option<&str>| s.and_then(|s| s.parse::<Decimal>().ok());
        let points = out
            .forecast_results_by_time()
            .iter()
            .filter_map(|r| {
                let period = r
                    .time_period()
                    .and_then(|t| NaiveDate::parse_from_str(t.start(), "%Y-%m-%d").ok())?;
                Some(ForecastPoint {
                    period,
                    mean: dec(r.mean_value()).unwrap_or_default(),
                    lower: dec(r.prediction_interval_lower_bound()),
                    upper: dec(r.prediction_interval_upper_bound()),
                })
            })
            .collect::<Vec<_>>();
        let total = dec(out.total().and_then(|t| t.amount()))
            .unwrap_or_else(|| points.iter().map(|p| p.mean).sum());
        Ok(Forecast {
            from,
            to,
            metric,
            total,
            points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cur_tag_names_become_cost_explorer_names_and_values_are_shown_bare() {
        assert_eq!(cost_explorer_tag("user_team"), "team");
        assert_eq!(cost_explorer_tag("aws_createdBy"), "aws:createdBy");
        assert_eq!(cost_explorer_tag("team"), "team");
        let tag = Dimension::Tag("user_team".into());
        assert_eq!(shown_key(&tag, "team$platform"), "platform");
        assert_eq!(shown_key(&tag, "team$"), "");
        assert_eq!(shown_key(&Dimension::Service, "Amazon S3"), "Amazon S3");
    }
}

//! Cost queries and the cost series that answer them.
//!
//! A [`CostQuery`] is what a user asks of one virtual integration's costs; the
//! local engine answers it with SQL over the integration's view and the AWS
//! workspace will answer the same type from Cost Explorer with the
//! integration's billing view.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Cost Explorer accepts at most two group-by keys; so do we.
pub const MAX_GROUP_BY: usize = 2;

/// Line item types that are not usage, and that a user may leave out.
pub const NON_USAGE_LINE_ITEM_TYPES: [&str; 4] = ["Credit", "Refund", "Tax", "Fee"];

/// Time bucket of a cost series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One point per day.
    Daily,
    /// One point per calendar month.
    Monthly,
}

impl FromStr for Granularity {
    type Err = CostQueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "daily" => Ok(Self::Daily),
            "monthly" => Ok(Self::Monthly),
            _ => Err(CostQueryError::Granularity(s.to_string())),
        }
    }
}

/// What a cost can be grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum Dimension {
    /// The AWS service (CUR `line_item_product_code`).
    Service,
    /// The member (usage) account.
    Account,
    /// The AWS region.
    Region,
    /// The usage type.
    UsageType,
    /// The line item type (Usage, Tax, Credit, ...).
    LineItemType,
    /// The value of one resource tag, e.g. `user:team`.
    Tag(String),
}

impl Dimension {
    /// The spelling used on the command line and in column headers.
    pub fn label(&self) -> String {
        match self {
            Dimension::Service => "service".into(),
            Dimension::Account => "account".into(),
            Dimension::Region => "region".into(),
            Dimension::UsageType => "usage_type".into(),
            Dimension::LineItemType => "line_item_type".into(),
            Dimension::Tag(k) => format!("tag:{k}"),
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for Dimension {
    type Err = CostQueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Some(key) = t.strip_prefix("tag:") {
            return validate_tag_key(key).map(|k| Dimension::Tag(k.to_string()));
        }
        match t.to_ascii_lowercase().replace('-', "_").as_str() {
            "service" => Ok(Self::Service),
            "account" | "linked_account" => Ok(Self::Account),
            "region" => Ok(Self::Region),
            "usage_type" | "usagetype" => Ok(Self::UsageType),
            "line_item_type" | "record_type" => Ok(Self::LineItemType),
            _ => Err(CostQueryError::Dimension(s.to_string())),
        }
    }
}

/// AWS tag keys: 1-128 characters of letters, digits, spaces and `_.:/=+-@`.
pub fn validate_tag_key(key: &str) -> Result<&str, CostQueryError> {
    let ok = !key.is_empty()
        && key.chars().count() <= 128
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c));
    if ok {
        Ok(key)
    } else {
        Err(CostQueryError::TagKey(key.to_string()))
    }
}

/// Which cost a series adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// What was billed, before discounts spread over time.
    #[default]
    UnblendedCost,
    /// Unblended cost after discounts (EDP, private pricing).
    NetUnblendedCost,
    /// Savings Plans and Reserved Instances spread over the usage they cover.
    AmortizedCost,
    /// What the usage costs at AWS's public on-demand (list) prices: CUR
    /// 2.0's `pricing_public_on_demand_cost`, zero for lines that are not
    /// usage. Answered from the CUR (never from Cost Explorer, which has no
    /// such metric).
    PublicOnDemandCost,
}

impl Metric {
    /// Every metric, in the order offered to users.
    pub const ALL: [Metric; 4] = [
        Metric::UnblendedCost,
        Metric::NetUnblendedCost,
        Metric::AmortizedCost,
        Metric::PublicOnDemandCost,
    ];

    /// The short name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Metric::UnblendedCost => "unblended",
            Metric::NetUnblendedCost => "net_unblended",
            Metric::AmortizedCost => "amortized",
            Metric::PublicOnDemandCost => "public_on_demand",
        }
    }

    /// The basis in words a customer reads, e.g. on a chart's caption.
    pub fn words(self) -> &'static str {
        match self {
            Metric::UnblendedCost => "unblended cost (as billed)",
            Metric::NetUnblendedCost => "net unblended cost (after discounts)",
            Metric::AmortizedCost => {
                "amortized cost (Savings Plans and Reserved Instances spread over the usage they cover)"
            }
            Metric::PublicOnDemandCost => "public on-demand cost (AWS list prices)",
        }
    }

    /// Whether Cost Explorer can answer it (the others come from the CUR).
    pub fn in_cost_explorer(self) -> bool {
        !matches!(self, Metric::PublicOnDemandCost)
    }
}

impl FromStr for Metric {
    type Err = CostQueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "unblended" | "unblended_cost" | "unblendedcost" => Ok(Self::UnblendedCost),
            "net_unblended" | "net_unblended_cost" | "netunblendedcost" => {
                Ok(Self::NetUnblendedCost)
            }
            "amortized" | "amortized_cost" | "amortizedcost" => Ok(Self::AmortizedCost),
            "public_on_demand" | "public_on_demand_cost" | "publicondemandcost" | "list" => {
                Ok(Self::PublicOnDemandCost)
            }
            _ => Err(CostQueryError::Metric(s.to_string())),
        }
    }
}

/// A question about one virtual integration's costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostQuery {
    /// The virtual integration's name.
    pub integration: String,
    /// First day included.
    pub from: NaiveDate,
    /// First day not included (as Cost Explorer's `End`).
    pub to: NaiveDate,
    /// Daily or monthly points.
    pub granularity: Granularity,
    /// Zero, one or two dimensions.
    pub group_by: Vec<Dimension>,
    /// Which cost to add up.
    pub metric: Metric,
    /// Line item types left out (e.g. `Credit`, `Refund`, `Tax`).
    pub exclude_line_item_types: BTreeSet<String>,
}

impl CostQuery {
    /// A monthly, ungrouped, unblended query over `[from, to)`.
    pub fn new(integration: impl Into<String>, from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            integration: integration.into(),
            from,
            to,
            granularity: Granularity::Monthly,
            group_by: Vec::new(),
            metric: Metric::UnblendedCost,
            exclude_line_item_types: BTreeSet::new(),
        }
    }

    /// Checks the query's own rules; says what to fix.
    pub fn validate(&self) -> Result<(), CostQueryError> {
        if self.to <= self.from {
            return Err(CostQueryError::EmptyRange {
                from: self.from,
                to: self.to,
            });
        }
        if self.group_by.len() > MAX_GROUP_BY {
            return Err(CostQueryError::TooManyGroups(self.group_by.len()));
        }
        let distinct: BTreeSet<_> = self.group_by.iter().collect();
        if distinct.len() != self.group_by.len() {
            return Err(CostQueryError::RepeatedGroup);
        }
        for d in &self.group_by {
            if let Dimension::Tag(k) = d {
                validate_tag_key(k)?;
            }
        }
        for t in &self.exclude_line_item_types {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(CostQueryError::LineItemType(t.clone()));
            }
        }
        Ok(())
    }

    /// The billing periods (`YYYY-MM`) the query touches, for partition pruning.
    pub fn billing_periods(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut month = first_of_month(self.from);
        while month < self.to {
            out.push(month.format("%Y-%m").to_string());
            month = next_month(month);
        }
        out
    }
}

/// The first day of `d`'s month.
pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day0(0).unwrap_or(d)
}

/// The first day of the month after `d`'s.
pub fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

/// One bucket of a cost series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostPoint {
    /// First day of the bucket.
    pub period: NaiveDate,
    /// One value per group-by dimension, in the query's order.
    pub keys: Vec<String>,
    /// The amount, in the series' currency (a decimal string on the wire).
    pub amount: Decimal,
}

/// The answer to a [`CostQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostSeries {
    /// The question this answers.
    pub query: CostQuery,
    /// ISO currency code, `USD` for AWS bills.
    pub currency: String,
    /// Points ordered by period, then keys.
    pub points: Vec<CostPoint>,
    /// Sum of all points.
    pub total: Decimal,
}

impl CostSeries {
    /// Builds a series, ordering the points and adding up the total.
    pub fn new(query: CostQuery, mut points: Vec<CostPoint>) -> Self {
        points.sort_by(|a, b| a.period.cmp(&b.period).then_with(|| a.keys.cmp(&b.keys)));
        let total = points.iter().map(|p| p.amount).sum();
        Self {
            query,
            currency: "USD".into(),
            points,
            total,
        }
    }

    /// A series of the sums per period and keys (a map keeps them in the
    /// order `new` sorts them anyway).
    pub fn from_sums(
        query: CostQuery,
        sums: std::collections::BTreeMap<(NaiveDate, Vec<String>), Decimal>,
    ) -> Self {
        let points = sums
            .into_iter()
            .map(|((period, keys), amount)| CostPoint {
                period,
                keys,
                amount,
            })
            .collect();
        Self::new(query, points)
    }

    /// The distinct periods, in order.
    pub fn periods(&self) -> Vec<NaiveDate> {
        let set: BTreeSet<NaiveDate> = self.points.iter().map(|p| p.period).collect();
        set.into_iter().collect()
    }

    /// Totals per value of the group-by key at `index`, largest first.
    pub fn totals_by_key(&self, index: usize) -> Vec<(String, Decimal)> {
        let mut map = std::collections::BTreeMap::<String, Decimal>::new();
        for p in &self.points {
            let k = p.keys.get(index).cloned().unwrap_or_default();
            *map.entry(k).or_default() += p.amount;
        }
        let mut v: Vec<_> = map.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// A cost query that cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostQueryError {
    /// `to` is not after `from`.
    #[error("the time range is empty: --to ({to}) must be after --from ({from}); --to is the first day not included")]
    EmptyRange {
        /// First day.
        from: NaiveDate,
        /// First day not included.
        to: NaiveDate,
    },
    /// More than two group-by keys.
    #[error("{0} group-by dimensions given; Cost Explorer allows at most 2")]
    TooManyGroups(usize),
    /// The same key twice.
    #[error("a group-by dimension is repeated; give each at most once")]
    RepeatedGroup,
    /// Unknown granularity.
    #[error("unknown granularity '{0}': use daily or monthly")]
    Granularity(String),
    /// Unknown dimension.
    #[error("unknown group-by dimension '{0}': use service, account, region, usage_type, line_item_type or tag:KEY")]
    Dimension(String),
    /// Unknown metric.
    #[error(
        "unknown cost basis '{0}': use unblended, net_unblended, amortized or public_on_demand"
    )]
    Metric(String),
    /// Bad tag key.
    #[error("'{0}' is not a valid tag key: 1-128 letters, digits, spaces and _.:/=+-@")]
    TagKey(String),
    /// Bad line item type.
    #[error("'{0}' is not a line item type (e.g. Credit, Refund, Tax, Fee)")]
    LineItemType(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn billing_periods_cover_the_range() {
        let q = CostQuery::new("x", d("2025-11-15"), d("2026-02-01"));
        assert_eq!(q.billing_periods(), vec!["2025-11", "2025-12", "2026-01"]);
        let q = CostQuery::new("x", d("2025-11-01"), d("2025-11-02"));
        assert_eq!(q.billing_periods(), vec!["2025-11"]);
    }

    #[test]
    fn validation_says_what_is_wrong() {
        let mut q = CostQuery::new("x", d("2025-11-15"), d("2025-11-15"));
        assert!(matches!(
            q.validate(),
            Err(CostQueryError::EmptyRange { .. })
        ));
        q.to = d("2025-12-01");
        q.group_by = vec![Dimension::Service, Dimension::Account, Dimension::Region];
        assert_eq!(q.validate(), Err(CostQueryError::TooManyGroups(3)));
        q.group_by = vec![Dimension::Service, Dimension::Service];
        assert_eq!(q.validate(), Err(CostQueryError::RepeatedGroup));
        assert!("tag:a'b".parse::<Dimension>().is_err());
        assert_eq!(
            "tag:team".parse::<Dimension>().unwrap(),
            Dimension::Tag("team".into())
        );
    }
}

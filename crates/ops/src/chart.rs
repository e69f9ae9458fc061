//! What a chart asks for: its kind's default range, grouping and exclusions,
//! turned into a cost query, and its title. One set of defaults for the CLI
//! and the desktop.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};

use costcarve_charts::ChartKind;
use costcarve_core::cost::{
    first_of_month, CostQuery, Dimension, Granularity, NON_USAGE_LINE_ITEM_TYPES,
};

use crate::OpsError;

/// A chart request, before defaults.
#[derive(Debug, Clone, Default)]
pub struct ChartSpec {
    /// The kind of chart.
    pub kind: ChartKind,
    /// First day; default 30 days before `to` (daily) or 12 months before
    /// the current month.
    pub from: Option<NaiveDate>,
    /// First day not included; default tomorrow.
    pub to: Option<NaiveDate>,
    /// Group by; default the account (by-account chart) or the service.
    pub group_by: Option<Dimension>,
    /// Line item types to leave out; default: the monthly Tax, Fee, Credit
    /// and Refund lines on the daily chart, nothing otherwise.
    pub exclude: Option<BTreeSet<String>>,
}

/// The first day of the month twelve months before `today`'s.
pub fn thirteen_months_back(today: NaiveDate) -> NaiveDate {
    let mut m = first_of_month(today);
    for _ in 0..12 {
        m = first_of_month(m - Duration::days(1));
    }
    m
}

impl ChartSpec {
    /// The cost query this chart of `integration` asks, as of `today`.
    pub fn query(&self, integration: String, today: NaiveDate) -> Result<CostQuery, OpsError> {
        let to = self.to.unwrap_or(today + Duration::days(1));
        let from = self.from.unwrap_or_else(|| match self.kind {
            ChartKind::DailyLine => to - Duration::days(30),
            _ => thirteen_months_back(today),
        });
        let mut q = CostQuery::new(integration, from, to);
        q.group_by = vec![self.group_by.clone().unwrap_or(match self.kind {
            ChartKind::ByAccount => Dimension::Account,
            _ => Dimension::Service,
        })];
        if self.kind == ChartKind::DailyLine {
            q.granularity = Granularity::Daily;
        }
        q.exclude_line_item_types = match (&self.exclude, self.kind) {
            (Some(list), _) => list.clone(),
            (None, ChartKind::DailyLine) => NON_USAGE_LINE_ITEM_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
            (None, _) => BTreeSet::new(),
        };
        q.validate()?;
        Ok(q)
    }
}

/// The title of a chart of `q`.
pub fn title(kind: ChartKind, q: &CostQuery) -> String {
    let name = &q.integration;
    match kind {
        ChartKind::StackedByService => format!(
            "{name}: monthly cost by {}",
            q.group_by.first().map(Dimension::label).unwrap_or_default()
        ),
        ChartKind::DailyLine => format!("{name}: daily cost"),
        ChartKind::ByAccount => format!("{name}: cost by account"),
    }
}

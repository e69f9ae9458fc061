//! From a cost series to what gets drawn: a dense timeline and, per group
//! (the top N keys of the first group-by dimension, then "Other"), one value
//! per period.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use costcarve_core::cost::{first_of_month, next_month, CostSeries, Dimension, Granularity};
use plotters::style::RGBColor;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::format::currency_prefix;
use crate::palette;

/// The name of the bucket that holds every key outside the top N.
pub(crate) const OTHER: &str = "Other";

/// The name of the single group of an ungrouped series.
pub(crate) const TOTAL: &str = "Total";

/// The label of an empty key (e.g. resources without the tag grouped by).
const NO_VALUE: &str = "(none)";

/// Timelines longer than this fall back to the periods that have data.
const MAX_PERIODS: usize = 1000;

/// One line, bar or stack segment and its legend entry.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Legend text.
    pub name: String,
    /// Fill or stroke colour.
    pub colour: RGBColor,
    /// One value per period of the model's timeline.
    pub values: Vec<f64>,
    /// Sum over the whole range.
    pub total: f64,
}

/// Everything a chart needs, with amounts as `f64` for drawing.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    /// Daily or monthly, from the query.
    pub granularity: Granularity,
    /// Every period from the first to the last, gaps included.
    pub periods: Vec<NaiveDate>,
    /// First and last period shown: the timeline's, or when there are no
    /// points the query's (none if the query's range is empty too).
    pub range: Option<(NaiveDate, NaiveDate)>,
    /// Largest first; "Other", if any, last.
    pub groups: Vec<Group>,
    /// Whether the series was grouped (otherwise one "Total" group).
    pub grouped: bool,
    /// A heading for the legend, e.g. "Service".
    pub dimension: String,
    /// What amounts are written with, e.g. `$`.
    pub prefix: String,
    /// ISO currency code.
    pub currency: String,
    /// Sum of all points.
    pub total: f64,
}

impl Model {
    /// Whether there is nothing to draw: no points, or only zero amounts.
    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
            || self
                .groups
                .iter()
                .all(|g| g.values.iter().all(|v| *v == 0.0))
    }
}

fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The heading used for a dimension in legends and axis captions.
pub(crate) fn dimension_title(d: Option<&Dimension>) -> String {
    match d {
        None => TOTAL.into(),
        Some(Dimension::Service) => "Service".into(),
        Some(Dimension::Account) => "Account".into(),
        Some(Dimension::Region) => "Region".into(),
        Some(Dimension::UsageType) => "Usage type".into(),
        Some(Dimension::LineItemType) => "Line item type".into(),
        Some(Dimension::Tag(k)) => format!("Tag {k}"),
    }
}

fn step(granularity: Granularity, d: NaiveDate) -> Option<NaiveDate> {
    let next = match granularity {
        Granularity::Monthly => next_month(d),
        Granularity::Daily => d.succ_opt()?,
    };
    (next > d).then_some(next)
}

fn normalise(granularity: Granularity, d: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Monthly => first_of_month(d),
        Granularity::Daily => d,
    }
}

/// Every period from `start` to `end` inclusive, or `None` if there are too many.
fn dense(granularity: Granularity, start: NaiveDate, end: NaiveDate) -> Option<Vec<NaiveDate>> {
    let mut out = Vec::new();
    let mut d = start;
    while d <= end {
        if out.len() >= MAX_PERIODS {
            return None;
        }
        out.push(d);
        match step(granularity, d) {
            Some(n) => d = n,
            None => break,
        }
    }
    Some(out)
}

/// The periods to draw: the query's whole range (so months or days without
/// costs show as gaps), widened to any data outside it.
fn timeline(series: &CostSeries) -> Vec<NaiveDate> {
    let g = series.query.granularity;
    let data: BTreeSet<NaiveDate> = series
        .points
        .iter()
        .map(|p| normalise(g, p.period))
        .collect();
    let (Some(&first), Some(&last)) = (data.first(), data.last()) else {
        return Vec::new();
    };
    let (mut start, mut end) = (first, last);
    if series.query.to > series.query.from {
        let q_last = series.query.to.pred_opt().unwrap_or(series.query.to);
        start = start.min(normalise(g, series.query.from));
        end = end.max(normalise(g, q_last));
    }
    dense(g, start, end)
        .or_else(|| dense(g, first, last))
        .unwrap_or_else(|| data.into_iter().collect())
}

/// Builds the model: the top `top_n` keys of the first group-by dimension
/// (at least one), everything else summed into "Other".
pub(crate) fn build(series: &CostSeries, top_n: usize) -> Model {
    let granularity = series.query.granularity;
    let periods = timeline(series);
    let index: BTreeMap<NaiveDate, usize> =
        periods.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let grouped = series.points.iter().any(|p| !p.keys.is_empty());
    let top_n = top_n.max(1);

    // Which group each key goes to, and the groups' names, largest first.
    let mut names: Vec<String> = Vec::new();
    let mut group_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut has_other = false;
    if grouped {
        for (key, _) in series.totals_by_key(0) {
            if names.len() < top_n && key != OTHER {
                group_of.insert(key.clone(), names.len());
                names.push(if key.is_empty() { NO_VALUE.into() } else { key });
            } else {
                has_other = true;
            }
        }
    } else {
        names.push(TOTAL.into());
    }
    let other_index = names.len();

    let groups_len = names.len() + usize::from(has_other);
    let mut sums = vec![vec![Decimal::ZERO; periods.len()]; groups_len];
    for p in &series.points {
        let Some(&i) = index.get(&normalise(granularity, p.period)) else {
            continue;
        };
        let g = if grouped {
            let key = p.keys.first().map(String::as_str).unwrap_or_default();
            group_of.get(key).copied().unwrap_or(other_index)
        } else {
            0
        };
        if let Some(slot) = sums.get_mut(g).and_then(|v| v.get_mut(i)) {
            *slot += p.amount;
        }
    }

    let colours = if grouped {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        palette::assign(&refs)
    } else {
        vec![palette::TOTAL]
    };
    if has_other {
        names.push(OTHER.into());
    }
    let groups = names
        .into_iter()
        .zip(sums)
        .enumerate()
        .map(|(i, (name, values))| Group {
            colour: colours.get(i).copied().unwrap_or(palette::OTHER),
            total: to_f64(values.iter().copied().sum()),
            values: values.into_iter().map(to_f64).collect(),
            name,
        })
        .collect();

    let range = match (periods.first(), periods.last()) {
        (Some(first), Some(last)) => Some((*first, *last)),
        _ if series.query.to > series.query.from => {
            let last = series.query.to.pred_opt().unwrap_or(series.query.to);
            Some((
                normalise(granularity, series.query.from),
                normalise(granularity, last),
            ))
        }
        _ => None,
    };

    Model {
        granularity,
        periods,
        range,
        groups,
        grouped,
        dimension: dimension_title(series.query.group_by.first()),
        prefix: currency_prefix(&series.currency),
        currency: series.currency.clone(),
        total: to_f64(series.total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use costcarve_core::cost::{CostPoint, CostQuery};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn point(period: NaiveDate, key: &str, amount: i64) -> CostPoint {
        CostPoint {
            period,
            keys: vec![key.into()],
            amount: Decimal::from(amount),
        }
    }

    #[test]
    fn keeps_the_top_n_and_sums_the_rest_into_other() {
        let mut q = CostQuery::new("x", d(2025, 11, 1), d(2026, 2, 1));
        q.group_by = vec![Dimension::Service];
        let s = CostSeries::new(
            q,
            vec![
                point(d(2025, 11, 1), "A", 100),
                point(d(2025, 11, 1), "B", 50),
                point(d(2025, 11, 1), "C", 10),
                point(d(2026, 1, 1), "D", 5),
                point(d(2026, 1, 1), "Other", 1),
            ],
        );
        let m = build(&s, 2);
        assert_eq!(
            m.periods,
            vec![d(2025, 11, 1), d(2025, 12, 1), d(2026, 1, 1)]
        );
        let names: Vec<&str> = m.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["A", "B", "Other"]);
        assert_eq!(m.groups[2].values, vec![10.0, 0.0, 6.0]);
        assert_eq!(m.groups[2].colour, palette::OTHER);
        assert_eq!(m.dimension, "Service");
        assert!(!m.is_empty());
    }

    #[test]
    fn ungrouped_series_have_one_total_group() {
        let mut q = CostQuery::new("x", d(2025, 11, 1), d(2025, 11, 4));
        q.granularity = Granularity::Daily;
        let s = CostSeries::new(
            q,
            vec![CostPoint {
                period: d(2025, 11, 2),
                keys: vec![],
                amount: Decimal::from(7),
            }],
        );
        let m = build(&s, 8);
        assert_eq!(m.periods.len(), 3);
        assert_eq!(m.groups.len(), 1);
        assert_eq!(m.groups[0].values, vec![0.0, 7.0, 0.0]);
    }

    #[test]
    fn zero_only_series_are_empty() {
        let q = CostQuery::new("x", d(2025, 11, 1), d(2025, 12, 1));
        let s = CostSeries::new(q, vec![point(d(2025, 11, 1), "A", 0)]);
        let m = build(&s, 8);
        assert!(m.is_empty());
        assert_eq!(m.range, Some((d(2025, 11, 1), d(2025, 11, 1))));
        let none = CostSeries::new(CostQuery::new("x", d(2025, 11, 1), d(2026, 2, 1)), vec![]);
        assert_eq!(build(&none, 8).range, Some((d(2025, 11, 1), d(2026, 1, 1))));
    }
}

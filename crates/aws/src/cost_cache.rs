//! The Cost Explorer cache: every request costs USD 0.01, and a closed
//! month that Cost Explorer marks final no longer changes, so it is kept
//! for good; the open month, and a closed month still marked estimated
//! (AWS restates a month for days after it closes: credits, refunds, tax),
//! are asked again after a time to live. A query is split at the
//! first day of the open month: the closed part comes from the cache when
//! it can, and only what is missing is asked.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use costcarve_core::cost::{CostQuery, CostSeries};

/// How long the open month's answer is reused (Cost Explorer refreshes
/// its data up to three times a day).
pub const OPEN_MONTH_TTL: Duration = Duration::hours(6);

/// The file it is kept in, in the connection's state dir.
pub const FILE: &str = "cost-explorer-cache.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    fetched_at: DateTime<Utc>,
    series: CostSeries,
    /// Cost Explorer marked no bucket estimated (older entries: not known,
    /// so not final).
    #[serde(default, rename = "final")]
    is_final: bool,
}

/// Cached answers, by billing view and question.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CostCache {
    version: u32,
    entries: BTreeMap<String, Entry>,
    /// Requests made through this connection, ever.
    #[serde(default)]
    pub requests_total: u64,
}

/// The scope answers are kept under: a billing view at one revision of its
/// integration (a changed integration asks again).
pub fn scope(arn: &str, revision: u64) -> String {
    format!("{arn}{REVISION_MARK}{revision}")
}

/// Between a billing view's ARN and the revision in a scope (no ARN holds it).
const REVISION_MARK: char = '#';

fn key(scope: &str, q: &CostQuery) -> String {
    // CostQuery serializes its fields in a fixed order: a stable key.
    format!("{scope} {}", serde_json::to_string(q).unwrap_or_default())
}

/// A query's closed-month part and open-month part (either may be absent).
pub fn split(q: &CostQuery, open_month: NaiveDate) -> (Option<CostQuery>, Option<CostQuery>) {
    if q.to <= open_month {
        return (Some(q.clone()), None);
    }
    if q.from >= open_month {
        return (None, Some(q.clone()));
    }
    let mut closed = q.clone();
    closed.to = open_month;
    let mut open = q.clone();
    open.from = open_month;
    (Some(closed), Some(open))
}

/// Two parts' answers as one answer to the whole query.
pub fn join(q: &CostQuery, parts: Vec<CostSeries>) -> CostSeries {
    CostSeries::new(
        q.clone(),
        parts.into_iter().flat_map(|s| s.points).collect(),
    )
}

impl CostCache {
    /// A cached answer still good at `now`, with when it was fetched: a
    /// closed part Cost Explorer marked final always, anything else within
    /// [`OPEN_MONTH_TTL`].
    pub fn get(
        &self,
        scope: &str,
        q: &CostQuery,
        closed: bool,
        now: DateTime<Utc>,
    ) -> Option<(CostSeries, DateTime<Utc>)> {
        let e = self.entries.get(&key(scope, q))?;
        let good = (closed && e.is_final) || now - e.fetched_at < OPEN_MONTH_TTL;
        good.then(|| (e.series.clone(), e.fetched_at))
    }

    /// Keeps an answer; `is_final` when Cost Explorer marked none of it
    /// estimated.
    pub fn put(
        &mut self,
        scope: &str,
        q: &CostQuery,
        series: CostSeries,
        is_final: bool,
        now: DateTime<Utc>,
    ) {
        self.version = 1;
        self.entries.insert(
            key(scope, q),
            Entry {
                fetched_at: now,
                series,
                is_final,
            },
        );
    }

    /// Forgets everything asked through one billing view, at every
    /// revision (the view was deleted or changed).
    pub fn forget_view(&mut self, arn: &str) {
        let prefix = format!("{arn}{REVISION_MARK}");
        self.entries.retain(|k, _| !k.starts_with(&prefix));
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn splits_at_the_open_month() {
        let q = CostQuery::new("A", d("2026-01-01"), d("2026-11-27"));
        let (closed, open) = split(&q, d("2026-11-01"));
        assert_eq!(closed.unwrap().to, d("2026-11-01"));
        assert_eq!(open.unwrap().from, d("2026-11-01"));
        let q = CostQuery::new("A", d("2026-01-01"), d("2026-11-01"));
        assert!(split(&q, d("2026-11-01")).1.is_none());
    }

    #[test]
    fn the_open_month_expires_final_closed_months_do_not() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        let q = CostQuery::new("A", d("2026-10-01"), d("2026-11-01"));
        let arn = "arn:aws:billing::123456789012:billingview/custom-1";
        let here = scope(arn, 3);
        let mut c = CostCache::default();
        c.put(&here, &q, CostSeries::new(q.clone(), vec![]), true, t0);
        let later = t0 + Duration::days(30);
        assert_eq!(c.get(&here, &q, true, later).map(|(_, at)| at), Some(t0));
        assert!(c.get(&here, &q, false, later).is_none());
        assert!(c.get(&here, &q, false, t0 + Duration::hours(1)).is_some());
        assert!(
            c.get(&scope(arn, 4), &q, true, t0).is_none(),
            "another revision"
        );
        assert!(c.get("other", &q, true, t0).is_none());
    }

    #[test]
    fn a_closed_month_still_estimated_is_asked_again() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap();
        let q = CostQuery::new("A", d("2026-10-01"), d("2026-11-01"));
        let here = scope("arn:aws:billing::123456789012:billingview/custom-1", 1);
        let mut c = CostCache::default();
        c.put(&here, &q, CostSeries::new(q.clone(), vec![]), false, t0);
        assert!(c.get(&here, &q, true, t0 + Duration::hours(1)).is_some());
        assert!(c.get(&here, &q, true, t0 + Duration::days(3)).is_none());
    }

    #[test]
    fn forgetting_a_view_removes_its_entries_as_production_keys_them() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        let q = CostQuery::new("A", d("2026-10-01"), d("2026-11-01"));
        let one = "arn:aws:billing::123456789012:billingview/custom-1";
        // An ARN that the first is a prefix of stays.
        let ten = "arn:aws:billing::123456789012:billingview/custom-10";
        let mut c = CostCache::default();
        for (arn, rev) in [(one, 1), (one, 2), (ten, 1)] {
            c.put(
                &scope(arn, rev),
                &q,
                CostSeries::new(q.clone(), vec![]),
                true,
                t0,
            );
        }
        c.forget_view(one);
        assert_eq!(c.len(), 1);
        assert!(c.get(&scope(ten, 1), &q, true, t0).is_some());
    }
}

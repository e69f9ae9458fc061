//! The Cost Explorer cache: every request costs USD 0.01, and a closed
//! month's costs no longer change, so they are kept for good; the open
//! month is asked again only after a time to live. A query is split at the
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

fn key(arn: &str, q: &CostQuery) -> String {
    // CostQuery serializes its fields in a fixed order: a stable key.
    format!("{arn} {}", serde_json::to_string(q).unwrap_or_default())
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
    /// A cached answer still good at `now` (closed parts always, the open
    /// part within [`OPEN_MONTH_TTL`]), with when it was fetched.
    pub fn get(
        &self,
        arn: &str,
        q: &CostQuery,
        closed: bool,
        now: DateTime<Utc>,
    ) -> Option<(CostSeries, DateTime<Utc>)> {
        let e = self.entries.get(&key(arn, q))?;
        (closed || now - e.fetched_at < OPEN_MONTH_TTL).then(|| (e.series.clone(), e.fetched_at))
    }

    /// Keeps an answer.
    pub fn put(&mut self, arn: &str, q: &CostQuery, series: CostSeries, now: DateTime<Utc>) {
        self.version = 1;
        self.entries.insert(
            key(arn, q),
            Entry {
                fetched_at: now,
                series,
            },
        );
    }

    /// Forgets everything asked through one view (it was deleted or changed).
    pub fn forget_view(&mut self, arn: &str) {
        let prefix = format!("{arn} ");
        self.entries.retain(|k, _| !k.starts_with(&prefix));
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
    fn the_open_month_expires_closed_months_do_not() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        let q = CostQuery::new("A", d("2026-10-01"), d("2026-11-01"));
        let mut c = CostCache::default();
        c.put("arn", &q, CostSeries::new(q.clone(), vec![]), t0);
        let later = t0 + Duration::days(30);
        assert_eq!(c.get("arn", &q, true, later).map(|(_, at)| at), Some(t0));
        assert!(c.get("arn", &q, false, later).is_none());
        assert!(c.get("arn", &q, false, t0 + Duration::hours(1)).is_some());
        assert!(c.get("other", &q, true, t0).is_none());
        c.forget_view("arn");
        assert!(c.get("arn", &q, true, t0).is_none());
    }
}

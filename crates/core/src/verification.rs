//! `vi verify`: evidence that an integration holds its accounts and nothing
//! else, and that the figures the app shows agree with the line items.
//!
//! A [`Verification`] is a list of [`Check`]s, each with a name, whether it
//! passed, one sentence, and its evidence. The workspaces gather the facts
//! (on AWS: both views read back, the accounts Athena and Cost Explorer see,
//! monthly totals from both; locally: the saved definition, the accounts
//! the confined `cur` sees, the rollup against the raw line items); the
//! judging is done here, once, so the local and AWS answers mean the same.
//!
//! Evidence never names an account outside the integration: such accounts
//! are counted, not listed, because a verification can be shown to the
//! customer and their ids belong to other customers.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::account::AccountId;

/// Check names, as the JSON and the tests know them.
pub mod names {
    /// The parts exist and are exactly what CostCarve makes.
    pub const DEFINITIONS: &str = "definitions";
    /// Accounts seen through the line-item view (Athena, or the local `cur`).
    pub const ISOLATION_LINE_ITEMS: &str = "isolation_line_items";
    /// Accounts seen through the figures the app shows (Cost Explorer with
    /// the billing view, or the local rollup).
    pub const ISOLATION_SHOWN: &str = "isolation_shown";
    /// Monthly totals, shown vs line items.
    pub const RECONCILIATION: &str = "reconciliation";
}

/// The result of verifying one integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Verification {
    /// The integration.
    pub integration: String,
    /// `local` or `aws`.
    pub workspace: String,
    /// Every check passed.
    pub ok: bool,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// Cost Explorer requests (AWS only).
    pub requests: Option<VerifyRequests>,
    /// When it ran (ISO 8601).
    pub checked_at: String,
}

impl Verification {
    /// Builds the result from its checks (`ok` when every one passed).
    pub fn new(
        integration: impl Into<String>,
        workspace: impl Into<String>,
        checks: Vec<Check>,
        requests: Option<VerifyRequests>,
        checked_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            integration: integration.into(),
            workspace: workspace.into(),
            ok: checks.iter().all(|c| c.ok),
            checks,
            requests,
            checked_at: checked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    /// The result when the parts are not what CostCarve made: the other
    /// checks do not run (a tampered view would show other customers' data).
    pub fn stopped_at_definitions(
        integration: impl Into<String>,
        workspace: impl Into<String>,
        definitions: Check,
        reason: &str,
        requests: Option<VerifyRequests>,
        checked_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let checks = vec![
            definitions,
            not_run(names::ISOLATION_LINE_ITEMS, reason),
            not_run(names::ISOLATION_SHOWN, reason),
            not_run(names::RECONCILIATION, reason),
        ];
        Self::new(integration, workspace, checks, requests, checked_at)
    }

    /// The check named so.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// Cost Explorer requests a verification makes (USD 0.01 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct VerifyRequests {
    /// Said before running (more when an answer comes in pages).
    pub planned: u32,
    /// Made.
    pub made: u32,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Check {
    /// One of [`names`].
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// One sentence.
    pub summary: String,
    /// What it is based on.
    pub evidence: Evidence,
}

/// What a check is based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The parts of the integration as read back.
    Parts {
        /// One per part.
        parts: Vec<Part>,
    },
    /// The accounts seen through one path.
    Accounts {
        /// The path (e.g. "Athena view db.vi_acme over the whole CUR").
        through: String,
        /// The period looked at, in words.
        period: String,
        /// The integration's members.
        members: Vec<String>,
        /// Members seen with cost data.
        seen: Vec<String>,
        /// How many accounts outside the integration were seen (never
        /// listed: they are other customers').
        outside: u32,
    },
    /// Monthly totals from two paths.
    Reconciliation {
        /// The metric, in words.
        metric: String,
        /// The line-item types included, in words.
        line_item_types: String,
        /// The figures the app shows (e.g. "Cost Explorer with the billing view").
        shown: String,
        /// The line items (e.g. "Athena view over the CUR").
        line_items: String,
        /// The tolerance, in words.
        tolerance: String,
        /// One per month.
        months: Vec<MonthTotals>,
    },
    /// The check did not run.
    NotRun {
        /// Why.
        reason: String,
    },
}

/// One part of an integration and whether it is what CostCarve makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Part {
    /// `athena_view`, `billing_view`, `secret`, `resource_share`,
    /// `saved_definition`, `view`.
    pub part: String,
    /// Its name or ARN.
    pub name: String,
    /// Whether it is exactly what CostCarve makes.
    pub ok: bool,
    /// What was found (or what differs).
    pub detail: String,
}

/// One month of a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct MonthTotals {
    /// `YYYY-MM`.
    pub month: String,
    /// The figure shown (decimal string, USD).
    pub shown: String,
    /// The line items' sum (decimal string, USD).
    pub line_items: String,
    /// `shown - line_items`.
    pub difference: String,
    /// What the difference may be.
    pub allowed: String,
    /// The source of the shown figure still marks the month as estimated
    /// (it may be restated; a difference is reported, not failed).
    pub estimated: bool,
    /// Within the tolerance (or estimated).
    pub ok: bool,
}

/// The tolerance of a reconciliation: the larger of one cent and one part in
/// ten thousand of the line items' total (see the README, "vi verify").
pub fn allowed_difference(line_items: Decimal) -> Decimal {
    let cent = Decimal::new(1, 2);
    let relative = (line_items.abs() * Decimal::new(1, 4)).round_dp(2);
    cent.max(relative)
}

/// The tolerance in words.
pub const TOLERANCE: &str = "the larger of USD 0.01 and 0.01 % of the month's line items";

/// Judges the parts: passes when every part is ok.
pub fn definitions(parts: Vec<Part>) -> Check {
    let bad: Vec<String> = parts
        .iter()
        .filter(|p| !p.ok)
        .map(|p| format!("{}: {}", p.part.replace('_', " "), p.detail))
        .collect();
    Check {
        name: names::DEFINITIONS.into(),
        ok: bad.is_empty(),
        summary: if bad.is_empty() {
            format!(
                "{} parts exist and are exactly what CostCarve makes",
                parts.len()
            )
        } else {
            format!("not what CostCarve made: {}", bad.join("; "))
        },
        evidence: Evidence::Parts { parts },
    }
}

/// Judges the accounts seen through one path: passes when every one is a
/// member. Accounts outside are counted, never named.
pub fn isolation(
    name: &str,
    through: &str,
    period: &str,
    members: &BTreeSet<AccountId>,
    seen: &BTreeSet<String>,
) -> Check {
    let member_ids: BTreeSet<String> = members.iter().map(ToString::to_string).collect();
    let inside: Vec<String> = seen.intersection(&member_ids).cloned().collect();
    let outside = seen.difference(&member_ids).count() as u32;
    Check {
        name: name.into(),
        ok: outside == 0,
        summary: if outside == 0 {
            format!(
                "{through} shows {} of the {} member accounts and no other account",
                inside.len(),
                member_ids.len()
            )
        } else {
            format!("{through} shows {outside} accounts that are not members of the integration")
        },
        evidence: Evidence::Accounts {
            through: through.into(),
            period: period.into(),
            members: member_ids.into_iter().collect(),
            seen: inside,
            outside,
        },
    }
}

/// What a reconciliation compares.
pub struct Sides<'a> {
    /// The figures the app shows.
    pub shown: &'a str,
    /// The line items.
    pub line_items: &'a str,
    /// The metric, in words.
    pub metric: &'a str,
    /// The line-item types, in words.
    pub line_item_types: &'a str,
}

/// Judges monthly totals: each of `months` must agree within
/// [`allowed_difference`], except months `estimated` (reported only). A
/// month missing on one side counts as zero there.
pub fn reconciliation(
    sides: &Sides<'_>,
    months: &[NaiveDate],
    shown: &BTreeMap<NaiveDate, Decimal>,
    line_items: &BTreeMap<NaiveDate, Decimal>,
    estimated: &BTreeSet<NaiveDate>,
) -> Check {
    let rows: Vec<MonthTotals> = months
        .iter()
        .map(|m| {
            let s = shown.get(m).copied().unwrap_or_default();
            let l = line_items.get(m).copied().unwrap_or_default();
            let difference = s - l;
            let allowed = allowed_difference(l);
            let is_estimated = estimated.contains(m);
            MonthTotals {
                month: m.format("%Y-%m").to_string(),
                shown: money(s),
                line_items: money(l),
                difference: money(difference),
                allowed: money(allowed),
                estimated: is_estimated,
                ok: is_estimated || difference.abs() <= allowed,
            }
        })
        .collect();
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.month.as_str())
        .collect();
    let still_estimated: Vec<&str> = rows
        .iter()
        .filter(|r| r.estimated)
        .map(|r| r.month.as_str())
        .collect();
    let mut summary = if failed.is_empty() {
        format!(
            "{} and {} agree for {} closed months",
            sides.shown,
            sides.line_items,
            rows.len()
        )
    } else {
        format!(
            "{} and {} differ by more than the tolerance in {}",
            sides.shown,
            sides.line_items,
            failed.join(", ")
        )
    };
    if !still_estimated.is_empty() {
        summary.push_str(&format!(
            "; still estimated (may be restated, not judged): {}",
            still_estimated.join(", ")
        ));
    }
    Check {
        name: names::RECONCILIATION.into(),
        ok: failed.is_empty(),
        summary,
        evidence: Evidence::Reconciliation {
            metric: sides.metric.into(),
            line_item_types: sides.line_item_types.into(),
            shown: sides.shown.into(),
            line_items: sides.line_items.into(),
            tolerance: TOLERANCE.into(),
            months: rows,
        },
    }
}

/// A check that could not run, which fails the verification.
pub fn not_run(name: &str, reason: &str) -> Check {
    Check {
        name: name.into(),
        ok: false,
        summary: format!("not run: {reason}"),
        evidence: Evidence::NotRun {
            reason: reason.into(),
        },
    }
}

/// The last `n` closed months before the month of `today`, oldest first.
pub fn closed_months(today: NaiveDate, n: u32) -> Vec<NaiveDate> {
    let mut month = crate::cost::first_of_month(today);
    let mut out = Vec::new();
    for _ in 0..n {
        month = previous_month(month);
        out.push(month);
    }
    out.reverse();
    out
}

fn previous_month(first: NaiveDate) -> NaiveDate {
    let (y, m) = if first.month0() == 0 {
        (first.year() - 1, 12)
    } else {
        (first.year(), first.month0())
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first)
}

/// An amount as a decimal string with cents.
fn money(x: Decimal) -> String {
    x.round_dp(2).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn closed_months_end_before_the_open_month_and_cross_years() {
        assert_eq!(
            closed_months(d("2026-02-15"), 3),
            vec![d("2025-11-01"), d("2025-12-01"), d("2026-01-01")]
        );
        assert!(closed_months(d("2026-02-15"), 0).is_empty());
    }

    #[test]
    fn the_tolerance_is_a_cent_or_a_part_in_ten_thousand() {
        assert_eq!(allowed_difference(dec("12.34")), dec("0.01"));
        assert_eq!(allowed_difference(dec("1000000")), dec("100"));
        assert_eq!(allowed_difference(dec("-500000")), dec("50"));
    }

    #[test]
    fn accounts_outside_fail_isolation_and_are_counted_not_named() {
        let members: BTreeSet<AccountId> = ["111111111111", "222222222222"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let seen: BTreeSet<String> = ["111111111111".to_string()].into();
        let ok = isolation("x", "Athena", "all", &members, &seen);
        assert!(ok.ok, "{ok:?}");
        let seen: BTreeSet<String> = ["111111111111".into(), "999999999999".into()].into();
        let bad = isolation("x", "Athena", "all", &members, &seen);
        assert!(!bad.ok);
        let shown = serde_json::to_string(&bad).unwrap();
        assert!(!shown.contains("999999999999"), "{shown}");
        assert!(shown.contains("\"outside\":1"), "{shown}");
    }

    #[test]
    fn a_month_beyond_the_tolerance_fails_unless_estimated() {
        let months = [d("2026-09-01"), d("2026-10-01")];
        let line_items = BTreeMap::from([(months[0], dec("100.00")), (months[1], dec("200.00"))]);
        let sides = Sides {
            shown: "CE",
            line_items: "Athena",
            metric: "unblended",
            line_item_types: "all",
        };
        let close = BTreeMap::from([(months[0], dec("100.004")), (months[1], dec("200.00"))]);
        assert!(reconciliation(&sides, &months, &close, &line_items, &BTreeSet::new()).ok);
        let off = BTreeMap::from([(months[0], dec("100.00")), (months[1], dec("201.00"))]);
        let check = reconciliation(&sides, &months, &off, &line_items, &BTreeSet::new());
        assert!(!check.ok);
        assert!(check.summary.contains("2026-10"), "{}", check.summary);
        let estimated = BTreeSet::from([months[1]]);
        let check = reconciliation(&sides, &months, &off, &line_items, &estimated);
        assert!(check.ok, "{check:?}");
        assert!(
            check.summary.contains("still estimated"),
            "{}",
            check.summary
        );
        // A month one side lacks is zero there.
        let missing = BTreeMap::from([(months[0], dec("100.00"))]);
        assert!(!reconciliation(&sides, &months, &missing, &line_items, &BTreeSet::new()).ok);
    }

    #[test]
    fn one_bad_part_fails_the_definitions_and_is_named() {
        let part = |name: &str, ok| Part {
            part: name.into(),
            name: name.into(),
            ok,
            detail: if ok {
                "exact".into()
            } else {
                "reads another table".into()
            },
        };
        assert!(definitions(vec![part("athena_view", true), part("secret", true)]).ok);
        let check = definitions(vec![part("athena_view", false), part("secret", true)]);
        assert!(!check.ok);
        assert!(
            check.summary.contains("athena view: reads another table"),
            "{}",
            check.summary
        );
    }
}

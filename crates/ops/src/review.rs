//! The review pack of one customer's month: the cost questions it asks (on
//! the integration's presentation profile), what they will spend on AWS,
//! and the pages built from the answers. Every figure comes from the
//! integration's own cost answers; account names come from the
//! organization for the integration's own members only; nothing else is
//! read, so nothing of another customer can reach a page, a chart or a CSV.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

use costcarve_charts::{ChartKind, ChartOptions};
use costcarve_core::account::AccountId;
use costcarve_core::cost::{
    first_of_month, next_month, CostQuery, CostSeries, Dimension, Granularity,
    NON_USAGE_LINE_ITEM_TYPES,
};
use costcarve_core::integration::VirtualIntegration;
use costcarve_core::presentation::{
    self as words, basis_words, money, money_change, percent_change, service_name,
};
use costcarve_core::verification::{Evidence, Verification};
use costcarve_review::{KeyFigure, PackChart, PackPage, PackTable, ReviewPack, Written};

use crate::workspace::{CostAnswer, CostEstimate, Workspace, CE_REQUEST_USD};
use crate::OpsError;

type Result<T> = std::result::Result<T, OpsError>;

/// Rows of a table shown on one page (the CSV has them all).
const PAGE_ROWS: usize = 12;
/// Services named in the trend and daily charts before "Other".
const CHART_TOP: usize = 8;
/// Movers listed each way (increases, decreases).
const MOVERS_EACH_WAY: usize = 5;
/// Days the forecast's run rate averages.
const RUN_RATE_DAYS: i64 = 7;
/// The charts' size in the PDF and on slides (SVG user units).
const SVG_SIZE: (u32, u32) = (1200, 620);
/// The PNGs' size in pixels.
const PNG_SIZE: (u32, u32) = (1600, 827);

/// `YYYY-MM` as the first day of that month.
pub fn parse_month(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").map_err(|_| {
        OpsError::invalid(format!(
            "'{text}' is not a month: write it as YYYY-MM, e.g. 2026-11"
        ))
    })
}

/// The month a review is of by default: the last closed month.
pub fn default_month(today: NaiveDate) -> NaiveDate {
    first_of_month(first_of_month(today) - Duration::days(1))
}

fn prev_month(m: NaiveDate) -> NaiveDate {
    first_of_month(m - Duration::days(1))
}

fn months_back(m: NaiveDate, n: u32) -> NaiveDate {
    (0..n).fold(m, |m, _| prev_month(m))
}

/// The questions a pack of `month` asks, on `profile`'s basis.
#[derive(Debug, Clone)]
pub struct ReviewQuestions {
    /// 13 months up to `month`, monthly by service.
    pub trend: CostQuery,
    /// The month and the one before, monthly by service and usage type.
    pub usage: CostQuery,
    /// The month and the one before, monthly by account.
    pub accounts: CostQuery,
    /// The month's days (up to today), daily by service.
    pub daily: CostQuery,
}

impl ReviewQuestions {
    /// The questions of `vi`'s pack for `month`, as of `today`.
    pub fn new(vi: &VirtualIntegration, month: NaiveDate, today: NaiveDate) -> Result<Self> {
        let month = first_of_month(month);
        if month > first_of_month(today) {
            return Err(OpsError::invalid(format!(
                "{} has not begun: review this month ({}) or an earlier one",
                month.format("%Y-%m"),
                today.format("%Y-%m")
            )));
        }
        let profile = vi.shown_profile();
        let name = vi.name.to_string();
        let end = next_month(month);
        let ask = |from: NaiveDate, to: NaiveDate, granularity, group_by: Vec<Dimension>| {
            let mut q = CostQuery::new(name.clone(), from, to);
            q.granularity = granularity;
            q.group_by = group_by;
            profile.apply(&mut q);
            q.validate().map(|()| q)
        };
        let daily_end = end
            .min(today + Duration::days(1))
            .max(month + Duration::days(1));
        Ok(Self {
            trend: ask(
                months_back(month, 12),
                end,
                Granularity::Monthly,
                vec![Dimension::Service],
            )?,
            usage: ask(
                prev_month(month),
                end,
                Granularity::Monthly,
                vec![Dimension::Service, Dimension::UsageType],
            )?,
            accounts: ask(
                prev_month(month),
                end,
                Granularity::Monthly,
                vec![Dimension::Account],
            )?,
            daily: {
                // Tax, fees, credits and refunds are monthly lines dated the
                // 1st: a daily chart with them shows a spike that is no day's
                // usage. They are in the month's total, not in its days.
                let mut q = ask(
                    month,
                    daily_end,
                    Granularity::Daily,
                    vec![Dimension::Service],
                )?;
                q.exclude_line_item_types
                    .extend(NON_USAGE_LINE_ITEM_TYPES.map(String::from));
                q
            },
        })
    }

    /// All of them, in the order they are asked.
    pub fn all(&self) -> [&CostQuery; 4] {
        [&self.trend, &self.usage, &self.accounts, &self.daily]
    }
}

/// What a pack will spend, said before it is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewEstimate {
    /// Cost Explorer requests, at least.
    pub ce_requests: u64,
    /// Athena queries.
    pub athena_queries: u64,
    /// Bytes those queries scan at most.
    pub athena_bytes: u64,
}

impl ReviewEstimate {
    /// In words: "3 Cost Explorer requests (USD 0.03)", "nothing: ...".
    pub fn words(&self, is_payer: bool) -> String {
        if !is_payer {
            return "Nothing: a local workspace reads its own CUR files.".into();
        }
        let mut parts = Vec::new();
        if self.ce_requests > 0 {
            parts.push(format!(
                "at least {} Cost Explorer request{} (USD {:.2})",
                self.ce_requests,
                if self.ce_requests == 1 { "" } else { "s" },
                self.ce_requests as f64 * CE_REQUEST_USD
            ));
        }
        if self.athena_queries > 0 {
            parts.push(format!(
                "{} Athena quer{} scanning at most {}",
                self.athena_queries,
                if self.athena_queries == 1 { "y" } else { "ies" },
                bytes_words(self.athena_bytes)
            ));
        }
        if parts.is_empty() {
            "Nothing: every figure is in the cache.".into()
        } else {
            let mut s = parts.join(" and ");
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{s}.")
        }
    }
}

impl From<CostEstimate> for ReviewEstimate {
    fn from(e: CostEstimate) -> Self {
        Self {
            ce_requests: e.requests,
            athena_queries: e.athena_queries,
            athena_bytes: e.athena_bytes,
        }
    }
}

/// `12.3 MB`, `980 bytes`.
pub fn bytes_words(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut v = n as f64;
    let mut unit = "bytes";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// A pack and what making it spent.
#[derive(Debug, Clone)]
pub struct Review {
    /// The pack.
    pub pack: ReviewPack,
    /// What its figures cost to produce.
    pub spent: ReviewEstimate,
}

impl Workspace {
    /// What [`Self::review`] of `name`'s `month` will spend, from what the
    /// cache holds now.
    pub async fn review_estimate(
        &self,
        name: &str,
        month: NaiveDate,
        today: NaiveDate,
    ) -> Result<ReviewEstimate> {
        let state = self.integration(name).await?;
        let questions = ReviewQuestions::new(state.integration(), month, today)?;
        let mut total = ReviewEstimate::default();
        for q in questions.all() {
            let e = self.cost_estimate(q).await?;
            total.ce_requests += e.requests;
            total.athena_queries += e.athena_queries;
            total.athena_bytes += e.athena_bytes;
        }
        Ok(total)
    }

    /// Makes the review pack of `name`'s `month` and writes its files into
    /// `dir`.
    pub async fn write_review(
        &self,
        name: &str,
        month: NaiveDate,
        now: DateTime<Utc>,
        dir: &std::path::Path,
    ) -> Result<(Review, Written)> {
        let review = self.review(name, month, now).await?;
        let written = costcarve_review::write(&review.pack, dir)?;
        Ok((review, written))
    }

    /// The review pack of `name`'s `month`, as of `now`.
    pub async fn review(&self, name: &str, month: NaiveDate, now: DateTime<Utc>) -> Result<Review> {
        let today = now.date_naive();
        let state = self.integration(name).await?;
        let vi = state.integration().clone();
        let questions = ReviewQuestions::new(&vi, month, today)?;
        let mut spent = ReviewEstimate::default();
        let mut answers = Vec::new();
        for q in questions.all() {
            let a = self.cost(q).await?;
            if let Some(r) = a.requests {
                spent.ce_requests += r.made;
            }
            if let Some(b) = a.athena_bytes.filter(|b| *b > 0) {
                spent.athena_queries += 1;
                spent.athena_bytes += b;
            }
            answers.push(a);
        }
        let names: BTreeMap<AccountId, String> = self
            .organization(false, &|_| {})
            .await?
            .organization
            .accounts
            .into_iter()
            .filter(|a| vi.accounts.contains(&a.id))
            .map(|a| (a.id, a.name))
            .collect();
        let verification = self.last_verification(name).await?;
        let mut answers = answers.into_iter();
        let mut next = || {
            answers
                .next()
                .ok_or_else(|| OpsError::invalid("a review question went unanswered"))
        };
        let (trend, usage, accounts, daily) = (next()?, next()?, next()?, next()?);
        let input = PackInput {
            vi: &vi,
            month: first_of_month(month),
            today,
            now,
            is_payer: self.is_payer(),
            trend: &trend,
            usage: &usage.series,
            accounts: &accounts.series,
            daily: &daily.series,
            names: &names,
            verification: verification.as_ref(),
            spent,
        };
        Ok(Review {
            pack: build(&input)?,
            spent,
        })
    }
}

/// Everything a pack is made of.
struct PackInput<'a> {
    vi: &'a VirtualIntegration,
    month: NaiveDate,
    today: NaiveDate,
    now: DateTime<Utc>,
    is_payer: bool,
    trend: &'a CostAnswer,
    usage: &'a CostSeries,
    accounts: &'a CostSeries,
    daily: &'a CostSeries,
    names: &'a BTreeMap<AccountId, String>,
    verification: Option<&'a Verification>,
    spent: ReviewEstimate,
}

/// A series with service keys (at `index`) as customers know them;
/// points that come to the same name are added up.
pub fn with_service_names(series: &CostSeries, index: usize) -> CostSeries {
    let mut sums: BTreeMap<(NaiveDate, Vec<String>), Decimal> = BTreeMap::new();
    for p in &series.points {
        let mut keys = p.keys.clone();
        if let Some(k) = keys.get_mut(index) {
            *k = service_name(k);
        }
        *sums.entry((p.period, keys)).or_default() += p.amount;
    }
    let mut out = CostSeries::from_sums(series.query.clone(), sums);
    out.currency = series.currency.clone();
    out
}

fn month_total(series: &CostSeries, month: NaiveDate) -> Decimal {
    series
        .points
        .iter()
        .filter(|p| first_of_month(p.period) == month)
        .map(|p| p.amount)
        .sum()
}

/// Per key (the first `n` keys), the amount in `prev` and in `month`.
fn two_months(
    series: &CostSeries,
    n: usize,
    prev: NaiveDate,
    month: NaiveDate,
) -> BTreeMap<Vec<String>, (Decimal, Decimal)> {
    let mut out: BTreeMap<Vec<String>, (Decimal, Decimal)> = BTreeMap::new();
    for p in &series.points {
        let key: Vec<String> = p.keys.iter().take(n).cloned().collect();
        let e = out.entry(key).or_default();
        if first_of_month(p.period) == prev {
            e.0 += p.amount;
        } else if first_of_month(p.period) == month {
            e.1 += p.amount;
        }
    }
    out
}

fn plain(d: Decimal) -> String {
    d.round_dp(2).to_string()
}

fn change_pct(before: Decimal, after: Decimal) -> String {
    percent_change(before, after).unwrap_or_else(|| "new".into())
}

/// `text` with every run of exactly 12 digits that is not one of
/// `members` replaced: a verification's wording may name the payer's
/// billing view, whose ARN holds the payer's id.
fn scrub(text: &str, members: &BTreeSet<AccountId>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        let member = digits.len() == 12 && members.iter().any(|m| m.as_str() == digits.as_str());
        if digits.len() == 12 && !member {
            out.push_str("(payer)");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn chart(
    id: &str,
    series: &CostSeries,
    kind: ChartKind,
    title: String,
    caption: &str,
) -> Result<PackChart> {
    let opts = ChartOptions::new(kind, title)
        .with_size(SVG_SIZE.0, SVG_SIZE.1)
        .with_top_n(CHART_TOP)
        .with_caption(caption);
    let svg = costcarve_charts::render_svg(series, &opts)?;
    let png = costcarve_charts::render_png(series, &opts.with_size(PNG_SIZE.0, PNG_SIZE.1))?;
    Ok(PackChart {
        id: id.into(),
        svg,
        png,
    })
}

/// The month's total against `other`'s: the change, or, when `other` has
/// no costs at all, that it had none.
fn compared_with(
    month: NaiveDate,
    total: Decimal,
    other: NaiveDate,
    other_total: Decimal,
    series: &CostSeries,
) -> KeyFigure {
    let currency = &series.currency;
    let label = format!("vs {}", words::month(other));
    let any = series
        .points
        .iter()
        .any(|p| first_of_month(p.period) == other);
    if !any {
        return KeyFigure {
            label,
            value: "no costs".into(),
            note: Some(format!(
                "no costs recorded for {} to compare {} with",
                words::month(other),
                words::month(month)
            )),
        };
    }
    KeyFigure {
        label,
        value: money_change(total - other_total, currency),
        note: Some(format!(
            "{} ({} in {})",
            change_pct(other_total, total),
            money(other_total, currency),
            words::month(other)
        )),
    }
}

fn page(id: &str, title: impl Into<String>) -> PackPage {
    PackPage {
        id: id.into(),
        title: title.into(),
        lines: Vec::new(),
        figures: Vec::new(),
        chart: None,
        table: None,
    }
}

fn build(input: &PackInput<'_>) -> Result<ReviewPack> {
    let vi = input.vi;
    let profile = vi.shown_profile();
    let basis = profile.basis_words();
    let display_name = vi.display_name();
    let currency = input.trend.series.currency.clone();
    let month = input.month;
    let prev = prev_month(month);
    let year_ago = months_back(month, 12);
    let month_label = words::month(month);
    let is_open = month == first_of_month(input.today);
    let cur = |d: Decimal| money(d, &currency);
    let data_as_of = input
        .trend
        .data_as_of
        .map(|t| words::date(t.date_naive()))
        .unwrap_or_else(|| words::date(input.today));
    let trend = &input.trend.series;
    let total = month_total(trend, month);
    let total_prev = month_total(trend, prev);
    let total_year_ago = month_total(trend, year_ago);
    let mut pages = Vec::new();

    // Cover.
    // The cover's title is under the display name, which the PDF and the
    // slide set large above it.
    let mut cover = page("cover", format!("AWS cost review: {month_label}"));
    cover.lines = vec![
        format!("Basis: {basis}"),
        format!("Data as of {data_as_of}."),
        if is_open {
            format!("{month_label} is not over: its figures are estimates and will change until AWS closes the bill.")
        } else {
            format!("{month_label} is closed; AWS may still restate it for a few days after the month ends.")
        },
        format!(
            "{} AWS account{} in this review.",
            vi.accounts.len(),
            if vi.accounts.len() == 1 { "" } else { "s" }
        ),
    ];
    pages.push(cover);

    // The month's total.
    let mut p = page("total", format!("Total for {month_label}"));
    p.figures = vec![
        KeyFigure {
            label: format!("Total, {month_label}"),
            value: cur(total),
            note: is_open.then(|| "month to date".to_string()),
        },
        compared_with(month, total, prev, total_prev, trend),
        compared_with(month, total, year_ago, total_year_ago, trend),
    ];
    p.lines = vec![format!(
        "{display_name} spent {} on AWS in {month_label}{}.",
        cur(total),
        if is_open { " so far" } else { "" }
    )];
    pages.push(p);

    // 13-month trend by service.
    let named = with_service_names(trend, 0);
    let mut p = page("trend", "13-month trend by service");
    p.chart = Some(chart(
        "trend",
        &named,
        ChartKind::StackedByService,
        format!("{display_name}: monthly cost by service"),
        &basis,
    )?);
    let mut m = months_back(month, 12);
    let mut rows = Vec::new();
    while m <= month {
        rows.push(vec![words::month(m), cur(month_total(trend, m))]);
        m = next_month(m);
    }
    p.lines = vec![format!(
        "{} over the 13 months to {month_label}.",
        cur(trend.total)
    )];
    p.table = Some(PackTable {
        id: "trend".into(),
        columns: vec!["Month".into(), "Total".into()],
        rows,
        csv_columns: ["month", "service_code", "service", "amount"]
            .map(String::from)
            .into(),
        csv_rows: trend
            .points
            .iter()
            .map(|pt| {
                let code = pt.keys.first().cloned().unwrap_or_default();
                vec![
                    pt.period.format("%Y-%m").to_string(),
                    service_name(&code),
                    code,
                    plain(pt.amount),
                ]
            })
            .map(|mut r| {
                r.swap(1, 2);
                r
            })
            .collect(),
    });
    pages.push(p);

    // Top services with their change.
    let by_service = two_months(trend, 1, prev, month);
    let mut services: Vec<(String, Decimal, Decimal)> = by_service
        .into_iter()
        .map(|(k, (a, b))| (k.into_iter().next().unwrap_or_default(), a, b))
        .filter(|(_, a, b)| !a.is_zero() || !b.is_zero())
        .collect();
    services.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(&y.0)));
    let mut p = page("services", format!("Top services in {month_label}"));
    let mut shown: Vec<Vec<String>> = services
        .iter()
        .take(PAGE_ROWS - 2)
        .map(|(code, a, b)| {
            vec![
                service_name(code),
                cur(*b),
                cur(*a),
                money_change(*b - *a, &currency),
                change_pct(*a, *b),
            ]
        })
        .collect();
    if services.len() > PAGE_ROWS - 2 {
        let (a, b) = services
            .iter()
            .skip(PAGE_ROWS - 2)
            .fold((Decimal::ZERO, Decimal::ZERO), |acc, s| {
                (acc.0 + s.1, acc.1 + s.2)
            });
        shown.push(vec![
            format!("{} other services", services.len() - (PAGE_ROWS - 2)),
            cur(b),
            cur(a),
            money_change(b - a, &currency),
            change_pct(a, b),
        ]);
    }
    p.lines = vec![format!(
        "{} services had costs in {month_label} or {}.",
        services.len(),
        words::month(prev)
    )];
    p.table = Some(PackTable {
        id: "services".into(),
        columns: vec![
            "Service".into(),
            month_label.clone(),
            words::month(prev),
            "Change".into(),
            "Change %".into(),
        ],
        rows: shown,
        csv_columns: [
            "service_code",
            "service",
            "previous_month",
            "month",
            "change",
        ]
        .map(String::from)
        .into(),
        csv_rows: services
            .iter()
            .map(|(code, a, b)| {
                vec![
                    code.clone(),
                    service_name(code),
                    plain(*a),
                    plain(*b),
                    plain(*b - *a),
                ]
            })
            .collect(),
    });
    pages.push(p);

    // Movers: service/usage type and account.
    let account_name = |id: &str| {
        input
            .names
            .iter()
            .find(|(a, _)| a.as_str() == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    struct Move {
        kind: &'static str,
        service: String,
        usage_type: String,
        account: String,
        before: Decimal,
        after: Decimal,
    }
    let mut moves: Vec<Move> = two_months(input.usage, 2, prev, month)
        .into_iter()
        .map(|(k, (a, b))| Move {
            kind: "usage type",
            service: k.first().cloned().unwrap_or_default(),
            usage_type: k.get(1).cloned().unwrap_or_default(),
            account: String::new(),
            before: a,
            after: b,
        })
        .collect();
    let member = |id: &str| vi.accounts.iter().any(|a| a.as_str() == id);
    let by_account = two_months(input.accounts, 1, prev, month);
    moves.extend(
        by_account
            .iter()
            .filter(|(k, _)| k.first().is_some_and(|id| member(id)))
            .map(|(k, (a, b))| Move {
                kind: "account",
                service: String::new(),
                usage_type: String::new(),
                account: k.first().cloned().unwrap_or_default(),
                before: *a,
                after: *b,
            }),
    );
    moves.retain(|m| m.after != m.before);
    moves.sort_by(|x, y| {
        (y.after - y.before)
            .cmp(&(x.after - x.before))
            .then_with(|| x.service.cmp(&y.service))
            .then_with(|| x.usage_type.cmp(&y.usage_type))
            .then_with(|| x.account.cmp(&y.account))
    });
    let what = |m: &Move| match m.kind {
        "account" => format!("{} ({})", account_name(&m.account), m.account),
        _ => format!("{} · {}", service_name(&m.service), m.usage_type),
    };
    let ups: Vec<&Move> = moves
        .iter()
        .filter(|m| m.after > m.before)
        .take(MOVERS_EACH_WAY)
        .collect();
    let downs: Vec<&Move> = moves
        .iter()
        .rev()
        .filter(|m| m.after < m.before)
        .take(MOVERS_EACH_WAY)
        .collect();
    let mut p = page("movers", format!("What moved in {month_label}"));
    p.lines = vec![format!(
        "The largest increases and decreases from {} to {month_label}, by service and usage type and by account.",
        words::month(prev)
    )];
    p.table = Some(PackTable {
        id: "movers".into(),
        columns: vec![
            "What moved".into(),
            "By".into(),
            words::month(prev),
            month_label.clone(),
            "Change".into(),
        ],
        rows: ups
            .iter()
            .chain(downs.iter())
            .map(|m| {
                vec![
                    what(m),
                    m.kind.to_string(),
                    cur(m.before),
                    cur(m.after),
                    money_change(m.after - m.before, &currency),
                ]
            })
            .collect(),
        csv_columns: [
            "by",
            "service_code",
            "service",
            "usage_type",
            "account_id",
            "account_name",
            "previous_month",
            "month",
            "change",
        ]
        .map(String::from)
        .into(),
        csv_rows: moves
            .iter()
            .map(|m| {
                vec![
                    m.kind.to_string(),
                    m.service.clone(),
                    if m.service.is_empty() {
                        String::new()
                    } else {
                        service_name(&m.service)
                    },
                    m.usage_type.clone(),
                    m.account.clone(),
                    if m.account.is_empty() {
                        String::new()
                    } else {
                        account_name(&m.account)
                    },
                    plain(m.before),
                    plain(m.after),
                    plain(m.after - m.before),
                ]
            })
            .collect(),
    });
    pages.push(p);

    // Costs by account: every member, with its name.
    let mut rows: Vec<(String, String, Decimal, Decimal)> = vi
        .accounts
        .iter()
        .map(|id| {
            let (a, b) = by_account
                .get(&vec![id.to_string()])
                .copied()
                .unwrap_or_default();
            (
                id.to_string(),
                input.names.get(id).cloned().unwrap_or_default(),
                a,
                b,
            )
        })
        .collect();
    rows.sort_by(|x, y| y.3.cmp(&x.3).then_with(|| x.0.cmp(&y.0)));
    let mut p = page("accounts", format!("Costs by account in {month_label}"));
    p.lines = vec![format!(
        "The {} account{} of {display_name}.",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )];
    let mut shown: Vec<Vec<String>> = rows
        .iter()
        .take(PAGE_ROWS - 1)
        .map(|(id, name, a, b)| {
            vec![
                name.clone(),
                id.clone(),
                cur(*b),
                cur(*a),
                money_change(*b - *a, &currency),
            ]
        })
        .collect();
    if rows.len() > PAGE_ROWS - 1 {
        let rest = &rows[PAGE_ROWS - 1..];
        let a: Decimal = rest.iter().map(|r| r.2).sum();
        let b: Decimal = rest.iter().map(|r| r.3).sum();
        shown.push(vec![
            format!("{} more accounts", rest.len()),
            String::new(),
            cur(b),
            cur(a),
            money_change(b - a, &currency),
        ]);
    }
    p.table = Some(PackTable {
        id: "accounts".into(),
        columns: vec![
            "Account".into(),
            "Account id".into(),
            month_label.clone(),
            words::month(prev),
            "Change".into(),
        ],
        rows: shown,
        csv_columns: [
            "account_id",
            "account_name",
            "previous_month",
            "month",
            "change",
        ]
        .map(String::from)
        .into(),
        csv_rows: rows
            .iter()
            .map(|(id, name, a, b)| {
                vec![
                    id.clone(),
                    name.clone(),
                    plain(*a),
                    plain(*b),
                    plain(*b - *a),
                ]
            })
            .collect(),
    });
    pages.push(p);

    // The month's days.
    let daily = input.daily;
    let mut p = page("daily", format!("Daily costs in {month_label}"));
    p.chart = Some(chart(
        "daily",
        &with_service_names(daily, 0),
        ChartKind::DailyLine,
        format!("{display_name}: daily cost by service"),
        &basis_words(daily.query.metric, &daily.query.exclude_line_item_types),
    )?);
    let mut per_day: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    for pt in &daily.points {
        *per_day.entry(pt.period).or_default() += pt.amount;
    }
    p.lines = vec![
        "Usage by day: monthly lines (tax, fees, credits, refunds) are in the month's total, not in its days."
            .into(),
    ];
    if let Some((day, amount)) = per_day.iter().max_by_key(|(_, a)| **a) {
        p.lines.push(format!(
            "The most expensive day was {} at {}.",
            words::date(*day),
            cur(*amount)
        ));
    }
    pages.push(p);

    // The forecast for the open month: the run rate of the last days.
    if is_open {
        let end = next_month(month);
        let known: Vec<(NaiveDate, Decimal)> = per_day
            .iter()
            .filter(|(d, _)| **d < input.today)
            .map(|(d, a)| (*d, *a))
            .collect();
        let recent: Vec<Decimal> = known
            .iter()
            .rev()
            .take(RUN_RATE_DAYS as usize)
            .map(|(_, a)| *a)
            .collect();
        let mut p = page("forecast", format!("Forecast for {month_label}"));
        // The month's total so far, monthly lines included; the days ahead
        // at the run rate of usage.
        let to_date = total;
        let days_left = (end - input.today).num_days().max(0);
        if recent.is_empty() {
            p.lines = vec!["Too few days of this month have costs yet to forecast it.".into()];
        } else {
            let rate = recent.iter().copied().sum::<Decimal>() / Decimal::from(recent.len());
            // Today's costs are partial: the run rate stands in for today
            // and every day after it.
            let today_so_far = per_day.get(&input.today).copied().unwrap_or_default();
            let forecast = to_date - today_so_far + rate * Decimal::from(days_left);
            p.figures = vec![
                KeyFigure {
                    label: "Month to date".into(),
                    value: cur(to_date),
                    note: Some(format!("to {}", words::date(input.today))),
                },
                KeyFigure {
                    label: "Forecast to month end".into(),
                    value: cur(forecast),
                    note: Some(format!(
                        "{} vs {}",
                        change_pct(total_prev, forecast),
                        words::month(prev)
                    )),
                },
            ];
            p.lines = vec![format!(
                "Month to date plus {} a day (the average usage of the last {} full day{}) for the {days_left} day{} left.",
                cur(rate),
                recent.len(),
                if recent.len() == 1 { "" } else { "s" },
                if days_left == 1 { "" } else { "s" }
            )];
        }
        pages.push(p);
    }

    // How the figures are confined and checked, when verify has run.
    if let Some(v) = input.verification {
        let mut p = page("verification", "How these figures are confined and checked");
        let checked = chrono::DateTime::parse_from_rfc3339(&v.checked_at)
            .map(|t| words::date(t.date_naive()))
            .unwrap_or_else(|_| v.checked_at.clone());
        p.lines = vec![format!(
            "CostCarve verified this view on {checked}: {}.",
            if v.ok {
                "every check passed"
            } else {
                "a check failed"
            }
        )];
        let mut months = Vec::new();
        for c in &v.checks {
            p.lines.push(scrub(
                &format!("{} {}", if c.ok { "Passed:" } else { "Failed:" }, c.summary),
                &vi.accounts,
            ));
            match &c.evidence {
                Evidence::Accounts {
                    members,
                    seen,
                    outside,
                    ..
                } => p.lines.push(format!(
                    "{} of {} accounts seen with costs; {outside} account{} outside this customer.",
                    seen.len(),
                    members.len(),
                    if *outside == 1 { "" } else { "s" }
                )),
                Evidence::Reconciliation { months: m, .. } => months.extend(m.iter().cloned()),
                _ => {}
            }
        }
        if !months.is_empty() {
            let dec = |s: &str| s.parse::<Decimal>().unwrap_or_default();
            p.table = Some(PackTable {
                id: "verification".into(),
                columns: vec![
                    "Month".into(),
                    "Shown".into(),
                    "Line items".into(),
                    "Difference".into(),
                    "Within tolerance".into(),
                ],
                rows: months
                    .iter()
                    .take(PAGE_ROWS)
                    .map(|m| {
                        vec![
                            parse_month(&m.month)
                                .map(words::month)
                                .unwrap_or_else(|_| m.month.clone()),
                            money(dec(&m.shown), "USD"),
                            money(dec(&m.line_items), "USD"),
                            money(dec(&m.difference), "USD"),
                            if m.ok { "yes" } else { "no" }.into(),
                        ]
                    })
                    .collect(),
                csv_columns: ["month", "shown", "line_items", "difference", "ok"]
                    .map(String::from)
                    .into(),
                csv_rows: months
                    .iter()
                    .map(|m| {
                        vec![
                            m.month.clone(),
                            m.shown.clone(),
                            m.line_items.clone(),
                            m.difference.clone(),
                            m.ok.to_string(),
                        ]
                    })
                    .collect(),
            });
        }
        pages.push(p);
    }

    // Appendix: how the figures were made and what they cost.
    let mut p = page("appendix", "How these figures were made");
    let source = match (input.is_payer, profile.basis.in_cost_explorer()) {
        (false, _) => "the Cost and Usage Report files of this workspace",
        (true, true) => "AWS Cost Explorer, through this customer's own billing view",
        (true, false) => {
            "the Cost and Usage Report, with Amazon Athena, through this customer's own view"
        }
    };
    p.lines = vec![
        format!("Basis: {basis}"),
        format!("Source: {source}, covering this customer's accounts only."),
        format!(
            "Cost to produce: {}",
            if input.is_payer {
                format!(
                    "{} Cost Explorer request{} (USD {:.2}); {} Athena quer{} scanning {}.",
                    input.spent.ce_requests,
                    if input.spent.ce_requests == 1 { "" } else { "s" },
                    input.spent.ce_requests as f64 * CE_REQUEST_USD,
                    input.spent.athena_queries,
                    if input.spent.athena_queries == 1 { "y" } else { "ies" },
                    bytes_words(input.spent.athena_bytes)
                )
            } else {
                "nothing (read from local files).".to_string()
            }
        ),
        format!(
            "Services are named as AWS names them in its console; amounts are in {currency}, rounded to the cent."
        ),
        format!(
            "Made with CostCarve on {}.",
            words::date(input.now.date_naive())
        ),
    ];
    pages.push(p);

    Ok(ReviewPack {
        integration: vi.name.to_string(),
        display_name,
        month: month.format("%Y-%m").to_string(),
        month_label,
        basis,
        currency,
        data_as_of,
        estimated: is_open,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_member_ids_survive_in_verification_words() {
        let members: BTreeSet<AccountId> = ["111111111111".parse().unwrap()].into();
        assert_eq!(
            scrub(
                "view arn:aws:billing::999999999999:billingview/x over 111111111111 and 1234567890123",
                &members
            ),
            "view arn:aws:billing::(payer):billingview/x over 111111111111 and 1234567890123"
        );
    }

    #[test]
    fn months_are_written_as_a_customer_reads_them() {
        let m = parse_month("2026-11").unwrap();
        assert_eq!(words::month(m), "November 2026");
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("Nov").is_err());
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        assert_eq!(
            default_month(today),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
        assert_eq!(
            months_back(m, 12),
            NaiveDate::from_ymd_opt(2025, 11, 1).unwrap()
        );
        assert_eq!(bytes_words(999), "999 bytes");
        assert_eq!(bytes_words(12_345_678), "12.3 MB");
    }
}

//! How an integration's costs are shown to its customer: the presentation
//! profile (display name, cost basis, line item types left out), the words
//! that state it on every chart, table, slide and pack, and figures written
//! the way a customer reads them (service names customers know, amounts
//! with thousands separators and the currency, one date format).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::cost::{CostQuery, Metric};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 128;

/// The line item types of CUR 2.0 (and Cost Explorer's RECORD_TYPE), as
/// AWS spells them.
pub const LINE_ITEM_TYPES: [&str; 17] = [
    "Usage",
    "DiscountedUsage",
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanRecurringFee",
    "SavingsPlanUpfrontFee",
    "RIFee",
    "Fee",
    "Tax",
    "Credit",
    "Refund",
    "SppDiscount",
    "EdpDiscount",
    "BundledDiscount",
    "PrivateRateDiscount",
    "DistributorDiscount",
    "SolutionProviderDiscount",
];

/// What a customer is shown of one integration. Without one, an
/// integration shows what `cost` shows by default: unblended, nothing
/// left out, under its own name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PresentationProfile {
    /// The customer's name as it appears on slides and packs (e.g. "Acme
    /// Corp GmbH"); the integration's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Which cost every figure adds up.
    #[serde(default)]
    pub basis: Metric,
    /// Line item types left out of every figure (e.g. Credit, EdpDiscount).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub exclude: BTreeSet<String>,
}

/// A profile that cannot be saved as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Empty, too long or holding control characters.
    #[error("the display name must be 1 to {MAX_DISPLAY_NAME} characters without line breaks or control characters")]
    DisplayName,
    /// Not a line item type.
    #[error("'{0}' is not a line item type; use one of: {list}", list = LINE_ITEM_TYPES.join(", "))]
    LineItemType(String),
}

impl PresentationProfile {
    /// Checks the display name and puts the line item types in AWS's
    /// spelling (matched case-insensitively).
    pub fn normalized(mut self) -> Result<Self, ProfileError> {
        if let Some(name) = &self.display_name {
            let trimmed = name.trim();
            if trimmed.is_empty()
                || trimmed.chars().count() > MAX_DISPLAY_NAME
                || trimmed.chars().any(char::is_control)
            {
                return Err(ProfileError::DisplayName);
            }
            self.display_name = Some(trimmed.to_string());
        }
        self.exclude = self
            .exclude
            .iter()
            .map(|t| line_item_type(t).map(str::to_string))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// The name shown for integration `name`.
    pub fn display_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.display_name.as_deref().unwrap_or(name)
    }

    /// Its basis and exclusions in words (see [`basis_words`]).
    pub fn basis_words(&self) -> String {
        basis_words(self.basis, &self.exclude)
    }

    /// Puts the profile's basis and exclusions on a query.
    pub fn apply(&self, q: &mut CostQuery) {
        q.metric = self.basis;
        q.exclude_line_item_types = self.exclude.clone();
    }

    /// Whether this is what an integration without a profile shows.
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// A line item type in AWS's spelling, matched case-insensitively.
pub fn line_item_type(t: &str) -> Result<&'static str, ProfileError> {
    LINE_ITEM_TYPES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(t.trim()))
        .copied()
        .ok_or_else(|| ProfileError::LineItemType(t.to_string()))
}

/// A cost query's basis and exclusions in words, e.g. "Unblended cost (as
/// billed); credits, refunds and tax left out." Every chart, table, slide
/// and pack carries it.
pub fn basis_words(metric: Metric, exclude: &BTreeSet<String>) -> String {
    let mut basis = metric.words().to_string();
    if let Some(first) = basis.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    if exclude.is_empty() {
        return format!("{basis}; nothing left out.");
    }
    let names: Vec<String> = exclude.iter().map(|t| line_item_words(t)).collect();
    format!("{basis}; {} left out.", join_words(&names))
}

/// "a", "a and b", "a, b and c".
fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A line item type in plain words, plural where it reads so.
pub fn line_item_words(t: &str) -> String {
    match t {
        "Usage" => "usage".into(),
        "DiscountedUsage" => "usage covered by Reserved Instances".into(),
        "SavingsPlanCoveredUsage" => "usage covered by Savings Plans".into(),
        "SavingsPlanNegation" => "Savings Plans negations".into(),
        "SavingsPlanRecurringFee" => "Savings Plans recurring fees".into(),
        "SavingsPlanUpfrontFee" => "Savings Plans upfront fees".into(),
        "RIFee" => "Reserved Instance fees".into(),
        "Fee" => "fees".into(),
        "Tax" => "tax".into(),
        "Credit" => "credits".into(),
        "Refund" => "refunds".into(),
        "SppDiscount" => "Solution Provider Program discounts".into(),
        "EdpDiscount" => "Enterprise Discount Program discounts".into(),
        "BundledDiscount" => "bundled discounts".into(),
        "PrivateRateDiscount" => "private rate discounts".into(),
        "DistributorDiscount" => "distributor discounts".into(),
        "SolutionProviderDiscount" => "solution provider discounts".into(),
        other => other.to_string(),
    }
}

/// A service as customers know it: from a CUR product code (`AmazonEC2`)
/// or a Cost Explorer SERVICE name (`Amazon Elastic Compute Cloud -
/// Compute`), the short name AWS uses in its console (`Amazon EC2`).
/// Unknown codes are split into words (`AmazonFooBar` → `Amazon Foo Bar`).
pub fn service_name(key: &str) -> String {
    const KNOWN: &[(&[&str], &str)] = &[
        (
            &[
                "AmazonEC2",
                "Amazon Elastic Compute Cloud - Compute",
                "Amazon Elastic Compute Cloud",
                "EC2 - Other",
            ],
            "Amazon EC2",
        ),
        (
            &["AmazonRDS", "Amazon Relational Database Service"],
            "Amazon RDS",
        ),
        (&["AmazonS3", "Amazon Simple Storage Service"], "Amazon S3"),
        (&["AWSLambda", "AWS Lambda"], "AWS Lambda"),
        (&["AmazonDynamoDB", "Amazon DynamoDB"], "Amazon DynamoDB"),
        (&["AmazonCloudWatch", "CloudWatch"], "Amazon CloudWatch"),
        (&["AmazonVPC", "Amazon Virtual Private Cloud"], "Amazon VPC"),
        (
            &["AmazonCloudFront", "Amazon CloudFront"],
            "Amazon CloudFront",
        ),
        (&["AmazonSQS", "Amazon Simple Queue Service"], "Amazon SQS"),
        (
            &["AmazonSNS", "Amazon Simple Notification Service"],
            "Amazon SNS",
        ),
        (
            &[
                "AmazonEKS",
                "Amazon Elastic Container Service for Kubernetes",
            ],
            "Amazon EKS",
        ),
        (
            &["AmazonECS", "Amazon Elastic Container Service"],
            "Amazon ECS",
        ),
        (
            &["AmazonElastiCache", "Amazon ElastiCache"],
            "Amazon ElastiCache",
        ),
        (&["AmazonRoute53", "Amazon Route 53"], "Amazon Route 53"),
        (
            &["AWSELB", "Elastic Load Balancing"],
            "Elastic Load Balancing",
        ),
        (
            &["AWSDataTransfer", "AWS Data Transfer"],
            "AWS Data Transfer",
        ),
        (&["AWSCloudTrail", "AWS CloudTrail"], "AWS CloudTrail"),
        (&["AWSConfig", "AWS Config"], "AWS Config"),
        (
            &["AWSKMS", "awskms", "AWS Key Management Service"],
            "AWS KMS",
        ),
        (&["AmazonGuardDuty", "Amazon GuardDuty"], "Amazon GuardDuty"),
        (
            &["AWSSecretsManager", "AWS Secrets Manager"],
            "AWS Secrets Manager",
        ),
        (
            &["AWSSupportBusiness", "AWS Support (Business)"],
            "AWS Support (Business)",
        ),
        (
            &["AWSSupportEnterprise", "AWS Support (Enterprise)"],
            "AWS Support (Enterprise)",
        ),
        (&["Tax"], "Tax"),
    ];
    let k = key.trim();
    if k.is_empty() {
        return "(no service)".into();
    }
    for (names, short) in KNOWN {
        if names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
            return (*short).to_string();
        }
    }
    if k.contains(' ') {
        return k.to_string();
    }
    // `AmazonFooBar` → `Amazon Foo Bar`; runs of capitals stay together
    // (`AWSGlue` → `AWS Glue`).
    let chars: Vec<char> = k.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let starts_word = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if starts_word {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

/// The symbol written before amounts in `currency` (`$`, `€`, ...), or the
/// ISO code and a space.
pub fn currency_prefix(currency: &str) -> String {
    match currency.trim().to_ascii_uppercase().as_str() {
        "" | "USD" => "$".into(),
        "EUR" => "€".into(),
        "GBP" => "£".into(),
        "JPY" | "CNY" => "¥".into(),
        "INR" => "₹".into(),
        other => format!("{other} "),
    }
}

/// An amount to the cent with thousands separators: `$12,345.67`,
/// `-$3.10`, `CHF 1,000.00`.
pub fn money(amount: Decimal, currency: &str) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    let text = format!("{:.2}", rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    format!(
        "{sign}{}{}.{frac}",
        currency_prefix(currency),
        group_thousands(int)
    )
}

/// A signed change: `+$1,234.50`, `-$20.00`.
pub fn money_change(amount: Decimal, currency: &str) -> String {
    let text = money(amount, currency);
    if text.starts_with('-') {
        text
    } else {
        format!("+{text}")
    }
}

/// The change from `before` to `after` in percent, one decimal (`+12.5%`);
/// `None` when `before` is zero.
pub fn percent_change(before: Decimal, after: Decimal) -> Option<String> {
    if before.is_zero() {
        return None;
    }
    let pct = ((after - before) / before.abs() * Decimal::from(100))
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    Some(if pct.is_sign_negative() && !pct.is_zero() {
        format!("{pct:.1}%")
    } else {
        format!("+{:.1}%", pct.abs())
    })
}

fn group_thousands(digits: &str) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one date format of screens, slides and packs: `2 Nov 2026`.
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// A month as words: `November 2026`.
pub fn month(d: NaiveDate) -> String {
    d.format("%B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_with_separators_and_currency() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("1234567.891"), "USD"), "$1,234,567.89");
        assert_eq!(money(d("-3.1"), "USD"), "-$3.10");
        assert_eq!(money(d("999.995"), "EUR"), "€1,000.00");
        assert_eq!(money(d("-0.001"), "USD"), "$0.00");
        assert_eq!(money(d("12"), "CHF"), "CHF 12.00");
        assert_eq!(money_change(d("5"), "USD"), "+$5.00");
        assert_eq!(percent_change(d("200"), d("250")).unwrap(), "+25.0%");
        assert_eq!(percent_change(d("200"), d("150")).unwrap(), "-25.0%");
        assert_eq!(percent_change(d("0"), d("150")), None);
    }

    #[test]
    fn services_read_as_customers_know_them() {
        assert_eq!(service_name("AmazonEC2"), "Amazon EC2");
        assert_eq!(
            service_name("Amazon Elastic Compute Cloud - Compute"),
            "Amazon EC2"
        );
        assert_eq!(service_name("AWSSupportBusiness"), "AWS Support (Business)");
        assert_eq!(service_name("AWSGlue"), "AWS Glue");
        assert_eq!(service_name("AmazonFooBar"), "Amazon Foo Bar");
        assert_eq!(service_name("Amazon Foo"), "Amazon Foo");
    }

    #[test]
    fn basis_is_stated_in_words() {
        let ex: BTreeSet<String> = ["Credit", "Refund", "Tax"].map(String::from).into();
        assert_eq!(
            basis_words(Metric::UnblendedCost, &ex),
            "Unblended cost (as billed); credits, refunds and tax left out."
        );
        assert_eq!(
            basis_words(Metric::PublicOnDemandCost, &BTreeSet::new()),
            "Public on-demand cost (AWS list prices); nothing left out."
        );
    }

    #[test]
    fn a_profile_is_checked_and_spelled_as_aws_does() {
        let p = PresentationProfile {
            display_name: Some("  Acme Corp GmbH ".into()),
            basis: Metric::NetUnblendedCost,
            exclude: ["credit", "EDPDISCOUNT"].map(String::from).into(),
        }
        .normalized()
        .unwrap();
        assert_eq!(p.display_name.as_deref(), Some("Acme Corp GmbH"));
        assert_eq!(
            p.exclude,
            ["Credit", "EdpDiscount"].map(String::from).into()
        );
        let bad = PresentationProfile {
            exclude: ["Credits"].map(String::from).into(),
            ..Default::default()
        };
        assert!(matches!(
            bad.normalized(),
            Err(ProfileError::LineItemType(t)) if t == "Credits"
        ));
        let bad = PresentationProfile {
            display_name: Some("a\nb".into()),
            ..Default::default()
        };
        assert_eq!(bad.normalized(), Err(ProfileError::DisplayName));
    }
}

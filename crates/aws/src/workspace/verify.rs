//! `vi verify` on AWS: both views and the secret read back and judged
//! exactly; the accounts seen through the Athena view over the whole CUR
//! and through Cost Explorer with the billing view; and the last closed
//! months' totals from both. Cost Explorer is asked fresh (never from the
//! cache): [`VERIFY_REQUESTS`] requests, more when an answer is paged.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{Months, NaiveDate};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

use costcarve_core::account::AccountId;
use costcarve_core::cost::{first_of_month, CostQuery};
use costcarve_core::verification::{
    self, closed_months, names, Part, Sides, Verification, VerifyRequests,
};

use super::share::share_drift;
use super::status::{strs, Expected};
use super::{AwsWorkspace, ManagedIntegration, WorkspaceError};
use crate::billing::{self, account_digest, BillingView, BillingViews, Health};
use crate::catalog::StoredView;
use crate::error::AwsError;
use crate::ram::ResourceShare;

/// Cost Explorer requests a verification makes when no answer is paged:
/// GetDimensionValues (LINKED_ACCOUNT) and GetCostAndUsage (monthly totals).
pub const VERIFY_REQUESTS: u32 = 2;

/// How long the Athena query of a verification may run.
const ATHENA_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl AwsWorkspace {
    /// Verifies an integration: `months` closed months are reconciled.
    pub async fn verify(&self, name: &str, months: u32) -> Result<Verification, WorkspaceError> {
        let m = self.integration(name).await?;
        let view_name = m.integration.view_name();
        let database = self.connection.views_database.clone();
        let primary = BillingViews::primary_arn(&self.payer);
        let (view, athena) = tokio::join!(
            self.billing.integration_view(&m.billing_view_arn, &primary),
            self.catalog.view_definition(&database, &view_name)
        );
        let (view, athena) = (view?, athena?);
        let expected = self.expected()?;
        let secret = self.secret_present(&m.integration)?;
        let share = match self.shares.of(&m.integration.id.to_string()).await {
            Ok(share) => share,
            Err(AwsError::AccessDenied(_)) if m.shared_with.is_empty() => None,
            Err(e) => return Err(e.into()),
        };
        let mut parts = parts(
            &m,
            &format!("{database}.{view_name}"),
            view.as_ref(),
            athena.as_ref(),
            secret,
            &expected,
        );
        if share.is_some() || !m.shared_with.is_empty() {
            parts.push(share_part(&m, share.as_ref()));
        }
        let definitions = verification::definitions(parts);
        let now = self.clock.now();
        let Some(view) = view.filter(|_| definitions.ok) else {
            let reason = "the integration's parts are not what CostCarve made; repair it first";
            return Ok(Verification::stopped_at_definitions(
                m.integration.name.as_str(),
                "aws",
                definitions,
                reason,
                Some(VerifyRequests {
                    planned: VERIFY_REQUESTS,
                    made: 0,
                }),
                now,
            ));
        };
        // The members as both views hold them now (another desktop may have
        // changed them since this one last synced).
        let members: BTreeSet<AccountId> = view
            .accounts
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        let today = now.date_naive();
        let open_month = first_of_month(today);
        let months = closed_months(today, months);
        let first = months.first().copied().unwrap_or(open_month);
        let visible_from = open_month
            .checked_sub_months(Months::new(12))
            .unwrap_or(first)
            .min(first);
        let arn = self.scope(&m)?;
        let ce = self.ce.metered();
        let totals_query = CostQuery::new(m.integration.name.as_str(), first, open_month);
        let athena_sql = format!(
            "SELECT line_item_usage_account_id, \
             CAST(date_trunc('month', line_item_usage_start_date) AS DATE), \
             sum(line_item_unblended_cost) FROM \"{database}\".\"{view_name}\" GROUP BY 1, 2"
        );
        let no_cancel = CancellationToken::new();
        let (seen_ce, totals_ce, lines) = tokio::join!(
            ce.linked_accounts(&arn, visible_from, today),
            async {
                if months.is_empty() {
                    Ok(None)
                } else {
                    ce.answer(&arn, &totals_query).await.map(Some)
                }
            },
            self.athena
                .query(&athena_sql, 1_000_000, &self.s3, &no_cancel, ATHENA_TIMEOUT)
        );
        let made = ce.requests();
        self.count_requests(made)?;
        let (seen_ce, totals_ce, lines) = (seen_ce?, totals_ce?, lines?);

        let mut seen_athena = BTreeSet::new();
        let mut athena_totals: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
        for row in &lines.result.rows {
            let account = row.first().cloned().flatten().unwrap_or_default();
            if !account.is_empty() {
                seen_athena.insert(account);
            }
            let month = row.get(1).cloned().flatten().and_then(|m| {
                NaiveDate::parse_from_str(m.get(..10).unwrap_or(""), "%Y-%m-%d").ok()
            });
            let amount = row
                .get(2)
                .cloned()
                .flatten()
                .and_then(|a| a.parse::<f64>().ok())
                .and_then(Decimal::from_f64)
                .unwrap_or_default();
            if let Some(month) = month {
                *athena_totals.entry(month).or_default() += amount;
            }
        }
        let (ce_totals, estimated) = match totals_ce {
            Some(answer) => {
                let mut totals: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
                for p in &answer.series.points {
                    *totals.entry(first_of_month(p.period)).or_default() += p.amount;
                }
                (totals, answer.estimated_periods)
            }
            None => Default::default(),
        };
        let line_items = format!("the Athena view {database}.{view_name}");
        let checks = vec![
            definitions,
            verification::isolation(
                names::ISOLATION_LINE_ITEMS,
                &line_items,
                "the whole CUR",
                &members,
                &seen_athena,
            ),
            verification::isolation(
                names::ISOLATION_SHOWN,
                "Cost Explorer with the billing view",
                &format!("{visible_from} to {today}"),
                &members,
                &seen_ce,
            ),
            verification::reconciliation(
                &Sides {
                    shown: "Cost Explorer",
                    line_items: &line_items,
                    metric: "unblended cost",
                    line_item_types: "all line-item types (usage, fees, credits, refunds, tax)",
                },
                &months,
                &ce_totals,
                &athena_totals,
                &estimated,
            ),
        ];
        Ok(Verification::new(
            m.integration.name.as_str(),
            "aws",
            checks,
            Some(VerifyRequests {
                planned: VERIFY_REQUESTS,
                made: made as u32,
            }),
            now,
        ))
    }
}

fn list(accounts: &BTreeSet<String>) -> String {
    accounts.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// The three parts, each judged on its own, so every difference is named.
/// The resource share, judged against what CostCarve recorded: shared with
/// exactly those accounts (all the integration's own), nothing else.
fn share_part(m: &ManagedIntegration, share: Option<&ResourceShare>) -> Part {
    let drift = share_drift(&m.shared_with, share, &m.billing_view_arn);
    let outside: Vec<String> = share
        .map(|s| {
            s.principals
                .iter()
                .filter(|p| {
                    p.parse::<AccountId>()
                        .map_or(true, |a| !m.integration.accounts.contains(&a))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Part {
        part: "resource_share".into(),
        name: share
            .map(|s| s.arn.clone())
            .unwrap_or_else(|| "none".into()),
        ok: drift.is_none() && outside.is_empty(),
        detail: match (drift, share) {
            (Some(d), _) => d,
            (None, Some(s)) => format!(
                "shares the billing view with {} of its own accounts ({}), nothing else",
                s.principals.len(),
                s.principals.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            (None, None) => "not shared".into(),
        },
    }
}

fn parts(
    m: &ManagedIntegration,
    athena_name: &str,
    view: Option<&BillingView>,
    athena: Option<&StoredView>,
    secret: bool,
    expected: &Expected,
) -> Vec<Part> {
    let billing_accounts = view.map(|v| v.accounts.clone());
    let athena_part = Part {
        part: "athena_view".into(),
        name: athena_name.into(),
        ok: false,
        detail: String::new(),
    };
    let athena_part = match athena {
        None => Part {
            detail: "missing".into(),
            ..athena_part
        },
        Some(Err(not_ours)) => Part {
            detail: format!("changed outside CostCarve: {not_ours}"),
            ..athena_part
        },
        Some(Ok(def)) if def.source != expected.source => Part {
            detail: format!(
                "reads {} instead of the CUR table {}",
                def.source, expected.source
            ),
            ..athena_part
        },
        Some(Ok(def)) => {
            let accounts = strs(&def.accounts);
            match &billing_accounts {
                Some(b) if *b != accounts => Part {
                    detail: format!(
                        "keeps {} accounts, the billing view filters {}",
                        accounts.len(),
                        b.len()
                    ),
                    ..athena_part
                },
                _ => Part {
                    ok: true,
                    detail: format!(
                        "exactly CostCarve's view over {}: {} accounts ({})",
                        def.source,
                        accounts.len(),
                        list(&accounts)
                    ),
                    ..athena_part
                },
            }
        }
    };
    let billing_part = Part {
        part: "billing_view".into(),
        name: m.billing_view_arn.clone(),
        ok: false,
        detail: String::new(),
    };
    let billing_part = match view {
        None => Part {
            detail: "missing".into(),
            ..billing_part
        },
        Some(v) => {
            let recorded = billing::recorded(&v.description);
            let digest_ok = recorded
                .as_ref()
                .is_none_or(|r| r.digest == account_digest(v.accounts.iter().map(String::as_str)));
            match &v.health {
                Health::Creating | Health::Updating => Part {
                    detail: "is being created or updated; verify again when it is healthy".into(),
                    ..billing_part
                },
                Health::Unhealthy(reasons) => Part {
                    detail: format!("is unhealthy: {}", reasons.join(", ")),
                    ..billing_part
                },
                _ if !v.filter_extras.is_empty() => Part {
                    detail: format!("its filter also has {}", v.filter_extras.join(", ")),
                    ..billing_part
                },
                _ if v.source_views != [expected.primary.clone()] => Part {
                    detail: format!(
                        "is derived from [{}] instead of the payer's primary view {}",
                        v.source_views.join(", "),
                        expected.primary
                    ),
                    ..billing_part
                },
                _ if !digest_ok => Part {
                    detail: "its accounts are not the ones CostCarve last wrote".into(),
                    ..billing_part
                },
                _ => Part {
                    ok: true,
                    detail: format!(
                        "LINKED_ACCOUNT = {} accounts ({}) over the payer's primary view {}, nothing else",
                        v.accounts.len(),
                        list(&v.accounts),
                        expected.primary
                    ),
                    ..billing_part
                },
            }
        }
    };
    let secret_part = Part {
        part: "secret".into(),
        name: format!("integration/{}", m.integration.id),
        ok: secret,
        detail: if secret {
            "in this computer's keyring".into()
        } else {
            "not in this computer's keyring".into()
        },
    };
    vec![athena_part, billing_part, secret_part]
}

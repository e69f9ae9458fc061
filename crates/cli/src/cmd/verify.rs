//! `costcarve vi verify NAME`: the evidence that an integration holds its
//! accounts and nothing else, and that its figures agree with the line
//! items. Exit code 4 when a check fails.

use costcarve_ops::core::error::ErrorCode;
use costcarve_ops::core::verification::{Evidence, Verification};
use costcarve_ops::workspace::CE_REQUEST_USD;
use costcarve_ops::{OpsError, Workspace};

use crate::output::{header, out, print_json, print_table};

pub(crate) async fn run(
    ws: &Workspace,
    name: &str,
    months: u32,
    json: bool,
) -> Result<(), OpsError> {
    if let Some(requests) = ws.verify_requests() {
        eprintln!(
            "verifying '{name}' makes {requests} Cost Explorer requests (USD {:.2}), more if an answer is paged, and one Athena query",
            f64::from(requests) * CE_REQUEST_USD
        );
    }
    let v = ws.verify(name, months).await?;
    if json {
        print_json(&v)?;
    } else {
        print(&v);
    }
    if v.ok {
        return Ok(());
    }
    let failed: Vec<&str> = v
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    Err(OpsError::new(
        ErrorCode::NotVerified,
        format!(
            "'{}' failed verification: {} of {} checks failed ({})",
            v.integration,
            failed.len(),
            v.checks.len(),
            failed.join(", ")
        ),
    ))
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "ok  "
    } else {
        "FAIL"
    }
}

fn print(v: &Verification) {
    let passed = v.checks.iter().filter(|c| c.ok).count();
    out(&format!(
        "{} '{}' ({} workspace, {}): {passed} of {} checks passed",
        if v.ok { "verified" } else { "NOT verified" },
        v.integration,
        v.workspace,
        v.checked_at,
        v.checks.len()
    ));
    for c in &v.checks {
        out("");
        out(&format!("{} {}: {}", mark(c.ok), c.name, c.summary));
        match &c.evidence {
            Evidence::Parts { parts } => {
                for p in parts {
                    out(&format!(
                        "     {} {} {}: {}",
                        mark(p.ok),
                        p.part,
                        p.name,
                        p.detail
                    ));
                }
            }
            Evidence::Accounts {
                through,
                period,
                members,
                seen,
                outside,
            } => {
                out(&format!("     through: {through} ({period})"));
                out(&format!(
                    "     members ({}): {}",
                    members.len(),
                    members.join(", ")
                ));
                out(&format!("     seen ({}): {}", seen.len(), seen.join(", ")));
                out(&format!(
                    "     other accounts seen: {outside} (never listed: they are other customers')"
                ));
            }
            Evidence::Reconciliation {
                metric,
                line_item_types,
                shown,
                line_items,
                tolerance,
                months,
            } => {
                out(&format!("     {metric}, {line_item_types}"));
                out(&format!("     shown: {shown}; line items: {line_items}"));
                out(&format!("     tolerance: {tolerance}"));
                let rows: Vec<Vec<Option<String>>> = months
                    .iter()
                    .map(|m| {
                        vec![
                            Some(m.month.clone()),
                            Some(m.shown.clone()),
                            Some(m.line_items.clone()),
                            Some(m.difference.clone()),
                            Some(m.allowed.clone()),
                            Some(if m.estimated { "yes" } else { "no" }.into()),
                            Some(mark(m.ok).trim().into()),
                        ]
                    })
                    .collect();
                print_table(
                    &header(&[
                        "month",
                        "shown USD",
                        "line items USD",
                        "difference",
                        "allowed",
                        "estimated",
                        "",
                    ]),
                    &rows,
                );
            }
            Evidence::NotRun { .. } => {}
        }
    }
    if let Some(r) = &v.requests {
        out("");
        out(&format!(
            "Cost Explorer: {} requests made (USD {:.2}); {} said before",
            r.made,
            f64::from(r.made) * CE_REQUEST_USD,
            r.planned
        ));
    }
}

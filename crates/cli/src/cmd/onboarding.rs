//! `costcarve vi sync` and `vi import`: integrations that follow the
//! organization, and many customers onboarded at once.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use costcarve_ops::core::error::ErrorCode;
use costcarve_ops::core::integration::SyncChange;
use costcarve_ops::onboarding::{parse_import_csv, PlannedRow, RowAction, RowOutcome, SyncOutcome};
use costcarve_ops::workspace::Progress;
use costcarve_ops::{OpsError, Workspace};

use crate::cmd::vi::print_left_out;
use crate::output::{header, out, print_json, print_table, spinner};

#[derive(Serialize)]
struct SyncReport<'a> {
    dry_run: bool,
    /// Integrations whose rules now name other accounts.
    out_of_date: usize,
    integrations: &'a [SyncChange],
    outcomes: &'a [SyncOutcome],
}

pub(crate) async fn sync(
    ws: &Workspace,
    name: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<(), OpsError> {
    let bar = spinner();
    let plan = ws
        .sync_plan(name, &|p| {
            bar.set_message(match p {
                Progress::Accounts(n) => format!("reading the organization: {n} accounts"),
                Progress::Units(n) => format!("reading the organization: {n} units"),
                Progress::Tags(n, of) => format!("reading the organization: tags of {n}/{of}"),
            });
            bar.tick();
        })
        .await?;
    bar.finish_and_clear();
    let out_of_date = plan.iter().filter(|c| c.changes()).count();
    let outcomes = if dry_run {
        vec![]
    } else {
        ws.apply_sync(&plan, &|o| {
            if !json {
                match &o.error {
                    None => eprintln!("applied to '{}'", o.name),
                    Some(e) => eprintln!("could not apply to '{}': {e}", o.name),
                }
            }
        })
        .await
    };
    if json {
        print_json(&SyncReport {
            dry_run,
            out_of_date,
            integrations: &plan,
            outcomes: &outcomes,
        })?;
    } else {
        for c in &plan {
            if let Some(problem) = &c.problem {
                out(&format!("{}: not synced: {problem}", c.name));
                continue;
            }
            if !c.changes() {
                out(&format!(
                    "{}: up to date ({} accounts)",
                    c.name,
                    c.accounts.len()
                ));
            } else {
                out(&format!(
                    "{}: +{} -{} ({} accounts after)",
                    c.name,
                    c.diff.added.len(),
                    c.diff.removed.len(),
                    c.accounts.len()
                ));
                for a in &c.diff.added {
                    out(&format!("  + {a}"));
                }
                for a in &c.diff.removed {
                    out(&format!("  - {a}"));
                }
            }
            print_left_out(&c.diff.left_out);
        }
        out(&match (out_of_date, dry_run) {
            (0, _) => "every integration is up to date with the organization".to_string(),
            (n, true) => format!(
                "{n} integration{} out of date; nothing was changed (--dry-run)",
                if n == 1 { " is" } else { "s are" }
            ),
            (n, false) => format!(
                "{} of {n} out of date brought up to date",
                outcomes.iter().filter(|o| o.applied).count()
            ),
        });
    }
    let failed = outcomes.iter().filter(|o| !o.applied).count();
    if failed > 0 {
        return Err(OpsError::new(
            ErrorCode::NotHealthy,
            format!("{failed} integration(s) could not be brought up to date (see above); `vi sync` again retries, `vi repair` fixes one left unhealthy"),
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct ImportReport<'a> {
    dry_run: bool,
    rows: &'a [PlannedRow],
    outcomes: &'a [RowOutcome],
}

pub(crate) async fn import(
    ws: &Workspace,
    file: Option<&Path>,
    from_ou: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<(), OpsError> {
    let rows = match (file, from_ou) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| OpsError::invalid(format!("cannot read {}: {e}", path.display())))?;
            parse_import_csv(&text)?
        }
        (None, Some(ou)) => ws.import_rows_from_ou(ou).await?,
        (None, None) => {
            return Err(OpsError::invalid(
                "give a CSV file or --from-ou OU (e.g. --from-ou Customers)",
            ))
        }
    };
    let plan = ws.import_plan(&rows).await?;
    let to_make = plan
        .iter()
        .filter(|p| p.action == RowAction::Create)
        .count();
    if !json {
        let table: Vec<Vec<Option<String>>> = plan
            .iter()
            .map(|p| {
                vec![
                    Some(p.line.to_string()),
                    Some(p.name.clone()),
                    Some(
                        match p.action {
                            RowAction::Create if dry_run => "would create",
                            RowAction::Create => "create",
                            RowAction::Unchanged => "unchanged",
                        }
                        .to_string(),
                    ),
                    Some(p.accounts.to_string()),
                    Some(p.rules.join(", ")),
                ]
            })
            .collect();
        print_table(
            &header(&["line", "name", "action", "accounts", "rules"]),
            &table,
        );
        for p in &plan {
            print_left_out(&p.left_out);
        }
    }
    let outcomes = if dry_run || to_make == 0 {
        vec![]
    } else {
        let finished = AtomicUsize::new(0);
        ws.import(&rows, &plan, &|o| {
            if o.outcome == "unchanged" || json {
                return;
            }
            let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
            match &o.error {
                None => eprintln!(
                    "[{n}/{to_make}] created '{}' ({} accounts)",
                    o.name, o.accounts
                ),
                Some(e) => eprintln!("[{n}/{to_make}] '{}' failed: {e}", o.name),
            }
        })
        .await?
    };
    if json {
        print_json(&ImportReport {
            dry_run,
            rows: &plan,
            outcomes: &outcomes,
        })?;
    } else if to_make == 0 {
        out(&format!(
            "nothing to import: all {} integrations exist with these rules already",
            plan.len()
        ));
    } else if dry_run {
        out(&format!(
            "{to_make} would be created, {} unchanged; nothing was created (--dry-run)",
            plan.len() - to_make
        ));
    } else {
        out(&format!(
            "{} created, {} unchanged, {} failed",
            outcomes.iter().filter(|o| o.outcome == "created").count(),
            outcomes.iter().filter(|o| o.outcome == "unchanged").count(),
            outcomes.iter().filter(|o| o.outcome == "failed").count()
        ));
    }
    let failed = outcomes.iter().filter(|o| o.outcome == "failed").count();
    if failed > 0 {
        return Err(OpsError::new(
            ErrorCode::Aws,
            format!("{failed} row(s) failed and left nothing behind; run the same import again to retry them (made rows are left as they are)"),
        ));
    }
    Ok(())
}

//! `costcarve vi ...`: create, update, delete, repair, list and show
//! integrations, the same verbs on a local workspace and on a payer (where
//! integrations also have a billing view and a status).

use costcarve_ops::core::account::{parse_account_list, AccountId};
use costcarve_ops::core::integration::{IntegrationChange, NewIntegration};
use costcarve_ops::core::membership::{LeftOut, MembershipRules};
use costcarve_ops::core::ports::{Clock, SystemClock};
use costcarve_ops::core::presentation::PresentationProfile;
use costcarve_ops::workspace::{IntegrationState, Status};
use costcarve_ops::{OpsError, Workspace};

use crate::flags::ViCommand;
use crate::output::{header, out, print_json, print_table};

fn accounts_arg(list: &Option<String>) -> Result<Vec<AccountId>, OpsError> {
    Ok(list
        .as_deref()
        .map(parse_account_list)
        .transpose()?
        .unwrap_or_default())
}

/// What rules named but left out, one line each (on stderr: a warning).
pub(crate) fn print_left_out(left_out: &[LeftOut]) {
    for l in left_out {
        eprintln!("left out {}: {}", l.account, l.reason);
    }
}

async fn create_dry_run(ws: &Workspace, new: NewIntegration) -> Result<(), OpsError> {
    let (vi, left_out) = ws.preview_create(new).await?;
    let plan = ws
        .plan(
            vi.name.as_str(),
            vi.accounts.iter().cloned().collect(),
            None,
            SystemClock.now(),
        )
        .await?;
    out(&format!(
        "would create '{}' with {} accounts (nothing was created){}",
        plan.integration.name,
        plan.integration.accounts.len(),
        rules_words(&vi.rules)
    ));
    print_left_out(&left_out);
    out("view DDL:");
    out(&plan.view_sql);
    out("billing view filter:");
    out(plan
        .billing_filter
        .as_deref()
        .unwrap_or("none (a local workspace has no billing view)"));
    Ok(())
}

fn rules_words(rules: &MembershipRules) -> String {
    if rules.follows_organization() {
        format!(" from {}", rules.describe().join(", "))
    } else {
        String::new()
    }
}

fn status_line(status: &Status) -> String {
    match status {
        Status::Healthy | Status::Provisioning => status.label().to_string(),
        Status::Drift { detail } => format!("drift: {detail}"),
        Status::NeedsRepair { reason } => format!("needs repair: {reason}"),
    }
}

pub(crate) async fn run(ws: &Workspace, cmd: &ViCommand) -> Result<(), OpsError> {
    match cmd {
        ViCommand::Create {
            name,
            units,
            tags,
            accounts,
            exclude,
            allow_shared,
            dry_run,
        } => {
            let new = NewIntegration {
                name: name.clone(),
                accounts: accounts_arg(accounts)?,
                allow_shared: *allow_shared,
                units: units.clone(),
                tags: tags.clone(),
                exclude: accounts_arg(exclude)?,
            };
            if *dry_run {
                return create_dry_run(ws, new).await;
            }
            let (made, left_out) = ws.create_reporting(new).await?;
            let vi = made.integration();
            out(&match made.billing_view_arn() {
                Some(arn) => format!(
                    "created '{}' with {} accounts: Athena view {}.{} and billing view {arn}",
                    vi.name,
                    vi.accounts.len(),
                    ws.views_database(),
                    vi.view_name(),
                ),
                None => format!(
                    "created '{}' with {} accounts (view {})",
                    vi.name,
                    vi.accounts.len(),
                    vi.view_name()
                ),
            });
            print_left_out(&left_out);
        }
        ViCommand::Update {
            name,
            add,
            remove,
            add_ou,
            remove_ou,
            add_tag,
            remove_tag,
            rename,
            allow_shared,
        } => {
            let change = IntegrationChange {
                add: accounts_arg(add)?,
                remove: accounts_arg(remove)?,
                rename: rename.clone(),
                allow_shared: *allow_shared,
                add_units: add_ou.clone(),
                remove_units: remove_ou.clone(),
                add_tags: add_tag.clone(),
                remove_tags: remove_tag.clone(),
                ..Default::default()
            };
            let (state, diff) = ws.update(name, change).await?;
            let vi = state.integration();
            let counts = format!(
                "updated '{}': {} accounts (+{} -{})",
                vi.name,
                vi.accounts.len(),
                diff.added.len(),
                diff.removed.len()
            );
            out(&match state.status() {
                Some(_) => format!("{counts}, both views validated (revision {})", vi.revision),
                None => counts,
            });
            print_left_out(&diff.left_out);
        }
        ViCommand::Sync {
            name,
            dry_run,
            json,
        } => {
            crate::cmd::onboarding::sync(ws, name.as_deref(), *dry_run, *json).await?;
        }
        ViCommand::Import {
            file,
            from_ou,
            dry_run,
            json,
        } => {
            crate::cmd::onboarding::import(
                ws,
                file.as_deref(),
                from_ou.as_deref(),
                *dry_run,
                *json,
            )
            .await?;
        }
        ViCommand::Share { name, with } | ViCommand::Unshare { name, with } => {
            let add = matches!(cmd, ViCommand::Share { .. });
            let accounts = parse_account_list(with)?.into_iter().collect();
            let state = ws.share(name, accounts, add).await?;
            let shared = state.shared_with();
            out(&format!(
                "'{}' is shared with {}",
                state.integration().name,
                if shared.is_empty() {
                    "no one".to_string()
                } else {
                    shared.join(", ")
                }
            ));
        }
        ViCommand::Delete { name } => {
            let removed = ws.delete(name).await?;
            let vi = &removed.integration;
            out(&if removed.in_payer {
                format!(
                    "deleted '{}': its Athena view, billing view and secret",
                    vi.name
                )
            } else {
                format!("deleted '{}' and its view {}", vi.name, vi.view_name())
            });
        }
        ViCommand::Repair { name } => {
            let state = ws.repair(name).await?;
            let vi = state.integration();
            out(&format!(
                "repaired '{}': {} accounts in both views ({})",
                vi.name,
                vi.accounts.len(),
                state.status().map(Status::label).unwrap_or("local")
            ));
        }
        ViCommand::Verify { name, months, json } => {
            crate::cmd::verify::run(ws, name, *months, *json).await?;
        }
        ViCommand::DropOrphan { view } => {
            ws.drop_orphan(view).await?;
            out(&format!(
                "dropped the orphan Athena view {}.{view}",
                ws.views_database()
            ));
        }
        ViCommand::List { json } => {
            let list = ws.integrations().await?;
            if *json {
                return print_json(&list);
            }
            print_list(ws, &list);
            for v in ws.orphan_views() {
                eprintln!(
                    "warning: the Athena view {}.{v} belongs to no integration (no billing view names it)",
                    ws.views_database()
                );
            }
        }
        ViCommand::Profile {
            name,
            display_name,
            basis,
            exclude,
            clear,
            json,
        } => {
            let current = ws.integration(name).await?;
            let mut profile = if *clear {
                PresentationProfile::default()
            } else {
                current.integration().shown_profile()
            };
            if let Some(n) = display_name {
                profile.display_name = Some(n.trim().to_string()).filter(|n| !n.is_empty());
            }
            if let Some(b) = basis {
                profile.basis = b.parse()?;
            }
            if let Some(list) = exclude {
                profile.exclude = list
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect();
            }
            let state = ws.set_profile(name, profile).await?;
            if *json {
                return print_json(&state);
            }
            let vi = state.integration();
            out(&format!("'{}' is shown as {}", vi.name, profile_line(vi)));
        }
        ViCommand::Show { name, json } => {
            let state = ws.integration_fresh(name).await?;
            if *json {
                return print_json(&state);
            }
            show(ws, &state).await?;
        }
    }
    Ok(())
}

fn print_list(ws: &Workspace, list: &[IntegrationState]) {
    // After name and accounts: a payer's integrations have a status, a
    // revision and a billing view; a local one's a view and when it changed.
    type Cells = fn(&IntegrationState) -> Vec<Option<String>>;
    let (columns, cells): (&[&str], Cells) = if ws.is_payer() {
        (&["status", "revision", "billing view"], |s| {
            vec![
                s.status().map(status_line),
                Some(s.integration().revision.to_string()),
                s.billing_view_arn().map(String::from),
            ]
        })
    } else {
        (&["view", "updated"], |s| {
            vec![
                Some(s.integration().view_name()),
                Some(s.integration().updated_at.to_rfc3339()),
            ]
        })
    };
    let rows: Vec<Vec<Option<String>>> = list
        .iter()
        .map(|s| {
            let vi = s.integration();
            let mut row = vec![
                Some(vi.name.to_string()),
                Some(vi.accounts.len().to_string()),
            ];
            row.extend(cells(s));
            row
        })
        .collect();
    let names: Vec<&str> = ["name", "accounts"]
        .iter()
        .chain(columns)
        .copied()
        .collect();
    print_table(&header(&names), &rows);
}

/// "'Acme Corp GmbH': Net unblended cost (after discounts); credits left out."
fn profile_line(vi: &costcarve_ops::core::integration::VirtualIntegration) -> String {
    format!(
        "'{}': {}",
        vi.display_name(),
        vi.shown_profile().basis_words()
    )
}

async fn show(ws: &Workspace, state: &IntegrationState) -> Result<(), OpsError> {
    let vi = state.integration();
    match (state.status(), state.billing_view_arn()) {
        (Some(status), Some(arn)) => {
            out(&format!("name:         {}", vi.name));
            out(&format!("id:           {}", vi.id));
            out(&format!("status:       {}", status_line(status)));
            out(&format!("revision:     {}", vi.revision));
            out(&format!("billing view: {arn}"));
            let shared = state.shared_with();
            if !shared.is_empty() {
                out(&format!("shared with:  {}", shared.join(", ")));
            }
            out(&format!(
                "athena view:  {}.{}",
                ws.views_database(),
                vi.view_name()
            ));
            out(&format!(
                "rules:        {}",
                vi.effective_rules().describe().join(", ")
            ));
            out(&format!("shown as:     {}", profile_line(vi)));
            out(&format!("accounts:     {}", vi.accounts.len()));
            for a in &vi.accounts {
                out(&format!("  {a}"));
            }
        }
        _ => {
            let org = ws.organization(false, &|_| {}).await?.organization;
            out(&format!("name:     {}", vi.name));
            out(&format!("id:       {}", vi.id));
            out(&format!("view:     {}", vi.view_name()));
            out(&format!("revision: {}", vi.revision));
            out(&format!("updated:  {}", vi.updated_at.to_rfc3339()));
            out(&format!(
                "rules:    {}",
                vi.effective_rules().describe().join(", ")
            ));
            out(&format!("shown as: {}", profile_line(vi)));
            out(&format!("accounts: {}", vi.accounts.len()));
            for a in &vi.accounts {
                let name = org.account(a).map(|x| x.name.as_str()).unwrap_or("?");
                out(&format!("  {a}  {name}"));
            }
        }
    }
    Ok(())
}

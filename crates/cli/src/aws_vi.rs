//! `costcarve vi ...` on a payer (`--connection`): the same verbs as on a
//! local workspace, plus status and repair.

use costcarve_aws::workspace::{ManagedIntegration, Status};
use costcarve_aws::AwsWorkspace;
use costcarve_core::integration::NewIntegration;

use crate::{accounts_arg, change_arg, print_json, print_table, Failure, ViCommand};

fn status_line(m: &ManagedIntegration) -> String {
    match &m.status {
        Status::Healthy | Status::Provisioning => m.status.label().to_string(),
        Status::Drift { detail } => format!("drift: {detail}"),
        Status::NeedsRepair { reason } => format!("needs repair: {reason}"),
    }
}

pub(crate) async fn aws_vi_cmd(ws: &mut AwsWorkspace, cmd: &ViCommand) -> Result<(), Failure> {
    match cmd {
        ViCommand::Create {
            name,
            accounts,
            allow_shared,
        } => {
            let m = ws
                .create(NewIntegration {
                    name: name.clone(),
                    accounts: accounts_arg(accounts)?,
                    allow_shared: *allow_shared,
                })
                .await?;
            println!(
                "created '{}' with {} accounts: Athena view {}.{} and billing view {}",
                m.integration.name,
                m.integration.accounts.len(),
                ws.connection().views_database,
                m.integration.view_name(),
                m.billing_view_arn
            );
        }
        ViCommand::Update {
            name,
            add,
            remove,
            rename,
            allow_shared,
        } => {
            let change = change_arg(add, remove, rename, *allow_shared)?;
            let (m, diff) = ws.update(name, change).await?;
            println!(
                "updated '{}': {} accounts (+{} -{}), both views validated (revision {})",
                m.integration.name,
                m.integration.accounts.len(),
                diff.added.len(),
                diff.removed.len(),
                m.integration.revision
            );
        }
        ViCommand::Delete { name } => {
            let vi = ws.delete(name).await?;
            println!(
                "deleted '{}': its Athena view, billing view and secret",
                vi.name
            );
        }
        ViCommand::Repair { name } => {
            let m = ws.repair(name).await?;
            println!(
                "repaired '{}': {} accounts in both views ({})",
                m.integration.name,
                m.integration.accounts.len(),
                m.status.label()
            );
        }
        ViCommand::DropOrphan { view } => {
            ws.sync().await?;
            ws.drop_orphan_view(view).await?;
            println!(
                "dropped the orphan Athena view {}.{view}",
                ws.connection().views_database
            );
        }
        ViCommand::List { json } => {
            let list = ws.sync().await?.to_vec();
            if *json {
                return print_json(&list);
            }
            let rows: Vec<Vec<Option<String>>> = list
                .iter()
                .map(|m| {
                    vec![
                        Some(m.integration.name.to_string()),
                        Some(m.integration.accounts.len().to_string()),
                        Some(status_line(m)),
                        Some(m.integration.revision.to_string()),
                        Some(m.billing_view_arn.clone()),
                    ]
                })
                .collect();
            print_table(
                &["name", "accounts", "status", "revision", "billing view"].map(String::from),
                &rows,
            );
            for v in ws.orphan_views() {
                eprintln!(
                    "warning: the Athena view {}.{v} belongs to no integration (no billing view names it)",
                    ws.connection().views_database
                );
            }
        }
        ViCommand::Show { name, json } => {
            ws.sync().await?;
            let m = ws.integration(name).await?;
            if *json {
                return print_json(&m);
            }
            println!("name:         {}", m.integration.name);
            println!("id:           {}", m.integration.id);
            println!("status:       {}", status_line(&m));
            println!("revision:     {}", m.integration.revision);
            println!("billing view: {}", m.billing_view_arn);
            println!(
                "athena view:  {}.{}",
                ws.connection().views_database,
                m.integration.view_name()
            );
            println!("accounts:     {}", m.integration.accounts.len());
            for a in &m.integration.accounts {
                println!("  {a}");
            }
        }
    }
    Ok(())
}

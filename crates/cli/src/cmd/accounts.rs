//! `costcarve accounts`: the organization, with each account's integrations.

use costcarve_ops::workspace::Progress;
use costcarve_ops::{OpsError, Workspace};

use crate::output::{header, print_json, print_table, spinner};

pub(crate) async fn run(ws: &Workspace, json: bool, refresh: bool) -> Result<(), OpsError> {
    let bar = spinner();
    let listing = ws
        .organization(refresh, &|p| {
            bar.set_message(match p {
                Progress::Accounts(n) => format!("{n} accounts listed"),
                Progress::Units(n) => format!("{n} organizational units"),
                Progress::Tags(n, of) => format!("tags of {n}/{of} accounts"),
            });
            bar.tick();
        })
        .await?;
    bar.finish_and_clear();
    let org = &listing.organization;
    if let Some(d) = &listing.discovery {
        eprintln!(
            "organization {} as of {} ({} accounts, {} units; read in {} ms with {} Organizations calls){}",
            org.id,
            d.fetched_at.to_rfc3339(),
            org.accounts.len(),
            org.units.len(),
            d.millis,
            d.calls,
            if refresh { "" } else { "; --refresh reads it again" }
        );
    }
    #[derive(serde::Serialize)]
    struct Row<'a> {
        id: &'a str,
        name: &'a str,
        email: &'a str,
        status: &'a str,
        unit: String,
        tags: &'a std::collections::BTreeMap<String, String>,
        integrations: Vec<String>,
    }
    let rows: Vec<Row> = org
        .accounts
        .iter()
        .map(|a| Row {
            id: a.id.as_str(),
            name: &a.name,
            email: &a.email,
            status: &a.status,
            unit: org.unit_path(&a.parent_id),
            tags: &a.tags,
            integrations: listing.memberships.get(&a.id).cloned().unwrap_or_default(),
        })
        .collect();
    if json {
        return print_json(&rows);
    }
    let table: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                Some(r.id.to_string()),
                Some(r.name.to_string()),
                Some(r.unit.clone()),
                Some(tags.join(" ")),
                Some(r.integrations.join(", ")),
            ]
        })
        .collect();
    print_table(
        &header(&["id", "name", "unit", "tags", "integrations"]),
        &table,
    );
    Ok(())
}

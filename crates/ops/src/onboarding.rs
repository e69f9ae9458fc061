//! Customers at scale, written once for the CLI and the desktop: creating
//! an integration from rules with a report of what they leave out, syncing
//! integrations with the organization (`vi sync`), and bulk onboarding
//! (`vi import`: a CSV of customers, or one integration per child OU).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use costcarve_core::account::{parse_account_list, AccountId, Organization};
use costcarve_core::integration::{
    IntegrationChange, IntegrationName, IntegrationSet, NewIntegration, SyncChange,
    VirtualIntegration,
};
use costcarve_core::membership::{find_unit, LeftOut};

use crate::error::OpsError;
use crate::workspace::{IntegrationState, Progress, Workspace};

type Result<T> = std::result::Result<T, OpsError>;

/// How many customers an import makes at once in a payer: enough to hide
/// the billing API's latency, few enough to stay under its rate limits.
pub const IMPORT_CONCURRENCY: usize = 4;

/// The columns of an import CSV, in the order the README documents them.
pub const IMPORT_COLUMNS: [&str; 6] =
    ["name", "ous", "tags", "accounts", "exclude", "allow_shared"];

/// One customer to import: a CSV row or a child OU.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The CSV line (1 is the header), or the OU's position from 1.
    pub line: usize,
    /// What to create.
    pub new: NewIntegration,
}

/// What an import does with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// Create it.
    Create,
    /// It exists already with these rules: nothing to do.
    Unchanged,
}

/// A row of an import, checked.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRow {
    /// As in [`ImportRow`].
    pub line: usize,
    /// The integration's name.
    pub name: String,
    /// Its rules, in words.
    pub rules: Vec<String>,
    /// How many accounts it will hold (or holds, when unchanged).
    pub accounts: usize,
    /// Accounts its rules name that it will not hold, and why.
    pub left_out: Vec<LeftOut>,
    /// What the import does with it.
    pub action: RowAction,
}

/// How a row of an import ended.
#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    /// As in [`ImportRow`].
    pub line: usize,
    /// The integration's name.
    pub name: String,
    /// `created`, `unchanged` or `failed`.
    pub outcome: &'static str,
    /// Its accounts.
    pub accounts: usize,
    /// Why it failed (nothing of it was left behind).
    pub error: Option<String>,
}

/// How one integration's sync ended.
#[derive(Debug, Clone, Serialize)]
pub struct SyncOutcome {
    /// The integration.
    pub name: String,
    /// Whether its views now hold the accounts the sync decided.
    pub applied: bool,
    /// Why not, if it failed.
    pub error: Option<String>,
}

/// Reads an import CSV: a header naming some of [`IMPORT_COLUMNS`] (`name`
/// is required; case and surrounding spaces do not matter), then one row
/// per customer. `ous` and `tags` hold several values separated by `;`;
/// `accounts` and `exclude` take ids separated by `;`, `,` or spaces;
/// `allow_shared` is `true`/`false` (or `yes`/`no`, `1`/`0`, empty).
pub fn parse_import_csv(text: &str) -> Result<Vec<ImportRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| OpsError::invalid(format!("the CSV's header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for h in &header {
        if !IMPORT_COLUMNS.contains(&h.as_str()) {
            return Err(OpsError::invalid(format!(
                "line 1: unknown column '{h}'; the columns are {}",
                IMPORT_COLUMNS.join(", ")
            )));
        }
    }
    if !header.iter().any(|h| h == "name") {
        return Err(OpsError::invalid(format!(
            "line 1: the header has no 'name' column; the columns are {}",
            IMPORT_COLUMNS.join(", ")
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            OpsError::invalid(format!("line {line}: {e}"))
        })?;
        // The record's first line, counted from its byte offset (the csv
        // crate counts neither blank lines nor, in its offset, skips them).
        let line = record
            .position()
            .and_then(|p| {
                let at = usize::try_from(p.byte()).ok()?;
                let rest = text.get(at..)?;
                let blank = rest.len() - rest.trim_start_matches(['\r', '\n']).len();
                text.get(..at + blank)
            })
            .map(|before| before.matches('\n').count() + 1)
            .unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
        };
        let list = |name: &str| -> Vec<String> {
            cell(name)
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let ids = |name: &str| -> Result<Vec<AccountId>> {
            parse_account_list(&cell(name).replace([';', ' '], ","))
                .map_err(|e| OpsError::invalid(format!("line {line}, column {name}: {e}")))
        };
        let allow_shared = match cell("allow_shared").to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => false,
            "true" | "yes" | "1" => true,
            other => {
                return Err(OpsError::invalid(format!(
                    "line {line}, column allow_shared: '{other}' is not true or false"
                )))
            }
        };
        rows.push(ImportRow {
            line,
            new: NewIntegration {
                name: cell("name").to_string(),
                accounts: ids("accounts")?,
                allow_shared,
                units: list("ous"),
                tags: list("tags"),
                exclude: ids("exclude")?,
            },
        });
    }
    if rows.is_empty() {
        return Err(OpsError::invalid(
            "the CSV has no rows: give one row per customer under the header",
        ));
    }
    Ok(rows)
}

/// An OU's name as an integration name: characters a name cannot hold
/// become `-` (names take letters, digits, space and `_+=.@-`).
fn name_for_unit(unit_name: &str) -> String {
    let mapped: String = unit_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _+=.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(costcarve_core::integration::MAX_NAME_LEN)
        .collect::<String>()
        .trim_end()
        .to_string()
}

impl Workspace {
    /// The organization (on AWS: discovered again when `refresh`).
    pub async fn organization_now(
        &self,
        refresh: bool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Organization> {
        Ok(self.organization(refresh, progress).await?.organization)
    }

    /// The integrations as a set, to check changes against the rules.
    pub async fn integration_set(&self) -> Result<IntegrationSet> {
        Ok(IntegrationSet {
            version: 1,
            integrations: self
                .integrations()
                .await?
                .iter()
                .map(|s| s.integration().clone().with_effective_rules())
                .collect(),
        })
    }

    /// What creating `new` would make, checked against everything a create
    /// checks, and which accounts its rules would leave out; makes nothing.
    pub async fn preview_create(
        &self,
        new: NewIntegration,
    ) -> Result<(VirtualIntegration, Vec<LeftOut>)> {
        // What needs nothing read is refused before anything is read.
        new.check_alone()?;
        let org = self.organization_now(false, &|_| {}).await?;
        Ok(self
            .integration_set()
            .await?
            .create_reporting(&org, new, DateTime::<Utc>::MIN_UTC)?)
    }

    /// Creates an integration, and says which accounts its rules name but
    /// leave out (suspended, or already another customer's).
    pub async fn create_reporting(
        &self,
        new: NewIntegration,
    ) -> Result<(IntegrationState, Vec<LeftOut>)> {
        if let Some(aws) = self.payer_workspace() {
            let (managed, left_out) = aws.create_reporting(new).await?;
            return Ok((IntegrationState::Aws(managed), left_out));
        }
        let (_, left_out) = self.preview_create(new.clone()).await?;
        Ok((self.create(new).await?, left_out))
    }

    /// What syncing with the organization would change: per integration
    /// (or only `name`), the accounts its rules now add or drop. Reads the
    /// organization again first (on AWS; a local workspace's is its file).
    pub async fn sync_plan(
        &self,
        name: Option<&str>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<SyncChange>> {
        let org = self.organization_now(true, progress).await?;
        let set = self.integration_set().await?;
        if let Some(n) = name {
            set.require(n)?;
        }
        Ok(set.sync_plan(&org, name))
    }

    /// Applies a sync's decisions, each as an update (the same saga,
    /// validation and journal); integrations that drop accounts go first,
    /// so an account moving between customers is never in both for long.
    pub async fn apply_sync(
        &self,
        plan: &[SyncChange],
        done: &(dyn Fn(&SyncOutcome) + Send + Sync),
    ) -> Vec<SyncOutcome> {
        let mut todo: Vec<&SyncChange> = plan.iter().filter(|c| c.changes()).collect();
        todo.sort_by_key(|c| c.diff.removed.is_empty());
        let mut out = Vec::new();
        for change in todo {
            let result = self
                .update(
                    &change.name,
                    IntegrationChange::resync(change.accounts.clone()),
                )
                .await;
            let outcome = SyncOutcome {
                name: change.name.clone(),
                applied: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
            };
            done(&outcome);
            out.push(outcome);
        }
        out
    }

    /// One import row per child OU of `parent` (an id or a path), named
    /// after the OU and holding its subtree.
    pub async fn import_rows_from_ou(&self, parent: &str) -> Result<Vec<ImportRow>> {
        let org = self.organization_now(false, &|_| {}).await?;
        let unit = find_unit(&org, parent)?;
        let mut children: Vec<_> = org
            .units
            .iter()
            .filter(|u| u.parent_id.as_deref() == Some(unit.id.as_str()))
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        if children.is_empty() {
            return Err(OpsError::invalid(format!(
                "the OU '{}' has no OUs below it: --from-ou takes the OU whose children are the customers (e.g. Customers)",
                org.unit_path(&unit.id)
            )));
        }
        Ok(children
            .into_iter()
            .enumerate()
            .map(|(i, u)| ImportRow {
                line: i + 1,
                new: NewIntegration {
                    name: name_for_unit(&u.name),
                    units: vec![org.unit_path(&u.id)],
                    ..Default::default()
                },
            })
            .collect())
    }

    /// Checks every row before anything is made: each against the rules,
    /// the organization, the integrations that exist and the rows above it.
    /// A row whose integration exists with the same rules is `unchanged`;
    /// any bad row fails the whole import, naming every bad row and why.
    pub async fn import_plan(&self, rows: &[ImportRow]) -> Result<Vec<PlannedRow>> {
        let org = self.organization_now(false, &|_| {}).await?;
        let existing = self.integration_set().await?;
        let mut set = existing.clone();
        let mut planned = Vec::new();
        let mut problems = Vec::new();
        let mut names = BTreeSet::new();
        for row in rows {
            let label = format!("line {} ({})", row.line, row.new.name);
            if !names.insert(row.new.name.to_ascii_lowercase()) {
                problems.push(format!("{label}: the name is given twice in this file"));
                continue;
            }
            let rules = match row.new.rules() {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{label}: {e}"));
                    continue;
                }
            };
            if let Some(vi) = existing.get(&row.new.name) {
                if vi.effective_rules() == rules {
                    planned.push(PlannedRow {
                        line: row.line,
                        name: vi.name.to_string(),
                        rules: rules.describe(),
                        accounts: vi.accounts.len(),
                        left_out: vec![],
                        action: RowAction::Unchanged,
                    });
                } else {
                    problems.push(format!(
                        "{label}: '{}' exists already with other rules ({}); change it with `vi update` or leave the row out",
                        vi.name,
                        vi.effective_rules().describe().join(", ")
                    ));
                }
                continue;
            }
            match set.create_reporting(&org, row.new.clone(), DateTime::<Utc>::MIN_UTC) {
                Ok((vi, left_out)) => planned.push(PlannedRow {
                    line: row.line,
                    name: vi.name.to_string(),
                    rules: rules.describe(),
                    accounts: vi.accounts.len(),
                    left_out,
                    action: RowAction::Create,
                }),
                Err(e) => problems.push(format!("{label}: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(OpsError::invalid(format!(
                "nothing was imported: {} of {} rows {} to be fixed:\n  {}",
                problems.len(),
                rows.len(),
                if problems.len() == 1 { "needs" } else { "need" },
                problems.join("\n  ")
            )));
        }
        Ok(planned)
    }

    /// Makes the rows [`Self::import_plan`] marked `create` (a few at a
    /// time in a payer); `done` hears each outcome as it comes. A failed
    /// row leaves nothing behind and does not stop the others.
    pub async fn import(
        &self,
        rows: &[ImportRow],
        plan: &[PlannedRow],
        done: &(dyn Fn(&RowOutcome) + Send + Sync),
    ) -> Result<Vec<RowOutcome>> {
        let mut outcomes = Vec::new();
        let mut todo = Vec::new();
        for (row, p) in rows.iter().zip(plan) {
            match p.action {
                RowAction::Unchanged => {
                    let outcome = RowOutcome {
                        line: p.line,
                        name: p.name.clone(),
                        outcome: "unchanged",
                        accounts: p.accounts,
                        error: None,
                    };
                    done(&outcome);
                    outcomes.push(outcome);
                }
                RowAction::Create => todo.push(row.clone()),
            }
        }
        let made = self.create_many(&todo, done).await?;
        outcomes.extend(made);
        outcomes.sort_by_key(|o| o.line);
        Ok(outcomes)
    }

    async fn create_many(
        &self,
        rows: &[ImportRow],
        done: &(dyn Fn(&RowOutcome) + Send + Sync),
    ) -> Result<Vec<RowOutcome>> {
        let outcome = |row: &ImportRow, made: std::result::Result<usize, String>| RowOutcome {
            line: row.line,
            name: IntegrationName::parse(&row.new.name)
                .map(|n| n.to_string())
                .unwrap_or_else(|_| row.new.name.clone()),
            outcome: if made.is_ok() { "created" } else { "failed" },
            accounts: *made.as_ref().unwrap_or(&0),
            error: made.err(),
        };
        if let Some(aws) = self.payer_workspace() {
            use costcarve_aws::workspace::{ManagedIntegration, WorkspaceError};
            let counted = |r: &std::result::Result<ManagedIntegration, WorkspaceError>| {
                r.as_ref()
                    .map(|m| m.integration.accounts.len())
                    .map_err(ToString::to_string)
            };
            let report = |i: usize, r: &std::result::Result<_, _>| {
                if let Some(row) = rows.get(i) {
                    done(&outcome(row, counted(r)));
                }
            };
            let news = rows.iter().map(|r| r.new.clone()).collect();
            let results = aws.create_many(news, IMPORT_CONCURRENCY, &report).await?;
            return Ok(rows
                .iter()
                .zip(&results)
                .map(|(row, r)| outcome(row, counted(r)))
                .collect());
        }
        let mut out = Vec::new();
        for row in rows {
            let made = self
                .create(row.new.clone())
                .await
                .map(|s| s.integration().accounts.len())
                .map_err(|e| e.to_string());
            let o = outcome(row, made);
            done(&o);
            out.push(o);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_row_takes_several_ous_tags_and_ids() {
        let rows = parse_import_csv(
            "Name, OUs, tags, accounts, exclude, allow_shared\n\
             Acme,Customers/Acme;Customers/Acme Labs,env=prod,\"111111111111, 222222222222\",333333333333,yes\n\
             \n\
             Beta,,customer=beta,,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].new.units, ["Customers/Acme", "Customers/Acme Labs"]);
        assert_eq!(rows[0].new.accounts.len(), 2);
        assert!(rows[0].new.allow_shared);
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].new.tags, ["customer=beta"]);
    }

    #[test]
    fn a_bad_csv_names_the_line_and_what_to_fix() {
        let err = parse_import_csv("name,owner\nAcme,me\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("owner"), "{err}");
        let err = parse_import_csv("name,accounts\nAcme,12345\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("12 digits"), "{err}");
        let err = parse_import_csv("name,allow_shared\nAcme,maybe\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("maybe"), "{err}");
    }

    #[test]
    fn an_ou_name_becomes_a_valid_integration_name() {
        assert_eq!(name_for_unit("Acme Retail"), "Acme Retail");
        assert_eq!(name_for_unit("Müller & Söhne (DE)"), "M-ller - S-hne -DE");
        assert!(IntegrationName::parse(&name_for_unit("Müller & Söhne (DE)")).is_ok());
    }
}

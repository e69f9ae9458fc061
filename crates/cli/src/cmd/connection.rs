//! `costcarve connection ...`: add, list, test and remove connections to
//! payers. A secret access key is read from stdin and goes to the OS
//! keyring only.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use costcarve_ops::connections::{
    self, credentials_label, Connections, Keyring, NewConnection, Report,
};
use costcarve_ops::core::error::ErrorCode;
use costcarve_ops::{Dirs, OpsError};

use crate::flags::ConnectionCommand;
use crate::output::{out, print_json};

fn print_report(report: &Report) {
    for c in &report.checks {
        let mark = match (c.ok, c.optional) {
            (true, _) => "ok  ",
            (false, true) => "warn",
            (false, false) => "FAIL",
        };
        out(&format!("{mark} {}: {}", c.name, c.detail));
        if let Some(fix) = &c.fix {
            out(&format!("     fix: {fix}"));
        }
    }
}

/// The secret key and an optional session token: typed at a hidden prompt
/// on a terminal (nothing is echoed), else two lines of stdin.
fn read_secret() -> Result<(String, Option<String>), OpsError> {
    let io = |e: std::io::Error| OpsError::new(ErrorCode::Io, format!("reading the secret: {e}"));
    let missing = || OpsError::invalid("--access-key-id needs the secret access key");
    let keep = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if std::io::stdin().is_terminal() {
        let secret = rpassword::prompt_password("secret access key (not shown): ")
            .map_err(io)
            .map(keep)?
            .ok_or_else(missing)?;
        let token = rpassword::prompt_password("session token (Enter if none): ")
            .map_err(io)
            .map(keep)?;
        return Ok((secret, token));
    }
    let mut lines = std::io::stdin().lock().lines();
    let mut line = || -> Result<Option<String>, OpsError> {
        Ok(lines.next().transpose().map_err(io)?.and_then(keep))
    };
    let secret = line()?.ok_or_else(missing)?;
    Ok((secret, line()?))
}

pub(crate) async fn run(dirs: &Dirs, cmd: &ConnectionCommand) -> Result<(), OpsError> {
    let store = Connections::new(dirs, Arc::new(Keyring));
    match cmd {
        ConnectionCommand::Add {
            name,
            profile,
            access_key_id,
            region,
            role_arn,
            external_id,
            cur_table,
            workgroup,
            results,
            views_database,
        } => {
            let access_keys = match access_key_id {
                Some(id) => {
                    let (secret, token) = read_secret()?;
                    Some(connections::access_keys(id.clone(), secret, token))
                }
                None => None,
            };
            store.add(NewConnection {
                name: name.clone(),
                profile: profile.clone(),
                access_keys,
                region: region.clone(),
                role_arn: role_arn.clone(),
                external_id: external_id.clone(),
                cur_table: cur_table.clone(),
                workgroup: workgroup.clone(),
                results: results.clone(),
                views_database: views_database.clone(),
            })?;
            out(&format!(
                "saved connection '{name}' in {}; check it with `costcarve connection test {name}`",
                store.path().display()
            ));
            Ok(())
        }
        ConnectionCommand::List { json } => {
            let all = store.list()?;
            if *json {
                return print_json(&all);
            }
            if all.is_empty() {
                out("no connections; add one with `costcarve connection add`");
            }
            for c in &all {
                let role = c
                    .role_arn
                    .as_deref()
                    .map(|r| format!(", assumes {r}"))
                    .unwrap_or_default();
                out(&format!(
                    "{}  ({}{role}; CUR {}.{}; workgroup {}; results {}; views in {})",
                    c.name,
                    credentials_label(c),
                    c.cur_database,
                    c.cur_table,
                    c.workgroup,
                    c.results.uri(),
                    c.views_database
                ));
            }
            Ok(())
        }
        ConnectionCommand::Test { name, json } => {
            let report = store.test(name).await?;
            if *json {
                print_json(&report)?;
            } else {
                print_report(&report);
            }
            if report.ok() {
                Ok(())
            } else {
                Err(OpsError::new(
                    ErrorCode::Aws,
                    format!(
                        "{} of {} checks failed",
                        report
                            .checks
                            .iter()
                            .filter(|c| !c.ok && !c.optional)
                            .count(),
                        report.checks.len()
                    ),
                ))
            }
        }
        ConnectionCommand::Remove { name } => {
            store.remove(name)?;
            out(&format!(
                "removed connection '{name}' (its integrations stay in the payer)"
            ));
            Ok(())
        }
    }
}

//! `costcarve connection ...` and opening a connection's workspace.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;

use costcarve_aws::connection::{Connection, ConnectionStore, CredentialSource, S3Location};
use costcarve_aws::prereqs::Report;
use costcarve_aws::secrets::{self, AccessKeys, Keyring, Secret, SecretStore};
use costcarve_aws::AwsWorkspace;
use costcarve_core::error::ErrorCode;
use costcarve_core::ports::SystemClock;

use crate::{invalid, print_json, Failure};

// Parsed once per run; boxing the big variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum ConnectionCommand {
    /// Add (or replace) a connection to a payer account.
    Add {
        /// Its name.
        name: String,
        /// AWS profile (SSO profiles too); default: the SDK's usual chain (`AWS_PROFILE`, env keys, ...).
        #[arg(long)]
        profile: Option<String>,
        /// Keep access keys in the OS keyring instead of using a profile: the
        /// key id here, the secret key read from stdin (one line; with
        /// an optional second line holding a session token).
        #[arg(long, conflicts_with = "profile")]
        access_key_id: Option<String>,
        /// Region, e.g. us-east-1.
        #[arg(long)]
        region: Option<String>,
        /// A role in the payer to assume.
        #[arg(long)]
        role_arn: Option<String>,
        /// The external id the role's trust policy requires.
        #[arg(long, requires = "role_arn")]
        external_id: Option<String>,
        /// The CUR table, DB.TABLE.
        #[arg(long)]
        cur_table: String,
        /// Athena workgroup.
        #[arg(long)]
        workgroup: String,
        /// Athena results location, s3://BUCKET/PREFIX/.
        #[arg(long)]
        results: String,
        /// Database the integrations' views are made in.
        #[arg(long, default_value = "costcarve_views")]
        views_database: String,
    },
    /// List connections.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a connection's prerequisites, one check at a time.
    Test {
        /// The connection.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a connection and its keyring entry (its integrations stay in AWS).
    Remove {
        /// The connection.
        name: String,
    },
}

/// Where connections and per-connection state are kept.
pub(crate) struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    pub(crate) fn resolve(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<Self, Failure> {
        let config = config
            .or_else(|| dirs::config_dir().map(|d| d.join("costcarve")))
            .ok_or_else(|| invalid("no config folder: set COSTCARVE_CONFIG_DIR".into()))?;
        let data = data
            .or_else(|| dirs::data_dir().map(|d| d.join("costcarve")))
            .ok_or_else(|| invalid("no data folder: set COSTCARVE_DATA_DIR".into()))?;
        Ok(Self { config, data })
    }
}

fn fail<E: std::error::Error + Send + Sync + 'static>(
    code: ErrorCode,
) -> impl FnOnce(E) -> Failure {
    move |e| Failure {
        code,
        error: e.into(),
    }
}

pub(crate) async fn open(dirs: &Dirs, name: &str) -> Result<AwsWorkspace, Failure> {
    let connection = ConnectionStore::new(&dirs.config)
        .get(name)
        .map_err(fail(ErrorCode::NotFound))?;
    let ws = AwsWorkspace::open(
        connection,
        &dirs.data,
        Arc::new(Keyring),
        Arc::new(SystemClock),
    )
    .await
    .map_err(Failure::from)?;
    for message in &ws.recovery().messages {
        eprintln!("note: {message}");
    }
    Ok(ws)
}

fn print_report(report: &Report) {
    for c in &report.checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        println!("{mark} {}: {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            println!("     fix: {fix}");
        }
    }
}

pub(crate) async fn run(dirs: &Dirs, cmd: &ConnectionCommand) -> Result<(), Failure> {
    let store = ConnectionStore::new(&dirs.config);
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
            let (cur_database, cur_table) = cur_table.split_once('.').ok_or_else(|| {
                invalid(format!(
                    "--cur-table '{cur_table}' needs the database too: DB.TABLE"
                ))
            })?;
            let connection = Connection {
                name: name.clone(),
                credentials: match access_key_id {
                    Some(_) => CredentialSource::Keyring,
                    None => CredentialSource::Profile {
                        profile: profile.clone(),
                    },
                },
                region: region.clone(),
                role_arn: role_arn.clone(),
                external_id: external_id.clone(),
                cur_database: cur_database.to_string(),
                cur_table: cur_table.to_string(),
                workgroup: workgroup.clone(),
                results: S3Location::parse(results).map_err(fail(ErrorCode::InvalidInput))?,
                views_database: views_database.clone(),
            };
            connection
                .validate()
                .map_err(fail(ErrorCode::InvalidInput))?;
            if let Some(id) = access_key_id {
                if std::io::stdin().is_terminal() {
                    eprintln!("secret access key (not echoed to any file; end with Enter):");
                }
                let mut lines = std::io::stdin().lock().lines();
                let secret = lines
                    .next()
                    .transpose()
                    .map_err(fail(ErrorCode::Io))?
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        invalid("--access-key-id needs the secret access key on stdin".into())
                    })?;
                let token = lines
                    .next()
                    .transpose()
                    .map_err(fail(ErrorCode::Io))?
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                let keys = AccessKeys {
                    access_key_id: id.clone(),
                    secret_access_key: Secret::new(secret),
                    session_token: token.map(Secret::new),
                };
                secrets::set_access_keys(&Keyring, name, &keys).map_err(fail(ErrorCode::Io))?;
            } else {
                // A profile connection keeps nothing in the keyring.
                Keyring
                    .delete(&secrets::SecretKey::connection(name))
                    .map_err(fail(ErrorCode::Io))?;
            }
            store
                .put(connection)
                .map_err(fail(ErrorCode::InvalidInput))?;
            println!(
                "saved connection '{name}' in {}; check it with `costcarve connection test {name}`",
                store.path().display()
            );
            Ok(())
        }
        ConnectionCommand::List { json } => {
            let all = store.list().map_err(fail(ErrorCode::Io))?;
            if *json {
                return print_json(&all);
            }
            if all.is_empty() {
                println!("no connections; add one with `costcarve connection add`");
            }
            for c in &all {
                let how = match &c.credentials {
                    CredentialSource::Profile { profile: Some(p) } => format!("profile {p}"),
                    CredentialSource::Profile { profile: None } => "default credentials".into(),
                    CredentialSource::Keyring => "access keys in the OS keyring".into(),
                };
                let role = c
                    .role_arn
                    .as_deref()
                    .map(|r| format!(", assumes {r}"))
                    .unwrap_or_default();
                println!(
                    "{}  ({how}{role}; CUR {}.{}; workgroup {}; results {}; views in {})",
                    c.name,
                    c.cur_database,
                    c.cur_table,
                    c.workgroup,
                    c.results.uri(),
                    c.views_database
                );
            }
            Ok(())
        }
        ConnectionCommand::Test { name, json } => {
            let connection = store.get(name).map_err(fail(ErrorCode::NotFound))?;
            let config = connection
                .sdk_config(&Keyring)
                .await
                .map_err(fail(ErrorCode::InvalidInput))?;
            let report = costcarve_aws::prereqs::check(&config, &connection).await;
            if *json {
                print_json(&report)?;
            } else {
                print_report(&report);
            }
            if report.ok() {
                Ok(())
            } else {
                Err(Failure {
                    code: ErrorCode::Aws,
                    error: anyhow::anyhow!(
                        "{} of {} checks failed",
                        report.checks.iter().filter(|c| !c.ok).count(),
                        report.checks.len()
                    ),
                })
            }
        }
        ConnectionCommand::Remove { name } => {
            let existed = store.remove(name, &Keyring).map_err(fail(ErrorCode::Io))?;
            if !existed {
                return Err(Failure {
                    code: ErrorCode::NotFound,
                    error: anyhow::anyhow!("no connection named '{name}'"),
                });
            }
            println!("removed connection '{name}' (its integrations stay in the payer)");
            Ok(())
        }
    }
}

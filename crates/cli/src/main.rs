//! `costcarve`: the product's operations on the command line — demo data,
//! connections, accounts, virtual integrations, costs, forecasts, confined
//! SQL and charts. A thin binary: the flags (`flags`), one small module per
//! command (`cmd`), each calling the operations layer (`costcarve-ops`) and
//! formatting its answer.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use costcarve_ops::core::error::{ErrorCode, Remedy};
use costcarve_ops::core::ports::SystemClock;
use costcarve_ops::{Dirs, OpsError, Workspace};

mod cmd;
mod flags;
mod output;

use flags::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = hint(&e, &cli) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.code.exit_code() as u8)
        }
    }
}

/// What to type next, for the failures whose way forward is a command or a
/// flag (the messages themselves name none: the desktop shows them too).
fn hint(e: &OpsError, cli: &Cli) -> Option<String> {
    let connection = cli
        .connection
        .as_deref()
        .map(|c| format!(" --connection {c}"))
        .unwrap_or_default();
    match e.remedy {
        Some(Remedy::AllowShared) => {
            return Some(
                "pass --allow-shared if these accounts should be in both integrations".into(),
            )
        }
        Some(Remedy::ListAccounts) => {
            return Some(format!(
                "run `costcarve{connection} accounts` to list the organization's accounts"
            ))
        }
        None => {}
    }
    match e.code {
        ErrorCode::NotAWorkspace => {
            Some("make a demo workspace with `costcarve demo --dir DIR` to try the app".into())
        }
        ErrorCode::NotHealthy => integration_of(&cli.command)
            .map(|name| format!("run `costcarve{connection} vi repair {name}`, then try again")),
        ErrorCode::NotVerified if cli.connection.is_some() => integration_of(&cli.command)
            .map(|name| format!("if a part is not what CostCarve made, run `costcarve{connection} vi repair {name}` and verify again")),
        ErrorCode::NotVerified => Some(
            "if the reconciliation failed, delete the workspace's .costcarve-cache folder (derived data, rebuilt on the next open) and verify again".into(),
        ),
        _ => None,
    }
}

/// The integration a command is about, if any.
fn integration_of(command: &Command) -> Option<&str> {
    use flags::ViCommand as Vi;
    match command {
        Command::Cost(args) => Some(&args.name),
        Command::Forecast { name, .. }
        | Command::Sql { name, .. }
        | Command::Review { name, .. }
        | Command::Chart { name, .. } => Some(name),
        Command::Vi(
            Vi::Create { name, .. }
            | Vi::Update { name, .. }
            | Vi::Delete { name }
            | Vi::Repair { name }
            | Vi::Verify { name, .. }
            | Vi::Profile { name, .. }
            | Vi::Show { name, .. },
        ) => Some(name),
        _ => None,
    }
}

fn dirs(cli: &Cli) -> Result<Dirs, OpsError> {
    Dirs::resolve(cli.config_dir.clone(), cli.data_dir.clone())
}

/// The workspace a command works on: a local folder or a payer. Opening a
/// payer first finishes or undoes what a crash interrupted, and says so.
async fn open(cli: &Cli) -> Result<Workspace, OpsError> {
    let clock = Arc::new(SystemClock);
    if let Some(name) = &cli.connection {
        let secrets = Arc::new(costcarve_ops::connections::Keyring);
        let ws = Workspace::open_connection(&dirs(cli)?, name, secrets, clock).await?;
        for message in ws.recovery() {
            eprintln!("note: {message}");
        }
        return Ok(ws);
    }
    let dir = cli.workspace.as_deref().ok_or_else(|| {
        OpsError::new(ErrorCode::InvalidInput, "no workspace: pass --workspace DIR (or set COSTCARVE_WORKSPACE) or --connection NAME; create a demo with `costcarve demo --dir DIR`")
    })?;
    Workspace::open_local(dir, clock, false).await
}

async fn run(cli: &Cli) -> Result<(), OpsError> {
    match &cli.command {
        Command::Demo {
            dir,
            rows,
            seed,
            end_month,
        } => cmd::demo::run(dir, *rows, *seed, end_month.as_deref()),
        Command::Connection(c) => cmd::connection::run(&dirs(cli)?, c).await,
        Command::Accounts { json, refresh } => {
            cmd::accounts::run(&open(cli).await?, *json, *refresh).await
        }
        Command::Vi(c) => cmd::vi::run(&open(cli).await?, c).await,
        Command::Cost(args) => cmd::cost::run(&open(cli).await?, args).await,
        Command::Forecast {
            name,
            to,
            granularity,
            metric,
            json,
        } => {
            let ws = open(cli).await?;
            cmd::forecast::run(&ws, name, *to, granularity, metric, *json).await
        }
        Command::Sql {
            name,
            query,
            json,
            explain,
            max_rows,
            timeout,
        } => {
            let ws = open(cli).await?;
            cmd::sql::run(&ws, name, query, *json, *explain, *max_rows, *timeout).await
        }
        Command::Chart { .. } => cmd::chart::run(&open(cli).await?, &cli.command).await,
        Command::Review {
            name,
            month,
            out,
            json,
        } => cmd::review::run(&open(cli).await?, name, month.as_deref(), out, *json).await,
    }
}
